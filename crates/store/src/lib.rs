//! The storage interface every backend implements ([`Store`]), the types it speaks in, its
//! errors ([`StoreError`]) and, behind the `conformance` feature, the one test suite every
//! backend must pass.
//!
//! The trait speaks only in domain types: no SQL, no driver types. Each change of state is one
//! method, and each such method appends its audit record in the same transaction as the change,
//! so a record exists exactly when the change does.
#![warn(missing_docs)]

pub mod audit;
pub mod batch;
pub mod changes;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod helpdesks;
pub mod incidents;
pub mod leases;
pub mod lifecycle;
pub mod metrics;
pub mod page;
pub mod people;
pub mod portable;
pub mod query;
pub mod reports;
pub mod statements;
pub mod tokens;

pub use error::{BoxError, StoreError};
pub use leases::{Claim, FeedListener, FeedNews, Leadership, Lease, Node};
pub use page::{Cursor, Page};
pub use query::{
    AlertQuery, ContactQuery, DeliveryQuery, IncidentQuery, ReportQuery, SecurityEventQuery,
};
pub use tokens::{NewToken, TokenCredentials, TokenInfo};

use async_trait::async_trait;
use frontline_core::alert::{Alert, AlertState, DetectedAlert};
use frontline_core::audit::{Actor, AuditRecord};
use frontline_core::contact::{Contact, RedactedContact};
use frontline_core::feed::FeedEntry;
use frontline_core::ids::TokenId;
use frontline_core::incident::{
    Incident, IncidentChange, IncidentDetail, NewIncident, Signal, SignalState,
};
use frontline_core::report::{NewReport, ReportDetail, ReportState};
use frontline_core::security_event::{NewSecurityEvent, SecurityEvent};
use frontline_core::statement::{Audience, Draft, Statement};
use frontline_core::webhook::{Delivery, NewWebhook, Webhook};

/// Who causes a change, and through which request: stamped on its audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Who.
    pub actor: Actor,
    /// The HTTP request id, when the change came through the API.
    pub request_id: Option<String>,
    /// The client's address, when the change came through the API.
    pub client: Option<String>,
    /// The lease a leader-only change is made under (the correlator, reminders): the change
    /// is refused with [`StoreError::Fenced`], and nothing written, once that holder and epoch
    /// no longer hold it. `None` for everyone else.
    pub fence: Option<Lease>,
}

impl Origin {
    /// A change made by `actor` outside any HTTP request.
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            request_id: None,
            client: None,
            fence: None,
        }
    }

    /// The same origin, making its changes under `lease`.
    #[must_use]
    pub fn fenced(self, lease: Option<Lease>) -> Self {
        Self {
            fence: lease,
            ..self
        }
    }
}

/// A security event that has stopped: which one, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The event's source.
    pub source: String,
    /// The source's id of the event.
    pub id: String,
    /// When it stopped.
    pub resolved_at: chrono::DateTime<chrono::Utc>,
}

/// How many contacts on some topics (and a service) came in over a span of time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Impact {
    /// Contacts with at least one of the topics.
    pub contacts: u64,
    /// Distinct customers among them (pseudonyms; contacts without a customer not counted).
    pub customers: u64,
    /// Contacts per topic (a contact with two of the topics counts under both).
    pub by_topic: std::collections::BTreeMap<String, u64>,
}

/// A contact's topics as a person corrected them, with what training needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicCorrection {
    /// The contact's source.
    pub source: String,
    /// The source's id.
    pub id: String,
    /// The contact's language, if known.
    pub language: Option<String>,
    /// Its redacted text.
    pub text: String,
    /// The topics it should have (empty: none of them).
    pub topics: Vec<String>,
    /// Who corrected it last.
    pub actor: String,
}

/// What became of one element of an intake batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    Accepted,
    /// Already stored under the same (`source`, `id`); the stored record was left as it was.
    Duplicate,
}

/// The storage interface. Implementations must be safe to share between tasks and processes:
/// several `frontline` processes (a server and the CLI, or several servers on PostgreSQL) may
/// use one database at once.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Returns the secret stored under `name`, storing `candidate` first if there is none yet.
    /// Concurrent first calls agree on one value.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Creates the token's user if it does not exist, gives the user the token's role, and
    /// stores the token (only its digest).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if a token with the same id exists.
    async fn create_token(&self, token: NewToken, origin: &Origin)
    -> Result<TokenInfo, StoreError>;

    /// Every token, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token at once. Revoking a revoked token changes nothing and is not an error.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    async fn revoke_token(&self, id: &TokenId, origin: &Origin) -> Result<TokenInfo, StoreError>;

    /// What is needed to check a presented token: its digest, validity and its user's roles.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn token_credentials(&self, id: &TokenId)
    -> Result<Option<TokenCredentials>, StoreError>;

    /// Stores a batch of contacts in one transaction, idempotently on (`source`, `id`), with one
    /// audit record summarising it (none when nothing new was stored). The answer has one entry
    /// per input, in order. When this returns `Ok`, the batch is committed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached; nothing is stored then.
    async fn insert_contacts(
        &self,
        batch: &[RedactedContact],
        origin: &Origin,
    ) -> Result<Vec<Inserted>, StoreError>;

    /// A page of contacts in order of (`received_at`, intake order).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_contacts(&self, query: &ContactQuery) -> Result<Page<Contact>, StoreError>;

    /// One contact by source and source id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_contact(&self, source: &str, id: &str) -> Result<Option<Contact>, StoreError>;

    /// Replaces a contact's topics with what a person judged them to be (`topics`, already
    /// checked against the taxonomy, sorted), audited, and keeps the correction for training.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown contact; nothing changes then.
    async fn correct_topics(
        &self,
        source: &str,
        id: &str,
        topics: &[String],
        origin: &Origin,
    ) -> Result<Contact, StoreError>;

    /// Every topic correction with its contact's (redacted) text and language, oldest first:
    /// what `frontline taxonomy train --feedback` learns from. A contact corrected twice
    /// appears once, with its latest topics.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn topic_corrections(&self) -> Result<Vec<TopicCorrection>, StoreError>;

    /// Stores a batch of security events, like [`Store::insert_contacts`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached; nothing is stored then.
    async fn insert_security_events(
        &self,
        batch: &[NewSecurityEvent],
        origin: &Origin,
    ) -> Result<Vec<Inserted>, StoreError>;

    /// Marks active security events as resolved at the given times. Unknown events and events
    /// already resolved are left alone. Returns how many changed; one audit record covers them.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached; nothing changes then.
    async fn resolve_security_events(
        &self,
        resolutions: &[Resolution],
        origin: &Origin,
    ) -> Result<usize, StoreError>;

    /// A page of security events in order of (`observed_at`, intake order).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_security_events(
        &self,
        query: &SecurityEventQuery,
    ) -> Result<Page<SecurityEvent>, StoreError>;

    /// One security event by source and source id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_security_event(
        &self,
        source: &str,
        id: &str,
    ) -> Result<Option<SecurityEvent>, StoreError>;

    /// Contacts stored after intake position `after`, in intake order, at most `limit`, each
    /// with its position: how the detection worker follows new contacts, whichever way they
    /// came in.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn contacts_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Contact)>, StoreError>;

    /// Stores alerts as detected: new ones open, known ones (same `alert_id`) updated with the
    /// detector's latest figures and evidence, their state kept. Returns how many were new.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn upsert_alerts(&self, alerts: &[DetectedAlert]) -> Result<usize, StoreError>;

    /// A page of alerts in order of (`started_at`, storage order).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_alerts(&self, query: &AlertQuery) -> Result<Page<Alert>, StoreError>;

    /// One alert.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_alert(&self, id: &str) -> Result<Option<Alert>, StoreError>;

    /// Acknowledges or dismisses an alert (with a reason), audited.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id; [`StoreError::Conflict`] when the alert's
    /// state does not allow it (see `AlertState::can_become`).
    async fn set_alert_state(
        &self,
        id: &str,
        state: AlertState,
        reason: Option<&str>,
        origin: &Origin,
    ) -> Result<Alert, StoreError>;

    /// Takes or renews the lease `name` for `holder` for `ttl` from now by the database's
    /// clock (never the caller's: nodes' clocks differ), if it is free, expired or already
    /// `holder`'s. A change of holder raises the epoch and is recorded in the leadership log.
    /// Answers the lease when `holder` holds it now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
    ) -> Result<Option<Lease>, StoreError>;

    /// Gives up the lease `name` if `holder` holds it (on shutdown, so a successor need not
    /// wait for it to expire). The epoch stays: the next holder's is higher.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Every lease as it stands (expired ones too).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn leases(&self) -> Result<Vec<Lease>, StoreError>;

    /// The leadership log of lease `name`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn leadership_log(&self, name: &str) -> Result<Vec<Leadership>, StoreError>;

    /// Records that node `node` is alive (its `last_seen` set by the database's clock).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn heartbeat_node(&self, node: &Node) -> Result<(), StoreError>;

    /// Nodes seen within `within`, by the database's clock, oldest start first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn live_nodes(&self, within: chrono::Duration) -> Result<Vec<Node>, StoreError>;

    /// How long sign-in key `key` (`user:NAME`, `ip:ADDRESS`) is still locked out, by the
    /// database's clock, if it is. Shared by every node on the database.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn sign_in_locked(&self, key: &str) -> Result<Option<chrono::Duration>, StoreError>;

    /// Counts a failed sign-in for `key`; answers the failures in a row, this one included.
    /// When `lock` gives a time for that count, the key is locked out that long from now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn sign_in_failed(
        &self,
        key: &str,
        lock: fn(u32) -> Option<chrono::Duration>,
    ) -> Result<u32, StoreError>;

    /// Forgets `key`'s failures (a successful sign-in), and any key not failed for a day.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn sign_in_cleared(&self, key: &str) -> Result<(), StoreError>;

    /// Counts a request under `key` in the current window of length `window` (by the
    /// database's clock, shared by every node): `None` when it is within `limit`, else how
    /// long until the window ends. Keys idle for a day are forgotten.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn take_from_window(
        &self,
        key: &str,
        window: chrono::Duration,
        limit: u32,
    ) -> Result<Option<chrono::Duration>, StoreError>;

    /// A listener for the feed's announcements, so a node learns of another node's commits
    /// at once; `None` where the database announces nothing (SQLite: one process owns the
    /// file, and the slow safety polls suffice).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn listen_feed(&self) -> Result<Option<Box<dyn FeedListener>>, StoreError>;

    /// [`Store::upsert_alerts`], as the holder of `lease`: refused with [`StoreError::Fenced`]
    /// and nothing written when that holder and epoch no longer hold it, checked in the same
    /// transaction as the write.
    ///
    /// # Errors
    /// As [`Store::upsert_alerts`], and [`StoreError::Fenced`].
    async fn upsert_alerts_fenced(
        &self,
        lease: &Lease,
        alerts: &[DetectedAlert],
    ) -> Result<usize, StoreError>;

    /// Audit records with `seq > after`, in order, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn audit_records(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;

    /// Opens an incident (state `investigating`), links its first signals, records
    /// `incident.opened` on the feed and audits it, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a signal that does not exist; [`StoreError::Conflict`] for
    /// one already linked to another incident. Nothing is stored then.
    async fn open_incident(
        &self,
        new: &NewIncident,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError>;

    /// Applies changes to an incident (see [`incidents::change`]) in one transaction: all of
    /// them, or none when one fails.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown incident, user, task or signal;
    /// [`StoreError::Conflict`] for an illegal state change or a signal linked elsewhere.
    async fn change_incident(
        &self,
        id: i64,
        changes: &[IncidentChange],
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError>;

    /// Merges incident `from` into `into` (see [`incidents::merge`]) in one transaction;
    /// returns `into`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown incident; [`StoreError::Conflict`] for the same
    /// incident twice or one merged already.
    async fn merge_incidents(
        &self,
        into: i64,
        from: i64,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError>;

    /// Splits signals of incident `from` into a new incident (see [`incidents::split`]) in one
    /// transaction; returns the new incident.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown incident; [`StoreError::Conflict`] for a signal
    /// not linked to `from`.
    async fn split_incident(
        &self,
        from: i64,
        new: &NewIncident,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError>;

    /// For each signal: the incident it is linked to, whether people unlinked it (the
    /// correlator leaves those alone), or neither.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn signal_states(&self, signals: &[Signal]) -> Result<Vec<SignalState>, StoreError>;

    /// One incident with its links.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError>;

    /// A page of incidents in order of (`opened_at`, id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Page<Incident>, StoreError>;

    /// Feed entries with `seq > after` (only incident `incident`'s, when given), in order, at
    /// most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn feed_after(
        &self,
        after: i64,
        incident: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, StoreError>;

    /// The `seq` of the newest feed entry (0 when the feed is empty).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn feed_head(&self) -> Result<i64, StoreError>;

    /// Creates a webhook, audited. It receives what is appended to the feed from now on: its
    /// cursor starts at the feed's head.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn create_webhook(
        &self,
        new: &NewWebhook,
        origin: &Origin,
    ) -> Result<Webhook, StoreError>;

    /// Every webhook not deleted, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError>;

    /// Deletes a webhook, audited; its deliveries stay on record.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or deleted webhook.
    async fn delete_webhook(&self, id: i64, origin: &Origin) -> Result<(), StoreError>;

    /// Creates a helpdesk connection, audited.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    async fn create_helpdesk(
        &self,
        new: &helpdesks::NewHelpdesk,
        origin: &Origin,
    ) -> Result<helpdesks::Helpdesk, StoreError>;

    /// Every helpdesk connection, by name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_helpdesks(&self) -> Result<Vec<helpdesks::Helpdesk>, StoreError>;

    /// One helpdesk connection.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_helpdesk(&self, name: &str) -> Result<Option<helpdesks::Helpdesk>, StoreError>;

    /// Changes a helpdesk connection, audited. Rotating the signing secret keeps the current
    /// one accepted until the time given.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown connection.
    async fn change_helpdesk(
        &self,
        name: &str,
        change: &helpdesks::HelpdeskChange,
        origin: &Origin,
    ) -> Result<helpdesks::Helpdesk, StoreError>;

    /// Deletes a helpdesk connection, audited. Its contacts stay.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown connection.
    async fn delete_helpdesk(&self, name: &str, origin: &Origin) -> Result<(), StoreError>;

    /// Records a webhook event's outcome on its connection's health. For a taken event with
    /// an id, answers whether it is new (`false`: the vendor sent it before, and it was taken
    /// then); ids are kept for a day, longer than any vendor retries.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown connection.
    async fn record_helpdesk_event(
        &self,
        name: &str,
        outcome: &helpdesks::EventOutcome<'_>,
    ) -> Result<bool, StoreError>;

    /// Records where a sweep of the connection's API got to, and when.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown connection.
    async fn set_helpdesk_sweep(&self, name: &str, cursor: &str) -> Result<(), StoreError>;

    /// Adds planned writes to the ledger (a write already there is left as it is) and marks
    /// pending writes of older versions of the same statement, ticket and action superseded.
    /// Returns how many were new.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn plan_helpdesk_writes(
        &self,
        writes: &[helpdesks::PlannedWrite],
    ) -> Result<usize, StoreError>;

    /// A connection's writes that are pending or sending, oldest statement version first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn open_helpdesk_writes(
        &self,
        connection: &str,
        limit: u32,
    ) -> Result<Vec<helpdesks::HelpdeskWrite>, StoreError>;

    /// Moves writes to `status`, with the error when there is one. Moving to `sending` counts
    /// an attempt; to `sent` sets the time. A write already sent or superseded stays so, and
    /// a superseded one is never sent: only pending writes may move to `sending`. Returns the
    /// writes that moved (a node sends only what it moved to `sending` itself).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn settle_helpdesk_writes(
        &self,
        keys: &[helpdesks::WriteKey],
        status: helpdesks::WriteStatus,
        error: Option<&str>,
    ) -> Result<Vec<helpdesks::WriteKey>, StoreError>;

    /// The contacts linked to an incident from `source`, in the order they were linked, each
    /// with its customer's pseudonym and language: the write-back answers one customer once
    /// however many tickets they opened, in their language where a translation exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn linked_helpdesk_contacts(
        &self,
        incident: i64,
        source: &str,
    ) -> Result<Vec<helpdesks::LinkedContact>, StoreError>;

    /// An incident's writes, every status.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn incident_helpdesk_writes(
        &self,
        incident: i64,
    ) -> Result<Vec<helpdesks::HelpdeskWrite>, StoreError>;

    /// The delivery of feed entry `seq` to webhook `webhook`, if one was attempted.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_delivery(&self, webhook: i64, seq: i64) -> Result<Option<Delivery>, StoreError>;

    /// Claims up to `limit` webhooks for `claim`: those nobody holds, whose claim lapsed, or
    /// that `claim` holds already (renewed), oldest first. One node follows a webhook at a time,
    /// which keeps its deliveries in feed order; different webhooks go to different nodes.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn claim_webhooks(&self, claim: &Claim, limit: u32) -> Result<Vec<Webhook>, StoreError>;

    /// Gives back every webhook `claim` holds, so any node may take them at once.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn release_webhooks(&self, claim: &Claim) -> Result<(), StoreError>;

    /// Records an attempt (inserting or updating the delivery) under the claim on its
    /// webhook; when it is final (delivered or failed), moves the webhook's cursor to it in
    /// the same transaction, so a restart resumes after it and never before.
    ///
    /// # Errors
    /// [`StoreError::ClaimLost`] and nothing written when `claim` no longer holds the webhook;
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn record_delivery(&self, delivery: &Delivery, claim: &Claim) -> Result<(), StoreError>;

    /// Moves a webhook's cursor past feed entries it does not want (never backwards), under
    /// the claim on it.
    ///
    /// # Errors
    /// [`StoreError::ClaimLost`] and nothing written when `claim` no longer holds the webhook;
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn advance_webhook(&self, id: i64, cursor: i64, claim: &Claim) -> Result<(), StoreError>;

    /// A page of deliveries, newest attempt order (storage order, newest first).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError>;

    /// Files a report (see [`reports::file`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a flagged contact that does not exist.
    async fn file_report(
        &self,
        new: &NewReport,
        origin: &Origin,
    ) -> Result<ReportDetail, StoreError>;

    /// One report with the incident it is linked to.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_report(&self, id: i64) -> Result<Option<ReportDetail>, StoreError>;

    /// Reports, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<ReportDetail>, StoreError>;

    /// Acknowledges or dismisses a report (see [`reports::set_state`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown report; [`StoreError::Conflict`] for an illegal
    /// change.
    async fn set_report_state(
        &self,
        id: i64,
        state: ReportState,
        reason: Option<&str>,
        origin: &Origin,
    ) -> Result<ReportDetail, StoreError>;

    /// Contacts received at or after `since` (and before `until`), on `service` when given,
    /// with at least one of `topics`: the customer side of a security event.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn contact_impact(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: Option<chrono::DateTime<chrono::Utc>>,
        service: Option<&str>,
        topics: &[String],
    ) -> Result<Impact, StoreError>;

    /// Drafts a statement (see [`statements::create`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown incident.
    async fn create_statement(
        &self,
        incident: i64,
        audience: Audience,
        draft: Draft,
        author: &str,
        origin: &Origin,
    ) -> Result<Statement, StoreError>;

    /// Adds a version (see [`statements::edit`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown statement.
    async fn edit_statement(
        &self,
        id: i64,
        draft: Draft,
        author: &str,
        origin: &Origin,
    ) -> Result<Statement, StoreError>;

    /// Approves the latest version (see [`statements::approve`]).
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::Conflict`], [`StoreError::NotFound`].
    async fn approve_statement(
        &self,
        id: i64,
        user: &str,
        roles: &[frontline_core::Role],
        origin: &Origin,
    ) -> Result<Statement, StoreError>;

    /// Publishes the latest version (see [`statements::publish`]).
    ///
    /// # Errors
    /// [`StoreError::Forbidden`], [`StoreError::Conflict`], [`StoreError::NotFound`].
    async fn publish_statement(
        &self,
        id: i64,
        user: &str,
        roles: &[frontline_core::Role],
        origin: &Origin,
    ) -> Result<Statement, StoreError>;

    /// One statement.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_statement(&self, id: i64) -> Result<Option<Statement>, StoreError>;

    /// An incident's statements, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_statements(&self, incident: i64) -> Result<Vec<Statement>, StoreError>;

    /// Statements of `audience` published at or after `since` (by their latest publication),
    /// oldest first: what the status page and talking points show.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn published_statements(
        &self,
        audience: Audience,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Statement>, StoreError>;

    /// Sets a status page component's state (creating the component), audited and on the feed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn set_component(
        &self,
        name: &str,
        status: frontline_core::component::ComponentStatus,
        origin: &Origin,
    ) -> Result<frontline_core::component::Component, StoreError>;

    /// Every component, by name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_components(
        &self,
    ) -> Result<Vec<frontline_core::component::Component>, StoreError>;

    /// Adds a subscriber, or finds the one with that channel and address (reactivating it if it
    /// had unsubscribed; an e-mail address then needs confirming again). `confirmed` marks it
    /// confirmed at once (webhooks). `welcome` builds a message queued in the same transaction
    /// (the confirmation mail, whose signed link needs the id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn subscribe(
        &self,
        channel: frontline_core::subscriber::Channel,
        address: &str,
        lang: Option<&str>,
        confirmed: bool,
        welcome: &Welcome,
    ) -> Result<frontline_core::subscriber::Subscriber, StoreError>;

    /// Confirms a subscriber (the link in the confirmation mail); `None` for an unknown id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn confirm_subscriber(
        &self,
        id: i64,
    ) -> Result<Option<frontline_core::subscriber::Subscriber>, StoreError>;

    /// Unsubscribes; `None` for an unknown id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn unsubscribe(
        &self,
        id: i64,
    ) -> Result<Option<frontline_core::subscriber::Subscriber>, StoreError>;

    /// Subscribers that receive updates now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn active_subscribers(
        &self,
    ) -> Result<Vec<frontline_core::subscriber::Subscriber>, StoreError>;

    /// Queues messages and, when given, moves the named cursor to `seq`, in one transaction:
    /// a publication's messages are queued exactly once. A cursor never moves back: when it is
    /// at `seq` or past it already, nothing is queued (another node did it, as a leader that
    /// paused past its lease and woke up would try to).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn queue_messages(
        &self,
        messages: &[frontline_core::subscriber::Message],
        cursor: Option<(&str, i64)>,
    ) -> Result<(), StoreError>;

    /// A named cursor (0 when never set).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn cursor(&self, name: &str) -> Result<Option<i64>, StoreError>;

    /// Claims up to `limit` queued messages due at `now` that nobody holds (or whose claim
    /// lapsed), oldest first, for `claim`: several nodes send the outbox side by side, never the
    /// same message at once.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn claim_messages(
        &self,
        claim: &Claim,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<frontline_core::subscriber::Queued>, StoreError>;

    /// Records an attempt at a claimed message: sent, to retry at a time, or failed for good;
    /// the claim ends with it.
    ///
    /// # Errors
    /// [`StoreError::ClaimLost`] and nothing written when `claim` no longer holds the message;
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn settle_message(
        &self,
        id: i64,
        outcome: &Settled,
        claim: &Claim,
    ) -> Result<(), StoreError>;

    /// Every user with their roles, by name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_users(&self) -> Result<Vec<UserInfo>, StoreError>;

    /// The written part of an incident's review, if it was ever saved.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn get_review(
        &self,
        incident: i64,
    ) -> Result<Option<frontline_core::review::Review>, StoreError>;

    /// Saves the written part of an incident's review (checked by the caller), audited.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown incident.
    async fn save_review(
        &self,
        incident: i64,
        sections: &frontline_core::review::ReviewSections,
        origin: &Origin,
    ) -> Result<frontline_core::review::Review, StoreError>;

    /// Contacts received in `[since, until)` per topic and bucket of `bucket` (buckets
    /// start at the Unix epoch plus whole multiples of `bucket.seconds`, shifted by
    /// `bucket.origin_seconds`), in bucket then topic order; empty buckets are left out.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn topic_counts(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        bucket: Bucket,
    ) -> Result<Vec<TopicCount>, StoreError>;

    /// Contacts from `source` received in `[since, until)` per hour (hours start on the hour),
    /// in order; empty hours are left out. The usual rhythm of a helpdesk connection.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn source_hours(
        &self,
        source: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, u64)>, StoreError>;

    /// Contacts per topic and week (weeks start on Monday, 00:00 UTC), for the trends.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn topic_weeks(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<TopicCount>, StoreError> {
        self.topic_counts(since, until, Bucket::WEEK).await
    }

    /// Sets a user's password hash (creating the user, and granting `role` when given),
    /// audited as `user.password` (never the hash).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn set_password(
        &self,
        user: &str,
        role: Option<frontline_core::Role>,
        password_hash: &str,
        must_change: bool,
        origin: &Origin,
    ) -> Result<(), StoreError>;

    /// What is needed to check `user`'s password; `None` for an unknown user.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn login(&self, user: &str) -> Result<Option<people::Login>, StoreError>;

    /// Takes access away from a user at once, in one transaction: one role (`Some`), or
    /// everything (`None`, when someone leaves): every role, the password, every session and
    /// every API token. Audited as `user.access_removed`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    async fn remove_access(
        &self,
        user: &str,
        role: Option<frontline_core::Role>,
        origin: &Origin,
    ) -> Result<people::AccessRemoved, StoreError>;

    /// Stores a session, audited as `session.sign_in`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    async fn create_session(
        &self,
        session: &people::NewSession,
        origin: &Origin,
    ) -> Result<(), StoreError>;

    /// A session by its public id, with its user's roles now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn session(&self, id: &str) -> Result<Option<people::Session>, StoreError>;

    /// Ends a session (sign-out, or revoked by its user or an admin), audited.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or already ended session.
    async fn revoke_session(&self, id: &str, origin: &Origin) -> Result<(), StoreError>;

    /// Sessions not ended nor expired, newest first; only `user`'s when given.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_sessions(&self, user: Option<&str>) -> Result<Vec<people::Session>, StoreError>;

    /// Erases a customer's data, found by `pseudonym`, in one audited transaction: contacts
    /// removed (or left as tombstones where an incident links them), references to them
    /// removed from alert evidence, topic corrections on them removed, and the request
    /// recorded in the erasure ledger. An unknown pseudonym erases nothing and is recorded.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn erase_customer(
        &self,
        pseudonym: &str,
        origin: &Origin,
    ) -> Result<lifecycle::Erasure, StoreError>;

    /// The erasure ledger, oldest first, after ledger row `after`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn list_erasures(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<lifecycle::Erasure>, StoreError>;

    /// Erases a person (a user) in one audited transaction: `user:NAME` and, where a
    /// document holds a person by name, `NAME` become the placeholder in timelines, links,
    /// decisions and documents ([`lifecycle::ACTOR_COLUMNS`], [`lifecycle::PERSON_DOCUMENTS`]);
    /// audit records in the erasable format lose the fields naming them (and the address of
    /// what they did); their account, roles, sessions, tokens and sign-in failures go. A name
    /// never heard of changes nothing and is audited all the same. `pseudonym` is the keyed
    /// pseudonym of `user:NAME`: the placeholder is made from it
    /// ([`lifecycle::person_placeholder`]), and the erasure ledger records it (as
    /// `person:PSEUDONYM`) so a restore from an older backup can apply it again.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn erase_person(
        &self,
        name: &str,
        pseudonym: &str,
        origin: &Origin,
    ) -> Result<lifecycle::PersonErasure, StoreError>;

    /// One retention pass: at most `limit` rows of each class past its cutoff removed (or
    /// their text dropped), in one transaction; with `dry_run`, every such row counted and
    /// nothing changed. Not audited: the caller audits the run's totals once.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn retention_pass(
        &self,
        cutoffs: &lifecycle::RetentionCutoffs,
        limit: u32,
        dry_run: bool,
    ) -> Result<lifecycle::RetentionCounts, StoreError>;

    /// Hands every table of [`portable::TABLES`] to `sink`, in that order and each in key
    /// order, in batches, all read from one consistent snapshot (intake may go on meanwhile).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached; the sink's own errors.
    async fn export(&self, sink: &mut dyn portable::RowSink) -> Result<(), StoreError>;

    /// Writes `rows` into `table` as they are (ids, times, counters and hashes kept) in one
    /// transaction: an import into an installation being built from another. Not audited,
    /// so the imported audit log ends where the exported one did.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a row already there; [`StoreError::Invalid`] for a value
    /// the column cannot hold; nothing is written then.
    async fn import_rows(
        &self,
        table: &'static portable::Table,
        rows: &[portable::Row],
    ) -> Result<(), StoreError>;

    /// After an import: every counter (ids, sequences) continues after the imported rows.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn import_finish(&self) -> Result<(), StoreError>;

    /// Marks an import, restore or migration from `source` as under way in this database
    /// (a resumed one keeps the mark), before its first row is written.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn import_started(&self, source: &str) -> Result<(), StoreError>;

    /// Removes the mark, once every imported table reads back as written.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn import_verified(&self) -> Result<(), StoreError>;

    /// Where an import that has not finished came from, if one is under way or was cut short.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn import_unfinished(&self) -> Result<Option<String>, StoreError>;

    /// Rows in each table of [`portable::TABLES`], in its order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn table_rows(&self) -> Result<Vec<(&'static str, i64)>, StoreError>;

    /// Removes every row of `table`: a resumed import redoes the table it stopped in (the
    /// tables after it, which refer to it, are still empty then).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn clear_table(&self, table: &'static portable::Table) -> Result<(), StoreError>;

    /// Appends an audit record for something that changed no other row (a failed sign-in).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    async fn audit(&self, entry: &frontline_core::audit::AuditEntry) -> Result<(), StoreError>;
}

/// A user and their roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The name.
    pub name: String,
    /// The roles, sorted.
    pub roles: Vec<frontline_core::Role>,
}

impl UserInfo {
    /// Folds `(name, role)` rows sorted by name (role `NULL` for a user without roles) into
    /// users.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a stored role name Frontline does not know.
    pub fn from_rows(rows: Vec<(String, Option<String>)>) -> Result<Vec<UserInfo>, StoreError> {
        let mut out: Vec<UserInfo> = Vec::new();
        for (name, role) in rows {
            if out.last().is_none_or(|u| u.name != name) {
                out.push(UserInfo {
                    name,
                    roles: Vec::new(),
                });
            }
            if let (Some(role), Some(user)) = (role, out.last_mut()) {
                let role = role
                    .parse()
                    .map_err(|e| StoreError::internal("reading a role", e))?;
                user.roles.push(role);
                user.roles.sort();
            }
        }
        Ok(out)
    }
}

/// Contacts on one topic in one week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCount {
    /// The start of its bucket (for weeks, the Monday 00:00 UTC).
    pub start: chrono::DateTime<chrono::Utc>,
    /// The topic.
    pub topic: String,
    /// Contacts.
    pub contacts: u64,
}

/// Seconds from the Unix epoch (a Thursday) to the start of its week: weeks are counted from
/// Monday 1970-01-05, so `week = floor((t - WEEK_ORIGIN) / WEEK) * WEEK + WEEK_ORIGIN`.
pub const WEEK_ORIGIN_SECONDS: i64 = 4 * 86_400;
/// A week in seconds.
pub const WEEK_SECONDS: i64 = 7 * 86_400;

/// Time buckets for [`Store::topic_counts`]: `start = floor((t - origin) / seconds) * seconds
/// + origin`, in seconds from the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Its length, in seconds (> 0).
    pub seconds: i64,
    /// Where the buckets are counted from, in seconds from the epoch.
    pub origin_seconds: i64,
}

impl Bucket {
    /// Weeks from Monday 00:00 UTC.
    pub const WEEK: Bucket = Bucket {
        seconds: WEEK_SECONDS,
        origin_seconds: WEEK_ORIGIN_SECONDS,
    };

    /// Buckets of `seconds` counted from the epoch (hours start on the hour, days at 00:00
    /// UTC).
    pub const fn of(seconds: i64) -> Bucket {
        Bucket {
            seconds,
            origin_seconds: 0,
        }
    }

    /// The start of the bucket holding `t`.
    pub fn start(self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        let s = (t.timestamp() - self.origin_seconds).div_euclid(self.seconds) * self.seconds
            + self.origin_seconds;
        chrono::DateTime::from_timestamp(s, 0).unwrap_or(t)
    }
}

/// Builds the message queued with a subscription (the confirmation mail needs the id).
pub type Welcome = dyn Fn(&frontline_core::subscriber::Subscriber) -> Option<frontline_core::subscriber::Message>
    + Send
    + Sync;

/// What became of an attempt at a queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Accepted by the SMTP server or the webhook.
    Sent,
    /// Failed; try again then.
    Retry {
        /// When.
        at: chrono::DateTime<chrono::Utc>,
        /// Why it failed.
        error: String,
    },
    /// Given up.
    Failed {
        /// Why.
        error: String,
    },
}
