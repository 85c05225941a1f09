//! The `/api/v1` wire format: what the server answers and what clients read, defined once.
//! Input types (`ContactInput`, `SecurityEventInput`) live in `frontline-core`, beside the
//! checks that turn them into domain values; they are re-exported here.
//!
//! Every error answer is [`ErrorBody`]; every list answer is `{"items": [...], "next_cursor"}`.
#![warn(missing_docs)]

mod helpdesks;
mod incidents;
mod lifecycle;

pub use helpdesks::*;
pub use incidents::*;
pub use lifecycle::*;

use chrono::{DateTime, Utc};
use frontline_core::Role;
use frontline_core::alert::{Alert, AlertKind, AlertState, Evidence};
use frontline_core::contact::{Channel, Contact};
use frontline_core::security_event::{SecurityEvent, Severity};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use frontline_core::contact::ContactInput;
pub use frontline_core::security_event::SecurityEventInput;

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for a person (`message`) and a program (`code`, `field`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code: `invalid`, `malformed_json`, `unauthorized`,
    /// `forbidden`, `not_found`, `payload_too_large`, `internal`, …
    #[schema(example = "invalid")]
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The answer to an intake request (one object or an array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntakeSummary {
    /// Elements stored now.
    pub accepted: usize,
    /// Elements already stored under the same (`source`, `id`), left as they were.
    pub duplicates: usize,
    /// Elements refused, each with its 0-based index in the request.
    pub rejected: Vec<RejectedElement>,
}

/// One refused element of an intake request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RejectedElement {
    /// 0-based position in the request's array (0 for a single object).
    pub index: usize,
    /// Why it was refused.
    pub error: ErrorDetail,
}

/// A stored contact, redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactOut {
    /// The source's id.
    pub id: String,
    /// The source.
    pub source: String,
    /// The channel.
    pub channel: Channel,
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// The text with personal data replaced by placeholders (`[email]`, `[phone]`, `[card]`,
    /// `[iban]`, `[ip]`).
    pub text: String,
    /// The customer's pseudonym (a keyed hash), never the customer id itself.
    pub customer: Option<String>,
    /// The affected service.
    pub service: Option<String>,
    /// The customer's region.
    pub region: Option<String>,
    /// The text's language.
    pub language: Option<String>,
    /// Extra data, redacted.
    pub metadata: Option<serde_json::Value>,
    /// Topics found in the text at intake, sorted (`account_access`, `phishing`, …).
    pub topics: Vec<String>,
    /// For a single contact read on its own: per topic that the learned classifier gave, the
    /// words of the text that drove it most, strongest first.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub topic_words: std::collections::BTreeMap<String, Vec<String>>,
    /// When Frontline committed it.
    pub ingested_at: DateTime<Utc>,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        let Contact {
            contact,
            ingested_at,
        } = c;
        Self {
            id: contact.key.id,
            source: contact.key.source,
            channel: contact.channel,
            received_at: contact.received_at,
            text: contact.text,
            customer: contact.customer,
            service: contact.service,
            region: contact.region,
            language: contact.language,
            metadata: contact.metadata,
            topics: contact.topics,
            topic_words: std::collections::BTreeMap::new(),
            ingested_at,
        }
    }
}

/// A stored security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityEventOut {
    /// The source's id.
    pub id: String,
    /// The tool that found it.
    pub source: String,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
    /// How serious it is.
    pub severity: Severity,
    /// One-line summary.
    pub title: String,
    /// The affected service.
    pub service: Option<String>,
    /// Free JSON indicators.
    pub indicators: serde_json::Value,
    /// When the finding stopped; `null` while it is active.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When Frontline committed it.
    pub ingested_at: DateTime<Utc>,
    /// Contacts on the same service and related topics since shortly before it (only when
    /// one event is read).
    pub customer_impact: Option<CustomerImpact>,
}

/// The customer side of a security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerImpact {
    /// Counted from (30 minutes before the event).
    pub since: DateTime<Utc>,
    /// The topics counted: what the correlation rules say the event is about (empty when no
    /// rule matches it).
    pub topics: Vec<String>,
    /// The service counted (`null`: every service).
    pub service: Option<String>,
    /// Contacts with one of the topics.
    pub contacts: u64,
    /// Distinct customers among them.
    pub customers: u64,
    /// Contacts per topic.
    #[schema(value_type = Object)]
    pub by_topic: std::collections::BTreeMap<String, u64>,
}

impl From<SecurityEvent> for SecurityEventOut {
    fn from(e: SecurityEvent) -> Self {
        let SecurityEvent { event, ingested_at } = e;
        Self {
            id: event.id,
            source: event.source,
            observed_at: event.observed_at,
            severity: event.severity,
            title: event.title,
            service: event.service,
            indicators: event.indicators,
            resolved_at: event.resolved_at,
            ingested_at,
            customer_impact: None,
        }
    }
}

/// A page of contacts, ordered by `received_at`, then intake order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactList {
    /// The contacts.
    pub items: Vec<ContactOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of security events, ordered by `observed_at`, then intake order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityEventList {
    /// The events.
    pub items: Vec<SecurityEventOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The caller, as its token identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The user's name.
    pub user: String,
    /// The user's roles.
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<Role>,
    /// The id of the token used (`session-ID` for a browser session).
    pub token_id: String,
    /// For a browser session: the token to send as `X-CSRF-Token` with changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// A signed-in browser session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionOut {
    /// Its public id.
    pub id: String,
    /// Whose.
    pub user: String,
    /// Signed in.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Ends.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The address it signed in from.
    pub client: Option<String>,
    /// Whether it is the session of this request.
    pub current: bool,
}

/// Sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    /// Newest first.
    pub items: Vec<SessionOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` while the server serves.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// The request body of `POST /api/v1/contacts`: one contact or an array of them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ContactsRequest {
    /// One contact.
    One(Box<ContactInput>),
    /// Several contacts; each is accepted or refused on its own.
    Many(Vec<ContactInput>),
}

/// The request body of `POST /api/v1/security-events`: one event or an array of them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SecurityEventsRequest {
    /// One event.
    One(Box<SecurityEventInput>),
    /// Several events; each is accepted or refused on its own.
    Many(Vec<SecurityEventInput>),
}

/// The answer to a streamed NDJSON intake (`POST /api/v1/contacts/bulk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BulkSummary {
    /// Lines stored now (all committed when the answer is 2xx).
    pub accepted: u64,
    /// Lines already stored under the same (`source`, `id`), left as they were.
    pub duplicates: u64,
    /// The first 1,000 refused lines, each with its 1-based line number.
    pub rejected: Vec<RejectedLine>,
    /// How many lines were refused in all (also those beyond the listed 1,000).
    pub rejected_count: u64,
    /// Lines read, blank ones included.
    pub lines: u64,
}

/// One refused line of an NDJSON intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RejectedLine {
    /// 1-based line number.
    pub line: u64,
    /// Why it was refused.
    pub error: ErrorDetail,
}

/// The answer to an Alertmanager notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertmanagerSummary {
    /// Alerts stored as new security events.
    pub accepted: usize,
    /// Alerts already stored (a repeated notification of the same firing).
    pub duplicates: usize,
    /// Stored events that this notification resolved.
    pub resolved: usize,
    /// Alerts refused, each with its 0-based index in `alerts`.
    pub rejected: Vec<RejectedElement>,
    /// Alerts Alertmanager itself left out of the notification (its `truncatedAlerts`).
    pub truncated_alerts: u64,
}

/// An early-warning alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertOut {
    /// Stable for one ongoing anomaly.
    pub id: String,
    /// `spike`, `theme`, `cluster`, or `intake_gap` (a helpdesk connection gone silent).
    pub kind: AlertKind,
    /// The topic (for a cluster, its members' main topic, if any).
    pub topic: Option<String>,
    /// The stream's service (`null` for a topic overall and for clusters).
    pub service: Option<String>,
    /// The stream's channel (`null` for a topic overall and for clusters).
    pub channel: Option<String>,
    /// When the anomaly began.
    pub started_at: DateTime<Utc>,
    /// The event time at which it fired or was last updated.
    pub raised_at: DateTime<Utc>,
    /// Contacts (spike) or distinct customers (cluster) counted.
    pub observed: u64,
    /// Distinct customers among them.
    pub customers: u64,
    /// How many were expected.
    pub expected: f64,
    /// How unusual, in [0, 1].
    pub score: f64,
    /// The contacts that triggered it, as (`source`, `id`): open them with
    /// `GET /api/v1/contacts/{source}/{id}`.
    pub evidence: Vec<Evidence>,
    /// For a cluster, its typical (redacted) text.
    pub text: Option<String>,
    /// For a spike watched in one language (a local wave), that language.
    pub language: Option<String>,
    /// The family (one wave) it belongs to: the id of the wave's first alert, shared by the
    /// wave's spike, theme and cluster alerts.
    pub group_id: Option<String>,
    /// `open`, `acknowledged` or `dismissed`.
    pub state: AlertState,
    /// Why it was dismissed.
    pub reason: Option<String>,
    /// Who acknowledged or dismissed it.
    pub state_by: Option<String>,
    /// When.
    pub state_at: Option<DateTime<Utc>>,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
}

impl From<Alert> for AlertOut {
    fn from(a: Alert) -> Self {
        let d = a.detected;
        Self {
            id: d.alert_id,
            kind: d.kind,
            topic: d.topic,
            service: d.service,
            channel: d.channel,
            started_at: d.started_at,
            raised_at: d.raised_at,
            observed: d.observed,
            customers: d.customers,
            expected: d.expected,
            score: d.score,
            evidence: d.evidence,
            text: d.text,
            language: d.language,
            group_id: d.group_id,
            state: a.state,
            reason: a.reason,
            state_by: a.state_by,
            state_at: a.state_at,
            created_at: a.created_at,
        }
    }
}

/// A page of alerts, ordered by `started_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertList {
    /// The alerts.
    pub items: Vec<AlertOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The body of `PUT /api/v1/contacts/{source}/{id}/topics`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicsRequest {
    /// The topics the contact should have, by the taxonomy's names; empty for none of them.
    #[schema(required = true, value_type = Vec<String>)]
    pub topics: Option<Vec<String>>,
}

/// The body of `POST /api/v1/alerts/{id}/dismiss`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// Why it does not matter (kept, to tune detection).
    #[schema(required = true, value_type = String)]
    pub reason: Option<String>,
}
