//! The audit log's records and their hash chain.
//!
//! Every change of state appends one record in the same transaction as the change. Each record's
//! `hash` covers its own fields and the previous record's hash, so altering, removing or
//! reordering any record breaks every hash after it. Stores assign `seq` and `at`; this module
//! decides what is hashed and how.
//!
//! Two record formats. Format 1 (every record written before 2026-12-07) hashes the personal
//! fields (who acted, on whom, from which address) in the clear, so none of them can ever be
//! removed without breaking every later link. Format 2 hashes a salted commitment to each
//! personal field instead and keeps the salt beside it: erasing a person deletes the field and
//! its salt, leaves a placeholder, and the chain still verifies (the erased field is reported,
//! no longer attested). Without its salt a commitment to a short name cannot be guessed back.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The format that hashes personal fields in the clear (records from before sealing).
pub const FORMAT_CLEAR: u8 = 1;

/// The format that hashes salted commitments to personal fields, so they can be erased.
pub const FORMAT_SEALED: u8 = 2;

/// Bytes of a personal field's salt.
pub const SALT_BYTES: usize = 16;

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

/// A format-2 record's commitment to one personal field, and the salt that opens it (gone
/// once the field is erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seal {
    /// SHA-256 (hex) over the field's name, the salt and the value.
    pub commitment: String,
    /// The salt (hex); absent once the field was erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// A format-2 record's seals: one per personal field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seals {
    /// Who acted.
    pub actor: Seal,
    /// On what (a person, for `user:NAME`).
    pub target: Seal,
    /// From which address, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Seal>,
}

/// A personal field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    /// `actor`.
    Actor,
    /// `target`.
    Target,
    /// `client`.
    Client,
}

impl Personal {
    fn name(self) -> &'static str {
        match self {
            Personal::Actor => "actor",
            Personal::Target => "target",
            Personal::Client => "client",
        }
    }
}

/// The commitment to `value` as personal field `field` under `salt` (hex): SHA-256 over a
/// fixed label, the field's name and the salt, each ended by a zero byte, then the value.
/// Everything before the value has a fixed form, so no value can pass for another field or
/// salt; and it is hashed without building a document (it runs three times per record).
fn commit(field: Personal, salt: &str, value: &str) -> String {
    let mut hash = Sha256::new();
    for part in [
        "frontline.audit.seal\0",
        field.name(),
        "\0",
        salt,
        "\0",
        value,
    ] {
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

fn seal_field(field: Personal, salt: &[u8; SALT_BYTES], value: &str) -> Seal {
    let salt = hex::encode(salt);
    Seal {
        commitment: commit(field, &salt, value),
        salt: Some(salt),
    }
}

fn format_clear() -> u8 {
    FORMAT_CLEAR
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
    /// [`FORMAT_CLEAR`] or [`FORMAT_SEALED`].
    #[serde(default = "format_clear")]
    pub format: u8,
    /// Format 2: the commitments its hash covers instead of the personal fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seals: Option<Seals>,
}

impl AuditRecord {
    /// Seals `entry` as record `seq` after a record whose hash is `prev_hash`, in format 2:
    /// `salts` (fresh random bytes, one per personal field: actor, target, client) open the
    /// commitments its hash covers.
    pub fn seal(
        seq: i64,
        at: DateTime<Utc>,
        entry: &AuditEntry,
        prev_hash: &str,
        salts: &[[u8; SALT_BYTES]; 3],
    ) -> Self {
        let mut record = Self::unsealed(seq, at, entry, prev_hash);
        record.format = FORMAT_SEALED;
        record.seals = Some(Seals {
            actor: seal_field(Personal::Actor, &salts[0], &record.actor),
            target: seal_field(Personal::Target, &salts[1], &record.target),
            client: record
                .client
                .as_deref()
                .map(|c| seal_field(Personal::Client, &salts[2], c)),
        });
        record.hash = record.expected_hash();
        record
    }

    /// Seals `entry` in format 1, personal fields in the clear: how records were written
    /// before format 2, kept so they are checked (and tested) as they were written.
    pub fn seal_clear(seq: i64, at: DateTime<Utc>, entry: &AuditEntry, prev_hash: &str) -> Self {
        let mut record = Self::unsealed(seq, at, entry, prev_hash);
        record.hash = record.expected_hash();
        record
    }

    /// The record in format 1 without its hash.
    fn unsealed(seq: i64, at: DateTime<Utc>, entry: &AuditEntry, prev_hash: &str) -> Self {
        AuditRecord {
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
            format: FORMAT_CLEAR,
            seals: None,
        }
    }

    /// Whether the record is as it was written: its hash matches its fields, and in format 2
    /// every personal field still held opens its commitment. (An erased field is not
    /// attested any more; see [`AuditRecord::erased`].)
    pub fn is_intact(&self) -> bool {
        self.expected_hash() == self.hash && self.personal_fields_hold()
    }

    fn personal_fields_hold(&self) -> bool {
        if self.format != FORMAT_SEALED {
            return self.seals.is_none();
        }
        let Some(seals) = &self.seals else {
            return false;
        };
        let holds = |field: Personal, seal: &Seal, value: &str| match &seal.salt {
            Some(salt) => commit(field, salt, value) == seal.commitment,
            None => true,
        };
        let client = match (&seals.client, &self.client) {
            (Some(seal), Some(client)) => holds(Personal::Client, seal, client),
            // An erased address leaves no value; one never given has no seal.
            (Some(seal), None) => seal.salt.is_none(),
            (None, None) => true,
            (None, Some(_)) => false,
        };
        holds(Personal::Actor, &seals.actor, &self.actor)
            && holds(Personal::Target, &seals.target, &self.target)
            && client
    }

    /// How many of its personal fields were erased (format 2 only).
    pub fn erased(&self) -> usize {
        self.seals.as_ref().map_or(0, |s| {
            [Some(&s.actor), Some(&s.target), s.client.as_ref()]
                .into_iter()
                .flatten()
                .filter(|seal| seal.salt.is_none())
                .count()
        })
    }

    /// Erases personal field `field`: its value becomes `placeholder` (the address is removed)
    /// and its salt is dropped, so the hash still holds and nothing opens the commitment.
    /// Returns `false`, changing nothing, for a format-1 record, whose hash covers the value
    /// itself.
    pub fn forget(&mut self, field: Personal, placeholder: &str) -> bool {
        let Some(seals) = self.seals.as_mut().filter(|_| self.format == FORMAT_SEALED) else {
            return false;
        };
        match field {
            Personal::Actor => {
                self.actor = placeholder.to_owned();
                seals.actor.salt = None;
            }
            Personal::Target => {
                self.target = placeholder.to_owned();
                seals.target.salt = None;
            }
            Personal::Client => {
                self.client = None;
                if let Some(seal) = seals.client.as_mut() {
                    seal.salt = None;
                }
            }
        }
        true
    }

    /// The hash this record should carry, computed from its other fields.
    pub fn expected_hash(&self) -> String {
        if self.format == FORMAT_SEALED {
            return self.sealed_hash();
        }
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

    /// Format 2's hash: the format first (format 1's first element is the sequence number and
    /// its second a time, so the two cannot be confused), then the commitments where format 1
    /// has the personal fields.
    fn sealed_hash(&self) -> String {
        let seals = self.seals.as_ref();
        let canonical = serde_json::json!([
            FORMAT_SEALED,
            self.seq,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            seals.map(|s| s.actor.commitment.as_str()),
            self.action,
            seals.map(|s| s.target.commitment.as_str()),
            self.detail,
            self.request_id,
            self.prev_hash,
            seals
                .and_then(|s| s.client.as_ref())
                .map(|c| c.commitment.as_str()),
        ]);
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
    erased: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            checked: 0,
            erased: 0,
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
        if !record.is_intact() {
            return Err(ChainBreak::Altered { seq: record.seq });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { seq: record.seq });
        }
        self.next_seq += 1;
        self.prev_hash.clone_from(&record.hash);
        self.checked += 1;
        self.erased += record.erased() as u64;
        Ok(())
    }

    /// Personal fields erased in the records checked so far (verified by commitment only).
    pub fn erased(&self) -> u64 {
        self.erased
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

    /// Salts differ per record and field in a store; any fixed bytes do for a test.
    const SALTS: [[u8; SALT_BYTES]; 3] = [[1; SALT_BYTES], [2; SALT_BYTES], [3; SALT_BYTES]];

    fn run(records: &[AuditRecord]) -> Result<(u64, u64), ChainBreak> {
        let mut c = ChainCheck::default();
        records
            .iter()
            .try_for_each(|r| c.check(r))
            .map(|()| (c.checked(), c.erased()))
    }

    /// Three records in each format, the first three in format 1 as written before sealing.
    fn mixed_chain() -> Vec<AuditRecord> {
        let at = Utc::now();
        let by_bob = AuditEntry::new(
            Actor::User { name: "bob".into() },
            "token.create",
            "user:bob",
        )
        .with_client(Some("192.0.2.7".into()));
        let mut chain: Vec<AuditRecord> = Vec::new();
        for seq in 1..=6 {
            let prev = chain
                .last()
                .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
            chain.push(if seq <= 3 {
                AuditRecord::seal_clear(seq, at, &by_bob, &prev)
            } else {
                AuditRecord::seal(seq, at, &by_bob, &prev, &SALTS)
            });
        }
        chain
    }

    #[test]
    fn a_sealed_field_can_be_erased_and_the_chain_still_verifies() {
        let mut chain = mixed_chain();
        assert_eq!(run(&chain), Ok((6, 0)));
        assert_eq!(chain[3].format, FORMAT_SEALED);
        // Format 1 hashes the name itself: it cannot be forgotten, and nothing changes.
        let before = chain[0].clone();
        assert!(!chain[0].forget(Personal::Actor, "user:erased-1"));
        assert_eq!(chain[0], before);
        for r in &mut chain[3..] {
            assert!(r.forget(Personal::Actor, "user:erased-1"));
            assert!(r.forget(Personal::Target, "user:erased-1"));
            assert!(r.forget(Personal::Client, ""));
        }
        assert_eq!(run(&chain), Ok((6, 9)));
        assert!(
            chain[3..]
                .iter()
                .all(|r| r.actor == "user:erased-1" && r.client.is_none())
        );
        let text = serde_json::to_string(&chain[3..]).unwrap();
        assert!(
            !text.contains("bob") && !text.contains("192.0.2.7"),
            "{text}"
        );
    }

    #[test]
    fn a_sealed_record_still_shows_any_change_to_a_field_it_holds() {
        let chain = mixed_chain();
        let altered = |f: &dyn Fn(&mut AuditRecord)| {
            let mut c = chain.clone();
            f(&mut c[4]);
            run(&c)
        };
        let broken = Err(ChainBreak::Altered { seq: 5 });
        assert_eq!(altered(&|r| r.actor = "user:mallory".into()), broken);
        assert_eq!(altered(&|r| r.target = "user:mallory".into()), broken);
        assert_eq!(altered(&|r| r.client = Some("198.51.100.1".into())), broken);
        assert_eq!(
            altered(&|r| r.client = None),
            broken,
            "an address kept its salt"
        );
        assert_eq!(altered(&|r| r.action = "token.revoke".into()), broken);
        assert_eq!(altered(&|r| r.seals = None), broken);
        assert_eq!(altered(&|r| r.format = FORMAT_CLEAR), broken);
        assert_eq!(
            altered(&|r| r.seals.as_mut().unwrap().actor.commitment = "00".repeat(32)),
            broken
        );
        // Salts are what keep the commitment from being guessed: two records of the same
        // entry under other salts commit differently.
        let other = AuditRecord::seal(5, chain[4].at, &entry(), "x", &[[9; SALT_BYTES]; 3]);
        let same = AuditRecord::seal(5, chain[4].at, &entry(), "x", &SALTS);
        assert_ne!(
            other.seals.unwrap().target.commitment,
            same.seals.unwrap().target.commitment
        );
    }

    #[test]
    fn records_read_back_from_json_keep_their_format() {
        let chain = mixed_chain();
        let back: Vec<AuditRecord> =
            serde_json::from_str(&serde_json::to_string(&chain).unwrap()).unwrap();
        assert_eq!(back, chain);
        // A record as format 1 wrote it to JSON, with neither field, reads as format 1.
        let mut old = serde_json::to_value(&chain[0]).unwrap();
        old.as_object_mut().unwrap().remove("format");
        let old: AuditRecord = serde_json::from_value(old).unwrap();
        assert_eq!(old, chain[0]);
    }

    #[test]
    fn records_chain_and_any_change_breaks_the_hash() {
        let at = Utc::now();
        let first = AuditRecord::seal_clear(1, at, &entry(), GENESIS_HASH);
        let second = AuditRecord::seal_clear(2, at, &entry(), &first.hash);
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
        let mut chain = vec![AuditRecord::seal_clear(1, at, &entry(), GENESIS_HASH)];
        for seq in 2..=4 {
            let prev = chain.last().unwrap().hash.clone();
            chain.push(AuditRecord::seal(seq, at, &entry(), &prev, &SALTS));
        }
        assert_eq!(run(&chain), Ok((4, 0)));
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
        rewritten[1] = AuditRecord::seal(2, at, &e, &chain[0].hash, &SALTS);
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
