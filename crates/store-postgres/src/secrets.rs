//! Installation secrets: stored once, never replaced. Concurrent first starts agree: the loser's
//! insert waits for the winner's commit and then does nothing.

use crate::{PostgresStore, errors::map};
use frontline_store::StoreError;

pub(crate) async fn secret_or_insert(
    store: &PostgresStore,
    name: &str,
    candidate: &[u8],
) -> Result<Vec<u8>, StoreError> {
    sqlx::query("INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, now()) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate)
        .execute(&store.pool)
        .await
        .map_err(|e| map(e, "storing a secret"))?;
    sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_one(&store.pool)
        .await
        .map_err(|e| map(e, "reading a secret"))
}
