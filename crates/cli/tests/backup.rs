//! `frontline backup` and `frontline restore` on SQLite: a copy taken while contacts keep
//! arriving restores to exactly what its manifest says with the audit chain intact; a restore
//! over an installation that erased a customer after the backup does not bring that customer
//! back, nor one that erased a person; a damaged, foreign or tampered backup and a non-empty target without `--force` are
//! refused, with the target left as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Connection;
use std::path::Path;
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

/// `n` contacts from `prefix`, customers `cust-0` … `cust-9` in turn.
fn contacts(path: &Path, prefix: &str, n: usize) {
    let now = chrono::Utc::now().to_rfc3339();
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({"source": "zendesk", "id": format!("{prefix}-{i}"),
                "channel": "ticket", "received_at": now, "customer": format!("cust-{}", i % 10),
                "text": format!("my card was charged twice, order {i}")})
            .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n")).unwrap();
}

fn ingest(file: &Path, db: &str) {
    let out = frontline(&["ingest", file.to_str().unwrap(), "--database", db]);
    assert!(out.status.success(), "{}", text(&out));
}

/// `frontline backup` of `db` to `out`.
fn backup_to(db: &str, out: &Path) -> Output {
    frontline(&["backup", "--database", db, "--out", out.to_str().unwrap()])
}

/// A live database of `n` contacts in `dir` and a backup of it: (database URL, backup file).
fn backed_up(dir: &Path, n: usize) -> (String, std::path::PathBuf) {
    let db = format!("sqlite://{}", dir.join("live.db").display());
    let file = dir.join("c.ndjson");
    contacts(&file, "c", n);
    ingest(&file, &db);
    let backup = dir.join("b.backup");
    let out = backup_to(&db, &backup);
    assert!(out.status.success(), "{}", text(&out));
    (db, backup)
}

async fn count(db: &str, sql: &str) -> i64 {
    let mut conn = sqlx::SqliteConnection::connect(db).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test]
async fn a_copy_taken_during_intake_restores_to_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("live.db").display());
    let first = dir.path().join("first.ndjson");
    contacts(&first, "a", 3000);
    ingest(&first, &db);
    // Intake goes on while the copy is taken.
    let more: Vec<_> = (0..4)
        .map(|k| {
            let file = dir.path().join(format!("more{k}.ndjson"));
            contacts(&file, &format!("m{k}"), 2000);
            file
        })
        .collect();
    let writer_db = db.clone();
    let writer = std::thread::spawn(move || {
        for file in more {
            ingest(&file, &writer_db);
        }
    });
    let backup = dir.path().join("frontline.backup");
    let out = backup_to(&db, &backup);
    assert!(out.status.success(), "{}", text(&out));
    writer.join().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the manifest on stdout");
    let copied = manifest["rows"]["contacts"].as_i64().unwrap();
    assert!((3000..=11_000).contains(&copied), "{manifest}");
    assert!(manifest["audit_head"].as_i64().unwrap() >= 1, "{manifest}");

    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &restored,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit log intact"), "{}", text(&out));
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM contacts").await,
        copied
    );
    let (seq, hash): (i64, String) = {
        let mut conn = sqlx::SqliteConnection::connect(&restored).await.unwrap();
        let row = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        row
    };
    assert_eq!(seq, manifest["audit_head"].as_i64().unwrap());
    assert_eq!(hash, manifest["audit_hash"].as_str().unwrap());
    let out = frontline(&["audit", "verify", "--database", &restored]);
    assert!(out.status.success(), "{}", text(&out));
    // The live database has everything, the copy one moment of it.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 11_000);
}

#[tokio::test]
async fn a_restore_does_not_bring_an_erased_customer_back() {
    let dir = tempfile::tempdir().unwrap();
    let (db, backup) = backed_up(dir.path(), 100);
    let out = frontline(&["erase", "--customer", "cust-3", "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 90);

    // Without --force the installation is kept as it is.
    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &db,
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 90);

    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &db,
        "--force",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 erasures made since the backup applied again"),
        "{}",
        text(&out)
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM contacts").await,
        90,
        "cust-3's ten contacts stay erased, the others are back"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM erasures").await, 1);
    let out = frontline(&["audit", "verify", "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));

    // Where the old installation is gone, its ledger (as `GET /api/v1/erasures` lists it)
    // does the same.
    let pseudonym: String = {
        let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
        let (p,) = sqlx::query_as("SELECT pseudonym FROM erasures")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        p
    };
    let ledger = dir.path().join("ledger.ndjson");
    std::fs::write(
        &ledger,
        format!("{}\n", serde_json::json!({"id": 1, "pseudonym": pseudonym})),
    )
    .unwrap();
    let elsewhere = format!("sqlite://{}", dir.path().join("elsewhere.db").display());
    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &elsewhere,
        "--erasures",
        ledger.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(&elsewhere, "SELECT COUNT(*) FROM contacts").await, 90);
    std::fs::write(&ledger, "{\"id\": 1}\n").unwrap();
    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &format!("sqlite://{}", dir.path().join("third.db").display()),
        "--erasures",
        ledger.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--erasures: line 1: no \"pseudonym\""),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn a_restore_does_not_bring_an_erased_person_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("live.db").display());
    // Intake makes the pseudonym key, which the backup carries and the erasure uses.
    let file = dir.path().join("c.ndjson");
    contacts(&file, "c", 10);
    ingest(&file, &db);
    for name in ["bob", "alice"] {
        let out = frontline(&[
            "token",
            "create",
            "--name",
            name,
            "--role",
            "security",
            "--database",
            &db,
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let backup = dir.path().join("b.backup");
    let out = backup_to(&db, &backup);
    assert!(out.status.success(), "{}", text(&out));
    let out = frontline(&["erase", "--user", "bob", "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));
    let named = "SELECT (SELECT COUNT(*) FROM users WHERE name = 'bob')
        + (SELECT COUNT(*) FROM audit_log WHERE actor = 'user:bob' OR target = 'user:bob')";
    assert_eq!(count(&db, named).await, 0);

    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &db,
        "--force",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(count(&db, named).await, 0, "bob stays erased");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM users WHERE name = 'alice'").await,
        1,
        "alice is back"
    );
    let out = frontline(&["audit", "verify", "--database", &db]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("personal field"), "{}", text(&out));
}

#[tokio::test]
async fn damaged_foreign_and_tampered_backups_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, backup) = backed_up(dir.path(), 500);
    let target = dir.path().join("target.db");
    let target_url = format!("sqlite://{}", target.display());
    let restore = |from: &Path| {
        frontline(&[
            "restore",
            "--from",
            from.to_str().unwrap(),
            "--database",
            &target_url,
        ])
    };

    let whole = std::fs::read(&backup).unwrap();
    let truncated = dir.path().join("truncated.backup");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let out = restore(&truncated);
    assert!(!out.status.success(), "{}", text(&out));

    // A database that is not a backup: no manifest.
    let foreign = dir.path().join("live.db");
    let out = restore(&foreign);
    assert!(!out.status.success());
    assert!(text(&out).contains("no manifest"), "{}", text(&out));

    // Rows removed after the manifest was written: the counts no longer match.
    let tampered = dir.path().join("tampered.backup");
    std::fs::copy(&backup, &tampered).unwrap();
    {
        let url = format!("sqlite://{}", tampered.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM contacts WHERE ext_id = 'c-7'")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let out = restore(&tampered);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("table contacts holds 499 rows, its manifest says 500"),
        "{}",
        text(&out)
    );
    assert!(!target.exists(), "nothing was written to the target");

    // A file that is not a Frontline database is not replaced without --force.
    let other = dir.path().join("other.db");
    {
        let url = format!("sqlite://{}?mode=rwc", other.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE notes (body TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &format!("sqlite://{}", other.display()),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a Frontline database; --force replaces it"),
        "{}",
        text(&out)
    );

    // A backup from a newer Frontline.
    let newer = dir.path().join("newer.backup");
    std::fs::copy(&backup, &newer).unwrap();
    {
        let url = format!("sqlite://{}", newer.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE backup_manifest SET manifest = json_set(manifest, '$.schema', 9999)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let out = restore(&newer);
    assert!(!out.status.success());
    assert!(text(&out).contains("newer Frontline"), "{}", text(&out));
    assert!(!target.exists());

    // A PostgreSQL installation that cannot be reached: named, and nothing written.
    let out = backup_to(
        "postgres://nobody:secret@127.0.0.1:1/x",
        &dir.path().join("pg.backup"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--database: opening postgres://nobody:…@127.0.0.1:1/x"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("secret"), "{}", text(&out));
    assert!(!dir.path().join("pg.backup").exists());
    assert!(!dir.path().join("pg.backup.partial").exists());
}
