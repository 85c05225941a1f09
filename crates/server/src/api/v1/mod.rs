//! `/api/v1`: one module per resource, each with its own `router()`, and [`ROUTES`], the table
//! of every route and the [`Action`] it needs. [`crate::auth::authorize`] looks each request up
//! there; a route missing from the table is refused, and a test checks the table against the
//! OpenAPI document so neither can drift.

pub mod alerts;
pub mod audit;
pub mod contacts;
pub mod erasures;
pub mod helpdesk_intake;
pub mod helpdesks;
pub mod incidents;
pub mod insights;
pub(crate) mod intake;
pub mod integrations;
pub mod me;
pub mod nodes;
pub mod openapi;
mod query;
pub mod reports;
pub mod security_events;
pub mod statements;
pub mod stream;
pub mod webhooks;

pub(crate) use intake::{field_error, invalid_detail, path_id};

/// A UTF-8 byte-order mark, which some editors put at the start of a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `body` without a leading byte-order mark: JSON has none, and a file saved with one would
/// otherwise be refused (or, as NDJSON, lose its first line).
pub(crate) fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(BOM).unwrap_or(body)
}

use crate::auth;
use crate::plumbing::state::AppState;
use axum::http::Method;
use axum::routing::get;
use axum::{Router, middleware};
use frontline_core::policy::Action;

/// One route and the action it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteRule {
    /// HTTP method.
    pub method: Method,
    /// Path as routed (`{name}` for parameters).
    pub path: &'static str,
    /// What the caller must be allowed.
    pub action: Action,
}

pub(crate) const fn rule(method: Method, path: &'static str, action: Action) -> RouteRule {
    RouteRule {
        method,
        path,
        action,
    }
}

/// Every authenticated route, with its action.
pub const ROUTES: &[RouteRule] = &[
    rule(Method::POST, "/api/v1/contacts", Action::IngestContacts),
    rule(
        Method::POST,
        "/api/v1/contacts/bulk",
        Action::IngestContacts,
    ),
    rule(Method::GET, "/api/v1/contacts", Action::ReadContacts),
    rule(
        Method::GET,
        "/api/v1/contacts/{source}/{id}",
        Action::ReadContacts,
    ),
    rule(
        Method::POST,
        "/api/v1/security-events",
        Action::IngestSecurityEvents,
    ),
    rule(
        Method::GET,
        "/api/v1/security-events",
        Action::ReadSecurityEvents,
    ),
    rule(
        Method::GET,
        "/api/v1/security-events/{source}/{id}",
        Action::ReadSecurityEvents,
    ),
    rule(
        Method::POST,
        "/api/v1/integrations/alertmanager",
        Action::IngestSecurityEvents,
    ),
    rule(
        Method::PUT,
        "/api/v1/contacts/{source}/{id}/topics",
        Action::CorrectTopics,
    ),
    rule(Method::GET, "/api/v1/alerts", Action::ReadAlerts),
    rule(Method::GET, "/api/v1/alerts/{id}", Action::ReadAlerts),
    rule(
        Method::POST,
        "/api/v1/alerts/{id}/ack",
        Action::TriageAlerts,
    ),
    rule(
        Method::POST,
        "/api/v1/alerts/{id}/dismiss",
        Action::TriageAlerts,
    ),
    rule(Method::GET, "/api/v1/me", Action::ReadSelf),
    rule(Method::GET, "/api/v1/sessions", Action::ManageOwnSessions),
    rule(
        Method::DELETE,
        "/api/v1/sessions/{id}",
        Action::ManageOwnSessions,
    ),
    rule(Method::POST, "/api/v1/incidents", Action::ManageIncidents),
    rule(Method::GET, "/api/v1/incidents", Action::ReadIncidents),
    rule(Method::GET, "/api/v1/stream", Action::ReadStream),
    rule(Method::POST, "/api/v1/webhooks", Action::ManageWebhooks),
    rule(Method::GET, "/api/v1/webhooks", Action::ManageWebhooks),
    rule(
        Method::DELETE,
        "/api/v1/webhooks/{id}",
        Action::ManageWebhooks,
    ),
    rule(Method::GET, "/api/v1/deliveries", Action::ManageWebhooks),
    rule(Method::GET, "/api/v1/audit", Action::ReadAudit),
    rule(Method::POST, "/api/v1/erasures", Action::ManagePeople),
    rule(Method::GET, "/api/v1/erasures", Action::ManagePeople),
    rule(
        Method::POST,
        "/api/v1/erasures/people",
        Action::ManagePeople,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/statements",
        Action::DraftStatements,
    ),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/statements",
        Action::ReadStatements,
    ),
    rule(
        Method::GET,
        "/api/v1/statements/{id}",
        Action::ReadStatements,
    ),
    rule(
        Method::PUT,
        "/api/v1/statements/{id}",
        Action::DraftStatements,
    ),
    rule(
        Method::POST,
        "/api/v1/statements/{id}/approve",
        Action::ApproveStatements,
    ),
    rule(
        Method::POST,
        "/api/v1/statements/{id}/publish",
        Action::PublishStatements,
    ),
    rule(
        Method::GET,
        "/api/v1/statement-templates",
        Action::ReadStatements,
    ),
    rule(Method::GET, "/api/v1/components", Action::ReadStatements),
    rule(
        Method::PUT,
        "/api/v1/components/{name}",
        Action::ManageComponents,
    ),
    rule(
        Method::GET,
        "/api/v1/talking-points",
        Action::ReadStatements,
    ),
    rule(
        Method::POST,
        "/api/v1/talking-points/questions",
        Action::AddIncidentNotes,
    ),
    rule(Method::POST, "/api/v1/reports", Action::FileReports),
    rule(Method::GET, "/api/v1/reports", Action::ReadReports),
    rule(Method::GET, "/api/v1/reports/{id}", Action::ReadReports),
    rule(
        Method::POST,
        "/api/v1/reports/{id}/ack",
        Action::TriageReports,
    ),
    rule(
        Method::POST,
        "/api/v1/reports/{id}/dismiss",
        Action::TriageReports,
    ),
    rule(Method::GET, "/api/v1/incidents/{id}", Action::ReadIncidents),
    rule(
        Method::PATCH,
        "/api/v1/incidents/{id}",
        Action::ManageIncidents,
    ),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/timeline",
        Action::ReadIncidents,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/notes",
        Action::AddIncidentNotes,
    ),
    // Agents may link contacts; the handler requires ManageIncidents for any other signal.
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/links",
        Action::LinkContacts,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/unlink",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/merge",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/split",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/tasks",
        Action::ManageIncidents,
    ),
    rule(
        Method::PATCH,
        "/api/v1/incidents/{id}/tasks/{task}",
        Action::ManageIncidents,
    ),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/metrics",
        Action::ReadIncidents,
    ),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/review",
        Action::ReadIncidents,
    ),
    // Both teams write the review: those who manage incidents.
    rule(
        Method::PUT,
        "/api/v1/incidents/{id}/review",
        Action::ManageIncidents,
    ),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/review.md",
        Action::ReadIncidents,
    ),
    rule(Method::GET, "/api/v1/trends", Action::ReadIncidents),
    rule(Method::GET, "/api/v1/nodes", Action::ReadNodes),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/helpdesk",
        Action::ReadIncidents,
    ),
    rule(
        Method::GET,
        "/api/v1/incidents/{id}/helpdesk/wrap-up",
        Action::ReadIncidents,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/helpdesk/wrap-up",
        Action::ManageIncidents,
    ),
    rule(
        Method::POST,
        "/api/v1/incidents/{id}/helpdesk/abort",
        Action::ManageIncidents,
    ),
    rule(Method::POST, "/api/v1/helpdesks", Action::ManageHelpdesks),
    rule(
        Method::POST,
        "/api/v1/helpdesks/{name}/sweep",
        Action::ManageHelpdesks,
    ),
    rule(Method::GET, "/api/v1/helpdesks", Action::ManageHelpdesks),
    rule(
        Method::GET,
        "/api/v1/helpdesks/{name}",
        Action::ManageHelpdesks,
    ),
    rule(
        Method::PATCH,
        "/api/v1/helpdesks/{name}",
        Action::ManageHelpdesks,
    ),
    rule(
        Method::DELETE,
        "/api/v1/helpdesks/{name}",
        Action::ManageHelpdesks,
    ),
];

/// The action a routed request needs, if the route is in [`ROUTES`] or
/// [`crate::web::PAGES`].
pub fn action_for(method: &Method, path: &str) -> Option<Action> {
    ROUTES
        .iter()
        .chain(crate::web::PAGES)
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.action)
}

/// The `/api/v1` router: every route behind [`auth::authorize`], except the OpenAPI document,
/// which describes the API and holds no data.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(alerts::router())
        .merge(contacts::router())
        .merge(incidents::router())
        .merge(insights::router())
        .merge(stream::router())
        .merge(webhooks::router())
        .merge(audit::router())
        .merge(reports::router())
        .merge(statements::router())
        .merge(security_events::router())
        .merge(integrations::router())
        .merge(me::router())
        .merge(nodes::router())
        .merge(helpdesks::router())
        .merge(erasures::router())
        .route_layer(middleware::from_fn_with_state(state, auth::authorize))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        // Helpdesks prove themselves by their signatures, not a token.
        .merge(helpdesk_intake::router())
}
