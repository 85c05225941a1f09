//! Reading intake bodies: one JSON object or an array of them. Each element is checked on its
//! own; a bad one is reported by index and the good ones go on.

use crate::plumbing::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use frontline_api::{ErrorDetail, IntakeSummary, RejectedElement};
use frontline_core::InvalidField;
use frontline_core::field::Dated;
use frontline_store::Inserted;
use serde::de::DeserializeOwned;

/// A body split into checked elements and refused ones (with their indices).
pub(crate) struct Batch<T> {
    pub valid: Vec<T>,
    pub rejected: Vec<(usize, InvalidField)>,
    pub is_array: bool,
}

impl<T> Batch<T> {
    /// Applies `f` to every valid element.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Batch<U> {
        Batch {
            valid: self.valid.into_iter().map(f).collect(),
            rejected: self.rejected,
            is_array: self.is_array,
        }
    }

    /// A single object that failed its check answers 422 naming the field; an array whose
    /// elements all failed answers 422 listing them. Otherwise the valid elements and the
    /// refused ones, as the answer reports them.
    pub fn or_reject(mut self) -> Result<(Vec<T>, Vec<RejectedElement>), ApiError> {
        let all_bad = self.valid.is_empty() && !self.rejected.is_empty();
        if all_bad && !self.is_array {
            return Err(ApiError::invalid(self.rejected.remove(0).1));
        }
        let rejected: Vec<RejectedElement> = self
            .rejected
            .into_iter()
            .map(|(index, e)| RejectedElement {
                index,
                error: invalid_detail(e),
            })
            .collect();
        if all_bad {
            return Err(ApiError::all_rejected(rejected));
        }
        Ok((self.valid, rejected))
    }
}

/// The answer, once the valid elements have been stored with `outcome` (one per element).
pub(crate) fn summary(rejected: Vec<RejectedElement>, outcome: &[Inserted]) -> IntakeSummary {
    let accepted = outcome.iter().filter(|o| **o == Inserted::Accepted).count();
    IntakeSummary {
        accepted,
        duplicates: outcome.len() - accepted,
        rejected,
    }
}

/// Maps a body that could not be read (too large, broken connection).
pub(crate) fn body_error(err: BytesRejection, limit: usize) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large(format!("the request body is larger than {limit} bytes"))
    } else {
        ApiError::bad_request(
            "unreadable_body",
            format!("the request body could not be read: {err}"),
        )
    }
}

/// Parses `body` as an object or array of `I`, each checked into `T`.
/// Each is also refused when dated more than `margin` ahead of now.
pub(crate) fn parse<I, T>(body: &Bytes, margin: chrono::Duration) -> Result<Batch<T>, ApiError>
where
    I: DeserializeOwned,
    T: TryFrom<I, Error = InvalidField> + Dated,
{
    // Elements are kept as their own text and read straight into `I`, never through a map
    // that would keep the last of two equal keys: a key given twice is refused, as in bulk.
    let malformed = |e: serde_json::Error| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    };
    let raw: &serde_json::value::RawValue =
        serde_json::from_slice(super::without_bom(body)).map_err(malformed)?;
    let (elements, is_array) = match raw.get().as_bytes().first() {
        Some(b'[') => (
            serde_json::from_str::<Vec<&serde_json::value::RawValue>>(raw.get())
                .map_err(malformed)?,
            true,
        ),
        Some(b'{') => (vec![raw], false),
        _ => {
            return Err(ApiError::bad_request(
                "malformed_json",
                "the body must be a JSON object or an array of objects",
            ));
        }
    };
    let mut batch = Batch {
        valid: Vec::with_capacity(elements.len()),
        rejected: Vec::new(),
        is_array,
    };
    for (index, element) in elements.into_iter().enumerate() {
        match check::<I, T>(element).and_then(|t| t.not_ahead(margin)) {
            Ok(t) => batch.valid.push(t),
            Err(e) => batch.rejected.push((index, e)),
        }
    }
    Ok(batch)
}

fn check<I, T>(element: &serde_json::value::RawValue) -> Result<T, InvalidField>
where
    I: DeserializeOwned,
    T: TryFrom<I, Error = InvalidField>,
{
    if !element.get().starts_with('{') {
        return Err(InvalidField::new("", "each element must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_str(element.get());
    let input: I = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| field_error(e.path().to_string(), e.into_inner().to_string()))?;
    T::try_from(input)
}

/// Reads a JSON object body into `T`: 400 for a body that is not a JSON object, 413 past the
/// limit, 422 naming the field for a wrong or unknown field.
pub(crate) fn json_body<T: DeserializeOwned>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    limit: usize,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| body_error(e, limit))?;
    // Checked as JSON first (a syntax error is a 400), then read straight into `T`, never
    // through a map that would keep the last of two equal keys (a 422 naming the key).
    let raw: &serde_json::value::RawValue = serde_json::from_slice(super::without_bom(&body))
        .map_err(|e| {
            ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
        })?;
    if !raw.get().starts_with('{') {
        return Err(ApiError::bad_request(
            "malformed_json",
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        ApiError::invalid(match message.strip_prefix("unknown field `") {
            Some(rest) => InvalidField::new(
                rest.split('`').next().unwrap_or_default(),
                "is not a known field",
            ),
            None => field_error(path, message),
        })
    })
}

/// The numeric `{id}` of a path: 400 naming `id` when it is not a number.
pub(crate) fn path_id(
    path: Result<axum::extract::Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<i64, ApiError> {
    path.map(|axum::extract::Path(id)| id)
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()).with_field("id"))
}

/// The `{"reason"}` body of a dismissal: required, short, no control characters.
pub(crate) fn dismiss_reason(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<String, ApiError> {
    let request: frontline_api::DismissRequest = json_body(body, limit)?;
    frontline_core::field::short_text(
        request
            .reason
            .ok_or_else(|| ApiError::invalid(InvalidField::new("reason", "is required")))?,
        "reason",
        1000,
    )
    .map_err(ApiError::invalid)
}

/// The error detail of one refused element or line.
pub(crate) fn invalid_detail(e: InvalidField) -> ErrorDetail {
    ErrorDetail {
        code: "invalid".into(),
        message: e.to_string(),
        field: (!e.field.is_empty()).then_some(e.field),
    }
}

/// A serde error at `path` as an error naming the field. serde reports an unknown field at its
/// parent, so its own name is taken from the message.
pub(crate) fn field_error(path: String, message: String) -> InvalidField {
    // serde reports unknown and repeated fields at their parent: take the name from the
    // message.
    let named = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("duplicate field `"))
        .map(|rest| rest.split('`').next().unwrap_or_default().to_owned());
    let field = match named {
        Some(name) => name,
        None if path == "." || path == "?" => String::new(),
        None => path,
    };
    let reason = if message.starts_with("unknown field") {
        "is not a known field (source-specific data goes under `metadata`)".to_owned()
    } else if message.starts_with("duplicate field") {
        "is given twice; give it once".to_owned()
    } else {
        message
    };
    InvalidField::new(field, reason)
}

/// Stores prepared contacts, or hands them to the intake bus when there is one (its writer
/// stores them moments later), and counts them. Idempotent on (`source`, `id`).
///
/// # Errors
/// 503 when the database or the bus is unavailable.
pub(crate) async fn store_prepared(
    state: &crate::plumbing::state::AppState,
    records: &[frontline_core::contact::RedactedContact],
    origin: &frontline_store::Origin,
) -> Result<Vec<Inserted>, ApiError> {
    use tracing::Instrument;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(bus) = &state.bus {
        // The bus's writer counts them after its commit.
        return bus.publish(records).await.map_err(ApiError::unavailable);
    }
    let outcome = state
        .store
        .insert_contacts(records, origin)
        .instrument(tracing::info_span!(
            "store.insert_contacts",
            count = records.len()
        ))
        .await?;
    state.ops.contacts_stored(records, &outcome);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARGIN: chrono::Duration = frontline_core::field::DEFAULT_FUTURE_MARGIN;
    use frontline_core::contact::{ContactInput, NewContact};

    fn body(s: &str) -> Bytes {
        Bytes::from(s.to_owned())
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_named() {
        let b = parse::<ContactInput, NewContact>(
            &body(r#"[{"id": 5}, {"id": "1", "sorce": "x"}, 7]"#),
            MARGIN,
        )
        .unwrap();
        assert!(b.valid.is_empty());
        let fields: Vec<_> = b
            .rejected
            .iter()
            .map(|(_, e)| invalid_detail(e.clone()).field)
            .collect();
        assert_eq!(fields, vec![Some("id".into()), Some("sorce".into()), None]);
        assert_eq!(b.rejected[2].0, 2);
    }

    proptest::proptest! {
        /// Whatever the bytes, parsing answers (an error or a batch) and never panics.
        #[test]
        fn any_body_parses_or_errors_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse::<ContactInput, NewContact>(&Bytes::from(bytes), MARGIN);
        }

        /// JSON-shaped bodies with arbitrary values in known fields never panic either.
        #[test]
        fn any_field_values_parse_or_error(id in proptest::option::of("\\PC{0,40}"), when in "\\PC{0,40}", text in "\\PC{0,80}", meta in proptest::option::of(0i64..3)) {
            let v = serde_json::json!({"id": id, "source": "s", "channel": "chat", "received_at": when, "text": text, "metadata": meta});
            let b = parse::<ContactInput, NewContact>(&Bytes::from(v.to_string()), MARGIN).unwrap();
            proptest::prop_assert_eq!(b.valid.len() + b.rejected.len(), 1);
        }
    }

    #[test]
    fn non_json_and_scalars_are_malformed() {
        for bad in ["{", "42", "\"x\"", ""] {
            let err = parse::<ContactInput, NewContact>(&body(bad), MARGIN)
                .err()
                .unwrap();
            assert_eq!(err.code(), "malformed_json", "{bad}");
        }
    }
}
