//! When to try a failed delivery again: exponential backoff with jitter, and when to give up.

use std::time::Duration;

/// The retry policy of deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait before the first retry (default 1 s).
    pub initial: Duration,
    /// The longest wait between attempts (default 30 s).
    pub max: Duration,
    /// After this long since the first attempt, a delivery is marked failed (default 1 h).
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            give_up_after: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts (1 or more): `initial` doubled per further
    /// attempt, capped at `max`, then spread by ±20 % (`jitter` in [0, 1)) so receivers that
    /// come back are not hit by every sender at the same instant.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << doublings).min(self.max);
        base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_about_a_second_and_stop_at_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 0.5), Duration::from_secs(1));
        assert_eq!(p.delay(2, 0.5), Duration::from_secs(2));
        assert_eq!(p.delay(5, 0.5), Duration::from_secs(16));
        assert_eq!(p.delay(6, 0.5), Duration::from_secs(30));
        assert_eq!(p.delay(1000, 0.5), Duration::from_secs(30));
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(800));
        assert!(p.delay(1, 0.999) < Duration::from_millis(1200));
    }
}
