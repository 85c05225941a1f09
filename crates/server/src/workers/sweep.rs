//! The helpdesk sweep: webhooks get dropped (every vendor pauses or suspends deliveries, and
//! has had outages), so every few minutes, and on `POST /api/v1/helpdesks/{name}/sweep`,
//! Frontline asks the vendor's API for tickets changed since the last sweep and takes in the
//! customer messages it missed. Contact ids are the ones the webhooks give (`TICKET:0` for
//! the opening message, `TICKET:COMMENT` after; Intercom's part ids, Freshdesk's digests of
//! the reply's text), so what both saw is stored once. Zendesk through its time-based
//! incremental export, Intercom through a conversation search on `updated_at`, Freshdesk
//! through its ticket list on `updated_since`.

use crate::plumbing::state::AppState;
use chrono::Utc;
use frontline_core::audit::Actor;
use frontline_helpdesk::zendesk::{self, customer_messages};
use frontline_helpdesk::{HelpdeskKind, Message, per_ticket};
use frontline_store::helpdesks::Helpdesk;
use frontline_store::{Inserted, Origin};

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

/// Whether connections of `kind` can be swept: every kind Frontline connects.
pub fn sweepable(kind: &str) -> bool {
    kind.parse::<HelpdeskKind>().is_ok()
}

/// Sweeps one connection now.
///
/// # Errors
/// When the vendor or the store fails (nothing is lost: the next sweep starts from the last
/// one's end).
pub async fn sweep(state: &AppState, connection: &Helpdesk) -> anyhow::Result<Sweep> {
    let kind: HelpdeskKind = connection.kind.parse().map_err(anyhow::Error::msg)?;
    let start = connection
        .sweep_cursor
        .as_deref()
        .and_then(|c| c.parse::<i64>().ok())
        .unwrap_or_else(|| (Utc::now() - FIRST_LOOK).timestamp());
    let mut report = Sweep::default();
    let end = match super::helpdesk::client(state, connection)? {
        super::helpdesk::Api::Zendesk(api) => {
            sweep_zendesk(state, connection, &api, start, &mut report).await?
        }
        super::helpdesk::Api::PerTicket(api) => {
            sweep_per_ticket(state, connection, kind, &api, start, &mut report).await?
        }
    };
    state
        .store
        .set_helpdesk_sweep(&connection.name, &end.to_string())
        .await?;
    if report.stored > 0 {
        tracing::info!(connection = %connection.name, stored = report.stored, "the sweep took in messages the webhooks missed");
    }
    Ok(report)
}

/// Zendesk: the incremental export from `start`, each changed ticket's comments read; answers
/// where the next sweep starts.
async fn sweep_zendesk(
    state: &AppState,
    connection: &Helpdesk,
    api: &zendesk::Client,
    start: i64,
    report: &mut Sweep,
) -> anyhow::Result<i64> {
    let mut start = start - OVERLAP;
    for _ in 0..MAX_PAGES {
        let page = api.changed_tickets(start).await?;
        for ticket in &page.tickets {
            let comments = api.ticket_comments(&ticket.id).await?;
            let messages = customer_messages(ticket, &comments);
            store(state, connection, HelpdeskKind::Zendesk, &messages, report).await?;
        }
        start = page.end_time;
        if page.end_of_stream {
            break;
        }
    }
    Ok(start)
}

/// Intercom and Freshdesk: conversations or tickets changed since `start`, page after page,
/// each one's customer messages read; answers where the next sweep starts (the newest change
/// seen).
async fn sweep_per_ticket(
    state: &AppState,
    connection: &Helpdesk,
    kind: HelpdeskKind,
    api: &per_ticket::Client,
    start: i64,
    report: &mut Sweep,
) -> anyhow::Result<i64> {
    let mut end = start;
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = api.changed(start - OVERLAP, cursor.as_deref()).await?;
        for ticket in &page.tickets {
            let messages = api.customer_messages(ticket).await?;
            store(state, connection, kind, &messages, report).await?;
        }
        end = end.max(page.newest.unwrap_or(end));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    Ok(end)
}

/// Stores one ticket's customer messages (those already stored are counted, not stored).
async fn store(
    state: &AppState,
    connection: &Helpdesk,
    kind: HelpdeskKind,
    messages: &[Message],
    report: &mut Sweep,
) -> anyhow::Result<()> {
    let channel = match kind {
        HelpdeskKind::Intercom => "chat",
        HelpdeskKind::Zendesk | HelpdeskKind::Freshdesk => "ticket",
    };
    let contacts = messages
        .iter()
        .map(|m| crate::api::v1::helpdesk_intake::contact(&connection.name, kind, channel, m))
        .collect::<Result<Vec<_>, _>>()?;
    let records: Vec<_> = contacts
        .into_iter()
        .map(|c| state.intake.prepare(c))
        .collect();
    let origin = Origin::new(Actor::System);
    let outcome = crate::api::v1::intake::store_prepared(state, &records, &origin)
        .await
        .map_err(|e| anyhow::anyhow!("storing swept messages: {}", e.message_for_page()))?;
    report.tickets += 1;
    report.stored += outcome.iter().filter(|o| **o == Inserted::Accepted).count();
    report.duplicates += outcome
        .iter()
        .filter(|o| **o == Inserted::Duplicate)
        .count();
    Ok(())
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
