//! Data kept only as long as it is needed: the retention windows as cutoffs, and what a
//! retention pass removed (counts per class of data, never contents), for the sweeper, the
//! `retention run` command and the audit log.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Before when each class of data goes; `None` keeps it. Contacts linked to an open incident
/// keep everything; contacts linked to any incident keep their row (the link must still
/// resolve) and lose their text with everyone else's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionCutoffs {
    /// Contacts received before it lose their text and metadata (topics, counts, pseudonym
    /// and times stay, so volumes and trends still add up).
    pub contact_text: Option<DateTime<Utc>>,
    /// Contacts received before it go whole.
    pub contacts: Option<DateTime<Utc>>,
    /// Alerts that began before it lose their evidence and typical text.
    pub alert_evidence: Option<DateTime<Utc>>,
    /// Webhook deliveries and mails settled (delivered, sent or given up) before it go.
    pub deliveries: Option<DateTime<Utc>>,
    /// Sessions and API tokens that expired or were revoked before it go.
    pub sessions: Option<DateTime<Utc>>,
}

/// What a retention pass removed (or, in a dry run, would remove), per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionCounts {
    /// Contacts whose text and metadata were dropped.
    pub contact_texts: u64,
    /// Contacts removed whole.
    pub contacts: u64,
    /// Alerts whose evidence was dropped.
    pub alert_evidence: u64,
    /// Webhook deliveries removed.
    pub deliveries: u64,
    /// Mails (the outbox) removed.
    pub mails: u64,
    /// Sessions removed.
    pub sessions: u64,
    /// API tokens removed.
    pub tokens: u64,
}

impl RetentionCounts {
    /// Everything removed.
    pub fn total(&self) -> u64 {
        self.contact_texts
            + self.contacts
            + self.alert_evidence
            + self.deliveries
            + self.mails
            + self.sessions
            + self.tokens
    }

    /// Adds another pass's counts.
    pub fn add(&mut self, other: &RetentionCounts) {
        self.contact_texts += other.contact_texts;
        self.contacts += other.contacts;
        self.alert_evidence += other.alert_evidence;
        self.deliveries += other.deliveries;
        self.mails += other.mails;
        self.sessions += other.sessions;
        self.tokens += other.tokens;
    }
}

/// What erasing one customer's data removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErasureCounts {
    /// Contacts removed.
    pub contacts_removed: u64,
    /// Contacts an incident links, left as tombstones: the link stays, the text, metadata and
    /// pseudonym go.
    pub contacts_tombstoned: u64,
    /// Alerts whose evidence named one of those contacts, the reference removed.
    pub alerts_scrubbed: u64,
    /// Topic corrections made on those contacts, removed.
    pub corrections_removed: u64,
}

/// A row of the erasure ledger: a request to erase a customer's data, kept so a restore from
/// an older backup can apply it again. Never the customer id as the source sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// Its number.
    pub id: i64,
    /// The customer's pseudonym under this installation's key.
    pub pseudonym: String,
    /// When it was done.
    pub at: DateTime<Utc>,
    /// Who asked (`user:NAME`, `cli:USER`).
    pub actor: String,
    /// What it removed.
    pub counts: ErasureCounts,
}

/// The audit record of an erasure: counts and the ledger row, never the pseudonym or id.
pub fn erasure_audit(
    id: i64,
    counts: &ErasureCounts,
    origin: &crate::Origin,
) -> frontline_core::audit::AuditEntry {
    frontline_core::audit::AuditEntry::new(
        origin.actor.clone(),
        "erasure.request",
        format!("erasure:{id}"),
    )
    .with_detail(serde_json::json!(counts))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// `evidence` (an alert's JSON array of `{"source", "id"}`) without the contacts in `gone`;
/// `None` when it named none of them. Both backends scrub erased contacts with it.
pub fn scrub_evidence(
    evidence: &serde_json::Value,
    gone: &std::collections::HashSet<(String, String)>,
) -> Option<serde_json::Value> {
    let items = evidence.as_array()?;
    let named = |e: &serde_json::Value| {
        let key = (
            e["source"].as_str().unwrap_or_default().to_owned(),
            e["id"].as_str().unwrap_or_default().to_owned(),
        );
        gone.contains(&key)
    };
    if !items.iter().any(named) {
        return None;
    }
    Some(serde_json::Value::Array(
        items.iter().filter(|e| !named(e)).cloned().collect(),
    ))
}
