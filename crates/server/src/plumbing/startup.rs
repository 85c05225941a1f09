//! Startup and shutdown: [`build`] opens the store (migrating it), loads or generates secrets
//! and binds the listener, so the port is known before anything runs; [`Application::run_until`]
//! serves until the cancellation token fires, then drains in-flight requests.

use crate::api;
use crate::plumbing::config::Config;
use crate::plumbing::state::AppState;
use crate::workers::detection::DetectionWorker;
use anyhow::Context as _;
use frontline_pipeline::Intake;
use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_pipeline::redact::Redactor;
use frontline_store::Store;
use frontline_store_postgres::PostgresStore;
use frontline_store_sqlite::SqliteStore;
use rand::RngCore;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Opens the store the URL names, creating and migrating it as needed.
///
/// # Errors
/// When the URL's scheme is unsupported or the database cannot be opened or migrated.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url)
            .await
            .with_context(|| format!("opening the SQLite database {url}"))?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::open(url).await.context(
            "opening the PostgreSQL database (is the server running and the URL right?)",
        )?;
        return Ok(Arc::new(store));
    }
    anyhow::bail!("{url:?} is not a database URL; use sqlite://PATH or postgres://…")
}

/// The pseudonym key: configured, or generated on first start and kept in the database. Every
/// process that pseudonymises (the server, `frontline ingest --database`) gets it here, so they
/// all agree.
///
/// # Errors
/// When the configured key is unusable or the database cannot be read.
pub async fn pseudonym_key(config: &Config, store: &dyn Store) -> anyhow::Result<PseudonymKey> {
    if let Some(key) = config.pseudonym_key()? {
        return Ok(PseudonymKey::new(key));
    }
    let mut candidate = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut candidate);
    let key = store
        .secret_or_insert("pseudonym_key", &candidate)
        .await
        .context("loading the pseudonym key")?;
    Ok(PseudonymKey::new(key))
}

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// Opens the store, prepares secrets and binds the listener.
///
/// # Errors
/// When the database cannot be opened, a secret cannot be loaded, or the address cannot be
/// bound.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    config.check()?;
    let store = open_store(&config.database).await?;
    // Before anything is generated or served: a copy a crash cut short is not the installation.
    if let Some(source) = store.import_unfinished().await? {
        anyhow::bail!(
            "the database holds an import, restore or migration from {source} that did not \
             finish; finish it (frontline migrate --resume, or restore --force again) before \
             serving it"
        );
    }
    let taxonomy = config.load_taxonomy().context("loading the taxonomy")?;
    let pseudonyms = pseudonym_key(&config, store.as_ref()).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let ops = Arc::new(crate::plumbing::ops::Ops::default());
    let detection = Arc::new(tokio::sync::Mutex::new(
        DetectionWorker::new(store.clone()).with_ops(ops.clone()),
    ));
    let correlation = Arc::new(
        crate::workers::correlation::CorrelationWorker::new(store.clone(), &config.correlation)
            .map_err(|e| anyhow::anyhow!("configuration key `correlation.rules`: {e}"))?,
    );
    let subscriptions = Arc::new(crate::public::subscriptions::Subscriptions::new(
        crate::public::subscriptions::link_key(store.as_ref()).await?,
        config.subscribe_per_minute,
        config
            .smtp
            .mailer()
            .map_err(|e| anyhow::anyhow!("configuration key `smtp`: {e}"))?,
    )?);
    let bus = match &config.bus.url {
        Some(_) => Some(crate::plumbing::bus::Bus::connect(&config.bus).await?),
        None => None,
    };
    let sealing = crate::plumbing::sealing::Sealing::new(&config)
        .context("loading the key that seals helpdesk credentials (secrets.sealing_key_file)")?;
    let helpdesk_guards = Arc::new(crate::workers::helpdesk::guard::Guards::new(
        config.helpdesks.requests_per_minute,
        config.helpdesks.breaker_failures,
        std::time::Duration::from_millis(config.helpdesks.breaker_cooldown_ms),
    ));
    let state = AppState::new(crate::plumbing::state::Shared {
        sealing: Arc::new(sealing),
        helpdesk_guards,
        bus,
        node: crate::workers::node_id(),
        subscriptions,
        ops,
        limits: Arc::new(crate::plumbing::limits::Limits::new(&config.limits)),
        detection,
        correlation,
        feed: Arc::new(tokio::sync::watch::channel(0).0),
        streams: Arc::new(tokio::sync::Semaphore::new(config.max_streams)),
        listen: listener.local_addr().context("reading the bound address")?,
        shutdown: CancellationToken::new(),
        status: Arc::default(),
        store,
        intake: Arc::new(Intake {
            redactor: Redactor::shared(),
            pseudonyms,
            taxonomy: Arc::new(taxonomy),
        }),
        config: Arc::new(config),
        volumes: Arc::default(),
    });
    Ok(Application { listener, state })
}

impl Application {
    /// The bound address (the real port when the configured one was 0).
    ///
    /// # Errors
    /// When the socket cannot report its address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (the store, for tests and the CLI).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and lets in-flight requests
    /// finish. Cancels `shutdown` itself if the server stops on its own, so every other task
    /// holding the token stops too.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, database = %self.state.config.database, "frontline serving");
        if matches!(self.state.store.list_users().await, Ok(u) if u.is_empty()) {
            tracing::info!(
                "nobody can sign in yet; create the first admin with: frontline user add YOUR_NAME --role admin (then sign in at /login), or an API token with: frontline token create --role admin --name YOUR_NAME"
            );
        }
        let worker = (self.state.config.detection_interval_ms > 0).then(|| {
            tokio::spawn(run_detection(
                self.state.clone(),
                std::time::Duration::from_millis(self.state.config.detection_interval_ms),
                shutdown.clone(),
            ))
        });
        let sender = frontline_delivery::webhook::Sender::new(
            std::time::Duration::from_millis(self.state.config.webhooks.timeout_ms),
            self.state.config.webhooks.deny_private,
        )
        .context("building the webhook client")?;
        let delivery = tokio::spawn(crate::workers::delivery::run(
            self.state.clone(),
            crate::workers::delivery::DeliveryWorker::new(
                self.state.store.clone(),
                sender,
                self.state.config.webhooks.retry(),
            )
            .with_ops(self.state.ops.clone()),
            shutdown.clone(),
        ));
        let correlator = (self.state.config.correlation.interval_ms > 0
            && self.state.config.correlation.mode != crate::plumbing::config::CorrelationMode::Off)
            .then(|| {
                tokio::spawn(run_correlation(
                    self.state.clone(),
                    std::time::Duration::from_millis(self.state.config.correlation.interval_ms),
                    shutdown.clone(),
                ))
            });
        let status = tokio::spawn(crate::public::status::refresh(
            self.state.clone(),
            shutdown.clone(),
        ));
        let listen = self
            .listener
            .local_addr()
            .map_or_else(|_| "unknown".to_owned(), |a| a.to_string());
        tokio::spawn(crate::workers::follow::run(
            self.state.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(crate::workers::nodes::run(
            self.state.clone(),
            listen,
            shutdown.clone(),
        ));
        if let Some(bus) = self.state.bus.clone() {
            tokio::spawn(crate::workers::bus::run(
                self.state.clone(),
                bus,
                shutdown.clone(),
            ));
        }
        let subscribers = tokio::spawn(crate::public::subscriptions::run(
            self.state.clone(),
            shutdown.clone(),
        ));
        let cadence = (self.state.config.cadence.interval_ms > 0).then(|| {
            tokio::spawn(crate::workers::cadence::run(
                self.state.clone(),
                shutdown.clone(),
            ))
        });
        let helpdesks = (self.state.config.helpdesks.interval_ms > 0).then(|| {
            tokio::spawn(crate::workers::helpdesk::run(
                self.state.clone(),
                shutdown.clone(),
            ))
        });
        let retention = (self.state.config.retention.interval_ms > 0).then(|| {
            tokio::spawn(crate::workers::retention::run(
                self.state.clone(),
                shutdown.clone(),
            ))
        });
        let ending = self.state.shutdown.clone();
        let signal = shutdown.clone();
        tokio::spawn(async move {
            signal.cancelled().await;
            ending.cancel();
        });
        let limits = self.state.limits.clone();
        let pruning = shutdown.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = every.tick() => limits.forget_idle(),
                    () = pruning.cancelled() => break,
                }
            }
        });
        let header_timeout =
            std::time::Duration::from_millis(self.state.config.limits.header_timeout_ms);
        let proxies: std::sync::Arc<[std::net::IpAddr]> =
            self.state.config.trusted_proxies.clone().into();
        let fast = crate::public::status::fast_path(self.state.clone());
        let router = api::router(self.state);
        let result = crate::plumbing::serve::serve(
            self.listener,
            router,
            Some(fast),
            header_timeout,
            proxies,
            shutdown.clone(),
        )
        .await
        .context("serving HTTP");
        shutdown.cancel();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        let _ = delivery.await;
        let _ = status.await;
        let _ = subscribers.await;
        if let Some(cadence) = cadence {
            let _ = cadence.await;
        }
        if let Some(helpdesks) = helpdesks {
            let _ = helpdesks.await;
        }
        if let Some(retention) = retention {
            let _ = retention.await;
        }
        if let Some(correlator) = correlator {
            let _ = correlator.await;
        }
        tracing::info!("frontline stopped");
        result
    }
}

/// Steps the detection worker while this process holds the detection lease: at once while
/// there is more to read, then every `interval`, until `shutdown`. A failing step is logged
/// and tried again after the interval.
async fn run_detection(
    state: AppState,
    interval: std::time::Duration,
    shutdown: CancellationToken,
) {
    let holder = crate::workers::holder(&state.node);
    loop {
        let step = state.detection.lock().await.step(&holder).await;
        let busy = match step {
            Ok(Some(report)) => {
                if report.new_alerts > 0 {
                    state.feed_changed();
                }
                report.contacts > 0
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "detection step failed; retrying");
                false
            }
        };
        if busy {
            if shutdown.is_cancelled() {
                break;
            }
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    crate::workers::release(
        state.store.as_ref(),
        crate::workers::detection::LEASE,
        &holder,
    )
    .await;
}

/// Runs correlation rounds every `interval` while this process holds the correlation lease,
/// until `shutdown`; then gives the lease up.
async fn run_correlation(
    state: AppState,
    interval: std::time::Duration,
    shutdown: CancellationToken,
) {
    let holder = crate::workers::holder(&state.node);
    loop {
        match state.correlation.step(&holder, chrono::Utc::now()).await {
            Ok(Some(round)) if round.joined + round.opened > 0 => state.feed_changed(),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "correlation round failed; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    crate::workers::release(
        state.store.as_ref(),
        crate::workers::correlation::LEASE,
        &holder,
    )
    .await;
}
