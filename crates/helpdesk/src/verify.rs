//! Each vendor's webhook signature, checked in constant time against every secret the
//! connection accepts (the current one and, during a rotation's grace period, the previous).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// Why a webhook is refused; each names what the caller got wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// A required header is absent or empty.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// The signature does not match the body under any accepted secret.
    #[error("signature does not match the body")]
    Signature,
    /// The signed timestamp is unreadable or too far from now (a replay or a skewed clock).
    #[error("timestamp {0}")]
    Timestamp(String),
    /// The bearer token is not the connection's.
    #[error("token is not this connection's")]
    Token,
}

impl Refusal {
    /// The field the refusal is about, for the API's error body.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Missing(header) => header,
            Self::Signature => "signature",
            Self::Timestamp(_) => "timestamp",
            Self::Token => "authorization",
        }
    }
}

/// How far a Zendesk timestamp may be from now.
pub const ZENDESK_SKEW: Duration = Duration::minutes(5);

/// Zendesk's `X-Zendesk-Webhook-Signature` for `body` sent at `timestamp`:
/// base64(HMAC-SHA256(secret, timestamp ‖ body)).
pub fn zendesk_signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    STANDARD.encode(zendesk_mac(secret, timestamp, body).finalize().into_bytes())
}

fn zendesk_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<sha2::Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

/// Checks a Zendesk webhook: the timestamp within [`ZENDESK_SKEW`] of `now`, then the
/// signature under one of `secrets`.
pub fn zendesk(
    secrets: &[&[u8]],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let timestamp = present(timestamp, "timestamp")?;
    let signature = present(signature, "signature")?;
    let at = DateTime::parse_from_rfc3339(timestamp)
        .map_err(|_| Refusal::Timestamp(format!("{timestamp:?} is not an RFC 3339 time")))?
        .with_timezone(&Utc);
    if (now - at).abs() > ZENDESK_SKEW {
        return Err(Refusal::Timestamp(format!(
            "{timestamp} is more than {} minutes from now",
            ZENDESK_SKEW.num_minutes()
        )));
    }
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return Err(Refusal::Signature);
    };
    let ok = secrets
        .iter()
        .any(|s| zendesk_mac(s, timestamp, body).verify_slice(&given).is_ok());
    if ok { Ok(()) } else { Err(Refusal::Signature) }
}

fn intercom_mac(secret: &[u8], body: &[u8]) -> Hmac<sha1::Sha1> {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    mac
}

/// Intercom's `X-Hub-Signature` for `body`: `sha1=` and the hex HMAC-SHA1.
pub fn intercom_signature(secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha1={}",
        hex::encode(intercom_mac(secret, body).finalize().into_bytes())
    )
}

/// Checks an Intercom webhook's `X-Hub-Signature` under one of `secrets`.
pub fn intercom(secrets: &[&[u8]], signature: Option<&str>, body: &[u8]) -> Result<(), Refusal> {
    let signature = present(signature, "signature")?;
    let hex_part = signature
        .trim()
        .strip_prefix("sha1=")
        .ok_or(Refusal::Signature)?;
    let given = hex::decode(hex_part).map_err(|_| Refusal::Signature)?;
    let ok = secrets
        .iter()
        .any(|s| intercom_mac(s, body).verify_slice(&given).is_ok());
    if ok { Ok(()) } else { Err(Refusal::Signature) }
}

/// Checks a bearer token (`Authorization: Bearer …`) against the connection's tokens.
pub fn bearer(tokens: &[&[u8]], authorization: Option<&str>) -> Result<(), Refusal> {
    let header = present(authorization, "authorization")?;
    let given = header
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| header.trim().strip_prefix("bearer "))
        .ok_or(Refusal::Token)?
        .trim()
        .as_bytes();
    // Compared in constant time with each; a length difference says only the length.
    let ok = tokens
        .iter()
        .fold(false, |ok, t| ok | bool::from(t.ct_eq(given)));
    if ok { Ok(()) } else { Err(Refusal::Token) }
}

fn present<'a>(value: Option<&'a str>, what: &'static str) -> Result<&'a str, Refusal> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or(Refusal::Missing(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"frontline-test-secret";
    const ZBODY: &[u8] =
        br#"{"type":"zen:event-type:ticket.created","id":"01TEST","subject":"zen:ticket:42"}"#;
    const TS: &str = "2026-11-25T10:00:00Z";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn zendesk_known_answer() {
        assert_eq!(
            zendesk_signature(SECRET, TS, ZBODY),
            "mK5rVKhVmvXMNPhsRK2apW+ZYUOdhME32crjHYxPrlE="
        );
        let sig = zendesk_signature(SECRET, TS, ZBODY);
        let now = at("2026-11-25T10:03:00Z");
        assert_eq!(zendesk(&[SECRET], Some(TS), Some(&sig), ZBODY, now), Ok(()));
        // The previous secret of a rotation still verifies.
        assert_eq!(
            zendesk(&[b"new-secret", SECRET], Some(TS), Some(&sig), ZBODY, now),
            Ok(())
        );
    }

    #[test]
    fn zendesk_refuses_each_way_it_can_be_wrong() {
        let now = at("2026-11-25T10:00:30Z");
        let good = zendesk_signature(SECRET, TS, ZBODY);
        let bad_key = zendesk_signature(b"other", TS, ZBODY);
        assert_eq!(
            zendesk(&[SECRET], Some(TS), Some(&bad_key), ZBODY, now),
            Err(Refusal::Signature)
        );
        // Body before timestamp: the wrong order.
        let mut reversed = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET).unwrap();
        reversed.update(ZBODY);
        reversed.update(TS.as_bytes());
        let reversed = STANDARD.encode(reversed.finalize().into_bytes());
        assert_eq!(
            zendesk(&[SECRET], Some(TS), Some(&reversed), ZBODY, now),
            Err(Refusal::Signature)
        );
        let tampered =
            br#"{"type":"zen:event-type:ticket.created","id":"01TEST","subject":"zen:ticket:43"}"#;
        assert_eq!(
            zendesk(&[SECRET], Some(TS), Some(&good), tampered, now),
            Err(Refusal::Signature)
        );
        let stale = at("2026-11-25T10:05:01Z");
        assert!(matches!(
            zendesk(&[SECRET], Some(TS), Some(&good), ZBODY, stale),
            Err(Refusal::Timestamp(_))
        ));
        assert!(matches!(
            zendesk(&[SECRET], Some("yesterday"), Some(&good), ZBODY, now),
            Err(Refusal::Timestamp(_))
        ));
        assert_eq!(
            zendesk(&[SECRET], None, Some(&good), ZBODY, now),
            Err(Refusal::Missing("timestamp"))
        );
        assert_eq!(
            zendesk(&[SECRET], Some(TS), Some("not base64!"), ZBODY, now),
            Err(Refusal::Signature)
        );
        assert_eq!(
            zendesk(&[], Some(TS), Some(&good), ZBODY, now),
            Err(Refusal::Signature)
        );
    }

    #[test]
    fn intercom_known_answer_and_refusals() {
        let body = br#"{"type":"notification_event","topic":"ping","id":"notif_1"}"#;
        let sig = intercom_signature(SECRET, body);
        assert_eq!(sig, "sha1=4f235c234be078e8b6f227d66f09967c0be8be84");
        assert_eq!(intercom(&[SECRET], Some(&sig), body), Ok(()));
        assert_eq!(intercom(&[b"x"], Some(&sig), body), Err(Refusal::Signature));
        assert_eq!(
            intercom(&[SECRET], Some("4f235c"), body),
            Err(Refusal::Signature)
        );
        assert_eq!(
            intercom(&[SECRET], Some(&sig), b"{}"),
            Err(Refusal::Signature)
        );
        assert_eq!(
            intercom(&[SECRET], None, body),
            Err(Refusal::Missing("signature"))
        );
    }

    #[test]
    fn bearer_tokens_match_exactly() {
        assert_eq!(bearer(&[b"tok"], Some("Bearer tok")), Ok(()));
        assert_eq!(bearer(&[b"old", b"tok"], Some("Bearer tok")), Ok(()));
        assert_eq!(bearer(&[b"tok"], Some("Bearer tok2")), Err(Refusal::Token));
        assert_eq!(bearer(&[b"tok"], Some("Basic tok")), Err(Refusal::Token));
        assert_eq!(
            bearer(&[b"tok"], None),
            Err(Refusal::Missing("authorization"))
        );
    }
}
