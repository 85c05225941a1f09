//! Logging and request ids. [`init`] installs the subscriber once (from the binary or the
//! test harness); [`request_context`] gives each request an id, a span, and the
//! `x-request-id` response header.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use std::io::IsTerminal;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Plain text on a terminal, JSON otherwise.
    #[default]
    Auto,
    /// One JSON object a line.
    Json,
    /// Human-readable lines.
    Plain,
}

/// The filter when `RUST_LOG` is unset: our crates at `info`, chatty dependencies at `warn`.
pub const DEFAULT_FILTER: &str = "warn,frontline=info,frontline_server=info,frontline_store=info,frontline_store_sqlite=info,frontline_pipeline=info";

/// Installs the global subscriber. Later calls do nothing (tests call it once per test).
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Plain => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
}

tokio::task_local! {
    static REQUEST_ID: String;
    static CLIENT: Option<String>;
}

/// The address of the client of the request being handled on this task, if known.
pub fn current_client() -> Option<String> {
    CLIENT.try_with(Clone::clone).ok().flatten()
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A client's `x-request-id` is kept when it is short and plain; otherwise a new one is made.
fn request_id_from(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            hex::encode(bytes)
        })
}

/// Middleware: request id, span and completion log for every request.
pub async fn request_context(req: Request, next: Next) -> Response {
    let request_id = request_id_from(&req);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        route = %route,
    );
    let started = std::time::Instant::now();
    let header = HeaderValue::from_str(&request_id).ok();
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let mut response = REQUEST_ID
        .scope(request_id, CLIENT.scope(client, next.run(req)))
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The public status page is built to take a crowd: a line per successful read would cost
    // more than serving it and bury everything else. Its errors are still logged.
    if route.starts_with("/status") && status < 400 {
        tracing::debug!(status, elapsed_ms, "request done");
    } else {
        tracing::info!(status, elapsed_ms, "request done");
    }
    if let Some(h) = header {
        response.headers_mut().insert("x-request-id", h);
    }
    response
}
