//! The helpdesk write-back against a fake Zendesk on loopback that speaks Zendesk's API, with
//! its rate budget, 5xx answers and writes whose answers are lost: every linked ticket ends
//! with exactly one reply of each published version, a newer version goes only where the
//! older one went, and a ticket linked later gets only the current one.

use frontline_core::Role;
use frontline_testkit::fake_per_ticket::{self, FakePerTicket};
use frontline_testkit::fake_zendesk::{Comment, FakeZendesk, Faults};
use frontline_testkit::{Backend, TestApp, json, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

const TICKETS: usize = 2_000;

pub(crate) async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = json(app.post_json(path, token, &body).await).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

/// Connects the Zendesk at `base_url` as `zd`.
pub(crate) async fn connect_zendesk(app: &TestApp, admin: &str, base_url: &str) {
    post(
        app,
        "/api/v1/helpdesks",
        admin,
        json!({"name": "zd", "kind": "zendesk", "base_url": base_url,
               "signing_secret": "zendesk-secret-1",
               "auth": {"email": "ops@example.com", "api_token": "zd-token"}}),
    )
    .await;
}

/// Connects the fake Intercom at `intercom` as `ic` (token `ic-token`, admin 814860) and the
/// fake Freshdesk at `freshdesk` as `fd` (key `fd-key`); answers the `fd` connection, whose
/// `token` its webhooks carry.
pub(crate) async fn connect_intercom_and_freshdesk(
    app: &TestApp,
    admin: &str,
    intercom: &str,
    freshdesk: &str,
) -> Value {
    post(
        app,
        "/api/v1/helpdesks",
        admin,
        json!({"name": "ic", "kind": "intercom", "base_url": intercom,
               "signing_secret": "intercom-secret",
               "auth": {"access_token": "ic-token", "admin_id": "814860"}}),
    )
    .await;
    post(
        app,
        "/api/v1/helpdesks",
        admin,
        json!({"name": "fd", "kind": "freshdesk", "base_url": freshdesk,
               "auth": {"api_key": "fd-key"}}),
    )
    .await
}

/// An admin token, an ingest token, and the three people who draft, approve and publish:
/// `[security, cx_lead, comms]`.
pub(crate) async fn people(app: &TestApp) -> (String, String, [String; 3]) {
    let tokens = [
        app.token_for("sam", Role::Security).await,
        app.token_for("carla", Role::CxLead).await,
        app.token_for("cora", Role::Comms).await,
    ];
    (
        app.token(Role::Admin).await,
        app.token(Role::Ingest).await,
        tokens,
    )
}

/// Approves statement `sid`'s latest version by the roles its audience needs (both teams for
/// customers, the CX lead for agents) and publishes it.
pub(crate) async fn approve_and_publish(
    app: &TestApp,
    sid: i64,
    tokens: &[String; 3],
    both_teams: bool,
) {
    let [security, lead, comms] = tokens;
    let approve = format!("/api/v1/statements/{sid}/approve");
    if both_teams {
        post(app, &approve, security, json!({})).await;
    }
    post(app, &approve, lead, json!({})).await;
    post(
        app,
        &format!("/api/v1/statements/{sid}/publish"),
        comms,
        json!({}),
    )
    .await;
}

/// One customer message per ticket (`TICKET:0` from `zd`) saying `text`, an incident linking
/// them all, and a `customers` statement saying `answer` approved by both teams and published;
/// answers the incident's id.
pub(crate) async fn answer_tickets(
    app: &TestApp,
    ingest: &str,
    tokens: &[String; 3],
    tickets: &[String],
    text: &str,
    answer: &str,
) -> i64 {
    let now = chrono::Utc::now().to_rfc3339();
    let contacts: Vec<Value> = tickets
        .iter()
        .map(|t| {
            json!({"source": "zd", "id": format!("{t}:0"), "channel": "ticket",
                   "received_at": now, "text": text})
        })
        .collect();
    post(app, "/api/v1/contacts", ingest, Value::Array(contacts)).await;
    let incident = post(
        app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "Double charges", "severity": "SEV2"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let links: Vec<Value> = tickets
        .iter()
        .map(|t| json!({"source": "zd", "id": format!("{t}:0")}))
        .collect();
    post(
        app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": links}),
    )
    .await;
    let sid = post(
        app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "customers", "body": answer}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(app, sid, tokens, true).await;
    incident
}

/// A ticket's comments other than the link note every linked ticket gets, in order.
pub(crate) fn answers(comments: Vec<Comment>) -> Vec<Comment> {
    comments
        .into_iter()
        .filter(|c| !c.body.contains("Linked to Frontline incident"))
        .collect()
}

/// Steps the write-back until nothing is open; answers the rounds taken.
pub(crate) async fn write_back(app: &TestApp) -> usize {
    for round in 1..=40 {
        frontline_server::workers::helpdesk::round(&app.state)
            .await
            .expect("a round");
        let open = app.store.open_helpdesk_writes("zd", 10_000).await.unwrap();
        if open.is_empty() {
            return round;
        }
    }
    panic!("writes still open after 40 rounds");
}

async fn each_linked_ticket_gets_each_version_once_through_faults(backend: Backend) {
    let fake = FakeZendesk::start("ops@example.com", "zd-token", 40, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        // The write-back's own budget, set to what the fake allows (40 a second).
        c.helpdesks.requests_per_minute = 2_400;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.timeout_ms = 1_000;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_zendesk(&app, &admin, &fake.url()).await;
    let now = chrono::Utc::now().to_rfc3339();
    let tickets: Vec<String> = (0..TICKETS).map(|i| (10_000 + i).to_string()).collect();
    for chunk in tickets.chunks(500) {
        let contacts: Vec<Value> = chunk
            .iter()
            .map(|t| {
                json!({"source": "zd", "id": format!("{t}:0"), "channel": "ticket",
                             "received_at": now, "text": "I got a text asking for my code"})
            })
            .collect();
        post(&app, "/api/v1/contacts", &ingest, Value::Array(contacts)).await;
    }
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "Smishing wave", "severity": "SEV2"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    for chunk in tickets.chunks(500) {
        let links: Vec<Value> = chunk
            .iter()
            .map(|t| json!({"source": "zd", "id": format!("{t}:0")}))
            .collect();
        post(
            &app,
            &format!("/api/v1/incidents/{incident}/links"),
            &tokens[0],
            json!({"contacts": links}),
        )
        .await;
    }
    let statement = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "customers", "body": "We never ask for your code. Ignore the text."}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(&app, statement, &tokens, true).await;

    // Two 503s, and two writes applied whose answers never come.
    fake.inject(Faults {
        fail_updates: 2,
        apply_then_hang: 2,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    write_back(&app).await;
    let took = started.elapsed();
    let (requests, limited) = fake.requests();
    for t in &tickets {
        let all = fake.comments(t);
        // One internal link note with the incident's title, and the incident's tag.
        let notes: Vec<&Comment> = all
            .iter()
            .filter(|c| c.body.contains("Linked to Frontline incident"))
            .collect();
        assert_eq!(notes.len(), 1, "ticket {t}: {all:?}");
        assert!(!notes[0].public && notes[0].body.contains("Smishing wave"));
        assert_eq!(fake.tags(t), [format!("frontline-incident-{incident}")]);
        let comments = answers(all);
        assert_eq!(comments.len(), 1, "ticket {t}: {comments:?}");
        assert!(comments[0].public);
        assert!(comments[0].body.starts_with("We never ask"));
    }
    eprintln!(
        "fan-out of {TICKETS} tickets: {took:?}, {requests} requests, {limited} answered 429 (budget 40/s)"
    );

    // A second version reaches each ticket once more, after the first.
    let (status, _) = json(
        app.client
            .put(app.url(&format!("/api/v1/statements/{statement}")))
            .bearer_auth(&tokens[2])
            .json(&json!({"body": "Update: the texts came from a lookalike number. Ignore them."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    approve_and_publish(&app, statement, &tokens, true).await;
    write_back(&app).await;
    for t in &tickets {
        let comments = answers(fake.comments(t));
        assert_eq!(comments.len(), 2, "ticket {t}: {comments:?}");
        assert!(comments[1].body.starts_with("Update:"));
    }

    // A ticket linked later gets the current version only.
    post(
        &app,
        "/api/v1/contacts",
        &ingest,
        json!({"source": "zd", "id": "99999:0", "channel": "ticket", "received_at": now,
               "text": "same text here"}),
    )
    .await;
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "zd", "id": "99999:0"}]}),
    )
    .await;
    write_back(&app).await;
    let late = fake.comments("99999");
    assert_eq!(late.len(), 2, "{late:?}");
    let late = answers(late);
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(late[0].body.starts_with("Update:"));

    // Rounds with nothing new write nothing.
    let before = fake.requests().0;
    frontline_server::workers::helpdesk::round(&app.state)
        .await
        .unwrap();
    assert_eq!(fake.requests().0, before);

    let (status, ledger) = json(
        app.get(
            &format!("/api/v1/incidents/{incident}/helpdesk"),
            &tokens[0],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{ledger}");
    let (status, metrics) = json(
        app.get(&format!("/api/v1/incidents/{incident}/metrics"), &tokens[0])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{metrics}");
    let answered = &metrics["tickets"];
    assert_eq!(answered["linked"], TICKETS + 1, "{answered}");
    assert_eq!(answered["answered_with_latest"], TICKETS + 1, "{answered}");
    assert!(answered["time_to_first_answer_seconds"].as_i64().unwrap() >= 0);
    assert_eq!(
        ledger["counts"]["zd"]["sent"],
        // Two replies per ticket and the late one's, and each ticket's link note.
        2 * TICKETS + 1 + TICKETS + 1,
        "{}",
        ledger["counts"]
    );
}

async fn a_closed_ticket_is_given_up_and_the_rest_are_answered(backend: Backend) {
    let fake =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
        c.helpdesks.max_attempts = 2;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_zendesk(&app, &admin, &fake.url()).await;
    let now = chrono::Utc::now().to_rfc3339();
    let contacts: Vec<Value> = (1..=3)
        .map(|t| {
            json!({"source": "zd", "id": format!("{t}:0"), "channel": "ticket",
                         "received_at": now, "text": "locked out"})
        })
        .collect();
    post(&app, "/api/v1/contacts", &ingest, Value::Array(contacts)).await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "ATO", "severity": "SEV2"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "zd", "id": "1:0"}, {"source": "zd", "id": "2:0"}, {"source": "zd", "id": "3:0"}]}),
    )
    .await;
    // Agents' talking points become internal notes.
    let sid = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "agents", "body": "Reset their sessions; do not discuss the cause."}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(&app, sid, &tokens, false).await;
    fake.inject(Faults {
        refuse_tickets: vec!["2".into()],
        ..Faults::default()
    });
    write_back(&app).await;
    for t in ["1", "3"] {
        let c = answers(fake.comments(t));
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(!c[0].public, "an agents version is an internal note");
    }
    assert!(fake.comments("2").is_empty());
    let writes = app.store.incident_helpdesk_writes(incident).await.unwrap();
    let closed = writes.iter().find(|w| w.key.ticket == "2").unwrap();
    assert_eq!(closed.status.as_str(), "failed");
    assert_eq!(closed.attempts, 2);
    assert!(closed.last_error.is_some());
}

async fn contact_data_bound_for_tickets_needs_a_confirmation(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
    })
    .await
    else {
        return;
    };
    let (admin, _, tokens) = people(&app).await;
    connect_zendesk(&app, &admin, "http://127.0.0.1:9").await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "x", "severity": "SEV3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let sid = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "customers", "body": "Write to jane.doe@example.com or call +44 20 7946 0958."}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let approve = format!("/api/v1/statements/{sid}/approve");
    post(&app, &approve, &tokens[0], json!({})).await;
    post(&app, &approve, &tokens[1], json!({})).await;
    let publish = format!("/api/v1/statements/{sid}/publish");
    let (status, refused) = json(app.post_json(&publish, &tokens[2], &json!({})).await).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "contact_data");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("email") && message.contains("phone"),
        "{message}"
    );
    let (_, got) = json(
        app.get(&format!("/api/v1/statements/{sid}"), &tokens[2])
            .await,
    )
    .await;
    assert!(got["published"].is_null(), "nothing published: {got}");
    let (status, bad) = json(
        app.post_json(&publish, &tokens[2], &json!({"confirm": true}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let (status, published) = json(
        app.post_json(&publish, &tokens[2], &json!({"confirm_contact_data": true}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{published}");
    let audit = app.store.audit_records(0, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.action == "statement.contact_data_confirmed" && r.actor == "user:cora")
    );
}

/// Steps the write-back until connection `name` has nothing open.
pub(crate) async fn write_back_for(app: &TestApp, name: &str) {
    for _ in 0..40 {
        frontline_server::workers::helpdesk::round(&app.state)
            .await
            .expect("a round");
        if app
            .store
            .open_helpdesk_writes(name, 10_000)
            .await
            .unwrap()
            .is_empty()
        {
            return;
        }
    }
    panic!("{name}: writes still open after 40 rounds");
}

async fn intercom_and_freshdesk_tickets_get_each_version_once_through_faults(backend: Backend) {
    let intercom = FakePerTicket::intercom("ic-token", 30, Duration::from_secs(1)).await;
    let freshdesk = FakePerTicket::freshdesk("fd-key", 30, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
        c.helpdesks.timeout_ms = 1_000;
        // Six faults in a row are the point here, not a reason to pause the connection
        // (`a_failing_connection_pauses_and_resumes_by_itself` tests that).
        c.helpdesks.breaker_failures = 20;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_intercom_and_freshdesk(&app, &admin, &intercom.url(), &freshdesk.url()).await;
    let now = chrono::Utc::now().to_rfc3339();
    let mut contacts = Vec::new();
    let mut links = Vec::new();
    for source in ["ic", "fd"] {
        for t in 0..150 {
            contacts.push(
                json!({"source": source, "id": format!("{}:0", 500 + t), "channel": "chat",
                "received_at": now, "text": "someone changed my password"}),
            );
            links.push(json!({"source": source, "id": format!("{}:0", 500 + t)}));
        }
    }
    post(&app, "/api/v1/contacts", &ingest, Value::Array(contacts)).await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "ATO", "severity": "SEV2"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": links}),
    )
    .await;
    let customers = post(&app, &format!("/api/v1/incidents/{incident}/statements"), &tokens[2],
        json!({"audience": "customers", "body": "We reset your sessions.\n\nPlease set a new password."})).await["id"].as_i64().unwrap();
    approve_and_publish(&app, customers, &tokens, true).await;
    let agents = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "agents", "body": "Do not share the cause yet."}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(&app, agents, &tokens, false).await;
    for fake in [&intercom, &freshdesk] {
        fake.inject(fake_per_ticket::Faults {
            fail_writes: 3,
            apply_then_hang: 3,
        });
    }
    write_back_for(&app, "ic").await;
    write_back_for(&app, "fd").await;
    for (name, fake) in [("intercom", &intercom), ("freshdesk", &freshdesk)] {
        for t in 0..150 {
            let ticket = (500 + t).to_string();
            let all = fake.comments(&ticket);
            let links = all
                .iter()
                .filter(|c| !c.public && c.body.contains("Linked to Frontline incident"))
                .count();
            let comments = answers(all);
            let replies: Vec<_> = comments.iter().filter(|c| c.public).collect();
            let notes: Vec<_> = comments.iter().filter(|c| !c.public).collect();
            assert_eq!(
                (links, replies.len(), notes.len()),
                (1, 1, 1),
                "{name} ticket {ticket}: {comments:?}"
            );
            assert!(replies[0].body.contains("We reset your sessions."));
            assert!(notes[0].body.contains("Do not share the cause yet."));
        }
        let (requests, limited) = fake.requests();
        eprintln!(
            "{name}: 300 writes to 150 tickets in {requests} requests, {limited} answered 429 (budget 30/s)"
        );
    }
}

async fn a_restart_after_sending_sends_nothing_twice(backend: Backend) {
    let fake =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
    let Some(mut app) = spawn_app_with(backend, |c| {
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
    connect_zendesk(&app, &admin, &fake.url()).await;
    let tickets: Vec<String> = (0..120).map(|i| (7_000 + i).to_string()).collect();
    let incident = answer_tickets(
        &app,
        &ingest,
        &tokens,
        &tickets,
        "card charged twice",
        "Duplicate charges are being refunded.",
    )
    .await;
    // The first job (100 tickets) is applied and its answer lost; the second (20) is lost on
    // its way in. The process then stops with both unknown.
    fake.inject(Faults {
        apply_then_hang: 1,
        hang_before_apply: 1,
        ..Faults::default()
    });
    let first = frontline_server::workers::helpdesk::round(&app.state)
        .await
        .unwrap();
    assert_eq!(first.unknown, 120, "{first:?}");
    app.restart().await;
    write_back(&app).await;
    for t in &tickets {
        // The link note and the reply, each once.
        assert_eq!(
            fake.comments(t).len(),
            2,
            "ticket {t}: {:?}",
            fake.comments(t)
        );
        assert_eq!(answers(fake.comments(t)).len(), 1);
    }
    let writes = app.store.incident_helpdesk_writes(incident).await.unwrap();
    let resent = writes.iter().filter(|w| w.attempts == 2).count();
    assert_eq!(
        resent, 20,
        "only the writes that never arrived were sent again"
    );
}

async fn the_sweep_takes_in_what_webhooks_missed_once(backend: Backend) {
    let fake =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
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
    connect_zendesk(&app, &admin, &fake.url()).await;
    // Ticket 1 reached Frontline by webhook; ticket 2 and a reply on ticket 1 did not.
    fake.open_ticket(
        "1",
        "501",
        "Odd text",
        "Got a text asking me to confirm my card",
    );
    let event = frontline_testkit::helpdesk::zendesk_ticket_created(
        "1",
        "501",
        "Odd text",
        "Got a text asking me to confirm my card",
    );
    let bytes = serde_json::to_vec(&event).unwrap();
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let headers = frontline_testkit::helpdesk::zendesk_headers(
        "zendesk-secret-1",
        &ts,
        &bytes,
        frontline_testkit::helpdesk::ZendeskSigning::Right,
    );
    let (status, _) = json(
        frontline_testkit::helpdesk::send(
            &app.client,
            &app.url("/api/v1/integrations/zendesk/zd"),
            &headers,
            bytes,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    fake.customer_comment("1", "It happened again, this time by e-mail");
    fake.open_ticket(
        "2",
        "502",
        "Locked out",
        "I cannot log in since this morning",
    );
    let sweep = post(&app, "/api/v1/helpdesks/zd/sweep", &admin, json!({})).await;
    assert_eq!(sweep["tickets"], 2, "{sweep}");
    assert_eq!(
        (sweep["stored"].as_u64(), sweep["duplicates"].as_u64()),
        (Some(2), Some(1)),
        "{sweep}"
    );
    // Swept again: nothing new.
    let again = post(&app, "/api/v1/helpdesks/zd/sweep", &admin, json!({})).await;
    assert_eq!(again["stored"], 0, "{again}");
    let (_, page) = json(
        app.get("/api/v1/contacts?source=zd&limit=100", &reader)
            .await,
    )
    .await;
    let mut ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 3, "{page}");
    assert_eq!(&ids[..1], &["1:0"]);
    assert!(ids.contains(&"2:0"));
    let (_, got) = json(app.get("/api/v1/helpdesks/zd", &admin).await).await;
    assert!(got.get("health").is_some(), "{got}");
}

async fn a_failing_connection_pauses_and_resumes_by_itself(backend: Backend) {
    let fake =
        FakeZendesk::start("ops@example.com", "zd-token", 1_000, Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.helpdesks.interval_ms = 0;
        c.helpdesks.verify_after_ms = 0;
        c.helpdesks.requests_per_minute = 60_000;
        c.helpdesks.breaker_failures = 3;
        // Long enough that the checks below run while it rests, on a slow machine too.
        c.helpdesks.breaker_cooldown_ms = 3_000;
    })
    .await
    else {
        return;
    };
    let (admin, ingest, tokens) = people(&app).await;
    connect_zendesk(&app, &admin, &fake.url()).await;
    let tickets: Vec<String> = (0..500).map(|i| (70_000 + i).to_string()).collect();
    answer_tickets(
        &app,
        &ingest,
        &tokens,
        &tickets,
        "my card was charged twice",
        "Duplicate charges are being refunded.",
    )
    .await;

    // The vendor answers every update with a 503: after three in a row the connection rests.
    fake.inject(Faults {
        fail_updates: 1_000,
        ..Faults::default()
    });
    frontline_server::workers::helpdesk::round(&app.state)
        .await
        .unwrap();
    let (called, _) = fake.requests();
    let (_, got) = json(app.get("/api/v1/helpdesks/zd", &admin).await).await;
    assert!(got["health"]["paused_until"].is_string(), "{got}");
    assert_eq!(got["health"]["failures_in_a_row"], 3, "{got}");
    // While it rests, rounds call nothing.
    for _ in 0..3 {
        frontline_server::workers::helpdesk::round(&app.state)
            .await
            .unwrap();
    }
    assert_eq!(
        fake.requests().0,
        called,
        "calls while the circuit was open"
    );

    // The vendor recovers; after the cool-down the write-back resumes by itself and every
    // ticket gets the reply once.
    fake.inject(Faults::default());
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    write_back(&app).await;
    for t in &tickets {
        let comments = answers(fake.comments(t));
        assert_eq!(comments.len(), 1, "ticket {t}: {comments:?}");
    }
    let (_, got) = json(app.get("/api/v1/helpdesks/zd", &admin).await).await;
    assert!(got["health"]["paused_until"].is_null(), "{got}");
}

async fn each_customer_is_answered_once_in_their_language(backend: Backend) {
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
    let now = chrono::Utc::now().to_rfc3339();
    // Alice wrote in twice (tickets 1 and 2, and a comment on 1), Bob once.
    let contacts = json!([
        {"source": "zd", "id": "1:0", "channel": "ticket", "received_at": now,
         "customer": "alice@example.com", "text": "charged twice"},
        {"source": "zd", "id": "1:5", "channel": "ticket", "received_at": now,
         "customer": "alice@example.com", "text": "still charged twice"},
        {"source": "zd", "id": "2:0", "channel": "ticket", "received_at": now,
         "customer": "alice@example.com", "text": "why two charges??"},
        {"source": "zd", "id": "3:0", "channel": "ticket", "received_at": now,
         "customer": "bob@example.com", "language": "de-AT", "text": "doppelt abgebucht"},
    ]);
    post(&app, "/api/v1/contacts", &ingest, contacts).await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &tokens[0],
        json!({"title": "Double charges", "severity": "SEV3"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{incident}/links"),
        &tokens[0],
        json!({"contacts": [{"source": "zd", "id": "1:0"}, {"source": "zd", "id": "1:5"},
                            {"source": "zd", "id": "2:0"}, {"source": "zd", "id": "3:0"}]}),
    )
    .await;
    let sid = post(
        &app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &tokens[2],
        json!({"audience": "customers", "body": "Duplicate charges are being refunded.",
               "translations": {"de": {"body": "Doppelte Abbuchungen werden erstattet."}}}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    approve_and_publish(&app, sid, &tokens, true).await;
    write_back(&app).await;
    let public =
        |t: &str| -> Vec<Comment> { fake.comments(t).into_iter().filter(|c| c.public).collect() };
    assert_eq!(public("1").len(), 1, "{:?}", fake.comments("1"));
    assert_eq!(public("3").len(), 1, "{:?}", fake.comments("3"));
    // Bob wrote in German: his reply is the German translation; Alice's is the original.
    assert_eq!(
        public("3")[0].body,
        "Doppelte Abbuchungen werden erstattet."
    );
    assert_eq!(public("1")[0].body, "Duplicate charges are being refunded.");
    assert!(public("2").is_empty(), "{:?}", fake.comments("2"));
    let notes = answers(fake.comments("2"));
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].body.contains("went to ticket 1"), "{notes:?}");
    assert!(
        notes[0]
            .body
            .contains("Duplicate charges are being refunded.")
    );
    // Each ticket counts as answered with the latest version.
    let (_, metrics) = json(
        app.get(&format!("/api/v1/incidents/{incident}/metrics"), &tokens[0])
            .await,
    )
    .await;
    assert_eq!(metrics["tickets"]["linked"], 3, "{metrics}");
    assert_eq!(metrics["tickets"]["answered_with_latest"], 3, "{metrics}");
}

frontline_testkit::backend_tests!(
    each_customer_is_answered_once_in_their_language,
    a_failing_connection_pauses_and_resumes_by_itself,
    the_sweep_takes_in_what_webhooks_missed_once,
    a_restart_after_sending_sends_nothing_twice,
    intercom_and_freshdesk_tickets_get_each_version_once_through_faults,
    contact_data_bound_for_tickets_needs_a_confirmation,
    each_linked_ticket_gets_each_version_once_through_faults,
    a_closed_ticket_is_given_up_and_the_rest_are_answered,
);
