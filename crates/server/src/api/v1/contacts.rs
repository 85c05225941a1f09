//! `/api/v1/contacts`: send contacts (one or an array) and read them back. Personal data is
//! redacted and the customer id pseudonymised before the store sees anything.

use super::intake;
use super::query;
use crate::api::bulk::BulkIntake;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use frontline_api::{
    BulkSummary, ContactList, ContactOut, ContactsRequest, ErrorBody, IntakeSummary,
};
use frontline_core::contact::{ContactInput, NewContact};
use frontline_store::ContactQuery;

/// The contact routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contacts", post(ingest_contacts).get(list_contacts))
        .route("/api/v1/contacts/bulk", post(ingest_contacts_bulk))
        .route("/api/v1/contacts/{source}/{id}", get(get_contact))
        .route("/api/v1/contacts/{source}/{id}/topics", put(correct_topics))
}

/// 200 when intake stored the contacts itself, 202 when it handed them to the bus (stored by
/// the bus's writer moments later).
fn intake_status(state: &AppState) -> StatusCode {
    if state.bus.is_some() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    }
}

/// Stores contacts, idempotently on (`source`, `id`). A 200 answer means every accepted contact
/// is committed. In an array, bad elements are reported by index and the good ones kept.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts",
    request_body(content = ContactsRequest, description = "One contact or an array of contacts"),
    responses(
        (status = 200, description = "Stored (accepted or duplicates); refused elements listed", body = IntakeSummary),
        (status = 202, description = "With an intake bus: acknowledged by the bus (stored by its writer moments later); refused elements listed", body = IntakeSummary),
        (status = 503, description = "The database or the bus is unavailable; nothing acknowledged; retry after Retry-After", body = ErrorBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 403, description = "Role may not send contacts", body = ErrorBody),
        (status = 413, description = "Body over the configured limit", body = ErrorBody),
        (status = 422, description = "The contact (or every element) failed a check; names the field", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ingest_contacts(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IntakeSummary>), ApiError> {
    let body = body.map_err(|e| intake::body_error(e, state.config.max_body_bytes))?;
    let pipeline = state.intake.clone();
    let margin = state.config.limits.future_margin();
    // Parsing and redacting a large body is CPU work; keep it off the async workers.
    let span = tracing::Span::current();
    let batch = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        intake::parse::<ContactInput, NewContact>(&body, margin)
            .map(|b| b.map(|c| pipeline.prepare(c)))
    })
    .await?;
    let (records, rejected) = batch?.or_reject()?;
    let outcome = intake::store_prepared(&state, &records, &principal.origin()).await?;
    let summary = intake::summary(rejected, &outcome);
    tracing::info!(
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        rejected = summary.rejected.len(),
        "contacts received"
    );
    Ok((intake_status(&state), Json(summary)))
}

/// Stores contacts sent as NDJSON (one JSON object a line), read as a stream and committed in
/// batches of 1,000: a million contacts may come in one request. Bad lines are reported by
/// 1-based line number and the good ones kept. When the answer is 200, every accepted line is
/// committed; if the connection breaks, committed batches stay, and sending the whole file
/// again is safe.
#[utoipa::path(post, path = "/api/v1/contacts/bulk", tag = "contacts",
    request_body(content = String, content_type = "application/x-ndjson", description = "One contact object a line"),
    responses(
        (status = 200, description = "Read to the end; accepted lines committed; refused lines listed", body = BulkSummary),
        (status = 202, description = "With an intake bus: read to the end; accepted lines acknowledged by the bus (stored by its writer moments later)", body = BulkSummary),
        (status = 503, description = "The database or the bus is unavailable; batches before it stay committed or acknowledged", body = ErrorBody),
        (status = 400, description = "The body broke off", body = ErrorBody),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 403, description = "Role may not send contacts", body = ErrorBody),
        (status = 413, description = "Over the configured size; lines before the limit are committed", body = ErrorBody),
        (status = 415, description = "Not sent as application/x-ndjson (a JSON array, a form, no body)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ingest_contacts_bulk(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BulkSummary>), ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") {
        return Err(ApiError::unsupported_media_type(
            "send one JSON object a line as application/x-ndjson; a JSON array goes to POST /api/v1/contacts",
        ));
    }
    // A request that does not say what it sends (no body at all, a form) is a client's
    // mistake, not an empty file: answering 200 with nothing stored would hide it.
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        media.as_str(),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl"
    ) {
        return Err(ApiError::unsupported_media_type(format!(
            "the body must be NDJSON sent as application/x-ndjson, not {:?}",
            content_type
        )));
    }
    let limit = state.config.max_bulk_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::payload_too_large(format!(
            "the request is larger than {limit} bytes; split the file"
        )));
    }
    let intake = BulkIntake {
        store: state.store.clone(),
        intake: state.intake.clone(),
        origin: principal.origin(),
        max_bytes: limit,
        future_margin: state.config.limits.future_margin(),
        ops: state.ops.clone(),
        bus: state.bus.clone(),
    };
    let summary = intake.run(body.into_data_stream(), |_, _| {}).await?;
    tracing::info!(
        lines = summary.lines,
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        rejected = summary.rejected_count,
        "bulk contacts received"
    );
    Ok((intake_status(&state), Json(summary)))
}

/// Lists contacts in order of `received_at`, then intake order. Pages never skip or repeat a
/// contact committed before the first page was read.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts",
    params(
        ("since" = Option<String>, Query, description = "received_at >= since (RFC 3339)"),
        ("until" = Option<String>, Query, description = "received_at < until (RFC 3339)"),
        ("channel" = Option<String>, Query, description = "ticket, chat, call, email, social or review"),
        ("service" = Option<String>, Query, description = "Only this service"),
        ("source" = Option<String>, Query, description = "Only this source"),
        ("topic" = Option<String>, Query, description = "Only contacts with this topic (account_access, account_takeover, phishing, fraud, data_exposure, outage, performance, …)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of contacts", body = ContactList),
        (status = 400, description = "A bad query parameter, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_contacts(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ContactList>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let mut p = query::parse(
        pairs,
        "contacts",
        &["channel", "service", "source", "topic"],
    )?;
    let channel = p
        .filters
        .remove("channel")
        .map(|c| {
            c.parse()
                .map_err(|e: String| ApiError::bad_parameter("channel", e))
        })
        .transpose()?;
    let page = state
        .store
        .list_contacts(&ContactQuery {
            since: p.since,
            until: p.until,
            channel,
            service: p.filters.remove("service"),
            source: p.filters.remove("source"),
            topic: p.filters.remove("topic"),
            limit: p.limit,
            after: p.after,
        })
        .await?;
    Ok(Json(ContactList {
        items: page.items.into_iter().map(ContactOut::from).collect(),
        next_cursor: page
            .next_cursor
            .map(|c| query::encode_cursor("contacts", &c)),
    }))
}

/// One contact by its source and the source's id.
#[utoipa::path(get, path = "/api/v1/contacts/{source}/{id}", tag = "contacts",
    params(("source" = String, Path, description = "The source"), ("id" = String, Path, description = "The source's id")),
    responses(
        (status = 200, description = "The contact", body = ContactOut),
        (status = 404, description = "No such contact", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_contact(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ContactOut>, ApiError> {
    let Path((source, id)) =
        path.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let contact = state
        .store
        .get_contact(&source, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no contact {id:?} from source {source:?}")))?;
    let mut out = ContactOut::from(contact);
    for p in state.intake.taxonomy.topic_words(&out.text, &out.topics) {
        out.topic_words.insert(p.topic, p.words);
    }
    Ok(Json(out))
}

/// Corrects the topics found on a contact (security and CX leads). Audited, and kept so that
/// `frontline taxonomy train --feedback` trains the classifier further on it. Detection
/// already run is not replayed: the correction counts from training on.
#[utoipa::path(put, path = "/api/v1/contacts/{source}/{id}/topics", tag = "contacts",
    params(("source" = String, Path, description = "The source"),
           ("id" = String, Path, description = "The source's id")),
    request_body(content = frontline_api::TopicsRequest),
    responses(
        (status = 200, description = "Corrected", body = ContactOut),
        (status = 404, description = "No such contact", body = ErrorBody),
        (status = 422, description = "A topic the taxonomy does not know, or no topics given", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn correct_topics(
    State(state): State<AppState>,
    Extension(principal): Extension<crate::auth::Principal>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ContactOut>, ApiError> {
    let Path((source, id)) =
        path.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let request: frontline_api::TopicsRequest =
        super::intake::json_body(body, state.config.max_body_bytes)?;
    let mut topics = request.topics.ok_or_else(|| {
        ApiError::invalid(frontline_core::field::InvalidField::new(
            "topics",
            "is required (an empty list for none)",
        ))
    })?;
    let known: Vec<&str> = state.intake.taxonomy.topic_names().collect();
    for (i, t) in topics.iter().enumerate() {
        if !known.contains(&t.as_str()) {
            return Err(ApiError::invalid(frontline_core::field::InvalidField::new(
                format!("topics[{i}]"),
                format!("{t:?} is not a topic; known: {}", known.join(", ")),
            )));
        }
    }
    topics.sort();
    topics.dedup();
    let contact = state
        .store
        .correct_topics(&source, &id, &topics, &principal.origin())
        .await?;
    Ok(Json(ContactOut::from(contact)))
}
