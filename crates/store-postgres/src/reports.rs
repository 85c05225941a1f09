//! Reports: filed and triaged through `frontline_store::reports`; read here.

use crate::incidents::{Tx, decode_report};
use crate::{PostgresStore, errors::map};
use frontline_core::report::{NewReport, ReportDetail, ReportState};
use frontline_store::{Origin, ReportQuery, StoreError, reports};
use sqlx::{Postgres, QueryBuilder, Row};

/// Reports with the incident each is linked to.
const SELECT: &str = "SELECT r.seq, r.doc, l.incident_id FROM reports r
     LEFT JOIN incident_links l ON l.kind = 'report' AND l.source = '' AND l.ref_id = CAST(r.seq AS text)";

pub(crate) async fn file(
    store: &PostgresStore,
    new: &NewReport,
    origin: &Origin,
) -> Result<ReportDetail, StoreError> {
    let mut tx = store.begin().await?;
    let detail = reports::file(
        &mut Tx {
            conn: &mut tx,
            lock: true,
        },
        new,
        origin,
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a report"))?;
    Ok(detail)
}

pub(crate) async fn set_state(
    store: &PostgresStore,
    id: i64,
    state: ReportState,
    reason: Option<&str>,
    origin: &Origin,
) -> Result<ReportDetail, StoreError> {
    let mut tx = store.begin().await?;
    let detail = reports::set_state(
        &mut Tx {
            conn: &mut tx,
            lock: true,
        },
        id,
        state,
        reason,
        origin,
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a report's state"))?;
    Ok(detail)
}

pub(crate) async fn get(
    store: &PostgresStore,
    id: i64,
) -> Result<Option<ReportDetail>, StoreError> {
    let row = sqlx::query(&format!("{SELECT} WHERE r.seq = $1"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| map(e, "reading a report"))?;
    row.map(|row| detail(&row)).transpose()
}

pub(crate) async fn list(
    store: &PostgresStore,
    query: &ReportQuery,
) -> Result<Vec<ReportDetail>, StoreError> {
    let mut sql = QueryBuilder::<Postgres>::new(format!("{SELECT} WHERE TRUE"));
    if let Some(state) = query.state {
        sql.push(" AND r.state = ").push_bind(state.as_str());
    }
    if let Some(category) = query.category {
        sql.push(" AND r.doc ->> 'category' = ")
            .push_bind(category.as_str());
    }
    if let Some(by) = &query.filed_by {
        sql.push(" AND r.doc ->> 'filed_by' = ")
            .push_bind(by.clone());
    }
    if let Some(since) = query.since {
        sql.push(" AND r.filed_at >= ").push_bind(since);
    }
    if let Some(b) = query.before {
        sql.push(" AND r.seq < ").push_bind(b);
    }
    sql.push(" ORDER BY r.seq DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    sql.build()
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "listing reports"))?
        .iter()
        .map(detail)
        .collect()
}

fn detail(row: &sqlx::postgres::PgRow) -> Result<ReportDetail, StoreError> {
    Ok(ReportDetail {
        report: decode_report(row.get("seq"), row.get("doc"))?,
        incident_id: row.get("incident_id"),
    })
}
