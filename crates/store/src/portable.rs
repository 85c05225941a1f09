//! The portable form of an installation's data: every table as rows of typed cells, with one
//! canonical text line per row. `frontline export`/`import`, `migrate` (SQLite → PostgreSQL)
//! and their checks speak it, so both backends read and write through one catalogue instead of
//! a generic tool that mistranslates times, JSON and bytes.
//!
//! A row's canonical line is a JSON array of its cells in catalogue order: times as RFC 3339
//! with microseconds in UTC (the precision both backends keep), JSON as its value (keys
//! sorted), bytes as lowercase hex. Two installations hold the same data exactly when every
//! table's lines, in key order, are the same; [`TableDigest`] hashes them.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// How a column's values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer (ids, counters, ranks).
    Int,
    /// A 64-bit float.
    Real,
    /// Text.
    Text,
    /// True or false.
    Bool,
    /// A moment, to the microsecond.
    Time,
    /// A JSON value.
    Json,
    /// Bytes (digests, sealed secrets).
    Bytes,
}

/// One table: its name, its primary key (the export's order) and its columns in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    /// The table's name, the same on every backend.
    pub name: &'static str,
    /// The primary key's columns.
    pub key: &'static [&'static str],
    /// Every column, in the order the schema declares them.
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    /// The columns' names, comma-separated, for SQL.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The kind of column `name`.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.columns
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, k)| *k)
    }
}

use Kind::{Bool, Bytes, Int, Json, Real, Text, Time};

/// Every table of an installation, parents before the tables that refer to them, so an import
/// in this order never breaks a foreign key. Each backend's tests check this list against its
/// schema: a migration that adds a column or table without adding it here fails them.
pub const TABLES: &[Table] = &[
    Table {
        name: "secrets",
        key: &["name"],
        columns: &[("name", Text), ("value", Bytes), ("created_at", Time)],
    },
    Table {
        name: "users",
        key: &["id"],
        columns: &[
            ("id", Int),
            ("name", Text),
            ("created_at", Time),
            ("password_hash", Text),
            ("must_change", Bool),
        ],
    },
    Table {
        name: "user_roles",
        key: &["user_id", "role"],
        columns: &[("user_id", Int), ("role", Text)],
    },
    Table {
        name: "api_tokens",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("user_id", Int),
            ("digest", Bytes),
            ("created_at", Time),
            ("expires_at", Time),
            ("revoked_at", Time),
        ],
    },
    Table {
        name: "sessions",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("user_id", Int),
            ("digest", Bytes),
            ("csrf", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("revoked_at", Time),
            ("client", Text),
        ],
    },
    Table {
        name: "contacts",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("source", Text),
            ("ext_id", Text),
            ("channel", Text),
            ("received_at", Time),
            ("text", Text),
            ("customer", Text),
            ("service", Text),
            ("region", Text),
            ("language", Text),
            ("metadata", Json),
            ("topics", Json),
            ("ingested_at", Time),
        ],
    },
    Table {
        name: "security_events",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("source", Text),
            ("ext_id", Text),
            ("observed_at", Time),
            ("severity", Int),
            ("title", Text),
            ("service", Text),
            ("indicators", Json),
            ("resolved_at", Time),
            ("ingested_at", Time),
        ],
    },
    Table {
        name: "audit_log",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("at", Time),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("detail", Text),
            ("request_id", Text),
            ("prev_hash", Text),
            ("hash", Text),
            ("client", Text),
            ("format", Int),
            ("seals", Text),
        ],
    },
    Table {
        name: "alerts",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("kind", Text),
            ("topic", Text),
            ("service", Text),
            ("channel", Text),
            ("started_at", Time),
            ("raised_at", Time),
            ("observed", Int),
            ("customers", Int),
            ("expected", Real),
            ("score", Real),
            ("evidence", Json),
            ("text", Text),
            ("state", Text),
            ("reason", Text),
            ("state_by", Text),
            ("state_at", Time),
            ("created_at", Time),
            ("language", Text),
            ("group_id", Text),
        ],
    },
    Table {
        name: "leases",
        key: &["name"],
        columns: &[
            ("name", Text),
            ("holder", Text),
            ("expires_at", Time),
            ("epoch", Int),
        ],
    },
    Table {
        name: "leadership_log",
        key: &["name", "epoch"],
        columns: &[
            ("name", Text),
            ("epoch", Int),
            ("holder", Text),
            ("from_at", Time),
            ("to_at", Time),
        ],
    },
    Table {
        name: "nodes",
        key: &["id"],
        columns: &[
            ("id", Text),
            ("version", Text),
            ("listen", Text),
            ("started_at", Time),
            ("last_seen", Time),
        ],
    },
    Table {
        name: "incidents",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("opened_at", Time),
            ("state", Text),
            ("severity", Text),
            ("doc", Json),
        ],
    },
    Table {
        name: "incident_links",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("incident_id", Int),
            ("kind", Text),
            ("source", Text),
            ("ref_id", Text),
            ("linked_at", Time),
            ("linked_by", Text),
        ],
    },
    Table {
        name: "feed",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("at", Time),
            ("kind", Text),
            ("incident_id", Int),
            ("actor", Text),
            ("data", Json),
        ],
    },
    Table {
        name: "reports",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("filed_at", Time),
            ("state", Text),
            ("doc", Json),
        ],
    },
    Table {
        name: "unlinked_signals",
        key: &["kind", "source", "ref_id"],
        columns: &[("kind", Text), ("source", Text), ("ref_id", Text)],
    },
    Table {
        name: "webhooks",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("url", Text),
            ("secret", Text),
            ("format", Text),
            ("events", Text),
            ("cursor", Int),
            ("created_at", Time),
            ("created_by", Text),
            ("deleted_at", Time),
            ("claim_token", Text),
            ("claimed_until", Time),
        ],
    },
    Table {
        name: "deliveries",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("webhook_id", Int),
            ("feed_seq", Int),
            ("kind", Text),
            ("incident_id", Int),
            ("idempotency_key", Text),
            ("status", Text),
            ("attempts", Int),
            ("last_status", Int),
            ("last_error", Text),
            ("first_attempt_at", Time),
            ("last_attempt_at", Time),
            ("next_attempt_at", Time),
            ("delivered_at", Time),
        ],
    },
    Table {
        name: "statements",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("incident_id", Int),
            ("audience", Text),
            ("published_at", Time),
            ("doc", Json),
        ],
    },
    Table {
        name: "reviews",
        key: &["incident_id"],
        columns: &[
            ("incident_id", Int),
            ("doc", Text),
            ("updated_by", Text),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "components",
        key: &["name"],
        columns: &[
            ("name", Text),
            ("status", Text),
            ("updated_at", Time),
            ("updated_by", Text),
        ],
    },
    Table {
        name: "subscribers",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("channel", Text),
            ("address", Text),
            ("lang", Text),
            ("confirmed_at", Time),
            ("unsubscribed_at", Time),
            ("created_at", Time),
        ],
    },
    Table {
        name: "outbox",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("channel", Text),
            ("recipient", Text),
            ("subject", Text),
            ("body", Text),
            ("subscriber_id", Int),
            ("created_at", Time),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("sent_at", Time),
            ("failed_at", Time),
            ("last_error", Text),
            ("claim_token", Text),
            ("claimed_until", Time),
        ],
    },
    Table {
        name: "cursors",
        key: &["name"],
        columns: &[("name", Text), ("seq", Int)],
    },
    Table {
        name: "topic_corrections",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("source", Text),
            ("ext_id", Text),
            ("before", Json),
            ("after", Json),
            ("actor", Text),
            ("at", Time),
        ],
    },
    Table {
        name: "sign_in_failures",
        key: &["key"],
        columns: &[
            ("key", Text),
            ("failures", Int),
            ("locked_until", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "request_windows",
        key: &["key"],
        columns: &[("key", Text), ("window_start", Time), ("count", Int)],
    },
    Table {
        name: "helpdesks",
        key: &["name"],
        columns: &[
            ("name", Text),
            ("kind", Text),
            ("base_url", Text),
            ("auth_sealed", Bytes),
            ("signing_sealed", Bytes),
            ("previous_signing_sealed", Bytes),
            ("previous_until", Time),
            ("created_at", Time),
            ("created_by", Text),
            ("events", Int),
            ("last_event_at", Time),
            ("last_error", Text),
            ("last_error_at", Time),
            ("sweep_cursor", Text),
            ("last_sweep_at", Time),
        ],
    },
    Table {
        name: "helpdesk_events",
        key: &["connection", "event_id"],
        columns: &[
            ("connection", Text),
            ("event_id", Text),
            ("received_at", Time),
        ],
    },
    Table {
        name: "helpdesk_writes",
        key: &["connection", "ticket", "statement_id", "version", "action"],
        columns: &[
            ("connection", Text),
            ("ticket", Text),
            ("statement_id", Int),
            ("version", Int),
            ("action", Text),
            ("incident_id", Int),
            ("body", Text),
            ("status", Text),
            ("attempts", Int),
            ("last_error", Text),
            ("created_at", Time),
            ("updated_at", Time),
            ("sent_at", Time),
        ],
    },
    Table {
        name: "erasures",
        key: &["seq"],
        columns: &[
            ("seq", Int),
            ("pseudonym", Text),
            ("requested_at", Time),
            ("actor", Text),
            ("counts", Json),
        ],
    },
];

/// Tables of a database that are not part of its installation's data, and so not exported:
/// the mark of an import under way into this very database.
pub const LOCAL_TABLES: &[&str] = &["import_state"];

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// [`Kind::Int`].
    Int(i64),
    /// [`Kind::Real`].
    Real(f64),
    /// [`Kind::Text`].
    Text(String),
    /// [`Kind::Bool`].
    Bool(bool),
    /// [`Kind::Time`].
    Time(DateTime<Utc>),
    /// [`Kind::Json`].
    Json(Value),
    /// [`Kind::Bytes`].
    Bytes(Vec<u8>),
}

/// A row: one cell per column, in the table's order.
pub type Row = Vec<Cell>;

/// A time as the canonical text (RFC 3339, microseconds, `Z`).
pub fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The canonical line of a row (without its newline).
pub fn encode(row: &[Cell]) -> String {
    let cells: Vec<Value> = row
        .iter()
        .map(|cell| match cell {
            Cell::Null => Value::Null,
            Cell::Int(n) => Value::from(*n),
            Cell::Real(x) => Value::from(*x),
            Cell::Text(s) => Value::from(s.as_str()),
            Cell::Bool(b) => Value::from(*b),
            Cell::Time(t) => Value::from(time_text(t)),
            Cell::Json(v) => v.clone(),
            Cell::Bytes(b) => Value::from(hex::encode(b)),
        })
        .collect();
    Value::Array(cells).to_string()
}

/// Reads a canonical line back into a row of `table`, checking every cell against its
/// column's kind. The error names the column and what is wrong with it.
pub fn decode(table: &Table, line: &str) -> Result<Row, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(cells) = value else {
        return Err("not a JSON array".into());
    };
    if cells.len() != table.columns.len() {
        return Err(format!(
            "{} values where {} has {} columns",
            cells.len(),
            table.name,
            table.columns.len()
        ));
    }
    cells
        .into_iter()
        .zip(table.columns)
        .map(|(value, (column, kind))| {
            cell(*kind, value).map_err(|why| format!("column {column}: {why}"))
        })
        .collect()
}

fn cell(kind: Kind, value: Value) -> Result<Cell, String> {
    if value.is_null() {
        return Ok(Cell::Null);
    }
    let wrong = |what: &str| Err(format!("expected {what}, found {value}"));
    Ok(match kind {
        Int => match value.as_i64() {
            Some(n) => Cell::Int(n),
            None => return wrong("an integer"),
        },
        Real => match value.as_f64() {
            Some(x) => Cell::Real(x),
            None => return wrong("a number"),
        },
        Bool => match value.as_bool() {
            Some(b) => Cell::Bool(b),
            None => return wrong("true or false"),
        },
        Json => Cell::Json(value),
        Text => match value {
            Value::String(s) => Cell::Text(s),
            _ => return wrong("text"),
        },
        Time => match value.as_str().map(DateTime::parse_from_rfc3339) {
            Some(Ok(t)) => Cell::Time(t.with_timezone(&Utc)),
            _ => return wrong("an RFC 3339 time"),
        },
        Bytes => match value.as_str().map(hex::decode) {
            Some(Ok(b)) => Cell::Bytes(b),
            _ => return wrong("hexadecimal bytes"),
        },
    })
}

/// Where an export's rows go: a file, another installation, a digest.
#[async_trait]
pub trait RowSink: Send {
    /// The next rows of `table` in key order (tables come in [`TABLES`] order, each once,
    /// possibly in several batches; an empty table may send none).
    async fn rows(&mut self, table: &'static Table, rows: Vec<Row>) -> Result<(), StoreError>;
}

/// Rows and SHA-256 over one table's canonical lines, in order.
#[derive(Clone, Default)]
pub struct TableDigest {
    rows: u64,
    hash: Sha256,
}

impl TableDigest {
    /// Adds one row (its canonical line).
    pub fn add_line(&mut self, line: &str) {
        self.rows += 1;
        self.hash.update(line.as_bytes());
        self.hash.update(b"\n");
    }

    /// Rows added.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The hash so far, lowercase hex.
    pub fn hex(&self) -> String {
        hex::encode(self.hash.clone().finalize())
    }
}

/// A sink that only counts and hashes: what an installation holds, to compare with another.
#[derive(Default)]
pub struct Digests {
    /// One per table of [`TABLES`], in its order.
    pub tables: Vec<(&'static str, TableDigest)>,
}

impl Digests {
    /// The digest of `name` (empty when the table sent no rows).
    pub fn of(&self, name: &str) -> TableDigest {
        self.tables
            .iter()
            .find(|(t, _)| *t == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }

    /// Adds rows of `table`.
    pub fn add(&mut self, table: &'static Table, rows: &[Row]) {
        if self.tables.last().map(|(t, _)| *t) != Some(table.name) {
            self.tables.push((table.name, TableDigest::default()));
        }
        if let Some((_, d)) = self.tables.last_mut() {
            for row in rows {
                d.add_line(&encode(row));
            }
        }
    }
}

#[async_trait]
impl RowSink for Digests {
    async fn rows(&mut self, table: &'static Table, rows: Vec<Row>) -> Result<(), StoreError> {
        self.add(table, &rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_they_were_written() {
        let users = table("users").unwrap();
        let row = vec![
            Cell::Int(7),
            Cell::Text("ana \"quoted\"".into()),
            Cell::Time(DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap()),
            Cell::Null,
            Cell::Bool(true),
        ];
        let line = encode(&row);
        assert_eq!(
            line,
            r#"[7,"ana \"quoted\"","2023-11-14T22:13:20.123456Z",null,true]"#
        );
        assert_eq!(decode(users, &line).unwrap(), row);
        let secrets = table("secrets").unwrap();
        let row = vec![
            Cell::Text("pseudonym".into()),
            Cell::Bytes(vec![0, 255, 16]),
            Cell::Time(DateTime::from_timestamp_micros(0).unwrap()),
        ];
        assert_eq!(decode(secrets, &encode(&row)).unwrap(), row);
    }

    #[test]
    fn a_bad_line_names_the_column_and_the_problem() {
        let users = table("users").unwrap();
        let err = |line: &str| decode(users, line).unwrap_err();
        assert!(
            err("[1,2]").contains("2 values where users has 5"),
            "{}",
            err("[1,2]")
        );
        assert_eq!(
            err(r#"["x","a","2023-11-14T22:13:20Z",null,true]"#),
            "column id: expected an integer, found \"x\""
        );
        assert!(err(r#"[1,"a","yesterday",null,true]"#).starts_with("column created_at:"));
        assert!(err(r#"[1,"a","2023-11-14T22:13:20Z",null,1]"#).starts_with("column must_change:"));
        assert!(err("{}").contains("not a JSON array"));
        assert!(err("[1,").contains("not JSON"));
        let secrets = table("secrets").unwrap();
        assert!(
            decode(secrets, r#"["k","zz","2023-11-14T22:13:20Z"]"#)
                .unwrap_err()
                .starts_with("column value: expected hexadecimal")
        );
    }

    #[test]
    fn every_key_column_is_a_column_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for t in TABLES {
            assert!(names.insert(t.name), "{} twice", t.name);
            for k in t.key {
                assert!(t.kind(k).is_some(), "{}: key {k} is not a column", t.name);
            }
        }
    }
}
