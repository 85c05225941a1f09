//! The audit entry of each kind of change, built the same way in every backend; each backend
//! appends it in the transaction of the change.

use crate::{Inserted, NewToken, Origin};
use frontline_core::audit::AuditEntry;
use frontline_core::ids::TokenId;
use std::collections::BTreeSet;

/// A token was created; says whether its user was created and its role newly granted.
pub fn token_created(
    token: &NewToken,
    user_created: bool,
    role_added: bool,
    origin: &Origin,
) -> AuditEntry {
    // The person is the target (a sealed field, erasable), the token in the detail.
    AuditEntry::new(
        origin.actor.clone(),
        "token.create",
        format!("user:{}", token.user),
    )
    .with_detail(serde_json::json!({
        "token": token.id,
        "role": token.role,
        "user_created": user_created,
        "role_added": role_added,
        "expires_at": token.expires_at,
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// A token was revoked.
pub fn token_revoked(id: &TokenId, origin: &Origin) -> AuditEntry {
    AuditEntry::new(origin.actor.clone(), "token.revoke", format!("token:{id}"))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone())
}

/// The audit record of an intake batch: counts and sources, never contents. `None` when
/// nothing new was stored (a batch of duplicates changes nothing).
pub fn intake<'a>(
    action: &str,
    target: &str,
    sources: impl Iterator<Item = &'a str>,
    outcome: &[Inserted],
    origin: &Origin,
) -> Option<AuditEntry> {
    let accepted = outcome.iter().filter(|o| **o == Inserted::Accepted).count();
    if accepted == 0 {
        return None;
    }
    let sources: BTreeSet<&str> = sources.collect();
    Some(
        AuditEntry::new(origin.actor.clone(), action, target)
            .with_detail(serde_json::json!({
                "accepted": accepted,
                "duplicates": outcome.len() - accepted,
                "sources": sources,
            }))
            .with_request_id(origin.request_id.clone())
            .with_client(origin.client.clone()),
    )
}

/// The audit record of resolved security events; `None` when none changed.
pub fn resolution<'a>(
    sources: impl Iterator<Item = &'a str>,
    resolved: usize,
    origin: &Origin,
) -> Option<AuditEntry> {
    if resolved == 0 {
        return None;
    }
    let sources: BTreeSet<&str> = sources.collect();
    Some(
        AuditEntry::new(
            origin.actor.clone(),
            "security_events.resolve",
            "security_events",
        )
        .with_detail(serde_json::json!({"resolved": resolved, "sources": sources}))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone()),
    )
}

/// An alert was acknowledged or dismissed.
pub fn alert_state(
    id: &str,
    state: frontline_core::alert::AlertState,
    reason: Option<&str>,
    origin: &Origin,
) -> AuditEntry {
    let action = match state {
        frontline_core::alert::AlertState::Open => "alert.reopen",
        frontline_core::alert::AlertState::Acknowledged => "alert.ack",
        frontline_core::alert::AlertState::Dismissed => "alert.dismiss",
    };
    AuditEntry::new(origin.actor.clone(), action, format!("alert:{id}"))
        .with_detail(serde_json::json!({ "reason": reason }))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone())
}

/// A person corrected a contact's topics (the text is not repeated: it stays with the
/// contact, and goes when the contact goes).
pub fn topics_corrected(
    source: &str,
    id: &str,
    before: &[String],
    after: &[String],
    origin: &Origin,
) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "contact.topics_corrected",
        format!("contact:{source}/{id}"),
    )
    .with_detail(serde_json::json!({ "before": before, "after": after }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// The feed entry of a newly raised alert: what the security on-call needs to judge it
/// without opening a page (no contact texts; the alert's evidence stays behind the API).
pub fn alert_raised(
    a: &frontline_core::alert::DetectedAlert,
) -> frontline_core::feed::NewFeedEntry {
    frontline_core::feed::NewFeedEntry {
        kind: frontline_core::feed::FeedKind::AlertRaised,
        incident_id: None,
        actor: "system".into(),
        data: serde_json::json!({
            "alert_id": a.alert_id,
            "kind": a.kind,
            "topic": a.topic,
            "service": a.service,
            "channel": a.channel,
            "started_at": a.started_at,
            "raised_at": a.raised_at,
            "observed": a.observed,
            "expected": a.expected,
            "score": a.score,
            "customers": a.customers,
            "language": a.language,
            "group_id": a.group_id,
        }),
    }
}

/// The feed entry of an alert that joined a family already raised: the family (its first
/// alert's id) grew, so subscribers hear of the wave once and then of its growth.
pub fn alert_joined(
    group: &str,
    a: &frontline_core::alert::DetectedAlert,
) -> frontline_core::feed::NewFeedEntry {
    frontline_core::feed::NewFeedEntry {
        kind: frontline_core::feed::FeedKind::AlertUpdated,
        incident_id: None,
        actor: "system".into(),
        data: serde_json::json!({
            "alert_id": group,
            "state": "grew",
            "member": {
                "alert_id": a.alert_id,
                "kind": a.kind,
                "topic": a.topic,
                "language": a.language,
                "observed": a.observed,
                "customers": a.customers,
            },
        }),
    }
}

/// The feed entry of an alert acknowledged or dismissed.
pub fn alert_updated(
    id: &str,
    state: frontline_core::alert::AlertState,
    reason: Option<&str>,
    origin: &Origin,
) -> frontline_core::feed::NewFeedEntry {
    frontline_core::feed::NewFeedEntry {
        kind: frontline_core::feed::FeedKind::AlertUpdated,
        incident_id: None,
        actor: origin.actor.to_string(),
        data: serde_json::json!({"alert_id": id, "state": state.as_str(), "reason": reason}),
    }
}

/// A webhook was created. Only the URL's scheme and host are recorded: some receivers (Slack)
/// put their secret in the path.
pub fn webhook_created(
    id: i64,
    new: &frontline_core::webhook::NewWebhook,
    origin: &Origin,
) -> AuditEntry {
    let host = new
        .url
        .split_once("://")
        .map(|(scheme, rest)| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}")
        })
        .unwrap_or_default();
    AuditEntry::new(
        origin.actor.clone(),
        "webhook.create",
        format!("webhook:{id}"),
    )
    .with_detail(serde_json::json!({
        "target": host,
        "format": new.format.as_str(),
        "events": new.events.names(),
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// A webhook was deleted.
pub fn webhook_deleted(id: i64, origin: &Origin) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "webhook.delete",
        format!("webhook:{id}"),
    )
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// The feed entry and audit record of a component's new state.
pub fn component(
    name: &str,
    status: frontline_core::component::ComponentStatus,
    origin: &Origin,
) -> (frontline_core::feed::NewFeedEntry, AuditEntry) {
    let data = serde_json::json!({"name": name, "status": status.as_str()});
    (
        frontline_core::feed::NewFeedEntry {
            kind: frontline_core::feed::FeedKind::ComponentUpdated,
            incident_id: None,
            actor: origin.actor.to_string(),
            data: data.clone(),
        },
        AuditEntry::new(
            origin.actor.clone(),
            "component.set",
            format!("component:{name}"),
        )
        .with_detail(data)
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone()),
    )
}

/// An incident's review was saved: the counts, not the texts (the review keeps those).
pub fn review_saved(
    incident: i64,
    sections: &frontline_core::review::ReviewSections,
    origin: &Origin,
) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "review.save",
        format!("incident:{incident}"),
    )
    .with_detail(serde_json::json!({
        "went_well": sections.went_well.len(),
        "went_wrong": sections.went_wrong.len(),
        "actions": sections.actions.len(),
        "summary_bytes": sections.summary.len(),
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// A password was set (never the hash).
pub fn password_set(
    user: &str,
    role: Option<frontline_core::Role>,
    must_change: bool,
    user_created: bool,
    origin: &Origin,
) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "user.password",
        format!("user:{user}"),
    )
    .with_detail(serde_json::json!({
        "role": role,
        "one_time": must_change,
        "user_created": user_created,
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// Access was taken away from a user: one role, or everything.
pub fn access_removed(
    user: &str,
    role: Option<frontline_core::Role>,
    removed: &crate::people::AccessRemoved,
    origin: &Origin,
) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "user.access_removed",
        format!("user:{user}"),
    )
    .with_detail(serde_json::json!({
        "role": role.map_or("all", |r| r.as_str()),
        "roles_removed": removed.roles,
        "sessions_ended": removed.sessions,
        "tokens_revoked": removed.tokens,
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// A session began (a sign-in) or ended.
pub fn session(action: &str, id: &str, user: &str, origin: &Origin) -> AuditEntry {
    // The person is the target (a sealed field, erasable), the session in the detail.
    AuditEntry::new(origin.actor.clone(), action, format!("user:{user}"))
        .with_detail(serde_json::json!({"session": id}))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone())
}

/// A helpdesk connection was created. Its credentials are not recorded, sealed or not.
pub fn helpdesk_created(new: &crate::helpdesks::NewHelpdesk, origin: &Origin) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "helpdesk.create",
        format!("helpdesk:{}", new.name),
    )
    .with_detail(serde_json::json!({
        "kind": new.kind,
        "base_url": new.base_url,
        "signed": new.signing_sealed.is_some(),
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// A helpdesk connection was changed: which fields (never their secret values).
pub fn helpdesk_changed(
    name: &str,
    change: &crate::helpdesks::HelpdeskChange,
    origin: &Origin,
) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "helpdesk.change",
        format!("helpdesk:{name}"),
    )
    .with_detail(serde_json::json!({
        "base_url": change.base_url,
        "auth_replaced": change.auth_sealed.is_some(),
        "signing_secret_rotated": change.rotate_signing.is_some(),
        "previous_secret_accepted_until": change.rotate_signing.as_ref().map(|(_, until)| until.to_rfc3339()),
    }))
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

/// A helpdesk connection was deleted.
pub fn helpdesk_deleted(name: &str, origin: &Origin) -> AuditEntry {
    AuditEntry::new(
        origin.actor.clone(),
        "helpdesk.delete",
        format!("helpdesk:{name}"),
    )
    .with_request_id(origin.request_id.clone())
    .with_client(origin.client.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use frontline_core::audit::Actor;

    #[test]
    fn batches_that_store_nothing_are_not_audited() {
        let origin = Origin::new(Actor::System);
        assert!(intake("x", "y", ["a"].into_iter(), &[Inserted::Duplicate], &origin).is_none());
        let out = [Inserted::Accepted, Inserted::Duplicate, Inserted::Duplicate];
        let e = intake("x", "y", ["b", "a", "b"].into_iter(), &out, &origin).unwrap();
        assert_eq!(
            e.detail,
            serde_json::json!({"accepted": 1, "duplicates": 2, "sources": ["a", "b"]})
        );
        assert!(resolution(["a"].into_iter(), 0, &origin).is_none());
    }
}
