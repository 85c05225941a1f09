//! Incidents, their links and the feed. The rules are in `frontline_store::incidents`; this
//! module supplies its SQL steps ([`Tx`]) and the reads.

use crate::contacts::{ListWindow, page, push_list};
use crate::{SqliteStore, audit, errors::map, from_micros, micros};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use frontline_core::audit::AuditEntry;
use frontline_core::feed::{FeedEntry, NewFeedEntry};
use frontline_core::incident::{Incident, IncidentDetail, Link, Signal, SignalState};
use frontline_core::report::Report;
use frontline_core::statement::Statement;
use frontline_store::incidents::{self, IncidentTx};
use frontline_store::{IncidentQuery, Origin, Page, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// The SQL steps of an incident change, inside a `BEGIN IMMEDIATE` transaction (which also
/// serialises them against every other writer, so no row lock is needed).
pub(crate) struct Tx<'a>(pub &'a mut SqliteConnection);

#[async_trait]
impl IncidentTx for Tx<'_> {
    async fn next_incident_id(&mut self) -> Result<i64, StoreError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM incidents")
            .fetch_one(&mut *self.0)
            .await
            .map_err(|e| map(e, "numbering an incident"))?;
        Ok(max.unwrap_or(0) + 1)
    }

    async fn load_incident(&mut self, id: i64) -> Result<Option<Incident>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM incidents WHERE seq = ?")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await
            .map_err(|e| map(e, "reading an incident"))?;
        doc.map(|d| decode(&d)).transpose()
    }

    async fn save_incident(&mut self, incident: &Incident, new: bool) -> Result<(), StoreError> {
        let doc = serde_json::to_string(incident)
            .map_err(|e| StoreError::internal("encoding an incident", e))?;
        let sql = if new {
            "INSERT INTO incidents (seq, opened_at, state, severity, doc) VALUES (?, ?, ?, ?, ?)"
        } else {
            "UPDATE incidents SET opened_at = ?2, state = ?3, severity = ?4, doc = ?5 WHERE seq = ?1"
        };
        sqlx::query(sql)
            .bind(incident.id)
            .bind(micros(incident.opened_at))
            .bind(incident.state.as_str())
            .bind(incident.severity.as_str())
            .bind(doc)
            .execute(&mut *self.0)
            .await
            .map_err(|e| map(e, "writing an incident"))?;
        Ok(())
    }

    async fn user_exists(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i32>("SELECT 1 FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(|e| map(e, "checking a user"))?
                .is_some(),
        )
    }

    async fn signal_time(&mut self, signal: &Signal) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (sql, a, b) = match signal {
            Signal::Alert { id } => (
                "SELECT started_at FROM alerts WHERE id = ?",
                id.clone(),
                None,
            ),
            Signal::SecurityEvent { source, id } => (
                "SELECT observed_at FROM security_events WHERE source = ? AND ext_id = ?",
                source.clone(),
                Some(id.clone()),
            ),
            Signal::Contact { source, id } => (
                "SELECT received_at FROM contacts WHERE source = ? AND ext_id = ?",
                source.clone(),
                Some(id.clone()),
            ),
            Signal::Report { id } => (
                "SELECT filed_at FROM reports WHERE seq = ?",
                id.to_string(),
                None,
            ),
        };
        let mut q = sqlx::query_scalar::<_, i64>(sql).bind(a);
        if let Some(b) = b {
            q = q.bind(b);
        }
        q.fetch_optional(&mut *self.0)
            .await
            .map_err(|e| map(e, "checking a signal"))?
            .map(from_micros)
            .transpose()
    }

    async fn linked_incident(&mut self, signal: &Signal) -> Result<Option<i64>, StoreError> {
        let (kind, source, id) = signal.key();
        sqlx::query_scalar(
            "SELECT incident_id FROM incident_links WHERE kind = ? AND source = ? AND ref_id = ?",
        )
        .bind(kind)
        .bind(source)
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await
        .map_err(|e| map(e, "finding a link"))
    }

    async fn insert_link(
        &mut self,
        incident: i64,
        signal: &Signal,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<(), StoreError> {
        let (kind, source, id) = signal.key();
        sqlx::query(
            "INSERT INTO incident_links (incident_id, kind, source, ref_id, linked_at, linked_by)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(incident)
        .bind(kind)
        .bind(source)
        .bind(id)
        .bind(micros(at))
        .bind(by)
        .execute(&mut *self.0)
        .await
        .map_err(|e| map(e, "linking a signal"))?;
        Ok(())
    }

    async fn delete_link(&mut self, incident: i64, signal: &Signal) -> Result<bool, StoreError> {
        let (kind, source, id) = signal.key();
        let done = sqlx::query(
            "DELETE FROM incident_links
             WHERE incident_id = ? AND kind = ? AND source = ? AND ref_id = ?",
        )
        .bind(incident)
        .bind(kind)
        .bind(&source)
        .bind(&id)
        .execute(&mut *self.0)
        .await
        .map_err(|e| map(e, "unlinking a signal"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO unlinked_signals (kind, source, ref_id) VALUES (?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(source)
        .bind(id)
        .execute(&mut *self.0)
        .await
        .map_err(|e| map(e, "remembering an unlinked signal"))?;
        Ok(true)
    }

    async fn links(&mut self, incident: i64) -> Result<Vec<Link>, StoreError> {
        links(&mut *self.0, incident).await
    }

    async fn insert_report(&mut self, report: &Report) -> Result<i64, StoreError> {
        let doc = serde_json::to_string(report)
            .map_err(|e| StoreError::internal("encoding a report", e))?;
        sqlx::query_scalar(
            "INSERT INTO reports (filed_at, state, doc) VALUES (?, ?, ?) RETURNING seq",
        )
        .bind(micros(report.filed_at))
        .bind(report.state.as_str())
        .bind(doc)
        .fetch_one(&mut *self.0)
        .await
        .map_err(|e| map(e, "filing a report"))
    }

    async fn load_report(&mut self, id: i64) -> Result<Option<Report>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM reports WHERE seq = ?")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await
            .map_err(|e| map(e, "reading a report"))?;
        doc.map(|d| decode_report(id, &d)).transpose()
    }

    async fn save_report(&mut self, report: &Report) -> Result<(), StoreError> {
        let doc = serde_json::to_string(report)
            .map_err(|e| StoreError::internal("encoding a report", e))?;
        sqlx::query("UPDATE reports SET state = ?, doc = ? WHERE seq = ?")
            .bind(report.state.as_str())
            .bind(doc)
            .bind(report.id)
            .execute(&mut *self.0)
            .await
            .map_err(|e| map(e, "writing a report"))?;
        Ok(())
    }

    async fn insert_statement(&mut self, statement: &Statement) -> Result<i64, StoreError> {
        let doc = serde_json::to_string(statement)
            .map_err(|e| StoreError::internal("encoding a statement", e))?;
        sqlx::query_scalar(
            "INSERT INTO statements (incident_id, audience, published_at, doc)
             VALUES (?, ?, ?, ?) RETURNING seq",
        )
        .bind(statement.incident_id)
        .bind(statement.audience.as_str())
        .bind(statement.published_at().map(micros))
        .bind(doc)
        .fetch_one(&mut *self.0)
        .await
        .map_err(|e| map(e, "drafting a statement"))
    }

    async fn load_statement(&mut self, id: i64) -> Result<Option<Statement>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM statements WHERE seq = ?")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await
            .map_err(|e| map(e, "reading a statement"))?;
        doc.map(|d| decode_statement(id, &d)).transpose()
    }

    async fn save_statement(&mut self, statement: &Statement) -> Result<(), StoreError> {
        let doc = serde_json::to_string(statement)
            .map_err(|e| StoreError::internal("encoding a statement", e))?;
        sqlx::query("UPDATE statements SET published_at = ?, doc = ? WHERE seq = ?")
            .bind(statement.published_at().map(micros))
            .bind(doc)
            .bind(statement.id)
            .execute(&mut *self.0)
            .await
            .map_err(|e| map(e, "writing a statement"))?;
        Ok(())
    }

    async fn statements_of(&mut self, incident: i64) -> Result<Vec<Statement>, StoreError> {
        statements_of(&mut *self.0, incident).await
    }

    async fn append_feed(&mut self, entry: &NewFeedEntry) -> Result<i64, StoreError> {
        append_feed(self.0, entry).await
    }

    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(self.0, entry).await.map(|_| ())
    }
}

/// Appends a feed entry inside the caller's write transaction.
pub(crate) async fn append_feed(
    conn: &mut SqliteConnection,
    entry: &NewFeedEntry,
) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO feed (at, kind, incident_id, actor, data) VALUES (?, ?, ?, ?, ?)
         RETURNING seq",
    )
    .bind(micros(Utc::now()))
    .bind(entry.kind.as_str())
    .bind(entry.incident_id)
    .bind(&entry.actor)
    .bind(entry.data.to_string())
    .fetch_one(conn)
    .await
    .map_err(|e| map(e, "appending to the feed"))?;
    Ok(seq)
}

pub(crate) fn decode_statement(id: i64, doc: &str) -> Result<Statement, StoreError> {
    let mut statement: Statement =
        serde_json::from_str(doc).map_err(|e| StoreError::internal("reading a statement", e))?;
    statement.id = id;
    Ok(statement)
}

pub(crate) async fn statements_of(
    conn: &mut SqliteConnection,
    incident: i64,
) -> Result<Vec<Statement>, StoreError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, doc FROM statements WHERE incident_id = ? ORDER BY seq")
            .bind(incident)
            .fetch_all(conn)
            .await
            .map_err(|e| map(e, "listing statements"))?;
    rows.iter()
        .map(|(id, doc)| decode_statement(*id, doc))
        .collect()
}

pub(crate) fn decode_report(id: i64, doc: &str) -> Result<Report, StoreError> {
    let mut report: Report =
        serde_json::from_str(doc).map_err(|e| StoreError::internal("reading a report", e))?;
    report.id = id;
    Ok(report)
}

fn decode(doc: &str) -> Result<Incident, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::internal("reading an incident", e))
}

pub(crate) async fn get(
    store: &SqliteStore,
    id: i64,
) -> Result<Option<IncidentDetail>, StoreError> {
    let mut conn = store
        .reader
        .acquire()
        .await
        .map_err(|e| map(e, "reading an incident"))?;
    let Some(incident) = Tx(&mut conn).load_incident(id).await? else {
        return Ok(None);
    };
    let links = links(&mut conn, id).await?;
    Ok(Some(IncidentDetail { incident, links }))
}

async fn links(conn: &mut SqliteConnection, incident: i64) -> Result<Vec<Link>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, source, ref_id, linked_at, linked_by FROM incident_links
         WHERE incident_id = ? ORDER BY seq",
    )
    .bind(incident)
    .fetch_all(conn)
    .await
    .map_err(|e| map(e, "reading an incident's links"))?;
    rows.iter()
        .map(|row| {
            Ok(Link {
                signal: Signal::from_key(
                    row.get::<&str, _>("kind"),
                    row.get("source"),
                    row.get("ref_id"),
                )
                .map_err(|e| StoreError::internal("reading a link", e))?,
                linked_at: from_micros(row.get("linked_at"))?,
                linked_by: row.get("linked_by"),
            })
        })
        .collect()
}

pub(crate) async fn list(
    store: &SqliteStore,
    query: &IncidentQuery,
) -> Result<Page<Incident>, StoreError> {
    let mut sql =
        QueryBuilder::<Sqlite>::new("SELECT seq, opened_at, doc FROM incidents WHERE 1 = 1");
    if let Some(state) = query.state {
        sql.push(" AND state = ").push_bind(state.as_str());
    }
    match query.open {
        Some(true) => sql.push(" AND state <> 'resolved'"),
        Some(false) => sql.push(" AND state = 'resolved'"),
        None => &mut sql,
    };
    push_list(
        &mut sql,
        &ListWindow {
            time_column: "opened_at",
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
        .map_err(|e| map(e, "listing incidents"))?;
    page(
        rows,
        query.limit as usize,
        "opened_at",
        |row: &SqliteRow| decode(row.get::<&str, _>("doc")),
    )
}

pub(crate) async fn feed_after(
    store: &SqliteStore,
    after: i64,
    incident: Option<i64>,
    limit: u32,
) -> Result<Vec<FeedEntry>, StoreError> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "SELECT seq, at, kind, incident_id, actor, data FROM feed WHERE seq > ",
    );
    sql.push_bind(after);
    if let Some(id) = incident {
        sql.push(" AND incident_id = ").push_bind(id);
    }
    sql.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
    let rows = sql
        .build()
        .fetch_all(&store.reader)
        .await
        .map_err(|e| map(e, "reading the feed"))?;
    rows.iter()
        .map(|row| {
            let kind: &str = row.get("kind");
            let data: &str = row.get("data");
            Ok(FeedEntry {
                seq: row.get("seq"),
                at: from_micros(row.get("at"))?,
                kind: kind
                    .parse()
                    .map_err(|e: String| StoreError::internal("reading a feed kind", e))?,
                incident_id: row.get("incident_id"),
                actor: row.get("actor"),
                data: serde_json::from_str(data)
                    .map_err(|e| StoreError::internal("reading feed data", e))?,
            })
        })
        .collect()
}

pub(crate) async fn feed_head(store: &SqliteStore) -> Result<i64, StoreError> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM feed")
        .fetch_one(&store.reader)
        .await
        .map_err(|e| map(e, "reading the feed's head"))?;
    Ok(max.unwrap_or(0))
}

pub(crate) async fn signal_states(
    store: &SqliteStore,
    signals: &[Signal],
) -> Result<Vec<SignalState>, StoreError> {
    let mut rows = Vec::new();
    for chunk in signals.chunks(incidents::SIGNALS_PER_QUERY) {
        let mut sql = QueryBuilder::<Sqlite>::new("");
        for (i, (table, incident)) in [
            ("incident_links", "incident_id"),
            ("unlinked_signals", "NULL"),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push(format!(
                "SELECT kind, source, ref_id, {incident} FROM {table} \
                 WHERE (kind, source, ref_id) IN (VALUES "
            ));
            let mut values = sql.separated(", ");
            for signal in chunk {
                let (kind, source, id) = signal.key();
                values
                    .push("(")
                    .push_bind_unseparated(kind)
                    .push_unseparated(", ")
                    .push_bind_unseparated(source)
                    .push_unseparated(", ")
                    .push_bind_unseparated(id)
                    .push_unseparated(")");
            }
            sql.push(")");
        }
        let found: Vec<(String, String, String, Option<i64>)> = sql
            .build_query_as()
            .fetch_all(&store.reader)
            .await
            .map_err(|e| map(e, "reading links"))?;
        rows.extend(found);
    }
    Ok(incidents::signal_states_from(signals, rows))
}

/// Runs one write to incidents in its own transaction.
pub(crate) async fn write(
    store: &SqliteStore,
    op: incidents::Op<'_>,
    origin: &Origin,
) -> Result<IncidentDetail, StoreError> {
    let mut tx = store.begin_write().await?;
    // A leader-only change (the correlator, reminders) stands only while its lease does.
    if let Some(lease) = &origin.fence {
        crate::leases::check_fence(&mut tx, lease).await?;
    }
    let detail = op.run(&mut Tx(&mut tx), origin).await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing an incident"))?;
    Ok(detail)
}
