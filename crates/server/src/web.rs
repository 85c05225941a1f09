//! Signing in and out, choosing a password, and the working pages: the dashboard (`/`), an
//! alert (`/alerts/{id}`), the agent view (`/agent`) and an incident's war room
//! (`/incidents/{id}`), with the forms they send. `/login` is public; the rest are pages in
//! [`crate::pages::PAGES`], behind [`crate::auth::authorize`].

use crate::auth::Principal;
use crate::auth::session::{self, Lockout};
use crate::error::ApiError;
use crate::pages::{form, minute, page};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use frontline_core::alert::AlertState;
use frontline_core::audit::{Actor, AuditEntry};
use frontline_core::feed::FeedKind;
use frontline_core::incident::IncidentRole;
use frontline_store::{AlertQuery, IncidentQuery, Origin};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

/// `/login`: public.
pub fn public_router() -> Router<AppState> {
    Router::new().route("/login", get(login_form).post(login))
}

/// The signed-in pages (behind `authorize`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/logout", post(logout))
        .route("/password", get(password_form).post(change_password))
        .route("/incidents/{id}", get(war_room))
        .route("/incidents/{id}/note", post(war_room_note))
        .route("/incidents/{id}/state", post(war_room_state))
        .route("/incidents/{id}/statements", post(war_room_draft))
        .route("/incidents/{id}/seats", post(war_room_seat))
        .route("/incidents/{id}/tasks", post(war_room_task))
        .route("/incidents/{id}/tasks/{task}", post(war_room_task_done))
        .route("/statements/{id}/edit", post(edit_on_page))
        .route("/statements/{id}/approve", post(approve_on_page))
        .route("/statements/{id}/publish", post(publish_on_page))
        .route("/agent", get(agent_page))
        .route("/agent/questions", post(agent_question))
        .route("/alerts/{id}", get(alert_page))
        .route("/alerts/{id}/ack", post(ack_alert))
        .route("/alerts/{id}/dismiss", post(dismiss_alert))
        .route("/alerts/{id}/incident", post(incident_from_alert))
        .route("/alerts/{id}/link", post(link_alert))
}

/// Where to go after signing in: a path on this server, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_page(status: StatusCode, next: &str, user: &str, error: Option<&str>) -> Response {
    match page("login.html", minijinja::context! { next, user, error }) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn login_form(
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(query.as_ref().ok().and_then(|q| q.next.as_deref()));
    login_page(StatusCode::OK, &next, "", None)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    https: Option<Extension<crate::serve::Https>>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_page(
            StatusCode::BAD_REQUEST,
            "/",
            "",
            Some("Send a name and a password."),
        );
    };
    let next = safe_next(form.next.as_deref());
    let user = form.user.trim().to_owned();
    let (account, client) = (format!("user:{user}"), format!("ip:{}", peer.ip()));
    let store = state.store.as_ref();
    let locked = match Lockout::locked(store, &account).await {
        Ok(None) => Lockout::locked(store, &client).await,
        other => other,
    };
    let locked = match locked {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(wait) = locked {
        let mut r = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &user,
            Some("Too many failed sign-ins: wait a while, then try again."),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(RETRY_AFTER, v);
        }
        return r;
    }
    let login = match state.store.login(&user).await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let password = form.password;
    // Argon2 is deliberately slow: off the async workers.
    let ok = tokio::task::spawn_blocking(move || match login.and_then(|l| l.password_hash) {
        Some(hash) => session::verify_password(&hash, &password),
        None => {
            session::verify_nothing(&password);
            false
        }
    })
    .await
    .unwrap_or(false);
    let origin = Origin {
        actor: Actor::User { name: user.clone() },
        request_id: crate::telemetry::current_request_id(),
        client: Some(peer.ip().to_string()),
        fence: None,
    };
    if !ok {
        for key in [&account, &client] {
            if let Err(e) = Lockout::fail(store, key).await {
                return ApiError::from(e).into_response();
            }
        }
        let entry = AuditEntry::new(Actor::System, "session.sign_in_failed", account.clone())
            .with_request_id(origin.request_id.clone())
            .with_client(origin.client.clone());
        if let Err(e) = state.store.audit(&entry).await {
            return ApiError::from(e).into_response();
        }
        // Slows guessing down further, for every wrong answer alike.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            &user,
            Some("Wrong name or password."),
        );
    }
    if let Err(e) = Lockout::clear(store, &account).await {
        return ApiError::from(e).into_response();
    }
    let value = match session::start(&state, &user, origin.client.clone(), &origin).await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cookie(
        &state,
        https.is_some_and(|Extension(h)| h.0),
        &value,
    )) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

async fn logout(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    https: Option<Extension<crate::serve::Https>>,
) -> Response {
    if let Some(s) = &principal.session {
        // Ending an already-ended session is not an error for the person signing out.
        match state.store.revoke_session(&s.id, &principal.origin()).await {
            Ok(()) | Err(frontline_store::StoreError::NotFound { .. }) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cleared(
        &state,
        https.is_some_and(|Extension(h)| h.0),
    )) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

fn password_page(status: StatusCode, must_change: bool, error: Option<&str>) -> Response {
    match page(
        "password.html",
        minijinja::context! {
            must_change, error, min => session::MIN_PASSWORD,
        },
    ) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn password_form(Extension(principal): Extension<Principal>) -> Response {
    let must_change = principal.session.as_ref().is_some_and(|s| s.must_change);
    password_page(StatusCode::OK, must_change, None)
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Response {
    let must_change = principal.session.as_ref().is_some_and(|s| s.must_change);
    let Ok(form) = serde_urlencoded::from_bytes::<PasswordForm>(&body) else {
        return password_page(
            StatusCode::BAD_REQUEST,
            must_change,
            Some("Fill in all three fields."),
        );
    };
    if form.new != form.confirm {
        return password_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            must_change,
            Some("The new password and its repetition differ."),
        );
    }
    if let Err(why) = session::acceptable(&form.new) {
        return password_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            must_change,
            Some(&format!("That password is too weak: {why}.")),
        );
    }
    let login = match state.store.login(&principal.user).await {
        Ok(l) => l,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (current, new) = (form.current, form.new);
    let hashed = tokio::task::spawn_blocking(move || {
        let ok = login
            .and_then(|l| l.password_hash)
            .is_some_and(|h| session::verify_password(&h, &current));
        ok.then(|| session::hash_password(&new))
    })
    .await
    .ok()
    .flatten();
    let Some(hash) = hashed else {
        return password_page(
            StatusCode::UNAUTHORIZED,
            must_change,
            Some("The current password is wrong."),
        );
    };
    if let Err(e) = state
        .store
        .set_password(&principal.user, None, &hash, false, &principal.origin())
        .await
    {
        return ApiError::from(e).into_response();
    }
    Redirect::to("/").into_response()
}

/// What the agent view follows live: what is said, and which incidents are open.
const AGENT_KINDS: &[FeedKind] = &[
    FeedKind::IncidentOpened,
    FeedKind::IncidentUpdated,
    FeedKind::StatementPublished,
];

/// What the dashboard and alert pages follow live.
const ALERT_KINDS: &[FeedKind] = &[
    FeedKind::AlertRaised,
    FeedKind::AlertUpdated,
    FeedKind::IncidentOpened,
    FeedKind::IncidentUpdated,
    FeedKind::StatementPublished,
];

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    crate::insights::human_duration((to - from).num_seconds().max(0))
}

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
        .get(state.store.as_ref(), 6, &alerted, crate::volume::FRESH)
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
                day => crate::volume::chart(
                    &format!("{}: the last 24 hours", v.topic), &v.day, crate::volume::DAY,
                    charted_at),
                week => crate::volume::chart(
                    &format!("{}: the last 7 days", v.topic), &v.week, crate::volume::WEEK,
                    charted_at),
            }
        })
        .collect();
    page(
        "dashboard.html",
        minijinja::context! {
            me => crate::pages::me(&principal), here => "/", incidents, alerts, charts,
            ..crate::pages::live("/", ALERT_KINDS, after, None)
        },
    )
}

/// An open alert on the dashboard, with the incident it is linked to, if any.
type FamilyMember<'a> = (&'a frontline_core::alert::Alert, Option<i64>);

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
    let chart = crate::charts::lines(
        &format!(
            "Contacts on {} per {}",
            d.topic.as_deref().unwrap_or("this stream"),
            crate::insights::human_duration(width)
        ),
        first,
        end,
        &[crate::charts::Line {
            name: d.topic.clone().unwrap_or_else(|| "contacts".into()),
            points,
        }],
        &[crate::charts::Marker {
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
            me => crate::pages::me(principal),
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
            ..crate::pages::live(&format!("/alerts/{}", d.alert_id), ALERT_KINDS, after, None)
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

#[derive(Debug, Default, Deserialize)]
struct AgentQuery {
    flagged: Option<i64>,
}

async fn agent_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<AgentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let flagged = query.ok().and_then(|Query(q)| q.flagged);
    show_agent(&state, &principal, flagged, None).await
}

/// The agent view: for each open incident, the current talking points and customer statement
/// in read-only boxes to copy from, and a form to flag an unanswered question.
async fn show_agent(
    state: &AppState,
    principal: &Principal,
    flagged: Option<i64>,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    let after = state.store.feed_head().await?;
    let items = crate::api::v1::statements::current_talking_points(state).await?;
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(minute);
    let items: Vec<_> = items
        .iter()
        .map(|t| {
            let words = |w: &Option<frontline_api::PublishedWords>| {
                w.as_ref().map(|w| {
                    minijinja::context! {
                        version => w.version, body => w.body, published_at => when(w.published_at),
                    }
                })
            };
            minijinja::context! {
                incident_id => t.incident_id, title => t.title, severity => t.severity.as_str(),
                state => t.state.as_str(), agents => words(&t.agents),
                customers => words(&t.customers),
            }
        })
        .collect();
    let mut r = page(
        "agent.html",
        minijinja::context! {
            me => crate::pages::me(principal), here => "/agent", items, flagged, error,
            ..crate::pages::live("/agent", AGENT_KINDS, after, None)
        },
    )?;
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct QuestionForm {
    incident_id: String,
    question: String,
}

async fn agent_question(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form: QuestionForm = form(&body);
    let Ok(incident) = form.incident_id.parse::<i64>() else {
        return show_agent(&state, &principal, None, Some("Choose an incident.")).await;
    };
    match crate::api::v1::statements::flag_question(&state, &principal, incident, form.question)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/agent?flagged={incident}")).into_response()),
        Err(e) if e.status().is_client_error() => {
            show_agent(&state, &principal, None, Some(&e.message_for_page())).await
        }
        Err(e) => Err(e),
    }
}

async fn war_room(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    show_war_room(&state, &principal, id, None).await
}

/// The seats of an incident, in the order the war room shows them.
const SEATS: [IncidentRole; 4] = [
    IncidentRole::Commander,
    IncidentRole::SecurityLead,
    IncidentRole::CxLead,
    IncidentRole::CommsLead,
];

/// The words that changed from `old` to `new`: `(op, text)` with `op` one of `same`, `added`,
/// `removed`, neighbours of one kind joined.
fn word_diff(old: &str, new: &str) -> Vec<(&'static str, String)> {
    use similar::{ChangeTag, TextDiff};
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for change in TextDiff::from_words(old, new).iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => "same",
            ChangeTag::Insert => "added",
            ChangeTag::Delete => "removed",
        };
        match out.last_mut() {
            Some((last, text)) if *last == op => text.push_str(change.value()),
            _ => out.push((op, change.value().to_owned())),
        }
    }
    out
}

/// The incident's war room: state, severity and seats; a countdown to the next public update;
/// the statements with their versions, changes, approvals (who and when), and buttons to
/// approve, publish and edit; tasks; the timeline and a note; the linked signals with a chart
/// of related contacts. Everything but the forms follows the feed live.
async fn show_war_room(
    state: &AppState,
    principal: &Principal,
    id: i64,
    error: Option<(StatusCode, String)>,
) -> Result<Response, ApiError> {
    use frontline_core::incident::Signal;
    use frontline_core::policy::{Action, allows};
    use frontline_core::statement::Audience;
    use frontline_store::metrics::{Depth, gather};
    let now = Utc::now();
    let after = state.store.feed_head().await?;
    let facts = gather(state.store.as_ref(), id, now, Depth::Impact)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    let metrics = frontline_core::metrics::compute(&facts);
    let chart =
        (!metrics.impact.series.is_empty()).then(|| crate::insights::contacts_chart(&metrics));
    let i = &facts.incident;
    let statements = state.store.list_statements(id).await?;
    let last_public = statements
        .iter()
        .filter(|s| s.audience == Audience::Public)
        .filter_map(frontline_core::statement::Statement::published_at)
        .max();
    let due = (i.state.is_open())
        .then(|| state.config.cadence.interval(i.severity))
        .flatten()
        .map(|every| last_public.unwrap_or(i.opened_at) + every);
    let can_manage = allows(&principal.roles, Action::ManageIncidents);
    let users: Vec<String> = if can_manage {
        state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| u.name)
            .collect()
    } else {
        Vec::new()
    };
    let statements: Vec<_> = statements
        .iter()
        .map(|s| {
            let v = s.latest();
            let previous = s.versions.iter().rev().nth(1);
            let diff = previous.map(|p| {
                word_diff(&p.body, &v.body)
                    .into_iter()
                    .map(|(op, text)| minijinja::context! { op, text })
                    .collect::<Vec<_>>()
            });
            minijinja::context! {
                id => s.id, audience => s.audience.as_str(), version => v.number,
                published => s.published, latest_published => s.published == Some(v.number),
                title => v.title, body => v.body, author => v.author, r#final => v.r#final,
                written_at => minute(v.created_at),
                previous => previous.map(|p| p.number),
                title_changed => previous.is_some_and(|p| p.title != v.title),
                previous_title => previous.and_then(|p| p.title.clone()),
                diff,
                translations => v.translations.keys().collect::<Vec<_>>(),
                approvals => v.approvals.iter().map(|a| minijinja::context! {
                    user => a.user, role => a.role.as_str(),
                    at => minute(a.at),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let timeline: Vec<_> = facts
        .timeline
        .iter()
        .rev()
        .map(|e| {
            minijinja::context! {
                at => e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                actor => e.actor, what => crate::insights::describe(e),
            }
        })
        .collect();
    let links: Vec<_> = facts
        .links
        .iter()
        .map(|l| match &l.signal {
            Signal::Alert { id } => {
                minijinja::context! { alert => id, label => l.signal.to_string() }
            }
            other => minijinja::context! { label => other.to_string() },
        })
        .collect();
    let seats: Vec<_> = SEATS
        .iter()
        .map(|seat| {
            minijinja::context! {
                seat => seat.as_str(), label => seat.as_str().replace('_', " "),
                holder => i.roles.get(seat),
            }
        })
        .collect();
    let tasks: Vec<_> = i
        .tasks
        .iter()
        .map(|t| minijinja::context! { id => t.id, title => t.title, owner => t.owner, done => t.done })
        .collect();
    let mut r = page(
        "warroom.html",
        minijinja::context! {
            me => crate::pages::me(principal),
            i => minijinja::context! {
                id => i.id, title => i.title, severity => i.severity.as_str(),
                state => i.state.as_str(), services => i.services,
                opened_at => minute(i.opened_at),
            },
            seats, tasks, users, statements, timeline, links, chart,
            related => metrics.impact.contacts,
            due => due.map(minute),
            due_iso => due.map(|t| t.to_rfc3339()),
            overdue => due.is_some_and(|t| t < now),
            error => error.as_ref().map(|(_, m)| m.clone()),
            can_state => allows(&principal.roles, Action::ChangeIncidentState),
            can_draft => allows(&principal.roles, Action::DraftStatements),
            can_note => allows(&principal.roles, Action::AddIncidentNotes),
            can_manage,
            ..crate::pages::live(&format!("/incidents/{id}"), &FeedKind::ALL, after, Some(id))
        },
    )?;
    if let Some((status, _)) = error {
        *r.status_mut() = status;
    }
    Ok(r)
}

/// After a change from the war room: back to it, or the page again saying what was refused.
async fn war_room_after<T>(
    state: &AppState,
    principal: &Principal,
    id: i64,
    result: Result<T, ApiError>,
) -> Result<Response, ApiError> {
    match result {
        Ok(_) => {
            state.feed_changed();
            Ok(Redirect::to(&format!("/incidents/{id}")).into_response())
        }
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let status = e.status();
            show_war_room(state, principal, id, Some((status, e.message_for_page()))).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoteForm {
    body: String,
}

async fn war_room_note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: NoteForm = form(&body);
    let change = frontline_core::incident::note(form.body)
        .map(|body| IncidentChange::Note { body })
        .map_err(ApiError::invalid);
    war_room_change(&state, &principal, id, change, "body").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StateForm {
    state: String,
    severity: String,
}

async fn war_room_state(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: StateForm = form(&body);
    let change = form
        .state
        .parse()
        .map_err(|e: String| ApiError::invalid_field("state", e))
        .and_then(|s| {
            form.severity
                .parse()
                .map(|v| (s, v))
                .map_err(|e: String| ApiError::invalid_field("severity", e))
        })
        .map(|(new_state, severity)| IncidentChange::Update {
            title: None,
            severity: Some(severity),
            state: Some(new_state),
            services: None,
        });
    war_room_change(&state, &principal, id, change, "state").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DraftForm {
    audience: String,
    title: String,
    body: String,
    r#final: Option<String>,
}

async fn war_room_draft(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::statement::{Audience, draft};
    let form: DraftForm = form(&body);
    let title = Some(form.title).filter(|t| !t.trim().is_empty());
    let audience: Result<Audience, ApiError> = form
        .audience
        .parse()
        .map_err(|e: String| ApiError::invalid_field("audience", e));
    let result = match audience.and_then(|a| {
        draft(
            title,
            Some(form.body),
            Default::default(),
            form.r#final.is_some(),
        )
        .map(|d| (a, d))
        .map_err(ApiError::invalid)
    }) {
        Ok((audience, d)) => state
            .store
            .create_statement(id, audience, d, &principal.user, &principal.origin())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    war_room_after(&state, &principal, id, result).await
}

/// Applies one change from a war-room form, or shows the page with the error; a person or
/// task that does not exist is named as `field`'s error.
async fn war_room_change(
    state: &AppState,
    principal: &Principal,
    id: i64,
    change: Result<frontline_core::incident::IncidentChange, ApiError>,
    field: &str,
) -> Result<Response, ApiError> {
    let result = match change {
        Ok(c) => state
            .store
            .change_incident(id, &[c], &principal.origin())
            .await
            .map_err(|e| crate::api::v1::incidents::refs_error(e, id, field)),
        Err(e) => Err(e),
    };
    war_room_after(state, principal, id, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SeatForm {
    seat: String,
    user: String,
}

/// Gives a seat to a person, or frees it (an empty user).
async fn war_room_seat(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: SeatForm = form(&body);
    let change = form
        .seat
        .parse::<IncidentRole>()
        .map_err(|e| ApiError::invalid_field("seat", e))
        .map(|role| IncidentChange::AssignRole {
            role,
            user: Some(form.user.trim().to_owned()).filter(|u| !u.is_empty()),
        });
    war_room_change(&state, &principal, id, change, "user").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TaskForm {
    title: String,
    owner: String,
}

async fn war_room_task(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: TaskForm = form(&body);
    let change =
        frontline_core::field::short_text(form.title, "title", frontline_core::incident::MAX_TITLE)
            .map_err(ApiError::invalid)
            .map(|title| IncidentChange::AddTask {
                title,
                owner: Some(form.owner.trim().to_owned()).filter(|u| !u.is_empty()),
            });
    war_room_change(&state, &principal, id, change, "owner").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TaskDoneForm {
    done: String,
}

async fn war_room_task_done(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path((id, task)): axum::extract::Path<(i64, u32)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    use frontline_core::incident::IncidentChange;
    let form: TaskDoneForm = form(&body);
    let done = match form.done.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::invalid_field("done", "must be true or false")),
    };
    let change = done.map(|done| IncidentChange::UpdateTask {
        id: task,
        done: Some(done),
        owner: None,
    });
    war_room_change(&state, &principal, id, change, "task").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EditForm {
    title: String,
    body: String,
}

/// A new version of a statement from the war room. Its translations are kept only when the
/// text did not change: a translation of the old text must not go out with the new one.
async fn edit_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(sid): axum::extract::Path<i64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let statement = state
        .store
        .get_statement(sid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no statement {sid}")))?;
    let form: EditForm = form(&body);
    let latest = statement.latest();
    let translations = if form.body == latest.body {
        latest.translations.clone()
    } else {
        Default::default()
    };
    let title = Some(form.title).filter(|t| !t.trim().is_empty());
    let result = match frontline_core::statement::draft(
        title,
        Some(form.body),
        translations,
        latest.r#final,
    ) {
        Ok(d) => state
            .store
            .edit_statement(sid, d, &principal.user, &principal.origin())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::invalid(e)),
    };
    war_room_after(&state, &principal, statement.incident_id, result).await
}

async fn statement_act(
    state: &AppState,
    principal: &Principal,
    sid: i64,
    publish: bool,
) -> Result<Response, ApiError> {
    let statement = state
        .store
        .get_statement(sid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no statement {sid}")))?;
    let (user, roles, origin) = (&principal.user, &principal.roles, principal.origin());
    let result = if publish {
        state
            .store
            .publish_statement(sid, user, roles, &origin)
            .await
    } else {
        state
            .store
            .approve_statement(sid, user, roles, &origin)
            .await
    };
    war_room_after(
        state,
        principal,
        statement.incident_id,
        result.map_err(ApiError::from),
    )
    .await
}

async fn approve_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(sid): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    statement_act(&state, &principal, sid, false).await
}

async fn publish_on_page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(sid): axum::extract::Path<i64>,
) -> Result<Response, ApiError> {
    statement_act(&state, &principal, sid, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(safe_next(Some("/trends?months=3")), "/trends?months=3");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
