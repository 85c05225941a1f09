//! What nodes sharing the database coordinate through it: leases with fencing, the node
//! registry, failed sign-ins and request windows. SQLite is embedded: the
//! database's clock is this machine's, read inside the write transaction (`BEGIN IMMEDIATE`
//! serialises every writer, so two processes on one file cannot both take a lease).

use crate::{SqliteStore, errors::map, from_micros, micros};
use chrono::Utc;
use frontline_store::{Leadership, Lease, Node, StoreError};
use sqlx::{Row, Sqlite, Transaction};

pub(crate) async fn acquire(
    store: &SqliteStore,
    name: &str,
    holder: &str,
    ttl: chrono::Duration,
) -> Result<Option<Lease>, StoreError> {
    let mut tx = store.begin_write().await?;
    let now = Utc::now();
    let expires = now + ttl;
    // A lease never taken is a free one at epoch 0.
    sqlx::query(
        "INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, '', 0, 0)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "taking a lease"))?;
    let row = sqlx::query("SELECT holder, epoch, expires_at FROM leases WHERE name = ?")
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "taking a lease"))?;
    let (current, epoch, until): (String, i64, i64) =
        (row.get("holder"), row.get("epoch"), row.get("expires_at"));
    let epoch = if current == holder {
        epoch
    } else if until > micros(now) {
        return Ok(None);
    } else {
        let next = epoch + 1;
        sqlx::query("UPDATE leadership_log SET to_at = ? WHERE name = ? AND to_at IS NULL")
            .bind(micros(now))
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "recording a change of leader"))?;
        sqlx::query(
            "INSERT INTO leadership_log (name, epoch, holder, from_at) VALUES (?, ?, ?, ?)",
        )
        .bind(name)
        .bind(next)
        .bind(holder)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "recording a change of leader"))?;
        next
    };
    sqlx::query("UPDATE leases SET holder = ?, epoch = ?, expires_at = ? WHERE name = ?")
        .bind(holder)
        .bind(epoch)
        .bind(micros(expires))
        .bind(name)
        .execute(&mut *tx)
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
    store: &SqliteStore,
    name: &str,
    holder: &str,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let now = micros(Utc::now());
    // The holder is cleared, not the row: the next holder, whoever it is, starts a new epoch.
    let released =
        sqlx::query("UPDATE leases SET holder = '', expires_at = ? WHERE name = ? AND holder = ?")
            .bind(now)
            .bind(name)
            .bind(holder)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "releasing a lease"))?
            .rows_affected();
    if released == 1 {
        sqlx::query("UPDATE leadership_log SET to_at = ? WHERE name = ? AND to_at IS NULL")
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "releasing a lease"))?;
    }
    tx.commit().await.map_err(|e| map(e, "releasing a lease"))
}

/// Refuses a leader-only write in `tx` unless `lease` still stands.
pub(crate) async fn check_fence(
    tx: &mut Transaction<'static, Sqlite>,
    lease: &Lease,
) -> Result<(), StoreError> {
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM leases WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ?",
    )
    .bind(&lease.name)
    .bind(&lease.holder)
    .bind(lease.epoch)
    .bind(micros(Utc::now()))
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

pub(crate) async fn all(store: &SqliteStore) -> Result<Vec<Lease>, StoreError> {
    sqlx::query("SELECT name, holder, epoch, expires_at FROM leases ORDER BY name")
        .fetch_all(&store.reader)
        .await
        .map_err(|e| map(e, "listing leases"))?
        .iter()
        .map(|r| {
            Ok(Lease {
                name: r.get("name"),
                holder: r.get("holder"),
                epoch: r.get("epoch"),
                expires_at: from_micros(r.get("expires_at"))?,
            })
        })
        .collect()
}

pub(crate) async fn log(store: &SqliteStore, name: &str) -> Result<Vec<Leadership>, StoreError> {
    sqlx::query(
        "SELECT name, epoch, holder, from_at, to_at FROM leadership_log WHERE name = ?
         ORDER BY epoch",
    )
    .bind(name)
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "reading the leadership log"))?
    .iter()
    .map(|r| {
        Ok(Leadership {
            name: r.get("name"),
            epoch: r.get("epoch"),
            holder: r.get("holder"),
            from: from_micros(r.get("from_at"))?,
            to: r
                .get::<Option<i64>, _>("to_at")
                .map(from_micros)
                .transpose()?,
        })
    })
    .collect()
}

pub(crate) async fn heartbeat(store: &SqliteStore, node: &Node) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO nodes (id, version, listen, started_at, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, listen = excluded.listen,
             last_seen = excluded.last_seen",
    )
    .bind(&node.id)
    .bind(&node.version)
    .bind(&node.listen)
    .bind(micros(node.started_at))
    .bind(micros(Utc::now()))
    .execute(&store.writer)
    .await
    .map_err(|e| map(e, "recording a node"))?;
    Ok(())
}

pub(crate) async fn live(
    store: &SqliteStore,
    within: chrono::Duration,
) -> Result<Vec<Node>, StoreError> {
    sqlx::query(
        "SELECT id, version, listen, started_at, last_seen FROM nodes WHERE last_seen > ?
         ORDER BY started_at, id",
    )
    .bind(micros(Utc::now() - within))
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "listing nodes"))?
    .iter()
    .map(|r| {
        Ok(Node {
            id: r.get("id"),
            version: r.get("version"),
            listen: r.get("listen"),
            started_at: from_micros(r.get("started_at"))?,
            last_seen: from_micros(r.get("last_seen"))?,
        })
    })
    .collect()
}

pub(crate) async fn sign_in_locked(
    store: &SqliteStore,
    key: &str,
) -> Result<Option<chrono::Duration>, StoreError> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM sign_in_failures WHERE key = ?")
            .bind(key)
            .fetch_optional(&store.reader)
            .await
            .map_err(|e| map(e, "reading sign-in failures"))?;
    let now = micros(Utc::now());
    Ok(until
        .filter(|u| *u > now)
        .map(|u| chrono::Duration::microseconds(u - now)))
}

pub(crate) async fn sign_in_failed(
    store: &SqliteStore,
    key: &str,
    lock: fn(u32) -> Option<chrono::Duration>,
) -> Result<u32, StoreError> {
    let mut tx = store.begin_write().await?;
    let now = Utc::now();
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO sign_in_failures (key, failures, locked_until, updated_at) VALUES (?, 1, 0, ?)
         ON CONFLICT (key) DO UPDATE SET failures = failures + 1, updated_at = excluded.updated_at
         RETURNING failures",
    )
    .bind(key)
    .bind(micros(now))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "counting a failed sign-in"))?;
    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
    if let Some(wait) = lock(failures) {
        sqlx::query("UPDATE sign_in_failures SET locked_until = ? WHERE key = ?")
            .bind(micros(now + wait))
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "locking a sign-in"))?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "counting a failed sign-in"))?;
    Ok(failures)
}

pub(crate) async fn sign_in_cleared(store: &SqliteStore, key: &str) -> Result<(), StoreError> {
    let day_ago = micros(Utc::now() - chrono::Duration::days(1));
    sqlx::query(
        "DELETE FROM sign_in_failures WHERE key = ? OR (updated_at < ? AND locked_until < ?)",
    )
    .bind(key)
    .bind(day_ago)
    .bind(day_ago)
    .execute(&store.writer)
    .await
    .map_err(|e| map(e, "clearing sign-in failures"))?;
    Ok(())
}

pub(crate) async fn take_from_window(
    store: &SqliteStore,
    key: &str,
    window: chrono::Duration,
    limit: u32,
) -> Result<Option<chrono::Duration>, StoreError> {
    let mut tx = store.begin_write().await?;
    let now = micros(Utc::now());
    let span = window.num_microseconds().unwrap_or(i64::MAX);
    let (start, count): (i64, i64) = sqlx::query_as(
        "INSERT INTO request_windows (key, window_start, count) VALUES (?1, ?2, 1)
         ON CONFLICT (key) DO UPDATE SET
             window_start = CASE WHEN window_start <= ?2 - ?3 THEN ?2 ELSE window_start END,
             count = CASE WHEN window_start <= ?2 - ?3 THEN 1 ELSE count + 1 END
         RETURNING window_start, count",
    )
    .bind(key)
    .bind(now)
    .bind(span)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "counting a request"))?;
    // Forget keys idle for a day, so a flood of addresses does not grow the table for good.
    sqlx::query("DELETE FROM request_windows WHERE window_start < ?")
        .bind(
            now - chrono::Duration::days(1)
                .num_microseconds()
                .unwrap_or(i64::MAX),
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "forgetting idle request windows"))?;
    tx.commit()
        .await
        .map_err(|e| map(e, "counting a request"))?;
    Ok((count > i64::from(limit)).then(|| chrono::Duration::microseconds(start + span - now)))
}
