//! Connection secrets sealed at rest (ChaCha20-Poly1305) under a key kept outside the
//! database, so a dump of the database alone reveals no helpdesk credentials. The key lives
//! in a file the operator keeps (and backs up) apart from the database.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// Why a secret could not be sealed or opened, or the key not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file cannot be read or written.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The sealed value was altered, or sealed under another key.
    #[error("a sealed secret does not open with this installation's key (another key, or altered)")]
    Open,
    /// The system's random source failed.
    #[error("no randomness available")]
    Random,
}

/// Seals and opens secrets with one installation key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { key: <hidden> }")
    }
}

/// Bytes of a key.
pub const KEY_LEN: usize = 32;

impl Sealer {
    /// A sealer over `key`.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is ChaCha20-Poly1305's length"));
        Self {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        }
    }

    /// The key in `path` (64 hex digits), created with a fresh random key (owner-only
    /// permissions) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        let fail = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes =
                    hex::decode(text.trim()).map_err(|_| fail("not 64 hex digits".into()))?;
                let key: [u8; KEY_LEN] = bytes
                    .try_into()
                    .map_err(|_| fail("not 64 hex digits".into()))?;
                Ok(Self::new(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| SealError::Random)?;
                write_private(path, format!("{}\n", hex::encode(key)).as_bytes())
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Self::new(&key))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// `plain` sealed: a random nonce, then the ciphertext and its tag. `context` (the
    /// connection and field) is authenticated, so a sealed value copied into another row or
    /// field does not open there.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`Self::seal`] sealed under the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let dir = std::env::temp_dir().join(format!("frontline-seal-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let a = Sealer::load_or_create(&dir).unwrap();
        let again = Sealer::load_or_create(&dir).unwrap();
        let sealed = a.seal(b"api-token", "zd/auth").unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"api-token"));
        assert_eq!(again.open(&sealed, "zd/auth").unwrap(), b"api-token");
        assert!(again.open(&sealed, "zd/signing").is_err());
        let other = Sealer::new(&[7; KEY_LEN]);
        assert!(other.open(&sealed, "zd/auth").is_err());
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN + 1] ^= 1;
        assert!(a.open(&tampered, "zd/auth").is_err());
        assert!(a.open(b"short", "zd/auth").is_err());
        std::fs::write(&dir, "nothex").unwrap();
        assert!(
            Sealer::load_or_create(&dir)
                .unwrap_err()
                .to_string()
                .contains("hex")
        );
        std::fs::remove_file(&dir).unwrap();
    }
}
