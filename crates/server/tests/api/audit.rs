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

frontline_testkit::backend_tests!(intake_batches_are_audited_with_actor_and_request_id);
