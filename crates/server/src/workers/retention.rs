//! The retention sweeper, for the company that must keep what customers wrote only as long as
//! it needs it: each class of data past its window (`[retention]`) removed in small batches by
//! the lease holder, and each run that removed something recorded in the audit log as counts
//! per class (never contents). `frontline retention run` runs the same on demand.

use crate::plumbing::config::RetentionConfig;
use crate::plumbing::state::AppState;
use chrono::{DateTime, Utc};
use frontline_core::audit::{Actor, AuditEntry};
use frontline_store::Store;
use frontline_store::lifecycle::RetentionCounts;
use std::time::Duration;

/// The lease that makes one process sweep.
pub const LEASE: &str = "retention";
/// Passes per run at most: a run stops there and the next goes on (a first run on a large,
/// old installation removes its backlog over several hours rather than all at once).
const MAX_PASSES: usize = 1_000;

/// Removes (or, with `dry_run`, counts) everything past its window at `now`, pass after pass
/// of `config.batch` rows per class, yielding between them; audits the totals as `actor`.
///
/// # Errors
/// When the store fails (what earlier passes removed stays removed, and is audited).
pub async fn run_once(
    store: &dyn Store,
    config: &RetentionConfig,
    actor: Actor,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<RetentionCounts> {
    let cutoffs = config.cutoffs(now);
    if dry_run {
        return Ok(store.retention_pass(&cutoffs, config.batch, true).await?);
    }
    let mut total = RetentionCounts::default();
    let mut failure = None;
    for _ in 0..MAX_PASSES {
        match store.retention_pass(&cutoffs, config.batch, false).await {
            Ok(pass) if pass.total() == 0 => break,
            Ok(pass) => total.add(&pass),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        // Intake shares the database (SQLite has one writer): let it in between batches.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if total.total() > 0 {
        let windows = serde_json::json!({
            "contact_text_days": config.contact_text_days,
            "contacts_days": config.contacts_days,
            "alert_evidence_days": config.alert_evidence_days,
            "deliveries_days": config.deliveries_days,
            "sessions_days": config.sessions_days,
        });
        let entry = AuditEntry::new(actor, "retention.run", "data")
            .with_detail(serde_json::json!({ "removed": total, "windows": windows }));
        store.audit(&entry).await?;
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(total),
    }
}

/// Sweeps while this process holds the lease, every `retention.interval_ms`.
pub async fn run(state: AppState, shutdown: tokio_util::sync::CancellationToken) {
    let every = Duration::from_millis(state.config.retention.interval_ms);
    let holder = super::holder(&state.node);
    loop {
        match state
            .store
            .acquire_lease(LEASE, &holder, chrono::Duration::minutes(10))
            .await
        {
            Ok(Some(_)) => {
                match run_once(
                    state.store.as_ref(),
                    &state.config.retention,
                    Actor::System,
                    Utc::now(),
                    false,
                )
                .await
                {
                    Ok(done) if done.total() > 0 => {
                        tracing::info!(
                            removed = done.total(),
                            "retention: data past its window removed"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "retention sweep failed; trying again later")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "retention: the lease could not be read"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    super::release(state.store.as_ref(), LEASE, &holder).await;
}
