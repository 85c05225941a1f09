//! The helpdesk sweep: webhooks get dropped (every vendor pauses or suspends deliveries, and
//! has had outages), so every few minutes, and on `POST /api/v1/helpdesks/{name}/sweep`,
//! Frontline asks the vendor's API for tickets changed since the last sweep and takes in the
//! customer messages it missed. Contact ids are the ones the webhooks give (`TICKET:0` for
//! the opening message, `TICKET:COMMENT` after), so what both saw is stored once.
//! Zendesk today (the time-based incremental export); Intercom and Freshdesk connections are
//! not swept yet.

use crate::plumbing::state::AppState;
use chrono::Utc;
use frontline_core::audit::Actor;
use frontline_helpdesk::HelpdeskKind;
use frontline_helpdesk::zendesk::{Client, customer_messages};
use frontline_store::helpdesks::Helpdesk;
use frontline_store::{Inserted, Origin};
use std::time::Duration;

/// How far back a first sweep looks.
const FIRST_LOOK: chrono::Duration = chrono::Duration::hours(24);
/// How far each sweep reaches back before the last one's end: a ticket changed in the same
/// second as the last page ended is seen again rather than missed (stored once all the same).
const OVERLAP: i64 = 300;
/// Pages read per sweep at most (the next sweep goes on from there).
const MAX_PAGES: usize = 50;

/// What a sweep took in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Tickets looked at.
    pub tickets: usize,
    /// Customer messages stored now (missed by the webhooks).
    pub stored: usize,
    /// Customer messages already stored.
    pub duplicates: usize,
}

/// Whether connections of `kind` can be swept.
pub fn sweepable(kind: &str) -> bool {
    kind == HelpdeskKind::Zendesk.as_str()
}

/// Sweeps one connection now.
///
/// # Errors
/// When the vendor or the store fails (nothing is lost: the next sweep starts from the last
/// one's end).
pub async fn sweep(state: &AppState, connection: &Helpdesk) -> anyhow::Result<Sweep> {
    anyhow::ensure!(
        sweepable(&connection.kind),
        "{} connections are not swept yet",
        connection.kind
    );
    let auth = super::helpdesk::credentials(state, connection)?;
    let field = |k: &str| auth[k].as_str().unwrap_or_default().to_owned();
    let api = Client::new(
        &connection.base_url,
        &field("email"),
        &field("api_token"),
        Duration::from_millis(state.config.helpdesks.timeout_ms),
    )?;
    let mut start = connection
        .sweep_cursor
        .as_deref()
        .and_then(|c| c.parse::<i64>().ok())
        .map_or_else(|| (Utc::now() - FIRST_LOOK).timestamp(), |c| c - OVERLAP);
    let origin = Origin::new(Actor::System);
    let mut report = Sweep::default();
    for _ in 0..MAX_PAGES {
        let page = api.changed_tickets(start).await?;
        for ticket in &page.tickets {
            let comments = api.ticket_comments(&ticket.id).await?;
            let messages = customer_messages(ticket, &comments);
            let contacts = messages
                .iter()
                .map(|m| {
                    crate::api::v1::helpdesk_intake::contact(
                        &connection.name,
                        HelpdeskKind::Zendesk,
                        "ticket",
                        m,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let records: Vec<_> = contacts
                .into_iter()
                .map(|c| state.intake.prepare(c))
                .collect();
            let outcome = crate::api::v1::intake::store_prepared(state, &records, &origin)
                .await
                .map_err(|e| anyhow::anyhow!("storing swept messages: {}", e.message_for_page()))?;
            report.tickets += 1;
            report.stored += outcome.iter().filter(|o| **o == Inserted::Accepted).count();
            report.duplicates += outcome
                .iter()
                .filter(|o| **o == Inserted::Duplicate)
                .count();
        }
        start = page.end_time;
        if page.end_of_stream {
            break;
        }
    }
    state
        .store
        .set_helpdesk_sweep(&connection.name, &start.to_string())
        .await?;
    if report.stored > 0 {
        tracing::info!(connection = %connection.name, stored = report.stored, "the sweep took in messages the webhooks missed");
    }
    Ok(report)
}

/// Sweeps every sweepable connection whose last sweep is older than `every`.
pub async fn due(state: &AppState, every: chrono::Duration) {
    let Ok(connections) = state.store.list_helpdesks().await else {
        return;
    };
    for c in connections.iter().filter(|c| sweepable(&c.kind)) {
        if c.last_sweep_at.is_some_and(|at| Utc::now() - at < every) {
            continue;
        }
        if let Err(e) = sweep(state, c).await {
            tracing::warn!(error = %e, connection = %c.name, "helpdesk sweep failed; trying again later");
            let _ = state
                .store
                .record_helpdesk_event(
                    &c.name,
                    &frontline_store::helpdesks::EventOutcome::Failed(&format!("sweep: {e}")),
                )
                .await;
        }
    }
}
