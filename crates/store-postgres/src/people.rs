//! Passwords and sessions.

use crate::{PostgresStore, audit, errors::map};
use chrono::DateTime;
use chrono::Utc;
use frontline_core::Role;
use frontline_store::people::{AccessRemoved, Login, NewSession, Session};
use frontline_store::{Origin, StoreError, changes};
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) async fn set_password(
    store: &PostgresStore,
    user: &str,
    role: Option<Role>,
    hash: &str,
    must_change: bool,
    origin: &Origin,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let created = sqlx::query(
        "INSERT INTO users (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(user)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "creating a user"))?
    .rows_affected()
        == 1;
    let id: i64 = sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, must_change = $2 WHERE name = $3 RETURNING id",
    )
    .bind(hash)
    .bind(must_change)
    .bind(user)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "setting a password"))?;
    if let Some(role) = role {
        sqlx::query(
            "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
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

async fn roles(store: &PostgresStore, user_id: i64) -> Result<Vec<Role>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&store.pool)
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

pub(crate) async fn login(store: &PostgresStore, user: &str) -> Result<Option<Login>, StoreError> {
    let row: Option<(i64, Option<String>, bool)> =
        sqlx::query_as("SELECT id, password_hash, must_change FROM users WHERE name = $1")
            .bind(user)
            .fetch_optional(&store.pool)
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
    store: &PostgresStore,
    s: &NewSession,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(&s.user)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a user"))?;
    let user_id = user_id.ok_or_else(|| StoreError::NotFound {
        what: format!("user {}", s.user),
    })?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, digest, csrf, created_at, expires_at, client)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&s.id)
    .bind(user_id)
    .bind(&s.digest[..])
    .bind(&s.csrf)
    .bind(Utc::now())
    .bind(s.expires_at)
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

async fn decode(store: &PostgresStore, row: &PgRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: row.get("id"),
        user: row.get("name"),
        roles: roles(store, row.get("user_id")).await?,
        digest: row.get("digest"),
        csrf: row.get("csrf"),
        created_at: row.get::<DateTime<Utc>, _>("created_at"),
        expires_at: row.get::<DateTime<Utc>, _>("expires_at"),
        revoked_at: row.get::<Option<DateTime<Utc>>, _>("revoked_at"),
        client: row.get("client"),
        must_change: row.get("must_change"),
    })
}

pub(crate) async fn session(
    store: &PostgresStore,
    id: &str,
) -> Result<Option<Session>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| map(e, "reading a session"))?;
    match row {
        Some(row) => Ok(Some(decode(store, &row).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn revoke_session(
    store: &PostgresStore,
    id: &str,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let user: Option<String> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL
         RETURNING (SELECT name FROM users WHERE users.id = sessions.user_id)",
    )
    .bind(Utc::now())
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
    store: &PostgresStore,
    user: Option<&str>,
) -> Result<Vec<Session>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} WHERE s.revoked_at IS NULL AND s.expires_at > $1 \
         AND ($2::text IS NULL OR u.name = $3) ORDER BY s.created_at DESC"
    ))
    .bind(Utc::now())
    .bind(user)
    .bind(user)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing sessions"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(decode(store, row).await?);
    }
    Ok(out)
}

pub(crate) async fn audit_only(
    store: &PostgresStore,
    entry: &frontline_core::audit::AuditEntry,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    audit::append(&mut tx, entry).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing an audit record"))
}

pub(crate) async fn remove_access(
    store: &PostgresStore,
    user: &str,
    role: Option<Role>,
    origin: &Origin,
) -> Result<AccessRemoved, StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a user"))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("user {user}"),
        })?;
    let run = |sql: &'static str| sqlx::query(sql).bind(id);
    let roles = match role {
        Some(r) => run("DELETE FROM user_roles WHERE user_id = $1 AND role = $2").bind(r.as_str()),
        None => run("DELETE FROM user_roles WHERE user_id = $1"),
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
        run("UPDATE users SET password_hash = NULL, must_change = false WHERE id = $1")
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "removing a password"))?;
        removed.sessions = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "ending sessions"))?
        .rows_affected();
        removed.tokens = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
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
