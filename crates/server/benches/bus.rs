//! Intake through the bus (NATS JetStream) against intake straight to the database, in one run.
//!
//! `cargo bench -p frontline-server --bench bus` (release profile; needs `nats-server`, which
//! `bash .ci/run` installs). The same realistic contacts are POSTed as JSON arrays of 1,000 to
//! `/api/v1/contacts` on a real server on SQLite: once without a bus (answered after the
//! commit), once with a bus on a local `nats-server` (answered once JetStream acknowledged;
//! the figure that counts is until the bus's writer has stored the last one). Medians of three
//! rounds, and the bus's figures as ratios of the direct one measured in the same round.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_core::Role;
use frontline_testkit::nats::Nats;
use frontline_testkit::{Backend, TestApp, realistic_contacts, spawn_app_with};
use std::time::{Duration, Instant};

const BATCH: usize = 1_000;
const BATCHES: usize = 20;
const ROUNDS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Posts every body; returns when the last answer came.
async fn post_all(app: &TestApp, token: &str, bodies: &[String], status: u16) -> Instant {
    for body in bodies {
        let res = app.post_raw("/api/v1/contacts", token, body.clone()).await;
        assert_eq!(res.status(), status);
    }
    Instant::now()
}

/// Waits until `n` contacts are stored.
async fn stored(app: &TestApp, n: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let count = app
            .store
            .list_contacts(&frontline_store::ContactQuery {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        // Pages of 1000 from the start: count by paging only when the first page is full.
        let mut total = count.items.len();
        let mut cursor = count.next_cursor;
        while let Some(c) = cursor {
            let page = app
                .store
                .list_contacts(&frontline_store::ContactQuery {
                    limit: 1000,
                    after: Some(c),
                    ..Default::default()
                })
                .await
                .unwrap();
            total += page.items.len();
            cursor = page.next_cursor;
        }
        if total >= n {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "only {total} of {n} stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let (mut direct, mut acked, mut through) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let inputs = realistic_contacts(round as u64, BATCH * BATCHES);
        let bodies: Vec<String> = inputs
            .chunks(BATCH)
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        let n = inputs.len();

        let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
        let token = app.token(Role::Ingest).await;
        let started = Instant::now();
        let done = post_all(&app, &token, &bodies, 200).await;
        direct.push(n as f64 / (done - started).as_secs_f64());

        let Some(nats) = Nats::start() else {
            println!("bus benchmark skipped: nats-server is not installed");
            return;
        };
        let url = nats.url.clone();
        let app = spawn_app_with(Backend::Sqlite, move |c| c.bus.url = Some(url))
            .await
            .unwrap();
        let token = app.token(Role::Ingest).await;
        let started = Instant::now();
        let answered = post_all(&app, &token, &bodies, 202).await;
        let done = stored(&app, n).await;
        acked.push(n as f64 / (answered - started).as_secs_f64());
        through.push(n as f64 / (done - started).as_secs_f64());
    }
    let (d, a, t) = (median(direct), median(acked), median(through));
    println!(
        "bus benchmark: {BATCHES} arrays of {BATCH} realistic contacts, SQLite, one node, local nats-server, median of {ROUNDS} rounds"
    );
    println!("  direct (stored when answered):      {d:>8.0} contacts/s");
    println!(
        "  bus, acknowledged by JetStream:     {a:>8.0} contacts/s   ratio {:.2}",
        a / d
    );
    println!(
        "  bus, stored by the writer:          {t:>8.0} contacts/s   ratio {:.2}",
        t / d
    );
}
