//! Erasures made after a backup, applied again to what a restore brought back, before anything
//! is served: customers by their pseudonym, people by finding which name the installation knows
//! has the pseudonym the ledger holds (the ledger never holds the name itself).

use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_store::lifecycle::PERSON_LEDGER_PREFIX;
use frontline_store::{Origin, Store};
use std::collections::HashMap;

/// Applies `ledger` (rows' pseudonyms, oldest first) to `store`. Returns how many people were
/// found and erased again (a person the restored installation never named has nothing to
/// erase).
pub(crate) async fn reapply(
    store: &dyn Store,
    key: &PseudonymKey,
    ledger: &[String],
    origin: &Origin,
) -> anyhow::Result<usize> {
    let people = ledger.iter().any(|p| p.starts_with(PERSON_LEDGER_PREFIX));
    let names = if people {
        known_names(store, key).await?
    } else {
        HashMap::new()
    };
    let mut found = 0;
    for row in ledger {
        match row.strip_prefix(PERSON_LEDGER_PREFIX) {
            Some(pseudonym) => {
                if let Some(name) = names.get(pseudonym) {
                    store.erase_person(name, pseudonym, origin).await?;
                    found += 1;
                }
            }
            None => {
                store.erase_customer(row, origin).await?;
            }
        }
    }
    Ok(found)
}

/// Every name the installation holds, by its pseudonym: its users, and whoever acted or was
/// acted on in its audit log (an account removed before the backup still left its name there).
async fn known_names(
    store: &dyn Store,
    key: &PseudonymKey,
) -> anyhow::Result<HashMap<String, String>> {
    let mut names: Vec<String> = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| u.name)
        .collect();
    let mut after = 0;
    loop {
        let records = store.audit_records(after, 1000).await?;
        let Some(last) = records.last().map(|r| r.seq) else {
            break;
        };
        for r in records {
            for field in [r.actor, r.target] {
                if let Some(name) = field.strip_prefix("user:") {
                    names.push(name.to_owned());
                }
            }
        }
        after = last;
    }
    Ok(names
        .into_iter()
        .map(|n| (key.pseudonym(&format!("user:{n}")), n))
        .collect())
}
