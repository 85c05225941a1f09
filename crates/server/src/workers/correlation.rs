//! The correlation worker: gathers recent alerts, reports and security events that no incident
//! holds (and that nobody unlinked), profiles the open incidents, asks
//! `frontline_pipeline::correlate` what belongs together, and applies it: signals join an open
//! incident (with a note saying why), or a group strong enough opens a new one (or proposes
//! it). Everything it does is done as `system` and is on the incident's timeline.

use crate::plumbing::config::{CorrelationConfig, CorrelationMode};
use chrono::{DateTime, Duration, Utc};
use frontline_core::alert::AlertState;
use frontline_core::audit::Actor;
use frontline_core::incident::{IncidentChange, NewIncident, Signal, SignalState};
use frontline_core::report::ReportState;
use frontline_core::security_event::Severity as EventSeverity;
use frontline_pipeline::correlate::{
    Candidate, Decision, Evidence, Profile, Rules, Settings, correlate,
};
use frontline_store::{
    AlertQuery, IncidentQuery, Origin, ReportQuery, SecurityEventQuery, Store, StoreError,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The lease that makes one process correlate at a time.
pub const LEASE: &str = "correlation";
/// How long it lasts without renewal.
pub const LEASE_TTL: Duration = Duration::seconds(30);
/// Most signals of each kind considered per round.
const MAX_SIGNALS: u32 = 1000;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Signals linked to incidents that were open already.
    pub joined: usize,
    /// Incidents opened (or proposed).
    pub opened: usize,
}

/// The worker.
pub struct CorrelationWorker {
    store: Arc<dyn Store>,
    rules: Rules,
    settings: Settings,
    mode: CorrelationMode,
    lookback: Duration,
}

impl CorrelationWorker {
    /// A worker with the configured rules and settings.
    ///
    /// # Errors
    /// When a rule does not compile (checked at startup already).
    pub fn new(store: Arc<dyn Store>, config: &CorrelationConfig) -> Result<Self, String> {
        Ok(Self {
            store,
            rules: config.rules()?,
            settings: config.settings(),
            mode: config.mode,
            lookback: Duration::hours(config.lookback_hours),
        })
    }

    /// The topics the rules give a security event (empty when none matches).
    pub fn event_topics(
        &self,
        e: &frontline_core::security_event::NewSecurityEvent,
    ) -> Vec<String> {
        self.rules
            .topics_of(&e.source, &e.title, &e.indicators)
            .map(|(_, t)| t)
            .unwrap_or_default()
    }

    /// One round if this process holds the lease (`None` when another does).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn step(
        &self,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Round>, StoreError> {
        let Some(lease) = self.store.acquire_lease(LEASE, holder, LEASE_TTL).await? else {
            return Ok(None);
        };
        match self.round_under(now, Some(lease)).await {
            // Another node took the lease while this round ran: it wrote nothing, and the
            // new holder correlates the same signals.
            Err(StoreError::Fenced { .. }) => Ok(None),
            other => other.map(Some),
        }
    }

    /// One round, regardless of the lease (tests and the CLI).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn round(&self, now: DateTime<Utc>) -> Result<Round, StoreError> {
        self.round_under(now, None).await
    }

    /// One round, its changes made under `lease` when given (refused once it is lost).
    async fn round_under(
        &self,
        now: DateTime<Utc>,
        lease: Option<frontline_store::Lease>,
    ) -> Result<Round, StoreError> {
        if self.mode == CorrelationMode::Off {
            return Ok(Round::default());
        }
        let since = now - self.lookback;
        let mut candidates = self.candidates(since).await?;
        let signals: Vec<Signal> = candidates.iter().map(|c| c.signal.clone()).collect();
        let states = self.store.signal_states(&signals).await?;
        let mut free = states.into_iter().map(|s| s == SignalState::Free);
        candidates.retain(|_| free.next().unwrap_or(false));
        if candidates.is_empty() {
            return Ok(Round::default());
        }
        let profiles = self.profiles().await?;
        let system = Origin::new(Actor::System).fenced(lease);
        let mut round = Round::default();
        for decision in correlate(&candidates, &profiles, &self.settings) {
            match decision {
                Decision::Join {
                    incident,
                    signals,
                    reason,
                } => {
                    let n = signals.len();
                    let changes = [
                        IncidentChange::Link(signals),
                        IncidentChange::Note { body: reason },
                    ];
                    match self
                        .store
                        .change_incident(incident, &changes, &system)
                        .await
                    {
                        Ok(_) => round.joined += n,
                        // Someone linked one of them meanwhile: next round sees the rest.
                        Err(StoreError::Conflict { constraint }) => {
                            tracing::info!(incident, %constraint, "correlation: join skipped");
                        }
                        Err(e) => return Err(e),
                    }
                }
                Decision::Open {
                    title,
                    severity,
                    services,
                    signals,
                    reason,
                } => {
                    let new = NewIncident {
                        title,
                        severity,
                        services,
                        reason: Some(reason),
                        signals,
                        proposed: self.mode == CorrelationMode::Propose,
                    };
                    match self.store.open_incident(&new, &system).await {
                        Ok(opened) => {
                            tracing::info!(
                                incident = opened.incident.id,
                                "correlation opened an incident"
                            );
                            round.opened += 1;
                        }
                        Err(StoreError::Conflict { constraint }) => {
                            tracing::info!(%constraint, "correlation: open skipped");
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(round)
    }

    /// Recent signals with a meaning: alerts with a topic (not dismissed), reports with a
    /// topic (not dismissed), security events a rule gives topics (not informational).
    async fn candidates(&self, since: DateTime<Utc>) -> Result<Vec<Candidate>, StoreError> {
        let mut out = Vec::new();
        let alerts = self
            .store
            .list_alerts(&AlertQuery {
                since: Some(since),
                limit: MAX_SIGNALS,
                ..AlertQuery::default()
            })
            .await?;
        for a in alerts.items {
            if a.state == AlertState::Dismissed {
                continue;
            }
            if let Some(c) = alert_candidate(&a.detected) {
                out.push(c);
            }
        }
        let reports = self
            .store
            .list_reports(&ReportQuery {
                state: None,
                category: None,
                filed_by: None,
                since: Some(since),
                before: None,
                limit: MAX_SIGNALS,
            })
            .await?;
        for r in reports {
            if r.report.state == ReportState::Dismissed {
                continue;
            }
            if let Some(c) = report_candidate(&r.report) {
                out.push(c);
            }
        }
        let events = self
            .store
            .list_security_events(&SecurityEventQuery {
                since: Some(since),
                min_severity: Some(EventSeverity::Low),
                limit: MAX_SIGNALS,
                ..SecurityEventQuery::default()
            })
            .await?;
        for e in events.items {
            if let Some(c) = self.event_candidate(&e.event) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn event_candidate(
        &self,
        e: &frontline_core::security_event::NewSecurityEvent,
    ) -> Option<Candidate> {
        let (rule, topics) = self.rules.topics_of(&e.source, &e.title, &e.indicators)?;
        Some(Candidate {
            finding: e
                .indicators
                .get("fingerprint")
                .and_then(|f| f.as_str())
                .map(|f| format!("{}:{f}", e.source)),
            signal: Signal::SecurityEvent {
                source: e.source.clone(),
                id: e.id.clone(),
            },
            evidence: Evidence::Event(e.severity),
            at: e.observed_at,
            topics,
            service: e.service.clone(),
            describe: format!(
                "security event {}/{} \"{}\" ({})",
                e.source,
                e.id,
                e.title,
                e.severity.as_str()
            ),
            rule: Some(rule),
            title: Some(e.title.clone()),
        })
    }

    /// What each open incident's signals are about, and when they happened.
    async fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        let open = self
            .store
            .list_incidents(&IncidentQuery {
                open: Some(true),
                limit: 1000,
                ..IncidentQuery::default()
            })
            .await?;
        let mut out = Vec::new();
        let mut cache: HashMap<Signal, Option<About>> = HashMap::new();
        for incident in open.items {
            let Some(detail) = self.store.get_incident(incident.id).await? else {
                continue;
            };
            let mut topics = BTreeSet::new();
            let mut services: BTreeSet<String> = incident.services.iter().cloned().collect();
            let mut times = Vec::new();
            for link in &detail.links {
                if !cache.contains_key(&link.signal) {
                    let about = self.about(&link.signal).await?;
                    cache.insert(link.signal.clone(), about);
                }
                if let Some(Some((t, service, at))) = cache.get(&link.signal) {
                    topics.extend(t.iter().cloned());
                    services.extend(service.iter().cloned());
                    times.push(*at);
                }
            }
            if topics.is_empty() {
                continue;
            }
            out.push(Profile {
                id: incident.id,
                topics,
                services,
                first: times.iter().min().copied().unwrap_or(incident.opened_at),
                last: times.iter().max().copied().unwrap_or(incident.opened_at),
            });
        }
        Ok(out)
    }

    /// A linked signal's topics, service and time.
    async fn about(&self, signal: &Signal) -> Result<Option<About>, StoreError> {
        let c = match signal {
            Signal::Alert { id } => self
                .store
                .get_alert(id)
                .await?
                .and_then(|a| alert_candidate(&a.detected)),
            Signal::Report { id } => self
                .store
                .get_report(*id)
                .await?
                .and_then(|r| report_candidate(&r.report)),
            Signal::SecurityEvent { source, id } => self
                .store
                .get_security_event(source, id)
                .await?
                .and_then(|e| self.event_candidate(&e.event)),
            Signal::Contact { source, id } => {
                return Ok(self
                    .store
                    .get_contact(source, id)
                    .await?
                    .map(|c| (c.contact.topics, c.contact.service, c.contact.received_at)));
            }
        };
        Ok(c.map(|c| (c.topics, c.service, c.at)))
    }
}

/// What a linked signal is about: its topics, its service and when it happened.
type About = (Vec<String>, Option<String>, DateTime<Utc>);

fn alert_candidate(a: &frontline_core::alert::DetectedAlert) -> Option<Candidate> {
    let topic = a.topic.clone()?;
    Some(Candidate {
        signal: Signal::Alert {
            id: a.alert_id.clone(),
        },
        evidence: Evidence::Alert,
        at: a.started_at,
        describe: format!(
            "alert {} ({} of {topic} contacts: {} vs {:.1} expected)",
            a.alert_id, a.kind, a.observed, a.expected
        ),
        topics: vec![topic],
        service: a.service.clone(),
        rule: None,
        title: None,
        finding: None,
    })
}

fn report_candidate(r: &frontline_core::report::Report) -> Option<Candidate> {
    let topic = r.category.topic()?;
    Some(Candidate {
        signal: Signal::Report { id: r.id },
        evidence: Evidence::Report,
        at: r.filed_at,
        topics: vec![topic.to_owned()],
        service: r.service.clone(),
        describe: format!("report {} ({} by {})", r.id, r.category, r.filed_by),
        rule: None,
        title: None,
        finding: None,
    })
}
