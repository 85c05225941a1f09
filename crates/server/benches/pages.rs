//! The live dashboard on four weeks of history: 100,000 contacts over 28 days (a daily rhythm,
//! six topics), 10 open alerts, 10 open incidents with a published statement each.
//!
//! `cargo bench -p frontline-server --bench pages` (SQLite; also PostgreSQL when
//! `FRONTLINE_TEST_POSTGRES_URL` is set). Baseline, in the same run: the one query the charts
//! cannot avoid, `Store::topic_counts` over the 28 days by the hour. Measured: gathering the
//! volumes (what a render costs once per `volume::FRESH`), and over HTTP on the real server
//! with a signed-in session `GET /` (what every live refresh costs, the volumes cached), and the war
//! room of an incident whose alert began a week ago (its chart reads that week of its topic).
//! Medians of 15.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Timelike, Utc};
use frontline_core::Role;
use frontline_core::alert::{AlertKind, DetectedAlert};
use frontline_core::audit::Actor;
use frontline_core::contact::{Channel, ContactKey, RedactedContact};
use frontline_store::{Bucket, Origin};
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use serde_json::json;
use std::time::Instant;

const CONTACTS: usize = 100_000;
const ROUNDS: usize = 15;
const TOPICS: [&str; 6] = [
    "account_access",
    "phishing",
    "outage",
    "performance",
    "fraud",
    "data_exposure",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn time_page(app: &TestApp, path: &str, cookie: &str) -> f64 {
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = client
            .get(app.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains("<svg"), "{path} has its charts");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    median(times)
}

async fn run(app: &TestApp, label: &str) {
    let now = Utc::now();
    let start = now - Duration::days(28);
    let origin = Origin::new(Actor::System);
    let step = Duration::days(28).num_milliseconds() / CONTACTS as i64;
    for chunk in 0..CONTACTS / 1000 {
        let batch: Vec<RedactedContact> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                let at = start + Duration::milliseconds(step * n as i64);
                // A daily rhythm: half the night-time contacts are skipped (kept as others).
                let topic = if at.hour() < 6 && n % 2 == 0 {
                    TOPICS[0]
                } else {
                    TOPICS[n % 6]
                };
                RedactedContact {
                    key: ContactKey {
                        source: "zendesk".into(),
                        id: format!("c{n}"),
                    },
                    channel: Channel::Chat,
                    received_at: at,
                    text: "Got a text saying my account is suspended with a link".into(),
                    customer: Some(format!("{:032x}", n % 9000)),
                    service: Some("web".into()),
                    region: None,
                    language: Some("en".into()),
                    metadata: None,
                    topics: vec![topic.into()],
                }
            })
            .collect();
        app.store.insert_contacts(&batch, &origin).await.unwrap();
    }
    let alerts: Vec<DetectedAlert> = (0..10)
        .map(|i| DetectedAlert {
            alert_id: format!("a{i}"),
            kind: AlertKind::Spike,
            topic: Some(TOPICS[i % 6].into()),
            service: None,
            channel: None,
            // The first incident's alert began a week ago: its war room charts a week of its
            // topic.
            started_at: now
                - if i == 0 {
                    Duration::days(7)
                } else {
                    Duration::hours(3)
                },
            raised_at: now - Duration::hours(3),
            observed: 50,
            customers: 40,
            expected: 3.0,
            score: 0.99,
            evidence: Vec::new(),
            text: None,
            language: None,
            group_id: None,
        })
        .collect();
    app.store.upsert_alerts(&alerts).await.unwrap();
    let sam = app.token_for("sam", Role::Security).await;
    let mut first = 0;
    for i in 0..10 {
        let (status, incident) = json(
            app.post_json(
                "/api/v1/incidents",
                &sam,
                &json!({"title": format!("incident {i}"), "severity": "SEV2",
                        "links": {"alerts": [format!("a{i}")]}}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{incident}");
        if i == 0 {
            first = incident["id"].as_i64().unwrap();
        }
    }
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    let login = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/login"))
        .form(&[
            ("user", "carla"),
            ("password", "carlas long password"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let mut base = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let counts = app
            .store
            .topic_counts(start, now + Duration::seconds(1), Bucket::of(3_600))
            .await
            .unwrap();
        assert!(counts.len() > 28 * 24 * 5, "{}", counts.len());
        base.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let base = median(base);
    // What a render costs when the volumes are not cached (once per FRESH), and what every
    // render costs then (the page over HTTP, the volumes reused).
    let mut gather = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let v = frontline_server::web::volume::gather(
            app.store.as_ref(),
            Utc::now(),
            6,
            &std::collections::BTreeSet::new(),
        )
        .await
        .unwrap();
        assert_eq!(v.len(), 6);
        gather.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let gather = median(gather);
    let dashboard = time_page(app, "/", &cookie).await;
    let war_room = time_page(app, &format!("/incidents/{first}"), &cookie).await;
    let (_, m) = json(
        app.get(&format!("/api/v1/incidents/{first}/metrics"), &sam)
            .await,
    )
    .await;
    let related = m["impact"]["contacts"].as_u64().unwrap();
    println!(
        "{label}: topic counts over 28 days ({CONTACTS} contacts) {base:.1} ms | volumes gathered {gather:.1} ms ({:.2}×) | dashboard, volumes cached {dashboard:.1} ms ({:.2}×) | war room ({} related contacts) {war_room:.1} ms ({:.2}×)",
        gather / base,
        dashboard / base,
        related,
        war_room / base,
    );
}

#[tokio::main]
async fn main() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app(backend).await else {
            println!("{backend:?}: skipped (set FRONTLINE_TEST_POSTGRES_URL)");
            continue;
        };
        run(&app, &format!("{backend:?}")).await;
    }
}
