//! Status page components: the parts of the service customers see (`web`, `app`, `payments`)
//! and how each is doing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// How a component is doing, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Working.
    Operational,
    /// Slower or partly failing.
    Degraded,
    /// Down for some.
    PartialOutage,
    /// Down.
    MajorOutage,
}

impl ComponentStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Degraded => "degraded",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::Degraded => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }
}

impl fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComponentStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operational" => Ok(ComponentStatus::Operational),
            "degraded" => Ok(ComponentStatus::Degraded),
            "partial_outage" => Ok(ComponentStatus::PartialOutage),
            "major_outage" => Ok(ComponentStatus::MajorOutage),
            other => Err(format!(
                "unknown status {other:?}: use operational, degraded, partial_outage or major_outage"
            )),
        }
    }
}

/// A component as set by people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Its name (also a service name incidents name).
    pub name: String,
    /// Its state as last set.
    pub status: ComponentStatus,
    /// When.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: String,
}
