//! The built `frontline` binary, run as a user would: against a spawned server's database, and
//! as a server of its own in an empty directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_testkit::{Backend, json, spawn_app};
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn frontline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args(args)
        .env("FRONTLINE_LOG_FORMAT", "plain")
        .env("RUST_LOG", "warn")
        .output()
        .expect("frontline runs")
}

// Multi-threaded: the test blocks on the CLI process while the in-process server must keep
// running (a worker caught mid-transaction would hold SQLite's write lock until it runs again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_created_while_serving_works_at_once_and_revoking_stops_it() {
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("sqlite is always available");
    let db = app.database_url.clone();
    let out = frontline(&[
        "token",
        "create",
        "--role",
        "security",
        "--name",
        "sam",
        "--database",
        &db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is the token alone: {stdout:?}");
    let token = lines[0];
    assert!(token.starts_with("flt_") && token.len() > 60, "{token}");

    let (status, me) = json(app.get("/api/v1/me", token).await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"], "sam");
    assert_eq!(me["roles"], serde_json::json!(["security"]));
    let id = me["token_id"].as_str().unwrap().to_owned();

    let out = frontline(&["token", "list", "--json", "--database", &db]);
    assert!(out.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(entry["user"], "sam");
    assert!(entry["revoked_at"].is_null());
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(token),
        "list never shows secrets"
    );

    let out = frontline(&["token", "revoke", &id, "--database", &db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _) = json(app.get("/api/v1/me", token).await).await;
    assert_eq!(status, 401);

    let audit = app.store.audit_records(0, 100).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|r| (r.action.as_str(), r.actor.starts_with("cli:")))
        .collect();
    assert_eq!(
        actions,
        vec![("token.create", true), ("token.revoke", true)]
    );

    let out = frontline(&["token", "revoke", "0000000000000000", "--database", &db]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

#[test]
fn bad_arguments_and_configuration_exit_2_naming_the_problem() {
    let out = frontline(&["token", "create", "--role", "root"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));

    let out = frontline(&["token", "list", "--database", "mysql://localhost/x"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`database`") && stderr.contains("sqlite://"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args(["token", "list"])
        .env("FRONTLINE_DATABASE", "mysql://localhost/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the environment layer is read");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("frontline.toml");
    std::fs::write(&file, "max_body_bytes = \"lots\"\n").unwrap();
    let out = frontline(&["token", "list", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_body_bytes"));
}

#[test]
fn a_configuration_file_chooses_the_database_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file.db");
    let file = dir.path().join("frontline.toml");
    std::fs::write(
        &file,
        format!("database = \"sqlite://{}\"\n", from_file.display()),
    )
    .unwrap();
    let out = frontline(&[
        "token",
        "create",
        "--role",
        "viewer",
        "--config",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(from_file.exists());

    let from_flag = dir.path().join("from-flag.db");
    let url = format!("sqlite://{}", from_flag.display());
    let out = frontline(&[
        "token",
        "create",
        "--role",
        "viewer",
        "--config",
        file.to_str().unwrap(),
        "--database",
        &url,
    ]);
    assert!(out.status.success());
    assert!(from_flag.exists());
}

#[test]
fn serve_runs_in_an_empty_directory_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("FRONTLINE_LOG_FORMAT", "json")
        .env("FRONTLINE_DATABSE", "typo")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut warned = false;
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server logs its address");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["variable"] == "FRONTLINE_DATABSE" {
            warned = true;
        }
        if v["fields"]["message"] == "frontline serving" {
            break v["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    assert!(warned, "an unknown FRONTLINE_* variable is reported");
    assert!(
        dir.path().join("frontline.db").exists(),
        "the default database is created"
    );

    let body = std::process::Command::new("curl")
        .args(["-sf", &format!("http://{addr}/healthz")])
        .output();
    // curl is optional on a machine; the HTTP check then goes through a raw socket.
    let health = match body {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        _ => raw_get(&addr, "/healthz"),
    };
    assert!(health.contains("\"status\":\"ok\""), "{health}");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_with_deadline(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "serve exits 0 after SIGTERM");
}

fn raw_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn wait_with_deadline(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_taxonomy_file_stops_serve_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let taxonomy = dir.path().join("topics.toml");
    std::fs::write(
        &taxonomy,
        "[[topic]]\nname = \"billing\"\nphrases = [\"invoice\"\n",
    )
    .unwrap();
    let config = dir.path().join("frontline.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"sqlite://{}\"\n[taxonomy]\nfiles = [\"{}\"]\n",
            dir.path().join("f.db").display(),
            taxonomy.display()
        ),
    )
    .unwrap();
    let out = frontline(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:", taxonomy.display())),
        "{stderr}"
    );
    assert!(stderr.contains("taxonomy"), "{stderr}");
}

#[tokio::test]
async fn user_add_prints_only_a_one_time_password_that_must_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let out = frontline(&["user", "add", "ann", "--role", "cx_lead", "--database", &db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let password = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "only the password: {stdout}");
    assert_eq!(password.len(), 20);
    let again = frontline(&[
        "user",
        "add",
        "ann",
        "--role",
        "security",
        "--database",
        &db,
    ]);
    assert!(again.status.success());
    let store = frontline_server::open_store(&db).await.unwrap();
    let login = store.login("ann").await.unwrap().unwrap();
    assert!(login.must_change);
    assert_eq!(
        login.roles,
        [frontline_core::Role::Security, frontline_core::Role::CxLead]
    );
    let hash = login.password_hash.unwrap();
    let newest = String::from_utf8(again.stdout).unwrap();
    assert!(frontline_server::auth::session::verify_password(
        &hash,
        newest.trim()
    ));
    assert!(!frontline_server::auth::session::verify_password(
        &hash, password
    ));
    let bad = frontline(&["user", "add", "ann", "--role", "king", "--database", &db]);
    assert_eq!(bad.status.code(), Some(2));

    // Taking access away: one role, then everything.
    let out = frontline(&[
        "user",
        "remove",
        "ann",
        "--role",
        "security",
        "--database",
        &db,
    ]);
    assert!(out.status.success());
    let login = store.login("ann").await.unwrap().unwrap();
    assert_eq!(login.roles, [frontline_core::Role::CxLead]);
    let out = frontline(&["user", "remove", "ann", "--database", &db]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no access any more"));
    let login = store.login("ann").await.unwrap().unwrap();
    assert!(login.roles.is_empty() && login.password_hash.is_none());
    let ghost = frontline(&["user", "remove", "ghost", "--database", &db]);
    assert_eq!(ghost.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ghost.stderr).contains("ghost"));
}

/// `taxonomy train --feedback` learns from the topics people corrected in the database and
/// from alerts they dismissed as not a security matter: the corrected text scores its new
/// topic higher than a model trained without the correction, the dismissed alert's contact its
/// topic lower.
#[test]
fn training_with_feedback_learns_what_people_corrected_and_dismissed() {
    use frontline_core::contact::{Channel, ContactKey, RedactedContact};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let text = "the blue widget keeps squeaking at the gate";
    let survey = "got a text asking me to verify my details by clicking the link, is this you";
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = frontline_server::open_store(&db).await.unwrap();
        let origin = frontline_store::Origin::new(frontline_core::audit::Actor::System);
        let contact = |id: &str| RedactedContact {
            key: ContactKey {
                source: "chat".into(),
                id: id.into(),
            },
            channel: Channel::Chat,
            received_at: chrono::Utc::now(),
            text: text.into(),
            customer: None,
            service: None,
            region: None,
            language: Some("en".into()),
            metadata: None,
            topics: Vec::new(),
        };
        store
            .insert_contacts(&[contact("w1")], &origin)
            .await
            .unwrap();
        store
            .correct_topics("chat", "w1", &["outage".to_owned()], &origin)
            .await
            .unwrap();
        // A survey text read as phishing, raised as such, and dismissed as no security
        // matter; another, dismissed as a duplicate, teaches nothing.
        let survey = |id: &str| RedactedContact {
            text: survey.into(),
            topics: vec!["phishing".into()],
            ..contact(id)
        };
        store
            .insert_contacts(&[survey("s1"), survey("s2")], &origin)
            .await
            .unwrap();
        for (id, reason, evidence) in [
            ("a1", "Not a security matter: our own survey", "s1"),
            ("a2", "duplicate", "s2"),
        ] {
            store
                .upsert_alerts(&[frontline_core::alert::DetectedAlert {
                    alert_id: id.into(),
                    kind: frontline_core::alert::AlertKind::Theme,
                    topic: Some("phishing".into()),
                    service: None,
                    channel: None,
                    started_at: chrono::Utc::now(),
                    raised_at: chrono::Utc::now(),
                    observed: 1,
                    customers: 1,
                    expected: 0.0,
                    score: 1.0,
                    evidence: vec![frontline_core::alert::Evidence {
                        source: "chat".into(),
                        id: evidence.into(),
                    }],
                    text: None,
                    language: None,
                    group_id: None,
                }])
                .await
                .unwrap();
            store
                .set_alert_state(
                    id,
                    frontline_core::alert::AlertState::Dismissed,
                    Some(reason),
                    &origin,
                )
                .await
                .unwrap();
        }
    });
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../pipeline/classifier");
    let train = |out: &str, feedback: bool| {
        let out = dir.path().join(out);
        let mut args = vec![
            "taxonomy".to_owned(),
            "train".into(),
            "--corpus".into(),
            corpus.into(),
            "--out".into(),
            out.display().to_string(),
        ];
        if feedback {
            args.push("--feedback".into());
        }
        let run = Command::new(env!("CARGO_BIN_EXE_frontline"))
            .args(&args)
            .env("FRONTLINE_DATABASE", &db)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{stderr}");
        let model = std::fs::read(&out).unwrap();
        let model = frontline_pipeline::learned::TopicModel::from_bytes(&model, "test").unwrap();
        (model, stderr)
    };
    let (plain, _) = train("plain.bin", false);
    let (taught, said) = train("taught.bin", true);
    assert!(said.contains("and 2 taught by people"), "{said}");
    let p = |m: &frontline_pipeline::learned::TopicModel, topic: &str, text: &str| {
        let i = m.topics().iter().position(|t| t == topic).unwrap();
        m.probabilities(&frontline_pipeline::classify::normalize(text))[i]
    };
    let outage = |m: &frontline_pipeline::learned::TopicModel| p(m, "outage", text);
    let phishing = |m: &frontline_pipeline::learned::TopicModel| p(m, "phishing", survey);
    assert!(
        phishing(&taught) < phishing(&plain) - 0.1,
        "{} vs {}",
        phishing(&taught),
        phishing(&plain)
    );
    assert!(
        outage(&taught) > outage(&plain) + 0.2,
        "{} vs {}",
        outage(&taught),
        outage(&plain)
    );
}
