//! The feed: every change people and tools may want to hear about (an alert raised, a report
//! filed, an incident opened or changed, a note), in one ordered log. An incident's timeline is
//! its part of the feed; the live stream (`/api/v1/stream`) and outbound webhooks follow it by
//! `seq`. Stores append feed entries in the transaction of the change itself, so the feed is
//! also the notification outbox: a change exists exactly when its entry does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// What kind of change a feed entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FeedKind {
    /// The detector raised a new early-warning alert.
    #[serde(rename = "alert.raised")]
    AlertRaised,
    /// Someone acknowledged or dismissed an alert.
    #[serde(rename = "alert.updated")]
    AlertUpdated,
    /// A CX agent filed a report.
    #[serde(rename = "report.filed")]
    ReportFiled,
    /// A report was acknowledged, linked or dismissed.
    #[serde(rename = "report.updated")]
    ReportUpdated,
    /// An incident was opened.
    #[serde(rename = "incident.opened")]
    IncidentOpened,
    /// An incident changed (state, severity, title, services, roles, tasks, links).
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    /// A note was added to an incident.
    #[serde(rename = "incident.note")]
    IncidentNote,
    /// A statement was drafted or edited (a new version).
    #[serde(rename = "statement.drafted")]
    StatementDrafted,
    /// A statement version was approved.
    #[serde(rename = "statement.approved")]
    StatementApproved,
    /// A statement version was published: it is now what its audience hears.
    #[serde(rename = "statement.published")]
    StatementPublished,
    /// A status page component changed state.
    #[serde(rename = "component.updated")]
    ComponentUpdated,
    /// An incident's public update is overdue: its commander and comms lead are reminded.
    #[serde(rename = "incident.reminder")]
    IncidentReminder,
}

impl FeedKind {
    /// Every kind.
    pub const ALL: [FeedKind; 12] = [
        FeedKind::AlertRaised,
        FeedKind::AlertUpdated,
        FeedKind::ReportFiled,
        FeedKind::ReportUpdated,
        FeedKind::IncidentOpened,
        FeedKind::IncidentUpdated,
        FeedKind::IncidentNote,
        FeedKind::StatementDrafted,
        FeedKind::StatementApproved,
        FeedKind::StatementPublished,
        FeedKind::ComponentUpdated,
        FeedKind::IncidentReminder,
    ];

    /// The wire name (`incident.opened`).
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::AlertRaised => "alert.raised",
            FeedKind::AlertUpdated => "alert.updated",
            FeedKind::ReportFiled => "report.filed",
            FeedKind::ReportUpdated => "report.updated",
            FeedKind::IncidentOpened => "incident.opened",
            FeedKind::IncidentUpdated => "incident.updated",
            FeedKind::IncidentNote => "incident.note",
            FeedKind::StatementDrafted => "statement.drafted",
            FeedKind::StatementApproved => "statement.approved",
            FeedKind::StatementPublished => "statement.published",
            FeedKind::ComponentUpdated => "component.updated",
            FeedKind::IncidentReminder => "incident.reminder",
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = FeedKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown event kind {s:?}: use one of {}", names.join(", "))
            })
    }
}

/// A feed entry about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedEntry {
    /// What happened.
    pub kind: FeedKind,
    /// The incident it belongs to, if any.
    pub incident_id: Option<i64>,
    /// Who did it (`user:alice`, `system`).
    pub actor: String,
    /// The details.
    pub data: serde_json::Value,
}

/// A feed entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// Its place in the feed: gapless and in commit order, so a reader that has seen `seq` has
    /// seen everything before it.
    pub seq: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: FeedKind,
    /// The incident it belongs to, if any.
    pub incident_id: Option<i64>,
    /// Who did it.
    pub actor: String,
    /// The details.
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name_and_through_serde() {
        for k in FeedKind::ALL {
            assert_eq!(k.as_str().parse::<FeedKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!(
            "incident.deleted"
                .parse::<FeedKind>()
                .unwrap_err()
                .contains("incident.note")
        );
    }
}
