//! Background work. Each worker exposes one step (`tick`, returning what it did) that tests
//! call directly; `startup` runs the steps on an interval until shutdown.

pub mod cadence;
pub mod correlation;
pub mod delivery;
pub mod detection;

/// A lease holder name unique to this process and worker: the process id and 64 random bits.
pub(crate) fn holder() -> String {
    let mut id = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    format!("{}-{}", std::process::id(), hex::encode(id))
}

/// Gives a lease up at shutdown, so a successor (a restarted server) takes over at once
/// instead of after the lease expires.
pub(crate) async fn release(store: &dyn frontline_store::Store, lease: &str, holder: &str) {
    if let Err(e) = store.release_lease(lease, holder).await {
        tracing::warn!(error = %e, lease, "the lease could not be released");
    }
}
