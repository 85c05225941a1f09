//! The pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs), driven through ChromeDriver: a person signs in, sees the dashboard,
//! reads a review and the trends; hostile text stays text; axe-core finds no serious or
//! critical accessibility violation on any page. `FRONTLINE_SCREENSHOTS=1` saves the pages
//! under `docs/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::{Client, ClientBuilder, Locator};
use frontline_core::Role;
use frontline_testkit::{Backend, json, spawn_app};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether Chromium's driver is here; outside CI a missing one skips the test, in CI it fails.
fn browser_installed() -> bool {
    if Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{CHROMEDRIVER} is missing; .ci/run installs chromium-driver"
    );
    eprintln!("skipped: install chromium and chromium-driver (see .ci/run)");
    false
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_driver() -> (Driver, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return (driver, port);
        }
        assert!(Instant::now() < deadline, "chromedriver never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn browser(port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session")
}

/// Serious or critical axe-core violations on the current page (`None` when axe-core is not
/// installed here: `.ci/run` installs it).
async fn accessibility(client: &Client) -> Option<Vec<String>> {
    let axe = workspace().join("target/e2e/node_modules/axe-core/axe.min.js");
    let Ok(source) = std::fs::read_to_string(&axe) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing; .ci/run installs it",
            axe.display()
        );
        return None;
    };
    client.execute(&source, vec![]).await.unwrap();
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document).then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .unwrap();
    Some(
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
    )
}

async fn screenshot(client: &Client, name: &str) {
    if std::env::var_os("FRONTLINE_SCREENSHOTS").is_some() {
        let png = client.screenshot().await.unwrap();
        let dir = workspace().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

async fn wait_for_path(client: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still at {url}, expected {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_and_reads_the_pages_in_a_real_browser() {
    if !browser_installed() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    app.person("ann", Role::Admin, "a long good password", false)
        .await;
    let sam = app.token_for("sam", Role::Security).await;
    let (status, incident) = json(
        app.post_json(
            "/api/v1/incidents",
            &sam,
            &json!({"title": "Phishing <script>alert('x')</script> wave", "severity": "SEV2",
                    "services": ["login"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    app.store
        .upsert_alerts(&[frontline_core::alert::DetectedAlert {
            text: Some("Got a text saying my account is suspended".into()),
            language: None,
            group_id: None,
            ..frontline_testkit::phishing_spike("wave")
        }])
        .await
        .unwrap();

    // A week of ordinary contacts, so the dashboard has its charts and bands.
    let ingest = app.token(Role::Ingest).await;
    let week = frontline_server::demo::history(chrono::Utc::now(), "browser");
    for batch in week.chunks(1000) {
        let r = app
            .post_json("/api/v1/contacts", &ingest, &json!(batch))
            .await;
        assert_eq!(r.status(), 200);
    }

    let (_driver, port) = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(port, profile.path()).await;
    let mut violations = Vec::new();

    client.goto(&app.url("/")).await.unwrap();
    wait_for_path(&client, "/login").await;
    check_page(&client, "login", "/login", &mut violations).await;
    fill_sign_in(&client, "ann", "a long good password").await;
    wait_for_path(&client, "/").await;
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Dashboard");
    let row = client
        .find(Locator::Css("#incidents ~ table tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("Phishing <script>alert('x')</script> wave"),
        "hostile text is shown as text: {row}"
    );
    let charts = client
        .find_all(Locator::Css("#volume-region figure svg"))
        .await
        .unwrap();
    assert!(charts.len() >= 4, "topic charts: {}", charts.len());
    check_page(&client, "dashboard", "/", &mut violations).await;

    client
        .find(Locator::LinkText("wave"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/alerts/wave").await;
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "spike alert: phishing");
    check_page(&client, "alert", "alert", &mut violations).await;
    client.back().await.unwrap();
    wait_for_path(&client, "/").await;
    client
        .find(Locator::LinkText("review"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, &format!("/incidents/{id}/review")).await;
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains("<script>"), "{heading}");
    assert!(
        client.find(Locator::Css("figure svg")).await.is_ok(),
        "the chart renders"
    );
    check_page(&client, "review", "review", &mut violations).await;

    client.goto(&app.url("/agent")).await.unwrap();
    wait_for_path(&client, "/agent").await;
    assert!(client.find(Locator::Css("form button")).await.is_ok());
    check_page(&client, "agent", "/agent", &mut violations).await;

    client.goto(&app.url("/trends?months=6")).await.unwrap();
    wait_for_path(&client, "/trends").await;
    assert!(client.find(Locator::Css("figure svg")).await.is_ok());
    check_page(&client, "trends", "/trends", &mut violations).await;

    // The settings and admin pages; the admin makes a token and copies it with the button.
    client.goto(&app.url("/settings")).await.unwrap();
    wait_for_text(&client, "main", "phishing").await;
    check_page(&client, "settings", "/settings", &mut violations).await;
    client.goto(&app.url("/admin")).await.unwrap();
    wait_for(&client, "#token-user")
        .await
        .send_keys("zendesk")
        .await
        .unwrap();
    click(&client, "form[action='/admin/tokens'] button").await;
    let secret = wait_for(&client, "#secret").await;
    let token = secret.prop("value").await.unwrap().unwrap_or_default();
    assert!(token.starts_with("flt_"), "{token}");
    click(&client, "button[data-copy=secret]").await;
    wait_for_text(&client, "button[data-copy=secret]", "Copied").await;
    check_page(&client, "admin", "/admin", &mut violations).await;

    // Signing out ends the session in the browser too.
    client.goto(&app.url("/")).await.unwrap();
    client
        .find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/login").await;
    client.goto(&app.url("/trends")).await.unwrap();
    wait_for_path(&client, "/login").await;

    client.close().await.unwrap();
    assert!(violations.is_empty(), "accessibility: {violations:#?}");
}

/// Types a name and password into the sign-in form on screen and sends it.
async fn fill_sign_in(client: &Client, user: &str, password: &str) {
    for (field, value) in [("#user", user), ("#password", password)] {
        wait_for(client, field)
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    click(client, "button[type=submit]").await;
}

async fn sign_in_as(client: &Client, base: &str, user: &str, password: &str) {
    client.goto(&format!("{base}/login")).await.unwrap();
    fill_sign_in(client, user, password).await;
    wait_for_path(client, "/").await;
}

async fn sign_out(client: &Client, base: &str) {
    client.goto(&format!("{base}/")).await.unwrap();
    click(client, "header form button").await;
    wait_for_path(client, "/login").await;
}

/// Saves the page's screenshot (when asked to) as `name` and adds its serious accessibility
/// violations, labelled `label`, to `violations`.
async fn check_page(client: &Client, name: &str, label: &str, violations: &mut Vec<String>) {
    screenshot(client, name).await;
    if let Some(v) = accessibility(client).await {
        violations.extend(v.into_iter().map(|v| format!("{label}: {v}")));
    }
}

/// The first element matching `css`, waiting up to 10 s for it to appear.
async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = client.find(Locator::Css(css)).await {
            return e;
        }
        if Instant::now() > deadline {
            let body = client.source().await.unwrap_or_default();
            panic!(
                "nothing matches {css} at {:?}:\n{body}",
                client.current_url().await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits up to 10 s for the text of `css` to contain `needle`, and returns that text.
async fn wait_for_text(client: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = match client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} does not say {needle:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_an_alert_to_one_approved_message_on_the_status_page_in_a_real_browser() {
    if !browser_installed() {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    for (name, role) in [
        ("carla", Role::CxLead),
        ("cora", Role::Comms),
        ("sam", Role::Security),
    ] {
        app.person(name, role, "a long good password", false).await;
    }
    let (_driver, port) = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(port, profile.path()).await;
    let base = app.url("");
    let base = base.trim_end_matches('/');
    let mut violations = Vec::new();

    // CX watches the dashboard; the alert appears on it live, without a reload (a mark left
    // in the page survives).
    sign_in_as(&client, base, "carla", "a long good password").await;
    wait_for_text(&client, "#alerts-region", "No open alerts").await;
    wait_for(&client, "body[data-connected=true]").await;
    client
        .execute("window.frontlineMark = 'same page'; return null;", vec![])
        .await
        .unwrap();
    app.store
        .upsert_alerts(&[frontline_testkit::phishing_spike("wave")])
        .await
        .unwrap();
    wait_for(&client, "#alerts-region a[href='/alerts/wave']").await;
    let mark = client
        .execute("return window.frontlineMark || null;", vec![])
        .await
        .unwrap();
    assert_eq!(mark, json!("same page"), "the page was not reloaded");
    screenshot(&client, "dashboard-live").await;

    // CX opens an incident from the alert.
    click(&client, "#alerts-region a[href='/alerts/wave']").await;
    wait_for_path(&client, "/alerts/wave").await;
    click(&client, "form[action$='/incident'] button").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let war_room = loop {
        let url = client.current_url().await.unwrap();
        if url.path().starts_with("/incidents/") {
            break url.path().to_owned();
        }
        assert!(Instant::now() < deadline, "no war room: {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if let Some(v) = accessibility(&client).await {
        violations.extend(v.into_iter().map(|v| format!("war room: {v}")));
    }
    sign_out(&client, base).await;

    // Comms drafts the public word, the last word.
    sign_in_as(&client, base, "cora", "a long good password").await;
    client.goto(&format!("{base}{war_room}")).await.unwrap();
    client
        .find(Locator::Css("#title"))
        .await
        .unwrap()
        .send_keys("Phishing messages")
        .await
        .unwrap();
    client
        .find(Locator::Css("#body"))
        .await
        .unwrap()
        .send_keys("We never ask for your password by text. Ignore such messages.")
        .await
        .unwrap();
    click(&client, "#final").await;
    click(&client, "form[action$='/statements'] button").await;
    wait_for(&client, "form[action$='/publish'] button").await;
    // Publishing before approval is refused on the page itself, saying why.
    click(&client, "form[action$='/publish'] button").await;
    let refused = wait_for(&client, "p.error").await.text().await.unwrap();
    assert!(refused.contains("approv"), "not approved yet: {refused}");

    // Security approves from a program (a bearer token of sam's) while comms watches the war
    // room: the approval shows up there live.
    client.goto(&format!("{base}{war_room}")).await.unwrap();
    wait_for(&client, "body[data-connected=true]").await;
    let sam = app.token_for("sam", Role::Security).await;
    let statements: serde_json::Value = app
        .get(&format!("/api/v1{war_room}/statements"), &sam)
        .await
        .json()
        .await
        .unwrap();
    let sid = statements["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{statements}"));
    let approved = app
        .post_json(
            &format!("/api/v1/statements/{sid}/approve"),
            &sam,
            &json!({}),
        )
        .await;
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap());
    wait_for_text(&client, "#statements-region", "sam as security").await;
    let timeline = wait_for_text(&client, "#timeline-region", "sam").await;
    assert!(timeline.contains("approv"), "{timeline}");
    sign_out(&client, base).await;

    // CX approves on the page: two people, two teams.
    {
        let who = "carla";
        sign_in_as(&client, base, who, "a long good password").await;
        client.goto(&format!("{base}{war_room}")).await.unwrap();
        click(&client, "form[action$='/approve'] button").await;
        wait_for_text(&client, "#statements-region", &format!("{who} as")).await;
        wait_for_path(&client, &war_room).await;
        assert!(
            client.find(Locator::Css("p.error")).await.is_err(),
            "{who} approved"
        );
        sign_out(&client, base).await;
    }

    // Comms publishes; the status page says it.
    sign_in_as(&client, base, "cora", "a long good password").await;
    client.goto(&format!("{base}{war_room}")).await.unwrap();
    click(&client, "form[action$='/publish'] button").await;
    wait_for_text(&client, "main", "This version is published").await;
    wait_for_path(&client, &war_room).await;
    screenshot(&client, "war-room").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        client.goto(&format!("{base}/status")).await.unwrap();
        let page = client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("We never ask for your password by text") {
            break;
        }
        assert!(Instant::now() < deadline, "not on the status page: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&client, "status").await;
    client.close().await.unwrap();
    assert!(violations.is_empty(), "accessibility: {violations:#?}");
}
