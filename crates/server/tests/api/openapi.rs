//! The OpenAPI document describes exactly the routes the policy table knows.

use frontline_server::api::v1::ROUTES;
use frontline_testkit::{Backend, TestApp, json, spawn_app};
use std::collections::BTreeSet;

/// `GET /api/v1/openapi.json`, public.
async fn document(app: &TestApp) -> (u16, serde_json::Value) {
    json(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn the_document_lists_every_route_and_no_other(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, doc) = document(&app).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut expected: BTreeSet<String> = ROUTES
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    expected.insert("GET /healthz".into());
    // Helpdesks' webhooks prove themselves by the vendor's signature, outside the token table.
    expected.insert("POST /api/v1/integrations/{kind}/{name}".into());
    assert_eq!(documented, expected);
    assert!(doc["components"]["schemas"]["ContactInput"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Two enums named Severity: a finding's and an incident's, each under its own name.
    let schemas = &doc["components"]["schemas"];
    let severity = schemas["SecurityEventOut"]["properties"]["severity"].to_string();
    assert!(severity.contains("EventSeverity"), "{severity}");
    assert!(schemas["EventSeverity"].to_string().contains("critical"));
    assert!(schemas["Severity"].to_string().contains("SEV1"));
}

/// Every enumerated query parameter's every documented value is accepted by the server (the
/// enumerations are written beside the handlers, which read the values as text), an
/// undocumented one is refused naming it, and every operation that needs a token documents
/// the answers it gives without one (401), with too weak a one (403) and too often (429).
async fn documented_values_are_accepted_and_error_answers_documented(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.token(frontline_core::Role::Admin).await;
    let (_, doc) = document(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                for status in ["401", "403", "429"] {
                    assert!(
                        op["responses"].get(status).is_some(),
                        "{method} {path} does not document {status}"
                    );
                }
            }
            if method != "get" || path.contains('{') || path.ends_with("/stream") {
                continue;
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let Some(values) = p["schema"]["enum"].as_array() else {
                    continue;
                };
                for v in values {
                    let v = v.as_str().unwrap();
                    let res = app.get(&format!("{path}?{name}={v}"), &admin).await;
                    assert_eq!(res.status(), 200, "{path}?{name}={v}");
                    checked += 1;
                }
                let (status, body) =
                    json(app.get(&format!("{path}?{name}=surely-not"), &admin).await).await;
                assert_eq!(status, 400, "{path}?{name}=surely-not: {body}");
                assert_eq!(body["error"]["field"], name, "{body}");
            }
        }
    }
    assert!(checked >= 20, "only {checked} documented values were tried");
}

frontline_testkit::backend_tests!(
    the_document_lists_every_route_and_no_other,
    documented_values_are_accepted_and_error_answers_documented,
);
