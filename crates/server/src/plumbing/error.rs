//! The one error type of the HTTP API, [`ApiError`], and the single place where errors become
//! statuses and JSON bodies (`{"error": {"code", "message", "field"?}}`).
//!
//! A 5xx answer says only that the request failed and gives the request id; its cause chain is
//! logged once, here, where the error becomes a response.

use crate::plumbing::telemetry;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontline_api::{ErrorBody, ErrorDetail, RejectedElement};
use frontline_core::InvalidField;
use frontline_store::{BoxError, StoreError};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    rejected: Vec<RejectedElement>,
    source: Option<BoxError>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            rejected: Vec::new(),
            source: None,
        }
    }

    /// 400: the request cannot be read (malformed JSON, a bad query parameter).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 naming a query parameter or other request part.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        Self::bad_request("invalid_parameter", message).with_field(field)
    }

    /// 422: well-formed input that fails a check; names the field.
    pub fn invalid(err: InvalidField) -> Self {
        let field = (!err.field.is_empty()).then(|| err.field.clone());
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", err.to_string());
        e.field = field;
        e
    }

    /// 422: `field` fails a check, for `reason`.
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(InvalidField::new(field, reason))
    }

    /// 422 for an intake array in which every element was refused; lists them.
    pub fn all_rejected(rejected: Vec<RejectedElement>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!(
                "all {} elements were rejected; see `rejected` for each one's error",
                rejected.len()
            ),
        );
        e.rejected = rejected;
        e
    }

    /// 401: no usable credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the caller's roles do not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not accept this method",
        )
    }

    /// 429: the server holds as many of something (live streams) as it allows.
    pub fn too_many(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
    }

    /// 409: the request does not fit the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 415.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 500 with a cause that is logged, never shown.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "");
        e.source = Some(source.into());
        e
    }

    /// 503 (with `Retry-After`) with a cause that is logged, never shown: a dependency (the
    /// database, the bus) is down for a moment.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "");
        e.source = Some(source.into());
        e
    }

    /// Replaces the machine-readable code.
    #[must_use]
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// Names the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// For a page: the message, prefixed with the field at fault when there is one (client
    /// errors only; a server error's details stay in the log).
    pub fn message_for_page(&self) -> String {
        match &self.field {
            Some(f) => format!("{f}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The one mapping from storage errors to API errors.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict { constraint } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("conflicts with a stored record ({constraint})"),
            ),
            StoreError::Forbidden { reason } => ApiError::forbidden(reason),
            StoreError::Invalid { field, reason } => {
                ApiError::invalid(InvalidField::new(field, reason))
            }
            StoreError::Unavailable(source) => {
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "");
                e.source = Some(source);
                e
            }
            StoreError::Full(source) => {
                let mut e = ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "storage_full", "");
                e.source = Some(source);
                e
            }
            // Only leader-only and outbox work write under a lease or claim; a request that met one lost it
            // to another node meanwhile and may be retried there.
            err @ (StoreError::Fenced { .. } | StoreError::ClaimLost { .. }) => {
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "");
                e.source = Some(Box::new(err));
                e
            }
            err @ StoreError::Internal { .. } => ApiError::internal(err),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> Self {
        ApiError::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = telemetry::current_request_id().unwrap_or_else(|| "unknown".into());
        let message = if self.status.is_server_error() {
            let chain = self
                .source
                .as_deref()
                .map(|e| error_chain(e))
                .unwrap_or_default();
            tracing::error!(status = self.status.as_u16(), code = self.code, error = %chain, "request failed");
            if self.status == StatusCode::INSUFFICIENT_STORAGE {
                format!(
                    "the database is full: nothing in this request was stored; send it again once space is freed (request id {request_id})"
                )
            } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
                format!(
                    "the service is temporarily unavailable; retry later (request id {request_id})"
                )
            } else {
                format!("the request failed (request id {request_id})")
            }
        } else {
            self.message
        };
        let detail = ErrorDetail {
            code: self.code.to_owned(),
            message,
            field: self.field,
        };
        let body = if self.rejected.is_empty() {
            serde_json::to_value(ErrorBody { error: detail })
        } else {
            serde_json::to_value(serde_json::json!({
                "error": detail,
                "accepted": 0,
                "duplicates": 0,
                "rejected": self.rejected,
            }))
        }
        .unwrap_or_default();
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // A database or bus that is down for a moment: tell clients when to come back.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// "outer: inner: root" for logs.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
