//! People in browsers: passwords (argon2id), session cookies, CSRF checks and the lockout of
//! repeated failed sign-ins. A session cookie is `ID.SECRET` (8 random bytes in hex, 32 in
//! base64url); only SHA-256 of the secret is stored, looked up by id and compared in constant
//! time, as for API tokens.

use super::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
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
use std::time::Duration;
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
/// trusted proxy says the request came over HTTPS (see [`crate::plumbing::serve::forwarded`]).
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

/// Failed sign-ins, per account and per client, kept in the database so every node counts
/// the same failures (ten wrong passwords spread over three nodes lock an account as on
/// one): after `THRESHOLD` failures in a row a key is locked out, for a time that doubles
/// with each further failure (up to 15 minutes). A success clears the account.
pub struct Lockout;

const THRESHOLD: u32 = 5;
const CLIENT_THRESHOLD: u32 = 20;

/// How long `failures` in a row lock a key out, given its threshold.
fn lock_after(failures: u32, threshold: u32) -> Option<chrono::Duration> {
    let over = failures.checked_sub(threshold)?;
    Some(chrono::Duration::seconds((30i64 << over.min(5)).min(900)))
}

fn account_lock(failures: u32) -> Option<chrono::Duration> {
    lock_after(failures, THRESHOLD)
}

fn client_lock(failures: u32) -> Option<chrono::Duration> {
    lock_after(failures, CLIENT_THRESHOLD)
}

impl Lockout {
    /// How long `key` is still locked out, if it is.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn locked(
        store: &dyn frontline_store::Store,
        key: &str,
    ) -> Result<Option<Duration>, frontline_store::StoreError> {
        Ok(store
            .sign_in_locked(key)
            .await?
            .and_then(|d| d.to_std().ok()))
    }

    /// Records a failure for `key` (`user:NAME` or `ip:ADDRESS`).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn fail(
        store: &dyn frontline_store::Store,
        key: &str,
    ) -> Result<(), frontline_store::StoreError> {
        let lock = if key.starts_with("ip:") {
            client_lock
        } else {
            account_lock
        };
        store.sign_in_failed(key, lock).await.map(|_| ())
    }

    /// Clears `key` (a successful sign-in).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn clear(
        store: &dyn frontline_store::Store,
        key: &str,
    ) -> Result<(), frontline_store::StoreError> {
        store.sign_in_cleared(key).await
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
    fn lockouts_start_at_the_threshold_and_double_up_to_fifteen_minutes() {
        let secs = |f| account_lock(f).map(|d| d.num_seconds());
        assert_eq!(secs(4), None);
        assert_eq!(secs(5), Some(30));
        assert_eq!(secs(6), Some(60), "doubles");
        assert_eq!(secs(9), Some(480));
        assert_eq!(secs(10), Some(900));
        assert_eq!(secs(40), Some(900), "at most fifteen minutes");
        assert_eq!(client_lock(19), None, "clients get more tries");
        assert!(client_lock(20).is_some());
    }
}
