//! Operational metrics for Prometheus (`GET /metrics`): contacts stored by channel and topic,
//! alerts raised, open incidents by severity, delivery outcomes and request latency. Counters
//! live in this process (they start at zero on restart, as Prometheus expects); the open
//! incidents are read from the store at scrape time, so every server in a cluster agrees.
//!
//! With `metrics_token` configured, `/metrics` needs that bearer token (or an admin API token);
//! without it, `/metrics` is open, as scrape endpoints usually are on a private network.

use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use frontline_core::Role;
use frontline_core::contact::RedactedContact;
use frontline_core::incident::Severity;
use frontline_store::{IncidentQuery, Inserted};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Instant;
use subtle::ConstantTimeEq;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContactLabels {
    channel: String,
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabels {
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseLabels {
    lease: String,
    node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    /// `webhook` or `mail`.
    transport: String,
    /// `delivered`, `retry` or `failed`.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route as routed (`/api/v1/incidents/{id}`), so ids do not explode the series.
    route: String,
    status: String,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// The registry and its metrics.
pub struct Ops {
    registry: Registry,
    contacts: Family<ContactLabels, Counter>,
    alerts: Counter,
    open_incidents: Family<SeverityLabels, Gauge>,
    deliveries: Family<DeliveryLabels, Counter>,
    requests: HistogramFamily,
    live_nodes: Gauge,
    leases: Family<LeaseLabels, Gauge>,
    bus_backlog: Gauge,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").finish_non_exhaustive()
    }
}

impl Default for Ops {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("frontline");
        let contacts = Family::default();
        let alerts = Counter::default();
        let open_incidents = Family::default();
        let deliveries = Family::default();
        let requests: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let live_nodes = Gauge::default();
        let leases = Family::default();
        let bus_backlog = Gauge::default();
        registry.register(
            "bus_backlog",
            "Contacts on the intake bus not yet stored (waiting, or fetched and unacknowledged; \
             read at scrape time; 0 without a bus)",
            bus_backlog.clone(),
        );
        registry.register(
            "live_nodes",
            "Server nodes sharing the database heard from in the last 15 s (read at scrape time)",
            live_nodes.clone(),
        );
        registry.register(
            "lease_epoch",
            "The epoch of each lease held now, by lease and holding node (read at scrape time)",
            leases.clone(),
        );
        registry.register(
            "contacts_stored",
            "Contacts stored (duplicates not counted), by channel and topic (`none` when the \
             taxonomy found none; a contact with two topics counts under both)",
            contacts.clone(),
        );
        registry.register(
            "alerts_raised",
            "Early-warning alerts raised",
            alerts.clone(),
        );
        registry.register(
            "open_incidents",
            "Incidents not resolved, by severity (read from the store at scrape time)",
            open_incidents.clone(),
        );
        registry.register(
            "deliveries",
            "Webhook and mail delivery attempts, by transport and outcome",
            deliveries.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by method, route and status",
            requests.clone(),
        );
        Self {
            registry,
            contacts,
            alerts,
            open_incidents,
            deliveries,
            requests,
            live_nodes,
            leases,
            bus_backlog,
        }
    }
}

impl Ops {
    /// Counts a request answered, and how long it took.
    pub fn observe_request(
        &self,
        method: &str,
        route: &str,
        status: axum::http::StatusCode,
        took: std::time::Duration,
    ) {
        self.request_histogram(method, route, status)
            .observe(took.as_secs_f64());
    }

    /// The histogram of requests to `route` answered `status`, to keep where one route is
    /// asked for so often that finding it each time would show.
    pub fn request_histogram(
        &self,
        method: &str,
        route: &str,
        status: axum::http::StatusCode,
    ) -> Histogram {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.as_u16().to_string(),
            })
            .clone()
    }

    /// Counts the contacts of a batch that were stored (not duplicates).
    pub fn contacts_stored(&self, contacts: &[RedactedContact], outcome: &[Inserted]) {
        for (c, o) in contacts.iter().zip(outcome) {
            if *o != Inserted::Accepted {
                continue;
            }
            let channel = c.channel.as_str().to_owned();
            if c.topics.is_empty() {
                self.contacts
                    .get_or_create(&ContactLabels {
                        channel,
                        topic: "none".into(),
                    })
                    .inc();
            } else {
                for t in &c.topics {
                    self.contacts
                        .get_or_create(&ContactLabels {
                            channel: channel.clone(),
                            topic: t.clone(),
                        })
                        .inc();
                }
            }
        }
    }

    /// Counts newly raised alerts.
    pub fn alerts_raised(&self, n: u64) {
        self.alerts.inc_by(n);
    }

    /// Counts one delivery attempt.
    pub fn delivery(&self, transport: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                transport: transport.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The exposition text, with the open incidents read now.
    async fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let mut counts = [0i64; 4];
        let mut query = IncidentQuery {
            open: Some(true),
            limit: 1000,
            ..IncidentQuery::default()
        };
        loop {
            let page = state.store.list_incidents(&query).await?;
            for i in &page.items {
                counts[i.severity as usize] += 1;
            }
            match page.next_cursor {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        for (s, n) in [
            Severity::Sev1,
            Severity::Sev2,
            Severity::Sev3,
            Severity::Sev4,
        ]
        .into_iter()
        .zip(counts)
        {
            self.open_incidents
                .get_or_create(&SeverityLabels {
                    severity: s.as_str().into(),
                })
                .set(n);
        }
        let nodes = state
            .store
            .live_nodes(crate::workers::nodes::LIVE_WITHIN)
            .await?;
        self.live_nodes
            .set(i64::try_from(nodes.len()).unwrap_or(i64::MAX));
        // Only leases held now, by whom: a holder that moved on must not linger.
        self.leases.clear();
        let now = chrono::Utc::now();
        for lease in state.store.leases().await? {
            let Some(node) = crate::workers::node_of(&lease.holder) else {
                continue;
            };
            if lease.expires_at > now {
                self.leases
                    .get_or_create(&LeaseLabels {
                        lease: lease.name,
                        node: node.to_owned(),
                    })
                    .set(lease.epoch);
            }
        }
        if let Some(bus) = &state.bus {
            // An unreachable bus must not take the scrape down: the last figure stays.
            match bus.backlog().await {
                Ok(n) => {
                    self.bus_backlog.set(i64::try_from(n).unwrap_or(i64::MAX));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: the bus's backlog could not be read")
                }
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| ApiError::internal(format!("encoding metrics: {e}")))?;
        Ok(out)
    }
}

/// Middleware on every route: observes the request's latency under its route.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    state.ops.observe_request(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = check(&state, &headers).await {
        return e.into_response();
    }
    match state.ops.render(&state).await {
        Ok(text) => (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Open without a metrics token; with one, that token or an admin's API token.
async fn check(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.config.metrics_token else {
        return Ok(());
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if let Some(p) = presented
        && bool::from(p.as_bytes().ct_eq(expected.expose().as_bytes()))
    {
        return Ok(());
    }
    let principal = crate::auth::authenticate(state, headers).await?;
    if principal.roles.contains(&Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "/metrics needs the metrics token or an admin's API token",
        ))
    }
}
