//! Leases with fencing, and the nodes that share one database: what lets several servers run
//! leader-only work (detection, the correlator, reminders) one holder at a time, and shows an
//! admin which node does what.

use chrono::{DateTime, Utc};

/// A lease as held: its holder and its epoch, which grows by one whenever the holder changes.
/// A leader-only write names the lease it was made under, and the store refuses it once that
/// holder and epoch no longer stand (a paused leader that wakes up after its lease moved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The lease (`detection`).
    pub name: String,
    /// Who holds it (`NODE/worker`).
    pub holder: String,
    /// Grows by one with every change of holder; never reused, also after a release.
    pub epoch: i64,
    /// Until when, by the database's clock.
    pub expires_at: DateTime<Utc>,
}

/// A claim on outbox work (webhooks to follow, messages to send) by one node's round: a token
/// nobody else has, held for `ttl` by the database's clock. Any node may claim work nobody
/// holds (PostgreSQL skips rows another node has locked, so claimers never wait on each other);
/// what was claimed is settled only under the same token, so a node that paused past its claim
/// and woke up after another took the work over cannot record anything
/// ([`crate::StoreError::ClaimLost`]). Unlike a lease there is no leader: every node sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Unique per claim (a node's id and a random part).
    pub token: String,
    /// How long the claim holds without being settled or renewed.
    pub ttl: chrono::Duration,
}

impl Claim {
    /// A claim under `token` for `ttl`.
    pub fn new(token: impl Into<String>, ttl: chrono::Duration) -> Self {
        Self {
            token: token.into(),
            ttl,
        }
    }
}

/// One holder's time with a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leadership {
    /// The lease.
    pub name: String,
    /// The epoch it held it under.
    pub epoch: i64,
    /// The holder.
    pub holder: String,
    /// When it took the lease (the database's clock).
    pub from: DateTime<Utc>,
    /// When it ended (another holder took over, or it was released); `None` while it lasts
    /// or until a successor is recorded.
    pub to: Option<DateTime<Utc>>,
}

/// A server process sharing the database, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Unique per process (`host-pid-random`).
    pub id: String,
    /// Its version.
    pub version: String,
    /// The address it listens on.
    pub listen: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last reported (the database's clock).
    pub last_seen: DateTime<Utc>,
}

/// What the database announces of the feed: a position another node committed, or that the
/// connection was lost and made again (anything may have been missed: read again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedNews {
    /// The feed reached this sequence number (in a committed transaction).
    Head(i64),
    /// The listener reconnected; announcements may have been lost meanwhile.
    Resumed,
}

/// Follows the feed's announcements (PostgreSQL's `LISTEN`).
#[async_trait::async_trait]
pub trait FeedListener: Send {
    /// The next announcement.
    ///
    /// # Errors
    /// [`crate::StoreError::Unavailable`] when the connection is lost and cannot be made
    /// again: listen anew later, and read the feed first.
    async fn next(&mut self) -> Result<FeedNews, crate::StoreError>;
}
