//! People in browsers: passwords (argon2id), session cookies, CSRF checks and the lockout of
//! repeated failed sign-ins. A session cookie is `ID.SECRET` (8 random bytes in hex, 32 in
//! base64url); only SHA-256 of the secret is stored, looked up by id and compared in constant
//! time, as for API tokens.

use super::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use frontline_core::ids::TokenId;
use frontline_store::people::NewSession;
use frontline_store::{Origin, StoreError};
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE_NAME: &str = "frontline_session";
/// How long a session lasts.
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(12);
/// The shortest password a person may choose.
pub const MIN_PASSWORD: usize = 12;
/// The longest (argon2 takes any length; this bounds the work a request can ask for).
pub const MAX_PASSWORD: usize = 1024;

/// The signed-in session of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAuth {
    /// Its public id.
    pub id: String,
    /// The token pages send back with changes.
    pub csrf: String,
    /// The password must be changed before anything else.
    pub must_change: bool,
}

/// An argon2id hash (PHC string) of `password`.
///
/// # Panics
/// Never in practice: hashing fails only for parameters out of range, and these are the
/// crate's defaults.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    #[allow(clippy::expect_used)]
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches `hash`. A hash that does not parse matches nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The same work as a real check, for unknown users, so the answer's timing does not tell
/// which names exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("not a password anyone has"));
    let _ = verify_password(&DUMMY, password);
}

/// A one-time password: 120 random bits in base64url (20 characters).
pub fn one_time_password() -> String {
    let mut bytes = [0u8; 15];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks a password a person chose.
///
/// # Errors
/// Why it is refused.
pub fn acceptable(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(format!("use at least {MIN_PASSWORD} characters"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(format!("use at most {MAX_PASSWORD} bytes"));
    }
    Ok(())
}

/// Starts a session for `user`: the cookie value and its CSRF token.
///
/// # Errors
/// [`StoreError`] when it cannot be stored.
pub async fn start(
    state: &AppState,
    user: &str,
    client: Option<String>,
    origin: &Origin,
) -> Result<String, StoreError> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    let mut csrf = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    rand::rngs::OsRng.fill_bytes(&mut csrf);
    let id = hex::encode(id);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    state
        .store
        .create_session(
            &NewSession {
                id: id.clone(),
                user: user.to_owned(),
                digest: super::token::digest(&secret),
                csrf: URL_SAFE_NO_PAD.encode(csrf),
                expires_at: Utc::now() + LIFETIME,
                client,
            },
            origin,
        )
        .await?;
    Ok(format!("{id}.{secret}"))
}

/// The `Set-Cookie` value for a session: `Secure` when the public address is HTTPS, or a
/// trusted proxy says the request came over HTTPS (see [`crate::serve::forwarded`]).
pub fn cookie(state: &AppState, https: bool, value: &str) -> String {
    let secure = if https || state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        LIFETIME.num_seconds()
    )
}

/// The `Set-Cookie` value that ends the cookie.
pub fn cleared(state: &AppState, https: bool) -> String {
    cookie(state, https, "").replace(&format!("Max-Age={}", LIFETIME.num_seconds()), "Max-Age=0")
}

/// The session cookie of a request, split into id and secret.
pub fn presented(headers: &HeaderMap) -> Option<(String, String)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| value.split_once('.'))
        .filter(|(id, secret)| id.len() == 16 && !secret.is_empty() && secret.len() <= 64)
        .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
}

/// Authenticates a request by its session cookie; `Ok(None)` when it has none.
///
/// # Errors
/// 401 for an unknown, wrong, ended or expired session; 503 when the store is unreachable.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    let Some((id, secret)) = presented(headers) else {
        return Ok(None);
    };
    let invalid = || ApiError::unauthorized("your session has ended; sign in again");
    let session = state.store.session(&id).await?.ok_or_else(invalid)?;
    let digest = super::token::digest(&secret);
    if !bool::from(digest.as_slice().ct_eq(session.digest.as_slice()))
        || session.revoked_at.is_some()
        || session.expires_at <= Utc::now()
    {
        return Err(invalid());
    }
    let must_change = session.must_change;
    Ok(Some(Principal {
        user: session.user,
        roles: session.roles,
        token_id: TokenId(format!("session-{id}")),
        session: Some(SessionAuth {
            id,
            csrf: session.csrf,
            must_change,
        }),
    }))
}

/// Whether a cookie-authenticated request may change something: safe methods always; others
/// with the session's `X-CSRF-Token`, or from a page of this server (its `Origin` names the
/// host the request was sent to). A cookie alone never suffices.
pub fn csrf_ok(method: &Method, headers: &HeaderMap, session: &SessionAuth) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(token) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
        && bool::from(token.as_bytes().ct_eq(session.csrf.as_bytes()))
    {
        return true;
    }
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// Failed sign-ins, per account and per client: after `THRESHOLD` failures in a row a key is
/// locked out, for a time that doubles with each further failure (up to 15 minutes). A
/// success clears the account. Bounded: entries are pruned past `MAX_KEYS`.
#[derive(Debug, Default)]
pub struct Lockout {
    keys: Mutex<HashMap<String, (u32, Instant)>>,
}

const THRESHOLD: u32 = 5;
const CLIENT_THRESHOLD: u32 = 20;
const MAX_KEYS: usize = 100_000;

impl Lockout {
    fn threshold(key: &str) -> u32 {
        if key.starts_with("ip:") {
            CLIENT_THRESHOLD
        } else {
            THRESHOLD
        }
    }

    /// How long `key` is still locked out, if it is.
    pub fn locked(&self, key: &str) -> Option<Duration> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (failures, until) = keys.get(key)?;
        (*failures >= Self::threshold(key))
            .then(|| until.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Records a failure for `key`.
    pub fn fail(&self, key: &str) {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() >= MAX_KEYS {
            let now = Instant::now();
            keys.retain(|_, (_, until)| *until > now);
        }
        let entry = keys.entry(key.to_owned()).or_insert((0, Instant::now()));
        entry.0 += 1;
        let over = entry.0.saturating_sub(Self::threshold(key));
        if entry.0 >= Self::threshold(key) {
            let secs = (30u64 << over.min(5)).min(900);
            entry.1 = Instant::now() + Duration::from_secs(secs);
        }
    }

    /// Clears `key` (a successful sign-in).
    pub fn clear(&self, key: &str) {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert_eq!(one_time_password().len(), 20);
        assert!(acceptable("short").is_err());
        assert!(acceptable("a long enough one").is_ok());
    }

    #[test]
    fn cookies_are_found_among_others_and_malformed_ones_ignored() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            "a=b; frontline_session=0123456789abcdef.secret; c=d"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            presented(&h),
            Some(("0123456789abcdef".into(), "secret".into()))
        );
        h.insert(COOKIE, "frontline_session=short.secret".parse().unwrap());
        assert_eq!(presented(&h), None);
    }

    #[test]
    fn unsafe_requests_need_the_token_or_our_origin() {
        let s = SessionAuth {
            id: "x".into(),
            csrf: "tok".into(),
            must_change: false,
        };
        let mut h = HeaderMap::new();
        assert!(csrf_ok(&Method::GET, &h, &s));
        assert!(!csrf_ok(&Method::POST, &h, &s));
        h.insert(HOST, "frontline.example:8080".parse().unwrap());
        h.insert(ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!csrf_ok(&Method::POST, &h, &s));
        h.insert(ORIGIN, "http://frontline.example:8080".parse().unwrap());
        assert!(csrf_ok(&Method::POST, &h, &s));
        let mut h = HeaderMap::new();
        h.insert("x-csrf-token", "tok".parse().unwrap());
        assert!(csrf_ok(&Method::DELETE, &h, &s));
        h.insert("x-csrf-token", "tok2".parse().unwrap());
        assert!(!csrf_ok(&Method::DELETE, &h, &s));
    }

    #[test]
    fn five_failures_lock_an_account_and_a_success_clears_it() {
        let l = Lockout::default();
        for _ in 0..4 {
            l.fail("user:ann");
        }
        assert_eq!(l.locked("user:ann"), None);
        l.fail("user:ann");
        assert!(l.locked("user:ann").unwrap() > Duration::from_secs(25));
        l.fail("user:ann");
        assert!(
            l.locked("user:ann").unwrap() > Duration::from_secs(55),
            "doubles"
        );
        l.clear("user:ann");
        assert_eq!(l.locked("user:ann"), None);
        for _ in 0..19 {
            l.fail("ip:192.0.2.1");
        }
        assert_eq!(l.locked("ip:192.0.2.1"), None, "clients get more tries");
        l.fail("ip:192.0.2.1");
        assert!(l.locked("ip:192.0.2.1").is_some());
    }
}
