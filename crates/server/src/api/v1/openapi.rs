//! The OpenAPI document, generated from the handlers' annotations and the wire types, so it
//! cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Frontline API", description = "Customer contacts as an early warning for security, one incident and one message for both teams."),
    paths(
        crate::api::healthz,
        super::contacts::ingest_contacts,
        super::contacts::ingest_contacts_bulk,
        super::contacts::list_contacts,
        super::contacts::get_contact,
        super::contacts::correct_topics,
        super::security_events::ingest_security_events,
        super::security_events::list_security_events,
        super::security_events::get_security_event,
        super::integrations::ingest_alertmanager,
        super::alerts::list_alerts,
        super::alerts::get_alert,
        super::alerts::ack_alert,
        super::alerts::dismiss_alert,
        super::me::get_me,
        super::me::list_sessions,
        super::me::revoke_session,
        super::audit::audit,
        super::incidents::create_incident,
        super::incidents::list_incidents,
        super::incidents::get_incident,
        super::incidents::patch_incident,
        super::incidents::timeline,
        super::incidents::add_note,
        super::incidents::link,
        super::incidents::unlink,
        super::incidents::merge,
        super::incidents::split,
        super::incidents::add_task,
        super::incidents::update_task,
        super::stream::stream,
        super::webhooks::create_webhook,
        super::webhooks::list_webhooks,
        super::webhooks::delete_webhook,
        super::webhooks::list_deliveries,
        super::reports::file_report,
        super::reports::list_reports,
        super::reports::get_report,
        super::reports::ack_report,
        super::reports::dismiss_report,
        super::statements::create_statement,
        super::statements::list_statements,
        super::statements::get_statement,
        super::statements::edit_statement,
        super::statements::approve_statement,
        super::statements::publish_statement,
        super::statements::list_templates,
        super::statements::list_components,
        super::statements::set_component,
        super::statements::talking_points,
        super::statements::ask,
        super::insights::incident_metrics,
        super::insights::get_review,
        super::insights::put_review,
        super::insights::review_markdown,
        super::insights::trends,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`: public, since it describes the API and holds no data.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
