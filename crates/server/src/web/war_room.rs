//! An incident's war room (`/incidents/{id}`): both teams' seats, the timeline, tasks, and the
//! statements with their drafts, approvals and word-level changes, with the forms that act on
//! them.

use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::{form, minute, page};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::Utc;
use frontline_core::feed::FeedKind;
use frontline_core::incident::IncidentRole;
use serde::Deserialize;

/// An incident's war room and its forms, and the statement forms it shows.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}", get(war_room))
        .route("/incidents/{id}/note", post(war_room_note))
        .route("/incidents/{id}/state", post(war_room_state))
        .route("/incidents/{id}/statements", post(war_room_draft))
        .route("/incidents/{id}/seats", post(war_room_seat))
        .route("/incidents/{id}/tasks", post(war_room_task))
        .route("/incidents/{id}/tasks/{task}", post(war_room_task_done))
        .route("/statements/{id}/edit", post(edit_on_page))
        .route("/statements/{id}/approve", post(approve_on_page))
        .route("/statements/{id}/publish", post(publish_on_page))
        .merge(super::war_room_helpdesk::router())
}

async fn war_room(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    show_war_room(&state, &principal, id, None).await
}

/// The seats of an incident, in the order the war room shows them.
const SEATS: [IncidentRole; 4] = [
    IncidentRole::Commander,
    IncidentRole::SecurityLead,
    IncidentRole::CxLead,
    IncidentRole::CommsLead,
];

/// The words that changed from `old` to `new`: `(op, text)` with `op` one of `same`, `added`,
/// `removed`, neighbours of one kind joined.
fn word_diff(old: &str, new: &str) -> Vec<(&'static str, String)> {
    use similar::{ChangeTag, TextDiff};
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for change in TextDiff::from_words(old, new).iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => "same",
            ChangeTag::Insert => "added",
            ChangeTag::Delete => "removed",
        };
        match out.last_mut() {
            Some((last, text)) if *last == op => text.push_str(change.value()),
            _ => out.push((op, change.value().to_owned())),
        }
    }
    out
}

/// The incident's war room: state, severity and seats; a countdown to the next public update;
/// the statements with their versions, changes, approvals (who and when), and buttons to
/// approve, publish and edit; tasks; the timeline and a note; the linked signals with a chart
/// of related contacts; the helpdesk write-back's counts per connection. Everything but the
/// forms follows the feed live.
async fn show_war_room(
    state: &AppState,
    principal: &Principal,
    id: i64,
    error: Option<(StatusCode, String)>,
) -> Result<Response, ApiError> {
    use frontline_core::incident::Signal;
    use frontline_core::policy::{Action, allows};
    use frontline_core::statement::Audience;
    use frontline_store::metrics::{Depth, gather};
    let now = Utc::now();
    let after = state.store.feed_head().await?;
    let facts = gather(state.store.as_ref(), id, now, Depth::Impact)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    let metrics = frontline_core::metrics::compute(&facts);
    let chart =
        (!metrics.impact.series.is_empty()).then(|| crate::insights::contacts_chart(&metrics));
    let i = &facts.incident;
    let statements = state.store.list_statements(id).await?;
    let last_public = statements
        .iter()
        .filter(|s| s.audience == Audience::Public)
        .filter_map(frontline_core::statement::Statement::published_at)
        .max();
    let due = (i.state.is_open())
        .then(|| state.config.cadence.interval(i.severity))
        .flatten()
        .map(|every| last_public.unwrap_or(i.opened_at) + every);
    let can_manage = allows(&principal.roles, Action::ManageIncidents);
    let users: Vec<String> = if can_manage {
        state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect()
    } else {
        Vec::new()
    };
    let statements: Vec<_> = statements
        .iter()
        .map(|s| {
            let v = s.latest();
            let previous = s.versions.iter().rev().nth(1);
            let diff = previous.map(|p| {
                word_diff(&p.body, &v.body)
                    .into_iter()
                    .map(|(op, text)| minijinja::context! { op, text })
                    .collect::<Vec<_>>()
            });
            minijinja::context! {
                id => s.id, audience => s.audience.as_str(), version => v.number,
                published => s.published, latest_published => s.published == Some(v.number),
                title => v.title, body => v.body, author => v.author, r#final => v.r#final,
                written_at => minute(v.created_at),
                previous => previous.map(|p| p.number),
                title_changed => previous.is_some_and(|p| p.title != v.title),
                previous_title => previous.and_then(|p| p.title.clone()),
                diff,
                translations => v.translations.keys().collect::<Vec<_>>(),
                approvals => v.approvals.iter().map(|a| minijinja::context! {
                    user => a.user, role => a.role.as_str(),
                    at => minute(a.at),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let timeline: Vec<_> = facts
        .timeline
        .iter()
        .rev()
        .map(|e| {
            minijinja::context! {
                at => e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                actor => e.actor, what => crate::insights::describe(e),
            }
        })
        .collect();
    let links: Vec<_> = facts
        .links
        .iter()
        .map(|l| match &l.signal {
            Signal::Alert { id } => {
                minijinja::context! { alert => id, label => l.signal.to_string() }
            }
            other => minijinja::context! { label => other.to_string() },
        })
        .collect();
    let seats: Vec<_> = SEATS
        .iter()
        .map(|seat| {
            minijinja::context! {
                seat => seat.as_str(), label => seat.as_str().replace('_', " "),
                holder => i.roles.get(seat),
            }
        })
        .collect();
    let tasks: Vec<_> = i
        .tasks
        .iter()
        .map(|t| minijinja::context! { id => t.id, title => t.title, owner => t.owner, done => t.done })
        .collect();
    let (helpdesk, wrap_up) = super::war_room_helpdesk::panel(state, id).await?;
    let mut r = page(
        "warroom.html",
        minijinja::context! {
            me => crate::web::me(principal),
            i => minijinja::context! {
                id => i.id, title => i.title, severity => i.severity.as_str(),
                state => i.state.as_str(), services => i.services,
                opened_at => minute(i.opened_at),
            },
            seats, tasks, users, statements, timeline, links, chart, helpdesk, wrap_up,
            related => metrics.impact.contacts,
            due => due.map(minute),
            due_iso => due.map(|t| t.to_rfc3339()),
            overdue => due.is_some_and(|t| t < now),
            error => error.as_ref().map(|(_, m)| m.clone()),
            can_state => allows(&principal.roles, Action::ChangeIncidentState),
            can_draft => allows(&principal.roles, Action::DraftStatements),
            can_note => allows(&principal.roles, Action::AddIncidentNotes),
            can_manage,
            ..crate::web::live(&format!("/incidents/{id}"), &FeedKind::ALL, after, Some(id))
        },
    )?;
    if let Some((status, _)) = error {
        *r.status_mut() = status;
    }
    Ok(r)
}

/// After a change from the war room: back to it, or the page again saying what was refused.
pub(super) async fn war_room_after<T>(
    state: &AppState,
    principal: &Principal,
    id: i64,
    result: Result<T, ApiError>,
) -> Result<Response, ApiError> {
    match result {
        Ok(_) => {
            state.feed_changed();
            Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
        }
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let status = e.status();
            show_war_room(state, principal, id, Some((status, e.message_for_page()))).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoteForm {
    body: String,
}

async fn war_room_note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: NoteForm = form(&body);
    let change = frontline_core::incident::note(form.body)
        .map(|body| IncidentChange::Note { body })
        .map_err(ApiError::invalid);
    war_room_change(&state, &principal, id, change, "body").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StateForm {
    state: String,
    severity: String,
}

async fn war_room_state(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: StateForm = form(&body);
    let change = form
        .state
        .parse()
        .map_err(|e: String| ApiError::invalid_field("state", e))
        .and_then(|s| {
            form.severity
                .parse()
                .map(|v| (s, v))
                .map_err(|e: String| ApiError::invalid_field("severity", e))
        })
        .map(|(new_state, severity)| IncidentChange::Update {
            title: None,
            severity: Some(severity),
            state: Some(new_state),
            services: None,
        });
    war_room_change(&state, &principal, id, change, "state").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DraftForm {
    audience: String,
    title: String,
    body: String,
    r#final: Option<String>,
}

async fn war_room_draft(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::statement::{Audience, draft};
    let form: DraftForm = form(&body);
    let title = Some(form.title).filter(|t| !t.trim().is_empty());
    let audience: Result<Audience, ApiError> = form
        .audience
        .parse()
        .map_err(|e: String| ApiError::invalid_field("audience", e));
    let result = match audience.and_then(|a| {
        draft(
            title,
            Some(form.body),
            Default::default(),
            form.r#final.is_some(),
        )
        .map(|d| (a, d))
        .map_err(ApiError::invalid)
    }) {
        Ok((audience, d)) => state
            .store
            .create_statement(id, audience, d, &principal.user, &principal.origin())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    war_room_after(&state, &principal, id, result).await
}

/// Applies one change from a war-room form, or shows the page with the error; a person or
/// task that does not exist is named as `field`'s error.
async fn war_room_change(
    state: &AppState,
    principal: &Principal,
    id: i64,
    change: Result<frontline_core::incident::IncidentChange, ApiError>,
    field: &str,
) -> Result<Response, ApiError> {
    let result = match change {
        Ok(c) => state
            .store
            .change_incident(id, &[c], &principal.origin())
            .await
            .map_err(|e| crate::api::v1::incidents::refs_error(e, id, field)),
        Err(e) => Err(e),
    };
    war_room_after(state, principal, id, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SeatForm {
    seat: String,
    user: String,
}

/// Gives a seat to a person, or frees it (an empty user).
async fn war_room_seat(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: SeatForm = form(&body);
    let change = form
        .seat
        .parse::<IncidentRole>()
        .map_err(|e| ApiError::invalid_field("seat", e))
        .map(|role| IncidentChange::AssignRole {
            role,
            user: Some(form.user.trim().to_owned()).filter(|u| !u.is_empty()),
        });
    war_room_change(&state, &principal, id, change, "user").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TaskForm {
    title: String,
    owner: String,
}

async fn war_room_task(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: TaskForm = form(&body);
    let change =
        frontline_core::field::short_text(form.title, "title", frontline_core::incident::MAX_TITLE)
            .map_err(ApiError::invalid)
            .map(|title| IncidentChange::AddTask {
                title,
                owner: Some(form.owner.trim().to_owned()).filter(|u| !u.is_empty()),
            });
    war_room_change(&state, &principal, id, change, "owner").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TaskDoneForm {
    done: String,
}

async fn war_room_task_done(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path((id, task)): axum::extract::Path<(i64, u32)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: TaskDoneForm = form(&body);
    let done = match form.done.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::invalid_field("done", "must be true or false")),
    };
    let change = done.map(|done| IncidentChange::UpdateTask {
        id: task,
        done: Some(done),
        owner: None,
    });
    war_room_change(&state, &principal, id, change, "task").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EditForm {
    title: String,
    body: String,
}

/// A new version of a statement from the war room. Its translations are kept only when the
/// text did not change: a translation of the old text must not go out with the new one.
async fn edit_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(sid): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let statement = state
        .store
        .get_statement(sid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no statement {sid}")))?;
    let form: EditForm = form(&body);
    let latest = statement.latest();
    let translations = if form.body == latest.body {
        latest.translations.clone()
    } else {
        Default::default()
    };
    let title = Some(form.title).filter(|t| !t.trim().is_empty());
    let result = match frontline_core::statement::draft(
        title,
        Some(form.body),
        translations,
        latest.r#final,
    ) {
        Ok(d) => state
            .store
            .edit_statement(sid, d, &principal.user, &principal.origin())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::invalid(e)),
    };
    war_room_after(&state, &principal, statement.incident_id, result).await
}

async fn statement_act(
    state: &AppState,
    principal: &Principal,
    sid: i64,
    publish: bool,
) -> Result<Response, ApiError> {
    let statement = state
        .store
        .get_statement(sid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no statement {sid}")))?;
    let (user, roles, origin) = (&principal.user, &principal.roles, principal.origin());
    let result = if publish {
        // Contact data bound for customers' tickets is refused here as in the API; the page
        // has no confirmation yet (the API's `confirm_contact_data` is the way round).
        if let Err(refused) =
            crate::api::v1::statements::contact_data_check(state, sid, false).await
        {
            return war_room_after::<()>(state, principal, statement.incident_id, Err(refused))
                .await;
        }
        state
            .store
            .publish_statement(sid, user, roles, &origin)
            .await
    } else {
        state
            .store
            .approve_statement(sid, user, roles, &origin)
            .await
    };
    war_room_after(
        state,
        principal,
        statement.incident_id,
        result.map_err(ApiError::from),
    )
    .await
}

async fn approve_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(sid): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    statement_act(&state, &principal, sid, false).await
}

async fn publish_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(sid): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    statement_act(&state, &principal, sid, true).await
}
