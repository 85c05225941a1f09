//! Installation secrets: stored once, never replaced.

use crate::{SqliteStore, errors::map};
use frontline_store::StoreError;

pub(crate) async fn secret_or_insert(
    store: &SqliteStore,
    name: &str,
    candidate: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate)
        .bind(chrono::Utc::now().timestamp_micros())
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "storing a secret"))?;
    let value: Vec<u8> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "reading a secret"))?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a secret"))?;
    Ok(value)
}
