//! The post-incident review (`/incidents/{id}/review`): what both teams learn from one incident,
//! its figures, timeline and charts, with the form that saves the written sections.

use super::{me, page};
use crate::auth::Principal;
use crate::insights::{self, human_duration};
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::Extension;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use frontline_core::policy::Action;
use serde::Serialize;

/// The review page and its form.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/incidents/{id}/review", get(review).post(save_review))
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
