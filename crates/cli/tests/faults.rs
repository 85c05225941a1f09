//! Crash safety: `frontline serve` killed with SIGKILL in the middle of heavy intake, many times
//! at random moments. Every contact whose request was answered 200 must be in the database
//! after a restart, the SQLite file must pass `PRAGMA integrity_check`, and the audit chain
//! must verify.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::HashSet;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KILLS: usize = 24;

/// A small deterministic generator (the seed is printed, so a failure can be replayed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn frontline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("frontline runs")
}

/// Starts `frontline serve` on `db` and waits for its address.
fn start(db: &str) -> (Child, String) {
    frontline_testkit::process::start_serve(env!("CARGO_BIN_EXE_frontline"), db)
}

fn contact(id: &str) -> Value {
    json!({"id": id, "source": "crash", "channel": "chat", "received_at": "2026-11-25T10:00:00Z",
           "text": format!("I cannot log in ({id}); my card 4111 1111 1111 1111 was charged"),
           "customer": format!("cust-{id}")})
}

/// Sends batches until the server goes away; records the ids of every batch answered 200.
async fn json_sender(url: String, token: String, round: usize, acked: Arc<Mutex<Vec<String>>>) {
    let client = reqwest::Client::new();
    for b in 0.. {
        let ids: Vec<String> = (0..200).map(|i| format!("r{round}-j{b}-{i}")).collect();
        let body: Vec<Value> = ids.iter().map(|id| contact(id)).collect();
        match client
            .post(format!("{url}/api/v1/contacts"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => {
                let summary: Value = r.json().await.unwrap_or_default();
                if summary["accepted"] == 200 {
                    acked.lock().unwrap().extend(ids);
                }
            }
            _ => return,
        }
    }
}

/// Streams NDJSON bodies of 2,500 lines (committed every 1,000 by the server).
async fn bulk_sender(url: String, token: String, round: usize, acked: Arc<Mutex<Vec<String>>>) {
    let client = reqwest::Client::new();
    for b in 0.. {
        let ids: Vec<String> = (0..2500).map(|i| format!("r{round}-b{b}-{i}")).collect();
        let body: String = ids.iter().map(|id| format!("{}\n", contact(id))).collect();
        match client
            .post(format!("{url}/api/v1/contacts/bulk"))
            .bearer_auth(&token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => {
                let summary: Value = r.json().await.unwrap_or_default();
                if summary["accepted"] == 2500 {
                    acked.lock().unwrap().extend(ids);
                }
            }
            _ => return,
        }
    }
}

async fn stored_ids(db: &str) -> HashSet<String> {
    let mut conn = sqlx::SqliteConnection::connect(db).await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT ext_id FROM contacts WHERE source = 'crash'")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    ids.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_heavy_intake_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    let out = frontline(&[
        "token",
        "create",
        "--role",
        "ingest",
        "--name",
        "crash",
        "--database",
        &db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let mut rng = Lcg(seed);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut killed_mid_request = 0;
    for round in 0..KILLS {
        let (mut child, addr) = start(&db);
        let url = format!("http://{addr}");
        let before = acked.lock().unwrap().len();
        let senders = [
            tokio::spawn(json_sender(
                url.clone(),
                token.clone(),
                round,
                acked.clone(),
            )),
            tokio::spawn(json_sender(
                url.clone(),
                token.clone(),
                round + 1000,
                acked.clone(),
            )),
            tokio::spawn(bulk_sender(
                url.clone(),
                token.clone(),
                round,
                acked.clone(),
            )),
        ];
        // A random moment: from right after start to well into the intake.
        tokio::time::sleep(Duration::from_millis(20 + rng.below(700))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for s in senders {
            s.await.unwrap();
        }
        if acked.lock().unwrap().len() > before {
            killed_mid_request += 1;
        }
    }
    // Restart once more: the server must come up on what the kills left.
    let (mut child, addr) = start(&db);
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();

    let acked = acked.lock().unwrap().clone();
    let stored = stored_ids(&db).await;
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    println!(
        "{KILLS} kills in {:.1} s ({killed_mid_request} after some intake was acknowledged); \
         {} contacts acknowledged, {} stored, {} lost",
        started.elapsed().as_secs_f64(),
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {:?}",
        &lost[..lost.len().min(10)]
    );
    assert!(
        !acked.is_empty(),
        "the test acknowledged nothing: it proved nothing"
    );
    assert!(
        killed_mid_request >= KILLS / 2,
        "most kills should land during intake"
    );

    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, ["ok"]);
    conn.close().await.unwrap();
    let out = frontline(&["audit", "verify", "--database", &db]);
    assert!(
        out.status.success(),
        "the audit chain survives: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
