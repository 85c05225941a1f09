//! The admin page (`/admin`: people, roles, API tokens, sessions). Each form is authorised by
//! its own action in [`crate::web::PAGES`]. Secrets (one-time passwords, tokens) are shown once,
//! on the page that answers the form, and never stored in clear.

use super::settings::Said;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::{form, me, minute as time, page};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::Utc;
use frontline_core::Role;
use serde::Deserialize;

/// The admin page and its forms.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin))
        .route("/admin/people", post(add_person))
        .route("/admin/people/remove", post(remove_access))
        .route("/admin/tokens", post(add_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/sessions/{id}/revoke", post(revoke_session))
}

async fn admin(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    show_admin(&state, &principal, Said::default(), None).await
}

/// A secret shown once: what it is for, and the secret.
struct Once {
    what: String,
    secret: String,
}

async fn show_admin(
    state: &AppState,
    principal: &Principal,
    said: Said,
    once: Option<Once>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let people: Vec<_> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| {
            minijinja::context! {
                name => u.name, roles => u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            }
        })
        .collect();
    let tokens: Vec<_> = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .map(|t| {
            let status = if t.revoked_at.is_some() {
                "revoked"
            } else if t.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            };
            minijinja::context! {
                id => t.id.0, user => t.user,
                roles => t.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                created_at => time(t.created_at), expires_at => t.expires_at.map(time), status,
            }
        })
        .collect();
    let sessions: Vec<_> = state
        .store
        .list_sessions(None)
        .await?
        .into_iter()
        .map(|s| {
            minijinja::context! {
                id => s.id, user => s.user, created_at => time(s.created_at),
                expires_at => time(s.expires_at), client => s.client,
                mine => principal.session.as_ref().is_some_and(|m| m.id == s.id),
            }
        })
        .collect();
    // The nodes sharing the database and what each runs, as `GET /api/v1/nodes` says.
    let nodes: Vec<_> = crate::workers::nodes::live_with_leases(state.store.as_ref())
        .await?
        .into_iter()
        .map(|(n, held)| {
            let held: Vec<String> = held
                .iter()
                .map(|l| format!("{} (epoch {})", l.name, l.epoch))
                .collect();
            minijinja::context! {
                this => n.id == state.node, id => n.id, listen => n.listen, version => n.version,
                started_at => time(n.started_at), last_seen => time(n.last_seen), leases => held,
            }
        })
        .collect();
    let r = page(
        "admin.html",
        minijinja::context! {
            me => me(principal), here => "/admin",
            people, tokens, sessions, nodes,
            roles => Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            error => said.error.as_ref().map(|(_, m)| m.clone()),
            notice => said.notice.clone(),
            once => once.map(|o| minijinja::context! { what => o.what, secret => o.secret }),
        },
    )?;
    Ok(said.apply(r))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PersonForm {
    name: String,
    role: String,
}

fn role_field(value: &str) -> Result<Role, ApiError> {
    value
        .parse::<Role>()
        .map_err(|e| ApiError::invalid_field("role", e.to_string()))
}

/// Gives a person a role and a one-time password (creating them): what `frontline user add`
/// does, for admins who are signed in.
async fn add_person(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use crate::auth::session::{hash_password, one_time_password};
    let f: PersonForm = form(&body);
    let checked = frontline_core::field::short_text(f.name, "name", 128)
        .map_err(ApiError::invalid)
        .and_then(|name| role_field(&f.role).map(|role| (name, role)));
    let (name, role) = match checked {
        Ok(v) => v,
        Err(e) => {
            let said = Said::refused(e);
            return show_admin(&state, &principal, said, None).await;
        }
    };
    let password = one_time_password();
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| ApiError::internal(format!("hashing a password: {e}")))?
    };
    state
        .store
        .set_password(&name, Some(role), &hash, true, &principal.origin())
        .await?;
    let once = Once {
        what: format!(
            "{name}'s one-time password ({} role); they choose their own at the first sign-in",
            role.as_str()
        ),
        secret: password,
    };
    show_admin(&state, &principal, Said::default(), Some(once)).await
}

/// Takes a role away (`role` given), or all access (`role` empty: every role, the password,
/// sessions and tokens, for someone who leaves). An admin cannot lock themselves out.
async fn remove_access(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f: PersonForm = form(&body);
    let role = match f.role.trim() {
        "" => Ok(None),
        r => role_field(r).map(Some),
    };
    let result = match role {
        Err(e) => Err(e),
        Ok(role) if f.name == principal.user && role.is_none_or(|r| r == Role::Admin) => Err(
            ApiError::conflict("you cannot take your own admin access away: ask another admin"),
        ),
        Ok(role) => state
            .store
            .remove_access(&f.name, role, &principal.origin())
            .await
            .map(|removed| (role, removed))
            .map_err(ApiError::from),
    };
    let said = Said::from_result(result, |(role, removed)| match role {
        Some(r) => format!("{} no longer has the {} role.", f.name, r.as_str()),
        None => format!(
            "{} has no access any more: {} roles taken away, {} sessions ended, {} tokens revoked.",
            f.name, removed.roles, removed.sessions, removed.tokens
        ),
    });
    show_admin(&state, &principal, said, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    user: String,
    role: String,
    days: String,
}

async fn add_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f: TokenForm = form(&body);
    let days = match f.days.trim() {
        "" => Ok(None),
        d => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .map(|d| Some(Utc::now() + chrono::Duration::days(d)))
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "days",
                    "must be a whole number of days from 1 to 3650, or empty for never",
                )
            }),
    };
    let checked = frontline_core::field::short_text(f.user, "user", 128)
        .map_err(ApiError::invalid)
        .and_then(|user| role_field(&f.role).map(|role| (user, role)))
        .and_then(|(user, role)| days.map(|d| (user, role, d)));
    let (user, role, expires_at) = match checked {
        Ok(v) => v,
        Err(e) => {
            let said = Said::refused(e);
            return show_admin(&state, &principal, said, None).await;
        }
    };
    let (info, token) = crate::auth::token::issue(
        state.store.as_ref(),
        &user,
        role,
        expires_at,
        &principal.origin(),
    )
    .await?;
    let once = Once {
        what: format!(
            "Token {} for {} ({} role): send it as `Authorization: Bearer …`",
            info.id.0,
            info.user,
            role.as_str()
        ),
        secret: token,
    };
    show_admin(&state, &principal, Said::default(), Some(once)).await
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let result = state
        .store
        .revoke_token(
            &frontline_core::ids::TokenId(id.clone()),
            &principal.origin(),
        )
        .await
        .map_err(ApiError::from);
    let said = Said::from_result(result, |t| {
        format!("Token {} of {} revoked.", t.id.0, t.user)
    });
    show_admin(&state, &principal, said, None).await
}

async fn revoke_session(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let result = state
        .store
        .revoke_session(&id, &principal.origin())
        .await
        .map_err(ApiError::from);
    let said = Said::from_result(result, |()| "The session is ended.".to_owned());
    show_admin(&state, &principal, said, None).await
}
