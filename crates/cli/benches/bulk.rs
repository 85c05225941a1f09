//! Bulk NDJSON intake of 1,000,000 contacts, end to end, against the store's own batch insert.
//!
//! `cargo bench -p frontline --bench bulk` (release). Optional: `BULK_CONTACTS=N` for another
//! size; PostgreSQL runs too when `FRONTLINE_TEST_POSTGRES_URL` is set (as `.ci/run` sets it).
//!
//! For each backend, in one run:
//! - baseline: the same contacts, redacted beforehand, written by `Store::insert_contacts` in
//!   batches of 1,000;
//! - end to end: `frontline serve` (this build's binary, its own process) and `frontline
//!   ingest FILE --server URL` as the client, both on this machine: NDJSON streamed over
//!   loopback HTTP, checked, redacted, pseudonymised and committed in batches. The server's
//!   peak memory is its `VmHWM` from /proc when the upload ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_core::audit::Actor;
use frontline_core::contact::{ContactInput, NewContact};
use frontline_pipeline::Intake;
use frontline_pipeline::classify::Taxonomy;
use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_pipeline::redact::Redactor;
use frontline_store::Origin;
use frontline_store_postgres::testing::TestDatabase;
use frontline_testkit::realistic_contacts_iter;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_frontline");

struct Figures {
    backend: &'static str,
    baseline: f64,
    end_to_end: f64,
    peak_mib: f64,
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BULK_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.ndjson");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for c in realistic_contacts_iter(1, n) {
            serde_json::to_writer(&mut out, &c).unwrap();
            out.write_all(b"\n").unwrap();
        }
    }
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "bulk benchmark: {n} contacts, {:.0} MiB of NDJSON",
        size as f64 / 1048576.0
    );

    let mut figures = Vec::new();
    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    figures.push(
        run(
            "sqlite",
            &file,
            n,
            &sqlite("baseline.db"),
            &sqlite("e2e.db"),
        )
        .await,
    );
    let pg_baseline = TestDatabase::create().await;
    let pg_e2e = TestDatabase::create().await;
    if let (Some(a), Some(b)) = (&pg_baseline, &pg_e2e) {
        figures.push(run("postgres", &file, n, &a.url, &b.url).await);
    }
    for f in figures {
        println!(
            "  {:<8}  store batch insert {:>9.0}/s   e2e bulk {:>9.0}/s   ratio {:.2}   server peak RSS {:.0} MiB",
            f.backend,
            f.baseline,
            f.end_to_end,
            f.end_to_end / f.baseline,
            f.peak_mib
        );
    }
}

async fn run(
    backend: &'static str,
    file: &std::path::Path,
    n: usize,
    baseline_url: &str,
    e2e_url: &str,
) -> Figures {
    // Baseline: redact up front (untimed), then time the store's batch insert alone.
    let store = frontline_server::open_store(baseline_url).await.unwrap();
    let pipeline = Intake {
        redactor: Redactor::shared(),
        pseudonyms: PseudonymKey::new(vec![7; 32]),
        taxonomy: std::sync::Arc::new(Taxonomy::default_taxonomy()),
    };
    let redacted: Vec<_> = BufReader::new(std::fs::File::open(file).unwrap())
        .lines()
        .map(|line| {
            let input: ContactInput = serde_json::from_str(&line.unwrap()).unwrap();
            pipeline.prepare(NewContact::try_from(input).unwrap())
        })
        .collect();
    let origin = Origin::new(Actor::System);
    let started = Instant::now();
    for chunk in redacted.chunks(1000) {
        store.insert_contacts(chunk, &origin).await.unwrap();
    }
    let baseline = n as f64 / started.elapsed().as_secs_f64();
    drop(redacted);

    // End to end: the release server in its own process, the CLI as the client.
    let (mut server, addr) = frontline_testkit::process::start_serve(BIN, e2e_url);
    let token = Command::new(BIN)
        .args(["token", "create", "--role", "ingest", "--database", e2e_url])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args([
            "ingest",
            file.to_str().unwrap(),
            "--server",
            &format!("http://{addr}"),
            "--token",
            &token,
        ])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains(&format!("accepted:   {n}")), "{summary}");
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.id())).unwrap_or_default();
    let peak_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let _ = server.kill();
    let _ = server.wait();
    Figures {
        backend,
        baseline,
        end_to_end: n as f64 / elapsed,
        peak_mib: peak_kib / 1024.0,
    }
}
