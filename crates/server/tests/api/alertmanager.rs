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

frontline_testkit::backend_tests!(
    a_grouped_firing_then_repeated_then_resolved_notification,
    truncated_and_first_seen_resolved_notifications,
    bad_payloads_and_alerts_are_named,
);
