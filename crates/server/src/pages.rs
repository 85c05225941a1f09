//! Server-rendered pages for people: what they share (one layout, [`PAGES`] authorising each
//! like the API, the bar of links a reader may follow, what a live page needs) and two of them,
//! the post-incident review (`/incidents/{id}/review`) and the trends (`/trends`). Every page
//! sends a strict Content-Security-Policy: only the one stylesheet and the one script
//! (`templates/live.js`: live updates, countdowns, copy buttons), each allowed by its hash.

use crate::api::v1::{RouteRule, rule};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::insights::{self, human_duration};
use crate::state::AppState;
use axum::Extension;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::Method;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use chrono::{DateTime, Utc};
use frontline_core::feed::FeedKind;
use frontline_core::policy::Action;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

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
pub(crate) const CSS: &str = include_str!("../templates/base.css");
/// The pages' one script (live updates, countdowns, copy buttons).
pub(crate) const JS: &str = include_str!("../templates/live.js");

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
        ("layout.html", include_str!("../templates/layout.html")),
        ("review.html", include_str!("../templates/review.html")),
        ("trends.html", include_str!("../templates/trends.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("password.html", include_str!("../templates/password.html")),
        (
            "dashboard.html",
            include_str!("../templates/dashboard.html"),
        ),
        ("alert.html", include_str!("../templates/alert.html")),
        ("agent.html", include_str!("../templates/agent.html")),
        ("warroom.html", include_str!("../templates/warroom.html")),
        ("settings.html", include_str!("../templates/settings.html")),
        ("admin.html", include_str!("../templates/admin.html")),
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

/// The routes (behind [`crate::auth::authorize`], added by the caller).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/review", get(review).post(save_review))
        .route("/trends", get(trends))
        .merge(crate::web::router())
        .merge(crate::settings::router())
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

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "—".into(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn duration(s: Option<i64>) -> String {
    s.map_or_else(|| "—".into(), human_duration)
}

#[derive(Serialize)]
struct DeflectionRow {
    published_at: String,
    statement_id: i64,
    version: u32,
    before: u64,
    after: u64,
    complete: bool,
    ratio: String,
}

async fn review(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = crate::api::v1::path_id(path)?;
    review_page(&state, &principal, id, None, None).await
}

/// The review form as posted: the summary and one textarea per section.
#[derive(Debug, serde::Deserialize)]
struct ReviewForm {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    went_well: String,
    #[serde(default)]
    went_wrong: String,
    #[serde(default)]
    actions: String,
}

async fn save_review(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::review::{ReviewSections, parse_lines};
    let id = crate::api::v1::path_id(path)?;
    let form: ReviewForm = serde_urlencoded::from_bytes(&body).map_err(|e| {
        ApiError::bad_request("malformed_form", format!("the form is unreadable: {e}"))
    })?;
    let parsed = (|| {
        let sections = ReviewSections {
            summary: form.summary.clone(),
            went_well: parse_lines("went_well", &form.went_well)?,
            went_wrong: parse_lines("went_wrong", &form.went_wrong)?,
            actions: parse_lines("actions", &form.actions)?,
        };
        sections.check()
    })();
    let sections = match parsed {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("{}: {}", e.field, e.reason);
            return review_page(&state, &principal, id, Some(&msg), Some(&form)).await;
        }
    };
    let users: std::collections::BTreeSet<String> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| u.name)
        .collect();
    if let Some((field, owner)) = sections
        .owners()
        .into_iter()
        .find(|(_, o)| !users.contains(*o))
    {
        let msg = format!("{field}: no user named {owner:?}");
        return review_page(&state, &principal, id, Some(&msg), Some(&form)).await;
    }
    state
        .store
        .save_review(id, &sections, &principal.origin())
        .await?;
    Ok(axum::response::Redirect::to(&format!("/incidents/{id}/review")).into_response())
}

async fn review_page(
    state: &AppState,
    principal: &Principal,
    id: i64,
    error: Option<&str>,
    posted: Option<&ReviewForm>,
) -> Result<Response, ApiError> {
    use frontline_core::review::format_lines;
    let doc = insights::review(state, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    let m = &doc.metrics;
    let milestones = [
        ("First customer signal", time(m.first_customer_signal_at)),
        ("First security event", time(m.first_security_event_at)),
        ("First alert", time(m.first_alert_at)),
        ("Incident opened", time(Some(m.opened_at))),
        ("First acknowledgement by security", time(m.first_ack_at)),
        ("First public statement", time(m.first_public_statement_at)),
        ("Resolved", time(m.resolved_at)),
    ];
    let durations = [
        (
            "Time to detect (from the first customer signal)",
            duration(m.time_to_detect_seconds),
        ),
        (
            "Time to acknowledge",
            duration(m.time_to_acknowledge_seconds),
        ),
        (
            "Time to first public statement",
            duration(m.time_to_first_public_statement_seconds),
        ),
        ("Time to resolve", duration(m.time_to_resolve_seconds)),
        (
            "Customers affected before the first contact",
            duration(m.customers_affected_before_first_contact_seconds),
        ),
    ];
    let list = |map: &std::collections::BTreeMap<String, u64>| {
        map.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let deflection: Vec<DeflectionRow> = m
        .impact
        .deflection
        .iter()
        .map(|d| DeflectionRow {
            published_at: time(Some(d.published_at)),
            statement_id: d.statement_id,
            version: d.version,
            before: d.before,
            after: d.after,
            complete: d.complete,
            ratio: d.ratio.map_or_else(|| "—".into(), |r| format!("{r:.2}")),
        })
        .collect();
    let r = &doc.review.sections;
    let can_edit = frontline_core::policy::allows(&principal.roles, Action::ManageIncidents);
    let edit = match posted {
        Some(f) => minijinja::context! {
            summary => f.summary, went_well => f.went_well, went_wrong => f.went_wrong,
            actions => f.actions,
        },
        None => minijinja::context! {
            summary => r.summary, went_well => format_lines(&r.went_well),
            went_wrong => format_lines(&r.went_wrong), actions => format_lines(&r.actions),
        },
    };
    let sections = [
        ("went-well", "What went well", &r.went_well),
        ("went-wrong", "What went wrong", &r.went_wrong),
        ("actions", "Actions", &r.actions),
    ];
    let mut response = page(
        "review.html",
        minijinja::context! {
            me => me(principal),
            can_edit,
            edit,
            error,
            milestones,
            durations,
            topics => list(&m.impact.by_topic),
            channels => list(&m.impact.by_channel),
            deflection,
            sections,
            doc,
        },
    )?;
    if error.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(Serialize)]
struct MonthRow {
    month: String,
    incidents: usize,
    severity: String,
    detect: String,
    ack: String,
    public: String,
    resolve: String,
}

fn spread(s: &insights::Spread) -> String {
    match (s.median, s.p90) {
        (Some(m), Some(p)) => format!(
            "{} / {} (n={})",
            human_duration(m.round() as i64),
            human_duration(p.round() as i64),
            s.n
        ),
        _ => "—".into(),
    }
}

async fn trends(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let months = crate::api::v1::insights::months(query)?;
    let t = insights::trends(&state, months, Utc::now()).await?;
    let charts = insights::trend_charts(&t);
    let rows: Vec<MonthRow> = t
        .months
        .iter()
        .map(|m| MonthRow {
            month: m.month.clone(),
            incidents: m.incidents,
            severity: m
                .by_severity
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            detect: spread(&m.time_to_detect),
            ack: spread(&m.time_to_acknowledge),
            public: spread(&m.time_to_first_public_statement),
            resolve: spread(&m.time_to_resolve),
        })
        .collect();
    page(
        "trends.html",
        minijinja::context! { me => me(&principal), here => "/trends", months, charts, rows, t },
    )
}
