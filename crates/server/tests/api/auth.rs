//! Authentication and the policy table, route by route.

use frontline_core::Role;
use frontline_core::audit::Actor;
use frontline_core::policy;
use frontline_server::api::v1::ROUTES;
use frontline_server::auth::token::issue;
use frontline_server::web::PAGES;
use frontline_store::Origin;
use frontline_testkit::{Backend, TestApp, json, spawn_app, spawn_app_with};

fn concrete(path: &str) -> String {
    path.replace("{source}", "zendesk")
        .replace("{id}", "1")
        .replace("{task}", "1")
        .replace("{name}", "web")
}

async fn call(
    app: &TestApp,
    method: &axum::http::Method,
    path: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    // Redirects are answers here (a page sends a browser without a session to /login).
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client
        .request(method.clone(), app.url(&concrete(path)))
        .header("content-type", "application/json")
        .body("[]");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let response = req.send().await.unwrap();
    let is_json = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        // The live stream never ends, and pages, redirects and exports are not JSON: the
        // status is the answer.
        return (response.status().as_u16(), serde_json::Value::Null);
    }
    json(response).await
}

async fn every_route_allows_exactly_the_roles_of_its_action(backend: Backend) {
    // Hundreds of requests from one address in a second: the walk is not what limits test.
    let Some(app) = spawn_app_with(backend, |c| {
        c.limits.client_per_second = 0;
        c.limits.token_per_second = 0;
    })
    .await
    else {
        return;
    };
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, app.token(role).await));
    }
    // A token of each kind that must never work, on any route.
    let origin = Origin::new(Actor::System);
    let (revoked_info, revoked) = issue(app.store.as_ref(), "rex", Role::Admin, None, &origin)
        .await
        .unwrap();
    app.store
        .revoke_token(&revoked_info.id, &origin)
        .await
        .unwrap();
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (_, expired) = issue(app.store.as_ref(), "exa", Role::Admin, Some(past), &origin)
        .await
        .unwrap();
    let mut pairs = 0;
    for rule in ROUTES.iter().chain(PAGES) {
        for (why, token) in [("revoked", &revoked), ("expired", &expired)] {
            let (status, body) = call(&app, &rule.method, rule.path, Some(token)).await;
            assert_eq!(
                status, 401,
                "{} {} with an {why} admin token: {body}",
                rule.method, rule.path
            );
            assert!(
                body["error"]["message"].as_str().unwrap().contains(why),
                "{body}"
            );
            pairs += 1;
        }
        for (role, token) in &tokens {
            let (status, body) = call(&app, &rule.method, rule.path, Some(token)).await;
            let allowed = policy::allows(&[*role], rule.action);
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{} {} as {role}: {status} {body}",
                    rule.method,
                    rule.path
                );
            } else {
                assert_eq!(
                    status, 403,
                    "{} {} as {role}: {body}",
                    rule.method, rule.path
                );
                assert_eq!(body["error"]["code"], "forbidden");
            }
        }
        let (status, body) = call(&app, &rule.method, rule.path, None).await;
        if PAGES.contains(rule) && rule.method == axum::http::Method::GET {
            assert_eq!(
                status, 303,
                "{} {}: a browser is sent to sign in",
                rule.method, rule.path
            );
        } else {
            assert_eq!(status, 401, "{} {} without a token", rule.method, rule.path);
            assert_eq!(body["error"]["code"], "unauthorized");
        }
        pairs += tokens.len() + 1;
    }
    // Every route and page, with every role, none, a revoked and an expired token.
    assert_eq!(pairs, (ROUTES.len() + PAGES.len()) * (Role::ALL.len() + 3));
    println!("{pairs} route × credential pairs checked");
}

async fn bad_tokens_are_refused_with_a_reason(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let good = app.token(Role::Viewer).await;
    // Same id, wrong secret.
    let (prefix, _) = good.rsplit_once('_').unwrap();
    let forged = format!("{prefix}_{}", "A".repeat(43));
    for (header, why) in [
        ("Bearer nonsense".to_owned(), "malformed"),
        (format!("Bearer {forged}"), "wrong secret"),
        (format!("Basic {good}"), "wrong scheme"),
        (good.clone(), "no scheme"),
    ] {
        let res = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{why}");
        let (status, body) = json(res).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{why}");
    }
    let (status, body) = json(app.get("/api/v1/me", &good).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"], "viewer");
    assert_eq!(body["roles"], serde_json::json!(["viewer"]));
}

async fn revoked_and_expired_tokens_stop_working_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let origin = Origin::new(Actor::System);
    let (info, token) = issue(app.store.as_ref(), "ann", Role::Security, None, &origin)
        .await
        .unwrap();
    assert_eq!(json(app.get("/api/v1/me", &token).await).await.0, 200);
    app.store.revoke_token(&info.id, &origin).await.unwrap();
    let (status, body) = json(app.get("/api/v1/me", &token).await).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (_, expired) = issue(
        app.store.as_ref(),
        "ann",
        Role::Security,
        Some(past),
        &origin,
    )
    .await
    .unwrap();
    let (status, body) = json(app.get("/api/v1/me", &expired).await).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

async fn authorisation_is_checked_before_the_body(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let viewer = app.token(Role::Viewer).await;
    let (status, body) = json(app.post_raw("/api/v1/contacts", &viewer, "{not json").await).await;
    assert_eq!(status, 403, "{body}");
    let res = app
        .client
        .post(app.url("/api/v1/contacts"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn roles_accumulate_on_one_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = app.token_for("kim", Role::CxAgent).await;
    app.token_for("kim", Role::Ingest).await;
    // The first token now carries both roles: a token acts as its user.
    let (status, body) = json(app.get("/api/v1/me", &first).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["roles"], serde_json::json!(["cx_agent", "ingest"]));
    let (status, _) = json(
        app.post_json("/api/v1/contacts", &first, &serde_json::json!([]))
            .await,
    )
    .await;
    assert_eq!(status, 200);
}

async fn unknown_paths_and_methods_answer_json(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = json(app.client.get(app.url("/nope")).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = json(
        app.client
            .delete(app.url("/api/v1/contacts"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let (status, body) = json(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

frontline_testkit::backend_tests!(
    every_route_allows_exactly_the_roles_of_its_action,
    bad_tokens_are_refused_with_a_reason,
    revoked_and_expired_tokens_stop_working_at_once,
    authorisation_is_checked_before_the_body,
    roles_accumulate_on_one_user,
    unknown_paths_and_methods_answer_json,
);
