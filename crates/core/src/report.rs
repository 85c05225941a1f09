//! Reports: a CX agent's flag that customers are describing a security matter. Filed with a
//! category and the contacts or a description; security acknowledges or dismisses it (with a
//! reason the agent sees), or links it to an incident.

use crate::field::InvalidField;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// What the agent suspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportCategory {
    /// Phishing using the company's name.
    Phishing,
    /// Accounts taken over.
    AccountTakeover,
    /// Fraud.
    Fraud,
    /// Customer data exposed.
    DataExposure,
    /// Something is down.
    Outage,
    /// Anything else.
    Other,
}

impl ReportCategory {
    /// Every category.
    pub const ALL: [ReportCategory; 6] = [
        ReportCategory::Phishing,
        ReportCategory::AccountTakeover,
        ReportCategory::Fraud,
        ReportCategory::DataExposure,
        ReportCategory::Outage,
        ReportCategory::Other,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::Phishing => "phishing",
            ReportCategory::AccountTakeover => "account_takeover",
            ReportCategory::Fraud => "fraud",
            ReportCategory::DataExposure => "data_exposure",
            ReportCategory::Outage => "outage",
            ReportCategory::Other => "other",
        }
    }

    /// The taxonomy topic that means the same, if any (to match alerts).
    pub fn topic(self) -> Option<&'static str> {
        match self {
            ReportCategory::Other => None,
            other => Some(other.as_str()),
        }
    }
}

impl fmt::Display for ReportCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportCategory {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown category {s:?}: use phishing, account_takeover, fraud, data_exposure, outage or other"
                )
            })
    }
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Waiting for security.
    Filed,
    /// Security has seen it and is on it.
    Acknowledged,
    /// Not a security matter (with a reason).
    Dismissed,
}

impl ReportState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Filed => "filed",
            ReportState::Acknowledged => "acknowledged",
            ReportState::Dismissed => "dismissed",
        }
    }

    /// Filed reports may be acknowledged or dismissed; acknowledged ones dismissed.
    pub fn can_become(self, next: ReportState) -> bool {
        matches!(
            (self, next),
            (
                ReportState::Filed,
                ReportState::Acknowledged | ReportState::Dismissed
            ) | (ReportState::Acknowledged, ReportState::Dismissed)
        )
    }
}

impl FromStr for ReportState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "filed" => Ok(ReportState::Filed),
            "acknowledged" => Ok(ReportState::Acknowledged),
            "dismissed" => Ok(ReportState::Dismissed),
            other => Err(format!(
                "unknown state {other:?}: use filed, acknowledged or dismissed"
            )),
        }
    }
}

/// A contact named in a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactRef {
    /// The contact's source.
    pub source: String,
    /// The source's id.
    pub id: String,
}

/// A checked report, its text already redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// What is suspected.
    pub category: ReportCategory,
    /// What customers are saying, in the agent's words (redacted).
    pub summary: String,
    /// The service concerned, if known.
    pub service: Option<String>,
    /// The contacts flagged.
    pub contacts: Vec<ContactRef>,
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Its number.
    pub id: i64,
    /// What is suspected.
    pub category: ReportCategory,
    /// What customers are saying (redacted).
    pub summary: String,
    /// The service concerned.
    pub service: Option<String>,
    /// The contacts flagged.
    pub contacts: Vec<ContactRef>,
    /// Who filed it (`user:ann`).
    pub filed_by: String,
    /// When.
    pub filed_at: DateTime<Utc>,
    /// What became of it.
    pub state: ReportState,
    /// Why it was dismissed.
    pub reason: Option<String>,
    /// Who acknowledged or dismissed it.
    pub state_by: Option<String>,
    /// When.
    pub state_at: Option<DateTime<Utc>>,
}

/// A report with what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDetail {
    /// The report.
    pub report: Report,
    /// The incident it is linked to, if any.
    pub incident_id: Option<i64>,
}

/// Most contacts one report may flag.
pub const MAX_CONTACTS: usize = 100;
/// Longest summary, in bytes.
pub const MAX_SUMMARY: usize = 5000;

/// Checks a summary: line breaks allowed, no other control characters, at most
/// [`MAX_SUMMARY`] bytes; may be empty only when contacts are flagged (checked by the caller).
///
/// # Errors
/// [`InvalidField`] naming `summary`.
pub fn summary(value: Option<String>) -> Result<String, InvalidField> {
    let value = value.unwrap_or_default();
    let trimmed = value.trim();
    if trimmed.len() > MAX_SUMMARY {
        return Err(InvalidField::new(
            "summary",
            format!("must be at most {MAX_SUMMARY} bytes, got {}", trimmed.len()),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(InvalidField::new(
            "summary",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_and_map_to_topics() {
        for c in ReportCategory::ALL {
            assert_eq!(c.as_str().parse::<ReportCategory>().unwrap(), c);
        }
        assert_eq!(
            ReportCategory::AccountTakeover.topic(),
            Some("account_takeover")
        );
        assert_eq!(ReportCategory::Other.topic(), None);
        assert!("scam".parse::<ReportCategory>().is_err());
    }

    #[test]
    fn reports_move_forward_only() {
        use ReportState::*;
        assert!(Filed.can_become(Acknowledged));
        assert!(Acknowledged.can_become(Dismissed));
        assert!(!Dismissed.can_become(Acknowledged));
        assert!(!Acknowledged.can_become(Acknowledged));
    }
}
