//! People in browsers: sign-in with a one-time password that must be changed, a safe session
//! cookie, pages that follow the session, CSRF refused, sign-out, and lockout after repeated
//! failures. (Headers are read and sent by hand, as a browser would.)

use frontline_core::Role;
use frontline_testkit::{Backend, TestApp, spawn_app};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp, user: &str, password: &str, next: &str) -> reqwest::Response {
    browser()
        .post(app.url("/login"))
        .form(&[("user", user), ("password", password), ("next", next)])
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The `name=value` of a sign-in's session cookie, as a browser sends it back.
fn cookie(r: reqwest::Response) -> String {
    r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn a_person_signs_in_changes_the_one_time_password_and_signs_out(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let origin = format!("http://{}", app.addr);
    app.person("ann", Role::CxLead, "one-time-pass-123", true)
        .await;
    let b = browser();

    let r = b.get(app.url("/trends?months=3")).send().await.unwrap();
    assert_eq!(r.status(), 303, "no session: to the sign-in page");
    assert_eq!(location(&r), "/login?next=/trends%3Fmonths%3D3");
    let r = b.get(app.url("/login?next=/trends")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(r.text().await.unwrap().contains("value=\"&#x2f;trends\""));

    let wrong = sign_in(&app, "ann", "guess", "/trends").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong name or password")
    );
    let nobody = sign_in(&app, "nobody", "guess", "/").await;
    assert_eq!(nobody.status(), 401, "unknown names answer alike");

    let ok = sign_in(&app, "ann", "one-time-pass-123", "/trends").await;
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/trends");
    let set = ok.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(flag), "{flag} in {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP here: {set}");
    let cookie = set.split(';').next().unwrap().to_owned();

    // A one-time password must be changed before anything else.
    let r = b
        .get(app.url("/trends"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/password");
    let r = b
        .get(app.url("/api/v1/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let change = |current: &'static str, new: &'static str, with_origin: bool| {
        let mut req = b.post(app.url("/password")).header(COOKIE, &cookie).form(&[
            ("current", current),
            ("new", new),
            ("confirm", new),
        ]);
        if with_origin {
            req = req.header(ORIGIN, &origin);
        }
        req.send()
    };
    let r = change("one-time-pass-123", "my own long password", false)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "a cookie alone never changes anything (CSRF)"
    );
    let r = change("wrong", "my own long password", true).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = change("one-time-pass-123", "short", true).await.unwrap();
    assert_eq!(r.status(), 422);
    let r = change("one-time-pass-123", "my own long password", true)
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/");

    let r = b
        .get(app.url("/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("ann (cx_lead)") && html.contains("Open incidents"),
        "{html}"
    );
    let r = b
        .get(app.url("/api/v1/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the API accepts the session too");

    // Changes through the API with a cookie need this server's origin (or the CSRF token).
    let body = serde_json::json!({"title": "From the browser", "severity": "SEV3"});
    let r = b
        .post(app.url("/api/v1/incidents"))
        .header(COOKIE, &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "csrf");
    let r = b
        .post(app.url("/api/v1/incidents"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "http://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .post(app.url("/api/v1/incidents"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, &origin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let r = b
        .post(app.url("/logout"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = b
        .get(app.url("/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the ended session opens nothing");
    let r = b
        .get(app.url("/api/v1/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The old password is gone; the new one works; all of it is in the audit log.
    assert_eq!(
        sign_in(&app, "ann", "one-time-pass-123", "/")
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(&app, "ann", "my own long password", "/")
            .await
            .status(),
        303
    );
    let actions: Vec<String> = app
        .store
        .audit_records(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    for a in [
        "session.sign_in",
        "session.sign_in_failed",
        "user.password",
        "session.sign_out",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// Failures are counted in the database: wrong passwords spread over two nodes lock the
/// account on both, as on one.
async fn failures_on_two_nodes_lock_the_account_on_both(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let other = app.another_node().await;
    app.person("sam", Role::Security, "a long good password", false)
        .await;
    let attempt = |url: String, password: &'static str| async move {
        browser()
            .post(url)
            .form(&[("user", "sam"), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap()
            .status()
    };
    for n in 0..5 {
        let url = if n % 2 == 0 {
            app.url("/login")
        } else {
            other.url("/login")
        };
        assert_eq!(attempt(url, "wrong").await, 401, "attempt {n}");
    }
    for url in [app.url("/login"), other.url("/login")] {
        assert_eq!(
            attempt(url, "a long good password").await,
            429,
            "locked on every node, even with the right password"
        );
    }
}

async fn repeated_failures_lock_the_account_and_next_stays_home(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("sam", Role::Security, "a long good password", false)
        .await;
    app.person("cora", Role::Comms, "another good password", false)
        .await;
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "sam", "wrong", "/").await.status(), 401);
    }
    let locked = sign_in(&app, "sam", "a long good password", "/").await;
    assert_eq!(locked.status(), 429, "locked even with the right password");
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    // Another account from the same address is not locked by sam's failures.
    let r = sign_in(&app, "cora", "another good password", "//evil.example/x").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/", "next never leaves this server");
}

async fn sessions_are_listed_and_ended_by_their_person_or_an_admin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("ann", Role::CxLead, "a long good password", false)
        .await;
    app.person("bob", Role::Security, "bobs long password", false)
        .await;
    let laptop = cookie(sign_in(&app, "ann", "a long good password", "/").await);
    let phone = cookie(sign_in(&app, "ann", "a long good password", "/").await);
    let bobs = cookie(sign_in(&app, "bob", "bobs long password", "/").await);
    let b = browser();
    let get = |path: &str, cookie: &str| {
        b.get(app.url(path))
            .header(COOKIE, cookie.to_owned())
            .send()
    };
    let me: serde_json::Value = get("/api/v1/me", &laptop)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 43);
    let list: serde_json::Value = get("/api/v1/sessions", &laptop)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "ann's two sessions, not bob's: {list}");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Bob cannot end ann's session, nor list everyone's.
    let bob_csrf: serde_json::Value = get("/api/v1/me", &bobs)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = b
        .delete(app.url(&format!("/api/v1/sessions/{other}")))
        .header(COOKIE, &bobs)
        .header("x-csrf-token", bob_csrf["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        get("/api/v1/sessions?all=true", &bobs)
            .await
            .unwrap()
            .status(),
        403
    );
    // Ann ends her phone's session from her laptop, with the CSRF token.
    let r = b
        .delete(app.url(&format!("/api/v1/sessions/{other}")))
        .header(COOKIE, &laptop)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get("/api/v1/me", &phone).await.unwrap().status(), 401);
    assert_eq!(get("/api/v1/me", &laptop).await.unwrap().status(), 200);
    // An admin sees everyone's.
    let admin = app.token(Role::Admin).await;
    let (status, all) =
        frontline_testkit::json(app.get("/api/v1/sessions?all=true", &admin).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        2,
        "ann's laptop and bob: {all}"
    );
    // A machine's ingest token has no sessions to see or end.
    let ingest = app.token(Role::Ingest).await;
    assert_eq!(app.get("/api/v1/sessions", &ingest).await.status(), 403);
    assert_eq!(app.get("/api/v1/me", &ingest).await.status(), 200);
}

async fn the_review_is_written_on_its_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let origin = format!("http://{}", app.addr);
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    app.person("ann", Role::CxAgent, "anns long password!", false)
        .await;
    let sam = app.token_for("sam", Role::Security).await;
    let id = app.open_incident(&sam, "Phishing", "SEV2").await;
    let carla = cookie(sign_in(&app, "carla", "carlas long password", "/").await);
    let ann = cookie(sign_in(&app, "ann", "anns long password!", "/").await);
    let b = browser();
    let path = format!("/incidents/{id}/review");
    let page = b
        .get(app.url(&path))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Save the review"));
    let page = b
        .get(app.url(&path))
        .header(COOKIE, &ann)
        .send()
        .await
        .unwrap();
    assert!(
        !page.text().await.unwrap().contains("Save the review"),
        "agents read only"
    );

    let post = |cookie: &str, actions: &str| {
        b.post(app.url(&path))
            .header(COOKIE, cookie.to_owned())
            .header(ORIGIN, &origin)
            .form(&[
                ("summary", "CX saw it first."),
                ("went_well", "Agents flagged it"),
                ("went_wrong", ""),
                ("actions", actions),
            ])
            .send()
    };
    let r = post(&carla, "[ ] Template (owner: sam, due: next week)")
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("actions line 1") && html.contains("next week"),
        "kept and named"
    );
    let r = post(&carla, "[ ] Template (owner: nobody)").await.unwrap();
    refused(r, 422, "no user named").await;
    assert_eq!(post(&ann, "[ ] x").await.unwrap().status(), 403);
    let r = post(
        &carla,
        "[ ] Template (owner: sam, due: 2026-12-15)\n[x] Runbook",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let (_, review) = frontline_testkit::json(
        app.get(&format!("/api/v1/incidents/{id}/review"), &sam)
            .await,
    )
    .await;
    assert_eq!(review["summary"], "CX saw it first.");
    assert_eq!(review["actions"][0]["due"], "2026-12-15");
    assert_eq!(review["actions"][1]["done"], true);
    assert_eq!(review["updated_by"], "user:carla");
}

async fn an_alert_is_triaged_and_turned_into_an_incident_on_its_page(backend: Backend) {
    use frontline_core::alert::{DetectedAlert, Evidence};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let origin = format!("http://{}", app.addr);
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    app.person("ann", Role::CxAgent, "anns long password!", false)
        .await;
    let ingest = app.token(Role::Ingest).await;
    let now = chrono::Utc::now();
    let mut c = frontline_testkit::contact_json(
        "chat",
        "p1",
        &(now - chrono::Duration::minutes(20)).to_rfc3339(),
    );
    c["text"] = serde_json::json!(
        "Got a text with a link <script>steal()</script>, mail me at jane@example.com"
    );
    let (status, _) = frontline_testkit::json(
        app.post_json("/api/v1/contacts", &ingest, &serde_json::json!([c]))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    app.store
        .upsert_alerts(&[DetectedAlert {
            service: Some("login".into()),
            evidence: vec![Evidence {
                source: "chat".into(),
                id: "p1".into(),
            }],
            ..frontline_testkit::phishing_spike("wave")
        }])
        .await
        .unwrap();
    // A theme of the same wave joins its family: one row on the dashboard, not two.
    app.store
        .upsert_alerts(&[DetectedAlert {
            kind: frontline_core::alert::AlertKind::Theme,
            group_id: Some("wave".into()),
            ..frontline_testkit::phishing_spike("wave-words")
        }])
        .await
        .unwrap();
    app.store
        .upsert_alerts(&[DetectedAlert {
            group_id: Some("wave".into()),
            language: Some("it".into()),
            ..frontline_testkit::phishing_spike("wave-it")
        }])
        .await
        .unwrap();
    let carla = cookie(sign_in(&app, "carla", "carlas long password", "/").await);
    let ann = cookie(sign_in(&app, "ann", "anns long password!", "/").await);
    let b = browser();
    let dashboard = b
        .get(app.url("/"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("href=\"/alerts/wave\""), "{dashboard}");
    assert!(
        dashboard.contains("and 2 more of the same wave")
            && dashboard.contains("<td>spike, theme</td>")
            && !dashboard.contains("href=\"/alerts/wave-words\""),
        "{dashboard}"
    );
    let page = b
        .get(app.url("/alerts/wave"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("[email]") && !html.contains("jane@example.com"),
        "redacted evidence"
    );
    assert!(
        html.contains("&lt;script&gt;steal()&lt;&#x2f;script&gt;"),
        "escaped evidence"
    );
    assert!(
        frontline_testkit::runs_only_its_own_script(&html, &csp),
        "the contact's script is text, the page's own is the only one"
    );
    assert!(html.contains("<svg") && html.contains("Acknowledge"));
    // A helpdesk connection gone silent: its alert says what is missing, not what customers
    // wrote.
    app.store
        .upsert_alerts(&[DetectedAlert {
            kind: frontline_core::alert::AlertKind::IntakeGap,
            topic: None,
            text: Some("Nothing from helpdesk connection zd for 90 minutes".into()),
            evidence: Vec::new(),
            ..frontline_testkit::phishing_spike("gap")
        }])
        .await
        .unwrap();
    let gap = b
        .get(app.url("/alerts/gap"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap();
    assert_eq!(gap.status(), 200);
    let gap = gap.text().await.unwrap();
    assert!(
        gap.contains("What is missing") && gap.contains("Nothing from helpdesk connection zd"),
        "{gap}"
    );
    // Each contact says which words drove its topic.
    assert!(
        html.contains("<strong>phishing</strong>: ") && html.contains("link"),
        "{html}"
    );
    let agent_view = b
        .get(app.url("/alerts/wave"))
        .header(COOKIE, &ann)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!agent_view.contains("Acknowledge") && !agent_view.contains("Dismiss"));

    let post = |path: &str, cookie: &str, form: &[(&str, &str)]| {
        b.post(app.url(path))
            .header(COOKIE, cookie.to_owned())
            .header(ORIGIN, &origin)
            .form(form)
            .send()
    };
    assert_eq!(
        post("/alerts/wave/ack", &ann, &[]).await.unwrap().status(),
        403
    );
    let r = post("/alerts/wave/ack", &carla, &[]).await.unwrap();
    assert_eq!(r.status(), 303);
    let r = post("/alerts/wave/ack", &carla, &[]).await.unwrap();
    assert_eq!(r.status(), 409, "acknowledged once");
    let r = post("/alerts/wave/dismiss", &carla, &[("reason", "  ")])
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("reason: must not be empty")
    );
    let r = post("/alerts/wave/incident", &carla, &[("severity", "SEV2")])
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/incidents/"), "{to}");
    let id: i64 = to.trim_start_matches("/incidents/").parse().unwrap();
    let sam = app.token(Role::Security).await;
    let (_, incident) =
        frontline_testkit::json(app.get(&format!("/api/v1/incidents/{id}"), &sam).await).await;
    assert_eq!(incident["severity"], "SEV2");
    assert_eq!(incident["services"], serde_json::json!(["login"]));
    assert_eq!(incident["links"][0]["id"], "wave", "{incident}");
    let html = b
        .get(app.url("/alerts/wave"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("incident {id}")) && !html.contains("Open an incident"));
}

async fn agents_read_what_to_say_and_flag_questions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let origin = format!("http://{}", app.addr);
    app.person("ann", Role::CxAgent, "anns long password!", false)
        .await;
    app.person("vic", Role::Viewer, "vics long password!", false)
        .await;
    let sam = app.token_for("sam", Role::Security).await;
    let id = app.open_incident(&sam, "Login <trouble>", "SEV2").await;
    let ann = cookie(sign_in(&app, "ann", "anns long password!", "/").await);
    let vic = cookie(sign_in(&app, "vic", "vics long password!", "/").await);
    let b = browser();
    let html = b
        .get(app.url("/agent"))
        .header(COOKIE, &ann)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Login &lt;trouble&gt;") && html.contains("None published yet"),
        "{html}"
    );
    let ask = |cookie: &str, incident: &str, question: &str| {
        b.post(app.url("/agent/questions"))
            .header(COOKIE, cookie.to_owned())
            .header(ORIGIN, &origin)
            .form(&[("incident_id", incident), ("question", question)])
            .send()
    };
    let id_s = id.to_string();
    let r = ask(&ann, &id_s, "Is my card data safe?").await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/agent?flagged={id}"));
    let r = ask(&ann, &id_s, "   ").await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("question: must not be empty")
    );
    let r = ask(&ann, "999", "Anything?").await.unwrap();
    refused(r, 422, "incident_id").await;
    assert_eq!(
        ask(&vic, &id_s, "x?").await.unwrap().status(),
        403,
        "viewers read only"
    );
    let (_, timeline) = frontline_testkit::json(
        app.get(&format!("/api/v1/incidents/{id}/timeline"), &sam)
            .await,
    )
    .await;
    let notes: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "incident.note")
        .map(|e| e["data"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["Customers ask (not answered by the talking points): Is my card data safe?"]
    );
}

async fn the_war_room_takes_notes_and_state_changes_and_says_what_it_refuses(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("sam", Role::Security, "sams long password!", false)
        .await;
    let token = app.token_for("sam", Role::Security).await;
    let id = app.open_incident(&token, "Takeovers", "SEV1").await;
    let sam = cookie(sign_in(&app, "sam", "sams long password!", "/").await);
    let b = browser();
    let page = b
        .get(app.url(&format!("/incidents/{id}")))
        .header(COOKIE, &sam)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Next public update due by"),
        "SEV1 has a cadence: {html}"
    );
    let r = post_form(
        &app,
        &format!("/incidents/{id}/note"),
        &sam,
        &[("body", "<i>blocking</i> IPs")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &format!("/incidents/{id}/note"),
        &sam,
        &[("body", "  ")],
    )
    .await;
    refused(r, 422, "body").await;
    let r = post_form(
        &app,
        &format!("/incidents/{id}/state"),
        &sam,
        &[("state", "gone"), ("severity", "SEV1")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post_form(
        &app,
        &format!("/incidents/{id}/state"),
        &sam,
        &[("state", "resolved"), ("severity", "SEV2")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let html = b
        .get(app.url(&format!("/incidents/{id}")))
        .header(COOKIE, &sam)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("SEV2 · resolved"), "{html}");
    assert!(
        html.contains("&lt;i&gt;blocking&lt;&#x2f;i&gt; IPs"),
        "the note, escaped"
    );
    assert!(
        !html.contains("Next public update due by"),
        "resolved: nothing due"
    );
}

/// A form sent from this server's pages by the person of `cookie`.
async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header(ORIGIN, format!("http://{}", app.addr))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Asserts that a form was refused with `status`, the page naming `what` (a field, a reason).
async fn refused(r: reqwest::Response, status: u16, what: &str) {
    assert_eq!(r.status(), status);
    let page = r.text().await.unwrap();
    assert!(page.contains(what), "{what} is not named: {page}");
}

/// The page at `path` as `cookie` sees it.
async fn read_page(app: &TestApp, path: &str, cookie: &str) -> String {
    let r = browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn the_war_room_keeps_seats_tasks_and_statement_versions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let origin = format!("http://{}", app.addr);
    app.person("sam", Role::Security, "sams long password!", false)
        .await;
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    let token = app.token_for("sam", Role::Security).await;
    let id = app.open_incident(&token, "Takeovers", "SEV2").await;
    let sam = cookie(sign_in(&app, "sam", "sams long password!", "/").await);
    let war_room = format!("/incidents/{id}");

    // Seats: given to people who exist; a bad seat or person is named, nothing changes.
    let r = post_form(
        &app,
        &format!("{war_room}/seats"),
        &sam,
        &[("seat", "commander"), ("user", "carla")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &format!("{war_room}/seats"),
        &sam,
        &[("seat", "boss"), ("user", "carla")],
    )
    .await;
    refused(r, 422, "seat").await;
    let r = post_form(
        &app,
        &format!("{war_room}/seats"),
        &sam,
        &[("seat", "cx_lead"), ("user", "nobody")],
    )
    .await;
    refused(r, 422, "nobody").await;

    // Tasks: added (escaped), marked done; a bad flag is named.
    let r = post_form(
        &app,
        &format!("{war_room}/tasks"),
        &sam,
        &[
            ("title", "<script>x()</script> rotate keys"),
            ("owner", "sam"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &format!("{war_room}/tasks/1"),
        &sam,
        &[("done", "true")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &format!("{war_room}/tasks/1"),
        &sam,
        &[("done", "maybe")],
    )
    .await;
    refused(r, 422, "done").await;
    let r = post_form(
        &app,
        &format!("{war_room}/tasks/9"),
        &sam,
        &[("done", "true")],
    )
    .await;
    assert!(r.status().is_client_error(), "{}", r.status());

    // A statement, then its second version written on the page: the change is shown word by
    // word, escaped, and approvals start again.
    let draft = app
        .post_json(
            &format!("/api/v1/incidents/{id}/statements"),
            &token,
            &serde_json::json!({"audience": "public", "body": "We are looking into it."}),
        )
        .await;
    assert_eq!(draft.status(), 201, "{}", draft.text().await.unwrap());
    let sid = draft.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let carla = app.token_for("carla", Role::CxLead).await;
    let r = app
        .post_json(
            &format!("/api/v1/statements/{sid}/approve"),
            &carla,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = post_form(
        &app,
        &format!("/statements/{sid}/edit"),
        &sam,
        &[
            ("title", "Sign-in trouble"),
            ("body", "We are <script>fixing()</script> it."),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        &format!("/statements/{sid}/edit"),
        &sam,
        &[("body", " ")],
    )
    .await;
    refused(r, 422, "body").await;

    let html = read_page(&app, &war_room, &sam).await;
    assert!(html.contains("commander:</span> carla"), "{html}");
    assert!(
        html.contains("&lt;script&gt;x()&lt;&#x2f;script&gt; rotate keys")
            && !html.contains("<script>x()"),
        "the task, escaped"
    );
    assert!(html.contains(r#"<li class="done">"#), "task 1 is done");
    assert!(html.contains("What changed since version 1"), "{html}");
    assert!(html.contains("<del>looking into</del>"), "{html}");
    assert!(
        html.contains("<ins>&lt;script&gt;fixing()&lt;&#x2f;script&gt;</ins>")
            && html.matches("<script").count() == 1,
        "{html}"
    );
    let version_2 = &html[html.find("version 2").unwrap()..];
    assert!(
        version_2.contains("Approvals: none yet"),
        "a new version needs new approvals"
    );

    // The agent cannot change seats or tasks.
    app.person("ann", Role::CxAgent, "anns long password!", false)
        .await;
    let ann = cookie(sign_in(&app, "ann", "anns long password!", "/").await);
    let r = browser()
        .post(app.url(&format!("{war_room}/tasks")))
        .header(COOKIE, ann)
        .header(ORIGIN, origin.clone())
        .form(&[("title", "mine")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn the_dashboard_charts_topics_against_their_usual_band_and_says_what_is_due(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    let ingest = app.token(Role::Ingest).await;
    let lead = app.token_for("carla", Role::CxLead).await;
    // Three contacts an hour ago on each of the 7 days before, and 12 in the last hour.
    let now = chrono::Utc::now();
    let mut batch = Vec::new();
    for day in 1..=7 {
        for k in 0..3 {
            let at = now - chrono::Duration::days(day) - chrono::Duration::minutes(30 + k);
            batch.push(frontline_testkit::contact_json(
                "zendesk",
                &format!("d{day}-{k}"),
                &at.to_rfc3339(),
            ));
        }
    }
    for k in 0..12 {
        let at = now - chrono::Duration::minutes(20 + k);
        batch.push(frontline_testkit::contact_json(
            "zendesk",
            &format!("now-{k}"),
            &at.to_rfc3339(),
        ));
    }
    let r = app
        .post_json("/api/v1/contacts", &ingest, &serde_json::json!(batch))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let contacts: serde_json::Value = app
        .get("/api/v1/contacts?limit=1", &lead)
        .await
        .json()
        .await
        .unwrap();
    let topic = contacts["items"][0]["topics"][0]
        .as_str()
        .unwrap_or_else(|| panic!("a topic: {contacts}"))
        .to_owned();
    let id = app.open_incident(&lead, "Sign-in trouble", "SEV1").await;

    let carla = cookie(sign_in(&app, "carla", "carlas long password", "/").await);
    let html = read_page(&app, "/", &carla).await;
    assert!(
        html.contains(&format!("{topic} <span class=\"meta\">· 12 in 24 h")),
        "{html}"
    );
    assert!(
        html.contains(&format!("{topic}: the last 24 hours"))
            && html.contains(&format!("{topic}: the last 7 days")),
        "both charts"
    );
    assert!(
        html.contains("<title>expected range</title>"),
        "seven days of history make a band"
    );
    // The SEV1 incident: no public word yet, the next one due (by the cadence), live.
    let row = &html[html.find(&format!("/incidents/{id}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("none yet") && row.contains("data-due="),
        "{row}"
    );
    assert!(
        html.contains(r#"data-live="alert.raised,"#),
        "the page is live"
    );

    // The volumes are gathered once for every render within a few seconds; a cache that may
    // be zero seconds old reads again.
    let cache = frontline_server::web::volume::Cache::default();
    let none = std::collections::BTreeSet::new();
    let fresh = frontline_server::web::volume::FRESH;
    let count = |v: &[frontline_server::web::volume::TopicVolume]| {
        v.iter().find(|t| t.topic == topic).map(|t| t.last_day)
    };
    let (_, first) = cache
        .get(app.store.as_ref(), 6, &none, fresh)
        .await
        .unwrap();
    assert_eq!(count(&first), Some(12));
    let more: Vec<_> = (0..3)
        .map(|k| {
            frontline_testkit::contact_json(
                "zendesk",
                &format!("more-{k}"),
                &(chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
            )
        })
        .collect();
    let r = app
        .post_json("/api/v1/contacts", &ingest, &serde_json::json!(more))
        .await;
    assert_eq!(r.status(), 200);
    let (_, cached) = cache
        .get(app.store.as_ref(), 6, &none, fresh)
        .await
        .unwrap();
    assert_eq!(count(&cached), Some(12), "reused");
    let (_, again) = cache
        .get(app.store.as_ref(), 6, &none, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(count(&again), Some(15), "read again");
}

/// The value of the one-time secret an admin page shows.
fn shown_secret(html: &str) -> String {
    let at = html
        .find(r#"id="secret" readonly value=""#)
        .unwrap_or_else(|| panic!("no secret shown: {html}"));
    let rest = &html[at + r#"id="secret" readonly value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn admins_manage_people_tokens_and_sessions_on_the_admin_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("ada", Role::Admin, "adas long password!", false)
        .await;
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    let ada = cookie(sign_in(&app, "ada", "adas long password!", "/").await);
    let carla = cookie(sign_in(&app, "carla", "carlas long password", "/").await);
    let html = read_page(&app, "/admin", &ada).await;
    assert!(html.contains("<td>carla</td><td>cx_lead</td>"), "{html}");
    // The nodes sharing the database, this one among them, with what it runs (its workers
    // take their leases within moments of the start).
    let mut html = html;
    for _ in 0..50 {
        if html.contains("(epoch 1)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        html = read_page(&app, "/admin", &ada).await;
    }
    assert!(html.contains("(this one)</td><td>127.0.0.1:"), "{html}");
    assert!(html.contains("(epoch 1)"), "{html}");
    // Not for others.
    let r = browser()
        .get(app.url("/admin"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        !read_page(&app, "/", &carla)
            .await
            .contains(r#"href="/admin""#)
    );

    // A new person: the one-time password is shown once and works (then must be changed).
    let r = post_form(
        &app,
        "/admin/people",
        &ada,
        &[("name", "nia"), ("role", "cx_agent")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let password = shown_secret(&r.text().await.unwrap());
    assert!(password.len() >= 16, "{password}");
    let signed = sign_in(&app, "nia", &password, "/").await;
    assert_eq!(signed.status(), 303, "the shown password signs in");
    let nia = cookie(signed);
    let r = browser()
        .get(app.url("/"))
        .header(COOKIE, &nia)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&r),
        "/password",
        "a one-time password must be changed"
    );
    let r = post_form(
        &app,
        "/admin/people",
        &ada,
        &[("name", "x"), ("role", "king")],
    )
    .await;
    refused(r, 422, "role").await;
    assert!(
        !read_page(&app, "/admin", &ada).await.contains("<td>x</td>"),
        "nothing made"
    );

    // A token: shown once, works, then revoked on the page and refused.
    let r = post_form(
        &app,
        "/admin/tokens",
        &ada,
        &[("user", "zendesk-bot"), ("role", "ingest"), ("days", "30")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let token = shown_secret(&r.text().await.unwrap());
    assert_eq!(app.get("/api/v1/me", &token).await.status(), 200);
    let id = token
        .trim_start_matches("flt_")
        .split('_')
        .next()
        .unwrap()
        .to_owned();
    let html = read_page(&app, "/admin", &ada).await;
    assert!(html.contains(&format!("<code>{id}</code>")), "{html}");
    let r = post_form(&app, &format!("/admin/tokens/{id}/revoke"), &ada, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("revoked"));
    assert_eq!(app.get("/api/v1/me", &token).await.status(), 401);
    let r = post_form(
        &app,
        "/admin/tokens",
        &ada,
        &[("user", "bot"), ("role", "ingest"), ("days", "forever")],
    )
    .await;
    refused(r, 422, "days").await;

    // Carla's session, ended by the admin: her next page sends her to sign in.
    let sessions: serde_json::Value = browser()
        .get(app.url("/api/v1/sessions?all=true"))
        .header(COOKIE, &ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hers = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user"] == "carla")
        .unwrap_or_else(|| panic!("{sessions}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post_form(&app, &format!("/admin/sessions/{hers}/revoke"), &ada, &[]).await;
    assert_eq!(r.status(), 200);
    let r = browser()
        .get(app.url("/"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

async fn the_settings_page_shows_topics_and_sets_components_and_webhooks(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("ada", Role::Admin, "adas long password!", false)
        .await;
    app.person("cora", Role::Comms, "coras long password!", false)
        .await;
    let ada = cookie(sign_in(&app, "ada", "adas long password!", "/").await);
    let cora = cookie(sign_in(&app, "cora", "coras long password!", "/").await);
    let html = read_page(&app, "/settings", &cora).await;
    assert!(html.contains("<td>phishing</td><td>yes</td>"), "{html}");
    assert!(!html.contains("Webhooks"), "webhooks are for admins");

    let r = post_form(
        &app,
        "/settings/components",
        &cora,
        &[("name", "<b>login</b>"), ("status", "degraded")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        "/settings/components",
        &cora,
        &[("name", "login"), ("status", "broken")],
    )
    .await;
    refused(r, 422, "status").await;
    let html = read_page(&app, "/settings", &cora).await;
    assert!(
        html.contains("<td>&lt;b&gt;login&lt;&#x2f;b&gt;</td><td>degraded</td>"),
        "{html}"
    );
    // The status page is rendered again when something public changes, in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = reqwest::get(app.url("/status.json"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if status.contains("degraded") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Webhooks: a bad address is named and nothing is added; one made by the API is listed
    // (never its secret) and deleted on the page.
    let r = post_form(
        &app,
        "/settings/webhooks",
        &ada,
        &[
            ("url", "ftp://example.com/x"),
            ("secret", "s3cret-value-123"),
        ],
    )
    .await;
    refused(r, 422, "url").await;
    let admin = app.token(Role::Admin).await;
    let made = app
        .post_json(
            "/api/v1/webhooks",
            &admin,
            &serde_json::json!({"url": "http://127.0.0.1:9/hook", "secret": "hidden-secret-42"}),
        )
        .await;
    let made_status = made.status();
    let made: serde_json::Value = made.json().await.unwrap();
    assert_eq!(made_status, 201, "{made}");
    let id = made["id"].as_i64().unwrap();
    let html = read_page(&app, "/settings", &ada).await;
    assert!(html.contains("127.0.0.1:9") && !html.contains("hidden-secret-42"));
    // Helpdesks: listed with their intake path and health, never their credentials.
    assert!(html.contains("No helpdesk connected."), "{html}");
    let made = app
        .post_json(
            "/api/v1/helpdesks",
            &admin,
            &serde_json::json!({"name": "zd-eu", "kind": "zendesk", "base_url": "https://eu.example.com",
                "signing_secret": "zd-signing-secret", "auth": {"email": "a@example.com", "api_token": "zd-api-token-x"}}),
        )
        .await;
    assert_eq!(made.status(), 201);
    let html = read_page(&app, "/settings", &ada).await;
    assert!(
        html.contains("<td>zd-eu</td><td>zendesk</td>")
            && html.contains("integrations&#x2f;zendesk&#x2f;zd-eu"),
        "{html}"
    );
    assert!(!html.contains("zd-signing-secret") && !html.contains("zd-api-token-x"));
    assert!(
        !read_page(&app, "/settings", &cora)
            .await
            .contains("Helpdesks")
    );
    let r = post_form(&app, &format!("/settings/webhooks/{id}/delete"), &ada, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(!r.text().await.unwrap().contains("127.0.0.1:9"));
    // The war room counts an incident's helpdesk writes per connection.
    let security = app.token(Role::Security).await;
    let incident: serde_json::Value = app
        .post_json(
            "/api/v1/incidents",
            &security,
            &serde_json::json!({"title": "Phishing wave", "severity": "SEV2"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let incident = incident["id"].as_i64().unwrap();
    let html = read_page(&app, &format!("/incidents/{incident}"), &ada).await;
    assert!(
        !html.contains("Helpdesk tickets"),
        "no panel without writes"
    );
    use frontline_store::helpdesks::{PlannedWrite, WriteKey, WriteStatus};
    let writes: Vec<PlannedWrite> = ["101", "102", "103"]
        .iter()
        .map(|t| PlannedWrite {
            key: WriteKey::link("zd-eu", t, incident),
            incident_id: incident,
            body: "Linked".into(),
        })
        .collect();
    app.store.plan_helpdesk_writes(&writes).await.unwrap();
    let sent = [writes[0].key.clone(), writes[1].key.clone()];
    app.store
        .settle_helpdesk_writes(&sent, WriteStatus::Sent, None)
        .await
        .unwrap();
    let html = read_page(&app, &format!("/incidents/{incident}"), &ada).await;
    assert!(
        html.contains("Helpdesk tickets")
            && html.contains(
                "<td>zd-eu</td><td class=\"num\">3</td><td class=\"num\">2</td><td class=\"num\">1</td>"
            ),
        "{html}"
    );
    // The wrap-up waits for the incident to be resolved; those who run incidents can stop what
    // is on its way to the tickets.
    assert!(
        html.contains("Solving the tickets waits: the incident is not resolved."),
        "{html}"
    );
    assert!(
        !html.contains("Stop sending"),
        "nothing to stop: link notes go on"
    );
    let reply = PlannedWrite {
        key: WriteKey {
            connection: "zd-eu".into(),
            ticket: "104".into(),
            statement_id: 77,
            version: 1,
            action: frontline_store::helpdesks::WriteAction::Reply,
        },
        incident_id: incident,
        body: "We are on it.".into(),
    };
    app.store.plan_helpdesk_writes(&[reply]).await.unwrap();
    let page = format!("/incidents/{incident}");
    assert!(
        read_page(&app, &page, &cora)
            .await
            .contains("Stop sending to tickets")
    );
    let r = post_form(&app, &format!("{page}/helpdesk/abort"), &cora, &[]).await;
    assert_eq!(r.status(), 303, "back to the war room");
    let html = read_page(&app, &page, &cora).await;
    // Four tickets, two sent, one link note still on its way (link notes go on), one stopped.
    assert!(
        html.contains(
            "<td>zd-eu</td><td class=\"num\">4</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">1</td>"
        ),
        "{html}"
    );
}

async fn behind_a_trusted_proxy_the_client_and_https_come_from_its_headers(backend: Backend) {
    let Some(app) = frontline_testkit::spawn_app_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    app.person("ann", Role::CxLead, "a long good password", false)
        .await;
    app.person("bob", Role::Security, "bobs long password!", false)
        .await;
    let via = |user: &'static str, password: &'static str, from: &'static str| {
        browser()
            .post(app.url("/login"))
            .header("x-forwarded-for", format!("6.6.6.6, {from}"))
            .header("x-forwarded-proto", "https")
            .form(&[("user", user), ("password", password), ("next", "/")])
            .send()
    };
    // Twenty failures from one client (different names, so no account locks) lock that
    // client out, not the proxy: another client still signs in.
    let failures: Vec<_> = (0..20)
        .map(|i| {
            let name: &'static str = Box::leak(format!("nobody{i}").into_boxed_str());
            via(name, "wrong", "198.51.100.1")
        })
        .collect();
    for r in futures::future::join_all(failures).await {
        assert_eq!(r.unwrap().status(), 401);
    }
    let r = via("ann", "a long good password", "198.51.100.1")
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "that client is locked out");
    let r = via("ann", "a long good password", "198.51.100.2")
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "another client behind the same proxy is not"
    );
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.contains("; Secure"), "HTTPS at the proxy: {set}");
    let ann = cookie(r);
    let list: serde_json::Value = browser()
        .get(app.url("/api/v1/sessions"))
        .header(COOKIE, &ann)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["client"], "198.51.100.2", "{list}");

    // Without trust, the same headers count for nothing.
    let Some(plain) = spawn_app(backend).await else {
        return;
    };
    plain
        .person("ann", Role::CxLead, "a long good password", false)
        .await;
    let r = browser()
        .post(plain.url("/login"))
        .header("x-forwarded-for", "198.51.100.2")
        .header("x-forwarded-proto", "https")
        .form(&[
            ("user", "ann"),
            ("password", "a long good password"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(!set.contains("Secure"), "{set}");
    let ann = cookie(r);
    let list: serde_json::Value = browser()
        .get(plain.url("/api/v1/sessions"))
        .header(COOKIE, &ann)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["client"], "127.0.0.1", "{list}");
}

async fn an_alert_is_added_to_an_open_incident_from_its_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    let sam = app.token_for("sam", Role::Security).await;
    let id = app.open_incident(&sam, "Lookalike domain", "SEV2").await;
    app.store
        .upsert_alerts(&[frontline_testkit::phishing_spike("wave")])
        .await
        .unwrap();
    let carla = cookie(sign_in(&app, "carla", "carlas long password", "/").await);
    let alert_row = |html: &str| {
        let row = &html[html.find(r#"<a href="/alerts/wave">"#).unwrap()..];
        row[..row.find("</tr>").unwrap()].to_owned()
    };
    let dashboard = read_page(&app, "/", &carla).await;
    assert!(alert_row(&dashboard).contains("none yet"), "{dashboard}");
    let html = read_page(&app, "/alerts/wave", &carla).await;
    assert!(
        html.contains(&format!(
            r#"<option value="{id}">{id}: Lookalike domain (SEV2)</option>"#
        )),
        "{html}"
    );
    let r = post_form(
        &app,
        "/alerts/wave/link",
        &carla,
        &[("incident_id", "none")],
    )
    .await;
    assert!(r.text().await.unwrap().contains("Choose an incident."));
    let r = post_form(
        &app,
        "/alerts/wave/link",
        &carla,
        &[("incident_id", &id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/incidents/{id}"));
    let war_room = read_page(&app, &format!("/incidents/{id}"), &carla).await;
    assert!(war_room.contains(r#"href="/alerts/wave""#), "{war_room}");
    let html = read_page(&app, "/alerts/wave", &carla).await;
    assert!(html.contains(&format!("incident {id}</a>")) && !html.contains("Add it to"));
    let dashboard = read_page(&app, "/", &carla).await;
    assert!(
        alert_row(&dashboard).contains(&format!(r#"<a href="/incidents/{id}">incident {id}</a>"#)),
        "the dashboard says where the alert is handled: {dashboard}"
    );
}

async fn an_admin_takes_a_role_or_all_access_away_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.person("ada", Role::Admin, "adas long password!", false)
        .await;
    app.person("carla", Role::CxLead, "carlas long password", false)
        .await;
    let token = app.token_for("carla", Role::Comms).await;
    let ada = cookie(sign_in(&app, "ada", "adas long password!", "/").await);
    let carla = cookie(sign_in(&app, "carla", "carlas long password", "/").await);
    let html = read_page(&app, "/admin", &ada).await;
    assert!(
        html.contains("<td>carla</td><td>cx_lead, comms</td>"),
        "{html}"
    );

    let r = post_form(
        &app,
        "/admin/people/remove",
        &ada,
        &[("name", "carla"), ("role", "comms")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("carla no longer has the comms role.")
    );
    let me: serde_json::Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["roles"], serde_json::json!(["cx_lead"]), "{me}");

    let r = post_form(
        &app,
        "/admin/people/remove",
        &ada,
        &[("name", "carla"), ("role", "")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("1 roles taken away, 1 sessions ended, 1 tokens revoked"),
        "{html}"
    );
    assert_eq!(app.get("/api/v1/me", &token).await.status(), 401);
    let r = browser()
        .get(app.url("/"))
        .header(COOKIE, &carla)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login?next=/", "her session is over");
    let again = sign_in(&app, "carla", "carlas long password", "/").await;
    assert_eq!(again.status(), 401, "her password is gone");

    // Nobody locks themselves out; a bad role is named.
    let r = post_form(
        &app,
        "/admin/people/remove",
        &ada,
        &[("name", "ada"), ("role", "")],
    )
    .await;
    refused(r, 409, "another admin").await;
    let r = post_form(
        &app,
        "/admin/people/remove",
        &ada,
        &[("name", "ada"), ("role", "wizard")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post_form(
        &app,
        "/admin/people/remove",
        &ada,
        &[("name", "ghost"), ("role", "")],
    )
    .await;
    assert_eq!(r.status(), 404);
}

frontline_testkit::backend_tests!(
    failures_on_two_nodes_lock_the_account_on_both,
    an_admin_takes_a_role_or_all_access_away_at_once,
    an_alert_is_added_to_an_open_incident_from_its_page,
    behind_a_trusted_proxy_the_client_and_https_come_from_its_headers,
    admins_manage_people_tokens_and_sessions_on_the_admin_page,
    the_settings_page_shows_topics_and_sets_components_and_webhooks,
    the_war_room_keeps_seats_tasks_and_statement_versions,
    the_dashboard_charts_topics_against_their_usual_band_and_says_what_is_due,
    the_war_room_takes_notes_and_state_changes_and_says_what_it_refuses,
    agents_read_what_to_say_and_flag_questions,
    an_alert_is_triaged_and_turned_into_an_incident_on_its_page,
    the_review_is_written_on_its_page,
    sessions_are_listed_and_ended_by_their_person_or_an_admin,
    a_person_signs_in_changes_the_one_time_password_and_signs_out,
    repeated_failures_lock_the_account_and_next_stays_home,
);
