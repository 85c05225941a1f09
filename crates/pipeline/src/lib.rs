//! Frontline's pure pipeline stages, with no I/O, so the server, `frontline replay` and the
//! benchmarks run the very same code.
//!
//! Today: [`redact`] (personal data out of contact text before anything is stored) and
//! [`pseudonym`] (customer ids replaced by keyed hashes). Classification, fingerprinting,
//! clustering and detection join here as they are built.
#![warn(missing_docs)]

pub mod classify;
pub mod detect;
pub mod pseudonym;
pub mod redact;

use frontline_core::contact::{NewContact, RedactedContact};

/// Turns a checked contact into one that may be stored: text and metadata redacted, the
/// customer id replaced by its pseudonym.
pub fn redact_contact(
    contact: NewContact,
    redactor: &redact::Redactor,
    pseudonyms: &pseudonym::PseudonymKey,
) -> RedactedContact {
    RedactedContact {
        key: contact.key,
        channel: contact.channel,
        received_at: contact.received_at,
        text: redactor.redact(&contact.text).text,
        customer: contact.customer.as_deref().map(|c| pseudonyms.pseudonym(c)),
        service: contact.service,
        region: contact.region,
        language: contact.language,
        metadata: contact.metadata.map(|m| redactor.redact_json(m)),
    }
}
