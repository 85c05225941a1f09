//! Wire types of incidents, their timeline and the live feed.

use chrono::{DateTime, Utc};
use frontline_core::incident::{
    Incident, IncidentDetail, IncidentRole, IncidentState, Link, Severity, Signal, Task,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A signal reference by source and the source's id (contacts, security events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// The source.
    pub source: String,
    /// The source's id.
    pub id: String,
}

/// Signals to link to (or unlink from) an incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinksRequest {
    /// Alert ids.
    #[serde(default)]
    pub alerts: Vec<String>,
    /// Security events.
    #[serde(default)]
    pub security_events: Vec<SourceRef>,
    /// Contacts.
    #[serde(default)]
    pub contacts: Vec<SourceRef>,
    /// Report ids.
    #[serde(default)]
    pub reports: Vec<i64>,
}

impl LinksRequest {
    /// The signals named, in the order alerts, events, contacts, reports.
    pub fn signals(&self) -> Vec<Signal> {
        let mut out: Vec<Signal> = self
            .alerts
            .iter()
            .map(|id| Signal::Alert { id: id.clone() })
            .collect();
        out.extend(self.security_events.iter().map(|r| Signal::SecurityEvent {
            source: r.source.clone(),
            id: r.id.clone(),
        }));
        out.extend(self.contacts.iter().map(|r| Signal::Contact {
            source: r.source.clone(),
            id: r.id.clone(),
        }));
        out.extend(self.reports.iter().map(|id| Signal::Report { id: *id }));
        out
    }
}

/// `POST /api/v1/incidents`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    /// One line saying what is going on.
    pub title: Option<String>,
    /// `SEV1` (worst) to `SEV4`.
    pub severity: Option<String>,
    /// The services hurt.
    #[serde(default)]
    pub services: Vec<String>,
    /// Signals to link at once.
    #[serde(default)]
    pub links: Option<LinksRequest>,
}

/// `PATCH /api/v1/incidents/{id}`: only the fields given change. `roles` maps a seat
/// (`commander`, `security_lead`, `cx_lead`, `comms_lead`) to a user name, or `null` to free it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIncident {
    /// New title.
    pub title: Option<String>,
    /// New severity.
    pub severity: Option<String>,
    /// New state: `investigating`, `identified`, `monitoring`, `resolved`.
    pub state: Option<String>,
    /// New list of services.
    pub services: Option<Vec<String>>,
    /// Seats to assign.
    #[schema(value_type = Option<Object>)]
    pub roles: Option<BTreeMap<String, Option<String>>>,
    /// `false` accepts an incident the correlator proposed.
    pub proposed: Option<bool>,
}

/// `POST /api/v1/incidents/{id}/merge`: the incident `from` is merged into this one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The incident to merge into this one.
    #[schema(required = true, value_type = i64)]
    pub from: Option<i64>,
}

/// `POST /api/v1/incidents/{id}/notes`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note (internal, never public).
    #[schema(required = true, value_type = String)]
    pub body: Option<String>,
}

/// `POST /api/v1/incidents/{id}/tasks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// What to do.
    #[schema(required = true, value_type = String)]
    pub title: Option<String>,
    /// Who does it (a user name).
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub owner: Option<String>,
}

/// `PATCH /api/v1/incidents/{id}/tasks/{task}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// Done or not.
    pub done: Option<bool>,
    /// New owner.
    pub owner: Option<String>,
}

/// A linked signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LinkOut {
    /// `alert`, `security_event`, `contact` or `report`.
    pub kind: String,
    /// The source, for contacts and security events.
    pub source: Option<String>,
    /// The id (within the source, for contacts and security events).
    pub id: String,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
    /// Who linked it (`system` for the correlator).
    pub linked_by: String,
}

impl From<Link> for LinkOut {
    fn from(l: Link) -> Self {
        let (kind, source, id) = l.signal.key();
        Self {
            kind: kind.into(),
            source: (!source.is_empty()).then_some(source),
            id,
            linked_at: l.linked_at,
            linked_by: l.linked_by,
        }
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentOut {
    /// Its number.
    pub id: i64,
    /// What is going on.
    pub title: String,
    /// `SEV1` to `SEV4`.
    pub severity: Severity,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub state: IncidentState,
    /// Services hurt.
    pub services: Vec<String>,
    /// Seat → user name.
    #[schema(value_type = Object)]
    pub roles: BTreeMap<IncidentRole, String>,
    /// Work items.
    pub tasks: Vec<Task>,
    /// Why it was opened (set when the correlator opened it).
    pub reason: Option<String>,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was resolved (`null` while open).
    pub resolved_at: Option<DateTime<Utc>>,
    /// The incident it was merged into.
    pub merged_into: Option<i64>,
    /// Opened by the correlator and not yet accepted (`PATCH {"proposed": false}` accepts).
    pub proposed: bool,
    /// Linked signals (empty in lists; read one incident for them).
    pub links: Vec<LinkOut>,
}

impl From<Incident> for IncidentOut {
    fn from(i: Incident) -> Self {
        Self {
            id: i.id,
            title: i.title,
            severity: i.severity,
            state: i.state,
            services: i.services,
            roles: i.roles,
            tasks: i.tasks,
            reason: i.reason,
            opened_by: i.opened_by,
            opened_at: i.opened_at,
            updated_at: i.updated_at,
            resolved_at: i.resolved_at,
            merged_into: i.merged_into,
            proposed: i.proposed,
            links: Vec::new(),
        }
    }
}

impl From<IncidentDetail> for IncidentOut {
    fn from(d: IncidentDetail) -> Self {
        let mut out = IncidentOut::from(d.incident);
        out.links = d.links.into_iter().map(LinkOut::from).collect();
        out
    }
}

/// A page of incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentList {
    /// The incidents, in order of `opened_at`.
    pub items: Vec<IncidentOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One entry of the feed: a timeline entry, a live-stream event, a webhook's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedEntryOut {
    /// Its place in the feed (gapless, increasing).
    pub seq: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// `alert.raised`, `alert.updated`, `report.filed`, `report.updated`, `incident.opened`,
    /// `incident.updated` or `incident.note`.
    pub kind: String,
    /// The incident it belongs to.
    pub incident_id: Option<i64>,
    /// Who did it.
    pub actor: String,
    /// What changed.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<frontline_core::feed::FeedEntry> for FeedEntryOut {
    fn from(e: frontline_core::feed::FeedEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            kind: e.kind.as_str().into(),
            incident_id: e.incident_id,
            actor: e.actor,
            data: e.data,
        }
    }
}

/// A page of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    /// The entries, oldest first.
    pub items: Vec<FeedEntryOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST (`http` or `https`).
    #[schema(required = true, value_type = String, format = "uri", pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]+")]
    pub url: Option<String>,
    /// The signing secret (HMAC-SHA256 key).
    #[schema(required = true, value_type = String)]
    pub secret: Option<String>,
    /// `generic` (default) or `slack`.
    pub format: Option<String>,
    /// Feed kinds to receive, or `["*"]` for all.
    pub events: Option<Vec<String>>,
}

/// A webhook (its secret is never shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookOut {
    /// Its number.
    pub id: i64,
    /// Where it POSTs.
    pub url: String,
    /// `generic` or `slack`.
    pub format: frontline_core::webhook::WebhookFormat,
    /// Kinds it receives (`["*"]`: all).
    pub events: Vec<String>,
    /// Feed entries up to this seq are settled.
    pub cursor: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
}

impl From<frontline_core::webhook::Webhook> for WebhookOut {
    fn from(w: frontline_core::webhook::Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            format: w.format,
            events: w.events.names(),
            cursor: w.cursor,
            created_at: w.created_at,
            created_by: w.created_by,
        }
    }
}

/// The webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    /// Every webhook, oldest first.
    pub items: Vec<WebhookOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One notification to one webhook, and how its delivery went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryOut {
    /// The webhook.
    pub webhook_id: i64,
    /// The feed entry.
    pub seq: i64,
    /// Its kind.
    pub kind: String,
    /// Its incident.
    pub incident_id: Option<i64>,
    /// The same on every attempt.
    pub idempotency_key: String,
    /// `pending`, `delivered` or `failed`.
    pub status: frontline_core::webhook::DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The receiver's last HTTP status.
    pub last_status: Option<u16>,
    /// The last failure.
    pub last_error: Option<String>,
    /// First attempt.
    pub first_attempt_at: DateTime<Utc>,
    /// Latest attempt.
    pub last_attempt_at: DateTime<Utc>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<frontline_core::webhook::Delivery> for DeliveryOut {
    fn from(d: frontline_core::webhook::Delivery) -> Self {
        Self {
            webhook_id: d.webhook_id,
            seq: d.feed_seq,
            kind: d.kind.as_str().into(),
            incident_id: d.incident_id,
            idempotency_key: d.idempotency_key,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            first_attempt_at: d.first_attempt_at,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// Deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// The deliveries.
    pub items: Vec<DeliveryOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/reports`: a description of what customers are saying, or the contacts that
/// say it, or both.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReport {
    /// `phishing`, `account_takeover`, `fraud`, `data_exposure`, `outage` or `other`.
    #[schema(
        required = true,
        value_type = String,
        pattern = "^(phishing|account_takeover|fraud|data_exposure|outage|other)$"
    )]
    pub category: Option<String>,
    /// What customers are telling you (personal data is redacted before it is stored).
    pub summary: Option<String>,
    /// The service concerned.
    pub service: Option<String>,
    /// Contacts that show it.
    #[serde(default)]
    pub contacts: Vec<SourceRef>,
}

/// A report and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportOut {
    /// Its number.
    pub id: i64,
    /// What is suspected.
    pub category: frontline_core::report::ReportCategory,
    /// What customers are saying (redacted).
    pub summary: String,
    /// The service concerned.
    pub service: Option<String>,
    /// The contacts flagged.
    pub contacts: Vec<frontline_core::report::ContactRef>,
    /// Who filed it.
    pub filed_by: String,
    /// When.
    pub filed_at: DateTime<Utc>,
    /// `filed`, `acknowledged` or `dismissed`.
    pub state: frontline_core::report::ReportState,
    /// Why it was dismissed.
    pub reason: Option<String>,
    /// Who acknowledged or dismissed it.
    pub state_by: Option<String>,
    /// When.
    pub state_at: Option<DateTime<Utc>>,
    /// The incident it is linked to.
    pub incident_id: Option<i64>,
    /// Reports of the same category (and service) filed within a day before it or since
    /// (only when one report is read).
    pub similar_reports: Vec<i64>,
    /// Alerts on the matching topic within six hours before it or since, not dismissed (only
    /// when one report is read).
    pub matching_alerts: Vec<String>,
}

impl From<frontline_core::report::ReportDetail> for ReportOut {
    fn from(d: frontline_core::report::ReportDetail) -> Self {
        let r = d.report;
        Self {
            id: r.id,
            category: r.category,
            summary: r.summary,
            service: r.service,
            contacts: r.contacts,
            filed_by: r.filed_by,
            filed_at: r.filed_at,
            state: r.state,
            reason: r.reason,
            state_by: r.state_by,
            state_at: r.state_at,
            incident_id: d.incident_id,
            similar_reports: Vec::new(),
            matching_alerts: Vec::new(),
        }
    }
}

/// Reports, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportList {
    /// The reports.
    pub items: Vec<ReportOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/incidents/{id}/statements` and `PUT /api/v1/statements/{id}` (where
/// `audience` and `template` are not taken).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    /// `public`, `customers`, `agents` or `internal`.
    pub audience: Option<String>,
    /// The text.
    pub body: Option<String>,
    /// The title (the status page shows a public statement's title, never the incident's).
    pub title: Option<String>,
    /// Translations by language code.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub translations: std::collections::BTreeMap<String, frontline_core::statement::Translation>,
    /// The last word on the incident (needed before resolving once anything was public).
    #[serde(default)]
    pub r#final: bool,
    /// A template to prefill `title` and `body` from (`GET /api/v1/statement-templates`).
    pub template: Option<String>,
}

/// A statement: its latest version, what is published, and every version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatementOut {
    /// Its number.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// Who it is for.
    pub audience: frontline_core::statement::Audience,
    /// The latest version's number.
    pub version: u32,
    /// Whether the latest version has every approval it needs.
    pub approved: bool,
    /// The version published now, if any.
    pub published_version: Option<u32>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Every version, oldest first, with its approvals.
    pub versions: Vec<frontline_core::statement::Version>,
    /// Every publication, oldest first.
    pub publications: Vec<frontline_core::statement::Publication>,
}

impl From<frontline_core::statement::Statement> for StatementOut {
    fn from(s: frontline_core::statement::Statement) -> Self {
        Self {
            id: s.id,
            incident_id: s.incident_id,
            audience: s.audience,
            version: s.latest().number,
            approved: s.approved(),
            published_version: s.published,
            published_at: s.published_at(),
            versions: s.versions,
            publications: s.publications,
        }
    }
}

/// An incident's statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatementList {
    /// Oldest first.
    pub items: Vec<StatementOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `PUT /api/v1/components/{name}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRequest {
    /// `operational`, `degraded`, `partial_outage` or `major_outage`.
    #[schema(required = true, value_type = String, pattern = "^(operational|degraded|partial_outage|major_outage)$")]
    pub status: Option<String>,
}

/// A status page component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentOut {
    /// Its name.
    pub name: String,
    /// As set by people.
    pub status: frontline_core::component::ComponentStatus,
    /// When.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: String,
}

/// The components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComponentList {
    /// By name.
    pub items: Vec<ComponentOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// What agents say about one open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TalkingPoints {
    /// The incident.
    pub incident_id: i64,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: frontline_core::incident::Severity,
    /// Its state.
    pub state: frontline_core::incident::IncidentState,
    /// The published `agents` statement: what to say, not say, ask, and whom to escalate to.
    pub agents: Option<PublishedWords>,
    /// The published `customers` statement: what to send customers.
    pub customers: Option<PublishedWords>,
}

/// A published version, as agents use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishedWords {
    /// The statement.
    pub statement_id: i64,
    /// The version.
    pub version: u32,
    /// Its title.
    pub title: Option<String>,
    /// Its text.
    pub body: String,
    /// Its translations.
    #[schema(value_type = Object)]
    pub translations: std::collections::BTreeMap<String, frontline_core::statement::Translation>,
    /// When its last approval was given.
    pub approved_at: Option<DateTime<Utc>>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
}

/// Talking points of every open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TalkingPointsList {
    /// One per open incident, newest first.
    pub items: Vec<TalkingPoints>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/talking-points/questions`: customers ask something the points do not answer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionRequest {
    /// The incident.
    #[schema(required = true, value_type = i64)]
    pub incident_id: Option<i64>,
    /// What customers ask.
    #[schema(required = true, value_type = String)]
    pub question: Option<String>,
}
