//! `/api/v1/alerts`: the early warnings the detection worker raises, and their triage
//! (acknowledge; dismiss with a reason, which is kept to tune detection).

use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use frontline_api::{AlertList, AlertOut, DismissRequest, ErrorBody};
use frontline_core::alert::AlertState;
use frontline_store::AlertQuery;

/// The alert routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/ack", post(ack_alert))
        .route("/api/v1/alerts/{id}/dismiss", post(dismiss_alert))
}

/// Lists alerts in order of `started_at`.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    params(
        ("state" = Option<String>, Query, description = "open, acknowledged or dismissed"),
        ("kind" = Option<String>, Query, description = "spike or cluster"),
        ("topic" = Option<String>, Query, description = "Only this topic"),
        ("since" = Option<String>, Query, description = "started_at >= since (RFC 3339)"),
        ("until" = Option<String>, Query, description = "started_at < until (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of alerts", body = AlertList),
        (status = 400, description = "A bad query parameter, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_alerts(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let mut p = query::parse(pairs, "alerts", &["state", "kind", "topic"])?;
    let parse = |name: &str, v: Option<String>| v.map(|v| (name.to_owned(), v));
    let alert_state = parse("state", p.filters.remove("state"))
        .map(|(n, v)| {
            v.parse::<AlertState>()
                .map_err(|e| ApiError::bad_parameter(&n, e))
        })
        .transpose()?;
    let kind = parse("kind", p.filters.remove("kind"))
        .map(|(n, v)| {
            v.parse()
                .map_err(|e: String| ApiError::bad_parameter(&n, e))
        })
        .transpose()?;
    let page = state
        .store
        .list_alerts(&AlertQuery {
            state: alert_state,
            kind,
            topic: p.filters.remove("topic"),
            since: p.since,
            until: p.until,
            limit: p.limit,
            after: p.after,
        })
        .await?;
    Ok(Json(AlertList {
        items: page.items.into_iter().map(AlertOut::from).collect(),
        next_cursor: page.next_cursor.map(|c| query::encode_cursor("alerts", &c)),
    }))
}

fn alert_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))
}

/// One alert, with its evidence.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The alert id")),
    responses(
        (status = 200, description = "The alert", body = AlertOut),
        (status = 404, description = "No such alert", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_alert(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AlertOut>, ApiError> {
    let id = alert_id(path)?;
    state
        .store
        .get_alert(&id)
        .await?
        .map(|a| Json(AlertOut::from(a)))
        .ok_or_else(|| ApiError::not_found(format!("no alert {id:?}")))
}

/// Acknowledges an open alert: someone is on it.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "alerts",
    params(("id" = String, Path, description = "The alert id")),
    responses(
        (status = 200, description = "Acknowledged", body = AlertOut),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Not open any more", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ack_alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AlertOut>, ApiError> {
    let id = alert_id(path)?;
    let alert = state
        .store
        .set_alert_state(&id, AlertState::Acknowledged, None, &principal.origin())
        .await?;
    Ok(Json(alert.into()))
}

/// Dismisses an alert, with the reason it does not matter.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/dismiss", tag = "alerts",
    params(("id" = String, Path, description = "The alert id")),
    request_body(content = DismissRequest),
    responses(
        (status = 200, description = "Dismissed", body = AlertOut),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already dismissed", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn dismiss_alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertOut>, ApiError> {
    let id = alert_id(path)?;
    let reason = super::intake::dismiss_reason(body, state.config.max_body_bytes)?;
    let alert = state
        .store
        .set_alert_state(
            &id,
            AlertState::Dismissed,
            Some(&reason),
            &principal.origin(),
        )
        .await?;
    Ok(Json(alert.into()))
}
