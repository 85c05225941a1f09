//! `/api/v1/reports`: CX agents as sensors. An agent flags contacts, or says in a few words
//! what customers are telling them, as a suspected security matter; security hears at once
//! (live feed, webhooks), sees similar reports and matching alerts beside it, and the agent
//! sees what became of it.

use super::intake::{dismiss_reason, json_body, path_id};
use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use frontline_api::{DismissRequest, ErrorBody, FileReport, ReportList, ReportOut};
use frontline_core::InvalidField;
use frontline_core::alert::AlertState;
use frontline_core::report::{self, ContactRef, NewReport, ReportState};
use frontline_store::{AlertQuery, ReportQuery, StoreError};

/// The report routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(file_report).get(list_reports))
        .route("/api/v1/reports/{id}", get(get_report))
        .route("/api/v1/reports/{id}/ack", post(ack_report))
        .route("/api/v1/reports/{id}/dismiss", post(dismiss_report))
}

/// Files a report. Give a `summary`, `contacts`, or both.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports",
    request_body(content = FileReport),
    responses(
        (status = 201, description = "Filed", body = ReportOut),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn file_report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ReportOut>), ApiError> {
    let request: FileReport = json_body(body, state.config.max_body_bytes)?;
    let invalid = |field: &str, reason: String| ApiError::invalid(InvalidField::new(field, reason));
    let category = request
        .category
        .ok_or_else(|| invalid("category", "is required".into()))?
        .parse()
        .map_err(|e| invalid("category", e))?;
    // Agents paste what customers wrote: redact before anything is stored.
    let summary = state
        .intake
        .redactor
        .redact(&report::summary(request.summary).map_err(ApiError::invalid)?)
        .text;
    if request.contacts.len() > report::MAX_CONTACTS {
        return Err(invalid(
            "contacts",
            format!("at most {} contacts per report", report::MAX_CONTACTS),
        ));
    }
    if summary.is_empty() && request.contacts.is_empty() {
        return Err(invalid(
            "summary",
            "say what customers are telling you, or flag contacts".into(),
        ));
    }
    let service = frontline_core::field::optional_short_text(request.service, "service", 200)
        .map_err(ApiError::invalid)?;
    let new = NewReport {
        category,
        summary,
        service,
        contacts: request
            .contacts
            .into_iter()
            .map(|c| ContactRef {
                source: c.source,
                id: c.id,
            })
            .collect(),
    };
    let filed = state
        .store
        .file_report(&new, &principal.origin())
        .await
        .map_err(|e| match e {
            StoreError::NotFound { what } => invalid("contacts", format!("{what} does not exist")),
            other => other.into(),
        })?;
    state.feed_changed();
    Ok((StatusCode::CREATED, Json(filed.into())))
}

/// Reports, newest first. `mine=true` lists the caller's own.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports",
    params(
        ("state" = Option<String>, Query, description = "filed, acknowledged or dismissed"),
        ("category" = Option<String>, Query, description = "Only this category"),
        ("mine" = Option<bool>, Query, description = "Only reports the caller filed"),
        ("since" = Option<String>, Query, description = "Filed at or after (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Reports", body = ReportList),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_reports(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ReportList>, ApiError> {
    let paging = query::paging(
        query::pairs(query)?,
        "reports",
        &["state", "category", "mine", "since"],
    )?;
    let get = |name: &str| paging.filters.get(name);
    let bad = |name: &str, e: String| ApiError::bad_parameter(name, e);
    let q = ReportQuery {
        state: get("state")
            .map(|v| v.parse())
            .transpose()
            .map_err(|e| bad("state", e))?,
        category: get("category")
            .map(|v| v.parse())
            .transpose()
            .map_err(|e| bad("category", e))?,
        filed_by: match get("mine").map(String::as_str) {
            None | Some("false") => None,
            Some("true") => Some(principal.actor().to_string()),
            Some(_) => return Err(bad("mine", "must be true or false".into())),
        },
        since: get("since")
            .map(|v| frontline_core::field::timestamp(v, "since"))
            .transpose()
            .map_err(|e| bad("since", e.to_string()))?,
        before: paging.after,
        limit: paging.limit + 1,
    };
    let mut items = state.store.list_reports(&q).await?;
    let more = items.len() > paging.limit as usize;
    items.truncate(paging.limit as usize);
    Ok(Json(ReportList {
        next_cursor: items
            .last()
            .filter(|_| more)
            .map(|r| query::position_cursor("reports", r.report.id)),
        items: items.into_iter().map(ReportOut::from).collect(),
    }))
}

/// One report, with similar reports and matching alerts beside it.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = i64, Path, description = "The report id")),
    responses(
        (status = 200, description = "The report", body = ReportOut),
        (status = 404, description = "No such report", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_report(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<ReportOut>, ApiError> {
    let id = path_id(path)?;
    let detail = state
        .store
        .get_report(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no report {id}")))?;
    let r = &detail.report;
    let similar = state
        .store
        .list_reports(&ReportQuery {
            state: None,
            category: Some(r.category),
            filed_by: None,
            since: Some(r.filed_at - chrono::Duration::hours(24)),
            before: None,
            limit: 200,
        })
        .await?
        .into_iter()
        .filter(|o| {
            o.report.id != id
                && (o.report.service.is_none()
                    || r.service.is_none()
                    || o.report.service == r.service)
        })
        .map(|o| o.report.id)
        .take(50)
        .collect();
    let matching = match r.category.topic() {
        Some(topic) => state
            .store
            .list_alerts(&AlertQuery {
                topic: Some(topic.into()),
                since: Some(r.filed_at - chrono::Duration::hours(6)),
                limit: 200,
                ..AlertQuery::default()
            })
            .await?
            .items
            .into_iter()
            .filter(|a| a.state != AlertState::Dismissed)
            .map(|a| a.detected.alert_id)
            .take(50)
            .collect(),
        None => Vec::new(),
    };
    let mut out = ReportOut::from(detail);
    out.similar_reports = similar;
    out.matching_alerts = matching;
    Ok(Json(out))
}

/// Acknowledges a report: security is on it (the agent sees this).
#[utoipa::path(post, path = "/api/v1/reports/{id}/ack", tag = "reports",
    params(("id" = i64, Path, description = "The report id")),
    responses(
        (status = 200, description = "Acknowledged", body = ReportOut),
        (status = 404, description = "No such report", body = ErrorBody),
        (status = 409, description = "Already acknowledged or dismissed", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ack_report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<ReportOut>, ApiError> {
    let id = path_id(path)?;
    let detail = state
        .store
        .set_report_state(id, ReportState::Acknowledged, None, &principal.origin())
        .await?;
    state.feed_changed();
    Ok(Json(detail.into()))
}

/// Dismisses a report with the reason the agent will read.
#[utoipa::path(post, path = "/api/v1/reports/{id}/dismiss", tag = "reports",
    params(("id" = i64, Path, description = "The report id")),
    request_body(content = DismissRequest),
    responses(
        (status = 200, description = "Dismissed", body = ReportOut),
        (status = 404, description = "No such report", body = ErrorBody),
        (status = 409, description = "Already dismissed", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn dismiss_report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ReportOut>, ApiError> {
    let id = path_id(path)?;
    let reason = dismiss_reason(body, state.config.max_body_bytes)?;
    let detail = state
        .store
        .set_report_state(
            id,
            ReportState::Dismissed,
            Some(&reason),
            &principal.origin(),
        )
        .await?;
    state.feed_changed();
    Ok(Json(detail.into()))
}
