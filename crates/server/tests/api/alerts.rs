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
    use frontline_server::workers::detection::DetectionWorker;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    phishing_burst(&app, &ingest).await;
    // A short lease, so expiry (by the database's clock) comes within the test.
    let ttl = chrono::Duration::milliseconds(600);
    let mut a = DetectionWorker::new(app.store.clone()).with_lease_ttl(ttl);
    let mut b = DetectionWorker::new(app.store.clone()).with_lease_ttl(ttl);
    let first = a
        .step("server-a/w")
        .await
        .unwrap()
        .expect("a takes the lease");
    assert!(first.contacts > 0 && first.new_alerts > 0);
    assert!(
        b.step("server-b/w").await.unwrap().is_none(),
        "b waits while a holds it"
    );
    // a stops renewing; once the lease expires, b takes over at the next epoch and rebuilds
    // from the start, reaching the same alerts (none new).
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let mut rebuilt = 0;
    while let Some(report) = b.step("server-b/w").await.unwrap() {
        if report.contacts == 0 {
            break;
        }
        rebuilt += report.contacts;
        assert_eq!(report.new_alerts, 0, "re-detection finds the same alerts");
    }
    assert_eq!(rebuilt, first.contacts);
    assert!(a.step("server-a/w").await.unwrap().is_none());
    let log = app.store.leadership_log("detection").await.unwrap();
    let holders: Vec<(&str, i64)> = log.iter().map(|l| (l.holder.as_str(), l.epoch)).collect();
    assert_eq!(holders, [("server-a/w", 1), ("server-b/w", 2)]);
}

/// Every node reports itself; an admin sees the live nodes and the leases each holds.
async fn admins_see_the_nodes_and_their_leases(backend: Backend) {
    use frontline_server::workers::detection::DetectionWorker;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token(Role::Security).await;
    let (status, _) = json(app.get("/api/v1/nodes", &security).await).await;
    assert_eq!(status, 403);
    // The heartbeat runs at start.
    let mut nodes = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, body) = json(app.get("/api/v1/nodes", &admin).await).await;
        assert_eq!(status, 200, "{body}");
        if body["items"].as_array().is_some_and(|i| !i.is_empty()) {
            nodes = body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let items = nodes["items"].as_array().expect("this node is listed");
    assert_eq!(items.len(), 1, "{nodes}");
    assert_eq!(items[0]["this_node"], true);
    assert_eq!(
        items[0]["listen"],
        app.url("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
    );
    // A lease taken under the node's name is listed with it.
    let node = items[0]["id"].as_str().unwrap();
    let mut worker = DetectionWorker::new(app.store.clone());
    worker.step(&format!("{node}/detect")).await.unwrap();
    let (_, nodes) = json(app.get("/api/v1/nodes", &admin).await).await;
    let me = &nodes["items"][0];
    let leases = me["leases"].as_array().unwrap();
    let detection = leases
        .iter()
        .find(|l| l["name"] == "detection")
        .unwrap_or_else(|| panic!("{nodes}"));
    assert_eq!(detection["epoch"], 1);
    // And /metrics says the same.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("frontline_live_nodes 1\n"), "{metrics}");
    assert!(
        metrics.contains(&format!(
            "frontline_lease_epoch{{lease=\"detection\",node=\"{node}\"}} 1\n"
        )),
        "{metrics}"
    );
}

frontline_testkit::backend_tests!(
    a_burst_raises_an_alert_with_evidence_that_people_triage,
    only_the_lease_holder_detects_and_a_successor_rebuilds,
    admins_see_the_nodes_and_their_leases,
);
