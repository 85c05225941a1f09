//! Statements and components: written through `frontline_store::statements`, read here.

use crate::incidents::{Tx, decode_statement, statements_of};
use crate::{PostgresStore, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::Role;
use frontline_core::component::{Component, ComponentStatus};
use frontline_core::statement::{Audience, Draft, Statement};
use frontline_store::{Origin, StoreError, statements};

/// One statement write, in its own transaction.
pub(crate) enum Write<'a> {
    Create(i64, Audience, Draft, &'a str),
    Edit(i64, Draft, &'a str),
    Approve(i64, &'a str, &'a [Role]),
    Publish(i64, &'a str, &'a [Role]),
}

pub(crate) async fn write(
    store: &PostgresStore,
    op: Write<'_>,
    origin: &Origin,
) -> Result<Statement, StoreError> {
    let mut tx = store.begin().await?;
    let t = &mut Tx {
        conn: &mut tx,
        lock: true,
    };
    let statement = match op {
        Write::Create(incident, audience, draft, author) => {
            statements::create(t, incident, audience, draft, author, origin).await?
        }
        Write::Edit(id, draft, author) => statements::edit(t, id, draft, author, origin).await?,
        Write::Approve(id, user, roles) => statements::approve(t, id, user, roles, origin).await?,
        Write::Publish(id, user, roles) => statements::publish(t, id, user, roles, origin).await?,
    };
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a statement"))?;
    Ok(statement)
}

pub(crate) async fn get(store: &PostgresStore, id: i64) -> Result<Option<Statement>, StoreError> {
    let doc: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT doc FROM statements WHERE seq = $1")
            .bind(id)
            .fetch_optional(&store.pool)
            .await
            .map_err(|e| map(e, "reading a statement"))?;
    doc.map(|d| decode_statement(id, d)).transpose()
}

pub(crate) async fn list(
    store: &PostgresStore,
    incident: i64,
) -> Result<Vec<Statement>, StoreError> {
    let mut conn = store
        .pool
        .acquire()
        .await
        .map_err(|e| map(e, "listing statements"))?;
    statements_of(&mut conn, incident).await
}

pub(crate) async fn published(
    store: &PostgresStore,
    audience: Audience,
    since: DateTime<Utc>,
) -> Result<Vec<Statement>, StoreError> {
    let rows: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "SELECT seq, doc FROM statements WHERE audience = $1 AND published_at >= $2 ORDER BY seq",
    )
    .bind(audience.as_str())
    .bind(since)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "listing published statements"))?;
    rows.into_iter()
        .map(|(id, doc)| decode_statement(id, doc))
        .collect()
}

pub(crate) async fn set_component(
    store: &PostgresStore,
    name: &str,
    status: ComponentStatus,
    origin: &Origin,
) -> Result<Component, StoreError> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO components (name, status, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET status = excluded.status,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(name)
    .bind(status.as_str())
    .bind(now)
    .bind(origin.actor.to_string())
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "setting a component"))?;
    let t = &mut Tx {
        conn: &mut tx,
        lock: true,
    };
    let (entry, audit) = frontline_store::changes::component(name, status, origin);
    frontline_store::incidents::IncidentTx::append_feed(t, &entry).await?;
    frontline_store::incidents::IncidentTx::append_audit(t, &audit).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a component"))?;
    Ok(Component {
        name: name.to_owned(),
        status,
        updated_at: now,
        updated_by: origin.actor.to_string(),
    })
}

pub(crate) async fn components(store: &PostgresStore) -> Result<Vec<Component>, StoreError> {
    let rows: Vec<(String, String, DateTime<Utc>, String)> =
        sqlx::query_as("SELECT name, status, updated_at, updated_by FROM components ORDER BY name")
            .fetch_all(&store.pool)
            .await
            .map_err(|e| map(e, "listing components"))?;
    rows.into_iter()
        .map(|(name, status, at, by)| {
            Ok(Component {
                name,
                status: status
                    .parse()
                    .map_err(|e: String| StoreError::internal("reading a component", e))?,
                updated_at: at,
                updated_by: by,
            })
        })
        .collect()
}
