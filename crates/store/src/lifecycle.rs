//! Data kept only as long as it is needed: the retention windows as cutoffs, and what a
//! retention pass removed (counts per class of data, never contents), for the sweeper, the
//! `retention run` command and the audit log.

use chrono::{DateTime, Utc};
use frontline_core::audit::{AuditRecord, Personal};
use serde::{Deserialize, Serialize};

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

/// Columns outside the audit log that name who did something, as `user:NAME`: erasing a
/// person replaces their name there with the placeholder.
pub const ACTOR_COLUMNS: &[(&str, &str)] = &[
    ("alerts", "state_by"),
    ("incident_links", "linked_by"),
    ("feed", "actor"),
    ("webhooks", "created_by"),
    ("reviews", "updated_by"),
    ("components", "updated_by"),
    ("topic_corrections", "actor"),
    ("helpdesks", "created_by"),
    ("erasures", "actor"),
];

/// JSON documents that may name a person (an incident's roles and task owners, a statement's
/// authors and approvers, a timeline entry's assignee, a review's owners, a report's filer).
/// Each table's documents are found by `rowid` on SQLite and `ctid` on PostgreSQL.
pub const PERSON_DOCUMENTS: &[(&str, &str)] = &[
    ("incidents", "doc"),
    ("feed", "data"),
    ("reports", "doc"),
    ("statements", "doc"),
    ("reviews", "doc"),
];

/// Keys under which a document holds a person by bare name.
const PERSON_KEYS: &[&str] = &[
    "user",
    "owner",
    "author",
    "filed_by",
    "state_by",
    "opened_by",
];

/// What erasing a person changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonErasureCounts {
    /// Personal fields of audit records erased (the records stay, and the chain verifies).
    pub audit_fields_erased: u64,
    /// Audit records naming them in the first format, whose hash covers the name itself:
    /// kept as they are, so the chain still verifies.
    pub audit_records_kept: u64,
    /// Timeline entries, links, alert decisions and other rows that named them as the actor.
    pub actor_fields: u64,
    /// Documents (incidents, statements, reviews, reports, timeline details) that named them.
    pub documents: u64,
    /// Their account, roles, sessions and tokens removed (false: no such account).
    pub account_removed: bool,
    /// Their sessions removed.
    pub sessions_removed: u64,
    /// Their API tokens removed.
    pub tokens_removed: u64,
}

/// The receipt of a person's erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonErasure {
    /// Its row in the erasure ledger.
    pub id: i64,
    /// What now stands wherever their name stood (`erased-…`, the same for every erasure of
    /// that name on this installation).
    pub placeholder: String,
    /// What was changed.
    pub counts: PersonErasureCounts,
}

/// How the erasure ledger marks a person's row: before the pseudonym of `user:NAME`, so the
/// ledger (and a copy of it given to a restore) tells people from customers.
pub const PERSON_LEDGER_PREFIX: &str = "person:";

/// The placeholder for a person whose keyed pseudonym (of `user:NAME`) is `pseudonym`: stable,
/// so an erased person's actions still read as one person's, and meaningless without the key.
pub fn person_placeholder(pseudonym: &str) -> String {
    format!("erased-{}", pseudonym.get(..12).unwrap_or(pseudonym))
}

/// Replaces `name` in a document with `placeholder`: `user:NAME` anywhere, and the bare name
/// as the value of a key that holds a person or of an incident's `roles`. Returns how many
/// values changed.
pub fn forget_in_document(doc: &mut serde_json::Value, name: &str, placeholder: &str) -> usize {
    /// What is looked for and what replaces it.
    struct Names<'a> {
        bare: &'a str,
        actor: String,
        bare_after: &'a str,
        actor_after: String,
    }
    /// `person`: a string here holds a person (under a person's key, or in `roles`).
    fn walk(v: &mut serde_json::Value, person: bool, n: &Names<'_>) -> usize {
        use serde_json::Value;
        match v {
            Value::String(s) if *s == n.actor => {
                n.actor_after.clone_into(s);
                1
            }
            Value::String(s) if person && s == n.bare => {
                n.bare_after.clone_into(s);
                1
            }
            Value::Array(items) => items.iter_mut().map(|i| walk(i, person, n)).sum(),
            Value::Object(map) => {
                // A timeline's seat change says who held it `from` and who holds it `to`.
                let seat = map.contains_key("role");
                map.iter_mut()
                    .map(|(k, i)| {
                        let holds = person
                            || k == "roles"
                            || PERSON_KEYS.contains(&k.as_str())
                            || (seat && (k == "from" || k == "to"));
                        walk(i, holds, n)
                    })
                    .sum()
            }
            _ => 0,
        }
    }
    let names = Names {
        bare: name,
        actor: format!("user:{name}"),
        bare_after: placeholder,
        actor_after: format!("user:{placeholder}"),
    };
    walk(doc, false, &names)
}

/// `text` as it appears inside a JSON string (quotes and backslashes escaped), to find the
/// documents that may hold it without reading every one.
pub fn json_escaped(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Erases `name` from `records` (those naming them as actor or target): returns the records
/// changed, for the caller to write back, and counts the fields erased and the first-format
/// records kept as they are. Both backends erase through it.
pub fn forget_in_records(
    records: Vec<AuditRecord>,
    name: &str,
    placeholder: &str,
    counts: &mut PersonErasureCounts,
) -> Vec<AuditRecord> {
    let mut changed = Vec::new();
    for mut record in records {
        match forget_in_record(&mut record, name, placeholder) {
            None => counts.audit_records_kept += 1,
            Some(0) => {}
            Some(n) => {
                counts.audit_fields_erased += n;
                changed.push(record);
            }
        }
    }
    changed
}

/// Erases `name` from documents (a key to find each by, and its JSON text, from
/// `table.column`): returns those changed, with their new text, and counts them.
///
/// # Errors
/// A document that is not JSON (the store wrote it, so this is an internal error).
pub fn forget_in_documents<K>(
    docs: Vec<(K, String)>,
    name: &str,
    placeholder: &str,
    table_column: &str,
    counts: &mut PersonErasureCounts,
) -> Result<Vec<(K, String)>, crate::StoreError> {
    let mut changed = Vec::new();
    for (key, text) in docs {
        let mut doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| crate::StoreError::internal(format!("reading {table_column}"), e))?;
        if forget_in_document(&mut doc, name, placeholder) > 0 {
            counts.documents += 1;
            changed.push((key, doc.to_string()));
        }
    }
    Ok(changed)
}

/// Erases `name` from an audit record: an actor or target naming them, and the client
/// address of what they did. Returns the fields erased, or `None` for a first-format record
/// that names them (which cannot be erased without breaking the chain).
fn forget_in_record(record: &mut AuditRecord, name: &str, placeholder: &str) -> Option<u64> {
    let actor = format!("user:{name}");
    let by = record.actor == actor;
    let on = record.target == actor;
    if !by && !on {
        return Some(0);
    }
    let as_actor = format!("user:{placeholder}");
    let mut erased = 0;
    if by {
        if !record.forget(Personal::Actor, &as_actor) {
            return None;
        }
        erased += 1;
        if record.client.is_some() && record.forget(Personal::Client, "") {
            erased += 1;
        }
    }
    if on {
        if !record.forget(Personal::Target, &as_actor) {
            return None;
        }
        erased += 1;
    }
    Some(erased)
}

/// The audit record of a person's erasure: the placeholder and the counts, never the name.
pub fn person_erasure_audit(
    erasure: &PersonErasure,
    origin: &crate::Origin,
) -> frontline_core::audit::AuditEntry {
    frontline_core::audit::AuditEntry::new(
        origin.actor.clone(),
        "erasure.person",
        format!("user:{}", erasure.placeholder),
    )
    .with_detail(serde_json::json!(erasure.counts))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}
