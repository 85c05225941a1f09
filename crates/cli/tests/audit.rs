//! `frontline audit verify` finds tampering done straight in the database: a record altered,
//! deleted, or moved, or another record's hash pasted over its own. (A record rewritten with
//! a freshly computed hash shows at the next record: `frontline_core::audit`'s tests.)
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

/// A database whose audit log has five records (token creations and revocations).
fn populated() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    for name in ["a", "b", "c", "d", "e"] {
        let out = frontline(&[
            "token",
            "create",
            "--role",
            "viewer",
            "--name",
            name,
            "--database",
            &db,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (dir, db)
}

fn verify(db: &str) -> (i32, String) {
    let out = frontline(&["audit", "verify", "--database", db]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

async fn tamper(db: &str, sql: &str) {
    let mut conn = sqlx::SqliteConnection::connect(db).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn verify_passes_an_intact_log_and_names_the_first_broken_record() {
    let (_dir, db) = populated();
    let (code, text) = verify(&db);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("intact: 5 records"), "{text}");

    for (sql, expected) in [
        (
            "UPDATE audit_log SET target = 'user:mallory' WHERE seq = 2",
            "record 2 was altered",
        ),
        ("DELETE FROM audit_log WHERE seq = 3", "record 3 is missing"),
        (
            // Swap two records' places.
            "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4;
             UPDATE audit_log SET seq = 4 WHERE seq = -2",
            "record 2 was altered",
        ),
        (
            // Another record's hash pasted over record 2's.
            "UPDATE audit_log SET hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE seq = 2",
            "record 2 was altered",
        ),
    ] {
        let (_d, db) = populated();
        tamper(&db, sql).await;
        let (code, text) = verify(&db);
        assert_eq!(code, 1, "{sql}: {text}");
        assert!(text.contains(expected), "{sql}: {text}");
    }
}
