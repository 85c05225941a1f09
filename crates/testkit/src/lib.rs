//! The test harness: [`spawn_app`] runs the real server, in-process, on a random loopback port
//! with its own fresh database, and returns what a test needs to talk to it and look behind it.
//! Only ever a dev-dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod scenario;

pub mod fake_per_ticket;
pub mod fake_zendesk;
pub mod helpdesk;
pub mod nats;
pub mod process;
pub mod receiver;
pub mod smtp;
pub mod sse;

use frontline_core::Role;
use frontline_core::audit::Actor;
use frontline_server::auth::token::issue;
use frontline_server::plumbing::config::Config;
use frontline_server::plumbing::telemetry;
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
    /// The server's state, for stepping its workers (the helpdesk write-back).
    pub state: frontline_server::plumbing::state::AppState,
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
    detection:
        std::sync::Arc<tokio::sync::Mutex<frontline_server::workers::detection::DetectionWorker>>,
    correlation: Arc<frontline_server::workers::correlation::CorrelationWorker>,
    /// The configuration the server runs with; [`TestApp::restart`] uses it as it is then.
    pub config: Config,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
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
        // Tests step the detection and correlation workers themselves (`TestApp::detect`,
        // `TestApp::correlate`).
        detection_interval_ms: 0,
        ..Config::default()
    };
    config.correlation.interval_ms = 0;
    config.cadence.interval_ms = 0;
    // The helpdesk sealing key beside the test's files, never in the working directory.
    config.secrets.sealing_key_file = Some(dir.path().join("sealing.key"));
    configure(&mut config);
    let app = frontline_server::build(config.clone())
        .await
        .expect("server builds");
    let addr = app.local_addr().expect("bound address");
    let state = app.state().clone();
    let store = app.state().store.clone();
    let detection = app.state().detection.clone();
    let correlation = app.state().correlation.clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));
    Some(TestApp {
        state,
        base_url: format!("http://{addr}"),
        addr,
        client: reqwest::Client::new(),
        store,
        database_url,
        shutdown,
        detection,
        correlation,
        config,
        server: Some(server),
        _dir: dir,
        _database: database,
    })
}

/// Another server on a [`TestApp`]'s database: a second node. Stops when dropped.
pub struct OtherNode {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    shutdown: CancellationToken,
}

impl Drop for OtherNode {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl OtherNode {
    /// The URL of `path` on this node.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl TestApp {
    /// Starts another server on this one's database and configuration (a second node, on
    /// its own port).
    ///
    /// # Panics
    /// When it cannot start.
    pub async fn another_node(&self) -> OtherNode {
        let app = frontline_server::build(self.config.clone())
            .await
            .expect("a second node builds");
        let addr = app.local_addr().expect("bound address");
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run_until(shutdown.clone()));
        OtherNode {
            base_url: format!("http://{addr}"),
            shutdown,
        }
    }

    /// Stops the server (gracefully, as on SIGTERM) and starts a new one on the same
    /// database and configuration; it listens on a new port.
    ///
    /// # Panics
    /// When the new server cannot start.
    pub async fn restart(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let app = frontline_server::build(self.config.clone())
            .await
            .expect("server builds again");
        self.addr = app.local_addr().expect("bound address");
        self.base_url = format!("http://{}", self.addr);
        self.state = app.state().clone();
        self.store = app.state().store.clone();
        self.detection = app.state().detection.clone();
        self.correlation = app.state().correlation.clone();
        self.shutdown = CancellationToken::new();
        self.server = Some(tokio::spawn(app.run_until(self.shutdown.clone())));
    }

    /// Runs one correlation round now.
    ///
    /// # Panics
    /// When the store fails.
    pub async fn correlate(&self) -> frontline_server::workers::correlation::Round {
        self.correlation
            .round(chrono::Utc::now())
            .await
            .expect("correlation round")
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Steps the detection worker until it has read every stored contact; returns the
    /// alerts it stored (raised or updated) on the way.
    pub async fn detect(&self) -> usize {
        let mut worker = self.detection.lock().await;
        let mut alerts = 0;
        loop {
            let report = worker.tick().await.expect("detection step");
            alerts += report.alerts;
            if report.contacts == 0 {
                return alerts;
            }
        }
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

    /// A person who signs in with `password` (one-time when `one_time`), given `role`.
    ///
    /// # Panics
    /// When the store fails.
    pub async fn person(&self, name: &str, role: Role, password: &str, one_time: bool) {
        let hash = frontline_server::auth::session::hash_password(password);
        self.store
            .set_password(
                name,
                Some(role),
                &hash,
                one_time,
                &Origin::new(Actor::System),
            )
            .await
            .expect("password set");
    }

    /// Opens an incident through the API; its id.
    ///
    /// # Panics
    /// When it is not opened.
    pub async fn open_incident(&self, token: &str, title: &str, severity: &str) -> i64 {
        let (status, body) = json(
            self.post_json(
                "/api/v1/incidents",
                token,
                &serde_json::json!({"title": title, "severity": severity}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().expect("an id")
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

    /// PATCH a JSON value with a bearer token.
    pub async fn patch_json(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(path))
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

/// A small deterministic generator, so every run sends the same contacts.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

/// `n` realistic contacts for benchmarks: ~200-byte texts in several languages, each with two
/// pieces of personal data, over several channels and services. The same `seed` gives the same
/// contacts.
pub fn realistic_contacts(seed: u64, n: usize) -> Vec<serde_json::Value> {
    realistic_contacts_iter(seed, n).collect()
}

/// [`realistic_contacts`] one at a time, for inputs too large to hold.
pub fn realistic_contacts_iter(seed: u64, n: usize) -> impl Iterator<Item = serde_json::Value> {
    let mut rng = Lcg(42 + seed);
    let openings = [
        "Hi, I can't log in to my account since this morning",
        "Someone changed my password and I didn't do it",
        "Got a text saying my account is suspended, is this real?",
        "App down again?? nothing loads on checkout",
        "Ich kann mich nicht mehr einloggen, Passwort geht nicht",
        "Je n'arrive plus à me connecter depuis hier soir",
        "No puedo entrar a mi cuenta, me dice contraseña incorrecta",
    ];
    let details = [
        "my email is jane.doe@example.com",
        "call me on +44 7700 900123",
        "card 4111 1111 1111 1111 was charged twice",
        "order #88213455 never arrived",
        "login came from 203.0.113.7 which is not me",
        "IBAN DE89 3704 0044 0532 0130 00 was debited",
        "ticket ref 55120 still open",
    ];
    let channels = ["ticket", "chat", "call", "email", "social", "review"];
    let services = ["web", "mobile", "payments", "login"];
    (0..n)
        .map(move |i| {
            let text = format!(
                "{}. {}, and {}. Please help, this is urgent and I have been waiting for an answer for a while now.",
                rng.pick(&openings),
                rng.pick(&details),
                rng.pick(&details)
            );
            serde_json::json!({
                "id": format!("r{seed}-{i}"),
                "source": "zendesk",
                "channel": rng.pick(&channels),
                "received_at": format!("2026-11-25T{:02}:{:02}:{:02}Z", (i / 3600) % 24, (i / 60) % 60, i % 60),
                "text": text,
                "customer": format!("cust-{}", rng.next() % 50_000),
                "service": rng.pick(&services),
                "language": "en",
            })
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

/// A spike alert `id` on `phishing` that began half an hour ago and was raised 25 minutes ago,
/// with no evidence: change what a test needs with struct update syntax.
pub fn phishing_spike(id: &str) -> frontline_core::alert::DetectedAlert {
    let now = chrono::Utc::now();
    frontline_core::alert::DetectedAlert {
        alert_id: id.into(),
        kind: frontline_core::alert::AlertKind::Spike,
        topic: Some("phishing".into()),
        service: None,
        channel: None,
        started_at: now - chrono::Duration::minutes(30),
        raised_at: now - chrono::Duration::minutes(25),
        observed: 9,
        customers: 9,
        expected: 0.4,
        score: 0.9,
        evidence: vec![],
        text: None,
        language: None,
        group_id: None,
    }
}

/// Whether a page runs nothing but its own script: exactly one `<script>` element, allowed
/// by its hash in `csp`, which allows no inline script otherwise; and no `<img>` element (a
/// user-written one would be an injection).
pub fn runs_only_its_own_script(html: &str, csp: &str) -> bool {
    use base64::Engine as _;
    use sha2::Digest as _;
    let Some(start) = html.find("<script>") else {
        return false;
    };
    let body = &html[start + "<script>".len()..];
    let Some(end) = body.find("</script>") else {
        return false;
    };
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&body[..end]));
    html.matches("<script").count() == 1
        && !html.contains("<img")
        && csp.contains(&format!("script-src 'sha256-{hash}';"))
        && !csp.contains("unsafe-inline")
}
