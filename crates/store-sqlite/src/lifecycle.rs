//! Retention on SQLite: each class of data past its cutoff removed (or its text dropped) in
//! batches, or counted for a dry run.

use crate::{SqliteStore, errors::map, micros};
use frontline_store::StoreError;
use frontline_store::lifecycle::{RetentionCounts, RetentionCutoffs};

/// Contacts linked to an incident still open: kept whole, text included.
const OPEN_INCIDENT_CONTACT: &str = "EXISTS (SELECT 1 FROM incident_links l
    JOIN incidents i ON i.seq = l.incident_id
    WHERE l.kind = 'contact' AND l.source = c.source AND l.ref_id = c.ext_id
      AND i.state <> 'resolved')";

/// One class: the keys of its rows past the cutoff (`?1`), and what is done to them.
struct Class {
    select: String,
    act: &'static str,
}

fn classes(c: &RetentionCutoffs) -> [(Option<i64>, Class); 7] {
    let cut = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(micros);
    [
        (
            cut(c.contact_text),
            Class {
                select: format!(
                    "SELECT c.seq FROM contacts c WHERE c.received_at < ?1
                     AND (c.text <> '' OR c.metadata IS NOT NULL) AND NOT {OPEN_INCIDENT_CONTACT}"
                ),
                act: "UPDATE contacts SET text = '', metadata = NULL WHERE seq IN",
            },
        ),
        (
            cut(c.contacts),
            Class {
                // A contact any incident links keeps its row: the link must still resolve.
                select: "SELECT c.seq FROM contacts c WHERE c.received_at < ?1
                     AND NOT EXISTS (SELECT 1 FROM incident_links l WHERE l.kind = 'contact'
                       AND l.source = c.source AND l.ref_id = c.ext_id)"
                    .into(),
                act: "DELETE FROM contacts WHERE seq IN",
            },
        ),
        (
            cut(c.alert_evidence),
            Class {
                select: "SELECT a.seq FROM alerts a WHERE a.started_at < ?1
                     AND (a.evidence <> '[]' OR a.text IS NOT NULL)
                     AND NOT EXISTS (SELECT 1 FROM incident_links l
                       JOIN incidents i ON i.seq = l.incident_id
                       WHERE l.kind = 'alert' AND l.ref_id = a.id AND i.state <> 'resolved')"
                    .into(),
                act: "UPDATE alerts SET evidence = '[]', text = NULL WHERE seq IN",
            },
        ),
        (
            cut(c.deliveries),
            Class {
                select: "SELECT seq FROM deliveries WHERE status IN ('delivered', 'failed')
                     AND last_attempt_at < ?1"
                    .into(),
                act: "DELETE FROM deliveries WHERE seq IN",
            },
        ),
        (
            cut(c.deliveries),
            Class {
                select: "SELECT seq FROM outbox WHERE sent_at < ?1 OR failed_at < ?1".into(),
                act: "DELETE FROM outbox WHERE seq IN",
            },
        ),
        (
            cut(c.sessions),
            Class {
                select: "SELECT id FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1".into(),
                act: "DELETE FROM sessions WHERE id IN",
            },
        ),
        (
            cut(c.sessions),
            Class {
                select: "SELECT seq FROM api_tokens WHERE expires_at < ?1 OR revoked_at < ?1"
                    .into(),
                act: "DELETE FROM api_tokens WHERE seq IN",
            },
        ),
    ]
}

pub(crate) async fn pass(
    store: &SqliteStore,
    cutoffs: &RetentionCutoffs,
    limit: u32,
    dry_run: bool,
) -> Result<RetentionCounts, StoreError> {
    let mut done = [0u64; 7];
    let mut tx = store.begin_write().await?;
    for (n, (cutoff, class)) in classes(cutoffs).into_iter().enumerate() {
        let Some(cutoff) = cutoff else {
            continue;
        };
        done[n] = if dry_run {
            let count: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM ({})", class.select))
                    .bind(cutoff)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| map(e, "counting data past its retention"))?;
            count as u64
        } else {
            sqlx::query(&format!("{} ({} LIMIT ?2)", class.act, class.select))
                .bind(cutoff)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await
                .map_err(|e| map(e, "removing data past its retention"))?
                .rows_affected()
        };
    }
    if dry_run {
        tx.rollback()
            .await
            .map_err(|e| map(e, "ending a retention count"))?;
    } else {
        tx.commit()
            .await
            .map_err(|e| map(e, "committing a retention pass"))?;
    }
    let [
        contact_texts,
        contacts,
        alert_evidence,
        deliveries,
        mails,
        sessions,
        tokens,
    ] = done;
    Ok(RetentionCounts {
        contact_texts,
        contacts,
        alert_evidence,
        deliveries,
        mails,
        sessions,
        tokens,
    })
}
