//! What every backend does alike when it appends to the audit log: seal the record in the
//! erasable format with fresh salts (the chain's rules are in `frontline_core::audit`).

use chrono::{DateTime, Utc};
use frontline_core::audit::{AuditEntry, AuditRecord, SALT_BYTES};
use rand::RngCore;

/// Seals `entry` as record `seq` after `prev_hash`, its personal fields committed under salts
/// drawn from the operating system's generator: a salt that could be predicted would let the
/// commitment to an erased name be guessed back.
pub fn seal(seq: i64, at: DateTime<Utc>, entry: &AuditEntry, prev_hash: &str) -> AuditRecord {
    // One draw for the three: this runs in every write transaction.
    let mut bytes = [0u8; 3 * SALT_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut salts = [[0u8; SALT_BYTES]; 3];
    for (salt, drawn) in salts.iter_mut().zip(bytes.chunks_exact(SALT_BYTES)) {
        salt.copy_from_slice(drawn);
    }
    AuditRecord::seal(seq, at, entry, prev_hash, &salts)
}
