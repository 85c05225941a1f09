//! `/api/v1/me`: who the token belongs to and what roles it carries; the first call an
//! integration makes to check its token.

use crate::auth::Principal;
use crate::state::AppState;
use axum::routing::get;
use axum::{Extension, Json, Router};
use frontline_api::{ErrorBody, Me};

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(get_me))
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
    })
}
