//! The fuzz targets: every parser of untrusted input, each with the properties it must keep.
//! A violated property panics, which the fuzzer reports as a crash.
//!
//! The same [`run`] serves three callers: the AFL binaries in `fuzz/` (coverage-guided, long
//! runs by hand), the replay of the committed corpus (`crates/fuzz/corpus/TARGET/*`, in CI)
//! and the proptest suites (in CI).
//!
//! Properties:
//! - nothing panics, whatever the bytes;
//! - intake (JSON, NDJSON, CSV): every contact accepted comes out of redaction with no e-mail
//!   address, no Luhn-valid card number and no valid IBAN in its text or metadata, and
//!   redacting it again changes nothing;
//! - the Alertmanager payload: every event accepted has a title and a source;
//! - taxonomy loading: an error names the file; a taxonomy that loads classifies any text;
//! - the `detect` CSV reader: every record is scored or skipped, and every score is in [0, 1].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use frontline_pipeline::Intake;
use frontline_pipeline::classify::{Taxonomy, TaxonomyFile};
use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_pipeline::redact::Redactor;
use regex::Regex;
use std::sync::{Arc, LazyLock};

/// A fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `POST /api/v1/contacts` bodies.
    ContactsJson,
    /// `POST /api/v1/contacts/bulk` bodies (NDJSON).
    ContactsNdjson,
    /// `frontline ingest FILE.csv`.
    ContactsCsv,
    /// `POST /api/v1/integrations/alertmanager` bodies.
    Alertmanager,
    /// Redaction of free text.
    Redaction,
    /// Taxonomy files.
    Taxonomy,
    /// `frontline detect`'s CSV series.
    DetectCsv,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 7] = [
        Target::ContactsJson,
        Target::ContactsNdjson,
        Target::ContactsCsv,
        Target::Alertmanager,
        Target::Redaction,
        Target::Taxonomy,
        Target::DetectCsv,
    ];

    /// The name of its corpus folder and AFL binary.
    pub fn name(self) -> &'static str {
        match self {
            Target::ContactsJson => "contacts_json",
            Target::ContactsNdjson => "contacts_ndjson",
            Target::ContactsCsv => "contacts_csv",
            Target::Alertmanager => "alertmanager",
            Target::Redaction => "redaction",
            Target::Taxonomy => "taxonomy",
            Target::DetectCsv => "detect_csv",
        }
    }
}

static INTAKE: LazyLock<Intake> = LazyLock::new(|| Intake {
    redactor: Redactor::shared(),
    pseudonyms: PseudonymKey::new(b"fuzzing-key-0123456789abcdef".to_vec()),
    taxonomy: Arc::new(Taxonomy::default_taxonomy()),
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    // A valid address: domain labels start and end with a letter or digit.
    Regex::new(
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
    )
    .unwrap()
});
/// 13 to 19 digits, optionally in groups split by one space or dash.
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d(?:[ -]?\d){12,18}").unwrap());
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b").unwrap());

/// IBAN lengths of common countries (the oracle's own table, not the redactor's).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AT", 20),
    ("BE", 16),
    ("CH", 21),
    ("DE", 22),
    ("ES", 24),
    ("FR", 27),
    ("GB", 22),
    ("IT", 27),
    ("NL", 18),
];

/// Whether `digits` pass the Luhn check.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Whether `iban` (no spaces) is a valid IBAN of a country in the oracle's table.
pub fn valid_iban(iban: &str) -> bool {
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| iban.starts_with(c)) else {
        return false;
    };
    if iban.len() != len {
        return false;
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut rem: u64 = 0;
    for c in rearranged.chars() {
        let v = match c {
            '0'..='9' => u64::from(c as u8 - b'0'),
            'A'..='Z' => u64::from(c as u8 - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The personal data the oracle finds in `text`: e-mail addresses, Luhn-valid card numbers
/// (whole digit runs of 13 to 19 digits, not part of a longer run) and valid IBANs.
pub fn personal_data(text: &str) -> Vec<String> {
    let mut found: Vec<String> = EMAIL
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect();
    for m in CARD.find_iter(text) {
        let bytes = text.as_bytes();
        let before = text[..m.start()].chars().next_back();
        let after = bytes.get(m.end()).copied();
        // Part of a longer token (letters or digits glued on, digit groups going on) is not a
        // card here: the card must stand as a number of its own. (The redactor takes cards
        // glued to letters too; the oracle asks no more than a number standing alone.) After
        // a `+` it is a phone number, unless it is too long for one (E.164: 15 digits).
        let digits_n = m.as_str().bytes().filter(u8::is_ascii_digit).count();
        let glued = before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '.')
            || (before == Some('+') && digits_n <= 15)
            || after.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
            || text[m.end()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        if !glued && luhn(&digits) {
            found.push(m.as_str().to_owned());
        }
    }
    found.extend(
        IBAN.find_iter(text)
            .filter(|m| valid_iban(m.as_str()))
            .map(|m| m.as_str().to_owned()),
    );
    found
}

fn assert_clean(what: &str, text: &str) {
    let found = personal_data(text);
    assert!(
        found.is_empty(),
        "{what} kept personal data {found:?}: {text:?}"
    );
}

fn strings_of(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings_of(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings_of(v, out)),
        _ => {}
    }
}

/// Redacts and checks accepted contacts.
fn check_contacts(contacts: Vec<frontline_core::contact::NewContact>) {
    for contact in contacts {
        let stored = INTAKE.prepare(contact);
        assert_clean("the stored text", &stored.text);
        let again = INTAKE.redactor.redact(&stored.text).text;
        assert_eq!(again, stored.text, "redaction is idempotent");
        if let Some(metadata) = &stored.metadata {
            let mut strings = Vec::new();
            strings_of(metadata, &mut strings);
            for s in strings {
                assert_clean("the stored metadata", &s);
            }
        }
    }
}

/// Runs one input through a target, panicking when a property fails.
pub fn run(target: Target, data: &[u8]) {
    match target {
        Target::ContactsJson => check_contacts(frontline_server::fuzzing::contacts_json(data)),
        Target::ContactsNdjson => {
            let contacts = data
                .split(|b| *b == b'\n')
                .filter_map(|line| frontline_server::api::bulk::parse_line(line).ok())
                .collect();
            check_contacts(contacts);
        }
        Target::ContactsCsv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
            let Ok(headers) = reader.headers() else {
                return;
            };
            let headers: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
            let mut contacts = Vec::new();
            for record in reader.records().map_while(Result::ok) {
                let json = frontline_server::api::bulk::csv_record_to_json(&headers, &record);
                if let Ok(c) = frontline_server::api::bulk::parse_line(json.to_string().as_bytes())
                {
                    contacts.push(c);
                }
            }
            check_contacts(contacts);
        }
        Target::Alertmanager => {
            for event in frontline_server::fuzzing::alertmanager(data) {
                assert!(!event.title.trim().is_empty(), "an event without a title");
                assert!(!event.source.is_empty(), "an event without a source");
            }
        }
        Target::Redaction => {
            let text = String::from_utf8_lossy(data);
            let once = INTAKE.redactor.redact(&text).text;
            assert_clean("redaction", &once);
            assert_eq!(
                INTAKE.redactor.redact(&once).text,
                once,
                "redaction is idempotent"
            );
        }
        Target::Taxonomy => {
            let text = String::from_utf8_lossy(data);
            match TaxonomyFile::parse(&text, "fuzz.toml") {
                Ok(file) => {
                    if let Ok(taxonomy) = Taxonomy::build(vec![("fuzz.toml".into(), file)]) {
                        taxonomy.classify(&text);
                        taxonomy.classify("my account was hacked and I got a phishing mail");
                    }
                }
                Err(e) => assert_eq!(e.file, "fuzz.toml", "the error names the file"),
            }
        }
        Target::DetectCsv => {
            let mut out = Vec::new();
            let mut skipped = 0;
            let Ok(scored) = frontline_pipeline::detect::score_csv(data, &mut out, |_, _| {
                skipped += 1;
            }) else {
                return;
            };
            assert_eq!(scored.skipped, skipped);
            let text = String::from_utf8(out).expect("the output is UTF-8");
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("timestamp,value,anomaly_score"));
            let mut rows = 0;
            for line in lines {
                let score: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
                assert!((0.0..=1.0).contains(&score), "score {score} in {line:?}");
                rows += 1;
            }
            assert_eq!(rows, scored.rows);
        }
    }
}
