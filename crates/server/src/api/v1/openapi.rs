//! The OpenAPI document, generated from the handlers' annotations and the wire types, so it
//! cannot drift from the code.

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Schema};
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
    modifiers(&BearerAuth, &ExactParameters, &ErrorAnswers),
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

/// Every operation of the document, with its path.
fn operations(openapi: &mut utoipa::openapi::OpenApi) -> Vec<(String, &mut Operation)> {
    let mut out = Vec::new();
    for (path, item) in &mut openapi.paths.paths {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            out.push((path.clone(), op));
        }
    }
    out
}

/// The answers any route can give besides its own, documented on every operation so a client
/// checking answers against the document never meets an undocumented status: bad parameters
/// (400), authentication and permission (401, 403), bodies too large or wrong (413, 415, 422),
/// rate limits (429) and overload (503).
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, op) in operations(openapi) {
            let public = path == "/healthz" || path.ends_with("/openapi.json");
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_input =
                op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some();
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
            };
            if has_input {
                add(
                    "400",
                    "A malformed parameter or body, named in `field` where one is at fault",
                );
            }
            if secured {
                add("401", "No valid token or session");
                add("403", "The token's role may not do this");
            }
            if op.request_body.is_some() {
                add("413", "The body is larger than the server accepts");
                add("415", "The body is not of a type this operation reads");
                add("422", "A field is wrong, named in `field`");
            }
            if !public {
                add(
                    "429",
                    "Too many requests from this token or address; see Retry-After",
                );
                add(
                    "503",
                    "The server is at its limit of requests in flight; retry shortly",
                );
            }
        }
    }
}

/// Query and path parameters' exact types: formats, bounds and the values an enumerated one
/// takes, as the handlers check them (the handlers read them as text to name the one at fault,
/// so the annotations alone say only "string").
struct ExactParameters;

/// The values each enumerated query parameter takes, by operation path and name.
const ENUMS: &[(&str, &str, &[&str])] = &[
    (
        "/api/v1/alerts",
        "state",
        &["open", "acknowledged", "dismissed"],
    ),
    ("/api/v1/alerts", "kind", &["spike", "cluster", "theme"]),
    ("/api/v1/audit", "format", &["json", "ndjson"]),
    (
        "/api/v1/contacts",
        "channel",
        &["ticket", "chat", "call", "email", "social", "review"],
    ),
    (
        "/api/v1/incidents",
        "state",
        &["investigating", "identified", "monitoring", "resolved"],
    ),
    (
        "/api/v1/reports",
        "state",
        &["filed", "acknowledged", "dismissed"],
    ),
    (
        "/api/v1/reports",
        "category",
        &[
            "phishing",
            "account_takeover",
            "fraud",
            "data_exposure",
            "outage",
            "other",
        ],
    ),
    (
        "/api/v1/security-events",
        "min_severity",
        &["info", "low", "medium", "high", "critical"],
    ),
    (
        "/api/v1/deliveries",
        "status",
        &["pending", "delivered", "failed"],
    ),
];

impl ExactParameters {
    fn schema(path: &str, name: &str) -> Option<Schema> {
        let integer = |min: i64, max: Option<i64>| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(min))
                .maximum(max)
                .build()
        };
        if let Some((_, _, values)) = ENUMS.iter().find(|(p, n, _)| *p == path && *n == name) {
            return Some(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(values.iter().copied()))
                    .build(),
            ));
        }
        Some(Schema::Object(match name {
            "since" | "until" => ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .build(),
            "limit" => integer(1, Some(1000)),
            "months" => integer(1, Some(36)),
            // Sequence numbers of the feed and the audit log.
            "after" => integer(0, None),
            "incident" if path == "/api/v1/stream" => integer(0, None),
            _ => return None,
        }))
    }
}

impl Modify for ExactParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, op) in operations(openapi) {
            for p in op.parameters.iter_mut().flatten() {
                if !matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Path) {
                    continue;
                }
                if let Some(schema) = Self::schema(&path, &p.name) {
                    p.schema = Some(RefOr::T(schema));
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: public, since it describes the API and holds no data.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
