//! Passwords and sessions.

use crate::{SqliteStore, audit, errors::map, from_micros, micros};
use chrono::Utc;
use frontline_core::Role;
use frontline_store::people::{AccessRemoved, Login, NewSession, Session};
use frontline_store::{Origin, StoreError, changes};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(crate) async fn set_password(
    store: &SqliteStore,
    user: &str,
    role: Option<Role>,
    hash: &str,
    must_change: bool,
    origin: &Origin,
) -> Result<(), StoreError> {
    let now = micros(Utc::now());
    let mut tx = store.begin_write().await?;
    let created = sqlx::query(
        "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(user)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "creating a user"))?
    .rows_affected()
        == 1;
    let id: i64 = sqlx::query_scalar(
        "UPDATE users SET password_hash = ?, must_change = ? WHERE name = ? RETURNING id",
    )
    .bind(hash)
    .bind(must_change)
    .bind(user)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "setting a password"))?;
    if let Some(role) = role {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "granting a role"))?;
    }
    audit::append(
        &mut tx,
        &changes::password_set(user, role, must_change, created, origin),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a password"))
}

async fn roles(store: &SqliteStore, user_id: i64) -> Result<Vec<Role>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = ?")
        .bind(user_id)
        .fetch_all(&store.reader)
        .await
        .map_err(|e| map(e, "reading roles"))?;
    let mut roles = names
        .iter()
        .map(|n| {
            n.parse()
                .map_err(|e| StoreError::internal("reading a role", e))
        })
        .collect::<Result<Vec<Role>, _>>()?;
    roles.sort();
    Ok(roles)
}

pub(crate) async fn login(store: &SqliteStore, user: &str) -> Result<Option<Login>, StoreError> {
    let row: Option<(i64, Option<String>, bool)> =
        sqlx::query_as("SELECT id, password_hash, must_change FROM users WHERE name = ?")
            .bind(user)
            .fetch_optional(&store.reader)
            .await
            .map_err(|e| map(e, "reading a user"))?;
    let Some((id, password_hash, must_change)) = row else {
        return Ok(None);
    };
    Ok(Some(Login {
        user: user.to_owned(),
        roles: roles(store, id).await?,
        password_hash,
        must_change,
    }))
}

pub(crate) async fn create_session(
    store: &SqliteStore,
    s: &NewSession,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(&s.user)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a user"))?;
    let user_id = user_id.ok_or_else(|| StoreError::NotFound {
        what: format!("user {}", s.user),
    })?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, digest, csrf, created_at, expires_at, client)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.id)
    .bind(user_id)
    .bind(&s.digest[..])
    .bind(&s.csrf)
    .bind(micros(Utc::now()))
    .bind(micros(s.expires_at))
    .bind(&s.client)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "storing a session"))?;
    audit::append(
        &mut tx,
        &changes::session("session.sign_in", &s.id, &s.user, origin),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a session"))
}

const COLUMNS: &str = "s.id, s.user_id, u.name, s.digest, s.csrf, s.created_at, s.expires_at, \
                       s.revoked_at, s.client, u.must_change FROM sessions s JOIN users u ON u.id = s.user_id";

async fn decode(store: &SqliteStore, row: &SqliteRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: row.get("id"),
        user: row.get("name"),
        roles: roles(store, row.get("user_id")).await?,
        digest: row.get("digest"),
        csrf: row.get("csrf"),
        created_at: from_micros(row.get("created_at"))?,
        expires_at: from_micros(row.get("expires_at"))?,
        revoked_at: row
            .get::<Option<i64>, _>("revoked_at")
            .map(from_micros)
            .transpose()?,
        client: row.get("client"),
        must_change: row.get("must_change"),
    })
}

pub(crate) async fn session(store: &SqliteStore, id: &str) -> Result<Option<Session>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE s.id = ?"))
        .bind(id)
        .fetch_optional(&store.reader)
        .await
        .map_err(|e| map(e, "reading a session"))?;
    match row {
        Some(row) => Ok(Some(decode(store, &row).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn revoke_session(
    store: &SqliteStore,
    id: &str,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let user: Option<String> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL
         RETURNING (SELECT name FROM users WHERE users.id = sessions.user_id)",
    )
    .bind(micros(Utc::now()))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| map(e, "ending a session"))?;
    let user = user.ok_or_else(|| StoreError::NotFound {
        what: format!("session {id}"),
    })?;
    audit::append(
        &mut tx,
        &changes::session("session.sign_out", id, &user, origin),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a sign-out"))
}

pub(crate) async fn list_sessions(
    store: &SqliteStore,
    user: Option<&str>,
) -> Result<Vec<Session>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} WHERE s.revoked_at IS NULL AND s.expires_at > ? \
         AND (? IS NULL OR u.name = ?) ORDER BY s.created_at DESC"
    ))
    .bind(micros(Utc::now()))
    .bind(user)
    .bind(user)
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "listing sessions"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(decode(store, row).await?);
    }
    Ok(out)
}

pub(crate) async fn audit_only(
    store: &SqliteStore,
    entry: &frontline_core::audit::AuditEntry,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    audit::append(&mut tx, entry).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing an audit record"))
}

pub(crate) async fn remove_access(
    store: &SqliteStore,
    user: &str,
    role: Option<Role>,
    origin: &Origin,
) -> Result<AccessRemoved, StoreError> {
    let now = micros(Utc::now());
    let mut tx = store.begin_write().await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a user"))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("user {user}"),
        })?;
    let run = |sql: &'static str| sqlx::query(sql).bind(id);
    let roles = match role {
        Some(r) => run("DELETE FROM user_roles WHERE user_id = ? AND role = ?").bind(r.as_str()),
        None => run("DELETE FROM user_roles WHERE user_id = ?"),
    }
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "taking roles away"))?
    .rows_affected();
    let mut removed = AccessRemoved {
        roles,
        ..AccessRemoved::default()
    };
    if role.is_none() {
        run("UPDATE users SET password_hash = NULL, must_change = 0 WHERE id = ?")
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "removing a password"))?;
        removed.sessions = sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "ending sessions"))?
        .rows_affected();
        removed.tokens = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "revoking tokens"))?
        .rows_affected();
    }
    audit::append(
        &mut tx,
        &changes::access_removed(user, role, &removed, origin),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing access taken away"))?;
    Ok(removed)
}
