//! `frontline ingest`: NDJSON and CSV, into the database and to a running server. The tests
//! run the binary with a blocking call, so the in-process server needs a worker of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_core::Role;
use frontline_testkit::{Backend, contact_json, json, spawn_app};
use std::process::{Command, Output};

fn frontline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("FRONTLINE_TOKEN")
        .output()
        .expect("frontline runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_into_the_database_shares_the_servers_pseudonyms_and_reports_lines() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.ndjson");
    let mut body = String::new();
    for i in 0..2500 {
        let mut c = contact_json("zendesk", &i.to_string(), "2026-11-25T13:00:00Z");
        c["customer"] = serde_json::json!("cust-shared");
        body.push_str(&format!("{c}\n"));
    }
    body.push_str("{\"id\": \"x\"}\n"); // line 2501
    body.push_str("not json\n"); // line 2502
    std::fs::write(&file, body).unwrap();

    let out = frontline(&[
        "ingest",
        file.to_str().unwrap(),
        "--database",
        &app.database_url,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some lines were rejected: {}",
        stdout(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("accepted:   2500"), "{text}");
    assert!(text.contains("rejected:   2"), "{text}");
    assert!(text.contains("line 2501: source: is required"), "{text}");
    assert!(text.contains("line 2502:"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ingest: done"));

    // The same customer through the API gets the same pseudonym: one key for both paths.
    let ingest = app.token(Role::Ingest).await;
    let mut c = contact_json("api", "1", "2026-11-25T13:00:00Z");
    c["customer"] = serde_json::json!("cust-shared");
    assert_eq!(
        json(app.post_json("/api/v1/contacts", &ingest, &c).await)
            .await
            .0,
        200
    );
    let via_cli = app
        .store
        .get_contact("zendesk", "7")
        .await
        .unwrap()
        .unwrap();
    let via_api = app.store.get_contact("api", "1").await.unwrap().unwrap();
    assert_eq!(via_cli.contact.customer, via_api.contact.customer);
    assert!(!via_cli.contact.text.contains("jane.doe@example.com"));

    // Every line accepted or a duplicate: exit 0.
    let clean = dir.path().join("clean.ndjson");
    std::fs::write(
        &clean,
        format!("{}\n", contact_json("zendesk", "1", "2026-11-25T13:00:00Z")),
    )
    .unwrap();
    let out = frontline(&[
        "ingest",
        clean.to_str().unwrap(),
        "--database",
        &app.database_url,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("duplicates: 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_to_a_running_server_reports_file_lines() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let token = app.token(Role::Ingest).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(
        &file,
        "id,source,channel,received_at,text,customer,priority\n\
         1,zendesk,ticket,2026-11-25T13:00:00Z,\"Can't log in, \"\"urgent\"\"\",c-1,high\n\
         2,zendesk,ticket,2026-11-25T13:01:00Z,\"spans\ntwo lines, mail a@b.com\",c-2,low\n\
         3,zendesk,fax,2026-11-25T13:02:00Z,hello,c-3,low\n\
         4,zendesk,chat,2026-11-25T13:03:00Z,fine,,\n",
    )
    .unwrap();
    let out = frontline(&[
        "ingest",
        file.to_str().unwrap(),
        "--server",
        &app.base_url,
        "--token",
        &token,
    ]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("accepted:   3"), "{text}");
    // Record 3 starts on file line 5, after the record that spans lines 3 and 4.
    assert!(text.contains("line 5: channel: unknown channel"), "{text}");
    let c = app
        .store
        .get_contact("zendesk", "2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.contact.text, "spans\ntwo lines, mail [email]");
    assert_eq!(
        c.contact.metadata,
        Some(serde_json::json!({"priority": "low"}))
    );
    let c = app
        .store
        .get_contact("zendesk", "4")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.contact.customer, None);

    let out = frontline(&[
        "ingest",
        file.to_str().unwrap(),
        "--server",
        &app.base_url,
        "--token",
        "flt_bad",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[test]
fn a_missing_file_is_an_error() {
    let out = frontline(&[
        "ingest",
        "/nonexistent/contacts.ndjson",
        "--database",
        "sqlite:///tmp/never.db",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/contacts.ndjson"));
}
