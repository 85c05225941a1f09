//! Filters and paging for list queries, already checked (the server parses query strings into
//! these).

use crate::page::Cursor;
use chrono::{DateTime, Utc};
use frontline_core::alert::{AlertKind, AlertState};
use frontline_core::contact::Channel;
use frontline_core::security_event::Severity;

/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 1000;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 100;

/// Which contacts to list.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactQuery {
    /// `received_at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// `received_at < until`.
    pub until: Option<DateTime<Utc>>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only contacts with this topic.
    pub topic: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Start after this position.
    pub after: Option<Cursor>,
}

impl Default for ContactQuery {
    fn default() -> Self {
        Self {
            since: None,
            until: None,
            channel: None,
            service: None,
            source: None,
            topic: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// Which security events to list.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEventQuery {
    /// `observed_at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// `observed_at < until`.
    pub until: Option<DateTime<Utc>>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only events at least this severe.
    pub min_severity: Option<Severity>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Start after this position.
    pub after: Option<Cursor>,
}

impl Default for SecurityEventQuery {
    fn default() -> Self {
        Self {
            since: None,
            until: None,
            service: None,
            source: None,
            min_severity: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// Which alerts to list, in order of `started_at`, then storage order.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertQuery {
    /// Only alerts in this state.
    pub state: Option<AlertState>,
    /// Only this kind.
    pub kind: Option<AlertKind>,
    /// Only this topic.
    pub topic: Option<String>,
    /// `started_at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// `started_at < until`.
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// Start after this position.
    pub after: Option<Cursor>,
}

impl Default for AlertQuery {
    fn default() -> Self {
        Self {
            state: None,
            kind: None,
            topic: None,
            since: None,
            until: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// Which incidents to list.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentQuery {
    /// Only incidents in this state.
    pub state: Option<frontline_core::incident::IncidentState>,
    /// Only open (`true`) or resolved (`false`) incidents.
    pub open: Option<bool>,
    /// Only incidents opened at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only incidents opened before this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: u32,
    /// Start after this cursor.
    pub after: Option<Cursor>,
}

impl Default for IncidentQuery {
    fn default() -> Self {
        Self {
            state: None,
            open: None,
            since: None,
            until: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// Which deliveries to list.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryQuery {
    /// Only this webhook's.
    pub webhook: Option<i64>,
    /// Only in this state.
    pub status: Option<frontline_core::webhook::DeliveryStatus>,
    /// Only this incident's.
    pub incident: Option<i64>,
    /// Only those after this one in the list's order (its feed seq, then webhook id): the
    /// next page.
    pub before: Option<(i64, i64)>,
    /// At most this many.
    pub limit: u32,
}

/// Which reports to list, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    /// Only in this state.
    pub state: Option<frontline_core::report::ReportState>,
    /// Only this category.
    pub category: Option<frontline_core::report::ReportCategory>,
    /// Only filed by this actor (`user:ann`).
    pub filed_by: Option<String>,
    /// Only filed at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only those before this one (its id): the next page.
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}
