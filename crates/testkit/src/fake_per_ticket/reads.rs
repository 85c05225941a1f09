//! What the fakes answer to reads: a conversation or ticket with its parts (the write-back's
//! read-back), and what changed since a time, page by page (the sweep).

use super::{Inner, Opened, Shared, admit};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) async fn intercom_show(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let inner = shared.inner.lock().expect("lock");
    let parts: Vec<Value> = inner
        .comments
        .get(&id)
        .map(|cs| {
            cs.iter()
                .enumerate()
                .map(|(i, c)| {
                    // Customers' parts are by a user, everything the API wrote by an admin.
                    let author = match &c.author {
                        Some(user) => json!({"type": "user", "id": user}),
                        None => json!({"type": "admin", "id": "814860"}),
                    };
                    json!({"type": "conversation_part", "id": (100_000 + i).to_string(),
                           "part_type": if c.public { "comment" } else { "note" },
                           "body": c.body, "author": author})
                })
                .collect()
        })
        .unwrap_or_default();
    let mut conversation = json!({"type": "conversation", "id": id,
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": parts}});
    let tags: Vec<Value> = inner
        .tags
        .get(&id)
        .map(|ts| {
            ts.iter()
                .map(|n| json!({"type": "tag", "id": inner.tag_ids.get(n), "name": n}))
                .collect()
        })
        .unwrap_or_default();
    conversation["tags"] = json!({"type": "tag.list", "tags": tags});
    if let Some(t) = inner.opened.get(&id) {
        conversation["created_at"] = json!(t.created_at);
        conversation["updated_at"] = json!(t.updated_at);
        conversation["source"] = json!({"type": "conversation", "id": format!("src{id}"),
            "subject": t.subject, "body": format!("<p>{}</p>", t.description),
            "author": {"type": "user", "id": t.requester}});
    }
    axum::Json(conversation).into_response()
}

pub(super) async fn freshdesk_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    // Freshdesk: 30 a page unless asked for up to 100.
    let number = |k: &str, default: usize| -> usize {
        query.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let per_page = number("per_page", 30).clamp(1, 100);
    let page = number("page", 1).max(1);
    let inner = shared.inner.lock().expect("lock");
    let list: Vec<Value> = inner
        .comments
        .get(&id)
        .map(|cs| {
            cs.iter()
                .enumerate()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(i, c)| {
                    json!({"id": i, "body": c.body, "body_text": c.body, "private": !c.public,
            "incoming": c.author.is_some(),
            "user_id": c.author.as_deref().and_then(|a| a.parse::<i64>().ok()).unwrap_or(1)})
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(Value::Array(list)).into_response()
}

/// Tickets opened, changed at or after `since` (strictly after, for Intercom's `>`), oldest
/// change first.
pub(super) fn changed_since(inner: &Inner, since: i64, strictly: bool) -> Vec<(String, Opened)> {
    let mut changed: Vec<(String, Opened)> = inner
        .opened
        .iter()
        .filter(|(_, t)| {
            if strictly {
                t.updated_at > since
            } else {
                t.updated_at >= since
            }
        })
        .map(|(id, t)| (id.clone(), t.clone()))
        .collect();
    changed.sort_by(|a, b| (a.1.updated_at, &a.0).cmp(&(b.1.updated_at, &b.0)));
    changed
}

pub(super) async fn intercom_search(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let query = &body.0["query"];
    let (Some("updated_at"), Some(">"), Some(since)) = (
        query["field"].as_str(),
        query["operator"].as_str(),
        query["value"].as_i64(),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errors": [{"code": "parameter_invalid"}]})),
        )
            .into_response();
    };
    let per_page = body.0["pagination"]["per_page"]
        .as_u64()
        .unwrap_or(20)
        .clamp(1, 150) as usize;
    // The cursor is opaque to clients; here it is the offset.
    let offset: usize = body.0["pagination"]["starting_after"]
        .as_str()
        .and_then(|c| c.strip_prefix("off"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let inner = shared.inner.lock().expect("lock");
    let changed = changed_since(&inner, since, true);
    let page: Vec<Value> = changed
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|(id, t)| json!({"type": "conversation", "id": id, "updated_at": t.updated_at}))
        .collect();
    let mut pages = json!({"type": "pages", "per_page": per_page});
    if offset + per_page < changed.len() {
        pages["next"] = json!({"starting_after": format!("off{}", offset + per_page)});
    }
    axum::Json(json!({"type": "conversation.list", "conversations": page,
        "total_count": changed.len(), "pages": pages}))
    .into_response()
}

pub(super) fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub(super) async fn freshdesk_tickets(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let since = match query.get("updated_since") {
        Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.timestamp(),
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"field": "updated_since"})),
                )
                    .into_response();
            }
        },
        // Freshdesk lists the last 30 days by default.
        None => chrono::Utc::now().timestamp() - 30 * 86_400,
    };
    let number = |k: &str, default: usize| -> usize {
        query.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let per_page = number("per_page", 30).clamp(1, 100);
    let page = number("page", 1).max(1);
    let inner = shared.inner.lock().expect("lock");
    let list: Vec<Value> = changed_since(&inner, since, false)
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(id, t)| {
            json!({"id": id.parse::<i64>().unwrap_or_default(), "subject": t.subject,
                   "requester_id": t.requester.parse::<i64>().unwrap_or_default(),
                   "created_at": iso(t.created_at), "updated_at": iso(t.updated_at)})
        })
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

pub(super) async fn freshdesk_ticket(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let inner = shared.inner.lock().expect("lock");
    let number = id.parse::<i64>().unwrap_or_default();
    let tags = inner.tags.get(&id).cloned().unwrap_or_default();
    // Tickets the fake was not told how they opened exist all the same (writes reach them).
    let mut ticket = json!({"id": number, "tags": tags, "status": 2});
    if let Some(t) = inner.opened.get(&id) {
        ticket["subject"] = json!(t.subject);
        ticket["requester_id"] = json!(t.requester.parse::<i64>().unwrap_or_default());
        ticket["description"] = json!(format!("<div>{}</div>", t.description));
        ticket["description_text"] = json!(t.description);
        ticket["created_at"] = json!(iso(t.created_at));
        ticket["updated_at"] = json!(iso(t.updated_at));
    }
    if let Some(status) = inner.status.get(&id) {
        ticket["status"] = json!(status.parse::<i64>().unwrap_or(2));
    }
    axum::Json(ticket).into_response()
}
