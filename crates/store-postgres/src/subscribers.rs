//! Subscribers, the outbox and named cursors.

use crate::{PostgresStore, audit, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::audit::{Actor, AuditEntry};
use frontline_core::subscriber::{Channel, Message, Queued, Subscriber};
use frontline_store::{Claim, Settled, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow as Row_;

const COLUMNS: &str = "seq, channel, address, lang, confirmed_at, unsubscribed_at";

fn subscriber(row: &Row_) -> Result<Subscriber, StoreError> {
    Ok(Subscriber {
        id: row.get("seq"),
        channel: Channel::parse(row.get::<&str, _>("channel"))
            .map_err(|e| StoreError::internal("reading a subscriber", e))?,
        address: row.get("address"),
        lang: row.get("lang"),
        confirmed_at: row
            .get::<Option<_>, _>("confirmed_at")
            .map(from_ts)
            .transpose()?,
        unsubscribed_at: row
            .get::<Option<_>, _>("unsubscribed_at")
            .map(from_ts)
            .transpose()?,
    })
}

async fn insert_messages(
    conn: &mut sqlx::PgConnection,
    messages: &[Message],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for m in messages {
        sqlx::query(
            "INSERT INTO outbox (channel, recipient, subject, body, subscriber_id, created_at,
                                 next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(m.channel.as_str())
        .bind(&m.to)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(m.subscriber)
        .bind(ts(now))
        .bind(ts(now))
        .execute(&mut *conn)
        .await
        .map_err(|e| map(e, "queueing a message"))?;
    }
    Ok(())
}

pub(crate) async fn subscribe(
    store: &PostgresStore,
    channel: Channel,
    address: &str,
    lang: Option<&str>,
    confirmed: bool,
    welcome: &frontline_store::Welcome,
) -> Result<Subscriber, StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    // Reactivating an unsubscribed address asks for confirmation again (unless confirmed).
    sqlx::query(
        "INSERT INTO subscribers (channel, address, lang, confirmed_at, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (channel, address) DO UPDATE SET lang = coalesce(excluded.lang, subscribers.lang),
             confirmed_at = CASE WHEN subscribers.unsubscribed_at IS NULL
                                 THEN coalesce(subscribers.confirmed_at, excluded.confirmed_at)
                                 ELSE excluded.confirmed_at END,
             unsubscribed_at = NULL",
    )
    .bind(channel.as_str())
    .bind(address)
    .bind(lang)
    .bind(confirmed.then(|| ts(now)))
    .bind(ts(now))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "subscribing"))?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM subscribers WHERE channel = $1 AND address = $2"
    ))
    .bind(channel.as_str())
    .bind(address)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "reading a subscriber"))?;
    let s = subscriber(&row)?;
    if let Some(m) = welcome(&s) {
        insert_messages(&mut tx, &[m], now).await?;
    }
    // The audit log names the subscriber by number: addresses are personal data.
    audit::append(
        &mut tx,
        &AuditEntry::new(
            Actor::System,
            "subscriber.subscribe",
            format!("subscriber:{}", s.id),
        )
        .with_detail(serde_json::json!({"channel": channel.as_str()})),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a subscription"))?;
    Ok(s)
}

async fn set(
    store: &PostgresStore,
    id: i64,
    sql: &str,
    action: &str,
) -> Result<Option<Subscriber>, StoreError> {
    let mut tx = store.begin().await?;
    let done = sqlx::query(sql)
        .bind(ts(Utc::now()))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "changing a subscriber"))?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM subscribers WHERE seq = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a subscriber"))?;
    if done.rows_affected() > 0 {
        audit::append(
            &mut tx,
            &AuditEntry::new(Actor::System, action, format!("subscriber:{id}")),
        )
        .await?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a subscriber"))?;
    row.map(|r| subscriber(&r)).transpose()
}

pub(crate) async fn confirm(
    store: &PostgresStore,
    id: i64,
) -> Result<Option<Subscriber>, StoreError> {
    set(
        store,
        id,
        "UPDATE subscribers SET confirmed_at = $1 WHERE seq = $2 AND confirmed_at IS NULL",
        "subscriber.confirm",
    )
    .await
}

pub(crate) async fn unsubscribe(
    store: &PostgresStore,
    id: i64,
) -> Result<Option<Subscriber>, StoreError> {
    set(
        store,
        id,
        "UPDATE subscribers SET unsubscribed_at = $1 WHERE seq = $2 AND unsubscribed_at IS NULL",
        "subscriber.unsubscribe",
    )
    .await
}

pub(crate) async fn active(store: &PostgresStore) -> Result<Vec<Subscriber>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM subscribers
         WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL ORDER BY seq"
    ))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing subscribers"))?
    .iter()
    .map(subscriber)
    .collect()
}

pub(crate) async fn queue(
    store: &PostgresStore,
    messages: &[Message],
    cursor: Option<(&str, i64)>,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let Some((name, seq)) = cursor else {
        insert_messages(&mut tx, messages, Utc::now()).await?;
        return tx.commit().await.map_err(|e| map(e, "committing messages"));
    };
    // The row lock orders every writer: the cursor read here is the one moved below. A new
    // cursor's row starts at -1 (before any feed entry) and is moved in this transaction.
    sqlx::query("INSERT INTO cursors (name, seq) VALUES ($1, -1) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a cursor"))?;
    let at: i64 = sqlx::query_scalar("SELECT seq FROM cursors WHERE name = $1 FOR UPDATE")
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a cursor"))?;
    // Already there: another node (a leader that paused past its lease) queued these.
    if at >= seq {
        return Ok(());
    }
    insert_messages(&mut tx, messages, Utc::now()).await?;
    sqlx::query("UPDATE cursors SET seq = $2 WHERE name = $1")
        .bind(name)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "moving a cursor"))?;
    tx.commit().await.map_err(|e| map(e, "committing messages"))
}

pub(crate) async fn cursor(store: &PostgresStore, name: &str) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT seq FROM cursors WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| map(e, "reading a cursor"))
}

pub(crate) async fn claim(
    store: &PostgresStore,
    claim: &Claim,
    due_at: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Queued>, StoreError> {
    let seconds = claim.ttl.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
    // SKIP LOCKED: messages another node is claiming right now are left to it.
    let rows = sqlx::query(
        "UPDATE outbox SET claim_token = $1, claimed_until = now() + make_interval(secs => $2)
         WHERE seq IN (SELECT seq FROM outbox
                       WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3
                         AND (claim_token IS NULL OR claimed_until < now())
                       ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING seq, channel, recipient, subject, body, subscriber_id, created_at, attempts,
                   next_attempt_at",
    )
    .bind(&claim.token)
    .bind(seconds)
    .bind(ts(due_at))
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "claiming messages"))?;
    let mut queued = rows
        .iter()
        .map(|row| {
            Ok(Queued {
                id: row.get("seq"),
                message: Message {
                    channel: Channel::parse(row.get::<&str, _>("channel"))
                        .map_err(|e| StoreError::internal("reading the outbox", e))?,
                    to: row.get("recipient"),
                    subject: row.get("subject"),
                    body: row.get("body"),
                    subscriber: row.get("subscriber_id"),
                },
                attempts: u32::try_from(row.get::<i32, _>("attempts")).unwrap_or(0),
                created_at: from_ts(row.get("created_at"))?,
                next_attempt_at: from_ts(row.get("next_attempt_at"))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    queued.sort_by_key(|q| q.id);
    Ok(queued)
}

pub(crate) async fn settle(
    store: &PostgresStore,
    id: i64,
    outcome: &Settled,
    claim: &Claim,
) -> Result<(), StoreError> {
    let now = ts(Utc::now());
    let q = match outcome {
        Settled::Sent => sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, sent_at = $1, last_error = NULL,
             claim_token = NULL, claimed_until = NULL WHERE seq = $2 AND claim_token = $3",
        )
        .bind(now)
        .bind(id)
        .bind(&claim.token),
        Settled::Retry { at, error } => sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
             claim_token = NULL, claimed_until = NULL WHERE seq = $3 AND claim_token = $4",
        )
        .bind(ts(*at))
        .bind(error.clone())
        .bind(id)
        .bind(&claim.token),
        Settled::Failed { error } => sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, failed_at = $1, last_error = $2,
             claim_token = NULL, claimed_until = NULL WHERE seq = $3 AND claim_token = $4",
        )
        .bind(now)
        .bind(error.clone())
        .bind(id)
        .bind(&claim.token),
    };
    let mut tx = store.begin().await?;
    let done = q
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "settling a message"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::ClaimLost {
            what: format!("message {id}"),
        });
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a message"))
}

fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

#[allow(clippy::unnecessary_wraps)]
fn from_ts(t: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
    Ok(t)
}
