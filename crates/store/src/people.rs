//! People who sign in: passwords (argon2id hashes, never the password) and browser sessions
//! (only a SHA-256 digest of each session's secret is kept, as for API tokens).

use chrono::{DateTime, Utc};
use frontline_core::Role;

/// What is needed to check a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user's name.
    pub user: String,
    /// Their roles now.
    pub roles: Vec<Role>,
    /// The PHC string of the argon2id hash; `None` when the user has no password (token only).
    pub password_hash: Option<String>,
    /// The password was set by someone else (one-time): it must be changed at sign-in.
    pub must_change: bool,
}

/// A session about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Public id (hex).
    pub id: String,
    /// The user.
    pub user: String,
    /// SHA-256 of the secret.
    pub digest: [u8; 32],
    /// The token pages send back with changes (`X-CSRF-Token`).
    pub csrf: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The client's address at sign-in.
    pub client: Option<String>,
}

/// A stored session, as checked on each request and listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public id.
    pub id: String,
    /// The user.
    pub user: String,
    /// Their roles now.
    pub roles: Vec<Role>,
    /// SHA-256 of the secret.
    pub digest: Vec<u8>,
    /// The CSRF token.
    pub csrf: String,
    /// Signed in.
    pub created_at: DateTime<Utc>,
    /// Ends.
    pub expires_at: DateTime<Utc>,
    /// Signed out or revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The client's address at sign-in.
    pub client: Option<String>,
    /// The user's password is one-time and must be changed first (read with the session, so
    /// a request costs one query).
    pub must_change: bool,
}

/// What taking access away did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccessRemoved {
    /// Roles taken away.
    pub roles: u64,
    /// Sessions ended.
    pub sessions: u64,
    /// API tokens revoked.
    pub tokens: u64,
}
