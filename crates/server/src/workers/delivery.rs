//! The webhook delivery worker: follows the feed (the outbox: every entry was written in the
//! transaction of its change) for each webhook, from the webhook's cursor, one entry at a time.
//!
//! An entry the webhook does not want is skipped; a wanted one is sent until the receiver
//! answers 2xx (delivered) or the retry policy gives up (failed). Only then does the cursor
//! move, in the same transaction as the delivery's record, so notifications arrive in feed
//! order (and so in order per incident), at least once, and a restart resumes with the first
//! unsettled one under the same idempotency key. While one is pending, later ones wait: a
//! receiver that is down gets everything, in order, once it is back.
//!
//! Every node sends, none is leader: each round claims the webhooks nobody follows (a claim
//! with a token, on the database's clock; PostgreSQL skips webhooks another node is claiming)
//! and records each attempt only while its claim stands. One node follows a webhook at a time,
//! so its notifications keep their order; several webhooks are spread over the nodes, and a
//! node that dies or stalls loses its webhooks to the others once its claim lapses.

use crate::plumbing::state::AppState;
use chrono::{DateTime, Utc};
use frontline_core::webhook::{Delivery, DeliveryStatus, Webhook};
use frontline_delivery::retry::RetryPolicy;
use frontline_delivery::webhook::{Notification, Sender};
use frontline_store::{Claim, Store, StoreError};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a claim on a webhook lasts: well beyond a round, so a live node never loses one
/// mid-send, and short enough that a dead node's webhooks move on within half a minute.
pub const CLAIM_TTL: chrono::Duration = chrono::Duration::seconds(30);
/// The longest a round works before giving its webhooks back.
const ROUND: Duration = Duration::from_secs(10);
/// How often an idle worker looks for work written by other processes.
const IDLE: Duration = Duration::from_secs(1);
/// Feed entries read per query.
const BATCH: u32 = 200;

/// The worker: what it needs to send and record.
pub struct DeliveryWorker {
    store: Arc<dyn Store>,
    sender: Sender,
    policy: RetryPolicy,
    ops: Arc<crate::plumbing::ops::Ops>,
}

impl DeliveryWorker {
    /// A worker over `store`.
    pub fn new(store: Arc<dyn Store>, sender: Sender, policy: RetryPolicy) -> Self {
        Self {
            store,
            sender,
            policy,
            ops: Arc::default(),
        }
    }

    /// Counts delivery outcomes in `ops` (the server's `/metrics`).
    #[must_use]
    pub fn with_ops(mut self, ops: Arc<crate::plumbing::ops::Ops>) -> Self {
        self.ops = ops;
        self
    }

    /// One round over the webhooks `claim` can take, at most this node's share of them when
    /// `nodes` share the database (least recently followed first, so every webhook gets its
    /// turn): sends what is due, concurrently, then gives them back. Returns the earliest time
    /// a pending delivery is due again, if any.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn round(
        &self,
        claim: &Claim,
        nodes: u32,
        deadline: tokio::time::Instant,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let total = u32::try_from(self.store.list_webhooks().await?.len()).unwrap_or(u32::MAX);
        if total == 0 {
            return Ok(None);
        }
        let share = total.div_ceil(nodes.max(1));
        let hooks = self.store.claim_webhooks(claim, share).await?;
        let results =
            futures::future::join_all(hooks.iter().map(|h| self.follow(h, claim, deadline))).await;
        if !hooks.is_empty() {
            self.store.release_webhooks(claim).await?;
        }
        let mut next: Option<DateTime<Utc>> = None;
        for r in results {
            match r {
                Ok(Some(due)) => next = Some(next.map_or(due, |n| n.min(due))),
                Ok(None) => {}
                // Another node took the webhook over while this one stalled: it resumes from
                // the last recorded attempt, and this one stops.
                Err(e @ StoreError::ClaimLost { .. }) => {
                    tracing::warn!(error = %e, "delivery: a webhook moved to another node");
                }
                Err(e) => tracing::warn!(error = %e, "delivery: a webhook's round failed"),
            }
        }
        Ok(next)
    }

    /// Sends one webhook's due entries, in order, until one is pending, the feed is done or
    /// the round's time is up. Returns when its pending entry is due again.
    async fn follow(
        &self,
        hook: &Webhook,
        claim: &Claim,
        deadline: tokio::time::Instant,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // `position`: every entry up to it is settled or unwanted; `stored`: the cursor as
        // the database has it. Unwanted entries move the stored cursor lazily (before the
        // next attempt, or at the end), settled ones with their record.
        let mut position = hook.cursor;
        let mut stored = hook.cursor;
        loop {
            let entries = self.store.feed_after(position, None, BATCH).await?;
            if entries.is_empty() {
                break;
            }
            for entry in &entries {
                if !hook.events.accepts(entry.kind) {
                    position = entry.seq;
                    continue;
                }
                if position > stored {
                    self.store.advance_webhook(hook.id, position, claim).await?;
                }
                if let Some(due) = self
                    .attempt(hook, claim, &Notification::new(hook.id, entry))
                    .await?
                {
                    return Ok(Some(due));
                }
                position = entry.seq;
                stored = entry.seq;
                if tokio::time::Instant::now() >= deadline {
                    return Ok(Some(Utc::now()));
                }
            }
        }
        if position > stored {
            self.store.advance_webhook(hook.id, position, claim).await?;
        }
        Ok(None)
    }

    /// Sends `n` if it is due, and records the attempt. Returns when to try again while it is
    /// pending; `None` once it is settled.
    async fn attempt(
        &self,
        hook: &Webhook,
        claim: &Claim,
        n: &Notification,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let previous = self.store.get_delivery(hook.id, n.seq).await?;
        let now = Utc::now();
        if let Some(p) = &previous {
            match (p.status, p.next_attempt_at) {
                (DeliveryStatus::Pending, Some(due)) if due > now => return Ok(Some(due)),
                (DeliveryStatus::Pending, _) => {}
                // Settled but the cursor did not move (a crash between): nothing to send.
                _ => return Ok(None),
            }
        }
        let span = tracing::info_span!("delivery", webhook = hook.id, seq = n.seq, kind = %n.kind);
        let _enter = span.enter();
        let result = self
            .sender
            .send(&hook.url, &hook.secret, hook.format, n)
            .await;
        let now = Utc::now();
        let attempts = previous.as_ref().map_or(0, |p| p.attempts) + 1;
        let first = previous.as_ref().map_or(now, |p| p.first_attempt_at);
        let mut d = Delivery {
            webhook_id: hook.id,
            feed_seq: n.seq,
            kind: n.kind,
            incident_id: n.incident_id,
            idempotency_key: n.idempotency_key.clone(),
            status: DeliveryStatus::Delivered,
            attempts,
            last_status: None,
            last_error: None,
            first_attempt_at: first,
            last_attempt_at: now,
            next_attempt_at: None,
            delivered_at: None,
        };
        let due = match result {
            Ok(status) => {
                d.last_status = Some(status);
                d.delivered_at = Some(now);
                None
            }
            Err(e) => {
                d.last_status = e.status;
                d.last_error = Some(e.message.clone());
                let given_up =
                    (now - first).to_std().unwrap_or_default() >= self.policy.give_up_after;
                if given_up {
                    tracing::warn!(error = %e.message, attempts, "delivery failed for good");
                    d.status = DeliveryStatus::Failed;
                    None
                } else {
                    let jitter: f64 = rand::thread_rng().r#gen();
                    let wait = self.policy.delay(attempts, jitter);
                    let due = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    tracing::info!(error = %e.message, attempts, ?wait, "delivery failed; will retry");
                    d.status = DeliveryStatus::Pending;
                    d.next_attempt_at = Some(due);
                    Some(due)
                }
            }
        };
        self.store.record_delivery(&d, claim).await?;
        let outcome = match (d.status, due) {
            (DeliveryStatus::Failed, _) => "failed",
            (_, Some(_)) => "retry",
            _ => "delivered",
        };
        self.ops.delivery("webhook", outcome);
        Ok(due)
    }
}

/// Runs the worker on every node: a round at once when the feed changes, when a retry is
/// due, and at least every second, until `shutdown`. Each round claims under a new token.
pub async fn run(state: AppState, worker: DeliveryWorker, shutdown: CancellationToken) {
    let mut wake = state.feed.subscribe();
    loop {
        wake.borrow_and_update();
        let mut sleep = IDLE;
        let claim = Claim::new(super::holder(&state.node), CLAIM_TTL);
        let nodes = state.limits.live_nodes();
        match worker
            .round(&claim, nodes, tokio::time::Instant::now() + ROUND)
            .await
        {
            Ok(Some(due)) => {
                sleep = (due - Utc::now()).to_std().unwrap_or_default().min(IDLE);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "delivery round failed; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = wake.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(sleep) => {}
        }
    }
}
