//! Post-incident reviews (the written part) and the trends' weekly topic counts.

use crate::incidents::Tx;
use crate::{SqliteStore, errors::map, from_micros, micros};
use chrono::{DateTime, Utc};
use frontline_core::review::{Review, ReviewSections};
use frontline_store::{Bucket, Origin, StoreError, TopicCount};

pub(crate) async fn get(store: &SqliteStore, incident: i64) -> Result<Option<Review>, StoreError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT doc, updated_by, updated_at FROM reviews WHERE incident_id = ?")
            .bind(incident)
            .fetch_optional(&store.reader)
            .await
            .map_err(|e| map(e, "reading a review"))?;
    row.map(|(doc, by, at)| {
        Ok(Review {
            incident_id: incident,
            sections: serde_json::from_str(&doc)
                .map_err(|e| StoreError::internal("reading a review", e))?,
            updated_by: Some(by),
            updated_at: Some(from_micros(at)?),
        })
    })
    .transpose()
}

pub(crate) async fn save(
    store: &SqliteStore,
    incident: i64,
    sections: &ReviewSections,
    origin: &Origin,
) -> Result<Review, StoreError> {
    // Microsecond precision, as stored, so the answer equals a later read.
    let now = from_micros(micros(Utc::now()))?;
    let doc =
        serde_json::to_string(sections).map_err(|e| StoreError::internal("writing a review", e))?;
    let mut tx = store.begin_write().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM incidents WHERE seq = ?")
        .bind(incident)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map(e, "finding an incident"))?;
    if exists.is_none() {
        return Err(StoreError::NotFound {
            what: format!("incident {incident}"),
        });
    }
    sqlx::query(
        "INSERT INTO reviews (incident_id, doc, updated_by, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (incident_id) DO UPDATE SET doc = excluded.doc,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(incident)
    .bind(&doc)
    .bind(origin.actor.to_string())
    .bind(micros(now))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "saving a review"))?;
    let audit = frontline_store::changes::review_saved(incident, sections, origin);
    frontline_store::incidents::IncidentTx::append_audit(&mut Tx(&mut tx), &audit).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a review"))?;
    Ok(Review {
        incident_id: incident,
        sections: sections.clone(),
        updated_by: Some(origin.actor.to_string()),
        updated_at: Some(now),
    })
}

pub(crate) async fn source_hours(
    store: &SqliteStore,
    source: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, u64)>, StoreError> {
    const HOUR: i64 = 3_600_000_000;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT received_at / ? AS hour, count(*) FROM contacts
         WHERE received_at >= ? AND received_at < ? AND source = ?
         GROUP BY hour ORDER BY hour",
    )
    .bind(HOUR)
    .bind(micros(since))
    .bind(micros(until))
    .bind(source)
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "counting a source's contacts per hour"))?;
    rows.into_iter()
        .map(|(hour, n)| Ok((from_micros(hour * HOUR)?, n as u64)))
        .collect()
}

pub(crate) async fn topic_counts(
    store: &SqliteStore,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    bucket: Bucket,
) -> Result<Vec<TopicCount>, StoreError> {
    const SECOND: i64 = 1_000_000;
    // Integer division truncates toward zero; times before the origin do not occur here.
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT ((c.received_at / ? - ?) / ?) AS bucket, j.value AS topic, count(*)
         FROM contacts c, json_each(c.topics) j
         WHERE c.received_at >= ? AND c.received_at < ?
         GROUP BY bucket, topic ORDER BY bucket, topic",
    )
    .bind(SECOND)
    .bind(bucket.origin_seconds)
    .bind(bucket.seconds)
    .bind(micros(since))
    .bind(micros(until))
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "counting topics per bucket"))?;
    rows.into_iter()
        .map(|(n_bucket, topic, n)| {
            Ok(TopicCount {
                start: from_micros((n_bucket * bucket.seconds + bucket.origin_seconds) * SECOND)?,
                topic,
                contacts: n as u64,
            })
        })
        .collect()
}
