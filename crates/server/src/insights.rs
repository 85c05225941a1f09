//! What both teams learn afterwards: the post-incident review (metrics, the timeline with each
//! team's actions side by side, charts, statements with their approvals, the written sections)
//! as a page and as Markdown, and the trends across incidents. The figures are
//! `frontline_core::metrics`'; this module gathers and lays them out.

use crate::charts::{self, Line, Marker};
use crate::error::ApiError;
use crate::state::AppState;
use base64::Engine;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use frontline_core::Role;
use frontline_core::alert::AlertState;
use frontline_core::feed::{FeedEntry, FeedKind};
use frontline_core::incident::{Incident, IncidentRole, Signal};
use frontline_core::metrics::{self, IncidentMetrics};
use frontline_core::review::Review;
use frontline_core::statement::Statement;
use frontline_store::metrics::{Depth, gather};
use frontline_store::{AlertQuery, IncidentQuery, UserInfo};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

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

/// `3600` → `1 h`; `300` → `5 min`; `86400` → `1 d`.
pub fn human_duration(seconds: i64) -> String {
    let a = seconds.unsigned_abs();
    let sign = if seconds < 0 { "−" } else { "" };
    if a >= 86_400 && a % 86_400 == 0 {
        format!("{sign}{} d", a / 86_400)
    } else if a >= 3600 {
        format!("{sign}{} h {} min", a / 3600, (a % 3600) / 60).replace(" 0 min", "")
    } else if a >= 60 {
        format!("{sign}{} min", a / 60)
    } else {
        format!("{sign}{a} s")
    }
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "—".into(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn opt_duration(s: Option<i64>) -> String {
    s.map_or_else(|| "—".into(), human_duration)
}

/// Escapes text for a Markdown table cell or line: the characters that would start markup or
/// break the table, and any HTML (a Markdown renderer passes HTML through).
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The review as Markdown, the chart embedded as a data-URI SVG image.
pub fn markdown(doc: &ReviewDoc) -> String {
    let i = &doc.incident;
    let m = &doc.metrics;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Post-incident review: {} (incident {})\n",
        md(&i.title),
        i.id
    );
    let _ = writeln!(
        out,
        "{} · {} · services: {} · opened {} · resolved {}\n",
        i.severity.as_str(),
        i.state.as_str(),
        if i.services.is_empty() {
            "—".into()
        } else {
            md(&i.services.join(", "))
        },
        opt_time(Some(i.opened_at)),
        opt_time(i.resolved_at)
    );
    let r = &doc.review.sections;
    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "{}\n",
        if r.summary.is_empty() {
            "_Not written yet._".into()
        } else {
            md(&r.summary)
        }
    );
    let _ = writeln!(out, "## Metrics\n\n| Milestone | Time |\n|---|---|");
    for (name, t) in [
        ("First customer signal", m.first_customer_signal_at),
        ("First security event", m.first_security_event_at),
        ("First alert", m.first_alert_at),
        ("Incident opened", Some(m.opened_at)),
        ("First acknowledgement by security", m.first_ack_at),
        ("First public statement", m.first_public_statement_at),
        ("Resolved", m.resolved_at),
    ] {
        let _ = writeln!(out, "| {name} | {} |", opt_time(t));
    }
    let _ = writeln!(out, "\n| Duration | |\n|---|---|");
    for (name, s) in [
        (
            "Time to detect (from the first customer signal)",
            m.time_to_detect_seconds,
        ),
        ("Time to acknowledge", m.time_to_acknowledge_seconds),
        (
            "Time to first public statement",
            m.time_to_first_public_statement_seconds,
        ),
        ("Time to resolve", m.time_to_resolve_seconds),
        (
            "Customers affected before the first contact",
            m.customers_affected_before_first_contact_seconds,
        ),
    ] {
        let _ = writeln!(out, "| {name} | {} |", opt_duration(s));
    }
    let im = &m.impact;
    let _ = writeln!(
        out,
        "\n**Customer impact:** {} related contacts ({} linked), {} distinct customers{}.\n",
        im.contacts,
        im.linked_contacts,
        im.customers,
        if im.truncated {
            " (at least: cut short)"
        } else {
            ""
        }
    );
    if !im.by_topic.is_empty() {
        let topics: Vec<String> = im
            .by_topic
            .iter()
            .map(|(t, n)| format!("{} {n}", md(t)))
            .collect();
        let _ = writeln!(out, "By topic: {}.\n", topics.join(", "));
    }
    if !im.by_channel.is_empty() {
        let ch: Vec<String> = im
            .by_channel
            .iter()
            .map(|(t, n)| format!("{} {n}", md(t)))
            .collect();
        let _ = writeln!(out, "By channel: {}.\n", ch.join(", "));
    }
    if !im.deflection.is_empty() {
        let _ = writeln!(
            out,
            "| Public update | Contacts the hour before | The hour after | Ratio |\n|---|---|---|---|"
        );
        for d in &im.deflection {
            let _ = writeln!(
                out,
                "| {} (statement {} v{}) | {} | {}{} | {} |",
                opt_time(Some(d.published_at)),
                d.statement_id,
                d.version,
                d.before,
                d.after,
                if d.complete { "" } else { " (so far)" },
                d.ratio.map_or_else(|| "—".into(), |r| format!("{r:.2}"))
            );
        }
        out.push('\n');
    }
    let svg = base64::engine::general_purpose::STANDARD.encode(&doc.chart);
    let _ = writeln!(
        out,
        "![Contacts over time, with the alert, the incident and each public update marked](data:image/svg+xml;base64,{svg})\n"
    );
    let _ = writeln!(
        out,
        "## Timeline\n\n| Time (UTC) | Customers and CX | Security | Comms, command and Frontline |\n|---|---|---|---|"
    );
    for row in &doc.timeline {
        let cell = format!("{} ({})", md(&row.what), md(&row.actor));
        let (cx, sec, other) = match row.team {
            Team::Cx => (cell.as_str(), "", ""),
            Team::Security => ("", cell.as_str(), ""),
            Team::Other => ("", "", cell.as_str()),
        };
        let _ = writeln!(
            out,
            "| {} | {cx} | {sec} | {other} |",
            row.at.format("%Y-%m-%d %H:%M:%S")
        );
    }
    let _ = writeln!(out, "\n## Statements\n");
    let published: Vec<&Statement> = doc
        .statements
        .iter()
        .filter(|s| !s.publications.is_empty())
        .collect();
    if published.is_empty() {
        let _ = writeln!(out, "_Nothing was published._\n");
    }
    for s in published {
        for p in &s.publications {
            let Some(v) = s.versions.iter().find(|v| v.number == p.version) else {
                continue;
            };
            let _ = writeln!(
                out,
                "### Statement {} ({}), version {}, published {} by {}\n",
                s.id,
                s.audience.as_str(),
                v.number,
                opt_time(Some(p.at)),
                md(&p.by)
            );
            if let Some(t) = &v.title {
                let _ = writeln!(out, "**{}**\n", md(t));
            }
            for line in v.body.lines() {
                let _ = writeln!(out, "> {}", md(line));
            }
            let approvals: Vec<String> = v
                .approvals
                .iter()
                .map(|a| {
                    format!(
                        "{} as {} at {}",
                        md(&a.user),
                        a.role.as_str(),
                        opt_time(Some(a.at))
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "\nWritten by {}; approved by {}.\n",
                md(&v.author),
                if approvals.is_empty() {
                    "nobody".into()
                } else {
                    approvals.join("; ")
                }
            );
        }
    }
    for (title, items) in [
        ("What went well", &r.went_well),
        ("What went wrong", &r.went_wrong),
        ("Actions", &r.actions),
    ] {
        let _ = writeln!(out, "## {title}\n");
        if items.is_empty() {
            let _ = writeln!(out, "_None yet._\n");
            continue;
        }
        for item in items {
            let mut extra = Vec::new();
            if let Some(o) = &item.owner {
                extra.push(format!("owner: {}", md(o)));
            }
            if let Some(d) = item.due {
                extra.push(format!("due: {d}"));
            }
            let _ = writeln!(
                out,
                "- [{}] {}{}",
                if item.done { "x" } else { " " },
                md(&item.text),
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", extra.join(", "))
                }
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Linked security events\n");
    if doc.security_events.is_empty() {
        let _ = writeln!(out, "_None._\n");
    } else {
        let _ = writeln!(
            out,
            "| Source | Id | Title | Severity | Observed | Resolved |\n|---|---|---|---|---|---|"
        );
        for e in &doc.security_events {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md(&e.source),
                md(&e.id),
                md(&e.title),
                e.severity,
                opt_time(Some(e.observed_at)),
                opt_time(e.resolved_at)
            );
        }
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7.0));
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(2.5));
        assert_eq!(quantile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), Some(9.1));
        assert_eq!(quantile(&[10, 20, 30], 0.5), Some(20.0));
    }

    #[test]
    fn months_count_back_across_years_in_utc() {
        let now = Utc.with_ymd_and_hms(2026, 2, 10, 23, 30, 0).unwrap();
        assert_eq!(
            month_start(now, 0),
            Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            month_start(now, 2),
            Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            month_start(now, 14),
            Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(420), "7 min");
        assert_eq!(human_duration(3600), "1 h");
        assert_eq!(human_duration(6780), "1 h 53 min");
        assert_eq!(human_duration(86_400), "1 d");
        assert_eq!(human_duration(-1380), "−23 min");
    }

    #[test]
    fn markdown_text_cannot_break_out() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(md("line\nbreak"), "line break");
        assert_eq!(md("[link](javascript:x)"), "\\[link\\](javascript:x)");
    }
}
