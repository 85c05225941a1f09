//! Outbound webhooks as configured by admins, and the record of each delivery.

use crate::feed::FeedKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Frontline's JSON, signed (`X-Frontline-Signature`).
    Generic,
    /// Slack incoming-webhook JSON (`text` and `blocks`); also signed.
    Slack,
}

impl WebhookFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Generic => "generic",
            WebhookFormat::Slack => "slack",
        }
    }
}

impl FromStr for WebhookFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generic" => Ok(WebhookFormat::Generic),
            "slack" => Ok(WebhookFormat::Slack),
            other => Err(format!("unknown format {other:?}: use generic or slack")),
        }
    }
}

impl fmt::Display for WebhookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which feed kinds a webhook receives: all (`["*"]`) or some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindFilter {
    /// Every kind, including kinds added later.
    All,
    /// Only these.
    Only(Vec<FeedKind>),
}

impl KindFilter {
    /// Whether `kind` passes.
    pub fn accepts(&self, kind: FeedKind) -> bool {
        match self {
            KindFilter::All => true,
            KindFilter::Only(kinds) => kinds.contains(&kind),
        }
    }

    /// The names, as given to the API (`["*"]` for all).
    pub fn names(&self) -> Vec<String> {
        match self {
            KindFilter::All => vec!["*".into()],
            KindFilter::Only(kinds) => kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        }
    }

    /// Parses names as given to the API.
    ///
    /// # Errors
    /// A message naming an unknown kind, or an empty list.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        if names.is_empty() {
            return Err("must name at least one event kind, or \"*\" for all".into());
        }
        // Every name is checked, even beside "*": a misspelt kind is a mistake to report, not
        // one to hide behind the wildcard.
        let mut kinds = Vec::new();
        for n in names.iter().filter(|n| *n != "*") {
            let k: FeedKind = n.parse()?;
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        if names.iter().any(|n| n == "*") {
            return Ok(KindFilter::All);
        }
        Ok(KindFilter::Only(kinds))
    }
}

/// A webhook to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where to POST.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// The body format.
    pub format: WebhookFormat,
    /// Which kinds.
    pub events: KindFilter,
}

/// A configured webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its number.
    pub id: i64,
    /// Where to POST.
    pub url: String,
    /// The signing secret (never shown by the API after creation).
    pub secret: String,
    /// The body format.
    pub format: WebhookFormat,
    /// Which kinds.
    pub events: KindFilter,
    /// Feed entries up to this seq are delivered, failed or not wanted.
    pub cursor: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted by the receiver; retried.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the configured time.
    Failed,
}

impl DeliveryStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(format!(
                "unknown status {other:?}: use pending, delivered or failed"
            )),
        }
    }
}

/// One notification to one webhook, and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The webhook.
    pub webhook_id: i64,
    /// The feed entry notified.
    pub feed_seq: i64,
    /// Its kind.
    pub kind: FeedKind,
    /// Its incident.
    pub incident_id: Option<i64>,
    /// The same on every attempt.
    pub idempotency_key: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The first attempt.
    pub first_attempt_at: DateTime<Utc>,
    /// The latest attempt.
    pub last_attempt_at: DateTime<Utc>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The idempotency key of feed entry `seq` sent to webhook `webhook`: the same on every retry,
/// different for every (webhook, notification).
pub fn idempotency_key(webhook: i64, seq: i64) -> String {
    format!("flt-{webhook}-{seq}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_filters_parse_names_and_star() {
        assert_eq!(KindFilter::parse(&["*".into()]).unwrap(), KindFilter::All);
        let f = KindFilter::parse(&["incident.opened".into(), "incident.opened".into()]).unwrap();
        assert_eq!(f, KindFilter::Only(vec![FeedKind::IncidentOpened]));
        assert!(f.accepts(FeedKind::IncidentOpened));
        assert!(!f.accepts(FeedKind::AlertRaised));
        assert!(KindFilter::parse(&[]).is_err());
        assert!(KindFilter::parse(&["incident.exploded".into()]).is_err());
        assert!(
            KindFilter::parse(&["*".into(), "incident.exploded".into()]).is_err(),
            "the wildcard does not hide a misspelt kind"
        );
    }
}
