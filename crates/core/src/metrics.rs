//! Incident metrics: the milestones of an incident (first customer signal, first alert, opened,
//! first acknowledgement by security, first public statement, resolved), the durations between
//! them, and the customer impact (related contacts over time, distinct customers, deflection
//! after each public update). Everything here is a pure function of [`Facts`], which the store
//! gathers at read time, so figures move when contacts are linked later.
//!
//! The definitions, which the review page and the trends repeat:
//! - *detected* is the first alert or the opening of the incident, whichever came first;
//! - time to detect runs from the first customer signal to detection (negative when the team
//!   knew before any customer said so); the other durations run from detection;
//! - an acknowledgement by security is the first action on the incident's timeline, or the
//!   acknowledgement of one of its alerts, by a user holding the `security` role or the
//!   incident's security-lead seat;
//! - a public statement is a publication of an `public` statement (the status page).

use crate::alert::AlertState;
use crate::feed::FeedEntry;
use crate::incident::{Incident, IncidentRole};
use crate::statement::Audience;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The hour before and after a public update compared for deflection.
pub const DEFLECTION_WINDOW: Duration = Duration::hours(1);

/// Bucket widths for the impact series, in seconds: the first that gives at most
/// [`MAX_BUCKETS`] buckets is used, so a two-hour incident and a three-day one both chart well.
const BUCKET_WIDTHS: [i64; 11] = [
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    7 * 86_400,
    28 * 86_400,
];

/// The most buckets an impact series has (unless the incident spans more than 60 × 28 days).
pub const MAX_BUCKETS: i64 = 60;

/// A contact related to an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFact {
    /// Source and source id.
    pub key: (String, String),
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// The channel's wire name.
    pub channel: String,
    /// Its topics.
    pub topics: Vec<String>,
    /// The customer's pseudonym.
    pub customer: Option<String>,
    /// Linked to the incident (directly, or as evidence of a linked alert) rather than found by
    /// the topic of a linked alert. Only linked contacts count as the first customer signal.
    pub linked: bool,
}

/// A linked alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFact {
    /// Its id.
    pub id: String,
    /// When Frontline raised it.
    pub raised_at: DateTime<Utc>,
    /// When the anomaly began.
    pub started_at: DateTime<Utc>,
    /// Where people are with it.
    pub state: AlertState,
    /// Who acknowledged or dismissed it (`user:NAME`).
    pub state_by: Option<String>,
    /// When.
    pub state_at: Option<DateTime<Utc>>,
}

/// One publication of a statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicationFact {
    /// The statement.
    pub statement_id: i64,
    /// The version published.
    pub version: u32,
    /// Its audience.
    pub audience: Audience,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (user name).
    pub by: String,
}

/// Everything the metrics of one incident are computed from.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The incident as it is now.
    pub incident: Incident,
    /// Its linked signals.
    pub links: Vec<crate::incident::Link>,
    /// Its timeline (its feed entries), oldest first.
    pub timeline: Vec<FeedEntry>,
    /// Related contacts, each once.
    pub contacts: Vec<ContactFact>,
    /// Linked alerts.
    pub alerts: Vec<AlertFact>,
    /// When each linked security event was observed.
    pub security_events: Vec<DateTime<Utc>>,
    /// When each linked agent report was filed (a report relays what customers said).
    pub reports: Vec<DateTime<Utc>>,
    /// Every publication of the incident's statements.
    pub publications: Vec<PublicationFact>,
    /// Names of users holding the `security` role.
    pub security_users: BTreeSet<String>,
    /// The time of reading: the end of an open incident's window.
    pub now: DateTime<Utc>,
    /// Whether the related contacts were cut short at the gatherer's cap.
    pub truncated: bool,
}

/// An incident's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentMetrics {
    /// The incident.
    pub incident_id: i64,
    /// The earliest linked contact (directly, or as evidence of a linked alert) or agent report.
    pub first_customer_signal_at: Option<DateTime<Utc>>,
    /// The earliest observation of a linked security event.
    pub first_security_event_at: Option<DateTime<Utc>>,
    /// When the first linked alert was raised.
    pub first_alert_at: Option<DateTime<Utc>>,
    /// When the incident was opened.
    pub opened_at: DateTime<Utc>,
    /// The first alert or the opening, whichever came first.
    pub detected_at: DateTime<Utc>,
    /// The first action by security (see the module documentation).
    pub first_ack_at: Option<DateTime<Utc>>,
    /// The first publication of a public statement.
    pub first_public_statement_at: Option<DateTime<Utc>>,
    /// When the incident was resolved; `null` while it is open (also after a reopening).
    pub resolved_at: Option<DateTime<Utc>>,
    /// From the first customer signal to detection; negative when detection came first.
    pub time_to_detect_seconds: Option<i64>,
    /// From detection to the first acknowledgement by security.
    pub time_to_acknowledge_seconds: Option<i64>,
    /// From detection to the first public statement.
    pub time_to_first_public_statement_seconds: Option<i64>,
    /// From detection to resolution.
    pub time_to_resolve_seconds: Option<i64>,
    /// Where a security event was observed before the first customer signal: how long
    /// customers were affected before the first of them got in touch.
    pub customers_affected_before_first_contact_seconds: Option<i64>,
    /// How many times the incident was reopened.
    pub reopened: u32,
    /// How many public updates were published.
    pub public_updates: u32,
    /// The customer side.
    pub impact: Impact,
    /// How the helpdesk write-back answered the linked tickets; `null` when no helpdesk ticket
    /// is linked.
    pub tickets: Option<TicketAnswers>,
    /// When these figures were computed.
    pub computed_at: DateTime<Utc>,
}

/// How the approved word reached an incident's linked helpdesk tickets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketAnswers {
    /// Tickets linked.
    pub linked: u64,
    /// When the first was linked.
    pub first_linked_at: DateTime<Utc>,
    /// When the first public reply was confirmed on a ticket.
    pub first_answer_at: Option<DateTime<Utc>>,
    /// From the first link to the first answer.
    pub time_to_first_answer_seconds: Option<i64>,
    /// Tickets whose reply of the latest published `customers` version is confirmed.
    pub answered_with_latest: u64,
    /// That, as a share of the linked tickets.
    pub answered_with_latest_share: f64,
}

/// What [`ticket_answers`] needs: tickets as `connection/ticket`.
#[derive(Debug, Clone, Default)]
pub struct TicketFacts {
    /// Each linked ticket and when it was first linked.
    pub linked: Vec<(String, DateTime<Utc>)>,
    /// Each confirmed public reply: ticket, statement, version, when confirmed.
    pub replies: Vec<(String, i64, u32, DateTime<Utc>)>,
    /// The latest published `customers` statement and version.
    pub latest: Option<(i64, u32)>,
}

/// How the linked tickets were answered; `None` when none is linked.
pub fn ticket_answers(f: &TicketFacts) -> Option<TicketAnswers> {
    let linked: BTreeMap<&str, DateTime<Utc>> =
        f.linked.iter().fold(BTreeMap::new(), |mut m, (t, at)| {
            let e = m.entry(t.as_str()).or_insert(*at);
            *e = (*e).min(*at);
            m
        });
    let first_linked_at = *linked.values().min()?;
    let first_answer_at = f
        .replies
        .iter()
        .filter(|(t, ..)| linked.contains_key(t.as_str()))
        .map(|r| r.3)
        .min();
    let answered: BTreeSet<&str> = f
        .replies
        .iter()
        .filter(|(t, s, v, _)| linked.contains_key(t.as_str()) && Some((*s, *v)) == f.latest)
        .map(|r| r.0.as_str())
        .collect();
    Some(TicketAnswers {
        linked: linked.len() as u64,
        first_linked_at,
        first_answer_at,
        time_to_first_answer_seconds: first_answer_at.map(|a| (a - first_linked_at).num_seconds()),
        answered_with_latest: answered.len() as u64,
        answered_with_latest_share: answered.len() as f64 / linked.len() as f64,
    })
}

/// The customer impact of an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Impact {
    /// The start of the impact window: the earliest signal or the opening.
    pub window_start: DateTime<Utc>,
    /// Its end: the resolution, or now while the incident is open.
    pub window_end: DateTime<Utc>,
    /// Related contacts in the window (linked ones whenever they came).
    pub contacts: u64,
    /// Of which linked to the incident.
    pub linked_contacts: u64,
    /// Distinct customers among them (contacts without a customer are not counted).
    pub customers: u64,
    /// Contacts per topic (a contact with two topics counts under both).
    pub by_topic: BTreeMap<String, u64>,
    /// Contacts per channel.
    pub by_channel: BTreeMap<String, u64>,
    /// The width of each series bucket.
    pub bucket_seconds: i64,
    /// Contacts over time, in buckets aligned to the bucket width.
    pub series: Vec<Bucket>,
    /// The contact rate around each public update.
    pub deflection: Vec<Deflection>,
    /// Whether the related contacts were cut short (the figures are then lower bounds).
    pub truncated: bool,
}

/// Related contacts in one bucket of time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bucket {
    /// The bucket's start.
    pub start: DateTime<Utc>,
    /// Contacts in it.
    pub contacts: u64,
    /// Per topic.
    pub by_topic: BTreeMap<String, u64>,
    /// Per channel.
    pub by_channel: BTreeMap<String, u64>,
}

/// Related contacts in the hour before and after one public update.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deflection {
    /// The statement.
    pub statement_id: i64,
    /// The version published.
    pub version: u32,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// Contacts in the hour before.
    pub before: u64,
    /// Contacts in the hour after (so far, when the hour is not over).
    pub after: u64,
    /// `after / before`; below 1 means fewer customers got in touch after the update.
    /// `null` when no contact came in the hour before.
    pub ratio: Option<f64>,
    /// Whether the hour after is over.
    pub complete: bool,
}

impl Facts {
    /// The earliest customer signal: a linked contact or an agent report.
    pub fn first_customer_signal(&self) -> Option<DateTime<Utc>> {
        let contacts = self
            .contacts
            .iter()
            .filter(|c| c.linked)
            .map(|c| c.received_at);
        contacts.chain(self.reports.iter().copied()).min()
    }

    /// The impact window: from the earliest signal of any kind (or the opening) to the
    /// resolution, or to now while the incident is open. The gatherer fetches contacts by topic
    /// over this window widened by [`DEFLECTION_WINDOW`] on both sides.
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = [
            self.first_customer_signal(),
            self.security_events.iter().copied().min(),
            self.alerts
                .iter()
                .map(|a| a.started_at.min(a.raised_at))
                .min(),
            Some(self.incident.opened_at),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.incident.opened_at);
        let end = self.incident.resolved_at.unwrap_or(self.now).max(start);
        (start, end)
    }

    /// Who counts as security on this incident: holders of the `security` role and of its
    /// security-lead seat.
    fn is_security(&self, actor: &str) -> bool {
        let Some(name) = actor.strip_prefix("user:") else {
            return false;
        };
        self.security_users.contains(name)
            || self
                .incident
                .roles
                .get(&IncidentRole::SecurityLead)
                .map(String::as_str)
                == Some(name)
    }
}

fn seconds(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<i64> {
    Some((to? - from?).num_seconds())
}

/// Computes an incident's metrics.
pub fn compute(facts: &Facts) -> IncidentMetrics {
    let incident = &facts.incident;
    let first_customer_signal_at = facts.first_customer_signal();
    let first_security_event_at = facts.security_events.iter().copied().min();
    let first_alert_at = facts.alerts.iter().map(|a| a.raised_at).min();
    let opened_at = incident.opened_at;
    let detected_at = first_alert_at.map_or(opened_at, |a| a.min(opened_at));
    let acks_on_timeline = facts
        .timeline
        .iter()
        .filter(|e| facts.is_security(&e.actor))
        .map(|e| e.at);
    let acks_on_alerts = facts
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Acknowledged)
        .filter(|a| {
            a.state_by
                .as_deref()
                .is_some_and(|by| facts.is_security(by))
        })
        .filter_map(|a| a.state_at);
    let first_ack_at = acks_on_timeline.chain(acks_on_alerts).min();
    let public: Vec<&PublicationFact> = facts
        .publications
        .iter()
        .filter(|p| p.audience == Audience::Public)
        .collect();
    let first_public_statement_at = public.iter().map(|p| p.at).min();
    let resolved_at = incident.resolved_at;
    let reopened = facts
        .timeline
        .iter()
        .filter(|e| {
            e.data.get("change").and_then(|c| c.as_str()) == Some("state")
                && e.data.get("from").and_then(|c| c.as_str()) == Some("resolved")
        })
        .count() as u32;
    let customers_affected_before_first_contact_seconds =
        match (first_security_event_at, first_customer_signal_at) {
            (Some(event), Some(contact)) if event < contact => {
                Some((contact - event).num_seconds())
            }
            _ => None,
        };
    IncidentMetrics {
        incident_id: incident.id,
        first_customer_signal_at,
        first_security_event_at,
        first_alert_at,
        opened_at,
        detected_at,
        first_ack_at,
        first_public_statement_at,
        resolved_at,
        time_to_detect_seconds: seconds(first_customer_signal_at, Some(detected_at)),
        time_to_acknowledge_seconds: seconds(Some(detected_at), first_ack_at),
        time_to_first_public_statement_seconds: seconds(
            Some(detected_at),
            first_public_statement_at,
        ),
        time_to_resolve_seconds: seconds(Some(detected_at), resolved_at),
        customers_affected_before_first_contact_seconds,
        reopened,
        public_updates: public.len() as u32,
        impact: impact(facts, &public),
        tickets: None,
        computed_at: facts.now,
    }
}

/// The bucket width for a window.
pub fn bucket_width(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let span = (end - start).num_seconds().max(1);
    BUCKET_WIDTHS
        .into_iter()
        .find(|w| (span + w - 1) / w <= MAX_BUCKETS)
        .unwrap_or(BUCKET_WIDTHS[BUCKET_WIDTHS.len() - 1])
}

/// The start of the bucket holding `t`, buckets aligned to multiples of `width` since the
/// Unix epoch (so hourly buckets start on the hour, UTC).
pub fn bucket_start(t: DateTime<Utc>, width: i64) -> DateTime<Utc> {
    let s = t.timestamp().div_euclid(width) * width;
    DateTime::from_timestamp(s, 0).unwrap_or(t)
}

fn impact(facts: &Facts, public: &[&PublicationFact]) -> Impact {
    let (start, end) = facts.window();
    let counted: Vec<&ContactFact> = facts
        .contacts
        .iter()
        .filter(|c| c.linked || (c.received_at >= start && c.received_at <= end))
        .collect();
    let mut by_topic = BTreeMap::new();
    let mut by_channel = BTreeMap::new();
    let mut customers = BTreeSet::new();
    for c in &counted {
        for t in &c.topics {
            *by_topic.entry(t.clone()).or_insert(0) += 1;
        }
        *by_channel.entry(c.channel.clone()).or_insert(0) += 1;
        if let Some(customer) = &c.customer {
            customers.insert(customer.as_str());
        }
    }
    // The series spans the window and any linked contact outside it.
    let series_start = counted
        .iter()
        .map(|c| c.received_at)
        .fold(start, DateTime::min);
    let series_end = counted
        .iter()
        .map(|c| c.received_at)
        .fold(end, DateTime::max);
    let width = bucket_width(series_start, series_end);
    let first = bucket_start(series_start, width);
    let count = ((series_end - first).num_seconds() / width + 1).max(1) as usize;
    let mut series: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start: first + Duration::seconds(width * i as i64),
            contacts: 0,
            by_topic: BTreeMap::new(),
            by_channel: BTreeMap::new(),
        })
        .collect();
    for c in &counted {
        let i = ((c.received_at - first).num_seconds() / width) as usize;
        if let Some(b) = series.get_mut(i) {
            b.contacts += 1;
            for t in &c.topics {
                *b.by_topic.entry(t.clone()).or_insert(0) += 1;
            }
            *b.by_channel.entry(c.channel.clone()).or_insert(0) += 1;
        }
    }
    let deflection = public
        .iter()
        .map(|p| {
            let in_range = |from: DateTime<Utc>, to: DateTime<Utc>| {
                facts
                    .contacts
                    .iter()
                    .filter(|c| c.received_at >= from && c.received_at < to)
                    .count() as u64
            };
            let before = in_range(p.at - DEFLECTION_WINDOW, p.at);
            let after = in_range(p.at, p.at + DEFLECTION_WINDOW);
            Deflection {
                statement_id: p.statement_id,
                version: p.version,
                published_at: p.at,
                before,
                after,
                ratio: (before > 0).then(|| after as f64 / before as f64),
                complete: p.at + DEFLECTION_WINDOW <= facts.now,
            }
        })
        .collect();
    Impact {
        window_start: start,
        window_end: end,
        contacts: counted.len() as u64,
        linked_contacts: counted.iter().filter(|c| c.linked).count() as u64,
        customers: customers.len() as u64,
        by_topic,
        by_channel,
        bucket_seconds: width,
        series,
        deflection,
        truncated: facts.truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::FeedKind;
    use crate::incident::{IncidentState, Severity};
    use serde_json::json;

    /// A fixed clock: every time in these tests is an offset from 2026-03-01T10:00:00Z.
    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn contact(id: &str, minutes: i64, linked: bool) -> ContactFact {
        ContactFact {
            key: ("zendesk".into(), id.into()),
            received_at: t(minutes),
            channel: "email".into(),
            topics: vec!["phishing".into()],
            customer: Some(format!("c-{id}")),
            linked,
        }
    }

    fn entry(minutes: i64, actor: &str, kind: FeedKind, data: serde_json::Value) -> FeedEntry {
        FeedEntry {
            seq: minutes,
            at: t(minutes),
            kind,
            incident_id: Some(7),
            actor: actor.into(),
            data,
        }
    }

    fn publication(minutes: i64, audience: Audience) -> PublicationFact {
        PublicationFact {
            statement_id: 1,
            version: 1,
            audience,
            at: t(minutes),
            by: "carol".into(),
        }
    }

    /// A phishing wave: the first contact at 10:00, an alert raised at 10:07, the incident
    /// opened by the correlator at 10:10, a note by the security analyst at 10:25, the first
    /// public statement at 10:40, resolved at 12:00; read at 13:00.
    fn facts() -> Facts {
        let incident = Incident {
            id: 7,
            title: "Phishing wave".into(),
            severity: Severity::Sev2,
            state: IncidentState::Resolved,
            services: vec!["login".into()],
            roles: BTreeMap::new(),
            tasks: Vec::new(),
            reason: None,
            opened_by: "system".into(),
            opened_at: t(10),
            updated_at: t(120),
            resolved_at: Some(t(120)),
            merged_into: None,
            proposed: false,
        };
        Facts {
            incident,
            links: Vec::new(),
            timeline: vec![
                entry(10, "system", FeedKind::IncidentOpened, json!({})),
                entry(
                    20,
                    "user:dave",
                    FeedKind::IncidentNote,
                    json!({"body": "cx here"}),
                ),
                entry(
                    25,
                    "user:sam",
                    FeedKind::IncidentNote,
                    json!({"body": "looking"}),
                ),
                entry(
                    120,
                    "user:sam",
                    FeedKind::IncidentUpdated,
                    json!({"change": "state", "from": "identified", "to": "resolved"}),
                ),
            ],
            contacts: vec![
                contact("1", 0, true),
                contact("2", 5, true),
                contact("3", 30, false),
                contact("4", 45, false),
                contact("5", 50, false),
                contact("6", 170, false),
            ],
            alerts: vec![AlertFact {
                id: "a1".into(),
                raised_at: t(7),
                started_at: t(0),
                state: AlertState::Open,
                state_by: None,
                state_at: None,
            }],
            security_events: Vec::new(),
            reports: Vec::new(),
            publications: vec![
                publication(40, Audience::Agents),
                publication(40, Audience::Public),
            ],
            security_users: ["sam".to_string()].into(),
            now: t(180),
            truncated: false,
        }
    }

    #[test]
    fn milestones_and_durations_of_a_whole_incident() {
        let m = compute(&facts());
        assert_eq!(m.first_customer_signal_at, Some(t(0)));
        assert_eq!(m.first_alert_at, Some(t(7)));
        assert_eq!(m.opened_at, t(10));
        assert_eq!(m.detected_at, t(7));
        // Dave (not security) wrote first; Sam's note at 10:25 is the acknowledgement.
        assert_eq!(m.first_ack_at, Some(t(25)));
        // The agents' talking points at the same moment do not count: only public ones.
        assert_eq!(m.first_public_statement_at, Some(t(40)));
        assert_eq!(m.resolved_at, Some(t(120)));
        assert_eq!(m.time_to_detect_seconds, Some(7 * 60));
        assert_eq!(m.time_to_acknowledge_seconds, Some(18 * 60));
        assert_eq!(m.time_to_first_public_statement_seconds, Some(33 * 60));
        assert_eq!(m.time_to_resolve_seconds, Some(113 * 60));
        assert_eq!(m.customers_affected_before_first_contact_seconds, None);
        assert_eq!((m.reopened, m.public_updates), (0, 1));
        // The window runs from the first signal to the resolution: contact 6 (12:50) is out.
        assert_eq!((m.impact.window_start, m.impact.window_end), (t(0), t(120)));
        assert_eq!(m.impact.contacts, 5);
        assert_eq!(m.impact.linked_contacts, 2);
        assert_eq!(m.impact.customers, 5);
        assert_eq!(m.impact.by_topic["phishing"], 5);
        assert_eq!(m.impact.by_channel["email"], 5);
    }

    #[test]
    fn the_json_names_milestones_as_the_api_promises_in_utc() {
        let v = serde_json::to_value(compute(&facts())).unwrap();
        assert_eq!(v["first_customer_signal_at"], "2026-03-01T10:00:00Z");
        assert_eq!(v["first_alert_at"], "2026-03-01T10:07:00Z");
        assert_eq!(v["opened_at"], "2026-03-01T10:10:00Z");
        assert_eq!(v["first_ack_at"], "2026-03-01T10:25:00Z");
        assert_eq!(v["first_public_statement_at"], "2026-03-01T10:40:00Z");
        assert_eq!(v["resolved_at"], "2026-03-01T12:00:00Z");
        assert_eq!(v["time_to_resolve_seconds"], 113 * 60);
    }

    #[test]
    fn times_given_in_other_zones_are_the_same_instants() {
        let mut f = facts();
        // 11:55 in Berlin (UTC+1 in March) is 10:55Z, later than the first signal; 04:50 in
        // New York (UTC-5) is 09:50Z, the new first signal.
        let berlin = DateTime::parse_from_rfc3339("2026-03-01T11:55:00+01:00").unwrap();
        let new_york = DateTime::parse_from_rfc3339("2026-03-01T04:50:00-05:00").unwrap();
        let mut c = contact("7", 0, true);
        c.received_at = berlin.with_timezone(&Utc);
        f.contacts.push(c);
        let mut c = contact("8", 0, true);
        c.received_at = new_york.with_timezone(&Utc);
        f.contacts.push(c);
        let m = compute(&f);
        assert_eq!(m.first_customer_signal_at, Some(t(-10)));
        assert_eq!(m.time_to_detect_seconds, Some(17 * 60));
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["first_customer_signal_at"], "2026-03-01T09:50:00Z");
    }

    #[test]
    fn no_public_statement_yet_leaves_its_milestone_and_duration_null() {
        let mut f = facts();
        f.publications.retain(|p| p.audience != Audience::Public);
        let m = compute(&f);
        assert_eq!(m.first_public_statement_at, None);
        assert_eq!(m.time_to_first_public_statement_seconds, None);
        assert_eq!(m.public_updates, 0);
        assert!(m.impact.deflection.is_empty());
        let v = serde_json::to_value(&m).unwrap();
        assert!(v["first_public_statement_at"].is_null());
        assert!(v["time_to_first_public_statement_seconds"].is_null());
    }

    #[test]
    fn a_reopened_incident_is_unresolved_until_it_is_resolved_again() {
        let mut f = facts();
        f.timeline.push(entry(
            150,
            "user:dave",
            FeedKind::IncidentUpdated,
            json!({"change": "state", "from": "resolved", "to": "investigating"}),
        ));
        f.incident.state = IncidentState::Investigating;
        f.incident.resolved_at = None;
        let m = compute(&f);
        assert_eq!(m.resolved_at, None);
        assert_eq!(m.time_to_resolve_seconds, None);
        assert_eq!(m.reopened, 1);
        // Open again: the window runs to now, so contact 6 (12:50) now counts.
        assert_eq!(m.impact.window_end, t(180));
        assert_eq!(m.impact.contacts, 6);

        f.incident.state = IncidentState::Resolved;
        f.incident.resolved_at = Some(t(200));
        let m = compute(&f);
        assert_eq!(m.resolved_at, Some(t(200)));
        assert_eq!(m.time_to_resolve_seconds, Some(193 * 60));
        assert_eq!(m.reopened, 1);
    }

    #[test]
    fn contacts_linked_after_resolution_move_the_figures() {
        let mut f = facts();
        // Found in the archive after the incident closed: an e-mail from 09:30, and one from
        // after the resolution. Both are linked, so both count; the first moves the signal.
        f.contacts.push(contact("early", -30, true));
        f.contacts.push(contact("late", 170, true));
        let m = compute(&f);
        assert_eq!(m.first_customer_signal_at, Some(t(-30)));
        assert_eq!(m.time_to_detect_seconds, Some(37 * 60));
        assert_eq!(m.impact.window_start, t(-30));
        // 5 before, plus both linked ones; the unlinked 12:50 contact stays out.
        assert_eq!(m.impact.contacts, 7);
        assert_eq!(m.impact.linked_contacts, 4);
        // The series covers the linked contact after the window.
        let last = m.impact.series.last().unwrap();
        assert!(
            last.start <= t(170)
                && t(170) < last.start + Duration::seconds(m.impact.bucket_seconds)
        );
        assert_eq!(m.impact.series.iter().map(|b| b.contacts).sum::<u64>(), 7);
    }

    #[test]
    fn a_security_event_first_measures_how_long_customers_were_affected_unheard() {
        let mut f = facts();
        f.security_events = vec![t(-45), t(-20)];
        let m = compute(&f);
        assert_eq!(m.first_security_event_at, Some(t(-45)));
        assert_eq!(
            m.customers_affected_before_first_contact_seconds,
            Some(45 * 60)
        );
        assert_eq!(m.impact.window_start, t(-45));

        // Detection before any customer said a word: a negative time to detect.
        let mut f = facts();
        f.contacts.retain(|c| !c.linked);
        f.reports = vec![t(30)];
        let m = compute(&f);
        assert_eq!(m.first_customer_signal_at, Some(t(30)));
        assert_eq!(m.time_to_detect_seconds, Some(-23 * 60));
        assert_eq!(m.customers_affected_before_first_contact_seconds, None);
    }

    #[test]
    fn acknowledgements_count_only_security_people() {
        let mut f = facts();
        f.timeline.retain(|e| e.actor != "user:sam");
        // Dave acknowledged the alert at 10:12: Dave is not security.
        f.alerts[0].state = AlertState::Acknowledged;
        f.alerts[0].state_by = Some("user:dave".into());
        f.alerts[0].state_at = Some(t(12));
        assert_eq!(compute(&f).first_ack_at, None);
        assert_eq!(compute(&f).time_to_acknowledge_seconds, None);
        // Sam (security role) acknowledging the alert counts.
        f.alerts[0].state_by = Some("user:sam".into());
        assert_eq!(compute(&f).first_ack_at, Some(t(12)));
        // A dismissal is not an acknowledgement.
        f.alerts[0].state = AlertState::Dismissed;
        assert_eq!(compute(&f).first_ack_at, None);
        // Dave in the security-lead seat counts for his note at 10:20.
        f.incident
            .roles
            .insert(IncidentRole::SecurityLead, "dave".into());
        assert_eq!(compute(&f).first_ack_at, Some(t(20)));
        // Names are matched whole: "user:sammy" is not Sam.
        let mut f = facts();
        f.timeline = vec![entry(30, "user:sammy", FeedKind::IncidentNote, json!({}))];
        assert_eq!(compute(&f).first_ack_at, None);
    }

    #[test]
    fn deflection_compares_the_hour_before_and_after_each_public_update() {
        let mut f = facts();
        f.contacts = (0..10)
            .map(|i| contact(&format!("b{i}"), -55 + i * 5, i == 0))
            .chain((0..4).map(|i| contact(&format!("a{i}"), 5 + i * 10, false)))
            .collect();
        f.publications = vec![
            publication(0, Audience::Public),
            publication(150, Audience::Public),
        ];
        f.publications[1].version = 2;
        f.now = t(170);
        let m = compute(&f);
        let d = &m.impact.deflection;
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].before, d[0].after, d[0].complete), (10, 4, true));
        assert_eq!(d[0].ratio, Some(0.4));
        // Nothing in the hour before version 2, and its hour is not over at 12:50.
        assert_eq!((d[1].version, d[1].before, d[1].after), (2, 0, 0));
        assert_eq!((d[1].ratio, d[1].complete), (None, false));
        assert_eq!(m.public_updates, 2);
    }

    #[test]
    fn series_buckets_are_aligned_and_sized_to_the_window() {
        assert_eq!(bucket_width(t(0), t(59)), 60);
        assert_eq!(bucket_width(t(0), t(120)), 300);
        assert_eq!(bucket_width(t(0), t(60 * 72)), 3 * 3600);
        assert_eq!(bucket_start(t(7), 300), t(5));
        assert_eq!(bucket_start(t(-1), 3600), t(-60));
        let m = compute(&facts());
        // 10:00 to 12:00 in five-minute buckets: 25 of them, the first at 10:00.
        assert_eq!(m.impact.bucket_seconds, 300);
        assert_eq!(m.impact.series.len(), 25);
        assert_eq!(m.impact.series[0].start, t(0));
        assert_eq!(m.impact.series[1].contacts, 1);
        assert_eq!(m.impact.series[6].by_topic["phishing"], 1);
    }
}

#[cfg(test)]
mod ticket_tests {
    use super::*;

    #[test]
    fn tickets_answered_with_the_latest_version_are_counted_once() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |m: i64| t0 + Duration::minutes(m);
        assert_eq!(ticket_answers(&TicketFacts::default()), None);
        let facts = TicketFacts {
            linked: vec![
                ("zd/1".into(), at(5)),
                ("zd/2".into(), at(0)),
                ("zd/1".into(), at(9)),
                ("zd/3".into(), at(30)),
            ],
            replies: vec![
                ("zd/1".into(), 7, 1, at(12)),
                ("zd/1".into(), 7, 2, at(40)),
                ("zd/2".into(), 7, 2, at(41)),
                ("zd/9".into(), 7, 2, at(1)),
            ],
            latest: Some((7, 2)),
        };
        let a = ticket_answers(&facts).unwrap();
        assert_eq!(a.linked, 3);
        assert_eq!(a.first_linked_at, at(0));
        assert_eq!(
            a.time_to_first_answer_seconds,
            Some(12 * 60),
            "an unlinked ticket's reply does not count"
        );
        assert_eq!(a.answered_with_latest, 2);
        assert!((a.answered_with_latest_share - 2.0 / 3.0).abs() < 1e-9);
    }
}
