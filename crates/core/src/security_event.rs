//! Security events: findings from security and monitoring tools. Like contacts, the input is
//! checked field by field ([`SecurityEventInput`] → [`NewSecurityEvent`]).
//!
//! Security events are not redacted: their indicators (addresses, accounts) are what the
//! security team needs, and they come from the company's own tools, not from customers.

use crate::field::{self, InvalidField};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Longest accepted `indicators`, in bytes of JSON.
pub const MAX_INDICATORS_BYTES: usize = 64 * 1024;

/// How serious a finding is, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// Its own name in the OpenAPI document: the incident's `Severity` (SEV1–SEV4) would otherwise
// take its place, and clients checking against the document would refuse every event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EventSeverity))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A number that orders severities (info = 0 … critical = 4), for storage and filters.
    pub fn rank(self) -> i16 {
        self as i16
    }

    /// The severity with the given [`rank`](Self::rank).
    pub fn from_rank(rank: i16) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.rank() == rank)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity {s:?}; expected one of info, low, medium, high, critical")
            })
    }
}

/// A security event as a client sends it, before any check.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecurityEventInput {
    /// The source's own id of this finding; unique per `source`.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "siem-7731"))]
    pub id: Option<String>,
    /// The tool that found it, e.g. `siem`.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "siem"))]
    pub source: Option<String>,
    /// When the tool observed it, RFC 3339.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = String, example = "2026-11-25T13:01:00Z")
    )]
    pub observed_at: Option<String>,
    /// One of `info`, `low`, `medium`, `high`, `critical`.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "high"))]
    pub severity: Option<String>,
    /// A one-line summary, at most 1 KiB.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = String, example = "Credential stuffing against /login")
    )]
    pub title: Option<String>,
    /// The affected service, if known.
    pub service: Option<String>,
    /// Free JSON (at most 64 KiB): addresses, accounts, rule ids.
    pub indicators: Option<serde_json::Value>,
    /// When the finding stopped (RFC 3339), if it has.
    pub resolved_at: Option<String>,
}

/// A checked security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSecurityEvent {
    /// The source's id, unique per source.
    pub id: String,
    /// The tool that found it.
    pub source: String,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
    /// How serious it is.
    pub severity: Severity,
    /// One-line summary.
    pub title: String,
    /// The affected service.
    pub service: Option<String>,
    /// Free JSON indicators (`null` when none were sent).
    pub indicators: serde_json::Value,
    /// When the finding stopped, if it has.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl field::Dated for NewSecurityEvent {
    fn dated(&self) -> (DateTime<Utc>, &'static str) {
        (self.observed_at, "observed_at")
    }
}

impl TryFrom<SecurityEventInput> for NewSecurityEvent {
    type Error = InvalidField;

    fn try_from(input: SecurityEventInput) -> Result<Self, Self::Error> {
        let id = field::short_text(field::required(input.id, "id")?, "id", 256)?;
        let source = field::short_text(field::required(input.source, "source")?, "source", 64)?;
        let observed_at = field::event_time(
            &field::required(input.observed_at, "observed_at")?,
            "observed_at",
        )?;
        let severity = field::required(input.severity, "severity")?
            .trim()
            .to_ascii_lowercase()
            .parse::<Severity>()
            .map_err(|reason| InvalidField::new("severity", reason))?;
        let title = field::short_text(field::required(input.title, "title")?, "title", 1024)?;
        let indicators = input.indicators.unwrap_or(serde_json::Value::Null);
        field::bounded_json(&indicators, "indicators", MAX_INDICATORS_BYTES)?;
        if field::contains_nul(&indicators) {
            return Err(InvalidField::new(
                "indicators",
                "must not contain NUL characters",
            ));
        }
        // Blank is not "unresolved" (that is leaving it out or null): a blank timestamp is a
        // sender's bug, refused like any other malformed one.
        let resolved_at = input
            .resolved_at
            .map(|v| field::timestamp(&v, "resolved_at"))
            .transpose()?;
        Ok(NewSecurityEvent {
            id,
            source,
            observed_at,
            severity,
            title,
            service: field::optional_short_text(input.service, "service", 128)?,
            indicators,
            resolved_at,
        })
    }
}

/// A stored security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// The event as sent, checked.
    #[serde(flatten)]
    pub event: NewSecurityEvent,
    /// When Frontline committed it.
    pub ingested_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SecurityEventInput {
        SecurityEventInput {
            id: Some("e1".into()),
            source: Some("siem".into()),
            observed_at: Some("2026-11-25T13:00:00Z".into()),
            severity: Some("HIGH".into()),
            title: Some("Credential stuffing".into()),
            ..Default::default()
        }
    }

    #[test]
    fn severity_is_case_insensitive_and_ordered() {
        let e = NewSecurityEvent::try_from(input()).unwrap();
        assert_eq!(e.severity, Severity::High);
        assert!(Severity::Critical > Severity::Low);
        for s in Severity::ALL {
            assert_eq!(Severity::from_rank(s.rank()), Some(s));
        }
    }

    #[test]
    fn a_blank_resolution_time_is_refused_and_none_means_unresolved() {
        let mut i = input();
        i.resolved_at = Some("  ".into());
        assert_eq!(
            NewSecurityEvent::try_from(i).unwrap_err().field,
            "resolved_at"
        );
        assert_eq!(
            NewSecurityEvent::try_from(input()).unwrap().resolved_at,
            None
        );
    }

    #[test]
    fn bad_severity_and_nul_indicators_are_named() {
        let mut i = input();
        i.severity = Some("urgent".into());
        assert_eq!(NewSecurityEvent::try_from(i).unwrap_err().field, "severity");
        let mut i = input();
        i.indicators = Some(serde_json::json!({"ip": "1.2.3.4\u{0}"}));
        assert_eq!(
            NewSecurityEvent::try_from(i).unwrap_err().field,
            "indicators"
        );
    }
}
