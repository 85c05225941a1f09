//! The portable catalogue (`frontline_store::portable::TABLES`) is this backend's schema:
//! every table and column in order, each kind as PostgreSQL declares it, the same primary
//! keys, and parents before the tables that refer to them. A migration that changes the
//! schema without the catalogue fails here.
#![allow(clippy::unwrap_used)]

use frontline_store::portable::{Kind, LOCAL_TABLES, TABLES};
use frontline_store_postgres::PostgresStore;
use frontline_store_postgres::testing::TestDatabase;
use sqlx::Connection;

#[tokio::test]
async fn the_catalogue_is_this_schema() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = PostgresStore::open(&db.url).await.unwrap();
    store.close().await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 \
         AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name COLLATE \"C\"",
    )
    .bind(&schema)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let tables: Vec<String> = tables
        .into_iter()
        .filter(|t| !LOCAL_TABLES.contains(&t.as_str()))
        .collect();
    let mut listed: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    listed.sort_unstable();
    assert_eq!(tables, listed, "tables");
    for (position, table) in TABLES.iter().enumerate() {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
        )
        .bind(&schema)
        .bind(table.name)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let listed: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, listed, "columns of {}", table.name);
        for ((name, declared), (_, kind)) in columns.iter().zip(table.columns) {
            let fits = match kind {
                Kind::Int => ["bigint", "integer", "smallint"].contains(&declared.as_str()),
                Kind::Real => declared == "double precision",
                Kind::Text => declared == "text",
                Kind::Bool => declared == "boolean",
                Kind::Time => declared == "timestamp with time zone",
                Kind::Json => declared == "jsonb",
                Kind::Bytes => declared == "bytea",
            };
            assert!(fits, "{}.{name}: {declared} is not {kind:?}", table.name);
        }
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT k.column_name::text FROM information_schema.table_constraints c \
             JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name \
             AND k.table_schema = c.table_schema \
             WHERE c.table_schema = $1 AND c.table_name = $2 AND c.constraint_type = 'PRIMARY KEY' \
             ORDER BY k.ordinal_position",
        )
        .bind(&schema)
        .bind(table.name)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(key, table.key, "primary key of {}", table.name);
        let parents: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT u.table_name::text FROM information_schema.table_constraints c \
             JOIN information_schema.constraint_column_usage u \
             ON u.constraint_name = c.constraint_name AND u.table_schema = c.table_schema \
             WHERE c.table_schema = $1 AND c.table_name = $2 AND c.constraint_type = 'FOREIGN KEY'",
        )
        .bind(&schema)
        .bind(table.name)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for parent in parents {
            let before = TABLES[..position].iter().any(|t| t.name == parent);
            assert!(before, "{} refers to {parent}, listed after it", table.name);
        }
    }
    conn.close().await.unwrap();
}
