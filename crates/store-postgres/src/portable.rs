//! The portable export and import on PostgreSQL (`frontline export`, `import`, `migrate`):
//! every table read in key order inside one repeatable-read transaction (one snapshot while
//! intake goes on), rows written back as they were, and the sequences moved past them.

use crate::{PostgresStore, errors::map};
use frontline_store::StoreError;
use frontline_store::portable::{Cell, Kind, Row, RowSink, TABLES, Table};
use futures::TryStreamExt;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{ConnectOptions, Connection, Postgres, Row as _};

/// Rows handed to the sink at a time.
const BATCH: usize = 1000;

/// The columns as read: every integer widened to 64 bits, so one decoder serves them all.
fn select_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|(c, kind)| match kind {
            Kind::Int => format!("\"{c}\"::bigint"),
            Kind::Real => format!("\"{c}\"::float8"),
            _ => format!("\"{c}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Key order byte by byte, as SQLite sorts text, so both backends export the same lines in
/// the same order whatever the database's collation.
fn order_by(table: &Table) -> String {
    table
        .key
        .iter()
        .map(|k| match table.kind(k) {
            Some(Kind::Text) => format!("\"{k}\" COLLATE \"C\""),
            _ => format!("\"{k}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read(table: &Table, row: &PgRow) -> Result<Row, StoreError> {
    let mut cells = Vec::with_capacity(table.columns.len());
    for (i, (column, kind)) in table.columns.iter().enumerate() {
        let bad =
            |e: sqlx::Error| StoreError::internal(format!("exporting {}.{column}", table.name), e);
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
            Kind::Json => row
                .try_get::<Option<serde_json::Value>, _>(i)
                .map_err(bad)?
                .map(Cell::Json),
            Kind::Time => row
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)
                .map_err(bad)?
                .map(Cell::Time),
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(cells)
}

pub(crate) async fn export(
    store: &PostgresStore,
    sink: &mut dyn RowSink,
) -> Result<(), StoreError> {
    // Its own connection, without sqlx's slow-statement warning: reading a whole table as
    // one streamed statement is meant to take long.
    let options = (*store.pool.connect_options())
        .clone()
        .disable_statement_logging();
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| map(e, "starting an export"))?;
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| map(e, "starting an export"))?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "starting an export"))?;
    for table in TABLES {
        let sql = format!(
            "SELECT {} FROM \"{}\" ORDER BY {}",
            select_list(table),
            table.name,
            order_by(table)
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

/// One column of a chunk of rows, as the array PostgreSQL unnests.
enum Column {
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<chrono::DateTime<chrono::Utc>>>),
    Json(Vec<Option<serde_json::Value>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Column {
    fn new(kind: Kind, n: usize) -> Self {
        match kind {
            Kind::Int => Column::Int(Vec::with_capacity(n)),
            Kind::Real => Column::Real(Vec::with_capacity(n)),
            Kind::Text => Column::Text(Vec::with_capacity(n)),
            Kind::Bool => Column::Bool(Vec::with_capacity(n)),
            Kind::Time => Column::Time(Vec::with_capacity(n)),
            Kind::Json => Column::Json(Vec::with_capacity(n)),
            Kind::Bytes => Column::Bytes(Vec::with_capacity(n)),
        }
    }

    /// Adds one cell; false when the cell is not of the column's kind.
    fn push(&mut self, cell: &Cell) -> bool {
        match (self, cell) {
            (Column::Int(v), Cell::Int(n)) => v.push(Some(*n)),
            (Column::Real(v), Cell::Real(x)) => v.push(Some(*x)),
            (Column::Text(v), Cell::Text(t)) => v.push(Some(t.clone())),
            (Column::Bool(v), Cell::Bool(b)) => v.push(Some(*b)),
            (Column::Time(v), Cell::Time(t)) => v.push(Some(*t)),
            (Column::Json(v), Cell::Json(j)) => v.push(Some(j.clone())),
            (Column::Bytes(v), Cell::Bytes(b)) => v.push(Some(b.clone())),
            (Column::Int(v), Cell::Null) => v.push(None),
            (Column::Real(v), Cell::Null) => v.push(None),
            (Column::Text(v), Cell::Null) => v.push(None),
            (Column::Bool(v), Cell::Null) => v.push(None),
            (Column::Time(v), Cell::Null) => v.push(None),
            (Column::Json(v), Cell::Null) => v.push(None),
            (Column::Bytes(v), Cell::Null) => v.push(None),
            _ => return false,
        }
        true
    }

    fn bind(
        self,
        query: sqlx::query::Query<'_, Postgres, PgArguments>,
    ) -> sqlx::query::Query<'_, Postgres, PgArguments> {
        match self {
            Column::Int(v) => query.bind(v),
            Column::Real(v) => query.bind(v),
            Column::Text(v) => query.bind(v),
            Column::Bool(v) => query.bind(v),
            Column::Time(v) => query.bind(v),
            Column::Json(v) => query.bind(v),
            Column::Bytes(v) => query.bind(v),
        }
    }
}

fn array_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "bigint[]",
        Kind::Real => "float8[]",
        Kind::Text => "text[]",
        Kind::Bool => "boolean[]",
        Kind::Time => "timestamptz[]",
        Kind::Json => "jsonb[]",
        Kind::Bytes => "bytea[]",
    }
}

/// Rows go in as one array per column, unnested into rows by PostgreSQL: one statement (the
/// same text, so prepared once) however many rows, instead of a parameter per cell.
pub(crate) async fn import(
    store: &PostgresStore,
    table: &'static Table,
    rows: &[Row],
) -> Result<(), StoreError> {
    let width = table.columns.len();
    let mut columns: Vec<Column> = table
        .columns
        .iter()
        .map(|(_, kind)| Column::new(*kind, rows.len()))
        .collect();
    for row in rows {
        if row.len() != width {
            return Err(StoreError::Invalid {
                field: table.name.into(),
                reason: format!("a row of {} values where it has {width} columns", row.len()),
            });
        }
        for ((column, (name, kind)), cell) in columns.iter_mut().zip(table.columns).zip(row) {
            if !column.push(cell) {
                return Err(StoreError::Invalid {
                    field: format!("{}.{name}", table.name),
                    reason: format!("a {kind:?} column given {cell:?}"),
                });
            }
        }
    }
    let arrays = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| format!("${}::{}", i + 1, array_type(*kind)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO \"{}\" ({}) SELECT * FROM UNNEST({arrays})",
        table.name,
        table.column_list()
    );
    let query = columns
        .into_iter()
        .fold(sqlx::query(&sql), |query, column| column.bind(query));
    let mut tx = store.begin().await?;
    query
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, &format!("importing {}", table.name)))?;
    tx.commit()
        .await
        .map_err(|e| map(e, &format!("importing {}", table.name)))
}

/// Every serial column's sequence, and the incident numbers', continue after the largest
/// imported value, so the first row written after an import does not collide with one.
pub(crate) async fn finish(store: &PostgresStore) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for table in TABLES {
        let [key] = table.key else { continue };
        let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
            .bind(format!("\"{}\"", table.name))
            .bind(*key)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map(e, "finding a sequence"))?;
        let sequence = match (sequence, table.name) {
            (Some(s), _) => s,
            (None, "incidents") => "incident_ids".to_owned(),
            (None, _) => continue,
        };
        sqlx::query(&format!(
            "SELECT setval($1, COALESCE((SELECT MAX(\"{key}\") FROM \"{}\"), 0) + 1, false)",
            table.name
        ))
        .bind(sequence)
        .execute(&mut *tx)
        .await
        .map_err(|e| map(e, "moving a sequence"))?;
    }
    tx.commit().await.map_err(|e| map(e, "moving sequences"))
}

pub(crate) async fn started(store: &PostgresStore, source: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO import_state (id, source, started_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET source = excluded.source",
    )
    .bind(source)
    .bind(chrono::Utc::now())
    .execute(&store.pool)
    .await
    .map_err(|e| map(e, "marking an import"))?;
    Ok(())
}

pub(crate) async fn verified(store: &PostgresStore) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM import_state")
        .execute(&store.pool)
        .await
        .map_err(|e| map(e, "ending an import"))?;
    Ok(())
}

pub(crate) async fn unfinished(store: &PostgresStore) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT source FROM import_state")
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| map(e, "reading the import mark"))
}

pub(crate) async fn table_rows(
    store: &PostgresStore,
) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", table.name))
            .fetch_one(&store.pool)
            .await
            .map_err(|e| map(e, "counting rows"))?;
        counts.push((table.name, n));
    }
    Ok(counts)
}

pub(crate) async fn clear(store: &PostgresStore, table: &'static Table) -> Result<(), StoreError> {
    sqlx::query(&format!("DELETE FROM \"{}\"", table.name))
        .execute(&store.pool)
        .await
        .map_err(|e| map(e, &format!("emptying {}", table.name)))?;
    Ok(())
}
