//! Insights on a big incident: 20,000 contacts on the topic of its alert over six hours, 50
//! linked directly, a published statement; and the trends over 100 incidents.
//!
//! `cargo bench -p frontline-server --bench insights` (SQLite; also PostgreSQL when
//! `FRONTLINE_TEST_POSTGRES_URL` is set). Baseline, in the same run: reading the incident's
//! contacts through `Store::list_contacts` by topic and window (the one read the metrics cannot
//! avoid). Measured over HTTP on the real server: `GET /api/v1/incidents/{id}/metrics`,
//! `GET .../review.md`, `GET /api/v1/trends`. Medians of 15 rounds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use frontline_core::Role;
use frontline_core::alert::{AlertKind, DetectedAlert, Evidence};
use frontline_core::audit::Actor;
use frontline_core::contact::{Channel, ContactKey, RedactedContact};
use frontline_store::{ContactQuery, Origin};
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use serde_json::json;
use std::time::Instant;

const CONTACTS: usize = 20_000;
const ROUNDS: usize = 15;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn time_get(app: &TestApp, path: &str, token: &str) -> f64 {
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = app.get(path, token).await;
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    median(times)
}

async fn run(app: &TestApp, label: &str) {
    let sam = app.token_for("sam", Role::Security).await;
    let carla = app.token_for("carla", Role::CxLead).await;
    let cora = app.token_for("cora", Role::Comms).await;
    let start = Utc::now() - Duration::hours(6);
    let origin = Origin::new(Actor::System);
    let channels = [
        Channel::Email,
        Channel::Chat,
        Channel::Ticket,
        Channel::Call,
    ];
    for chunk in 0..CONTACTS / 1000 {
        let batch: Vec<RedactedContact> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                RedactedContact {
                    key: ContactKey {
                        source: "zendesk".into(),
                        id: format!("c{n}"),
                    },
                    channel: channels[n % 4],
                    received_at: start + Duration::milliseconds((n as i64) * 1080),
                    text: "Got a text saying my account is suspended with a link".into(),
                    customer: Some(format!("{:032x}", n % 9000)),
                    service: Some("web".into()),
                    region: None,
                    language: Some("en".into()),
                    metadata: None,
                    topics: if n % 3 == 0 {
                        vec!["phishing".into(), "account_access".into()]
                    } else {
                        vec!["phishing".into()]
                    },
                }
            })
            .collect();
        app.store.insert_contacts(&batch, &origin).await.unwrap();
    }
    app.store
        .upsert_alerts(&[DetectedAlert {
            alert_id: "wave".into(),
            kind: AlertKind::Spike,
            topic: Some("phishing".into()),
            service: None,
            channel: None,
            started_at: start,
            raised_at: start + Duration::minutes(5),
            observed: 500,
            customers: 480,
            expected: 3.0,
            score: 0.99,
            evidence: (0..20)
                .map(|n| Evidence {
                    source: "zendesk".into(),
                    id: format!("c{n}"),
                })
                .collect(),
            text: None,
            language: None,
            group_id: None,
        }])
        .await
        .unwrap();
    let contacts: Vec<serde_json::Value> = (0..50)
        .map(|n| json!({"source": "zendesk", "id": format!("c{}", n * 97)}))
        .collect();
    let (status, incident) = json(
        app.post_json(
            "/api/v1/incidents",
            &sam,
            &json!({"title": "Phishing wave", "severity": "SEV1", "services": ["web"],
                    "links": {"alerts": ["wave"], "contacts": contacts}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let (_, s) = json(
        app.post_json(
            &format!("/api/v1/incidents/{id}/statements"),
            &cora,
            &json!({"audience": "public", "body": "We are on it."}),
        )
        .await,
    )
    .await;
    let sid = s["id"].as_i64().unwrap();
    for t in [&sam, &carla] {
        app.post_json(&format!("/api/v1/statements/{sid}/approve"), t, &json!({}))
            .await;
    }
    app.post_json(
        &format!("/api/v1/statements/{sid}/publish"),
        &cora,
        &json!({}),
    )
    .await;
    for i in 0..99 {
        app.post_json(
            "/api/v1/incidents",
            &sam,
            &json!({"title": format!("other {i}"), "severity": "SEV3", "services": [format!("svc{}", i % 7)]}),
        )
        .await;
    }

    let mut base = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let mut q = ContactQuery {
            since: Some(start - Duration::hours(1)),
            until: Some(Utc::now() + Duration::hours(1)),
            topic: Some("phishing".into()),
            limit: 1000,
            ..ContactQuery::default()
        };
        let mut n = 0;
        loop {
            let page = app.store.list_contacts(&q).await.unwrap();
            n += page.items.len();
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        assert_eq!(n, CONTACTS);
        base.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let base = median(base);
    let metrics = time_get(app, &format!("/api/v1/incidents/{id}/metrics"), &sam).await;
    let review = time_get(app, &format!("/api/v1/incidents/{id}/review.md"), &sam).await;
    let trends = time_get(app, "/api/v1/trends?months=1", &sam).await;
    let (_, m) = json(
        app.get(&format!("/api/v1/incidents/{id}/metrics"), &sam)
            .await,
    )
    .await;
    assert_eq!(
        m["impact"]["contacts"], CONTACTS,
        "{}",
        m["impact"]["contacts"]
    );
    println!(
        "{label}: read {CONTACTS} contacts {base:.1} ms | metrics {metrics:.1} ms ({:.2}×) | review.md {review:.1} ms ({:.2}×) | trends over 100 incidents {trends:.1} ms",
        metrics / base,
        review / base,
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
