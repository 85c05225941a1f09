//! For the installation as a whole, not for a request: background work (detection, correlation,
//! deliveries, cadence reminders, node heartbeats); it may touch the store, the pipeline and the
//! plumbing's state, and leader-only work writes only under its fenced lease. Each worker
//! exposes one step (`tick`, returning what it did) that tests call directly; `startup` runs the
//! steps on an interval until shutdown.

pub mod bus;
pub mod cadence;
pub mod correlation;
pub mod delivery;
pub mod detection;
pub mod follow;
pub mod helpdesk;
pub mod intake_gap;
pub mod nodes;
pub mod retention;
pub mod sweep;

/// A new server's name among the nodes sharing a database: the host's name, the process id
/// and 32 random bits (a restarted server is a new node, and so is each of several servers
/// in one process, as in tests).
pub fn node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    let mut id = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    format!("{host}-{}-{}", std::process::id(), hex::encode(id))
}

/// The node a lease holder belongs to: holders are named `NODE/worker` (see `holder`).
pub fn node_of(holder: &str) -> Option<&str> {
    holder.split_once('/').map(|(node, _)| node)
}

/// A lease holder name unique to this server and worker: its node's id, a slash, and 32
/// random bits (so the nodes list can say which node holds which lease).
pub(crate) fn holder(node: &str) -> String {
    let mut id = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    format!("{node}/{}", hex::encode(id))
}

/// Gives a lease up at shutdown, so a successor (a restarted server) takes over at once
/// instead of after the lease expires.
pub(crate) async fn release(store: &dyn frontline_store::Store, lease: &str, holder: &str) {
    if let Err(e) = store.release_lease(lease, holder).await {
        tracing::warn!(error = %e, lease, "the lease could not be released");
    }
}
