//! Webhooks and their deliveries.

use crate::{PostgresStore, audit, errors::map};
use chrono::DateTime;
use chrono::Utc;
use frontline_core::webhook::{Delivery, KindFilter, NewWebhook, Webhook};
use frontline_store::{Claim, DeliveryQuery, Origin, StoreError, changes};
use sqlx::postgres::PgRow as Row_;
use sqlx::{Postgres as Db, QueryBuilder, Row};

const WEBHOOK_COLUMNS: &str = "seq, url, secret, format, events, cursor, created_at, created_by";
const DELIVERY_COLUMNS: &str = "webhook_id, feed_seq, kind, incident_id, idempotency_key, status, attempts, last_status, last_error, first_attempt_at, last_attempt_at, next_attempt_at, delivered_at";

pub(crate) async fn create(
    store: &PostgresStore,
    new: &NewWebhook,
    origin: &Origin,
) -> Result<Webhook, StoreError> {
    let mut tx = store.begin().await?;
    let head: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM feed")
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "reading the feed's head"))?;
    let events = serde_json::to_string(&new.events.names())
        .map_err(|e| StoreError::internal("encoding webhook kinds", e))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhooks (url, secret, format, events, cursor, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(&new.url)
    .bind(&new.secret)
    .bind(new.format.as_str())
    .bind(events)
    .bind(head.unwrap_or(0))
    .bind(ts(Utc::now()))
    .bind(origin.actor.to_string())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "creating a webhook"))?;
    audit::append(&mut tx, &changes::webhook_created(id, new, origin)).await?;
    let row = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE seq = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "reading a webhook"))?;
    let webhook = webhook_from_row(&row)?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a webhook"))?;
    Ok(webhook)
}

pub(crate) async fn list(store: &PostgresStore) -> Result<Vec<Webhook>, StoreError> {
    sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY seq"
    ))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing webhooks"))?
    .iter()
    .map(webhook_from_row)
    .collect()
}

pub(crate) async fn claim(
    store: &PostgresStore,
    claim: &Claim,
    limit: u32,
) -> Result<Vec<Webhook>, StoreError> {
    let seconds = claim.ttl.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
    // SKIP LOCKED: a webhook another node is claiming right now is left to it, never waited on.
    let rows = sqlx::query(&format!(
        "UPDATE webhooks SET claim_token = $1, claimed_until = now() + make_interval(secs => $2)
         WHERE seq IN (SELECT seq FROM webhooks WHERE deleted_at IS NULL
                         AND (claim_token IS NULL OR claimed_until < now() OR claim_token = $1)
                       ORDER BY claimed_until NULLS FIRST, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING {WEBHOOK_COLUMNS}"
    ))
    .bind(&claim.token)
    .bind(seconds)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "claiming webhooks"))?;
    let mut hooks = rows
        .iter()
        .map(webhook_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    hooks.sort_by_key(|h| h.id);
    Ok(hooks)
}

pub(crate) async fn release(store: &PostgresStore, claim: &Claim) -> Result<(), StoreError> {
    // The release time stays: the least recently followed webhooks are claimed first.
    sqlx::query(
        "UPDATE webhooks SET claim_token = NULL, claimed_until = now() WHERE claim_token = $1",
    )
    .bind(&claim.token)
    .execute(&store.pool)
    .await
    .map_err(|e| map(e, "releasing webhooks"))?;
    Ok(())
}

/// Refuses, inside `conn`'s transaction, a write about webhook `id` once `claim` no longer
/// holds it. The row lock orders the write after any claim being taken at the same moment.
async fn check_claim(
    conn: &mut sqlx::PgConnection,
    id: i64,
    claim: &Claim,
) -> Result<(), StoreError> {
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM webhooks WHERE seq = $1 AND claim_token = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(&claim.token)
    .fetch_optional(conn)
    .await
    .map_err(|e| map(e, "checking a claim on a webhook"))?;
    match held {
        Some(_) => Ok(()),
        None => Err(StoreError::ClaimLost {
            what: format!("webhook {id}"),
        }),
    }
}

pub(crate) async fn delete(
    store: &PostgresStore,
    id: i64,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let done =
        sqlx::query("UPDATE webhooks SET deleted_at = $1 WHERE seq = $2 AND deleted_at IS NULL")
            .bind(ts(Utc::now()))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "deleting a webhook"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: format!("webhook {id}"),
        });
    }
    audit::append(&mut tx, &changes::webhook_deleted(id, origin)).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a webhook deletion"))
}

pub(crate) async fn get_delivery(
    store: &PostgresStore,
    webhook: i64,
    seq: i64,
) -> Result<Option<Delivery>, StoreError> {
    sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE webhook_id = $1 AND feed_seq = $2"
    ))
    .bind(webhook)
    .bind(seq)
    .fetch_optional(&store.pool)
    .await
    .map_err(|e| map(e, "reading a delivery"))?
    .map(|row| delivery_from_row(&row))
    .transpose()
}

pub(crate) async fn record(
    store: &PostgresStore,
    d: &Delivery,
    claim: &Claim,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    check_claim(&mut tx, d.webhook_id, claim).await?;
    sqlx::query(
        "INSERT INTO deliveries (webhook_id, feed_seq, kind, incident_id, idempotency_key, status,
                                 attempts, last_status, last_error, first_attempt_at,
                                 last_attempt_at, next_attempt_at, delivered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (webhook_id, feed_seq) DO UPDATE SET status = excluded.status,
             attempts = excluded.attempts, last_status = excluded.last_status,
             last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at,
             next_attempt_at = excluded.next_attempt_at, delivered_at = excluded.delivered_at",
    )
    .bind(d.webhook_id)
    .bind(d.feed_seq)
    .bind(d.kind.as_str())
    .bind(d.incident_id)
    .bind(&d.idempotency_key)
    .bind(d.status.as_str())
    .bind(i32::try_from(d.attempts).unwrap_or(i32::MAX))
    .bind(d.last_status.map(i32::from))
    .bind(&d.last_error)
    .bind(ts(d.first_attempt_at))
    .bind(ts(d.last_attempt_at))
    .bind(d.next_attempt_at.map(ts))
    .bind(d.delivered_at.map(ts))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "recording a delivery"))?;
    if d.status != frontline_core::webhook::DeliveryStatus::Pending {
        advance_in(&mut tx, d.webhook_id, d.feed_seq).await?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a delivery"))
}

async fn advance_in(conn: &mut sqlx::PgConnection, id: i64, cursor: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE webhooks SET cursor = $1 WHERE seq = $2 AND cursor < $3")
        .bind(cursor)
        .bind(id)
        .bind(cursor)
        .execute(conn)
        .await
        .map_err(|e| map(e, "moving a webhook's cursor"))?;
    Ok(())
}

pub(crate) async fn advance(
    store: &PostgresStore,
    id: i64,
    cursor: i64,
    claim: &Claim,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    check_claim(&mut tx, id, claim).await?;
    advance_in(&mut tx, id, cursor).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a webhook's cursor"))
}

pub(crate) async fn list_deliveries(
    store: &PostgresStore,
    query: &DeliveryQuery,
) -> Result<Vec<Delivery>, StoreError> {
    let mut sql = QueryBuilder::<Db>::new(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE TRUE"
    ));
    if let Some(w) = query.webhook {
        sql.push(" AND webhook_id = ").push_bind(w);
    }
    if let Some(s) = query.status {
        sql.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(i) = query.incident {
        sql.push(" AND incident_id = ").push_bind(i);
    }
    if let Some((feed_seq, webhook)) = query.before {
        sql.push(" AND (feed_seq < ")
            .push_bind(feed_seq)
            .push(" OR (feed_seq = ")
            .push_bind(feed_seq)
            .push(" AND webhook_id < ")
            .push_bind(webhook)
            .push("))");
    }
    sql.push(" ORDER BY feed_seq DESC, webhook_id DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    sql.build()
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "listing deliveries"))?
        .iter()
        .map(delivery_from_row)
        .collect()
}

fn webhook_from_row(row: &Row_) -> Result<Webhook, StoreError> {
    let format: String = row.get("format");
    let events: String = row.get("events");
    let names: Vec<String> = serde_json::from_str(&events)
        .map_err(|e| StoreError::internal("reading webhook kinds", e))?;
    Ok(Webhook {
        id: row.get("seq"),
        url: row.get("url"),
        secret: row.get("secret"),
        format: format
            .parse()
            .map_err(|e: String| StoreError::internal("reading a webhook format", e))?,
        events: KindFilter::parse(&names)
            .map_err(|e| StoreError::internal("reading webhook kinds", e))?,
        cursor: row.get("cursor"),
        created_at: from_ts(row.get("created_at"))?,
        created_by: row.get("created_by"),
    })
}

fn delivery_from_row(row: &Row_) -> Result<Delivery, StoreError> {
    let kind: String = row.get("kind");
    let status: String = row.get("status");
    Ok(Delivery {
        webhook_id: row.get("webhook_id"),
        feed_seq: row.get("feed_seq"),
        kind: kind
            .parse()
            .map_err(|e: String| StoreError::internal("reading a delivery kind", e))?,
        incident_id: row.get("incident_id"),
        idempotency_key: row.get("idempotency_key"),
        status: status
            .parse()
            .map_err(|e: String| StoreError::internal("reading a delivery status", e))?,
        attempts: u32::try_from(row.get::<i32, _>("attempts")).unwrap_or(0),
        last_status: row
            .get::<Option<i32>, _>("last_status")
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.get("last_error"),
        first_attempt_at: from_ts(row.get("first_attempt_at"))?,
        last_attempt_at: from_ts(row.get("last_attempt_at"))?,
        next_attempt_at: row
            .get::<Option<_>, _>("next_attempt_at")
            .map(from_ts)
            .transpose()?,
        delivered_at: row
            .get::<Option<_>, _>("delivered_at")
            .map(from_ts)
            .transpose()?,
    })
}

fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

#[allow(clippy::unnecessary_wraps)]
fn from_ts(t: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
    Ok(t)
}
