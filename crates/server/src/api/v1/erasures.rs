//! `/api/v1/erasures` (admins): a customer's data erased on request (GDPR Article 17), and the
//! erasure ledger that keeps a record of each request (the pseudonym, never the id) so a
//! restore from an older backup can apply it again; `/api/v1/erasures/people`: a person who
//! used Frontline erased, their name replaced by a stable placeholder.

use super::intake::json_body;
use crate::auth::Principal;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use frontline_api::{
    ErasureCountsOut, ErasureList, ErasureOut, ErasureRequest, ErrorBody, PersonErasureCountsOut,
    PersonErasureOut, PersonErasureRequest,
};
use frontline_store::lifecycle::{Erasure, PersonErasure};

/// The longest customer id taken: ids are e-mail addresses and numbers, not documents.
const MAX_CUSTOMER: usize = 1_000;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/erasures", post(erase).get(ledger))
        .route("/api/v1/erasures/people", post(erase_person))
}

/// Erases a customer's data: their contacts removed (tombstones where an incident links them:
/// the link stays, text, metadata and pseudonym go), references to them removed from alert
/// evidence, corrections on them removed, in one audited transaction. A customer Frontline
/// never heard of answers 200 with zero counts, and the ledger still records the request.
#[utoipa::path(post, path = "/api/v1/erasures", tag = "lifecycle",
    request_body(content = ErasureRequest),
    responses(
        (status = 200, description = "Erased; the receipt", body = ErasureOut),
        (status = 422, description = "`customer` missing, empty or too long", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ErasureOut>, ApiError> {
    let request: ErasureRequest = json_body(body, state.config.max_body_bytes)?;
    let customer = request
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_field("customer", "required: the id as the source sent it")
        })?;
    if customer.len() > MAX_CUSTOMER {
        return Err(ApiError::invalid_field(
            "customer",
            format!("at most {MAX_CUSTOMER} bytes"),
        ));
    }
    let pseudonym = state.intake.pseudonyms.pseudonym(customer);
    let done = state
        .store
        .erase_customer(&pseudonym, &principal.origin())
        .await?;
    state.feed_changed();
    Ok(Json(out(done)))
}

/// The longest user name taken (names are short; this only bounds the work).
const MAX_USER: usize = 200;

/// Erases a person, in one audited transaction: their name becomes a placeholder (the same
/// for every erasure of that name here) in timelines, links, decisions, incidents and
/// statements; audit records lose the fields naming them and the address of what they did,
/// and still verify (records from before the erasable format are kept and counted); their
/// account, sessions and tokens go. Names in free text (notes, titles) are not searched.
/// A name never heard of answers 200 with zero counts. An admin cannot erase themselves.
#[utoipa::path(post, path = "/api/v1/erasures/people", tag = "lifecycle",
    request_body(content = PersonErasureRequest),
    responses(
        (status = 200, description = "Erased; the receipt", body = PersonErasureOut),
        (status = 422, description = "`user` missing, empty, too long, or the caller", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn erase_person(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PersonErasureOut>, ApiError> {
    let request: PersonErasureRequest = json_body(body, state.config.max_body_bytes)?;
    let user = request
        .user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid_field("user", "required: the user's name"))?;
    if user.len() > MAX_USER {
        return Err(ApiError::invalid_field(
            "user",
            format!("at most {MAX_USER} bytes"),
        ));
    }
    if user == principal.user {
        return Err(ApiError::invalid_field(
            "user",
            "is you: another admin, or `frontline erase --user` on the server, erases you",
        ));
    }
    let pseudonym = state.intake.pseudonyms.pseudonym(&format!("user:{user}"));
    let done = state
        .store
        .erase_person(user, &pseudonym, &principal.origin())
        .await?;
    state.feed_changed();
    Ok(Json(person_out(done)))
}

/// A person's erasure as the API tells it.
fn person_out(e: PersonErasure) -> PersonErasureOut {
    let c = e.counts;
    PersonErasureOut {
        id: e.id,
        placeholder: e.placeholder,
        counts: PersonErasureCountsOut {
            audit_fields_erased: c.audit_fields_erased,
            audit_records_kept: c.audit_records_kept,
            actor_fields: c.actor_fields,
            documents: c.documents,
            account_removed: c.account_removed,
            sessions_removed: c.sessions_removed,
            tokens_removed: c.tokens_removed,
        },
    }
}

/// The erasure ledger, oldest first.
#[utoipa::path(get, path = "/api/v1/erasures", tag = "lifecycle",
    params(
        ("limit" = Option<u32>, Query, description = "At most this many (1-1000, default 100)"),
        ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of the ledger", body = ErasureList),
        (status = 400, description = "A bad parameter, named", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn ledger(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ErasureList>, ApiError> {
    let paging = super::query::paging(super::query::pairs(query)?, "erasures", &[])?;
    let mut items = state
        .store
        .list_erasures(paging.after.unwrap_or(0), paging.limit + 1)
        .await?;
    let more = items.len() > paging.limit as usize;
    items.truncate(paging.limit as usize);
    let next_cursor = items
        .last()
        .filter(|_| more)
        .map(|e| super::query::position_cursor("erasures", e.id));
    Ok(Json(ErasureList {
        items: items.into_iter().map(out).collect(),
        next_cursor,
    }))
}

fn out(e: Erasure) -> ErasureOut {
    ErasureOut {
        id: e.id,
        pseudonym: e.pseudonym,
        at: e.at,
        actor: e.actor,
        counts: ErasureCountsOut {
            contacts_removed: e.counts.contacts_removed,
            contacts_tombstoned: e.counts.contacts_tombstoned,
            alerts_scrubbed: e.counts.alerts_scrubbed,
            corrections_removed: e.counts.corrections_removed,
        },
    }
}
