//! Opening and changing incidents, once for every backend. A backend supplies the few steps
//! that speak SQL inside one of its write transactions ([`IncidentTx`]); the order of those
//! steps, the checks, the timeline entries and the audit records are decided here, so both
//! backends refuse the same things and record the same things.

use crate::{Origin, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use frontline_core::audit::AuditEntry;
use frontline_core::feed::{FeedKind, NewFeedEntry};
use frontline_core::incident::{
    ChangeError, Incident, IncidentChange, IncidentDetail, IncidentState, Link, NewIncident,
    Signal, SignalState,
};
use frontline_core::report::Report;
use frontline_core::statement::{Audience, Statement};
use serde_json::json;

/// Signals asked about per query by the stores' [`crate::Store::signal_states`] (three bound
/// values each, twice: far below SQLite's and PostgreSQL's limits).
pub const SIGNALS_PER_QUERY: usize = 300;

/// The state of each of `signals`, in order, from the rows a store found for them: `(kind,
/// source, ref_id, Some(incident))` from the links, `(…, None)` from the signals people
/// unlinked. A link wins over an old unlinking; a signal with no row is free.
pub fn signal_states_from(
    signals: &[Signal],
    rows: impl IntoIterator<Item = (String, String, String, Option<i64>)>,
) -> Vec<SignalState> {
    let mut found: std::collections::HashMap<(String, String, String), SignalState> =
        std::collections::HashMap::new();
    for (kind, source, id, incident) in rows {
        let state = incident.map_or(SignalState::Unlinked, SignalState::Linked);
        let entry = found.entry((kind, source, id)).or_insert(state);
        if matches!(state, SignalState::Linked(_)) {
            *entry = state;
        }
    }
    signals
        .iter()
        .map(|s| {
            let (kind, source, id) = s.key();
            found
                .get(&(kind.to_owned(), source, id))
                .copied()
                .unwrap_or(SignalState::Free)
        })
        .collect()
}

/// The steps of an incident change, inside one write transaction of a backend.
#[async_trait]
pub trait IncidentTx: Send {
    /// The id the next incident gets.
    async fn next_incident_id(&mut self) -> Result<i64, StoreError>;
    /// Reads an incident, locking it against concurrent changes until the transaction ends.
    async fn load_incident(&mut self, id: i64) -> Result<Option<Incident>, StoreError>;
    /// Writes an incident (`new`: insert, else update).
    async fn save_incident(&mut self, incident: &Incident, new: bool) -> Result<(), StoreError>;
    /// Whether a user of that name exists.
    async fn user_exists(&mut self, name: &str) -> Result<bool, StoreError>;
    /// When the signal happened (an alert's start, an event's observation, a contact's
    /// receipt, a report's filing), or `None` when it does not exist.
    async fn signal_time(&mut self, signal: &Signal) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// The incident the signal is linked to, if any.
    async fn linked_incident(&mut self, signal: &Signal) -> Result<Option<i64>, StoreError>;
    /// Links a signal to an incident.
    async fn insert_link(
        &mut self,
        incident: i64,
        signal: &Signal,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<(), StoreError>;
    /// The links of an incident, in link order.
    async fn links(&mut self, incident: i64) -> Result<Vec<Link>, StoreError>;
    /// Unlinks a signal from an incident; whether it was linked there. Also remembers that the
    /// signal was unlinked, so the correlator does not link it again by itself.
    async fn delete_link(&mut self, incident: i64, signal: &Signal) -> Result<bool, StoreError>;
    /// Stores a new report (its `id` is ignored); returns its id.
    async fn insert_report(&mut self, report: &Report) -> Result<i64, StoreError>;
    /// Reads a report, locking it like [`IncidentTx::load_incident`].
    async fn load_report(&mut self, id: i64) -> Result<Option<Report>, StoreError>;
    /// Writes a report's new state.
    async fn save_report(&mut self, report: &Report) -> Result<(), StoreError>;
    /// Stores a new statement (its `id` is ignored); returns its id.
    async fn insert_statement(&mut self, statement: &Statement) -> Result<i64, StoreError>;
    /// Reads a statement, locking it like [`IncidentTx::load_incident`].
    async fn load_statement(&mut self, id: i64) -> Result<Option<Statement>, StoreError>;
    /// Writes a statement back.
    async fn save_statement(&mut self, statement: &Statement) -> Result<(), StoreError>;
    /// The statements of an incident, oldest first.
    async fn statements_of(&mut self, incident: i64) -> Result<Vec<Statement>, StoreError>;
    /// Appends a feed entry; returns its `seq`.
    async fn append_feed(&mut self, entry: &NewFeedEntry) -> Result<i64, StoreError>;
    /// Appends an audit record.
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
}

fn change_error(e: ChangeError) -> StoreError {
    match e {
        ChangeError::Invalid(f) => StoreError::Invalid {
            field: f.field,
            reason: f.reason,
        },
        ChangeError::Conflict(constraint) => StoreError::Conflict { constraint },
        ChangeError::NotFound(what) => StoreError::NotFound { what },
    }
}

/// Opens an incident, links its first signals, and records `incident.opened`.
///
/// # Errors
/// [`StoreError::NotFound`] for a signal that does not exist; [`StoreError::Conflict`] for one
/// already linked to another incident.
pub async fn open(
    tx: &mut dyn IncidentTx,
    new: &NewIncident,
    origin: &Origin,
) -> Result<Incident, StoreError> {
    let now = Utc::now();
    let id = tx.next_incident_id().await?;
    let incident = Incident::open(id, new, origin.actor.to_string(), now);
    tx.save_incident(&incident, true).await?;
    tx.append_feed(&NewFeedEntry {
        kind: FeedKind::IncidentOpened,
        incident_id: Some(id),
        actor: origin.actor.to_string(),
        data: json!({
            "title": incident.title,
            "severity": incident.severity,
            "services": incident.services,
            "reason": incident.reason,
        }),
    })
    .await?;
    tx.append_audit(
        &AuditEntry::new(
            origin.actor.clone(),
            "incident.open",
            format!("incident:{id}"),
        )
        .with_detail(json!({"severity": incident.severity, "signals": new.signals.len()}))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone()),
    )
    .await?;
    if !new.signals.is_empty() {
        change_loaded(
            tx,
            incident,
            &IncidentChange::Link(new.signals.clone()),
            origin,
            now,
        )
        .await
    } else {
        Ok(incident)
    }
}

/// Applies changes to incident `id`, in order: checks each, writes it, links or unlinks
/// signals, records the timeline entries and an audit record per change. The caller commits
/// only when this succeeds, so a failing change leaves nothing of the others.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown incident, user, task or signal;
/// [`StoreError::Conflict`] for an illegal state change or a signal linked elsewhere.
pub async fn change(
    tx: &mut dyn IncidentTx,
    id: i64,
    changes: &[IncidentChange],
    origin: &Origin,
) -> Result<Incident, StoreError> {
    let mut incident = tx
        .load_incident(id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("incident {id}"),
        })?;
    let now = Utc::now();
    for change in changes {
        incident = change_loaded(tx, incident, change, origin, now).await?;
    }
    Ok(incident)
}

async fn change_loaded(
    tx: &mut dyn IncidentTx,
    mut incident: Incident,
    change: &IncidentChange,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Incident, StoreError> {
    for user in change.users() {
        if !tx.user_exists(user).await? {
            return Err(StoreError::NotFound {
                what: format!("user {user:?}"),
            });
        }
    }
    let actor = origin.actor.to_string();
    // Links first: they are the part that can fail on the database's state.
    let mut effective = Vec::new();
    let mut times = Vec::new();
    match change {
        IncidentChange::Link(signals) => {
            for s in signals {
                let Some(at) = tx.signal_time(s).await? else {
                    return Err(StoreError::NotFound {
                        what: s.to_string(),
                    });
                };
                match tx.linked_incident(s).await? {
                    Some(other) if other == incident.id => {}
                    Some(other) => {
                        return Err(StoreError::Conflict {
                            constraint: format!(
                                "{s} is linked to incident {other}; unlink it there first"
                            ),
                        });
                    }
                    None => {
                        tx.insert_link(incident.id, s, now, &actor).await?;
                        effective.push(s.clone());
                        times.push(at);
                    }
                }
            }
        }
        IncidentChange::Unlink(signals) => {
            for s in signals {
                if tx.delete_link(incident.id, s).await? {
                    effective.push(s.clone());
                }
            }
        }
        _ => {}
    }
    let applied = match change {
        IncidentChange::Link(_) => IncidentChange::Link(effective),
        IncidentChange::Unlink(_) => IncidentChange::Unlink(effective),
        other => other.clone(),
    };
    let mut recorded = incident.apply(&applied, now).map_err(change_error)?;
    if recorded.is_empty() {
        return Ok(incident);
    }
    // The timeline keeps when each linked signal happened, not only when it was linked: the
    // review measures from the first customer contact and the first alert.
    if !times.is_empty() {
        for r in &mut recorded {
            if let Some(list) = r.data["signals"].as_array_mut() {
                for (signal, at) in list.iter_mut().zip(&times) {
                    signal["at"] = json!(at);
                }
            }
        }
    }
    if matches!(
        applied,
        IncidentChange::Update {
            state: Some(IncidentState::Resolved),
            ..
        }
    ) {
        final_word_said(tx, incident.id).await?;
    }
    tx.save_incident(&incident, false).await?;
    for r in &recorded {
        tx.append_feed(&NewFeedEntry {
            kind: r.kind,
            incident_id: Some(incident.id),
            actor: actor.clone(),
            data: r.data.clone(),
        })
        .await?;
    }
    // The audit record names what changed, never a note's text.
    let what: Vec<&str> = recorded
        .iter()
        .map(|r| r.data["change"].as_str().unwrap_or(r.kind.as_str()))
        .collect();
    tx.append_audit(
        &AuditEntry::new(
            origin.actor.clone(),
            "incident.change",
            format!("incident:{}", incident.id),
        )
        .with_detail(json!({"changes": what}))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone()),
    )
    .await?;
    Ok(incident)
}

/// Merges incident `from` into `into`: every signal of `from` moves to `into`, `from` is
/// resolved as merged, and both timelines say so.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown incident; [`StoreError::Conflict`] when both are
/// the same, or either was merged already.
pub async fn merge(
    tx: &mut dyn IncidentTx,
    into: i64,
    from: i64,
    origin: &Origin,
) -> Result<Incident, StoreError> {
    if into == from {
        return Err(StoreError::Conflict {
            constraint: "an incident cannot be merged into itself".into(),
        });
    }
    // Lock in id order, so two merges in opposite directions cannot deadlock.
    let (first, second) = (into.min(from), into.max(from));
    let a = load(tx, first).await?;
    let b = load(tx, second).await?;
    let (target, source) = if first == into { (a, b) } else { (b, a) };
    if let Some(m) = target.merged_into {
        return Err(StoreError::Conflict {
            constraint: format!("incident {into} was merged into incident {m}"),
        });
    }
    let signals = signals_of(tx, from).await?;
    let now = Utc::now();
    let source = change_loaded(
        tx,
        source,
        &IncidentChange::Unlink(signals.clone()),
        origin,
        now,
    )
    .await?;
    change_loaded(tx, source, &IncidentChange::MergedInto(into), origin, now).await?;
    let target = change_loaded(tx, target, &IncidentChange::Link(signals), origin, now).await?;
    change_loaded(tx, target, &IncidentChange::Absorbed(from), origin, now).await
}

/// Splits incident `from`: opens `new` and moves `new.signals` (which must be linked to
/// `from`) there. Returns the new incident.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown incident; [`StoreError::Conflict`] for a signal not
/// linked to `from`.
pub async fn split(
    tx: &mut dyn IncidentTx,
    from: i64,
    new: &NewIncident,
    origin: &Origin,
) -> Result<Incident, StoreError> {
    let source = load(tx, from).await?;
    let linked = signals_of(tx, from).await?;
    if let Some(s) = new.signals.iter().find(|s| !linked.contains(s)) {
        return Err(StoreError::Conflict {
            constraint: format!("{s} is not linked to incident {from}"),
        });
    }
    let now = Utc::now();
    let source = change_loaded(
        tx,
        source,
        &IncidentChange::Unlink(new.signals.clone()),
        origin,
        now,
    )
    .await?;
    let opened = open(tx, new, origin).await?;
    change_loaded(
        tx,
        source,
        &IncidentChange::SplitInto(opened.id),
        origin,
        now,
    )
    .await?;
    Ok(opened)
}

async fn load(tx: &mut dyn IncidentTx, id: i64) -> Result<Incident, StoreError> {
    tx.load_incident(id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("incident {id}"),
        })
}

async fn signals_of(tx: &mut dyn IncidentTx, id: i64) -> Result<Vec<Signal>, StoreError> {
    Ok(tx.links(id).await?.into_iter().map(|l| l.signal).collect())
}

/// One write to incidents, as the store's methods ask for it.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// [`open`].
    Open(&'a NewIncident),
    /// [`change`].
    Change(i64, &'a [IncidentChange]),
    /// [`merge`] `from` into `into`.
    Merge {
        /// The incident that remains.
        into: i64,
        /// The incident merged into it.
        from: i64,
    },
    /// [`split`] `new` off `from`.
    Split {
        /// The incident split.
        from: i64,
        /// The new incident and the signals it takes.
        new: &'a NewIncident,
    },
}

impl Op<'_> {
    /// Runs the write inside `tx` and reads back the incident it answers with (the opened,
    /// changed or remaining one; for a split, the new one) with its links. The caller commits.
    ///
    /// # Errors
    /// As the write's function.
    pub async fn run(
        self,
        tx: &mut dyn IncidentTx,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError> {
        let incident = match self {
            Op::Open(new) => open(tx, new, origin).await?,
            Op::Change(id, changes) => change(tx, id, changes, origin).await?,
            Op::Merge { into, from } => merge(tx, into, from, origin).await?,
            Op::Split { from, new } => split(tx, from, new, origin).await?,
        };
        let links = tx.links(incident.id).await?;
        Ok(IncidentDetail { incident, links })
    }
}

/// Once anything was said in public about an incident, it is resolved only after a final public
/// statement: customers who read "we are investigating" must read how it ended.
async fn final_word_said(tx: &mut dyn IncidentTx, incident: i64) -> Result<(), StoreError> {
    let public: Vec<Statement> = tx
        .statements_of(incident)
        .await?
        .into_iter()
        .filter(|s| s.audience == Audience::Public && !s.publications.is_empty())
        .collect();
    if !public.is_empty() && !public.iter().any(Statement::final_published) {
        return Err(StatementsPending.into());
    }
    Ok(())
}

struct StatementsPending;

impl From<StatementsPending> for StoreError {
    fn from(_: StatementsPending) -> Self {
        StoreError::Conflict {
            constraint: "a public statement was published; publish a final public statement \
                         (\"final\": true) before resolving"
                .into(),
        }
    }
}
