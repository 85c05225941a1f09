//! An alert (`/alerts/{id}`): its evidence, the words that drove each topic, its family, and
//! the forms that acknowledge it, dismiss it, open an incident from it or link it to one.

use super::dashboard::ALERT_KINDS;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::{form, minute, page};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use frontline_core::alert::AlertState;
use frontline_store::IncidentQuery;
use serde::Deserialize;

/// An alert's page and its forms.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts/{id}", get(alert_page))
        .route("/alerts/{id}/ack", post(ack_alert))
        .route("/alerts/{id}/dismiss", post(dismiss_alert))
        .route("/alerts/{id}/incident", post(incident_from_alert))
        .route("/alerts/{id}/link", post(link_alert))
}

async fn alert_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    show_alert(&state, &principal, &id, None).await
}

/// The alert page: its figures, a chart of its topic around it, its evidence (redacted) and
/// what can be done, by the caller's roles.
async fn show_alert(
    state: &AppState,
    principal: &Principal,
    id: &str,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    use frontline_core::incident::{Signal, SignalState};
    use frontline_core::policy::{Action, allows};
    let after = state.store.feed_head().await?;
    let a = state
        .store
        .get_alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))?;
    let d = &a.detected;
    let mut evidence = Vec::new();
    for e in d.evidence.iter().take(20) {
        if let Some(c) = state.store.get_contact(&e.source, &e.id).await? {
            // Why each contact got its topics, as the contact API says.
            let why: Vec<_> = state
                .intake
                .taxonomy
                .topic_words(&c.contact.text, &c.contact.topics)
                .into_iter()
                .map(|p| minijinja::context! { topic => p.topic, words => p.words.join(", ") })
                .collect();
            evidence.push(minijinja::context! {
                source => e.source, id => e.id, channel => c.contact.channel.as_str(),
                received_at => c.contact.received_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                text => c.contact.text, why,
            });
        }
    }
    // The topic's contacts from two hours before the anomaly to now (at most 12 hours).
    let end = chrono::Utc::now().min(d.started_at + chrono::Duration::hours(10));
    let start = d.started_at - chrono::Duration::hours(2);
    let width = frontline_core::metrics::bucket_width(start, end);
    let first = frontline_core::metrics::bucket_start(start, width);
    let n = ((end - first).num_seconds() / width + 1).max(1) as usize;
    let mut counts = vec![0u64; n];
    if let Some(topic) = &d.topic {
        // The chart's buckets are the store's: aligned to multiples of `width` since the epoch.
        let per_bucket = state
            .store
            .topic_counts(first, end, frontline_store::Bucket::of(width))
            .await?;
        for c in per_bucket.iter().filter(|c| &c.topic == topic) {
            let i = ((c.start - first).num_seconds() / width) as usize;
            if let Some(slot) = counts.get_mut(i) {
                *slot += c.contacts;
            }
        }
    }
    let points = counts
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                first + chrono::Duration::seconds(width * i as i64),
                *n as f64,
            )
        })
        .collect();
    let chart = crate::web::charts::lines(
        &format!(
            "Contacts on {} per {}",
            d.topic.as_deref().unwrap_or("this stream"),
            crate::insights::human_duration(width)
        ),
        first,
        end,
        &[crate::web::charts::Line {
            name: d.topic.clone().unwrap_or_else(|| "contacts".into()),
            points,
        }],
        &[crate::web::charts::Marker {
            at: d.started_at,
            label: "anomaly".into(),
        }],
    );
    let incident = match state
        .store
        .signal_states(&[Signal::Alert { id: id.to_owned() }])
        .await?
        .first()
    {
        Some(SignalState::Linked(i)) => Some(*i),
        _ => None,
    };
    // Where it could go instead of a new incident: the open ones, newest first.
    let open: Vec<_> = if incident.is_none() && allows(&principal.roles, Action::ManageIncidents) {
        state
            .store
            .list_incidents(&IncidentQuery {
                open: Some(true),
                limit: 100,
                ..IncidentQuery::default()
            })
            .await?
            .items
            .into_iter()
            .map(|i| minijinja::context! { id => i.id, title => i.title, severity => i.severity.as_str() })
            .collect()
    } else {
        Vec::new()
    };
    let mut r = page(
        "alert.html",
        minijinja::context! {
            me => crate::web::me(principal),
            a => minijinja::context! {
                id => d.alert_id, kind => d.kind.as_str(), topic => d.topic,
                service => d.service, channel => d.channel, state => a.state.as_str(),
                started_at => minute(d.started_at),
                observed => d.observed, expected => format!("{:.1}", d.expected),
                customers => d.customers, text => d.text, reason => a.reason,
            },
            evidence, chart, incident, error, open,
            can_triage => allows(&principal.roles, Action::TriageAlerts),
            can_open => allows(&principal.roles, Action::ManageIncidents),
            ..crate::web::live(&format!("/alerts/{}", d.alert_id), ALERT_KINDS, after, None)
        },
    )?;
    if error.is_some() {
        *r.status_mut() = StatusCode::CONFLICT;
    }
    Ok(r)
}

/// After a change from the alert page: back to it, or the page again naming what was wrong.
async fn after_change<T>(
    state: &AppState,
    principal: &Principal,
    id: &str,
    result: Result<T, frontline_store::StoreError>,
    to: impl FnOnce(T) -> String,
) -> Result<Response, ApiError> {
    match result {
        Ok(value) => {
            state.feed_changed();
            Ok(Redirect::to(&to(value)).into_response())
        }
        Err(frontline_store::StoreError::Conflict { constraint }) => {
            show_alert(state, principal, id, Some(&constraint)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn ack_alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let result = state
        .store
        .set_alert_state(&id, AlertState::Acknowledged, None, &principal.origin())
        .await;
    after_change(&state, &principal, &id, result, |_| format!("/alerts/{id}")).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DismissForm {
    reason: String,
}

async fn dismiss_alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form: DismissForm = form(&body);
    let reason = match frontline_core::field::short_text(form.reason, "reason", 500) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("{}: {}", e.field, e.reason);
            return show_alert(&state, &principal, &id, Some(&msg)).await;
        }
    };
    let result = state
        .store
        .set_alert_state(
            &id,
            AlertState::Dismissed,
            Some(&reason),
            &principal.origin(),
        )
        .await;
    after_change(&state, &principal, &id, result, |_| format!("/alerts/{id}")).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OpenForm {
    severity: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LinkForm {
    incident_id: String,
}

/// Adds the alert to an open incident.
async fn link_alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::{IncidentChange, Signal};
    let form: LinkForm = form(&body);
    let Ok(incident) = form.incident_id.trim().parse::<i64>() else {
        return show_alert(&state, &principal, &id, Some("Choose an incident.")).await;
    };
    if state.store.get_alert(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no alert {id}")));
    }
    let result = state
        .store
        .change_incident(
            incident,
            &[IncidentChange::Link(vec![Signal::Alert { id: id.clone() }])],
            &principal.origin(),
        )
        .await;
    after_change(&state, &principal, &id, result, |detail| {
        format!("/incidents/{}", detail.incident.id)
    })
    .await
}

async fn incident_from_alert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::{NewIncident, Severity, Signal};
    let form: OpenForm = form(&body);
    let severity: Severity = form.severity.parse().unwrap_or(Severity::Sev3);
    let alert = state
        .store
        .get_alert(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))?;
    let d = &alert.detected;
    let new = NewIncident {
        title: format!(
            "{} of contacts on {}",
            if d.kind == frontline_core::alert::AlertKind::Cluster {
                "Cluster"
            } else {
                "Spike"
            },
            d.topic.as_deref().unwrap_or("an unclassified topic")
        ),
        severity,
        services: d.service.iter().cloned().collect(),
        reason: Some(format!("opened from alert {id}")),
        signals: vec![Signal::Alert { id: id.clone() }],
        proposed: false,
    };
    let result = state.store.open_incident(&new, &principal.origin()).await;
    after_change(&state, &principal, &id, result, |detail| {
        format!("/incidents/{}", detail.incident.id)
    })
    .await
}
