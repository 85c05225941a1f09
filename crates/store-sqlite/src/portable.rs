//! The portable export and import on SQLite (`frontline export`, `import`, `migrate`): every
//! table read in key order inside one read transaction (one snapshot while intake goes on),
//! and rows written back as they were, ids and hashes included.

use crate::{SqliteStore, errors::map, from_micros, micros};
use frontline_store::StoreError;
use frontline_store::portable::{Cell, Kind, Row, RowSink, TABLES, Table};
use futures::TryStreamExt;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{ConnectOptions, Connection, Row as _, Sqlite};

/// Rows handed to the sink at a time.
const BATCH: usize = 1000;

/// The one time SQLite keeps as text: the audit log's, whose hash covers exactly that text.
fn time_as_text(table: &Table, column: &str) -> bool {
    table.name == "audit_log" && column == "at"
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read(table: &Table, row: &SqliteRow) -> Result<Row, StoreError> {
    let mut cells = Vec::with_capacity(table.columns.len());
    for (i, (column, kind)) in table.columns.iter().enumerate() {
        let at = || format!("exporting {}.{column}", table.name);
        let bad = |e: sqlx::Error| StoreError::internal(at(), e);
        let cell = match kind {
            Kind::Int => row
                .try_get::<Option<i64>, _>(i)
                .map_err(bad)?
                .map(Cell::Int),
            Kind::Real => row
                .try_get::<Option<f64>, _>(i)
                .map_err(bad)?
                .map(Cell::Real),
            Kind::Text => row
                .try_get::<Option<String>, _>(i)
                .map_err(bad)?
                .map(Cell::Text),
            Kind::Bool => row
                .try_get::<Option<bool>, _>(i)
                .map_err(bad)?
                .map(Cell::Bool),
            Kind::Bytes => row
                .try_get::<Option<Vec<u8>>, _>(i)
                .map_err(bad)?
                .map(Cell::Bytes),
            Kind::Json => match row.try_get::<Option<String>, _>(i).map_err(bad)? {
                Some(text) => Some(Cell::Json(
                    serde_json::from_str(&text).map_err(|e| StoreError::internal(at(), e))?,
                )),
                None => None,
            },
            Kind::Time if time_as_text(table, column) => {
                match row.try_get::<Option<String>, _>(i).map_err(bad)? {
                    Some(text) => Some(Cell::Time(
                        chrono::DateTime::parse_from_rfc3339(&text)
                            .map_err(|e| StoreError::internal(at(), e))?
                            .to_utc(),
                    )),
                    None => None,
                }
            }
            Kind::Time => match row.try_get::<Option<i64>, _>(i).map_err(bad)? {
                Some(v) => Some(Cell::Time(from_micros(v)?)),
                None => None,
            },
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(cells)
}

pub(crate) async fn export(store: &SqliteStore, sink: &mut dyn RowSink) -> Result<(), StoreError> {
    // Its own connection, without sqlx's slow-statement warning: reading a whole table as
    // one streamed statement is meant to take long.
    let options = (*store.reader.connect_options())
        .clone()
        .disable_statement_logging();
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| map(e, "starting an export"))?;
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| map(e, "starting an export"))?;
    for table in TABLES {
        let sql = format!(
            "SELECT {} FROM \"{}\" ORDER BY {}",
            table.column_list(),
            table.name,
            quoted(table.key)
        );
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| map(e, &format!("exporting {}", table.name)))?
        {
            batch.push(read(table, &row)?);
            if batch.len() == BATCH {
                sink.rows(
                    table,
                    std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                )
                .await?;
            }
        }
        drop(rows);
        if !batch.is_empty() {
            sink.rows(table, batch).await?;
        }
    }
    tx.rollback()
        .await
        .map_err(|e| map(e, "ending an export"))?;
    conn.close().await.map_err(|e| map(e, "ending an export"))
}

/// Binds one cell, checked against its column's kind.
fn bind<'q>(
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    table: &Table,
    (column, kind): (&str, Kind),
    cell: &Cell,
) -> Result<sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>, StoreError> {
    Ok(match (kind, cell) {
        (_, Cell::Null) => query.bind(None::<i64>),
        (Kind::Int, Cell::Int(n)) => query.bind(*n),
        (Kind::Real, Cell::Real(x)) => query.bind(*x),
        (Kind::Text, Cell::Text(s)) => query.bind(s.clone()),
        (Kind::Bool, Cell::Bool(b)) => query.bind(*b),
        (Kind::Bytes, Cell::Bytes(b)) => query.bind(b.clone()),
        (Kind::Json, Cell::Json(v)) => query.bind(v.to_string()),
        (Kind::Time, Cell::Time(t)) if time_as_text(table, column) => {
            query.bind(frontline_store::portable::time_text(t))
        }
        (Kind::Time, Cell::Time(t)) => query.bind(micros(*t)),
        _ => {
            return Err(StoreError::Invalid {
                field: format!("{}.{column}", table.name),
                reason: format!("a {kind:?} column given {cell:?}"),
            });
        }
    })
}

pub(crate) async fn import(
    store: &SqliteStore,
    table: &'static Table,
    rows: &[Row],
) -> Result<(), StoreError> {
    let width = table.columns.len();
    if let Some(row) = rows.iter().find(|r| r.len() != width) {
        return Err(StoreError::Invalid {
            field: table.name.into(),
            reason: format!("a row of {} values where it has {width} columns", row.len()),
        });
    }
    let mut tx = store.begin_write().await?;
    // SQLite allows 32,766 parameters a statement.
    let per = (32_000 / width).clamp(1, 500);
    let one = format!("({})", vec!["?"; width].join(", "));
    for chunk in rows.chunks(per) {
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES {}",
            table.name,
            table.column_list(),
            vec![one.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for (column, cell) in table.columns.iter().zip(row) {
                query = bind(query, table, *column, cell)?;
            }
        }
        query
            .execute(&mut *tx)
            .await
            .map_err(|e| map(e, &format!("importing {}", table.name)))?;
    }
    tx.commit()
        .await
        .map_err(|e| map(e, &format!("importing {}", table.name)))
}

pub(crate) async fn started(store: &SqliteStore, source: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO import_state (id, source, started_at) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET source = excluded.source",
    )
    .bind(source)
    .bind(micros(chrono::Utc::now()))
    .execute(&store.writer)
    .await
    .map_err(|e| map(e, "marking an import"))?;
    Ok(())
}

pub(crate) async fn verified(store: &SqliteStore) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM import_state")
        .execute(&store.writer)
        .await
        .map_err(|e| map(e, "ending an import"))?;
    Ok(())
}

pub(crate) async fn unfinished(store: &SqliteStore) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT source FROM import_state")
        .fetch_optional(&store.reader)
        .await
        .map_err(|e| map(e, "reading the import mark"))
}

pub(crate) async fn table_rows(
    store: &SqliteStore,
) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", table.name))
            .fetch_one(&store.reader)
            .await
            .map_err(|e| map(e, "counting rows"))?;
        counts.push((table.name, n));
    }
    Ok(counts)
}

pub(crate) async fn clear(store: &SqliteStore, table: &'static Table) -> Result<(), StoreError> {
    sqlx::query(&format!("DELETE FROM \"{}\"", table.name))
        .execute(&store.writer)
        .await
        .map_err(|e| map(e, &format!("emptying {}", table.name)))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The catalogue is the schema: every table and column in order, each kind stored as
    /// SQLite declares it, the same primary key, and parents before the tables that refer to
    /// them. A migration that changes the schema without the catalogue fails here.
    #[tokio::test]
    async fn the_catalogue_is_this_schema() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_sqlx%' ORDER BY name",
        )
        .fetch_all(&store.reader)
        .await
        .unwrap();
        let tables: Vec<String> = tables
            .into_iter()
            .filter(|t| !frontline_store::portable::LOCAL_TABLES.contains(&t.as_str()))
            .collect();
        let mut listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        listed.sort_unstable();
        assert_eq!(tables, listed, "tables");
        for (position, table) in TABLES.iter().enumerate() {
            let columns: Vec<(String, String, i64)> = sqlx::query_as(&format!(
                "SELECT name, type, pk FROM pragma_table_info('{}') ORDER BY cid",
                table.name
            ))
            .fetch_all(&store.reader)
            .await
            .unwrap();
            let names: Vec<&str> = columns.iter().map(|(n, _, _)| n.as_str()).collect();
            let listed: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, listed, "columns of {}", table.name);
            for ((name, declared, _), (_, kind)) in columns.iter().zip(table.columns) {
                let expected = match kind {
                    Kind::Int | Kind::Bool => "INTEGER",
                    Kind::Time if time_as_text(table, name) => "TEXT",
                    Kind::Time => "INTEGER",
                    Kind::Real => "REAL",
                    Kind::Text | Kind::Json => "TEXT",
                    Kind::Bytes => "BLOB",
                };
                assert_eq!(declared, expected, "{}.{name}", table.name);
            }
            let mut key: Vec<(i64, &str)> = columns
                .iter()
                .filter(|(_, _, pk)| *pk > 0)
                .map(|(n, _, pk)| (*pk, n.as_str()))
                .collect();
            key.sort_unstable();
            let key: Vec<&str> = key.into_iter().map(|(_, n)| n).collect();
            assert_eq!(key, table.key, "primary key of {}", table.name);
            let parents: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT \"table\" FROM pragma_foreign_key_list('{}')",
                table.name
            ))
            .fetch_all(&store.reader)
            .await
            .unwrap();
            for parent in parents {
                let before = TABLES[..position].iter().any(|t| t.name == parent);
                assert!(before, "{} refers to {parent}, listed after it", table.name);
            }
        }
        store.close().await;
    }
}
