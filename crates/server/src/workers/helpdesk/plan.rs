//! The write-back's planning: which ledger rows each linked ticket needs. A link note when a
//! ticket joins an open incident; a public reply per published `customers` version (in the
//! ticket's language where a translation exists, and for a customer with several tickets on
//! the first only, a note on the others); an internal note per `agents` version.

use super::FOLLOW_DAYS;
use crate::plumbing::state::AppState;
use chrono::Utc;
use frontline_core::incident::Signal;
use frontline_core::statement::Audience;
use frontline_store::helpdesks::{Helpdesk, PlannedWrite, WriteAction, WriteKey};
use std::collections::HashMap;

/// The tag a linked ticket carries in a helpdesk with tags (Zendesk): agents can find the
/// incident's tickets by it, and an agent who adds it links the ticket.
pub fn incident_tag(incident: i64) -> String {
    format!("frontline-incident-{incident}")
}

/// The tag that replaces [`incident_tag`] when a resolved incident's tickets are solved.
pub fn resolved_tag(incident: i64) -> String {
    format!("frontline-resolved-{incident}")
}

/// Plans a row per linked ticket and published `customers` or `agents` version, and a link
/// note for each ticket of an open incident.
pub(super) async fn plan(state: &AppState, connections: &[Helpdesk]) -> anyhow::Result<usize> {
    let names: Vec<&str> = connections.iter().map(|c| c.name.as_str()).collect();
    let since = Utc::now() - chrono::Duration::days(FOLLOW_DAYS);
    let mut planned = Vec::new();
    let mut tickets_of = HashMap::new();
    let customers = state
        .store
        .published_statements(Audience::Customers, since)
        .await?;
    let agents = state
        .store
        .published_statements(Audience::Agents, since)
        .await?;
    // The talking points of the moment, per incident: what a link note carries.
    let mut talking_points: HashMap<i64, (u32, String)> = HashMap::new();
    for statement in &agents {
        if let Some(version) = statement.published_version() {
            talking_points.insert(
                statement.incident_id,
                (version.number, version.body.clone()),
            );
        }
    }
    plan_link_notes(
        state,
        &names,
        &talking_points,
        &mut tickets_of,
        &mut planned,
    )
    .await?;
    // Per incident: its tickets' languages, and which are answered on another ticket.
    let mut facts_of: HashMap<i64, TicketFacts> = HashMap::new();
    for (statements, action) in [(customers, WriteAction::Reply), (agents, WriteAction::Note)] {
        for statement in statements {
            let Some(version) = statement.published_version() else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) =
                tickets_of.entry(statement.incident_id)
            {
                slot.insert(linked_tickets(state, statement.incident_id, &names).await?);
            }
            let body = match action {
                WriteAction::Reply => version.body.clone(),
                WriteAction::Note | WriteAction::Link | WriteAction::Solve => format!(
                    "Frontline talking points (incident {}, version {}):\n\n{}",
                    statement.incident_id, version.number, version.body
                ),
            };
            let tickets = &tickets_of[&statement.incident_id];
            if action == WriteAction::Reply && !facts_of.contains_key(&statement.incident_id) {
                let facts = ticket_facts(state, statement.incident_id, tickets).await?;
                facts_of.insert(statement.incident_id, facts);
            }
            let facts = facts_of.get(&statement.incident_id);
            for (connection, ticket) in tickets {
                let key = (connection.clone(), ticket.clone());
                let (action, body) = match (action, facts) {
                    (WriteAction::Reply, Some(facts)) => match facts.elsewhere.get(&key) {
                        // One customer, several tickets: the public reply once, a note on
                        // the others.
                        Some(first) => (
                            WriteAction::Note,
                            format!(
                                "The customer who opened this ticket has another one in this \
                                 incident: Frontline's public reply (version {}) went to \
                                 ticket {first}. It said:\n\n{}",
                                version.number, version.body
                            ),
                        ),
                        // In the ticket's language where a translation exists.
                        None => (
                            WriteAction::Reply,
                            version
                                .body_in(facts.language.get(&key).map(String::as_str))
                                .to_owned(),
                        ),
                    },
                    _ => (action, body.clone()),
                };
                planned.push(PlannedWrite {
                    key: WriteKey {
                        connection: connection.clone(),
                        ticket: ticket.clone(),
                        statement_id: statement.id,
                        version: version.number,
                        action,
                    },
                    incident_id: statement.incident_id,
                    body,
                });
            }
        }
    }
    Ok(state.store.plan_helpdesk_writes(&planned).await?)
}

/// What the public reply to an incident's tickets depends on, per (connection, ticket).
#[derive(Default)]
pub(super) struct TicketFacts {
    /// A ticket whose customer opened an earlier-linked ticket of the same connection: that
    /// earlier ticket, the one their public reply goes to.
    pub(super) elsewhere: HashMap<(String, String), String>,
    /// The ticket's language, from its first linked contact that has one.
    pub(super) language: HashMap<(String, String), String>,
}

pub(super) async fn ticket_facts(
    state: &AppState,
    incident: i64,
    tickets: &[(String, String)],
) -> Result<TicketFacts, frontline_store::StoreError> {
    let mut facts = TicketFacts::default();
    let connections: std::collections::BTreeSet<&String> = tickets.iter().map(|(c, _)| c).collect();
    for connection in connections {
        let mut first_of: HashMap<String, String> = HashMap::new();
        for contact in state
            .store
            .linked_helpdesk_contacts(incident, connection)
            .await?
        {
            let ticket = contact.id.split(':').next().unwrap_or(&contact.id);
            let key = (connection.clone(), ticket.to_owned());
            if let Some(language) = contact.language {
                facts.language.entry(key.clone()).or_insert(language);
            }
            let Some(customer) = contact.customer else {
                continue;
            };
            match first_of.get(&customer) {
                Some(first) if first != ticket => {
                    facts.elsewhere.insert(key, first.clone());
                }
                Some(_) => {}
                None => {
                    first_of.insert(customer, ticket.to_owned());
                }
            }
        }
    }
    Ok(facts)
}

/// Plans the link note of every ticket linked to an open incident: once per ticket and
/// incident, with the incident's title and the talking points published when it is planned.
async fn plan_link_notes(
    state: &AppState,
    names: &[&str],
    talking_points: &HashMap<i64, (u32, String)>,
    tickets_of: &mut HashMap<i64, Vec<(String, String)>>,
    planned: &mut Vec<PlannedWrite>,
) -> anyhow::Result<()> {
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
        for incident in &page.items {
            let tickets = linked_tickets(state, incident.id, names).await?;
            if tickets.is_empty() {
                continue;
            }
            let points = match talking_points.get(&incident.id) {
                Some((version, body)) => format!("Talking points (version {version}):\n\n{body}"),
                None => "No talking points are published yet; they will follow as a note.".into(),
            };
            let body = format!(
                "Linked to Frontline incident {} ({}): {}.\n\n{points}",
                incident.id,
                incident_tag(incident.id),
                incident.title
            );
            for (connection, ticket) in &tickets {
                planned.push(PlannedWrite {
                    key: WriteKey::link(connection, ticket, incident.id),
                    incident_id: incident.id,
                    body: body.clone(),
                });
            }
            tickets_of.insert(incident.id, tickets);
        }
        match page.next_cursor {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The (connection, ticket) pairs linked to an incident through its contacts.
pub(super) async fn linked_tickets(
    state: &AppState,
    incident: i64,
    connections: &[&str],
) -> Result<Vec<(String, String)>, frontline_store::StoreError> {
    let Some(detail) = state.store.get_incident(incident).await? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, String)> = detail
        .links
        .iter()
        .filter_map(|l| match &l.signal {
            Signal::Contact { source, id } if connections.contains(&source.as_str()) => {
                let ticket = id.split(':').next().unwrap_or(id);
                Some((source.clone(), ticket.to_owned()))
            }
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}
