//! Status page subscribers: double opt-in by mail through a real SMTP server on loopback,
//! updates in the reader's language with a way out in every mail, webhook subscribers, and
//! limits on who may ask how often.

use frontline_core::Role;
use frontline_testkit::receiver::Receiver;
use frontline_testkit::smtp::SmtpSink;
use frontline_testkit::{Backend, TestApp, json, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, out) = json(app.post_json(path, token, &body).await).await;
    assert!(status < 300, "{path}: {status} {out}");
    out
}

/// Opens an incident and publishes a public statement on it; returns the statement id.
async fn publish(app: &TestApp, incident: Option<i64>, title: &str, body: &str, de: &str) -> i64 {
    let comms = app.token_for("cora", Role::Comms).await;
    let security = app.token_for("sam", Role::Security).await;
    let cx = app.token_for("carla", Role::CxLead).await;
    let id = match incident {
        Some(id) => id,
        None => post(
            app,
            "/api/v1/incidents",
            &security,
            json!({"title": "internal", "severity": "SEV2"}),
        )
        .await["id"]
            .as_i64()
            .unwrap(),
    };
    let s = post(
        app,
        &format!("/api/v1/incidents/{id}/statements"),
        &comms,
        json!({"audience": "public", "title": title, "body": body,
               "translations": {"de": {"title": format!("DE {title}"), "body": de}}}),
    )
    .await;
    let sid = s["id"].as_i64().unwrap();
    post(
        app,
        &format!("/api/v1/statements/{sid}/approve"),
        &security,
        json!({}),
    )
    .await;
    post(
        app,
        &format!("/api/v1/statements/{sid}/approve"),
        &cx,
        json!({}),
    )
    .await;
    post(
        app,
        &format!("/api/v1/statements/{sid}/publish"),
        &comms,
        json!({}),
    )
    .await;
    id
}

/// The path and query of the first link in `text` to `path`.
fn link(text: &str, path: &str) -> String {
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("no {path} in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '>')
        .next()
        .unwrap()
        .to_owned()
}

async fn subscribe(app: &TestApp, body: Value) -> (u16, Value) {
    json(
        app.client
            .post(app.url("/status/subscribe"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn a_reader_confirms_gets_updates_in_their_language_and_can_stop(backend: Backend) {
    let smtp = SmtpSink::start().await;
    let Some(app) = spawn_app_with(backend, |c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = smtp.addr.port();
        c.smtp.tls = "none".into();
    })
    .await
    else {
        return;
    };
    let (status, body) =
        subscribe(&app, json!({"email": "reader@example.com", "lang": "de"})).await;
    assert_eq!(status, 202, "{body}");
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["<reader@example.com>"]);
    let confirm = link(&mails[0].text(), "/status/subscribe/confirm?");
    // Before confirming, nothing is sent.
    let incident = publish(
        &app,
        None,
        "Login problems",
        "Some customers cannot sign in.",
        "Einige Kunden können sich nicht anmelden.",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 1, "not confirmed: no updates");

    let tampered = confirm.replace("sig=", "sig=00");
    assert_eq!(
        app.client
            .get(app.url(&tampered))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let page = app.client.get(app.url(&confirm)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Subscribed"));

    publish(&app, Some(incident), "Login problems", "Fixed.", "Behoben.").await;
    let mails = smtp.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 2, "one update after confirming");
    let update = mails[1].text();
    assert!(
        update.contains("Subject: [Status] DE Login problems"),
        "{update}"
    );
    assert!(update.contains("Behoben."), "German, as asked: {update}");
    assert!(update.contains("List-Unsubscribe: <"), "{update}");
    let stop = link(
        update.split("Stop these mails:").nth(1).unwrap(),
        "/status/unsubscribe?",
    );
    let page = app.client.get(app.url(&stop)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    publish(
        &app,
        Some(incident),
        "Login problems",
        "All good.",
        "Alles gut.",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 2, "no mail after unsubscribing");
}

async fn webhook_subscribers_get_each_public_update(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let receiver = Receiver::listening().await;
    let (status, body) = subscribe(&app, json!({"webhook": receiver.url()})).await;
    assert_eq!(status, 201, "{body}");
    let incident = publish(
        &app,
        None,
        "Payments delayed",
        "Card payments are slow.",
        "Langsam.",
    )
    .await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let update = got[0].json();
    assert_eq!(update["kind"], "status.update");
    assert_eq!(update["incident_id"], incident);
    assert_eq!(update["title"], "Payments delayed");
    assert_eq!(update["body"], "Card payments are slow.");
}

async fn bad_and_too_many_requests_are_refused(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.subscribe_per_minute = 4).await else {
        return;
    };
    for (body, field) in [
        (json!({"email": "not an address"}), "email"),
        (json!({"webhook": "ftp://example.com/"}), "webhook"),
        (json!({}), "email"),
    ] {
        let (status, err) = subscribe(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    // Without an SMTP server, e-mail subscriptions are refused, saying why.
    let (status, err) = subscribe(&app, json!({"email": "ann@example.com"})).await;
    assert_eq!(status, 422);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("smtp"),
        "{err}"
    );
    let limited = app
        .client
        .post(app.url("/status/subscribe"))
        .json(&json!({"email": "ann@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // The count is the database's: another node on it refuses the same client too.
    let other = app.another_node().await;
    let elsewhere = app
        .client
        .post(other.url("/status/subscribe"))
        .json(&json!({"email": "ann@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 429, "limited on every node");
    // The page itself is not limited.
    for _ in 0..20 {
        assert_ne!(
            app.client
                .get(app.url("/status"))
                .send()
                .await
                .unwrap()
                .status(),
            429
        );
    }
}

frontline_testkit::backend_tests!(
    a_reader_confirms_gets_updates_in_their_language_and_can_stop,
    webhook_subscribers_get_each_public_update,
    bad_and_too_many_requests_are_refused,
);
