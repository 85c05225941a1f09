//! For every other folder: who is calling and whether they may (it touches only the store and
//! the plumbing's state): bearer tokens ([`token`]) checked on every `/api/v1`
//! route by [`authorize`], which runs after routing and before any extractor reads the body, so
//! an unauthorised caller learns nothing about what the body would have done.

pub mod session;
pub mod token;

use crate::api::v1::action_for;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use frontline_core::Role;
use frontline_core::audit::Actor;
use frontline_core::ids::TokenId;
use frontline_core::policy;
use frontline_store::Origin;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name.
    pub user: String,
    /// The user's roles at the time of the request.
    pub roles: Vec<Role>,
    /// The token presented (`session-ID` for a browser session).
    pub token_id: TokenId,
    /// The browser session, when the request came with a session cookie instead of a token.
    pub session: Option<session::SessionAuth>,
}

impl Principal {
    /// The audit actor for changes this caller makes.
    pub fn actor(&self) -> Actor {
        Actor::User {
            name: self.user.clone(),
        }
    }

    /// The origin of changes made in the current request.
    pub fn origin(&self) -> Origin {
        Origin {
            actor: self.actor(),
            request_id: crate::plumbing::telemetry::current_request_id(),
            client: crate::plumbing::telemetry::current_client(),
            fence: None,
        }
    }
}

/// Middleware for every `/api/v1` route: finds the route's action in the policy table,
/// authenticates the bearer token, checks the roles, and hands the [`Principal`] on.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    // A route without a policy entry is refused, never served unchecked.
    let Some(action) = action_for(req.method(), &path) else {
        return ApiError::method_not_allowed().into_response();
    };
    // The client's bucket first, so guessing tokens costs the guesser too.
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(refused) = state.limits.check_client(peer.ip())
    {
        return refused;
    }
    let page = crate::web::PAGES
        .iter()
        .any(|r| r.method == req.method() && r.path == path);
    // A bearer token when one is presented; otherwise the session cookie. Only a browser (no
    // token) is sent to the sign-in page; a program gets its 401.
    let bearer = req.headers().contains_key(AUTHORIZATION);
    let browser_page = page && !bearer && req.method() == axum::http::Method::GET;
    let found = if bearer {
        authenticate(&state, req.headers()).await.map(Some)
    } else {
        session::authenticate(&state, req.headers()).await
    };
    let principal = match found {
        Ok(Some(p)) => p,
        Ok(None) if browser_page => return to_login(req.uri()),
        Ok(None) => {
            return ApiError::unauthorized("missing Authorization: Bearer <token> header")
                .into_response();
        }
        Err(_) if browser_page => return to_login(req.uri()),
        Err(e) => return e.into_response(),
    };
    if let Some(s) = &principal.session {
        if !session::csrf_ok(req.method(), req.headers(), s) {
            return ApiError::forbidden(
                "a change made with a session cookie needs the X-CSRF-Token header or to come from this server's pages",
            )
            .with_code("csrf")
            .into_response();
        }
        if s.must_change && path != "/password" && path != "/logout" {
            if page && req.method() == axum::http::Method::GET {
                return axum::response::Redirect::to("/password").into_response();
            }
            return ApiError::forbidden("change your one-time password first (/password)")
                .into_response();
        }
    }
    if let Err(refused) = state.limits.check_token(&principal.token_id.0) {
        return refused;
    }
    if !policy::allows(&principal.roles, action) {
        tracing::info!(user = %principal.user, ?action, "forbidden");
        return ApiError::forbidden(format!(
            "your roles ({}) do not allow this; it needs one of: admin, {}",
            join(&principal.roles),
            join(action.roles())
        ))
        .into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// `303` to the sign-in page, coming back here afterwards.
fn to_login(uri: &axum::http::Uri) -> Response {
    let next = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let next: String = url_escape(next);
    axum::response::Redirect::to(&format!("/login?next={next}")).into_response()
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn join(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "none".into();
    }
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the request's `Authorization: Bearer …` header against the stored tokens.
///
/// # Errors
/// 401 for a missing, malformed, unknown, wrong, revoked or expired token; 503 when the store
/// cannot be reached.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let header = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
    let presented = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    let invalid = || ApiError::unauthorized("invalid token");
    let (id, secret) = token::parse(presented).ok_or_else(invalid)?;
    let digest = token::digest(secret);
    // An unknown id answers like a wrong secret. (Whether an id exists is not a secret worth
    // hiding: ids are random and useless without the secret, which is compared in constant
    // time below.)
    let Some(creds) = state.store.token_credentials(&id).await? else {
        return Err(invalid());
    };
    if !bool::from(digest.as_slice().ct_eq(creds.digest.as_slice())) {
        return Err(invalid());
    }
    if creds.revoked_at.is_some() {
        return Err(ApiError::unauthorized("this token has been revoked"));
    }
    if creds.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::unauthorized("this token has expired"));
    }
    Ok(Principal {
        user: creds.user,
        roles: creds.roles,
        token_id: creds.id,
        session: None,
    })
}
