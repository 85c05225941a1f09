//! The agent view (`/agent`): what may be said to customers right now, the open incidents, and
//! a form to flag a question the talking points do not answer.

use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::{form, minute, page};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use frontline_core::feed::FeedKind;
use serde::Deserialize;

/// The agent view and its question form.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/agent", get(agent_page))
        .route("/agent/questions", post(agent_question))
}

/// What the agent view follows live: what is said, and which incidents are open.
const AGENT_KINDS: &[FeedKind] = &[
    FeedKind::IncidentOpened,
    FeedKind::IncidentUpdated,
    FeedKind::StatementPublished,
];

#[derive(Debug, Default, Deserialize)]
struct AgentQuery {
    flagged: Option<i64>,
}

async fn agent_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<AgentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let flagged = query.ok().and_then(|Query(q)| q.flagged);
    show_agent(&state, &principal, flagged, None).await
}

/// The agent view: for each open incident, the current talking points and customer statement
/// in read-only boxes to copy from, and a form to flag an unanswered question.
async fn show_agent(
    state: &AppState,
    principal: &Principal,
    flagged: Option<i64>,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    let after = state.store.feed_head().await?;
    let items = crate::api::v1::statements::current_talking_points(state).await?;
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(minute);
    let items: Vec<_> = items
        .iter()
        .map(|t| {
            let words = |w: &Option<frontline_api::PublishedWords>| {
                w.as_ref().map(|w| {
                    minijinja::context! {
                        version => w.version, body => w.body, published_at => when(w.published_at),
                    }
                })
            };
            minijinja::context! {
                incident_id => t.incident_id, title => t.title, severity => t.severity.as_str(),
                state => t.state.as_str(), agents => words(&t.agents),
                customers => words(&t.customers),
            }
        })
        .collect();
    let mut r = page(
        "agent.html",
        minijinja::context! {
            me => crate::web::me(principal), here => "/agent", items, flagged, error,
            ..crate::web::live("/agent", AGENT_KINDS, after, None)
        },
    )?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct QuestionForm {
    incident_id: String,
    question: String,
}

async fn agent_question(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form: QuestionForm = form(&body);
    let Ok(incident) = form.incident_id.parse::<i64>() else {
        return show_agent(&state, &principal, None, Some("Choose an incident.")).await;
    };
    match crate::api::v1::statements::flag_question(&state, &principal, incident, form.question)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/agent?flagged={incident}")).into_response()),
        Err(e) if e.status().is_client_error() => {
            show_agent(&state, &principal, None, Some(&e.message_for_page())).await
        }
        Err(e) => Err(e),
    }
}
