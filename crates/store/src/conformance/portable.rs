//! The portable export and import: an installation exported, emptied and imported back holds
//! the same rows (every table's digest equal), keeps its audit chain, and goes on numbering
//! after what it imported.

use super::{contact, detected, event, new_incident, new_token, origin};
use crate::portable::{Cell, Digests, Row, RowSink, TABLES, Table, table};
use crate::{Store, StoreError};
use async_trait::async_trait;
use frontline_core::Role;
use frontline_core::incident::Signal;
use frontline_core::webhook::{KindFilter, NewWebhook, WebhookFormat};

#[derive(Default)]
struct Collect(Vec<(&'static Table, Vec<Row>)>, Digests);

#[async_trait]
impl RowSink for Collect {
    async fn rows(&mut self, table: &'static Table, rows: Vec<Row>) -> Result<(), StoreError> {
        self.1.add(table, &rows);
        self.0.push((table, rows));
        Ok(())
    }
}

async fn exported(store: &dyn Store) -> Collect {
    let mut all = Collect::default();
    store.export(&mut all).await.unwrap();
    all
}

pub async fn an_export_imports_back_whole_and_numbering_goes_on(store: &dyn Store) {
    store
        .secret_or_insert("pseudonym", &[1, 2, 3, 250])
        .await
        .unwrap();
    store
        .create_token(new_token("tok-a", "ann", Role::Security), &origin())
        .await
        .unwrap();
    let mut odd = contact("mail", "2", 5);
    odd.text = "«Ärger» \"quoted\" \\ back-slash, 中文, 🙂".into();
    odd.metadata = None;
    odd.customer = None;
    store
        .insert_contacts(
            &[contact("mail", "1", 0), odd, contact("chat", "3", 9)],
            &origin(),
        )
        .await
        .unwrap();
    store
        .insert_security_events(
            &[event(
                "f-1",
                3,
                frontline_core::security_event::Severity::High,
            )],
            &origin(),
        )
        .await
        .unwrap();
    store.upsert_alerts(&[detected("a-1", 0, 4)]).await.unwrap();
    let signal = Signal::Contact {
        source: "mail".into(),
        id: "1".into(),
    };
    let first = store
        .open_incident(&new_incident("one", vec![signal]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    store
        .create_webhook(
            &NewWebhook {
                url: "https://example.net/hook".into(),
                secret: "whsec-1".into(),
                format: WebhookFormat::Generic,
                events: KindFilter::parse(&["*".into()]).unwrap(),
            },
            &origin(),
        )
        .await
        .unwrap();
    // An import under way is marked until verified, and the mark is not exported.
    assert_eq!(store.import_unfinished().await.unwrap(), None);
    store.import_started("sqlite://old.db").await.unwrap();
    store
        .import_started("sqlite://old.db (resumed)")
        .await
        .unwrap();
    assert_eq!(
        store.import_unfinished().await.unwrap().as_deref(),
        Some("sqlite://old.db (resumed)")
    );
    let before = exported(store).await;
    store.import_verified().await.unwrap();
    assert_eq!(store.import_unfinished().await.unwrap(), None);
    let rows_before = store.table_rows().await.unwrap();
    assert!(
        rows_before.iter().filter(|(_, n)| *n > 0).count() >= 9,
        "{rows_before:?}"
    );
    let head = store.audit_records(0, 10_000).await.unwrap().pop().unwrap();

    // Emptied, children first, then imported back in the catalogue's order.
    for t in TABLES.iter().rev() {
        store.clear_table(t).await.unwrap();
    }
    assert!(
        store
            .table_rows()
            .await
            .unwrap()
            .iter()
            .all(|(_, n)| *n == 0)
    );
    for (t, rows) in &before.0 {
        store.import_rows(t, rows).await.unwrap();
    }
    store.import_finish().await.unwrap();

    let after = exported(store).await;
    assert_eq!(store.table_rows().await.unwrap(), rows_before);
    for t in TABLES {
        assert_eq!(
            before.1.of(t.name).hex(),
            after.1.of(t.name).hex(),
            "table {} differs after the round trip",
            t.name
        );
    }
    assert_eq!(
        store.audit_records(0, 10_000).await.unwrap().pop().unwrap(),
        head,
        "the audit log ends where it did: an import is not audited"
    );
    let restored = store.get_contact("mail", "2").await.unwrap().unwrap();
    assert_eq!(
        restored.contact.text,
        "«Ärger» \"quoted\" \\ back-slash, 中文, 🙂"
    );
    assert_eq!(
        store.secret_or_insert("pseudonym", &[9]).await.unwrap(),
        vec![1, 2, 3, 250]
    );

    // Numbering goes on after the imported rows: nothing new collides with them.
    let second = store
        .open_incident(&new_incident("two", vec![]), &origin())
        .await
        .unwrap()
        .incident
        .id;
    assert!(second > first);
    store
        .insert_contacts(&[contact("mail", "4", 20)], &origin())
        .await
        .unwrap();
    store
        .create_token(new_token("tok-b", "bo", Role::CxAgent), &origin())
        .await
        .unwrap();

    // A row already there, or a value of the wrong kind: refused, naming it; nothing written.
    let contacts = table("contacts").unwrap();
    let (_, rows) = before.0.iter().find(|(t, _)| t.name == "contacts").unwrap();
    let err = store.import_rows(contacts, &rows[..1]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let mut wrong = rows[1].clone();
    wrong[4] = Cell::Text("yesterday".into());
    let err = store.import_rows(contacts, &[wrong]).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid { field, .. } if field == "contacts.received_at"),
        "{err:?}"
    );
    let counted = store.table_rows().await.unwrap();
    assert_eq!(counted.iter().find(|(t, _)| *t == "contacts").unwrap().1, 4);
}
