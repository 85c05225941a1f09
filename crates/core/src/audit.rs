//! The audit log's records and their hash chain.
//!
//! Every change of state appends one record in the same transaction as the change. Each record's
//! `hash` covers its own fields and the previous record's hash, so altering, removing or
//! reordering any record breaks every hash after it. Stores assign `seq` and `at`; this module
//! decides what is hashed and how.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A user, through the API.
    User {
        /// The user's name.
        name: String,
    },
    /// Someone at the command line on the server's machine.
    Cli {
        /// The operating-system user, when known.
        os_user: String,
    },
    /// Frontline itself (first-start secrets, workers).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { name } => write!(f, "user:{name}"),
            Actor::Cli { os_user } => write!(f, "cli:{os_user}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// A change to record, before the store gives it a place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Who did it.
    pub actor: Actor,
    /// What was done, as `noun.verb` (`token.create`, `contacts.ingest`).
    pub action: String,
    /// What it was done to (`user:alice`, `token:ab12…`, `contacts`).
    pub target: String,
    /// A small summary (counts, role names); never contact text, tokens or secrets.
    pub detail: serde_json::Value,
    /// The HTTP request id, when the change came through the API.
    pub request_id: Option<String>,
    /// The client's address, when the change came through the API.
    pub client: Option<String>,
}

impl AuditEntry {
    /// A new entry with no detail and no request id.
    pub fn new(actor: Actor, action: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            actor,
            action: action.into(),
            target: target.into(),
            detail: serde_json::Value::Null,
            request_id: None,
            client: None,
        }
    }

    /// Sets the detail.
    #[must_use]
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Sets the client's address.
    #[must_use]
    pub fn with_client(mut self, client: Option<String>) -> Self {
        self.client = client;
        self
    }
}

/// A record in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was appended (microsecond precision, so every backend stores it exactly).
    pub at: DateTime<Utc>,
    /// Who (`user:alice`, `cli:root`, `system`).
    pub actor: String,
    /// What (`token.create`).
    pub action: String,
    /// To what.
    pub target: String,
    /// Summary.
    pub detail: serde_json::Value,
    /// HTTP request id, if any.
    pub request_id: Option<String>,
    /// The client's address, for changes made through the API. (Records from before client
    /// addresses were kept have none; see [`AuditRecord::expected_hash`].)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The previous record's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) over this record's fields and `prev_hash`.
    pub hash: String,
}

impl AuditRecord {
    /// Seals `entry` as record `seq` after a record whose hash is `prev_hash`.
    pub fn seal(seq: i64, at: DateTime<Utc>, entry: &AuditEntry, prev_hash: &str) -> Self {
        let mut record = AuditRecord {
            seq,
            at: at.trunc_subsecs(6),
            actor: entry.actor.to_string(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            detail: entry.detail.clone(),
            request_id: entry.request_id.clone(),
            client: entry.client.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        record.hash = record.expected_hash();
        record
    }

    /// The hash this record should carry, computed from its other fields.
    pub fn expected_hash(&self) -> String {
        // Canonical form: a JSON array (fixed field order; serde_json sorts object keys), so no
        // field's content can be confused with a separator. The client address came later: it
        // is a ninth element when present, so records written before it keep their hashes, and
        // removing or adding an address changes the array and breaks the hash.
        let mut canonical = serde_json::json!([
            self.seq,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.actor,
            self.action,
            self.target,
            self.detail,
            self.request_id,
            self.prev_hash,
        ]);
        if let (Some(client), Some(fields)) = (&self.client, canonical.as_array_mut()) {
            fields.push(serde_json::Value::String(client.clone()));
        }
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A record is missing (deleted, or the records were reordered).
    #[error("record {expected} is missing: the next record found is {found}")]
    Missing {
        /// The seq that should come next.
        expected: i64,
        /// The seq found instead.
        found: i64,
    },
    /// A record's contents do not match its hash: it was altered.
    #[error("record {seq} was altered: its hash does not match its contents")]
    Altered {
        /// The record.
        seq: i64,
    },
    /// A record does not name the previous record's hash: one before it was replaced.
    #[error("record {seq} does not follow record {}: the chain was rewritten", seq - 1)]
    Unlinked {
        /// The record.
        seq: i64,
    },
}

/// Checks records one after the other, as a reader pages through the log.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    next_seq: i64,
    prev_hash: String,
    checked: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            checked: 0,
        }
    }
}

impl ChainCheck {
    /// Checks the next record.
    ///
    /// # Errors
    /// The first break found.
    pub fn check(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        if record.seq != self.next_seq {
            return Err(ChainBreak::Missing {
                expected: self.next_seq,
                found: record.seq,
            });
        }
        if record.expected_hash() != record.hash {
            return Err(ChainBreak::Altered { seq: record.seq });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { seq: record.seq });
        }
        self.next_seq += 1;
        self.prev_hash.clone_from(&record.hash);
        self.checked += 1;
        Ok(())
    }

    /// Records checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The last good record's hash (the genesis hash before any).
    pub fn head(&self) -> &str {
        &self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry::new(Actor::System, "token.create", "user:alice")
            .with_detail(serde_json::json!({"role": "admin"}))
    }

    #[test]
    fn records_chain_and_any_change_breaks_the_hash() {
        let at = Utc::now();
        let first = AuditRecord::seal(1, at, &entry(), GENESIS_HASH);
        let second = AuditRecord::seal(2, at, &entry(), &first.hash);
        assert_eq!(second.prev_hash, first.hash);
        assert_ne!(first.hash, second.hash);
        assert_eq!(first.expected_hash(), first.hash);

        let mut tampered = first.clone();
        tampered.target = "user:mallory".into();
        assert_ne!(tampered.expected_hash(), first.hash);
        let mut tampered = first;
        tampered.seq = 3;
        assert_ne!(tampered.expected_hash(), tampered.hash);
    }

    #[test]
    fn the_check_finds_alterations_gaps_and_rewrites() {
        let at = Utc::now();
        let mut chain = vec![AuditRecord::seal(1, at, &entry(), GENESIS_HASH)];
        for seq in 2..=4 {
            let prev = chain.last().unwrap().hash.clone();
            chain.push(AuditRecord::seal(seq, at, &entry(), &prev));
        }
        let run = |records: &[AuditRecord]| {
            let mut c = ChainCheck::default();
            records
                .iter()
                .try_for_each(|r| c.check(r))
                .map(|()| c.checked())
        };
        assert_eq!(run(&chain), Ok(4));
        let mut altered = chain.clone();
        altered[1].target = "user:mallory".into();
        assert_eq!(run(&altered), Err(ChainBreak::Altered { seq: 2 }));
        let mut gap = chain.clone();
        gap.remove(2);
        assert_eq!(
            run(&gap),
            Err(ChainBreak::Missing {
                expected: 3,
                found: 4
            })
        );
        // A record rewritten with a fresh hash still breaks the next link.
        let mut rewritten = chain.clone();
        let mut e = entry();
        e.target = "user:mallory".into();
        rewritten[1] = AuditRecord::seal(2, at, &e, &chain[0].hash);
        assert_eq!(run(&rewritten), Err(ChainBreak::Unlinked { seq: 3 }));
    }

    #[test]
    fn actors_render_with_their_kind() {
        assert_eq!(Actor::User { name: "a".into() }.to_string(), "user:a");
        assert_eq!(
            Actor::Cli {
                os_user: "root".into()
            }
            .to_string(),
            "cli:root"
        );
        assert_eq!(Actor::System.to_string(), "system");
    }
}
