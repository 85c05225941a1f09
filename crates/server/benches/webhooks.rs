//! Webhook latency: from a change being committed to its webhook arriving at a receiver on
//! loopback, over 1,000 notifications, on the real server with its delivery worker.
//!
//! `cargo bench -p frontline-server --bench webhooks` (SQLite; also PostgreSQL when
//! `FRONTLINE_TEST_POSTGRES_URL` is set). The change is `POST /api/v1/incidents`; its commit
//! time is the feed entry's `at` (taken just before the commit, so the figure errs long), its
//! arrival the receiver's clock. Two paces: one incident every 10 ms (a busy incident room),
//! and as fast as one client can open them (a queue forms; this shows the worker's throughput).
//! Baseline: the `POST` round trip itself, measured in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use frontline_core::Role;
use frontline_testkit::receiver::Receiver;
use frontline_testkit::{Backend, TestApp, json, spawn_app_with};
use serde_json::json;
use std::time::{Duration, Instant};

const N: usize = 1_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run(app: &TestApp, pace: Option<Duration>, label: &str) {
    let admin = app.token(Role::Admin).await;
    let security = app.token_for("bench", Role::Security).await;
    let receiver = Receiver::listening().await;
    let (status, _) = json(
        app.post_json(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": receiver.url(), "secret": "bench-secret", "events": ["incident.opened"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (clock_instant, clock_utc) = (Instant::now(), Utc::now());
    let mut round_trips = Vec::with_capacity(N);
    let start = Instant::now();
    for i in 0..N {
        let sent = Instant::now();
        let (status, _) = json(
            app.post_json(
                "/api/v1/incidents",
                &security,
                &json!({"title": format!("bench {i}"), "severity": "SEV3"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201);
        round_trips.push(sent.elapsed().as_secs_f64() * 1000.0);
        if let Some(pace) = pace {
            let next = start + pace * (i as u32 + 1);
            tokio::time::sleep_until(next.into()).await;
        }
    }
    let received = receiver.wait_for(N, Duration::from_secs(120)).await;
    assert!(received.len() >= N, "{} of {N} arrived", received.len());
    let mut latencies: Vec<f64> = received
        .iter()
        .map(|r| {
            let body = r.json();
            let at: DateTime<Utc> = body["at"].as_str().unwrap().parse().unwrap();
            let arrived =
                clock_utc + chrono::Duration::from_std(r.at.duration_since(clock_instant)).unwrap();
            (arrived - at).num_microseconds().unwrap() as f64 / 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    round_trips.sort_by(f64::total_cmp);
    let base = percentile(&round_trips, 0.5);
    println!(
        "{label}: commit→arrival p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | POST round trip p50 {base:.1} ms | p50 ratio {:.2}, p99 ratio {:.2}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        percentile(&latencies, 0.5) / base,
        percentile(&latencies, 0.99) / base,
    );
}

#[tokio::main]
async fn main() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for (pace, name) in [
            (Some(Duration::from_millis(10)), "every 10 ms"),
            (None, "back to back"),
        ] {
            // A thousand requests back to back from one token are the point here: the rate
            // limits (100 a second) would answer most of them 429.
            let Some(app) = spawn_app_with(backend, |c| {
                c.limits.token_per_second = 0;
                c.limits.client_per_second = 0;
            })
            .await
            else {
                println!("{backend:?}: skipped (set FRONTLINE_TEST_POSTGRES_URL)");
                break;
            };
            run(&app, pace, &format!("{backend:?}, {name}")).await;
        }
    }
}
