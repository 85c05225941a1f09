//! In CI: the committed corpus replayed through every target (seeds, plus every input a fuzzing
//! run found interesting or crashing), and the targets' properties as proptest suites.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_fuzz::{Target, luhn, personal_data, run, valid_iban};
use proptest::prelude::*;
use std::path::Path;

#[test]
fn the_committed_corpus_replays_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut replayed = 0;
    for target in Target::ALL {
        let dir = root.join(target.name());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} has no seeds", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| run(target, &data));
            assert!(outcome.is_ok(), "{} fails its properties", file.display());
            replayed += 1;
        }
    }
    println!("{replayed} corpus inputs replayed");
}

#[test]
fn the_oracle_knows_what_it_looks_for() {
    assert!(luhn("4111111111111111"));
    assert!(!luhn("4111111111111112"));
    assert!(valid_iban("DE89370400440532013000"));
    assert!(!valid_iban("DE89370400440532013001"));
    let found = personal_data("a jane@example.com b 4111 1111 1111 1111 c GB82WEST12345698765432");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(personal_data("order 4111111111111111111111 and [email]").is_empty());
}

/// A Luhn-valid number from `prefix` digits.
fn card(prefix: &[u8]) -> String {
    let mut digits: String = prefix.iter().map(|d| char::from(b'0' + d)).collect();
    for check in 0..10u8 {
        let candidate = format!("{digits}{check}");
        if luhn(&candidate) {
            digits = candidate;
            break;
        }
    }
    digits
}

/// A valid German IBAN for an 18-digit account part.
fn iban(account: &[u8]) -> String {
    let bban: String = account.iter().map(|d| char::from(b'0' + d)).collect();
    for check in 2..=98u32 {
        let candidate = format!("DE{check:02}{bban}");
        if valid_iban(&candidate) {
            return candidate;
        }
    }
    unreachable!("one check digit pair fits")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_bytes_panic_any_target(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for target in Target::ALL {
            run(target, &data);
        }
    }

    #[test]
    fn planted_personal_data_never_survives_json_intake(
        user in "[a-z][a-z0-9._]{0,12}",
        domain in "[a-z][a-z0-9]{1,10}",
        prefix in proptest::collection::vec(0u8..10, 12..=18),
        account in proptest::collection::vec(0u8..10, 18),
        filler in "[a-zA-Z ,.!?]{0,30}",
        in_metadata in any::<bool>(),
    ) {
        let email = format!("{user}@{domain}.com");
        let card = card(&prefix);
        let iban = iban(&account);
        let text = format!("{filler} {email} {card} {iban} {filler}");
        let mut contact = serde_json::json!({
            "id": "p1", "source": "prop", "channel": "email",
            "received_at": "2026-11-25T10:00:00Z", "text": text,
        });
        if in_metadata {
            contact["metadata"] = serde_json::json!({"note": text.clone(), "nested": [text.clone()]});
        }
        let accepted = frontline_server::fuzzing::contacts_json(contact.to_string().as_bytes());
        prop_assert_eq!(accepted.len(), 1);
        // `run` checks the stored text and metadata with the oracle.
        run(Target::ContactsJson, contact.to_string().as_bytes());
    }

    #[test]
    fn csv_fields_in_any_order_and_quoting_keep_the_properties(
        cells in proptest::collection::vec("[a-z0-9@. ,\"-]{0,20}", 0..8),
        order in proptest::sample::subsequence(
            vec!["id", "source", "channel", "received_at", "text", "metadata", "extra"], 0..7),
    ) {
        let header = order.join(",");
        let row: Vec<String> = cells
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect();
        let data = format!("{header}\n{}\n{}\n", row.join(","), cells.join(","));
        run(Target::ContactsCsv, data.as_bytes());
    }

    #[test]
    fn alertmanager_payloads_of_any_shape_are_refused_or_taken(
        status in "(firing|resolved|other)",
        starts in "(2026-11-25T13:00:00Z|0001-01-01T00:00:00Z|nonsense|)",
        name in "[A-Za-z]{0,12}",
        alerts in 0usize..4,
        version in "(4|3|)",
    ) {
        let alert = serde_json::json!({
            "status": status, "labels": {"alertname": name, "severity": "high"},
            "annotations": {}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
        });
        let body = serde_json::json!({
            "version": version, "status": status, "receiver": "r", "groupKey": "g",
            "truncatedAlerts": 0, "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am", "alerts": vec![alert; alerts],
        });
        run(Target::Alertmanager, body.to_string().as_bytes());
    }

    #[test]
    fn taxonomies_load_or_name_their_file(
        name in "[a-z_]{0,10}",
        phrases in proptest::collection::vec("[a-zà-ÿ '\"\\\\]{0,12}", 0..5),
        security in any::<bool>(),
    ) {
        let list: Vec<String> = phrases.iter().map(|p| format!("{p:?}")).collect();
        let toml = format!(
            "[[topic]]\nname = {name:?}\nsecurity = {security}\nphrases = [{}]\n",
            list.join(", ")
        );
        run(Target::Taxonomy, toml.as_bytes());
    }

    #[test]
    fn detect_scores_or_skips_every_row(
        rows in proptest::collection::vec(
            ("(2014-04-01 00:0[0-9]:00|2014-04-01T00:00:00Z|bad|)", "(-?[0-9]{1,6}(\\.[0-9]{1,3})?|NaN|inf|x|)"),
            0..40),
    ) {
        let mut data = String::from("timestamp,value\n");
        for (t, v) in rows {
            data.push_str(&format!("{t},{v}\n"));
        }
        run(Target::DetectCsv, data.as_bytes());
    }
}
