//! Security event intake and reads.

use frontline_core::Role;
use frontline_testkit::{Backend, json, spawn_app};
use serde_json::json;

fn event(id: &str, observed_at: &str, severity: &str) -> serde_json::Value {
    json!({
        "id": id,
        "source": "siem",
        "observed_at": observed_at,
        "severity": severity,
        "title": "Credential stuffing against /login",
        "service": "login",
        "indicators": {"ips": ["203.0.113.7", "198.51.100.2"], "rule": "cs-42"},
    })
}

async fn events_are_stored_as_sent_and_listed_by_severity(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let security = app.token(Role::Security).await;
    let (status, body) = json(
        app.post_json(
            "/api/v1/security-events",
            &ingest,
            &json!([
                event("e1", "2026-11-25T13:00:00Z", "high"),
                event("e2", "2026-11-25T12:00:00Z", "low"),
                event("e1", "2026-11-25T13:00:00Z", "high")
            ]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"accepted": 2, "duplicates": 1, "rejected": []})
    );

    let (status, got) = json(app.get("/api/v1/security-events/siem/e1", &security).await).await;
    assert_eq!(status, 200);
    // Indicators are the security team's evidence: kept as sent, not redacted.
    assert_eq!(got["indicators"]["ips"][0], "203.0.113.7");
    assert_eq!(got["severity"], "high");

    let (_, all) = json(app.get("/api/v1/security-events", &security).await).await;
    let ids: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("e2"), json!("e1")]);
    let (_, serious) = json(
        app.get("/api/v1/security-events?min_severity=medium", &security)
            .await,
    )
    .await;
    assert_eq!(serious["items"].as_array().unwrap().len(), 1);
    let (status, body) = json(
        app.get("/api/v1/security-events?min_severity=urgent", &security)
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("min_severity"))
    );
}

async fn bad_events_name_their_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    for (key, value, field) in [
        ("severity", json!("urgent"), "severity"),
        ("observed_at", json!(1732539600), "observed_at"),
        ("title", json!(""), "title"),
        ("indicators", json!("x".repeat(70 * 1024)), "indicators"),
    ] {
        let mut e = event("e", "2026-11-25T13:00:00Z", "high");
        e[key] = value;
        let (status, body) =
            json(app.post_json("/api/v1/security-events", &ingest, &e).await).await;
        assert_eq!(status, 422, "{key}: {body}");
        assert_eq!(body["error"]["field"], field);
    }
    assert!(
        app.store
            .get_security_event("siem", "e")
            .await
            .unwrap()
            .is_none()
    );
}

frontline_testkit::backend_tests!(
    events_are_stored_as_sent_and_listed_by_severity,
    bad_events_name_their_field,
);
