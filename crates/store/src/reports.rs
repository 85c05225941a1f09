//! Filing reports and moving them through their states, once for every backend, over the
//! same transaction steps as incidents ([`IncidentTx`]).

use crate::incidents::IncidentTx;
use crate::{Origin, StoreError};
use chrono::Utc;
use frontline_core::audit::AuditEntry;
use frontline_core::feed::{FeedKind, NewFeedEntry};
use frontline_core::incident::Signal;
use frontline_core::report::{NewReport, Report, ReportDetail, ReportState};
use serde_json::json;

/// Files a report: checks its contacts exist, stores it, puts `report.filed` on the feed (the
/// live stream and webhooks tell security at once) and audits it.
///
/// # Errors
/// [`StoreError::NotFound`] for a contact that does not exist.
pub async fn file(
    tx: &mut dyn IncidentTx,
    new: &NewReport,
    origin: &Origin,
) -> Result<ReportDetail, StoreError> {
    for c in &new.contacts {
        let signal = Signal::Contact {
            source: c.source.clone(),
            id: c.id.clone(),
        };
        if tx.signal_time(&signal).await?.is_none() {
            return Err(StoreError::NotFound {
                what: signal.to_string(),
            });
        }
    }
    let mut report = Report {
        id: 0,
        category: new.category,
        summary: new.summary.clone(),
        service: new.service.clone(),
        contacts: new.contacts.clone(),
        filed_by: origin.actor.to_string(),
        filed_at: Utc::now(),
        state: ReportState::Filed,
        reason: None,
        state_by: None,
        state_at: None,
    };
    report.id = tx.insert_report(&report).await?;
    tx.append_feed(&NewFeedEntry {
        kind: FeedKind::ReportFiled,
        incident_id: None,
        actor: report.filed_by.clone(),
        data: json!({
            "id": report.id,
            "category": report.category,
            "summary": report.summary,
            "service": report.service,
            "contacts": report.contacts.len(),
        }),
    })
    .await?;
    tx.append_audit(
        &AuditEntry::new(
            origin.actor.clone(),
            "report.file",
            format!("report:{}", report.id),
        )
        .with_detail(json!({"category": report.category, "contacts": report.contacts.len()}))
        .with_request_id(origin.request_id.clone())
        .with_client(origin.client.clone()),
    )
    .await?;
    Ok(ReportDetail {
        report,
        incident_id: None,
    })
}

/// Acknowledges or dismisses a report (with a reason the agent sees).
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown report; [`StoreError::Conflict`] when its state does
/// not allow the change.
pub async fn set_state(
    tx: &mut dyn IncidentTx,
    id: i64,
    state: ReportState,
    reason: Option<&str>,
    origin: &Origin,
) -> Result<ReportDetail, StoreError> {
    let mut report = tx
        .load_report(id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("report {id}"),
        })?;
    if !report.state.can_become(state) {
        return Err(StoreError::Conflict {
            constraint: format!(
                "a {} report cannot become {}",
                report.state.as_str(),
                state.as_str()
            ),
        });
    }
    report.state = state;
    report.reason = reason.map(str::to_owned);
    report.state_by = Some(origin.actor.to_string());
    report.state_at = Some(Utc::now());
    tx.save_report(&report).await?;
    tx.append_feed(&NewFeedEntry {
        kind: FeedKind::ReportUpdated,
        incident_id: None,
        actor: origin.actor.to_string(),
        data: json!({"id": id, "state": state, "reason": reason, "filed_by": report.filed_by}),
    })
    .await?;
    tx.append_audit(
        &AuditEntry::new(origin.actor.clone(), "report.state", format!("report:{id}"))
            .with_detail(json!({"state": state, "reason": reason}))
            .with_request_id(origin.request_id.clone())
            .with_client(origin.client.clone()),
    )
    .await?;
    let incident_id = tx.linked_incident(&Signal::Report { id }).await?;
    Ok(ReportDetail {
        report,
        incident_id,
    })
}
