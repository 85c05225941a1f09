//! The data lifecycle at the command line. `frontline retention run`: a dry run counts and
//! changes nothing; a run removes exactly what is past its window (a 200-day-old contact
//! entirely, a 100-day-old one's text), keeps the rest, records its counts in the audit log,
//! and leaves the chain intact. `frontline erase`: one customer's contacts go, no one else's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Connection;
use std::process::{Command, Output};

fn frontline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("frontline runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn rows(db: &str) -> Vec<(String, String)> {
    let mut conn = sqlx::SqliteConnection::connect(db).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT ext_id, text FROM contacts ORDER BY ext_id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test]
async fn a_run_removes_what_is_past_its_window_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let file = dir.path().join("contacts.ndjson");
    let now = chrono::Utc::now();
    let lines: Vec<String> = [("old", 200), ("aging", 100), ("fresh", 10)]
        .iter()
        .map(|(id, days)| {
            serde_json::json!({"source": "zendesk", "id": id, "channel": "ticket",
                "received_at": (now - chrono::Duration::days(*days)).to_rfc3339(),
                "text": format!("my card was charged twice ({id})")})
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = frontline(&["ingest", file.to_str().unwrap(), "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));

    // Windows as configured: text 90 days, contacts 180.
    let config = dir.path().join("frontline.toml");
    std::fs::write(
        &config,
        "[retention]\ncontact_text_days = 90\ncontacts_days = 180\n",
    )
    .unwrap();
    let run = |dry: bool| {
        let mut args = vec!["--config", config.to_str().unwrap(), "retention", "run"];
        if dry {
            args.push("--dry-run");
        }
        args.extend(["--database", &db]);
        frontline(&args)
    };
    let before = rows(&db).await;
    let out = run(true);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("would remove        2 contact texts"),
        "{said}"
    );
    assert!(said.contains("would remove        1 contacts"), "{said}");
    assert_eq!(rows(&db).await, before, "a dry run changes nothing");

    let out = run(false);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("removed        1 contacts (older than 180 days)"),
        "{said}"
    );
    let after = rows(&db).await;
    let ids: Vec<&str> = after.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["aging", "fresh"]);
    assert_eq!(after[0].1, "", "the 100-day-old contact's text is gone");
    assert!(
        after[1].1.contains("charged twice"),
        "the recent one is whole"
    );

    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'retention.run' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["removed"]["contacts"], 1, "{detail}");
    assert!(
        !detail.to_string().contains("charged"),
        "counts, never contents"
    );
    let out = frontline(&["audit", "verify", "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));
    // Run again: nothing left.
    let out = run(false);
    assert!(
        text(&out).contains("removed        0 contacts"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn erase_removes_one_customer_and_prints_the_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let file = dir.path().join("contacts.ndjson");
    let now = chrono::Utc::now().to_rfc3339();
    let lines: Vec<String> = [("a1", "alice@example.com"), ("b1", "bob@example.com")]
        .iter()
        .map(|(id, customer)| {
            serde_json::json!({"source": "zendesk", "id": id, "channel": "ticket",
                "received_at": now, "customer": customer, "text": "locked out"})
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = frontline(&["ingest", file.to_str().unwrap(), "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));
    let out = frontline(&[
        "erase",
        "--customer",
        "alice@example.com",
        "--database",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 contacts removed"), "{}", text(&out));
    let ids: Vec<String> = rows(&db).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["b1"]);
    let out = frontline(&["erase", "--customer", " ", "--database", &db]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--customer"), "{}", text(&out));
    let out = frontline(&["audit", "verify", "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));
}
