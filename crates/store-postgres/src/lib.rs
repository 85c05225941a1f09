//! The scale backend: PostgreSQL, selected by a `postgres://` URL. Several server processes may
//! share one database: uniqueness is the database's (constraints and `ON CONFLICT`), and the
//! audit chain is serialised by a transaction-scoped advisory lock.
#![warn(missing_docs)]

mod alerts;
mod audit;
mod contacts;
mod errors;
mod helpdesks;
mod incidents;
mod leases;
mod lifecycle;
mod people;
mod portable;
mod reports;
mod reviews;
mod secrets;
mod security_events;
mod statements;
mod subscribers;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod webhooks;

use async_trait::async_trait;
use frontline_core::alert::{Alert, AlertState, DetectedAlert};
use frontline_core::audit::AuditRecord;
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
use frontline_store::{
    AlertQuery, ContactQuery, DeliveryQuery, FeedListener, IncidentQuery, Inserted, Leadership,
    Lease, NewToken, Node, Origin, Page, ReportQuery, Resolution, SecurityEventQuery, Store,
    StoreError, TokenCredentials, TokenInfo,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};
use std::time::Duration;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://USER:PASSWORD@HOST:PORT/DB`) and applies pending
    /// migrations (under sqlx's migration lock, so several servers may start at once).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached; [`StoreError::Internal`]
    /// when migrating fails.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            // While the database is down, a request waits this long for a connection and then
            // answers 503, rather than holding its client for half a minute.
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Unavailable(e.into()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::internal("migrating the PostgreSQL database", e))?;
        Ok(Self { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin()
            .await
            .map_err(|e| errors::map(e, "beginning a transaction"))
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn secret_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        secrets::secret_or_insert(self, name, candidate).await
    }

    async fn create_token(
        &self,
        token: NewToken,
        origin: &Origin,
    ) -> Result<TokenInfo, StoreError> {
        tokens::create(self, token, origin).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        tokens::list(self).await
    }

    async fn revoke_token(&self, id: &TokenId, origin: &Origin) -> Result<TokenInfo, StoreError> {
        tokens::revoke(self, id, origin).await
    }

    async fn token_credentials(
        &self,
        id: &TokenId,
    ) -> Result<Option<TokenCredentials>, StoreError> {
        tokens::credentials(self, id).await
    }

    async fn insert_contacts(
        &self,
        batch: &[RedactedContact],
        origin: &Origin,
    ) -> Result<Vec<Inserted>, StoreError> {
        contacts::insert(self, batch, origin).await
    }

    async fn list_contacts(&self, query: &ContactQuery) -> Result<Page<Contact>, StoreError> {
        contacts::list(self, query).await
    }

    async fn get_contact(&self, source: &str, id: &str) -> Result<Option<Contact>, StoreError> {
        contacts::get(self, source, id).await
    }

    async fn correct_topics(
        &self,
        source: &str,
        id: &str,
        topics: &[String],
        origin: &Origin,
    ) -> Result<Contact, StoreError> {
        contacts::correct_topics(self, source, id, topics, origin).await
    }

    async fn topic_corrections(&self) -> Result<Vec<frontline_store::TopicCorrection>, StoreError> {
        contacts::topic_corrections(self).await
    }

    async fn insert_security_events(
        &self,
        batch: &[NewSecurityEvent],
        origin: &Origin,
    ) -> Result<Vec<Inserted>, StoreError> {
        security_events::insert(self, batch, origin).await
    }

    async fn resolve_security_events(
        &self,
        resolutions: &[Resolution],
        origin: &Origin,
    ) -> Result<usize, StoreError> {
        security_events::resolve(self, resolutions, origin).await
    }

    async fn list_security_events(
        &self,
        query: &SecurityEventQuery,
    ) -> Result<Page<SecurityEvent>, StoreError> {
        security_events::list(self, query).await
    }

    async fn get_security_event(
        &self,
        source: &str,
        id: &str,
    ) -> Result<Option<SecurityEvent>, StoreError> {
        security_events::get(self, source, id).await
    }

    async fn contacts_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Contact)>, StoreError> {
        contacts::after(self, after, limit).await
    }

    async fn upsert_alerts(&self, alerts: &[DetectedAlert]) -> Result<usize, StoreError> {
        alerts::upsert(self, alerts, None).await
    }

    async fn list_alerts(&self, query: &AlertQuery) -> Result<Page<Alert>, StoreError> {
        alerts::list(self, query).await
    }

    async fn get_alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        alerts::get(self, id).await
    }

    async fn set_alert_state(
        &self,
        id: &str,
        state: AlertState,
        reason: Option<&str>,
        origin: &Origin,
    ) -> Result<Alert, StoreError> {
        alerts::set_state(self, id, state, reason, origin).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
    ) -> Result<Option<Lease>, StoreError> {
        leases::acquire(self, name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        leases::release(self, name, holder).await
    }

    async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        leases::all(self).await
    }

    async fn leadership_log(&self, name: &str) -> Result<Vec<Leadership>, StoreError> {
        leases::log(self, name).await
    }

    async fn heartbeat_node(&self, node: &Node) -> Result<(), StoreError> {
        leases::heartbeat(self, node).await
    }

    async fn live_nodes(&self, within: chrono::Duration) -> Result<Vec<Node>, StoreError> {
        leases::live(self, within).await
    }

    async fn sign_in_locked(&self, key: &str) -> Result<Option<chrono::Duration>, StoreError> {
        leases::sign_in_locked(self, key).await
    }

    async fn sign_in_failed(
        &self,
        key: &str,
        lock: fn(u32) -> Option<chrono::Duration>,
    ) -> Result<u32, StoreError> {
        leases::sign_in_failed(self, key, lock).await
    }

    async fn sign_in_cleared(&self, key: &str) -> Result<(), StoreError> {
        leases::sign_in_cleared(self, key).await
    }

    async fn take_from_window(
        &self,
        key: &str,
        window: chrono::Duration,
        limit: u32,
    ) -> Result<Option<chrono::Duration>, StoreError> {
        leases::take_from_window(self, key, window, limit).await
    }

    async fn listen_feed(&self) -> Result<Option<Box<dyn FeedListener>>, StoreError> {
        leases::listen(self).await.map(Some)
    }

    async fn upsert_alerts_fenced(
        &self,
        lease: &Lease,
        alerts: &[DetectedAlert],
    ) -> Result<usize, StoreError> {
        alerts::upsert(self, alerts, Some(lease)).await
    }

    async fn audit_records(&self, after: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        audit::records(self, after, limit).await
    }

    async fn open_incident(
        &self,
        new: &NewIncident,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError> {
        incidents::write(self, frontline_store::incidents::Op::Open(new), origin).await
    }

    async fn change_incident(
        &self,
        id: i64,
        changes: &[IncidentChange],
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError> {
        incidents::write(
            self,
            frontline_store::incidents::Op::Change(id, changes),
            origin,
        )
        .await
    }

    async fn merge_incidents(
        &self,
        into: i64,
        from: i64,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError> {
        incidents::write(
            self,
            frontline_store::incidents::Op::Merge { into, from },
            origin,
        )
        .await
    }

    async fn split_incident(
        &self,
        from: i64,
        new: &NewIncident,
        origin: &Origin,
    ) -> Result<IncidentDetail, StoreError> {
        incidents::write(
            self,
            frontline_store::incidents::Op::Split { from, new },
            origin,
        )
        .await
    }

    async fn signal_states(&self, signals: &[Signal]) -> Result<Vec<SignalState>, StoreError> {
        incidents::signal_states(self, signals).await
    }

    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError> {
        incidents::get(self, id).await
    }

    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Page<Incident>, StoreError> {
        incidents::list(self, query).await
    }

    async fn feed_after(
        &self,
        after: i64,
        incident: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        incidents::feed_after(self, after, incident, limit).await
    }

    async fn feed_head(&self) -> Result<i64, StoreError> {
        incidents::feed_head(self).await
    }

    async fn create_webhook(
        &self,
        new: &NewWebhook,
        origin: &Origin,
    ) -> Result<Webhook, StoreError> {
        webhooks::create(self, new, origin).await
    }

    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        webhooks::list(self).await
    }

    async fn delete_webhook(&self, id: i64, origin: &Origin) -> Result<(), StoreError> {
        webhooks::delete(self, id, origin).await
    }

    async fn create_helpdesk(
        &self,
        new: &frontline_store::helpdesks::NewHelpdesk,
        origin: &Origin,
    ) -> Result<frontline_store::helpdesks::Helpdesk, StoreError> {
        helpdesks::create(self, new, origin).await
    }

    async fn list_helpdesks(
        &self,
    ) -> Result<Vec<frontline_store::helpdesks::Helpdesk>, StoreError> {
        helpdesks::list(self).await
    }

    async fn get_helpdesk(
        &self,
        name: &str,
    ) -> Result<Option<frontline_store::helpdesks::Helpdesk>, StoreError> {
        helpdesks::get(self, name).await
    }

    async fn change_helpdesk(
        &self,
        name: &str,
        change: &frontline_store::helpdesks::HelpdeskChange,
        origin: &Origin,
    ) -> Result<frontline_store::helpdesks::Helpdesk, StoreError> {
        helpdesks::change(self, name, change, origin).await
    }

    async fn delete_helpdesk(&self, name: &str, origin: &Origin) -> Result<(), StoreError> {
        helpdesks::delete(self, name, origin).await
    }

    async fn set_helpdesk_sweep(&self, name: &str, cursor: &str) -> Result<(), StoreError> {
        helpdesks::set_sweep(self, name, cursor).await
    }

    async fn plan_helpdesk_writes(
        &self,
        writes: &[frontline_store::helpdesks::PlannedWrite],
    ) -> Result<usize, StoreError> {
        helpdesks::plan_writes(self, writes).await
    }

    async fn open_helpdesk_writes(
        &self,
        connection: &str,
        limit: u32,
    ) -> Result<Vec<frontline_store::helpdesks::HelpdeskWrite>, StoreError> {
        helpdesks::open_writes(self, connection, limit).await
    }

    async fn settle_helpdesk_writes(
        &self,
        keys: &[frontline_store::helpdesks::WriteKey],
        status: frontline_store::helpdesks::WriteStatus,
        error: Option<&str>,
    ) -> Result<Vec<frontline_store::helpdesks::WriteKey>, StoreError> {
        helpdesks::settle_writes(self, keys, status, error).await
    }

    async fn incident_helpdesk_writes(
        &self,
        incident: i64,
    ) -> Result<Vec<frontline_store::helpdesks::HelpdeskWrite>, StoreError> {
        helpdesks::incident_writes(self, incident).await
    }

    async fn linked_helpdesk_contacts(
        &self,
        incident: i64,
        source: &str,
    ) -> Result<Vec<frontline_store::helpdesks::LinkedContact>, StoreError> {
        helpdesks::linked_contacts(self, incident, source).await
    }

    async fn record_helpdesk_event(
        &self,
        name: &str,
        outcome: &frontline_store::helpdesks::EventOutcome<'_>,
    ) -> Result<bool, StoreError> {
        helpdesks::record_event(self, name, outcome).await
    }

    async fn get_delivery(&self, webhook: i64, seq: i64) -> Result<Option<Delivery>, StoreError> {
        webhooks::get_delivery(self, webhook, seq).await
    }

    async fn claim_webhooks(
        &self,
        claim: &frontline_store::Claim,
        limit: u32,
    ) -> Result<Vec<Webhook>, StoreError> {
        webhooks::claim(self, claim, limit).await
    }

    async fn release_webhooks(&self, claim: &frontline_store::Claim) -> Result<(), StoreError> {
        webhooks::release(self, claim).await
    }

    async fn record_delivery(
        &self,
        delivery: &Delivery,
        claim: &frontline_store::Claim,
    ) -> Result<(), StoreError> {
        webhooks::record(self, delivery, claim).await
    }

    async fn advance_webhook(
        &self,
        id: i64,
        cursor: i64,
        claim: &frontline_store::Claim,
    ) -> Result<(), StoreError> {
        webhooks::advance(self, id, cursor, claim).await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        webhooks::list_deliveries(self, query).await
    }

    async fn file_report(
        &self,
        new: &NewReport,
        origin: &Origin,
    ) -> Result<ReportDetail, StoreError> {
        reports::file(self, new, origin).await
    }

    async fn get_report(&self, id: i64) -> Result<Option<ReportDetail>, StoreError> {
        reports::get(self, id).await
    }

    async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<ReportDetail>, StoreError> {
        reports::list(self, query).await
    }

    async fn set_report_state(
        &self,
        id: i64,
        state: ReportState,
        reason: Option<&str>,
        origin: &Origin,
    ) -> Result<ReportDetail, StoreError> {
        reports::set_state(self, id, state, reason, origin).await
    }

    async fn contact_impact(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: Option<chrono::DateTime<chrono::Utc>>,
        service: Option<&str>,
        topics: &[String],
    ) -> Result<frontline_store::Impact, StoreError> {
        contacts::impact(self, since, until, service, topics).await
    }

    async fn create_statement(
        &self,
        incident: i64,
        audience: Audience,
        draft: Draft,
        author: &str,
        origin: &Origin,
    ) -> Result<Statement, StoreError> {
        statements::write(
            self,
            statements::Write::Create(incident, audience, draft, author),
            origin,
        )
        .await
    }

    async fn edit_statement(
        &self,
        id: i64,
        draft: Draft,
        author: &str,
        origin: &Origin,
    ) -> Result<Statement, StoreError> {
        statements::write(self, statements::Write::Edit(id, draft, author), origin).await
    }

    async fn approve_statement(
        &self,
        id: i64,
        user: &str,
        roles: &[frontline_core::Role],
        origin: &Origin,
    ) -> Result<Statement, StoreError> {
        statements::write(self, statements::Write::Approve(id, user, roles), origin).await
    }

    async fn publish_statement(
        &self,
        id: i64,
        user: &str,
        roles: &[frontline_core::Role],
        origin: &Origin,
    ) -> Result<Statement, StoreError> {
        statements::write(self, statements::Write::Publish(id, user, roles), origin).await
    }

    async fn get_statement(&self, id: i64) -> Result<Option<Statement>, StoreError> {
        statements::get(self, id).await
    }

    async fn list_statements(&self, incident: i64) -> Result<Vec<Statement>, StoreError> {
        statements::list(self, incident).await
    }

    async fn published_statements(
        &self,
        audience: Audience,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Statement>, StoreError> {
        statements::published(self, audience, since).await
    }

    async fn set_component(
        &self,
        name: &str,
        status: frontline_core::component::ComponentStatus,
        origin: &Origin,
    ) -> Result<frontline_core::component::Component, StoreError> {
        statements::set_component(self, name, status, origin).await
    }

    async fn list_components(
        &self,
    ) -> Result<Vec<frontline_core::component::Component>, StoreError> {
        statements::components(self).await
    }

    async fn subscribe(
        &self,
        channel: frontline_core::subscriber::Channel,
        address: &str,
        lang: Option<&str>,
        confirmed: bool,
        welcome: &frontline_store::Welcome,
    ) -> Result<frontline_core::subscriber::Subscriber, StoreError> {
        subscribers::subscribe(self, channel, address, lang, confirmed, welcome).await
    }

    async fn confirm_subscriber(
        &self,
        id: i64,
    ) -> Result<Option<frontline_core::subscriber::Subscriber>, StoreError> {
        subscribers::confirm(self, id).await
    }

    async fn unsubscribe(
        &self,
        id: i64,
    ) -> Result<Option<frontline_core::subscriber::Subscriber>, StoreError> {
        subscribers::unsubscribe(self, id).await
    }

    async fn active_subscribers(
        &self,
    ) -> Result<Vec<frontline_core::subscriber::Subscriber>, StoreError> {
        subscribers::active(self).await
    }

    async fn queue_messages(
        &self,
        messages: &[frontline_core::subscriber::Message],
        cursor: Option<(&str, i64)>,
    ) -> Result<(), StoreError> {
        subscribers::queue(self, messages, cursor).await
    }

    async fn cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        subscribers::cursor(self, name).await
    }

    async fn claim_messages(
        &self,
        claim: &frontline_store::Claim,
        now: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<frontline_core::subscriber::Queued>, StoreError> {
        subscribers::claim(self, claim, now, limit).await
    }

    async fn settle_message(
        &self,
        id: i64,
        outcome: &frontline_store::Settled,
        claim: &frontline_store::Claim,
    ) -> Result<(), StoreError> {
        subscribers::settle(self, id, outcome, claim).await
    }

    async fn list_users(&self) -> Result<Vec<frontline_store::UserInfo>, StoreError> {
        tokens::users(self).await
    }

    async fn get_review(
        &self,
        incident: i64,
    ) -> Result<Option<frontline_core::review::Review>, StoreError> {
        reviews::get(self, incident).await
    }

    async fn save_review(
        &self,
        incident: i64,
        sections: &frontline_core::review::ReviewSections,
        origin: &Origin,
    ) -> Result<frontline_core::review::Review, StoreError> {
        reviews::save(self, incident, sections, origin).await
    }

    async fn topic_counts(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        bucket: frontline_store::Bucket,
    ) -> Result<Vec<frontline_store::TopicCount>, StoreError> {
        reviews::topic_counts(self, since, until, bucket).await
    }

    async fn source_hours(
        &self,
        source: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, u64)>, StoreError> {
        reviews::source_hours(self, source, since, until).await
    }

    async fn set_password(
        &self,
        user: &str,
        role: Option<frontline_core::Role>,
        password_hash: &str,
        must_change: bool,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        people::set_password(self, user, role, password_hash, must_change, origin).await
    }

    async fn login(
        &self,
        user: &str,
    ) -> Result<Option<frontline_store::people::Login>, StoreError> {
        people::login(self, user).await
    }

    async fn remove_access(
        &self,
        user: &str,
        role: Option<frontline_core::Role>,
        origin: &Origin,
    ) -> Result<frontline_store::people::AccessRemoved, StoreError> {
        people::remove_access(self, user, role, origin).await
    }

    async fn create_session(
        &self,
        session: &frontline_store::people::NewSession,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        people::create_session(self, session, origin).await
    }

    async fn session(
        &self,
        id: &str,
    ) -> Result<Option<frontline_store::people::Session>, StoreError> {
        people::session(self, id).await
    }

    async fn revoke_session(&self, id: &str, origin: &Origin) -> Result<(), StoreError> {
        people::revoke_session(self, id, origin).await
    }

    async fn list_sessions(
        &self,
        user: Option<&str>,
    ) -> Result<Vec<frontline_store::people::Session>, StoreError> {
        people::list_sessions(self, user).await
    }

    async fn audit(&self, entry: &frontline_core::audit::AuditEntry) -> Result<(), StoreError> {
        people::audit_only(self, entry).await
    }

    async fn retention_pass(
        &self,
        cutoffs: &frontline_store::lifecycle::RetentionCutoffs,
        limit: u32,
        dry_run: bool,
    ) -> Result<frontline_store::lifecycle::RetentionCounts, StoreError> {
        lifecycle::pass(self, cutoffs, limit, dry_run).await
    }

    async fn export(
        &self,
        sink: &mut dyn frontline_store::portable::RowSink,
    ) -> Result<(), StoreError> {
        portable::export(self, sink).await
    }

    async fn import_rows(
        &self,
        table: &'static frontline_store::portable::Table,
        rows: &[frontline_store::portable::Row],
    ) -> Result<(), StoreError> {
        portable::import(self, table, rows).await
    }

    async fn import_finish(&self) -> Result<(), StoreError> {
        portable::finish(self).await
    }

    async fn import_started(&self, source: &str) -> Result<(), StoreError> {
        portable::started(self, source).await
    }

    async fn import_verified(&self) -> Result<(), StoreError> {
        portable::verified(self).await
    }

    async fn import_unfinished(&self) -> Result<Option<String>, StoreError> {
        portable::unfinished(self).await
    }

    async fn table_rows(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        portable::table_rows(self).await
    }

    async fn clear_table(
        &self,
        table: &'static frontline_store::portable::Table,
    ) -> Result<(), StoreError> {
        portable::clear(self, table).await
    }

    async fn erase_customer(
        &self,
        pseudonym: &str,
        origin: &Origin,
    ) -> Result<frontline_store::lifecycle::Erasure, StoreError> {
        lifecycle::erase(self, pseudonym, origin).await
    }

    async fn list_erasures(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<frontline_store::lifecycle::Erasure>, StoreError> {
        lifecycle::erasures(self, after, limit).await
    }

    async fn erase_person(
        &self,
        name: &str,
        pseudonym: &str,
        origin: &Origin,
    ) -> Result<frontline_store::lifecycle::PersonErasure, StoreError> {
        lifecycle::erase_person(self, name, pseudonym, origin).await
    }
}
