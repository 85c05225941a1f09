//! `/api/v1/integrations/*`: other tools' own payloads, taken as they send them. Today:
//! Prometheus Alertmanager's webhook, whose alerts become security events.

use super::intake;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::routing::post;
use axum::{Extension, Json, Router};
use frontline_api::{AlertmanagerSummary, ErrorBody};
use frontline_core::alertmanager::{Alert, WebhookPayload};
use frontline_store::{Inserted, Resolution};

/// The integration routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/integrations/alertmanager",
        post(ingest_alertmanager),
    )
}

/// Takes an Alertmanager webhook notification (payload version 4). Each alert becomes a
/// security event identified by its fingerprint and start; repeated notifications are
/// duplicates, and a resolved alert resolves its event. Point Alertmanager's `webhook_configs`
/// here with `http_config.authorization` carrying an ingest token.
#[utoipa::path(post, path = "/api/v1/integrations/alertmanager", tag = "integrations",
    request_body(content = WebhookPayload, description = "Alertmanager's webhook payload, version 4"),
    responses(
        (status = 200, description = "Alerts stored, resolved or refused", body = AlertmanagerSummary),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad token", body = ErrorBody),
        (status = 403, description = "Role may not send security events", body = ErrorBody),
        (status = 422, description = "Not a version 4 payload, or every alert refused", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ingest_alertmanager(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AlertmanagerSummary>, ApiError> {
    let body = body.map_err(|e| intake::body_error(e, state.config.max_body_bytes))?;
    let (payload, batch) = parse(&body, &state.config.alertmanager)?;
    let (events, rejected) = batch.or_reject()?;
    if payload.truncated_alerts > 0 {
        tracing::warn!(
            truncated = payload.truncated_alerts,
            group_key = payload.group_key.as_deref().unwrap_or_default(),
            "Alertmanager left alerts out of this notification; raise max_alerts on its webhook receiver"
        );
    }
    let origin = principal.origin();
    let outcome = if events.is_empty() {
        Vec::new()
    } else {
        state.store.insert_security_events(&events, &origin).await?
    };
    // A resolved notification for an event stored while it was firing resolves that event;
    // one first seen already resolved was stored resolved above.
    let resolutions: Vec<Resolution> = events
        .iter()
        .filter_map(|e| {
            e.resolved_at.map(|at| Resolution {
                source: e.source.clone(),
                id: e.id.clone(),
                resolved_at: at,
            })
        })
        .collect();
    let resolved = state
        .store
        .resolve_security_events(&resolutions, &origin)
        .await?;
    let accepted = outcome.iter().filter(|o| **o == Inserted::Accepted).count();
    let summary = AlertmanagerSummary {
        accepted,
        duplicates: outcome.len() - accepted,
        resolved,
        rejected,
        truncated_alerts: payload.truncated_alerts,
    };
    tracing::info!(
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        resolved = summary.resolved,
        rejected = summary.rejected.len(),
        "alertmanager notification received"
    );
    Ok(Json(summary))
}

/// Parses and checks an Alertmanager payload: the payload, and each alert as a security event
/// or the field at fault.
pub(crate) fn parse(
    body: &[u8],
    mapping: &frontline_core::alertmanager::AlertmanagerMapping,
) -> Result<
    (
        WebhookPayload,
        intake::Batch<frontline_core::security_event::NewSecurityEvent>,
    ),
    ApiError,
> {
    let value: serde_json::Value =
        serde_json::from_slice(super::without_bom(body)).map_err(|e| {
            ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
        })?;
    let payload: WebhookPayload = serde_path_to_error::deserialize(value).map_err(|e| {
        ApiError::invalid(super::field_error(
            e.path().to_string(),
            e.into_inner().to_string(),
        ))
    })?;
    payload.check().map_err(ApiError::invalid)?;
    let mut batch = intake::Batch {
        valid: Vec::new(),
        rejected: Vec::new(),
        is_array: true,
    };
    for (index, raw) in payload.alerts.iter().flatten().enumerate() {
        let checked = serde_path_to_error::deserialize::<_, Alert>(raw.clone())
            .map_err(|e| super::field_error(e.path().to_string(), e.into_inner().to_string()))
            .and_then(|alert| mapping.event(&alert, &payload));
        match checked {
            Ok(event) => batch.valid.push(event),
            Err(e) => batch.rejected.push((index, e)),
        }
    }
    Ok((payload, batch))
}
