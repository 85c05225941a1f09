//! Retention on SQLite: each class of data past its cutoff removed (or its text dropped) in
//! batches, or counted for a dry run.

use crate::{SqliteStore, errors::map, micros};
use frontline_store::StoreError;
use frontline_store::lifecycle::{
    Erasure, ErasureCounts, PersonErasure, PersonErasureCounts, RetentionCounts, RetentionCutoffs,
};

/// Contacts linked to an incident still open: kept whole, text included.
const OPEN_INCIDENT_CONTACT: &str = "EXISTS (SELECT 1 FROM incident_links l
    JOIN incidents i ON i.seq = l.incident_id
    WHERE l.kind = 'contact' AND l.source = c.source AND l.ref_id = c.ext_id
      AND i.state <> 'resolved')";

/// One class: the keys of its rows past the cutoff (`?1`), and what is done to them.
struct Class {
    select: String,
    act: &'static str,
}

fn classes(c: &RetentionCutoffs) -> [(Option<i64>, Class); 7] {
    let cut = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(micros);
    [
        (
            cut(c.contact_text),
            Class {
                select: format!(
                    "SELECT c.seq FROM contacts c WHERE c.received_at < ?1
                     AND (c.text <> '' OR c.metadata IS NOT NULL) AND NOT {OPEN_INCIDENT_CONTACT}"
                ),
                act: "UPDATE contacts SET text = '', metadata = NULL WHERE seq IN",
            },
        ),
        (
            cut(c.contacts),
            Class {
                // A contact any incident links keeps its row: the link must still resolve.
                select: "SELECT c.seq FROM contacts c WHERE c.received_at < ?1
                     AND NOT EXISTS (SELECT 1 FROM incident_links l WHERE l.kind = 'contact'
                       AND l.source = c.source AND l.ref_id = c.ext_id)"
                    .into(),
                act: "DELETE FROM contacts WHERE seq IN",
            },
        ),
        (
            cut(c.alert_evidence),
            Class {
                select: "SELECT a.seq FROM alerts a WHERE a.started_at < ?1
                     AND (a.evidence <> '[]' OR a.text IS NOT NULL)
                     AND NOT EXISTS (SELECT 1 FROM incident_links l
                       JOIN incidents i ON i.seq = l.incident_id
                       WHERE l.kind = 'alert' AND l.ref_id = a.id AND i.state <> 'resolved')"
                    .into(),
                act: "UPDATE alerts SET evidence = '[]', text = NULL WHERE seq IN",
            },
        ),
        (
            cut(c.deliveries),
            Class {
                select: "SELECT seq FROM deliveries WHERE status IN ('delivered', 'failed')
                     AND last_attempt_at < ?1"
                    .into(),
                act: "DELETE FROM deliveries WHERE seq IN",
            },
        ),
        (
            cut(c.deliveries),
            Class {
                select: "SELECT seq FROM outbox WHERE sent_at < ?1 OR failed_at < ?1".into(),
                act: "DELETE FROM outbox WHERE seq IN",
            },
        ),
        (
            cut(c.sessions),
            Class {
                select: "SELECT id FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1".into(),
                act: "DELETE FROM sessions WHERE id IN",
            },
        ),
        (
            cut(c.sessions),
            Class {
                select: "SELECT seq FROM api_tokens WHERE expires_at < ?1 OR revoked_at < ?1"
                    .into(),
                act: "DELETE FROM api_tokens WHERE seq IN",
            },
        ),
    ]
}

pub(crate) async fn pass(
    store: &SqliteStore,
    cutoffs: &RetentionCutoffs,
    limit: u32,
    dry_run: bool,
) -> Result<RetentionCounts, StoreError> {
    let mut done = [0u64; 7];
    let mut tx = store.begin_write().await?;
    for (n, (cutoff, class)) in classes(cutoffs).into_iter().enumerate() {
        let Some(cutoff) = cutoff else {
            continue;
        };
        done[n] = if dry_run {
            let count: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM ({})", class.select))
                    .bind(cutoff)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| map(e, "counting data past its retention"))?;
            count as u64
        } else {
            sqlx::query(&format!("{} ({} LIMIT ?2)", class.act, class.select))
                .bind(cutoff)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await
                .map_err(|e| map(e, "removing data past its retention"))?
                .rows_affected()
        };
    }
    if dry_run {
        tx.rollback()
            .await
            .map_err(|e| map(e, "ending a retention count"))?;
    } else {
        tx.commit()
            .await
            .map_err(|e| map(e, "committing a retention pass"))?;
    }
    let [
        contact_texts,
        contacts,
        alert_evidence,
        deliveries,
        mails,
        sessions,
        tokens,
    ] = done;
    Ok(RetentionCounts {
        contact_texts,
        contacts,
        alert_evidence,
        deliveries,
        mails,
        sessions,
        tokens,
    })
}

pub(crate) async fn erase(
    store: &SqliteStore,
    pseudonym: &str,
    origin: &frontline_store::Origin,
) -> Result<Erasure, StoreError> {
    let now = chrono::Utc::now();
    let mut tx = store.begin_write().await?;
    let contacts: Vec<(i64, String, String, bool)> = sqlx::query_as(
        "SELECT c.seq, c.source, c.ext_id, EXISTS (SELECT 1 FROM incident_links l
           WHERE l.kind = 'contact' AND l.source = c.source AND l.ref_id = c.ext_id)
         FROM contacts c WHERE c.customer = ?",
    )
    .bind(pseudonym)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| map(e, "finding a customer's contacts"))?;
    let mut counts = ErasureCounts::default();
    let mut gone = std::collections::HashSet::new();
    for (seq, source, ext_id, linked) in &contacts {
        let sql = if *linked {
            counts.contacts_tombstoned += 1;
            "UPDATE contacts SET text = '', metadata = NULL, customer = NULL WHERE seq = ?"
        } else {
            counts.contacts_removed += 1;
            "DELETE FROM contacts WHERE seq = ?"
        };
        sqlx::query(sql)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "erasing a contact"))?;
        counts.corrections_removed +=
            sqlx::query("DELETE FROM topic_corrections WHERE source = ? AND ext_id = ?")
                .bind(source)
                .bind(ext_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| map(e, "erasing a contact's topic corrections"))?
                .rows_affected();
        gone.insert((source.clone(), ext_id.clone()));
    }
    if !gone.is_empty() {
        let alerts: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, evidence FROM alerts WHERE evidence <> '[]'")
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| map(e, "reading alert evidence"))?;
        for (seq, evidence) in alerts {
            let parsed = serde_json::from_str(&evidence).unwrap_or_default();
            let Some(kept) = frontline_store::lifecycle::scrub_evidence(&parsed, &gone) else {
                continue;
            };
            counts.alerts_scrubbed += 1;
            sqlx::query("UPDATE alerts SET evidence = ? WHERE seq = ?")
                .bind(kept.to_string())
                .bind(seq)
                .execute(&mut *tx)
                .await
                .map_err(|e| map(e, "scrubbing alert evidence"))?;
        }
    }
    let actor = origin.actor.to_string();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO erasures (pseudonym, requested_at, actor, counts) VALUES (?, ?, ?, ?) RETURNING seq",
    )
    .bind(pseudonym)
    .bind(micros(now))
    .bind(&actor)
    .bind(serde_json::json!(counts).to_string())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "recording an erasure"))?;
    crate::audit::append(
        &mut tx,
        &frontline_store::lifecycle::erasure_audit(id, &counts, origin),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing an erasure"))?;
    Ok(Erasure {
        id,
        pseudonym: pseudonym.to_owned(),
        at: now,
        actor,
        counts,
    })
}

pub(crate) async fn erasures(
    store: &SqliteStore,
    after: i64,
    limit: u32,
) -> Result<Vec<Erasure>, StoreError> {
    let rows: Vec<(i64, String, i64, String, String)> = sqlx::query_as(
        "SELECT seq, pseudonym, requested_at, actor, counts FROM erasures WHERE seq > ?
         ORDER BY seq LIMIT ?",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "reading the erasure ledger"))?;
    rows.into_iter()
        .map(|(id, pseudonym, at, actor, counts)| {
            Ok(Erasure {
                id,
                pseudonym,
                at: crate::from_micros(at)?,
                actor,
                counts: serde_json::from_str(&counts).map_err(|e| {
                    StoreError::internal("reading the erasure ledger", e.to_string())
                })?,
            })
        })
        .collect()
}

/// Erases a person: see [`frontline_store::Store::erase_person`].
pub(crate) async fn erase_person(
    store: &SqliteStore,
    name: &str,
    pseudonym: &str,
    origin: &frontline_store::Origin,
) -> Result<PersonErasure, StoreError> {
    use frontline_store::lifecycle::{
        ACTOR_COLUMNS, PERSON_DOCUMENTS, forget_in_documents, forget_in_records,
    };
    let placeholder = &frontline_store::lifecycle::person_placeholder(pseudonym);
    let (actor, as_actor) = (format!("user:{name}"), format!("user:{placeholder}"));
    let mut counts = PersonErasureCounts::default();
    let mut tx = store.begin_write().await?;
    let records = sqlx::query("SELECT * FROM audit_log WHERE actor = ?1 OR target = ?1")
        .bind(&actor)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a person's audit records"))?;
    let records = records
        .iter()
        .map(crate::audit::record_of)
        .collect::<Result<Vec<_>, _>>()?;
    for record in forget_in_records(records, name, placeholder, &mut counts) {
        sqlx::query(
            "UPDATE audit_log SET actor = ?, target = ?, client = ?, seals = ? WHERE seq = ?",
        )
        .bind(&record.actor)
        .bind(&record.target)
        .bind(&record.client)
        .bind(crate::audit::seals_text(record.seals.as_ref())?)
        .bind(record.seq)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "erasing a person from an audit record"))?;
    }
    for (table, column) in ACTOR_COLUMNS {
        counts.actor_fields += sqlx::query(&format!(
            "UPDATE {table} SET {column} = ? WHERE {column} = ?"
        ))
        .bind(&as_actor)
        .bind(&actor)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "erasing a person's name where they acted"))?
        .rows_affected();
    }
    // Only documents that hold the name at all are read (as JSON writes it).
    let escaped = frontline_store::lifecycle::json_escaped(name);
    for (table, column) in PERSON_DOCUMENTS {
        let docs: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT rowid, {column} FROM {table} WHERE instr({column}, ?) > 0"
        ))
        .bind(&escaped)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map(e, "finding documents that name a person"))?;
        let changed = forget_in_documents(
            docs,
            name,
            placeholder,
            &format!("{table}.{column}"),
            &mut counts,
        )?;
        for (rowid, text) in changed {
            sqlx::query(&format!("UPDATE {table} SET {column} = ? WHERE rowid = ?"))
                .bind(text)
                .bind(rowid)
                .execute(&mut *tx)
                .await
                .map_err(|e| map(e, "erasing a person from a document"))?;
        }
    }
    let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a person's account"))?;
    if let Some(id) = user {
        let mut remove = async |sql: &str| {
            sqlx::query(sql)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| map(e, "removing a person's account"))
        };
        counts.sessions_removed = remove("DELETE FROM sessions WHERE user_id = ?").await?;
        counts.tokens_removed = remove("DELETE FROM api_tokens WHERE user_id = ?").await?;
        remove("DELETE FROM user_roles WHERE user_id = ?").await?;
        remove("DELETE FROM users WHERE id = ?").await?;
        counts.account_removed = true;
    }
    sqlx::query("DELETE FROM sign_in_failures WHERE key = ?")
        .bind(&actor)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "removing a person's sign-in failures"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO erasures (pseudonym, requested_at, actor, counts) VALUES (?, ?, ?, ?) RETURNING seq",
    )
    .bind(format!("{}{pseudonym}", frontline_store::lifecycle::PERSON_LEDGER_PREFIX))
    .bind(micros(chrono::Utc::now()))
    .bind(origin.actor.to_string())
    .bind(serde_json::json!(ErasureCounts::default()).to_string())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "recording an erasure"))?;
    let erasure = PersonErasure {
        id,
        placeholder: placeholder.to_owned(),
        counts,
    };
    crate::audit::append(
        &mut tx,
        &frontline_store::lifecycle::person_erasure_audit(&erasure, origin),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a person's erasure"))?;
    Ok(erasure)
}
