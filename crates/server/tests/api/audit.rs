//! Every change made through the API is in the audit chain, with who and which request.

use frontline_core::Role;
use frontline_testkit::{Backend, contact_json, json, spawn_app};
use serde_json::json;

async fn intake_batches_are_audited_with_actor_and_request_id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token_for("zendesk-bot", Role::Ingest).await;
    let res = app
        .post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([
                contact_json("zendesk", "1", "2026-11-25T13:00:00Z"),
                contact_json("zendesk", "2", "2026-11-25T13:00:00Z")
            ]),
        )
        .await;
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(json(res).await.0, 200);

    let records = app.store.audit_records(0, 100).await.unwrap();
    let last = records.last().unwrap();
    assert_eq!(last.action, "contacts.ingest");
    assert_eq!(last.actor, "user:zendesk-bot");
    assert_eq!(last.request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(
        last.client.as_deref(),
        Some("127.0.0.1"),
        "the client address is kept"
    );
    assert_eq!(
        last.detail,
        json!({"accepted": 2, "duplicates": 0, "sources": ["zendesk"]})
    );
    // The record summarises; it never carries contact text.
    assert!(!last.detail.to_string().contains("log in"));
    for w in records.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    assert_eq!(records[0].action, "token.create");
}

async fn admins_read_filter_and_export_the_log_and_the_export_verifies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token_for("root", Role::Admin).await;
    let security = app.token_for("sam", Role::Security).await;
    for i in 0..3 {
        let (status, _) = json(
            app.post_json(
                "/api/v1/incidents",
                &security,
                &json!({"title": format!("i{i}"), "severity": "SEV3"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, page) = json(
        app.get("/api/v1/audit?action=incident.&limit=2", &admin)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|r| r["action"] == "incident.open" && r["actor"] == "user:sam")
    );
    let next = page["next_cursor"].as_str().unwrap();
    let (_, rest) = json(
        app.get(
            &format!("/api/v1/audit?action=incident.&cursor={next}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], serde_json::Value::Null);

    // The export holds every record, as stored: the chain verifies on the receiving side.
    let export = app.get("/api/v1/audit?format=ndjson", &admin).await;
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let text = export.text().await.unwrap();
    let mut check = frontline_core::audit::ChainCheck::default();
    for line in text.lines() {
        let record: frontline_core::audit::AuditRecord = serde_json::from_str(line).unwrap();
        check.check(&record).unwrap();
    }
    assert_eq!(
        check.checked(),
        app.store.audit_records(0, 1000).await.unwrap().len() as u64
    );
    assert!(check.checked() >= 5, "token creations and incidents");

    let (status, err) = json(app.get("/api/v1/audit?since=yesterday", &admin).await).await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (400, json!("since"))
    );
}

frontline_testkit::backend_tests!(
    intake_batches_are_audited_with_actor_and_request_id,
    admins_read_filter_and_export_the_log_and_the_export_verifies,
);
