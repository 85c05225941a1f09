//! `/api/v1/integrations/{kind}/{name}`: where a connected helpdesk sends its webhooks. Not
//! behind a bearer token (Freshdesk's excepted): each vendor's signature is the proof, checked
//! against the connection's current secret and, during a rotation, its previous one. What
//! customers wrote becomes contacts whose source is the connection and whose id is
//! `TICKET:COMMENT`; agents' replies and notes are activity; an incident's tag added by an
//! agent links the ticket; the rest is ignored with a reason.

use super::helpdesks::{context, unknown};
use super::intake;
use crate::plumbing::error::ApiError;
use crate::plumbing::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use frontline_api::{ErrorBody, HelpdeskEventOut};
use frontline_core::audit::Actor;
use frontline_core::contact::{ContactInput, NewContact};
use frontline_helpdesk::{HelpdeskKind, Inbound, Message, events, verify};
use frontline_store::helpdesks::{EventOutcome, Helpdesk};
use frontline_store::{Inserted, Origin};

/// The largest webhook body taken: vendors send a ticket's event, not its history.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The intake route (outside the bearer-token layer: signatures authenticate it).
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/integrations/{kind}/{name}", post(receive))
}

/// Takes one webhook from a connected helpdesk. Zendesk: `X-Zendesk-Webhook-Signature` and
/// `-Signature-Timestamp` (within 5 minutes); Intercom: `X-Hub-Signature`; Freshdesk:
/// `Authorization: Bearer` with the connection's token, and the body
/// `{"event": "ticket.created" | "ticket.replied", "ticket_id": "{{ticket.id}}", "requester":
/// "{{ticket.requester.email}}", "subject": "{{ticket.subject}}", "body":
/// "{{ticket.description}}" or "{{ticket.latest_public_comment}}"}`.
#[utoipa::path(post, path = "/api/v1/integrations/{kind}/{name}", tag = "integrations",
    params(
        ("kind" = String, Path, description = "zendesk, intercom or freshdesk"),
        ("name" = String, Path, description = "The connection's name"),
    ),
    request_body(content = Object, description = "The vendor's webhook payload, as it sends it"),
    responses(
        (status = 200, description = "Taken: messages stored, or activity, ignored, ping, duplicate", body = HelpdeskEventOut),
        (status = 202, description = "With an intake bus: messages acknowledged by the bus", body = HelpdeskEventOut),
        (status = 401, description = "Signature, timestamp or token refused (named in `field`); nothing stored", body = ErrorBody),
        (status = 404, description = "No such connection of this kind", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 422, description = "Not UTF-8 JSON, or a field the event needs is missing (named)", body = ErrorBody),
    ))]
pub async fn receive(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(axum::http::StatusCode, Json<HelpdeskEventOut>), ApiError> {
    let (kind, name) = path
        .map(|Path(p)| p)
        .map_err(|e| ApiError::bad_parameter("path", e.body_text()))?;
    let kind: HelpdeskKind = kind.parse().map_err(|_| unknown(&name))?;
    let connection = state
        .store
        .get_helpdesk(&name)
        .await?
        .filter(|c| c.kind == kind.as_str())
        .ok_or_else(|| unknown(&name))?;
    let body = body.map_err(|e| intake::body_error(e, state.config.max_body_bytes))?;
    if body.len() > MAX_EVENT_BYTES {
        failed(&state, &name, "body over 1 MiB").await;
        return Err(ApiError::payload_too_large(
            "a helpdesk event over 1 MiB is not taken",
        ));
    }
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let secrets = secrets(&state, &connection)?;
    let refs: Vec<&[u8]> = secrets.iter().map(Vec::as_slice).collect();
    let verdict = match kind {
        HelpdeskKind::Zendesk => verify::zendesk(
            &refs,
            header("x-zendesk-webhook-signature-timestamp"),
            header("x-zendesk-webhook-signature"),
            &body,
            Utc::now(),
        ),
        HelpdeskKind::Intercom => verify::intercom(&refs, header("x-hub-signature"), &body),
        HelpdeskKind::Freshdesk => verify::bearer(&refs, header("authorization")),
    };
    if let Err(refusal) = verdict {
        failed(&state, &name, &format!("refused: {refusal}")).await;
        return Err(
            ApiError::unauthorized(format!("{}: {refusal}", refusal.field()))
                .with_field(refusal.field()),
        );
    }
    let parsed = match kind {
        HelpdeskKind::Zendesk => events::zendesk(&body),
        HelpdeskKind::Intercom => events::intercom(&body),
        HelpdeskKind::Freshdesk => events::freshdesk(&body),
    };
    let (event_id, inbound) = match parsed {
        Ok(p) => p,
        Err(e) => {
            failed(&state, &name, &format!("unreadable: {e}")).await;
            return Err(ApiError::invalid_field(&e.field, e.reason));
        }
    };
    // Zendesk retries one invocation with one id; Intercom's notification id is the same.
    let event_id = header("x-zendesk-webhook-invocation-id")
        .map(str::to_owned)
        .or(event_id);
    let mut out = HelpdeskEventOut {
        status: String::new(),
        stored: 0,
        duplicates: 0,
        contacts: Vec::new(),
        reason: None,
    };
    let mut status = axum::http::StatusCode::OK;
    match inbound {
        Inbound::Customer(messages) => {
            take_in(&state, &name, kind, &messages, &mut out).await?;
            if state.bus.is_some() {
                status = axum::http::StatusCode::ACCEPTED;
            }
        }
        Inbound::Tagged {
            ticket,
            added,
            opening,
        } => link_by_tag(&state, &name, kind, &ticket, &added, opening, &mut out).await?,
        Inbound::Activity { ticket, what } => {
            out.status = "activity".into();
            out.reason = Some(format!("{what} on ticket {ticket}"));
        }
        Inbound::Ping => out.status = "ping".into(),
        Inbound::Ignored(reason) => {
            out.status = "ignored".into();
            out.reason = Some(reason);
        }
    }
    let fresh = state
        .store
        .record_helpdesk_event(&name, &EventOutcome::Taken(event_id.as_deref()))
        .await?;
    if !fresh && out.status != "stored" {
        out.status = "duplicate".into();
    }
    Ok((status, Json(out)))
}

fn system_origin() -> Origin {
    Origin {
        request_id: crate::plumbing::telemetry::current_request_id(),
        client: crate::plumbing::telemetry::current_client(),
        ..Origin::new(Actor::System)
    }
}

/// Stores what customers wrote as contacts of the connection.
async fn take_in(
    state: &AppState,
    name: &str,
    kind: HelpdeskKind,
    messages: &[Message],
    out: &mut HelpdeskEventOut,
) -> Result<(), ApiError> {
    let channel = match kind {
        HelpdeskKind::Intercom => "chat",
        _ => "ticket",
    };
    let contacts = messages
        .iter()
        .map(|m| contact(name, kind, channel, m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::invalid)?;
    let records: Vec<_> = contacts
        .into_iter()
        .map(|c| state.intake.prepare(c))
        .collect();
    let outcome = intake::store_prepared(state, &records, &system_origin()).await?;
    out.contacts = messages.iter().map(Message::contact_id).collect();
    out.stored = outcome.iter().filter(|o| **o == Inserted::Accepted).count();
    out.duplicates = outcome.len() - out.stored;
    out.status = if out.stored == 0 {
        "duplicate"
    } else {
        "stored"
    }
    .into();
    Ok(())
}

/// An agent added `frontline-incident-N` to a ticket: the ticket's opening message (taken in
/// first if Frontline has not heard of it) is linked to incident N. A tag naming no incident,
/// or a message already in another incident, is answered with the reason, not an error: the
/// vendor would only retry it.
async fn link_by_tag(
    state: &AppState,
    name: &str,
    kind: HelpdeskKind,
    ticket: &str,
    added: &[String],
    opening: Option<Message>,
    out: &mut HelpdeskEventOut,
) -> Result<(), ApiError> {
    use frontline_core::incident::{IncidentChange, Signal};
    let incidents: Vec<i64> = added
        .iter()
        .filter_map(|t| t.strip_prefix("frontline-incident-")?.parse().ok())
        .collect();
    if incidents.is_empty() {
        out.status = "activity".into();
        out.reason = Some(format!("tags changed on ticket {ticket}"));
        return Ok(());
    }
    let id = format!("{ticket}:0");
    if state.store.get_contact(name, &id).await?.is_none() {
        if let Some(message) = opening {
            take_in(state, name, kind, &[message], out).await?;
        }
    }
    let mut linked = Vec::new();
    let mut reasons = Vec::new();
    for incident in incidents {
        let signal = Signal::Contact {
            source: name.to_owned(),
            id: id.clone(),
        };
        match state
            .store
            .change_incident(
                incident,
                &[IncidentChange::Link(vec![signal])],
                &system_origin(),
            )
            .await
        {
            Ok(_) => linked.push(incident.to_string()),
            Err(e) => reasons.push(format!("incident {incident}: {e}")),
        }
    }
    if !linked.is_empty() {
        state.feed_changed();
        out.status = "linked".into();
        reasons.insert(
            0,
            format!("ticket {ticket} linked to incident {}", linked.join(", ")),
        );
    } else {
        out.status = "ignored".into();
    }
    out.contacts = vec![id];
    out.reason = Some(reasons.join("; "));
    Ok(())
}

/// The connection's accepted secrets: the current one, and the previous during its grace.
fn secrets(state: &AppState, c: &Helpdesk) -> Result<Vec<Vec<u8>>, ApiError> {
    let sealer = state.sealing.sealer().map_err(ApiError::internal)?;
    let ctx = context(&c.name, "signing");
    let mut out = Vec::new();
    if let Some(sealed) = &c.signing_sealed {
        out.push(sealer.open(sealed, &ctx).map_err(ApiError::internal)?);
    }
    if let Some((sealed, until)) = &c.previous_signing {
        if *until > Utc::now() {
            out.push(sealer.open(sealed, &ctx).map_err(ApiError::internal)?);
        }
    }
    Ok(out)
}

/// Notes a refusal on the connection's health; a failure to note it is logged, not answered
/// (the answer is about the webhook).
async fn failed(state: &AppState, name: &str, why: &str) {
    if let Err(e) = state
        .store
        .record_helpdesk_event(name, &EventOutcome::Failed(why))
        .await
    {
        tracing::warn!(error = %e, connection = name, "could not record a helpdesk refusal");
    }
}

/// A customer's message as a contact, through the same checks as the contacts API. A time the
/// vendor gives that is in the future or unreadable is replaced by now.
pub(crate) fn contact(
    connection: &str,
    kind: HelpdeskKind,
    channel: &str,
    m: &Message,
) -> Result<NewContact, frontline_core::InvalidField> {
    let now = Utc::now();
    let at = m.at.filter(|t| *t <= now).unwrap_or(now);
    let text = match &m.subject {
        Some(subject) if m.comment == "0" && !m.text.starts_with(subject.trim()) => {
            format!("{}\n\n{}", subject.trim(), m.text)
        }
        _ => m.text.clone(),
    };
    NewContact::try_from(ContactInput {
        id: Some(m.contact_id()),
        source: Some(connection.to_owned()),
        channel: Some(channel.to_owned()),
        received_at: Some(at.to_rfc3339()),
        text: Some(text),
        customer: m.customer.clone(),
        service: None,
        region: None,
        language: None,
        metadata: Some(serde_json::json!({
            "helpdesk": kind.as_str(),
            "ticket": m.ticket,
        })),
    })
}
