//! Each helpdesk connection's guard on the write-back, for the CX team whose helpdesk it is: a
//! request budget, so Frontline's fan-out leaves the vendor's API quota to the agents' own apps
//! during the very hour they need them, and a circuit breaker, so a connection whose calls keep
//! failing (the vendor down, credentials revoked) stops being called and resumes by itself.
//! Held in memory by the process that writes back (the lease holder); the API and the settings
//! page show it.

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// The longest a circuit stays open before the next try, however often it failed.
const MAX_COOLDOWN: Duration = Duration::from_secs(600);

/// An open circuit, as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Circuit {
    /// Calls that failed in a row.
    pub failures: u32,
    /// When the next call is tried.
    pub open_until: DateTime<Utc>,
}

struct Guard {
    budget: std::sync::Arc<DefaultDirectRateLimiter>,
    failures: u32,
    cooldown: Duration,
    open_until: Option<DateTime<Utc>>,
}

/// The guards of every connection.
pub struct Guards {
    per_minute: NonZeroU32,
    failures_to_open: u32,
    cooldown: Duration,
    guards: Mutex<HashMap<String, Guard>>,
}

impl std::fmt::Debug for Guards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guards")
            .field("per_minute", &self.per_minute)
            .field("failures_to_open", &self.failures_to_open)
            .finish_non_exhaustive()
    }
}

impl Guards {
    /// Guards allowing `per_minute` calls per connection (0 counts as 1), opening after
    /// `failures_to_open` failed calls in a row for `cooldown`, doubled on each failed retry.
    pub fn new(per_minute: u32, failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            failures_to_open: failures_to_open.max(1),
            cooldown: cooldown.min(MAX_COOLDOWN),
            guards: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, connection: &str, f: impl FnOnce(&mut Guard) -> T) -> T {
        let mut guards = self
            .guards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let guard = guards
            .entry(connection.to_owned())
            .or_insert_with(|| Guard {
                // At most a second's worth at once: a burst of a minute's worth would let a
                // rolling minute see nearly twice the budget, and trip vendors that count per
                // second.
                budget: std::sync::Arc::new(RateLimiter::direct(
                    Quota::per_minute(self.per_minute).allow_burst(
                        NonZeroU32::new(self.per_minute.get() / 60).unwrap_or(NonZeroU32::MIN),
                    ),
                )),
                failures: 0,
                cooldown: self.cooldown,
                open_until: None,
            });
        f(guard)
    }

    /// The connection's open circuit, if it is open now.
    pub fn circuit(&self, connection: &str) -> Option<Circuit> {
        let now = Utc::now();
        self.with(connection, |g| {
            g.open_until
                .filter(|until| *until > now)
                .map(|until| Circuit {
                    failures: g.failures,
                    open_until: until,
                })
        })
    }

    /// Waits until the connection's budget allows one more call.
    pub async fn spend(&self, connection: &str) {
        let budget = self.with(connection, |g| g.budget.clone());
        budget.until_ready().await;
    }

    /// A call answered as the vendor works: the circuit closes.
    pub fn succeeded(&self, connection: &str) {
        let cooldown = self.cooldown;
        self.with(connection, |g| {
            g.failures = 0;
            g.cooldown = cooldown;
            g.open_until = None;
        });
    }

    /// A call failed as a broken connection fails; `true` when the circuit is now open (the
    /// caller stops calling). A failure after the circuit opened before (the trial call after
    /// its cool-down) opens it again for twice as long.
    pub fn failed(&self, connection: &str) -> bool {
        let limit = self.failures_to_open;
        self.with(connection, |g| {
            g.failures = g.failures.saturating_add(1);
            if g.failures < limit {
                return false;
            }
            if g.open_until.is_some() {
                g.cooldown = (g.cooldown * 2).min(MAX_COOLDOWN);
            }
            let cooldown = chrono::Duration::from_std(g.cooldown).unwrap_or_default();
            g.open_until = Some(Utc::now() + cooldown);
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_a_row_open_the_circuit_and_a_success_closes_it() {
        let guards = Guards::new(600, 3, Duration::from_secs(30));
        assert!(!guards.failed("zd"));
        guards.succeeded("zd");
        assert!(!guards.failed("zd"));
        assert!(!guards.failed("zd"));
        assert!(guards.circuit("zd").is_none());
        assert!(guards.failed("zd"));
        let open = guards.circuit("zd").expect("open after three in a row");
        assert_eq!(open.failures, 3);
        assert!(open.open_until > Utc::now() + chrono::Duration::seconds(25));
        // Another connection is not affected.
        assert!(guards.circuit("ic").is_none());
        // The trial after the cool-down fails: open again, for twice as long.
        assert!(guards.failed("zd"));
        let again = guards.circuit("zd").unwrap();
        assert!(again.open_until > Utc::now() + chrono::Duration::seconds(55));
        guards.succeeded("zd");
        assert!(guards.circuit("zd").is_none());
    }

    #[tokio::test]
    async fn the_budget_spaces_calls_out() {
        let guards = Guards::new(600, 3, Duration::from_secs(30));
        // A burst of a second's worth is allowed, then one per tenth of a second.
        for _ in 0..10 {
            guards.spend("zd").await;
        }
        let started = std::time::Instant::now();
        guards.spend("zd").await;
        guards.spend("zd").await;
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}
