//! The bus's writer, on every node: fetches contacts from the shared JetStream consumer, stores
//! each batch (idempotent on `(source, id)`), and acknowledges only after the commit, so a
//! contact JetStream acknowledged to a client is never lost: a node that dies mid-batch leaves
//! its messages unacknowledged and JetStream hands them to another after `ack_wait`.

use crate::plumbing::bus::Bus;
use crate::plumbing::state::AppState;
use frontline_core::audit::Actor;
use frontline_core::contact::RedactedContact;
use frontline_store::Origin;
use futures::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Messages fetched per round: a batch is one transaction.
const BATCH: usize = 1000;

/// Writes what the bus carries until `shutdown`; starts again a second after the bus or the
/// database failed (what was fetched and not acknowledged comes back after `ack_wait`).
pub async fn run(state: AppState, bus: Bus, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Err(e) = write(&state, &bus) => {
                tracing::warn!(error = %e, "the bus writer stopped; starting again");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// Fetches, stores and acknowledges batches until something fails.
async fn write(state: &AppState, bus: &Bus) -> anyhow::Result<std::convert::Infallible> {
    let origin = Origin::new(Actor::System);
    let consumer = bus.consumer().await?;
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("fetching from the bus: {e}"))?;
        let mut messages = Vec::new();
        while let Some(m) = batch.next().await {
            messages.push(m.map_err(|e| anyhow::anyhow!("reading the bus: {e}"))?);
        }
        if messages.is_empty() {
            continue;
        }
        let mut contacts = Vec::with_capacity(messages.len());
        for m in &messages {
            match serde_json::from_slice::<RedactedContact>(&m.payload) {
                Ok(c) => contacts.push(c),
                // Only Frontline publishes here; a message it cannot read would come back
                // forever if it were left unacknowledged.
                Err(e) => {
                    tracing::error!(error = %e, subject = %m.subject, "an unreadable message on the bus; dropped");
                }
            }
        }
        let outcome = state.store.insert_contacts(&contacts, &origin).await?;
        state.ops.contacts_stored(&contacts, &outcome);
        for m in &messages {
            m.ack()
                .await
                .map_err(|e| anyhow::anyhow!("acknowledging on the bus: {e}"))?;
        }
    }
}
