//! Insights over HTTP: an incident's metrics follow its life (statement, resolution, a contact
//! linked afterwards, a reopening); the review is saved, exported as Markdown and shown as a
//! page; the trends count months and reasons; `/metrics` speaks Prometheus.

use chrono::{DateTime, Duration, Utc};
use frontline_core::Role;
use frontline_core::alert::{AlertKind, DetectedAlert, Evidence};
use frontline_testkit::{Backend, TestApp, contact_json, json, spawn_app, spawn_app_with};
use serde_json::{Value, json};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    json(app.post_json(path, token, &body).await).await
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    json(
        app.client
            .put(app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

async fn metrics(app: &TestApp, id: i64, token: &str) -> Value {
    let (status, m) = json(
        app.get(&format!("/api/v1/incidents/{id}/metrics"), token)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{m}");
    m
}

/// Publishes a final public statement (drafted by comms, approved by security and CX).
async fn publish(app: &TestApp, id: i64, tokens: [&str; 3]) -> Value {
    let [comms, security, cx] = tokens;
    let (status, s) = post(
        app,
        &format!("/api/v1/incidents/{id}/statements"),
        comms,
        json!({"audience": "public", "title": "Login trouble", "body": "Fixed.", "final": true}),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let sid = s["id"].as_i64().unwrap();
    for t in [security, cx] {
        let (status, body) = post(
            app,
            &format!("/api/v1/statements/{sid}/approve"),
            t,
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, published) = post(
        app,
        &format!("/api/v1/statements/{sid}/publish"),
        comms,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    published
}

async fn metrics_follow_the_incident_through_its_life(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let sam = app.token_for("sam", Role::Security).await;
    let carla = app.token_for("carla", Role::CxLead).await;
    let cora = app.token_for("cora", Role::Comms).await;
    let viewer = app.token(Role::Viewer).await;

    // Customers in Berlin wrote at 09:50 local time (07:50Z) and at 08:05Z; the SIEM saw the
    // attack at 07:00Z. Times are fixed so every milestone can be asserted exactly.
    let contacts = json!([
        contact_json("zendesk", "c1", "2026-03-01T09:50:00+02:00"),
        contact_json("zendesk", "c2", "2026-03-01T08:05:00Z"),
        contact_json("zendesk", "late", "2026-03-01T07:30:00Z"),
    ]);
    let (status, body) = post(&app, "/api/v1/contacts", &ingest, contacts).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &app,
        "/api/v1/security-events",
        &ingest,
        json!({"id": "f1", "source": "siem", "severity": "high", "title": "Credential stuffing",
               "service": "web", "observed_at": "2026-03-01T07:00:00Z"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Carla (CX) opens the incident from the contacts and the finding.
    let (status, incident) = post(
        &app,
        "/api/v1/incidents",
        &carla,
        json!({"title": "Logins failing", "severity": "SEV2", "services": ["web"],
               "links": {"contacts": [{"source": "zendesk", "id": "c1"},
                                      {"source": "zendesk", "id": "c2"}],
                         "security_events": [{"source": "siem", "id": "f1"}]}}),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let opened_at = at(&incident["opened_at"]);

    let m = metrics(&app, id, &viewer).await;
    assert_eq!(m["incident_id"], id);
    assert_eq!(m["first_customer_signal_at"], "2026-03-01T07:50:00Z");
    assert_eq!(m["first_security_event_at"], "2026-03-01T07:00:00Z");
    assert!(m["first_alert_at"].is_null());
    assert_eq!(at(&m["opened_at"]), opened_at);
    assert_eq!(
        at(&m["detected_at"]),
        opened_at,
        "no alert: detected when opened"
    );
    assert!(
        m["first_ack_at"].is_null(),
        "CX opened it; security has not acted: {m}"
    );
    assert!(m["first_public_statement_at"].is_null());
    assert!(m["resolved_at"].is_null());
    let first_contact = at(&json!("2026-03-01T07:50:00Z"));
    assert_eq!(
        m["time_to_detect_seconds"],
        (opened_at - first_contact).num_seconds()
    );
    assert!(m["time_to_acknowledge_seconds"].is_null());
    assert!(m["time_to_first_public_statement_seconds"].is_null());
    assert!(m["time_to_resolve_seconds"].is_null());
    assert_eq!(
        m["customers_affected_before_first_contact_seconds"],
        50 * 60
    );
    assert_eq!(m["impact"]["linked_contacts"], 2);
    assert_eq!(m["impact"]["customers"], 2);
    assert_eq!(m["impact"]["by_channel"]["ticket"], 2);

    // Sam (security) writes a note: the acknowledgement.
    let (status, _) = post(
        &app,
        &format!("/api/v1/incidents/{id}/notes"),
        &sam,
        json!({"body": "On it: blocking the stuffing IPs"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, timeline) = json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &viewer)
            .await,
    )
    .await;
    let note_at = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "incident.note")
        .map(|e| at(&e["at"]))
        .unwrap();
    let published = publish(&app, id, [&cora, &sam, &carla]).await;
    let published_at = at(&published["publications"][0]["at"]);
    let (status, resolved) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &sam,
            &json!({"state": "resolved"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{resolved}");
    let resolved_at = at(&resolved["resolved_at"]);

    let m = metrics(&app, id, &viewer).await;
    assert_eq!(at(&m["first_ack_at"]), note_at);
    assert_eq!(
        m["time_to_acknowledge_seconds"],
        (note_at - opened_at).num_seconds()
    );
    assert_eq!(at(&m["first_public_statement_at"]), published_at);
    assert_eq!(
        m["time_to_first_public_statement_seconds"],
        (published_at - opened_at).num_seconds()
    );
    assert_eq!(at(&m["resolved_at"]), resolved_at);
    assert_eq!(
        m["time_to_resolve_seconds"],
        (resolved_at - opened_at).num_seconds()
    );
    assert_eq!(m["public_updates"], 1);
    assert_eq!(m["impact"]["deflection"][0]["before"], 0);

    // Found in the archive after the resolution: an earlier contact, linked now. The figures
    // move on the next read.
    let (status, body) = post(
        &app,
        &format!("/api/v1/incidents/{id}/links"),
        &carla,
        json!({"contacts": [{"source": "zendesk", "id": "late"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let m = metrics(&app, id, &viewer).await;
    assert_eq!(m["first_customer_signal_at"], "2026-03-01T07:30:00Z");
    assert_eq!(
        m["customers_affected_before_first_contact_seconds"],
        30 * 60
    );
    assert_eq!(m["impact"]["linked_contacts"], 3);
    assert_eq!(at(&m["resolved_at"]), resolved_at, "still resolved");

    // Reopened: no longer resolved, and counted.
    let (status, body) = json(
        app.patch_json(
            &format!("/api/v1/incidents/{id}"),
            &sam,
            &json!({"state": "investigating"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let m = metrics(&app, id, &viewer).await;
    assert!(m["resolved_at"].is_null());
    assert!(m["time_to_resolve_seconds"].is_null());
    assert_eq!(m["reopened"], 1);

    let (status, err) = json(app.get("/api/v1/incidents/999/metrics", &viewer).await).await;
    assert_eq!(status, 404, "{err}");
    let (status, _) = json(
        app.get(&format!("/api/v1/incidents/{id}/metrics"), &ingest)
            .await,
    )
    .await;
    assert_eq!(status, 403, "ingest tokens read nothing");
}

async fn an_alert_counts_as_detection_and_its_topic_as_impact(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let sam = app.token_for("sam", Role::Security).await;
    let now = Utc::now();
    let mut batch = Vec::new();
    for k in 0..6 {
        let mut c = contact_json(
            "chat",
            &format!("p{k}"),
            &(now - Duration::minutes(30 - k * 5)).to_rfc3339(),
        );
        c["text"] = json!(format!(
            "Got a text saying my account is suspended with a link ({k})"
        ));
        c["channel"] = json!("chat");
        batch.push(c);
    }
    let (status, body) = post(&app, "/api/v1/contacts", &ingest, json!(batch)).await;
    assert_eq!(status, 200, "{body}");
    let (_, p0) = json(app.get("/api/v1/contacts/chat/p0", &sam).await).await;
    let topic = p0["topics"][0].as_str().unwrap().to_owned();
    app.store
        .upsert_alerts(&[DetectedAlert {
            alert_id: "wave".into(),
            kind: AlertKind::Spike,
            topic: Some(topic.clone()),
            service: None,
            channel: None,
            started_at: now - Duration::minutes(30),
            raised_at: now - Duration::minutes(20),
            observed: 6,
            customers: 6,
            expected: 0.5,
            score: 0.9,
            evidence: vec![Evidence {
                source: "chat".into(),
                id: "p0".into(),
            }],
            text: None,
            language: None,
            group_id: None,
        }])
        .await
        .unwrap();
    let (status, ack) = post(&app, "/api/v1/alerts/wave/ack", &sam, json!({})).await;
    assert_eq!(status, 200, "{ack}");
    let (status, incident) = post(
        &app,
        "/api/v1/incidents",
        &sam,
        json!({"title": "Phishing wave", "severity": "SEV2",
               "links": {"alerts": ["wave"]}}),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let (_, alert) = json(app.get("/api/v1/alerts/wave", &sam).await).await;
    let m = metrics(&app, id, &sam).await;
    // The evidence is the first customer signal; the alert (raised before the opening) is the
    // detection; Sam's acknowledgement of the alert is the first by security.
    assert_eq!(at(&m["first_customer_signal_at"]), at(&p0["received_at"]));
    assert_eq!(at(&m["first_alert_at"]), at(&alert["created_at"]));
    assert_eq!(m["detected_at"], m["first_alert_at"]);
    assert_eq!(at(&m["first_ack_at"]), at(&alert["state_at"]));
    // All six contacts are on the alert's topic; one is linked (as evidence).
    assert_eq!(m["impact"]["contacts"], 6, "{m}");
    assert_eq!(m["impact"]["linked_contacts"], 1);
    assert_eq!(m["impact"]["by_channel"]["chat"], 6);
    assert_eq!(m["impact"]["by_topic"][&topic], 6);
    let series: u64 = m["impact"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["contacts"].as_u64().unwrap())
        .sum();
    assert_eq!(series, 6);
}

async fn the_review_is_written_exported_and_shown_escaped(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let sam = app.token_for("sam", Role::Security).await;
    let carla = app.token_for("carla", Role::CxLead).await;
    let cora = app.token_for("cora", Role::Comms).await;
    let agent = app.token_for("ann", Role::CxAgent).await;
    let (_, incident) = post(
        &app,
        "/api/v1/incidents",
        &sam,
        json!({"title": "Phish <script>alert(1)</script>", "severity": "SEV1", "services": ["login"]}),
    )
    .await;
    let id = incident["id"].as_i64().unwrap();
    let path = format!("/api/v1/incidents/{id}/review");
    post(
        &app,
        &format!("/api/v1/incidents/{id}/notes"),
        &carla,
        json!({"body": "<img src=x onerror=alert(2)> customers confused"}),
    )
    .await;
    publish(&app, id, [&cora, &sam, &carla]).await;

    let (status, empty) = json(app.get(&path, &agent).await).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["summary"], "");
    assert!(empty["updated_at"].is_null());

    let review = json!({
        "summary": "A phishing wave; CX saw it 20 minutes before the SIEM.",
        "went_well": [{"text": "Agents flagged it within minutes"}],
        "went_wrong": [{"text": "The first statement took 40 minutes | too long"}],
        "actions": [
            {"text": "Pre-approved phishing template", "owner": "cora", "due": "2026-12-15"},
            {"text": "<script>steal()</script> MFA for admins", "owner": "sam"}
        ]
    });
    let mut bad = review.clone();
    bad["actions"][1]["owner"] = json!("nobody");
    let (status, err) = put(&app, &path, &carla, bad).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["field"], "actions[1].owner");
    let mut bad = review.clone();
    bad["went_well"][0]["text"] = json!("  ");
    let (status, err) = put(&app, &path, &carla, bad).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["field"], "went_well[0].text");
    let mut bad = review.clone();
    bad["actions"][0]["due"] = json!("next Tuesday");
    let (status, err) = put(&app, &path, &carla, bad).await;
    assert!(status == 400 || status == 422, "{status} {err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("due"),
        "{err}"
    );
    let (status, err) = put(&app, &path, &agent, review.clone()).await;
    assert_eq!(status, 403, "agents read the review, leads write it: {err}");
    let (_, still) = json(app.get(&path, &agent).await).await;
    assert_eq!(still["summary"], "", "refused saves change nothing");

    let (status, saved) = put(&app, &path, &carla, review.clone()).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["updated_by"], "user:carla");
    let (_, read) = json(app.get(&path, &agent).await).await;
    assert_eq!(read["actions"][0]["due"], "2026-12-15");
    assert_eq!(read["actions"][1]["owner"], "sam");
    let (status, _) = put(&app, "/api/v1/incidents/999/review", &carla, review.clone()).await;
    assert_eq!(status, 404);

    let md = app.get(&format!("{path}.md"), &agent).await;
    assert_eq!(md.status(), 200);
    assert!(
        md.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let md = md.text().await.unwrap();
    assert!(
        md.starts_with("# Post-incident review: Phish &lt;script&gt;"),
        "{md}"
    );
    assert!(!md.contains("<script>") && !md.contains("<img"), "{md}");
    assert!(
        md.contains("40 minutes \\| too long"),
        "a pipe cannot break the table"
    );
    assert!(md.contains("- [ ] Pre-approved phishing template (owner: cora, due: 2026-12-15)"));
    assert!(
        md.contains("data:image/svg+xml;base64,"),
        "the chart is embedded"
    );
    assert!(md.contains("| Time (UTC) | Customers and CX | Security |"));
    assert!(
        md.contains("approved by carla as cx_lead") || md.contains("approved by sam as security")
    );
    // Carla's note sits in the CX column, Sam's opening in the security column.
    let note_row = md
        .lines()
        .find(|l| l.contains("customers confused"))
        .unwrap();
    assert!(
        note_row
            .split('|')
            .nth(2)
            .unwrap()
            .contains("customers confused"),
        "{note_row}"
    );
    let open_row = md.lines().find(|l| l.contains("Incident opened:")).unwrap();
    assert!(
        open_row
            .split('|')
            .nth(3)
            .unwrap()
            .contains("Incident opened"),
        "{open_row}"
    );

    let page = app.get(&format!("/incidents/{id}/review"), &agent).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        frontline_testkit::runs_only_its_own_script(&html, &csp),
        "nothing user-written runs"
    );
    assert!(
        html.contains("Phish &lt;script&gt;alert(1)"),
        "escaped, not dropped"
    );
    assert!(html.contains("<svg") && html.contains("Pre-approved phishing template"));
    // A browser without a session is sent to sign in; a program with a bad token gets 401.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let unauth = no_redirects
        .get(app.url(&format!("/incidents/{id}/review")))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 303);
    assert_eq!(
        unauth.headers()["location"],
        format!("/login?next=/incidents/{id}/review").as_str()
    );
    let bad = app
        .get(&format!("/incidents/{id}/review"), "flt_0000000000000000_x")
        .await;
    assert_eq!(bad.status(), 401);
}

async fn trends_count_months_recurring_services_and_dismissals(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let sam = app.token_for("sam", Role::Security).await;
    let viewer = app.token(Role::Viewer).await;
    let mut ids = Vec::new();
    for (title, severity, services) in [
        ("Login outage", "SEV1", json!(["login"])),
        ("Login slow", "SEV3", json!(["login", "web"])),
        ("Billing", "SEV2", json!(["billing"])),
        ("Duplicate of login", "SEV3", json!(["login"])),
    ] {
        let (status, i) = post(
            &app,
            "/api/v1/incidents",
            &sam,
            json!({"title": title, "severity": severity, "services": services}),
        )
        .await;
        assert_eq!(status, 201, "{i}");
        ids.push(i["id"].as_i64().unwrap());
    }
    let (status, body) = post(
        &app,
        &format!("/api/v1/incidents/{}/merge", ids[0]),
        &sam,
        json!({"from": ids[3]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let now = Utc::now();
    for (id, reason) in [
        ("a1", "Marketing campaign"),
        ("a2", " marketing campaign "),
        ("a3", "test data"),
    ] {
        app.store
            .upsert_alerts(&[DetectedAlert {
                alert_id: id.into(),
                kind: AlertKind::Spike,
                topic: Some("billing".into()),
                service: None,
                channel: None,
                started_at: now - Duration::minutes(10),
                raised_at: now - Duration::minutes(5),
                observed: 9,
                customers: 9,
                expected: 1.0,
                score: 0.8,
                evidence: vec![],
                text: None,
                language: None,
                group_id: None,
            }])
            .await
            .unwrap();
        let (status, body) = post(
            &app,
            &format!("/api/v1/alerts/{id}/dismiss"),
            &sam,
            json!({"reason": reason}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, t) = json(app.get("/api/v1/trends?months=3", &viewer).await).await;
    assert_eq!(status, 200, "{t}");
    let months = t["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    let this = months.last().unwrap();
    assert_eq!(this["month"], now.format("%Y-%m").to_string());
    assert_eq!(
        this["incidents"], 3,
        "the merged duplicate is not counted: {this}"
    );
    assert_eq!(
        this["by_severity"],
        json!({"SEV1": 1, "SEV2": 1, "SEV3": 1})
    );
    assert_eq!(this["by_service"]["login"], 2);
    assert_eq!(months[0]["incidents"], 0);
    assert_eq!(
        this["time_to_acknowledge"]["n"], 3,
        "Sam opened all three: {this}"
    );
    assert_eq!(this["time_to_acknowledge"]["median"], 0.0);
    assert!(this["time_to_resolve"]["median"].is_null());
    let recurring = t["recurring_services"].as_array().unwrap();
    assert_eq!(recurring.len(), 1, "{t}");
    assert_eq!(recurring[0]["service"], "login");
    assert_eq!(recurring[0]["incidents"], json!([ids[1], ids[0]]));
    let d = &t["dismissed_alerts"];
    assert_eq!(d["total"], 3);
    assert_eq!(
        d["by_reason"][0],
        json!({"reason": "marketing campaign", "alerts": 2})
    );
    assert_eq!(d["by_topic"]["billing"], 3);

    for bad in ["months=0", "months=37", "months=x", "weeks=2"] {
        let (status, err) = json(app.get(&format!("/api/v1/trends?{bad}"), &viewer).await).await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    let page = app.get("/trends?months=3", &viewer).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Incidents per month, by severity"));
    assert!(html.contains("marketing campaign"));
}

async fn prometheus_metrics_count_what_happens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ingest = app.token(Role::Ingest).await;
    let sam = app.token_for("sam", Role::Security).await;
    let batch = json!([
        contact_json("zendesk", "m1", "2026-11-25T10:00:00Z"),
        contact_json("zendesk", "m2", "2026-11-25T10:01:00Z"),
    ]);
    post(&app, "/api/v1/contacts", &ingest, batch.clone()).await;
    post(&app, "/api/v1/contacts", &ingest, batch).await; // duplicates: not counted again
    post(
        &app,
        "/api/v1/incidents",
        &sam,
        json!({"title": "x", "severity": "SEV1"}),
    )
    .await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics-text")
    );
    let text = response.text().await.unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_owned()
    };
    let stored: u64 = text
        .lines()
        .filter(|l| l.starts_with("frontline_contacts_stored_total{channel=\"ticket\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(stored, 2, "{text}");
    assert!(line("frontline_open_incidents{severity=\"SEV1\"}").ends_with(" 1"));
    assert!(line("frontline_open_incidents{severity=\"SEV2\"}").ends_with(" 0"));
    assert!(
        text.contains("frontline_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/contacts\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));

    // With a metrics token: that token or an admin's, nothing else.
    let Some(guarded) = spawn_app_with(backend, |c| {
        c.metrics_token = Some(frontline_server::plumbing::config::Secret::new(
            "scrape-me-please-0123",
        ));
    })
    .await
    else {
        return;
    };
    let admin = guarded.token(Role::Admin).await;
    let viewer = guarded.token(Role::Viewer).await;
    let get = |token: Option<&str>| {
        let mut r = guarded.client.get(guarded.url("/metrics"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(
        get(Some("scrape-me-please-0124")).await.unwrap().status(),
        401
    );
    assert_eq!(get(Some(&viewer)).await.unwrap().status(), 403);
    assert_eq!(
        get(Some("scrape-me-please-0123")).await.unwrap().status(),
        200
    );
    assert_eq!(get(Some(&admin)).await.unwrap().status(), 200);
}

frontline_testkit::backend_tests!(
    metrics_follow_the_incident_through_its_life,
    an_alert_counts_as_detection_and_its_topic_as_impact,
    the_review_is_written_exported_and_shown_escaped,
    trends_count_months_recurring_services_and_dismissals,
    prometheus_metrics_count_what_happens,
);
