//! Helpdesk connections and their webhooks, against the real server: admins connect them
//! without ever seeing a secret again; webhooks signed as each vendor signs them become one
//! contact per customer message whatever is replayed; a bad signature, a stale timestamp or a
//! wrong token is a 401 naming it, with nothing stored.

use frontline_core::Role;
use frontline_testkit::helpdesk::{
    ZendeskSigning, intercom_header, send, zendesk_comment_added, zendesk_headers,
    zendesk_tags_changed, zendesk_ticket_created,
};
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use serde_json::{Value, json};

const SECRET: &str = "zendesk-signing-secret-1";
const API_TOKEN: &str = "zd-api-token-very-secret";

async fn connect(app: &TestApp, admin: &str, body: Value) -> Value {
    let (status, made) = json(app.post_json("/api/v1/helpdesks", admin, &body).await).await;
    assert_eq!(status, 201, "{made}");
    made
}

fn zendesk(name: &str) -> Value {
    json!({
        "name": name,
        "kind": "Zendesk",
        "base_url": "http://127.0.0.1:9/",
        "signing_secret": SECRET,
        "auth": {"email": "ops@example.com", "api_token": API_TOKEN},
    })
}

/// Sends a Zendesk event signed with `secret` at `timestamp`.
async fn zendesk_event(
    app: &TestApp,
    path: &str,
    secret: &str,
    timestamp: &str,
    body: &Value,
    signing: ZendeskSigning,
) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let headers = zendesk_headers(secret, timestamp, &bytes, signing);
    json(send(&app.client, &app.url(path), &headers, bytes).await).await
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn contact_count(app: &TestApp, token: &str, source: &str) -> usize {
    let (status, page) = json(
        app.get(
            &format!("/api/v1/contacts?source={source}&limit=1000"),
            token,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().len()
}

async fn connections_are_for_admins_and_never_show_a_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let lead = app.token(Role::CxLead).await;
    let made = connect(&app, &admin, zendesk("zd-main")).await;
    assert_eq!(made["intake_path"], "/api/v1/integrations/zendesk/zd-main");
    assert_eq!(made["kind"], "zendesk");
    assert_eq!(made["base_url"], "http://127.0.0.1:9");
    let text = made.to_string();
    assert!(
        !text.contains(SECRET) && !text.contains(API_TOKEN),
        "{text}"
    );

    // Only admins.
    let (status, _) = json(
        app.post_json("/api/v1/helpdesks", &lead, &zendesk("zd-2"))
            .await,
    )
    .await;
    assert_eq!(status, 403);
    // The name is taken; each field is checked and named.
    let (status, body) = json(
        app.post_json("/api/v1/helpdesks", &admin, &zendesk("zd-main"))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (409, Some("name")),
        "{body}"
    );
    for (change, field) in [
        (json!({"kind": "zammad"}), "kind"),
        (json!({"name": "has space"}), "name"),
        (json!({"base_url": "ftp://x"}), "base_url"),
        (json!({"signing_secret": null}), "signing_secret"),
        (json!({"auth": {"email": "a@b.c"}}), "auth.api_token"),
        (
            json!({"auth": {"email": "a@b.c", "api_token": "t", "password": "x"}}),
            "auth.password",
        ),
    ] {
        let mut body = zendesk("zd-bad");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = json(app.post_json("/api/v1/helpdesks", &admin, &body).await).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some(field)),
            "{answer}"
        );
    }

    // A database dump alone reveals no credential: the stored row holds them sealed.
    let stored = app.store.get_helpdesk("zd-main").await.unwrap().unwrap();
    let raw = [
        stored.auth_sealed.clone(),
        stored.signing_sealed.clone().unwrap(),
    ]
    .concat();
    for secret in [SECRET, API_TOKEN] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    // Rotation: the previous secret stays accepted for the grace period.
    let (status, changed) = json(
        app.patch_json(
            "/api/v1/helpdesks/zd-main",
            &admin,
            &json!({"signing_secret": "zendesk-signing-secret-2"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert!(changed["previous_secret_until"].is_string(), "{changed}");
    let path = "/api/v1/integrations/zendesk/zd-main";
    for (n, secret) in [SECRET, "zendesk-signing-secret-2"].iter().enumerate() {
        let event = zendesk_ticket_created(
            &format!("{}", 100 + n),
            "r1",
            "Hi",
            "my card was charged twice",
        );
        let (status, answer) =
            zendesk_event(&app, path, secret, &now(), &event, ZendeskSigning::Right).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("stored")),
            "{answer}"
        );
    }

    let (status, list) = json(app.get("/api/v1/helpdesks", &admin).await).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["health"]["events"], 2, "{list}");
    let (status, _) = json(app.get("/api/v1/helpdesks/nope", &admin).await).await;
    assert_eq!(status, 404);
    let deleted = app
        .client
        .delete(app.url("/api/v1/helpdesks/zd-main"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, _) = zendesk_event(
        &app,
        path,
        SECRET,
        &now(),
        &zendesk_ticket_created("9", "r", "s", "t"),
        ZendeskSigning::Right,
    )
    .await;
    assert_eq!(status, 404);
}

async fn zendesk_webhooks_become_one_contact_per_customer_message(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let reader = app.token(Role::Security).await;
    connect(&app, &admin, zendesk("zd")).await;
    let path = "/api/v1/integrations/zendesk/zd";
    let opened = zendesk_ticket_created(
        "42",
        "9001",
        "Strange SMS",
        "<p>I got a text saying my account is suspended, call +44 20 7946 0958.</p>\
         <blockquote>earlier mail</blockquote>",
    );
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &opened, ZendeskSigning::Right).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "stored");
    assert_eq!(answer["contacts"], json!(["42:0"]));
    // The same event again (a vendor retry) is a duplicate, and stores nothing.
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &opened, ZendeskSigning::Right).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );

    let (status, contact) = json(app.get("/api/v1/contacts/zd/42:0", &reader).await).await;
    assert_eq!(status, 200, "{contact}");
    let text = contact["text"].as_str().unwrap();
    assert!(text.starts_with("Strange SMS"), "{text}");
    assert!(!text.contains("7946"), "redacted: {text}");
    assert!(
        !text.contains("earlier mail"),
        "quoted history dropped: {text}"
    );
    assert_eq!(contact["channel"], "ticket");

    // A customer's public comment is a contact; an agent's reply and a note are not.
    let customer = zendesk_comment_added(
        "42",
        "777",
        "9001",
        false,
        true,
        "still locked out\n\nOn Mon, Support <a@b.c> wrote:\n> hello",
    );
    let (_, answer) =
        zendesk_event(&app, path, SECRET, &now(), &customer, ZendeskSigning::Right).await;
    assert_eq!(answer["contacts"], json!(["42:777"]), "{answer}");
    for (n, (staff, public)) in [(true, true), (false, false)].into_iter().enumerate() {
        let other =
            zendesk_comment_added("42", &format!("80{n}"), "5", staff, public, "we are on it");
        let (status, answer) =
            zendesk_event(&app, path, SECRET, &now(), &other, ZendeskSigning::Right).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("activity")),
            "{answer}"
        );
    }
    let unknown = json!({"type": "zen:event-type:organization.created", "id": "o1"});
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &unknown, ZendeskSigning::Right).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("ignored")),
        "{answer}"
    );
    assert_eq!(contact_count(&app, &reader, "zd").await, 2);

    // Refusals name what was wrong, and store nothing.
    let fresh = zendesk_ticket_created("43", "9002", "s", "someone logged in from abroad");
    let stale = (chrono::Utc::now() - chrono::Duration::minutes(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (secret, timestamp, signing, field) in [
        (
            "wrong-secret-123",
            now(),
            ZendeskSigning::Right,
            "signature",
        ),
        (SECRET, now(), ZendeskSigning::Reversed, "signature"),
        (SECRET, stale, ZendeskSigning::Right, "timestamp"),
    ] {
        let (status, answer) = zendesk_event(&app, path, secret, &timestamp, &fresh, signing).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (401, Some(field)),
            "{answer}"
        );
    }
    // A body changed after signing.
    let bytes = serde_json::to_vec(&fresh).unwrap();
    let headers = zendesk_headers(SECRET, &now(), &bytes, ZendeskSigning::Right);
    let tampered = String::from_utf8(bytes)
        .unwrap()
        .replace("abroad", "at home");
    let (status, answer) =
        json(send(&app.client, &app.url(path), &headers, tampered.into_bytes()).await).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (401, Some("signature")),
        "{answer}"
    );
    // No signature at all.
    let (status, answer) = json(send(&app.client, &app.url(path), &[], b"{}".to_vec()).await).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(contact_count(&app, &reader, "zd").await, 2);

    // Signed but unreadable: named, never a 500.
    for (body, field) in [
        (b"\xff\xfe not utf-8".to_vec(), "body"),
        (b"not json".to_vec(), "body"),
        (
            br#"{"type":"zen:event-type:ticket.comment_added","detail":{"id":"1"}}"#.to_vec(),
            "event.comment",
        ),
    ] {
        let headers = zendesk_headers(SECRET, &now(), &body, ZendeskSigning::Right);
        let (status, answer) = json(send(&app.client, &app.url(path), &headers, body).await).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some(field)),
            "{answer}"
        );
    }
    let huge = vec![b' '; 1024 * 1024 + 10];
    let headers = zendesk_headers(SECRET, &now(), &huge, ZendeskSigning::Right);
    let response = send(&app.client, &app.url(path), &headers, huge).await;
    assert_eq!(response.status(), 413);
    // Another kind's path for this name is not found.
    let (status, _) = zendesk_event(
        &app,
        "/api/v1/integrations/intercom/zd",
        SECRET,
        &now(),
        &fresh,
        ZendeskSigning::Right,
    )
    .await;
    assert_eq!(status, 404);
    let (_, got) = json(app.get("/api/v1/helpdesks/zd", &admin).await).await;
    assert!(got["health"]["last_error"].as_str().is_some(), "{got}");
}

async fn intercom_and_freshdesk_webhooks_are_checked_their_own_way(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let reader = app.token(Role::Security).await;
    connect(
        &app,
        &admin,
        json!({"name": "ic", "kind": "intercom", "base_url": "http://127.0.0.1:9",
               "signing_secret": "intercom-client-secret", "auth": {"access_token": "tok"}}),
    )
    .await;
    let path = app.url("/api/v1/integrations/intercom/ic");
    let ping = br#"{"type":"notification_event","topic":"ping","id":"notif_1"}"#.to_vec();
    let header = intercom_header("intercom-client-secret", &ping);
    let (status, answer) = json(send(&app.client, &path, &[header], ping.clone()).await).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("ping")),
        "{answer}"
    );
    let bad = intercom_header("other-secret", &ping);
    let (status, answer) = json(send(&app.client, &path, &[bad], ping).await).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (401, Some("signature")),
        "{answer}"
    );
    let created = serde_json::to_vec(&json!({
        "type": "notification_event", "topic": "conversation.user.created", "id": "notif_2",
        "data": {"item": {"type": "conversation", "id": "5001",
            "source": {"id": "s1", "body": "<p>Someone changed my e-mail and password</p>",
                       "author": {"type": "user", "id": "u-77"}}}}
    }))
    .unwrap();
    let header = intercom_header("intercom-client-secret", &created);
    let (status, answer) = json(send(&app.client, &path, &[header], created).await).await;
    assert_eq!(
        (status, answer["contacts"].clone()),
        (200, json!(["5001:0"])),
        "{answer}"
    );
    let (_, contact) = json(app.get("/api/v1/contacts/ic/5001:0", &reader).await).await;
    assert_eq!(contact["channel"], "chat", "{contact}");

    // Freshdesk: a token generated and shown once, checked as a bearer token.
    let made = connect(
        &app,
        &admin,
        json!({"name": "fd", "kind": "freshdesk", "base_url": "https://x.freshdesk.com",
               "auth": {"api_key": "k"}}),
    )
    .await;
    let token = made["token"].as_str().unwrap().to_owned();
    let (_, again) = json(app.get("/api/v1/helpdesks/fd", &admin).await).await;
    assert!(again.get("token").is_none(), "{again}");
    let body = json!({"event": "ticket.replied", "ticket_id": "88", "requester": "a@example.com",
                      "body": "money left my account overnight"});
    let path = app.url("/api/v1/integrations/freshdesk/fd");
    let (status, answer) = json(
        app.client
            .post(&path)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("stored")),
        "{answer}"
    );
    let (status, answer) = json(
        app.client
            .post(&path)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    let (status, answer) = json(
        app.client
            .post(&path)
            .bearer_auth("fdk_wrong")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (401, Some("authorization")),
        "{answer}"
    );
    assert_eq!(contact_count(&app, &reader, "fd").await, 1);
}

async fn an_agent_links_a_ticket_with_the_incident_tag(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let security = app.token(Role::Security).await;
    connect(&app, &admin, zendesk("zd")).await;
    let path = "/api/v1/integrations/zendesk/zd";
    let (status, incident) = json(
        app.post_json(
            "/api/v1/incidents",
            &security,
            &json!({"title": "Account takeovers", "severity": "SEV2"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();

    // A ticket Frontline never heard of: its opening message is taken in, then linked.
    let tagged = zendesk_tags_changed(
        "55",
        "9002",
        "<p>Someone changed the e-mail on my account</p>",
        &["vip", &format!("frontline-incident-{id}")],
    );
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &tagged, ZendeskSigning::Right).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "linked", "{answer}");
    assert_eq!(answer["contacts"], json!(["55:0"]));
    let (_, detail) = json(app.get(&format!("/api/v1/incidents/{id}"), &security).await).await;
    let linked: Vec<&Value> = detail["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["source"] == "zd" && l["id"] == "55:0")
        .collect();
    assert_eq!(linked.len(), 1, "{detail}");
    let (status, contact) = json(app.get("/api/v1/contacts/zd/55:0", &security).await).await;
    assert_eq!(status, 200, "{contact}");

    // The same delivery again links nothing twice.
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &tagged, ZendeskSigning::Right).await;
    assert_eq!(status, 200, "{answer}");
    let (_, again) = json(app.get(&format!("/api/v1/incidents/{id}"), &security).await).await;
    assert_eq!(again["links"], detail["links"], "{answer}");

    // Tags naming no incident, or none of Frontline's, are answered with the reason.
    let stray = zendesk_tags_changed("56", "9003", "help", &["frontline-incident-99999"]);
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &stray, ZendeskSigning::Right).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("ignored")),
        "{answer}"
    );
    assert!(
        answer["reason"].as_str().unwrap().contains("99999"),
        "{answer}"
    );
    let other = zendesk_tags_changed("57", "9004", "help", &["billing"]);
    let (status, answer) =
        zendesk_event(&app, path, SECRET, &now(), &other, ZendeskSigning::Right).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("activity")),
        "{answer}"
    );
    // A tag change signed wrongly links nothing.
    let forged = zendesk_tags_changed("58", "9005", "x", &[&format!("frontline-incident-{id}")]);
    let (status, _) = zendesk_event(
        &app,
        path,
        "wrong-secret",
        &now(),
        &forged,
        ZendeskSigning::Right,
    )
    .await;
    assert_eq!(status, 401);
    let (_, after) = json(app.get(&format!("/api/v1/incidents/{id}"), &security).await).await;
    assert_eq!(after["links"], detail["links"]);

    // Intercom (a conversation tagged, signed) and Freshdesk (a tag rule, its token) link too.
    connect(
        &app,
        &admin,
        json!({"name": "ic", "kind": "intercom", "base_url": "http://127.0.0.1:9",
               "signing_secret": "intercom-client-secret", "auth": {"access_token": "tok"}}),
    )
    .await;
    let fd = connect(
        &app,
        &admin,
        json!({"name": "fd", "kind": "freshdesk", "base_url": "http://127.0.0.1:9",
               "auth": {"api_key": "k"}}),
    )
    .await;
    let tag = format!("Frontline-Incident-{id}");
    let tagged = serde_json::to_vec(&json!({
        "type": "notification_event", "topic": "conversation_part.tag.created", "id": "notif_t1",
        "data": {"item": {"type": "conversation", "id": "6001",
            "tags": {"type": "tag.list", "tags": [{"id": "1", "name": tag}]},
            "source": {"body": "<p>My card was used abroad</p>",
                       "author": {"type": "user", "id": "u-9"}}}}
    }))
    .unwrap();
    let header = intercom_header("intercom-client-secret", &tagged);
    let (status, answer) = json(
        send(
            &app.client,
            &app.url("/api/v1/integrations/intercom/ic"),
            &[header],
            tagged,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("linked")),
        "{answer}"
    );
    let (status, answer) = json(
        app.client
            .post(app.url("/api/v1/integrations/freshdesk/fd"))
            .bearer_auth(fd["token"].as_str().unwrap())
            .json(
                &json!({"event": "ticket.tagged", "ticket_id": "7001", "tags": format!("vip,{tag}"),
                          "requester": "r@example.com", "body": "My card was used abroad"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("linked")),
        "{answer}"
    );
    let (_, detail) = json(app.get(&format!("/api/v1/incidents/{id}"), &security).await).await;
    for (source, contact) in [("ic", "6001:0"), ("fd", "7001:0")] {
        assert!(
            detail["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["source"] == source && l["id"] == contact),
            "{source}: {detail}"
        );
    }
}

/// A connection that delivers about twenty messages an hour, day and night, for a week.
async fn a_connection_gone_silent_raises_an_intake_gap_alert(backend: Backend) {
    use frontline_server::workers::intake_gap::Watch;
    use frontline_store::helpdesks::EventOutcome;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let ingest = app.token(Role::Ingest).await;
    connect(&app, &admin, zendesk("zd")).await;
    let now = chrono::Utc::now();
    let contacts: Vec<Value> = (0..7 * 24 * 20)
        .map(|i| {
            let at = now - chrono::Duration::seconds(180 * (i + 1));
            json!({"source": "zd", "id": format!("{i}:0"), "channel": "ticket",
                   "received_at": at.to_rfc3339(), "text": "where is my refund"})
        })
        .collect();
    for chunk in contacts.chunks(1_000) {
        let (status, answer) = json(
            app.post_json("/api/v1/contacts", &ingest, &Value::Array(chunk.to_vec()))
                .await,
        )
        .await;
        assert!((200..300).contains(&status), "{answer}");
    }
    app.store
        .record_helpdesk_event("zd", &EventOutcome::Taken(Some("ev-1")))
        .await
        .unwrap();
    let mut watch = Watch::default();
    // Half an hour without a webhook: about ten messages were due, a lull.
    let quiet = watch
        .check_now(&app.state, now + chrono::Duration::minutes(30))
        .await
        .unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");
    // An hour and a half: about thirty were due, and none came.
    let raised = watch
        .check_now(&app.state, now + chrono::Duration::minutes(90))
        .await
        .unwrap();
    assert_eq!(raised.len(), 1, "{raised:?}");
    let (status, alerts) = json(app.get("/api/v1/alerts?kind=intake_gap", &admin).await).await;
    assert_eq!(status, 200, "{alerts}");
    let alert = &alerts["items"][0];
    assert_eq!(alert["kind"], "intake_gap", "{alerts}");
    let expected = alert["expected"].as_f64().unwrap();
    assert!((25.0..35.0).contains(&expected), "{alert}");
    assert!(alert["text"].as_str().unwrap().contains("zd"), "{alert}");
    // Webhooks again: the silence is over, nothing more is raised.
    app.store
        .record_helpdesk_event("zd", &EventOutcome::Taken(Some("ev-2")))
        .await
        .unwrap();
    let after = watch
        .check_now(
            &app.state,
            chrono::Utc::now() + chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    assert!(after.is_empty(), "{after:?}");
}

frontline_testkit::backend_tests!(
    a_connection_gone_silent_raises_an_intake_gap_alert,
    an_agent_links_a_ticket_with_the_incident_tag,
    connections_are_for_admins_and_never_show_a_secret,
    zendesk_webhooks_become_one_contact_per_customer_message,
    intercom_and_freshdesk_webhooks_are_checked_their_own_way,
);
