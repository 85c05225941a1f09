//! The detection worker: follows stored contacts in intake order (whichever way they came in:
//! API, bulk, `frontline ingest`, another server on the same database), feeds the pipeline's
//! [`Detector`] (spikes, themes, clusters: the very code `frontline replay` runs), and stores
//! the alerts it raises or updates.
//!
//! Its state lives in memory and is rebuilt by reading the stored contacts from the beginning
//! whenever this process starts doing the work, and whenever a customer's data was erased (so
//! no alert update names an erased contact again from memory); re-detected alerts keep their
//! ids, so their stored state (acknowledged, dismissed) survives. Several servers may share one PostgreSQL:
//! only the holder of the `detection` lease steps ([`DetectionWorker::step`]); if it stops,
//! another takes the lease when it expires and rebuilds.

use frontline_core::alert::DetectedAlert;
use frontline_pipeline::detector::{DetectedContact, Detector};
use frontline_store::{Lease, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// Contacts read per step.
const BATCH: u32 = 5000;
/// Contacts detected between two yields to the runtime (about ten milliseconds of work).
const YIELD_EVERY: usize = 250;
/// The name of the lease that decides which process steps the worker.
pub const LEASE: &str = "detection";
/// How long a renewal lasts (by the database's clock): steps renew it every second or so, so
/// a successor takes over about ten seconds after a holder stops.
pub const LEASE_TTL: chrono::Duration = chrono::Duration::seconds(10);

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TickReport {
    /// Contacts read.
    pub contacts: usize,
    /// Alerts stored (raised or updated).
    pub alerts: usize,
    /// Of those, new ones.
    pub new_alerts: usize,
}

/// The worker's state.
pub struct DetectionWorker {
    store: Arc<dyn Store>,
    detector: Detector,
    cursor: i64,
    /// Alerts detected but not yet stored (the store failed); stored on the next step.
    pending: HashMap<String, DetectedAlert>,
    /// The lease this process held at its last step: alerts are written under it, and
    /// refused once another holder took over.
    lease: Option<Lease>,
    lease_ttl: chrono::Duration,
    ops: Arc<crate::plumbing::ops::Ops>,
    /// The newest erasure ledger row this state has taken into account.
    erasures_seen: i64,
}

impl DetectionWorker {
    /// A worker that will start from the first stored contact.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            detector: Detector::default(),
            cursor: 0,
            pending: HashMap::new(),
            lease: None,
            lease_ttl: LEASE_TTL,
            ops: Arc::default(),
            erasures_seen: 0,
        }
    }

    /// Starts over from the first stored contact, reporting to the same metrics.
    fn restart(&mut self) {
        *self = Self {
            ops: self.ops.clone(),
            lease_ttl: self.lease_ttl,
            ..Self::new(self.store.clone())
        };
    }

    /// The newest row of the erasure ledger (0 when empty).
    async fn erasure_head(&self) -> Result<i64, StoreError> {
        let mut head = self.erasures_seen;
        loop {
            let rows = self.store.list_erasures(head, 500).await?;
            match rows.last() {
                Some(last) => head = last.id,
                None => return Ok(head),
            }
        }
    }

    /// Counts raised alerts in `ops` (the server's `/metrics`).
    #[must_use]
    pub fn with_ops(mut self, ops: Arc<crate::plumbing::ops::Ops>) -> Self {
        self.ops = ops;
        self
    }

    /// Holds the lease for `ttl` at each step instead of [`LEASE_TTL`] (tests of takeover).
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: chrono::Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// One step if this process (`holder`) holds the detection lease, taking or renewing it;
    /// `None` when another process holds it, or took it over while this step wrote (the
    /// write was fenced off and nothing stored). Taking it, or finding its epoch moved on,
    /// starts from scratch, since another holder may have seen contacts this process's state
    /// has not.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn step(&mut self, holder: &str) -> Result<Option<TickReport>, StoreError> {
        let Some(lease) = self
            .store
            .acquire_lease(LEASE, holder, self.lease_ttl)
            .await?
        else {
            self.lease = None;
            return Ok(None);
        };
        if self.lease.as_ref().is_none_or(|l| l.epoch != lease.epoch) {
            tracing::info!(
                holder,
                epoch = lease.epoch,
                "detection lease taken; rebuilding from stored contacts"
            );
            self.restart();
        }
        // An erasure removed contacts this state may still name as evidence: start over from
        // what is stored now. A state that has read nothing yet reads only what is stored now.
        let head = self.erasure_head().await?;
        if head != self.erasures_seen {
            if self.cursor > 0 {
                tracing::info!(
                    erasure = head,
                    "a customer's data was erased; rebuilding detection without it"
                );
                self.restart();
            }
            self.erasures_seen = head;
        }
        self.lease = Some(lease);
        match self.tick().await {
            Err(StoreError::Fenced { name, epoch }) => {
                tracing::warn!(
                    lease = name,
                    epoch,
                    "detection lease lost while writing; stepping down"
                );
                self.lease = None;
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    /// Reads the next contacts, detects, stores alerts.
    ///
    /// # Errors
    /// When the store fails. Contacts already fed to the detectors are not read again (that
    /// would count them twice); alerts that could not be stored are kept and stored next time.
    #[tracing::instrument(skip_all, fields(cursor = self.cursor))]
    pub async fn tick(&mut self) -> Result<TickReport, StoreError> {
        let contacts = self.store.contacts_after(self.cursor, BATCH).await?;
        if let Some((last, _)) = contacts.last() {
            self.cursor = *last;
        }
        // Keep only the latest version of each alert.
        let latest = &mut self.pending;
        for (i, (_, c)) in contacts.iter().enumerate() {
            // A batch is a few hundred milliseconds of work: give the runtime's thread back
            // now and then, so requests (and `/healthz`) are answered during a backlog even on
            // one core.
            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
            let c = &c.contact;
            let detected = DetectedContact {
                source: &c.key.source,
                id: &c.key.id,
                received_at: c.received_at,
                text: &c.text,
                normalized: None,
                topics: &c.topics,
                service: c.service.as_deref(),
                channel: c.channel.as_str(),
                customer: c.customer.as_deref(),
                language: c.language.as_deref(),
            };
            for a in self.detector.add(&detected) {
                latest.insert(a.alert_id.clone(), a);
            }
        }
        if self.pending.is_empty() {
            return Ok(TickReport {
                contacts: contacts.len(),
                ..TickReport::default()
            });
        }
        let mut alerts: Vec<DetectedAlert> = self.pending.values().cloned().collect();
        alerts.sort_by(|a, b| (a.started_at, &a.alert_id).cmp(&(b.started_at, &b.alert_id)));
        // Under the lease when stepping (a holder that lost it writes nothing); plain when
        // driven directly (tests, the CLI).
        let new_alerts = match &self.lease {
            Some(lease) => self.store.upsert_alerts_fenced(lease, &alerts).await?,
            None => self.store.upsert_alerts(&alerts).await?,
        };
        self.pending.clear();
        if new_alerts > 0 {
            self.ops.alerts_raised(new_alerts as u64);
            tracing::info!(
                new_alerts,
                updated = alerts.len() - new_alerts,
                "alerts raised"
            );
        }
        Ok(TickReport {
            contacts: contacts.len(),
            alerts: alerts.len(),
            new_alerts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_store(dir: &std::path::Path) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.join("t.db").display());
        Arc::new(
            frontline_store_sqlite::SqliteStore::open(&url)
                .await
                .unwrap(),
        )
    }

    /// Taking the lease rebuilds the detector from scratch; it used to rebuild the metrics
    /// handle too, so `frontline_alerts_raised_total` stayed 0 on every server.
    #[tokio::test]
    async fn taking_the_lease_keeps_the_metrics_handle() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path()).await;
        let ops = Arc::new(crate::plumbing::ops::Ops::default());
        let mut worker = DetectionWorker::new(store).with_ops(ops.clone());
        let report = worker.step("node-a").await.unwrap();
        assert!(report.is_some(), "the lease is free");
        assert!(Arc::ptr_eq(&worker.ops, &ops));
    }

    /// After an erasure the worker reads the stored contacts again from the first, so what it
    /// holds in memory (evidence, cluster members) no longer names the erased customer's.
    #[tokio::test]
    async fn an_erasure_rebuilds_detection_from_what_is_stored() {
        use frontline_core::contact::{Channel, ContactKey, RedactedContact};
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path()).await;
        let origin = frontline_store::Origin::new(frontline_core::audit::Actor::System);
        let contact = |id: &str, customer: &str| RedactedContact {
            key: ContactKey {
                source: "zendesk".into(),
                id: id.into(),
            },
            channel: Channel::Ticket,
            received_at: chrono::Utc::now(),
            text: format!("someone changed my password ({id})"),
            customer: Some(customer.into()),
            service: None,
            region: None,
            language: Some("en".into()),
            metadata: None,
            topics: vec!["account_takeover".into()],
        };
        let mine = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let theirs = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        store
            .insert_contacts(
                &[contact("1", mine), contact("2", theirs), contact("3", mine)],
                &origin,
            )
            .await
            .unwrap();
        let mut worker = DetectionWorker::new(store.clone());
        let first = worker.step("node-a").await.unwrap().unwrap();
        assert_eq!(first.contacts, 3);
        let again = worker.step("node-a").await.unwrap().unwrap();
        assert_eq!(again.contacts, 0, "nothing new, nothing read");
        store.erase_customer(mine, &origin).await.unwrap();
        let rebuilt = worker.step("node-a").await.unwrap().unwrap();
        assert_eq!(
            rebuilt.contacts, 1,
            "read again from the first: only theirs is left"
        );
        let after = worker.step("node-a").await.unwrap().unwrap();
        assert_eq!(after.contacts, 0, "one erasure, one rebuild");
    }
}
