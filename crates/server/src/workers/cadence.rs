//! Update cadence: each severity has an expected interval between public updates (SEV1 30
//! minutes, SEV2 60 by default). When an open incident's interval passes without one (counted
//! from its last public publication, or from its opening), its commander and comms lead are
//! reminded: an `incident.reminder` on its timeline, which the live feed and webhooks carry.
//! One reminder per missed deadline: the deadlines are opening (or last update) + k × interval.

use crate::plumbing::config::CadenceConfig;
use chrono::{DateTime, Utc};
use frontline_core::audit::Actor;
use frontline_core::feed::FeedKind;
use frontline_core::incident::IncidentChange;
use frontline_core::statement::Audience;
use frontline_store::{IncidentQuery, Origin, Store, StoreError};

/// The lease that makes one process remind.
pub const LEASE: &str = "cadence";

/// Reminds where an update is overdue at `now`; returns how many reminders were given.
///
/// # Errors
/// When the store fails.
pub async fn round(
    store: &dyn Store,
    config: &CadenceConfig,
    now: DateTime<Utc>,
    lease: Option<&frontline_store::Lease>,
) -> Result<usize, StoreError> {
    let open = store
        .list_incidents(&IncidentQuery {
            open: Some(true),
            limit: 1000,
            ..IncidentQuery::default()
        })
        .await?;
    let mut reminded = 0;
    for incident in open.items {
        let Some(interval) = config.interval(incident.severity) else {
            continue;
        };
        let last_update = store
            .list_statements(incident.id)
            .await?
            .iter()
            .filter(|s| s.audience == Audience::Public)
            .filter_map(|s| s.published_at())
            .max();
        let base = last_update.unwrap_or(incident.opened_at);
        if now < base + interval {
            continue;
        }
        // The latest deadline passed.
        let missed = (now - base).num_seconds() / interval.num_seconds().max(1);
        let due_at = base + interval * i32::try_from(missed).unwrap_or(i32::MAX);
        let already = store
            .feed_after(0, Some(incident.id), 10_000)
            .await?
            .iter()
            .any(|e| {
                e.kind == FeedKind::IncidentReminder
                    && e.data["due_at"]
                        .as_str()
                        .and_then(|d| d.parse::<DateTime<Utc>>().ok())
                        == Some(due_at)
            });
        if already {
            continue;
        }
        store
            .change_incident(
                incident.id,
                &[IncidentChange::Remind {
                    due_at,
                    last_update_at: last_update,
                    interval_minutes: interval.num_minutes(),
                }],
                &Origin::new(Actor::System).fenced(lease.cloned()),
            )
            .await?;
        reminded += 1;
    }
    Ok(reminded)
}

/// Checks every `interval_ms` while this process holds the lease, until `shutdown`.
pub async fn run(
    state: crate::plumbing::state::AppState,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let every = std::time::Duration::from_millis(state.config.cadence.interval_ms);
    let holder = super::holder(&state.node);
    loop {
        match state
            .store
            .acquire_lease(LEASE, &holder, chrono::Duration::seconds(60))
            .await
        {
            Ok(Some(lease)) => {
                let now = Utc::now();
                match round(
                    state.store.as_ref(),
                    &state.config.cadence,
                    now,
                    Some(&lease),
                )
                .await
                {
                    Ok(n) if n > 0 => state.feed_changed(),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cadence check failed; retrying"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cadence: the lease could not be read"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    super::release(state.store.as_ref(), LEASE, &holder).await;
}
