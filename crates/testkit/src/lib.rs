//! The test harness: [`spawn_app`] runs the real server, in-process, on a random loopback port
//! with its own fresh database, and returns what a test needs to talk to it and look behind it.
//! Only ever a dev-dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_core::Role;
use frontline_core::audit::Actor;
use frontline_server::auth::token::issue;
use frontline_server::config::Config;
use frontline_server::telemetry;
use frontline_store::{Origin, Store};
use frontline_store_postgres::testing::TestDatabase;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Which storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temp dir.
    Sqlite,
    /// A fresh PostgreSQL database on `FRONTLINE_TEST_POSTGRES_URL`'s server.
    Postgres,
}

/// A running server and the handles a test needs.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// An HTTP client with no default headers.
    pub client: reqwest::Client,
    /// The server's store, to check what was stored.
    pub store: Arc<dyn Store>,
    /// The database URL, for running the CLI against the same database.
    pub database_url: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts a server with the default test configuration; `None` when the backend is not
/// available here (PostgreSQL without `FRONTLINE_TEST_POSTGRES_URL`, outside CI).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a server after `configure` has adjusted the configuration.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        telemetry::init(telemetry::LogFormat::Plain);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, database) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("frontline.db").display()),
            None,
        ),
        Backend::Postgres => {
            let db = TestDatabase::create().await?;
            (db.url.clone(), Some(db))
        }
    };
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database: database_url.clone(),
        ..Config::default()
    };
    configure(&mut config);
    let app = frontline_server::build(config)
        .await
        .expect("server builds");
    let addr = app.local_addr().expect("bound address");
    let store = app.state().store.clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until(shutdown.clone()));
    Some(TestApp {
        base_url: format!("http://{addr}"),
        addr,
        client: reqwest::Client::new(),
        store,
        database_url,
        shutdown,
        _dir: dir,
        _database: database,
    })
}

impl TestApp {
    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A new token for a user named after the role.
    pub async fn token(&self, role: Role) -> String {
        self.token_for(role.as_str(), role).await
    }

    /// A new token for `user`, who is given `role`.
    pub async fn token_for(&self, user: &str, role: Role) -> String {
        let origin = Origin::new(Actor::System);
        issue(self.store.as_ref(), user, role, None, &origin)
            .await
            .expect("token issued")
            .1
    }

    /// GET with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// POST a JSON value with a bearer token.
    pub async fn post_json(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// POST raw bytes with a bearer token.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }
}

/// Reads a response's status and JSON body (panicking with the text if it is not JSON).
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    (status, value)
}

/// A realistic contact as JSON, with personal data in its text.
pub fn contact_json(source: &str, id: &str, received_at: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "source": source,
        "channel": "ticket",
        "received_at": received_at,
        "text": format!("Hi, I can't log in since this morning ({id}). My email is jane.doe@example.com and my phone +44 7700 900123. Did someone change my password?"),
        "customer": format!("cust-{id}"),
        "service": "web",
        "region": "eu",
        "language": "en",
    })
}

/// Runs each listed test on every backend, as `sqlite::NAME` and `postgres::NAME`. Each test
/// is an async function taking the [`Backend`] and starting its server with [`spawn_app`] (or
/// [`spawn_app_with`]), which answers `None`, and the test returns, where the backend is not
/// available here.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(@backend sqlite, Sqlite; $($name),*);
        $crate::backend_tests!(@backend postgres, Postgres; $($name),*);
    };
    (@backend $module:ident, $backend:ident; $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::Backend::$backend).await;
                }
            )*
        }
    };
}
