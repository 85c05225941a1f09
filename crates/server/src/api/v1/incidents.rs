//! `/api/v1/incidents`: the incident both teams work in. Opening, changing, notes, links, tasks
//! and the timeline. The rules (state changes, what is recorded) are in
//! `frontline_core::incident` and `frontline_store::incidents`; this module checks input,
//! applies the finer role rules inside a route (state and severity need
//! `ChangeIncidentState`; agents may link contacts only) and answers.

use super::intake::{json_body, path_id};
use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use frontline_api::{
    CreateIncident, ErrorBody, FeedEntryOut, IncidentList, IncidentOut, LinksRequest, MergeRequest,
    NoteRequest, PatchIncident, TaskPatch, TaskRequest, Timeline,
};
use frontline_core::InvalidField;
use frontline_core::incident::{self, IncidentChange, IncidentDetail, NewIncident, Signal};
use frontline_core::policy::{Action, allows};
use frontline_store::{IncidentQuery, StoreError};

/// Most signals one request may link.
const MAX_SIGNALS: usize = 1000;

/// The incident routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/incidents",
            post(create_incident).get(list_incidents),
        )
        .route(
            "/api/v1/incidents/{id}",
            get(get_incident).patch(patch_incident),
        )
        .route("/api/v1/incidents/{id}/timeline", get(timeline))
        .route("/api/v1/incidents/{id}/notes", post(add_note))
        .route("/api/v1/incidents/{id}/links", post(link))
        .route("/api/v1/incidents/{id}/unlink", post(unlink))
        .route("/api/v1/incidents/{id}/merge", post(merge))
        .route("/api/v1/incidents/{id}/split", post(split))
        .route("/api/v1/incidents/{id}/tasks", post(add_task))
        .route("/api/v1/incidents/{id}/tasks/{task}", patch(update_task))
}

fn signals(links: &LinksRequest) -> Result<Vec<Signal>, ApiError> {
    let signals = links.signals();
    if signals.len() > MAX_SIGNALS {
        return Err(ApiError::invalid(InvalidField::new(
            "links",
            format!("at most {MAX_SIGNALS} signals per request"),
        )));
    }
    Ok(signals)
}

/// A reference in the body to something that does not exist is the body's fault (422, naming
/// `field`); only the incident in the path answers 404.
pub(crate) fn refs_error(err: StoreError, id: i64, field: &str) -> ApiError {
    match err {
        StoreError::NotFound { what } if what != format!("incident {id}") => {
            ApiError::invalid(InvalidField::new(field, format!("{what} does not exist")))
        }
        other => other.into(),
    }
}

async fn apply(
    state: &AppState,
    principal: &Principal,
    id: i64,
    changes: &[IncidentChange],
    field: &str,
) -> Result<Json<IncidentOut>, ApiError> {
    let detail = state
        .store
        .change_incident(id, changes, &principal.origin())
        .await
        .map_err(|e| refs_error(e, id, field))?;
    state.feed_changed();
    Ok(Json(detail.into()))
}

/// Opens an incident.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents",
    request_body(content = CreateIncident),
    responses(
        (status = 201, description = "Opened", body = IncidentOut),
        (status = 409, description = "A signal is linked to another incident", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_incident(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IncidentOut>), ApiError> {
    let request: CreateIncident = json_body(body, state.config.max_body_bytes)?;
    let new = new_incident(request)?;
    let detail: IncidentDetail = state
        .store
        .open_incident(&new, &principal.origin())
        .await
        .map_err(|e| refs_error(e, -1, "links"))?;
    state.feed_changed();
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// Checks the body of a new incident (opened, or split off).
fn new_incident(request: CreateIncident) -> Result<NewIncident, ApiError> {
    let title = incident::title(
        request
            .title
            .ok_or_else(|| InvalidField::new("title", "is required"))
            .map_err(ApiError::invalid)?,
    )
    .map_err(ApiError::invalid)?;
    let severity = request
        .severity
        .ok_or_else(|| InvalidField::new("severity", "is required"))
        .and_then(|s| {
            s.parse()
                .map_err(|e: String| InvalidField::new("severity", e))
        })
        .map_err(ApiError::invalid)?;
    let services = incident::services(request.services).map_err(ApiError::invalid)?;
    let signals = match &request.links {
        Some(links) => signals(links)?,
        None => Vec::new(),
    };
    Ok(NewIncident {
        title,
        severity,
        services,
        reason: None,
        signals,
        proposed: false,
    })
}

/// Merges another incident into this one: its signals move here, it is resolved as merged.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "incidents",
    params(("id" = i64, Path, description = "The incident that remains")),
    request_body(content = MergeRequest),
    responses(
        (status = 200, description = "The incident with every signal", body = IncidentOut),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "The same incident, or one merged already", body = ErrorBody),
        (status = 422, description = "No `from`, or an unknown one", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn merge(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IncidentOut>, ApiError> {
    let id = path_id(path)?;
    let request: MergeRequest = json_body(body, state.config.max_body_bytes)?;
    let from = request
        .from
        .ok_or_else(|| ApiError::invalid(InvalidField::new("from", "is required")))?;
    let detail = state
        .store
        .merge_incidents(id, from, &principal.origin())
        .await
        .map_err(|e| refs_error(e, id, "from"))?;
    state.feed_changed();
    Ok(Json(detail.into()))
}

/// Splits signals off into a new incident (the body is that of `POST /api/v1/incidents`; its
/// `links` must be linked to this incident).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/split", tag = "incidents",
    params(("id" = i64, Path, description = "The incident to split")),
    request_body(content = CreateIncident),
    responses(
        (status = 201, description = "The new incident", body = IncidentOut),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "A signal not linked to this incident", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn split(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IncidentOut>), ApiError> {
    let id = path_id(path)?;
    let request: CreateIncident = json_body(body, state.config.max_body_bytes)?;
    let new = new_incident(request)?;
    if new.signals.is_empty() {
        return Err(ApiError::invalid(InvalidField::new(
            "links",
            "name the signals to move to the new incident",
        )));
    }
    let detail = state
        .store
        .split_incident(id, &new, &principal.origin())
        .await?;
    state.feed_changed();
    Ok((StatusCode::CREATED, Json(detail.into())))
}

/// Lists incidents in order of `opened_at`.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents",
    params(
        ("state" = Option<String>, Query, description = "investigating, identified, monitoring or resolved"),
        ("open" = Option<bool>, Query, description = "true: only open incidents; false: only resolved"),
        ("since" = Option<String>, Query, description = "opened_at >= since (RFC 3339)"),
        ("until" = Option<String>, Query, description = "opened_at < until (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of incidents", body = IncidentList),
        (status = 400, description = "A bad query parameter, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_incidents(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<IncidentList>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let mut p = query::parse(pairs, "incidents", &["state", "open"])?;
    let incident_state = p
        .filters
        .remove("state")
        .map(|v| {
            v.parse()
                .map_err(|e: String| ApiError::bad_parameter("state", e))
        })
        .transpose()?;
    let open = p
        .filters
        .remove("open")
        .map(|v| match v.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::bad_parameter("open", "must be true or false")),
        })
        .transpose()?;
    let page = state
        .store
        .list_incidents(&IncidentQuery {
            state: incident_state,
            open,
            since: p.since,
            until: p.until,
            limit: p.limit,
            after: p.after,
        })
        .await?;
    Ok(Json(IncidentList {
        items: page.items.into_iter().map(IncidentOut::from).collect(),
        next_cursor: page
            .next_cursor
            .map(|c| query::encode_cursor("incidents", &c)),
    }))
}

/// One incident, with its linked signals.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "The incident id")),
    responses(
        (status = 200, description = "The incident", body = IncidentOut),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_incident(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<IncidentOut>, ApiError> {
    let id = path_id(path)?;
    state
        .store
        .get_incident(id)
        .await?
        .map(|d| Json(d.into()))
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))
}

/// Changes an incident: title, services, seats (`roles`), and, for `security` and `cx_lead`,
/// state and severity. All given fields change together, or none.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = PatchIncident),
    responses(
        (status = 200, description = "The incident as changed", body = IncidentOut),
        (status = 403, description = "State or severity changed without the right", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "An illegal state change", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn patch_incident(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IncidentOut>, ApiError> {
    let id = path_id(path)?;
    let request: PatchIncident = json_body(body, state.config.max_body_bytes)?;
    if (request.state.is_some() || request.severity.is_some())
        && !allows(&principal.roles, Action::ChangeIncidentState)
    {
        return Err(ApiError::forbidden(
            "changing an incident's state or severity needs the security or cx_lead role",
        ));
    }
    let invalid = |field: &str, e: String| ApiError::invalid(InvalidField::new(field, e));
    let title = request
        .title
        .map(incident::title)
        .transpose()
        .map_err(ApiError::invalid)?;
    let severity = request
        .severity
        .map(|s| s.parse().map_err(|e| invalid("severity", e)))
        .transpose()?;
    let new_state = request
        .state
        .map(|s| s.parse().map_err(|e| invalid("state", e)))
        .transpose()?;
    let services = request
        .services
        .map(incident::services)
        .transpose()
        .map_err(ApiError::invalid)?;
    let mut changes = vec![IncidentChange::Update {
        title,
        severity,
        state: new_state,
        services,
    }];
    match request.proposed {
        Some(false) => changes.push(IncidentChange::Accept),
        Some(true) => {
            return Err(invalid(
                "proposed",
                "only false (accepting a proposal) can be set".into(),
            ));
        }
        None => {}
    }
    for (role, user) in request.roles.unwrap_or_default() {
        let field = format!("roles.{role}");
        let role = role.parse().map_err(|e| invalid(&field, e))?;
        let user = frontline_core::field::optional_short_text(user, &field, 100)
            .map_err(ApiError::invalid)?;
        changes.push(IncidentChange::AssignRole { role, user });
    }
    apply(&state, &principal, id, &changes, "roles").await
}

/// An incident's timeline: every change with who and when, and the notes, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    params(
        ("id" = i64, Path, description = "The incident id"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "The timeline", body = Timeline),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn timeline(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Timeline>, ApiError> {
    let id = path_id(path)?;
    let paging = query::paging(query::pairs(query)?, "timeline", &[])?;
    if state.store.get_incident(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no incident {id}")));
    }
    let limit = paging.limit;
    let after = paging.after.unwrap_or(0);
    let mut items = state.store.feed_after(after, Some(id), limit + 1).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok(Json(Timeline {
        next_cursor: items
            .last()
            .filter(|_| more)
            .map(|e| query::position_cursor("timeline", e.seq)),
        items: items.into_iter().map(FeedEntryOut::from).collect(),
    }))
}

/// Adds an internal note (never public) to the timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = NoteRequest),
    responses(
        (status = 201, description = "Noted; the incident", body = IncidentOut),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 422, description = "No body, or longer than 10,000 bytes", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn add_note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IncidentOut>), ApiError> {
    let id = path_id(path)?;
    let request: NoteRequest = json_body(body, state.config.max_body_bytes)?;
    let body = incident::note(
        request
            .body
            .ok_or_else(|| ApiError::invalid(InvalidField::new("body", "is required")))?,
    )
    .map_err(ApiError::invalid)?;
    let out = apply(
        &state,
        &principal,
        id,
        &[IncidentChange::Note { body }],
        "body",
    )
    .await?;
    Ok((StatusCode::CREATED, out))
}

/// Links signals. Agents (`cx_agent`) may link contacts only.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/links", tag = "incidents",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = LinksRequest),
    responses(
        (status = 200, description = "The incident with its links", body = IncidentOut),
        (status = 403, description = "An agent linking something other than contacts", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "A signal is linked to another incident", body = ErrorBody),
        (status = 422, description = "A signal does not exist", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn link(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IncidentOut>, ApiError> {
    let id = path_id(path)?;
    let request: LinksRequest = json_body(body, state.config.max_body_bytes)?;
    let signals = signals(&request)?;
    if signals.iter().any(|s| !matches!(s, Signal::Contact { .. }))
        && !allows(&principal.roles, Action::ManageIncidents)
    {
        return Err(ApiError::forbidden(
            "linking alerts, security events or reports needs the security, cx_lead or comms role",
        ));
    }
    apply(
        &state,
        &principal,
        id,
        &[IncidentChange::Link(signals)],
        "links",
    )
    .await
}

/// Unlinks signals (to move them to another incident, or because they do not belong).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/unlink", tag = "incidents",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = LinksRequest),
    responses(
        (status = 200, description = "The incident with its links", body = IncidentOut),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn unlink(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IncidentOut>, ApiError> {
    let id = path_id(path)?;
    let request: LinksRequest = json_body(body, state.config.max_body_bytes)?;
    let signals = signals(&request)?;
    apply(
        &state,
        &principal,
        id,
        &[IncidentChange::Unlink(signals)],
        "links",
    )
    .await
}

/// Adds a task.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks", tag = "incidents",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = TaskRequest),
    responses(
        (status = 201, description = "Added; the incident", body = IncidentOut),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 422, description = "No title, or an owner who does not exist", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn add_task(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IncidentOut>), ApiError> {
    let id = path_id(path)?;
    let request: TaskRequest = json_body(body, state.config.max_body_bytes)?;
    let title = frontline_core::field::short_text(
        request
            .title
            .ok_or_else(|| ApiError::invalid(InvalidField::new("title", "is required")))?,
        "title",
        incident::MAX_TITLE,
    )
    .map_err(ApiError::invalid)?;
    let owner = frontline_core::field::optional_short_text(request.owner, "owner", 100)
        .map_err(ApiError::invalid)?;
    let out = apply(
        &state,
        &principal,
        id,
        &[IncidentChange::AddTask { title, owner }],
        "owner",
    )
    .await?;
    Ok((StatusCode::CREATED, out))
}

/// Marks a task done (or not) or gives it an owner.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/tasks/{task}", tag = "incidents",
    params(
        ("id" = i64, Path, description = "The incident id"),
        ("task" = u32, Path, description = "The task id"),
    ),
    request_body(content = TaskPatch),
    responses(
        (status = 200, description = "The incident", body = IncidentOut),
        (status = 404, description = "No such incident or task", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn update_task(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<(i64, u32)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IncidentOut>, ApiError> {
    let (id, task) = path
        .map(|Path(p)| p)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let request: TaskPatch = json_body(body, state.config.max_body_bytes)?;
    let owner = frontline_core::field::optional_short_text(request.owner, "owner", 100)
        .map_err(ApiError::invalid)?;
    let change = IncidentChange::UpdateTask {
        id: task,
        done: request.done,
        owner,
    };
    match state
        .store
        .change_incident(id, &[change], &principal.origin())
        .await
    {
        // An unknown task is the path's fault, like an unknown incident.
        Err(StoreError::NotFound { what }) if what.starts_with("task ") => {
            Err(ApiError::not_found(format!("no {what} in incident {id}")))
        }
        Err(e) => Err(refs_error(e, id, "owner")),
        Ok(detail) => {
            state.feed_changed();
            Ok(Json(detail.into()))
        }
    }
}
