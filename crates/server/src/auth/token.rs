//! API tokens: `flt_<id>_<secret>`. The id (64 random bits, hex) is public and finds the stored
//! record; the secret (256 random bits, base64url) is shown once and stored only as its SHA-256
//! digest, compared in constant time. A slow hash is not needed: the secret is random, not a
//! password a person chose.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use frontline_core::Role;
use frontline_core::ids::TokenId;
use frontline_store::{NewToken, Origin, Store, StoreError, TokenInfo};
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "flt_";

/// SHA-256 of a token's secret part.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Splits a presented token into id and secret; `None` when it is not of our form.
pub fn parse(token: &str) -> Option<(TokenId, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let id_ok = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then(|| (TokenId(id.to_owned()), secret))
}

/// Makes a new token for `user` with `role`, stores it (creating the user and granting the role
/// as needed), and returns what was stored with the token string, the only time it exists.
///
/// # Errors
/// As [`Store::create_token`].
pub async fn issue(
    store: &dyn Store,
    user: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
    origin: &Origin,
) -> Result<(TokenInfo, String), StoreError> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let info = store
        .create_token(
            NewToken {
                id: TokenId(id.clone()),
                user: user.to_owned(),
                role,
                digest: digest(&secret),
                expires_at,
            },
            origin,
        )
        .await?;
    Ok((info, format!("{PREFIX}{id}_{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_our_form() {
        let secret = URL_SAFE_NO_PAD.encode([9u8; 32]);
        let token = format!("flt_0123456789abcdef_{secret}");
        let (id, s) = parse(&token).unwrap();
        assert_eq!(id.0, "0123456789abcdef");
        assert_eq!(s, secret);
        for bad in [
            "",
            "flt_",
            "flt_0123456789abcdef",
            "xyz_0123456789abcdef_abc",
            &format!("flt_0123456789abcdeg_{secret}"),
            &format!("flt_0123456789abcdef_{secret}x"),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
