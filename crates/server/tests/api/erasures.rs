//! Erasure on request (GDPR Article 17) through the API: one customer's data goes (a contact an
//! incident links stays as a tombstone), nobody else's; the ledger and the audit log record
//! the request without the customer's id; bad requests are refused naming the field. A person
//! who used Frontline is erased too: their name becomes a placeholder, their token stops
//! working, and the audit chain still verifies.

use frontline_core::Role;
use frontline_testkit::{Backend, json, spawn_app};
use serde_json::json;

async fn one_customers_data_is_erased_and_the_ledger_records_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token(Role::Security).await;
    let ingest = app.token(Role::Ingest).await;
    let now = chrono::Utc::now().to_rfc3339();
    let contact = |id: &str, customer: &str| {
        json!({"source": "zendesk", "id": id, "channel": "ticket", "received_at": now,
               "customer": customer, "text": format!("someone changed my password ({id})")})
    };
    let (status, _) = json(
        app.post_json(
            "/api/v1/contacts",
            &ingest,
            &json!([
                contact("a1", "alice@example.com"),
                contact("a2", " alice@example.com"),
                contact("b1", "bob@example.com")
            ]),
        )
        .await,
    )
    .await;
    assert!((200..300).contains(&status));
    let incident = app
        .open_incident(&security, "Account takeovers", "SEV2")
        .await;
    let (status, _) = json(
        app.post_json(
            &format!("/api/v1/incidents/{incident}/links"),
            &security,
            &json!({"contacts": [{"source": "zendesk", "id": "a2"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);

    // Admins only; the customer is required.
    let (status, _) = json(
        app.post_json(
            "/api/v1/erasures",
            &security,
            &json!({"customer": "alice@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403);
    for bad in [
        json!({}),
        json!({"customer": "  "}),
        json!({"customer": "x".repeat(1001)}),
    ] {
        let (status, err) = json(app.post_json("/api/v1/erasures", &admin, &bad).await).await;
        assert_eq!(
            (status, err["error"]["field"].clone()),
            (422, json!("customer")),
            "{err}"
        );
    }

    let (status, receipt) = json(
        app.post_json(
            "/api/v1/erasures",
            &admin,
            &json!({"customer": "alice@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        receipt["counts"],
        json!({"contacts_removed": 1, "contacts_tombstoned": 1, "alerts_scrubbed": 0,
               "corrections_removed": 0}),
        "{receipt}"
    );
    let (status, _) = json(app.get("/api/v1/contacts/zendesk/a1", &security).await).await;
    assert_eq!(status, 404);
    let (status, tomb) = json(app.get("/api/v1/contacts/zendesk/a2", &security).await).await;
    assert_eq!(status, 200, "{tomb}");
    assert_eq!(tomb["text"], "", "{tomb}");
    assert!(tomb["customer"].is_null(), "{tomb}");
    let (_, detail) = json(
        app.get(&format!("/api/v1/incidents/{incident}"), &security)
            .await,
    )
    .await;
    assert_eq!(
        detail["links"].as_array().unwrap().len(),
        1,
        "the link stays: {detail}"
    );
    let (_, bob) = json(app.get("/api/v1/contacts/zendesk/b1", &security).await).await;
    assert!(
        bob["text"]
            .as_str()
            .unwrap()
            .contains("changed my password"),
        "{bob}"
    );
    assert!(bob["customer"].is_string(), "{bob}");

    // Someone Frontline never heard of: zero counts, still recorded.
    let (status, none) = json(
        app.post_json(
            "/api/v1/erasures",
            &admin,
            &json!({"customer": "carol@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(none["counts"]["contacts_removed"], 0);
    let (status, ledger) = json(app.get("/api/v1/erasures", &admin).await).await;
    assert_eq!(status, 200);
    let items = ledger["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{ledger}");
    assert_eq!(items[0]["pseudonym"], receipt["pseudonym"]);
    assert!(ledger["next_cursor"].is_null());
    // Neither the ledger nor the audit log holds the customer's id.
    let (_, audit) = json(
        app.get("/api/v1/audit?action=erasure.request", &admin)
            .await,
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
    for text in [ledger.to_string(), audit.to_string()] {
        assert!(!text.contains("alice") && !text.contains("carol"), "{text}");
    }
}

async fn a_person_is_erased_their_token_ends_and_the_audit_log_still_verifies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let bob = app.token_for("bob", Role::Security).await;
    let incident = app.open_incident(&bob, "Payments down", "SEV2").await;
    let (status, changed) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{incident}"),
            &bob,
            &json!({"roles": {"commander": "bob"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{changed}");

    // Admins only; the user is required, and is not the caller.
    let (status, _) = json(
        app.post_json("/api/v1/erasures/people", &bob, &json!({"user": "admin"}))
            .await,
    )
    .await;
    assert_eq!(status, 403);
    for bad in [
        json!({}),
        json!({"user": " "}),
        json!({"user": "x".repeat(201)}),
        json!({"user": "admin"}),
    ] {
        let (status, err) =
            json(app.post_json("/api/v1/erasures/people", &admin, &bad).await).await;
        assert_eq!(
            (status, err["error"]["field"].clone()),
            (422, json!("user")),
            "{err}"
        );
    }

    let (status, receipt) = json(
        app.post_json("/api/v1/erasures/people", &admin, &json!({"user": "bob"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    let placeholder = receipt["placeholder"].as_str().unwrap().to_owned();
    assert!(placeholder.starts_with("erased-"), "{receipt}");
    assert_eq!(receipt["counts"]["account_removed"], true, "{receipt}");
    assert_eq!(receipt["counts"]["tokens_removed"], 1, "{receipt}");
    // His token no longer opens anything.
    let (status, _) = json(app.get("/api/v1/incidents", &bob).await).await;
    assert_eq!(status, 401);
    // The incident, its timeline and the audit log no longer name him, and say the same
    // placeholder wherever he stood.
    let (_, detail) = json(
        app.get(&format!("/api/v1/incidents/{incident}"), &admin)
            .await,
    )
    .await;
    let (_, timeline) = json(
        app.get(&format!("/api/v1/incidents/{incident}/timeline"), &admin)
            .await,
    )
    .await;
    let (_, audit) = json(app.get("/api/v1/audit?limit=1000", &admin).await).await;
    for text in [detail.to_string(), timeline.to_string(), audit.to_string()] {
        assert!(
            !text.contains("\"bob\"") && !text.contains("user:bob"),
            "{text}"
        );
        assert!(text.contains(&placeholder), "{text}");
    }
    let mut check = frontline_core::audit::ChainCheck::default();
    let records: Vec<frontline_core::audit::AuditRecord> =
        serde_json::from_value(audit["items"].clone()).unwrap();
    for r in &records {
        check.check(r).unwrap();
    }
    assert!(check.erased() >= 3, "{audit}");
    // A second request finds nothing more to erase, and gives the same placeholder.
    let (_, again) = json(
        app.post_json("/api/v1/erasures/people", &admin, &json!({"user": "bob"}))
            .await,
    )
    .await;
    assert_eq!(again["placeholder"], placeholder.as_str());
    assert_eq!(again["counts"]["audit_fields_erased"], 0, "{again}");
}

frontline_testkit::backend_tests!(
    one_customers_data_is_erased_and_the_ledger_records_it,
    a_person_is_erased_their_token_ends_and_the_audit_log_still_verifies
);
