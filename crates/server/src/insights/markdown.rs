//! One incident's review as Markdown, for the post-mortem document: every text escaped so a
//! customer's words cannot break out of their place.

use super::review::*;
use super::{human_duration, md};
use base64::Engine;
use chrono::{DateTime, Utc};
use frontline_core::statement::Statement;
use std::fmt::Write;

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

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "—".into(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn opt_duration(s: Option<i64>) -> String {
    s.map_or_else(|| "—".into(), human_duration)
}
