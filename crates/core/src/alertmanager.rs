//! Prometheus Alertmanager's webhook (payload version 4) as security events.
//!
//! Each alert becomes one event. Its id is the alert's `fingerprint` and `startsAt`, so the
//! repeated notifications Alertmanager sends for one firing alert are duplicates, and a new
//! firing of the same alert is a new event. A `resolved` alert carries its `endsAt`, which
//! resolves the event. Labels and annotations are kept as indicators; which label gives the
//! severity and the service, and how severities map, is configuration ([`AlertmanagerMapping`]).

use crate::field::{self, InvalidField};
use crate::security_event::{MAX_INDICATORS_BYTES, NewSecurityEvent, Severity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How Alertmanager alerts map onto security events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerMapping {
    /// The events' `source`.
    pub source: String,
    /// The label holding the alert's severity.
    pub severity_label: String,
    /// Severity label values (compared in lower case) and what they mean.
    pub severities: BTreeMap<String, Severity>,
    /// The severity of an alert whose label is missing or not in `severities`.
    pub default_severity: Severity,
    /// Labels that name the affected service, the first present wins.
    pub service_labels: Vec<String>,
}

impl Default for AlertmanagerMapping {
    fn default() -> Self {
        let severities = [
            ("critical", Severity::Critical),
            ("page", Severity::Critical),
            ("emergency", Severity::Critical),
            ("high", Severity::High),
            ("error", Severity::High),
            ("major", Severity::High),
            ("warning", Severity::Medium),
            ("warn", Severity::Medium),
            ("medium", Severity::Medium),
            ("minor", Severity::Low),
            ("low", Severity::Low),
            ("info", Severity::Info),
            ("informational", Severity::Info),
            ("none", Severity::Info),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self {
            source: "alertmanager".into(),
            severity_label: "severity".into(),
            severities,
            default_severity: Severity::Medium,
            service_labels: vec!["service".into(), "app".into(), "job".into()],
        }
    }
}

/// The notification as Alertmanager sends it. Unknown fields are ignored: Alertmanager adds
/// fields over time, and refusing them would drop alerts.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// Must be `"4"`.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = String, pattern = "^4$")
    )]
    pub version: Option<String>,
    /// Identifies the alert group.
    pub group_key: Option<String>,
    /// How many alerts Alertmanager left out of this notification (`max_alerts`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 9_223_372_036_854_775_807_u64))]
    pub truncated_alerts: u64,
    /// `firing` or `resolved`, for the group.
    pub status: Option<String>,
    /// The receiver's name.
    pub receiver: Option<String>,
    /// Labels common to all alerts.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// Alertmanager's own URL.
    #[serde(rename = "externalURL")]
    pub external_url: Option<String>,
    /// The alerts, each checked on its own (see [`Alert`]).
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = Vec<Object>)
    )]
    pub alerts: Option<Vec<serde_json::Value>>,
}

impl WebhookPayload {
    /// Checks what the whole notification must have.
    ///
    /// # Errors
    /// [`InvalidField`] naming `version` or `alerts`.
    pub fn check(&self) -> Result<(), InvalidField> {
        match self.version.as_deref() {
            Some("4") => {}
            Some(v) => {
                return Err(InvalidField::new(
                    "version",
                    format!("payload version {v:?} is not supported; Alertmanager sends \"4\""),
                ));
            }
            None => return Err(InvalidField::new("version", "is required")),
        }
        if self.alerts.is_none() {
            return Err(InvalidField::new("alerts", "is required"));
        }
        // Alertmanager counts in a uint64, but no group ever drops 2^63 alerts, and the count
        // is stored and answered as a signed 64-bit number.
        if i64::try_from(self.truncated_alerts).is_err() {
            return Err(InvalidField::new(
                "truncatedAlerts",
                format!("must be at most {}", i64::MAX),
            ));
        }
        Ok(())
    }
}

/// One alert of a notification.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: Option<String>,
    /// The alert's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    pub starts_at: Option<String>,
    /// When it stopped (the zero time `0001-01-01T00:00:00Z` while firing).
    pub ends_at: Option<String>,
    /// The Prometheus expression browser link.
    #[serde(rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// Alertmanager's hash of the labels; computed the same way when missing.
    pub fingerprint: Option<String>,
}

/// Whether the alert is resolved (it has a real `endsAt` and says so).
fn resolved_at(alert: &Alert) -> Result<Option<DateTime<Utc>>, InvalidField> {
    match alert
        .status
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("firing") => Ok(None),
        Some("resolved") => {
            let ends = field::required(alert.ends_at.clone(), "endsAt")?;
            let at = field::timestamp(&ends, "endsAt")?;
            if at.timestamp() <= 0 {
                return Err(InvalidField::new(
                    "endsAt",
                    "a resolved alert needs the time it ended",
                ));
            }
            Ok(Some(at))
        }
        Some(other) => Err(InvalidField::new(
            "status",
            format!("unknown alert status {other:?}; expected firing or resolved"),
        )),
        None => Err(InvalidField::new("status", "is required")),
    }
}

/// The fingerprint Alertmanager would give these labels, for senders that leave it out.
fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in labels {
        hasher.update(k.as_bytes());
        hasher.update([0xff]);
        hasher.update(v.as_bytes());
        hasher.update([0xff]);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// The first line of `text`, without control characters, cut to `max` bytes on a character
/// boundary.
fn one_line(text: &str, max: usize) -> String {
    let line: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.len() <= max {
        return line;
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_owned()
}

impl AlertmanagerMapping {
    /// The security event of one alert of `payload`.
    ///
    /// # Errors
    /// [`InvalidField`] naming the alert's field at fault (`startsAt`, `status`, `endsAt`, …).
    pub fn event(
        &self,
        alert: &Alert,
        payload: &WebhookPayload,
    ) -> Result<NewSecurityEvent, InvalidField> {
        let starts_at = field::timestamp(
            &field::required(alert.starts_at.clone(), "startsAt")?,
            "startsAt",
        )?;
        let resolved_at = resolved_at(alert)?;
        let fingerprint = match alert.fingerprint.as_deref().map(str::trim) {
            Some(f) if !f.is_empty() => field::short_text(f.to_owned(), "fingerprint", 64)?,
            _ => fingerprint_of(&alert.labels),
        };
        let severity = alert
            .labels
            .get(&self.severity_label)
            .and_then(|v| self.severities.get(&v.trim().to_ascii_lowercase()))
            .copied()
            .unwrap_or(self.default_severity);
        let service = self
            .service_labels
            .iter()
            .find_map(|l| alert.labels.get(l))
            .map(|s| one_line(s, 128))
            .filter(|s| !s.is_empty());
        let title = [
            alert.annotations.get("summary"),
            alert.annotations.get("description"),
            alert.labels.get("alertname"),
        ]
        .into_iter()
        .flatten()
        .map(|t| one_line(t, 1024))
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| format!("Alertmanager alert {fingerprint}"));
        let indicators = serde_json::json!({
            "labels": alert.labels,
            "annotations": alert.annotations,
            "status": alert.status,
            "starts_at": alert.starts_at,
            "ends_at": alert.ends_at,
            "generator_url": alert.generator_url,
            "fingerprint": fingerprint,
            "receiver": payload.receiver,
            "group_key": payload.group_key,
            "external_url": payload.external_url,
        });
        field::bounded_json(&indicators, "annotations", MAX_INDICATORS_BYTES)?;
        if field::contains_nul(&indicators) {
            return Err(InvalidField::new(
                "labels",
                "must not contain NUL characters",
            ));
        }
        Ok(NewSecurityEvent {
            id: format!(
                "{fingerprint}:{}",
                starts_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ),
            source: self.source.clone(),
            observed_at: starts_at,
            severity,
            title,
            service,
            indicators,
            resolved_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> WebhookPayload {
        WebhookPayload {
            version: Some("4".into()),
            group_key: Some("{}:{alertname=\"LoginErrors\"}".into()),
            truncated_alerts: 0,
            status: Some("firing".into()),
            receiver: Some("frontline".into()),
            common_labels: BTreeMap::new(),
            external_url: Some("http://alertmanager:9093".into()),
            alerts: Some(Vec::new()),
        }
    }

    fn alert(status: &str) -> Alert {
        Alert {
            status: Some(status.into()),
            labels: [
                ("alertname", "LoginErrors"),
                ("severity", "Warning"),
                ("job", "auth"),
                ("service", "login"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            annotations: [(
                "summary".to_owned(),
                "Login error rate above 5%\nsee runbook".to_owned(),
            )]
            .into(),
            starts_at: Some("2026-11-25T13:00:00.123456789Z".into()),
            ends_at: Some("0001-01-01T00:00:00Z".into()),
            generator_url: Some("http://prometheus/graph".into()),
            fingerprint: Some("c0ffee0123456789".into()),
        }
    }

    #[test]
    fn a_truncated_count_past_what_is_stored_is_named() {
        let mut p = payload();
        p.truncated_alerts = i64::MAX as u64;
        assert!(p.check().is_ok());
        p.truncated_alerts += 1;
        assert_eq!(p.check().unwrap_err().field, "truncatedAlerts");
    }

    #[test]
    fn a_firing_alert_maps_by_labels() {
        let e = AlertmanagerMapping::default()
            .event(&alert("firing"), &payload())
            .unwrap();
        assert_eq!(e.id, "c0ffee0123456789:2026-11-25T13:00:00.123456Z");
        assert_eq!(e.source, "alertmanager");
        assert_eq!(e.severity, Severity::Medium);
        assert_eq!(e.service.as_deref(), Some("login"));
        assert_eq!(e.title, "Login error rate above 5%");
        assert_eq!(e.resolved_at, None);
        assert_eq!(e.indicators["labels"]["job"], "auth");
    }

    #[test]
    fn a_resolved_alert_keeps_its_id_and_carries_its_end() {
        let firing = AlertmanagerMapping::default()
            .event(&alert("firing"), &payload())
            .unwrap();
        let mut a = alert("resolved");
        a.ends_at = Some("2026-11-25T13:20:00Z".into());
        let resolved = AlertmanagerMapping::default()
            .event(&a, &payload())
            .unwrap();
        assert_eq!(resolved.id, firing.id);
        assert_eq!(
            resolved.resolved_at.map(|t| t.to_rfc3339()),
            Some("2026-11-25T13:20:00+00:00".into())
        );
        a.ends_at = Some("0001-01-01T00:00:00Z".into());
        assert_eq!(
            AlertmanagerMapping::default()
                .event(&a, &payload())
                .unwrap_err()
                .field,
            "endsAt"
        );
    }

    #[test]
    fn mapping_is_configurable_and_fingerprints_are_computed_when_missing() {
        let m = AlertmanagerMapping {
            severity_label: "priority".into(),
            service_labels: vec!["job".into()],
            default_severity: Severity::Low,
            ..AlertmanagerMapping::default()
        };
        let mut a = alert("firing");
        a.fingerprint = None;
        let e = m.event(&a, &payload()).unwrap();
        assert_eq!(e.severity, Severity::Low);
        assert_eq!(e.service.as_deref(), Some("auth"));
        let again = m.event(&a, &payload()).unwrap();
        assert_eq!(e.id, again.id, "the computed fingerprint is stable");
        assert_eq!(e.id.split(':').next().unwrap().len(), 16);
    }

    #[test]
    fn bad_alerts_name_their_field() {
        let m = AlertmanagerMapping::default();
        let mut a = alert("pending");
        assert_eq!(m.event(&a, &payload()).unwrap_err().field, "status");
        a = alert("firing");
        a.starts_at = Some("soon".into());
        assert_eq!(m.event(&a, &payload()).unwrap_err().field, "startsAt");
        let mut p = payload();
        p.version = Some("3".into());
        assert_eq!(p.check().unwrap_err().field, "version");
    }
}
