//! Contacts: one customer message each. [`ContactInput`] is what a client sends;
//! [`NewContact`] is that input checked; [`RedactedContact`] is what may be stored, after the
//! pipeline has removed personal data; [`Contact`] is what the store gives back.

use crate::field::{self, InvalidField};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Longest accepted contact text, in bytes (UTF-8).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Longest accepted `metadata`, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The channel a contact came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A helpdesk ticket.
    Ticket,
    /// A live chat.
    Chat,
    /// A phone call (text is a transcript or the agent's summary).
    Call,
    /// An e-mail.
    Email,
    /// A social media post or message.
    Social,
    /// An app store or review site review.
    Review,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 6] = [
        Channel::Ticket,
        Channel::Chat,
        Channel::Call,
        Channel::Email,
        Channel::Social,
        Channel::Review,
    ];

    /// The channel's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Ticket => "ticket",
            Channel::Chat => "chat",
            Channel::Call => "call",
            Channel::Email => "email",
            Channel::Social => "social",
            Channel::Review => "review",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!("unknown channel {s:?}; expected one of ticket, chat, call, email, social, review")
            })
    }
}

/// A contact as a client sends it, before any check. Every field is optional here so that a
/// missing one is reported by name by [`NewContact::try_from`]; unknown fields are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// The source's own id of this contact; unique per `source`.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "48213"))]
    pub id: Option<String>,
    /// Where it came from, e.g. `zendesk`.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "zendesk"))]
    pub source: Option<String>,
    /// One of `ticket`, `chat`, `call`, `email`, `social`, `review`.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "ticket"))]
    pub channel: Option<String>,
    /// When the customer sent it, RFC 3339.
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = String, example = "2026-11-25T13:05:00Z")
    )]
    pub received_at: Option<String>,
    /// What the customer wrote or said, at most 32 KiB. Personal data is redacted before storage.
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String))]
    pub text: Option<String>,
    /// An opaque customer id; stored only as a keyed pseudonym.
    pub customer: Option<String>,
    /// The affected service, if known.
    pub service: Option<String>,
    /// The customer's region, if known.
    pub region: Option<String>,
    /// The language of `text` (BCP 47, e.g. `en`, `de-CH`), if known.
    pub language: Option<String>,
    /// Source-specific extra data (a JSON object, at most 16 KiB); strings in it are redacted too.
    pub metadata: Option<serde_json::Value>,
}

/// Identifies a contact: the source's id, unique per source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactKey {
    /// The source, e.g. `zendesk`.
    pub source: String,
    /// The source's id.
    pub id: String,
}

/// A checked contact, still holding the customer's own words and id. Only the pipeline's
/// redaction turns it into something that may be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    /// Source and source id.
    pub key: ContactKey,
    /// The channel.
    pub channel: Channel,
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// The raw text.
    pub text: String,
    /// The raw customer id.
    pub customer: Option<String>,
    /// The affected service.
    pub service: Option<String>,
    /// The customer's region.
    pub region: Option<String>,
    /// The text's language.
    pub language: Option<String>,
    /// Extra data: a JSON object.
    pub metadata: Option<serde_json::Value>,
}

impl field::Dated for NewContact {
    fn dated(&self) -> (DateTime<Utc>, &'static str) {
        (self.received_at, "received_at")
    }
}

impl TryFrom<ContactInput> for NewContact {
    type Error = InvalidField;

    fn try_from(input: ContactInput) -> Result<Self, Self::Error> {
        let id = field::short_text(field::required(input.id, "id")?, "id", 256)?;
        let source = field::short_text(field::required(input.source, "source")?, "source", 64)?;
        let channel = field::required(input.channel, "channel")?
            .trim()
            .to_ascii_lowercase()
            .parse::<Channel>()
            .map_err(|reason| InvalidField::new("channel", reason))?;
        let received_at = field::event_time(
            &field::required(input.received_at, "received_at")?,
            "received_at",
        )?;
        let text = field::required(input.text, "text")?;
        if text.len() > MAX_TEXT_BYTES {
            return Err(InvalidField::new(
                "text",
                format!("must be at most {MAX_TEXT_BYTES} bytes, got {}", text.len()),
            ));
        }
        if text.contains('\0') {
            return Err(InvalidField::new("text", "must not contain NUL characters"));
        }
        let metadata = match input.metadata {
            None | Some(serde_json::Value::Null) => None,
            Some(v @ serde_json::Value::Object(_)) => {
                field::bounded_json(&v, "metadata", MAX_METADATA_BYTES)?;
                if field::contains_nul(&v) {
                    return Err(InvalidField::new(
                        "metadata",
                        "must not contain NUL characters",
                    ));
                }
                Some(v)
            }
            Some(_) => return Err(InvalidField::new("metadata", "must be a JSON object")),
        };
        let language = field::optional_short_text(input.language, "language", 35)?;
        if let Some(lang) = &language {
            let ok = lang.split('-').all(|part| {
                (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
            });
            if !ok {
                return Err(InvalidField::new(
                    "language",
                    "must be a language tag such as en, de or pt-BR",
                ));
            }
        }
        Ok(NewContact {
            key: ContactKey { source, id },
            channel,
            received_at,
            text,
            customer: field::optional_short_text(input.customer, "customer", 256)?,
            service: field::optional_short_text(input.service, "service", 128)?,
            region: field::optional_short_text(input.region, "region", 64)?,
            language,
            metadata,
        })
    }
}

/// A contact with personal data removed: the text and metadata redacted, the customer replaced
/// by a keyed pseudonym. This is the only contact shape a store accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedactedContact {
    /// Source and source id.
    pub key: ContactKey,
    /// The channel.
    pub channel: Channel,
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// The text with personal data replaced by placeholders such as `[email]`.
    pub text: String,
    /// The customer's pseudonym (a keyed hash), if a customer was given.
    pub customer: Option<String>,
    /// The affected service.
    pub service: Option<String>,
    /// The customer's region.
    pub region: Option<String>,
    /// The text's language.
    pub language: Option<String>,
    /// Extra data with string values redacted.
    pub metadata: Option<serde_json::Value>,
    /// Topics of customer trouble found in the text, sorted.
    #[serde(default)]
    pub topics: Vec<String>,
}

/// A stored contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// The stored, redacted contact.
    #[serde(flatten)]
    pub contact: RedactedContact,
    /// When Frontline committed it.
    pub ingested_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ContactInput {
        ContactInput {
            id: Some("1".into()),
            source: Some("zendesk".into()),
            channel: Some("ticket".into()),
            received_at: Some("2026-11-25T13:00:00Z".into()),
            text: Some("cant login".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_input_is_accepted() {
        let c = NewContact::try_from(input()).unwrap();
        assert_eq!(c.channel, Channel::Ticket);
        assert_eq!(c.key.source, "zendesk");
    }

    #[test]
    fn each_missing_required_field_is_named() {
        type Clear = fn(&mut ContactInput);
        let cases: [(&str, Clear); 5] = [
            ("id", |i| i.id = None),
            ("source", |i| i.source = None),
            ("channel", |i| i.channel = None),
            ("received_at", |i| i.received_at = None),
            ("text", |i| i.text = None),
        ];
        for (name, clear) in cases {
            let mut i = input();
            clear(&mut i);
            assert_eq!(NewContact::try_from(i).unwrap_err().field, name);
        }
    }

    #[test]
    fn a_contact_from_far_ahead_is_refused_and_an_old_one_kept() {
        use crate::field::{DEFAULT_FUTURE_MARGIN, Dated};
        let dated = |at: String| {
            let mut i = input();
            i.received_at = Some(at);
            NewContact::try_from(i).unwrap()
        };
        let far = dated("9999-12-31T23:59:59Z".into());
        let err = far.check_not_ahead(DEFAULT_FUTURE_MARGIN).unwrap_err();
        assert_eq!(err.field, "received_at");
        assert!(err.reason.contains("future"), "{}", err.reason);
        let soon = dated((chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339());
        assert!(
            soon.check_not_ahead(DEFAULT_FUTURE_MARGIN).is_ok(),
            "a clock a little ahead is fine"
        );
        assert!(
            soon.check_not_ahead(chrono::Duration::minutes(30)).is_err(),
            "unless the installation allows less"
        );
        let week = dated((chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339());
        assert!(week.check_not_ahead(DEFAULT_FUTURE_MARGIN).is_err());
        assert!(week.check_not_ahead(chrono::Duration::days(8)).is_ok());
        let old = dated("1900-01-01T00:00:00Z".into());
        assert!(
            old.check_not_ahead(DEFAULT_FUTURE_MARGIN).is_ok(),
            "backfills are real"
        );
        assert!(
            far.check_not_ahead(chrono::Duration::MAX).is_ok(),
            "a margin past the calendar's end is no error"
        );
    }

    #[test]
    fn unknown_channel_and_oversized_text_are_refused() {
        let mut i = input();
        i.channel = Some("pigeon".into());
        let err = NewContact::try_from(i).unwrap_err();
        assert_eq!(err.field, "channel");
        assert!(err.reason.contains("ticket"));

        let mut i = input();
        i.text = Some("x".repeat(MAX_TEXT_BYTES + 1));
        assert_eq!(NewContact::try_from(i).unwrap_err().field, "text");

        let mut i = input();
        i.text = Some("x".repeat(MAX_TEXT_BYTES));
        assert!(NewContact::try_from(i).is_ok());
    }

    #[test]
    fn metadata_must_be_an_object_and_language_a_tag() {
        let mut i = input();
        i.metadata = Some(serde_json::json!([1, 2]));
        assert_eq!(NewContact::try_from(i).unwrap_err().field, "metadata");
        let mut i = input();
        i.language = Some("english please".into());
        assert_eq!(NewContact::try_from(i).unwrap_err().field, "language");
        let mut i = input();
        i.language = Some("pt-BR".into());
        assert!(NewContact::try_from(i).is_ok());
    }
}
