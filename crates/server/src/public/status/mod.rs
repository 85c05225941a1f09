//! The public status page: `GET /status` (HTML), `/status.json` and `/status/feed.atom`.
//!
//! It shows only what was published for the public (public statements' published versions,
//! under their own titles) and component states; nothing else is even read to build it. Pages
//! are rendered when something public changes, not per request: a refresher task rebuilds
//! every variant (each language a published statement was translated into) when the feed
//! moves, and requests are answered from memory with an `ETag`, answering `If-None-Match` with
//! 304. That is what lets the page take the crowd on an incident's worst minute.

use crate::plumbing::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use frontline_core::component::ComponentStatus;
use frontline_core::incident::{IncidentState, Severity};
use frontline_core::statement::{Audience, Statement};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

mod answer;
pub use answer::fast_path;
use answer::harden;

/// How far back the history goes.
const HISTORY_DAYS: i64 = 90;
/// How often the refresher looks for changes made by other processes.
const POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// The default language (statements are written in it; translations add others).
const DEFAULT_LANG: &str = "en";

/// One rendered representation, with the headers of its answers made once: a crowd reading
/// the page costs a copy of them, not their building.
#[derive(Debug, Clone)]
struct Rendered {
    body: Bytes,
    etag: HeaderValue,
    /// The headers of a `200`.
    full: HeaderMap,
    /// The headers of a `304` (no content type).
    not_modified: HeaderMap,
}

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";
const ATOM: &str = "application/atom+xml";

/// Every representation of the current state, per language.
#[derive(Debug, Clone, Default)]
pub struct Pages {
    html: HashMap<String, Rendered>,
    atom: HashMap<String, Rendered>,
    json: Option<Rendered>,
    /// The feed position the pages were built from.
    built_at_seq: i64,
}

/// The shared, always-ready pages.
pub type SharedPages = Arc<RwLock<Pages>>;

/// The public routes (no token).
pub fn router() -> Router<AppState> {
    use answer::{atom, html, json};
    Router::new()
        .route("/status", get(html))
        .route("/status.json", get(json))
        .route("/status/feed.atom", get(atom))
}

// ---------------------------------------------------------------------------------------------
// The snapshot: what may be shown.

/// A component as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicComponent {
    /// Its name.
    pub name: String,
    /// Its state: the worse of what people set and what open incidents on it imply.
    pub status: ComponentStatus,
    /// Words for people.
    pub label: &'static str,
}

/// One public update (a publication of a public statement).
#[derive(Debug, Clone, Serialize)]
pub struct PublicUpdate {
    /// The text, in the chosen language where a translation exists.
    pub body: String,
    /// When it was published.
    pub at: DateTime<Utc>,
    /// The same, for people.
    pub at_text: String,
}

/// An incident as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicIncident {
    /// Its number.
    pub id: i64,
    /// The title of its public statement (never the internal one).
    pub title: String,
    /// Open or resolved, in words.
    pub state_label: &'static str,
    /// `investigating`, ... as in the API.
    pub state: IncidentState,
    /// Whether it is still open.
    pub open: bool,
    /// The services it affects.
    pub services: Vec<String>,
    /// Its public updates, newest first.
    pub updates: Vec<PublicUpdate>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Snapshot {
    components: Vec<PublicComponent>,
    /// Per incident: its public statements (published only), and the incident's public facts.
    incidents: Vec<(PublicFacts, Vec<Statement>)>,
    languages: BTreeSet<String>,
    generated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct PublicFacts {
    id: i64,
    state: IncidentState,
    severity: Severity,
    services: Vec<String>,
    resolved_at: Option<DateTime<Utc>>,
}

fn implied(severity: Severity) -> ComponentStatus {
    match severity {
        Severity::Sev1 => ComponentStatus::MajorOutage,
        Severity::Sev2 => ComponentStatus::PartialOutage,
        Severity::Sev3 | Severity::Sev4 => ComponentStatus::Degraded,
    }
}

async fn snapshot(state: &AppState) -> Result<Snapshot, frontline_store::StoreError> {
    let now = Utc::now();
    let statements = state
        .store
        .published_statements(Audience::Public, now - Duration::days(HISTORY_DAYS))
        .await?;
    let mut by_incident: BTreeMap<i64, Vec<Statement>> = BTreeMap::new();
    let mut languages = BTreeSet::new();
    for s in statements {
        for p in &s.publications {
            if let Some(v) = s.versions.iter().find(|v| v.number == p.version) {
                languages.extend(v.translations.keys().cloned());
            }
        }
        by_incident.entry(s.incident_id).or_default().push(s);
    }
    let mut incidents = Vec::new();
    for (id, statements) in by_incident {
        let Some(detail) = state.store.get_incident(id).await? else {
            continue;
        };
        let i = detail.incident;
        incidents.push((
            PublicFacts {
                id,
                state: i.state,
                severity: i.severity,
                services: i.services,
                resolved_at: i.resolved_at,
            },
            statements,
        ));
    }
    // Components: what people set, made worse by open incidents that were announced publicly.
    let mut status: BTreeMap<String, ComponentStatus> = state
        .store
        .list_components()
        .await?
        .into_iter()
        .map(|c| (c.name, c.status))
        .collect();
    for (facts, _) in &incidents {
        if facts.state.is_open() {
            for service in &facts.services {
                let s = status
                    .entry(service.clone())
                    .or_insert(ComponentStatus::Operational);
                *s = (*s).max(implied(facts.severity));
            }
        }
    }
    let components = status
        .into_iter()
        .map(|(name, status)| PublicComponent {
            name,
            status,
            label: status.label(),
        })
        .collect();
    Ok(Snapshot {
        components,
        incidents,
        languages,
        generated_at: now,
    })
}

/// The incidents in `lang` (translations where they exist), newest first.
fn public_incidents(snap: &Snapshot, lang: &str) -> Vec<PublicIncident> {
    let mut out: Vec<PublicIncident> = snap
        .incidents
        .iter()
        .map(|(facts, statements)| {
            let mut updates: Vec<(DateTime<Utc>, String, Option<String>)> = Vec::new();
            for s in statements {
                for p in &s.publications {
                    let Some(v) = s.versions.iter().find(|v| v.number == p.version) else {
                        continue;
                    };
                    let t = v.translations.get(lang);
                    let body = t.map_or(v.body.clone(), |t| t.body.clone());
                    let title = t.and_then(|t| t.title.clone()).or_else(|| v.title.clone());
                    updates.push((p.at, body, title));
                }
            }
            updates.sort_by_key(|u| std::cmp::Reverse(u.0));
            let title = updates
                .iter()
                .find_map(|u| u.2.clone())
                .unwrap_or_else(|| "Service incident".to_owned());
            PublicIncident {
                id: facts.id,
                title,
                state_label: match facts.state {
                    IncidentState::Investigating => "Investigating",
                    IncidentState::Identified => "Identified",
                    IncidentState::Monitoring => "Monitoring",
                    IncidentState::Resolved => "Resolved",
                },
                state: facts.state,
                open: facts.state.is_open(),
                services: facts.services.clone(),
                updates: updates
                    .into_iter()
                    .map(|(at, body, _)| PublicUpdate {
                        body,
                        at,
                        at_text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    })
                    .collect(),
                resolved_at: facts.resolved_at,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let latest = |i: &PublicIncident| i.updates.first().map(|u| u.at);
        latest(b).cmp(&latest(a))
    });
    out
}

fn overall(snap: &Snapshot, incidents: &[PublicIncident]) -> PublicComponent {
    let worst = snap
        .components
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(ComponentStatus::Operational);
    let (status, label) = match worst {
        ComponentStatus::Operational if incidents.iter().any(|i| i.open) => {
            (ComponentStatus::Degraded, "We are working on an incident")
        }
        ComponentStatus::Operational => (worst, "All systems operational"),
        ComponentStatus::Degraded => (worst, "Some systems are degraded"),
        ComponentStatus::PartialOutage => (worst, "Partial outage"),
        ComponentStatus::MajorOutage => (worst, "Major outage"),
    };
    PublicComponent {
        name: String::new(),
        status,
        label,
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

fn rendered(body: Vec<u8>, content_type: &'static str) -> Rendered {
    let digest = Sha256::digest(&body);
    let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let mut not_modified = harden(content_type);
    not_modified.insert(header::ETAG, etag.clone());
    not_modified.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=5"),
    );
    not_modified.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    let mut full = not_modified.clone();
    full.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Rendered {
        body: Bytes::from(body),
        etag,
        full,
        not_modified,
    }
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // A template that does not parse is a bug caught by every test that renders the page.
    env.add_template(
        "status.html",
        include_str!("../../../templates/status.html"),
    )
    .unwrap_or_else(|e| panic!("the status template is broken: {e}"));
    env
}

fn render_html(
    env: &minijinja::Environment<'_>,
    snap: &Snapshot,
    lang: &str,
    public_url: &str,
    email: bool,
) -> Result<Vec<u8>, minijinja::Error> {
    let incidents = public_incidents(snap, lang);
    let (open, past): (Vec<_>, Vec<_>) = incidents.iter().cloned().partition(|i| i.open);
    let html = env
        .get_template("status.html")?
        .render(minijinja::context! {
            lang => lang,
            page_title => "Service status",
            public_url => public_url,
            overall => overall(snap, &incidents),
            components => snap.components,
            open => open,
            past => past,
            generated_at => snap.generated_at.to_rfc3339(),
            generated_at_text => snap.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        email_subscriptions => email,
        })?;
    Ok(html.into_bytes())
}

fn render_json(snap: &Snapshot) -> Vec<u8> {
    let incidents = public_incidents(snap, DEFAULT_LANG);
    let (open, past): (Vec<_>, Vec<_>) = incidents.iter().cloned().partition(|i| i.open);
    let translations: BTreeMap<String, Vec<PublicIncident>> = snap
        .languages
        .iter()
        .map(|l| (l.clone(), public_incidents(snap, l)))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "status": overall(snap, &incidents),
        "components": snap.components,
        "incidents": open,
        "history": past,
        "translations": translations,
        "generated_at": snap.generated_at,
    }))
    .unwrap_or_default()
}

fn render_atom(snap: &Snapshot, lang: &str, public_url: &str) -> Vec<u8> {
    use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
    let incidents = public_incidents(snap, lang);
    let mut entries = Vec::new();
    for i in &incidents {
        for (n, u) in i.updates.iter().enumerate() {
            let at = u.at.fixed_offset();
            entries.push(Entry {
                title: Text::plain(format!("{} ({})", i.title, i.state_label)),
                id: format!(
                    "{public_url}/status#incident-{}-update-{}",
                    i.id,
                    i.updates.len() - n
                ),
                updated: at,
                published: Some(at),
                links: vec![Link {
                    href: format!("{public_url}/status#incident-{}", i.id),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                }],
                content: Some(Content {
                    value: Some(u.body.clone()),
                    content_type: Some("text".into()),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    let updated = entries
        .first()
        .map_or(snap.generated_at.fixed_offset(), |e| e.updated);
    let feed = Feed {
        title: Text::plain("Service status"),
        id: format!("{public_url}/status"),
        updated,
        authors: vec![Person {
            name: "Service status".into(),
            ..Default::default()
        }],
        links: vec![
            Link {
                href: format!("{public_url}/status/feed.atom"),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: format!("{public_url}/status"),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        lang: Some(lang.to_owned()),
        entries,
        ..Default::default()
    };
    xml_document(&feed).into_bytes()
}

/// The feed as XML. Escaping cannot make a forbidden character legal XML: any that a text
/// stored before the intake refused them still holds is dropped, so one character never
/// breaks the feed for as long as its update is listed.
fn xml_document(feed: &atom_syndication::Feed) -> String {
    let mut xml = feed.to_string();
    xml.retain(|c| !frontline_core::field::unwritable(c));
    xml
}

/// Rebuilds every page from the store.
///
/// # Errors
/// When the store fails or a template does not render.
pub async fn rebuild(state: &AppState, env: &minijinja::Environment<'_>) -> anyhow::Result<Pages> {
    let seq = state.store.feed_head().await?;
    let snap = snapshot(state).await?;
    let url = state.config.public_url.trim_end_matches('/');
    let mut pages = Pages {
        json: Some(rendered(render_json(&snap), JSON)),
        built_at_seq: seq,
        ..Pages::default()
    };
    let email = state.subscriptions.email_enabled();
    let mut langs: Vec<String> = vec![DEFAULT_LANG.to_owned()];
    langs.extend(snap.languages.iter().cloned());
    for lang in langs {
        pages.html.insert(
            lang.clone(),
            rendered(render_html(env, &snap, &lang, url, email)?, HTML),
        );
        pages
            .atom
            .insert(lang.clone(), rendered(render_atom(&snap, &lang, url), ATOM));
    }
    Ok(pages)
}

/// The templates, parsed once for the refresher and the requests that rebuild.
static ENV: std::sync::LazyLock<minijinja::Environment<'static>> =
    std::sync::LazyLock::new(environment);

/// The feed position the served pages were built at (none before the first build).
fn served_at(state: &AppState) -> Option<i64> {
    let current = state.status.read().ok()?;
    current.json.is_some().then_some(current.built_at_seq)
}

/// Rebuilds the pages now and serves them, unless newer ones are served already: a change to
/// what the public sees (a publication, a component's state) is on the page when the request
/// that made it is answered, so the person who publishes and looks sees it. The refresher uses
/// it too. A failure is logged; the refresher tries again on its next wake or poll.
pub async fn rebuild_now(state: &AppState) {
    match rebuild(state, &ENV).await {
        Ok(pages) => {
            if let Ok(mut current) = state.status.write() {
                if current.json.is_none() || pages.built_at_seq >= current.built_at_seq {
                    *current = pages;
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "status page: rebuilding failed"),
    }
}

/// Keeps the pages current: rebuilds at once when this process changes the feed, and when
/// the feed moved in another process (checked every second), unless a request rebuilt them
/// at that position already. Runs until `shutdown`.
pub async fn refresh(state: AppState, shutdown: tokio_util::sync::CancellationToken) {
    let mut wake = state.feed.subscribe();
    loop {
        wake.borrow_and_update();
        match state.store.feed_head().await {
            Ok(head) if served_at(&state).is_none_or(|built| built < head) => {
                rebuild_now(&state).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "status page: reading the feed failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = wake.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atom_syndication::{Feed, Text};

    #[test]
    fn a_character_xml_forbids_never_reaches_the_feed() {
        let feed = Feed {
            title: Text::plain("Service status \u{FFFE}"),
            entries: vec![atom_syndication::Entry {
                title: Text::plain("Fixed\u{FFFF} at last\u{1}"),
                ..Default::default()
            }],
            ..Default::default()
        };
        let xml = xml_document(&feed);
        assert!(!xml.contains(['\u{FFFE}', '\u{FFFF}', '\u{1}']), "{xml}");
        assert!(xml.contains("Fixed at last"), "{xml}");
        let read: Feed = xml.parse().expect("the feed reads back");
        assert_eq!(read.entries[0].title.as_str(), "Fixed at last");
    }
}
