//! What every handler shares.

use crate::plumbing::config::Config;
use crate::workers::detection::DetectionWorker;
use frontline_pipeline::Intake;
use frontline_store::Store;
use std::sync::Arc;

/// Shared state of the server behind one `Arc`: every request's extractors and middleware
/// clone it, and cloning twenty `Arc`s (and dropping them) per request was a quarter of the
/// status page's time under load.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The state of a server made of `shared`.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    /// The store.
    pub store: Arc<dyn Store>,
    /// What every contact goes through before it is stored (redaction, pseudonym, topics).
    pub intake: Arc<Intake>,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The detection worker (shared so tests can step it).
    pub detection: Arc<tokio::sync::Mutex<DetectionWorker>>,
    /// Rung after this process commits something to the feed, so the live stream and the
    /// webhook worker wake at once (they also poll, for writes by other processes).
    pub feed: Arc<tokio::sync::watch::Sender<u64>>,
    /// One permit per open live stream (`max_streams`), so clients cannot hold unbounded
    /// connections and memory.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// The correlation worker (shared so tests can run a round).
    pub correlation: Arc<crate::workers::correlation::CorrelationWorker>,
    /// Cancelled when the server begins shutting down: long-lived responses (live streams)
    /// end, so the graceful shutdown does not wait for clients that never hang up.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The public status page, rendered when something public changes.
    pub status: crate::public::status::SharedPages,
    /// Status page subscriptions: link signing, rate limits, the mailer.
    pub subscriptions: Arc<crate::public::subscriptions::Subscriptions>,
    /// The address this server listens on (webhooks may not point at it).
    pub listen: std::net::SocketAddr,
    /// Rate limits and requests in flight.
    pub limits: Arc<crate::plumbing::limits::Limits>,
    /// Operational metrics (`/metrics`).
    pub ops: Arc<crate::plumbing::ops::Ops>,
    /// The dashboard's contact volumes, reused for a few seconds.
    pub volumes: Arc<crate::web::volume::Cache>,
    /// The intake bus, when configured: intake publishes to it, and every node's writer
    /// stores what it carries.
    pub bus: Option<crate::plumbing::bus::Bus>,
    /// This server's name among the nodes sharing the database ([`crate::workers::node_id`]).
    pub node: String,
    /// The key that seals helpdesk credentials.
    pub sealing: Arc<crate::plumbing::sealing::Sealing>,
    /// Each helpdesk connection's request budget and circuit breaker.
    pub helpdesk_guards: Arc<crate::workers::helpdesk::guard::Guards>,
}

impl AppState {
    /// Wakes whoever follows the feed: call after a change that appended to it is committed.
    pub fn feed_changed(&self) {
        self.feed.send_modify(|n| *n = n.wrapping_add(1));
    }
}
