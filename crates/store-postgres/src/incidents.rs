//! Incidents, their links and the feed. The rules are in `frontline_store::incidents`; this
//! module supplies its SQL steps ([`Tx`]) and the reads.

use crate::contacts::{ListWindow, page, push_list};
use crate::{PostgresStore, audit, errors::map};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use frontline_core::audit::AuditEntry;
use frontline_core::feed::{FeedEntry, NewFeedEntry};
use frontline_core::incident::{Incident, IncidentDetail, Link, Signal, SignalState};
use frontline_core::report::Report;
use frontline_core::statement::Statement;
use frontline_store::incidents::{self, IncidentTx};
use frontline_store::{IncidentQuery, Origin, Page, StoreError};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

/// The SQL steps of an incident change, inside a transaction; `lock` takes the incident's row
/// lock when reading it, so concurrent changes to one incident apply one after the other.
pub(crate) struct Tx<'a> {
    pub(crate) conn: &'a mut PgConnection,
    pub(crate) lock: bool,
}

#[async_trait]
impl IncidentTx for Tx<'_> {
    async fn next_incident_id(&mut self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT nextval('incident_ids')")
            .fetch_one(&mut *self.conn)
            .await
            .map_err(|e| map(e, "numbering an incident"))
    }

    async fn load_incident(&mut self, id: i64) -> Result<Option<Incident>, StoreError> {
        let sql = if self.lock {
            "SELECT doc FROM incidents WHERE seq = $1 FOR UPDATE"
        } else {
            "SELECT doc FROM incidents WHERE seq = $1"
        };
        let doc: Option<serde_json::Value> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(|e| map(e, "reading an incident"))?;
        doc.map(decode).transpose()
    }

    async fn save_incident(&mut self, incident: &Incident, new: bool) -> Result<(), StoreError> {
        let doc = sqlx::types::Json(incident);
        let sql = if new {
            "INSERT INTO incidents (seq, opened_at, state, severity, doc) VALUES ($1, $2, $3, $4, $5)"
        } else {
            "UPDATE incidents SET opened_at = $2, state = $3, severity = $4, doc = $5 WHERE seq = $1"
        };
        sqlx::query(sql)
            .bind(incident.id)
            .bind(incident.opened_at)
            .bind(incident.state.as_str())
            .bind(incident.severity.as_str())
            .bind(doc)
            .execute(&mut *self.conn)
            .await
            .map_err(|e| map(e, "writing an incident"))?;
        Ok(())
    }

    async fn user_exists(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i32>("SELECT 1 FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *self.conn)
                .await
                .map_err(|e| map(e, "checking a user"))?
                .is_some(),
        )
    }

    async fn signal_time(&mut self, signal: &Signal) -> Result<Option<DateTime<Utc>>, StoreError> {
        let query = match signal {
            Signal::Alert { id } => {
                sqlx::query_scalar("SELECT started_at FROM alerts WHERE id = $1").bind(id.clone())
            }
            Signal::SecurityEvent { source, id } => sqlx::query_scalar(
                "SELECT observed_at FROM security_events WHERE source = $1 AND ext_id = $2",
            )
            .bind(source.clone())
            .bind(id.clone()),
            Signal::Contact { source, id } => sqlx::query_scalar(
                "SELECT received_at FROM contacts WHERE source = $1 AND ext_id = $2",
            )
            .bind(source.clone())
            .bind(id.clone()),
            Signal::Report { id } => {
                sqlx::query_scalar("SELECT filed_at FROM reports WHERE seq = $1").bind(*id)
            }
        };
        query
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(|e| map(e, "checking a signal"))
    }

    async fn linked_incident(&mut self, signal: &Signal) -> Result<Option<i64>, StoreError> {
        let (kind, source, id) = signal.key();
        sqlx::query_scalar(
            "SELECT incident_id FROM incident_links WHERE kind = $1 AND source = $2 AND ref_id = $3",
        )
        .bind(kind)
        .bind(source)
        .bind(id)
        .fetch_optional(&mut *self.conn)
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
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(incident)
        .bind(kind)
        .bind(source)
        .bind(id)
        .bind(at)
        .bind(by)
        .execute(&mut *self.conn)
        .await
        .map_err(|e| map(e, "linking a signal"))?;
        Ok(())
    }

    async fn delete_link(&mut self, incident: i64, signal: &Signal) -> Result<bool, StoreError> {
        let (kind, source, id) = signal.key();
        let done = sqlx::query(
            "DELETE FROM incident_links
             WHERE incident_id = $1 AND kind = $2 AND source = $3 AND ref_id = $4",
        )
        .bind(incident)
        .bind(kind)
        .bind(&source)
        .bind(&id)
        .execute(&mut *self.conn)
        .await
        .map_err(|e| map(e, "unlinking a signal"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO unlinked_signals (kind, source, ref_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(source)
        .bind(id)
        .execute(&mut *self.conn)
        .await
        .map_err(|e| map(e, "remembering an unlinked signal"))?;
        Ok(true)
    }

    async fn links(&mut self, incident: i64) -> Result<Vec<Link>, StoreError> {
        links(&mut *self.conn, incident).await
    }

    async fn insert_report(&mut self, report: &Report) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO reports (filed_at, state, doc) VALUES ($1, $2, $3) RETURNING seq",
        )
        .bind(report.filed_at)
        .bind(report.state.as_str())
        .bind(sqlx::types::Json(report))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(|e| map(e, "filing a report"))
    }

    async fn load_report(&mut self, id: i64) -> Result<Option<Report>, StoreError> {
        let sql = if self.lock {
            "SELECT doc FROM reports WHERE seq = $1 FOR UPDATE"
        } else {
            "SELECT doc FROM reports WHERE seq = $1"
        };
        let doc: Option<serde_json::Value> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(|e| map(e, "reading a report"))?;
        doc.map(|d| decode_report(id, d)).transpose()
    }

    async fn save_report(&mut self, report: &Report) -> Result<(), StoreError> {
        sqlx::query("UPDATE reports SET state = $1, doc = $2 WHERE seq = $3")
            .bind(report.state.as_str())
            .bind(sqlx::types::Json(report))
            .bind(report.id)
            .execute(&mut *self.conn)
            .await
            .map_err(|e| map(e, "writing a report"))?;
        Ok(())
    }

    async fn insert_statement(&mut self, statement: &Statement) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO statements (incident_id, audience, published_at, doc)
             VALUES ($1, $2, $3, $4) RETURNING seq",
        )
        .bind(statement.incident_id)
        .bind(statement.audience.as_str())
        .bind(statement.published_at())
        .bind(sqlx::types::Json(statement))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(|e| map(e, "drafting a statement"))
    }

    async fn load_statement(&mut self, id: i64) -> Result<Option<Statement>, StoreError> {
        let sql = if self.lock {
            "SELECT doc FROM statements WHERE seq = $1 FOR UPDATE"
        } else {
            "SELECT doc FROM statements WHERE seq = $1"
        };
        let doc: Option<serde_json::Value> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(|e| map(e, "reading a statement"))?;
        doc.map(|d| decode_statement(id, d)).transpose()
    }

    async fn save_statement(&mut self, statement: &Statement) -> Result<(), StoreError> {
        sqlx::query("UPDATE statements SET published_at = $1, doc = $2 WHERE seq = $3")
            .bind(statement.published_at())
            .bind(sqlx::types::Json(statement))
            .bind(statement.id)
            .execute(&mut *self.conn)
            .await
            .map_err(|e| map(e, "writing a statement"))?;
        Ok(())
    }

    async fn statements_of(&mut self, incident: i64) -> Result<Vec<Statement>, StoreError> {
        statements_of(&mut *self.conn, incident).await
    }

    async fn append_feed(&mut self, entry: &NewFeedEntry) -> Result<i64, StoreError> {
        append_feed(self.conn, entry).await
    }

    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(self.conn, entry).await.map(|_| ())
    }
}

/// Appends a feed entry inside the caller's write transaction.
pub(crate) async fn append_feed(
    conn: &mut PgConnection,
    entry: &NewFeedEntry,
) -> Result<i64, StoreError> {
    // The audit chain's lock serialises feed writers too (it is re-entrant within a
    // transaction), so last + 1 is gapless and in commit order.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(audit::AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(|e| map(e, "locking the feed"))?;
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO feed (seq, at, kind, incident_id, actor, data)
         SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4, $5 FROM feed
         RETURNING seq",
    )
    .bind(Utc::now())
    .bind(entry.kind.as_str())
    .bind(entry.incident_id)
    .bind(&entry.actor)
    .bind(&entry.data)
    .fetch_one(conn)
    .await
    .map_err(|e| map(e, "appending to the feed"))?;
    Ok(seq)
}

pub(crate) fn decode_statement(id: i64, doc: serde_json::Value) -> Result<Statement, StoreError> {
    let mut statement: Statement =
        serde_json::from_value(doc).map_err(|e| StoreError::internal("reading a statement", e))?;
    statement.id = id;
    Ok(statement)
}

pub(crate) async fn statements_of(
    conn: &mut PgConnection,
    incident: i64,
) -> Result<Vec<Statement>, StoreError> {
    let rows: Vec<(i64, serde_json::Value)> =
        sqlx::query_as("SELECT seq, doc FROM statements WHERE incident_id = $1 ORDER BY seq")
            .bind(incident)
            .fetch_all(conn)
            .await
            .map_err(|e| map(e, "listing statements"))?;
    rows.into_iter()
        .map(|(id, doc)| decode_statement(id, doc))
        .collect()
}

pub(crate) fn decode_report(id: i64, doc: serde_json::Value) -> Result<Report, StoreError> {
    let mut report: Report =
        serde_json::from_value(doc).map_err(|e| StoreError::internal("reading a report", e))?;
    report.id = id;
    Ok(report)
}

fn decode(doc: serde_json::Value) -> Result<Incident, StoreError> {
    serde_json::from_value(doc).map_err(|e| StoreError::internal("reading an incident", e))
}

pub(crate) async fn get(
    store: &PostgresStore,
    id: i64,
) -> Result<Option<IncidentDetail>, StoreError> {
    let mut conn = store
        .pool
        .acquire()
        .await
        .map_err(|e| map(e, "reading an incident"))?;
    let Some(incident) = (Tx {
        conn: &mut conn,
        lock: false,
    })
    .load_incident(id)
    .await?
    else {
        return Ok(None);
    };
    let links = links(&mut conn, id).await?;
    Ok(Some(IncidentDetail { incident, links }))
}

async fn links(conn: &mut PgConnection, incident: i64) -> Result<Vec<Link>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, source, ref_id, linked_at, linked_by FROM incident_links
         WHERE incident_id = $1 ORDER BY seq",
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
                linked_at: row.get("linked_at"),
                linked_by: row.get("linked_by"),
            })
        })
        .collect()
}

pub(crate) async fn list(
    store: &PostgresStore,
    query: &IncidentQuery,
) -> Result<Page<Incident>, StoreError> {
    let mut sql =
        QueryBuilder::<Postgres>::new("SELECT seq, opened_at, doc FROM incidents WHERE TRUE");
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
    )?;
    let rows = sql
        .build()
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "listing incidents"))?;
    page(rows, query.limit as usize, "opened_at", |row: &PgRow| {
        decode(row.get("doc"))
    })
}

pub(crate) async fn feed_after(
    store: &PostgresStore,
    after: i64,
    incident: Option<i64>,
    limit: u32,
) -> Result<Vec<FeedEntry>, StoreError> {
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT seq, at, kind, incident_id, actor, data FROM feed WHERE seq > ",
    );
    sql.push_bind(after);
    if let Some(id) = incident {
        sql.push(" AND incident_id = ").push_bind(id);
    }
    sql.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
    let rows = sql
        .build()
        .fetch_all(&store.pool)
        .await
        .map_err(|e| map(e, "reading the feed"))?;
    rows.iter()
        .map(|row| {
            let kind: &str = row.get("kind");

            Ok(FeedEntry {
                seq: row.get("seq"),
                at: row.get("at"),
                kind: kind
                    .parse()
                    .map_err(|e: String| StoreError::internal("reading a feed kind", e))?,
                incident_id: row.get("incident_id"),
                actor: row.get("actor"),
                data: row.get("data"),
            })
        })
        .collect()
}

pub(crate) async fn feed_head(store: &PostgresStore) -> Result<i64, StoreError> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM feed")
        .fetch_one(&store.pool)
        .await
        .map_err(|e| map(e, "reading the feed's head"))?;
    Ok(max.unwrap_or(0))
}

pub(crate) async fn signal_states(
    store: &PostgresStore,
    signals: &[Signal],
) -> Result<Vec<SignalState>, StoreError> {
    let mut rows = Vec::new();
    for chunk in signals.chunks(incidents::SIGNALS_PER_QUERY) {
        let mut sql = QueryBuilder::<Postgres>::new("");
        for (i, (table, incident)) in [
            ("incident_links", "incident_id"),
            ("unlinked_signals", "NULL::bigint"),
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
            .fetch_all(&store.pool)
            .await
            .map_err(|e| map(e, "reading links"))?;
        rows.extend(found);
    }
    Ok(incidents::signal_states_from(signals, rows))
}

/// Runs one write to incidents in its own transaction.
pub(crate) async fn write(
    store: &PostgresStore,
    op: incidents::Op<'_>,
    origin: &Origin,
) -> Result<IncidentDetail, StoreError> {
    let mut tx = store.begin().await?;
    // A leader-only change (the correlator, reminders) stands only while its lease does.
    if let Some(lease) = &origin.fence {
        crate::leases::check_fence(&mut tx, lease).await?;
    }
    let detail = op
        .run(
            &mut Tx {
                conn: &mut tx,
                lock: true,
            },
            origin,
        )
        .await?;
    tx.commit()
        .await
        .map_err(|e| map(e, "committing an incident"))?;
    Ok(detail)
}
