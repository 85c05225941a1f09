//! Moving an installation: `frontline migrate` copies a SQLite installation that served
//! (contacts, an incident, people, tokens, an audit chain) into PostgreSQL, which then serves
//! it as before (the old token works, the chain verifies to the same head, numbering goes
//! on); a target holding data is refused unless `--resume`, which finishes a migration that
//! stopped half-way. `frontline export` and `import` carry the same data through a directory,
//! and a damaged or unfinished export is refused before anything is written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_store::portable::TABLES;
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

fn ok(args: &[&str]) -> String {
    let out = frontline(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    text(&out)
}

/// A SQLite installation that has served: `n` contacts ingested, a token per role, an
/// incident opened and contacts posted through the API. Its URL and the security token.
async fn installation(dir: &Path, n: usize) -> (String, String) {
    let db = format!("sqlite://{}", dir.join("live.db").display());
    let now = chrono::Utc::now().to_rfc3339();
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({"source": "zendesk", "id": format!("z-{i}"), "channel": "ticket",
                "received_at": now, "customer": format!("cust-{}", i % 7),
                "text": format!("«Konto» gesperrt? order {i} \"quoted\" \\ 🙂")})
            .to_string()
        })
        .collect();
    let file = dir.join("c.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    ok(&["ingest", file.to_str().unwrap(), "--database", &db]);
    let token = ok(&["token", "create", "--role", "security", "--database", &db])
        .trim()
        .to_owned();
    ok(&[
        "user",
        "add",
        "carla",
        "--role",
        "cx_lead",
        "--database",
        &db,
    ]);
    let (mut child, addr) =
        frontline_testkit::process::start_serve(env!("CARGO_BIN_EXE_frontline"), &db);
    let client = reqwest::Client::new();
    let opened = client
        .post(format!("http://{addr}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Phishing wave", "severity": "SEV2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 201);
    let _ = child.kill();
    let _ = child.wait();
    (db, token)
}

async fn pg_count(url: &str, sql: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    n
}

fn audit_head(out: &str) -> String {
    out.split("head ").nth(1).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_sqlite_installation_moves_to_postgres_and_serves_as_before() {
    let Some(pg) = frontline_store_postgres::testing::TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (db, token) = installation(dir.path(), 3000).await;
    let head = audit_head(&ok(&["audit", "verify", "--database", &db]));

    let out = ok(&["migrate", "--from", &db, "--to", &pg.url]);
    assert!(
        out.contains("every table's rows and SHA-256 equal on both sides"),
        "{out}"
    );
    assert!(out.contains("Cut-over"), "{out}");
    assert_eq!(
        pg_count(&pg.url, "SELECT COUNT(*) FROM contacts").await,
        3000
    );

    // A second run into the same target is refused, naming what it holds.
    let out = frontline(&["migrate", "--from", &db, "--to", &pg.url]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not empty (table"), "{}", text(&out));
    assert!(text(&out).contains("--resume"), "{}", text(&out));

    // As if it had stopped half-way through the contacts: the tables after them empty, half
    // of them gone. --resume finishes it and proves it whole.
    {
        let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
        let at = TABLES.iter().position(|t| t.name == "contacts").unwrap();
        for table in TABLES[at + 1..].iter().rev() {
            sqlx::query(&format!("DELETE FROM \"{}\"", table.name))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM contacts WHERE seq > 1500")
            .execute(&mut conn)
            .await
            .unwrap();
        // The mark a migration leaves until it is verified.
        sqlx::query("INSERT INTO import_state VALUES (1, 'sqlite://live.db', now())")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    // A half-copied installation is not served.
    let out = frontline(&["serve", "--listen", "127.0.0.1:0", "--database", &pg.url]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("that did not finish") && text(&out).contains("--resume"),
        "{}",
        text(&out)
    );
    let out = ok(&["migrate", "--from", &db, "--to", &pg.url, "--resume"]);
    assert!(out.contains("equal on both sides"), "{out}");
    assert_eq!(
        pg_count(&pg.url, "SELECT COUNT(*) FROM contacts").await,
        3000
    );

    // The chain ends on the same hash; the old token works; numbering goes on.
    let verified = ok(&["audit", "verify", "--database", &pg.url]);
    assert_eq!(audit_head(&verified), head);
    let (mut child, addr) =
        frontline_testkit::process::start_serve(env!("CARGO_BIN_EXE_frontline"), &pg.url);
    let client = reqwest::Client::new();
    let listed: serde_json::Value = client
        .get(format!("http://{addr}/api/v1/incidents"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["title"], "Phishing wave");
    let old_id = items[0]["id"].as_i64().unwrap();
    let opened: serde_json::Value = client
        .post(format!("http://{addr}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "After the move", "severity": "SEV4"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(opened["id"].as_i64().unwrap() > old_id, "{opened}");
    let contact = client
        .get(format!("http://{addr}/api/v1/contacts/zendesk/z-7"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(contact.status(), 200);
    let contact: serde_json::Value = contact.json().await.unwrap();
    assert!(
        contact["text"]
            .as_str()
            .unwrap()
            .contains("\"quoted\" \\ 🙂"),
        "{contact}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn an_export_imports_into_an_empty_database_and_a_damaged_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = installation(dir.path(), 500).await;
    let head = audit_head(&ok(&["audit", "verify", "--database", &db]));
    let export = dir.path().join("export");
    let out = ok(&[
        "export",
        "--database",
        &db,
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(out.contains("exported"), "{out}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(export.join("manifest.json")).unwrap())
            .unwrap();
    let contacts = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "contacts")
        .unwrap();
    assert_eq!(contacts["rows"], 500);

    let copy = format!("sqlite://{}", dir.path().join("copy.db").display());
    let out = ok(&[
        "import",
        "--in",
        export.to_str().unwrap(),
        "--database",
        &copy,
    ]);
    assert!(out.contains("every table reads back as exported"), "{out}");
    assert_eq!(
        audit_head(&ok(&["audit", "verify", "--database", &copy])),
        head
    );
    // Into a database that holds data: refused, naming the table.
    let out = frontline(&[
        "import",
        "--in",
        export.to_str().unwrap(),
        "--database",
        &copy,
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not empty (table"), "{}", text(&out));
    // Into a directory that is not empty: refused.
    let out = frontline(&[
        "export",
        "--database",
        &db,
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is not empty"), "{}", text(&out));

    // One character changed in one file: refused before anything is written.
    let file = export.join("contacts.ndjson");
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, original.replacen("order 1", "order 9", 1)).unwrap();
    let target = dir.path().join("never.db");
    let url = format!("sqlite://{}", target.display());
    let out = frontline(&[
        "import",
        "--in",
        export.to_str().unwrap(),
        "--database",
        &url,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("contacts.ndjson holds 500 rows")
            && text(&out).contains("damaged or edited"),
        "{}",
        text(&out)
    );
    assert!(!target.exists(), "nothing written");
    // An export that did not finish (no manifest): refused.
    std::fs::write(&file, original).unwrap();
    std::fs::remove_file(export.join("manifest.json")).unwrap();
    let out = frontline(&[
        "import",
        "--in",
        export.to_str().unwrap(),
        "--database",
        &url,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("has no manifest.json"),
        "{}",
        text(&out)
    );
    assert!(!target.exists(), "nothing written");
    // A source that does not exist is not created empty.
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let out = frontline(&["export", "--database", &missing, "--out", "/tmp/never"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
}

#[tokio::test]
async fn a_postgres_backup_taken_during_intake_restores_without_customers_erased_since() {
    let Some(pg) = frontline_store_postgres::testing::TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, _) = installation(dir.path(), 700).await;
    ok(&["migrate", "--from", &sqlite, "--to", &pg.url]);
    ok(&[
        "token",
        "create",
        "--name",
        "bob",
        "--role",
        "security",
        "--database",
        &pg.url,
    ]);
    // More contacts arrive while the backup is taken: it is one moment of them.
    let more = dir.path().join("more.ndjson");
    let now = chrono::Utc::now().to_rfc3339();
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            serde_json::json!({"source": "chat", "id": format!("m-{i}"), "channel": "chat",
                "received_at": now, "customer": "someone-else", "text": "app crashes on start"})
            .to_string()
        })
        .collect();
    std::fs::write(&more, lines.join("\n")).unwrap();
    let writer = {
        let (more, url) = (more.clone(), pg.url.clone());
        std::thread::spawn(move || ok(&["ingest", more.to_str().unwrap(), "--database", &url]))
    };
    let backup = dir.path().join("pg.backup");
    let out = ok(&[
        "backup",
        "--database",
        &pg.url,
        "--out",
        backup.to_str().unwrap(),
    ]);
    assert!(out.contains("read back whole"), "{out}");
    writer.join().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(backup.join("manifest.json")).unwrap())
            .unwrap();
    let at_backup = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "contacts")
        .unwrap()["rows"]
        .as_i64()
        .unwrap();
    assert!((700..=3700).contains(&at_backup), "{at_backup}");

    // cust-3 (100 of the first 700 contacts) asks to be erased after the backup, and so
    // does bob, who used Frontline.
    ok(&["erase", "--customer", "cust-3", "--database", &pg.url]);
    ok(&["erase", "--user", "bob", "--database", &pg.url]);
    let bob = "SELECT (SELECT COUNT(*) FROM users WHERE name = 'bob')
        + (SELECT COUNT(*) FROM audit_log WHERE actor = 'user:bob' OR target = 'user:bob')";
    assert_eq!(pg_count(&pg.url, bob).await, 0);
    assert_eq!(
        pg_count(&pg.url, "SELECT COUNT(*) FROM contacts").await,
        3600
    );
    let out = frontline(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &pg.url,
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--force"), "{}", text(&out));
    let out = ok(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &pg.url,
        "--force",
    ]);
    assert!(
        out.contains("2 erasures made since the backup applied again"),
        "{out}"
    );
    // What --force replaced was kept as a backup of its own, whole: the 3,600 contacts the
    // installation held, bob already erased.
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("pg.backup.replaced-"))
        .expect("the replaced installation is kept");
    assert!(out.contains(&kept.display().to_string()), "{out}");
    let replaced = format!("sqlite://{}", dir.path().join("replaced.db").display());
    ok(&[
        "restore",
        "--from",
        kept.to_str().unwrap(),
        "--database",
        &replaced,
    ]);
    let mut conn = sqlx::SqliteConnection::connect(&replaced).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(n, 3600);
    assert_eq!(
        pg_count(&pg.url, "SELECT COUNT(*) FROM contacts").await,
        at_backup - 100,
        "the backup's contacts, cust-3's excepted"
    );
    assert_eq!(pg_count(&pg.url, bob).await, 0, "bob stays erased");
    ok(&["audit", "verify", "--database", &pg.url]);

    // Into SQLite elsewhere, with the ledger as a file.
    let ledger = dir.path().join("ledger.ndjson");
    let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    let (pseudonym,): (String,) = sqlx::query_as("SELECT pseudonym FROM erasures ORDER BY seq")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    std::fs::write(
        &ledger,
        serde_json::json!({"id": 1, "pseudonym": pseudonym}).to_string(),
    )
    .unwrap();
    let elsewhere = format!("sqlite://{}", dir.path().join("elsewhere.db").display());
    let out = ok(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &elsewhere,
        "--erasures",
        ledger.to_str().unwrap(),
    ]);
    assert!(out.contains("1 erasures made since"), "{out}");
    let mut conn = sqlx::SqliteConnection::connect(&elsewhere).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(n, at_backup - 100);
}
