//! Status page subscriptions: `POST /status/subscribe` (an e-mail address, confirmed through a
//! signed link, or a webhook URL), the confirm and unsubscribe links, and the worker that turns
//! each published public statement into one message per subscriber (queued in the outbox in
//! the same transaction as its cursor, so each is owed exactly once) and sends what is due.

use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use frontline_core::InvalidField;
use frontline_core::feed::FeedKind;
use frontline_core::subscriber::{self, Channel, Message, Subscriber};
use frontline_delivery::retry::RetryPolicy;
use frontline_store::{Claim, Settled, Store};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::SocketAddr;

/// The feed cursor of publications already turned into messages.
const CURSOR: &str = "subscribers";
/// The lease that makes one process turn publications into messages (sending is shared).
pub const LEASE: &str = "subscriptions";
/// How long a claim on queued messages lasts: beyond any one send's time-out, short enough
/// that a dead node's messages go out from another within a minute.
const CLAIM_TTL: chrono::Duration = chrono::Duration::seconds(60);

/// What the subscription routes and worker share.
pub struct Subscriptions {
    key: Vec<u8>,
    /// Subscribe requests a client may make a minute, counted in the database so that every
    /// node counts the same requests.
    per_minute: u32,
    mailer: Option<frontline_delivery::mail::Mailer>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions")
            .field("mail", &self.mailer.is_some())
            .finish_non_exhaustive()
    }
}

impl Subscriptions {
    /// Subscriptions signing links with `key`, limited to `per_minute` requests per client.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        key: Vec<u8>,
        per_minute: u32,
        mailer: Option<frontline_delivery::mail::Mailer>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            key,
            per_minute: per_minute.max(1),
            mailer,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
        })
    }

    /// Whether e-mail subscriptions are possible (an SMTP server is configured).
    pub fn email_enabled(&self) -> bool {
        self.mailer.is_some()
    }

    /// The MAC of a link: `action:id` under the installation's key.
    fn mac(&self, action: &str, id: i64) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(format!("{action}:{id}").as_bytes());
        mac
    }

    /// A link's signature: the MAC's first 16 bytes, in hex.
    fn sign(&self, action: &str, id: i64) -> String {
        hex::encode(&self.mac(action, id).finalize().into_bytes()[..16])
    }

    /// Whether `sig` is the signature of that link (compared in constant time).
    fn verify(&self, action: &str, id: i64, sig: &str) -> bool {
        match hex::decode(sig) {
            Ok(given) if given.len() == 16 => {
                self.mac(action, id).verify_truncated_left(&given).is_ok()
            }
            _ => false,
        }
    }

    /// The signed link for `action` (`confirm`, `unsubscribe`) of subscriber `id`.
    pub fn link(&self, base: &str, action: &str, id: i64) -> String {
        let path = if action == "confirm" {
            "status/subscribe/confirm"
        } else {
            "status/unsubscribe"
        };
        format!(
            "{}/{path}?id={id}&sig={}",
            base.trim_end_matches('/'),
            self.sign(action, id)
        )
    }
}

/// The public subscription routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/subscribe", post(subscribe))
        .route("/status/subscribe/confirm", get(confirm))
        .route("/status/unsubscribe", get(unsubscribe).post(unsubscribe))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeRequest {
    email: Option<String>,
    webhook: Option<String>,
    lang: Option<String>,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title></head><body><main><h1>{t}</h1><p>{x}</p><p><a href=\"/status\">Back to the status page</a></p></main></body></html>",
            t = esc(title),
            x = esc(text)
        )),
    )
        .into_response()
}

async fn subscribe(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let subs = state.subscriptions.clone();
    let limited = state
        .store
        .take_from_window(
            &format!("subscribe:{}", client.ip()),
            chrono::Duration::minutes(1),
            subs.per_minute,
        )
        .await?;
    if let Some(wait) = limited {
        let wait = wait.num_seconds().max(1);
        let mut r = ApiError::too_many(
            "rate_limited",
            format!("too many subscription requests from your address; try again in {wait} s"),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let request: SubscribeRequest = if form {
        serde_urlencoded_parse(&body)?
    } else {
        super_json(&body)?
    };
    let lang = frontline_core::field::optional_short_text(request.lang, "lang", 8)
        .map_err(ApiError::invalid)?
        .map(|l| l.to_ascii_lowercase());
    let base = state.config.public_url.clone();
    match (request.email, request.webhook) {
        (Some(email), None) => {
            if subs.mailer.is_none() {
                return Err(ApiError::invalid(InvalidField::new(
                    "email",
                    "e-mail subscriptions are not set up on this server (no [smtp] host)",
                )));
            }
            let email = subscriber::email(&email).map_err(ApiError::invalid)?;
            let signer = subs.clone();
            let welcome = move |s: &Subscriber| {
                (!s.active()).then(|| Message {
                    channel: Channel::Email,
                    to: s.address.clone(),
                    subject: "Confirm your subscription to status updates".into(),
                    body: format!(
                        "Someone (hopefully you) asked to receive status updates at this address.\n\n\
                         Confirm: {}\n\nIf it was not you, ignore this mail: nothing will be sent.",
                        signer.link(&base, "confirm", s.id)
                    ),
                    subscriber: Some(s.id),
                })
            };
            state
                .store
                .subscribe(Channel::Email, &email, lang.as_deref(), false, &welcome)
                .await?;
            state.feed_changed();
            // The same answer whether or not the address was subscribed already: the page
            // does not tell strangers who subscribes.
            Ok(if form {
                page(
                    StatusCode::ACCEPTED,
                    "Check your inbox",
                    "We sent a link to confirm your subscription.",
                )
            } else {
                (
                    StatusCode::ACCEPTED,
                    axum::Json(serde_json::json!({"status": "confirmation_sent"})),
                )
                    .into_response()
            })
        }
        (None, Some(url)) => {
            let url = frontline_delivery::webhook::check_target(
                url.trim(),
                state.listen,
                state.config.webhooks.deny_private,
            )
            .map_err(|e| ApiError::invalid(InvalidField::new("webhook", e)))?;
            state
                .store
                .subscribe(
                    Channel::Webhook,
                    url.as_str(),
                    lang.as_deref(),
                    true,
                    &|_| None,
                )
                .await?;
            Ok((
                StatusCode::CREATED,
                axum::Json(serde_json::json!({"status": "subscribed"})),
            )
                .into_response())
        }
        _ => Err(ApiError::invalid(InvalidField::new(
            "email",
            "give either an e-mail address (`email`) or a URL (`webhook`)",
        ))),
    }
}

fn super_json(body: &Bytes) -> Result<SubscribeRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })
}

fn serde_urlencoded_parse(body: &Bytes) -> Result<SubscribeRequest, ApiError> {
    let mut out = SubscribeRequest {
        email: None,
        webhook: None,
        lang: None,
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        ApiError::bad_request("malformed_form", format!("the form is not valid: {e}"))
    })?;
    for (k, v) in pairs {
        match k.as_str() {
            "email" => out.email = Some(v).filter(|s| !s.is_empty()),
            "webhook" => out.webhook = Some(v).filter(|s| !s.is_empty()),
            "lang" => out.lang = Some(v),
            other => {
                return Err(ApiError::invalid(InvalidField::new(
                    other,
                    "is not a known field",
                )));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, serde::Deserialize)]
struct Link {
    id: Option<i64>,
    sig: Option<String>,
}

async fn confirm(State(state): State<AppState>, Query(link): Query<Link>) -> Response {
    follow(&state, link, "confirm").await
}

async fn unsubscribe(State(state): State<AppState>, Query(link): Query<Link>) -> Response {
    follow(&state, link, "unsubscribe").await
}

async fn follow(state: &AppState, link: Link, action: &str) -> Response {
    let (Some(id), Some(sig)) = (link.id, link.sig) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Link incomplete",
            "This link is missing a part; open it from the mail again.",
        );
    };
    if !state.subscriptions.verify(action, id, &sig) {
        return page(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            "This link is not one we sent.",
        );
    }
    let done = if action == "confirm" {
        state.store.confirm_subscriber(id).await
    } else {
        state.store.unsubscribe(id).await
    };
    match done {
        Ok(Some(_)) if action == "confirm" => page(
            StatusCode::OK,
            "Subscribed",
            "You will receive an e-mail when we post an update. Each mail has a link to stop.",
        ),
        Ok(Some(_)) => page(
            StatusCode::OK,
            "Unsubscribed",
            "You will not receive status updates any more.",
        ),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This subscription does not exist.",
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Turns new public publications into messages for every active subscriber (in the reader's
/// language where a translation exists), queued with the cursor in one transaction. Leader-only
/// (the `subscriptions` lease): the fan-out follows one cursor. Returns whether it queued
/// anything.
///
/// # Errors
/// When the store fails.
pub async fn queue_publications(state: &AppState) -> Result<bool, frontline_store::StoreError> {
    let store = state.store.as_ref();
    let base = state.config.public_url.trim_end_matches('/').to_owned();
    let mut busy = false;
    let start = match store.cursor(CURSOR).await? {
        Some(c) => c,
        None => {
            // First start: what was published before subscriptions existed is not mailed.
            let head = store.feed_head().await?;
            store.queue_messages(&[], Some((CURSOR, head))).await?;
            head
        }
    };
    let entries = store.feed_after(start, None, 200).await?;
    let mut last = start;
    for e in &entries {
        last = e.seq;
        if e.kind != FeedKind::StatementPublished || e.data["audience"] != "public" {
            continue;
        }
        let subscribers = store.active_subscribers().await?;
        let messages: Vec<Message> = subscribers
            .iter()
            .map(|s| message(state, s, e, &base))
            .collect();
        store
            .queue_messages(&messages, Some((CURSOR, e.seq)))
            .await?;
        busy = true;
    }
    if last > start {
        store.queue_messages(&[], Some((CURSOR, last))).await?;
    }
    Ok(busy)
}

/// Sends the queued messages `claim` can take (on every node: several nodes share the outbox,
/// never the same message at once) and records each outcome under the claim. Returns whether
/// it sent anything.
///
/// # Errors
/// When the store fails.
pub async fn send_due(
    state: &AppState,
    policy: &RetryPolicy,
    claim: &Claim,
) -> Result<bool, frontline_store::StoreError> {
    let store = state.store.as_ref();
    let base = state.config.public_url.trim_end_matches('/').to_owned();
    let mut busy = false;
    for q in store.claim_messages(claim, Utc::now(), 100).await? {
        busy = true;
        let result = send(state, &q.message, &base).await;
        let outcome = match result {
            Ok(()) => Settled::Sent,
            Err(error) => {
                let attempts = q.attempts + 1;
                let age = (Utc::now() - q.created_at).to_std().unwrap_or_default();
                if age >= policy.give_up_after {
                    tracing::warn!(%error, id = q.id, "subscriber message failed for good");
                    Settled::Failed { error }
                } else {
                    let wait = policy.delay(attempts, rand::random());
                    Settled::Retry {
                        at: Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
                        error,
                    }
                }
            }
        };
        store.settle_message(q.id, &outcome, claim).await?;
        state.ops.delivery(
            "mail",
            match outcome {
                Settled::Sent => "delivered",
                Settled::Retry { .. } => "retry",
                Settled::Failed { .. } => "failed",
            },
        );
    }
    Ok(busy)
}

fn message(
    state: &AppState,
    s: &Subscriber,
    e: &frontline_core::feed::FeedEntry,
    base: &str,
) -> Message {
    let d = &e.data;
    let translated = s.lang.as_deref().and_then(|l| d["translations"].get(l));
    let pick = |k: &str| {
        translated
            .and_then(|t| t[k].as_str())
            .or_else(|| d[k].as_str())
            .unwrap_or("")
            .to_owned()
    };
    let title = Some(pick("title"))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Service status update".into());
    let body = pick("body");
    let page = format!("{base}/status#incident-{}", e.incident_id.unwrap_or(0));
    match s.channel {
        Channel::Email => Message {
            channel: Channel::Email,
            to: s.address.clone(),
            subject: format!("[Status] {title}"),
            body: format!(
                "{title}\n\n{body}\n\nFollow the incident: {page}\n\n--\nStop these mails: {}",
                state.subscriptions.link(base, "unsubscribe", s.id)
            ),
            subscriber: Some(s.id),
        },
        Channel::Webhook => Message {
            channel: Channel::Webhook,
            to: s.address.clone(),
            subject: title.clone(),
            body: serde_json::json!({
                "kind": "status.update",
                "incident_id": e.incident_id,
                "title": title,
                "body": body,
                "url": page,
                "published_at": e.at,
                "idempotency_key": format!("flt-status-{}-{}", s.id, e.seq),
            })
            .to_string(),
            subscriber: Some(s.id),
        },
    }
}

async fn send(state: &AppState, m: &Message, base: &str) -> Result<(), String> {
    let subs = &state.subscriptions;
    match m.channel {
        Channel::Email => {
            let mailer = subs
                .mailer
                .as_ref()
                .ok_or("e-mail is not set up on this server")?;
            let unsubscribe = m.subscriber.map(|id| subs.link(base, "unsubscribe", id));
            mailer
                .send(&m.to, &m.subject, &m.body, unsubscribe.as_deref())
                .await
        }
        Channel::Webhook => {
            let response = subs
                .http
                .post(&m.to)
                .header(header::CONTENT_TYPE, "application/json")
                .body(m.body.clone())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(format!("the receiver answered {}", response.status()))
            }
        }
    }
}

/// Queues publications while this process holds the lease and sends what is due on every
/// node: at once when the feed moves or there was work, else every second, until `shutdown`.
pub async fn run(state: AppState, shutdown: tokio_util::sync::CancellationToken) {
    let holder = crate::workers::holder(&state.node);
    let policy = state.config.webhooks.retry();
    let mut wake = state.feed.subscribe();
    loop {
        wake.borrow_and_update();
        let mut again = false;
        match state
            .store
            .acquire_lease(LEASE, &holder, chrono::Duration::seconds(30))
            .await
        {
            Ok(Some(_)) => match queue_publications(&state).await {
                Ok(busy) => again = busy,
                Err(e) => tracing::warn!(error = %e, "subscriptions: queueing failed"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "subscriptions: the lease could not be read"),
        }
        let claim = Claim::new(crate::workers::holder(&state.node), CLAIM_TTL);
        match send_due(&state, &policy, &claim).await {
            Ok(busy) => again |= busy,
            Err(e) => tracing::warn!(error = %e, "subscriptions: sending failed"),
        }
        if again {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = wake.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
    crate::workers::release(state.store.as_ref(), LEASE, &holder).await;
}

/// The link-signing key: configured nowhere, generated on first start and kept in the store.
///
/// # Errors
/// When the store fails.
pub async fn link_key(store: &dyn Store) -> anyhow::Result<Vec<u8>> {
    let mut candidate = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut candidate);
    Ok(store
        .secret_or_insert("subscription_link_key", &candidate)
        .await?)
}
