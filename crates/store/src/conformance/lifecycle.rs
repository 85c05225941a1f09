//! Data lifecycle: retention removes exactly what is past its window, never what an open
//! incident needs, in batches, and a dry run only counts.

use super::{at, contact, detected, new_incident, new_token, origin, update_state};
use crate::Store;
use crate::lifecycle::{RetentionCounts, RetentionCutoffs};
use frontline_core::Role;
use frontline_core::incident::{IncidentState, Signal};

pub async fn retention_removes_what_is_past_its_window_and_nothing_an_open_incident_needs(
    store: &dyn Store,
) {
    // Contacts: 1 past both windows, 2 past both but linked to an open incident, 3 past both
    // and linked to a resolved one, 4 past the text window only, 5 recent.
    let contacts = [
        contact("z", "1", 0),
        contact("z", "2", 10),
        contact("z", "3", 20),
        contact("z", "4", 70),
        contact("z", "5", 150),
    ];
    store.insert_contacts(&contacts, &origin()).await.unwrap();
    let signal = |id: &str| Signal::Contact {
        source: "z".into(),
        id: id.into(),
    };
    store
        .upsert_alerts(&[
            detected("old", 0, 3),
            detected("kept", 0, 3),
            detected("new", 150, 3),
        ])
        .await
        .unwrap();
    store
        .open_incident(
            &new_incident(
                "open",
                vec![signal("2"), Signal::Alert { id: "kept".into() }],
            ),
            &origin(),
        )
        .await
        .unwrap();
    let resolved = store
        .open_incident(&new_incident("over", vec![signal("3")]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    store
        .change_incident(
            resolved,
            &[update_state(IncidentState::Resolved)],
            &origin(),
        )
        .await
        .unwrap();
    // Tokens: one expired long ago, one that never expires.
    let mut expired = new_token("t-old", "ann", Role::CxAgent);
    expired.expires_at = Some(at(0));
    store.create_token(expired, &origin()).await.unwrap();
    store
        .create_token(new_token("t-live", "ann", Role::CxAgent), &origin())
        .await
        .unwrap();

    let cutoffs = RetentionCutoffs {
        contact_text: Some(at(100)),
        contacts: Some(at(50)),
        alert_evidence: Some(at(100)),
        deliveries: Some(at(100)),
        sessions: Some(at(100)),
    };
    let expected = RetentionCounts {
        // 1 (also removed whole), 3 and 4.
        contact_texts: 3,
        contacts: 1,
        alert_evidence: 1,
        deliveries: 0,
        mails: 0,
        sessions: 0,
        tokens: 1,
    };
    let counted = store.retention_pass(&cutoffs, 1, true).await.unwrap();
    assert_eq!(counted, expected, "a dry run counts everything");
    assert_eq!(
        store
            .get_contact("z", "1")
            .await
            .unwrap()
            .unwrap()
            .contact
            .text,
        contacts[0].text,
        "and changes nothing"
    );

    // One row per class and pass: three passes drop the three texts.
    let mut total = RetentionCounts::default();
    for _ in 0..10 {
        let pass = store.retention_pass(&cutoffs, 1, false).await.unwrap();
        assert!(pass.contact_texts <= 1 && pass.contacts <= 1, "{pass:?}");
        if pass.total() == 0 {
            break;
        }
        total.add(&pass);
    }
    assert!(
        total.contacts == 1 && total.alert_evidence == 1 && total.tokens == 1,
        "{total:?}"
    );
    // Contact 1 went whole (its text may have gone first); 2 is untouched; 3 and 4 keep their
    // row, topics, pseudonym and time without text or metadata; 5 is untouched.
    assert!(store.get_contact("z", "1").await.unwrap().is_none());
    for (id, kept) in [("2", true), ("3", false), ("4", false), ("5", true)] {
        let c = store.get_contact("z", id).await.unwrap().unwrap().contact;
        let original = contacts.iter().find(|c| c.key.id == id).unwrap();
        assert_eq!(c.topics, original.topics, "{id}");
        assert_eq!(c.customer, original.customer, "{id}");
        assert_eq!(c.received_at, original.received_at, "{id}");
        if kept {
            assert_eq!(
                (c.text, c.metadata),
                (original.text.clone(), original.metadata.clone()),
                "{id}"
            );
        } else {
            assert_eq!((c.text.as_str(), c.metadata), ("", None), "{id}");
        }
    }
    let evidence = |id: &'static str| async move {
        store
            .get_alert(id)
            .await
            .unwrap()
            .unwrap()
            .detected
            .evidence
            .len()
    };
    assert_eq!(evidence("old").await, 0);
    assert_eq!(
        evidence("kept").await,
        1,
        "an open incident's alert keeps its evidence"
    );
    assert_eq!(evidence("new").await, 1);
    let tokens: Vec<String> = store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.0)
        .collect();
    assert!(tokens.contains(&"t-live".to_owned()) && !tokens.contains(&"t-old".to_owned()));
    // Nothing is left to remove.
    assert_eq!(
        store
            .retention_pass(&cutoffs, 100, false)
            .await
            .unwrap()
            .total(),
        0
    );
}

pub async fn erasure_removes_one_customers_data_and_nothing_else(store: &dyn Store) {
    let mine = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let theirs = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let of = |id: &str, customer: &str| {
        let mut c = contact("z", id, 0);
        c.customer = Some(customer.into());
        c
    };
    store
        .insert_contacts(
            &[of("m1", mine), of("m2", mine), of("t1", theirs)],
            &origin(),
        )
        .await
        .unwrap();
    let incident = store
        .open_incident(
            &new_incident(
                "wave",
                vec![Signal::Contact {
                    source: "z".into(),
                    id: "m2".into(),
                }],
            ),
            &origin(),
        )
        .await
        .unwrap()
        .incident
        .id;
    let mut alert = detected("wave-alert", 0, 2);
    alert.evidence = ["m1", "t1"]
        .iter()
        .map(|id| frontline_core::alert::Evidence {
            source: "z".into(),
            id: (*id).into(),
        })
        .collect();
    store.upsert_alerts(&[alert]).await.unwrap();

    let done = store.erase_customer(mine, &origin()).await.unwrap();
    assert_eq!(
        done.counts,
        crate::lifecycle::ErasureCounts {
            contacts_removed: 1,
            contacts_tombstoned: 1,
            alerts_scrubbed: 1,
            corrections_removed: 0,
        }
    );
    assert!(store.get_contact("z", "m1").await.unwrap().is_none());
    // The incident's contact is a tombstone: still linked, nothing of the customer left.
    let tomb = store.get_contact("z", "m2").await.unwrap().unwrap().contact;
    assert_eq!(
        (tomb.text.as_str(), tomb.customer, tomb.metadata),
        ("", None, None)
    );
    let links = store.get_incident(incident).await.unwrap().unwrap().links;
    assert_eq!(links.len(), 1);
    // The other customer is untouched, in the contacts and in the alert's evidence.
    let other = store.get_contact("z", "t1").await.unwrap().unwrap().contact;
    assert_eq!(other.customer.as_deref(), Some(theirs));
    assert!(!other.text.is_empty());
    let evidence = store
        .get_alert("wave-alert")
        .await
        .unwrap()
        .unwrap()
        .detected
        .evidence;
    let ids: Vec<&str> = evidence.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["t1"]);

    // Someone unknown: nothing erased, the request still recorded.
    let none = store.erase_customer("cccc", &origin()).await.unwrap();
    assert_eq!(none.counts, crate::lifecycle::ErasureCounts::default());
    let ledger = store.list_erasures(0, 10).await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(
        (ledger[0].pseudonym.as_str(), ledger[0].id),
        (mine, done.id)
    );
    assert_eq!(ledger[0].actor, "user:tester");
    assert_eq!(
        store.list_erasures(ledger[0].id, 10).await.unwrap().len(),
        1
    );
    // The audit log says an erasure happened and what it removed, never whose.
    let audit = store.audit_records(0, 1000).await.unwrap();
    let erasures: Vec<_> = audit
        .iter()
        .filter(|r| r.action == "erasure.request")
        .collect();
    assert_eq!(erasures.len(), 2);
    assert!(
        erasures
            .iter()
            .all(|r| !r.detail.to_string().contains(mine) && !r.target.contains(mine))
    );
    assert_eq!(erasures[0].detail["contacts_removed"], 1);
}

pub async fn a_person_is_erased_everywhere_and_the_audit_chain_still_verifies(store: &dyn Store) {
    use crate::Origin;
    use crate::people::NewSession;
    use frontline_core::audit::{Actor, ChainCheck};
    use frontline_core::incident::{IncidentChange, IncidentRole};
    let by = |name: &str| {
        let mut o = Origin::new(Actor::User { name: name.into() });
        o.client = Some(format!("192.0.2.{}", name.len()));
        o
    };
    // Free text (titles, notes) is not searched for names: none here holds one.
    for (token, user) in [("t-1", "bob"), ("t-2", "alice")] {
        store
            .create_token(new_token(token, user, Role::Security), &by("admin"))
            .await
            .unwrap();
    }
    store
        .create_session(
            &NewSession {
                id: "00000000000000b0".into(),
                user: "bob".into(),
                digest: [9; 32],
                csrf: "csrf".into(),
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
                client: Some("192.0.2.3".into()),
            },
            &by("bob"),
        )
        .await
        .unwrap();
    // Bob opens an incident, takes a seat and a task; Alice opens one of her own.
    let bobs = store
        .open_incident(&new_incident("payments down", vec![]), &by("bob"))
        .await
        .unwrap()
        .incident
        .id;
    let changes = [
        IncidentChange::AssignRole {
            role: IncidentRole::Commander,
            user: Some("bob".into()),
        },
        IncidentChange::AddTask {
            title: "rotate keys".into(),
            owner: Some("bob".into()),
        },
        IncidentChange::AssignRole {
            role: IncidentRole::CxLead,
            user: Some("alice".into()),
        },
    ];
    store
        .change_incident(bobs, &changes, &by("bob"))
        .await
        .unwrap();
    let alices = store
        .open_incident(&new_incident("logins slow", vec![]), &by("alice"))
        .await
        .unwrap()
        .incident
        .id;

    let done = store
        .erase_person("bob", "0123456789abcdef0123456789abcdef", &by("admin"))
        .await
        .unwrap();
    let c = &done.counts;
    assert!(c.account_removed);
    assert_eq!((c.sessions_removed, c.tokens_removed), (1, 1));
    assert_eq!(c.audit_records_kept, 0, "every record was written erasable");
    assert!(c.audit_fields_erased >= 5, "{c:?}");
    assert!(c.actor_fields >= 1 && c.documents >= 2, "{c:?}");

    // The chain still verifies, and says how many fields it attests by commitment only.
    let records = store.audit_records(0, 1000).await.unwrap();
    let mut check = ChainCheck::default();
    for r in &records {
        check.check(r).unwrap();
    }
    assert_eq!(check.erased(), c.audit_fields_erased);
    // Nothing names Bob any more: not the audit log, not a timeline, not an incident; his
    // address went with his actions.
    let incident = |id| async move { store.get_incident(id).await.unwrap().unwrap() };
    let text = format!(
        "{}{:?}{:?}{:?}",
        serde_json::to_string(&records).unwrap(),
        store.feed_after(0, None, 1000).await.unwrap(),
        incident(bobs).await,
        store.list_users().await.unwrap(),
    );
    assert!(
        !text.contains("bob") && !text.contains("192.0.2.3"),
        "{text}"
    );
    assert!(text.contains("user:erased-0123456789ab"));
    let detail = incident(bobs).await;
    assert_eq!(
        detail
            .incident
            .roles
            .get(&IncidentRole::Commander)
            .map(String::as_str),
        Some("erased-0123456789ab")
    );
    assert_eq!(
        detail.incident.tasks[0].owner.as_deref(),
        Some("erased-0123456789ab")
    );
    // Alice is untouched: her seat, her incident, her records with their addresses.
    assert_eq!(
        detail
            .incident
            .roles
            .get(&IncidentRole::CxLead)
            .map(String::as_str),
        Some("alice")
    );
    assert_eq!(incident(alices).await.incident.opened_by, "user:alice");
    let hers: Vec<_> = records.iter().filter(|r| r.actor == "user:alice").collect();
    assert!(!hers.is_empty());
    assert!(hers.iter().all(|r| r.erased() == 0 && r.client.is_some()));
    assert!(
        store
            .list_users()
            .await
            .unwrap()
            .iter()
            .any(|u| u.name == "alice")
    );
    assert!(store.session("00000000000000b0").await.unwrap().is_none());

    // The ledger holds the request as a person's, by pseudonym, for a restore to apply again.
    let ledger = store.list_erasures(0, 10).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].id, done.id);
    assert_eq!(
        ledger[0].pseudonym,
        "person:0123456789abcdef0123456789abcdef"
    );
    // The erasure itself is audited under the placeholder, and a second one finds nothing.
    let last = records.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target.as_str()),
        ("erasure.person", "user:erased-0123456789ab")
    );
    let again = store
        .erase_person("bob", "0123456789abcdef0123456789abcdef", &by("admin"))
        .await
        .unwrap();
    assert_eq!(
        again.counts,
        crate::lifecycle::PersonErasureCounts::default()
    );
}
