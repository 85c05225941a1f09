//! Configuration: one [`Config`], built in layers (defaults, a TOML file, `FRONTLINE_*`
//! variables with `__` for nesting, then command-line flags) and checked on load, so a bad value
//! stops startup with its key and the fix. Tests build a `Config` in code.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use frontline_core::alertmanager::AlertmanagerMapping;
use frontline_pipeline::classify::{DEFAULT_TAXONOMY, Taxonomy, TaxonomyError, TaxonomyFile};
use frontline_pipeline::learned::TopicModel;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    "SMTP__HOST",
    "SMTP__PORT",
    "SMTP__TLS",
    "SMTP__USERNAME",
    "SMTP__PASSWORD",
    "SMTP__FROM",
    "SECRETS__PSEUDONYM_KEY",
    "SECRETS__PSEUDONYM_KEY_FILE",
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
}

/// Limits against abuse. The defaults never limit a well-behaved integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests a second per API token, sustained (default 100; 0: no limit).
    pub token_per_second: u32,
    /// Requests one token may send at once above that rate (default 200).
    pub token_burst: u32,
    /// Requests a second per client address to the API and the pages, sustained (default 300;
    /// 0: no limit). The public status page, its feed and `/healthz` are not limited per
    /// client.
    pub client_per_second: u32,
    /// Burst per client address (default 600).
    pub client_burst: u32,
    /// Requests handled at once; beyond it the server answers 503 at once rather than queue
    /// without bound (default 1024; live streams are bounded by `max_streams` instead).
    pub max_in_flight: usize,
    /// Milliseconds a client may take to send its request headers (default 10000).
    pub header_timeout_ms: u64,
    /// Milliseconds a request body may stall between two chunks (default 30000).
    pub body_idle_timeout_ms: u64,
    /// Minutes a contact's `received_at` or a security event's `observed_at` may lie ahead of
    /// this server's clock (default 1440, one day); later ones are refused with 422. Raise it
    /// where senders' clocks are known to run ahead; old dates are always accepted.
    pub future_margin_minutes: u32,
}

impl LimitsConfig {
    /// [`LimitsConfig::future_margin_minutes`] as a duration.
    pub fn future_margin(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.future_margin_minutes))
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            token_per_second: 100,
            token_burst: 200,
            client_per_second: 300,
            client_burst: 600,
            max_in_flight: 1024,
            header_timeout_ms: 10_000,
            body_idle_timeout_ms: 30_000,
            future_margin_minutes: 24 * 60,
        }
    }
}

/// Expected intervals between public updates, in minutes, by severity (0: no expectation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CadenceConfig {
    /// SEV1 (default 30).
    pub sev1_minutes: i64,
    /// SEV2 (default 60).
    pub sev2_minutes: i64,
    /// SEV3 (default 0: none).
    pub sev3_minutes: i64,
    /// SEV4 (default 0: none).
    pub sev4_minutes: i64,
    /// Milliseconds between checks (default 30000; 0 stops the background check, tests step
    /// it).
    pub interval_ms: u64,
}

impl Default for CadenceConfig {
    fn default() -> Self {
        Self {
            sev1_minutes: 30,
            sev2_minutes: 60,
            sev3_minutes: 0,
            sev4_minutes: 0,
            interval_ms: 30_000,
        }
    }
}

impl CadenceConfig {
    /// The interval for `severity`, if any.
    pub fn interval(
        &self,
        severity: frontline_core::incident::Severity,
    ) -> Option<chrono::Duration> {
        use frontline_core::incident::Severity::*;
        let m = match severity {
            Sev1 => self.sev1_minutes,
            Sev2 => self.sev2_minutes,
            Sev3 => self.sev3_minutes,
            Sev4 => self.sev4_minutes,
        };
        (m > 0).then(|| chrono::Duration::minutes(m))
    }
}

/// How mail leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Host name or address; unset turns e-mail off.
    pub host: Option<String>,
    /// Port (default 587).
    pub port: u16,
    /// `starttls` (default), `tls`, or `none` for a relay on loopback.
    pub tls: String,
    /// Sign-in name, if the server wants one.
    pub username: Option<String>,
    /// Its password.
    pub password: Option<Secret>,
    /// The sender (default `status@localhost`).
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: 587,
            tls: "starttls".into(),
            username: None,
            password: None,
            from: "Service status <status@localhost>".into(),
        }
    }
}

impl SmtpConfig {
    /// The mailer, or `None` when no host is set.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn mailer(&self) -> Result<Option<frontline_delivery::mail::Mailer>, String> {
        let Some(host) = &self.host else {
            return Ok(None);
        };
        frontline_delivery::mail::Mailer::new(&frontline_delivery::mail::SmtpSettings {
            host: host.clone(),
            port: self.port,
            tls: self.tls.clone(),
            credentials: self.username.clone().map(|u| {
                (
                    u,
                    self.password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default(),
                )
            }),
            from: self.from.clone(),
            timeout: std::time::Duration::from_secs(20),
        })
        .map(Some)
    }
}

/// A template for a statement draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementTemplate {
    /// How drafts name it (`"template": "phishing"`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The title it gives.
    pub title: String,
    /// The body it gives.
    pub body: String,
}

/// The built-in templates: situations every company meets.
pub fn default_templates() -> Vec<StatementTemplate> {
    let t = |name: &str, description: &str, title: &str, body: &str| StatementTemplate {
        name: name.into(),
        description: description.into(),
        title: title.into(),
        body: body.into(),
    };
    vec![
        t(
            "phishing",
            "Suspected phishing using our name",
            "Messages pretending to be from us",
            "We are aware of e-mails and text messages that pretend to come from us and ask \
             customers to sign in or to pay. We never ask for your password or card details by \
             e-mail or text. Do not open links in these messages. If you already did, change your \
             password now and contact our support. We will update this page as we learn more.",
        ),
        t(
            "outage",
            "Service outage",
            "Service disruption",
            "Some customers cannot use our service right now. We know about it and are working \
             on a fix. Your data is safe. We will post an update here within the hour, or sooner \
             when it is fixed.",
        ),
        t(
            "account_security",
            "Account security precautions",
            "Protecting your account",
            "We have seen attempts to sign in to customer accounts with passwords stolen from \
             other websites. As a precaution, please change your password if you use it \
             elsewhere too, and turn on two-step verification in your account settings. We will \
             never ask you for your password.",
        ),
    ]
}

impl Config {
    /// The templates in effect: configured ones replace built-in ones of the same name.
    pub fn templates(&self) -> Vec<StatementTemplate> {
        let mut out: Vec<StatementTemplate> = default_templates()
            .into_iter()
            .filter(|d| !self.statement_templates.iter().any(|t| t.name == d.name))
            .collect();
        out.extend(self.statement_templates.iter().cloned());
        out
    }
}

/// What the correlator does with signals that belong together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationMode {
    /// Open the incident (default).
    Open,
    /// Open it as a proposal that a person accepts.
    Propose,
    /// Do not correlate.
    Off,
}

/// The correlator's settings and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// `open` (default), `propose` or `off`.
    pub mode: CorrelationMode,
    /// Milliseconds between correlation rounds (default 5000; 0 stops the background worker,
    /// tests step it).
    pub interval_ms: u64,
    /// How far back signals are considered, in hours (default 6).
    pub lookback_hours: i64,
    /// Signals further apart than this (minutes) do not belong together (default 60).
    pub window_minutes: i64,
    /// The strength at which linked signals open an incident (default 2.5).
    pub strength: f64,
    /// Weight of customer alerts (all alerts of a group count once; default 1).
    pub alert_weight: f64,
    /// Weight of each agent's report (default 1.5).
    pub report_weight: f64,
    /// Weight of a critical security event (default 2; high 1.5, medium 1, low 0.5).
    pub critical_weight: f64,
    /// Rules giving security events their topics, tried after (or, with
    /// `replace_default_rules`, instead of) the built-in ones.
    pub rules: Vec<frontline_pipeline::correlate::RuleSpec>,
    /// Use only `rules`.
    pub replace_default_rules: bool,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        Self {
            mode: CorrelationMode::Open,
            interval_ms: 5000,
            lookback_hours: 6,
            window_minutes: 60,
            strength: 2.5,
            alert_weight: 1.0,
            report_weight: 1.5,
            critical_weight: 2.0,
            rules: Vec::new(),
            replace_default_rules: false,
        }
    }
}

impl CorrelationConfig {
    /// The weights, window and threshold.
    pub fn settings(&self) -> frontline_pipeline::correlate::Settings {
        frontline_pipeline::correlate::Settings {
            window_minutes: self.window_minutes,
            strength: self.strength,
            alert_weight: self.alert_weight,
            report_weight: self.report_weight,
            critical_weight: self.critical_weight,
        }
    }

    /// The compiled rules: configured ones first (so they name the reason), then the
    /// defaults unless replaced.
    ///
    /// # Errors
    /// A message naming the rule and the pattern that does not compile.
    pub fn rules(&self) -> Result<frontline_pipeline::correlate::Rules, String> {
        let mut specs = self.rules.clone();
        if !self.replace_default_rules {
            specs.extend(frontline_pipeline::correlate::default_rules());
        }
        frontline_pipeline::correlate::Rules::compile(&specs)
    }
}

/// How outbound webhooks are delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Refuse targets on loopback and private networks (default: allowed, since on-call
    /// tools often run inside the company network).
    pub deny_private: bool,
    /// Wait before the first retry, in milliseconds (default 1000); doubles per attempt.
    pub retry_initial_ms: u64,
    /// Longest wait between attempts, in milliseconds (default 30000).
    pub retry_max_ms: u64,
    /// Seconds after the first attempt at which a delivery is marked failed (default 3600).
    pub give_up_after_s: u64,
    /// Timeout of one attempt, in milliseconds (default 10000).
    pub timeout_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            deny_private: false,
            retry_initial_ms: 1000,
            retry_max_ms: 30_000,
            give_up_after_s: 3600,
            timeout_ms: 10_000,
        }
    }
}

impl WebhooksConfig {
    /// The retry policy these settings describe.
    pub fn retry(&self) -> frontline_delivery::retry::RetryPolicy {
        frontline_delivery::retry::RetryPolicy {
            initial: std::time::Duration::from_millis(self.retry_initial_ms),
            max: std::time::Duration::from_millis(self.retry_max_ms),
            give_up_after: std::time::Duration::from_secs(self.give_up_after_s),
        }
    }
}

/// Where topics come from: the embedded default taxonomy, extended (or replaced) by files, and
/// the learned classifier beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxonomyConfig {
    /// TOML taxonomy files, applied in order on top of the default.
    pub files: Vec<PathBuf>,
    /// Use only `files`, without the embedded default.
    pub replace_default: bool,
    /// A model file for the learned classifier (`frontline taxonomy train`) instead of the
    /// embedded one.
    pub model: Option<PathBuf>,
    /// Whether the learned classifier is used at all (off: the taxonomy's phrases alone).
    pub learned: bool,
}

impl Default for TaxonomyConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            replace_default: false,
            model: None,
            learned: true,
        }
    }
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
        }
    }
}

/// Secrets that configuration may set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// The key of customer pseudonyms (at least 16 bytes).
    pub pseudonym_key: Option<Secret>,
    /// A file holding the pseudonym key (trailing newline ignored).
    pub pseudonym_key_file: Option<PathBuf>,
}

/// A secret value: never printed by `Debug` or logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
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
mod tests {
    use super::*;

    /// Every scalar key of `Config` can be set from the environment: `CONFIG_ENV` is the
    /// filter applied to `FRONTLINE_*`, so a key missing there would silently ignore its
    /// variable. Lists and maps are set in the file only.
    #[test]
    fn every_scalar_key_has_its_environment_name() {
        fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let key = if prefix.is_empty() {
                            k.to_ascii_uppercase()
                        } else {
                            format!("{prefix}__{}", k.to_ascii_uppercase())
                        };
                        leaves(&key, v, out);
                    }
                }
                serde_json::Value::Array(_) => {}
                _ => out.push(prefix.to_owned()),
            }
        }
        let mut keys = Vec::new();
        leaves(
            "",
            &serde_json::to_value(Config::default()).unwrap(),
            &mut keys,
        );
        let file_only = ["ALERTMANAGER__SEVERITIES"];
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !file_only.iter().any(|f| k.starts_with(f)))
            .filter(|k| !CONFIG_ENV.contains(&k.as_str()))
            .collect();
        assert!(missing.is_empty(), "not in CONFIG_ENV: {missing:?}");
    }

    /// A value for each environment name that differs from the default and passes the
    /// checks: derived from the default's type where it can be, named where it cannot.
    fn env_value(name: &str, default: &serde_json::Value) -> String {
        match name {
            "LISTEN" => "127.0.0.1:9999".into(),
            "DATABASE" => "sqlite://elsewhere.db".into(),
            "METRICS_TOKEN" => "a-metrics-token-of-length".into(),
            "PUBLIC_URL" => "https://status.example.com".into(),
            "TRUSTED_PROXIES" => "[\"10.0.0.7\"]".into(),
            "CORRELATION__MODE" => "off".into(),
            "SMTP__TLS" => "tls".into(),
            "SMTP__FROM" => "status@example.com".into(),
            "SECRETS__PSEUDONYM_KEY" => "a-pseudonym-key-from-the-secret-store".into(),
            "SECRETS__PSEUDONYM_KEY_FILE" => "pseudonym.key".into(),
            "ALERTMANAGER__DEFAULT_SEVERITY" => "critical".into(),
            "LIMITS__TOKEN_BURST" | "LIMITS__CLIENT_BURST" => "100000".into(),
            _ => match default {
                serde_json::Value::Bool(b) => (!b).to_string(),
                serde_json::Value::Number(n) if n.is_f64() => {
                    (n.as_f64().unwrap_or(0.0) / 2.0 + 0.125).to_string()
                }
                serde_json::Value::Number(n) => (n.as_u64().unwrap_or(0) + 1).to_string(),
                _ => format!("value-of-{}", name.to_ascii_lowercase()),
            },
        }
    }

    fn at<'v>(v: &'v serde_json::Value, name: &str) -> &'v serde_json::Value {
        name.split("__")
            .fold(v, |v, k| &v[k.to_ascii_lowercase().as_str()])
    }

    /// Every key reachable from the file is reachable from `FRONTLINE_…__…`: each name of
    /// `CONFIG_ENV` set alone changes its key, and a value of the wrong type stops loading
    /// naming the key.
    #[test]
    // figment's Jail takes closures returning its own (large) error type.
    #[allow(clippy::result_large_err)]
    fn every_environment_name_takes_effect_and_bad_values_stop_startup() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        for name in CONFIG_ENV {
            let default = at(&defaults, name).clone();
            let value = env_value(name, &default);
            figment::Jail::expect_with(|jail| {
                jail.create_file("pseudonym.key", "a-pseudonym-key-kept-in-a-file-0123")?;
                jail.set_env(format!("FRONTLINE_{name}"), &value);
                let dotted = name.to_ascii_lowercase().replace("__", ".");
                let config = match Config::load(None, Overrides::default()) {
                    Ok(config) => config,
                    // Read, and refused by a check that names it (a switch that needs
                    // another key): it took effect.
                    Err(ConfigError::Invalid { key, .. }) if key == dotted => return Ok(()),
                    Err(e) => return Err(format!("FRONTLINE_{name}={value}: {e}").into()),
                };
                let loaded = serde_json::to_value(&config).unwrap();
                let got = at(&loaded, name);
                if name.starts_with("SECRETS__PSEUDONYM_KEY") {
                    let key = config.pseudonym_key().map_err(|e| e.to_string())?;
                    assert!(key.is_some_and(|k| k.len() > 30), "FRONTLINE_{name}");
                } else {
                    assert_ne!(got, &default, "FRONTLINE_{name}={value} had no effect");
                }
                Ok(())
            });
            let typed = matches!(
                default,
                serde_json::Value::Bool(_) | serde_json::Value::Number(_)
            );
            if typed {
                figment::Jail::expect_with(|jail| {
                    jail.set_env(format!("FRONTLINE_{name}"), "bogus");
                    let err = Config::load(None, Overrides::default())
                        .expect_err(&format!("FRONTLINE_{name}=bogus was accepted"))
                        .to_string();
                    let key = name.to_ascii_lowercase().replace("__", ".");
                    assert!(
                        err.to_ascii_lowercase().contains(&key),
                        "FRONTLINE_{name}=bogus: {err}"
                    );
                    Ok(())
                });
            }
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database, "sqlite://frontline.db");
        assert!(c.check().is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        let c = Config {
            database: "mysql://x".into(),
            ..Config::default()
        };
        match c.check() {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "database"),
            other => panic!("{other:?}"),
        }
        let mut c = Config::default();
        c.secrets.pseudonym_key = Some(Secret::new("changeme"));
        match c.check() {
            Err(ConfigError::Invalid { key, reason }) => {
                assert_eq!(key, "secrets.pseudonym_key");
                assert!(reason.contains("placeholder"));
            }
            other => panic!("{other:?}"),
        }
        c.secrets.pseudonym_key = Some(Secret::new("0123456789abcdef0123"));
        assert_eq!(c.pseudonym_key().unwrap().unwrap().len(), 20);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let mut c = Config::default();
        c.secrets.pseudonym_key = Some(Secret::new("very-secret-value-123"));
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn unknown_names_are_reported_and_test_names_exempt() {
        let names = [
            "FRONTLINE_DATABSE",
            "FRONTLINE_LISTEN",
            "FRONTLINE_TEST_POSTGRES_URL",
            "PATH",
        ]
        .map(String::from);
        assert_eq!(
            unknown_env_names(names),
            vec!["FRONTLINE_DATABSE".to_owned()]
        );
    }
}
