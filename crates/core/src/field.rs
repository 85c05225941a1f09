//! Checked input: the error that names the offending field, and small checks shared by every
//! input type.

use chrono::{DateTime, Utc};

/// A field of some input failed a check. `field` is the name the client used (`received_at`),
/// so the HTTP error can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct InvalidField {
    /// The input field at fault, as the client spelled it.
    pub field: String,
    /// What is wrong with it and, where it helps, how to fix it.
    pub reason: String,
}

impl InvalidField {
    /// An error for `field` with the given reason.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Requires an optional value to be present.
///
/// # Errors
/// [`InvalidField`] naming `field` when the value is absent.
pub fn required<T>(value: Option<T>, field: &str) -> Result<T, InvalidField> {
    value.ok_or_else(|| InvalidField::new(field, "is required"))
}

/// Checks a short identifier-like string: not blank, at most `max` bytes, no control characters.
/// Surrounding white space is trimmed.
///
/// # Errors
/// [`InvalidField`] naming `field` for a blank, over-long or control-character value.
pub fn short_text(value: String, field: &str, max: usize) -> Result<String, InvalidField> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    if trimmed.len() > max {
        return Err(InvalidField::new(
            field,
            format!("must be at most {max} bytes, got {}", trimmed.len()),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidField::new(
            field,
            "must not contain control characters",
        ));
    }
    if let Some(reason) = unwritable_reason(trimmed) {
        return Err(InvalidField::new(field, reason));
    }
    Ok(trimmed.to_owned())
}

/// Whether `c` can never be written safely: not allowed anywhere in XML 1.0 (control
/// characters other than tab and line breaks, the surrogates, U+FFFE and U+FFFF) or a Unicode
/// noncharacter (U+FDD0–U+FDEF and the last two code points of every plane), which feed
/// readers and mail clients refuse. One such character in a published text would break the
/// Atom feed for as long as the text is listed.
pub fn unwritable(c: char) -> bool {
    let u = u32::from(c);
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || (0xFDD0..=0xFDEF).contains(&u)
        || (u & 0xFFFE) == 0xFFFE
}

/// The first character of `text` that can never be written safely, as a reason to refuse it.
pub fn unwritable_reason(text: &str) -> Option<String> {
    text.chars().find(|c| unwritable(*c)).map(|c| {
        format!(
            "must not contain U+{:04X} (a control character or noncharacter that cannot be published)",
            u32::from(c)
        )
    })
}

/// Like [`short_text`] for an optional field; an empty string counts as absent.
///
/// # Errors
/// As [`short_text`].
pub fn optional_short_text(
    value: Option<String>,
    field: &str,
    max: usize,
) -> Result<Option<String>, InvalidField> {
    match value {
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => short_text(v, field, max).map(Some),
        None => Ok(None),
    }
}

/// Parses an RFC 3339 timestamp (with an offset; `Z` or `+02:00`) into UTC.
///
/// # Errors
/// [`InvalidField`] naming `field` when the text is not RFC 3339.
pub fn timestamp(value: &str, field: &str) -> Result<DateTime<Utc>, InvalidField> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            InvalidField::new(
                field,
                format!("must be an RFC 3339 timestamp such as 2026-11-25T13:05:00Z ({e})"),
            )
        })
}

/// How far ahead of this machine's clock an event may be dated unless configured otherwise
/// (`[limits] future_margin_minutes`): clocks drift and time zones get mislabelled, but a
/// contact from next year is a mistake or an attack (one such record would otherwise hold
/// detection's event time hostage).
pub const DEFAULT_FUTURE_MARGIN: chrono::Duration = chrono::Duration::days(1);

/// [`timestamp`] for when something happened. Whether it lies too far ahead is a separate
/// check ([`Dated::check_not_ahead`]), against the margin the installation configures.
///
/// # Errors
/// [`InvalidField`] naming `field` when it is not RFC 3339.
pub fn event_time(value: &str, field: &str) -> Result<DateTime<Utc>, InvalidField> {
    timestamp(value, field)
}

/// A checked record dated by its sender.
pub trait Dated {
    /// When the sender says it happened, and the field that said so.
    fn dated(&self) -> (DateTime<Utc>, &'static str);

    /// Refuses a record dated more than `margin` after now, naming the field. Old dates stay
    /// accepted: backfills are real.
    ///
    /// # Errors
    /// [`InvalidField`] naming the date's field.
    fn check_not_ahead(&self, margin: chrono::Duration) -> Result<(), InvalidField> {
        let (t, field) = self.dated();
        let latest = Utc::now()
            .checked_add_signed(margin)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if t > latest {
            return Err(InvalidField::new(
                field,
                format!(
                    "lies in the future: at most {} minutes after now ({}) is accepted",
                    margin.num_minutes(),
                    latest.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            ));
        }
        Ok(())
    }

    /// The record itself when [`Dated::check_not_ahead`] passes, for chaining after parsing.
    ///
    /// # Errors
    /// As [`Dated::check_not_ahead`].
    fn not_ahead(self, margin: chrono::Duration) -> Result<Self, InvalidField>
    where
        Self: Sized,
    {
        self.check_not_ahead(margin)?;
        Ok(self)
    }
}

/// Checks that a free JSON value (metadata, indicators) serialises to at most `max` bytes.
///
/// # Errors
/// [`InvalidField`] naming `field` when it is larger.
pub fn bounded_json(
    value: &serde_json::Value,
    field: &str,
    max: usize,
) -> Result<(), InvalidField> {
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > max {
        return Err(InvalidField::new(
            field,
            format!("must be at most {max} bytes of JSON, got {size}"),
        ));
    }
    Ok(())
}

/// Whether any string (or key) in a JSON value holds a NUL character, which PostgreSQL's
/// `jsonb` cannot store.
pub fn contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(contains_nul),
        serde_json::Value::Object(map) => {
            map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_about_the_whole_input_names_no_empty_field() {
        assert_eq!(
            InvalidField::new("", "expected value at line 1 column 1").to_string(),
            "expected value at line 1 column 1"
        );
        assert_eq!(
            InvalidField::new("text", "is required").to_string(),
            "text: is required"
        );
    }

    #[test]
    fn short_text_trims_and_rejects_controls() {
        assert_eq!(
            short_text("  zendesk ".into(), "source", 10).unwrap(),
            "zendesk"
        );
        let err = short_text("a\u{0}b".into(), "source", 10).unwrap_err();
        assert_eq!(err.field, "source");
        assert!(short_text("   ".into(), "id", 10).is_err());
        assert!(short_text("abcdefghijk".into(), "id", 10).is_err());
    }

    #[test]
    fn timestamp_accepts_offsets_and_rejects_other_formats() {
        let t = timestamp("2026-11-25T14:05:00+01:00", "received_at").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T13:05:00+00:00");
        for bad in ["2026-11-25 13:05", "yesterday", "2026-11-25T13:05:00", ""] {
            let err = timestamp(bad, "received_at").unwrap_err();
            assert_eq!(err.field, "received_at", "{bad}");
        }
    }
}
