//! The trends across incidents: per month, how fast both teams detected, acknowledged, spoke
//! and resolved; what recurred; why alerts were dismissed; contacts per topic and week.

use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::charts::{self, Line};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use frontline_core::alert::AlertState;
use frontline_core::metrics::{self};
use frontline_store::metrics::{Depth, gather};
use frontline_store::{AlertQuery, IncidentQuery};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Median and 90th percentile of a time metric over a month's incidents.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Spread {
    /// Incidents that reached this milestone.
    pub n: usize,
    /// Median, in seconds.
    pub median: Option<f64>,
    /// 90th percentile, in seconds.
    pub p90: Option<f64>,
}

/// The `p`-quantile (0 to 1) of sorted values, interpolated linearly between ranks (the
/// median of 1, 2, 3, 4 is 2.5).
pub fn quantile(sorted: &[i64], p: f64) -> Option<f64> {
    let (first, last) = (sorted.first()?, sorted.last()?);
    if sorted.len() == 1 {
        return Some(*first as f64);
    }
    let rank = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (
        sorted[lo] as f64,
        sorted.get(hi).copied().unwrap_or(*last) as f64,
    );
    Some(a + (b - a) * (rank - lo as f64))
}

fn spread(mut values: Vec<i64>) -> Spread {
    values.sort_unstable();
    Spread {
        n: values.len(),
        median: quantile(&values, 0.5),
        p90: quantile(&values, 0.9),
    }
}

/// One calendar month (UTC) of incidents.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Month {
    /// `2026-11`.
    pub month: String,
    /// Incidents opened in it.
    pub incidents: usize,
    /// By severity.
    pub by_severity: BTreeMap<String, usize>,
    /// By service (an incident on two services counts under both).
    pub by_service: BTreeMap<String, usize>,
    /// Time to detect.
    pub time_to_detect: Spread,
    /// Time to acknowledge.
    pub time_to_acknowledge: Spread,
    /// Time to first public statement.
    pub time_to_first_public_statement: Spread,
    /// Time to resolve.
    pub time_to_resolve: Spread,
}

/// A service with more than one incident.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Recurring {
    /// The service.
    pub service: String,
    /// Its incidents, newest first.
    pub incidents: Vec<i64>,
    /// When the newest was opened.
    pub last_opened_at: DateTime<Utc>,
}

/// One reason for dismissing alerts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReasonCount {
    /// The reason (trimmed, lower-cased).
    pub reason: String,
    /// How many alerts.
    pub alerts: usize,
}

/// Why alerts were dismissed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Dismissals {
    /// Alerts dismissed.
    pub total: usize,
    /// By reason (trimmed, lower-cased), most frequent first.
    pub by_reason: Vec<ReasonCount>,
    /// By topic.
    pub by_topic: BTreeMap<String, usize>,
    /// By detector.
    pub by_kind: BTreeMap<String, usize>,
}

/// One week of one topic.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopicWeek {
    /// The Monday starting the week (UTC).
    pub week: DateTime<Utc>,
    /// Topic.
    pub topic: String,
    /// Contacts.
    pub contacts: u64,
}

/// The trends across incidents.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Trends {
    /// The first month's first instant.
    pub since: DateTime<Utc>,
    /// When computed.
    pub until: DateTime<Utc>,
    /// Each month, oldest first (months without incidents included).
    pub months: Vec<Month>,
    /// Contacts per topic and week.
    pub topics: Vec<TopicWeek>,
    /// Services with two or more incidents, most first.
    pub recurring_services: Vec<Recurring>,
    /// Alerts dismissed in the period, and why.
    pub dismissed_alerts: Dismissals,
}

/// The first instant of the month `back` months before `now`'s (UTC).
pub fn month_start(now: DateTime<Utc>, back: u32) -> DateTime<Utc> {
    let index = now.year() * 12 + now.month0() as i32 - back as i32;
    Utc.with_ymd_and_hms(
        index.div_euclid(12),
        index.rem_euclid(12) as u32 + 1,
        1,
        0,
        0,
        0,
    )
    .single()
    .unwrap_or(now)
}

/// The trends over the last `months` calendar months (this one included).
///
/// # Errors
/// [`ApiError`] 503 when the store cannot be reached.
pub async fn trends(state: &AppState, months: u32, now: DateTime<Utc>) -> Result<Trends, ApiError> {
    let store = state.store.as_ref();
    let since = month_start(now, months.saturating_sub(1));
    let mut out_months: Vec<Month> = (0..months)
        .rev()
        .map(|back| Month {
            month: month_start(now, back).format("%Y-%m").to_string(),
            incidents: 0,
            by_severity: BTreeMap::new(),
            by_service: BTreeMap::new(),
            time_to_detect: spread(Vec::new()),
            time_to_acknowledge: spread(Vec::new()),
            time_to_first_public_statement: spread(Vec::new()),
            time_to_resolve: spread(Vec::new()),
        })
        .collect();
    let mut durations: BTreeMap<String, [Vec<i64>; 4]> = BTreeMap::new();
    let mut services: BTreeMap<String, Vec<(DateTime<Utc>, i64)>> = BTreeMap::new();
    let mut query = IncidentQuery {
        since: Some(since),
        limit: 1000,
        ..IncidentQuery::default()
    };
    loop {
        let page = store.list_incidents(&query).await?;
        for incident in &page.items {
            // Merged duplicates and proposals nobody accepted are not incidents of their own.
            if incident.merged_into.is_some() || incident.proposed {
                continue;
            }
            let key = incident.opened_at.format("%Y-%m").to_string();
            let Some(month) = out_months.iter_mut().find(|m| m.month == key) else {
                continue;
            };
            month.incidents += 1;
            *month
                .by_severity
                .entry(incident.severity.as_str().into())
                .or_default() += 1;
            for s in &incident.services {
                *month.by_service.entry(s.clone()).or_default() += 1;
                services
                    .entry(s.clone())
                    .or_default()
                    .push((incident.opened_at, incident.id));
            }
            if let Some(facts) = gather(store, incident.id, now, Depth::Milestones).await? {
                let m = metrics::compute(&facts);
                let d = durations.entry(key).or_default();
                for (slot, v) in [
                    m.time_to_detect_seconds,
                    m.time_to_acknowledge_seconds,
                    m.time_to_first_public_statement_seconds,
                    m.time_to_resolve_seconds,
                ]
                .into_iter()
                .enumerate()
                {
                    d[slot].extend(v);
                }
            }
        }
        match page.next_cursor {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    for month in &mut out_months {
        if let Some([a, b, c, d]) = durations.remove(&month.month) {
            month.time_to_detect = spread(a);
            month.time_to_acknowledge = spread(b);
            month.time_to_first_public_statement = spread(c);
            month.time_to_resolve = spread(d);
        }
    }
    let mut recurring_services: Vec<Recurring> = services
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(service, mut v)| {
            v.sort_by(|a, b| b.cmp(a));
            Recurring {
                service,
                last_opened_at: v[0].0,
                incidents: v.into_iter().map(|(_, id)| id).collect(),
            }
        })
        .collect();
    recurring_services.sort_by(|a, b| {
        b.incidents
            .len()
            .cmp(&a.incidents.len())
            .then(b.last_opened_at.cmp(&a.last_opened_at))
    });
    let topics = store
        .topic_weeks(since, now + Duration::seconds(1))
        .await?
        .into_iter()
        .map(|t| TopicWeek {
            week: t.start,
            topic: t.topic,
            contacts: t.contacts,
        })
        .collect();
    let mut dismissed = Dismissals {
        total: 0,
        by_reason: Vec::new(),
        by_topic: BTreeMap::new(),
        by_kind: BTreeMap::new(),
    };
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut query = AlertQuery {
        state: Some(AlertState::Dismissed),
        since: Some(since),
        limit: 1000,
        ..AlertQuery::default()
    };
    loop {
        let page = store.list_alerts(&query).await?;
        for a in &page.items {
            dismissed.total += 1;
            let reason = a.reason.as_deref().unwrap_or("").trim().to_lowercase();
            *reasons
                .entry(if reason.is_empty() {
                    "(no reason)".into()
                } else {
                    reason
                })
                .or_default() += 1;
            let topic = a.detected.topic.clone().unwrap_or_else(|| "(none)".into());
            *dismissed.by_topic.entry(topic).or_default() += 1;
            *dismissed
                .by_kind
                .entry(a.detected.kind.as_str().into())
                .or_default() += 1;
        }
        match page.next_cursor {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let mut by_reason: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|(reason, alerts)| ReasonCount { reason, alerts })
        .collect();
    by_reason.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.reason.cmp(&b.reason)));
    dismissed.by_reason = by_reason;
    Ok(Trends {
        since,
        until: now,
        months: out_months,
        topics,
        recurring_services,
        dismissed_alerts: dismissed,
    })
}

/// The trends' charts: incidents per month by severity, the medians of each time metric, and
/// the five busiest topics per week.
pub fn trend_charts(t: &Trends) -> Vec<String> {
    let labels: Vec<String> = t.months.iter().map(|m| m.month.clone()).collect();
    let severities = ["SEV1", "SEV2", "SEV3", "SEV4"];
    let stacks: Vec<(String, Vec<f64>)> = severities
        .iter()
        .map(|s| {
            (
                (*s).to_owned(),
                t.months
                    .iter()
                    .map(|m| *m.by_severity.get(*s).unwrap_or(&0) as f64)
                    .collect(),
            )
        })
        .collect();
    let incidents = charts::stacked_bars("Incidents per month, by severity", &labels, &stacks);
    let mut out = vec![incidents];
    let minutes = |f: fn(&Month) -> &Spread| -> Vec<f64> {
        t.months
            .iter()
            .map(|m| f(m).median.map_or(0.0, |s| s / 60.0))
            .collect()
    };
    let medians = vec![
        ("detect".to_owned(), minutes(|m| &m.time_to_detect)),
        (
            "acknowledge".to_owned(),
            minutes(|m| &m.time_to_acknowledge),
        ),
        (
            "first public word".to_owned(),
            minutes(|m| &m.time_to_first_public_statement),
        ),
        ("resolve".to_owned(), minutes(|m| &m.time_to_resolve)),
    ];
    // Side-by-side would be clearer than stacked; one bar chart per metric keeps the scale
    // of each readable.
    for (name, values) in medians {
        out.push(charts::stacked_bars(
            &format!("Median time to {name}, minutes"),
            &labels,
            &[(name.clone(), values)],
        ));
    }
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for w in &t.topics {
        *totals.entry(w.topic.as_str()).or_default() += w.contacts;
    }
    let mut top: Vec<(&str, u64)> = totals.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let weeks: BTreeSet<DateTime<Utc>> = t.topics.iter().map(|w| w.week).collect();
    let lines: Vec<Line> = top
        .iter()
        .take(5)
        .map(|(topic, _)| Line {
            name: (*topic).to_owned(),
            points: weeks
                .iter()
                .map(|week| {
                    let n = t
                        .topics
                        .iter()
                        .find(|w| w.week == *week && w.topic == *topic)
                        .map_or(0, |w| w.contacts);
                    (*week, n as f64)
                })
                .collect(),
        })
        .collect();
    let (start, end) = match (weeks.first(), weeks.last()) {
        (Some(a), Some(b)) => (*a, *b + Duration::days(7)),
        _ => (t.since, t.until),
    };
    out.push(charts::lines(
        "Contacts per week, busiest topics",
        start,
        end,
        &lines,
        &[],
    ));
    out
}
