//! Status page subscribers and the messages queued for them.

use crate::field::InvalidField;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a subscriber is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// By e-mail, after confirming the address (double opt-in).
    Email,
    /// By a JSON POST to a URL.
    Webhook,
}

impl Channel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// A message for an unknown name.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "email" => Ok(Channel::Email),
            "webhook" => Ok(Channel::Webhook),
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

/// A subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Its number.
    pub id: i64,
    /// How it is reached.
    pub channel: Channel,
    /// The e-mail address or URL.
    pub address: String,
    /// The language it reads, if it said.
    pub lang: Option<String>,
    /// When it confirmed (webhooks at once; e-mail addresses through the link).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it unsubscribed.
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

impl Subscriber {
    /// Whether it receives updates now.
    pub fn active(&self) -> bool {
        self.confirmed_at.is_some() && self.unsubscribed_at.is_none()
    }
}

/// A message to send, as queued in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// How.
    pub channel: Channel,
    /// To whom (address or URL).
    pub to: String,
    /// The subject (e-mail).
    pub subject: String,
    /// The body: text for e-mail, JSON for webhooks.
    pub body: String,
    /// The subscriber it is for, if any.
    pub subscriber: Option<i64>,
}

/// A queued message and how sending it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its number.
    pub id: i64,
    /// The message.
    pub message: Message,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it is due.
    pub next_attempt_at: DateTime<Utc>,
}

/// Checks an e-mail address: one `@`, a dotted domain, no spaces or control characters, at
/// most 254 bytes (what SMTP carries). The SMTP library checks it again when sending.
///
/// # Errors
/// [`InvalidField`] naming `email`.
pub fn email(value: &str) -> Result<String, InvalidField> {
    let v = value.trim();
    let bad = || InvalidField::new("email", format!("{v:?} is not an e-mail address"));
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "Ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@@example.com",
            "ann@example..com",
        ] {
            assert_eq!(email(bad).unwrap_err().field, "email", "{bad}");
        }
    }
}
