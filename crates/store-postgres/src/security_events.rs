//! Security events: idempotent batch intake and keyset-paged reads.

use crate::contacts::{ListWindow, ROWS_PER_STATEMENT, page, push_list};
use crate::{PostgresStore, audit, errors::map};
use chrono::Utc;
use frontline_core::security_event::{NewSecurityEvent, SecurityEvent, Severity};
use frontline_store::{
    Inserted, Origin, Page, Resolution, SecurityEventQuery, StoreError, batch, changes,
};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::HashSet;

pub(crate) async fn insert(
    store: &PostgresStore,
    batch: &[NewSecurityEvent],
    origin: &Origin,
) -> Result<Vec<Inserted>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let mut inserted: HashSet<(String, String)> = HashSet::with_capacity(batch.len());
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Postgres>::new(
            "INSERT INTO security_events (source, ext_id, observed_at, severity, title, service,
                                          indicators, resolved_at, ingested_at) ",
        );
        sql.push_values(chunk, |mut row, e| {
            row.push_bind(&e.source)
                .push_bind(&e.id)
                .push_bind(e.observed_at)
                .push_bind(e.severity.rank())
                .push_bind(&e.title)
                .push_bind(&e.service)
                .push_bind(&e.indicators)
                .push_bind(e.resolved_at)
                .push_bind(now);
        });
        sql.push(" ON CONFLICT (source, ext_id) DO NOTHING RETURNING source, ext_id");
        let rows: Vec<(String, String)> = sql
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|err| map(err, "storing security events"))?;
        inserted.extend(rows);
    }
    let outcome = batch::outcomes(
        batch.iter().map(|e| (e.source.as_str(), e.id.as_str())),
        inserted,
    );
    let entry = changes::intake(
        "security_events.ingest",
        "security_events",
        batch.iter().map(|e| e.source.as_str()),
        &outcome,
        origin,
    );
    if let Some(entry) = entry {
        audit::append(&mut tx, &entry).await?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing security events"))?;
    Ok(outcome)
}

pub(crate) async fn resolve(
    store: &PostgresStore,
    resolutions: &[Resolution],
    origin: &Origin,
) -> Result<usize, StoreError> {
    if resolutions.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let mut changed = 0;
    for r in resolutions {
        changed += sqlx::query(
            // A tool's own status among the indicators (Alertmanager's `firing`) follows.
            "UPDATE security_events SET resolved_at = $1,
                 indicators = CASE WHEN indicators ? 'status'
                     THEN jsonb_set(indicators, '{status}', '\"resolved\"') ELSE indicators END
             WHERE source = $2 AND ext_id = $3 AND resolved_at IS NULL",
        )
        .bind(r.resolved_at)
        .bind(&r.source)
        .bind(&r.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "resolving a security event"))?
        .rows_affected() as usize;
    }
    let entry = changes::resolution(
        resolutions.iter().map(|r| r.source.as_str()),
        changed,
        origin,
    );
    if let Some(entry) = entry {
        audit::append(&mut tx, &entry).await?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing resolutions"))?;
    Ok(changed)
}

const COLUMNS: &str = "seq, source, ext_id, observed_at, severity, title, service, indicators, resolved_at, ingested_at";

pub(crate) async fn list(
    store: &PostgresStore,
    query: &SecurityEventQuery,
) -> Result<Page<SecurityEvent>, StoreError> {
    let mut sql =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM security_events WHERE TRUE"));
    if let Some(min) = query.min_severity {
        sql.push(" AND severity >= ").push_bind(min.rank());
    }
    push_list(
        &mut sql,
        &ListWindow {
            time_column: "observed_at",
            since: query.since,
            until: query.until,
            service: query.service.as_ref(),
            source: query.source.as_ref(),
            after: query.after,
            limit: query.limit,
        },
    )?;
    let rows = sql
        .build()
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "listing security events"))?;
    page(rows, query.limit as usize, "observed_at", event_from_row)
}

pub(crate) async fn get(
    store: &PostgresStore,
    source: &str,
    id: &str,
) -> Result<Option<SecurityEvent>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM security_events WHERE source = $1 AND ext_id = $2"
    ))
    .bind(source)
    .bind(id)
    .fetch_optional(&store.pool)
    .await
    .map_err(|e| map(e, "reading a security event"))?
    .map(|row| event_from_row(&row))
    .transpose()
}

fn event_from_row(row: &PgRow) -> Result<SecurityEvent, StoreError> {
    let rank: i16 = row.get("severity");
    Ok(SecurityEvent {
        event: NewSecurityEvent {
            id: row.get("ext_id"),
            source: row.get("source"),
            observed_at: row.get("observed_at"),
            severity: Severity::from_rank(rank).ok_or_else(|| {
                StoreError::internal("reading a severity", format!("unknown rank {rank}"))
            })?,
            title: row.get("title"),
            service: row.get("service"),
            indicators: row.get("indicators"),
            resolved_at: row.get("resolved_at"),
        },
        ingested_at: row.get("ingested_at"),
    })
}
