//! Insights: an incident's metrics (`/api/v1/incidents/{id}/metrics`), its post-incident review
//! (the written part as JSON, the whole as Markdown) and the trends across incidents
//! (`/api/v1/trends`). The pages showing the same are in [`crate::web`].

use super::intake::{json_body, path_id};
use crate::auth::Principal;
use crate::insights::{self, Trends};
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::Utc;
use frontline_api::ErrorBody;
use frontline_core::InvalidField;
use frontline_core::metrics::{self, IncidentMetrics};
use frontline_core::review::{Review, ReviewSections};
use frontline_store::metrics::{Depth, gather};
use std::collections::BTreeSet;

/// The most months the trends look back.
pub const MAX_MONTHS: u32 = 36;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents/{id}/metrics", get(incident_metrics))
        .route(
            "/api/v1/incidents/{id}/review",
            get(get_review).put(put_review),
        )
        .route("/api/v1/incidents/{id}/review.md", get(review_markdown))
        .route("/api/v1/trends", get(trends))
}

/// An incident's milestones, durations and customer impact, computed now from its timeline
/// and linked signals (contacts linked later move the figures).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/metrics", tag = "insights",
    params(("id" = i64, Path, description = "The incident id")),
    responses(
        (status = 200, description = "The metrics; milestones not reached are null", body = IncidentMetrics),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn incident_metrics(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<IncidentMetrics>, ApiError> {
    let id = path_id(path)?;
    let facts = gather(state.store.as_ref(), id, Utc::now(), Depth::Impact)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    let mut computed = metrics::compute(&facts);
    computed.tickets = crate::insights::tickets(state.store.as_ref(), id).await?;
    Ok(Json(computed))
}

/// The written part of the review: summary, what went well, what went wrong, actions.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review", tag = "insights",
    params(("id" = i64, Path, description = "The incident id")),
    responses(
        (status = 200, description = "The sections (empty, with `updated_at` null, until saved)", body = Review),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_review(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<Review>, ApiError> {
    let id = path_id(path)?;
    if state.store.get_incident(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no incident {id}")));
    }
    Ok(Json(state.store.get_review(id).await?.unwrap_or(Review {
        incident_id: id,
        sections: ReviewSections::default(),
        updated_by: None,
        updated_at: None,
    })))
}

/// Saves the written part of the review, whole (what is left out is emptied). Owners must be
/// users; due dates are days (`2026-12-15`).
#[utoipa::path(put, path = "/api/v1/incidents/{id}/review", tag = "insights",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = ReviewSections),
    responses(
        (status = 200, description = "Saved", body = Review),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field` (`actions[1].owner`)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn put_review(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Review>, ApiError> {
    let id = path_id(path)?;
    let sections: ReviewSections = json_body(body, state.config.max_body_bytes)?;
    let sections = sections.check().map_err(ApiError::invalid)?;
    let owners = sections.owners();
    if !owners.is_empty() {
        let users: BTreeSet<String> = state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect();
        if let Some((field, owner)) = owners.iter().find(|(_, o)| !users.contains(*o)) {
            return Err(ApiError::invalid(InvalidField::new(
                field.clone(),
                format!("no user named {owner:?}"),
            )));
        }
    }
    let saved = state
        .store
        .save_review(id, &sections, &principal.origin())
        .await?;
    Ok(Json(saved))
}

/// The whole review as Markdown: metrics, timeline side by side, the contacts chart (an
/// embedded SVG image), published statements with approvals, the written sections, linked
/// security events.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review.md", tag = "insights",
    params(("id" = i64, Path, description = "The incident id")),
    responses(
        (status = 200, description = "The review", content_type = "text/markdown", body = String),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn review_markdown(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(path)?;
    let doc = insights::review(&state, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    Ok((
        [
            (CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("inline; filename=\"incident-{id}-review.md\""),
            ),
        ],
        insights::markdown(&doc),
    )
        .into_response())
}

/// The `months` parameter: 1 to [`MAX_MONTHS`], 12 by default; nothing else is accepted.
pub(crate) fn months(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<u32, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let mut months = 12;
    for (k, v) in pairs {
        match k.as_str() {
            "months" => {
                months = v
                    .parse()
                    .ok()
                    .filter(|m| (1..=MAX_MONTHS).contains(m))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_parameter",
                            format!("months must be a whole number from 1 to {MAX_MONTHS}"),
                        )
                        .with_field("months")
                    })?;
            }
            other => {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    format!("unknown parameter {other:?}; the trends take `months`"),
                )
                .with_field(other));
            }
        }
    }
    Ok(months)
}

/// Trends over the last `months` calendar months (UTC, this one included): incidents per month
/// by severity and service, median and p90 of each time metric per month, contacts per topic
/// and week, services that recur, and alerts dismissed and why.
#[utoipa::path(get, path = "/api/v1/trends", tag = "insights",
    params(("months" = Option<u32>, Query, description = "How many months, 1 to 36 (default 12)")),
    responses(
        (status = 200, description = "The trends", body = Trends),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn trends(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Trends>, ApiError> {
    let months = months(query)?;
    Ok(Json(insights::trends(&state, months, Utc::now()).await?))
}
