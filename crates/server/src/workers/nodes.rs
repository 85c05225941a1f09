//! The node registry: each server process says every few seconds that it is alive, so an
//! admin sees which nodes share the database and which leases each holds, and each node
//! takes its share of the per-token request quotas.

use crate::plumbing::state::AppState;
use frontline_store::{Lease, Node, Store, StoreError};
use tokio_util::sync::CancellationToken;

/// How often a node reports itself.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(3);
/// A node not heard from for this long is no longer listed as live.
pub const LIVE_WITHIN: chrono::Duration = chrono::Duration::seconds(15);

/// Reports this node every [`HEARTBEAT`] until `shutdown`.
pub async fn run(state: AppState, listen: String, shutdown: CancellationToken) {
    let now = chrono::Utc::now();
    let node = Node {
        id: state.node.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        listen,
        started_at: now,
        last_seen: now,
    };
    loop {
        if let Err(e) = state.store.heartbeat_node(&node).await {
            tracing::warn!(error = %e, "the node could not report itself");
        }
        // Each node takes its share of every token's request quota.
        match state.store.live_nodes(LIVE_WITHIN).await {
            Ok(nodes) => state.limits.set_live_nodes(nodes.len()),
            Err(e) => tracing::warn!(error = %e, "the live nodes could not be read"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
}

/// The nodes heard from within [`LIVE_WITHIN`], each with the leases it holds now (what the
/// nodes API and the admin page show).
///
/// # Errors
/// When the store fails.
pub async fn live_with_leases(store: &dyn Store) -> Result<Vec<(Node, Vec<Lease>)>, StoreError> {
    let nodes = store.live_nodes(LIVE_WITHIN).await?;
    let leases = store.leases().await?;
    let now = chrono::Utc::now();
    Ok(nodes
        .into_iter()
        .map(|n| {
            let held = leases
                .iter()
                .filter(|l| l.expires_at > now && super::node_of(&l.holder) == Some(n.id.as_str()))
                .cloned()
                .collect();
            (n, held)
        })
        .collect())
}
