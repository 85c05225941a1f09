//! Fake Intercom and Freshdesk on loopback, speaking the parts of their APIs the write-back
//! uses, as they do: Intercom `POST /conversations/{id}/reply` (Bearer token, `message_type`
//! comment or note) and `GET /conversations/{id}` (its parts, HTML bodies); Freshdesk
//! `POST /api/v2/tickets/{id}/reply` and `/notes` (Basic `KEY:X`) and
//! `GET /api/v2/tickets/{id}/conversations`; closing (Intercom `POST /conversations/{id}/parts`
//! with `message_type` close and the admin) and resolving (Freshdesk `PUT /api/v2/tickets/{id}`
//! with `status` 4 or 5); and what the sweep reads: Intercom `POST /conversations/search` on
//! `updated_at` (pages by `starting_after`) and a conversation's `source` and parts with their
//! authors, Freshdesk `GET /api/v2/tickets?updated_since=…` (pages), `GET /api/v2/tickets/{id}`
//! and conversations marked `incoming`. A request budget with 429 + `Retry-After`, 503s,
//! and writes applied whose answers never come.

use crate::fake_zendesk::{Comment, Gate, serve};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Faults to inject, counted down as writes use them.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// The next writes answered 503, nothing applied.
    pub fail_writes: usize,
    /// The next writes applied, then never answered.
    pub apply_then_hang: usize,
}

/// A ticket (conversation) a customer opened.
#[derive(Debug, Clone)]
struct Opened {
    requester: String,
    subject: String,
    description: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(Default)]
struct Inner {
    comments: HashMap<String, Vec<Comment>>,
    opened: HashMap<String, Opened>,
    /// Tags per ticket (conversation), by name.
    tags: HashMap<String, Vec<String>>,
    /// Intercom's tag ids by name.
    tag_ids: HashMap<String, String>,
    /// Closed conversations (Intercom: `closed`), or tickets' status numbers (Freshdesk).
    status: HashMap<String, String>,
    faults: Faults,
}

struct Shared {
    gate: Gate,
    inner: Mutex<Inner>,
}

/// The fake (one vendor's routes). Stops when dropped.
pub struct FakePerTicket {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for FakePerTicket {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakePerTicket {
    /// A fake Intercom taking `token`.
    pub async fn intercom(token: &str, budget: usize, per: Duration) -> Self {
        let routes = Router::new()
            .route("/conversations/{id}/reply", post(intercom_reply))
            .route("/conversations/{id}/parts", post(intercom_parts))
            .route("/conversations/search", post(intercom_search))
            .route("/tags", post(intercom_make_tag))
            .route("/conversations/{id}/tags", post(intercom_tag))
            .route(
                "/conversations/{id}/tags/{tag}",
                axum::routing::delete(intercom_untag),
            )
            .route("/conversations/{id}", get(intercom_show));
        Self::start(format!("Bearer {token}"), budget, per, routes).await
    }

    /// A fake Freshdesk taking `api_key`.
    pub async fn freshdesk(api_key: &str, budget: usize, per: Duration) -> Self {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{api_key}:X"));
        let routes = Router::new()
            .route("/api/v2/tickets/{id}/reply", post(freshdesk_reply))
            .route("/api/v2/tickets/{id}/notes", post(freshdesk_note))
            .route(
                "/api/v2/tickets/{id}",
                get(freshdesk_ticket).put(freshdesk_update),
            )
            .route("/api/v2/tickets", get(freshdesk_tickets))
            .route("/api/v2/tickets/{id}/conversations", get(freshdesk_list));
        Self::start(format!("Basic {credentials}"), budget, per, routes).await
    }

    async fn start(
        authorization: String,
        budget: usize,
        per: Duration,
        routes: Router<Arc<Shared>>,
    ) -> Self {
        let shared = Arc::new(Shared {
            gate: Gate::new(authorization, budget, per),
            inner: Mutex::new(Inner::default()),
        });
        let app = routes.with_state(shared.clone());
        let (addr, stop) = serve(app).await;
        Self { addr, shared, stop }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the faults to inject.
    pub fn inject(&self, faults: Faults) {
        self.shared.inner.lock().expect("lock").faults = faults;
    }

    /// Every reply and note on `ticket`.
    pub fn comments(&self, ticket: &str) -> Vec<Comment> {
        self.shared
            .inner
            .lock()
            .expect("lock")
            .comments
            .get(ticket)
            .cloned()
            .unwrap_or_default()
    }

    /// The state the API gave `ticket` (Intercom `closed`, Freshdesk the status number).
    pub fn status(&self, ticket: &str) -> Option<String> {
        self.shared
            .inner
            .lock()
            .expect("lock")
            .status
            .get(ticket)
            .cloned()
    }

    /// The tags on `ticket` (conversation), by name.
    pub fn tags(&self, ticket: &str) -> Vec<String> {
        self.shared
            .inner
            .lock()
            .expect("lock")
            .tags
            .get(ticket)
            .cloned()
            .unwrap_or_default()
    }

    /// A customer opens `ticket` (a conversation, in Intercom) as the vendor's own channels
    /// would: no webhook is sent.
    pub fn open_ticket(&self, ticket: &str, requester: &str, subject: &str, description: &str) {
        let now = chrono::Utc::now().timestamp();
        self.shared.inner.lock().expect("lock").opened.insert(
            ticket.to_owned(),
            Opened {
                requester: requester.to_owned(),
                subject: subject.to_owned(),
                description: description.to_owned(),
                created_at: now,
                updated_at: now,
            },
        );
    }

    /// The customer adds a message to `ticket` (or conversation); no webhook is sent.
    pub fn customer_comment(&self, ticket: &str, body: &str) {
        let mut inner = self.shared.inner.lock().expect("lock");
        let author = match inner.opened.get_mut(ticket) {
            Some(t) => {
                t.updated_at = chrono::Utc::now().timestamp();
                t.requester.clone()
            }
            None => "customer".into(),
        };
        inner
            .comments
            .entry(ticket.to_owned())
            .or_default()
            .push(Comment {
                body: body.to_owned(),
                public: true,
                author: Some(author),
            });
    }

    /// Requests served, and how many were 429s.
    pub fn requests(&self) -> (usize, usize) {
        self.shared.gate.counts()
    }
}

fn admit(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    shared.gate.admit(headers)
}

async fn write(shared: &Shared, headers: &HeaderMap, ticket: String, comment: Comment) -> Response {
    if let Some(refused) = admit(shared, headers) {
        return refused;
    }
    let hang = {
        let mut inner = shared.inner.lock().expect("lock");
        if inner.faults.fail_writes > 0 {
            inner.faults.fail_writes -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response();
        }
        inner
            .comments
            .entry(ticket.clone())
            .or_default()
            .push(comment);
        if let Some(t) = inner.opened.get_mut(&ticket) {
            t.updated_at = chrono::Utc::now().timestamp();
        }
        let hang = inner.faults.apply_then_hang > 0;
        if hang {
            inner.faults.apply_then_hang -= 1;
        }
        hang
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    (StatusCode::OK, axum::Json(json!({"id": ticket}))).into_response()
}

async fn intercom_reply(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    let public = match body.0["message_type"].as_str() {
        Some("comment") => true,
        Some("note") => false,
        _ => return (StatusCode::BAD_REQUEST, "message_type").into_response(),
    };
    if body.0["type"] != "admin" {
        return (StatusCode::BAD_REQUEST, "type").into_response();
    }
    let text = body.0["body"].as_str().unwrap_or_default().to_owned();
    // Intercom keeps replies as HTML paragraphs.
    let html = format!("<p>{}</p>", text.replace('\n', "<br>"));
    write(
        &shared,
        &headers,
        id,
        Comment {
            body: html,
            public,
            author: None,
        },
    )
    .await
}

async fn intercom_show(
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

async fn freshdesk_reply(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    let text = body.0["body"].as_str().unwrap_or_default().to_owned();
    write(
        &shared,
        &headers,
        id,
        Comment {
            body: text,
            public: true,
            author: None,
        },
    )
    .await
}

async fn freshdesk_note(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    let text = body.0["body"].as_str().unwrap_or_default().to_owned();
    let private = body.0["private"].as_bool().unwrap_or(true);
    write(
        &shared,
        &headers,
        id,
        Comment {
            body: text,
            public: !private,
            author: None,
        },
    )
    .await
}

async fn freshdesk_list(
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

/// Sets a ticket's state, with the same faults as a write.
async fn set_status(
    shared: &Shared,
    headers: &HeaderMap,
    ticket: String,
    status: String,
) -> Response {
    if let Some(refused) = admit(shared, headers) {
        return refused;
    }
    let hang = {
        let mut inner = shared.inner.lock().expect("lock");
        if inner.faults.fail_writes > 0 {
            inner.faults.fail_writes -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response();
        }
        inner.status.insert(ticket.clone(), status);
        let hang = inner.faults.apply_then_hang > 0;
        if hang {
            inner.faults.apply_then_hang -= 1;
        }
        hang
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    (StatusCode::OK, axum::Json(json!({"id": ticket}))).into_response()
}

async fn intercom_parts(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    // Intercom closes as an admin, who must be named.
    if body.0["message_type"] != "close" || body.0["type"] != "admin" {
        return (StatusCode::BAD_REQUEST, "message_type").into_response();
    }
    if body.0["admin_id"].is_null() {
        return (StatusCode::BAD_REQUEST, "admin_id").into_response();
    }
    set_status(&shared, &headers, id, "closed".into()).await
}

/// `PUT /api/v2/tickets/{id}`: a status, tags (replacing the ticket's), or both.
async fn freshdesk_update(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    let bad = |field: &str| {
        (StatusCode::BAD_REQUEST, axum::Json(json!({"field": field}))).into_response()
    };
    let status = match &body.0["status"] {
        Value::Null => None,
        v => match v.as_i64() {
            Some(s @ 2..=5) => Some(s),
            _ => return bad("status"),
        },
    };
    let tags: Option<Vec<String>> = match &body.0["tags"] {
        Value::Null => None,
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => return bad("tags"),
    };
    if status.is_none() && tags.is_none() {
        return bad("status");
    }
    if let Some(tags) = tags {
        if let Some(refused) = admit(&shared, &headers) {
            return refused;
        }
        shared
            .inner
            .lock()
            .expect("lock")
            .tags
            .insert(id.clone(), tags);
        if status.is_none() {
            return (StatusCode::OK, axum::Json(json!({"id": id}))).into_response();
        }
    }
    match status {
        Some(s) => set_status(&shared, &headers, id, s.to_string()).await,
        None => StatusCode::OK.into_response(),
    }
}

/// Intercom's tags by name, each with an id (`POST /tags` makes it or answers the one there
/// is).
async fn intercom_make_tag(
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

async fn intercom_tag(
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

async fn intercom_untag(
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

/// Tickets opened, changed at or after `since` (strictly after, for Intercom's `>`), oldest
/// change first.
fn changed_since(inner: &Inner, since: i64, strictly: bool) -> Vec<(String, Opened)> {
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

async fn intercom_search(
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

fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

async fn freshdesk_tickets(
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

async fn freshdesk_ticket(
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
