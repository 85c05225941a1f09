//! The helpdesk bridge's two figures, on the real server over loopback.
//!
//! 1. **Webhook verdict latency**: 2,000 signed Zendesk `ticket.comment_added` events (each
//!    a new customer message of a few sentences) posted one after another to
//!    `/api/v1/integrations/zendesk/{name}`; each answer's round trip (signature checked,
//!    deduplicated, stored as a contact, 200). Baseline in the same run, interleaved: the same
//!    text posted as one contact to `POST /api/v1/contacts` (the API's own intake) over the same
//!    client. The bound is p99 under 50 ms.
//! 2. **Fan-out**: one published `customers` statement to 2,000 linked Zendesk tickets, against
//!    a fake Zendesk allowing 40 requests a second, with the write-back's own budget set to 90 %
//!    of that (a share, as in production): the time from the first round to the last ticket
//!    answered, against the least the budget allows (each ticket's link note and reply in jobs
//!    of 100, each job polled until done).
//!
//! `cargo bench -p frontline-server --bench helpdesk` (SQLite; also PostgreSQL when
//! `FRONTLINE_TEST_POSTGRES_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_core::Role;
use frontline_testkit::fake_zendesk::FakeZendesk;
use frontline_testkit::helpdesk::{ZendeskSigning, send, zendesk_comment_added, zendesk_headers};
use frontline_testkit::{Backend, TestApp, json, spawn_app_with};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const EVENTS: usize = 2_000;
const TICKETS: usize = 2_000;
const SECRET: &str = "bench-signing-secret";
/// What the fake Zendesk allows per second.
const FAKE_PER_SECOND: usize = 40;
/// The write-back's own budget per second: a share of the vendor's.
const BUDGET_PER_SECOND: usize = 36;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const TEXTS: [&str; 4] = [
    "Hi, I got a text saying my account is limited and I should verify it at a link. Is that you? I did not click it.",
    "Guten Tag, ich komme seit heute Morgen nicht mehr in mein Konto, das Passwort wird abgelehnt. Bitte helfen Sie mir.",
    "Bonjour, il y a un paiement de 49,90 € que je ne reconnais pas sur ma carte. Pouvez-vous vérifier ?",
    "The app shows an error every time I try to pay, since about ten minutes. Is something down?",
];

async fn verdicts(app: &TestApp, admin: &str, label: &str) {
    let ingest = app.token(Role::Ingest).await;
    let (status, made) = json(
        app.post_json(
            "/api/v1/helpdesks",
            admin,
            &json!({"name": "zd-bench", "kind": "zendesk", "base_url": "http://127.0.0.1:9/",
                    "signing_secret": SECRET,
                    "auth": {"email": "ops@example.com", "api_token": "token"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let url = app.url("/api/v1/integrations/zendesk/zd-bench");
    let mut baseline = Vec::with_capacity(EVENTS);
    let mut verdicts = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        // The baseline interleaved with the events, so both see the same machine.
        let contact = json!({"source": "api-bench", "id": format!("c{i}"), "channel": "email",
                             "received_at": chrono::Utc::now().to_rfc3339(),
                             "customer": format!("{}", 7_000 + i % 500),
                             "text": TEXTS[i % TEXTS.len()]});
        let sent = Instant::now();
        let r = app
            .client
            .post(app.url("/api/v1/contacts"))
            .bearer_auth(&ingest)
            .json(&contact)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.bytes().await.unwrap();
        baseline.push(ms(sent.elapsed()));

        let event = zendesk_comment_added(
            &(50_000 + i / 3).to_string(),
            &(900_000 + i).to_string(),
            &(7_000 + i % 500).to_string(),
            false,
            true,
            TEXTS[i % TEXTS.len()],
        );
        let body = serde_json::to_vec(&event).unwrap();
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let headers = zendesk_headers(SECRET, &timestamp, &body, ZendeskSigning::Right);
        let sent = Instant::now();
        let r = send(&app.client, &url, &headers, body).await;
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        verdicts.push(ms(sent.elapsed()));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "stored", "{answer}");
    }
    verdicts.sort_by(f64::total_cmp);
    baseline.sort_by(f64::total_cmp);
    let base = percentile(&baseline, 0.5);
    println!(
        "{label}, webhook verdicts: {EVENTS} events, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms | POST /api/v1/contacts p50 {base:.2} ms, p99 {:.2} ms | p50 ratio {:.2}, p99 ratio {:.2}",
        percentile(&verdicts, 0.5),
        percentile(&verdicts, 0.99),
        verdicts[verdicts.len() - 1],
        percentile(&baseline, 0.99),
        percentile(&verdicts, 0.5) / base,
        percentile(&verdicts, 0.99) / percentile(&baseline, 0.99),
    );
}

async fn fan_out(app: &TestApp, admin: &str, label: &str) {
    let fake = FakeZendesk::start(
        "ops@example.com",
        "zd-token",
        FAKE_PER_SECOND,
        Duration::from_secs(1),
    )
    .await;
    let (status, made) = json(
        app.post_json(
            "/api/v1/helpdesks",
            admin,
            &json!({"name": "zd", "kind": "zendesk", "base_url": fake.url(),
                    "signing_secret": SECRET,
                    "auth": {"email": "ops@example.com", "api_token": "zd-token"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let ingest = app.token(Role::Ingest).await;
    let security = app.token_for("sec", Role::Security).await;
    let cx = app.token_for("cx", Role::CxLead).await;
    let comms = app.token_for("comms", Role::Comms).await;
    let now = chrono::Utc::now().to_rfc3339();
    let tickets: Vec<String> = (0..TICKETS).map(|i| (10_000 + i).to_string()).collect();
    for chunk in tickets.chunks(500) {
        let contacts: Vec<Value> = chunk
            .iter()
            .map(|t| {
                json!({"source": "zd", "id": format!("{t}:0"), "channel": "ticket",
                            "received_at": now, "text": "I got a text asking for my code"})
            })
            .collect();
        let (status, _) = json(
            app.post_json("/api/v1/contacts", &ingest, &json!(contacts))
                .await,
        )
        .await;
        assert!(status == 200 || status == 201 || status == 207, "{status}");
    }
    let (_, incident) = json(
        app.post_json(
            "/api/v1/incidents",
            &security,
            &json!({"title": "Smishing wave", "severity": "SEV2"}),
        )
        .await,
    )
    .await;
    let incident = incident["id"].as_i64().unwrap();
    for chunk in tickets.chunks(500) {
        let links: Vec<Value> = chunk
            .iter()
            .map(|t| json!({"source": "zd", "id": format!("{t}:0")}))
            .collect();
        let (status, _) = json(
            app.post_json(
                &format!("/api/v1/incidents/{incident}/links"),
                &security,
                &json!({ "contacts": links }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (_, statement) = json(
        app.post_json(
            &format!("/api/v1/incidents/{incident}/statements"),
            &comms,
            &json!({"audience": "customers", "body": "We never ask for your code. Ignore the text."}),
        )
        .await,
    )
    .await;
    let sid = statement["id"].as_i64().unwrap();
    for token in [&security, &cx] {
        let (status, answer) = json(
            app.post_json(
                &format!("/api/v1/statements/{sid}/approve"),
                token,
                &json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = json(
        app.post_json(
            &format!("/api/v1/statements/{sid}/publish"),
            &comms,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let started = Instant::now();
    let mut rounds = 0;
    loop {
        rounds += 1;
        frontline_server::workers::helpdesk::round(&app.state)
            .await
            .unwrap();
        if app
            .store
            .open_helpdesk_writes("zd", 10_000)
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        assert!(rounds < 200, "writes still open after {rounds} rounds");
    }
    let took = started.elapsed();
    for t in &tickets {
        assert_eq!(
            fake.comments(t).len(),
            2,
            "ticket {t}: a link note and the reply"
        );
    }
    let (requests, limited) = fake.requests();
    // The least the budget allows: a job per 100 tickets for each of the two writes, each
    // polled three times before it is done (the fake's queued → working → completed).
    let least = 2 * TICKETS.div_ceil(100) * 4;
    let floor = least as f64 / BUDGET_PER_SECOND as f64;
    println!(
        "{label}, fan-out: {TICKETS} tickets (link note + reply each) in {:.1} s, {rounds} rounds, {requests} requests ({limited} answered 429) | least the budget allows: {least} requests, {floor:.1} s | ratio {:.2}",
        took.as_secs_f64(),
        took.as_secs_f64() / floor,
    );
}

#[tokio::main]
async fn main() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |c| {
            c.limits.token_per_second = 0;
            c.limits.client_per_second = 0;
            c.helpdesks.interval_ms = 0;
            c.helpdesks.verify_after_ms = 0;
            c.helpdesks.requests_per_minute = (BUDGET_PER_SECOND * 60) as u32;
        })
        .await
        else {
            println!("{backend:?}: skipped (set FRONTLINE_TEST_POSTGRES_URL)");
            break;
        };
        let admin = app.token(Role::Admin).await;
        verdicts(&app, &admin, &format!("{backend:?}")).await;
        fan_out(&app, &admin, &format!("{backend:?}")).await;
    }
}
