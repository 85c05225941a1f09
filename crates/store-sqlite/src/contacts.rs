//! Contacts: idempotent batch intake and keyset-paged reads.

use crate::{SqliteStore, audit, errors::map, from_micros, micros};
use chrono::Utc;
use frontline_core::contact::{Contact, ContactKey, RedactedContact};
use frontline_store::{ContactQuery, Cursor, Inserted, Origin, Page, StoreError, batch, changes};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::HashSet;

pub(crate) async fn insert(
    store: &SqliteStore,
    batch: &[RedactedContact],
    origin: &Origin,
) -> Result<Vec<Inserted>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let now = micros(Utc::now());
    let mut tx = store.begin_write().await?;
    let mut inserted: HashSet<(String, String)> = HashSet::with_capacity(batch.len());
    // Multi-row statements: one round trip per chunk instead of per row. 11 bound values a row
    // keeps a chunk far below SQLite's limit of 32,766 variables.
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "INSERT INTO contacts (source, ext_id, channel, received_at, text, customer, service,
                                   region, language, metadata, topics, ingested_at) ",
        );
        sql.push_values(chunk, |mut row, c| {
            row.push_bind(&c.key.source)
                .push_bind(&c.key.id)
                .push_bind(c.channel.as_str())
                .push_bind(micros(c.received_at))
                .push_bind(&c.text)
                .push_bind(&c.customer)
                .push_bind(&c.service)
                .push_bind(&c.region)
                .push_bind(&c.language)
                .push_bind(c.metadata.as_ref().map(serde_json::Value::to_string))
                .push_bind(serde_json::Value::from(c.topics.clone()).to_string())
                .push_bind(now);
        });
        // Rows that conflict are skipped and not returned: what comes back was stored now.
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

/// How many rows one INSERT statement carries.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

const COLUMNS: &str = "seq, source, ext_id, channel, received_at, text, customer, service, region, language, metadata, topics, ingested_at";

pub(crate) async fn list(
    store: &SqliteStore,
    query: &ContactQuery,
) -> Result<Page<Contact>, StoreError> {
    let mut sql =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM contacts WHERE 1 = 1"));
    if let Some(channel) = query.channel {
        sql.push(" AND channel = ").push_bind(channel.as_str());
    }
    if let Some(topic) = &query.topic {
        sql.push(" AND EXISTS (SELECT 1 FROM json_each(contacts.topics) WHERE json_each.value = ")
            .push_bind(topic.clone())
            .push(")");
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
    );
    let rows = sql
        .build()
        .fetch_all(&store.reader)
        .await
        .map_err(|e| map(e, "listing contacts"))?;
    page(rows, query.limit as usize, "received_at", contact_from_row)
}

pub(crate) async fn get(
    store: &SqliteStore,
    source: &str,
    id: &str,
) -> Result<Option<Contact>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE source = ? AND ext_id = ?"
    ))
    .bind(source)
    .bind(id)
    .fetch_optional(&store.reader)
    .await
    .map_err(|e| map(e, "reading a contact"))?
    .map(|row| contact_from_row(&row))
    .transpose()
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
pub(crate) fn push_list(sql: &mut QueryBuilder<'_, Sqlite>, w: &ListWindow<'_>) {
    let t = w.time_column;
    if let Some(since) = w.since {
        sql.push(format!(" AND {t} >= ")).push_bind(micros(since));
    }
    if let Some(until) = w.until {
        sql.push(format!(" AND {t} < ")).push_bind(micros(until));
    }
    if let Some(service) = w.service {
        sql.push(" AND service = ").push_bind(service.clone());
    }
    if let Some(source) = w.source {
        sql.push(" AND source = ").push_bind(source.clone());
    }
    if let Some(after) = w.after {
        sql.push(format!(" AND ({t}, seq) > ("))
            .push_bind(after.at_micros)
            .push(", ")
            .push_bind(after.seq)
            .push(")");
    }
    sql.push(format!(" ORDER BY {t}, seq LIMIT "))
        .push_bind(i64::from(w.limit) + 1);
}

pub(crate) async fn after(
    store: &SqliteStore,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, Contact)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE seq > ? ORDER BY seq LIMIT ?"
    ))
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "reading new contacts"))?;
    rows.iter()
        .map(|row| Ok((row.get::<i64, _>("seq"), contact_from_row(row)?)))
        .collect()
}

/// Cuts `rows` (fetched with one extra) to a page and makes the cursor from the last row kept.
pub(crate) fn page<T>(
    mut rows: Vec<SqliteRow>,
    limit: usize,
    at_column: &str,
    convert: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(Cursor {
            at_micros: last.get(at_column),
            seq: last.get("seq"),
        }),
        _ => None,
    };
    let items = rows.iter().map(convert).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

fn contact_from_row(row: &SqliteRow) -> Result<Contact, StoreError> {
    let channel: String = row.get("channel");
    let metadata: Option<String> = row.get("metadata");
    let topics: String = row.get("topics");
    Ok(Contact {
        contact: RedactedContact {
            key: ContactKey {
                source: row.get("source"),
                id: row.get("ext_id"),
            },
            channel: channel
                .parse()
                .map_err(|e: String| StoreError::internal("reading a channel", e))?,
            received_at: from_micros(row.get("received_at"))?,
            text: row.get("text"),
            customer: row.get("customer"),
            service: row.get("service"),
            region: row.get("region"),
            language: row.get("language"),
            metadata: metadata
                .map(|m| serde_json::from_str(&m))
                .transpose()
                .map_err(|e| StoreError::internal("reading contact metadata", e))?,
            topics: serde_json::from_str(&topics)
                .map_err(|e| StoreError::internal("reading contact topics", e))?,
        },
        ingested_at: from_micros(row.get("ingested_at"))?,
    })
}

pub(crate) async fn impact(
    store: &SqliteStore,
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
    let mut sql = QueryBuilder::<Sqlite>::new(
        "SELECT c.seq, c.customer, j.value AS topic FROM contacts c, json_each(c.topics) j
         WHERE c.received_at >= ",
    );
    sql.push_bind(micros(since));
    if let Some(until) = until {
        sql.push(" AND c.received_at < ").push_bind(micros(until));
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
        .fetch_all(&store.reader)
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
    store: &SqliteStore,
    source: &str,
    id: &str,
    topics: &[String],
    origin: &frontline_store::Origin,
) -> Result<Contact, StoreError> {
    let after =
        serde_json::to_string(topics).map_err(|e| StoreError::internal("encoding topics", e))?;
    let mut tx = store.begin_write().await?;
    let before: Option<String> =
        sqlx::query_scalar("SELECT topics FROM contacts WHERE source = ? AND ext_id = ?")
            .bind(source)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map(e, "reading a contact's topics"))?;
    let before = before.ok_or_else(|| StoreError::NotFound {
        what: format!("contact {id:?} from source {source:?}"),
    })?;
    let before_topics: Vec<String> = serde_json::from_str(&before)
        .map_err(|e| StoreError::internal("reading a contact's topics", e))?;
    sqlx::query("UPDATE contacts SET topics = ? WHERE source = ? AND ext_id = ?")
        .bind(&after)
        .bind(source)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "correcting a contact's topics"))?;
    sqlx::query(
        "INSERT INTO topic_corrections (source, ext_id, before, after, actor, at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(source)
    .bind(id)
    .bind(&before)
    .bind(&after)
    .bind(origin.actor.to_string())
    .bind(crate::micros(chrono::Utc::now()))
    .execute(&mut *tx)
    .await
    .map_err(|e| map(e, "keeping a topic correction"))?;
    crate::audit::append(
        &mut tx,
        &frontline_store::changes::topics_corrected(source, id, &before_topics, topics, origin),
    )
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE source = ? AND ext_id = ?"
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
    store: &SqliteStore,
) -> Result<Vec<frontline_store::TopicCorrection>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.source, c.ext_id, c.language, c.text, t.after, t.actor
         FROM topic_corrections t
         JOIN contacts c ON c.source = t.source AND c.ext_id = t.ext_id
         WHERE t.seq = (SELECT max(seq) FROM topic_corrections u
                        WHERE u.source = t.source AND u.ext_id = t.ext_id)
         ORDER BY t.seq",
    )
    .fetch_all(&store.reader)
    .await
    .map_err(|e| map(e, "reading topic corrections"))?;
    rows.iter()
        .map(|row| {
            let after: String = row.get("after");
            Ok(frontline_store::TopicCorrection {
                source: row.get("source"),
                id: row.get("ext_id"),
                language: row.get("language"),
                text: row.get("text"),
                topics: serde_json::from_str(&after)
                    .map_err(|e| StoreError::internal("reading a topic correction", e))?,
                actor: row.get("actor"),
            })
        })
        .collect()
}
