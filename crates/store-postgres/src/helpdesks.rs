//! Helpdesk connections and the event ids they were sent.

use crate::{PostgresStore, audit, errors::map};
use chrono::{DateTime, Duration, Utc};
use frontline_store::helpdesks::{
    EventOutcome, Helpdesk, HelpdeskChange, HelpdeskWrite, NewHelpdesk, PlannedWrite, WriteAction,
    WriteKey, WriteStatus,
};
use frontline_store::{Origin, StoreError, changes};
use sqlx::Row;
use sqlx::postgres::PgRow;

const COLUMNS: &str = "name, kind, base_url, auth_sealed, signing_sealed, previous_signing_sealed, previous_until, created_at, created_by, events, last_event_at, last_error, last_error_at, sweep_cursor, last_sweep_at";

fn from_row(row: &PgRow) -> Result<Helpdesk, StoreError> {
    let get = |e: sqlx::Error| map(e, "reading a helpdesk connection");
    let previous: Option<Vec<u8>> = row.try_get("previous_signing_sealed").map_err(get)?;
    let until: Option<DateTime<Utc>> = row.try_get("previous_until").map_err(get)?;
    let error: Option<String> = row.try_get("last_error").map_err(get)?;
    let error_at: Option<DateTime<Utc>> = row.try_get("last_error_at").map_err(get)?;
    Ok(Helpdesk {
        name: row.try_get("name").map_err(get)?,
        kind: row.try_get("kind").map_err(get)?,
        base_url: row.try_get("base_url").map_err(get)?,
        auth_sealed: row.try_get("auth_sealed").map_err(get)?,
        signing_sealed: row.try_get("signing_sealed").map_err(get)?,
        previous_signing: previous.zip(until),
        created_at: row.try_get("created_at").map_err(get)?,
        created_by: row.try_get("created_by").map_err(get)?,
        events: row.try_get("events").map_err(get)?,
        last_event_at: row.try_get("last_event_at").map_err(get)?,
        last_error: error.zip(error_at),
        sweep_cursor: row.try_get("sweep_cursor").map_err(get)?,
        last_sweep_at: row.try_get("last_sweep_at").map_err(get)?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("helpdesk connection {name}"),
    }
}

pub(crate) async fn create(
    store: &PostgresStore,
    new: &NewHelpdesk,
    origin: &Origin,
) -> Result<Helpdesk, StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO helpdesks (name, kind, base_url, auth_sealed, signing_sealed, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&new.name)
    .bind(&new.kind)
    .bind(&new.base_url)
    .bind(&new.auth_sealed)
    .bind(&new.signing_sealed)
    .bind(Utc::now())
    .bind(origin.actor.to_string())
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "creating a helpdesk connection"))?;
    audit::append(&mut tx, &changes::helpdesk_created(new, origin)).await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM helpdesks WHERE name = $1"))
        .bind(&new.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a helpdesk connection"))?;
    let helpdesk = from_row(&row)?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a helpdesk connection"))?;
    Ok(helpdesk)
}

pub(crate) async fn list(store: &PostgresStore) -> Result<Vec<Helpdesk>, StoreError> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM helpdesks ORDER BY name"))
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "listing helpdesk connections"))?
        .iter()
        .map(from_row)
        .collect()
}

pub(crate) async fn get(store: &PostgresStore, name: &str) -> Result<Option<Helpdesk>, StoreError> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM helpdesks WHERE name = $1"))
        .bind(name)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| map(e, "reading a helpdesk connection"))?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub(crate) async fn change(
    store: &PostgresStore,
    name: &str,
    change: &HelpdeskChange,
    origin: &Origin,
) -> Result<Helpdesk, StoreError> {
    let mut tx = store.begin().await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT name FROM helpdesks WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a helpdesk connection"))?;
    if exists.is_none() {
        return Err(not_found(name));
    }
    if let Some(url) = &change.base_url {
        sqlx::query("UPDATE helpdesks SET base_url = $1 WHERE name = $2")
            .bind(url)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "changing a helpdesk connection"))?;
    }
    if let Some(auth) = &change.auth_sealed {
        sqlx::query("UPDATE helpdesks SET auth_sealed = $1 WHERE name = $2")
            .bind(auth)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "changing a helpdesk connection"))?;
    }
    if let Some((secret, until)) = &change.rotate_signing {
        sqlx::query(
            "UPDATE helpdesks SET previous_signing_sealed = signing_sealed,
                    previous_until = CASE WHEN signing_sealed IS NULL THEN NULL ELSE $1 END,
                    signing_sealed = $2
             WHERE name = $3",
        )
        .bind(*until)
        .bind(secret)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "rotating a helpdesk secret"))?;
    }
    audit::append(&mut tx, &changes::helpdesk_changed(name, change, origin)).await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM helpdesks WHERE name = $1"))
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a helpdesk connection"))?;
    let helpdesk = from_row(&row)?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a helpdesk change"))?;
    Ok(helpdesk)
}

pub(crate) async fn delete(
    store: &PostgresStore,
    name: &str,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let done = sqlx::query("DELETE FROM helpdesks WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "deleting a helpdesk connection"))?;
    if done.rows_affected() == 0 {
        return Err(not_found(name));
    }
    audit::append(&mut tx, &changes::helpdesk_deleted(name, origin)).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a helpdesk deletion"))
}

pub(crate) async fn record_event(
    store: &PostgresStore,
    name: &str,
    outcome: &EventOutcome<'_>,
) -> Result<bool, StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let fresh = match outcome {
        EventOutcome::Taken(id) => {
            let known: Option<String> =
                sqlx::query_scalar("SELECT name FROM helpdesks WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| map(e, "reading a helpdesk connection"))?;
            if known.is_none() {
                return Err(not_found(name));
            }
            let fresh = match id {
                Some(id) => {
                    sqlx::query(
                        "INSERT INTO helpdesk_events (connection, event_id, received_at) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(name)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| map(e, "recording a helpdesk event"))?
                    .rows_affected()
                        == 1
                }
                None => true,
            };
            let done = sqlx::query(
                "UPDATE helpdesks SET events = events + $1, last_event_at = $2 WHERE name = $3",
            )
            .bind(i64::from(fresh))
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "recording a helpdesk event"))?;
            if done.rows_affected() == 0 {
                return Err(not_found(name));
            }
            // Ids older than a day are past any vendor's retries.
            sqlx::query("DELETE FROM helpdesk_events WHERE received_at < $1")
                .bind(now - Duration::days(1))
                .execute(&mut *tx)
                .await
                .map_err(|e| map(e, "forgetting old helpdesk events"))?;
            fresh
        }
        EventOutcome::Failed(error) => {
            let done = sqlx::query(
                "UPDATE helpdesks SET last_error = $1, last_error_at = $2 WHERE name = $3",
            )
            .bind(*error)
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "recording a helpdesk error"))?;
            if done.rows_affected() == 0 {
                return Err(not_found(name));
            }
            false
        }
    };
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a helpdesk event"))?;
    Ok(fresh)
}

const WRITE_COLUMNS: &str = "connection, ticket, statement_id, version, action, incident_id, body, status, attempts, last_error, updated_at, sent_at";

fn write_from_row(row: &PgRow) -> Result<HelpdeskWrite, StoreError> {
    let get = |e: sqlx::Error| map(e, "reading a helpdesk write");
    let action: String = row.try_get("action").map_err(get)?;
    let status: String = row.try_get("status").map_err(get)?;
    let bad = |what: &str, v: &str| {
        StoreError::internal("reading a helpdesk write", format!("unknown {what} {v:?}"))
    };
    Ok(HelpdeskWrite {
        key: WriteKey {
            connection: row.try_get("connection").map_err(get)?,
            ticket: row.try_get("ticket").map_err(get)?,
            statement_id: row.try_get("statement_id").map_err(get)?,
            version: u32::try_from(row.try_get::<i32, _>("version").map_err(get)?).unwrap_or(0),
            action: WriteAction::parse(&action).ok_or_else(|| bad("action", &action))?,
        },
        incident_id: row.try_get("incident_id").map_err(get)?,
        body: row.try_get("body").map_err(get)?,
        status: WriteStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(get)?).unwrap_or(0),
        last_error: row.try_get("last_error").map_err(get)?,
        updated_at: row.try_get("updated_at").map_err(get)?,
        sent_at: row.try_get("sent_at").map_err(get)?,
    })
}

pub(crate) async fn plan_writes(
    store: &PostgresStore,
    writes: &[PlannedWrite],
) -> Result<usize, StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    // A statement version whose fan-out its commander aborted is planned for no one else
    // (a ticket linked after the abort included): checked once per version and action.
    let mut aborted = std::collections::HashMap::new();
    for w in writes {
        let k = &w.key;
        let id = (w.incident_id, k.statement_id, k.version, k.action);
        if let std::collections::hash_map::Entry::Vacant(slot) = aborted.entry(id) {
            let found = sqlx::query("SELECT 1 FROM helpdesk_writes WHERE incident_id = $1 AND statement_id = $2 AND version = $3 AND action = $4 AND status = 'cancelled' LIMIT 1")
                .bind(w.incident_id)
                .bind(k.statement_id)
                .bind(i32::try_from(k.version).unwrap_or(i32::MAX))
                .bind(k.action.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map(e, "reading aborted helpdesk writes"))?;
            slot.insert(found.is_some());
        }
    }
    let mut new = 0;
    for w in writes {
        let k = &w.key;
        if aborted[&(w.incident_id, k.statement_id, k.version, k.action)] {
            continue;
        }
        let done = sqlx::query(
            "INSERT INTO helpdesk_writes (connection, ticket, statement_id, version, action, incident_id, body, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(&k.connection)
        .bind(&k.ticket)
        .bind(k.statement_id)
        .bind(i32::try_from(k.version).unwrap_or(i32::MAX))
        .bind(k.action.as_str())
        .bind(w.incident_id)
        .bind(&w.body)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "planning a helpdesk write"))?;
        if done.rows_affected() == 1 {
            new += 1;
            sqlx::query(
                "UPDATE helpdesk_writes SET status = 'superseded', updated_at = $1
                 WHERE connection = $2 AND ticket = $3 AND statement_id = $4 AND action = $5
                   AND version < $6 AND status = 'pending'",
            )
            .bind(now)
            .bind(&k.connection)
            .bind(&k.ticket)
            .bind(k.statement_id)
            .bind(k.action.as_str())
            .bind(i32::try_from(k.version).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "superseding helpdesk writes"))?;
        }
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing helpdesk writes"))?;
    Ok(new)
}

pub(crate) async fn open_writes(
    store: &PostgresStore,
    connection: &str,
    limit: u32,
) -> Result<Vec<HelpdeskWrite>, StoreError> {
    sqlx::query(&format!(
        "SELECT {WRITE_COLUMNS} FROM helpdesk_writes
         WHERE connection = $1 AND status IN ('pending', 'sending')
         ORDER BY statement_id, version, action, ticket LIMIT $2"
    ))
    .bind(connection)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "reading helpdesk writes"))?
    .iter()
    .map(write_from_row)
    .collect()
}

pub(crate) async fn settle_writes(
    store: &PostgresStore,
    keys: &[WriteKey],
    status: WriteStatus,
    error: Option<&str>,
) -> Result<Vec<WriteKey>, StoreError> {
    let now = Utc::now();
    let (from, extra) = transition(status);
    // The database's clock for the time it was confirmed.
    let extra = extra.replace("{now}", "now()");
    let mut tx = store.begin().await?;
    let mut moved = Vec::new();
    for k in keys {
        let done = sqlx::query(&format!(
            "UPDATE helpdesk_writes SET status = $1, last_error = COALESCE($2, last_error), updated_at = $3{extra}
             WHERE connection = $4 AND ticket = $5 AND statement_id = $6 AND version = $7 AND action = $8
               AND status IN ({from})"
        ))
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        .bind(&k.connection)
        .bind(&k.ticket)
        .bind(k.statement_id)
        .bind(i32::try_from(k.version).unwrap_or(i32::MAX))
        .bind(k.action.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "settling a helpdesk write"))?;
        if done.rows_affected() == 1 {
            moved.push(k.clone());
        }
        if status == WriteStatus::Pending && done.rows_affected() == 1 {
            // Back to pending with a newer version of its statement in the ledger: outdated,
            // so superseded, never sent.
            sqlx::query(
                "UPDATE helpdesk_writes SET status = 'superseded'
                 WHERE connection = $1 AND ticket = $2 AND statement_id = $3 AND version = $4 AND action = $5
                   AND status = 'pending' AND EXISTS (SELECT 1 FROM helpdesk_writes n
                     WHERE n.connection = helpdesk_writes.connection AND n.ticket = helpdesk_writes.ticket
                       AND n.statement_id = helpdesk_writes.statement_id AND n.action = helpdesk_writes.action
                       AND n.version > helpdesk_writes.version)",
            )
            .bind(&k.connection)
            .bind(&k.ticket)
            .bind(k.statement_id)
            .bind(i32::try_from(k.version).unwrap_or(i32::MAX))
            .bind(k.action.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "superseding an outdated helpdesk write"))?;
        }
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing helpdesk writes"))?;
    Ok(moved)
}

/// The statuses a write may move to `status` from, and what else the move sets.
pub(crate) fn transition(status: WriteStatus) -> (&'static str, &'static str) {
    match status {
        WriteStatus::Sending => ("'pending'", ", attempts = attempts + 1"),
        WriteStatus::Sent => ("'pending', 'sending'", ", sent_at = {now}"),
        WriteStatus::Pending => ("'sending'", ""),
        WriteStatus::Failed => ("'pending', 'sending'", ""),
        WriteStatus::Superseded => ("'pending'", ""),
        WriteStatus::Cancelled => ("'pending'", ""),
    }
}

pub(crate) async fn incident_writes(
    store: &PostgresStore,
    incident: i64,
) -> Result<Vec<HelpdeskWrite>, StoreError> {
    sqlx::query(&format!(
        "SELECT {WRITE_COLUMNS} FROM helpdesk_writes WHERE incident_id = $1
         ORDER BY connection, statement_id, version, action, ticket"
    ))
    .bind(incident)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "reading an incident's helpdesk writes"))?
    .iter()
    .map(write_from_row)
    .collect()
}

pub(crate) async fn set_sweep(
    store: &PostgresStore,
    name: &str,
    cursor: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE helpdesks SET sweep_cursor = $1, last_sweep_at = now() WHERE name = $2",
    )
    .bind(cursor)
    .bind(name)
    .execute(&store.pool)
    .await
    .map_err(|e| map(e, "recording a helpdesk sweep"))?;
    if done.rows_affected() == 0 {
        return Err(not_found(name));
    }
    Ok(())
}

pub(crate) async fn linked_contacts(
    store: &PostgresStore,
    incident: i64,
    source: &str,
) -> Result<Vec<frontline_store::helpdesks::LinkedContact>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.ref_id, c.customer, c.language FROM incident_links l
         LEFT JOIN contacts c ON c.source = l.source AND c.ext_id = l.ref_id
         WHERE l.incident_id = $1 AND l.kind = 'contact' AND l.source = $2
         ORDER BY l.seq",
    )
    .bind(incident)
    .bind(source)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "reading an incident's linked contacts"))?;
    rows.iter()
        .map(|row| {
            Ok(frontline_store::helpdesks::LinkedContact {
                id: row.try_get("ref_id").map_err(|e| map(e, "ref_id"))?,
                customer: row.try_get("customer").map_err(|e| map(e, "customer"))?,
                language: row.try_get("language").map_err(|e| map(e, "language"))?,
            })
        })
        .collect()
}
