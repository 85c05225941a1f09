//! `/api/v1/helpdesks`: admins connect Zendesk, Intercom and Freshdesk. Credentials are sealed
//! before they reach the store and never shown again; a new signing secret keeps the old one
//! accepted for a grace period, so a rotation drops no webhook.

use super::intake::json_body;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{Duration, Utc};
use frontline_api::{
    ChangeHelpdesk, CreateHelpdesk, ErrorBody, HelpdeskHealth, HelpdeskList, HelpdeskOut,
};
use frontline_helpdesk::HelpdeskKind;
use frontline_store::helpdesks::{Helpdesk, HelpdeskChange, NewHelpdesk, WriteAction};
use serde_json::Value;

/// How long the previous signing secret is accepted after a rotation: long enough to change
/// the secret at the vendor after changing it here.
pub const ROTATION_GRACE: Duration = Duration::hours(24);

/// The connection routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/helpdesks",
            post(create_helpdesk).get(list_helpdesks),
        )
        .route(
            "/api/v1/helpdesks/{name}",
            get(get_helpdesk)
                .patch(change_helpdesk)
                .delete(delete_helpdesk),
        )
        .route("/api/v1/incidents/{id}/helpdesk", get(incident_ledger))
        .route(
            "/api/v1/incidents/{id}/helpdesk/wrap-up",
            get(wrap_up_preview).post(wrap_up),
        )
        .route("/api/v1/incidents/{id}/helpdesk/abort", post(abort_fan_out))
        .route("/api/v1/helpdesks/{name}/sweep", post(sweep_helpdesk))
}

/// Connects a helpdesk.
#[utoipa::path(post, path = "/api/v1/helpdesks", tag = "helpdesks",
    request_body(content = CreateHelpdesk),
    responses(
        (status = 201, description = "Connected; `intake_path` is where the vendor sends webhooks", body = HelpdeskOut),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_helpdesk(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<HelpdeskOut>), ApiError> {
    let request: CreateHelpdesk = json_body(body, state.config.max_body_bytes)?;
    let name = check_name(request.name.as_deref())?;
    let kind: HelpdeskKind = request
        .kind
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("kind", "required"))?
        .parse()
        .map_err(|e: String| ApiError::invalid_field("kind", e))?;
    let base_url = check_url(request.base_url.as_deref())?;
    let auth = check_auth(kind, request.auth.as_ref())?;
    let (secret, generated) = match (kind, request.signing_secret) {
        (_, Some(s)) if s.trim().len() >= 8 => (s.trim().to_owned(), false),
        (_, Some(_)) => {
            return Err(ApiError::invalid_field(
                "signing_secret",
                "at least 8 characters",
            ));
        }
        (HelpdeskKind::Freshdesk, None) => (random_token(), true),
        (_, None) => {
            return Err(ApiError::invalid_field(
                "signing_secret",
                format!("required: {kind} signs its webhooks with it"),
            ));
        }
    };
    let sealer = state.sealing.sealer().map_err(ApiError::internal)?;
    let new = NewHelpdesk {
        auth_sealed: sealer
            .seal(auth.to_string().as_bytes(), &context(&name, "auth"))
            .map_err(ApiError::internal)?,
        signing_sealed: Some(
            sealer
                .seal(secret.as_bytes(), &context(&name, "signing"))
                .map_err(ApiError::internal)?,
        ),
        name,
        kind: kind.as_str().to_owned(),
        base_url,
    };
    let made = state
        .store
        .create_helpdesk(&new, &principal.origin())
        .await
        .map_err(|e| match e {
            frontline_store::StoreError::Conflict { .. } => {
                ApiError::conflict(format!("a helpdesk connection named {} exists", new.name))
                    .with_field("name")
            }
            other => other.into(),
        })?;
    let mut out = view(&state, made);
    out.token = generated.then_some(secret);
    Ok((StatusCode::CREATED, Json(out)))
}

/// The helpdesk connections, with their health.
#[utoipa::path(get, path = "/api/v1/helpdesks", tag = "helpdesks",
    responses((status = 200, description = "The connections", body = HelpdeskList)),
    security(("bearer" = [])))]
pub async fn list_helpdesks(State(state): State<AppState>) -> Result<Json<HelpdeskList>, ApiError> {
    let items = state.store.list_helpdesks().await?;
    Ok(Json(HelpdeskList {
        items: items.into_iter().map(|h| view(&state, h)).collect(),
        next_cursor: None,
    }))
}

/// One helpdesk connection.
#[utoipa::path(get, path = "/api/v1/helpdesks/{name}", tag = "helpdesks",
    params(("name" = String, Path, description = "The connection's name")),
    responses(
        (status = 200, description = "The connection", body = HelpdeskOut),
        (status = 404, description = "No such connection", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_helpdesk(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<HelpdeskOut>, ApiError> {
    let name = path_name(path)?;
    let found = state
        .store
        .get_helpdesk(&name)
        .await?
        .ok_or_else(|| unknown(&name))?;
    Ok(Json(view(&state, found)))
}

/// Changes a connection: its address, credentials, or signing secret (rotated: the current
/// one stays accepted for 24 hours).
#[utoipa::path(patch, path = "/api/v1/helpdesks/{name}", tag = "helpdesks",
    params(("name" = String, Path, description = "The connection's name")),
    request_body(content = ChangeHelpdesk),
    responses(
        (status = 200, description = "Changed", body = HelpdeskOut),
        (status = 404, description = "No such connection", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn change_helpdesk(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<HelpdeskOut>, ApiError> {
    let name = path_name(path)?;
    let request: ChangeHelpdesk = json_body(body, state.config.max_body_bytes)?;
    let current = state
        .store
        .get_helpdesk(&name)
        .await?
        .ok_or_else(|| unknown(&name))?;
    let kind: HelpdeskKind = current.kind.parse().map_err(ApiError::internal)?;
    let sealer = state.sealing.sealer().map_err(ApiError::internal)?;
    let mut change = HelpdeskChange::default();
    if let Some(url) = request.base_url.as_deref() {
        change.base_url = Some(check_url(Some(url))?);
    }
    if let Some(auth) = request.auth.as_ref() {
        let auth = check_auth(kind, Some(auth))?;
        change.auth_sealed = Some(
            sealer
                .seal(auth.to_string().as_bytes(), &context(&name, "auth"))
                .map_err(ApiError::internal)?,
        );
    }
    if let Some(secret) = request.signing_secret.as_deref() {
        if secret.trim().len() < 8 {
            return Err(ApiError::invalid_field(
                "signing_secret",
                "at least 8 characters",
            ));
        }
        change.rotate_signing = Some((
            sealer
                .seal(secret.trim().as_bytes(), &context(&name, "signing"))
                .map_err(ApiError::internal)?,
            Utc::now() + ROTATION_GRACE,
        ));
    }
    let changed = state
        .store
        .change_helpdesk(&name, &change, &principal.origin())
        .await?;
    Ok(Json(view(&state, changed)))
}

/// Disconnects a helpdesk; its contacts stay.
#[utoipa::path(delete, path = "/api/v1/helpdesks/{name}", tag = "helpdesks",
    params(("name" = String, Path, description = "The connection's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such connection", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete_helpdesk(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let name = path_name(path)?;
    state
        .store
        .delete_helpdesk(&name, &principal.origin())
        .await
        .map_err(|e| match e {
            frontline_store::StoreError::NotFound { .. } => unknown(&name),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// The authenticated context a sealed field of a connection is bound to.
pub(crate) fn context(name: &str, field: &str) -> String {
    format!("helpdesk/{name}/{field}")
}

pub(crate) fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!("no helpdesk connection named {name:?}")).with_field("name")
}

fn path_name(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(n)| n)
        .map_err(|e| ApiError::bad_parameter("name", e.body_text()))
}

fn view(state: &AppState, h: Helpdesk) -> HelpdeskOut {
    let circuit = state.helpdesk_guards.circuit(&h.name);
    HelpdeskOut {
        intake_path: format!("/api/v1/integrations/{}/{}", h.kind, h.name),
        previous_secret_until: h
            .previous_signing
            .as_ref()
            .map(|(_, until)| *until)
            .filter(|until| *until > Utc::now()),
        health: HelpdeskHealth {
            events: h.events,
            last_event_at: h.last_event_at,
            last_error_at: h.last_error.as_ref().map(|(_, at)| *at),
            last_error: h.last_error.map(|(e, _)| e),
            paused_until: circuit.as_ref().map(|c| c.open_until),
            failures_in_a_row: circuit.map_or(0, |c| c.failures),
        },
        name: h.name,
        kind: h.kind,
        base_url: h.base_url,
        created_at: h.created_at,
        created_by: h.created_by,
        token: None,
    }
}

fn check_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid_field("name", "required"))?;
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::invalid_field(
            "name",
            "up to 64 letters, digits, '-' or '_'",
        ));
    }
    Ok(name.to_owned())
}

fn check_url(url: Option<&str>) -> Result<String, ApiError> {
    let url = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid_field("base_url", "required"))?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| ApiError::invalid_field("base_url", "an http or https address"))?;
    if rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .is_empty()
        || url.len() > 2048
    {
        return Err(ApiError::invalid_field(
            "base_url",
            "an http or https address with a host",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The credentials each kind needs, as non-empty strings, nothing else.
fn check_auth(kind: HelpdeskKind, auth: Option<&Value>) -> Result<Value, ApiError> {
    let auth = auth.ok_or_else(|| ApiError::invalid_field("auth", "required"))?;
    let Some(fields) = auth.as_object() else {
        return Err(ApiError::invalid_field("auth", "an object"));
    };
    let (needed, optional): (&[&str], &[&str]) = match kind {
        HelpdeskKind::Zendesk => (&["email", "api_token"], &[]),
        // Intercom replies as an admin: whose id, when the token's owner is not the one.
        HelpdeskKind::Intercom => (&["access_token"], &["admin_id"]),
        HelpdeskKind::Freshdesk => (&["api_key"], &[]),
    };
    for key in fields.keys() {
        if !needed.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            return Err(ApiError::invalid_field(
                &format!("auth.{key}"),
                format!("not used by {kind}; expected {}", needed.join(", ")),
            ));
        }
    }
    for key in needed {
        let ok = fields
            .get(*key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty() && v.len() <= 1024);
        if !ok {
            return Err(ApiError::invalid_field(
                &format!("auth.{key}"),
                "required: a non-empty string",
            ));
        }
    }
    Ok(auth.clone())
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    format!("fdk_{}", hex::encode(bytes))
}

/// An incident's helpdesk write-back ledger: which linked tickets got which version.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/helpdesk", tag = "helpdesks",
    params(("id" = i64, Path, description = "The incident id")),
    responses((status = 200, description = "The ledger", body = frontline_api::HelpdeskLedger)),
    security(("bearer" = [])))]
pub async fn incident_ledger(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<frontline_api::HelpdeskLedger>, ApiError> {
    let id = super::path_id(path)?;
    let writes = state.store.incident_helpdesk_writes(id).await?;
    let mut counts: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        std::collections::BTreeMap::new();
    for w in &writes {
        *counts
            .entry(w.key.connection.clone())
            .or_default()
            .entry(w.status.as_str().to_owned())
            .or_default() += 1;
    }
    Ok(Json(frontline_api::HelpdeskLedger {
        items: writes
            .into_iter()
            .map(|w| frontline_api::HelpdeskWriteOut {
                connection: w.key.connection,
                ticket: w.key.ticket,
                statement_id: (w.key.action != WriteAction::Link).then_some(w.key.statement_id),
                version: w.key.version,
                action: w.key.action.as_str().to_owned(),
                status: w.status.as_str().to_owned(),
                attempts: w.attempts,
                last_error: w.last_error,
                updated_at: w.updated_at,
                sent_at: w.sent_at,
            })
            .collect(),
        counts,
        next_cursor: None,
    }))
}

/// Sweeps a connection's API now for customer messages its webhooks missed.
#[utoipa::path(post, path = "/api/v1/helpdesks/{name}/sweep", tag = "helpdesks",
    params(("name" = String, Path, description = "The connection's name")),
    responses(
        (status = 200, description = "Swept", body = frontline_api::HelpdeskSweepOut),
        (status = 404, description = "No such connection", body = ErrorBody),
        (status = 503, description = "The vendor's API failed; nothing is lost, the next sweep goes on", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn sweep_helpdesk(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<frontline_api::HelpdeskSweepOut>, ApiError> {
    let name = path_name(path)?;
    let connection = state
        .store
        .get_helpdesk(&name)
        .await?
        .ok_or_else(|| unknown(&name))?;
    let done = crate::workers::sweep::sweep(&state, &connection)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(frontline_api::HelpdeskSweepOut {
        tickets: done.tickets,
        stored: done.stored,
        duplicates: done.duplicates,
    }))
}

/// What wrapping up a resolved incident's tickets would do: tickets per connection, the
/// final version's text per language, and why it cannot run yet if it cannot.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/helpdesk/wrap-up", tag = "helpdesks",
    params(("id" = i64, Path, description = "The incident id")),
    responses(
        (status = 200, description = "The preview", body = frontline_api::HelpdeskWrapUp),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn wrap_up_preview(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<frontline_api::HelpdeskWrapUp>, ApiError> {
    let id = super::path_id(path)?;
    Ok(Json(
        crate::workers::helpdesk::wrap_up::preview(&state, id).await?,
    ))
}

/// Solves a resolved incident's linked tickets once each has its final `customers` version
/// (Zendesk: status solved, `frontline-incident-N` swapped for `frontline-resolved-N`;
/// Intercom: conversation closed; Freshdesk: status Resolved). Audited.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/helpdesk/wrap-up", tag = "helpdesks",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = frontline_api::WrapUpRequest),
    responses(
        (status = 202, description = "Planned; the write-back solves each ticket after its last reply", body = frontline_api::HelpdeskWrapUp),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "Not resolved, no final customers version published, or this version's wrap-up was aborted", body = ErrorBody),
        (status = 422, description = "`solve` missing or not true", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn wrap_up(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<frontline_api::HelpdeskWrapUp>), ApiError> {
    let id = super::path_id(path)?;
    let request: frontline_api::WrapUpRequest = json_body(body, state.config.max_body_bytes)?;
    match request.solve {
        Some(true) => {}
        Some(false) => {
            return Err(ApiError::invalid_field(
                "solve",
                "must be true: the preview is GET on this path",
            ));
        }
        None => return Err(ApiError::invalid_field("solve", "required")),
    }
    let out = crate::workers::helpdesk::wrap_up::solve(&state, id, &principal.origin()).await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// Stops an incident's helpdesk fan-out: every reply, note and solve not yet sent is
/// cancelled, and the versions it cancelled reach no ticket linked later. Audited.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/helpdesk/abort", tag = "helpdesks",
    params(("id" = i64, Path, description = "The incident id")),
    responses(
        (status = 200, description = "Stopped", body = frontline_api::HelpdeskAbortOut),
        (status = 404, description = "No such incident", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn abort_fan_out(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<frontline_api::HelpdeskAbortOut>, ApiError> {
    let id = super::path_id(path)?;
    Ok(Json(
        crate::workers::helpdesk::wrap_up::abort(&state, id, &principal.origin()).await?,
    ))
}
