//! Online anomaly scores for a numeric series: each value gets a score in [0, 1] from the values
//! before it and itself. Used by `frontline detect` (any series) and, later, by the contact
//! count streams.
//!
//! The score asks one question of several views of the series: how long has it been since
//! something this extreme was last seen? A value higher than any in the last 4,000 points is
//! rarer than one merely higher than yesterday's peak. Measuring rarity by recency needs no
//! model of the distribution, so it works the same on counts, latencies, percentages and
//! prices, on heavy tails and on slow drifts, with one configuration for all. The views:
//! - the value itself, upwards and downwards (spikes and drops);
//! - the mean of the last few values, upwards and downwards (level shifts too small to stand
//!   out point by point).
//!
//! Each view's score is `ln(1 + age) / ln(1 + horizon)`, where `age` is the number of points
//! since the last one at least as extreme (the whole history when there is none, at most
//! `horizon`). The final score is the highest view, 0 during the warm-up; after a high score,
//! its echoes (the next records of the same shift) are damped for a while, so one anomaly
//! makes one alarm.
//!
//! This is a first version: on the NAB dev set it scores 53 (standard profile); see
//! `docs/performance.md` for what it misses (changes that stay inside the usual range).

use std::collections::VecDeque;

/// Settings shared by every series.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// How far back rarity is measured, in points.
    pub horizon: usize,
    /// Points before which the score is 0.
    pub warmup: usize,
    /// Points in the short mean of the level-shift view.
    pub short: usize,
    /// Points after a high score during which its echoes are damped.
    pub refractory: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            horizon: 8000,
            warmup: 150,
            short: 5,
            refractory: 150,
        }
    }
}

/// For a series, the age of the last point at least as extreme as a new one, in one direction.
/// Keeps a monotonic stack: a point that a later, more extreme point outdoes can never again
/// be the most recent "at least as extreme" one, so it is dropped; queries are a binary search.
#[derive(Debug, Clone, Default)]
struct Record {
    /// (index, value), values decreasing from the bottom (for highs; negated for lows).
    stack: VecDeque<(usize, f64)>,
}

impl Record {
    /// The index of the most recent point with value >= `v`, or, when there is none (a
    /// record), how far `v` passes the previous extreme; then adds (`index`, `v`).
    fn last_at_least(&mut self, index: usize, v: f64, horizon: usize) -> Found {
        while self
            .stack
            .front()
            .is_some_and(|(i, _)| index.saturating_sub(*i) > horizon)
        {
            self.stack.pop_front();
        }
        // Values decrease along the stack; the last one >= v is the most recent such point,
        // and the first one is the extreme of the horizon.
        let n = self.stack.partition_point(|(_, x)| *x >= v);
        let found = match n.checked_sub(1) {
            Some(k) => Found::At(self.stack[k].0),
            None => Found::Record(self.stack.front().map_or(0.0, |(_, x)| v - x)),
        };
        while self.stack.back().is_some_and(|(_, x)| *x <= v) {
            self.stack.pop_back();
        }
        self.stack.push_back((index, v));
        found
    }
}

/// The last point at least as extreme, or a record and its margin over the previous extreme.
#[derive(Debug, Clone, Copy)]
enum Found {
    At(usize),
    Record(f64),
}

/// The online detector of one series.
#[derive(Debug, Clone)]
pub struct Detector {
    config: DetectorConfig,
    seen: usize,
    high: Record,
    low: Record,
    mean_high: Record,
    mean_low: Record,
    short: VecDeque<f64>,
    last_alarm: Option<(usize, f64)>,
    level: f64,
    spread: f64,
}

impl Detector {
    /// A detector with `config`.
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            seen: 0,
            high: Record::default(),
            low: Record::default(),
            mean_high: Record::default(),
            mean_low: Record::default(),
            short: VecDeque::with_capacity(config.short + 1),
            last_alarm: None,
            level: f64::NAN,
            spread: 0.0,
            config,
        }
    }

    /// How rare a finding is, in [0, 1]: the age on a log scale, and for a record, how far it
    /// passes the previous extreme in units of the series' usual spread (`scale`), so a spike
    /// far past every earlier value outranks a value barely past them.
    fn rarity(&self, index: usize, found: Found, scale: f64) -> f64 {
        let horizon = self.config.horizon;
        let (age, margin) = match found {
            Found::At(i) => (index - i, 0.0),
            Found::Record(margin) => (index, margin / scale.max(1e-9)),
        };
        let age = age.min(horizon);
        let r = ((age as f64).ln_1p() / (horizon as f64).ln_1p()).clamp(0.0, 1.0);
        r + (1.0 - r) * (margin / (margin + 1.0)).clamp(0.0, 1.0)
    }

    /// Scores `value` (from the values before it and itself) and learns it. Values that are not
    /// finite score 0 and are not learned.
    pub fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let i = self.seen;
        self.seen += 1;
        let h = self.config.horizon;

        let up = self.high.last_at_least(i, value, h);
        let down = self.low.last_at_least(i, -value, h);
        self.short.push_back(value);
        if self.short.len() > self.config.short {
            self.short.pop_front();
        }
        let mean = self.short.iter().sum::<f64>() / self.short.len() as f64;
        let mean_up = self.mean_high.last_at_least(i, mean, h);
        let mean_down = self.mean_low.last_at_least(i, -mean, h);
        let spread = self.spread.max(1e-9);
        let short_spread = spread / (self.short.len() as f64).sqrt();
        let score = [
            self.rarity(i, up, spread),
            self.rarity(i, down, spread),
            self.rarity(i, mean_up, short_spread),
            self.rarity(i, mean_down, short_spread),
        ]
        .into_iter()
        .fold(0.0, f64::max);
        self.learn_spread(value);
        if self.seen <= self.config.warmup {
            return 0.0;
        }
        // One anomaly, one alarm: for a while after a high score, only a rarer event may
        // score as high again; its echoes (the next records of the same shift) are damped.
        let quiet = self
            .last_alarm
            .is_none_or(|(at, _)| i - at > self.config.refractory);
        let out = match self.last_alarm {
            Some((_, peak)) if !quiet && score <= peak => score * 0.75,
            _ => score,
        };
        if out >= 0.8 {
            self.last_alarm = Some((i, out));
        }
        out
    }
}

impl Detector {
    /// Follows the usual spread: an exponentially weighted mean absolute deviation from an
    /// exponentially weighted mean (about the last 200 points).
    fn learn_spread(&mut self, value: f64) {
        const ALPHA: f64 = 0.005;
        if self.level.is_nan() {
            self.level = value;
            return;
        }
        let deviation = (value - self.level).abs();
        self.spread += ALPHA * (deviation - self.spread);
        self.level += ALPHA * (value - self.level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..n).map(f).collect()
    }

    fn noise(i: usize) -> f64 {
        // Deterministic pseudo-noise in [-1, 1].
        let x = (i as f64 * 12.9898).sin() * 43758.5453;
        (x - x.floor()) * 2.0 - 1.0
    }

    fn scores(values: &[f64]) -> Vec<f64> {
        let mut d = Detector::new(DetectorConfig::default());
        values.iter().map(|v| d.update(*v)).collect()
    }

    #[test]
    fn scores_stay_in_range_and_rarely_peak_on_steady_noise() {
        let values = series(6000, |i| 100.0 + 5.0 * noise(i));
        let s = scores(&values);
        assert!(s.iter().all(|v| (0.0..=1.0).contains(v)));
        let high = s.iter().skip(1000).filter(|v| **v >= 0.9).count();
        assert!(high <= 5, "{high} high scores on steady noise");
    }

    #[test]
    fn a_spike_a_drop_and_a_level_shift_score_high_at_once() {
        let mut values = series(6000, |i| 100.0 + 5.0 * noise(i));
        for v in values.iter_mut().skip(3000) {
            *v += 30.0;
        }
        values[4000] = 250.0;
        values[5000] = 20.0;
        let s = scores(&values);
        let quiet = s[2000..2990].iter().cloned().fold(0.0, f64::max);
        for at in [3000, 4000, 5000] {
            assert!(
                s[at] >= 0.95 && s[at] > quiet,
                "{at}: {} vs quiet {quiet}",
                s[at]
            );
        }
    }

    #[test]
    fn the_echoes_of_one_shift_are_damped() {
        let mut values = series(6000, |i| 100.0 + 5.0 * noise(i));
        for (k, v) in values.iter_mut().skip(4500).enumerate() {
            *v += 30.0 + k as f64 * 0.01;
        }
        let s = scores(&values);
        let echoes = s[4501..4700].iter().filter(|v| **v >= 0.9).count();
        assert!(s[4500] >= 0.95);
        assert!(echoes <= 2, "{echoes} echoes");
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut d = Detector::new(DetectorConfig::default());
        assert_eq!(d.update(f64::NAN), 0.0);
        assert_eq!(d.update(f64::INFINITY), 0.0);
    }
}
