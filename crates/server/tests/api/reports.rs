//! Agents' reports: filed (redacted), heard by security at once, grouped with similar reports
//! and matching alerts, and their fate visible to the agent.

use chrono::Utc;
use frontline_core::Role;
use frontline_core::alert::{AlertKind, DetectedAlert};
use frontline_testkit::receiver::Receiver;
use frontline_testkit::sse::SseReader;
use frontline_testkit::{Backend, contact_json, json, spawn_app};
use serde_json::json;
use std::time::Duration;

async fn an_agents_report_reaches_security_at_once_and_the_agent_sees_its_fate(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let agent = app.token_for("ann", Role::CxAgent).await;
    let other_agent = app.token_for("bob", Role::CxAgent).await;
    let security = app.token_for("sam", Role::Security).await;
    let ingest = app.token(Role::Ingest).await;
    json(
        app.post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([contact_json("zendesk", "c1", "2026-11-25T12:00:00Z")]),
        )
        .await,
    )
    .await;
    app.store
        .upsert_alerts(&[DetectedAlert {
            alert_id: "spike-phishing-1".into(),
            kind: AlertKind::Spike,
            topic: Some("phishing".into()),
            service: None,
            channel: None,
            started_at: Utc::now() - chrono::Duration::minutes(30),
            raised_at: Utc::now() - chrono::Duration::minutes(25),
            observed: 12,
            customers: 9,
            expected: 0.5,
            score: 0.99,
            evidence: vec![],
            text: None,
            language: None,
            group_id: None,
        }])
        .await
        .unwrap();
    let receiver = Receiver::listening().await;
    json(
        app.post_json(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": receiver.url(), "secret": "s", "events": ["report.filed"]}),
        )
        .await,
    )
    .await;
    let response = app
        .client
        .get(app.url("/api/v1/stream?kinds=report.filed"))
        .bearer_auth(&security)
        .send()
        .await
        .unwrap();
    let mut stream = SseReader::new(response);

    let (status, filed) = json(
        app.post_json(
            "/api/v1/reports",
            &agent,
            &json!({"category": "phishing", "service": "web",
                    "summary": "Three customers got an SMS from 'Frontline Bank', one forwarded it from jane.doe@example.com",
                    "contacts": [{"source": "zendesk", "id": "c1"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{filed}");
    let id = filed["id"].as_i64().unwrap();
    assert_eq!(filed["state"], "filed");
    assert_eq!(filed["filed_by"], "user:ann");
    let summary = filed["summary"].as_str().unwrap();
    assert!(!summary.contains("jane.doe@example.com"), "{summary}");
    assert!(summary.contains("Frontline Bank"), "{summary}");

    let live = stream
        .next(Duration::from_secs(5))
        .await
        .expect("on the live feed");
    assert_eq!(live.json()["data"]["id"], id);
    let hooked = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(hooked.len(), 1, "and on the webhook");
    assert_eq!(hooked[0].json()["kind"], "report.filed");
    assert_eq!(hooked[0].json()["data"]["category"], "phishing");

    // A second agent reports the same thing; security sees both together with the alert.
    let (_, second) = json(
        app.post_json(
            "/api/v1/reports",
            &other_agent,
            &json!({"category": "phishing", "summary": "fake bank texts again"}),
        )
        .await,
    )
    .await;
    let (status, read) = json(app.get(&format!("/api/v1/reports/{id}"), &security).await).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["similar_reports"], json!([second["id"]]));
    assert_eq!(read["matching_alerts"], json!(["spike-phishing-1"]));

    // Security acknowledges and links it; the agent sees both.
    let (status, acked) = json(
        app.post_json(&format!("/api/v1/reports/{id}/ack"), &security, &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{acked}");
    let (_, incident) = json(
        app.post_json(
            "/api/v1/incidents",
            &security,
            &json!({"title": "Bank SMS phishing", "severity": "SEV2", "links": {"reports": [id]}}),
        )
        .await,
    )
    .await;
    let (_, mine) = json(app.get("/api/v1/reports?mine=true", &agent).await).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["items"][0]["state"], "acknowledged");
    assert_eq!(mine["items"][0]["state_by"], "user:sam");
    assert_eq!(mine["items"][0]["incident_id"], incident["id"]);

    let (status, dismissed) = json(
        app.post_json(
            &format!("/api/v1/reports/{}/dismiss", second["id"]),
            &security,
            &json!({"reason": "same campaign, already handled"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{dismissed}");
    let (_, theirs) = json(app.get("/api/v1/reports?mine=true", &other_agent).await).await;
    assert_eq!(theirs["items"][0]["state"], "dismissed");
    assert_eq!(
        theirs["items"][0]["reason"],
        "same campaign, already handled"
    );
    let (status, _) = json(
        app.post_json(
            &format!("/api/v1/reports/{}/ack", second["id"]),
            &security,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
}

async fn bad_reports_are_refused_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.token_for("ann", Role::CxAgent).await;
    for (body, field) in [
        (json!({"summary": "x"}), "category"),
        (json!({"category": "scam", "summary": "x"}), "category"),
        (json!({"category": "fraud"}), "summary"),
        (json!({"category": "fraud", "summary": "  "}), "summary"),
        (
            json!({"category": "fraud", "contacts": [{"source": "zendesk", "id": "missing"}]}),
            "contacts",
        ),
        (
            json!({"category": "fraud", "summary": "x", "urgent": true}),
            "urgent",
        ),
        (
            json!({"category": "fraud", "summary": "x".repeat(5001)}),
            "summary",
        ),
    ] {
        let (status, err) = json(app.post_json("/api/v1/reports", &agent, &body).await).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    let (_, list) = json(app.get("/api/v1/reports", &agent).await).await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = json(app.get("/api/v1/reports?state=lost", &agent).await).await;
    assert_eq!(status, 400);
    let (status, _) = json(app.get("/api/v1/reports/42", &agent).await).await;
    assert_eq!(status, 404);
}

frontline_testkit::backend_tests!(
    an_agents_report_reaches_security_at_once_and_the_agent_sees_its_fate,
    bad_reports_are_refused_naming_the_field,
);
