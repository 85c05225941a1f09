//! Intercom's tags on the fake: made by name with an id, added to and taken off
//! conversations by that id, as an admin.

use super::{Shared, admit};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// Intercom's tags by name, each with an id (`POST /tags` makes it or answers the one there
/// is).
pub(super) async fn intercom_make_tag(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let Some(name) = body.0["name"].as_str().filter(|n| !n.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "name").into_response();
    };
    let mut inner = shared.inner.lock().expect("lock");
    let next = (inner.tag_ids.len() + 1).to_string();
    let id = inner.tag_ids.entry(name.to_owned()).or_insert(next).clone();
    axum::Json(json!({"type": "tag", "id": id, "name": name})).into_response()
}

pub(super) async fn intercom_tag(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(conversation): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    if body.0["admin_id"].is_null() {
        return (StatusCode::BAD_REQUEST, "admin_id").into_response();
    }
    let mut inner = shared.inner.lock().expect("lock");
    let id = body.0["id"].as_str().unwrap_or_default();
    let Some(name) = inner
        .tag_ids
        .iter()
        .find(|(_, v)| v.as_str() == id)
        .map(|(n, _)| n.clone())
    else {
        return (StatusCode::NOT_FOUND, "tag").into_response();
    };
    let tags = inner.tags.entry(conversation).or_default();
    if !tags.contains(&name) {
        tags.push(name.clone());
    }
    axum::Json(json!({"type": "tag", "id": id, "name": name})).into_response()
}

pub(super) async fn intercom_untag(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((conversation, tag)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let mut inner = shared.inner.lock().expect("lock");
    let name = inner
        .tag_ids
        .iter()
        .find(|(_, v)| **v == tag)
        .map(|(n, _)| n.clone());
    let tags = inner.tags.entry(conversation).or_default();
    match name.and_then(|n| tags.iter().position(|t| *t == n)) {
        Some(at) => {
            tags.remove(at);
            axum::Json(json!({"type": "tag", "id": tag})).into_response()
        }
        None => (StatusCode::NOT_FOUND, "tag not on the conversation").into_response(),
    }
}
