//! The conformance suite: every backend runs every test here, each on a fresh database, through
//! [`conformance_tests!`](crate::conformance_tests). A test panics when the backend breaks the
//! interface's contract.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::{
    AlertQuery, Claim, ContactQuery, DeliveryQuery, IncidentQuery, Inserted, NewToken, Node,
    Origin, ReportQuery, Resolution, SecurityEventQuery, Settled, Store, StoreError,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use frontline_core::Role;
use frontline_core::alert::{AlertKind, AlertState, DetectedAlert, Evidence};
use frontline_core::audit::{Actor, GENESIS_HASH};
use frontline_core::contact::{Channel, ContactKey, RedactedContact};
use frontline_core::ids::TokenId;
use frontline_core::incident::{
    IncidentChange, IncidentRole, IncidentState, NewIncident, Severity as IncidentSeverity, Signal,
    SignalState,
};
use frontline_core::report::{ContactRef, NewReport, ReportCategory, ReportState};
use frontline_core::security_event::{NewSecurityEvent, Severity};
use frontline_core::webhook::{
    Delivery, DeliveryStatus, KindFilter, NewWebhook, WebhookFormat, idempotency_key,
};

/// Expands to one `#[tokio::test]` per conformance test. `$make` is an expression whose value
/// is a future of `Option<(Arc<dyn Store>, guard)>`; the guard (a temp dir, a database to drop)
/// lives as long as the test, and `None` skips it (the backend has said why).
mod lifecycle;
mod portable;
pub use lifecycle::*;
pub use portable::*;

#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            secrets_are_generated_once,
            tokens_create_users_and_add_roles,
            revoking_a_token_is_recorded_and_unknown_ids_are_not_found,
            duplicate_token_ids_conflict,
            contacts_are_idempotent_on_source_and_id,
            corrected_topics_replace_the_contacts_and_are_kept_for_training,
            contacts_page_in_order_without_skips_or_repeats,
            contact_filters_narrow_the_list,
            security_events_round_trip_and_filter,
            resolving_marks_active_events_once,
            alerts_upsert_keep_their_state_and_move_forward_only,
            one_wave_raises_one_alert_and_then_grows,
            new_contacts_are_followed_in_intake_order,
            a_lease_has_one_holder_until_it_expires,
            nodes_report_themselves_and_the_silent_ones_drop_out,
            requests_are_counted_in_shared_windows,
            every_change_is_chained_in_the_audit_log,
            concurrent_batches_keep_every_row_and_the_chain,
            incidents_open_change_and_keep_a_timeline,
            signals_link_to_one_incident_and_bad_changes_change_nothing,
            the_feed_is_gapless_across_concurrent_writers,
            webhooks_keep_their_cursor_and_deliveries,
            outbox_work_is_claimed_by_one_node_at_a_time,
            helpdesk_connections_rotate_secrets_and_take_each_event_once,
            helpdesk_writes_are_planned_once_superseded_and_never_sent_twice,
            reports_are_filed_linked_and_triaged,
            incidents_merge_and_split_moving_their_signals,
            contact_impact_counts_contacts_customers_and_topics,
            statements_need_both_teams_and_the_last_word_before_resolving,
            subscribers_confirm_unsubscribe_and_their_messages_are_queued_once,
            users_are_listed_with_their_roles,
            reviews_are_saved_whole_audited_and_only_for_incidents,
            topics_are_counted_per_week_from_monday,
            incident_facts_are_gathered_from_links_statements_and_topics,
            passwords_and_sessions_are_kept_as_digests_and_end_once,
            access_is_taken_away_by_role_or_whole,
            retention_removes_what_is_past_its_window_and_nothing_an_open_incident_needs,
            erasure_removes_one_customers_data_and_nothing_else,
            a_person_is_erased_everywhere_and_the_audit_chain_still_verifies,
            an_export_imports_back_whole_and_numbering_goes_on,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some((store, _guard)) = $make.await else {
                    return;
                };
                $crate::conformance::$name(&*store).await;
            }
        )*
    };
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + Duration::minutes(minute)
}

fn origin() -> Origin {
    Origin::new(Actor::User {
        name: "tester".into(),
    })
}

pub fn contact(source: &str, id: &str, minute: i64) -> RedactedContact {
    RedactedContact {
        key: ContactKey {
            source: source.into(),
            id: id.into(),
        },
        channel: Channel::Ticket,
        received_at: at(minute),
        text: format!("cant login, contact {id}"),
        customer: Some("9f86d081884c7d659a2feaa0c55ad015".into()),
        service: Some("web".into()),
        region: Some("eu".into()),
        language: Some("en".into()),
        metadata: Some(serde_json::json!({"priority": "high", "tags": ["vip"]})),
        topics: vec!["account_access".into()],
    }
}

fn event(id: &str, minute: i64, severity: Severity) -> NewSecurityEvent {
    NewSecurityEvent {
        id: id.into(),
        source: "siem".into(),
        observed_at: at(minute),
        severity,
        title: format!("finding {id}"),
        service: Some("login".into()),
        indicators: serde_json::json!({"ips": ["203.0.113.7"]}),
        resolved_at: None,
    }
}

fn new_token(id: &str, user: &str, role: Role) -> NewToken {
    NewToken {
        id: TokenId(id.into()),
        user: user.into(),
        role,
        digest: [7; 32],
        expires_at: None,
    }
}

pub async fn secrets_are_generated_once(store: &dyn Store) {
    let first = store
        .secret_or_insert("pseudonym_key", b"one")
        .await
        .unwrap();
    let second = store
        .secret_or_insert("pseudonym_key", b"two")
        .await
        .unwrap();
    assert_eq!(first, b"one");
    assert_eq!(second, b"one", "a stored secret is never replaced");
    let other = store.secret_or_insert("other", b"three").await.unwrap();
    assert_eq!(other, b"three");
}

pub async fn tokens_create_users_and_add_roles(store: &dyn Store) {
    let a = store
        .create_token(new_token("t1", "alice", Role::Security), &origin())
        .await
        .unwrap();
    assert_eq!(a.user, "alice");
    assert_eq!(a.roles, vec![Role::Security]);
    let b = store
        .create_token(new_token("t2", "alice", Role::CxLead), &origin())
        .await
        .unwrap();
    assert_eq!(b.roles, vec![Role::Security, Role::CxLead]);
    // The same role again is not duplicated.
    store
        .create_token(new_token("t3", "alice", Role::CxLead), &origin())
        .await
        .unwrap();

    let creds = store
        .token_credentials(&TokenId("t1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.user, "alice");
    assert_eq!(creds.roles, vec![Role::Security, Role::CxLead]);
    assert_eq!(creds.digest, vec![7; 32]);
    assert!(creds.revoked_at.is_none());
    assert!(
        store
            .token_credentials(&TokenId("nope".into()))
            .await
            .unwrap()
            .is_none()
    );

    let listed = store.list_tokens().await.unwrap();
    let ids: Vec<_> = listed.iter().map(|t| t.id.0.as_str()).collect();
    assert_eq!(ids, vec!["t3", "t2", "t1"], "newest first");
}

pub async fn revoking_a_token_is_recorded_and_unknown_ids_are_not_found(store: &dyn Store) {
    store
        .create_token(new_token("t1", "bob", Role::Viewer), &origin())
        .await
        .unwrap();
    let revoked = store
        .revoke_token(&TokenId("t1".into()), &origin())
        .await
        .unwrap();
    let first_revocation = revoked.revoked_at.expect("revoked_at is set");
    let again = store
        .revoke_token(&TokenId("t1".into()), &origin())
        .await
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(first_revocation),
        "first revocation time kept"
    );
    let creds = store
        .token_credentials(&TokenId("t1".into()))
        .await
        .unwrap()
        .unwrap();
    assert!(creds.revoked_at.is_some());
    match store.revoke_token(&TokenId("zz".into()), &origin()).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

pub async fn duplicate_token_ids_conflict(store: &dyn Store) {
    store
        .create_token(new_token("same", "carol", Role::Viewer), &origin())
        .await
        .unwrap();
    let audit_before = store.audit_records(0, 1000).await.unwrap().len();
    match store
        .create_token(new_token("same", "dave", Role::Admin), &origin())
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    // Nothing of the failed change remains: no user dave, no audit record.
    let listed = store.list_tokens().await.unwrap();
    assert!(listed.iter().all(|t| t.user != "dave"));
    assert_eq!(
        store.audit_records(0, 1000).await.unwrap().len(),
        audit_before
    );
}

pub async fn corrected_topics_replace_the_contacts_and_are_kept_for_training(store: &dyn Store) {
    store
        .insert_contacts(
            &[contact("zendesk", "t1", 0), contact("zendesk", "t2", 1)],
            &origin(),
        )
        .await
        .unwrap();
    let phishing = vec!["phishing".to_owned()];
    let fixed = store
        .correct_topics("zendesk", "t1", &phishing, &origin())
        .await
        .unwrap();
    assert_eq!(fixed.contact.topics, phishing);
    let stored = store.get_contact("zendesk", "t1").await.unwrap().unwrap();
    assert_eq!(stored.contact.topics, phishing);
    // Corrected again (to none): training sees the latest word once.
    store
        .correct_topics("zendesk", "t1", &[], &origin())
        .await
        .unwrap();
    store
        .correct_topics("zendesk", "t2", &phishing, &origin())
        .await
        .unwrap();
    let kept = store.topic_corrections().await.unwrap();
    let seen: Vec<(&str, &[String])> = kept
        .iter()
        .map(|c| (c.id.as_str(), c.topics.as_slice()))
        .collect();
    assert_eq!(seen, vec![("t1", &[][..]), ("t2", &phishing[..])]);
    assert_eq!(kept[0].text, "cant login, contact t1");
    assert_eq!(kept[0].language.as_deref(), Some("en"));
    assert_eq!(kept[0].actor, "user:tester");
    match store
        .correct_topics("zendesk", "nope", &phishing, &origin())
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let audited = store
        .audit_records(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "contact.topics_corrected")
        .count();
    assert_eq!(audited, 3);
}

pub async fn contacts_are_idempotent_on_source_and_id(store: &dyn Store) {
    let original = contact("zendesk", "1", 0);
    let outcome = store
        .insert_contacts(&[original.clone(), contact("zendesk", "2", 1)], &origin())
        .await
        .unwrap();
    assert_eq!(outcome, vec![Inserted::Accepted, Inserted::Accepted]);

    let mut changed = original.clone();
    changed.text = "something else".into();
    let same_id_other_source = contact("intercom", "1", 2);
    let outcome = store
        .insert_contacts(
            &[changed, same_id_other_source, contact("zendesk", "2", 1)],
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        vec![Inserted::Duplicate, Inserted::Accepted, Inserted::Duplicate]
    );
    let stored = store.get_contact("zendesk", "1").await.unwrap().unwrap();
    assert_eq!(
        stored.contact, original,
        "a duplicate leaves the stored record as it was"
    );

    // The same key twice in one batch: the first wins.
    let outcome = store
        .insert_contacts(&[contact("x", "9", 0), contact("x", "9", 5)], &origin())
        .await
        .unwrap();
    assert_eq!(outcome, vec![Inserted::Accepted, Inserted::Duplicate]);
    assert_eq!(
        store
            .get_contact("x", "9")
            .await
            .unwrap()
            .unwrap()
            .contact
            .received_at,
        at(0)
    );
    assert!(store.get_contact("x", "10").await.unwrap().is_none());
}

pub async fn contacts_page_in_order_without_skips_or_repeats(store: &dyn Store) {
    // 25 contacts, several sharing a timestamp, inserted out of time order.
    let batch: Vec<_> = (0..25)
        .map(|i| contact("s", &format!("{i}"), (i * 7 % 5) as i64))
        .collect();
    store.insert_contacts(&batch, &origin()).await.unwrap();

    let mut seen = Vec::new();
    let mut query = ContactQuery {
        limit: 4,
        ..Default::default()
    };
    let mut pages = 0;
    loop {
        let page = store.list_contacts(&query).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 4);
        seen.extend(page.items.iter().map(|c| c.contact.clone()));
        // Rows committed between pages sort last (later received_at) and must not disturb
        // the walk over the rows that were there before.
        if pages == 2 {
            store
                .insert_contacts(&[contact("s", "late", 100)], &origin())
                .await
                .unwrap();
        }
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26, "every row once, the late one included");
    let mut keys: Vec<_> = seen.iter().map(|c| c.key.id.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 26, "no repeats");
    assert!(
        seen.windows(2)
            .all(|w| w[0].received_at <= w[1].received_at),
        "ordered by received_at"
    );
    // Ties keep intake order.
    let at_zero: Vec<_> = seen
        .iter()
        .filter(|c| c.received_at == at(0))
        .map(|c| c.key.id.as_str())
        .collect();
    assert_eq!(at_zero, vec!["0", "5", "10", "15", "20"]);
}

pub async fn contact_filters_narrow_the_list(store: &dyn Store) {
    let mut chat = contact("intercom", "c1", 10);
    chat.channel = Channel::Chat;
    chat.service = Some("billing".into());
    chat.topics = vec!["outage".into(), "performance".into()];
    store
        .insert_contacts(
            &[
                contact("zendesk", "t1", 0),
                contact("zendesk", "t2", 20),
                chat,
            ],
            &origin(),
        )
        .await
        .unwrap();
    let ids = |q: ContactQuery| async move {
        store
            .list_contacts(&q)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.contact.key.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(ContactQuery {
            channel: Some(Channel::Chat),
            ..Default::default()
        })
        .await,
        vec!["c1"]
    );
    assert_eq!(
        ids(ContactQuery {
            source: Some("zendesk".into()),
            ..Default::default()
        })
        .await,
        vec!["t1", "t2"]
    );
    assert_eq!(
        ids(ContactQuery {
            service: Some("billing".into()),
            ..Default::default()
        })
        .await,
        vec!["c1"]
    );
    assert_eq!(
        ids(ContactQuery {
            topic: Some("outage".into()),
            ..Default::default()
        })
        .await,
        vec!["c1"]
    );
    assert_eq!(
        ids(ContactQuery {
            topic: Some("account_access".into()),
            ..Default::default()
        })
        .await,
        vec!["t1", "t2"]
    );
    assert_eq!(
        ids(ContactQuery {
            since: Some(at(10)),
            until: Some(at(20)),
            ..Default::default()
        })
        .await,
        vec!["c1"],
        "since is inclusive, until exclusive"
    );
    let page = store
        .list_contacts(&ContactQuery {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert!(
        page.next_cursor.is_none(),
        "an exactly full last page has no next cursor"
    );
}

pub async fn security_events_round_trip_and_filter(store: &dyn Store) {
    let high = event("e1", 5, Severity::High);
    let outcome = store
        .insert_security_events(
            &[
                high.clone(),
                event("e2", 1, Severity::Low),
                event("e1", 9, Severity::Info),
            ],
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        vec![Inserted::Accepted, Inserted::Accepted, Inserted::Duplicate]
    );
    let stored = store
        .get_security_event("siem", "e1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.event, high);

    let all = store
        .list_security_events(&SecurityEventQuery::default())
        .await
        .unwrap();
    let ids: Vec<_> = all.items.iter().map(|e| e.event.id.as_str()).collect();
    assert_eq!(ids, vec!["e2", "e1"], "ordered by observed_at");
    let serious = store
        .list_security_events(&SecurityEventQuery {
            min_severity: Some(Severity::Medium),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(serious.items.len(), 1);
    assert_eq!(serious.items[0].event.id, "e1");
}

pub async fn resolving_marks_active_events_once(store: &dyn Store) {
    let mut already = event("old", 0, Severity::Low);
    already.resolved_at = Some(at(1));
    // A tool's own status among the indicators (Alertmanager's) follows the resolution.
    let mut e1 = event("e1", 0, Severity::High);
    e1.indicators = serde_json::json!({"status": "firing", "fingerprint": "f1"});
    store
        .insert_security_events(&[e1, already], &origin())
        .await
        .unwrap();
    let resolution = |id: &str, minute| Resolution {
        source: "siem".into(),
        id: id.into(),
        resolved_at: at(minute),
    };
    let changed = store
        .resolve_security_events(
            &[
                resolution("e1", 30),
                resolution("old", 40),
                resolution("unknown", 40),
            ],
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(changed, 1, "only the active, known event changes");
    let e1 = store
        .get_security_event("siem", "e1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e1.event.resolved_at, Some(at(30)));
    assert_eq!(e1.event.indicators["status"], "resolved");
    assert_eq!(e1.event.indicators["fingerprint"], "f1");
    let old = store
        .get_security_event("siem", "old")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        old.event.resolved_at,
        Some(at(1)),
        "a first resolution is kept"
    );
    let again = store
        .resolve_security_events(&[resolution("e1", 50)], &origin())
        .await
        .unwrap();
    assert_eq!(again, 0);
    let actions: Vec<_> = store
        .audit_records(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        vec!["security_events.ingest", "security_events.resolve"]
    );
}

fn detected(id: &str, minute: i64, observed: u64) -> DetectedAlert {
    DetectedAlert {
        alert_id: id.into(),
        kind: AlertKind::Spike,
        topic: Some("phishing".into()),
        service: None,
        channel: None,
        started_at: at(minute),
        raised_at: at(minute + 1),
        observed,
        customers: observed,
        expected: 0.5,
        score: 0.9,
        evidence: vec![Evidence {
            source: "z".into(),
            id: "1".into(),
        }],
        text: None,
        language: None,
        group_id: None,
    }
}

pub async fn one_wave_raises_one_alert_and_then_grows(store: &dyn Store) {
    let head = store.feed_head().await.unwrap();
    let family = |id: &str, group: &str, minute: i64| DetectedAlert {
        group_id: Some(group.into()),
        ..detected(id, minute, 4)
    };
    let mut local = family("w1-it", "w1", 5);
    local.language = Some("it".into());
    store
        .upsert_alerts(&[family("w1", "w1", 0), local, family("other", "other", 7)])
        .await
        .unwrap();
    // A member stored before its family's first alert still raises nothing new.
    store
        .upsert_alerts(&[family("w2-theme", "w2", 9)])
        .await
        .unwrap();
    store.upsert_alerts(&[family("w2", "w2", 8)]).await.unwrap();
    let feed = store.feed_after(head, None, 100).await.unwrap();
    let said: Vec<(String, String)> = feed
        .iter()
        .map(|e| {
            (
                e.kind.as_str().to_owned(),
                e.data["alert_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let pair = |k: &str, id: &str| (k.to_owned(), id.to_owned());
    assert_eq!(
        said,
        vec![
            pair("alert.raised", "w1"),
            pair("alert.updated", "w1"),
            pair("alert.raised", "other"),
            pair("alert.raised", "w2-theme"),
            pair("alert.updated", "w2"),
        ]
    );
    assert_eq!(feed[1].data["member"]["alert_id"], "w1-it");
    assert_eq!(feed[1].data["state"], "grew");
    let stored = store.get_alert("w1-it").await.unwrap().unwrap();
    assert_eq!(stored.detected.group_id.as_deref(), Some("w1"));
    assert_eq!(stored.detected.language.as_deref(), Some("it"));
}

pub async fn alerts_upsert_keep_their_state_and_move_forward_only(store: &dyn Store) {
    let new = store
        .upsert_alerts(&[detected("a1", 0, 5), detected("a2", 10, 3)])
        .await
        .unwrap();
    assert_eq!(new, 2);
    store
        .set_alert_state("a1", AlertState::Acknowledged, None, &origin())
        .await
        .unwrap();
    let mut later = detected("a1", 0, 9);
    later.evidence.push(Evidence {
        source: "z".into(),
        id: "2".into(),
    });
    assert_eq!(store.upsert_alerts(&[later]).await.unwrap(), 0);
    let a1 = store.get_alert("a1").await.unwrap().unwrap();
    assert_eq!(a1.detected.observed, 9, "updated by the detector");
    assert_eq!(a1.detected.evidence.len(), 2);
    assert_eq!(a1.state, AlertState::Acknowledged, "state kept");
    assert_eq!(a1.state_by.as_deref(), Some("user:tester"));

    match store
        .set_alert_state("a1", AlertState::Acknowledged, None, &origin())
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    let dismissed = store
        .set_alert_state(
            "a2",
            AlertState::Dismissed,
            Some("marketing mail"),
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(dismissed.reason.as_deref(), Some("marketing mail"));
    match store
        .set_alert_state("nope", AlertState::Dismissed, Some("x"), &origin())
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let open = store
        .list_alerts(&AlertQuery {
            state: Some(AlertState::Dismissed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.items.len(), 1);
    assert_eq!(open.items[0].detected.alert_id, "a2");
    let all = store
        .list_alerts(&AlertQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.items[0].detected.alert_id, "a1",
        "ordered by started_at"
    );
    let next = store
        .list_alerts(&AlertQuery {
            limit: 1,
            after: all.next_cursor,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next.items[0].detected.alert_id, "a2");
    let actions: Vec<_> = store
        .audit_records(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, vec!["alert.ack", "alert.dismiss"]);
}

pub async fn new_contacts_are_followed_in_intake_order(store: &dyn Store) {
    store
        .insert_contacts(&[contact("s", "b", 5), contact("s", "a", 1)], &origin())
        .await
        .unwrap();
    store
        .insert_contacts(&[contact("s", "c", 0)], &origin())
        .await
        .unwrap();
    let first = store.contacts_after(0, 2).await.unwrap();
    let ids: Vec<_> = first
        .iter()
        .map(|(_, c)| c.contact.key.id.as_str())
        .collect();
    assert_eq!(ids, vec!["b", "a"], "intake order, not event time");
    let rest = store.contacts_after(first[1].0, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.contact.key.id, "c");
    assert!(
        store
            .contacts_after(rest[0].0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_lease_has_one_holder_until_it_expires(store: &dyn Store) {
    let ttl = Duration::seconds(30);
    let a = store.acquire_lease("detection", "a", ttl).await.unwrap();
    let a = a.expect("a free lease is taken");
    assert_eq!((a.holder.as_str(), a.epoch), ("a", 1));
    assert!(
        store
            .acquire_lease("detection", "b", ttl)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .acquire_lease("other", "b", ttl)
            .await
            .unwrap()
            .is_some(),
        "leases are per name"
    );
    // Renewing keeps the epoch and moves the expiry (the database's clock).
    let renewed = store
        .acquire_lease("detection", "a", ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.epoch, 1);
    assert!(renewed.expires_at >= a.expires_at);
    // The holder writes under its lease.
    let alert = |id: &str| detected(id, 0, 5);
    assert_eq!(
        store
            .upsert_alerts_fenced(&a, &[alert("fenced-1")])
            .await
            .unwrap(),
        1
    );
    // Releasing: only the holder's release counts, and then anyone may take it at once, at
    // a higher epoch.
    store.release_lease("detection", "b").await.unwrap();
    assert!(
        store
            .acquire_lease("detection", "b", ttl)
            .await
            .unwrap()
            .is_none()
    );
    store.release_lease("detection", "a").await.unwrap();
    let b = store
        .acquire_lease("detection", "b", ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.epoch, 2);
    // The old holder, waking up, can no longer write: fenced, and nothing written.
    let err = store
        .upsert_alerts_fenced(&a, &[alert("fenced-2")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Fenced { epoch: 1, .. }),
        "{err:?}"
    );
    assert!(store.get_alert("fenced-2").await.unwrap().is_none());
    assert_eq!(
        store
            .upsert_alerts_fenced(&b, &[alert("fenced-3")])
            .await
            .unwrap(),
        1
    );
    // An expired lease is taken over by the database's clock.
    store.release_lease("detection", "b").await.unwrap();
    let short = Duration::milliseconds(300);
    let c = store
        .acquire_lease("detection", "c", short)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .acquire_lease("detection", "d", short)
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let d = store
        .acquire_lease("detection", "d", short)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.epoch, d.epoch), (3, 4));
    assert!(matches!(
        store.upsert_alerts_fenced(&c, &[alert("fenced-4")]).await,
        Err(StoreError::Fenced { .. })
    ));
    // Every holder's time is logged; the intervals follow one another and never overlap.
    let log = store.leadership_log("detection").await.unwrap();
    let holders: Vec<(i64, &str)> = log.iter().map(|l| (l.epoch, l.holder.as_str())).collect();
    assert_eq!(holders, [(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
    for pair in log.windows(2) {
        let ended = pair[0]
            .to
            .expect("a holder's time ends when the next begins");
        assert!(ended <= pair[1].from, "{pair:?}");
        assert!(pair[0].from <= ended, "{pair:?}");
    }
    assert!(log[3].to.is_none());
    let held: Vec<(String, String, i64)> = store
        .leases()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.holder, l.epoch))
        .collect();
    assert_eq!(
        held,
        [
            ("detection".to_owned(), "d".to_owned(), 4),
            ("other".to_owned(), "b".to_owned(), 1)
        ]
    );
}

pub async fn requests_are_counted_in_shared_windows(store: &dyn Store) {
    let window = Duration::milliseconds(400);
    for n in 0..2 {
        assert_eq!(
            store
                .take_from_window("ip:192.0.2.1", window, 2)
                .await
                .unwrap(),
            None,
            "request {n}"
        );
    }
    let wait = store
        .take_from_window("ip:192.0.2.1", window, 2)
        .await
        .unwrap()
        .expect("the third in the window is refused");
    assert!(wait > Duration::zero() && wait <= window, "{wait:?}");
    assert_eq!(
        store
            .take_from_window("ip:192.0.2.2", window, 2)
            .await
            .unwrap(),
        None,
        "another key has its own window"
    );
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(
        store
            .take_from_window("ip:192.0.2.1", window, 2)
            .await
            .unwrap(),
        None,
        "a new window"
    );
}

pub async fn nodes_report_themselves_and_the_silent_ones_drop_out(store: &dyn Store) {
    let node = |id: &str| Node {
        id: id.into(),
        version: "0.1.0".into(),
        listen: "127.0.0.1:8080".into(),
        started_at: at(0),
        last_seen: at(0),
    };
    store.heartbeat_node(&node("n1")).await.unwrap();
    store.heartbeat_node(&node("n2")).await.unwrap();
    let live = store.live_nodes(Duration::seconds(10)).await.unwrap();
    let ids: Vec<&str> = live.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n1", "n2"]);
    assert!(
        live.iter().all(|n| n.last_seen > at(0)),
        "the database's clock, not the caller's"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    store.heartbeat_node(&node("n2")).await.unwrap();
    let live = store.live_nodes(Duration::milliseconds(300)).await.unwrap();
    let ids: Vec<&str> = live.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n2"]);
}

pub async fn every_change_is_chained_in_the_audit_log(store: &dyn Store) {
    store
        .create_token(new_token("t1", "erin", Role::Ingest), &origin())
        .await
        .unwrap();
    store
        .insert_contacts(&[contact("z", "1", 0), contact("z", "2", 0)], &origin())
        .await
        .unwrap();
    // Only duplicates: nothing changed, nothing recorded.
    store
        .insert_contacts(&[contact("z", "1", 0)], &origin())
        .await
        .unwrap();
    store
        .insert_security_events(&[event("e", 0, Severity::Low)], &origin())
        .await
        .unwrap();
    store
        .revoke_token(
            &TokenId("t1".into()),
            &Origin {
                actor: Actor::Cli {
                    os_user: "root".into(),
                },
                request_id: Some("req-1".into()),
                client: Some("192.0.2.7".into()),
                fence: None,
            },
        )
        .await
        .unwrap();

    let records = store.audit_records(0, 100).await.unwrap();
    let actions: Vec<_> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "token.create",
            "contacts.ingest",
            "security_events.ingest",
            "token.revoke"
        ]
    );
    assert_eq!(records[1].detail["accepted"], 2);
    assert_eq!(records[3].actor, "cli:root");
    assert_eq!(records[3].request_id.as_deref(), Some("req-1"));
    assert_eq!(records[3].client.as_deref(), Some("192.0.2.7"));
    assert_eq!(records[0].client, None);
    let mut forged = records[3].clone();
    forged.client = Some("198.51.100.1".into());
    assert!(!forged.is_intact(), "the address is sealed");
    forged.client = None;
    assert!(!forged.is_intact(), "and cannot be dropped");
    assert_eq!(records[0].prev_hash, GENESIS_HASH);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1, "gapless sequence");
        assert_eq!(
            r.format,
            frontline_core::audit::FORMAT_SEALED,
            "record {} is written erasable",
            r.seq
        );
        assert!(r.is_intact(), "record {} hashes as stored", r.seq);
        let seals = r.seals.as_ref().unwrap();
        assert_ne!(
            seals.actor.salt, seals.target.salt,
            "each field has a salt of its own"
        );
        if i > 0 {
            assert_eq!(r.prev_hash, records[i - 1].hash, "record {} chains", r.seq);
        }
    }
    let tail = store.audit_records(2, 100).await.unwrap();
    assert_eq!(tail.first().map(|r| r.seq), Some(3));
}

pub async fn concurrent_batches_keep_every_row_and_the_chain(store: &dyn Store) {
    let batches: Vec<Vec<RedactedContact>> = (0..8)
        .map(|b| {
            (0..50)
                .map(|i| contact("load", &format!("{b}-{i}"), i))
                .collect()
        })
        .collect();
    let origin = origin();
    let results = futures::future::join_all(
        batches
            .iter()
            .map(|batch| store.insert_contacts(batch, &origin)),
    )
    .await;
    for r in results {
        assert!(r.unwrap().iter().all(|o| *o == Inserted::Accepted));
    }
    let mut count = 0;
    let mut query = ContactQuery {
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = store.list_contacts(&query).await.unwrap();
        count += page.items.len();
        match page.next_cursor {
            Some(c) => query.after = Some(c),
            None => break,
        }
    }
    assert_eq!(count, 400);
    let records = store.audit_records(0, 100).await.unwrap();
    assert_eq!(records.len(), 8);
    for w in records.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
        assert_eq!(w[1].seq, w[0].seq + 1);
    }
}

fn new_incident(title: &str, signals: Vec<Signal>) -> NewIncident {
    NewIncident {
        title: title.into(),
        severity: IncidentSeverity::Sev2,
        services: vec!["web".into()],
        reason: None,
        signals,
        proposed: false,
    }
}

fn update_state(state: IncidentState) -> IncidentChange {
    IncidentChange::Update {
        title: None,
        severity: None,
        state: Some(state),
        services: None,
    }
}

pub async fn incidents_open_change_and_keep_a_timeline(store: &dyn Store) {
    store.upsert_alerts(&[detected("a1", 0, 5)]).await.unwrap();
    let opened = store
        .open_incident(
            &new_incident("Phishing wave", vec![Signal::Alert { id: "a1".into() }]),
            &origin(),
        )
        .await
        .unwrap();
    let id = opened.incident.id;
    assert_eq!(opened.incident.state, IncidentState::Investigating);
    assert_eq!(opened.incident.opened_by, "user:tester");
    assert_eq!(opened.links.len(), 1);
    assert_eq!(opened.links[0].signal, Signal::Alert { id: "a1".into() });

    store
        .create_token(
            NewToken {
                id: TokenId("00000000000000aa".into()),
                digest: [7; 32],
                user: "carol".into(),
                role: Role::Security,
                expires_at: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    store
        .change_incident(
            id,
            &[IncidentChange::AssignRole {
                role: IncidentRole::SecurityLead,
                user: Some("carol".into()),
            }],
            &origin(),
        )
        .await
        .unwrap();
    store
        .change_incident(
            id,
            &[IncidentChange::Note {
                body: "sender domain registered yesterday".into(),
            }],
            &origin(),
        )
        .await
        .unwrap();
    let resolved = store
        .change_incident(id, &[update_state(IncidentState::Resolved)], &origin())
        .await
        .unwrap();
    assert!(resolved.incident.resolved_at.is_some());
    let again = store.get_incident(id).await.unwrap().unwrap();
    assert_eq!(again.incident, resolved.incident, "read back as written");
    assert_eq!(again.incident.roles[&IncidentRole::SecurityLead], "carol");

    let timeline = store.feed_after(0, Some(id), 100).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "incident.opened",
            "incident.updated",
            "incident.updated",
            "incident.note",
            "incident.updated"
        ]
    );
    assert_eq!(timeline[1].data["change"], "linked");
    assert_eq!(
        timeline[1].data["signals"][0],
        serde_json::json!({"kind": "alert", "id": "a1", "at": at(0)}),
        "the signal's own time is kept"
    );
    assert_eq!(timeline[2].data["to"], "carol");
    assert_eq!(
        timeline[3].data["body"],
        "sender domain registered yesterday"
    );
    assert_eq!(timeline[4].data["to"], "resolved");
    assert!(timeline.iter().all(|e| e.actor == "user:tester"));
    // The whole feed also holds the alert, before the incident.
    let feed = store.feed_after(0, None, 100).await.unwrap();
    assert_eq!(feed[0].kind.as_str(), "alert.raised");
    assert_eq!(feed[0].data["alert_id"], "a1");
    assert_eq!(store.feed_head().await.unwrap(), feed.last().unwrap().seq);
    let audit = store.audit_records(0, 100).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "incident.open"));
    assert!(
        audit
            .iter()
            .all(|r| !r.detail.to_string().contains("sender domain")),
        "notes stay out of the audit log"
    );

    let list = store
        .list_incidents(&IncidentQuery {
            open: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(list.items.is_empty(), "resolved is not open");
    let list = store
        .list_incidents(&IncidentQuery::default())
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
}

pub async fn signals_link_to_one_incident_and_bad_changes_change_nothing(store: &dyn Store) {
    store
        .insert_contacts(&[contact("zendesk", "1", 0)], &origin())
        .await
        .unwrap();
    store
        .insert_security_events(&[event("e1", 0, Severity::High)], &origin())
        .await
        .unwrap();
    let c = Signal::Contact {
        source: "zendesk".into(),
        id: "1".into(),
    };
    let e = Signal::SecurityEvent {
        source: "siem".into(),
        id: "e1".into(),
    };
    let first = store
        .open_incident(&new_incident("one", vec![c.clone()]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    let second = store
        .open_incident(&new_incident("two", vec![]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    let head = store.feed_head().await.unwrap();
    let audit = store.audit_records(0, 1000).await.unwrap().len();

    // Linked elsewhere: conflict, and the event named with it is not linked either.
    match store
        .change_incident(
            second,
            &[IncidentChange::Link(vec![e.clone(), c.clone()])],
            &origin(),
        )
        .await
    {
        Err(StoreError::Conflict { constraint }) => assert!(constraint.contains("incident")),
        other => panic!("expected Conflict, got {other:?}"),
    }
    // Unknown signal, user, task, incident.
    for (id, change) in [
        (
            second,
            IncidentChange::Link(vec![Signal::Alert { id: "nope".into() }]),
        ),
        (
            second,
            IncidentChange::AssignRole {
                role: IncidentRole::Commander,
                user: Some("nobody".into()),
            },
        ),
        (
            second,
            IncidentChange::UpdateTask {
                id: 3,
                done: Some(true),
                owner: None,
            },
        ),
        (999, update_state(IncidentState::Identified)),
    ] {
        match store
            .change_incident(id, std::slice::from_ref(&change), &origin())
            .await
        {
            Err(StoreError::NotFound { .. }) => {}
            other => panic!("expected NotFound for {change:?}, got {other:?}"),
        }
    }
    // Several changes are one: a good state change with a bad role leaves both undone.
    match store
        .change_incident(
            second,
            &[
                update_state(IncidentState::Identified),
                IncidentChange::AssignRole {
                    role: IncidentRole::Commander,
                    user: Some("nobody".into()),
                },
            ],
            &origin(),
        )
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let unchanged = store.get_incident(second).await.unwrap().unwrap();
    assert_eq!(unchanged.incident.state, IncidentState::Investigating);
    store
        .change_incident(second, &[update_state(IncidentState::Resolved)], &origin())
        .await
        .unwrap();
    match store
        .change_incident(
            second,
            &[update_state(IncidentState::Monitoring)],
            &origin(),
        )
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_incident(second).await.unwrap().unwrap().links,
        vec![]
    );
    assert_eq!(
        store.feed_head().await.unwrap(),
        head + 1,
        "only the resolution"
    );
    assert_eq!(store.audit_records(0, 1000).await.unwrap().len(), audit + 1);

    // Unlink there, link here: the signal moves.
    store
        .change_incident(first, &[IncidentChange::Unlink(vec![c.clone()])], &origin())
        .await
        .unwrap();
    let moved = store
        .change_incident(
            second,
            &[IncidentChange::Link(vec![c.clone(), e])],
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(moved.links.len(), 2);
    assert!(
        store
            .get_incident(first)
            .await
            .unwrap()
            .unwrap()
            .links
            .is_empty()
    );
    // Linking again is no change and records nothing.
    let head = store.feed_head().await.unwrap();
    store
        .change_incident(second, &[IncidentChange::Link(vec![c])], &origin())
        .await
        .unwrap();
    assert_eq!(store.feed_head().await.unwrap(), head);
}

pub async fn the_feed_is_gapless_across_concurrent_writers(store: &dyn Store) {
    let opens = (0..10).map(|i| {
        let new = new_incident(&format!("incident {i}"), vec![]);
        async move { store.open_incident(&new, &origin()).await.map(|_| ()) }
    });
    let alerts = (0..10).map(|i| async move {
        store
            .upsert_alerts(&[detected(&format!("c{i}"), i, 4)])
            .await
            .map(|_| ())
    });
    let (a, b) = futures::future::join(
        futures::future::join_all(opens),
        futures::future::join_all(alerts),
    )
    .await;
    assert!(a.into_iter().chain(b).all(|r| r.is_ok()));
    let feed = store.feed_after(0, None, 1000).await.unwrap();
    assert_eq!(feed.len(), 20);
    for (i, e) in feed.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
    }
    let tail = store.feed_after(15, None, 2).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), [16, 17]);
}

pub async fn webhooks_keep_their_cursor_and_deliveries(store: &dyn Store) {
    store
        .open_incident(&new_incident("before", vec![]), &origin())
        .await
        .unwrap();
    let head = store.feed_head().await.unwrap();
    let hook = store
        .create_webhook(
            &NewWebhook {
                url: "https://hooks.slack.com/services/T000/B000/SECRETPATH".into(),
                secret: "whsec-1".into(),
                format: WebhookFormat::Slack,
                events: KindFilter::parse(&["incident.opened".into()]).unwrap(),
            },
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(hook.cursor, head, "only what comes after");
    assert_eq!(store.list_webhooks().await.unwrap(), vec![hook.clone()]);
    let audit = store.audit_records(0, 100).await.unwrap();
    let created = audit.iter().find(|r| r.action == "webhook.create").unwrap();
    assert_eq!(created.detail["target"], "https://hooks.slack.com");
    assert!(!created.detail.to_string().contains("SECRETPATH"));

    let opened = store
        .open_incident(&new_incident("after", vec![]), &origin())
        .await
        .unwrap();
    let entry = store.feed_after(hook.cursor, None, 10).await.unwrap()[0].clone();
    let claim = Claim::new("node-a/1", Duration::seconds(30));
    assert_eq!(
        store.claim_webhooks(&claim, 10).await.unwrap(),
        vec![hook.clone()]
    );
    let mut d = Delivery {
        webhook_id: hook.id,
        feed_seq: entry.seq,
        kind: entry.kind,
        incident_id: Some(opened.incident.id),
        idempotency_key: idempotency_key(hook.id, entry.seq),
        status: DeliveryStatus::Pending,
        attempts: 1,
        last_status: Some(503),
        last_error: Some("503 Service Unavailable".into()),
        first_attempt_at: at(0),
        last_attempt_at: at(0),
        next_attempt_at: Some(at(1)),
        delivered_at: None,
    };
    store.record_delivery(&d, &claim).await.unwrap();
    assert_eq!(
        store.get_delivery(hook.id, entry.seq).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        store.list_webhooks().await.unwrap()[0].cursor,
        head,
        "pending: not past"
    );
    d.status = DeliveryStatus::Delivered;
    d.attempts = 2;
    d.last_status = Some(200);
    d.last_error = None;
    d.last_attempt_at = at(1);
    d.next_attempt_at = None;
    d.delivered_at = Some(at(1));
    store.record_delivery(&d, &claim).await.unwrap();
    assert_eq!(store.list_webhooks().await.unwrap()[0].cursor, entry.seq);
    store.advance_webhook(hook.id, 0, &claim).await.unwrap();
    assert_eq!(
        store.list_webhooks().await.unwrap()[0].cursor,
        entry.seq,
        "never back"
    );
    let delivered = store
        .list_deliveries(&DeliveryQuery {
            webhook: Some(hook.id),
            status: Some(DeliveryStatus::Delivered),
            incident: None,
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(delivered, vec![d]);

    store.delete_webhook(hook.id, &origin()).await.unwrap();
    assert!(store.list_webhooks().await.unwrap().is_empty());
    match store.delete_webhook(hook.id, &origin()).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

pub async fn reports_are_filed_linked_and_triaged(store: &dyn Store) {
    store
        .insert_contacts(&[contact("zendesk", "1", 0)], &origin())
        .await
        .unwrap();
    let mut new = NewReport {
        category: ReportCategory::Phishing,
        summary: "Customers forward an SMS with a fake login page".into(),
        service: Some("web".into()),
        contacts: vec![ContactRef {
            source: "zendesk".into(),
            id: "nope".into(),
        }],
    };
    let head = store.feed_head().await.unwrap();
    match store.file_report(&new, &origin()).await {
        Err(StoreError::NotFound { what }) => assert!(what.contains("zendesk/nope"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.feed_head().await.unwrap(), head, "nothing recorded");
    new.contacts[0].id = "1".into();
    let filed = store.file_report(&new, &origin()).await.unwrap();
    let id = filed.report.id;
    assert_eq!(filed.report.state, ReportState::Filed);
    assert_eq!(filed.report.filed_by, "user:tester");
    let feed = store.feed_after(head, None, 10).await.unwrap();
    assert_eq!(feed[0].kind.as_str(), "report.filed");
    assert_eq!(feed[0].data["id"], id);
    assert_eq!(feed[0].data["category"], "phishing");

    let incident = store
        .open_incident(
            &new_incident("phishing", vec![Signal::Report { id }]),
            &origin(),
        )
        .await
        .unwrap();
    let read = store.get_report(id).await.unwrap().unwrap();
    assert_eq!(read.incident_id, Some(incident.incident.id));
    assert_eq!(read.report, filed.report);

    let acked = store
        .set_report_state(id, ReportState::Acknowledged, None, &origin())
        .await
        .unwrap();
    assert_eq!(acked.report.state, ReportState::Acknowledged);
    assert_eq!(acked.incident_id, Some(incident.incident.id));
    match store
        .set_report_state(id, ReportState::Acknowledged, None, &origin())
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    match store
        .set_report_state(999, ReportState::Acknowledged, None, &origin())
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let other = store
        .file_report(
            &NewReport {
                category: ReportCategory::Outage,
                summary: "app down".into(),
                service: None,
                contacts: vec![],
            },
            &origin(),
        )
        .await
        .unwrap();
    let dismissed = store
        .set_report_state(
            other.report.id,
            ReportState::Dismissed,
            Some("planned maintenance"),
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(
        dismissed.report.reason.as_deref(),
        Some("planned maintenance")
    );
    assert_eq!(dismissed.incident_id, None);

    let query = |state, category, filed_by: Option<&str>| ReportQuery {
        state,
        category,
        filed_by: filed_by.map(str::to_owned),
        since: None,
        before: None,
        limit: 100,
    };
    let all = store.list_reports(&query(None, None, None)).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.report.id).collect::<Vec<_>>(),
        [other.report.id, id],
        "newest first"
    );
    let phishing = store
        .list_reports(&query(
            None,
            Some(ReportCategory::Phishing),
            Some("user:tester"),
        ))
        .await
        .unwrap();
    assert_eq!(phishing.len(), 1);
    assert_eq!(phishing[0].incident_id, Some(incident.incident.id));
    let dismissed = store
        .list_reports(&query(Some(ReportState::Dismissed), None, None))
        .await
        .unwrap();
    assert_eq!(dismissed.len(), 1);
    assert!(
        store
            .list_reports(&query(None, None, Some("user:someone")))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn incidents_merge_and_split_moving_their_signals(store: &dyn Store) {
    store
        .upsert_alerts(&[
            detected("a1", 0, 5),
            detected("a2", 1, 5),
            detected("a3", 2, 5),
        ])
        .await
        .unwrap();
    let alert = |id: &str| Signal::Alert { id: id.into() };
    let a = store
        .open_incident(&new_incident("a", vec![alert("a1")]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    let b = store
        .open_incident(
            &new_incident("b", vec![alert("a2"), alert("a3")]),
            &origin(),
        )
        .await
        .unwrap()
        .incident
        .id;
    let merged = store.merge_incidents(a, b, &origin()).await.unwrap();
    assert_eq!(merged.incident.id, a);
    let signals: Vec<Signal> = merged.links.iter().map(|l| l.signal.clone()).collect();
    assert_eq!(signals, [alert("a1"), alert("a2"), alert("a3")]);
    let gone = store.get_incident(b).await.unwrap().unwrap();
    assert_eq!(gone.incident.merged_into, Some(a));
    assert_eq!(gone.incident.state, IncidentState::Resolved);
    assert!(gone.links.is_empty());
    for (into, from) in [(a, a), (b, a), (a, b), (a, 99)] {
        assert!(
            store.merge_incidents(into, from, &origin()).await.is_err(),
            "{into} <- {from}"
        );
    }

    let split = store
        .split_incident(a, &new_incident("a3 alone", vec![alert("a3")]), &origin())
        .await
        .unwrap();
    assert_ne!(split.incident.id, a);
    assert_eq!(split.links.len(), 1);
    assert_eq!(store.get_incident(a).await.unwrap().unwrap().links.len(), 2);
    match store
        .split_incident(a, &new_incident("x", vec![alert("a3")]), &origin())
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    let timeline = store.feed_after(0, Some(a), 100).await.unwrap();
    let changes: Vec<&str> = timeline
        .iter()
        .filter_map(|e| e.data["change"].as_str())
        .collect();
    assert_eq!(
        changes,
        ["linked", "linked", "absorbed", "unlinked", "split_into"]
    );

    // What the correlator sees: a2 linked to a; a3 linked to the split; a person unlinking a2
    // leaves it alone from then on.
    store
        .change_incident(a, &[IncidentChange::Unlink(vec![alert("a2")])], &origin())
        .await
        .unwrap();
    store.upsert_alerts(&[detected("a4", 3, 5)]).await.unwrap();
    let states = store
        .signal_states(&[alert("a1"), alert("a2"), alert("a3"), alert("a4")])
        .await
        .unwrap();
    assert_eq!(
        states,
        [
            SignalState::Linked(a),
            SignalState::Unlinked,
            SignalState::Linked(split.incident.id),
            SignalState::Free
        ]
    );
    // Many at once (the stores ask in chunks), in the order asked, of every kind.
    let mut many = vec![alert("a3")];
    many.extend((0..650).map(|i| Signal::Contact {
        source: "s".into(),
        id: format!("free-{i}"),
    }));
    many.push(alert("a2"));
    many.push(Signal::Report { id: 99 });
    many.push(alert("a1"));
    let states = store.signal_states(&many).await.unwrap();
    assert_eq!(states.len(), many.len());
    assert_eq!(states[0], SignalState::Linked(split.incident.id));
    assert!(states[1..651].iter().all(|s| *s == SignalState::Free));
    assert_eq!(
        states[651..],
        [
            SignalState::Unlinked,
            SignalState::Free,
            SignalState::Linked(a)
        ]
    );
    assert!(store.signal_states(&[]).await.unwrap().is_empty());
}

pub async fn contact_impact_counts_contacts_customers_and_topics(store: &dyn Store) {
    let mut batch = Vec::new();
    for (i, (minute, service, topics, customer)) in [
        (0, "web", vec!["account_takeover"], "c1"),
        (1, "web", vec!["account_takeover", "phishing"], "c2"),
        (2, "web", vec!["account_takeover"], "c1"),
        (3, "app", vec!["account_takeover"], "c3"),
        (4, "web", vec!["outage"], "c4"),
        (-30, "web", vec!["account_takeover"], "c5"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = contact("zendesk", &i.to_string(), minute);
        c.service = Some(service.into());
        c.topics = topics.into_iter().map(str::to_owned).collect();
        c.customer = Some(customer.into());
        batch.push(c);
    }
    store.insert_contacts(&batch, &origin()).await.unwrap();
    let topics = vec!["account_takeover".to_owned(), "phishing".to_owned()];
    let impact = store
        .contact_impact(at(0), None, Some("web"), &topics)
        .await
        .unwrap();
    assert_eq!(impact.contacts, 3);
    assert_eq!(impact.customers, 2);
    assert_eq!(impact.by_topic["account_takeover"], 3);
    assert_eq!(impact.by_topic["phishing"], 1);
    let everywhere = store
        .contact_impact(at(-60), Some(at(3)), None, &topics)
        .await
        .unwrap();
    assert_eq!(everywhere.contacts, 4, "before `until`, any service");
    assert_eq!(
        store.contact_impact(at(0), None, None, &[]).await.unwrap(),
        crate::Impact::default()
    );
}

fn words(body: &str, r#final: bool) -> frontline_core::statement::Draft {
    frontline_core::statement::draft(None, Some(body.into()), Default::default(), r#final).unwrap()
}

pub async fn statements_need_both_teams_and_the_last_word_before_resolving(store: &dyn Store) {
    use frontline_core::component::ComponentStatus;
    use frontline_core::statement::Audience;
    let incident = store
        .open_incident(&new_incident("Login outage", vec![]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    match store
        .create_statement(999, Audience::Public, words("x", false), "carla", &origin())
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let s = store
        .create_statement(
            incident,
            Audience::Public,
            words("We are investigating login failures.", false),
            "carla",
            &origin(),
        )
        .await
        .unwrap();
    let id = s.id;
    match store
        .approve_statement(id, "carla", &[Role::CxLead], &origin())
        .await
    {
        Err(StoreError::Forbidden { .. }) => {}
        other => panic!("the author may not approve: {other:?}"),
    }
    store
        .approve_statement(id, "sam", &[Role::Security], &origin())
        .await
        .unwrap();
    match store
        .approve_statement(id, "sam", &[Role::Security], &origin())
        .await
    {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("twice by one person: {other:?}"),
    }
    match store
        .publish_statement(id, "cora", &[Role::Comms], &origin())
        .await
    {
        Err(StoreError::Conflict { constraint }) => {
            assert!(constraint.contains("cx_lead or comms"), "{constraint}")
        }
        other => panic!("not approved yet: {other:?}"),
    }
    store
        .approve_statement(id, "cora", &[Role::Comms], &origin())
        .await
        .unwrap();
    match store
        .publish_statement(id, "vic", &[Role::Security], &origin())
        .await
    {
        Err(StoreError::Forbidden { .. }) => {}
        other => panic!("not comms, not commander: {other:?}"),
    }
    let published = store
        .publish_statement(id, "cora", &[Role::Comms], &origin())
        .await
        .unwrap();
    assert_eq!(published.published, Some(1));
    assert_eq!(
        store.get_statement(id).await.unwrap(),
        Some(published.clone())
    );
    let public = store
        .published_statements(Audience::Public, at(0) - Duration::days(3650))
        .await
        .unwrap();
    assert_eq!(public, vec![published]);
    assert!(
        store
            .published_statements(Audience::Agents, at(0) - Duration::days(3650))
            .await
            .unwrap()
            .is_empty()
    );
    let kinds: Vec<&str> = store
        .feed_after(0, Some(incident), 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "incident.opened",
            "statement.drafted",
            "statement.approved",
            "statement.approved",
            "statement.published"
        ]
    );

    // Something was said in public: resolving needs the last word.
    let resolve = [update_state(IncidentState::Resolved)];
    match store.change_incident(incident, &resolve, &origin()).await {
        Err(StoreError::Conflict { constraint }) => assert!(constraint.contains("final")),
        other => panic!("expected Conflict, got {other:?}"),
    }
    store
        .edit_statement(id, words("Fixed; sign in again.", true), "cora", &origin())
        .await
        .unwrap();
    store
        .approve_statement(id, "sam", &[Role::Security], &origin())
        .await
        .unwrap();
    store
        .approve_statement(id, "carla", &[Role::CxLead], &origin())
        .await
        .unwrap();
    store
        .publish_statement(id, "cora", &[Role::Comms], &origin())
        .await
        .unwrap();
    store
        .change_incident(incident, &resolve, &origin())
        .await
        .unwrap();
    let s = store.list_statements(incident).await.unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].publications.len(), 2);
    assert_eq!(s[0].published, Some(2));

    store
        .set_component("web", ComponentStatus::Degraded, &origin())
        .await
        .unwrap();
    store
        .set_component("api", ComponentStatus::Operational, &origin())
        .await
        .unwrap();
    store
        .set_component("web", ComponentStatus::MajorOutage, &origin())
        .await
        .unwrap();
    let components = store.list_components().await.unwrap();
    let states: Vec<(&str, ComponentStatus)> = components
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect();
    assert_eq!(
        states,
        [
            ("api", ComponentStatus::Operational),
            ("web", ComponentStatus::MajorOutage)
        ]
    );
}

/// Webhooks are followed by one node at a time: a second node's claim gets none of them while
/// the first holds them, takes them once the first releases them or its claim lapses, and the
/// first can then record nothing.
pub async fn outbox_work_is_claimed_by_one_node_at_a_time(store: &dyn Store) {
    let mut hooks = Vec::new();
    for n in 0..3 {
        hooks.push(
            store
                .create_webhook(
                    &NewWebhook {
                        url: format!("https://example.com/hook/{n}"),
                        secret: "whsec-1".into(),
                        format: WebhookFormat::Generic,
                        events: KindFilter::parse(&["*".into()]).unwrap(),
                    },
                    &origin(),
                )
                .await
                .unwrap(),
        );
    }
    let a = Claim::new("node-a/1", Duration::seconds(30));
    let b = Claim::new("node-b/1", Duration::seconds(30));
    let got = store.claim_webhooks(&a, 2).await.unwrap();
    assert_eq!(got, hooks[..2].to_vec(), "oldest first, at most the limit");
    assert_eq!(
        store.claim_webhooks(&b, 10).await.unwrap(),
        hooks[2..].to_vec(),
        "only what nobody holds"
    );
    assert_eq!(
        store.claim_webhooks(&a, 10).await.unwrap(),
        hooks[..2].to_vec(),
        "a holder renews its own"
    );
    let opened = store
        .open_incident(&new_incident("claimed", vec![]), &origin())
        .await
        .unwrap();
    let entry = store
        .feed_after(hooks[0].cursor, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.incident_id == Some(opened.incident.id))
        .unwrap();
    let delivered = |webhook_id: i64| Delivery {
        webhook_id,
        feed_seq: entry.seq,
        kind: entry.kind,
        incident_id: Some(opened.incident.id),
        idempotency_key: idempotency_key(webhook_id, entry.seq),
        status: DeliveryStatus::Delivered,
        attempts: 1,
        last_status: Some(200),
        last_error: None,
        first_attempt_at: at(0),
        last_attempt_at: at(0),
        next_attempt_at: None,
        delivered_at: Some(at(0)),
    };
    match store.record_delivery(&delivered(hooks[0].id), &b).await {
        Err(StoreError::ClaimLost { what }) => assert!(what.contains("webhook"), "{what}"),
        other => panic!("expected ClaimLost, got {other:?}"),
    }
    assert_eq!(
        store.get_delivery(hooks[0].id, entry.seq).await.unwrap(),
        None
    );
    match store.advance_webhook(hooks[0].id, entry.seq, &b).await {
        Err(StoreError::ClaimLost { .. }) => {}
        other => panic!("expected ClaimLost, got {other:?}"),
    }
    store
        .record_delivery(&delivered(hooks[0].id), &a)
        .await
        .unwrap();

    // Released: anyone may take them, and the old holder can write nothing more.
    store.release_webhooks(&a).await.unwrap();
    assert_eq!(
        store.claim_webhooks(&b, 10).await.unwrap(),
        hooks
            .clone()
            .into_iter()
            .map(|mut h| {
                if h.id == hooks[0].id {
                    h.cursor = entry.seq;
                }
                h
            })
            .collect::<Vec<_>>()
    );
    match store.record_delivery(&delivered(hooks[1].id), &a).await {
        Err(StoreError::ClaimLost { .. }) => {}
        other => panic!("expected ClaimLost, got {other:?}"),
    }

    // A claim that lapsed is taken over.
    let short = Claim::new("node-c/1", Duration::milliseconds(1));
    store.release_webhooks(&b).await.unwrap();
    assert_eq!(store.claim_webhooks(&short, 10).await.unwrap().len(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(store.claim_webhooks(&a, 10).await.unwrap().len(), 3);
    match store.advance_webhook(hooks[2].id, entry.seq, &short).await {
        Err(StoreError::ClaimLost { .. }) => {}
        other => panic!("expected ClaimLost, got {other:?}"),
    }
}

pub async fn subscribers_confirm_unsubscribe_and_their_messages_are_queued_once(store: &dyn Store) {
    use frontline_core::subscriber::{Channel, Message};
    let welcome = |s: &frontline_core::subscriber::Subscriber| {
        Some(Message {
            channel: Channel::Email,
            to: s.address.clone(),
            subject: "Confirm".into(),
            body: format!("confirm {}", s.id),
            subscriber: Some(s.id),
        })
    };
    let ann = store
        .subscribe(
            Channel::Email,
            "ann@example.com",
            Some("de"),
            false,
            &welcome,
        )
        .await
        .unwrap();
    assert!(!ann.active());
    assert_eq!(ann.lang.as_deref(), Some("de"));
    let first = Claim::new("node-a/1", Duration::seconds(30));
    let due = store.claim_messages(&first, Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message.body, format!("confirm {}", ann.id));
    store
        .settle_message(due[0].id, &Settled::Sent, &first)
        .await
        .unwrap();
    assert!(store.active_subscribers().await.unwrap().is_empty());
    let confirmed = store.confirm_subscriber(ann.id).await.unwrap().unwrap();
    assert!(confirmed.active());
    assert!(store.confirm_subscriber(999).await.unwrap().is_none());
    let again = store
        .subscribe(Channel::Email, "ann@example.com", None, false, &|_| None)
        .await
        .unwrap();
    assert_eq!(again.id, ann.id);
    assert!(again.active(), "subscribing again keeps the confirmation");
    assert_eq!(again.lang.as_deref(), Some("de"));
    let hook = store
        .subscribe(
            Channel::Webhook,
            "https://example.com/hook",
            None,
            true,
            &|_| None,
        )
        .await
        .unwrap();
    assert!(hook.active());
    assert_eq!(store.active_subscribers().await.unwrap().len(), 2);
    store.unsubscribe(ann.id).await.unwrap().unwrap();
    assert_eq!(
        store.active_subscribers().await.unwrap(),
        vec![hook.clone()]
    );
    let back = store
        .subscribe(Channel::Email, "ann@example.com", None, false, &|_| None)
        .await
        .unwrap();
    assert!(
        !back.active(),
        "after unsubscribing, the address is confirmed again"
    );

    // Messages and the cursor move together; outcomes take them out of the due list.
    assert_eq!(store.cursor("subscribers").await.unwrap(), None);
    let update = |to: &str| Message {
        channel: Channel::Email,
        to: to.into(),
        subject: "Update".into(),
        body: "text".into(),
        subscriber: None,
    };
    store
        .queue_messages(
            &[update("a@example.com"), update("b@example.com")],
            Some(("subscribers", 7)),
        )
        .await
        .unwrap();
    assert_eq!(store.cursor("subscribers").await.unwrap(), Some(7));
    // The same publication again (a paused leader that woke up) or an older one: nothing.
    for behind in [7, 5] {
        store
            .queue_messages(&[update("a@example.com")], Some(("subscribers", behind)))
            .await
            .unwrap();
    }
    assert_eq!(
        store.cursor("subscribers").await.unwrap(),
        Some(7),
        "never back"
    );
    let claim = Claim::new("node-a/2", Duration::seconds(30));
    let due = store.claim_messages(&claim, Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 2);
    let other = Claim::new("node-b/1", Duration::seconds(30));
    assert!(
        store
            .claim_messages(&other, Utc::now(), 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed messages are not handed out twice"
    );
    match store
        .settle_message(due[0].id, &Settled::Sent, &other)
        .await
    {
        Err(StoreError::ClaimLost { .. }) => {}
        other => panic!("expected ClaimLost, got {other:?}"),
    }
    store
        .settle_message(
            due[0].id,
            &Settled::Retry {
                at: Utc::now() + Duration::minutes(5),
                error: "451".into(),
            },
            &claim,
        )
        .await
        .unwrap();
    store
        .settle_message(
            due[1].id,
            &Settled::Failed {
                error: "550".into(),
            },
            &claim,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_messages(&other, Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = store
        .claim_messages(&other, Utc::now() + Duration::minutes(6), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].attempts, 1);
}

pub async fn users_are_listed_with_their_roles(store: &dyn Store) {
    assert!(store.list_users().await.unwrap().is_empty());
    for (id, user, role) in [
        ("0000000000000001", "sam", Role::Security),
        ("0000000000000002", "alice", Role::Viewer),
        ("0000000000000003", "alice", Role::Admin),
    ] {
        store
            .create_token(new_token(id, user, role), &origin())
            .await
            .unwrap();
    }
    let users = store.list_users().await.unwrap();
    let got: Vec<(&str, &[Role])> = users
        .iter()
        .map(|u| (u.name.as_str(), u.roles.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            ("alice", &[Role::Admin, Role::Viewer][..]),
            ("sam", &[Role::Security][..])
        ]
    );
}

pub async fn reviews_are_saved_whole_audited_and_only_for_incidents(store: &dyn Store) {
    use frontline_core::review::{ReviewItem, ReviewSections};
    let incident = store
        .open_incident(&new_incident("Phishing wave", vec![]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    assert_eq!(store.get_review(incident).await.unwrap(), None);
    let mut sections = ReviewSections {
        summary: "A phishing wave.".into(),
        went_well: vec![ReviewItem {
            text: "CX saw it first".into(),
            owner: None,
            due: None,
            done: false,
        }],
        went_wrong: Vec::new(),
        actions: vec![ReviewItem {
            text: "MFA for all admins".into(),
            owner: Some("sam".into()),
            due: chrono::NaiveDate::from_ymd_opt(2026, 12, 15),
            done: false,
        }],
    };
    let saved = store
        .save_review(incident, &sections, &origin())
        .await
        .unwrap();
    assert_eq!(saved.sections, sections);
    assert_eq!(saved.updated_by.as_deref(), Some("user:tester"));
    assert_eq!(store.get_review(incident).await.unwrap(), Some(saved));
    sections.actions[0].done = true;
    sections.went_well.clear();
    store
        .save_review(incident, &sections, &origin())
        .await
        .unwrap();
    let read = store.get_review(incident).await.unwrap().unwrap();
    assert_eq!(read.sections, sections, "a save replaces the whole review");
    let head = store.audit_records(0, 1000).await.unwrap();
    let last = head.last().unwrap();
    assert_eq!(last.action, "review.save");
    assert_eq!(last.target, format!("incident:{incident}"));
    match store.save_review(999, &sections, &origin()).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(
        store.audit_records(0, 1000).await.unwrap().len(),
        head.len()
    );
}

pub async fn topics_are_counted_per_week_from_monday(store: &dyn Store) {
    // at(0) is Wednesday 2026-11-25, 12:00 UTC: its week began on Monday 2026-11-23.
    let day = 24 * 60;
    let mut batch = Vec::new();
    for (i, (minute, topics)) in [
        (0, vec!["phishing", "account_access"]),
        (day, vec!["phishing"]),
        (-2 * day - 12 * 60, vec!["phishing"]), // Monday 00:00: this week's first instant
        (-2 * day - 12 * 60 - 1, vec!["outage"]), // Sunday 23:59: the week before
        (5 * day, vec!["phishing"]),            // Monday 2026-11-30
        (12 * day, vec!["phishing"]),           // past `until`
        (day, vec![]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = contact("zendesk", &i.to_string(), minute);
        c.topics = topics.into_iter().map(str::to_owned).collect();
        batch.push(c);
    }
    store.insert_contacts(&batch, &origin()).await.unwrap();
    let weeks = store
        .topic_weeks(at(-30 * day), at(10 * day))
        .await
        .unwrap();
    let monday = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap();
    let got: Vec<(DateTime<Utc>, &str, u64)> = weeks
        .iter()
        .map(|w| (w.start, w.topic.as_str(), w.contacts))
        .collect();
    assert_eq!(
        got,
        [
            (monday(16), "outage", 1),
            (monday(23), "account_access", 1),
            (monday(23), "phishing", 3),
            (monday(30), "phishing", 1),
        ]
    );
}

pub async fn incident_facts_are_gathered_from_links_statements_and_topics(store: &dyn Store) {
    use crate::metrics::{Depth, gather};
    use frontline_core::statement::Audience;
    store
        .create_token(
            new_token("0000000000000001", "sam", Role::Security),
            &origin(),
        )
        .await
        .unwrap();
    // Phishing contacts from 11:50 on; contact 1 is the alert's evidence, contact 2 is linked,
    // the rest are found by the alert's topic; one is off-topic.
    let mut batch = Vec::new();
    for (id, minute, topic) in [
        ("1", -10, "phishing"),
        ("2", -5, "phishing"),
        ("3", 5, "phishing"),
        ("4", 20, "phishing"),
        ("5", 25, "outage"),
    ] {
        let mut c = contact("z", id, minute);
        c.topics = vec![topic.into()];
        c.customer = Some(format!("customer-{id}"));
        batch.push(c);
    }
    store.insert_contacts(&batch, &origin()).await.unwrap();
    store
        .insert_security_events(&[event("e1", -60, Severity::High)], &origin())
        .await
        .unwrap();
    store
        .upsert_alerts(&[detected("a1", -10, 5)])
        .await
        .unwrap();
    let opened = store
        .open_incident(
            &new_incident(
                "Phishing wave",
                vec![
                    Signal::Alert { id: "a1".into() },
                    Signal::Contact {
                        source: "z".into(),
                        id: "2".into(),
                    },
                    Signal::SecurityEvent {
                        source: "siem".into(),
                        id: "e1".into(),
                    },
                ],
            ),
            &origin(),
        )
        .await
        .unwrap();
    let id = opened.incident.id;
    let s = store
        .create_statement(
            id,
            Audience::Public,
            words("We are on it.", false),
            "carla",
            &origin(),
        )
        .await
        .unwrap();
    store
        .approve_statement(s.id, "sam", &[Role::Security], &origin())
        .await
        .unwrap();
    store
        .approve_statement(s.id, "cora", &[Role::Comms], &origin())
        .await
        .unwrap();
    let published = store
        .publish_statement(s.id, "cora", &[Role::Comms], &origin())
        .await
        .unwrap();
    let now = Utc::now();
    assert!(
        gather(store, 999, now, Depth::Impact)
            .await
            .unwrap()
            .is_none()
    );
    let facts = gather(store, id, now, Depth::Impact)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(facts.incident.id, id);
    assert_eq!(facts.security_events, [at(-60)]);
    assert_eq!(facts.alerts.len(), 1);
    assert_eq!(facts.alerts[0].started_at, at(-10));
    assert_eq!(facts.security_users.iter().collect::<Vec<_>>(), ["sam"]);
    assert_eq!(facts.publications.len(), 1);
    assert_eq!(facts.publications[0].at, published.publications[0].at);
    assert_eq!(facts.publications[0].audience, Audience::Public);
    assert!(
        facts
            .timeline
            .iter()
            .any(|e| e.kind == frontline_core::feed::FeedKind::IncidentOpened)
    );
    let mut contacts: Vec<(&str, bool)> = facts
        .contacts
        .iter()
        .map(|c| (c.key.1.as_str(), c.linked))
        .collect();
    contacts.sort();
    // The evidence ("1") and the linked contact ("2") are linked; "3" and "4" are on the
    // alert's topic; "5" is not.
    assert_eq!(
        contacts,
        [("1", true), ("2", true), ("3", false), ("4", false)]
    );
    let milestones = gather(store, id, now, Depth::Milestones)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        milestones.contacts.len(),
        2,
        "no topic search for milestones"
    );
    let m = frontline_core::metrics::compute(&facts);
    assert_eq!(m.first_customer_signal_at, Some(at(-10)));
    assert_eq!(
        m.customers_affected_before_first_contact_seconds,
        Some(50 * 60)
    );
    assert_eq!(m.impact.contacts, 4);
}

pub async fn passwords_and_sessions_are_kept_as_digests_and_end_once(store: &dyn Store) {
    use crate::people::NewSession;
    assert_eq!(store.login("ann").await.unwrap(), None);
    store
        .set_password(
            "ann",
            Some(Role::CxLead),
            "$argon2id$v=19$fake",
            true,
            &origin(),
        )
        .await
        .unwrap();
    let login = store.login("ann").await.unwrap().unwrap();
    assert_eq!(login.roles, [Role::CxLead]);
    assert_eq!(login.password_hash.as_deref(), Some("$argon2id$v=19$fake"));
    assert!(login.must_change);
    store
        .set_password("ann", None, "$argon2id$v=19$other", false, &origin())
        .await
        .unwrap();
    let login = store.login("ann").await.unwrap().unwrap();
    assert!(!login.must_change);
    assert_eq!(login.roles, [Role::CxLead], "no role given: roles kept");
    let session = NewSession {
        id: "00000000000000aa".into(),
        user: "ann".into(),
        digest: [9; 32],
        csrf: "csrf-token".into(),
        expires_at: Utc::now() + Duration::hours(12),
        client: Some("192.0.2.1".into()),
    };
    store.create_session(&session, &origin()).await.unwrap();
    match store
        .create_session(
            &NewSession {
                user: "nobody".into(),
                id: "00000000000000bb".into(),
                ..session.clone()
            },
            &origin(),
        )
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let read = store.session("00000000000000aa").await.unwrap().unwrap();
    assert_eq!(read.user, "ann");
    assert_eq!(read.roles, [Role::CxLead]);
    assert_eq!(read.digest, vec![9; 32]);
    assert_eq!(read.csrf, "csrf-token");
    assert_eq!(read.revoked_at, None);
    assert!(!read.must_change, "ann chose her own password above");
    assert_eq!(store.list_sessions(Some("ann")).await.unwrap().len(), 1);
    assert_eq!(store.list_sessions(Some("bob")).await.unwrap().len(), 0);
    assert_eq!(store.list_sessions(None).await.unwrap().len(), 1);
    store
        .revoke_session("00000000000000aa", &origin())
        .await
        .unwrap();
    assert!(
        store
            .session("00000000000000aa")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(store.list_sessions(None).await.unwrap().is_empty());
    match store.revoke_session("00000000000000aa", &origin()).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("a session ends once: {other:?}"),
    }
    let failed = frontline_core::audit::AuditEntry::new(
        frontline_core::audit::Actor::System,
        "session.sign_in_failed",
        "user:ann",
    );
    store.audit(&failed).await.unwrap();
    let actions: Vec<String> = store
        .audit_records(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        [
            "user.password",
            "user.password",
            "session.sign_in",
            "session.sign_out",
            "session.sign_in_failed"
        ]
    );
}

pub async fn access_is_taken_away_by_role_or_whole(store: &dyn Store) {
    use crate::people::{AccessRemoved, NewSession};
    store
        .set_password(
            "ann",
            Some(Role::CxLead),
            "$argon2id$hash",
            false,
            &origin(),
        )
        .await
        .unwrap();
    store
        .create_token(new_token("00000000000000a1", "ann", Role::Comms), &origin())
        .await
        .unwrap();
    store
        .create_token(
            new_token("00000000000000b1", "bob", Role::Viewer),
            &origin(),
        )
        .await
        .unwrap();
    store
        .create_session(
            &NewSession {
                id: "00000000000000cc".into(),
                user: "ann".into(),
                digest: [9; 32],
                csrf: "csrf".into(),
                expires_at: Utc::now() + Duration::hours(1),
                client: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    let roles = |users: Vec<crate::UserInfo>, name: &str| {
        users
            .into_iter()
            .find(|u| u.name == name)
            .map(|u| u.roles)
            .unwrap_or_default()
    };

    // One role: the others, the password, sessions and tokens stay.
    let removed = store
        .remove_access("ann", Some(Role::Comms), &origin())
        .await
        .unwrap();
    assert_eq!(
        removed,
        AccessRemoved {
            roles: 1,
            sessions: 0,
            tokens: 0
        }
    );
    assert_eq!(
        roles(store.list_users().await.unwrap(), "ann"),
        [Role::CxLead]
    );
    assert!(
        store
            .login("ann")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_some()
    );
    assert_eq!(store.list_sessions(Some("ann")).await.unwrap().len(), 1);

    // Everything: roles, password, sessions, tokens; bob keeps his.
    let removed = store.remove_access("ann", None, &origin()).await.unwrap();
    assert_eq!(
        removed,
        AccessRemoved {
            roles: 1,
            sessions: 1,
            tokens: 1
        }
    );
    let login = store.login("ann").await.unwrap().unwrap();
    assert!(login.password_hash.is_none() && login.roles.is_empty());
    assert!(store.list_sessions(Some("ann")).await.unwrap().is_empty());
    let tokens = store.list_tokens().await.unwrap();
    let revoked = |id: &str| {
        tokens
            .iter()
            .find(|t| t.id.0 == id)
            .unwrap()
            .revoked_at
            .is_some()
    };
    assert!(revoked("00000000000000a1") && !revoked("00000000000000b1"));
    assert_eq!(
        roles(store.list_users().await.unwrap(), "bob"),
        [Role::Viewer]
    );

    match store.remove_access("nobody", None, &origin()).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let records = store.audit_records(0, 1000).await.unwrap();
    let taken: Vec<_> = records
        .iter()
        .filter(|r| r.action == "user.access_removed")
        .collect();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[1].detail["role"], "all");
    assert_eq!(taken[1].detail["tokens_revoked"], 1);
}

/// A helpdesk connection is created once by name, keeps its previous signing secret through a
/// rotation, records its events' health, takes an event id once, and is gone when deleted.
pub async fn helpdesk_connections_rotate_secrets_and_take_each_event_once(store: &dyn Store) {
    use crate::helpdesks::{EventOutcome, HelpdeskChange, NewHelpdesk};
    let new = NewHelpdesk {
        name: "zd-main".into(),
        kind: "zendesk".into(),
        base_url: "https://example.zendesk.com".into(),
        auth_sealed: vec![1, 2, 3],
        signing_sealed: Some(vec![9, 9]),
    };
    let made = store.create_helpdesk(&new, &origin()).await.unwrap();
    assert_eq!((made.name.as_str(), made.events), ("zd-main", 0));
    assert!(made.previous_signing.is_none());
    let again = store.create_helpdesk(&new, &origin()).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    let until = Utc::now() + Duration::hours(24);
    let changed = store
        .change_helpdesk(
            "zd-main",
            &HelpdeskChange {
                base_url: Some("https://other.zendesk.com".into()),
                auth_sealed: None,
                rotate_signing: Some((vec![7, 7], until)),
            },
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(changed.base_url, "https://other.zendesk.com");
    assert_eq!(changed.auth_sealed, vec![1, 2, 3]);
    assert_eq!(changed.signing_sealed, Some(vec![7, 7]));
    let (previous, kept_until) = changed.previous_signing.clone().unwrap();
    assert_eq!(previous, vec![9, 9]);
    assert!((kept_until - until).num_seconds().abs() <= 1);

    assert!(
        store
            .record_helpdesk_event("zd-main", &EventOutcome::Taken(Some("ev-1")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_helpdesk_event("zd-main", &EventOutcome::Taken(Some("ev-1")))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_helpdesk_event("zd-main", &EventOutcome::Taken(None))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_helpdesk_event("zd-main", &EventOutcome::Failed("signature"))
            .await
            .unwrap()
    );
    let got = store.get_helpdesk("zd-main").await.unwrap().unwrap();
    assert_eq!(got.events, 2);
    assert!(got.last_event_at.is_some());
    assert_eq!(got.last_error.map(|(e, _)| e).as_deref(), Some("signature"));
    let unknown = store
        .record_helpdesk_event("nope", &EventOutcome::Taken(Some("x")))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );

    store
        .set_helpdesk_sweep("zd-main", "1764921600")
        .await
        .unwrap();
    let swept = store.get_helpdesk("zd-main").await.unwrap().unwrap();
    assert_eq!(swept.sweep_cursor.as_deref(), Some("1764921600"));
    assert!(swept.last_sweep_at.is_some());
    assert!(matches!(
        store.set_helpdesk_sweep("nope", "1").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list_helpdesks().await.unwrap().len(), 1);
    store.delete_helpdesk("zd-main", &origin()).await.unwrap();
    assert!(store.get_helpdesk("zd-main").await.unwrap().is_none());
    let gone = store.delete_helpdesk("zd-main", &origin()).await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
    let audited = store.audit_records(0, 1000).await.unwrap();
    let actions: Vec<&str> = audited.iter().map(|r| r.action.as_str()).collect();
    for action in ["helpdesk.create", "helpdesk.change", "helpdesk.delete"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    // The audit holds no credential, sealed or not.
    let text = format!("{audited:?}");
    assert!(!text.contains("[9, 9]") && !text.contains("[1, 2, 3]"));
}

/// The write-back ledger: a planned write is added once, a newer version supersedes an unsent
/// older one, only a pending write may go out, and a sent or superseded one stays so.
pub async fn helpdesk_writes_are_planned_once_superseded_and_never_sent_twice(store: &dyn Store) {
    use crate::helpdesks::{NewHelpdesk, PlannedWrite, WriteAction, WriteKey, WriteStatus};
    store
        .create_helpdesk(
            &NewHelpdesk {
                name: "zd".into(),
                kind: "zendesk".into(),
                base_url: "https://x".into(),
                auth_sealed: vec![1],
                signing_sealed: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    let key = |ticket: &str, version: u32| WriteKey {
        connection: "zd".into(),
        ticket: ticket.into(),
        statement_id: 7,
        version,
        action: WriteAction::Reply,
    };
    let plan = |ticket: &str, version: u32| PlannedWrite {
        key: key(ticket, version),
        incident_id: 3,
        body: format!("version {version}"),
    };
    assert_eq!(
        store
            .plan_helpdesk_writes(&[plan("1", 1), plan("2", 1)])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.plan_helpdesk_writes(&[plan("1", 1)]).await.unwrap(),
        0
    );
    // Ticket 1's version 1 goes out; then version 2 comes: ticket 2's unsent 1 is superseded.
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("1", 1)], WriteStatus::Sending, None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("1", 1)], WriteStatus::Sending, None)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        store
            .plan_helpdesk_writes(&[plan("1", 2), plan("2", 2)])
            .await
            .unwrap(),
        2
    );
    let open = store.open_helpdesk_writes("zd", 100).await.unwrap();
    let states: Vec<(String, u32, WriteStatus)> = open
        .iter()
        .map(|w| (w.key.ticket.clone(), w.key.version, w.status))
        .collect();
    assert_eq!(
        states,
        vec![
            ("1".into(), 1, WriteStatus::Sending),
            ("1".into(), 2, WriteStatus::Pending),
            ("2".into(), 2, WriteStatus::Pending),
        ]
    );
    // A superseded write is never sent.
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("2", 1)], WriteStatus::Sending, None)
            .await
            .unwrap()
            .len(),
        0
    );
    // An unknown outcome found on the ticket is sent; sent stays sent.
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("1", 1)], WriteStatus::Sent, None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("1", 1)], WriteStatus::Pending, Some("x"))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("2", 2)], WriteStatus::Sending, None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .settle_helpdesk_writes(&[key("2", 2)], WriteStatus::Pending, Some("timeout"))
            .await
            .unwrap()
            .len(),
        1
    );
    // An unknown outcome of an old version, not found on the ticket, is outdated: superseded.
    assert_eq!(
        store.plan_helpdesk_writes(&[plan("3", 1)]).await.unwrap(),
        1
    );
    store
        .settle_helpdesk_writes(&[key("3", 1)], WriteStatus::Sending, None)
        .await
        .unwrap();
    assert_eq!(
        store.plan_helpdesk_writes(&[plan("3", 2)]).await.unwrap(),
        1
    );
    store
        .settle_helpdesk_writes(&[key("3", 1)], WriteStatus::Pending, Some("not found"))
        .await
        .unwrap();
    let all = store.incident_helpdesk_writes(3).await.unwrap();
    assert_eq!(
        all.iter().find(|w| w.key == key("3", 1)).unwrap().status,
        WriteStatus::Superseded
    );
    let all: Vec<_> = all.into_iter().filter(|w| w.key.ticket != "3").collect();
    assert_eq!(all.len(), 4);
    let one = all.iter().find(|w| w.key == key("1", 1)).unwrap();
    assert_eq!((one.status, one.attempts), (WriteStatus::Sent, 1));
    assert!(one.sent_at.is_some());
    let two = all.iter().find(|w| w.key == key("2", 2)).unwrap();
    assert_eq!(
        (two.status, two.attempts, two.last_error.as_deref()),
        (WriteStatus::Pending, 1, Some("timeout"))
    );
    assert_eq!(
        all.iter().find(|w| w.key == key("2", 1)).unwrap().status,
        WriteStatus::Superseded
    );
}
