//! The sections of [`Config`](super::Config) with their defaults and checks: limits, cadence,
//! SMTP, statement templates, correlation, webhooks, the taxonomy and secrets.

use super::Config;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

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

/// The helpdesk write-back: how often it runs and how it treats a vendor's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelpdesksConfig {
    /// Milliseconds between write-back rounds (default 5000; 0 stops the background worker,
    /// tests step it).
    pub interval_ms: u64,
    /// A vendor call's timeout in milliseconds (default 10000).
    pub timeout_ms: u64,
    /// How long a write whose outcome is unknown waits before it is read back from the
    /// ticket, in milliseconds (default 120000): longer than any job of a leader that paused
    /// may still run, so a new leader does not send what the old one's job is still writing.
    pub verify_after_ms: u64,
    /// Attempts refused by the vendor before a write is given up (default 5).
    pub max_attempts: u32,
    /// Milliseconds between sweeps of each connection's API for messages the webhooks missed
    /// (default 300000; 0: only on `POST /api/v1/helpdesks/{name}/sweep`).
    pub sweep_interval_ms: u64,
    /// Calls per minute the write-back may make to one connection (default 120): a share of
    /// the vendor's API quota, which the agents' own apps need too (Zendesk's smallest plan
    /// allows 200 a minute for the whole account).
    pub requests_per_minute: u32,
    /// Failed calls in a row (no answer, a 5xx, credentials refused) after which a
    /// connection's write-back pauses (default 5).
    pub breaker_failures: u32,
    /// The first pause in milliseconds (default 30000); each failed retry doubles it, up to
    /// ten minutes. The next call after it is the trial: success resumes everything.
    pub breaker_cooldown_ms: u64,
}

impl Default for HelpdesksConfig {
    fn default() -> Self {
        Self {
            interval_ms: 5_000,
            timeout_ms: 10_000,
            verify_after_ms: 120_000,
            max_attempts: 5,
            sweep_interval_ms: 300_000,
            requests_per_minute: 120,
            breaker_failures: 5,
            breaker_cooldown_ms: 30_000,
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

/// Secrets that configuration may set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// The key of customer pseudonyms (at least 16 bytes).
    pub pseudonym_key: Option<Secret>,
    /// A file holding the pseudonym key (trailing newline ignored).
    pub pseudonym_key_file: Option<PathBuf>,
    /// The file of the key that seals helpdesk credentials in the database (64 hex digits),
    /// created on first use. Keep it apart from database backups: a dump alone then reveals
    /// no credential. Default: beside the SQLite database (`FILE.sealing-key`), or
    /// `frontline.sealing-key` in the working directory for PostgreSQL.
    pub sealing_key_file: Option<PathBuf>,
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

/// The intake bus: NATS JetStream, for installations that run several nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// `nats://HOST:4222` (`--bus`), or a cluster's servers comma-separated; unset: no bus.
    pub url: Option<String>,
    /// Subjects contacts are spread over (by a hash of their first topic).
    pub partitions: u32,
    /// Copies JetStream keeps of the stream (1 for a single server, 3 for a cluster).
    pub replicas: u32,
    /// How long startup waits for the bus before giving up, in seconds.
    pub connect_wait_s: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            url: None,
            partitions: 4,
            replicas: 1,
            connect_wait_s: 10,
        }
    }
}

/// How long each class of data is kept, in days (`0`: kept). Contacts linked to an open
/// incident are kept whole whatever their age; incidents, statements, reviews and the audit log
/// are kept (they are the record of what happened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Contacts' text and metadata (default 90): after it a contact keeps its topics,
    /// counts, pseudonym and times, so volumes and trends still add up.
    pub contact_text_days: u32,
    /// Contacts as a whole (default 365); one an incident links keeps its row.
    pub contacts_days: u32,
    /// Alerts' evidence and typical text (default 180).
    pub alert_evidence_days: u32,
    /// Webhook deliveries and mails, once settled (default 30).
    pub deliveries_days: u32,
    /// Expired or revoked sessions and API tokens (default 30).
    pub sessions_days: u32,
    /// Milliseconds between sweeps (default 3600000: hourly; 0: only `frontline retention
    /// run`).
    pub interval_ms: u64,
    /// Rows of each class removed per transaction (default 1000): small, so intake never
    /// waits long behind a sweep.
    pub batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            contact_text_days: 90,
            contacts_days: 365,
            alert_evidence_days: 180,
            deliveries_days: 30,
            sessions_days: 30,
            interval_ms: 3_600_000,
            batch: 1_000,
        }
    }
}

impl RetentionConfig {
    /// The cutoffs these windows give at `now`.
    pub fn cutoffs(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> frontline_store::lifecycle::RetentionCutoffs {
        let cut = |days: u32| (days > 0).then(|| now - chrono::Duration::days(i64::from(days)));
        frontline_store::lifecycle::RetentionCutoffs {
            contact_text: cut(self.contact_text_days),
            contacts: cut(self.contacts_days),
            alert_evidence: cut(self.alert_evidence_days),
            deliveries: cut(self.deliveries_days),
            sessions: cut(self.sessions_days),
        }
    }
}
