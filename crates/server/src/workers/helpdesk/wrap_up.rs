//! The end of an incident in the helpdesk, for its commander: a preview of what wrapping up
//! its tickets does (tickets per connection, what each language's customers read), solving
//! them once each has the final `customers` version (and, in Zendesk, swapping the incident
//! tag for the resolved one), and stopping a fan-out that should not go on.

use super::plan::{linked_tickets, ticket_facts};
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use frontline_api::{HelpdeskAbortOut, HelpdeskWrapUp, WrapUpConnection, WrapUpSample};
use frontline_core::audit::AuditEntry;
use frontline_core::incident::IncidentState;
use frontline_core::statement::{Audience, Statement};
use frontline_store::Origin;
use frontline_store::helpdesks::{PlannedWrite, WriteAction, WriteKey, WriteStatus};
use std::collections::{BTreeMap, HashSet};

/// A wrap-up as it would run now, with the writes it would plan.
struct Plan {
    out: HelpdeskWrapUp,
    writes: Vec<PlannedWrite>,
}

/// What wrapping up incident `id`'s tickets would do now.
///
/// # Errors
/// 404 for an unknown incident; the store's failures.
pub async fn preview(state: &AppState, id: i64) -> Result<HelpdeskWrapUp, ApiError> {
    Ok(plan(state, id).await?.out)
}

/// Plans a solve for each linked ticket of resolved incident `id`, audited; each is sent once
/// nothing else is on its way to its ticket.
///
/// # Errors
/// 404 for an unknown incident; 409 naming why when the incident is not resolved, has no
/// final `customers` version published, or this version's wrap-up was aborted.
pub async fn solve(state: &AppState, id: i64, origin: &Origin) -> Result<HelpdeskWrapUp, ApiError> {
    let Plan { mut out, writes } = plan(state, id).await?;
    if let Some(reason) = &out.blocked {
        return Err(ApiError::conflict(format!(
            "incident {id}'s tickets cannot be solved: {reason}"
        )));
    }
    let aborted = out
        .connections
        .iter()
        .any(|c| c.solves.contains_key(WriteStatus::Cancelled.as_str()));
    out.planned = state.store.plan_helpdesk_writes(&writes).await?;
    if out.planned == 0 && aborted {
        return Err(ApiError::conflict(format!(
            "the wrap-up of version {} was aborted: publish a new final version to wrap up again",
            out.version.unwrap_or_default()
        )));
    }
    let entry = AuditEntry::new(
        origin.actor.clone(),
        "helpdesk.wrap_up",
        format!("incident:{id}"),
    )
    .with_detail(serde_json::json!({
        "statement_id": out.statement_id, "version": out.version, "planned": out.planned,
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone());
    state.store.audit(&entry).await?;
    Ok(out)
}

/// Stops incident `id`'s fan-out: every write not yet sent (replies, notes, solves; link
/// notes go on, they only tell agents where a ticket belongs) is cancelled, audited, and the
/// versions it cancelled are planned for no ticket linked later. Writes already sent cannot
/// be recalled; they are counted.
///
/// # Errors
/// 404 for an unknown incident; the store's failures.
pub async fn abort(
    state: &AppState,
    id: i64,
    origin: &Origin,
) -> Result<HelpdeskAbortOut, ApiError> {
    if state.store.get_incident(id).await?.is_none() {
        return Err(unknown(id));
    }
    let writes = state.store.incident_helpdesk_writes(id).await?;
    let stoppable: Vec<WriteKey> = writes
        .iter()
        .filter(|w| w.status == WriteStatus::Pending && w.key.action != WriteAction::Link)
        .map(|w| w.key.clone())
        .collect();
    let in_flight = writes
        .iter()
        .filter(|w| w.status == WriteStatus::Sending)
        .count();
    let who = origin.actor.to_string();
    let cancelled = if stoppable.is_empty() {
        0
    } else {
        state
            .store
            .settle_helpdesk_writes(
                &stoppable,
                WriteStatus::Cancelled,
                Some(&format!("fan-out aborted by {who}")),
            )
            .await?
            .len()
    };
    let entry = AuditEntry::new(
        origin.actor.clone(),
        "helpdesk.abort",
        format!("incident:{id}"),
    )
    .with_detail(serde_json::json!({ "cancelled": cancelled, "in_flight": in_flight }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone());
    state.store.audit(&entry).await?;
    Ok(HelpdeskAbortOut {
        cancelled,
        in_flight,
    })
}

fn unknown(id: i64) -> ApiError {
    ApiError::not_found(format!("incident {id} does not exist"))
}

/// The customers statement whose version tickets last got: the one published last.
fn last_word(statements: &[Statement]) -> Option<&Statement> {
    statements
        .iter()
        .filter(|s| s.audience == Audience::Customers && s.published.is_some())
        .max_by_key(|s| s.published_at())
}

async fn plan(state: &AppState, id: i64) -> Result<Plan, ApiError> {
    let detail = state
        .store
        .get_incident(id)
        .await?
        .ok_or_else(|| unknown(id))?;
    let connections = state.store.list_helpdesks().await?;
    let names: Vec<&str> = connections.iter().map(|c| c.name.as_str()).collect();
    let tickets = linked_tickets(state, id, &names).await?;
    let statements = state.store.list_statements(id).await?;
    let statement = last_word(&statements);
    let version = statement.and_then(Statement::published_version);
    let resolved = detail.incident.state == IncidentState::Resolved;
    let blocked = if !resolved {
        Some("the incident is not resolved".to_owned())
    } else if version.is_none() {
        Some("no customers statement is published".to_owned())
    } else if !version.is_some_and(|v| v.r#final) {
        Some("the published customers version is not marked final".to_owned())
    } else if tickets.is_empty() {
        Some("no helpdesk ticket is linked".to_owned())
    } else {
        None
    };
    // A ticket another open incident links stays open: that incident is not over for it.
    let mut elsewhere_open: HashSet<(String, String)> = HashSet::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_incidents(&frontline_store::query::IncidentQuery {
                open: Some(true),
                limit: 200,
                after,
                ..Default::default()
            })
            .await?;
        for other in page.items.iter().filter(|i| i.id != id) {
            elsewhere_open.extend(linked_tickets(state, other.id, &names).await?);
        }
        match page.next_cursor {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let facts = ticket_facts(state, id, &tickets).await?;
    let writes = state.store.incident_helpdesk_writes(id).await?;
    let mut per: BTreeMap<&str, WrapUpConnection> = connections
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                WrapUpConnection {
                    connection: c.name.clone(),
                    kind: c.kind.clone(),
                    tickets: 0,
                    to_solve: 0,
                    kept_open: 0,
                    answered: 0,
                    solves: BTreeMap::new(),
                },
            )
        })
        .collect();
    let current = statement.zip(version).map(|(s, v)| (s.id, v.number));
    for w in &writes {
        let Some(c) = per.get_mut(w.key.connection.as_str()) else {
            continue;
        };
        let of_current = current == Some((w.key.statement_id, w.key.version));
        match w.key.action {
            WriteAction::Solve if of_current => {
                *c.solves.entry(w.status.as_str().to_owned()).or_default() += 1;
            }
            WriteAction::Reply | WriteAction::Note
                if of_current && w.status == WriteStatus::Sent =>
            {
                c.answered += 1;
            }
            _ => {}
        }
    }
    let mut planned = Vec::new();
    let mut languages: BTreeMap<String, usize> = BTreeMap::new();
    for (connection, ticket) in &tickets {
        let Some(c) = per.get_mut(connection.as_str()) else {
            continue;
        };
        c.tickets += 1;
        let key = (connection.clone(), ticket.clone());
        if !facts.elsewhere.contains_key(&key) {
            let language = facts.language.get(&key).cloned();
            *languages
                .entry(language.unwrap_or_else(|| "und".into()))
                .or_default() += 1;
        }
        if elsewhere_open.contains(&key) {
            c.kept_open += 1;
            continue;
        }
        c.to_solve += 1;
        if let Some((statement_id, number)) = current {
            planned.push(PlannedWrite {
                key: WriteKey {
                    connection: connection.clone(),
                    ticket: ticket.clone(),
                    statement_id,
                    version: number,
                    action: WriteAction::Solve,
                },
                incident_id: id,
                body: format!(
                    "Solved by Frontline: incident {id} is resolved and the customer has \
                     version {number} of its statement."
                ),
            });
        }
    }
    let samples = languages
        .into_iter()
        .map(|(language, tickets)| WrapUpSample {
            text: version
                .map(|v| v.body_in((language != "und").then_some(language.as_str())))
                .unwrap_or_default()
                .to_owned(),
            language,
            tickets,
        })
        .collect();
    Ok(Plan {
        out: HelpdeskWrapUp {
            incident_id: id,
            resolved,
            statement_id: current.map(|(s, _)| s),
            version: current.map(|(_, v)| v),
            r#final: version.is_some_and(|v| v.r#final),
            connections: per.into_values().filter(|c| c.tickets > 0).collect(),
            samples,
            blocked,
            planned: 0,
        },
        writes: planned,
    })
}
