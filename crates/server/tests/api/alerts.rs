//! Alerts raised by the detection worker from stored contacts, read and triaged over the API.

use frontline_core::Role;
use frontline_testkit::{Backend, TestApp, contact_json, json, spawn_app};
use serde_json::json;

/// Three quiet hours (no topic), a burst of phishing reports, and a little traffic after it so
/// the burst's minutes close.
async fn phishing_burst(app: &TestApp, token: &str) {
    let mut batch = Vec::new();
    for m in 0..180 {
        let mut c = contact_json(
            "zendesk",
            &format!("q{m}"),
            &format!("2026-11-25T{:02}:{:02}:00Z", 9 + m / 60, m % 60),
        );
        c["text"] = json!("Where is my parcel? It should have arrived by now");
        batch.push(c);
    }
    for k in 0..10 {
        let mut c = contact_json(
            "zendesk",
            &format!("p{k}"),
            &format!("2026-11-25T12:00:{:02}Z", k * 5),
        );
        c["text"] = json!(format!(
            "Got a text saying my account is suspended with a link, is this real? ({k})"
        ));
        c["customer"] = json!(format!("victim-{k}"));
        batch.push(c);
    }
    for m in 0..6 {
        let mut c = contact_json(
            "zendesk",
            &format!("after{m}"),
            &format!("2026-11-25T12:{:02}:30Z", 5 + m),
        );
        c["text"] = json!("Where is my parcel? It should have arrived by now");
        batch.push(c);
    }
    let (status, body) = json(
        app.post_json("/api/v1/contacts", token, &json!(batch))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn a_burst_raises_an_alert_with_evidence_that_people_triage(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let security = app.token(Role::Security).await;
    let viewer = app.token(Role::Viewer).await;
    phishing_burst(&app, &ingest).await;
    assert!(app.detect().await > 0, "the worker stored alerts");

    let (status, list) = json(
        app.get("/api/v1/alerts?topic=phishing&kind=spike", &viewer)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let alert = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["service"].is_null())
        .unwrap_or_else(|| panic!("a topic-wide phishing alert: {list}"))
        .clone();
    assert_eq!(alert["state"], "open");
    assert!(alert["observed"].as_u64().unwrap() >= 4);
    assert_eq!(
        alert["customers"], alert["observed"],
        "each report came from its own customer"
    );
    assert!(alert["expected"].as_f64().unwrap() < 1.0);
    let evidence = alert["evidence"].as_array().unwrap();
    assert!(evidence.len() >= 4);
    assert!(
        evidence
            .iter()
            .all(|e| e["source"] == "zendesk" && e["id"].as_str().unwrap().starts_with('p'))
    );
    // Evidence opens the very contacts.
    let first = &evidence[0];
    let (status, contact) = json(
        app.get(
            &format!("/api/v1/contacts/zendesk/{}", first["id"].as_str().unwrap()),
            &viewer,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(contact["topics"], json!(["phishing"]));

    // Stepping again changes nothing: the alert is not raised twice.
    let id = alert["id"].as_str().unwrap().to_owned();
    app.detect().await;
    let (_, again) = json(
        app.get("/api/v1/alerts?topic=phishing&kind=spike", &viewer)
            .await,
    )
    .await;
    let same: Vec<_> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["id"] == id.as_str())
        .collect();
    assert_eq!(same.len(), 1);

    let path = |what: &str| format!("/api/v1/alerts/{}/{what}", id.replace('*', "%2A"));
    let res = app
        .client
        .post(app.url(&path("ack")))
        .bearer_auth(&security)
        .send()
        .await
        .unwrap();
    let (status, acked) = json(res).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["state_by"], "user:security");
    let res = app
        .client
        .post(app.url(&path("ack")))
        .bearer_auth(&security)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await.0, 409, "acknowledging twice conflicts");

    let (status, body) = json(app.post_json(&path("dismiss"), &security, &json!({})).await).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, dismissed) = json(
        app.post_json(
            &path("dismiss"),
            &security,
            &json!({"reason": "our own security awareness test"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{dismissed}");
    assert_eq!(dismissed["reason"], "our own security awareness test");
    let (_, got) = json(
        app.get(
            &format!("/api/v1/alerts/{}", id.replace('*', "%2A")),
            &viewer,
        )
        .await,
    )
    .await;
    assert_eq!(got["state"], "dismissed");

    let (status, _) = json(app.get("/api/v1/alerts/nope", &viewer).await).await;
    assert_eq!(status, 404);
    let (status, body) = json(app.get("/api/v1/alerts?state=closed", &viewer).await).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("state"))
    );
    let actions: Vec<_> = app
        .store
        .audit_records(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert!(
        actions.contains(&"alert.ack".to_owned()) && actions.contains(&"alert.dismiss".to_owned())
    );
}

async fn only_the_lease_holder_detects_and_a_successor_rebuilds(backend: Backend) {
    use frontline_server::workers::detection::{DetectionWorker, LEASE_TTL};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    phishing_burst(&app, &ingest).await;
    let now = chrono::Utc::now();
    let mut a = DetectionWorker::new(app.store.clone());
    let mut b = DetectionWorker::new(app.store.clone());
    let first = a
        .step("server-a", now)
        .await
        .unwrap()
        .expect("a takes the lease");
    assert!(first.contacts > 0 && first.new_alerts > 0);
    assert!(
        b.step("server-b", now).await.unwrap().is_none(),
        "b waits while a holds it"
    );
    // a stops renewing; once the lease expires, b takes over and rebuilds from the start,
    // reaching the same alerts (none new).
    let later = now + LEASE_TTL + chrono::Duration::seconds(1);
    let mut rebuilt = 0;
    while let Some(report) = b.step("server-b", later).await.unwrap() {
        if report.contacts == 0 {
            break;
        }
        rebuilt += report.contacts;
        assert_eq!(report.new_alerts, 0, "re-detection finds the same alerts");
    }
    assert_eq!(rebuilt, first.contacts);
    assert!(a.step("server-a", later).await.unwrap().is_none());
}

frontline_testkit::backend_tests!(
    a_burst_raises_an_alert_with_evidence_that_people_triage,
    only_the_lease_holder_detects_and_a_successor_rebuilds,
);
