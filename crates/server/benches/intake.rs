//! Intake throughput, end to end against the store's own batch insert, in one run.
//!
//! `cargo bench -p frontline-server --bench intake` (release profile). Three figures:
//! - baseline: already-redacted rows written by `Store::insert_contacts` in batches of 1,000;
//! - end to end: the same contacts POSTed as JSON arrays of 1,000 to `/api/v1/contacts` on the
//!   real server (loopback HTTP, auth, parse, check, redact, pseudonymise, store, answer);
//! - redaction alone, in MB/s of text.
//!
//! Each figure is the median of several rounds, and the end-to-end one is also given as a
//! ratio of the baseline measured in the same run, since the machines are shared and noisy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_core::Role;
use frontline_core::audit::Actor;
use frontline_core::contact::{ContactInput, NewContact};
use frontline_pipeline::Intake;
use frontline_pipeline::classify::Taxonomy;
use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_pipeline::redact::Redactor;
use frontline_store::{Origin, Store};
use frontline_testkit::{Backend, realistic_contacts, spawn_app};
use std::time::Instant;

const BATCH: usize = 1_000;
const BATCHES: usize = 20;
const ROUNDS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let redactor = Redactor::shared();
    let pipeline = Intake {
        redactor,
        pseudonyms: PseudonymKey::new(vec![7; 32]),
        taxonomy: std::sync::Arc::new(Taxonomy::default_taxonomy()),
    };
    let origin = Origin::new(Actor::System);
    let mut baseline = Vec::new();
    let mut end_to_end = Vec::new();
    let mut redaction = Vec::new();

    for round in 0..ROUNDS {
        let inputs = realistic_contacts(round as u64, BATCH * BATCHES);
        let text_bytes: usize = inputs
            .iter()
            .map(|c| c["text"].as_str().unwrap().len())
            .sum();

        // Baseline: the store's own batch insert of rows redacted beforehand.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = frontline_server::open_store(&url).await.unwrap();
        let redacted: Vec<_> = inputs
            .iter()
            .map(|v| {
                let input: ContactInput = serde_json::from_value(v.clone()).unwrap();
                pipeline.prepare(NewContact::try_from(input).unwrap())
            })
            .collect();
        let started = Instant::now();
        for chunk in redacted.chunks(BATCH) {
            store.insert_contacts(chunk, &origin).await.unwrap();
        }
        baseline.push(redacted.len() as f64 / started.elapsed().as_secs_f64());

        // Redaction alone.
        let texts: Vec<&str> = inputs.iter().map(|c| c["text"].as_str().unwrap()).collect();
        let started = Instant::now();
        let mut placeholders = 0;
        for t in &texts {
            placeholders += redactor.redact(t).findings.len();
        }
        redaction.push(text_bytes as f64 / started.elapsed().as_secs_f64() / 1e6);
        assert!(
            placeholders >= texts.len(),
            "every text carries personal data"
        );

        // End to end over HTTP.
        let app = spawn_app(Backend::Sqlite)
            .await
            .expect("sqlite is always available");
        let token = app.token(Role::Ingest).await;
        let bodies: Vec<String> = inputs
            .chunks(BATCH)
            .map(|c| serde_json::to_string(c).unwrap())
            .collect();
        let started = Instant::now();
        for body in bodies {
            let res = app.post_raw("/api/v1/contacts", &token, body).await;
            assert_eq!(res.status(), 200);
        }
        end_to_end.push(inputs.len() as f64 / started.elapsed().as_secs_f64());
        let stored: Store2 = app.store.clone();
        let page = stored
            .list_contacts(&frontline_store::ContactQuery {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
    }

    let (b, e, r) = (median(baseline), median(end_to_end), median(redaction));
    println!(
        "intake benchmark: {BATCHES} batches of {BATCH} contacts (~200-byte texts with PII), SQLite, median of {ROUNDS} rounds"
    );
    println!("  store batch insert (baseline): {b:>10.0} contacts/s");
    println!(
        "  POST /api/v1/contacts (e2e):   {e:>10.0} contacts/s   ratio e2e/baseline = {:.2}",
        e / b
    );
    println!("  redaction alone:               {r:>10.1} MB/s of text");
}

type Store2 = std::sync::Arc<dyn Store>;
