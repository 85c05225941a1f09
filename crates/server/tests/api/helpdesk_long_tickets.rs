//! Long tickets: a write whose answer was lost is read back from the whole ticket, every page
//! of it (Zendesk lists 100 comments a page, Freshdesk 30 unless asked for 100), so a customer
//! with a long history is not sent the same reply twice.

use crate::helpdesk_writeback::{
    answers, approve_and_publish, connect_zendesk, people, post, write_back_for,
};
use frontline_testkit::fake_per_ticket::{self, FakePerTicket};
use frontline_testkit::fake_zendesk::{FakeZendesk, Faults};
use frontline_testkit::{Backend, spawn_app_with};
use serde_json::json;
use std::time::Duration;

async fn a_long_ticket_is_read_back_to_its_end(backend: Backend) {
    let zendesk =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
    let freshdesk = FakePerTicket::freshdesk("fd-key", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
        c.helpdesks.timeout_ms = 500;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_zendesk(&app, &admin, &zendesk.url()).await;
    post(
        &app,
        "/api/v1/helpdesks",
        &admin,
        json!({"name": "fd", "kind": "freshdesk", "base_url": freshdesk.url(),
               "auth": {"api_key": "fd-key"}}),
    )
    .await;
    // 150 messages on the Zendesk ticket, 40 on the Freshdesk one: the replies land past the
    // first page of each.
    zendesk.open_ticket("7", "501", "Refund", "where is my refund");
    for i in 1..150 {
        zendesk.customer_comment("7", &format!("still waiting ({i})"));
    }
    for i in 0..40 {
        freshdesk.customer_comment("8", &format!("still waiting ({i})"));
    }
    let now = chrono::Utc::now().to_rfc3339();
    post(
        &app,
        "/api/v1/contacts",
        &ingest,
        json!([{"source": "zd", "id": "7:0", "channel": "ticket", "received_at": now,
                "text": "where is my refund"},
               {"source": "fd", "id": "8:0", "channel": "ticket", "received_at": now,
                "text": "where is my refund"}]),
    )
    .await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "Refunds late", "severity": "SEV3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "zd", "id": "7:0"}, {"source": "fd", "id": "8:0"}]}),
    )
    .await;
    let sid = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "customers", "body": "Refunds are on their way."}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(&app, sid, &tokens, true).await;
    // Every write (the link note, then the reply) is applied and its answer lost.
    zendesk.inject(Faults {
        apply_then_hang: 2,
        ..Faults::default()
    });
    freshdesk.inject(fake_per_ticket::Faults {
        apply_then_hang: 2,
        ..fake_per_ticket::Faults::default()
    });
    write_back_for(&app, "zd").await;
    write_back_for(&app, "fd").await;
    for (name, comments) in [
        ("zd", zendesk.comments("7")),
        ("fd", freshdesk.comments("8")),
    ] {
        let ours: Vec<_> = answers(comments)
            .into_iter()
            .filter(|c| c.body.contains("Refunds are on their way."))
            .collect();
        assert_eq!(ours.len(), 1, "{name}: {ours:?}");
    }
}

frontline_testkit::backend_tests!(a_long_ticket_is_read_back_to_its_end);
