//! Post-incident reviews (the written part) and the trends' weekly topic counts.

use crate::incidents::Tx;
use crate::{PostgresStore, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::review::{Review, ReviewSections};
use frontline_store::{Bucket, Origin, StoreError, TopicCount};

pub(crate) async fn get(
    store: &PostgresStore,
    incident: i64,
) -> Result<Option<Review>, StoreError> {
    let row: Option<(String, String, DateTime<Utc>)> =
        sqlx::query_as("SELECT doc, updated_by, updated_at FROM reviews WHERE incident_id = $1")
            .bind(incident)
            .fetch_optional(&store.pool)
            .await
            .map_err(|e| map(e, "reading a review"))?;
    row.map(|(doc, by, at)| {
        Ok(Review {
            incident_id: incident,
            sections: serde_json::from_str(&doc)
                .map_err(|e| StoreError::internal("reading a review", e))?,
            updated_by: Some(by),
            updated_at: Some(at),
        })
    })
    .transpose()
}

pub(crate) async fn save(
    store: &PostgresStore,
    incident: i64,
    sections: &ReviewSections,
    origin: &Origin,
) -> Result<Review, StoreError> {
    // Microsecond precision, as stored, so the answer equals a later read.
    let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap_or_default();
    let doc =
        serde_json::to_string(sections).map_err(|e| StoreError::internal("writing a review", e))?;
    let mut tx = store.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM incidents WHERE seq = $1")
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
        "INSERT INTO reviews (incident_id, doc, updated_by, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (incident_id) DO UPDATE SET doc = excluded.doc,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(incident)
    .bind(&doc)
    .bind(origin.actor.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "saving a review"))?;
    let audit = frontline_store::changes::review_saved(incident, sections, origin);
    let t = &mut Tx {
        conn: &mut tx,
        lock: true,
    };
    frontline_store::incidents::IncidentTx::append_audit(t, &audit).await?;
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
    store: &PostgresStore,
    source: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, u64)>, StoreError> {
    let rows: Vec<(DateTime<Utc>, i64)> = sqlx::query_as(
        "SELECT date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
                count(*) FROM contacts
         WHERE received_at >= $1 AND received_at < $2 AND source = $3
         GROUP BY hour ORDER BY hour",
    )
    .bind(since)
    .bind(until)
    .bind(source)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "counting a source's contacts per hour"))?;
    Ok(rows.into_iter().map(|(h, n)| (h, n as u64)).collect())
}

pub(crate) async fn topic_counts(
    store: &PostgresStore,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    bucket: Bucket,
) -> Result<Vec<TopicCount>, StoreError> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT floor((extract(epoch FROM c.received_at) - $1) / $2)::bigint AS bucket,
                t.topic, count(*)
         FROM contacts c, jsonb_array_elements_text(c.topics) AS t(topic)
         WHERE c.received_at >= $3 AND c.received_at < $4
         GROUP BY bucket, t.topic ORDER BY bucket, t.topic",
    )
    .bind(bucket.origin_seconds as f64)
    .bind(bucket.seconds as f64)
    .bind(since)
    .bind(until)
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "counting topics per bucket"))?;
    rows.into_iter()
        .map(|(n_bucket, topic, n)| {
            let start =
                DateTime::from_timestamp(n_bucket * bucket.seconds + bucket.origin_seconds, 0)
                    .ok_or_else(|| {
                        StoreError::internal("counting topics per bucket", "bucket out of range")
                    })?;
            Ok(TopicCount {
                start,
                topic,
                contacts: n as u64,
            })
        })
        .collect()
}
