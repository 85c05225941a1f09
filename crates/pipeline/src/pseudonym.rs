//! Customer pseudonyms: a keyed hash (HMAC-SHA256) of the customer id, so that distinct
//! customers can be counted and a customer's contacts grouped without storing who they are.
//! The key is a secret of the installation (generated on first start, kept in the database);
//! without it a pseudonym cannot be tested against a guessed customer id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The installation's pseudonym key.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey([redacted])")
    }
}

impl PseudonymKey {
    /// Wraps key bytes. Any length works (HMAC hashes long keys); 32 random bytes is the norm.
    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// The pseudonym of a customer id: 128 bits of HMAC-SHA256, hex-encoded.
    pub fn pseudonym(&self, customer: &str) -> String {
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(customer.trim().as_bytes());
        let digest = mac.finalize().into_bytes();
        hex::encode(&digest[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_hide_the_id() {
        let a = PseudonymKey::new(b"key-a".to_vec());
        let b = PseudonymKey::new(b"key-b".to_vec());
        assert_eq!(a.pseudonym("cust-1"), a.pseudonym("cust-1"));
        assert_eq!(a.pseudonym("cust-1"), a.pseudonym(" cust-1 "));
        assert_ne!(a.pseudonym("cust-1"), a.pseudonym("cust-2"));
        assert_ne!(a.pseudonym("cust-1"), b.pseudonym("cust-1"));
        assert_eq!(a.pseudonym("cust-1").len(), 32);
        assert!(!a.pseudonym("cust-1").contains("cust"));
    }
}
