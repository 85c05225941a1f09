//! A fresh PostgreSQL schema per test, dropped when the test ends: each test's URL sets its
//! own `search_path`, so it sees empty tables of its own. The server to use comes from
//! `FRONTLINE_TEST_POSTGRES_URL` (which `.ci/run` sets); without it the test is skipped with a
//! message, except under `CI`, where a missing database is a failure.
//!
//! Schemas, not databases: PostgreSQL 15's `DROP DATABASE` waits until every backend of the
//! cluster has absorbed a signal barrier, and the idle connections of tests running beside it
//! held it for a minute at a time (wait event `ProcSignalBarrier`). `DROP SCHEMA` waits only
//! for locks on its own tables.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use rand::RngCore;
use sqlx::Connection;

/// The variable naming the test server's administration database.
pub const URL_VAR: &str = "FRONTLINE_TEST_POSTGRES_URL";

/// A database created for one test.
pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a fresh database, or returns `None` (after saying why) when no server is
    /// configured outside CI.
    ///
    /// # Panics
    /// Under `CI` when the variable is unset, and when the server refuses.
    pub async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var(URL_VAR) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{URL_VAR} is not set; under CI the PostgreSQL tests must run (bash .ci/run sets it)"
            );
            eprintln!(
                "skipped: {URL_VAR} is not set, so there is no PostgreSQL to test against (bash .ci/run starts one)"
            );
            return None;
        };
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let name = format!("frontline_t_{}", hex::encode(bytes));
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to FRONTLINE_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create a test schema");
        let _ = admin.close().await;
        Some(Self {
            url: with_schema(&admin_url, &name),
            admin_url,
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on itself: a thread with
        // its own small runtime ends the test's connections and drops the schema.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    // The test's own connections first: one may sit in a transaction whose
                    // rollback waits for the very runtime this drop is blocking.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&name)
                    .execute(&mut admin)
                    .await;
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// `url` with its database name replaced by `name` (query parameters kept).
/// `url` with its connections' `search_path` set to `schema`, and named after it (so the drop
/// can end them).
fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}&application_name={schema}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_set_in_the_url() {
        assert_eq!(
            with_schema("postgres://u:p@h:5432/db", "x"),
            "postgres://u:p@h:5432/db?options=-c%20search_path%3Dx&application_name=x"
        );
        assert_eq!(
            with_schema("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/db?sslmode=disable&options=-c%20search_path%3Dx&application_name=x"
        );
    }
}
