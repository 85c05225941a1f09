//! `GET /api/v1/audit` (admins): the audit log, filtered, as a JSON page or streamed as NDJSON
//! for export. Records come out exactly as stored, hashes included, so an export can be
//! verified elsewhere.

use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use frontline_api::ErrorBody;
use frontline_core::audit::AuditRecord;
use serde::Serialize;

/// Records read from the store per query.
const PAGE: u32 = 1000;
/// Records looked at per JSON page, matching or not (a rare filter pages through with
/// `next_cursor` instead of scanning the whole log in one request).
const SCAN: usize = 20_000;

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(audit))
}

/// A page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Matching records, in chain order.
    pub items: Vec<AuditRecord>,
    /// Pass as `cursor` for the next page; `null` at the end of the log.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default)]
struct Filter {
    after: i64,
    limit: usize,
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    ndjson: bool,
}

impl Filter {
    fn matches(&self, r: &AuditRecord) -> bool {
        self.action.as_ref().is_none_or(|a| {
            r.action == *a || (a.ends_with('.') && r.action.starts_with(a.as_str()))
        }) && self.actor.as_ref().is_none_or(|a| r.actor == *a)
            && self.target.as_ref().is_none_or(|t| r.target == *t)
            && self.since.is_none_or(|s| r.at >= s)
            && self.until.is_none_or(|u| r.at < u)
    }
}

fn parse(pairs: Vec<(String, String)>, headers: &HeaderMap) -> Result<Filter, ApiError> {
    let mut f = Filter {
        limit: 100,
        ndjson: headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/x-ndjson")),
        ..Filter::default()
    };
    for (name, value) in pairs {
        let bad = |reason: &str| ApiError::bad_parameter(&name, reason.to_owned());
        let time = |v: &str| {
            frontline_core::field::timestamp(v, &name)
                .map_err(|e| ApiError::bad_parameter(&name, e.to_string()))
        };
        match name.as_str() {
            "cursor" => f.after = super::query::decode_cursor("audit", &value)?.seq,
            "limit" => {
                f.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| bad("limit must be a whole number from 1 to 1000"))?;
            }
            "action" => f.action = Some(value),
            "actor" => f.actor = Some(value),
            "target" => f.target = Some(value),
            "since" => f.since = Some(time(&value)?),
            "until" => f.until = Some(time(&value)?),
            "format" => match value.as_str() {
                "ndjson" => f.ndjson = true,
                "json" => f.ndjson = false,
                _ => return Err(bad("format must be json or ndjson")),
            },
            other => {
                return Err(ApiError::bad_parameter(
                    other,
                    format!(
                        "unknown parameter `{other}`; known: cursor, limit, action, actor, target, since, until, format"
                    ),
                ));
            }
        }
    }
    Ok(f)
}

/// The audit log (admins only). `action` matches exactly, or as a prefix when it ends with a
/// dot (`incident.`). `format=ndjson` (or `Accept: application/x-ndjson`) streams every
/// matching record after `cursor`, one JSON object a line, for export.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100; JSON only)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
        ("action" = Option<String>, Query, description = "An action, or a prefix ending in a dot"),
        ("actor" = Option<String>, Query, description = "user:NAME, cli:USER or system"),
        ("target" = Option<String>, Query, description = "A target such as incident:3"),
        ("since" = Option<String>, Query, description = "at >= since (RFC 3339)"),
        ("until" = Option<String>, Query, description = "at < until (RFC 3339)"),
        ("format" = Option<String>, Query, description = "json (default) or ndjson"),
    ),
    responses(
        (status = 200, description = "A page of records, or all of them as NDJSON (one AuditRecord a line) with format=ndjson", content(
            (AuditPage = "application/json"),
            (String = "application/x-ndjson"),
        )),
        (status = 400, description = "A bad parameter, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let filter = parse(pairs, &headers)?;
    if filter.ndjson {
        return Ok(export(state, filter));
    }
    let mut items = Vec::new();
    let mut after = filter.after;
    let mut scanned = 0;
    loop {
        let records = state.store.audit_records(after, PAGE).await?;
        let Some(last) = records.last().map(|r| r.seq) else {
            return Ok(Json(AuditPage {
                items,
                next_cursor: None,
            })
            .into_response());
        };
        for r in records {
            scanned += 1;
            after = r.seq;
            if filter.matches(&r) {
                items.push(r);
            }
            if items.len() == filter.limit || scanned >= SCAN {
                return Ok(Json(AuditPage {
                    items,
                    next_cursor: Some(super::query::position_cursor("audit", after)),
                })
                .into_response());
            }
        }
        after = last;
    }
}

/// Streams every matching record as NDJSON, page by page, so an export of any size holds one
/// page in memory.
fn export(state: AppState, filter: Filter) -> Response {
    let stream = futures::stream::unfold(
        (state, filter, false),
        |(state, mut filter, done)| async move {
            if done {
                return None;
            }
            match state.store.audit_records(filter.after, PAGE).await {
                Ok(records) if records.is_empty() => None,
                Ok(records) => {
                    let mut chunk = Vec::new();
                    for r in &records {
                        if filter.matches(r) {
                            // A record always serialises.
                            let _ = serde_json::to_writer(&mut chunk, r);
                            chunk.push(b'\n');
                        }
                    }
                    filter.after = records.last().map_or(filter.after, |r| r.seq);
                    Some((Ok::<_, std::io::Error>(chunk), (state, filter, false)))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "audit export failed");
                    Some((
                        Err(std::io::Error::other(e.to_string())),
                        (state, filter, true),
                    ))
                }
            }
        },
    );
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response()
}
