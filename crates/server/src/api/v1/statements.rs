//! Statements (`/api/v1/incidents/{id}/statements`, `/api/v1/statements/{id}`), their
//! templates, status page components and agents' talking points. The approval and publication
//! rules are `frontline_core::statement`'s; approvals count the signed-in person (the token's
//! user), so two tokens of one user are one approval.

use super::intake::{json_body, path_id};
use super::query;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use frontline_api::{
    ComponentList, ComponentOut, ComponentRequest, ErrorBody, PublishedWords, QuestionRequest,
    StatementList, StatementOut, StatementRequest, TalkingPoints, TalkingPointsList,
};
use frontline_core::InvalidField;
use frontline_core::incident::{IncidentChange, IncidentState};
use frontline_core::statement::{self, Audience, Statement};
use frontline_store::IncidentQuery;
use serde::Serialize;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/incidents/{id}/statements",
            post(create_statement).get(list_statements),
        )
        .route(
            "/api/v1/statements/{id}",
            get(get_statement).put(edit_statement),
        )
        .route("/api/v1/statements/{id}/approve", post(approve_statement))
        .route("/api/v1/statements/{id}/publish", post(publish_statement))
        .route("/api/v1/statement-templates", get(list_templates))
        .route("/api/v1/components", get(list_components))
        .route("/api/v1/components/{name}", put(set_component))
        .route("/api/v1/talking-points", get(talking_points))
        .route("/api/v1/talking-points/questions", post(ask))
}

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::invalid(InvalidField::new(field, reason))
}

/// Checks a draft, prefilled from a template when one is named.
fn draft_of(state: &AppState, request: StatementRequest) -> Result<statement::Draft, ApiError> {
    let (mut title, mut body) = (request.title, request.body);
    if let Some(name) = request.template {
        let templates = state.config.templates();
        let t = templates.iter().find(|t| t.name == name).ok_or_else(|| {
            let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
            invalid(
                "template",
                format!("no template {name:?}; there are {}", names.join(", ")),
            )
        })?;
        title = title.or_else(|| Some(t.title.clone()));
        body = body.or_else(|| Some(t.body.clone()));
    }
    statement::draft(title, body, request.translations, request.r#final).map_err(ApiError::invalid)
}

/// Drafts a statement for an incident (version 1).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/statements", tag = "statements",
    params(("id" = i64, Path, description = "The incident id")),
    request_body(content = StatementRequest),
    responses(
        (status = 201, description = "Drafted", body = StatementOut),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_statement(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<StatementOut>), ApiError> {
    let incident = path_id(path)?;
    let request: StatementRequest = json_body(body, state.config.max_body_bytes)?;
    let audience: Audience = request
        .audience
        .as_deref()
        .ok_or_else(|| invalid("audience", "is required"))?
        .parse()
        .map_err(|e: String| invalid("audience", e))?;
    let draft = draft_of(&state, request)?;
    let s = state
        .store
        .create_statement(
            incident,
            audience,
            draft,
            &principal.user,
            &principal.origin(),
        )
        .await?;
    state.feed_changed();
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// An incident's statements.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/statements", tag = "statements",
    params(
        ("id" = i64, Path, description = "The incident id"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses((status = 200, description = "Its statements, oldest first", body = StatementList)),
    security(("bearer" = [])))]
pub async fn list_statements(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<StatementList>, ApiError> {
    let incident = path_id(path)?;
    let paging = query::paging(query::pairs(query)?, "statements", &[])?;
    let mut items = state.store.list_statements(incident).await?;
    items.sort_by_key(|s| s.id);
    let (items, next_cursor) = query::page_of(items, |s| s.id, &paging, "statements");
    Ok(Json(StatementList {
        items: items.into_iter().map(StatementOut::from).collect(),
        next_cursor,
    }))
}

/// One statement with every version and its approvals.
#[utoipa::path(get, path = "/api/v1/statements/{id}", tag = "statements",
    params(("id" = i64, Path, description = "The statement id")),
    responses(
        (status = 200, description = "The statement", body = StatementOut),
        (status = 404, description = "No such statement", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_statement(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<StatementOut>, ApiError> {
    let id = path_id(path)?;
    state
        .store
        .get_statement(id)
        .await?
        .map(|s| Json(s.into()))
        .ok_or_else(|| ApiError::not_found(format!("no statement {id}")))
}

/// Writes a new version (which needs approval again; the published one stays until then).
#[utoipa::path(put, path = "/api/v1/statements/{id}", tag = "statements",
    params(("id" = i64, Path, description = "The statement id")),
    request_body(content = StatementRequest),
    responses(
        (status = 200, description = "The statement with its new version", body = StatementOut),
        (status = 404, description = "No such statement", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn edit_statement(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StatementOut>, ApiError> {
    let id = path_id(path)?;
    let request: StatementRequest = json_body(body, state.config.max_body_bytes)?;
    if request.audience.is_some() {
        return Err(invalid(
            "audience",
            "a statement keeps its audience; draft a new statement for another",
        ));
    }
    let draft = draft_of(&state, request)?;
    let s = state
        .store
        .edit_statement(id, draft, &principal.user, &principal.origin())
        .await?;
    state.feed_changed();
    Ok(Json(s.into()))
}

/// Approves the latest version as the signed-in person.
#[utoipa::path(post, path = "/api/v1/statements/{id}/approve", tag = "statements",
    params(("id" = i64, Path, description = "The statement id")),
    responses(
        (status = 200, description = "Approved", body = StatementOut),
        (status = 403, description = "The author, or a role that may not approve this audience", body = ErrorBody),
        (status = 404, description = "No such statement", body = ErrorBody),
        (status = 409, description = "Approved by this person already", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn approve_statement(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<StatementOut>, ApiError> {
    act(&state, &principal, path, Act::Approve).await
}

#[derive(Clone, Copy)]
enum Act {
    Approve,
    Publish { confirm_contact_data: bool },
}

/// Approves or publishes as the signed-in person.
async fn act(
    state: &AppState,
    principal: &Principal,
    path: Result<Path<i64>, PathRejection>,
    act: Act,
) -> Result<Json<StatementOut>, ApiError> {
    let id = path_id(path)?;
    let (user, roles, origin) = (&principal.user, &principal.roles, principal.origin());
    let s = match act {
        Act::Approve => {
            state
                .store
                .approve_statement(id, user, roles, &origin)
                .await?
        }
        Act::Publish {
            confirm_contact_data,
        } => {
            let found = contact_data_check(state, id, confirm_contact_data).await?;
            let published = state
                .store
                .publish_statement(id, user, roles, &origin)
                .await?;
            if !found.is_empty() {
                let entry = frontline_core::audit::AuditEntry::new(
                    origin.actor.clone(),
                    "statement.contact_data_confirmed",
                    format!("statement:{id}"),
                )
                .with_detail(serde_json::json!({ "kinds": found }))
                .with_request_id(origin.request_id.clone())
                .with_client(origin.client.clone());
                state.store.audit(&entry).await?;
            }
            published
        }
    };
    // The public pages first, so the refresher woken next finds them current.
    if matches!(act, Act::Publish { .. }) {
        crate::public::status::rebuild_now(state).await;
    }
    state.feed_changed();
    Ok(Json(s.into()))
}

/// Publishes the latest version: it becomes what its audience hears, on every channel at once.
#[utoipa::path(post, path = "/api/v1/statements/{id}/publish", tag = "statements",
    params(("id" = i64, Path, description = "The statement id")),
    request_body(content = Option<PublishRequest>, description = "Optional: confirm contact data going to customers' tickets"),
    responses(
        (status = 200, description = "Published", body = StatementOut),
        (status = 403, description = "Not admin, comms or the incident's commander", body = ErrorBody),
        (status = 404, description = "No such statement", body = ErrorBody),
        (status = 409, description = "Approvals are missing, it is published already, or (code `contact_data`) its text holds contact data that would go to customers' tickets", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn publish_statement(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StatementOut>, ApiError> {
    let body = body.map_err(|e| super::intake::body_error(e, state.config.max_body_bytes))?;
    let confirm_contact_data = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        let request: PublishRequest = json_body(Ok(body), state.config.max_body_bytes)?;
        request.confirm_contact_data.unwrap_or(false)
    };
    act(
        &state,
        &principal,
        path,
        Act::Publish {
            confirm_contact_data,
        },
    )
    .await
}

/// `POST /api/v1/statements/{id}/publish`'s optional body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish a `customers` statement whose text holds an e-mail address, phone number,
    /// card number, IBAN or IP address, which would go to customers' helpdesk tickets
    /// (audited). Without it such a statement is refused with 409.
    pub confirm_contact_data: Option<bool>,
}

/// The kinds of contact data in a `customers` statement's latest version that would go to
/// customers' tickets (its body and translations), when a helpdesk is connected: refused
/// (409 naming them, nothing published) unless `confirmed`; answers the kinds found.
///
/// # Errors
/// 409 when contact data is found and not confirmed; 404 for an unknown statement.
pub(crate) async fn contact_data_check(
    state: &AppState,
    id: i64,
    confirmed: bool,
) -> Result<Vec<&'static str>, ApiError> {
    let Some(statement) = state.store.get_statement(id).await? else {
        return Ok(Vec::new());
    };
    if statement.audience != Audience::Customers || state.store.list_helpdesks().await?.is_empty() {
        return Ok(Vec::new());
    }
    let Some(latest) = statement.versions.last() else {
        return Ok(Vec::new());
    };
    let redactor = frontline_pipeline::redact::Redactor::shared();
    let mut kinds: Vec<&'static str> = std::iter::once(latest.body.as_str())
        .chain(latest.translations.values().map(|t| t.body.as_str()))
        .flat_map(|text| redactor.redact(text).findings)
        .map(|k| k.placeholder().trim_matches(['[', ']']))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() || confirmed {
        return Ok(kinds);
    }
    Err(ApiError::conflict(format!(
        "the text holds contact data ({}) that would go to customers' helpdesk tickets; publish with \"confirm_contact_data\": true to send it anyway",
        kinds.join(", ")
    ))
    .with_code("contact_data")
    .with_field("body"))
}

/// A template, as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateOut {
    /// Its name (`"template": NAME` when drafting).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The title it gives.
    pub title: String,
    /// The body it gives.
    pub body: String,
}

/// The statement templates.
#[utoipa::path(get, path = "/api/v1/statement-templates", tag = "statements",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses((status = 200, description = "The templates", body = TemplateList)),
    security(("bearer" = [])))]
pub async fn list_templates(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<TemplateList>, ApiError> {
    let paging = query::paging(query::pairs(query)?, "statement-templates", &[])?;
    let items = state
        .config
        .templates()
        .into_iter()
        .map(|t| TemplateOut {
            name: t.name,
            description: t.description,
            title: t.title,
            body: t.body,
        })
        .collect();
    let (items, next_cursor) = query::page_by_position(items, &paging, "statement-templates");
    Ok(Json(TemplateList { items, next_cursor }))
}

/// The statement templates, a page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    /// The templates.
    pub items: Vec<TemplateOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The status page components as set by people.
#[utoipa::path(get, path = "/api/v1/components", tag = "status",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses((status = 200, description = "The components", body = ComponentList)),
    security(("bearer" = [])))]
pub async fn list_components(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ComponentList>, ApiError> {
    let paging = query::paging(query::pairs(query)?, "components", &[])?;
    let items = state.store.list_components().await?;
    let (items, next_cursor) = query::page_by_position(items, &paging, "components");
    Ok(Json(ComponentList {
        next_cursor,
        items: items
            .into_iter()
            .map(|c| ComponentOut {
                name: c.name,
                status: c.status,
                updated_at: c.updated_at,
                updated_by: c.updated_by,
            })
            .collect(),
    }))
}

/// Sets a component's state (creating it).
#[utoipa::path(put, path = "/api/v1/components/{name}", tag = "status",
    params(("name" = String, Path, description = "The component (a service name)")),
    request_body(content = ComponentRequest),
    responses(
        (status = 200, description = "Set", body = ComponentOut),
        (status = 422, description = "A bad name or status", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_component(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ComponentOut>, ApiError> {
    let Path(name) = path.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let name = frontline_core::field::short_text(name, "name", 100).map_err(ApiError::invalid)?;
    let request: ComponentRequest = json_body(body, state.config.max_body_bytes)?;
    let status = request
        .status
        .ok_or_else(|| invalid("status", "is required"))?
        .parse()
        .map_err(|e: String| invalid("status", e))?;
    let c = state
        .store
        .set_component(&name, status, &principal.origin())
        .await?;
    crate::public::status::rebuild_now(&state).await;
    state.feed_changed();
    Ok(Json(ComponentOut {
        name: c.name,
        status: c.status,
        updated_at: c.updated_at,
        updated_by: c.updated_by,
    }))
}

fn words(s: &Statement) -> Option<PublishedWords> {
    let v = s.published_version()?;
    Some(PublishedWords {
        statement_id: s.id,
        version: v.number,
        title: v.title.clone(),
        body: v.body.clone(),
        translations: v.translations.clone(),
        approved_at: v.approvals.iter().map(|a| a.at).max(),
        published_at: s.published_at(),
    })
}

/// For each open incident, the published `agents` and `customers` statements: every agent
/// says the same thing.
#[utoipa::path(get, path = "/api/v1/talking-points", tag = "statements",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses((status = 200, description = "Talking points", body = TalkingPointsList)),
    security(("bearer" = [])))]
pub async fn talking_points(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<TalkingPointsList>, ApiError> {
    let paging = query::paging(query::pairs(query)?, "talking-points", &[])?;
    let mut items = current_talking_points(&state).await?;
    items.sort_by_key(|t| t.incident_id);
    let (items, next_cursor) = query::page_of(items, |t| t.incident_id, &paging, "talking-points");
    Ok(Json(TalkingPointsList { items, next_cursor }))
}

/// The latest published talking points and customer statement of each open incident, oldest
/// incident first (also the agent page's).
pub(crate) async fn current_talking_points(
    state: &AppState,
) -> Result<Vec<TalkingPoints>, ApiError> {
    let open = state
        .store
        .list_incidents(&IncidentQuery {
            open: Some(true),
            limit: 1000,
            ..IncidentQuery::default()
        })
        .await?;
    let mut items = Vec::new();
    for incident in open.items.into_iter().rev() {
        let statements = state.store.list_statements(incident.id).await?;
        // The latest published statement of each audience.
        let latest = |audience: Audience| {
            statements
                .iter()
                .filter(|s| s.audience == audience && s.published.is_some())
                .max_by_key(|s| s.published_at())
                .and_then(words)
        };
        items.push(TalkingPoints {
            incident_id: incident.id,
            title: incident.title,
            severity: incident.severity,
            state: incident.state,
            agents: latest(Audience::Agents),
            customers: latest(Audience::Customers),
        });
    }
    Ok(items)
}

/// An agent flags a question customers ask that the talking points do not answer; it goes on
/// the incident's timeline for the comms lead.
#[utoipa::path(post, path = "/api/v1/talking-points/questions", tag = "statements",
    request_body(content = QuestionRequest),
    responses(
        (status = 201, description = "On the incident's timeline", body = Object),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "The incident is resolved", body = ErrorBody),
        (status = 422, description = "A field is wrong, named in `field`", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ask(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let request: QuestionRequest = json_body(body, state.config.max_body_bytes)?;
    let incident = request
        .incident_id
        .ok_or_else(|| invalid("incident_id", "is required"))?;
    let question = flag_question(
        &state,
        &principal,
        incident,
        request
            .question
            .ok_or_else(|| invalid("question", "is required"))?,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"incident_id": incident, "question": question})),
    ))
}

/// Puts an agent's question on the incident's timeline for the comms lead; the question as
/// kept (also the agent page's).
pub(crate) async fn flag_question(
    state: &AppState,
    principal: &Principal,
    incident: i64,
    question: String,
) -> Result<String, ApiError> {
    let question =
        frontline_core::incident::note(question).map_err(|e| invalid("question", e.reason))?;
    let current = state
        .store
        .get_incident(incident)
        .await?
        .ok_or_else(|| invalid("incident_id", format!("incident {incident} does not exist")))?;
    if current.incident.state == IncidentState::Resolved {
        return Err(ApiError::conflict(format!(
            "incident {incident} is resolved"
        )));
    }
    let body = format!("Customers ask (not answered by the talking points): {question}");
    state
        .store
        .change_incident(
            incident,
            &[IncidentChange::Note { body }],
            &principal.origin(),
        )
        .await?;
    state.feed_changed();
    Ok(question)
}
