//! PostgreSQL stopped and started under load, on a cluster of its own (`.ci/run` creates it
//! and says where in `FRONTLINE_TEST_PG_RESTART="VERSION CLUSTER PORT"`), so no other test sees
//! the outage. While it is down requests fail cleanly (503, within seconds); the server
//! recovers by itself; nothing acknowledged is lost.

use frontline_core::Role;
use frontline_testkit::{Backend, contact_json, json, spawn_app_with};
use sqlx::Connection;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn pg_ctl(version: &str, cluster: &str, action: &str) {
    let mut args = vec![
        "-u",
        "postgres",
        "--",
        "pg_ctlcluster",
        version,
        cluster,
        action,
    ];
    if action == "stop" {
        args.extend(["-m", "fast"]);
    }
    let out = Command::new("runuser").args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "pg_ctlcluster {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_costs_503s_and_loses_nothing() {
    let Ok(spec) = std::env::var("FRONTLINE_TEST_PG_RESTART") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "FRONTLINE_TEST_PG_RESTART must be set in CI (.ci/run sets it)"
        );
        eprintln!("skipped: set FRONTLINE_TEST_PG_RESTART=\"VERSION CLUSTER PORT\" (see .ci/run)");
        return;
    };
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let [version, cluster, port] = parts[..] else {
        panic!("FRONTLINE_TEST_PG_RESTART={spec:?} is not \"VERSION CLUSTER PORT\"");
    };
    let admin_url = format!("postgres://frontline_test:frontline_test@127.0.0.1:{port}/postgres");
    let name = format!("frontline_restart_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let url = format!("postgres://frontline_test:frontline_test@127.0.0.1:{port}/{name}");
    let db = url.clone();
    let app = spawn_app_with(Backend::Sqlite, move |c| c.database = db)
        .await
        .unwrap();
    let token = app.token(Role::Ingest).await;

    // Load: batches one after another; each answer is recorded with how long it took.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let answers = Arc::new(Mutex::new(Vec::<(Instant, u16, Duration)>::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let sender = {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/v1/contacts"),
            token.clone(),
        );
        let (acked, answers, stop) = (acked.clone(), answers.clone(), stop.clone());
        tokio::spawn(async move {
            for b in 0.. {
                if stop.is_cancelled() {
                    return;
                }
                let ids: Vec<String> = (0..20).map(|i| format!("pg{b}-{i}")).collect();
                let batch: Vec<_> = ids
                    .iter()
                    .map(|id| contact_json("restart", id, "2026-11-25T10:00:00Z"))
                    .collect();
                let sent = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&batch)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap();
                if status == 200 {
                    assert_eq!(body["accepted"], 20, "{body}");
                    acked.lock().unwrap().extend(ids);
                } else {
                    assert_eq!(status, 503, "a clean refusal, not {status}: {body}");
                    assert_eq!(body["error"]["code"], "unavailable", "{body}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                answers.lock().unwrap().push((sent, status, sent.elapsed()));
            }
        })
    };
    let wait_for = |n: usize| {
        let acked = acked.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.lock().unwrap().len() < n {
                assert!(Instant::now() < deadline, "intake stalled");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(200).await;
    let down = Instant::now();
    pg_ctl(version, cluster, "stop");
    // Down longer than a request waits for a connection (5 s): the server answers, health
    // included, and refuses intake with 503.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let before_start = acked.lock().unwrap().len();
    let up = Instant::now();
    pg_ctl(version, cluster, "start");
    // Back: intake resumes by itself.
    wait_for(before_start + 200).await;
    let recovered = up.elapsed();
    stop.cancel();
    sender.await.unwrap();

    let answers = answers.lock().unwrap().clone();
    let refused: Vec<_> = answers.iter().filter(|(_, s, _)| *s == 503).collect();
    assert!(!refused.is_empty(), "the outage was seen");
    assert!(
        refused.iter().all(|(at, _, _)| *at >= down && *at < up),
        "refusals only while the database was down"
    );
    let slowest = refused.iter().map(|(_, _, d)| *d).max().unwrap();
    assert!(
        slowest < Duration::from_secs(8),
        "a refusal took {slowest:?}"
    );
    let acked = acked.lock().unwrap().clone();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT ext_id FROM contacts WHERE source = 'restart'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    let stored: std::collections::HashSet<String> = stored.into_iter().collect();
    let lost = acked.iter().filter(|id| !stored.contains(*id)).count();
    println!(
        "down {:.1} s; {} refusals (503, slowest {slowest:?}); intake back {recovered:?} after the start; {} acknowledged, {lost} lost",
        (up - down).as_secs_f64(),
        refused.len(),
        acked.len()
    );
    assert_eq!(lost, 0);
    let (status, _) = json(app.get("/api/v1/me", &app.token(Role::Viewer).await).await).await;
    assert_eq!(status, 200);
    drop(app);
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
}
