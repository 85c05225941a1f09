//! The public status page: only published public words and component states, whatever else
//! the database holds; rendered on change with ETags; HTML, JSON and a valid Atom feed, in the
//! reader's language where a translation exists.

use chrono::Utc;
use frontline_core::Role;
use frontline_core::alert::{AlertKind, DetectedAlert};
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, out) = json(app.post_json(path, token, &body).await).await;
    assert!(status < 300, "{path}: {status} {out}");
    out
}

/// Drafts, approves (by two others) and publishes a statement; returns its id.
async fn say(app: &TestApp, incident: i64, audience: &str, body: Value) -> i64 {
    let comms = app.token_for("cora", Role::Comms).await;
    let security = app.token_for("sam", Role::Security).await;
    let cx = app.token_for("carla", Role::CxLead).await;
    let mut body = body;
    body["audience"] = json!(audience);
    let s = post(
        app,
        &format!("/api/v1/incidents/{incident}/statements"),
        &comms,
        body,
    )
    .await;
    let id = s["id"].as_i64().unwrap();
    if audience == "public" || audience == "customers" {
        post(
            app,
            &format!("/api/v1/statements/{id}/approve"),
            &security,
            json!({}),
        )
        .await;
    }
    if audience != "internal" {
        post(
            app,
            &format!("/api/v1/statements/{id}/approve"),
            &cx,
            json!({}),
        )
        .await;
    }
    post(
        app,
        &format!("/api/v1/statements/{id}/publish"),
        &comms,
        json!({}),
    )
    .await;
    id
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// Waits until the page contains `needle` (the page is rebuilt when the feed moves).
async fn page_with(app: &TestApp, path: &str, needle: &str) -> String {
    for _ in 0..100 {
        let text = get(app, path, &[]).await.text().await.unwrap();
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never showed {needle:?}");
}

async fn the_page_shows_only_published_public_words(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let security = app.token_for("sam", Role::Security).await;
    let comms = app.token_for("cora", Role::Comms).await;
    let ingest = app.token(Role::Ingest).await;
    let agent = app.token_for("ann", Role::CxAgent).await;
    // Sentinels everywhere the public must never look.
    post(
        &app,
        "/api/v1/contacts",
        &ingest,
        json!([{"id": "c1", "source": "zendesk", "channel": "chat", "received_at": Utc::now().to_rfc3339(),
                "text": "SENTINEL-CONTACT my account", "customer": "SENTINEL-CUSTOMER", "service": "web"}]),
    )
    .await;
    post(
        &app,
        "/api/v1/security-events",
        &ingest,
        json!({"id": "e1", "source": "siem", "severity": "high", "title": "SENTINEL-EVENT",
               "observed_at": Utc::now().to_rfc3339(), "indicators": {"ip": "SENTINEL-INDICATOR"}}),
    )
    .await;
    app.store
        .upsert_alerts(&[DetectedAlert {
            alert_id: "SENTINEL-ALERT-ID".into(),
            kind: AlertKind::Cluster,
            topic: Some("phishing".into()),
            service: None,
            channel: None,
            started_at: Utc::now(),
            raised_at: Utc::now(),
            observed: 5,
            customers: 5,
            expected: 0.1,
            score: 1.0,
            evidence: vec![],
            text: Some("SENTINEL-ALERT-TEXT".into()),
            language: None,
            group_id: None,
        }])
        .await
        .unwrap();
    post(
        &app,
        "/api/v1/reports",
        &agent,
        json!({"category": "phishing", "summary": "SENTINEL-REPORT"}),
    )
    .await;
    let incident = post(
        &app,
        "/api/v1/incidents",
        &security,
        json!({"title": "SENTINEL-INCIDENT-TITLE", "severity": "SEV2", "services": ["web"],
               "links": {"contacts": [{"source": "zendesk", "id": "c1"}], "alerts": ["SENTINEL-ALERT-ID"]}}),
    )
    .await;
    let id = incident["id"].as_i64().unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{id}/notes"),
        &security,
        json!({"body": "SENTINEL-NOTE"}),
    )
    .await;
    post(
        &app,
        &format!("/api/v1/incidents/{id}/tasks"),
        &security,
        json!({"title": "SENTINEL-TASK"}),
    )
    .await;
    for audience in ["agents", "customers", "internal"] {
        say(&app, id, audience, json!({"title": format!("SENTINEL-{audience}-TITLE"), "body": format!("SENTINEL-{audience}")})).await;
    }
    let public = say(
        &app,
        id,
        "public",
        json!({"title": "Login problems", "body": "Some customers cannot sign in. We are on it.",
               "translations": {"de": {"title": "Anmeldeprobleme", "body": "Einige Kunden können sich nicht anmelden."}}}),
    )
    .await;
    // A newer, unapproved version and an unpublished draft stay unseen.
    app.client
        .put(app.url(&format!("/api/v1/statements/{public}")))
        .bearer_auth(&comms)
        .json(&json!({"title": "SENTINEL-V2-TITLE", "body": "SENTINEL-UNAPPROVED"}))
        .send()
        .await
        .unwrap();
    post(
        &app,
        &format!("/api/v1/incidents/{id}/statements"),
        &comms,
        json!({"audience": "public", "title": "SENTINEL-DRAFT-TITLE", "body": "SENTINEL-DRAFT"}),
    )
    .await;
    app.client
        .put(app.url("/api/v1/components/api"))
        .bearer_auth(&comms)
        .json(&json!({"status": "degraded"}))
        .send()
        .await
        .unwrap();

    let html = page_with(&app, "/status", "Some customers cannot sign in").await;
    // Let the last changes (the component, the drafts) reach the page too.
    let html = if html.contains(">api<") {
        html
    } else {
        page_with(&app, "/status", ">api<").await
    };
    let json_page = get(&app, "/status.json", &[]).await.text().await.unwrap();
    let atom_page = get(&app, "/status/feed.atom", &[])
        .await
        .text()
        .await
        .unwrap();
    for (name, page) in [("html", &html), ("json", &json_page), ("atom", &atom_page)] {
        assert!(!page.contains("SENTINEL"), "{name} leaks: {page}");
        assert!(page.contains("Login problems"), "{name}: {page}");
    }
    assert!(
        html.contains("Partial outage"),
        "an open SEV2 on web: {html}"
    );
    assert!(html.contains("Degraded performance"), "api as set: {html}");
    let status: Value = serde_json::from_str(&json_page).unwrap();
    assert_eq!(status["incidents"][0]["title"], "Login problems");
    assert_eq!(
        status["incidents"][0]["updates"].as_array().unwrap().len(),
        1
    );
    let components: Vec<(String, String)> = status["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        components,
        [
            ("api".into(), "degraded".into()),
            ("web".into(), "partial_outage".into())
        ]
    );
    let feed: atom_syndication::Feed = atom_page.parse().expect("valid Atom");
    assert_eq!(feed.entries().len(), 1);
    assert_eq!(
        feed.entries()[0].title().as_str(),
        "Login problems (Investigating)"
    );

    // The reader's language.
    let german = get(
        &app,
        "/status",
        &[("accept-language", "de-DE,de;q=0.9,en;q=0.5")],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        german.contains("Anmeldeprobleme") && german.contains("lang=\"de\""),
        "{german}"
    );
    let english = get(&app, "/status", &[("accept-language", "fr")])
        .await
        .text()
        .await
        .unwrap();
    assert!(english.contains("Login problems"), "no French: English");
}

async fn the_page_answers_conditional_gets_and_shows_a_publication_when_it_is_answered(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let security = app.token_for("sam", Role::Security).await;
    let first = page_with(&app, "/status", "No current incidents").await;
    assert!(first.contains("All systems operational"));
    assert!(
        !first.contains("Get updates"),
        "no subscribe form without an SMTP server"
    );
    let response = get(&app, "/status", &[]).await;
    assert_eq!(response.headers()["cache-control"], "public, max-age=5");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let cached = get(&app, "/status", &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status(), 304);
    assert!(cached.text().await.unwrap().is_empty());
    // A proxy that recompressed the page marks the tag weak; it still names the same page.
    let weak = get(&app, "/status", &[("if-none-match", &format!("W/{etag}"))]).await;
    assert_eq!(weak.status(), 304);

    let incident = post(
        &app,
        "/api/v1/incidents",
        &security,
        json!({"title": "internal", "severity": "SEV1"}),
    )
    .await;
    let published_at = std::time::Instant::now();
    say(
        &app,
        incident["id"].as_i64().unwrap(),
        "public",
        json!({"title": "Outage", "body": "Everything is down."}),
    )
    .await;
    // Read your writes: the publish answer comes after the pages are rebuilt, so the very
    // next request (no waiting, no retry) shows the words, in every form.
    for path in ["/status", "/status.json", "/status/feed.atom"] {
        let text = get(&app, path, &[]).await.text().await.unwrap();
        assert!(text.contains("Everything is down."), "{path}: {text}");
    }
    assert!(
        published_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        published_at.elapsed()
    );
    // A component's state likewise.
    let comms = app.token_for("cora", Role::Comms).await;
    let (status, _) = json(
        app.client
            .put(app.url("/api/v1/components/billing"))
            .bearer_auth(&comms)
            .json(&json!({"status": "major_outage"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let json_page = get(&app, "/status.json", &[]).await.text().await.unwrap();
    assert!(json_page.contains("billing"), "{json_page}");
    let changed = get(&app, "/status", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status(), 200, "the old ETag is stale");
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
}

/// The most exposed answers carry the strictest headers: a policy allowing only the page's own
/// stylesheet (by its hash, which matches the stylesheet served) and its form, nothing at all
/// for the JSON and the feed; no sniffing, no framing, no referrer.
async fn the_public_answers_are_hardened(backend: Backend) {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let html = page_with(&app, "/status", "</html>").await;
    // A plain GET is answered ahead of the router, one with a query through it: the same
    // headers either way.
    for path in [
        "/status",
        "/status.json",
        "/status/feed.atom",
        "/status?lang=en",
        "/status/feed.atom?lang=en",
    ] {
        let res = get(&app, path, &[]).await;
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers();
        let policy = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        if path.starts_with("/status?") || path == "/status" {
            let style = html
                .split_once("<style>")
                .and_then(|(_, rest)| rest.split_once("</style>"))
                .map(|(css, _)| css)
                .expect("the page has its stylesheet");
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
            assert!(
                policy.contains(&format!("style-src 'sha256-{hash}'")),
                "the served stylesheet is the one allowed: {policy}"
            );
        } else {
            assert!(!policy.contains("style-src"), "{path}: {policy}");
        }
    }
    // Answers on the short path are counted like any other.
    let etag = get(&app, "/status.json", &[]).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let not_modified = get(&app, "/status.json", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["x-frame-options"], "DENY");
    let metrics = get(&app, "/metrics", &[]).await.text().await.unwrap();
    let count = |status: &str| {
        let key = format!(
            "frontline_http_request_duration_seconds_count{{method=\"GET\",route=\"/status.json\",status=\"{status}\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {key} in {metrics}"))
    };
    assert!(count("200") >= 2, "{metrics}");
    assert_eq!(count("304"), 1, "{metrics}");
}

frontline_testkit::backend_tests!(
    the_public_answers_are_hardened,
    the_page_shows_only_published_public_words,
    the_page_answers_conditional_gets_and_shows_a_publication_when_it_is_answered,
);
