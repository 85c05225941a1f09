//! For tools, scripts and integrations: the versioned JSON API ([`v1`]), streamed bulk intake
//! ([`bulk`]) and `/healthz`; it may touch the store, the pipeline, `auth` and the plumbing.
//! This file also builds the one router that mounts every audience's routes (the pages, the
//! public status page) with the layers they share: request ids, body limit, hardened headers,
//! panic guard, and the answers for paths and methods that do not exist.

pub mod bulk;
pub mod v1;

use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::plumbing::telemetry;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, middleware};
use frontline_api::Health;
use tower_http::catch_panic::CatchPanicLayer;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::plumbing::ops::metrics))
        .merge(private(v1::router(state.clone())))
        .merge(private(crate::web::router().route_layer(
            middleware::from_fn_with_state(state.clone(), crate::auth::authorize),
        )))
        .merge(crate::web::public_router())
        .merge(crate::public::status::router())
        .merge(crate::public::subscriptions::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    hardened(routes)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::plumbing::limits::bound_in_flight,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::plumbing::ops::track,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::map_request_body::MapRequestBodyLayer::new(
            axum::body::Body::new,
        ))
        // A body that stalls between chunks ends the request instead of holding it open.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            std::time::Duration::from_millis(state.config.limits.body_idle_timeout_ms),
        ))
        // A panic is a bug; it must still answer like any other 500 and never take the
        // server down.
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("a handler panicked").into_response()
            },
        ))
        .layer(middleware::from_fn(telemetry::request_context))
        .with_state(state)
}

/// What every answer carries unless its route set its own (the status page's policy allows
/// its stylesheet, the people's pages their script and stylesheet): no browser may guess a
/// type, frame an answer, or tell another site which page a link was followed from, and an
/// answer that is not a page may load nothing at all.
fn hardened(router: Router<AppState>) -> Router<AppState> {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

/// Answers behind sign-in carry data for one person or token: no cache may keep them, and no
/// browser may guess their type. (The public pages set their own caching.)
fn private(router: Router<AppState>) -> Router<AppState> {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// Liveness: answers while the server serves. No authentication.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

async fn not_found() -> Response {
    ApiError::not_found("no such path").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}
