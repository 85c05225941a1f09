//! The OpenAPI document describes exactly the routes the policy table knows.

use frontline_server::api::v1::ROUTES;
use frontline_testkit::{Backend, json, spawn_app};
use std::collections::BTreeSet;

async fn the_document_lists_every_route_and_no_other(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, doc) = json(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
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

frontline_testkit::backend_tests!(the_document_lists_every_route_and_no_other);
