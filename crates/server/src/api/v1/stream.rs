//! `GET /api/v1/stream`: the feed as server-sent events, so pages and bots see new alerts,
//! reports, incidents and timeline entries without polling. Each event's `id` is its feed
//! `seq`; a client that reconnects with `Last-Event-ID` (browsers do this by themselves) gets
//! everything after it, with no gap, because the feed is gapless and in commit order.

use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use frontline_api::{ErrorBody, FeedEntryOut};
use frontline_core::feed::{FeedEntry, FeedKind};
use futures::{Stream, StreamExt as _};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream looks for entries written by other processes (its own process
/// wakes it at once).
const POLL: Duration = Duration::from_millis(1000);
/// Entries read per query.
const BATCH: u32 = 200;

/// The stream route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream))
}

struct Follow {
    state: AppState,
    after: i64,
    kinds: Option<Vec<FeedKind>>,
    incident: Option<i64>,
    buffer: VecDeque<FeedEntry>,
    wake: tokio::sync::watch::Receiver<u64>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Follow {
    async fn next(mut self) -> Option<(Event, Self)> {
        loop {
            if let Some(entry) = self.buffer.pop_front() {
                self.after = entry.seq;
                let wanted = self.kinds.as_ref().is_none_or(|k| k.contains(&entry.kind))
                    && self.incident.is_none_or(|i| entry.incident_id == Some(i));
                if !wanted {
                    continue;
                }
                let seq = entry.seq;
                let kind = entry.kind.as_str();
                let data = serde_json::to_string(&FeedEntryOut::from(entry))
                    .unwrap_or_else(|_| "{}".into());
                let event = Event::default().id(seq.to_string()).event(kind).data(data);
                return Some((event, self));
            }
            // Mark what is current before reading, so a change committed during the read
            // still wakes the next wait.
            self.wake.borrow_and_update();
            match self.state.store.feed_after(self.after, None, BATCH).await {
                Ok(entries) if !entries.is_empty() => {
                    self.buffer.extend(entries);
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "live stream: reading the feed failed"),
            }
            tokio::select! {
                () = self.state.shutdown.cancelled() => return None,
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        // The server is shutting down.
                        return None;
                    }
                }
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// The live feed as server-sent events (`id`: the feed seq; `event`: the kind; `data`: the
/// entry as JSON). Without `Last-Event-ID` or `after`, starts at the newest entry.
#[utoipa::path(get, path = "/api/v1/stream", tag = "stream",
    params(
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq"),
        ("after" = Option<i64>, Query, description = "Start after this seq (like Last-Event-ID)"),
        ("kinds" = Option<String>, Query, description = "Comma-separated kinds to receive, e.g. incident.opened,alert.raised"),
        ("incident" = Option<i64>, Query, description = "Only this incident's entries"),
    ),
    responses(
        (status = 200, description = "text/event-stream of feed entries", content_type = "text/event-stream", body = FeedEntryOut),
        (status = 400, description = "A bad parameter or Last-Event-ID", body = ErrorBody),
        (status = 429, description = "Too many live streams open", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let seq = |name: &str, v: &str| {
        v.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::bad_parameter(name, format!("{name} must be a feed seq")))
    };
    let mut after = None;
    let mut kinds = None;
    let mut incident = None;
    for (name, value) in pairs {
        match name.as_str() {
            "after" => after = Some(seq("after", &value)?),
            "incident" => incident = Some(seq("incident", &value)?),
            "kinds" => {
                let parsed = value
                    .split(',')
                    .map(|k| k.trim().parse::<FeedKind>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ApiError::bad_parameter("kinds", e))?;
                kinds = Some(parsed);
            }
            other => {
                return Err(ApiError::bad_parameter(
                    other,
                    format!("unknown parameter `{other}`; known: after, kinds, incident"),
                ));
            }
        }
    }
    if let Some(v) = headers.get("last-event-id") {
        let v = v
            .to_str()
            .map_err(|_| ApiError::bad_parameter("Last-Event-ID", "must be a feed seq"))?;
        after = Some(seq("Last-Event-ID", v)?);
    }
    let after = match after {
        Some(a) => a,
        None => state.store.feed_head().await?,
    };
    let slot = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::too_many(
            "too_many_streams",
            "too many live streams are open on this server; try again later",
        )
    })?;
    let follow = Follow {
        wake: state.feed.subscribe(),
        state,
        after,
        kinds,
        incident,
        buffer: VecDeque::new(),
        _slot: slot,
    };
    let events = futures::stream::unfold(follow, |f| f.next()).map(Ok::<_, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
