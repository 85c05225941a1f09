//! Alerts: upserted by the detector, listed, and moved through their states by people.

use crate::contacts::{ListWindow, page, push_list};
use crate::{SqliteStore, audit, errors::map, from_micros, micros};
use chrono::Utc;
use frontline_core::alert::{Alert, AlertState, DetectedAlert};
use frontline_store::{AlertQuery, Origin, Page, StoreError, changes};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

const COLUMNS: &str = "seq, id, kind, topic, service, channel, started_at, raised_at, observed, customers, expected, score, evidence, text, language, group_id, state, reason, state_by, state_at, created_at";

/// Whether another alert of this family (its first, or any member) is stored.
const FAMILY_QUERY: &str =
    "SELECT 1 FROM alerts WHERE (id = ? OR group_id = ?) AND id <> ? LIMIT 1";

pub(crate) async fn upsert(
    store: &SqliteStore,
    alerts: &[DetectedAlert],
    fence: Option<&frontline_store::Lease>,
) -> Result<usize, StoreError> {
    if alerts.is_empty() {
        return Ok(0);
    }
    let now = micros(Utc::now());
    let mut tx = store.begin_write().await?;
    if let Some(lease) = fence {
        crate::leases::check_fence(&mut tx, lease).await?;
    }
    let mut new = 0;
    for a in alerts {
        let evidence = serde_json::to_string(&a.evidence)
            .map_err(|e| StoreError::internal("encoding evidence", e))?;
        let existed: Option<i64> = sqlx::query_scalar("SELECT seq FROM alerts WHERE id = ?")
            .bind(&a.alert_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map(e, "finding an alert"))?;
        sqlx::query(
            "INSERT INTO alerts (id, kind, topic, service, channel, started_at, raised_at, observed,
                                 customers, expected, score, evidence, text, language, group_id,
                                 created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET topic = excluded.topic, raised_at = excluded.raised_at,
                 observed = excluded.observed, customers = excluded.customers,
                 expected = excluded.expected,
                 score = excluded.score, evidence = excluded.evidence, text = excluded.text",
        )
        .bind(&a.alert_id)
        .bind(a.kind.as_str())
        .bind(&a.topic)
        .bind(&a.service)
        .bind(&a.channel)
        .bind(micros(a.started_at))
        .bind(micros(a.raised_at))
        .bind(i64::try_from(a.observed).unwrap_or(i64::MAX))
        .bind(i64::try_from(a.customers).unwrap_or(i64::MAX))
        .bind(a.expected)
        .bind(a.score)
        .bind(evidence)
        .bind(&a.text)
        .bind(&a.language)
        .bind(&a.group_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "storing an alert"))?;
        if existed.is_none() {
            new += 1;
            // One wave, one `alert.raised`: a later alert of a family already stored tells
            // the family it grew instead of raising anew.
            let family = match a.group_id.as_deref() {
                Some(group) => sqlx::query_scalar::<_, i32>(FAMILY_QUERY)
                    .bind(group)
                    .bind(group)
                    .bind(&a.alert_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| map(e, "finding an alert's family"))?
                    .map(|_| group),
                None => None,
            };
            let entry = match family {
                Some(group) => changes::alert_joined(group, a),
                None => changes::alert_raised(a),
            };
            crate::incidents::append_feed(&mut tx, &entry).await?;
        }
    }
    tx.commit().await.map_err(|e| map(e, "committing alerts"))?;
    Ok(new)
}

pub(crate) async fn list(
    store: &SqliteStore,
    query: &AlertQuery,
) -> Result<Page<Alert>, StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM alerts WHERE 1 = 1"));
    if let Some(state) = query.state {
        sql.push(" AND state = ").push_bind(state.as_str());
    }
    if let Some(kind) = query.kind {
        sql.push(" AND kind = ").push_bind(kind.as_str());
    }
    if let Some(topic) = &query.topic {
        sql.push(" AND topic = ").push_bind(topic.clone());
    }
    push_list(
        &mut sql,
        &ListWindow {
            time_column: "started_at",
            since: query.since,
            until: query.until,
            service: None,
            source: None,
            after: query.after,
            limit: query.limit,
        },
    );
    let rows = sql
        .build()
        .fetch_all(&store.reader)
        .await
        .map_err(|e| map(e, "listing alerts"))?;
    page(rows, query.limit as usize, "started_at", alert_from_row)
}

pub(crate) async fn get(store: &SqliteStore, id: &str) -> Result<Option<Alert>, StoreError> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?"))
        .bind(id)
        .fetch_optional(&store.reader)
        .await
        .map_err(|e| map(e, "reading an alert"))?
        .map(|row| alert_from_row(&row))
        .transpose()
}

pub(crate) async fn set_state(
    store: &SqliteStore,
    id: &str,
    state: AlertState,
    reason: Option<&str>,
    origin: &Origin,
) -> Result<Alert, StoreError> {
    let mut tx = store.begin_write().await?;
    let current: Option<String> = sqlx::query_scalar("SELECT state FROM alerts WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "reading an alert's state"))?;
    let current: AlertState = current
        .ok_or_else(|| StoreError::NotFound {
            what: format!("alert {id}"),
        })?
        .parse()
        .map_err(|e: String| StoreError::internal("reading an alert's state", e))?;
    if !current.can_become(state) {
        return Err(StoreError::Conflict {
            constraint: format!(
                "an {} alert cannot become {}",
                current.as_str(),
                state.as_str()
            ),
        });
    }
    sqlx::query("UPDATE alerts SET state = ?, reason = ?, state_by = ?, state_at = ? WHERE id = ?")
        .bind(state.as_str())
        .bind(reason)
        .bind(origin.actor.to_string())
        .bind(micros(Utc::now()))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "changing an alert's state"))?;
    audit::append(&mut tx, &changes::alert_state(id, state, reason, origin)).await?;
    crate::incidents::append_feed(&mut tx, &changes::alert_updated(id, state, reason, origin))
        .await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map(e, "reading an alert"))?;
    let alert = alert_from_row(&row)?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing an alert's state"))?;
    Ok(alert)
}

fn alert_from_row(row: &SqliteRow) -> Result<Alert, StoreError> {
    let kind: String = row.get("kind");
    let state: String = row.get("state");
    let evidence: String = row.get("evidence");
    Ok(Alert {
        detected: DetectedAlert {
            alert_id: row.get("id"),
            kind: kind
                .parse()
                .map_err(|e: String| StoreError::internal("reading an alert kind", e))?,
            topic: row.get("topic"),
            service: row.get("service"),
            channel: row.get("channel"),
            started_at: from_micros(row.get("started_at"))?,
            raised_at: from_micros(row.get("raised_at"))?,
            observed: u64::try_from(row.get::<i64, _>("observed")).unwrap_or(0),
            customers: u64::try_from(row.get::<i64, _>("customers")).unwrap_or(0),
            expected: row.get("expected"),
            score: row.get("score"),
            evidence: serde_json::from_str(&evidence)
                .map_err(|e| StoreError::internal("reading alert evidence", e))?,
            text: row.get("text"),
            language: row.get("language"),
            group_id: row.get("group_id"),
        },
        state: state
            .parse()
            .map_err(|e: String| StoreError::internal("reading an alert state", e))?,
        reason: row.get("reason"),
        state_by: row.get("state_by"),
        state_at: row
            .get::<Option<i64>, _>("state_at")
            .map(from_micros)
            .transpose()?,
        created_at: from_micros(row.get("created_at"))?,
    })
}
