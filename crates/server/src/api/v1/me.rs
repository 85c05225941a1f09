//! `/api/v1/me`: who the token belongs to and what roles it carries; the first call an
//! integration makes to check its token.

use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use frontline_api::{ErrorBody, Me, SessionList, SessionOut};
use frontline_core::Role;

/// The route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(get_me))
        .route("/api/v1/sessions", get(list_sessions))
        .route(
            "/api/v1/sessions/{id}",
            axum::routing::delete(revoke_session),
        )
}

/// The caller's user, roles and token id.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_me(Extension(principal): Extension<Principal>) -> Json<Me> {
    Json(Me {
        user: principal.user,
        roles: principal.roles,
        token_id: principal.token_id.0,
        csrf_token: principal.session.map(|s| s.csrf),
    })
}

/// Your signed-in browser sessions (admins: `?all=true` for everyone's).
#[utoipa::path(get, path = "/api/v1/sessions", tag = "auth",
    params(
        ("all" = Option<bool>, Query, description = "Everyone's (admins only)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Sessions, newest first", body = SessionList),
        (status = 403, description = "`all` without being an admin", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SessionList>, ApiError> {
    let paging = query::paging(query::pairs(query)?, "sessions", &["all"])?;
    let all = match paging.filters.get("all").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad_parameter("all", "must be true or false")),
    };
    let admin = principal.roles.contains(&Role::Admin);
    if all && !admin {
        return Err(ApiError::forbidden("only admins list everyone's sessions"));
    }
    let user = (!all).then_some(principal.user.as_str());
    let current = principal.session.as_ref().map(|s| s.id.as_str());
    let items = state
        .store
        .list_sessions(user)
        .await?
        .into_iter()
        .map(|s| SessionOut {
            current: Some(s.id.as_str()) == current,
            id: s.id,
            user: s.user,
            created_at: s.created_at,
            expires_at: s.expires_at,
            client: s.client,
        })
        .collect();
    // Newest first, by position: sessions are few, and have no number of their own.
    let (items, next_cursor) = query::page_by_position(items, &paging, "sessions");
    Ok(Json(SessionList { items, next_cursor }))
}

/// Ends a session: your own, or anyone's for an admin. The next request with it is refused.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "auth",
    params(("id" = String, Path, description = "The session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such session, or not yours", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn revoke_session(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let session = state.store.session(&id).await?;
    // Another person's session is as unknown as a missing one, except to admins.
    let visible = session.is_some_and(|s| {
        s.revoked_at.is_none()
            && (s.user == principal.user || principal.roles.contains(&Role::Admin))
    });
    if !visible {
        return Err(ApiError::not_found(format!("no session {id}")));
    }
    state.store.revoke_session(&id, &principal.origin()).await?;
    Ok(StatusCode::NO_CONTENT)
}
