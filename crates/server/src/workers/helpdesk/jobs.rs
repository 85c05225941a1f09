//! Zendesk's side of the write-back: the same comment (or solve) to up to 100 tickets as one
//! `update_many` job, the jobs sent first and then polled together, each ticket's result
//! settling its row.

use super::{MAX_WAIT, Round, broken, give_up_or_retry, incident_tag, resolved_tag, settle};
use crate::plumbing::state::AppState;
use frontline_helpdesk::zendesk::{CallError, Client};
use frontline_store::helpdesks::{HelpdeskWrite, WriteAction, WriteKey, WriteStatus};
use std::collections::HashMap;
use std::time::Duration;

/// What sending a chunk came to.
pub(super) enum Chunk {
    /// A job on the vendor's side, with the writes this node moved to `sending` for it.
    Job(String, Vec<WriteKey>),
    /// Nothing to poll: settled, left to read back, or back to pending.
    Settled,
    /// The connection's circuit opened: nothing more is sent to it this round.
    Stop,
}

/// A job sent, to be polled.
pub(super) struct Submitted<'a> {
    pub(super) job: String,
    pub(super) mine: Vec<WriteKey>,
    pub(super) chunk: &'a [HelpdeskWrite],
}

/// Sends one comment to up to 100 tickets as one job.
pub(super) async fn send_chunk(
    state: &AppState,
    api: &Client,
    chunk: &[HelpdeskWrite],
    report: &mut Round,
) -> anyhow::Result<Chunk> {
    let Some(first) = chunk.first() else {
        return Ok(Chunk::Settled);
    };
    let guards = &state.helpdesk_guards;
    let connection = first.key.connection.as_str();
    let public = first.key.action == WriteAction::Reply;
    let keys: Vec<WriteKey> = chunk.iter().map(|w| w.key.clone()).collect();
    loop {
        // Only what this node moved to `sending` is its to send.
        let mine = state
            .store
            .settle_helpdesk_writes(&keys, WriteStatus::Sending, None)
            .await?;
        if mine.is_empty() {
            return Ok(Chunk::Settled);
        }
        let tickets: Vec<String> = mine.iter().map(|k| k.ticket.clone()).collect();
        guards.spend(connection).await;
        let result = match first.key.action {
            WriteAction::Solve => {
                api.solve_many(
                    &tickets,
                    &incident_tag(first.incident_id),
                    &resolved_tag(first.incident_id),
                )
                .await
            }
            WriteAction::Link => {
                let tags = [incident_tag(first.incident_id)];
                api.update_many(&tickets, &first.body, public, &tags).await
            }
            WriteAction::Reply | WriteAction::Note => {
                api.update_many(&tickets, &first.body, public, &[]).await
            }
        };
        match &result {
            Err(e) if broken(e) => {}
            Err(CallError::RateLimited(_)) => {}
            _ => guards.succeeded(connection),
        }
        match result {
            Ok(job) => return Ok(Chunk::Job(job, mine)),
            Err(CallError::RateLimited(wait)) => {
                // Nothing applied: back to pending, wait as asked, and try again.
                settle(
                    state,
                    &mine,
                    WriteStatus::Pending,
                    Some("rate limited (429)"),
                )
                .await?;
                if wait > MAX_WAIT {
                    report.retried += mine.len();
                    return Ok(Chunk::Settled);
                }
                tokio::time::sleep(wait).await;
            }
            Err(CallError::Refused {
                status: status @ (401 | 403),
                ..
            }) => {
                let error = format!("credentials refused ({status})");
                report.retried += settle(state, &mine, WriteStatus::Pending, Some(&error)).await?;
                return Ok(stop_if(guards.failed(connection)));
            }
            Err(CallError::Refused { status, body }) => {
                let error = format!("refused with {status}: {body}");
                give_up_or_retry(state, &mine, chunk, &error, report).await?;
                return Ok(Chunk::Settled);
            }
            Err(CallError::Unknown(e)) => {
                // Left `sending`: read back from the tickets before anything is sent again.
                tracing::info!(error = %e, tickets = mine.len(), "helpdesk write outcome unknown; will read back");
                report.unknown += mine.len();
                return Ok(stop_if(guards.failed(connection)));
            }
        }
    }
}

pub(super) fn stop_if(opened: bool) -> Chunk {
    if opened { Chunk::Stop } else { Chunk::Settled }
}

/// Polls the jobs sent, all in turn, until each is done, and settles each ticket's write from
/// its job's results. Gives up waiting (the writes stay `sending`, to be read back) when no job
/// finished for three call timeouts.
pub(super) async fn settle_jobs(
    state: &AppState,
    api: &Client,
    connection: &str,
    jobs: &[Submitted<'_>],
    report: &mut Round,
) -> anyhow::Result<()> {
    let patience = Duration::from_millis(state.config.helpdesks.timeout_ms * 3);
    let mut deadline = tokio::time::Instant::now() + patience;
    let mut pause = Duration::from_millis(50);
    let mut waiting: Vec<&Submitted<'_>> = jobs.iter().collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for submitted in waiting {
            state.helpdesk_guards.spend(connection).await;
            match api.job(&submitted.job).await {
                Ok(job) if job.done() => {
                    settle_job(state, &job, submitted, report).await?;
                    deadline = tokio::time::Instant::now() + patience;
                }
                Ok(_) | Err(CallError::Unknown(_)) => still.push(submitted),
                Err(CallError::RateLimited(wait)) => {
                    pause = pause.max(wait.min(MAX_WAIT));
                    still.push(submitted);
                }
                // The job's fate is unknown: its writes stay `sending`, to be read back.
                Err(CallError::Refused { .. }) => report.unknown += submitted.mine.len(),
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            report.unknown += waiting.iter().map(|s| s.mine.len()).sum::<usize>();
            break;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
    Ok(())
}

/// Settles each ticket's write of a finished job from its results.
pub(super) async fn settle_job(
    state: &AppState,
    done: &frontline_helpdesk::zendesk::Job,
    submitted: &Submitted<'_>,
    report: &mut Round,
) -> anyhow::Result<()> {
    let by_ticket: HashMap<&str, (bool, Option<&String>)> = done
        .results
        .iter()
        .map(|(id, ok, e)| (id.as_str(), (*ok, e.as_ref())))
        .collect();
    let mut sent = Vec::new();
    let mut refused = Vec::new();
    for key in &submitted.mine {
        match by_ticket.get(key.ticket.as_str()) {
            Some((true, _)) => sent.push(key.clone()),
            Some((false, _)) => refused.push(key.clone()),
            // Not in the results: unknown, read back later.
            None => report.unknown += 1,
        }
    }
    report.sent += settle(state, &sent, WriteStatus::Sent, None).await?;
    if !refused.is_empty() {
        give_up_or_retry(
            state,
            &refused,
            submitted.chunk,
            "the job did not update this ticket",
            report,
        )
        .await?;
    }
    Ok(())
}
