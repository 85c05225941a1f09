//! The helpdesk panel of an incident's war room, for its commander and both teams: the
//! write-back's progress per connection, the wrap-up's preview once the incident is resolved
//! (tickets to solve, what each language's customers read), and the forms that solve the
//! tickets or stop a fan-out.

use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::minute;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};

/// The panel's forms.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/helpdesk/wrap-up", post(solve_on_page))
        .route("/incidents/{id}/helpdesk/abort", post(abort_on_page))
}

/// The panel: counts per connection, and the wrap-up's preview when tickets are linked.
pub(super) async fn panel(
    state: &AppState,
    id: i64,
) -> Result<(Vec<minijinja::Value>, Option<minijinja::Value>), ApiError> {
    let (counts, stoppable) = helpdesk_counts(state, id).await?;
    if counts.is_empty() {
        return Ok((counts, None));
    }
    let preview = crate::workers::helpdesk::wrap_up::preview(state, id).await?;
    let to_solve: usize = preview.connections.iter().map(|c| c.to_solve).sum();
    let kept_open: usize = preview.connections.iter().map(|c| c.kept_open).sum();
    let solving: u64 = preview
        .connections
        .iter()
        .flat_map(|c| c.solves.values())
        .sum();
    let samples: Vec<_> = preview
        .samples
        .iter()
        .map(|s| minijinja::context! { language => s.language, tickets => s.tickets, text => s.text })
        .collect();
    let wrap_up = minijinja::context! {
        blocked => preview.blocked, to_solve, kept_open, solving, samples,
        version => preview.version, stoppable,
    };
    Ok((counts, Some(wrap_up)))
}

async fn solve_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    let result = crate::workers::helpdesk::wrap_up::solve(&state, id, &principal.origin()).await;
    super::war_room::war_room_after(&state, &principal, id, result).await
}

async fn abort_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    let result = crate::workers::helpdesk::wrap_up::abort(&state, id, &principal.origin()).await;
    super::war_room::war_room_after(&state, &principal, id, result).await
}

/// The write-back's ledger for an incident, per connection: tickets, and writes sent, on their
/// way (pending, or sent with the outcome being confirmed), failed and superseded.
/// Also answers how many writes an abort would stop (pending, and not link notes).
async fn helpdesk_counts(
    state: &AppState,
    id: i64,
) -> Result<(Vec<minijinja::Value>, usize), ApiError> {
    use frontline_store::helpdesks::{WriteAction, WriteStatus};
    use std::collections::{BTreeMap, BTreeSet};
    #[derive(Default)]
    struct Counts<'a> {
        tickets: BTreeSet<&'a str>,
        sent: usize,
        open: usize,
        failed: usize,
        superseded: usize,
        cancelled: usize,
    }
    let writes = state.store.incident_helpdesk_writes(id).await?;
    let mut by: BTreeMap<&str, Counts<'_>> = BTreeMap::new();
    let mut stoppable = 0;
    for w in &writes {
        if w.status == WriteStatus::Pending && w.key.action != WriteAction::Link {
            stoppable += 1;
        }
        let c = by.entry(w.key.connection.as_str()).or_default();
        c.tickets.insert(w.key.ticket.as_str());
        match w.status {
            WriteStatus::Sent => c.sent += 1,
            WriteStatus::Pending | WriteStatus::Sending => c.open += 1,
            WriteStatus::Failed => c.failed += 1,
            WriteStatus::Superseded => c.superseded += 1,
            WriteStatus::Cancelled => c.cancelled += 1,
        }
    }
    let rows = by
        .into_iter()
        .map(|(connection, c)| {
            minijinja::context! {
                connection, tickets => c.tickets.len(), sent => c.sent, open => c.open,
                failed => c.failed, superseded => c.superseded, cancelled => c.cancelled,
                paused => state.helpdesk_guards.circuit(connection).map(|p| minute(p.open_until)),
            }
        })
        .collect();
    Ok((rows, stoppable))
}
