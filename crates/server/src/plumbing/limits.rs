//! Limits against abuse: requests per API token and per client address (token buckets,
//! `429` with `Retry-After`), requests in flight (`503` at once beyond it), and the slow-client
//! timeouts (headers, stalled bodies) applied where the server accepts connections. Every map
//! keyed by a client is pruned of idle keys every minute, so a flood of addresses or tokens
//! cannot grow memory without bound. Where several nodes share a database, each takes its
//! share of a token's quota (the configured rate over the live nodes), so a token spread
//! over the nodes gets about the rate configured, not that many times it.

use crate::plumbing::config::LimitsConfig;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The live limits of one server.
#[derive(Debug)]
pub struct Limits {
    /// The per-token buckets at this node's share, and how many nodes it was cut for.
    per_token: std::sync::RwLock<(u32, Option<Arc<DefaultKeyedRateLimiter<String>>>)>,
    token_quota: (u32, u32),
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
    in_flight: Arc<Semaphore>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_second: u32,
    burst: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

/// A `429` saying when to come back (whole seconds, rounded up, at least 1).
pub fn too_many(wait: Duration, message: &str) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut r = ApiError::too_many("rate_limited", format!("{message}; try again in {secs} s"))
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(RETRY_AFTER, v);
    }
    r
}

impl Limits {
    /// Limits as configured.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_token: std::sync::RwLock::new((
                1,
                limiter(config.token_per_second, config.token_burst).map(Arc::new),
            )),
            token_quota: (config.token_per_second, config.token_burst),
            per_client: limiter(config.client_per_second, config.client_burst),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
        }
    }

    /// Takes this node's share of each token's quota when `nodes` share the database: the
    /// rate and burst over the nodes, at least one a second. The buckets start full again
    /// when the count changes (rare: a node joining or leaving).
    pub fn set_live_nodes(&self, nodes: usize) {
        let nodes = u32::try_from(nodes.max(1)).unwrap_or(u32::MAX);
        let mut slot = self
            .per_token
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.0 == nodes {
            return;
        }
        let (rate, burst) = self.token_quota;
        let share = |n: u32| if n == 0 { 0 } else { (n / nodes).max(1) };
        *slot = (nodes, limiter(share(rate), share(burst)).map(Arc::new));
    }

    /// The nodes sharing the database, as last counted (1 until the first heartbeat).
    pub fn live_nodes(&self) -> u32 {
        self.per_token
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
    }

    fn token_limiter(&self) -> Option<Arc<DefaultKeyedRateLimiter<String>>> {
        self.per_token
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .clone()
    }

    /// Takes one request from the client address's bucket.
    ///
    /// # Errors
    /// The `429` to answer when the bucket is empty.
    #[allow(clippy::result_large_err)]
    pub fn check_client(&self, client: IpAddr) -> Result<(), Response> {
        match &self.per_client {
            Some(l) => l.check_key(&client).map_err(|not_until| {
                too_many(
                    not_until.wait_time_from(DefaultClock::default().now()),
                    "too many requests from your address",
                )
            }),
            None => Ok(()),
        }
    }

    /// Takes one request from the token's bucket (by its public id).
    ///
    /// # Errors
    /// The `429` to answer when the bucket is empty.
    #[allow(clippy::result_large_err)]
    pub fn check_token(&self, token_id: &str) -> Result<(), Response> {
        match &self.token_limiter() {
            Some(l) => l.check_key(&token_id.to_owned()).map_err(|not_until| {
                too_many(
                    not_until.wait_time_from(DefaultClock::default().now()),
                    "too many requests with this token",
                )
            }),
            None => Ok(()),
        }
    }

    /// Forgets clients and tokens whose buckets are full again (idle ones).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.token_limiter() {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_client {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// Keys held (for tests of the pruning).
    pub fn keys(&self) -> usize {
        self.token_limiter().map_or(0, |l| l.len())
            + self.per_client.as_ref().map_or(0, |l| l.len())
    }
}

/// Middleware on every route but the live stream (bounded by `max_streams`): a request beyond
/// `max_in_flight` is answered `503` with `Retry-After: 1` at once.
pub async fn bound_in_flight(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let streaming = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| p.as_str() == "/api/v1/stream");
    if streaming {
        return next.run(req).await;
    }
    let Ok(_permit) = state.limits.in_flight.clone().try_acquire_owned() else {
        // Built directly, not through `ApiError`: an overload must not also log an error per
        // refused request.
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(RETRY_AFTER, HeaderValue::from_static("1"))],
            axum::Json(serde_json::json!({"error": {
                "code": "overloaded",
                "message": "the server is at its limit of requests in flight; try again shortly",
            }})),
        )
            .into_response();
    };
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_burst_then_waits() {
        let limits = Limits::new(&LimitsConfig {
            token_per_second: 10,
            token_burst: 20,
            ..LimitsConfig::default()
        });
        for i in 0..20 {
            assert!(limits.check_token("a").is_ok(), "request {i} of the burst");
        }
        let refused = limits.check_token("a").unwrap_err();
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()[RETRY_AFTER], "1");
        assert!(
            limits.check_token("b").is_ok(),
            "another token has its own bucket"
        );
    }

    #[test]
    fn each_of_several_nodes_takes_its_share_of_a_tokens_quota() {
        let limits = Limits::new(&LimitsConfig {
            token_per_second: 10,
            token_burst: 20,
            ..LimitsConfig::default()
        });
        limits.set_live_nodes(2);
        for i in 0..10 {
            assert!(
                limits.check_token("a").is_ok(),
                "request {i} of half the burst"
            );
        }
        assert_eq!(limits.check_token("a").unwrap_err().status(), 429);
        // Alone again: the whole quota.
        limits.set_live_nodes(1);
        for i in 0..20 {
            assert!(limits.check_token("a").is_ok(), "request {i} of the burst");
        }
        assert!(limits.check_token("a").is_err());
        // However many nodes, a token may still make a request a second.
        limits.set_live_nodes(1000);
        assert!(limits.check_token("b").is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let limits = Limits::new(&LimitsConfig {
            token_per_second: 0,
            client_per_second: 0,
            ..LimitsConfig::default()
        });
        limits.set_live_nodes(3);
        for _ in 0..10_000 {
            assert!(limits.check_token("a").is_ok());
            assert!(limits.check_client([127, 0, 0, 1].into()).is_ok());
        }
        assert_eq!(limits.keys(), 0);
    }

    #[test]
    fn retry_after_rounds_up() {
        let r = too_many(Duration::from_millis(1500), "x");
        assert_eq!(r.headers()[RETRY_AFTER], "2");
        let r = too_many(Duration::ZERO, "x");
        assert_eq!(r.headers()[RETRY_AFTER], "1");
    }
}
