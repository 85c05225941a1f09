//! Early-warning alerts: what a detector found ([`DetectedAlert`]), and the alert as people
//! work it ([`Alert`]: acknowledged, or dismissed with a reason).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Which detector raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A topic stream's volume rose far above its usual level.
    Spike,
    /// Near-duplicate texts from many distinct customers.
    Cluster,
    /// Words far above their usual share, from several customers (no taxonomy needed).
    Theme,
    /// A helpdesk connection that usually delivers has gone silent far beyond its usual
    /// rhythm: its webhooks may be paused or broken, and what customers write is not arriving.
    IntakeGap,
}

impl AlertKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Spike => "spike",
            AlertKind::Cluster => "cluster",
            AlertKind::Theme => "theme",
            AlertKind::IntakeGap => "intake_gap",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "spike" => Ok(AlertKind::Spike),
            "cluster" => Ok(AlertKind::Cluster),
            "theme" => Ok(AlertKind::Theme),
            "intake_gap" => Ok(AlertKind::IntakeGap),
            _ => Err(format!(
                "unknown alert kind {s:?}; expected spike, cluster, theme or intake_gap"
            )),
        }
    }
}

/// A contact named as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// The contact's source.
    pub source: String,
    /// The source's id.
    pub id: String,
}

/// An alert as a detector raised or updated it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedAlert {
    /// Stable for one ongoing anomaly.
    pub alert_id: String,
    /// Which detector.
    pub kind: AlertKind,
    /// The stream's topic (for a cluster, its members' main topic, if any).
    pub topic: Option<String>,
    /// The stream's service (`null` for the topic overall and for clusters).
    pub service: Option<String>,
    /// The stream's channel (`null` for the topic overall and for clusters).
    pub channel: Option<String>,
    /// When the anomaly began.
    pub started_at: DateTime<Utc>,
    /// The event time at which it fired (or was last updated).
    pub raised_at: DateTime<Utc>,
    /// Contacts (spike) or distinct customers (cluster) counted.
    pub observed: u64,
    /// Distinct customers among them (at least; a flood is counted up to a cap per minute).
    #[serde(default)]
    pub customers: u64,
    /// How many were expected.
    pub expected: f64,
    /// How unusual, in [0, 1] (a log scale of the tail probability: 0.5 ≈ 1e-5).
    pub score: f64,
    /// The first contacts counted, then newer ones, as (`source`, `id`).
    pub evidence: Vec<Evidence>,
    /// For a cluster, its typical (redacted) text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
    /// For a spike watched in one language (a local wave), that language.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub language: Option<String>,
    /// The family (one wave) this alert belongs to: the id of the wave's first alert. Spike,
    /// theme and cluster alerts of one wave share it, so people read one thing, not six.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub group_id: Option<String>,
}

/// Where people are with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Nobody has looked yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Judged not to matter (with a reason, to tune detection).
    Dismissed,
}

impl AlertState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Dismissed => "dismissed",
        }
    }
}

impl FromStr for AlertState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(AlertState::Open),
            "acknowledged" => Ok(AlertState::Acknowledged),
            "dismissed" => Ok(AlertState::Dismissed),
            _ => Err(format!(
                "unknown alert state {s:?}; expected open, acknowledged or dismissed"
            )),
        }
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// What the detector found, as last updated.
    #[serde(flatten)]
    pub detected: DetectedAlert,
    /// Where people are with it.
    pub state: AlertState,
    /// Why it was dismissed.
    pub reason: Option<String>,
    /// Who acknowledged or dismissed it.
    pub state_by: Option<String>,
    /// When.
    pub state_at: Option<DateTime<Utc>>,
    /// When Frontline first stored it.
    pub created_at: DateTime<Utc>,
}

impl AlertState {
    /// Whether moving to `next` is allowed: open → acknowledged, open or acknowledged →
    /// dismissed; nothing leaves dismissed.
    pub fn can_become(self, next: AlertState) -> bool {
        matches!(
            (self, next),
            (AlertState::Open, AlertState::Acknowledged)
                | (AlertState::Open, AlertState::Dismissed)
                | (AlertState::Acknowledged, AlertState::Dismissed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_moves_forward_only() {
        use AlertState::*;
        assert!(Open.can_become(Acknowledged));
        assert!(Acknowledged.can_become(Dismissed));
        assert!(!Dismissed.can_become(Acknowledged));
        assert!(!Acknowledged.can_become(Acknowledged));
        assert!(!Dismissed.can_become(Open));
    }
}
