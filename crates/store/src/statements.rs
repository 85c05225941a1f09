//! Drafting, approving and publishing statements, once for every backend, over the incident
//! transaction steps ([`IncidentTx`]). The rules themselves are `frontline_core::statement`'s;
//! here they meet the incident (who is commander), the feed and the audit log.

use crate::incidents::IncidentTx;
use crate::{Origin, StoreError};
use chrono::Utc;
use frontline_core::Role;
use frontline_core::audit::AuditEntry;
use frontline_core::feed::{FeedKind, NewFeedEntry};
use frontline_core::incident::IncidentRole;
use frontline_core::statement::{Audience, Draft, Statement, StatementError};
use serde_json::json;

fn error(e: StatementError) -> StoreError {
    match e {
        StatementError::Forbidden(reason) => StoreError::Forbidden { reason },
        StatementError::Conflict(constraint) => StoreError::Conflict { constraint },
    }
}

async fn load(tx: &mut dyn IncidentTx, id: i64) -> Result<Statement, StoreError> {
    tx.load_statement(id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("statement {id}"),
        })
}

async fn record(
    tx: &mut dyn IncidentTx,
    statement: &Statement,
    kind: FeedKind,
    data: serde_json::Value,
    origin: &Origin,
) -> Result<(), StoreError> {
    let mut data = data;
    data["statement_id"] = json!(statement.id);
    data["audience"] = json!(statement.audience);
    data["version"] = json!(statement.latest().number);
    tx.append_feed(&NewFeedEntry {
        kind,
        incident_id: Some(statement.incident_id),
        actor: origin.actor.to_string(),
        data: data.clone(),
    })
    .await?;
    // The audit record names the statement and version, never its words.
    tx.append_audit(
        &AuditEntry::new(
            origin.actor.clone(),
            kind.as_str(),
            format!("statement:{}", statement.id),
        )
        .with_detail(json!({
            "incident": statement.incident_id,
            "audience": statement.audience,
            "version": statement.latest().number,
            "role": data.get("role"),
        }))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone()),
    )
    .await
}

/// Drafts a statement for an incident (version 1).
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown incident.
pub async fn create(
    tx: &mut dyn IncidentTx,
    incident: i64,
    audience: Audience,
    draft: Draft,
    author: &str,
    origin: &Origin,
) -> Result<Statement, StoreError> {
    if tx.load_incident(incident).await?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("incident {incident}"),
        });
    }
    let mut statement = Statement::new(0, incident, audience, draft, author, Utc::now());
    statement.id = tx.insert_statement(&statement).await?;
    let title = statement.latest().title.clone();
    record(
        tx,
        &statement,
        FeedKind::StatementDrafted,
        json!({"title": title}),
        origin,
    )
    .await?;
    Ok(statement)
}

/// Adds a version to a statement.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown statement.
pub async fn edit(
    tx: &mut dyn IncidentTx,
    id: i64,
    draft: Draft,
    author: &str,
    origin: &Origin,
) -> Result<Statement, StoreError> {
    let mut statement = load(tx, id).await?;
    statement.edit(draft, author, Utc::now());
    tx.save_statement(&statement).await?;
    let title = statement.latest().title.clone();
    record(
        tx,
        &statement,
        FeedKind::StatementDrafted,
        json!({"title": title}),
        origin,
    )
    .await?;
    Ok(statement)
}

/// `user` (with `roles`) approves the latest version.
///
/// # Errors
/// [`StoreError::Forbidden`] for the author or a role that may not approve the audience;
/// [`StoreError::Conflict`] for a second approval by the same person.
pub async fn approve(
    tx: &mut dyn IncidentTx,
    id: i64,
    user: &str,
    roles: &[Role],
    origin: &Origin,
) -> Result<Statement, StoreError> {
    let mut statement = load(tx, id).await?;
    let role = statement
        .approve(user, roles, Utc::now())
        .map_err(error)?
        .role;
    tx.save_statement(&statement).await?;
    let approved = statement.approved();
    record(
        tx,
        &statement,
        FeedKind::StatementApproved,
        json!({"role": role, "approved": approved}),
        origin,
    )
    .await?;
    Ok(statement)
}

/// Publishes the latest version: `admin`, `comms`, or the incident's commander.
///
/// # Errors
/// [`StoreError::Forbidden`] for anyone else; [`StoreError::Conflict`] when approvals are
/// missing.
pub async fn publish(
    tx: &mut dyn IncidentTx,
    id: i64,
    user: &str,
    roles: &[Role],
    origin: &Origin,
) -> Result<Statement, StoreError> {
    let mut statement = load(tx, id).await?;
    let incident = tx
        .load_incident(statement.incident_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("incident {}", statement.incident_id),
        })?;
    let commander = incident
        .roles
        .get(&IncidentRole::Commander)
        .map(String::as_str);
    if !(roles.contains(&Role::Admin) || roles.contains(&Role::Comms) || commander == Some(user)) {
        return Err(StoreError::Forbidden {
            reason: format!(
                "statements are published by admin, comms or the incident's commander ({})",
                commander.unwrap_or("none assigned")
            ),
        });
    }
    statement.publish(user, Utc::now()).map_err(error)?;
    tx.save_statement(&statement).await?;
    let v = statement.latest();
    let data = json!({
        "title": v.title,
        "body": v.body,
        "translations": v.translations,
        "final": v.r#final,
    });
    record(tx, &statement, FeedKind::StatementPublished, data, origin).await?;
    Ok(statement)
}
