//! Helpdesk connections and the event ids they were sent.

use crate::{PostgresStore, audit, errors::map};
use chrono::{DateTime, Duration, Utc};
use frontline_store::helpdesks::{EventOutcome, Helpdesk, HelpdeskChange, NewHelpdesk};
use frontline_store::{Origin, StoreError, changes};
use sqlx::Row;
use sqlx::postgres::PgRow;

const COLUMNS: &str = "name, kind, base_url, auth_sealed, signing_sealed, previous_signing_sealed, previous_until, created_at, created_by, events, last_event_at, last_error, last_error_at";

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
