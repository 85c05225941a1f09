//! A fresh PostgreSQL database per test, dropped when the test ends. The server to use comes
//! from `FRONTLINE_TEST_POSTGRES_URL` (which `.ci/run` sets); without it the test is skipped
//! with a message, except under `CI`, where a missing database is a failure.
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
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        Some(Self {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on itself: a thread with
        // its own small runtime drops the database (FORCE ends the pool's connections).
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
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
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_and_path = &base[scheme_end..];
    let host = host_and_path.split('/').next().unwrap_or(host_and_path);
    let mut out = format!("{}{host}/{name}", &base[..scheme_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/db", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
