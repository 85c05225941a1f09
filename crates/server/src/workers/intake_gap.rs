//! The `intake_gap` alert, for whoever watches the dashboard: a helpdesk connection that
//! usually delivers has gone silent far beyond its usual rhythm (its webhook paused or
//! suspended by the vendor, a trigger deleted, a secret rotated on one side only), so what
//! customers write is not reaching Frontline. Count-aware like the spike detector: a silence
//! is judged by how many messages that connection usually sends at those hours of the day,
//! so a quiet night raises nothing and a silent Monday morning does. Run by the helpdesk
//! worker, which holds its lease.

use crate::plumbing::state::AppState;
use chrono::{DateTime, Duration, Timelike, Utc};
use frontline_core::alert::{AlertKind, DetectedAlert};
use std::collections::HashMap;

/// How far back a connection's rhythm is learned.
const HISTORY: Duration = Duration::days(7);
/// The least history judged: a day alone does not say what a usual day is.
const MIN_HISTORY: Duration = Duration::hours(48);
/// The shortest silence reported, however busy the connection.
const MIN_SILENCE: Duration = Duration::minutes(15);
/// Messages expected during the silence before it is reported: the chance of hearing none
/// of them by luck is e^-14 ≈ 8e-7, the spike detector's order of rarity.
const EXPECTED_TO_FIRE: f64 = 14.0;
/// How often silences are judged, and how long a learned rhythm is reused.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
const RELEARN: std::time::Duration = std::time::Duration::from_secs(3600);

/// A connection's usual messages per hour of the day (UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct Rhythm {
    per_hour: [f64; 24],
}

impl Rhythm {
    /// Learns the rhythm from messages per hour over `[since, until)`; `None` with less than
    /// two days to learn from.
    pub fn learn(
        hours: &[(DateTime<Utc>, u64)],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<Self> {
        let span = until - since;
        if span < MIN_HISTORY {
            return None;
        }
        let days = span.num_seconds() as f64 / 86_400.0;
        let mut per_hour = [0.0; 24];
        for (at, n) in hours {
            per_hour[at.hour() as usize] += *n as f64;
        }
        for rate in &mut per_hour {
            *rate /= days;
        }
        Some(Self { per_hour })
    }

    /// Messages expected in `[from, to)`, hour by hour (parts of hours pro rata).
    pub fn expected(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        let mut at = from;
        let mut total = 0.0;
        while at < to {
            let next_hour = (at + Duration::hours(1))
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(to);
            let end = next_hour.min(to);
            let share = (end - at).num_milliseconds() as f64 / 3_600_000.0;
            total += self.per_hour[at.hour() as usize] * share;
            at = end;
        }
        total
    }
}

/// The alert for connection `connection`, silent since `last_event`, if its silence is far
/// beyond its rhythm at `now`. One alert per silence (its id names the silence's start),
/// updated while it lasts.
pub fn judge(
    connection: &str,
    rhythm: &Rhythm,
    last_event: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DetectedAlert> {
    let silence = now - last_event;
    if silence < MIN_SILENCE {
        return None;
    }
    let expected = rhythm.expected(last_event, now);
    if expected < EXPECTED_TO_FIRE {
        return None;
    }
    // The tail probability e^-expected on the alerts' log scale (-log10(p) / 10).
    let score = (expected / std::f64::consts::LN_10 / 10.0).clamp(0.0, 1.0);
    Some(DetectedAlert {
        alert_id: format!(
            "intake_gap:{connection}:{}",
            last_event.format("%Y-%m-%dT%H:%M:%SZ")
        ),
        kind: AlertKind::IntakeGap,
        topic: None,
        service: None,
        channel: None,
        started_at: last_event,
        raised_at: now,
        observed: 0,
        customers: 0,
        expected: (expected * 10.0).round() / 10.0,
        score,
        evidence: Vec::new(),
        text: Some(format!(
            "Nothing from helpdesk connection {connection} for {} minutes (since {} UTC); \
             about {expected:.0} customer messages come in at these hours. Check its webhook \
             at the vendor (paused, suspended or failing deliveries); a sweep takes in what \
             was missed (POST /api/v1/helpdesks/{connection}/sweep).",
            silence.num_minutes(),
            last_event.format("%Y-%m-%d %H:%M"),
        )),
        language: None,
        group_id: None,
    })
}

/// What the worker remembers between checks.
#[derive(Default)]
pub struct Watch {
    rhythms: HashMap<String, (std::time::Instant, Option<Rhythm>)>,
    checked: Option<std::time::Instant>,
}

impl Watch {
    /// Judges every connection's silence, at most once a minute; raises or updates
    /// the alerts. Failures are logged: a missed check is made up by the next.
    pub async fn check(&mut self, state: &AppState) {
        if self.checked.is_some_and(|at| at.elapsed() < CHECK_EVERY) {
            return;
        }
        self.checked = Some(std::time::Instant::now());
        if let Err(e) = self.check_now(state, Utc::now()).await {
            tracing::warn!(error = %e, "judging helpdesk silences failed; trying again later");
        }
    }

    /// Judges every connection at `now`; answers the alerts raised or updated.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn check_now(
        &mut self,
        state: &AppState,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<DetectedAlert>> {
        let connections = state.store.list_helpdesks().await?;
        let mut alerts = Vec::new();
        for c in &connections {
            // A connection that never delivered has no rhythm to miss.
            let Some(last) = c.last_event_at else {
                continue;
            };
            let fresh = self
                .rhythms
                .get(&c.name)
                .is_some_and(|(at, _)| at.elapsed() < RELEARN);
            if !fresh {
                // Not cut at the connection's creation: messages from that source before it
                // (an earlier integration) are its rhythm too, and a new one's short history
                // spread over the whole window only makes it slower to speak.
                let since = now - HISTORY;
                let hours = state.store.source_hours(&c.name, since, now).await?;
                let rhythm = Rhythm::learn(&hours, since, now);
                self.rhythms
                    .insert(c.name.clone(), (std::time::Instant::now(), rhythm));
            }
            if let Some((_, Some(rhythm))) = self.rhythms.get(&c.name)
                && let Some(alert) = judge(&c.name, rhythm, last, now)
            {
                alerts.push(alert);
            }
        }
        self.rhythms
            .retain(|name, _| connections.iter().any(|c| &c.name == name));
        if !alerts.is_empty() {
            let new = state.store.upsert_alerts(&alerts).await?;
            if new > 0 {
                tracing::warn!(new, "a helpdesk connection has gone silent");
            }
        }
        Ok(alerts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Seven days of a connection busy by day (60 an hour, 08:00-18:00) and quiet at night
    /// (1 an hour).
    fn office_hours() -> (Rhythm, DateTime<Utc>) {
        let since = at("2026-11-01T00:00:00Z");
        let mut hours = Vec::new();
        for h in 0..(7 * 24) {
            let t = since + Duration::hours(h);
            let n = if (8..18).contains(&t.hour()) { 60 } else { 1 };
            hours.push((t, n));
        }
        let until = since + Duration::days(7);
        (Rhythm::learn(&hours, since, until).unwrap(), until)
    }

    #[test]
    fn a_silent_working_morning_is_news_and_a_quiet_night_is_not() {
        let (rhythm, _) = office_hours();
        // Twenty minutes without a message at 10:00: about 20 were due.
        let alert = judge(
            "zd",
            &rhythm,
            at("2026-11-09T10:00:00Z"),
            at("2026-11-09T10:20:00Z"),
        )
        .expect("an alert");
        assert_eq!(alert.kind, AlertKind::IntakeGap);
        assert!((alert.expected - 20.0).abs() < 0.1, "{}", alert.expected);
        assert!(alert.text.unwrap().contains("zd"));
        // Five hours of silence at night: about five were due, a lull.
        assert!(
            judge(
                "zd",
                &rhythm,
                at("2026-11-09T00:00:00Z"),
                at("2026-11-09T05:00:00Z")
            )
            .is_none()
        );
        // Ten minutes is too short to judge, however busy.
        assert!(
            judge(
                "zd",
                &rhythm,
                at("2026-11-09T10:00:00Z"),
                at("2026-11-09T10:10:00Z")
            )
            .is_none()
        );
    }

    #[test]
    fn expected_counts_split_hours_pro_rata() {
        let (rhythm, _) = office_hours();
        // 07:30-08:30: half an hour at 1, half an hour at 60.
        let e = rhythm.expected(at("2026-11-09T07:30:00Z"), at("2026-11-09T08:30:00Z"));
        assert!((e - 30.5).abs() < 1e-9, "{e}");
    }

    #[test]
    fn too_little_history_is_not_judged() {
        let since = at("2026-11-01T00:00:00Z");
        assert!(Rhythm::learn(&[(since, 500)], since, since + Duration::hours(30)).is_none());
    }
}
