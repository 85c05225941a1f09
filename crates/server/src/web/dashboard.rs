//! The dashboard (`/`): contact volume per topic against its usual band, the open alerts in
//! families, and the open incidents with their age and the time since their last public word.

use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::{minute, page};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use frontline_core::alert::AlertState;
use frontline_core::feed::FeedKind;
use frontline_store::{AlertQuery, IncidentQuery};
use std::collections::{BTreeSet, HashMap};

/// The dashboard (`/`).
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

/// What the dashboard and alert pages follow live.
pub(super) const ALERT_KINDS: &[FeedKind] = &[
    FeedKind::AlertRaised,
    FeedKind::AlertUpdated,
    FeedKind::IncidentOpened,
    FeedKind::IncidentUpdated,
    FeedKind::StatementPublished,
];

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    crate::insights::human_duration((to - from).num_seconds().max(0))
}

/// An open alert on the dashboard, with the incident it is linked to, if any.
type FamilyMember<'a> = (&'a frontline_core::alert::Alert, Option<i64>);

/// The dashboard: contact volume per topic against its usual band, open alerts, open
/// incidents with their age and the time since their last public word.
async fn dashboard(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    use frontline_core::statement::Audience;
    let now = Utc::now();
    let after = state.store.feed_head().await?;
    let incidents = state
        .store
        .list_incidents(&IncidentQuery {
            open: Some(true),
            limit: 100,
            ..IncidentQuery::default()
        })
        .await?
        .items;
    let alerts = state
        .store
        .list_alerts(&AlertQuery {
            state: Some(AlertState::Open),
            limit: 50,
            ..AlertQuery::default()
        })
        .await?
        .items;
    let mut last_public: HashMap<i64, DateTime<Utc>> = HashMap::new();
    if let Some(oldest) = incidents.iter().map(|i| i.opened_at).min() {
        for s in state
            .store
            .published_statements(Audience::Public, oldest)
            .await?
        {
            if let Some(at) = s.published_at() {
                let e = last_public.entry(s.incident_id).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }
    let alerted: BTreeSet<String> = alerts
        .iter()
        .filter_map(|a| a.detected.topic.clone())
        .collect();
    let (charted_at, volumes) = state
        .volumes
        .get(state.store.as_ref(), 6, &alerted, crate::web::volume::FRESH)
        .await?;
    let incidents: Vec<_> = incidents
        .iter()
        .map(|i| {
            let due = state
                .config
                .cadence
                .interval(i.severity)
                .map(|every| last_public.get(&i.id).copied().unwrap_or(i.opened_at) + every);
            minijinja::context! {
                id => i.id, title => i.title, severity => i.severity.as_str(),
                state => i.state.as_str(),
                age => minutes_between(i.opened_at, now),
                last_public => last_public.get(&i.id).map(|t| minutes_between(*t, now)),
                due => due.map(|t| t.to_rfc3339()),
                overdue => due.is_some_and(|t| t < now),
            }
        })
        .collect();
    // Which incident each alert is in already: a wave often raises several (one per wording),
    // and the lead should see at a glance that they are handled together.
    let states = state
        .store
        .signal_states(
            &alerts
                .iter()
                .map(|a| frontline_core::incident::Signal::Alert {
                    id: a.detected.alert_id.clone(),
                })
                .collect::<Vec<_>>(),
        )
        .await?;
    // One row per family (one wave's spike, theme and cluster alerts), led by its first
    // alert, in the order the list gives.
    let mut families: Vec<(&str, Vec<FamilyMember>)> = Vec::new();
    for (a, linked) in alerts.iter().zip(&states) {
        let family = a
            .detected
            .group_id
            .as_deref()
            .unwrap_or(&a.detected.alert_id);
        let linked = match linked {
            frontline_core::incident::SignalState::Linked(i) => Some(*i),
            _ => None,
        };
        match families.iter_mut().find(|(f, _)| *f == family) {
            Some((_, members)) => members.push((a, linked)),
            None => families.push((family, vec![(a, linked)])),
        }
    }
    let alerts: Vec<_> = families
        .iter()
        .map(|(family, members)| {
            let (lead, _) = members
                .iter()
                .find(|(a, _)| a.detected.alert_id == *family)
                .unwrap_or(&members[0]);
            let mut kinds: Vec<&str> = members.iter().map(|(a, _)| a.detected.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            let mut topics: Vec<&str> = members
                .iter()
                .filter_map(|(a, _)| a.detected.topic.as_deref())
                .collect();
            topics.sort_unstable();
            topics.dedup();
            minijinja::context! {
                id => lead.detected.alert_id, kind => kinds.join(", "),
                topic => (!topics.is_empty()).then(|| topics.join(", ")),
                observed => lead.detected.observed,
                expected => format!("{:.1}", lead.detected.expected),
                started_at => minute(members.iter().map(|(a, _)| a.detected.started_at).min().unwrap_or(lead.detected.started_at)),
                more => members.len() - 1,
                incident => members.iter().find_map(|(_, linked)| *linked),
            }
        })
        .collect();
    let charts: Vec<_> = volumes
        .iter()
        .map(|v| {
            minijinja::context! {
                topic => v.topic, last_day => v.last_day,
                alerted => alerted.contains(&v.topic),
                day => crate::web::volume::chart(
                    &format!("{}: the last 24 hours", v.topic), &v.day, crate::web::volume::DAY,
                    charted_at),
                week => crate::web::volume::chart(
                    &format!("{}: the last 7 days", v.topic), &v.week, crate::web::volume::WEEK,
                    charted_at),
            }
        })
        .collect();
    page(
        "dashboard.html",
        minijinja::context! {
            me => crate::web::me(&principal), here => "/", incidents, alerts, charts,
            ..crate::web::live("/", ALERT_KINDS, after, None)
        },
    )
}
