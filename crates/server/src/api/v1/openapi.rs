//! The OpenAPI document, generated from the handlers' annotations and the wire types, so it
//! cannot drift from the code.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
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
        super::nodes::list_nodes,
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
        super::helpdesks::create_helpdesk,
        super::helpdesks::list_helpdesks,
        super::helpdesks::get_helpdesk,
        super::helpdesks::change_helpdesk,
        super::helpdesks::delete_helpdesk,
        super::helpdesks::incident_ledger,
        super::helpdesks::sweep_helpdesk,
        super::helpdesks::wrap_up_preview,
        super::helpdesks::wrap_up,
        super::helpdesks::abort_fan_out,
        super::erasures::erase,
        super::erasures::ledger,
        super::erasures::erase_person,
        super::helpdesk_intake::receive,
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
    modifiers(&BearerAuth, &ExactParameters, &ExactFields, &StreamEvents, &ErrorAnswers),
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
/// The values of an enumeration, as the document lists them.
type Values = fn() -> Vec<String>;

const ENUMS: &[(&str, &str, Values)] = &[
    ("/api/v1/alerts", "state", alert_states),
    ("/api/v1/alerts", "kind", alert_kinds),
    ("/api/v1/audit", "format", audit_formats),
    ("/api/v1/contacts", "channel", channels),
    ("/api/v1/incidents", "state", incident_states),
    ("/api/v1/reports", "state", report_states),
    ("/api/v1/reports", "category", report_categories),
    ("/api/v1/security-events", "min_severity", severities),
    ("/api/v1/deliveries", "status", delivery_statuses),
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
                    .enum_values(Some(values()))
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
            "name" if path == "/api/v1/components/{name}" => ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(SHORT_TEXT))
                .build(),
            "kinds" => {
                let one = frontline_core::feed::FeedKind::ALL
                    .iter()
                    .map(|k| k.as_str().replace('.', "\\."))
                    .collect::<Vec<_>>()
                    .join("|");
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^({one})(,({one}))*$")))
                    .build()
            }
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

/// Text a person reads: at least one character that is not white space, and no control
/// characters (the server trims, then refuses blank and control-character values).
const SHORT_TEXT: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// Text that may be absent or empty but never holds control characters.
const NO_CONTROL: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// What the handlers check of a body field beyond its type, by schema and property.
enum Rule {
    Pattern(&'static str),
    DateTime,
    /// A JSON object, or null for none.
    ObjectOrNull,
    /// Text of this many characters, at least and at most (the server counts bytes; texts of
    /// ASCII, which is what secrets are, have as many).
    Length(usize, usize),
    /// An array whose every item is text matching this pattern.
    Items(&'static str),
    /// An incident's seats: seat names to a person's user name or null.
    Seats,
    /// `false` or null: a flag that can only be cleared.
    OnlyFalse,
    /// One of these values (a JSON string).
    OneOf(Values),
    /// An array of at least one item, each one of these values.
    SomeOf(Values),
}

fn channels() -> Vec<String> {
    frontline_core::contact::Channel::ALL
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn severities() -> Vec<String> {
    frontline_core::security_event::Severity::ALL
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn report_categories() -> Vec<String> {
    frontline_core::report::ReportCategory::ALL
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Values of the enumerations the core has no list of (each written here once).
fn words(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn incident_states() -> Vec<String> {
    words(&["investigating", "identified", "monitoring", "resolved"])
}

fn alert_states() -> Vec<String> {
    words(&["open", "acknowledged", "dismissed"])
}

fn alert_kinds() -> Vec<String> {
    words(&["spike", "cluster", "theme"])
}

fn report_states() -> Vec<String> {
    words(&["filed", "acknowledged", "dismissed"])
}

fn delivery_statuses() -> Vec<String> {
    words(&["pending", "delivered", "failed"])
}

fn audit_formats() -> Vec<String> {
    words(&["json", "ndjson"])
}

fn incident_severities() -> Vec<String> {
    words(&["SEV1", "SEV2", "SEV3", "SEV4"])
}

fn feed_kinds_or_all() -> Vec<String> {
    frontline_core::feed::FeedKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .chain(["*".to_owned()])
        .collect()
}

const FIELDS: &[(&str, &str, Rule)] = &[
    ("ContactInput", "id", Rule::Pattern(SHORT_TEXT)),
    ("ContactInput", "source", Rule::Pattern(SHORT_TEXT)),
    ("ContactInput", "received_at", Rule::DateTime),
    ("ContactInput", "channel", Rule::OneOf(channels)),
    ("SecurityEventInput", "severity", Rule::OneOf(severities)),
    ("CreateIncident", "title", Rule::Pattern(SHORT_TEXT)),
    ("PatchIncident", "title", Rule::Pattern(SHORT_TEXT)),
    ("PatchIncident", "state", Rule::OneOf(incident_states)),
    (
        "PatchIncident",
        "severity",
        Rule::OneOf(incident_severities),
    ),
    (
        "CreateIncident",
        "severity",
        Rule::OneOf(incident_severities),
    ),
    ("CreateIncident", "services", Rule::Items(SHORT_TEXT)),
    ("PatchIncident", "services", Rule::Items(SHORT_TEXT)),
    ("PatchIncident", "proposed", Rule::OnlyFalse),
    ("PatchIncident", "roles", Rule::Seats),
    ("ContactInput", "metadata", Rule::ObjectOrNull),
    ("SecurityEventInput", "id", Rule::Pattern(SHORT_TEXT)),
    ("SecurityEventInput", "source", Rule::Pattern(SHORT_TEXT)),
    ("SecurityEventInput", "title", Rule::Pattern(SHORT_TEXT)),
    ("SecurityEventInput", "observed_at", Rule::DateTime),
    ("SecurityEventInput", "resolved_at", Rule::DateTime),
    ("NoteRequest", "body", Rule::Pattern(SHORT_TEXT)),
    ("TaskRequest", "title", Rule::Pattern(SHORT_TEXT)),
    ("TaskRequest", "owner", Rule::Pattern(NO_CONTROL)),
    ("TaskPatch", "owner", Rule::Pattern(NO_CONTROL)),
    ("QuestionRequest", "question", Rule::Pattern(SHORT_TEXT)),
    ("DismissRequest", "reason", Rule::Pattern(SHORT_TEXT)),
    ("CreateWebhook", "secret", Rule::Length(1, 1024)),
    ("CreateWebhook", "events", Rule::SomeOf(feed_kinds_or_all)),
];

/// Body fields' exact types: what the handlers check besides the JSON type (they read most
/// fields as optional text, to name a missing or wrong one in the error).
struct ExactFields;

impl Modify for ExactFields {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (schema, property, rule) in FIELDS {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema) else {
                continue;
            };
            let Some(RefOr::T(field)) = object.properties.get_mut(*property) else {
                continue;
            };
            match (rule, field) {
                (Rule::Pattern(p), Schema::Object(o)) => o.pattern = Some((*p).to_owned()),
                (Rule::Length(min, max), Schema::Object(o)) => {
                    o.min_length = Some(*min);
                    o.max_length = Some(*max);
                }
                (Rule::DateTime, Schema::Object(o)) => {
                    o.format = Some(SchemaFormat::KnownFormat(KnownFormat::DateTime));
                }
                (Rule::ObjectOrNull, field) => {
                    let description = match field {
                        Schema::Object(o) => o.description.clone(),
                        _ => None,
                    };
                    *field = Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                            .description(description)
                            .build(),
                    );
                }
                (Rule::OneOf(values), Schema::Object(o)) => {
                    let mut values: Vec<serde_json::Value> =
                        values().into_iter().map(serde_json::Value::from).collect();
                    // An optional field's null means "not given" and stays allowed.
                    if let SchemaType::Array(types) = &o.schema_type {
                        if types.contains(&Type::Null) {
                            values.push(serde_json::Value::Null);
                        }
                    }
                    o.enum_values = Some(values);
                }
                (Rule::Seats, field) => {
                    let seat = ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .build();
                    let names = ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([
                            "commander",
                            "security_lead",
                            "cx_lead",
                            "comms_lead",
                        ]))
                        .build();
                    let mut seats = ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                        .additional_properties(Some(ObjectBuilder::from(seat)))
                        .description(Some("Seat → a person's user name, or null to free it"))
                        .build();
                    seats.property_names = Some(Box::new(Schema::Object(names)));
                    *field = Schema::Object(seats);
                }
                (Rule::OnlyFalse, Schema::Object(o)) => {
                    o.enum_values = Some(vec![
                        serde_json::Value::Bool(false),
                        serde_json::Value::Null,
                    ]);
                }
                (Rule::Items(pattern), Schema::Array(a)) => {
                    a.items = utoipa::openapi::schema::ArrayItems::RefOrSchema(Box::new(RefOr::T(
                        Schema::Object(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some(*pattern))
                                .build(),
                        ),
                    )));
                }
                (Rule::SomeOf(values), Schema::Array(a)) => {
                    a.min_items = Some(1);
                    a.items = utoipa::openapi::schema::ArrayItems::RefOrSchema(Box::new(RefOr::T(
                        Schema::Object(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(values()))
                                .build(),
                        ),
                    )));
                }
                _ => {}
            }
        }
    }
}

/// The live stream's answer as Server-Sent Events: each event has the entry's seq as its `id`,
/// its kind as its `event`, and the entry (a `FeedEntryOut`) as JSON in its `data`.
struct StreamEvents;

impl Modify for StreamEvents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, op) in operations(openapi) {
            if path != "/api/v1/stream" {
                continue;
            }
            let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
                continue;
            };
            let text = || ObjectBuilder::new().schema_type(Type::String);
            let event = ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("id", text().description(Some("The entry's seq")))
                .property("event", text().description(Some("The entry's kind")))
                .property(
                    "data",
                    text().description(Some("The entry, a FeedEntryOut, as JSON")),
                )
                .required("data")
                .build();
            if let Some(content) = ok.content.get_mut("text/event-stream") {
                content.schema = Some(RefOr::T(Schema::Object(event)));
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: public, since it describes the API and holds no data. The
/// document never changes while the server runs: built and serialised once, on first request.
pub async fn openapi_json() -> axum::response::Response {
    use axum::response::IntoResponse;
    static DOCUMENT: std::sync::LazyLock<bytes::Bytes> = std::sync::LazyLock::new(|| {
        serde_json::to_vec(&ApiDoc::openapi())
            .unwrap_or_default()
            .into()
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOCUMENT.clone(),
    )
        .into_response()
}
