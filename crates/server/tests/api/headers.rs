//! Every answer carries the headers that protect its reader: a policy that loads nothing the
//! answer does not need and forbids framing, no type sniffing, and a referrer policy. Checked
//! by walking the route table (and the public routes beside it), signed in and not, so a route
//! added later is checked too.

use frontline_core::Role;
use frontline_server::api::v1::ROUTES;
use frontline_server::web::PAGES;
use frontline_testkit::{Backend, TestApp, spawn_app};

fn check(path: &str, answer: &reqwest::Response) {
    let h = answer.headers();
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path} ({}) has no {name}", answer.status()))
            .to_owned()
    };
    let policy = get("content-security-policy");
    assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{path}: {policy}"
    );
    assert!(!policy.contains("unsafe-"), "{path}: {policy}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(get("x-frame-options"), "DENY", "{path}");
    let referrer = get("referrer-policy");
    assert!(
        ["no-referrer", "same-origin"].contains(&referrer.as_str()),
        "{path}: {referrer}"
    );
}

async fn answer(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn every_answer_carries_the_headers_that_apply(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let incident = app.open_incident(&admin, "Phishing wave", "SEV2").await;
    let mut checked = 0;
    for route in ROUTES.iter().chain(PAGES) {
        let path = route
            .path
            .replace("{id}", &incident.to_string())
            .replace(['{', '}'], "");
        // Signed in (the answer, or the error, of the route itself) and not (401).
        for token in [Some(admin.as_str()), None] {
            let a = answer(&app, route.method.as_str(), &path, token).await;
            check(&format!("{} {path}", route.method), &a);
            checked += 1;
        }
    }
    for (method, path) in [
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/status"),
        ("GET", "/status.json"),
        ("GET", "/status/feed.atom"),
        ("GET", "/status/subscribe/confirm?id=1&sig=forged"),
        ("GET", "/status/unsubscribe?id=1&sig=forged"),
        ("POST", "/status/subscribe"),
        ("GET", "/login"),
        ("GET", "/no/such/page"),
        ("DELETE", "/status"),
    ] {
        check(
            &format!("{method} {path}"),
            &answer(&app, method, path, None).await,
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} answers checked");
}

frontline_testkit::backend_tests!(every_answer_carries_the_headers_that_apply);
