//! The helpdesk write-back: the approved word reaches every linked ticket, once.
//!
//! A ticket is linked to an incident when a contact from a helpdesk connection is (its id is
//! `TICKET:COMMENT`). Each round plans one ledger row per linked ticket and published version
//! (a `customers` version is a public reply, an `agents` version an internal note); a newer
//! version supersedes unsent older ones, and a ticket linked later gets only the current one.
//! Then it sends: the same comment to up to 100 tickets in one Zendesk `update_many` job, each
//! ticket's result settling its row, or one reply or note per Intercom conversation or
//! Freshdesk ticket. A write whose outcome is unknown (a timeout, a lost answer, a job that did
//! not finish) stays `sending`, and is read back from the ticket before anything is sent
//! again: no helpdesk has an idempotency key for comments, so the ledger and the read-back are
//! what keep a customer from getting the same reply twice.
//!
//! Leader-only (lease `helpdesk`), which also runs the sweeps ([`super::sweep`]) and judges
//! connections gone silent ([`super::intake_gap`]). What each ticket needs is planned in
//! `plan.rs`; each connection's budget and breaker are in [`guard`]; a resolved incident's
//! tickets are solved, and a fan-out stopped, by [`wrap_up`].

pub mod guard;
mod jobs;
mod plan;
pub mod wrap_up;

pub use plan::{incident_tag, resolved_tag};

use jobs::{Chunk, Submitted, send_chunk, settle_jobs};

use crate::plumbing::state::AppState;
use chrono::Utc;
use frontline_helpdesk::HelpdeskKind;
use frontline_helpdesk::clean::clean;
use frontline_helpdesk::per_ticket;
use frontline_helpdesk::zendesk::{CallError, Client, MAX_IDS};
use frontline_store::helpdesks::{Helpdesk, HelpdeskWrite, WriteAction, WriteKey, WriteStatus};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The lease that makes one process write back.
pub const LEASE: &str = "helpdesk";
/// How far back published statements are followed.
const FOLLOW_DAYS: i64 = 90;
/// The longest a 429's wait is honoured within a round before the round moves on.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The longest the background worker goes without planning, whatever the feed says.
const REPLAN: Duration = Duration::from_secs(60);
/// Open writes read per connection and round.
const BATCH: u32 = 5_000;

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Writes newly planned.
    pub planned: usize,
    /// Writes confirmed on their tickets.
    pub sent: usize,
    /// Unknown outcomes found on the ticket (sent before, now confirmed).
    pub found: usize,
    /// Writes to try again (refused, limited, or not found on the ticket).
    pub retried: usize,
    /// Writes given up.
    pub failed: usize,
    /// Writes left with an unknown outcome, to read back later.
    pub unknown: usize,
}

/// One round: plan, then send each connection's open writes.
///
/// # Errors
/// When the store fails; a vendor's failures are recorded on the writes instead.
pub async fn round(state: &AppState) -> anyhow::Result<Round> {
    round_planning(state, true).await
}

/// A round that plans only when `replan` (the background worker plans when the feed moved, as
/// a publication or a link appends to it, and at least every [`REPLAN`]; planning reads every
/// published statement's incident and writes nothing new otherwise).
async fn round_planning(state: &AppState, replan: bool) -> anyhow::Result<Round> {
    let connections: Vec<Helpdesk> = state.store.list_helpdesks().await?;
    let mut report = Round::default();
    if connections.is_empty() {
        return Ok(report);
    }
    if replan {
        report.planned = plan::plan(state, &connections).await?;
    }
    for connection in &connections {
        // A connection whose calls keep failing rests until its circuit's cool-down is over.
        if state.helpdesk_guards.circuit(&connection.name).is_some() {
            continue;
        }
        if let Err(e) = send(state, connection, &mut report).await {
            tracing::warn!(error = %e, connection = %connection.name, "helpdesk write-back failed; retrying next round");
        }
    }
    Ok(report)
}

/// A vendor's API: Zendesk writes many tickets per job, the others one at a time.
pub(crate) enum Api {
    Zendesk(Client),
    PerTicket(per_ticket::Client),
}

impl Api {
    /// The texts on a ticket, cleaned as the write-back's own bodies are compared.
    async fn bodies(&self, ticket: &str) -> Result<Vec<String>, CallError> {
        match self {
            Api::Zendesk(c) => Ok(c.comments(ticket).await?.iter().map(|b| clean(b)).collect()),
            Api::PerTicket(c) => c.bodies(ticket).await,
        }
    }
}

/// A connection's API credentials, unsealed: the write-back's and the sweep's.
pub(crate) fn credentials(
    state: &AppState,
    connection: &Helpdesk,
) -> anyhow::Result<serde_json::Value> {
    let sealer = state.sealing.sealer()?;
    let auth = sealer.open(
        &connection.auth_sealed,
        &crate::api::v1::helpdesks::context(&connection.name, "auth"),
    )?;
    Ok(serde_json::from_slice(&auth)?)
}

/// A client for a connection's API, with its credentials.
pub(crate) fn client(state: &AppState, connection: &Helpdesk) -> anyhow::Result<Api> {
    let auth = credentials(state, connection)?;
    let field = |k: &str| auth[k].as_str().unwrap_or_default().to_owned();
    let timeout = Duration::from_millis(state.config.helpdesks.timeout_ms);
    let kind: HelpdeskKind = connection.kind.parse().map_err(anyhow::Error::msg)?;
    Ok(match kind {
        HelpdeskKind::Zendesk => Api::Zendesk(Client::new(
            &connection.base_url,
            &field("email"),
            &field("api_token"),
            timeout,
        )?),
        HelpdeskKind::Intercom => Api::PerTicket(per_ticket::Client::intercom(
            &connection.base_url,
            &field("access_token"),
            auth["admin_id"].as_str().map(str::to_owned),
            timeout,
        )?),
        HelpdeskKind::Freshdesk => Api::PerTicket(per_ticket::Client::freshdesk(
            &connection.base_url,
            &field("api_key"),
            timeout,
        )?),
    })
}

/// Sends a connection's open writes: unknown outcomes read back first, then pending ones in
/// jobs of up to 100 tickets sharing one comment.
async fn send(state: &AppState, connection: &Helpdesk, report: &mut Round) -> anyhow::Result<()> {
    let open = state
        .store
        .open_helpdesk_writes(&connection.name, BATCH)
        .await?;
    if open.is_empty() {
        return Ok(());
    }
    let api = client(state, connection)?;
    let verify_before =
        Utc::now() - chrono::Duration::milliseconds(state.config.helpdesks.verify_after_ms as i64);
    // A ticket is solved only once nothing else is on its way to it, so the final version
    // is the last thing its customer reads; when the batch is full, what else is open is not
    // known, and solves wait for a round that sees everything.
    let full = open.len() >= BATCH as usize;
    let busy: std::collections::HashSet<String> = open
        .iter()
        .filter(|w| w.key.action != WriteAction::Solve)
        .map(|w| w.key.ticket.clone())
        .collect();
    let (sending, pending): (Vec<HelpdeskWrite>, Vec<HelpdeskWrite>) = open
        .into_iter()
        .filter(|w| {
            w.key.action != WriteAction::Solve
                || w.status == WriteStatus::Sending
                || !(full || busy.contains(&w.key.ticket))
        })
        .partition(|w| w.status == WriteStatus::Sending);
    let guards = &state.helpdesk_guards;
    for write in sending.iter().filter(|w| w.updated_at <= verify_before) {
        if write.key.action == WriteAction::Solve {
            // Solving twice changes nothing: no read-back, just again.
            report.retried += settle(
                state,
                std::slice::from_ref(&write.key),
                WriteStatus::Pending,
                Some("solve outcome unknown; sent again"),
            )
            .await?;
            continue;
        }
        let wanted = clean(&write.body);
        guards.spend(&connection.name).await;
        let read = api.bodies(&write.key.ticket).await;
        match &read {
            Err(e) if broken(e) => {
                // Still unknown: read back again once the connection works.
                if guards.failed(&connection.name) {
                    return Ok(());
                }
                continue;
            }
            Err(CallError::RateLimited(_)) => {}
            _ => guards.succeeded(&connection.name),
        }
        match read {
            Ok(bodies) if bodies.iter().any(|b| b.trim() == wanted.trim()) => {
                report.found += settle(
                    state,
                    std::slice::from_ref(&write.key),
                    WriteStatus::Sent,
                    None,
                )
                .await?;
            }
            Ok(_) => {
                report.retried += settle(
                    state,
                    std::slice::from_ref(&write.key),
                    WriteStatus::Pending,
                    Some("not on the ticket after an unknown outcome"),
                )
                .await?;
            }
            Err(CallError::RateLimited(wait)) => {
                tokio::time::sleep(wait.min(MAX_WAIT)).await;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    // One comment per (statement, version, action) and text (link notes planned at different
    // times carry different talking points): group the tickets that get it.
    let mut groups: BTreeMap<(i64, u32, WriteAction, String), Vec<HelpdeskWrite>> = BTreeMap::new();
    for w in pending {
        groups
            .entry((
                w.key.statement_id,
                w.key.version,
                w.key.action,
                w.body.clone(),
            ))
            .or_default()
            .push(w);
    }
    // Zendesk's jobs run on its side: every chunk is sent first, then their jobs are polled
    // together, so a round waits about one job's time rather than one per hundred tickets.
    let mut jobs: Vec<Submitted<'_>> = Vec::new();
    'groups: for writes in groups.values() {
        match &api {
            Api::Zendesk(zendesk) => {
                for chunk in writes.chunks(MAX_IDS) {
                    match send_chunk(state, zendesk, chunk, report).await? {
                        Chunk::Job(job, mine) => jobs.push(Submitted { job, mine, chunk }),
                        Chunk::Settled => {}
                        Chunk::Stop => break 'groups,
                    }
                }
            }
            Api::PerTicket(one) => {
                for write in writes {
                    if !send_one(state, one, write, report).await? {
                        // Rate limited beyond a round's patience: the rest wait for the next.
                        break 'groups;
                    }
                }
            }
        }
    }
    if let Api::Zendesk(zendesk) = &api {
        settle_jobs(state, zendesk, &connection.name, &jobs, report).await?;
    }
    Ok(())
}

/// Whether a call's failure says the connection, not this write, is broken: no answer or a
/// 5xx (the vendor), or the credentials refused. These pause the connection (its circuit)
/// instead of counting against the write's attempts.
fn broken(e: &CallError) -> bool {
    matches!(
        e,
        CallError::Unknown(_)
            | CallError::Refused {
                status: 401 | 403,
                ..
            }
    )
}

/// Sends one write to one ticket (Intercom, Freshdesk); `false` when the vendor asked for a
/// longer pause than a round waits, or the connection's circuit opened.
async fn send_one(
    state: &AppState,
    api: &per_ticket::Client,
    write: &HelpdeskWrite,
    report: &mut Round,
) -> anyhow::Result<bool> {
    let key = std::slice::from_ref(&write.key);
    let public = write.key.action == WriteAction::Reply;
    loop {
        if state
            .store
            .settle_helpdesk_writes(key, WriteStatus::Sending, None)
            .await?
            .is_empty()
        {
            return Ok(true);
        }
        let guards = &state.helpdesk_guards;
        guards.spend(&write.key.connection).await;
        let ticket = &write.key.ticket;
        let tag = incident_tag(write.incident_id);
        let result = match write.key.action {
            WriteAction::Solve => {
                api.solve(ticket, &tag, &resolved_tag(write.incident_id))
                    .await
            }
            // Tagged first: tagging twice changes nothing, a note twice would show twice.
            WriteAction::Link => match api.tag(ticket, &tag, None).await {
                Ok(()) => api.write(ticket, &write.body, false).await,
                Err(e) => Err(e),
            },
            WriteAction::Reply | WriteAction::Note => api.write(ticket, &write.body, public).await,
        };
        match &result {
            Err(e) if broken(e) => {}
            Err(CallError::RateLimited(_)) => {}
            _ => guards.succeeded(&write.key.connection),
        }
        match result {
            Ok(()) => {
                report.sent += settle(state, key, WriteStatus::Sent, None).await?;
                return Ok(true);
            }
            Err(CallError::Refused {
                status: status @ (401 | 403),
                ..
            }) => {
                let error = format!("credentials refused ({status})");
                report.retried += settle(state, key, WriteStatus::Pending, Some(&error)).await?;
                return Ok(!guards.failed(&write.key.connection));
            }
            Err(CallError::RateLimited(wait)) => {
                settle(state, key, WriteStatus::Pending, Some("rate limited (429)")).await?;
                if wait > MAX_WAIT {
                    report.retried += 1;
                    return Ok(false);
                }
                tokio::time::sleep(wait).await;
            }
            Err(CallError::Refused { status, body }) => {
                let error = format!("refused with {status}: {body}");
                give_up_or_retry(state, key, std::slice::from_ref(write), &error, report).await?;
                return Ok(true);
            }
            Err(CallError::Unknown(e)) => {
                tracing::info!(error = %e, ticket = %write.key.ticket, "helpdesk write outcome unknown; will read back");
                report.unknown += 1;
                return Ok(!guards.failed(&write.key.connection));
            }
        }
    }
}

/// A refused write goes back to pending, or is given up after `max_attempts`.
async fn give_up_or_retry(
    state: &AppState,
    keys: &[WriteKey],
    chunk: &[HelpdeskWrite],
    error: &str,
    report: &mut Round,
) -> anyhow::Result<()> {
    let max = state.config.helpdesks.max_attempts;
    let attempts: HashMap<&WriteKey, u32> =
        chunk.iter().map(|w| (&w.key, w.attempts + 1)).collect();
    let (spent, again): (Vec<WriteKey>, Vec<WriteKey>) = keys
        .iter()
        .cloned()
        .partition(|k| attempts.get(k).copied().unwrap_or(0) >= max);
    report.failed += settle(state, &spent, WriteStatus::Failed, Some(error)).await?;
    report.retried += settle(state, &again, WriteStatus::Pending, Some(error)).await?;
    Ok(())
}

async fn settle(
    state: &AppState,
    keys: &[WriteKey],
    status: WriteStatus,
    error: Option<&str>,
) -> anyhow::Result<usize> {
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(state
        .store
        .settle_helpdesk_writes(keys, status, error)
        .await?
        .len())
}

/// Runs rounds while this process holds the lease, every `helpdesks.interval_ms`.
pub async fn run(state: AppState, shutdown: tokio_util::sync::CancellationToken) {
    let every = Duration::from_millis(state.config.helpdesks.interval_ms);
    let holder = super::holder(&state.node);
    // The feed's head when the worker last planned, and when.
    let mut planned: Option<(i64, std::time::Instant)> = None;
    let mut silences = super::intake_gap::Watch::default();
    loop {
        // No connection, no work: a read, not the lease's write, on every node every round.
        let connected = state
            .store
            .list_helpdesks()
            .await
            .is_ok_and(|c| !c.is_empty());
        let lease = if connected {
            state
                .store
                .acquire_lease(LEASE, &holder, chrono::Duration::seconds(60))
                .await
        } else {
            Ok(None)
        };
        match lease {
            Ok(Some(_)) => {
                let head = state.store.feed_head().await.ok();
                let replan = match (planned, head) {
                    (Some((at_head, at)), Some(head)) => head != at_head || at.elapsed() >= REPLAN,
                    _ => true,
                };
                if replan {
                    planned = head.map(|h| (h, std::time::Instant::now()));
                }
                if let Err(e) = round_planning(&state, replan).await {
                    tracing::warn!(error = %e, "helpdesk write-back round failed; retrying");
                }
                let sweep_every = state.config.helpdesks.sweep_interval_ms;
                if sweep_every > 0 {
                    super::sweep::due(
                        &state,
                        chrono::Duration::milliseconds(
                            i64::try_from(sweep_every).unwrap_or(i64::MAX),
                        ),
                    )
                    .await;
                }
                silences.check(&state).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "helpdesk write-back: the lease could not be read")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    super::release(state.store.as_ref(), LEASE, &holder).await;
}
