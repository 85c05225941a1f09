//! Data lifecycle on the wire: erasure requests, their receipts and the erasure ledger.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A request to erase a customer's data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ErasureRequest {
    /// The customer's id exactly as the source sent it (an e-mail address, a requester id):
    /// Frontline computes its pseudonym and never stores the id itself. Required.
    pub customer: Option<String>,
}

/// What an erasure removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErasureCountsOut {
    /// Contacts removed.
    pub contacts_removed: u64,
    /// Contacts an incident links, left as tombstones (the link stays; text, metadata and
    /// pseudonym go).
    pub contacts_tombstoned: u64,
    /// Alerts whose evidence named one of them, the reference removed.
    pub alerts_scrubbed: u64,
    /// Topic corrections made on them, removed.
    pub corrections_removed: u64,
}

/// An erasure: the receipt of a request, and a row of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErasureOut {
    /// Its number in the ledger.
    pub id: i64,
    /// The customer's pseudonym under this installation's key; for a person who used
    /// Frontline, `person:` and the pseudonym of their name.
    pub pseudonym: String,
    /// When it was done.
    pub at: DateTime<Utc>,
    /// Who asked (`user:NAME`, `cli:USER`).
    pub actor: String,
    /// What it removed (all zero for a customer Frontline never heard of).
    pub counts: ErasureCountsOut,
}

/// The erasure ledger, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErasureList {
    /// Erasures.
    pub items: Vec<ErasureOut>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// A request to erase a person (a user of Frontline).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct PersonErasureRequest {
    /// The user's name. Required.
    pub user: Option<String>,
}

/// What a person's erasure changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PersonErasureCountsOut {
    /// Personal fields of audit records erased (who acted, on whom, from which address);
    /// the records stay and `frontline audit verify` still passes.
    pub audit_fields_erased: u64,
    /// Audit records naming them from before records could be erased (their hash covers the
    /// name itself): kept as they are.
    pub audit_records_kept: u64,
    /// Timeline entries, links, alert decisions and other rows that named them as the actor.
    pub actor_fields: u64,
    /// Incidents, statements, reviews, reports and timeline details that named them.
    pub documents: u64,
    /// Whether their account (roles, sessions, tokens) was removed.
    pub account_removed: bool,
    /// Their sessions removed.
    pub sessions_removed: u64,
    /// Their API tokens removed.
    pub tokens_removed: u64,
}

/// The receipt of a person's erasure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PersonErasureOut {
    /// Its row in the erasure ledger (`GET /api/v1/erasures`), which holds the pseudonym of
    /// the name, never the name.
    pub id: i64,
    /// What now stands wherever their name stood: the same for every erasure of that name
    /// on this installation, so their actions still read as one person's.
    pub placeholder: String,
    /// What was changed (zero for a name Frontline never heard of).
    pub counts: PersonErasureCountsOut,
}
