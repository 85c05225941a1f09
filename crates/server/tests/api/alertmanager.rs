//! Alertmanager's webhook, with payloads shaped exactly as Alertmanager sends them.

use frontline_core::Role;
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use serde_json::{Value, json};

fn alert(instance: &str, fingerprint: &str, status: &str, ends_at: &str) -> Value {
    json!({
        "status": status,
        "labels": {
            "alertname": "LoginErrorRate",
            "instance": instance,
            "job": "auth",
            "service": "login",
            "severity": "critical"
        },
        "annotations": {
            "description": "Login errors at 12% for 5m on this instance.\nRunbook: https://runbooks.example/login",
            "summary": "Login error rate high"
        },
        "startsAt": "2026-11-25T13:00:00.000Z",
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28login_errors_total%5B5m%5D%29+%3E+0.05&g0.tab=1",
        "fingerprint": fingerprint
    })
}

fn notification(status: &str, alerts: Vec<Value>, truncated: u64) -> Value {
    json!({
        "receiver": "frontline",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "LoginErrorRate"},
        "commonLabels": {"alertname": "LoginErrorRate", "job": "auth", "service": "login", "severity": "critical"},
        "commonAnnotations": {"summary": "Login error rate high"},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}/{severity=\"critical\"}:{alertname=\"LoginErrorRate\"}",
        "truncatedAlerts": truncated
    })
}

const FIRING_END: &str = "0001-01-01T00:00:00Z";

async fn send(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    json(
        app.post_json("/api/v1/integrations/alertmanager", token, body)
            .await,
    )
    .await
}

async fn a_grouped_firing_then_repeated_then_resolved_notification(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token_for("alertmanager", Role::Ingest).await;
    let reader = app.token(Role::Security).await;
    let firing = notification(
        "firing",
        vec![
            alert("auth-1:9100", "8d2f4c1a9b7e6f30", "firing", FIRING_END),
            alert("auth-2:9100", "1a2b3c4d5e6f7a8b", "firing", FIRING_END),
        ],
        0,
    );
    let (status, summary) = send(&app, &token, &firing).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary,
        json!({"accepted": 2, "duplicates": 0, "resolved": 0, "rejected": [], "truncated_alerts": 0})
    );

    let id = "8d2f4c1a9b7e6f30:2026-11-25T13:00:00.000000Z";
    let (status, event) = json(
        app.get(
            &format!("/api/v1/security-events/alertmanager/{id}"),
            &reader,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["severity"], "critical");
    assert_eq!(event["service"], "login");
    assert_eq!(event["title"], "Login error rate high");
    assert_eq!(event["observed_at"], "2026-11-25T13:00:00Z");
    assert_eq!(event["resolved_at"], Value::Null);
    assert_eq!(event["indicators"]["labels"]["instance"], "auth-1:9100");
    assert_eq!(
        event["indicators"]["annotations"]["description"]
            .as_str()
            .unwrap()
            .lines()
            .count(),
        2
    );
    assert_eq!(event["indicators"]["receiver"], "frontline");

    // Alertmanager repeats the notification every repeat_interval while the alert fires.
    let (_, again) = send(&app, &token, &firing).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );

    // One instance recovers.
    let resolved = notification(
        "resolved",
        vec![alert(
            "auth-1:9100",
            "8d2f4c1a9b7e6f30",
            "resolved",
            "2026-11-25T13:25:00.000Z",
        )],
        0,
    );
    let (status, summary) = send(&app, &token, &resolved).await;
    assert_eq!(status, 200);
    assert_eq!(
        (summary["duplicates"].as_u64(), summary["resolved"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, event) = json(
        app.get(
            &format!("/api/v1/security-events/alertmanager/{id}"),
            &reader,
        )
        .await,
    )
    .await;
    assert_eq!(event["resolved_at"], "2026-11-25T13:25:00Z");
    let (_, other) = json(
        app.get(
            "/api/v1/security-events/alertmanager/1a2b3c4d5e6f7a8b:2026-11-25T13:00:00.000000Z",
            &reader,
        )
        .await,
    )
    .await;
    assert_eq!(
        other["resolved_at"],
        Value::Null,
        "the other instance still fires"
    );

    // The same resolved notification again changes nothing.
    let (_, summary) = send(&app, &token, &resolved).await;
    assert_eq!(summary["resolved"], 0);

    let audit = app.store.audit_records(0, 100).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|r| (r.action.as_str(), r.actor.as_str()))
        .collect();
    assert!(
        actions.contains(&("security_events.resolve", "user:alertmanager")),
        "{actions:?}"
    );
}

async fn truncated_and_first_seen_resolved_notifications(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let (status, summary) = send(
        &app,
        &token,
        &notification(
            "resolved",
            vec![alert(
                "auth-9:9100",
                "ffffeeeeddddcccc",
                "resolved",
                "2026-11-25T13:10:00Z",
            )],
            3,
        ),
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["truncated_alerts"], 3);
    assert_eq!(
        (summary["accepted"].as_u64(), summary["resolved"].as_u64()),
        (Some(1), Some(0))
    );
    let stored = app
        .store
        .get_security_event(
            "alertmanager",
            "ffffeeeeddddcccc:2026-11-25T13:00:00.000000Z",
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.event.resolved_at.is_some(),
        "stored already resolved"
    );
}

async fn bad_payloads_and_alerts_are_named(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token(Role::Ingest).await;
    let mut old = notification(
        "firing",
        vec![alert("a", "1111111111111111", "firing", FIRING_END)],
        0,
    );
    old["version"] = json!("3");
    let (status, body) = send(&app, &token, &old).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("version"))
    );

    let mut no_start = alert("b", "2222222222222222", "firing", FIRING_END);
    no_start.as_object_mut().unwrap().remove("startsAt");
    let mut bad_labels = alert("c", "3333333333333333", "firing", FIRING_END);
    bad_labels["labels"] = json!(["not", "a", "map"]);
    let good = alert("d", "4444444444444444", "firing", FIRING_END);
    let (status, body) = send(
        &app,
        &token,
        &notification("firing", vec![no_start, bad_labels, good], 0),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1);
    let rejected: Vec<(u64, Option<&str>)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["error"]["field"].as_str()))
        .collect();
    assert_eq!(rejected, vec![(0, Some("startsAt")), (1, Some("labels"))]);

    let (status, body) = json(
        app.post_raw(
            "/api/v1/integrations/alertmanager",
            &token,
            "{\"version\": \"4\"",
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let viewer = app.token(Role::Viewer).await;
    let (status, _) = send(&app, &viewer, &notification("firing", vec![], 0)).await;
    assert_eq!(status, 403);
}

/// The real Alertmanager (Debian's `prometheus-alertmanager`) sending to the real server: an
/// alert fires, repeats, resolves and fires again. Each notification is answered 2xx (or
/// Alertmanager would count a failure and retry), repeats add nothing, the resolution closes
/// the finding, the re-fire is a new one, and the flapping alert alone opens no incident.
/// Skipped where the binary is missing, except in CI, which installs it.
async fn the_real_alertmanager_fires_repeats_resolves_and_fires_again(backend: Backend) {
    let binary = "/usr/bin/prometheus-alertmanager";
    if !std::path::Path::new(binary).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs {binary} (.ci/run)"
        );
        eprintln!("skipped: {binary} is not installed");
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token_for("alertmanager", Role::Ingest).await;
    let reader = app.token(Role::Security).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: frontline\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 2s\nreceivers:\n  - name: frontline\n    webhook_configs:\n      - url: {}/api/v1/integrations/alertmanager\n        send_resolved: true\n        http_config:\n          authorization:\n            credentials: {token}\n",
            app.base_url
        ),
    )
    .unwrap();
    /// Alertmanager ends with the test, whatever happens in it.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _alertmanager = Kill(
        std::process::Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let am = format!("http://127.0.0.1:{port}");
    let ready = async {
        for _ in 0..100 {
            if let Ok(r) = app.client.get(format!("{am}/-/ready")).send().await {
                if r.status().is_success() {
                    return true;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    };
    assert!(ready.await, "Alertmanager starts");
    let post = |starts: chrono::DateTime<chrono::Utc>, ends: chrono::DateTime<chrono::Utc>| {
        let body = json!([{
            "labels": {"alertname": "CredentialStuffing", "service": "login", "severity": "critical"},
            "annotations": {"summary": "Sign-in failures from many addresses"},
            "startsAt": starts.to_rfc3339(),
            "endsAt": ends.to_rfc3339(),
            "generatorURL": "http://prometheus.example/graph"
        }]);
        let client = app.client.clone();
        let url = format!("{am}/api/v2/alerts");
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
    };
    // Waits until the server holds `n` Alertmanager findings, `resolved` of them resolved.
    let events = |n: usize, resolved: usize| {
        let app = &app;
        let reader = &reader;
        async move {
            let mut last = Value::Null;
            for _ in 0..150 {
                let (_, list) = json(
                    app.get("/api/v1/security-events?source=alertmanager", reader)
                        .await,
                )
                .await;
                let items = list["items"].as_array().cloned().unwrap_or_default();
                let done = items.iter().filter(|e| !e["resolved_at"].is_null()).count();
                if items.len() == n && done == resolved {
                    return items;
                }
                last = list;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("expected {n} findings, {resolved} resolved; have {last}");
        }
    };
    let now = chrono::Utc::now();
    post(
        now - chrono::Duration::minutes(1),
        now + chrono::Duration::hours(1),
    )
    .await;
    let first = events(1, 0).await;
    assert_eq!(first[0]["severity"], "critical", "{first:?}");
    assert_eq!(first[0]["service"], "login", "{first:?}");
    // Repeats (every two seconds) are answered and add nothing.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    events(1, 0).await;
    // Resolved: Alertmanager sends the resolution and the finding closes.
    post(now - chrono::Duration::minutes(1), chrono::Utc::now()).await;
    let resolved = events(1, 1).await;
    assert_eq!(
        resolved[0]["indicators"]["status"], "resolved",
        "{resolved:?}"
    );
    // Fires again: a new finding, the first stays resolved.
    let again = chrono::Utc::now();
    post(again, again + chrono::Duration::hours(1)).await;
    events(2, 1).await;
    // Alertmanager counted every notification as delivered.
    let metrics = app
        .client
        .get(format!("{am}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l.contains("integration=\"webhook\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(
        value("alertmanager_notifications_total") >= 4.0,
        "{metrics}"
    );
    assert_eq!(value("alertmanager_notifications_failed_total"), 0.0);
    // One flapping alert with no customer signal is no incident.
    app.correlate().await;
    let (_, incidents) = json(app.get("/api/v1/incidents", &reader).await).await;
    assert_eq!(
        incidents["items"].as_array().map(Vec::len),
        Some(0),
        "{incidents}"
    );
}

frontline_testkit::backend_tests!(
    the_real_alertmanager_fires_repeats_resolves_and_fires_again,
    a_grouped_firing_then_repeated_then_resolved_notification,
    truncated_and_first_seen_resolved_notifications,
    bad_payloads_and_alerts_are_named,
);
