//! Gathers the [`Facts`] an incident's metrics are computed from, through the [`Store`]
//! trait, so both backends answer alike. Read at request time: a contact linked later moves the
//! figures on the next read.

use crate::{ContactQuery, Store, StoreError, query::MAX_LIMIT};
use chrono::{DateTime, Utc};
use frontline_core::contact::Contact;
use frontline_core::incident::Signal;
use frontline_core::metrics::{AlertFact, ContactFact, DEFLECTION_WINDOW, Facts, PublicationFact};
use frontline_core::role::Role;
use std::collections::BTreeSet;

/// The most related contacts read for one incident; beyond it the impact figures are lower
/// bounds and say so (`truncated`).
pub const MAX_CONTACTS: usize = 100_000;

/// How much to gather.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Milestones only: linked signals, timeline, statements (for the trends).
    Milestones,
    /// Milestones and the customer impact (contacts on the linked alerts' topics).
    Impact,
}

fn fact(c: &Contact, linked: bool) -> ContactFact {
    ContactFact {
        key: (c.contact.key.source.clone(), c.contact.key.id.clone()),
        received_at: c.contact.received_at,
        channel: c.contact.channel.as_str().to_owned(),
        topics: c.contact.topics.clone(),
        customer: c.contact.customer.clone(),
        linked,
    }
}

/// The whole timeline of incident `id` (its feed entries), oldest first.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached.
pub async fn timeline(
    store: &dyn Store,
    id: i64,
) -> Result<Vec<frontline_core::feed::FeedEntry>, StoreError> {
    let mut entries = Vec::new();
    loop {
        let after = entries
            .last()
            .map_or(0, |e: &frontline_core::feed::FeedEntry| e.seq);
        let page = store.feed_after(after, Some(id), 1000).await?;
        let done = page.len() < 1000;
        entries.extend(page);
        if done {
            return Ok(entries);
        }
    }
}

/// Gathers the facts of incident `id` as of `now`; `None` for an unknown incident.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached.
pub async fn gather(
    store: &dyn Store,
    id: i64,
    now: DateTime<Utc>,
    depth: Depth,
) -> Result<Option<Facts>, StoreError> {
    let Some(detail) = store.get_incident(id).await? else {
        return Ok(None);
    };
    let timeline = timeline(store, id).await?;
    let mut alerts = Vec::new();
    let mut alert_topics = Vec::new();
    let mut contact_keys: Vec<(String, String)> = Vec::new();
    let mut security_events = Vec::new();
    let mut reports = Vec::new();
    for link in &detail.links {
        match &link.signal {
            Signal::Alert { id } => {
                if let Some(a) = store.get_alert(id).await? {
                    contact_keys.extend(
                        a.detected
                            .evidence
                            .iter()
                            .map(|e| (e.source.clone(), e.id.clone())),
                    );
                    if let Some(topic) = &a.detected.topic {
                        alert_topics.push((
                            topic.clone(),
                            a.detected.service.clone(),
                            a.detected.channel.as_deref().and_then(|c| c.parse().ok()),
                        ));
                    }
                    alerts.push(AlertFact {
                        id: id.clone(),
                        raised_at: a.created_at,
                        started_at: a.detected.started_at,
                        state: a.state,
                        state_by: a.state_by,
                        state_at: a.state_at,
                    });
                }
            }
            Signal::Contact { source, id } => contact_keys.push((source.clone(), id.clone())),
            Signal::SecurityEvent { source, id } => {
                if let Some(e) = store.get_security_event(source, id).await? {
                    security_events.push(e.event.observed_at);
                }
            }
            Signal::Report { id } => {
                if let Some(r) = store.get_report(*id).await? {
                    reports.push(r.report.filed_at);
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut contacts = Vec::new();
    for (source, cid) in contact_keys {
        if seen.insert((source.clone(), cid.clone()))
            && let Some(c) = store.get_contact(&source, &cid).await?
        {
            contacts.push(fact(&c, true));
        }
    }
    let publications = store
        .list_statements(id)
        .await?
        .into_iter()
        .flat_map(|s| {
            s.publications.into_iter().map(move |p| PublicationFact {
                statement_id: s.id,
                version: p.version,
                audience: s.audience,
                at: p.at,
                by: p.by,
            })
        })
        .collect();
    let security_users = store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.roles.contains(&Role::Security))
        .map(|u| u.name)
        .collect();
    let mut facts = Facts {
        links: detail.links,
        incident: detail.incident,
        timeline,
        contacts,
        alerts,
        security_events,
        reports,
        publications,
        security_users,
        now,
        truncated: false,
    };
    if depth == Depth::Impact {
        let (start, end) = facts.window();
        'topics: for (topic, service, channel) in alert_topics {
            let mut query = ContactQuery {
                since: Some(start - DEFLECTION_WINDOW),
                until: Some(end + DEFLECTION_WINDOW),
                channel,
                service,
                topic: Some(topic),
                limit: MAX_LIMIT,
                ..ContactQuery::default()
            };
            loop {
                let page = store.list_contacts(&query).await?;
                for c in &page.items {
                    if seen.insert((c.contact.key.source.clone(), c.contact.key.id.clone())) {
                        facts.contacts.push(fact(c, false));
                    }
                }
                if facts.contacts.len() >= MAX_CONTACTS {
                    facts.truncated = true;
                    break 'topics;
                }
                match page.next_cursor {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
        }
    }
    Ok(Some(facts))
}
