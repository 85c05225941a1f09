//! Appending to and reading the hash-chained audit log.

use crate::{PostgresStore, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::audit::{AuditEntry, AuditRecord, GENESIS_HASH, Seals};
use frontline_store::StoreError;
use sqlx::{PgConnection, Row};

/// Key of the advisory lock that serialises audit writers across processes.
pub(crate) const AUDIT_LOCK: i64 = 0x4652_4f4e_544c_494e; // "FRONTLIN"

/// Appends `entry` after the last record, inside the caller's transaction. The advisory lock is
/// held until that transaction ends, so reading the head and appending is one step for every
/// writer in every process.
pub(crate) async fn append(
    conn: &mut PgConnection,
    entry: &AuditEntry,
) -> Result<AuditRecord, StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(|e| map(e, "locking the audit chain"))?;
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| map(e, "reading the audit chain's head"))?;
    let (seq, prev) = head.map_or((1, GENESIS_HASH.to_owned()), |(s, h)| (s + 1, h));
    let record = frontline_store::audit::seal(seq, Utc::now(), entry, &prev);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, request_id, prev_hash, hash, client, format, seals)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(record.seq)
    .bind(record.at)
    .bind(&record.actor)
    .bind(&record.action)
    .bind(&record.target)
    .bind(record.detail.to_string())
    .bind(&record.request_id)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .bind(&record.client)
    .bind(i16::from(record.format))
    .bind(seals_text(record.seals.as_ref())?)
    .execute(&mut *conn)
    .await
    .map_err(|e| map(e, "appending an audit record"))?;
    Ok(record)
}

pub(crate) async fn records(
    store: &PostgresStore,
    after: i64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, target, detail, request_id, prev_hash, hash, client, format, seals
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
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
pub(crate) fn record_of(row: &sqlx::postgres::PgRow) -> Result<AuditRecord, StoreError> {
    let detail: String = row.get("detail");
    Ok(AuditRecord {
        seq: row.get("seq"),
        at: row.get::<DateTime<Utc>, _>("at"),
        actor: row.get("actor"),
        action: row.get("action"),
        target: row.get("target"),
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::internal("reading an audit detail", e))?,
        request_id: row.get("request_id"),
        client: row.get("client"),
        prev_hash: row.get("prev_hash"),
        hash: row.get("hash"),
        format: u8::try_from(row.get::<i16, _>("format"))
            .map_err(|e| StoreError::internal("reading an audit record's format", e))?,
        seals: row
            .get::<Option<String>, _>("seals")
            .map(|s| serde_json::from_str::<Seals>(&s))
            .transpose()
            .map_err(|e| StoreError::internal("reading an audit record's seals", e))?,
    })
}
