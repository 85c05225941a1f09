//! Appending to and reading the hash-chained audit log.

use crate::{SqliteStore, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::audit::{AuditEntry, AuditRecord, GENESIS_HASH, Seals};
use frontline_store::StoreError;
use sqlx::{Row, SqliteConnection};

/// Appends `entry` after the last record. Must run inside a write transaction (taken with
/// `BEGIN IMMEDIATE`), which makes reading the chain's head and appending one atomic step.
pub(crate) async fn append(
    conn: &mut SqliteConnection,
    entry: &AuditEntry,
) -> Result<AuditRecord, StoreError> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| map(e, "reading the audit chain's head"))?;
    let (seq, prev) = head.map_or((1, GENESIS_HASH.to_owned()), |(s, h)| (s + 1, h));
    let record = frontline_store::audit::seal(seq, Utc::now(), entry, &prev);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, request_id, prev_hash, hash, client, format, seals)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(record.seq)
    .bind(record.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    .bind(&record.actor)
    .bind(&record.action)
    .bind(&record.target)
    .bind(record.detail.to_string())
    .bind(&record.request_id)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .bind(&record.client)
    .bind(i64::from(record.format))
    .bind(seals_text(record.seals.as_ref())?)
    .execute(&mut *conn)
    .await
    .map_err(|e| map(e, "appending an audit record"))?;
    Ok(record)
}

pub(crate) async fn records(
    store: &SqliteStore,
    after: i64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, target, detail, request_id, prev_hash, hash, client, format, seals
         FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "reading the audit log"))?;
    rows.iter().map(record_of).collect()
}

/// A record's seals as stored (JSON text, as `detail` is).
pub(crate) fn seals_text(seals: Option<&Seals>) -> Result<Option<String>, StoreError> {
    seals
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::internal("writing an audit record's seals", e))
}

/// A record as a row of `audit_log` holds it.
pub(crate) fn record_of(row: &sqlx::sqlite::SqliteRow) -> Result<AuditRecord, StoreError> {
    let at: String = row.get("at");
    let detail: String = row.get("detail");
    Ok(AuditRecord {
        seq: row.get("seq"),
        at: DateTime::parse_from_rfc3339(&at)
            .map_err(|e| StoreError::internal("reading an audit time", e))?
            .with_timezone(&Utc),
        actor: row.get("actor"),
        action: row.get("action"),
        target: row.get("target"),
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::internal("reading an audit detail", e))?,
        request_id: row.get("request_id"),
        client: row.get("client"),
        prev_hash: row.get("prev_hash"),
        hash: row.get("hash"),
        format: u8::try_from(row.get::<i64, _>("format"))
            .map_err(|e| StoreError::internal("reading an audit record's format", e))?,
        seals: row
            .get::<Option<String>, _>("seals")
            .map(|s| serde_json::from_str::<Seals>(&s))
            .transpose()
            .map_err(|e| StoreError::internal("reading an audit record's seals", e))?,
    })
}
