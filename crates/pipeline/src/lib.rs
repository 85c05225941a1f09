//! Frontline's pure pipeline stages, with no I/O, so the server, `frontline replay` and the
//! benchmarks run the very same code.
//!
//! [`redact`] (personal data out of contact text before anything is stored), [`pseudonym`]
//! (customer ids replaced by keyed hashes) and [`classify`] (topics from a taxonomy and the
//! [`learned`] classifier beside it), all applied by [`Intake`]; [`detector`] (spikes,
//! [`themes`] and [`clusters`] over one stream of contacts, alerts grouped per wave); [`detect`]
//! (online anomaly scores of numeric series); [`correlate`].
#![warn(missing_docs)]

pub mod augment;
pub mod classify;
pub mod clusters;
pub mod correlate;
pub mod detect;
pub mod detector;
pub mod learned;
pub mod own_words;
pub mod pseudonym;
pub mod redact;
pub mod spikes;
pub mod themes;

use frontline_core::contact::{NewContact, RedactedContact};
use std::sync::Arc;

/// Everything a contact goes through before it may be stored: redaction of text and metadata,
/// the customer's pseudonym, and its topics (classified on the redacted text).
#[derive(Debug, Clone)]
pub struct Intake {
    /// Redaction patterns.
    pub redactor: &'static redact::Redactor,
    /// The installation's pseudonym key.
    pub pseudonyms: pseudonym::PseudonymKey,
    /// The taxonomy.
    pub taxonomy: Arc<classify::Taxonomy>,
}

/// What topics, themes and clusters read of a redacted text: the customer's own words (not
/// the quoted reply below them), normalised for matching.
pub fn heard(redacted: &str) -> String {
    let own = own_words::without_wrapper_lines(own_words::own_words(redacted));
    classify::normalize(&own_words::without_courtesies(&own))
}

impl Intake {
    /// Turns a checked contact into one that may be stored.
    pub fn prepare(&self, contact: NewContact) -> RedactedContact {
        self.prepare_normalized(contact).0
    }

    /// [`Intake::prepare`], also giving the redacted text normalised for matching (see
    /// [`classify::normalize`]), for callers that cluster it next.
    pub fn prepare_normalized(&self, contact: NewContact) -> (RedactedContact, String) {
        let text = self.redactor.redact(&contact.text).text;
        let normalized = heard(&text);
        let topics = self
            .taxonomy
            .classify_contact(&normalized, contact.language.as_deref());
        let prepared = RedactedContact {
            key: contact.key,
            channel: contact.channel,
            received_at: contact.received_at,
            text,
            customer: contact
                .customer
                .as_deref()
                .map(|c| self.pseudonyms.pseudonym(c)),
            service: contact.service,
            region: contact.region,
            language: contact.language,
            metadata: contact.metadata.map(|m| self.redactor.redact_json(m)),
            topics,
        };
        (prepared, normalized)
    }
}
