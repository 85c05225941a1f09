//! Users, their roles, and their API tokens.

use crate::{PostgresStore, audit, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::Role;
use frontline_core::ids::{TokenId, UserId};
use frontline_store::{NewToken, Origin, StoreError, TokenCredentials, TokenInfo, changes};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::BTreeMap;

const TOKEN_COLUMNS: &str =
    "SELECT t.id, t.user_id, u.name, t.created_at, t.expires_at, t.revoked_at
     FROM api_tokens t JOIN users u ON u.id = t.user_id";

pub(crate) async fn create(
    store: &PostgresStore,
    token: NewToken,
    origin: &Origin,
) -> Result<TokenInfo, StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let user_created = sqlx::query(
        "INSERT INTO users (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&token.user)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "creating a user"))?
    .rows_affected()
        == 1;
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(&token.user)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "finding a user"))?;
    let role_added = sqlx::query(
        "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(token.role.as_str())
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "granting a role"))?
    .rows_affected()
        == 1;
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&token.id.0)
    .bind(user_id)
    .bind(&token.digest[..])
    .bind(now)
    .bind(token.expires_at)
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

pub(crate) async fn list(store: &PostgresStore) -> Result<Vec<TokenInfo>, StoreError> {
    let rows = sqlx::query(&format!("{TOKEN_COLUMNS} ORDER BY t.seq DESC"))
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "listing tokens"))?;
    let role_rows: Vec<(i64, String)> = sqlx::query_as("SELECT user_id, role FROM user_roles")
        .fetch_all(&store.pool)
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
    store: &PostgresStore,
    id: &TokenId,
    origin: &Origin,
) -> Result<TokenInfo, StoreError> {
    let mut tx = store.begin().await?;
    let changed =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(Utc::now())
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
    store: &PostgresStore,
    id: &TokenId,
) -> Result<Option<TokenCredentials>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT t.id, t.user_id, u.name, t.digest, t.expires_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
    )
    .bind(&id.0)
    .fetch_optional(&store.pool)
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
        roles: roles_of(&store.pool, user_id).await?,
        digest: row.get("digest"),
        expires_at: row.get::<Option<DateTime<Utc>>, _>("expires_at"),
        revoked_at: row.get::<Option<DateTime<Utc>>, _>("revoked_at"),
    }))
}

async fn info(conn: &mut PgConnection, id: &TokenId) -> Result<TokenInfo, StoreError> {
    let row = sqlx::query(&format!("{TOKEN_COLUMNS} WHERE t.id = $1"))
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

async fn roles_of<'e>(db: impl PgExecutor<'e>, user_id: i64) -> Result<Vec<Role>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1")
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

fn token_info(row: &PgRow, roles: Vec<Role>) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: TokenId(row.get("id")),
        user: row.get("name"),
        roles,
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
    })
}

pub(crate) async fn users(
    store: &PostgresStore,
) -> Result<Vec<frontline_store::UserInfo>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT u.name, r.role FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
         ORDER BY u.name",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing users"))?;
    frontline_store::UserInfo::from_rows(rows)
}
