//! The end of an incident in the helpdesk: a preview of the wrap-up, the linked tickets solved
//! only after their last reply (and Zendesk's incident tag swapped for the resolved one), a
//! ticket another open incident links left open, and a fan-out its commander aborts sending
//! nothing more, not even to tickets linked afterwards.

use crate::helpdesk_writeback::{
    answer_tickets, answers, approve_and_publish, connect_intercom_and_freshdesk, connect_zendesk,
    people, post, write_back, write_back_for,
};
use frontline_testkit::fake_per_ticket::FakePerTicket;
use frontline_testkit::fake_zendesk::{FakeZendesk, Faults};
use frontline_testkit::{Backend, TestApp, json, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

/// Publishes a final version `body` of customers statement `sid`.
async fn publish_final(app: &TestApp, sid: i64, tokens: &[String; 3], body: &str) {
    let (status, edited) = json(
        app.client
            .put(app.url(&format!("/api/v1/statements/{sid}")))
            .bearer_auth(&tokens[2])
            .json(&json!({"body": body, "final": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    approve_and_publish(app, sid, tokens, true).await;
}

async fn resolve(app: &TestApp, incident: i64, token: &str) {
    let (status, answer) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{incident}"),
            token,
            &json!({"state": "resolved"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, answer) = json(app.get(path, token).await).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

/// The statement an incident's customers read: its id.
async fn customers_statement(app: &TestApp, incident: i64, token: &str) -> i64 {
    let list = get(
        app,
        &format!("/api/v1/incidents/{incident}/statements"),
        token,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["audience"] == "customers")
        .and_then(|s| s["id"].as_i64())
        .expect("a customers statement")
}

async fn resolved_tickets_are_solved_after_their_last_reply(backend: Backend) {
    let fake =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_zendesk(&app, &admin, &fake.url()).await;
    let tickets: Vec<String> = ["11", "12", "13"].map(String::from).to_vec();
    let incident = answer_tickets(
        &app,
        &ingest,
        &tokens,
        &tickets,
        "charged twice",
        "We are looking into double charges.",
    )
    .await;
    // Ticket 13 is also part of another incident, still open, through a later message.
    let now = chrono::Utc::now().to_rfc3339();
    post(
        &app,
        "/api/v1/contacts",
        &ingest,
        json!([{"source": "zd", "id": "13:7", "channel": "ticket", "received_at": now,
                "text": "and now my card is declined"}]),
    )
    .await;
    let other = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "Card declines", "severity": "SEV3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{other}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "zd", "id": "13:7"}]}),
    )
    .await;
    write_back(&app).await;
    let wrap_up = format!("/api/v1/incidents/{incident}/helpdesk/wrap-up");

    // Not resolved yet: the preview says why, and solving is refused naming it.
    let preview = get(&app, &wrap_up, &tokens[0]).await;
    assert_eq!(
        preview["blocked"], "the incident is not resolved",
        "{preview}"
    );
    let (status, err) = json(
        app.post_json(&wrap_up, &tokens[0], &json!({"solve": true}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not resolved"),
        "{err}"
    );

    let sid = customers_statement(&app, incident, &tokens[0]).await;
    publish_final(
        &app,
        sid,
        &tokens,
        "The double charges are refunded. Sorry.",
    )
    .await;
    resolve(&app, incident, &tokens[0]).await;
    let preview = get(&app, &wrap_up, &tokens[0]).await;
    assert_eq!(preview["blocked"], Value::Null, "{preview}");
    assert_eq!(preview["version"], 2, "{preview}");
    let zd = &preview["connections"][0];
    assert_eq!(
        (
            zd["tickets"].clone(),
            zd["to_solve"].clone(),
            zd["kept_open"].clone()
        ),
        (json!(3), json!(2), json!(1)),
        "{preview}"
    );
    // Version 2 has not reached the tickets yet.
    assert_eq!(zd["answered"], 0, "{preview}");
    assert_eq!(preview["samples"][0]["tickets"], 3, "{preview}");
    assert_eq!(
        preview["samples"][0]["text"],
        "The double charges are refunded. Sorry."
    );

    let (status, err) = json(
        app.post_json(&wrap_up, &tokens[0], &json!({"solve": false}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].clone()),
        (422, json!("solve")),
        "{err}"
    );
    let (status, done) = json(
        app.post_json(&wrap_up, &tokens[0], &json!({"solve": true}))
            .await,
    )
    .await;
    assert_eq!((status, done["planned"].clone()), (202, json!(2)), "{done}");
    // Asking again plans nothing more.
    let (status, again) = json(
        app.post_json(&wrap_up, &tokens[0], &json!({"solve": true}))
            .await,
    )
    .await;
    assert_eq!(
        (status, again["planned"].clone()),
        (202, json!(0)),
        "{again}"
    );

    // The final reply's first job fails: each solve must still wait for its ticket's reply.
    fake.inject(Faults {
        fail_updates: 1,
        ..Faults::default()
    });
    write_back(&app).await;
    for t in ["11", "12"] {
        assert_eq!(fake.status(t).as_deref(), Some("solved"), "ticket {t}");
        let tags = fake.tags(t);
        assert!(
            tags.contains(&format!("frontline-resolved-{incident}")),
            "{tags:?}"
        );
        assert!(
            !tags.contains(&format!("frontline-incident-{incident}")),
            "{tags:?}"
        );
        let replies: Vec<String> = answers(fake.comments(t))
            .into_iter()
            .filter(|c| c.public)
            .map(|c| c.body)
            .collect();
        assert_eq!(
            replies.last().map(String::as_str),
            Some("The double charges are refunded. Sorry."),
            "{replies:?}"
        );
    }
    assert_eq!(
        fake.status("13"),
        None,
        "ticket 13 is still in an open incident"
    );
    assert!(
        fake.tags("13")
            .contains(&format!("frontline-incident-{incident}"))
    );
    // Each solve went after that ticket's final reply.
    let ledger = get(
        &app,
        &format!("/api/v1/incidents/{incident}/helpdesk"),
        &tokens[0],
    )
    .await;
    let items = ledger["items"].as_array().unwrap();
    for t in ["11", "12"] {
        let sent = |action: &str| {
            items
                .iter()
                .find(|w| w["ticket"] == t && w["action"] == action && w["version"] == 2)
                .and_then(|w| w["sent_at"].as_str())
                .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap())
                .unwrap_or_else(|| panic!("{t} {action} not sent: {ledger}"))
        };
        assert!(sent("reply") <= sent("solve"), "{ledger}");
    }
    let preview = get(&app, &wrap_up, &tokens[0]).await;
    assert_eq!(preview["connections"][0]["solves"]["sent"], 2, "{preview}");
    assert_eq!(preview["connections"][0]["answered"], 3, "{preview}");
    let audit = app.store.audit_records(0, 10_000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.action == "helpdesk.wrap_up" && r.actor == "user:sam")
    );
}

async fn an_aborted_fan_out_sends_nothing_more(backend: Backend) {
    let fake =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
        c.helpdesks.breaker_failures = 100;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    // The wrong token: every write is refused and stays pending, a fan-out under way.
    post(
        &app,
        "/api/v1/helpdesks",
        &admin,
        json!({"name": "zd", "kind": "zendesk", "base_url": fake.url(),
               "signing_secret": "zendesk-secret-1",
               "auth": {"email": "ops@example.com", "api_token": "wrong"}}),
    )
    .await;
    let tickets: Vec<String> = (1..=5).map(|t| t.to_string()).collect();
    let incident = answer_tickets(
        &app,
        &ingest,
        &tokens,
        &tickets,
        "a text asked for my code",
        "Reply STOP to this message.",
    )
    .await;
    frontline_server::workers::helpdesk::round(&app.state)
        .await
        .unwrap();
    let abort = format!("/api/v1/incidents/{incident}/helpdesk/abort");
    let (status, err) = json(app.post_json(&abort, &tokens[0], &json!({})).await).await;
    assert_eq!(status, 200, "{err}");
    assert_eq!(err["cancelled"], 5, "five replies stopped: {err}");
    let (status, err) = json(
        app.post_json(
            "/api/v1/incidents/999999/helpdesk/abort",
            &tokens[0],
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "{err}");

    // The credentials mended and a sixth ticket linked: link notes go out, the aborted
    // version reaches no one, the sixth ticket included.
    let (status, changed) = json(
        app.client
            .patch(app.url("/api/v1/helpdesks/zd"))
            .bearer_auth(&admin)
            .json(&json!({"auth": {"email": "ops@example.com", "api_token": "zd-token"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let now = chrono::Utc::now().to_rfc3339();
    post(
        &app,
        "/api/v1/contacts",
        &ingest,
        json!([{"source": "zd", "id": "6:0", "channel": "ticket", "received_at": now,
                "text": "same text here"}]),
    )
    .await;
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "zd", "id": "6:0"}]}),
    )
    .await;
    write_back(&app).await;
    for t in 1..=6 {
        let t = t.to_string();
        let all = fake.comments(&t);
        assert_eq!(all.len(), 1, "only the link note on {t}: {all:?}");
        assert!(all[0].body.contains("Linked to Frontline incident"));
    }
    // A new version is a new decision: it goes to every ticket.
    let sid = customers_statement(&app, incident, &tokens[0]).await;
    let (status, edited) = json(
        app.client
            .put(app.url(&format!("/api/v1/statements/{sid}")))
            .bearer_auth(&tokens[2])
            .json(&json!({"body": "We never ask for your code."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    approve_and_publish(&app, sid, &tokens, true).await;
    write_back(&app).await;
    for t in 1..=6 {
        let replies: Vec<String> = answers(fake.comments(&t.to_string()))
            .into_iter()
            .map(|c| c.body)
            .collect();
        assert_eq!(replies, ["We never ask for your code."], "ticket {t}");
    }
    let audit = app.store.audit_records(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "helpdesk.abort"));
}

async fn intercom_and_freshdesk_tickets_are_closed_at_wrap_up(backend: Backend) {
    let intercom = FakePerTicket::intercom("ic-token", 1_000, Duration::from_secs(1)).await;
    let freshdesk = FakePerTicket::freshdesk("fd-key", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
        c.helpdesks.timeout_ms = 1_000;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_intercom_and_freshdesk(&app, &admin, &intercom.url(), &freshdesk.url()).await;
    let now = chrono::Utc::now().to_rfc3339();
    let contacts = json!([
        {"source": "ic", "id": "70:0", "channel": "chat", "received_at": now, "text": "locked out"},
        {"source": "fd", "id": "80:0", "channel": "ticket", "received_at": now, "text": "locked out"},
    ]);
    post(&app, "/api/v1/contacts", &ingest, contacts).await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "Lockouts", "severity": "SEV3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "ic", "id": "70:0"}, {"source": "fd", "id": "80:0"}]}),
    )
    .await;
    let sid = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "customers", "body": "You can sign in again.", "final": true}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(&app, sid, &tokens, true).await;
    // While the incident is open, linking tags each ticket with it.
    write_back_for(&app, "ic").await;
    write_back_for(&app, "fd").await;
    let tag = format!("frontline-incident-{incident}");
    assert_eq!(intercom.tags("70"), std::slice::from_ref(&tag));
    assert_eq!(freshdesk.tags("80"), std::slice::from_ref(&tag));
    resolve(&app, incident, &tokens[0]).await;
    let (status, done) = json(
        app.post_json(
            &format!("/api/v1/incidents/{incident}/helpdesk/wrap-up"),
            &tokens[1],
            &json!({"solve": true}),
        )
        .await,
    )
    .await;
    assert_eq!((status, done["planned"].clone()), (202, json!(2)), "{done}");
    write_back_for(&app, "ic").await;
    write_back_for(&app, "fd").await;
    assert_eq!(intercom.status("70").as_deref(), Some("closed"));
    assert_eq!(freshdesk.status("80").as_deref(), Some("4"));
    let resolved = format!("frontline-resolved-{incident}");
    assert_eq!(intercom.tags("70"), std::slice::from_ref(&resolved));
    assert_eq!(freshdesk.tags("80"), [resolved]);
    for (fake, t) in [(&intercom, "70"), (&freshdesk, "80")] {
        let replies: Vec<_> = answers(fake.comments(t))
            .into_iter()
            .filter(|c| c.public)
            .collect();
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert!(replies[0].body.contains("You can sign in again."));
    }
}

frontline_testkit::backend_tests!(
    resolved_tickets_are_solved_after_their_last_reply,
    an_aborted_fan_out_sends_nothing_more,
    intercom_and_freshdesk_tickets_are_closed_at_wrap_up,
);
