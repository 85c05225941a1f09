//! A fake Zendesk on loopback that speaks the API the write-back uses, as Zendesk does:
//! Basic `email/token:TOKEN` auth, `PUT /api/v2/tickets/update_many.json?ids=…` answering a
//! job that goes queued → working → completed over successive polls with per-ticket results,
//! `GET /api/v2/job_statuses/{id}.json`, and `GET /api/v2/tickets/{id}/comments.json`. An
//! update carries a comment, tags to add (`additional_tags`) and remove (`remove_tags`), a
//! `status`, or several. It keeps every comment, tag and status written, enforces a request budget with 429 + `Retry-After`, and can
//! be told to answer 5xx, or to apply a write and then never answer (a lost answer).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A comment as stored on a fake ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// Its text.
    pub body: String,
    /// Public reply or internal note.
    pub public: bool,
    /// Who wrote it (`None`: the API user, an agent).
    pub author: Option<String>,
}

/// A ticket's facts for the incremental export.
#[derive(Debug, Clone)]
struct TicketInfo {
    requester: String,
    subject: String,
    updated_at: i64,
}

/// Faults to inject, counted down as requests use them.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// The next `update_many` calls answered 503 without applying anything.
    pub fail_updates: usize,
    /// The next `update_many` calls applied at once, then never answered (the client times
    /// out: a lost answer).
    pub apply_then_hang: usize,
    /// The next `update_many` calls never answered and never applied (the request was lost
    /// on its way in).
    pub hang_before_apply: usize,
    /// Tickets whose updates fail in a job's results (the ticket is closed, say).
    pub refuse_tickets: Vec<String>,
}

#[derive(Debug)]
struct Job {
    ids: Vec<String>,
    comment: Option<Comment>,
    tags: Vec<String>,
    remove_tags: Vec<String>,
    status: Option<String>,
    polls: u32,
    applied: bool,
}

#[derive(Default)]
struct Inner {
    comments: HashMap<String, Vec<Comment>>,
    tags: HashMap<String, Vec<String>>,
    status: HashMap<String, String>,
    tickets: HashMap<String, TicketInfo>,
    /// Its own address, for the `next_page` links of long comment lists.
    base: String,
    jobs: HashMap<String, Job>,
    next_job: u64,
    faults: Faults,
}

struct Shared {
    gate: Gate,
    inner: Mutex<Inner>,
}

/// The fake. Stops when dropped.
pub struct FakeZendesk {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for FakeZendesk {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeZendesk {
    /// A fake taking `email`/`token`, allowing `budget` requests per `per` (429 beyond).
    ///
    /// # Panics
    /// When it cannot listen.
    pub async fn start(email: &str, token: &str, budget: usize, per: Duration) -> Self {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{email}/token:{token}"));
        let shared = Arc::new(Shared {
            gate: Gate::new(format!("Basic {credentials}"), budget, per),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            .route("/api/v2/tickets/update_many.json", put(update_many))
            .route("/api/v2/job_statuses/{id}", get(job_status))
            .route("/api/v2/tickets/{id}/comments.json", get(comments))
            .route("/api/v2/incremental/tickets.json", get(incremental))
            .with_state(shared.clone());
        let (addr, stop) = serve(app).await;
        shared.inner.lock().expect("lock").base = format!("http://{addr}");
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

    /// A customer opens ticket `id` (its description is its first comment), as the web form
    /// or an e-mail would: no webhook is sent.
    pub fn open_ticket(&self, id: &str, requester: &str, subject: &str, description: &str) {
        let mut inner = self.shared.inner.lock().expect("lock");
        inner.tickets.insert(
            id.to_owned(),
            TicketInfo {
                requester: requester.to_owned(),
                subject: subject.to_owned(),
                updated_at: chrono::Utc::now().timestamp(),
            },
        );
        inner
            .comments
            .entry(id.to_owned())
            .or_default()
            .push(Comment {
                body: description.to_owned(),
                public: true,
                author: Some(requester.to_owned()),
            });
    }

    /// The requester adds a public comment to ticket `id`.
    pub fn customer_comment(&self, id: &str, body: &str) {
        let mut inner = self.shared.inner.lock().expect("lock");
        let requester = inner.tickets.get(id).map(|t| t.requester.clone());
        if let Some(t) = inner.tickets.get_mut(id) {
            t.updated_at = chrono::Utc::now().timestamp();
        }
        inner
            .comments
            .entry(id.to_owned())
            .or_default()
            .push(Comment {
                body: body.to_owned(),
                public: true,
                author: requester,
            });
    }

    /// Every comment on `ticket`.
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

    /// The tags the API added to ticket `id`.
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

    /// The status the API gave ticket `id` (`None`: never changed, still open).
    pub fn status(&self, ticket: &str) -> Option<String> {
        self.shared
            .inner
            .lock()
            .expect("lock")
            .status
            .get(ticket)
            .cloned()
    }

    /// Requests served, and how many of them were 429s.
    pub fn requests(&self) -> (usize, usize) {
        self.shared.gate.counts()
    }
}

/// Checks auth and the request budget; `Some` answer when refused.
fn admit(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    shared.gate.admit(headers)
}

async fn update_many(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: axum::Json<Value>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let ids: Vec<String> = query
        .get("ids")
        .map(|s| {
            s.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "ids: 1 to 100"})),
        )
            .into_response();
    }
    let update = &body.0["ticket"];
    let comment = &update["comment"];
    let comment = match comment["body"].as_str() {
        Some(text) => Some(Comment {
            body: text.to_owned(),
            public: comment["public"].as_bool().unwrap_or(true),
            author: None,
        }),
        None if comment.is_null() => None,
        None => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({"error": "comment body"})),
            )
                .into_response();
        }
    };
    let list = |field: &str| -> Vec<String> {
        update[field]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (tags, remove_tags) = (list("additional_tags"), list("remove_tags"));
    let status = update["status"].as_str().map(str::to_owned);
    if let Some(s) = &status
        && !["open", "pending", "hold", "solved", "closed"].contains(&s.as_str())
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": "status"})),
        )
            .into_response();
    }
    if comment.is_none() && tags.is_empty() && remove_tags.is_empty() && status.is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": "nothing to update"})),
        )
            .into_response();
    }
    let hang = {
        let mut inner = shared.inner.lock().expect("lock");
        if inner.faults.fail_updates > 0 {
            inner.faults.fail_updates -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response();
        }
        if inner.faults.apply_then_hang == 0 && inner.faults.hang_before_apply > 0 {
            inner.faults.hang_before_apply -= 1;
            true
        } else {
            inner.next_job += 1;
            let id = format!("job{}", inner.next_job);
            let hang = inner.faults.apply_then_hang > 0;
            let mut job = Job {
                ids,
                comment,
                tags,
                remove_tags,
                status,
                polls: 0,
                applied: false,
            };
            if hang {
                inner.faults.apply_then_hang -= 1;
                apply(&mut inner, &mut job);
            }
            inner.jobs.insert(id.clone(), job);
            if !hang {
                return axum::Json(json!({"job_status": {"id": id, "status": "queued",
                "url": format!("/api/v2/job_statuses/{id}.json")}}))
                .into_response();
            }
            hang
        }
    };
    // Applied, and the answer never comes: the client's timeout ends the wait.
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    StatusCode::GATEWAY_TIMEOUT.into_response()
}

fn apply(inner: &mut Inner, job: &mut Job) {
    if job.applied {
        return;
    }
    job.applied = true;
    let refused = inner.faults.refuse_tickets.clone();
    for id in &job.ids {
        if !refused.contains(id) {
            if let Some(comment) = &job.comment {
                inner
                    .comments
                    .entry(id.clone())
                    .or_default()
                    .push(comment.clone());
            }
            let tags = inner.tags.entry(id.clone()).or_default();
            tags.retain(|t| !job.remove_tags.contains(t));
            for tag in &job.tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            if let Some(status) = &job.status {
                inner.status.insert(id.clone(), status.clone());
            }
            if let Some(t) = inner.tickets.get_mut(id) {
                t.updated_at = chrono::Utc::now().timestamp();
            }
        }
    }
}

async fn job_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let id = id.trim_end_matches(".json").to_owned();
    let mut inner = shared.inner.lock().expect("lock");
    let Some(mut job) = inner.jobs.remove(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "RecordNotFound"})),
        )
            .into_response();
    };
    job.polls += 1;
    let status = match job.polls {
        1 => "queued",
        2 => "working",
        _ => "completed",
    };
    let mut answer = json!({"job_status": {"id": id, "status": status}});
    if status == "completed" {
        apply(&mut inner, &mut job);
        let refused = inner.faults.refuse_tickets.clone();
        let results: Vec<Value> = job
            .ids
            .iter()
            .map(|t| {
                if refused.contains(t) {
                    json!({"id": t.parse::<i64>().unwrap_or_default(), "success": false, "errors": "Ticket is closed"})
                } else {
                    json!({"id": t.parse::<i64>().unwrap_or_default(), "success": true, "status": "Updated"})
                }
            })
            .collect();
        answer["job_status"]["results"] = Value::Array(results);
    }
    inner.jobs.insert(id, job);
    axum::Json(answer).into_response()
}

/// Comments per page, as Zendesk lists them.
const PAGE: usize = 100;

async fn comments(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let page: usize = query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let inner = shared.inner.lock().expect("lock");
    let total = inner.comments.get(&id).map_or(0, Vec::len);
    let next_page = (page * PAGE < total).then(|| {
        format!(
            "{}/api/v2/tickets/{id}/comments.json?page={}",
            inner.base,
            page + 1
        )
    });
    let comments: Vec<Value> = inner
        .comments
        .get(&id)
        .map(|cs| {
            cs.iter()
                .enumerate()
                .skip((page - 1) * PAGE)
                .take(PAGE)
                .map(|(i, c)| {
                    // The API user (an agent) is user 1.
                    let author = c.author.clone().unwrap_or_else(|| "1".into());
                    json!({"id": 900_000 + i, "body": c.body, "public": c.public,
                           "author_id": author.parse::<i64>().unwrap_or(1),
                           "created_at": chrono::Utc::now().to_rfc3339()})
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({"comments": comments, "next_page": next_page, "count": total}))
        .into_response()
}

async fn incremental(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&shared, &headers) {
        return refused;
    }
    let Some(start) = query.get("start_time").and_then(|s| s.parse::<i64>().ok()) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "start_time"})),
        )
            .into_response();
    };
    let inner = shared.inner.lock().expect("lock");
    let mut tickets: Vec<(&String, &TicketInfo)> = inner
        .tickets
        .iter()
        .filter(|(_, t)| t.updated_at >= start)
        .collect();
    tickets.sort_by_key(|(id, t)| (t.updated_at, (*id).clone()));
    let list: Vec<Value> = tickets
        .iter()
        .map(|(id, t)| {
            json!({"id": id.parse::<i64>().unwrap_or_default(), "subject": t.subject,
                   "requester_id": t.requester.parse::<i64>().unwrap_or_default(),
                   "updated_at": t.updated_at})
        })
        .collect();
    axum::Json(json!({"tickets": list, "count": list.len(),
        "end_time": chrono::Utc::now().timestamp(), "end_of_stream": true}))
    .into_response()
}

/// A fake vendor's front door: the credentials it takes and its request budget (a 429 with
/// `Retry-After` beyond it), shared by the fakes.
pub(crate) struct Gate {
    authorization: String,
    budget: usize,
    per: Duration,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// Request times within the last budget window.
    window: Vec<Instant>,
    requests: usize,
    limited: usize,
}

impl Gate {
    /// A gate taking `authorization` (the whole header value), `budget` requests per `per`.
    pub(crate) fn new(authorization: String, budget: usize, per: Duration) -> Self {
        Self {
            authorization,
            budget,
            per,
            state: Mutex::new(GateState::default()),
        }
    }

    /// `Some` answer (401 or 429) when the request is refused.
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Option<Response> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if auth != self.authorization {
            return Some(
                (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": "Couldn't authenticate you"})),
                )
                    .into_response(),
            );
        }
        let mut state = self.state.lock().expect("lock");
        state.requests += 1;
        let now = Instant::now();
        let per = self.per;
        state.window.retain(|t| now.duration_since(*t) < per);
        if state.window.len() >= self.budget {
            state.limited += 1;
            let wait = per.as_secs().max(1).to_string();
            return Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", wait)],
                    axum::Json(json!({"error": "APIRateLimitExceeded"})),
                )
                    .into_response(),
            );
        }
        state.window.push(now);
        None
    }

    /// Requests seen, and how many were answered 429.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.state.lock().expect("lock");
        (state.requests, state.limited)
    }
}

/// Serves a fake's routes on a free loopback port until the token is cancelled.
pub(crate) async fn serve(app: Router) -> (SocketAddr, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    let stop = CancellationToken::new();
    let until = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { until.cancelled().await })
            .await;
    });
    (addr, stop)
}
