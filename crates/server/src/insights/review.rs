//! One incident's review gathered: its figures, the timeline with each team's actions side by
//! side, the contacts chart and the statements with their approvals.

use super::human_duration;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::charts::{self, Line, Marker};
use chrono::{DateTime, Duration, Utc};
use frontline_core::Role;
use frontline_core::alert::AlertState;
use frontline_core::feed::{FeedEntry, FeedKind};
use frontline_core::incident::{Incident, IncidentRole, Signal};
use frontline_core::metrics::{self, IncidentMetrics};
use frontline_core::review::Review;
use frontline_core::statement::Statement;
use frontline_store::UserInfo;
use frontline_store::metrics::{Depth, gather};
use serde::Serialize;
use std::collections::BTreeMap;

/// Which team an action belongs to, for the side-by-side timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    /// Customers and the CX team (contacts, reports, CX leads and agents).
    Cx,
    /// The security team and its tools.
    Security,
    /// Communications, command and Frontline itself.
    Other,
}

/// One row of the review's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// When.
    pub at: DateTime<Utc>,
    /// Whose column.
    pub team: Team,
    /// Who (`user:alice`, `system`, `customers`).
    pub actor: String,
    /// What happened, in words.
    pub what: String,
}

/// A linked security event, as the review lists it.
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    /// Source and id.
    pub source: String,
    /// The source's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// Observed.
    pub observed_at: DateTime<Utc>,
    /// Resolved, if so.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Everything the review shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewDoc {
    /// The incident.
    pub incident: Incident,
    /// Its metrics now.
    pub metrics: IncidentMetrics,
    /// Actions and signals, oldest first.
    pub timeline: Vec<Row>,
    /// Every statement with its versions, approvals and publications.
    pub statements: Vec<Statement>,
    /// Linked security events.
    pub security_events: Vec<EventLine>,
    /// The written part.
    pub review: Review,
    /// The contacts chart (SVG).
    pub chart: String,
}

fn team_of(actor: &str, users: &BTreeMap<String, Vec<Role>>, incident: &Incident) -> Team {
    let Some(name) = actor.strip_prefix("user:") else {
        return Team::Other;
    };
    let roles = users.get(name).map(Vec::as_slice).unwrap_or_default();
    let seat = |r: IncidentRole| incident.roles.get(&r).map(String::as_str) == Some(name);
    if roles.contains(&Role::Security) || seat(IncidentRole::SecurityLead) {
        Team::Security
    } else if roles.contains(&Role::CxLead)
        || roles.contains(&Role::CxAgent)
        || seat(IncidentRole::CxLead)
    {
        Team::Cx
    } else {
        Team::Other
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// A feed entry in words.
pub fn describe(e: &FeedEntry) -> String {
    let d = &e.data;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let v = |k: &str| d.get(k).map(|v| v.to_string()).unwrap_or_default();
    match e.kind {
        FeedKind::IncidentOpened => format!("Incident opened: {}", s("title")),
        FeedKind::IncidentNote => format!("Note: {}", clip(&s("body"), 300)),
        FeedKind::IncidentReminder => "Reminder: a public update is overdue".into(),
        FeedKind::StatementDrafted => format!(
            "Statement {} ({}) version {} drafted",
            v("statement_id"),
            s("audience"),
            v("version")
        ),
        FeedKind::StatementApproved => format!(
            "Statement {} ({}) version {} approved as {}",
            v("statement_id"),
            s("audience"),
            v("version"),
            s("role")
        ),
        FeedKind::StatementPublished => format!(
            "Statement {} ({}) version {} published",
            v("statement_id"),
            s("audience"),
            v("version")
        ),
        FeedKind::IncidentUpdated => match s("change").as_str() {
            "state" | "severity" | "title" => {
                format!("{}: {} → {}", s("change"), v("from"), v("to")).replace('"', "")
            }
            "services" => format!("services: {} → {}", v("from"), v("to")),
            "role" => format!("{} seat: {} → {}", s("role"), v("from"), v("to")).replace('"', ""),
            "task_added" => format!(
                "Task added: {}",
                d.pointer("/task/title")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
            ),
            "task_updated" => format!(
                "Task {} updated",
                d.pointer("/to/title")
                    .and_then(|t| t.as_str())
                    .unwrap_or("")
            ),
            "linked" | "unlinked" => {
                let n = d
                    .get("signals")
                    .and_then(|s| s.as_array())
                    .map_or(0, Vec::len);
                format!(
                    "{} {n} signal(s)",
                    if s("change") == "linked" {
                        "Linked"
                    } else {
                        "Unlinked"
                    }
                )
            }
            "accepted" => "Proposal accepted".into(),
            "merged_into" => format!("Merged into incident {}", v("to")),
            "absorbed" => format!("Incident {} merged into this one", v("from")),
            "split_into" => format!("Signals split off into incident {}", v("to")),
            other => format!("Changed: {other}"),
        },
        other => other.as_str().to_owned(),
    }
}

/// Gathers the review of incident `id`; `None` for an unknown incident.
///
/// # Errors
/// [`ApiError`] 503 when the store cannot be reached.
pub async fn review(state: &AppState, id: i64) -> Result<Option<ReviewDoc>, ApiError> {
    let now = Utc::now();
    let store = state.store.as_ref();
    let Some(facts) = gather(store, id, now, Depth::Impact).await? else {
        return Ok(None);
    };
    let m = metrics::compute(&facts);
    let users: BTreeMap<String, Vec<Role>> = store
        .list_users()
        .await?
        .into_iter()
        .map(|UserInfo { name, roles }| (name, roles))
        .collect();
    let incident = facts.incident.clone();
    let mut timeline: Vec<Row> = facts
        .timeline
        .iter()
        .map(|e| Row {
            at: e.at,
            team: team_of(&e.actor, &users, &incident),
            actor: e.actor.clone(),
            what: describe(e),
        })
        .collect();
    // The signals, at their own times: what customers and the tools said.
    if let Some(at) = m.first_customer_signal_at {
        timeline.push(Row {
            at,
            team: Team::Cx,
            actor: "customers".into(),
            what: "First customer contact".into(),
        });
    }
    for a in &facts.alerts {
        timeline.push(Row {
            at: a.raised_at,
            team: Team::Cx,
            actor: "system".into(),
            what: format!("Alert {} raised", a.id),
        });
        if a.state == AlertState::Acknowledged
            && let (Some(at), Some(by)) = (a.state_at, &a.state_by)
        {
            timeline.push(Row {
                at,
                team: team_of(by, &users, &incident),
                actor: by.clone(),
                what: format!("Alert {} acknowledged", a.id),
            });
        }
    }
    let mut security_events = Vec::new();
    for link in &facts.links {
        if let Signal::SecurityEvent { source, id } = &link.signal
            && let Some(e) = store.get_security_event(source, id).await?
        {
            timeline.push(Row {
                at: e.event.observed_at,
                team: Team::Security,
                actor: format!("tool:{}", e.event.source),
                what: format!("Security event: {}", e.event.title),
            });
            security_events.push(EventLine {
                source: e.event.source,
                id: e.event.id,
                title: e.event.title,
                severity: e.event.severity.as_str().to_owned(),
                observed_at: e.event.observed_at,
                resolved_at: e.event.resolved_at,
            });
        }
    }
    timeline.sort_by_key(|r| r.at);
    let statements = store.list_statements(id).await?;
    let review = store.get_review(id).await?.unwrap_or(Review {
        incident_id: id,
        sections: Default::default(),
        updated_by: None,
        updated_at: None,
    });
    let chart = contacts_chart(&m);
    Ok(Some(ReviewDoc {
        incident,
        metrics: m,
        timeline,
        statements,
        security_events,
        review,
        chart,
    }))
}

/// The related contacts over time, the five busiest topics as lines, with the moments of the
/// first alert, the opening and each public update marked.
pub fn contacts_chart(m: &IncidentMetrics) -> String {
    let mut topics: Vec<(&String, &u64)> = m.impact.by_topic.iter().collect();
    topics.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut lines: Vec<Line> = vec![Line {
        name: "all contacts".into(),
        points: m
            .impact
            .series
            .iter()
            .map(|b| (b.start, b.contacts as f64))
            .collect(),
    }];
    for (topic, _) in topics.into_iter().take(5) {
        lines.push(Line {
            name: topic.clone(),
            points: m
                .impact
                .series
                .iter()
                .map(|b| (b.start, *b.by_topic.get(topic).unwrap_or(&0) as f64))
                .collect(),
        });
    }
    let mut markers = Vec::new();
    if let Some(at) = m.first_alert_at {
        markers.push(Marker {
            at,
            label: "alert".into(),
        });
    }
    markers.push(Marker {
        at: m.opened_at,
        label: "incident".into(),
    });
    for (i, d) in m.impact.deflection.iter().enumerate() {
        markers.push(Marker {
            at: d.published_at,
            label: format!("update {}", i + 1),
        });
    }
    let (start, end) = match (m.impact.series.first(), m.impact.series.last()) {
        (Some(f), Some(l)) => (
            f.start,
            l.start + Duration::seconds(m.impact.bucket_seconds),
        ),
        _ => (m.impact.window_start, m.impact.window_end),
    };
    let title = format!(
        "Contacts per {} (related to incident {})",
        human_duration(m.impact.bucket_seconds),
        m.incident_id
    );
    charts::lines(&title, start, end, &lines, &markers)
}
