//! Sweeps of Intercom and Freshdesk: what their webhooks missed is taken in from their APIs
//! once, under the ids the webhooks give (a Freshdesk reply delivered by webhook and found by
//! the sweep is one contact), and agents' replies are not taken for customers'.

use crate::helpdesk_writeback::{connect_intercom_and_freshdesk, post};
use frontline_core::Role;
use frontline_testkit::fake_per_ticket::FakePerTicket;
use frontline_testkit::{Backend, json, spawn_app_with};
use serde_json::json;
use std::time::Duration;

async fn intercom_and_freshdesk_sweeps_take_in_what_webhooks_missed_once(backend: Backend) {
    let intercom = FakePerTicket::intercom("ic-token", 1_000, Duration::from_secs(1)).await;
    let freshdesk = FakePerTicket::freshdesk("fd-key", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
    })
    .await
    else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let reader = app.token(Role::Security).await;
    let fd = connect_intercom_and_freshdesk(&app, &admin, &intercom.url(), &freshdesk.url()).await;
    let fd_token = fd["token"]
        .as_str()
        .expect("the webhook token, shown once")
        .to_owned();
    intercom.open_ticket(
        "c1",
        "u501",
        "Odd text",
        "Got a text asking me to confirm my card",
    );
    intercom.customer_comment("c1", "It happened again, by e-mail this time");
    freshdesk.open_ticket(
        "71",
        "601",
        "Locked out",
        "I cannot log in since this morning",
    );
    freshdesk.customer_comment("71", "Still locked out");
    // Agents answered in the helpdesk: activity, not what customers said.
    let vendor = reqwest::Client::new();
    let r = vendor
        .post(format!("{}/conversations/c1/reply", intercom.url()))
        .bearer_auth("ic-token")
        .json(
            &json!({"message_type": "comment", "type": "admin", "admin_id": "814860",
                      "body": "We are looking into it"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = vendor
        .post(format!("{}/api/v2/tickets/71/reply", freshdesk.url()))
        .basic_auth("fd-key", Some("X"))
        .json(&json!({"body": "Please reset your password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Freshdesk's webhook delivered the customer's reply; nothing else arrived.
    let (status, taken) = json(
        app.client
            .post(app.url("/api/v1/integrations/freshdesk/fd"))
            .bearer_auth(&fd_token)
            .json(
                &json!({"event": "ticket.replied", "ticket_id": "71", "requester": "601",
                          "body": "Still locked out"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{taken}");

    let ic = post(&app, "/api/v1/helpdesks/ic/sweep", &admin, json!({})).await;
    assert_eq!(
        (
            ic["tickets"].clone(),
            ic["stored"].clone(),
            ic["duplicates"].clone()
        ),
        (json!(1), json!(2), json!(0)),
        "{ic}"
    );
    let fd = post(&app, "/api/v1/helpdesks/fd/sweep", &admin, json!({})).await;
    assert_eq!(
        (
            fd["tickets"].clone(),
            fd["stored"].clone(),
            fd["duplicates"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "the webhook's reply is the sweep's: {fd}"
    );
    for name in ["ic", "fd"] {
        let again = post(
            &app,
            &format!("/api/v1/helpdesks/{name}/sweep"),
            &admin,
            json!({}),
        )
        .await;
        assert_eq!(again["stored"], 0, "{name}: {again}");
    }
    for (source, expected) in [("ic", ["c1:0", "c1:100000"]), ("fd", ["71:0", "71:r"])] {
        let (_, page) = json(
            app.get(
                &format!("/api/v1/contacts?source={source}&limit=100"),
                &reader,
            )
            .await,
        )
        .await;
        let items = page["items"].as_array().unwrap();
        let mut ids: Vec<&str> = items.iter().map(|c| c["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        assert_eq!(ids.len(), 2, "{page}");
        assert_eq!(ids[0], expected[0], "{page}");
        assert!(ids[1].starts_with(expected[1]), "{page}");
        let texts: Vec<&str> = items.iter().map(|c| c["text"].as_str().unwrap()).collect();
        assert!(
            !texts
                .iter()
                .any(|t| t.contains("looking into it") || t.contains("reset your")),
            "agents' replies are not contacts: {texts:?}"
        );
    }
}

frontline_testkit::backend_tests!(intercom_and_freshdesk_sweeps_take_in_what_webhooks_missed_once);
