//! `/api/v1/helpdesks` and the helpdesks' intake answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/helpdesks`: connect a helpdesk.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHelpdesk {
    /// Its name (letters, digits, `-`, `_`; up to 64): the source of its contacts and the last
    /// segment of its intake path.
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    /// `zendesk`, `intercom` or `freshdesk` (any case).
    #[schema(required = true, value_type = String)]
    pub kind: Option<String>,
    /// The vendor's API address (`https://example.zendesk.com`).
    #[schema(required = true, value_type = String, format = "uri")]
    pub base_url: Option<String>,
    /// The webhook signing secret (Zendesk, Intercom: required), or Freshdesk's bearer token
    /// (generated and shown once when left out).
    pub signing_secret: Option<String>,
    /// API credentials: Zendesk `{"email", "api_token"}`, Intercom `{"access_token"}`,
    /// Freshdesk `{"api_key"}`.
    #[schema(required = true, value_type = Object)]
    pub auth: Option<serde_json::Value>,
}

/// `PATCH /api/v1/helpdesks/{name}`: change what is given.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeHelpdesk {
    /// A new API address.
    pub base_url: Option<String>,
    /// A new signing secret; the current one stays accepted for the rotation grace period.
    pub signing_secret: Option<String>,
    /// New API credentials, as for creation.
    #[schema(value_type = Option<Object>)]
    pub auth: Option<serde_json::Value>,
}

/// A helpdesk connection (its credentials are never shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskOut {
    /// Its name.
    pub name: String,
    /// `zendesk`, `intercom` or `freshdesk`.
    pub kind: String,
    /// The vendor's API address.
    pub base_url: String,
    /// Where the vendor sends its webhooks.
    pub intake_path: String,
    /// Until when the previous signing secret is still accepted, during a rotation.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// How its intake goes.
    pub health: HelpdeskHealth,
    /// Freshdesk's bearer token when Frontline generated it: shown in this answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// How a connection's intake goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskHealth {
    /// Webhook events taken in.
    pub events: i64,
    /// When the last came.
    pub last_event_at: Option<DateTime<Utc>>,
    /// The last refusal or failure.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// While the write-back to this connection is paused because its calls kept failing (its
    /// circuit is open): when it tries again. `null` when it is not paused. Known to the
    /// process that writes back; others answer `null`.
    pub paused_until: Option<DateTime<Utc>>,
    /// Calls that failed in a row, while paused.
    pub failures_in_a_row: u32,
}

/// The helpdesk connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskList {
    /// Every connection, by name.
    pub items: Vec<HelpdeskOut>,
    /// Always `null`: the list is whole.
    pub next_cursor: Option<String>,
}

/// What a helpdesk webhook delivery did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskEventOut {
    /// `stored` (customer messages taken), `duplicate` (all sent before), `activity` (an
    /// agent's reply or a note: no contact), `linked` (an agent added an incident's tag
    /// `frontline-incident-N`: the ticket is linked to it), `ignored` (an event Frontline does
    /// not use, or a tag naming no incident it can link) or `ping`.
    pub status: String,
    /// Contacts stored.
    pub stored: usize,
    /// Messages already stored before.
    pub duplicates: usize,
    /// The contact ids (`TICKET:COMMENT`).
    pub contacts: Vec<String>,
    /// Why it was ignored, or what the activity was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One write of the helpdesk write-back ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskWriteOut {
    /// The connection.
    pub connection: String,
    /// The ticket at the vendor.
    pub ticket: String,
    /// The statement; `null` for a link note.
    pub statement_id: Option<i64>,
    /// The version (0 for a link note).
    pub version: u32,
    /// `reply` (public, a `customers` version), `note` (internal, an `agents` version),
    /// `link` (internal: the incident's title and talking points when the ticket was linked,
    /// and in Zendesk the tag `frontline-incident-N`) or `solve` (the wrap-up: the ticket
    /// solved, and in Zendesk its tag swapped for `frontline-resolved-N`).
    pub action: String,
    /// `pending`, `sending` (outcome being confirmed), `sent`, `failed`, `superseded` or
    /// `cancelled` (its fan-out aborted).
    pub status: String,
    /// Times sent.
    pub attempts: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// The last change.
    pub updated_at: DateTime<Utc>,
    /// When it was confirmed on the ticket.
    pub sent_at: Option<DateTime<Utc>>,
}

/// An incident's helpdesk write-back: every write, and counts per connection and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskLedger {
    /// Every write, by connection, statement, version, action and ticket.
    pub items: Vec<HelpdeskWriteOut>,
    /// Per connection, writes per status.
    pub counts: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
    /// Always `null`: the list is whole.
    pub next_cursor: Option<String>,
}

/// What a sweep of a helpdesk's API took in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskSweepOut {
    /// Tickets changed since the last sweep, looked at.
    pub tickets: usize,
    /// Customer messages the webhooks had missed, stored now.
    pub stored: usize,
    /// Customer messages already stored.
    pub duplicates: usize,
}

/// What wrapping up a resolved incident's tickets would do, or did: its final `customers`
/// version, the tickets per connection, and what each language's customers read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskWrapUp {
    /// The incident.
    pub incident_id: i64,
    /// Whether it is resolved (a wrap-up needs it).
    pub resolved: bool,
    /// The published `customers` statement and its version, when there is one.
    pub statement_id: Option<i64>,
    /// See `statement_id`.
    pub version: Option<u32>,
    /// Whether that version is marked final.
    pub r#final: bool,
    /// Per connection.
    pub connections: Vec<WrapUpConnection>,
    /// Per language: the tickets in it and the text their customers get (the version's
    /// translation, or its own text where none exists).
    pub samples: Vec<WrapUpSample>,
    /// Why the tickets cannot be solved now, when they cannot.
    pub blocked: Option<String>,
    /// Solve writes planned by this request (0 for a preview).
    pub planned: usize,
}

/// A connection's share of a wrap-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WrapUpConnection {
    /// The connection.
    pub connection: String,
    /// Its kind (`zendesk`, `intercom`, `freshdesk`).
    pub kind: String,
    /// Tickets linked to the incident.
    pub tickets: usize,
    /// Tickets the wrap-up solves.
    pub to_solve: usize,
    /// Tickets left open because another open incident links them too.
    pub kept_open: usize,
    /// Tickets whose public reply of the final version is confirmed on the ticket.
    pub answered: usize,
    /// Solve writes already in the ledger, per status.
    pub solves: std::collections::BTreeMap<String, u64>,
}

/// One language's customers in a wrap-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WrapUpSample {
    /// The language (`und` where the tickets did not say).
    pub language: String,
    /// Tickets in it.
    pub tickets: usize,
    /// What they read.
    pub text: String,
}

/// Solving a resolved incident's tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
pub struct WrapUpRequest {
    /// Solve the linked tickets (and swap the incident tag for the resolved one, in Zendesk)
    /// once each has the final version. Required.
    pub solve: Option<bool>,
}

/// An aborted fan-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HelpdeskAbortOut {
    /// Writes stopped before they were sent.
    pub cancelled: usize,
    /// Writes already sent, their outcome being confirmed: they cannot be recalled.
    pub in_flight: usize,
}
