//! The pages people work in, one file per page: signing in, the dashboard, an alert, the agent
//! view, an incident's war room, the review, the trends, settings and admin. This file holds what
//! they share: one layout, [`PAGES`] authorising each like the API, the bar of links a reader may
//! follow, what a live page needs. Every page sends a strict Content-Security-Policy: only the
//! one stylesheet and the one script (`templates/live.js`: live updates, countdowns, copy
//! buttons), each allowed by its hash. Pages may touch the store, the plumbing, `auth` and
//! `insights`, and reuse the JSON API's route rules and its operations that both offer (talking
//! points, questions, webhooks) so a page and the API cannot disagree; never its handlers.

use crate::api::v1::{RouteRule, rule};
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Router;
use axum::http::HeaderValue;
use axum::http::Method;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use frontline_core::feed::FeedKind;
use frontline_core::policy::Action;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

mod admin;
mod agent;
mod alert;
pub mod charts;
mod dashboard;
mod login;
mod review;
mod settings;
mod trends;
pub mod volume;
mod war_room;
mod war_room_helpdesk;

/// Every page, with the action it needs.
pub const PAGES: &[RouteRule] = &[
    rule(Method::GET, "/incidents/{id}/review", Action::ReadIncidents),
    rule(
        Method::POST,
        "/incidents/{id}/review",
        Action::ManageIncidents,
    ),
    rule(Method::GET, "/trends", Action::ReadIncidents),
    rule(Method::GET, "/", Action::ReadSelf),
    rule(Method::GET, "/alerts/{id}", Action::ReadAlerts),
    rule(Method::GET, "/agent", Action::ReadStatements),
    rule(Method::GET, "/incidents/{id}", Action::ReadIncidents),
    rule(
        Method::POST,
        "/incidents/{id}/note",
        Action::AddIncidentNotes,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/state",
        Action::ChangeIncidentState,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/statements",
        Action::DraftStatements,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/seats",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/tasks",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/tasks/{task}",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/helpdesk/wrap-up",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/incidents/{id}/helpdesk/abort",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/statements/{id}/edit",
        Action::DraftStatements,
    ),
    rule(
        Method::POST,
        "/statements/{id}/approve",
        Action::ApproveStatements,
    ),
    rule(
        Method::POST,
        "/statements/{id}/publish",
        Action::PublishStatements,
    ),
    rule(Method::POST, "/agent/questions", Action::AddIncidentNotes),
    rule(Method::POST, "/alerts/{id}/ack", Action::TriageAlerts),
    rule(Method::POST, "/alerts/{id}/dismiss", Action::TriageAlerts),
    rule(
        Method::POST,
        "/alerts/{id}/incident",
        Action::ManageIncidents,
    ),
    rule(Method::POST, "/alerts/{id}/link", Action::ManageIncidents),
    rule(Method::GET, "/settings", Action::ReadStatements),
    rule(
        Method::POST,
        "/settings/components",
        Action::ManageComponents,
    ),
    rule(Method::POST, "/settings/webhooks", Action::ManageWebhooks),
    rule(
        Method::POST,
        "/settings/webhooks/{id}/delete",
        Action::ManageWebhooks,
    ),
    rule(Method::GET, "/admin", Action::ManagePeople),
    rule(Method::POST, "/admin/people", Action::ManagePeople),
    rule(Method::POST, "/admin/people/remove", Action::ManagePeople),
    rule(Method::POST, "/admin/tokens", Action::ManagePeople),
    rule(
        Method::POST,
        "/admin/tokens/{id}/revoke",
        Action::ManagePeople,
    ),
    rule(
        Method::POST,
        "/admin/sessions/{id}/revoke",
        Action::ManagePeople,
    ),
    rule(Method::POST, "/logout", Action::ReadSelf),
    rule(Method::GET, "/password", Action::ReadSelf),
    rule(Method::POST, "/password", Action::ReadSelf),
];

/// The pages' one stylesheet.
pub(crate) const CSS: &str = include_str!("../../templates/base.css");
/// The pages' one script (live updates, countdowns, copy buttons).
pub(crate) const JS: &str = include_str!("../../templates/live.js");

pub(crate) fn sha256_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The policy: the stylesheet and the script, each allowed by its hash; data-URI images; the
/// script may only talk to this server (the live stream and the page it refreshes).
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src {}; script-src {}; connect-src 'self'; img-src data:; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        sha256_source(CSS),
        sha256_source(JS),
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    env.add_global("css", CSS);
    env.add_global("js", JS);
    // A template that does not parse is a bug caught by every test that renders the page.
    for (name, text) in [
        ("layout.html", include_str!("../../templates/layout.html")),
        ("review.html", include_str!("../../templates/review.html")),
        ("trends.html", include_str!("../../templates/trends.html")),
        ("login.html", include_str!("../../templates/login.html")),
        (
            "password.html",
            include_str!("../../templates/password.html"),
        ),
        (
            "dashboard.html",
            include_str!("../../templates/dashboard.html"),
        ),
        ("alert.html", include_str!("../../templates/alert.html")),
        ("agent.html", include_str!("../../templates/agent.html")),
        ("warroom.html", include_str!("../../templates/warroom.html")),
        (
            "settings.html",
            include_str!("../../templates/settings.html"),
        ),
        ("admin.html", include_str!("../../templates/admin.html")),
    ] {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("the {name} template is broken: {e}"));
    }
    env
});

/// The links in the bar of every signed-in page, each shown to those who may open it.
const NAV: &[(&str, &str, Action)] = &[
    ("/", "Dashboard", Action::ReadSelf),
    ("/agent", "Agent view", Action::ReadStatements),
    ("/trends", "Trends", Action::ReadIncidents),
    ("/settings", "Settings", Action::ReadStatements),
    ("/admin", "Admin", Action::ManagePeople),
    ("/status", "Status page", Action::ReadSelf),
];

/// What every signed-in page shows of its reader: the name, the roles, the links they may
/// follow.
pub(crate) fn me(principal: &Principal) -> minijinja::Value {
    let nav: Vec<_> = NAV
        .iter()
        .filter(|(_, _, action)| frontline_core::policy::allows(&principal.roles, *action))
        .map(|(href, label, _)| minijinja::context! { href, label })
        .collect();
    let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
    minijinja::context! { user => principal.user, roles, nav }
}

/// What a live page needs: its own address (a page shown in answer to a form has the form's
/// address in the browser), the kinds of change it follows, and the feed position its data
/// was read at (read it before the data, so nothing between the two is missed).
pub(crate) fn live(
    url: &str,
    kinds: &[FeedKind],
    after: i64,
    incident: Option<i64>,
) -> minijinja::Value {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    minijinja::context! {
        live => kinds.join(","), live_after => after, live_incident => incident, live_url => url,
    }
}

/// The pages anyone may open: `/login`.
pub fn public_router() -> Router<AppState> {
    login::public_router()
}

/// The routes (behind [`crate::auth::authorize`], added by the caller).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(dashboard::router())
        .merge(alert::router())
        .merge(agent::router())
        .merge(war_room::router())
        .merge(review::router())
        .merge(trends::router())
        .merge(settings::router())
        .merge(admin::router())
}

/// A page form's fields; a form that does not parse is taken as empty, and each field is then
/// named in the error it gets.
pub(crate) fn form<T: for<'de> serde::Deserialize<'de> + Default>(body: &[u8]) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub(crate) fn page(name: &str, context: minijinja::Value) -> Result<Response, ApiError> {
    let html = TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| ApiError::internal(format!("rendering {name}: {e}")))?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CONTENT_SECURITY_POLICY, CSP.clone()),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        html,
    )
        .into_response())
}

/// A moment as the working pages show it, to the minute.
pub(crate) fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
