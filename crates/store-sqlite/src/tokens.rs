//! Users, their roles, and their API tokens.

use crate::{SqliteStore, audit, errors::map, from_micros, micros};
use chrono::Utc;
use frontline_core::Role;
use frontline_core::ids::{TokenId, UserId};
use frontline_store::{NewToken, Origin, StoreError, TokenCredentials, TokenInfo, changes};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqliteExecutor};
use std::collections::BTreeMap;

pub(crate) async fn create(
    store: &SqliteStore,
    token: NewToken,
    origin: &Origin,
) -> Result<TokenInfo, StoreError> {
    let now = micros(Utc::now());
    let mut tx = store.begin_write().await?;
    let user_created = sqlx::query(
        "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&token.user)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "creating a user"))?
    .rows_affected()
        == 1;
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(&token.user)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a user"))?;
    let role_added =
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(token.role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "granting a role"))?
            .rows_affected()
            == 1;
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, digest, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&token.id.0)
    .bind(user_id)
    .bind(&token.digest[..])
    .bind(now)
    .bind(token.expires_at.map(micros))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "storing a token"))?;
    let entry = changes::token_created(&token, user_created, role_added, origin);
    audit::append(&mut tx, &entry).await?;
    let info = info(&mut tx, &token.id).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a token"))?;
    Ok(info)
}

pub(crate) async fn list(store: &SqliteStore) -> Result<Vec<TokenInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.id, t.user_id, u.name, t.created_at, t.expires_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.seq DESC",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "listing tokens"))?;
    let role_rows: Vec<(i64, String)> = sqlx::query_as("SELECT user_id, role FROM user_roles")
        .fetch_all(&store.reader)
        .await
        .map_err(|e| map(e, "listing roles"))?;
    let mut roles: BTreeMap<i64, Vec<Role>> = BTreeMap::new();
    for (user, role) in role_rows {
        roles.entry(user).or_default().push(parse_role(&role)?);
    }
    rows.iter()
        .map(|row| {
            let mut user_roles = roles
                .get(&row.get::<i64, _>("user_id"))
                .cloned()
                .unwrap_or_default();
            user_roles.sort();
            token_info(row, user_roles)
        })
        .collect()
}

pub(crate) async fn revoke(
    store: &SqliteStore,
    id: &TokenId,
    origin: &Origin,
) -> Result<TokenInfo, StoreError> {
    let mut tx = store.begin_write().await?;
    let changed =
        sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(micros(Utc::now()))
            .bind(&id.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, "revoking a token"))?
            .rows_affected();
    if changed == 1 {
        let entry = changes::token_revoked(id, origin);
        audit::append(&mut tx, &entry).await?;
    }
    let info = info(&mut tx, id).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a revocation"))?;
    Ok(info)
}

pub(crate) async fn credentials(
    store: &SqliteStore,
    id: &TokenId,
) -> Result<Option<TokenCredentials>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT t.id, t.user_id, u.name, t.digest, t.expires_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?",
    )
    .bind(&id.0)
    .fetch_optional(&store.reader)
    .await
    .map_err(|e| map(e, "looking up a token"))?
    else {
        return Ok(None);
    };
    let user_id: i64 = row.get("user_id");
    Ok(Some(TokenCredentials {
        id: TokenId(row.get("id")),
        user_id: UserId(user_id),
        user: row.get("name"),
        roles: roles_of(&store.reader, user_id).await?,
        digest: row.get("digest"),
        expires_at: row
            .get::<Option<i64>, _>("expires_at")
            .map(from_micros)
            .transpose()?,
        revoked_at: row
            .get::<Option<i64>, _>("revoked_at")
            .map(from_micros)
            .transpose()?,
    }))
}

async fn info(conn: &mut SqliteConnection, id: &TokenId) -> Result<TokenInfo, StoreError> {
    let row = sqlx::query(
        "SELECT t.id, t.user_id, u.name, t.created_at, t.expires_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?",
    )
    .bind(&id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| map(e, "reading a token"))?
    .ok_or_else(|| StoreError::NotFound {
        what: format!("token {id}"),
    })?;
    let roles = roles_of(&mut *conn, row.get("user_id")).await?;
    token_info(&row, roles)
}

async fn roles_of<'e>(db: impl SqliteExecutor<'e>, user_id: i64) -> Result<Vec<Role>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = ?")
        .bind(user_id)
        .fetch_all(db)
        .await
        .map_err(|e| map(e, "reading roles"))?;
    let mut roles = names
        .iter()
        .map(|r| parse_role(r))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    Ok(roles)
}

fn parse_role(name: &str) -> Result<Role, StoreError> {
    name.parse()
        .map_err(|e| StoreError::internal("reading a role", e))
}

fn token_info(row: &SqliteRow, roles: Vec<Role>) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: TokenId(row.get("id")),
        user: row.get("name"),
        roles,
        created_at: from_micros(row.get("created_at"))?,
        expires_at: row
            .get::<Option<i64>, _>("expires_at")
            .map(from_micros)
            .transpose()?,
        revoked_at: row
            .get::<Option<i64>, _>("revoked_at")
            .map(from_micros)
            .transpose()?,
    })
}

pub(crate) async fn users(
    store: &SqliteStore,
) -> Result<Vec<frontline_store::UserInfo>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT u.name, r.role FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
         ORDER BY u.name",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "listing users"))?;
    frontline_store::UserInfo::from_rows(rows)
}
