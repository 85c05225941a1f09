//! Every list answers one shape, `{"items": [...], "next_cursor": "..." | null}`, and pages with
//! `limit` and `cursor`: checked by walking the route table, not a list of lists kept by hand,
//! so a list added later is checked too.

use frontline_core::Role;
use frontline_server::api::v1::ROUTES;
use frontline_testkit::receiver::Receiver;
use frontline_testkit::{Backend, TestApp, contact_json, json, spawn_app};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Two of everything a list shows, so that every list has a second page.
async fn two_of_everything(app: &TestApp, admin: &str) -> i64 {
    let ok = |(status, body): (u16, Value)| {
        assert!((200..300).contains(&status), "{status} {body}");
        body
    };
    ok(json(
        app.post_json(
            "/api/v1/contacts",
            admin,
            &json!([
                contact_json("zendesk", "c1", "2026-11-25T12:00:00Z"),
                contact_json("zendesk", "c2", "2026-11-25T12:01:00Z")
            ]),
        )
        .await,
    )
    .await);
    let event = |id: &str| {
        json!({"id": id, "source": "siem", "observed_at": "2026-11-25T13:00:00Z",
               "severity": "high", "title": "Credential stuffing", "service": "login"})
    };
    ok(json(
        app.post_json(
            "/api/v1/security-events",
            admin,
            &json!([event("e1"), event("e2")]),
        )
        .await,
    )
    .await);
    for customer in ["erased-1", "erased-2"] {
        ok(json(
            app.post_json("/api/v1/erasures", admin, &json!({ "customer": customer }))
                .await,
        )
        .await);
    }
    let receiver = Receiver::absent().await;
    let a = app.open_incident(admin, "Phishing wave", "SEV2").await;
    app.open_incident(admin, "Checkout errors", "SEV3").await;
    for n in 0..2 {
        ok(json(
            app.post_json(
                "/api/v1/webhooks",
                admin,
                &json!({"url": receiver.url(), "secret": "s", "events": ["*"]}),
            )
            .await,
        )
        .await);
        ok(json(
            app.post_json(
                &format!("/api/v1/incidents/{a}/statements"),
                admin,
                &json!({"audience": "agents", "title": format!("Points {n}"), "body": "Say this."}),
            )
            .await,
        )
        .await);
        ok(json(
            app.post_json(
                "/api/v1/reports",
                admin,
                &json!({"category": "phishing", "summary": format!("fake bank texts {n}")}),
            )
            .await,
        )
        .await);
        ok(json(
            app.post_json(
                &format!("/api/v1/incidents/{a}/notes"),
                admin,
                &json!({"body": format!("note {n}")}),
            )
            .await,
        )
        .await);
        for component in ["web", "api"] {
            let answer = app
                .client
                .put(app.url(&format!("/api/v1/components/{component}")))
                .bearer_auth(admin)
                .json(&json!({"status": "degraded"}))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }
    }
    for id in ["wave-1", "wave-2"] {
        app.store
            .upsert_alerts(&[frontline_testkit::phishing_spike(id)])
            .await
            .unwrap();
    }
    a
}

/// A GET that answers JSON, or `None` (an event stream, a page, Markdown).
async fn get_json(app: &TestApp, path: &str, token: &str) -> Option<(u16, Value)> {
    let answer = app.get(path, token).await;
    let json_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return None;
    }
    Some(json(answer).await)
}

fn with(path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{query}")
}

async fn every_list_answers_one_shape_and_pages_with_limit_and_cursor(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(Role::Admin).await;
    let incident = two_of_everything(&app, &admin).await;
    let (_, contacts) = json(app.get("/api/v1/contacts?limit=1", &admin).await).await;
    let foreign = contacts["next_cursor"].as_str().unwrap().to_owned();

    let (mut lists, mut paged) = (BTreeSet::new(), BTreeSet::new());
    for route in ROUTES.iter().filter(|r| r.method == "GET") {
        // Only the incident's own lists take a parameter; a route with any other is one
        // thing, not a list.
        let path = route.path.replace("{id}", &incident.to_string());
        if path.contains('{') {
            continue;
        }
        let Some((status, whole)) = get_json(&app, &path, &admin).await else {
            continue;
        };
        if status != 200 {
            continue;
        }
        assert!(!whole.is_array(), "{path} answers a bare array: {whole}");
        let Some(items) = whole.get("items").and_then(Value::as_array) else {
            continue;
        };
        lists.insert(route.path);
        assert!(
            whole
                .get("next_cursor")
                .is_some_and(|c| c.is_null() || c.is_string()),
            "{path} answers no next_cursor: {whole}"
        );
        let (status, first) = get_json(&app, &with(&path, "limit=1"), &admin)
            .await
            .unwrap();
        assert_eq!(status, 200, "{path}?limit=1: {first}");
        assert!(
            first["items"].as_array().unwrap().len() <= 1,
            "{path}: {first}"
        );
        if items.len() < 2 {
            assert!(first["next_cursor"].is_null(), "{path}: {first}");
            continue;
        }
        assert_eq!(first["items"][0], items[0], "{path}");
        let cursor = first["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}?limit=1 gives no next_cursor: {first}"));
        let (status, second) = get_json(
            &app,
            &with(&path, &format!("limit=1&cursor={cursor}")),
            &admin,
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{path} page two: {second}");
        assert_eq!(second["items"][0], items[1], "{path} page two");
        paged.insert(route.path);
        // Another list's cursor, or one cut short, names `cursor`.
        if route.path != "/api/v1/contacts" {
            for bad in [foreign.as_str(), &cursor[..cursor.len() - 3]] {
                let (status, err) = get_json(&app, &with(&path, &format!("cursor={bad}")), &admin)
                    .await
                    .unwrap();
                assert_eq!(
                    (status, &err["error"]["field"]),
                    (400, &json!("cursor")),
                    "{path}"
                );
            }
        }
        let (status, err) = get_json(&app, &with(&path, "limit=1001"), &admin)
            .await
            .unwrap();
        assert_eq!(
            (status, &err["error"]["field"]),
            (400, &json!("limit")),
            "{path}"
        );
    }
    // The walk found the lists; had it found none, it would have checked nothing.
    for expected in [
        "/api/v1/contacts",
        "/api/v1/security-events",
        "/api/v1/alerts",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}/timeline",
        "/api/v1/incidents/{id}/statements",
        "/api/v1/webhooks",
        "/api/v1/reports",
        "/api/v1/audit",
        "/api/v1/components",
    ] {
        assert!(
            paged.contains(expected),
            "{expected} not paged; lists: {lists:?}"
        );
    }
}

frontline_testkit::backend_tests!(every_list_answers_one_shape_and_pages_with_limit_and_cursor);
