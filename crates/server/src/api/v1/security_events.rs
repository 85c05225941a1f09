//! `/api/v1/security-events`: findings from security and monitoring tools, sent one or many at
//! a time, and read back.

use super::intake;
use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontline_api::{
    ErrorBody, IntakeSummary, SecurityEventList, SecurityEventOut, SecurityEventsRequest,
};
use frontline_core::security_event::{NewSecurityEvent, SecurityEventInput, Severity};
use frontline_store::SecurityEventQuery;

/// The security event routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/security-events",
            post(ingest_security_events).get(list_security_events),
        )
        .route(
            "/api/v1/security-events/{source}/{id}",
            get(get_security_event),
        )
}

/// Stores security events, idempotently on (`source`, `id`).
#[utoipa::path(post, path = "/api/v1/security-events", tag = "security events",
    request_body(content = SecurityEventsRequest, description = "One event or an array of events"),
    responses(
        (status = 200, description = "Stored (accepted or duplicates); refused elements listed", body = IntakeSummary),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 403, description = "Role may not send events", body = ErrorBody),
        (status = 413, description = "Body over the configured limit", body = ErrorBody),
        (status = 422, description = "The event (or every element) failed a check; names the field", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ingest_security_events(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IntakeSummary>, ApiError> {
    let body = body.map_err(|e| intake::body_error(e, state.config.max_body_bytes))?;
    let margin = state.config.limits.future_margin();
    let span = tracing::Span::current();
    let batch = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        intake::parse::<SecurityEventInput, NewSecurityEvent>(&body, margin)
    })
    .await??;
    let (records, rejected) = batch.or_reject()?;
    let outcome = if records.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .insert_security_events(&records, &principal.origin())
            .await?
    };
    let summary = intake::summary(rejected, &outcome);
    tracing::info!(
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        rejected = summary.rejected.len(),
        "security events received"
    );
    Ok(Json(summary))
}

/// Lists security events in order of `observed_at`, then intake order.
#[utoipa::path(get, path = "/api/v1/security-events", tag = "security events",
    params(
        ("since" = Option<String>, Query, description = "observed_at >= since (RFC 3339)"),
        ("until" = Option<String>, Query, description = "observed_at < until (RFC 3339)"),
        ("service" = Option<String>, Query, description = "Only this service"),
        ("source" = Option<String>, Query, description = "Only this source"),
        ("min_severity" = Option<String>, Query, description = "Only events at least this severe"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of security events", body = SecurityEventList),
        (status = 400, description = "A bad query parameter, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_security_events(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<SecurityEventList>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let mut p = query::parse(
        pairs,
        "security-events",
        &["service", "source", "min_severity"],
    )?;
    let min_severity = p
        .filters
        .remove("min_severity")
        .map(|s| {
            s.to_ascii_lowercase()
                .parse::<Severity>()
                .map_err(|e| ApiError::bad_parameter("min_severity", e))
        })
        .transpose()?;
    let page = state
        .store
        .list_security_events(&SecurityEventQuery {
            since: p.since,
            until: p.until,
            service: p.filters.remove("service"),
            source: p.filters.remove("source"),
            min_severity,
            limit: p.limit,
            after: p.after,
        })
        .await?;
    Ok(Json(SecurityEventList {
        items: page.items.into_iter().map(SecurityEventOut::from).collect(),
        next_cursor: page
            .next_cursor
            .map(|c| query::encode_cursor("security-events", &c)),
    }))
}

/// One security event by its source and the source's id.
#[utoipa::path(get, path = "/api/v1/security-events/{source}/{id}", tag = "security events",
    params(("source" = String, Path, description = "The source"), ("id" = String, Path, description = "The source's id")),
    responses(
        (status = 200, description = "The event", body = SecurityEventOut),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_security_event(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<SecurityEventOut>, ApiError> {
    let Path((source, id)) =
        path.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let event = state
        .store
        .get_security_event(&source, &id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("no security event {id:?} from source {source:?}"))
        })?;
    // The analyst's first question: are customers feeling it? Contacts on the same service
    // and the topics the event means, from shortly before it until now.
    let topics = state.correlation.event_topics(&event.event);
    let since = event.event.observed_at - chrono::Duration::minutes(IMPACT_LEAD_MINUTES);
    let service = event.event.service.clone();
    let impact = state
        .store
        .contact_impact(since, None, service.as_deref(), &topics)
        .await?;
    let mut out = SecurityEventOut::from(event);
    out.customer_impact = Some(frontline_api::CustomerImpact {
        since,
        topics,
        service,
        contacts: impact.contacts,
        customers: impact.customers,
        by_topic: impact.by_topic,
    });
    Ok(Json(out))
}

/// How long before a security event its customer impact is counted from.
const IMPACT_LEAD_MINUTES: i64 = 30;
