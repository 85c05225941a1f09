//! Helpdesk connections as stored: their kind and address, their credentials sealed by the
//! server (the store never sees them in the clear), their signing secret's rotation, and the
//! health the settings page shows (last event, last error).

use chrono::{DateTime, Utc};

/// A stored helpdesk connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Helpdesk {
    /// Its name: the contacts' source, and the last segment of its intake path.
    pub name: String,
    /// `zendesk`, `intercom` or `freshdesk`.
    pub kind: String,
    /// The vendor's API address.
    pub base_url: String,
    /// The API credentials, sealed.
    pub auth_sealed: Vec<u8>,
    /// The webhook signing secret (Freshdesk: the bearer token), sealed.
    pub signing_sealed: Option<Vec<u8>>,
    /// The previous signing secret during a rotation's grace period, sealed, and until when
    /// it is accepted.
    pub previous_signing: Option<(Vec<u8>, DateTime<Utc>)>,
    /// When it was created, and by whom.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Webhook events taken in.
    pub events: i64,
    /// When the last one came.
    pub last_event_at: Option<DateTime<Utc>>,
    /// The last error and when it happened.
    pub last_error: Option<(String, DateTime<Utc>)>,
}

/// A connection to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHelpdesk {
    /// See [`Helpdesk::name`].
    pub name: String,
    /// See [`Helpdesk::kind`].
    pub kind: String,
    /// See [`Helpdesk::base_url`].
    pub base_url: String,
    /// See [`Helpdesk::auth_sealed`].
    pub auth_sealed: Vec<u8>,
    /// See [`Helpdesk::signing_sealed`].
    pub signing_sealed: Option<Vec<u8>>,
}

/// A change to a connection; `None` keeps a field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HelpdeskChange {
    /// A new API address.
    pub base_url: Option<String>,
    /// New credentials, sealed.
    pub auth_sealed: Option<Vec<u8>>,
    /// A new signing secret, sealed; the current one stays accepted until the given time.
    pub rotate_signing: Option<(Vec<u8>, DateTime<Utc>)>,
}

/// How a webhook event went, for the connection's health.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome<'a> {
    /// Taken in; its id for deduplication when the vendor gives one.
    Taken(Option<&'a str>),
    /// Refused or failed, and why.
    Failed(&'a str),
}
