//! Contacts: idempotent batch intake and keyset-paged reads.

use crate::{PostgresStore, audit, errors::map};
use chrono::{DateTime, Utc};
use frontline_core::contact::{Contact, ContactKey, RedactedContact};
use frontline_store::{ContactQuery, Cursor, Inserted, Origin, Page, StoreError, batch, changes};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::HashSet;

/// How many rows one INSERT statement carries (11 parameters a row, far below PostgreSQL's
/// limit of 65,535).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

pub(crate) async fn insert(
    store: &PostgresStore,
    batch: &[RedactedContact],
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
            "INSERT INTO contacts (source, ext_id, channel, received_at, text, customer, service,
                                   region, language, metadata, topics, ingested_at) ",
        );
        sql.push_values(chunk, |mut row, c| {
            row.push_bind(&c.key.source)
                .push_bind(&c.key.id)
                .push_bind(c.channel.as_str())
                .push_bind(c.received_at)
                .push_bind(&c.text)
                .push_bind(&c.customer)
                .push_bind(&c.service)
                .push_bind(&c.region)
                .push_bind(&c.language)
                .push_bind(&c.metadata)
                .push_bind(sqlx::types::Json(&c.topics))
                .push_bind(now);
        });
        // Conflicting rows (stored before, or earlier in this statement) are skipped and not
        // returned: what comes back was stored now.
        sql.push(" ON CONFLICT (source, ext_id) DO NOTHING RETURNING source, ext_id");
        let rows: Vec<(String, String)> = sql
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| map(e, "storing contacts"))?;
        inserted.extend(rows);
    }
    let outcome = batch::outcomes(
        batch
            .iter()
            .map(|c| (c.key.source.as_str(), c.key.id.as_str())),
        inserted,
    );
    let entry = changes::intake(
        "contacts.ingest",
        "contacts",
        batch.iter().map(|c| c.key.source.as_str()),
        &outcome,
        origin,
    );
    if let Some(entry) = entry {
        audit::append(&mut tx, &entry).await?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, "committing contacts"))?;
    Ok(outcome)
}

const COLUMNS: &str = "seq, source, ext_id, channel, received_at, text, customer, service, region, language, metadata, topics, ingested_at";

pub(crate) async fn list(
    store: &PostgresStore,
    query: &ContactQuery,
) -> Result<Page<Contact>, StoreError> {
    let mut sql =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM contacts WHERE TRUE"));
    if let Some(channel) = query.channel {
        sql.push(" AND channel = ").push_bind(channel.as_str());
    }
    if let Some(topic) = &query.topic {
        sql.push(" AND topics @> jsonb_build_array(")
            .push_bind(topic.clone())
            .push("::text)");
    }
    push_list(
        &mut sql,
        &ListWindow {
            time_column: "received_at",
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
        .map_err(|e| map(e, "listing contacts"))?;
    page(rows, query.limit as usize, "received_at", contact_from_row)
}

pub(crate) async fn get(
    store: &PostgresStore,
    source: &str,
    id: &str,
) -> Result<Option<Contact>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE source = $1 AND ext_id = $2"
    ))
    .bind(source)
    .bind(id)
    .fetch_optional(&store.pool)
    .await
    .map_err(|e| map(e, "reading a contact"))?
    .map(|row| contact_from_row(&row))
    .transpose()
}

/// The cursor's time as a timestamp; a cursor can only name times a row could have.
pub(crate) fn cursor_time(cursor: Cursor) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(cursor.at_micros).ok_or_else(|| StoreError::Invalid {
        field: "cursor".into(),
        reason: "names a time out of range".into(),
    })
}

/// The parts of a list query every list shares, in the same shape for each.
pub(crate) struct ListWindow<'a> {
    /// The event-time column the list is ordered by.
    pub time_column: &'static str,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub service: Option<&'a String>,
    pub source: Option<&'a String>,
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// Pushes the time range, service and source filters, the keyset position, the order and the
/// limit (one row more than asked, which tells whether there is a next page).
pub(crate) fn push_list(
    sql: &mut QueryBuilder<'_, Postgres>,
    w: &ListWindow<'_>,
) -> Result<(), StoreError> {
    let t = w.time_column;
    if let Some(since) = w.since {
        sql.push(format!(" AND {t} >= ")).push_bind(since);
    }
    if let Some(until) = w.until {
        sql.push(format!(" AND {t} < ")).push_bind(until);
    }
    if let Some(service) = w.service {
        sql.push(" AND service = ").push_bind(service.clone());
    }
    if let Some(source) = w.source {
        sql.push(" AND source = ").push_bind(source.clone());
    }
    if let Some(after) = w.after {
        sql.push(format!(" AND ({t}, seq) > ("))
            .push_bind(cursor_time(after)?)
            .push(", ")
            .push_bind(after.seq)
            .push(")");
    }
    sql.push(format!(" ORDER BY {t}, seq LIMIT "))
        .push_bind(i64::from(w.limit) + 1);
    Ok(())
}

pub(crate) async fn after(
    store: &PostgresStore,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, Contact)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "reading new contacts"))?;
    rows.iter()
        .map(|row| Ok((row.get::<i64, _>("seq"), contact_from_row(row)?)))
        .collect()
}

/// Cuts `rows` (fetched with one extra) to a page and makes the cursor from the last row kept.
pub(crate) fn page<T>(
    mut rows: Vec<PgRow>,
    limit: usize,
    at_column: &str,
    convert: fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(Cursor {
            at_micros: last.get::<DateTime<Utc>, _>(at_column).timestamp_micros(),
            seq: last.get("seq"),
        }),
        _ => None,
    };
    let items = rows.iter().map(convert).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

fn contact_from_row(row: &PgRow) -> Result<Contact, StoreError> {
    let channel: String = row.get("channel");
    Ok(Contact {
        contact: RedactedContact {
            key: ContactKey {
                source: row.get("source"),
                id: row.get("ext_id"),
            },
            channel: channel
                .parse()
                .map_err(|e: String| StoreError::internal("reading a channel", e))?,
            received_at: row.get("received_at"),
            text: row.get("text"),
            customer: row.get("customer"),
            service: row.get("service"),
            region: row.get("region"),
            language: row.get("language"),
            metadata: row.get("metadata"),
            topics: row.get::<sqlx::types::Json<Vec<String>>, _>("topics").0,
        },
        ingested_at: row.get("ingested_at"),
    })
}

pub(crate) async fn impact(
    store: &PostgresStore,
    since: chrono::DateTime<chrono::Utc>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    service: Option<&str>,
    topics: &[String],
) -> Result<frontline_store::Impact, StoreError> {
    let mut out = frontline_store::Impact::default();
    if topics.is_empty() {
        return Ok(out);
    }
    // One row per (contact, matching topic); the totals count contacts once.
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT c.seq, c.customer, j.value AS topic FROM contacts c, jsonb_array_elements_text(c.topics) AS j(value)
         WHERE c.received_at >= ",
    );
    sql.push_bind(since);
    if let Some(until) = until {
        sql.push(" AND c.received_at < ").push_bind(until);
    }
    if let Some(service) = service {
        sql.push(" AND c.service = ").push_bind(service.to_owned());
    }
    sql.push(" AND j.value IN (");
    let mut list = sql.separated(", ");
    for t in topics {
        list.push_bind(t.clone());
    }
    sql.push(")");
    let rows = sql
        .build()
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "counting contacts"))?;
    let mut contacts = std::collections::HashSet::new();
    let mut customers = std::collections::HashSet::new();
    for row in &rows {
        contacts.insert(row.get::<i64, _>("seq"));
        if let Some(c) = row.get::<Option<String>, _>("customer") {
            customers.insert(c);
        }
        *out.by_topic.entry(row.get("topic")).or_default() += 1;
    }
    out.contacts = contacts.len() as u64;
    out.customers = customers.len() as u64;
    Ok(out)
}

/// Replaces a contact's topics, audited, and keeps the correction.
pub(crate) async fn correct_topics(
    store: &PostgresStore,
    source: &str,
    id: &str,
    topics: &[String],
    origin: &frontline_store::Origin,
) -> Result<Contact, StoreError> {
    let mut tx = store.begin().await?;
    let before: Option<sqlx::types::Json<Vec<String>>> = sqlx::query_scalar(
        "SELECT topics FROM contacts WHERE source = $1 AND ext_id = $2 FOR UPDATE",
    )
    .bind(source)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| map(e, "reading a contact's topics"))?;
    let before = before
        .ok_or_else(|| StoreError::NotFound {
            what: format!("contact {id:?} from source {source:?}"),
        })?
        .0;
    sqlx::query("UPDATE contacts SET topics = $1 WHERE source = $2 AND ext_id = $3")
        .bind(sqlx::types::Json(topics))
        .bind(source)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "correcting a contact's topics"))?;
    sqlx::query(
        "INSERT INTO topic_corrections (source, ext_id, before, after, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(source)
    .bind(id)
    .bind(sqlx::types::Json(&before))
    .bind(sqlx::types::Json(topics))
    .bind(origin.actor.to_string())
    .bind(chrono::Utc::now())
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "keeping a topic correction"))?;
    crate::audit::append(
        &mut tx,
        &frontline_store::changes::topics_corrected(source, id, &before, topics, origin),
    )
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE source = $1 AND ext_id = $2"
    ))
    .bind(source)
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| map(e, "reading a contact"))?;
    let contact = contact_from_row(&row)?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing a topic correction"))?;
    Ok(contact)
}

/// Every corrected contact once, with its latest correction's topics and actor.
pub(crate) async fn topic_corrections(
    store: &PostgresStore,
) -> Result<Vec<frontline_store::TopicCorrection>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (t.source, t.ext_id) t.seq, c.source, c.ext_id, c.language, c.text,
                t.after, t.actor
         FROM topic_corrections t
         JOIN contacts c ON c.source = t.source AND c.ext_id = t.ext_id
         ORDER BY t.source, t.ext_id, t.seq DESC",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(|e| map(e, "reading topic corrections"))?;
    let mut out: Vec<(i64, frontline_store::TopicCorrection)> = rows
        .iter()
        .map(|row| {
            (
                row.get::<i64, _>("seq"),
                frontline_store::TopicCorrection {
                    source: row.get("source"),
                    id: row.get("ext_id"),
                    language: row.get("language"),
                    text: row.get("text"),
                    topics: row.get::<sqlx::types::Json<Vec<String>>, _>("after").0,
                    actor: row.get("actor"),
                },
            )
        })
        .collect();
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}
