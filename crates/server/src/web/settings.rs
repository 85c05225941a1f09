//! The settings page (`/settings`: the taxonomy, the status page's components, webhooks and
//! their deliveries). Each form is authorised by its own action in [`crate::web::PAGES`]; the
//! page shows a form only to those who may send it.

use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use crate::web::{form, me, minute as time, page};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use frontline_core::policy::{Action, allows};
use frontline_store::DeliveryQuery;
use serde::Deserialize;

/// The settings page and its forms.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings))
        .route("/settings/components", post(set_component))
        .route("/settings/webhooks", post(add_webhook))
        .route("/settings/webhooks/{id}/delete", post(delete_webhook))
}

/// What the settings page says after a form: a refusal (status and reason) or news.
#[derive(Default)]
pub(super) struct Said {
    pub(super) error: Option<(StatusCode, String)>,
    pub(super) notice: Option<String>,
}

impl Said {
    pub(super) fn refused(e: ApiError) -> Self {
        Said {
            error: Some((e.status(), e.message_for_page())),
            notice: None,
        }
    }

    pub(super) fn from_result<T>(
        result: Result<T, ApiError>,
        notice: impl FnOnce(T) -> String,
    ) -> Self {
        match result {
            Ok(v) => Said {
                error: None,
                notice: Some(notice(v)),
            },
            Err(e) => Said::refused(e),
        }
    }

    pub(super) fn apply(self, mut r: Response) -> Response {
        if let Some((status, _)) = self.error {
            *r.status_mut() = status;
        }
        r
    }
}

async fn settings(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    show_settings(&state, &principal, Said::default()).await
}

async fn show_settings(
    state: &AppState,
    principal: &Principal,
    said: Said,
) -> Result<Response, ApiError> {
    let topics = state.intake.taxonomy.topics();
    let components: Vec<_> = state
        .store
        .list_components()
        .await?
        .into_iter()
        .map(|c| {
            minijinja::context! {
                name => c.name, status => c.status.as_str(),
                updated_at => time(c.updated_at), updated_by => c.updated_by,
            }
        })
        .collect();
    let admin = allows(&principal.roles, Action::ManageWebhooks);
    let (webhooks, deliveries) = if admin {
        let webhooks: Vec<_> = state
            .store
            .list_webhooks()
            .await?
            .into_iter()
            .map(|w| {
                minijinja::context! {
                    id => w.id, url => w.url, format => w.format.as_str(),
                    events => w.events.names().join(", "), cursor => w.cursor,
                    created_at => time(w.created_at), created_by => w.created_by,
                }
            })
            .collect();
        let deliveries: Vec<_> = state
            .store
            .list_deliveries(&DeliveryQuery {
                webhook: None,
                status: None,
                incident: None,
                before: None,
                limit: 50,
            })
            .await?
            .into_iter()
            .map(|d| {
                minijinja::context! {
                    webhook => d.webhook_id, seq => d.feed_seq, kind => d.kind.as_str(),
                    status => d.status.as_str(), attempts => d.attempts,
                    last_status => d.last_status, last_error => d.last_error,
                    last_attempt_at => time(d.last_attempt_at),
                    next_attempt_at => d.next_attempt_at.map(time),
                }
            })
            .collect();
        (webhooks, deliveries)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut helpdesks = Vec::new();
    if allows(&principal.roles, Action::ManageHelpdesks) {
        for h in state.store.list_helpdesks().await? {
            // The write-back's backlog: writes not yet confirmed on their tickets.
            let backlog = state
                .store
                .open_helpdesk_writes(&h.name, 10_000)
                .await?
                .len();
            helpdesks.push(minijinja::context! {
                name => h.name.clone(), kind => h.kind.clone(), base_url => h.base_url.clone(),
                intake_path => format!("/api/v1/integrations/{}/{}", h.kind, h.name),
                events => h.events, last_event_at => h.last_event_at.map(time),
                last_error => h.last_error.as_ref().map(|(e, _)| e.clone()),
                last_error_at => h.last_error.as_ref().map(|(_, at)| time(*at)),
                paused => state.helpdesk_guards.circuit(&h.name).map(|c| minijinja::context! {
                    until => time(c.open_until), failures => c.failures,
                }),
                backlog,
            });
        }
    }
    let r = page(
        "settings.html",
        minijinja::context! {
            me => me(principal), here => "/settings",
            topics, negations => state.intake.taxonomy.negations(),
            components, webhooks, deliveries, admin, helpdesks,
            statuses => ["operational", "degraded", "partial_outage", "major_outage"],
            can_components => allows(&principal.roles, Action::ManageComponents),
            error => said.error.as_ref().map(|(_, m)| m.clone()),
            notice => said.notice.clone(),
        },
    )?;
    Ok(said.apply(r))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ComponentForm {
    name: String,
    status: String,
}

async fn set_component(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f: ComponentForm = form(&body);
    let result = async {
        let name =
            frontline_core::field::short_text(f.name, "name", 100).map_err(ApiError::invalid)?;
        let status = f
            .status
            .parse()
            .map_err(|e: String| ApiError::invalid_field("status", e))?;
        let c = state
            .store
            .set_component(&name, status, &principal.origin())
            .await?;
        state.feed_changed();
        Ok(c)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/settings").into_response()),
        Err(e) => show_settings(&state, &principal, Said::refused(e)).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WebhookForm {
    url: String,
    secret: String,
    format: String,
    events: String,
}

async fn add_webhook(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f: WebhookForm = form(&body);
    let events: Vec<String> = f
        .events
        .split(',')
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    let request = frontline_api::CreateWebhook {
        url: Some(f.url),
        secret: Some(f.secret),
        format: Some(f.format).filter(|s| !s.is_empty()),
        events: Some(events).filter(|e| !e.is_empty()),
    };
    let result = match crate::api::v1::webhooks::new_webhook(&state, request) {
        Ok(new) => state
            .store
            .create_webhook(&new, &principal.origin())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let said = Said::from_result(result, |w| {
        format!(
            "Webhook {} added: it receives what happens from now on.",
            w.id
        )
    });
    show_settings(&state, &principal, said).await
}

async fn delete_webhook(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let result = state
        .store
        .delete_webhook(id, &principal.origin())
        .await
        .map_err(ApiError::from);
    let said = Said::from_result(result, |()| format!("Webhook {id} deleted."));
    show_settings(&state, &principal, said).await
}
