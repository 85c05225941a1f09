//! Signing in and out and choosing a password (`/login`, `/logout`, `/password`). `/login`
//! is public; a failed sign-in counts toward the account's lockout, shared by every node.

use crate::auth::Principal;
use crate::auth::session::{self, Lockout};
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::page;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use frontline_core::audit::{Actor, AuditEntry};
use frontline_store::Origin;
use serde::Deserialize;
use std::net::SocketAddr;

/// `/login`: public.
pub(super) fn public_router() -> Router<AppState> {
    Router::new().route("/login", get(login_form).post(login))
}

/// Signing out and changing one's password.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/logout", post(logout))
        .route("/password", get(password_form).post(change_password))
}

/// Where to go after signing in: a path on this server, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_page(status: StatusCode, next: &str, user: &str, error: Option<&str>) -> Response {
    match page("login.html", minijinja::context! { next, user, error }) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn login_form(
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(query.as_ref().ok().and_then(|q| q.next.as_deref()));
    login_page(StatusCode::OK, &next, "", None)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    https: Option<Extension<crate::plumbing::serve::Https>>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_page(
            StatusCode::BAD_REQUEST,
            "/",
            "",
            Some("Send a name and a password."),
        );
    };
    let next = safe_next(form.next.as_deref());
    let user = form.user.trim().to_owned();
    let (account, client) = (format!("user:{user}"), format!("ip:{}", peer.ip()));
    let store = state.store.as_ref();
    let locked = match Lockout::locked(store, &account).await {
        Ok(None) => Lockout::locked(store, &client).await,
        other => other,
    };
    let locked = match locked {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(wait) = locked {
        let mut r = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &user,
            Some("Too many failed sign-ins: wait a while, then try again."),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(RETRY_AFTER, v);
        }
        return r;
    }
    let login = match state.store.login(&user).await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let password = form.password;
    // Argon2 is deliberately slow: off the async workers.
    let ok = tokio::task::spawn_blocking(move || match login.and_then(|l| l.password_hash) {
        Some(hash) => session::verify_password(&hash, &password),
        None => {
            session::verify_nothing(&password);
            false
        }
    })
    .await
    .unwrap_or(false);
    let origin = Origin {
        actor: Actor::User { name: user.clone() },
        request_id: crate::plumbing::telemetry::current_request_id(),
        client: Some(peer.ip().to_string()),
        fence: None,
    };
    if !ok {
        for key in [&account, &client] {
            if let Err(e) = Lockout::fail(store, key).await {
                return ApiError::from(e).into_response();
            }
        }
        let entry = AuditEntry::new(Actor::System, "session.sign_in_failed", account.clone())
            .with_request_id(origin.request_id.clone())
            .with_client(origin.client.clone());
        if let Err(e) = state.store.audit(&entry).await {
            return ApiError::from(e).into_response();
        }
        // Slows guessing down further, for every wrong answer alike.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            &user,
            Some("Wrong name or password."),
        );
    }
    if let Err(e) = Lockout::clear(store, &account).await {
        return ApiError::from(e).into_response();
    }
    let value = match session::start(&state, &user, origin.client.clone(), &origin).await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cookie(
        &state,
        https.is_some_and(|Extension(h)| h.0),
        &value,
    )) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

async fn logout(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    https: Option<Extension<crate::plumbing::serve::Https>>,
) -> Response {
    if let Some(s) = &principal.session {
        // Ending an already-ended session is not an error for the person signing out.
        match state.store.revoke_session(&s.id, &principal.origin()).await {
            Ok(()) | Err(frontline_store::StoreError::NotFound { .. }) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cleared(
        &state,
        https.is_some_and(|Extension(h)| h.0),
    )) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

fn password_page(status: StatusCode, must_change: bool, error: Option<&str>) -> Response {
    match page(
        "password.html",
        minijinja::context! {
            must_change, error, min => session::MIN_PASSWORD,
        },
    ) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn password_form(Extension(principal): Extension<Principal>) -> Response {
    let must_change = principal.session.as_ref().is_some_and(|s| s.must_change);
    password_page(StatusCode::OK, must_change, None)
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Response {
    let must_change = principal.session.as_ref().is_some_and(|s| s.must_change);
    let Ok(form) = serde_urlencoded::from_bytes::<PasswordForm>(&body) else {
        return password_page(
            StatusCode::BAD_REQUEST,
            must_change,
            Some("Fill in all three fields."),
        );
    };
    if form.new != form.confirm {
        return password_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            must_change,
            Some("The new password and its repetition differ."),
        );
    }
    if let Err(why) = session::acceptable(&form.new) {
        return password_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            must_change,
            Some(&format!("That password is too weak: {why}.")),
        );
    }
    let login = match state.store.login(&principal.user).await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (current, new) = (form.current, form.new);
    let hashed = tokio::task::spawn_blocking(move || {
        let ok = login
            .and_then(|l| l.password_hash)
            .is_some_and(|h| session::verify_password(&h, &current));
        ok.then(|| session::hash_password(&new))
    })
    .await
    .ok()
    .flatten();
    let Some(hash) = hashed else {
        return password_page(
            StatusCode::UNAUTHORIZED,
            must_change,
            Some("The current password is wrong."),
        );
    };
    if let Err(e) = state
        .store
        .set_password(&principal.user, None, &hash, false, &principal.origin())
        .await
    {
        return ApiError::from(e).into_response();
    }
    Redirect::to("/").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(safe_next(Some("/trends?months=3")), "/trends?months=3");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
