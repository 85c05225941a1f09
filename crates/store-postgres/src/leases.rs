//! What nodes sharing the database coordinate through it: leases with fencing, the node
//! registry, the feed's announcements, failed sign-ins and request windows. Every time is the database's clock
//! (`now()`), never a node's: nodes' clocks differ, and a lease decided by two clocks could
//! have two holders.

use crate::{PostgresStore, errors::map};
use frontline_store::{FeedListener, FeedNews, Leadership, Lease, Node, StoreError};
use sqlx::{Postgres, Row, Transaction};

/// A `chrono::Duration` as seconds for `make_interval`.
fn seconds(d: chrono::Duration) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

pub(crate) async fn acquire(
    store: &PostgresStore,
    name: &str,
    holder: &str,
    ttl: chrono::Duration,
) -> Result<Option<Lease>, StoreError> {
    let mut tx = store.begin().await?;
    // A lease never taken is a free one at epoch 0; the row lock below then orders every
    // contender, so two nodes can never both take it.
    sqlx::query(
        "INSERT INTO leases (name, holder, epoch, expires_at) VALUES ($1, '', 0, '-infinity')
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "taking a lease"))?;
    let row = sqlx::query(
        "SELECT holder, epoch, expires_at > now() AS live FROM leases WHERE name = $1 FOR UPDATE",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "taking a lease"))?;
    let (current, epoch, live): (String, i64, bool) =
        (row.get("holder"), row.get("epoch"), row.get("live"));
    let epoch = if current == holder {
        epoch
    } else if live {
        return Ok(None);
    } else {
        let next = epoch + 1;
        sqlx::query("UPDATE leadership_log SET to_at = now() WHERE name = $1 AND to_at IS NULL")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "recording a change of leader"))?;
        sqlx::query(
            "INSERT INTO leadership_log (name, epoch, holder, from_at) VALUES ($1, $2, $3, now())",
        )
        .bind(name)
        .bind(next)
        .bind(holder)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "recording a change of leader"))?;
        next
    };
    let expires: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "UPDATE leases SET holder = $2, epoch = $3, expires_at = now() + make_interval(secs => $4)
         WHERE name = $1 RETURNING expires_at",
    )
    .bind(name)
    .bind(holder)
    .bind(epoch)
    .bind(seconds(ttl))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "taking a lease"))?;
    tx.commit().await.map_err(|e| map(e, "taking a lease"))?;
    Ok(Some(Lease {
        name: name.to_owned(),
        holder: holder.to_owned(),
        epoch,
        expires_at: expires,
    }))
}

pub(crate) async fn release(
    store: &PostgresStore,
    name: &str,
    holder: &str,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    // The holder is cleared, not the row: the next holder, whoever it is, starts a new epoch.
    let released = sqlx::query(
        "UPDATE leases SET holder = '', expires_at = now() WHERE name = $1 AND holder = $2",
    )
    .bind(name)
    .bind(holder)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "releasing a lease"))?
    .rows_affected();
    if released == 1 {
        sqlx::query("UPDATE leadership_log SET to_at = now() WHERE name = $1 AND to_at IS NULL")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "releasing a lease"))?;
    }
    tx.commit().await.map_err(|e| map(e, "releasing a lease"))
}

/// Refuses a leader-only write in `tx` unless `lease` still stands. The row is locked
/// (shared) until the write commits, so the lease cannot change hands in between.
pub(crate) async fn check_fence(
    tx: &mut Transaction<'static, Postgres>,
    lease: &Lease,
) -> Result<(), StoreError> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3
             AND expires_at > now() FOR SHARE",
    )
    .bind(&lease.name)
    .bind(&lease.holder)
    .bind(lease.epoch)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| map(e, "checking a lease"))?;
    match held {
        Some(_) => Ok(()),
        None => Err(StoreError::Fenced {
            name: lease.name.clone(),
            epoch: lease.epoch,
        }),
    }
}

pub(crate) async fn all(store: &PostgresStore) -> Result<Vec<Lease>, StoreError> {
    Ok(sqlx::query(
        "SELECT name, holder, epoch, greatest(expires_at, 'epoch') AS expires_at FROM leases
         ORDER BY name",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing leases"))?
    .iter()
    .map(|r| Lease {
        name: r.get("name"),
        holder: r.get("holder"),
        epoch: r.get("epoch"),
        expires_at: r.get("expires_at"),
    })
    .collect())
}

pub(crate) async fn log(store: &PostgresStore, name: &str) -> Result<Vec<Leadership>, StoreError> {
    Ok(sqlx::query(
        "SELECT name, epoch, holder, from_at, to_at FROM leadership_log WHERE name = $1
         ORDER BY epoch",
    )
    .bind(name)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "reading the leadership log"))?
    .iter()
    .map(|r| Leadership {
        name: r.get("name"),
        epoch: r.get("epoch"),
        holder: r.get("holder"),
        from: r.get("from_at"),
        to: r.get("to_at"),
    })
    .collect())
}

pub(crate) async fn heartbeat(store: &PostgresStore, node: &Node) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO nodes (id, version, listen, started_at, last_seen) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, listen = excluded.listen,
             last_seen = now()",
    )
    .bind(&node.id)
    .bind(&node.version)
    .bind(&node.listen)
    .bind(node.started_at)
    .execute(&store.pool)
    .await
    .map_err(|e| map(e, "recording a node"))?;
    Ok(())
}

pub(crate) async fn live(
    store: &PostgresStore,
    within: chrono::Duration,
) -> Result<Vec<Node>, StoreError> {
    Ok(sqlx::query(
        "SELECT id, version, listen, started_at, last_seen FROM nodes
         WHERE last_seen > now() - make_interval(secs => $1) ORDER BY started_at, id",
    )
    .bind(seconds(within))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing nodes"))?
    .iter()
    .map(|r| Node {
        id: r.get("id"),
        version: r.get("version"),
        listen: r.get("listen"),
        started_at: r.get("started_at"),
        last_seen: r.get("last_seen"),
    })
    .collect())
}

/// The channel the feed's trigger announces its new head on (`0012_feed_notify.sql`).
const FEED_CHANNEL: &str = "frontline_feed";

struct Listener(sqlx::postgres::PgListener);

#[async_trait::async_trait]
impl FeedListener for Listener {
    async fn next(&mut self) -> Result<FeedNews, StoreError> {
        // `try_recv` reconnects by itself and says so with `None`: what was announced while
        // the connection was down is lost, and the caller must read the feed again.
        match self.0.try_recv().await {
            Ok(Some(n)) => Ok(n
                .payload()
                .parse()
                .map_or(FeedNews::Resumed, FeedNews::Head)),
            Ok(None) => Ok(FeedNews::Resumed),
            Err(e) => Err(map(e, "following the feed")),
        }
    }
}

pub(crate) async fn listen(store: &PostgresStore) -> Result<Box<dyn FeedListener>, StoreError> {
    let mut listener = sqlx::postgres::PgListener::connect_with(&store.pool)
        .await
        .map_err(|e| map(e, "listening to the feed"))?;
    listener
        .listen(FEED_CHANNEL)
        .await
        .map_err(|e| map(e, "listening to the feed"))?;
    Ok(Box::new(Listener(listener)))
}

pub(crate) async fn sign_in_locked(
    store: &PostgresStore,
    key: &str,
) -> Result<Option<chrono::Duration>, StoreError> {
    let wait: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM locked_until - now())::float8 FROM sign_in_failures
         WHERE key = $1 AND locked_until > now()",
    )
    .bind(key)
    .fetch_optional(&store.pool)
    .await
    .map_err(|e| map(e, "reading sign-in failures"))?;
    Ok(wait.map(|s| chrono::Duration::microseconds((s * 1e6) as i64)))
}

pub(crate) async fn sign_in_failed(
    store: &PostgresStore,
    key: &str,
    lock: fn(u32) -> Option<chrono::Duration>,
) -> Result<u32, StoreError> {
    let mut tx = store.begin().await?;
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO sign_in_failures (key, failures, locked_until, updated_at)
         VALUES ($1, 1, '-infinity', now())
         ON CONFLICT (key) DO UPDATE SET failures = sign_in_failures.failures + 1,
             updated_at = now()
         RETURNING failures",
    )
    .bind(key)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "counting a failed sign-in"))?;
    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
    if let Some(wait) = lock(failures) {
        sqlx::query(
            "UPDATE sign_in_failures SET locked_until = now() + make_interval(secs => $2)
             WHERE key = $1",
        )
        .bind(key)
        .bind(seconds(wait))
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "locking a sign-in"))?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "counting a failed sign-in"))?;
    Ok(failures)
}

pub(crate) async fn sign_in_cleared(store: &PostgresStore, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM sign_in_failures WHERE key = $1
             OR (updated_at < now() - interval '1 day' AND locked_until < now() - interval '1 day')",
    )
    .bind(key)
    .execute(&store.pool)
    .await
    .map_err(|e| map(e, "clearing sign-in failures"))?;
    Ok(())
}

pub(crate) async fn take_from_window(
    store: &PostgresStore,
    key: &str,
    window: chrono::Duration,
    limit: u32,
) -> Result<Option<chrono::Duration>, StoreError> {
    let mut tx = store.begin().await?;
    let (count, left): (i32, f64) = sqlx::query_as(
        "INSERT INTO request_windows AS w (key, window_start, count) VALUES ($1, now(), 1)
         ON CONFLICT (key) DO UPDATE SET
             window_start = CASE WHEN w.window_start <= now() - make_interval(secs => $2)
                 THEN now() ELSE w.window_start END,
             count = CASE WHEN w.window_start <= now() - make_interval(secs => $2)
                 THEN 1 ELSE w.count + 1 END
         RETURNING count,
             extract(epoch FROM window_start + make_interval(secs => $2) - now())::float8",
    )
    .bind(key)
    .bind(seconds(window))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "counting a request"))?;
    // Forget keys idle for a day, so a flood of addresses does not grow the table for good.
    sqlx::query("DELETE FROM request_windows WHERE window_start < now() - interval '1 day'")
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "forgetting idle request windows"))?;
    tx.commit()
        .await
        .map_err(|e| map(e, "counting a request"))?;
    Ok((i64::from(count) > i64::from(limit))
        .then(|| chrono::Duration::microseconds((left * 1e6) as i64)))
}
