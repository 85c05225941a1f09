//! The helpdesk side of an incident's metrics: when its linked tickets were first answered,
//! and how many have the latest customer statement (a public reply, or for a customer's other
//! tickets the note saying which ticket got it).

use frontline_core::incident::Signal;
use frontline_core::metrics::{TicketAnswers, TicketFacts, ticket_answers};
use frontline_core::statement::Audience;
use frontline_store::helpdesks::{WriteAction, WriteStatus};
use frontline_store::{Store, StoreError};

/// How incident `id`'s linked helpdesk tickets were answered; `None` when none is linked.
///
/// # Errors
/// When the store fails.
pub async fn tickets(store: &dyn Store, id: i64) -> Result<Option<TicketAnswers>, StoreError> {
    let connections: Vec<String> = store
        .list_helpdesks()
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    if connections.is_empty() {
        return Ok(None);
    }
    let Some(detail) = store.get_incident(id).await? else {
        return Ok(None);
    };
    let linked = detail
        .links
        .iter()
        .filter_map(|l| match &l.signal {
            Signal::Contact { source, id } if connections.contains(source) => {
                let ticket = id.split(':').next().unwrap_or(id);
                Some((format!("{source}/{ticket}"), l.linked_at))
            }
            _ => None,
        })
        .collect();
    let statements = store.list_statements(id).await?;
    let for_customers: std::collections::HashSet<i64> = statements
        .iter()
        .filter(|s| s.audience == Audience::Customers)
        .map(|s| s.id)
        .collect();
    let replies = store
        .incident_helpdesk_writes(id)
        .await?
        .into_iter()
        .filter(|w| {
            w.status == WriteStatus::Sent
                && match w.key.action {
                    WriteAction::Reply => true,
                    WriteAction::Note => for_customers.contains(&w.key.statement_id),
                    WriteAction::Link | WriteAction::Solve => false,
                }
        })
        .filter_map(|w| {
            let at = w.sent_at?;
            Some((
                format!("{}/{}", w.key.connection, w.key.ticket),
                w.key.statement_id,
                w.key.version,
                at,
            ))
        })
        .collect();
    let latest = statements
        .into_iter()
        .filter(|s| s.audience == Audience::Customers)
        .filter_map(|s| Some((s.published_at()?, s.id, s.published?)))
        .max()
        .map(|(_, statement, version)| (statement, version));
    Ok(ticket_answers(&TicketFacts {
        linked,
        replies,
        latest,
    }))
}
