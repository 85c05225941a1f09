//! Users' API tokens as the store keeps them: only a SHA-256 digest of the secret part.

use chrono::{DateTime, Utc};
use frontline_core::Role;
use frontline_core::ids::{TokenId, UserId};
use serde::Serialize;

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Public id.
    pub id: TokenId,
    /// The user's name; the user is created if missing.
    pub user: String,
    /// The role to give the user.
    pub role: Role,
    /// SHA-256 of the token's secret.
    pub digest: [u8; 32],
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored token, without its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Public id.
    pub id: TokenId,
    /// Its user's name.
    pub user: String,
    /// Its user's roles now.
    pub roles: Vec<Role>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What is needed to authenticate a request presenting this token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCredentials {
    /// Public id.
    pub id: TokenId,
    /// Its user.
    pub user_id: UserId,
    /// Its user's name.
    pub user: String,
    /// Its user's roles now.
    pub roles: Vec<Role>,
    /// SHA-256 of the secret.
    pub digest: Vec<u8>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}
