//! The correlator: an early warning and a security finding that belong together open one
//! incident that says why; related signals join it; what people unlink stays unlinked.

use chrono::{Duration, Utc};
use frontline_core::Role;
use frontline_core::alert::{AlertKind, DetectedAlert};
use frontline_testkit::{Backend, TestApp, json, spawn_app, spawn_app_with};
use serde_json::json;

async fn takeover_alert(app: &TestApp, id: &str, minutes_ago: i64) {
    app.store
        .upsert_alerts(&[DetectedAlert {
            alert_id: id.into(),
            kind: AlertKind::Spike,
            topic: Some("account_takeover".into()),
            service: Some("web".into()),
            channel: Some("chat".into()),
            started_at: Utc::now() - Duration::minutes(minutes_ago),
            raised_at: Utc::now() - Duration::minutes(minutes_ago - 2),
            observed: 14,
            customers: 12,
            expected: 0.8,
            score: 0.99,
            evidence: vec![],
            text: None,
            language: None,
            group_id: None,
        }])
        .await
        .unwrap();
}

async fn finding(app: &TestApp, token: &str, id: &str, title: &str, severity: &str) {
    let (status, body) = json(
        app.post_json(
            "/api/v1/security-events",
            token,
            &json!({"id": id, "source": "siem", "severity": severity, "title": title,
                    "service": "web",
                    "observed_at": (Utc::now() - Duration::minutes(5)).to_rfc3339()}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn an_alert_and_a_finding_open_one_incident_and_related_signals_join_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let security = app.token_for("sam", Role::Security).await;
    let agent = app.token_for("ann", Role::CxAgent).await;

    takeover_alert(&app, "ato-web", 20).await;
    assert_eq!(
        app.correlate().await.opened,
        0,
        "an alert alone opens nothing"
    );
    finding(&app, &ingest, "f1", "Credential stuffing detected", "high").await;
    let round = app.correlate().await;
    assert_eq!(round.opened, 1, "{round:?}");
    assert_eq!(app.correlate().await, Default::default(), "nothing twice");

    let (_, list) = json(app.get("/api/v1/incidents", &security).await).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let id = items[0]["id"].as_i64().unwrap();
    let (_, incident) = json(app.get(&format!("/api/v1/incidents/{id}"), &security).await).await;
    assert_eq!(incident["opened_by"], "system");
    assert_eq!(incident["severity"], "SEV2", "a high finding");
    assert_eq!(incident["services"], json!(["web"]));
    assert_eq!(incident["proposed"], false);
    assert_eq!(
        incident["title"],
        "Credential stuffing detected — customers report account takeover on web"
    );
    let reason = incident["reason"].as_str().unwrap();
    assert!(reason.contains("rule credential-attack"), "{reason}");
    assert!(
        reason.contains("ato-web") && reason.contains("siem/f1"),
        "{reason}"
    );
    assert!(
        reason.contains("\"Credential stuffing detected\" (high)"),
        "the finding is named as it was sent: {reason}"
    );
    let kinds: Vec<&str> = incident["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["alert", "security_event"]);

    // An agent's report on the same matter joins it, with a note saying why.
    let (status, report) = json(
        app.post_json(
            "/api/v1/reports",
            &agent,
            &json!({"category": "account_takeover", "summary": "customers locked out after password change emails"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(app.correlate().await.joined, 1);
    let (_, timeline) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &security)
            .await,
    )
    .await;
    let last = timeline["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "incident.note");
    assert_eq!(last["actor"], "system");
    assert!(
        last["data"]["body"].as_str().unwrap().contains("report"),
        "{last}"
    );
    let (_, mine) = json(app.get("/api/v1/reports?mine=true", &agent).await).await;
    assert_eq!(
        mine["items"][0]["incident_id"], id,
        "the agent sees where it went"
    );

    // A person unlinks the report: the correlator leaves it alone.
    let (status, _) = json(
        app.post_json(
            &format!("/api/v1/incidents/{id}/unlink"),
            &security,
            &json!({"reports": [report["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.correlate().await, Default::default());

    // A finding about something else opens nothing and joins nothing.
    finding(&app, &ingest, "f2", "Disk 91% full", "critical").await;
    assert_eq!(app.correlate().await, Default::default());
}

async fn in_propose_mode_a_person_accepts_the_incident(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.correlation.mode = frontline_server::plumbing::config::CorrelationMode::Propose;
    })
    .await
    else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let cx_lead = app.token_for("carla", Role::CxLead).await;
    takeover_alert(&app, "ato-web", 20).await;
    finding(&app, &ingest, "f1", "Brute force against login", "critical").await;
    assert_eq!(app.correlate().await.opened, 1);
    let (_, list) = json(app.get("/api/v1/incidents", &cx_lead).await).await;
    let incident = &list["items"][0];
    assert_eq!(incident["proposed"], true);
    assert_eq!(incident["severity"], "SEV1", "a critical finding");
    let id = incident["id"].as_i64().unwrap();
    let (status, accepted) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &cx_lead,
            &json!({"proposed": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["proposed"], false);
    let (_, timeline) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &cx_lead)
            .await,
    )
    .await;
    let last = timeline["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["data"]["change"].clone(), last["actor"].clone()),
        (json!("accepted"), json!("user:carla"))
    );
}

async fn a_security_event_shows_its_customer_impact(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let security = app.token_for("sam", Role::Security).await;
    let mut contacts = Vec::new();
    for (i, (minutes_ago, service, text)) in [
        (
            10,
            "web",
            "someone changed my password and now I cant log in",
        ),
        (8, "web", "Someone changed my password!! account hacked"),
        (6, "app", "someone changed my password"),
        (4, "web", "where is my parcel"),
        (90, "web", "someone changed my password yesterday"),
    ]
    .into_iter()
    .enumerate()
    {
        contacts.push(json!({
            "id": format!("c{i}"), "source": "zendesk", "channel": "chat",
            "received_at": (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339(),
            "text": text, "service": service, "customer": format!("cust-{i}"),
        }));
    }
    let (status, body) = json(
        app.post_json("/api/v1/contacts", &ingest, &json!(contacts))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    finding(&app, &ingest, "f1", "Credential stuffing detected", "high").await;
    let (status, event) = json(app.get("/api/v1/security-events/siem/f1", &security).await).await;
    assert_eq!(status, 200, "{event}");
    let impact = &event["customer_impact"];
    assert_eq!(impact["service"], "web");
    assert_eq!(
        impact["topics"],
        json!(["account_takeover", "account_access"])
    );
    assert_eq!(impact["contacts"], 2, "{impact}");
    assert_eq!(impact["customers"], 2, "{impact}");
    // Lists leave it out (it is computed per event).
    let (_, list) = json(app.get("/api/v1/security-events", &security).await).await;
    assert_eq!(list["items"][0]["customer_impact"], serde_json::Value::Null);
}

frontline_testkit::backend_tests!(
    an_alert_and_a_finding_open_one_incident_and_related_signals_join_it,
    in_propose_mode_a_person_accepts_the_incident,
    a_security_event_shows_its_customer_impact,
);
