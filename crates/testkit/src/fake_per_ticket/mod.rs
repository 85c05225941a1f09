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

mod reads;
mod tags;

use crate::fake_zendesk::{Comment, Gate, serve};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use reads::{freshdesk_list, freshdesk_ticket, freshdesk_tickets, intercom_search, intercom_show};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tags::{intercom_make_tag, intercom_tag, intercom_untag};
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
    faulty(shared, headers, ticket, |inner, ticket| {
        inner
            .comments
            .entry(ticket.to_owned())
            .or_default()
            .push(comment);
        if let Some(t) = inner.opened.get_mut(ticket) {
            t.updated_at = chrono::Utc::now().timestamp();
        }
    })
    .await
}

/// Applies `change` to `ticket` as a write does: refused by the gate, failed (503, nothing
/// applied) or applied and never answered as the faults say, else answered 200.
async fn faulty(
    shared: &Shared,
    headers: &HeaderMap,
    ticket: String,
    change: impl FnOnce(&mut Inner, &str),
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
        change(&mut inner, &ticket);
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

/// Sets a ticket's state, with the same faults as a write.
async fn set_status(
    shared: &Shared,
    headers: &HeaderMap,
    ticket: String,
    status: String,
) -> Response {
    faulty(shared, headers, ticket, |inner, ticket| {
        inner.status.insert(ticket.to_owned(), status);
    })
    .await
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
