//! What every backend does the same way around an intake batch: which inputs were stored, and
//! the audit record that summarises the batch.

use crate::{Inserted, Origin};
use frontline_core::audit::AuditEntry;
use std::collections::{BTreeSet, HashSet};

/// Each input's fate, given the (`source`, `id`) keys the database stored now. When a key
/// appears twice in one batch, its first appearance was stored and the later ones are
/// duplicates.
pub fn outcomes<'a>(
    keys: impl Iterator<Item = (&'a str, &'a str)>,
    mut inserted: HashSet<(String, String)>,
) -> Vec<Inserted> {
    keys.map(|(source, id)| {
        if inserted.remove(&(source.to_owned(), id.to_owned())) {
            Inserted::Accepted
        } else {
            Inserted::Duplicate
        }
    })
    .collect()
}

/// The audit record of an intake batch: counts and sources, never contents. `None` when
/// nothing new was stored (a batch of duplicates changes nothing).
pub fn audit_entry<'a>(
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
            .with_request_id(origin.request_id.clone()),
    )
}

/// The audit record of resolved security events; `None` when none changed.
pub fn resolution_audit_entry<'a>(
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
        .with_request_id(origin.request_id.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use frontline_core::audit::Actor;

    #[test]
    fn first_appearance_wins_and_empty_batches_are_not_audited() {
        let inserted: HashSet<_> = [("a".to_owned(), "1".to_owned())].into();
        let out = outcomes([("a", "1"), ("a", "1"), ("b", "2")].into_iter(), inserted);
        assert_eq!(
            out,
            vec![Inserted::Accepted, Inserted::Duplicate, Inserted::Duplicate]
        );
        let origin = Origin::new(Actor::System);
        assert!(
            audit_entry("x", "y", ["a"].into_iter(), &[Inserted::Duplicate], &origin).is_none()
        );
        let e = audit_entry("x", "y", ["b", "a", "b"].into_iter(), &out, &origin).unwrap();
        assert_eq!(
            e.detail,
            serde_json::json!({"accepted": 1, "duplicates": 2, "sources": ["a", "b"]})
        );
    }
}
