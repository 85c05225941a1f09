//! `/api/v1/webhooks` and `/api/v1/deliveries`: outbound webhooks (admins only) and what
//! became of each notification.

use super::intake::{json_body, path_id};
use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use frontline_api::{CreateWebhook, DeliveryList, DeliveryOut, ErrorBody, WebhookList, WebhookOut};
use frontline_core::InvalidField;
use frontline_core::webhook::{KindFilter, NewWebhook, WebhookFormat};
use frontline_delivery::webhook::check_target;
use frontline_store::DeliveryQuery;

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", post(create_webhook).get(list_webhooks))
        .route("/api/v1/webhooks/{id}", delete(delete_webhook))
        .route("/api/v1/deliveries", get(list_deliveries))
}

/// Creates a webhook. It receives what happens from now on.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body(content = CreateWebhook),
    responses(
        (status = 201, description = "Created", body = WebhookOut),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    let request: CreateWebhook = json_body(body, state.config.max_body_bytes)?;
    let webhook = state
        .store
        .create_webhook(&new_webhook(&state, request)?, &principal.origin())
        .await?;
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

/// Checks a webhook as asked for (the API's JSON or the settings page's form).
///
/// # Errors
/// A 422 naming `url`, `secret`, `format` or `events`.
pub(crate) fn new_webhook(
    state: &AppState,
    request: CreateWebhook,
) -> Result<NewWebhook, ApiError> {
    let invalid = |field: &str, reason: String| ApiError::invalid(InvalidField::new(field, reason));
    let url = request
        .url
        .ok_or_else(|| invalid("url", "is required".into()))?;
    if url.len() > 2000 {
        return Err(invalid("url", "must be at most 2000 bytes".into()));
    }
    check_target(url.trim(), state.listen, state.config.webhooks.deny_private)
        .map_err(|e| invalid("url", e))?;
    let secret = request
        .secret
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("secret", "is required".into()))?;
    if secret.len() > 1024 {
        return Err(invalid("secret", "must be at most 1024 bytes".into()));
    }
    let format = match request.format {
        Some(f) => f
            .parse::<WebhookFormat>()
            .map_err(|e| invalid("format", e))?,
        None => WebhookFormat::Generic,
    };
    let events = KindFilter::parse(&request.events.unwrap_or_else(|| vec!["*".into()]))
        .map_err(|e| invalid("events", e))?;
    Ok(NewWebhook {
        url: url.trim().to_owned(),
        secret,
        format,
        events,
    })
}

/// Every webhook, oldest first (secrets are never shown).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses((status = 200, description = "The webhooks", body = WebhookList)),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<WebhookList>, ApiError> {
    let paging = query::paging(query::pairs(query)?, "webhooks", &[])?;
    let mut items = state.store.list_webhooks().await?;
    items.sort_by_key(|w| w.id);
    let (items, next_cursor) = query::page_of(items, |w| w.id, &paging, "webhooks");
    Ok(Json(WebhookList {
        items: items.into_iter().map(WebhookOut::from).collect(),
        next_cursor,
    }))
}

/// Deletes a webhook; its deliveries stay on record.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(path)?;
    state.store.delete_webhook(id, &principal.origin()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliveries, newest first: pending ones with their last error and next attempt, delivered,
/// and failed (given up).
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "webhooks",
    params(
        ("webhook" = Option<i64>, Query, description = "Only this webhook's"),
        ("status" = Option<String>, Query, description = "pending, delivered or failed"),
        ("incident" = Option<i64>, Query, description = "Only this incident's"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "Deliveries", body = DeliveryList),
        (status = 400, description = "A bad parameter", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    // Deliveries run newest feed entry first, then by webhook: the cursor holds both.
    let p = query::parse_untimed(
        query::pairs(query)?,
        "deliveries",
        &["webhook", "status", "incident"],
    )?;
    let number = |name: &str| {
        p.filters
            .get(name)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad_parameter(name, format!("{name} must be a number")))
            })
            .transpose()
    };
    let q = DeliveryQuery {
        webhook: number("webhook")?,
        incident: number("incident")?,
        status: p
            .filters
            .get("status")
            .map(|v| v.parse())
            .transpose()
            .map_err(|e: String| ApiError::bad_parameter("status", e))?,
        before: p.after.map(|c| (c.at_micros, c.seq)),
        limit: p.limit + 1,
    };
    let mut items = state.store.list_deliveries(&q).await?;
    let more = items.len() > p.limit as usize;
    items.truncate(p.limit as usize);
    Ok(Json(DeliveryList {
        next_cursor: items.last().filter(|_| more).map(|d| {
            let c = frontline_store::Cursor {
                at_micros: d.feed_seq,
                seq: d.webhook_id,
            };
            query::encode_cursor("deliveries", &c)
        }),
        items: items.into_iter().map(DeliveryOut::from).collect(),
    }))
}
