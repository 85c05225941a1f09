//! The portable export and import on PostgreSQL (`frontline export`, `import`, `migrate`):
//! every table read in key order inside one repeatable-read transaction (one snapshot while
//! intake goes on), rows written back as they were, and the sequences moved past them.

use crate::{PostgresStore, errors::map};
use frontline_store::StoreError;
use frontline_store::portable::{Cell, Kind, Row, RowSink, TABLES, Table};
use futures::TryStreamExt;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Postgres, Row as _};

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
    let mut tx = store.begin().await?;
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
    tx.rollback().await.map_err(|e| map(e, "ending an export"))
}

/// Binds one cell, checked against its column's kind. A null is bound with its column's type
/// so PostgreSQL need not guess one.
fn bind<'q>(
    query: sqlx::query::Query<'q, Postgres, PgArguments>,
    table: &Table,
    (column, kind): (&str, Kind),
    cell: &Cell,
) -> Result<sqlx::query::Query<'q, Postgres, PgArguments>, StoreError> {
    Ok(match (kind, cell) {
        (Kind::Int, Cell::Null) => query.bind(None::<i64>),
        (Kind::Real, Cell::Null) => query.bind(None::<f64>),
        (Kind::Text, Cell::Null) => query.bind(None::<String>),
        (Kind::Bool, Cell::Null) => query.bind(None::<bool>),
        (Kind::Bytes, Cell::Null) => query.bind(None::<Vec<u8>>),
        (Kind::Json, Cell::Null) => query.bind(None::<serde_json::Value>),
        (Kind::Time, Cell::Null) => query.bind(None::<chrono::DateTime<chrono::Utc>>),
        (Kind::Int, Cell::Int(n)) => query.bind(*n),
        (Kind::Real, Cell::Real(x)) => query.bind(*x),
        (Kind::Text, Cell::Text(s)) => query.bind(s.clone()),
        (Kind::Bool, Cell::Bool(b)) => query.bind(*b),
        (Kind::Bytes, Cell::Bytes(b)) => query.bind(b.clone()),
        (Kind::Json, Cell::Json(v)) => query.bind(v.clone()),
        (Kind::Time, Cell::Time(t)) => query.bind(*t),
        _ => {
            return Err(StoreError::Invalid {
                field: format!("{}.{column}", table.name),
                reason: format!("a {kind:?} column given {cell:?}"),
            });
        }
    })
}

pub(crate) async fn import(
    store: &PostgresStore,
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
    let mut tx = store.begin().await?;
    // PostgreSQL allows 65,535 parameters a statement.
    let per = (60_000 / width).clamp(1, 1000);
    for chunk in rows.chunks(per) {
        let values = (0..chunk.len())
            .map(|r| {
                let cells = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({cells})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES {values}",
            table.name,
            table.column_list()
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
