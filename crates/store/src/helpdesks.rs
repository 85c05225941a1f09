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
    /// Where the last sweep of the vendor's API got to (a time or the vendor's cursor).
    pub sweep_cursor: Option<String>,
    /// When it ran.
    pub last_sweep_at: Option<DateTime<Utc>>,
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

/// What a write puts on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WriteAction {
    /// A public reply (a `customers` statement version).
    Reply,
    /// An internal note (an `agents` version).
    Note,
    /// The internal note that tells agents a ticket is part of an incident (its title and the
    /// talking points of the moment), with the incident's tag where the vendor has tags.
    Link,
    /// The wrap-up of a resolved incident: the ticket solved (closed, in Intercom) and, where
    /// the vendor has tags, the incident's tag swapped for its resolved tag. Keyed on the final
    /// `customers` version, and sent only once nothing else is open on the ticket, so the
    /// customer's last word from Frontline is that version.
    Solve,
}

impl WriteAction {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::Note => "note",
            Self::Link => "link",
            Self::Solve => "solve",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reply" => Some(Self::Reply),
            "note" => Some(Self::Note),
            "link" => Some(Self::Link),
            "solve" => Some(Self::Solve),
            _ => None,
        }
    }
}

/// Where a write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteStatus {
    /// To be sent.
    Pending,
    /// Sent, its outcome not yet known (a timeout, a dropped answer, a job not finished):
    /// read back from the ticket before any retry, so a customer never gets it twice.
    Sending,
    /// On the ticket.
    Sent,
    /// Given up after repeated refusals.
    Failed,
    /// A newer version of its statement came before it was sent.
    Superseded,
    /// Stopped by the incident's commander before it was sent (an aborted fan-out); nothing
    /// of that statement version is planned again.
    Cancelled,
}

impl WriteStatus {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Cancelled => "cancelled",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Sending,
            Self::Sent,
            Self::Failed,
            Self::Superseded,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|w| w.as_str() == s)
    }
}

/// Which write: a ticket of a connection, a statement version, an action.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WriteKey {
    /// The connection.
    pub connection: String,
    /// The ticket id at the vendor.
    pub ticket: String,
    /// The statement; for a link note, which has none, minus the incident's id (so a ticket
    /// in two incidents gets two, and no statement's id is taken).
    pub statement_id: i64,
    /// Its version (0 for a link note).
    pub version: u32,
    /// Reply, note or link note.
    pub action: WriteAction,
}

impl WriteKey {
    /// The key of the link note of `ticket` in `incident`.
    pub fn link(connection: &str, ticket: &str, incident: i64) -> Self {
        Self {
            connection: connection.to_owned(),
            ticket: ticket.to_owned(),
            statement_id: -incident,
            version: 0,
            action: WriteAction::Link,
        }
    }
}

/// A write as planned: what goes on the ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedWrite {
    /// Which.
    pub key: WriteKey,
    /// The incident.
    pub incident_id: i64,
    /// The text.
    pub body: String,
}

/// A write in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpdeskWrite {
    /// Which.
    pub key: WriteKey,
    /// The incident.
    pub incident_id: i64,
    /// The text.
    pub body: String,
    /// Where it stands.
    pub status: WriteStatus,
    /// Times it was sent.
    pub attempts: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
    /// When it was confirmed on the ticket.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A contact linked to an incident, as the write-back needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedContact {
    /// The contact's id at its source (`TICKET:COMMENT`).
    pub id: String,
    /// Its customer's pseudonym, when the source named one.
    pub customer: Option<String>,
    /// Its language, when the source said.
    pub language: Option<String>,
}
