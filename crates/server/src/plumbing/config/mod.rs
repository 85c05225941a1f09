//! Configuration: one [`Config`], built in layers (defaults, a TOML file, `FRONTLINE_*`
//! variables with `__` for nesting, then command-line flags) and checked on load, so a bad value
//! stops startup with its key and the fix. Tests build a `Config` in code.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use frontline_core::alertmanager::AlertmanagerMapping;
use frontline_pipeline::classify::{DEFAULT_TAXONOMY, Taxonomy, TaxonomyError, TaxonomyFile};
use frontline_pipeline::learned::TopicModel;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

mod sections;
pub use sections::*;

/// `FRONTLINE_*` variables the binary reads for itself (its flags), not `Config` keys.
pub const BINARY_ENV: &[&str] = &[
    "FRONTLINE_CONFIG",
    "FRONTLINE_LOG_FORMAT",
    "FRONTLINE_TOKEN",
];

/// The `FRONTLINE_*` names (prefix removed) that set `Config` keys.
pub const CONFIG_ENV: &[&str] = &[
    "LISTEN",
    "DATABASE",
    "MAX_BODY_BYTES",
    "MAX_BULK_BYTES",
    "DETECTION_INTERVAL_MS",
    "MAX_STREAMS",
    "METRICS_TOKEN",
    "LIMITS__TOKEN_PER_SECOND",
    "LIMITS__TOKEN_BURST",
    "LIMITS__CLIENT_PER_SECOND",
    "LIMITS__CLIENT_BURST",
    "LIMITS__MAX_IN_FLIGHT",
    "LIMITS__HEADER_TIMEOUT_MS",
    "LIMITS__BODY_IDLE_TIMEOUT_MS",
    "LIMITS__FUTURE_MARGIN_MINUTES",
    "WEBHOOKS__DENY_PRIVATE",
    "WEBHOOKS__RETRY_INITIAL_MS",
    "WEBHOOKS__RETRY_MAX_MS",
    "WEBHOOKS__GIVE_UP_AFTER_S",
    "WEBHOOKS__TIMEOUT_MS",
    "CORRELATION__MODE",
    "CORRELATION__INTERVAL_MS",
    "CORRELATION__LOOKBACK_HOURS",
    "CORRELATION__WINDOW_MINUTES",
    "CORRELATION__STRENGTH",
    "CORRELATION__ALERT_WEIGHT",
    "CORRELATION__REPORT_WEIGHT",
    "CORRELATION__CRITICAL_WEIGHT",
    "CORRELATION__REPLACE_DEFAULT_RULES",
    "PUBLIC_URL",
    "TRUSTED_PROXIES",
    "SUBSCRIBE_PER_MINUTE",
    "CADENCE__SEV1_MINUTES",
    "CADENCE__SEV2_MINUTES",
    "CADENCE__SEV3_MINUTES",
    "CADENCE__SEV4_MINUTES",
    "CADENCE__INTERVAL_MS",
    "HELPDESKS__INTERVAL_MS",
    "HELPDESKS__TIMEOUT_MS",
    "HELPDESKS__VERIFY_AFTER_MS",
    "HELPDESKS__MAX_ATTEMPTS",
    "HELPDESKS__SWEEP_INTERVAL_MS",
    "HELPDESKS__REQUESTS_PER_MINUTE",
    "HELPDESKS__BREAKER_FAILURES",
    "HELPDESKS__BREAKER_COOLDOWN_MS",
    "RETENTION__CONTACT_TEXT_DAYS",
    "RETENTION__CONTACTS_DAYS",
    "RETENTION__ALERT_EVIDENCE_DAYS",
    "RETENTION__DELIVERIES_DAYS",
    "RETENTION__SESSIONS_DAYS",
    "RETENTION__INTERVAL_MS",
    "RETENTION__BATCH",
    "BUS__URL",
    "BUS__PARTITIONS",
    "BUS__REPLICAS",
    "BUS__CONNECT_WAIT_S",
    "SMTP__HOST",
    "SMTP__PORT",
    "SMTP__TLS",
    "SMTP__USERNAME",
    "SMTP__PASSWORD",
    "SMTP__FROM",
    "SECRETS__PSEUDONYM_KEY",
    "SECRETS__PSEUDONYM_KEY_FILE",
    "SECRETS__SEALING_KEY_FILE",
    "ALERTMANAGER__SOURCE",
    "ALERTMANAGER__SEVERITY_LABEL",
    "ALERTMANAGER__DEFAULT_SEVERITY",
    "TAXONOMY__REPLACE_DEFAULT",
    "TAXONOMY__MODEL",
    "TAXONOMY__LEARNED",
];

/// Values that look like someone forgot to set a real secret.
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "placeholder",
    "example",
    "todo",
    "xxx",
    "test",
    "default",
];

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to serve on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (the default, `sqlite://frontline.db`) or `postgres://…`.
    pub database: String,
    /// The largest buffered request body, in bytes (default 16 MiB).
    pub max_body_bytes: usize,
    /// The largest streamed bulk (NDJSON) request, in bytes (default 1 GiB).
    pub max_bulk_bytes: u64,
    /// Secrets; each is generated on first start and kept in the database unless set here.
    pub secrets: SecretsConfig,
    /// How Alertmanager alerts become security events.
    pub alertmanager: AlertmanagerMapping,
    /// The taxonomy of topics.
    pub taxonomy: TaxonomyConfig,
    /// Milliseconds between detection steps when there is nothing new (0 turns the
    /// background worker off; tests step it themselves).
    pub detection_interval_ms: u64,
    /// Most live streams (`/api/v1/stream`) open at once (default 1000).
    pub max_streams: usize,
    /// The bearer token Prometheus presents at `/metrics` (an admin API token works too).
    /// Unset: `/metrics` is open.
    pub metrics_token: Option<Secret>,
    /// Rate limits, concurrency and timeouts.
    pub limits: LimitsConfig,
    /// Outbound webhooks: targets and retries.
    pub webhooks: WebhooksConfig,
    /// How alerts, reports and security events are linked into incidents.
    pub correlation: CorrelationConfig,
    /// Templates that prefill statement drafts, added to (or, by name, replacing) the
    /// built-in ones.
    pub statement_templates: Vec<StatementTemplate>,
    /// The address the public reaches this server at (links in the status feed and mails).
    pub public_url: String,
    /// Addresses of reverse proxies in front of this server. From them (only), the client's
    /// address is taken from `X-Forwarded-For` (the nearest address that is not a trusted
    /// proxy; for sign-in lockout, limits and the audit) and HTTPS from `X-Forwarded-Proto`
    /// (session cookies are then `Secure`). Default: none.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The SMTP server that sends subscribers' mail; without a host, e-mail subscriptions are
    /// refused (webhook subscriptions still work).
    pub smtp: SmtpConfig,
    /// Subscription requests allowed per client address per minute (default 5).
    pub subscribe_per_minute: u32,
    /// How often the public must hear about an open incident, by severity.
    pub cadence: CadenceConfig,
    /// The helpdesk write-back.
    pub helpdesks: HelpdesksConfig,
    /// How long each class of data is kept.
    pub retention: RetentionConfig,
    /// The intake bus (NATS JetStream) several nodes share; without `url`, intake writes to
    /// the database directly.
    pub bus: BusConfig,
}

/// A taxonomy or model file's name (as errors show it) and bytes.
fn read_named(path: &std::path::Path) -> Result<(String, Vec<u8>), TaxonomyError> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((name, bytes)),
        Err(e) => Err(TaxonomyError {
            file: name,
            line: None,
            reason: format!("cannot read: {e}"),
        }),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: "sqlite://frontline.db".into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_bulk_bytes: 1024 * 1024 * 1024,
            secrets: SecretsConfig::default(),
            alertmanager: AlertmanagerMapping::default(),
            taxonomy: TaxonomyConfig::default(),
            detection_interval_ms: 2000,
            max_streams: 1000,
            metrics_token: None,
            limits: LimitsConfig::default(),
            webhooks: WebhooksConfig::default(),
            correlation: CorrelationConfig::default(),
            statement_templates: Vec::new(),
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            smtp: SmtpConfig::default(),
            subscribe_per_minute: 5,
            cadence: CadenceConfig::default(),
            helpdesks: HelpdesksConfig::default(),
            retention: RetentionConfig::default(),
            bus: BusConfig::default(),
        }
    }
}

/// A configuration value that stops startup.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read or has the wrong type.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value is of the right type but unusable.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The key, as written in the TOML file (`secrets.pseudonym_key`).
        key: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// Flags given on the command line, which override every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--database`.
    pub database: Option<String>,
    /// `--bus`.
    pub bus: Option<String>,
}

impl Config {
    /// Builds the configuration from defaults, the optional TOML `file`, `FRONTLINE_*`
    /// variables of the process environment, and `overrides`, then checks it. Only the binary
    /// calls this; it is the one place the environment is read.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key at fault.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only configuration keys: the binary's own flags (FRONTLINE_CONFIG,
        // FRONTLINE_LOG_FORMAT), the tests' variables and unknown names (reported by
        // `unknown_env_names`) are not part of `Config`. The filter comes before the split:
        // figment applies them in order, and after the split a nested name reads
        // `limits.token_per_second`, which no entry of the list matches.
        figment = figment.merge(
            Env::prefixed("FRONTLINE_")
                .filter(|k| {
                    CONFIG_ENV
                        .iter()
                        .any(|known| k.as_str().eq_ignore_ascii_case(known))
                })
                .split("__"),
        );
        let mut config: Config = figment.extract().map_err(Box::new)?;
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(bus) = overrides.bus {
            config.bus.url = Some(bus);
        }
        if let Some(database) = overrides.database {
            config.database = database;
        }
        config.check()?;
        Ok(config)
    }

    /// Checks values that their types do not.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let db = self.database.as_str();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                key: "database",
                reason: format!(
                    "{db:?} is not a database URL; use sqlite://PATH (sqlite:///abs/path for an absolute path) or postgres://USER@HOST/DB"
                ),
            });
        }
        if let Some(url) = &self.bus.url
            && let Some(bad) = url
                .split(',')
                .map(str::trim)
                .find(|u| !(u.starts_with("nats://") || u.starts_with("tls://")))
        {
            return Err(ConfigError::Invalid {
                key: "bus.url",
                reason: format!(
                    "{bad:?} is not a NATS URL; use nats://HOST:4222 (several, comma-separated, for a cluster)"
                ),
            });
        }
        if self.bus.partitions == 0 || self.bus.replicas == 0 {
            return Err(ConfigError::Invalid {
                key: "bus.partitions",
                reason: "partitions and replicas must each be at least 1".into(),
            });
        }
        if let Some(t) = &self.metrics_token
            && t.expose().len() < 16
        {
            return Err(ConfigError::Invalid {
                key: "metrics_token",
                reason: "must be at least 16 characters (it guards operational data)".into(),
            });
        }
        let l = &self.limits;
        for (key, rate, burst) in [
            ("limits.token_burst", l.token_per_second, l.token_burst),
            ("limits.client_burst", l.client_per_second, l.client_burst),
        ] {
            if rate > 0 && burst < rate {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{burst} is below the rate ({rate}); use at least the rate"),
                });
            }
        }
        for (key, value) in [
            ("limits.max_in_flight", l.max_in_flight as u64),
            ("limits.header_timeout_ms", l.header_timeout_ms),
            ("limits.body_idle_timeout_ms", l.body_idle_timeout_ms),
            (
                "limits.future_margin_minutes",
                u64::from(l.future_margin_minutes),
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: "must be above 0".into(),
                });
            }
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "max_body_bytes",
                reason: format!("{} is too small; use at least 1024", self.max_body_bytes),
            });
        }
        if self.alertmanager.source.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "alertmanager.source",
                reason: "must not be empty".into(),
            });
        }
        let w = &self.webhooks;
        for (key, value) in [
            ("webhooks.retry_initial_ms", w.retry_initial_ms),
            ("webhooks.retry_max_ms", w.retry_max_ms),
            ("webhooks.timeout_ms", w.timeout_ms),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: "must be at least 1".into(),
                });
            }
        }
        if w.retry_max_ms < w.retry_initial_ms {
            return Err(ConfigError::Invalid {
                key: "webhooks.retry_max_ms",
                reason: format!(
                    "{} is below webhooks.retry_initial_ms ({})",
                    w.retry_max_ms, w.retry_initial_ms
                ),
            });
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                key: "public_url",
                reason: format!("{:?} is not an http(s) URL", self.public_url),
            });
        }
        if let Err(e) = self.smtp.mailer() {
            return Err(ConfigError::Invalid {
                key: "smtp",
                reason: e,
            });
        }
        if self.subscribe_per_minute == 0 {
            return Err(ConfigError::Invalid {
                key: "subscribe_per_minute",
                reason: "must be at least 1".into(),
            });
        }
        if self.retention.batch == 0 {
            return Err(ConfigError::Invalid {
                key: "retention.batch",
                reason: "must be at least 1 (set a window to 0 to keep that data)".into(),
            });
        }
        let c = &self.correlation;
        if let Err(e) = c.rules() {
            return Err(ConfigError::Invalid {
                key: "correlation.rules",
                reason: e,
            });
        }
        if !(c.strength > 0.0 && c.strength.is_finite()) {
            return Err(ConfigError::Invalid {
                key: "correlation.strength",
                reason: "must be a positive number".into(),
            });
        }
        if c.window_minutes <= 0 || c.lookback_hours <= 0 {
            return Err(ConfigError::Invalid {
                key: "correlation.window_minutes",
                reason: "window_minutes and lookback_hours must be positive".into(),
            });
        }
        if self.taxonomy.replace_default && self.taxonomy.files.is_empty() {
            return Err(ConfigError::Invalid {
                key: "taxonomy.replace_default",
                reason: "needs at least one file in taxonomy.files".into(),
            });
        }
        self.pseudonym_key().map(|_| ())
    }

    /// Compiles the taxonomy this configuration names.
    ///
    /// # Errors
    /// A [`TaxonomyError`] naming the file, line and reason.
    pub fn load_taxonomy(&self) -> Result<Taxonomy, TaxonomyError> {
        let mut files = Vec::new();
        if !self.taxonomy.replace_default {
            files.push((
                "default".to_owned(),
                TaxonomyFile::parse(DEFAULT_TAXONOMY, "default")?,
            ));
        }
        for path in &self.taxonomy.files {
            let (name, bytes) = read_named(path)?;
            let text = String::from_utf8(bytes).map_err(|_| TaxonomyError {
                file: name.clone(),
                line: None,
                reason: "is not UTF-8".into(),
            })?;
            files.push((name.clone(), TaxonomyFile::parse(&text, &name)?));
        }
        let taxonomy = Taxonomy::build(files)?;
        if !self.taxonomy.learned {
            return Ok(taxonomy);
        }
        let model = match &self.taxonomy.model {
            None => TopicModel::embedded(),
            Some(path) => {
                let (name, bytes) = read_named(path)?;
                let model = TopicModel::from_bytes(&bytes, &name).map_err(|e| TaxonomyError {
                    file: e.file,
                    line: None,
                    reason: e.reason,
                })?;
                std::sync::Arc::new(model)
            }
        };
        Ok(taxonomy.with_model(model))
    }

    /// The configured pseudonym key, if any (from the value or the file).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when both are set, the file cannot be read, or the key is short
    /// or a known placeholder.
    pub fn pseudonym_key(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        const KEY: &str = "secrets.pseudonym_key";
        let invalid = |reason: String| ConfigError::Invalid { key: KEY, reason };
        let value = match (
            &self.secrets.pseudonym_key,
            &self.secrets.pseudonym_key_file,
        ) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "set either the key or secrets.pseudonym_key_file, not both".into(),
                ));
            }
            (Some(v), None) => v.expose().to_owned(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            (None, None) => return Ok(None),
        };
        if PLACEHOLDERS.contains(&value.trim().to_ascii_lowercase().as_str()) {
            return Err(invalid("is a placeholder; set a real random value, or unset it to have one generated and kept in the database".into()));
        }
        if value.len() < 16 {
            return Err(invalid(format!(
                "is {} bytes; use at least 16 random bytes, or unset it to have one generated",
                value.len()
            )));
        }
        Ok(Some(value.into_bytes()))
    }
}

/// The `FRONTLINE_*` names in `vars` that this program does not know (neither a `Config` key
/// nor one of the binary's own, and not the tests' `FRONTLINE_TEST_*`), so typos are reported
/// instead of silently ignored.
pub fn unknown_env_names(vars: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut unknown: Vec<String> = vars
        .into_iter()
        .filter(|name| {
            name.starts_with("FRONTLINE_")
                && !name.starts_with("FRONTLINE_TEST_")
                && !BINARY_ENV.contains(&name.as_str())
                && !name
                    .strip_prefix("FRONTLINE_")
                    .is_some_and(|key| CONFIG_ENV.contains(&key))
        })
        .collect();
    unknown.sort();
    unknown
}

#[cfg(test)]
mod tests;
