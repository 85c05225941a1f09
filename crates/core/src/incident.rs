//! Incidents: the one place both teams work a crisis. Its rules live here (which state may follow
//! which, what a change records on the timeline); stores keep incidents and apply changes through
//! [`Incident::apply`], so every backend enforces the same rules.

use crate::field::{InvalidField, short_text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::{fmt, str::FromStr};

/// How bad an incident is. `SEV1` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    /// Critical: many customers hurt, or a security breach.
    #[serde(rename = "SEV1")]
    Sev1,
    /// Major.
    #[serde(rename = "SEV2")]
    Sev2,
    /// Minor.
    #[serde(rename = "SEV3")]
    Sev3,
    /// Low.
    #[serde(rename = "SEV4")]
    Sev4,
}

impl Severity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "SEV1",
            Severity::Sev2 => "SEV2",
            Severity::Sev3 => "SEV3",
            Severity::Sev4 => "SEV4",
        }
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "SEV1" => Ok(Severity::Sev1),
            "SEV2" => Ok(Severity::Sev2),
            "SEV3" => Ok(Severity::Sev3),
            "SEV4" => Ok(Severity::Sev4),
            other => Err(format!(
                "unknown severity {other:?}: use SEV1, SEV2, SEV3 or SEV4"
            )),
        }
    }
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Something is wrong; the cause is not known yet.
    Investigating,
    /// The cause is known.
    Identified,
    /// A fix is in; watching that it holds.
    Monitoring,
    /// Over.
    Resolved,
}

impl IncidentState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Investigating => "investigating",
            IncidentState::Identified => "identified",
            IncidentState::Monitoring => "monitoring",
            IncidentState::Resolved => "resolved",
        }
    }

    /// Whether an incident in this state may move to `next`. Open states may follow each other
    /// in any order (a fix that does not hold sends `monitoring` back to `identified`); a
    /// resolved incident only reopens, as `investigating`.
    pub fn can_become(self, next: IncidentState) -> bool {
        match self {
            _ if self == next => false,
            IncidentState::Resolved => next == IncidentState::Investigating,
            _ => true,
        }
    }

    /// Whether the incident is still being worked.
    pub fn is_open(self) -> bool {
        self != IncidentState::Resolved
    }
}

impl FromStr for IncidentState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "investigating" => Ok(IncidentState::Investigating),
            "identified" => Ok(IncidentState::Identified),
            "monitoring" => Ok(IncidentState::Monitoring),
            "resolved" => Ok(IncidentState::Resolved),
            other => Err(format!(
                "unknown state {other:?}: use investigating, identified, monitoring or resolved"
            )),
        }
    }
}

/// A seat in the incident's crew, held by one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentRole {
    /// Runs the incident and may publish statements.
    Commander,
    /// Leads the security side.
    SecurityLead,
    /// Leads the customer-experience side.
    CxLead,
    /// Owns what the company says.
    CommsLead,
}

impl IncidentRole {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentRole::Commander => "commander",
            IncidentRole::SecurityLead => "security_lead",
            IncidentRole::CxLead => "cx_lead",
            IncidentRole::CommsLead => "comms_lead",
        }
    }
}

impl FromStr for IncidentRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "commander" => Ok(IncidentRole::Commander),
            "security_lead" => Ok(IncidentRole::SecurityLead),
            "cx_lead" => Ok(IncidentRole::CxLead),
            "comms_lead" => Ok(IncidentRole::CommsLead),
            other => Err(format!(
                "unknown incident role {other:?}: use commander, security_lead, cx_lead or comms_lead"
            )),
        }
    }
}

/// A signal an incident can be linked to. A signal belongs to at most one incident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An early-warning alert, by id.
    Alert {
        /// The alert id.
        id: String,
    },
    /// A security event, by its source and the source's id.
    SecurityEvent {
        /// The event's source.
        source: String,
        /// The source's id.
        id: String,
    },
    /// A customer contact, by its source and the source's id.
    Contact {
        /// The contact's source.
        source: String,
        /// The source's id.
        id: String,
    },
    /// A CX agent's report, by id.
    Report {
        /// The report id.
        id: i64,
    },
}

impl Signal {
    /// The storage key: kind, source (empty where the kind has none) and id.
    pub fn key(&self) -> (&'static str, String, String) {
        match self {
            Signal::Alert { id } => ("alert", String::new(), id.clone()),
            Signal::SecurityEvent { source, id } => ("security_event", source.clone(), id.clone()),
            Signal::Contact { source, id } => ("contact", source.clone(), id.clone()),
            Signal::Report { id } => ("report", String::new(), id.to_string()),
        }
    }

    /// The signal of a storage key.
    ///
    /// # Errors
    /// A message when the kind is unknown or a report id is not a number.
    pub fn from_key(kind: &str, source: String, id: String) -> Result<Self, String> {
        match kind {
            "alert" => Ok(Signal::Alert { id }),
            "security_event" => Ok(Signal::SecurityEvent { source, id }),
            "contact" => Ok(Signal::Contact { source, id }),
            "report" => id
                .parse()
                .map(|id| Signal::Report { id })
                .map_err(|_| format!("report id {id:?} is not a number")),
            other => Err(format!("unknown signal kind {other:?}")),
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::Alert { id } => write!(f, "alert {id}"),
            Signal::SecurityEvent { source, id } => write!(f, "security event {source}/{id}"),
            Signal::Contact { source, id } => write!(f, "contact {source}/{id}"),
            Signal::Report { id } => write!(f, "report {id}"),
        }
    }
}

/// Where a signal stands with incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalState {
    /// Linked to this incident.
    Linked(i64),
    /// Unlinked by someone: left alone by the correlator.
    Unlinked,
    /// Never linked.
    Free,
}

/// A signal linked to an incident: who linked it, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The signal.
    #[serde(flatten)]
    pub signal: Signal,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
    /// Who linked it (`user:alice`, `system` for the correlator).
    pub linked_by: String,
}

/// An incident with its links, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDetail {
    /// The incident.
    pub incident: Incident,
    /// Its linked signals, in the order they were linked.
    pub links: Vec<Link>,
}

/// A piece of work in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// Numbered from 1 within the incident.
    pub id: u32,
    /// What to do.
    pub title: String,
    /// Who does it (a user name), if anyone yet.
    pub owner: Option<String>,
    /// Whether it is done.
    pub done: bool,
}

/// An incident as stored, without its links (kept apart, one row per signal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Numbered from 1 by the store.
    pub id: i64,
    /// One line saying what is going on.
    pub title: String,
    /// How bad.
    pub severity: Severity,
    /// Where it stands.
    pub state: IncidentState,
    /// The services hurt.
    pub services: Vec<String>,
    /// Who holds which seat.
    pub roles: BTreeMap<IncidentRole, String>,
    /// Work items.
    pub tasks: Vec<Task>,
    /// Why it was opened, when the correlator opened it (which signals, which rule).
    pub reason: Option<String>,
    /// Who opened it (`user:alice`, `system`).
    pub opened_by: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last resolved; `None` while open.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The incident it was merged into, if it was.
    pub merged_into: Option<i64>,
    /// Opened by the correlator as a proposal, not yet accepted by a person.
    #[serde(default)]
    pub proposed: bool,
}

/// Longest incident title, in bytes.
pub const MAX_TITLE: usize = 200;
/// Longest note, in bytes.
pub const MAX_NOTE: usize = 10_000;
/// Most services per incident.
pub const MAX_SERVICES: usize = 50;
/// Most tasks per incident.
pub const MAX_TASKS: usize = 200;

/// A checked request to open an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Services hurt.
    pub services: Vec<String>,
    /// Why (set by the correlator).
    pub reason: Option<String>,
    /// Signals to link at once.
    pub signals: Vec<Signal>,
    /// A proposal (the correlator's, in `propose` mode) that a person should accept.
    pub proposed: bool,
}

/// A checked change to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange {
    /// Fields of the incident itself; `None` leaves a field as it is.
    Update {
        /// New title.
        title: Option<String>,
        /// New severity.
        severity: Option<Severity>,
        /// New state.
        state: Option<IncidentState>,
        /// New list of services.
        services: Option<Vec<String>>,
    },
    /// Gives a seat to a user (who must exist), or frees it (`None`).
    AssignRole {
        /// The seat.
        role: IncidentRole,
        /// The user's name.
        user: Option<String>,
    },
    /// Adds a task.
    AddTask {
        /// What to do.
        title: String,
        /// Who (must exist).
        owner: Option<String>,
    },
    /// Changes a task.
    UpdateTask {
        /// Which.
        id: u32,
        /// Done or not.
        done: Option<bool>,
        /// New owner (must exist).
        owner: Option<String>,
    },
    /// An internal note (never public).
    Note {
        /// The text.
        body: String,
    },
    /// Links signals.
    Link(Vec<Signal>),
    /// Unlinks signals.
    Unlink(Vec<Signal>),
    /// Accepts a proposed incident: people now work it.
    Accept,
    /// Closes this incident as merged into another (its signals move there).
    MergedInto(i64),
    /// Records that another incident was merged into this one.
    Absorbed(i64),
    /// Records that some of this incident's signals moved to a new incident.
    SplitInto(i64),
    /// Reminds the commander and comms lead that a public update is overdue.
    Remind {
        /// When the update was due.
        due_at: DateTime<Utc>,
        /// The last public update, if any.
        last_update_at: Option<DateTime<Utc>>,
        /// The expected interval, in minutes.
        interval_minutes: i64,
    },
}

impl IncidentChange {
    /// The user names the change refers to, which must exist.
    pub fn users(&self) -> Vec<&str> {
        match self {
            IncidentChange::AssignRole { user: Some(u), .. } => vec![u],
            IncidentChange::AddTask { owner: Some(u), .. }
            | IncidentChange::UpdateTask { owner: Some(u), .. } => vec![u],
            _ => Vec::new(),
        }
    }
}

/// Why a change cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// A field's value is wrong.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The change does not fit the incident as it is now (an illegal state change).
    #[error("{0}")]
    Conflict(String),
    /// Something the change names does not exist.
    #[error("{0} not found")]
    NotFound(String),
}

/// What a change puts on the timeline and the live feed: its kind and its details.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The feed kind (see [`crate::feed::FeedKind`]).
    pub kind: crate::feed::FeedKind,
    /// What changed, as JSON.
    pub data: serde_json::Value,
}

impl Incident {
    /// A new incident as the store is about to keep it.
    pub fn open(id: i64, new: &NewIncident, by: String, now: DateTime<Utc>) -> Self {
        Self {
            id,
            title: new.title.clone(),
            severity: new.severity,
            state: IncidentState::Investigating,
            services: new.services.clone(),
            roles: BTreeMap::new(),
            tasks: Vec::new(),
            reason: new.reason.clone(),
            opened_by: by,
            opened_at: now,
            updated_at: now,
            resolved_at: None,
            merged_into: None,
            proposed: new.proposed,
        }
    }

    /// Applies a change (links are the store's: this only records them), returning what to
    /// record. A change that changes nothing records nothing.
    ///
    /// # Errors
    /// [`ChangeError`] when the change is illegal now; the incident is then unchanged.
    pub fn apply(
        &mut self,
        change: &IncidentChange,
        now: DateTime<Utc>,
    ) -> Result<Vec<Recorded>, ChangeError> {
        use crate::feed::FeedKind::{IncidentNote, IncidentUpdated};
        use serde_json::json;
        let mut out = Vec::new();
        match change {
            IncidentChange::Update {
                title,
                severity,
                state,
                services,
            } => {
                if let Some(next) = state
                    && *next != self.state
                    && !self.state.can_become(*next)
                {
                    return Err(ChangeError::Conflict(format!(
                        "a {} incident cannot become {}",
                        self.state.as_str(),
                        next.as_str()
                    )));
                }
                if let Some(t) = title
                    && *t != self.title
                {
                    out.push(json!({"change": "title", "from": self.title, "to": t}));
                    self.title = t.clone();
                }
                if let Some(s) = severity
                    && *s != self.severity
                {
                    out.push(json!({"change": "severity", "from": self.severity, "to": s}));
                    self.severity = *s;
                }
                if let Some(s) = services
                    && *s != self.services
                {
                    out.push(json!({"change": "services", "from": self.services, "to": s}));
                    self.services = s.clone();
                }
                if let Some(next) = state
                    && *next != self.state
                {
                    out.push(json!({"change": "state", "from": self.state, "to": next}));
                    self.state = *next;
                    self.resolved_at = (*next == IncidentState::Resolved).then_some(now);
                }
            }
            IncidentChange::AssignRole { role, user } => {
                let before = self.roles.get(role).cloned();
                if before != *user {
                    out.push(json!({"change": "role", "role": role, "from": before, "to": user}));
                    match user {
                        Some(u) => self.roles.insert(*role, u.clone()),
                        None => self.roles.remove(role),
                    };
                }
            }
            IncidentChange::AddTask { title, owner } => {
                if self.tasks.len() >= MAX_TASKS {
                    return Err(ChangeError::Conflict(format!(
                        "an incident holds at most {MAX_TASKS} tasks"
                    )));
                }
                let id = self.tasks.iter().map(|t| t.id).max().unwrap_or(0) + 1;
                let task = Task {
                    id,
                    title: title.clone(),
                    owner: owner.clone(),
                    done: false,
                };
                out.push(json!({"change": "task_added", "task": task}));
                self.tasks.push(task);
            }
            IncidentChange::UpdateTask { id, done, owner } => {
                let task = self
                    .tasks
                    .iter_mut()
                    .find(|t| t.id == *id)
                    .ok_or_else(|| ChangeError::NotFound(format!("task {id}")))?;
                let before = task.clone();
                if let Some(d) = done {
                    task.done = *d;
                }
                if owner.is_some() {
                    task.owner.clone_from(owner);
                }
                if *task != before {
                    out.push(json!({"change": "task_updated", "from": before, "to": task}));
                }
            }
            IncidentChange::Note { body } => {
                return Ok(vec![Recorded {
                    kind: IncidentNote,
                    data: json!({"body": body}),
                }]);
            }
            IncidentChange::Accept => {
                if self.proposed {
                    self.proposed = false;
                    out.push(json!({"change": "accepted"}));
                }
            }
            IncidentChange::MergedInto(other) => {
                if *other == self.id {
                    return Err(ChangeError::Conflict(
                        "an incident cannot be merged into itself".into(),
                    ));
                }
                if self.merged_into.is_some() {
                    return Err(ChangeError::Conflict(format!(
                        "incident {} is already merged",
                        self.id
                    )));
                }
                self.merged_into = Some(*other);
                out.push(json!({"change": "merged_into", "to": other}));
                if self.state != IncidentState::Resolved {
                    out.push(json!({"change": "state", "from": self.state, "to": IncidentState::Resolved}));
                    self.state = IncidentState::Resolved;
                    self.resolved_at = Some(now);
                }
            }
            IncidentChange::Absorbed(other) => {
                out.push(json!({"change": "absorbed", "from": other}));
            }
            IncidentChange::SplitInto(other) => {
                out.push(json!({"change": "split_into", "to": other}));
            }
            IncidentChange::Remind {
                due_at,
                last_update_at,
                interval_minutes,
            } => {
                return Ok(vec![Recorded {
                    kind: crate::feed::FeedKind::IncidentReminder,
                    data: json!({
                        "due_at": due_at,
                        "last_public_update_at": last_update_at,
                        "interval_minutes": interval_minutes,
                        "commander": self.roles.get(&IncidentRole::Commander),
                        "comms_lead": self.roles.get(&IncidentRole::CommsLead),
                    }),
                }]);
            }
            IncidentChange::Link(signals) | IncidentChange::Unlink(signals) => {
                if !signals.is_empty() {
                    let change = if matches!(change, IncidentChange::Link(_)) {
                        "linked"
                    } else {
                        "unlinked"
                    };
                    out.push(json!({"change": change, "signals": signals}));
                }
            }
        }
        if !out.is_empty() {
            self.updated_at = now;
        }
        Ok(out
            .into_iter()
            .map(|data| Recorded {
                kind: IncidentUpdated,
                data,
            })
            .collect())
    }
}

/// Checks a title.
///
/// # Errors
/// [`InvalidField`] naming `title`.
pub fn title(value: String) -> Result<String, InvalidField> {
    short_text(value, "title", MAX_TITLE)
}

/// Checks a list of service names: each short, no duplicates kept, at most [`MAX_SERVICES`].
///
/// # Errors
/// [`InvalidField`] naming `services[i]`.
pub fn services(values: Vec<String>) -> Result<Vec<String>, InvalidField> {
    if values.len() > MAX_SERVICES {
        return Err(InvalidField::new(
            "services",
            format!("at most {MAX_SERVICES} services"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let v = short_text(v, &format!("services[{i}]"), 200)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Checks a note's body: not blank, at most [`MAX_NOTE`] bytes. Line breaks are kept.
///
/// # Errors
/// [`InvalidField`] naming `body`.
pub fn note(value: String) -> Result<String, InvalidField> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidField::new("body", "must not be empty"));
    }
    if trimmed.len() > MAX_NOTE {
        return Err(InvalidField::new(
            "body",
            format!("must be at most {MAX_NOTE} bytes, got {}", trimmed.len()),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(InvalidField::new(
            "body",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> Incident {
        Incident::open(
            1,
            &NewIncident {
                title: "Phishing".into(),
                severity: Severity::Sev2,
                services: vec![],
                reason: None,
                signals: vec![],
                proposed: false,
            },
            "user:alice".into(),
            Utc::now(),
        )
    }

    fn update(state: IncidentState) -> IncidentChange {
        IncidentChange::Update {
            title: None,
            severity: None,
            state: Some(state),
            services: None,
        }
    }

    #[test]
    fn resolved_incidents_only_reopen_as_investigating() {
        let mut i = incident();
        i.apply(&update(IncidentState::Resolved), Utc::now())
            .unwrap();
        assert!(i.resolved_at.is_some());
        let err = i
            .apply(&update(IncidentState::Monitoring), Utc::now())
            .unwrap_err();
        assert!(matches!(err, ChangeError::Conflict(_)), "{err:?}");
        assert_eq!(i.state, IncidentState::Resolved);
        let recorded = i
            .apply(&update(IncidentState::Investigating), Utc::now())
            .unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].data["to"], "investigating");
        assert!(i.resolved_at.is_none());
    }

    #[test]
    fn a_change_that_changes_nothing_records_nothing() {
        let mut i = incident();
        let before = i.updated_at;
        let recorded = i
            .apply(&update(IncidentState::Investigating), Utc::now())
            .unwrap();
        assert!(recorded.is_empty());
        assert_eq!(i.updated_at, before);
    }

    #[test]
    fn tasks_are_numbered_and_updated_by_id() {
        let mut i = incident();
        for t in ["block sender", "warn customers"] {
            i.apply(
                &IncidentChange::AddTask {
                    title: t.into(),
                    owner: None,
                },
                Utc::now(),
            )
            .unwrap();
        }
        assert_eq!(i.tasks[1].id, 2);
        i.apply(
            &IncidentChange::UpdateTask {
                id: 2,
                done: Some(true),
                owner: Some("bob".into()),
            },
            Utc::now(),
        )
        .unwrap();
        assert!(i.tasks[1].done && !i.tasks[0].done);
        let err = i
            .apply(
                &IncidentChange::UpdateTask {
                    id: 9,
                    done: Some(true),
                    owner: None,
                },
                Utc::now(),
            )
            .unwrap_err();
        assert_eq!(err, ChangeError::NotFound("task 9".into()));
    }

    #[test]
    fn notes_keep_line_breaks_and_refuse_other_controls() {
        assert_eq!(note("a\nb ".into()).unwrap(), "a\nb");
        assert_eq!(note(" ".into()).unwrap_err().field, "body");
        assert!(note("a\u{7}".into()).is_err());
        assert!(note("x".repeat(MAX_NOTE + 1)).is_err());
    }

    #[test]
    fn signals_round_trip_through_their_keys() {
        for s in [
            Signal::Alert { id: "a".into() },
            Signal::SecurityEvent {
                source: "siem".into(),
                id: "1".into(),
            },
            Signal::Contact {
                source: "zendesk".into(),
                id: "2".into(),
            },
            Signal::Report { id: 7 },
        ] {
            let (k, src, id) = s.key();
            assert_eq!(Signal::from_key(k, src, id).unwrap(), s);
        }
    }
}
