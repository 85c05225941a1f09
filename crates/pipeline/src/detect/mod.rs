//! Anomaly scores for a numeric series: each value gets a score in [0, 1] from the values
//! before it and itself (and, for a whole file, its range). Used by `frontline detect`; the
//! contact count streams have their own spike detector (`crate::spikes`) for now.
//!
//! [`SeriesDetector`] combines two channels by maximum and speaks only at events (0 almost
//! everywhere): the context channel ([`ContextDetector`], transitions between coarse levels
//! that nothing learned predicted) and the records channel ([`Detector`], below). On the NAB dev
//! set: 81.7 standard, 73.2 on the half not tuned on (`docs/performance.md`).
//!
//! The records channel asks one question of several views of the series: how long has it been
//! since something this extreme was last seen? A value higher than any in the last 4,000 points
//! is rarer than one merely higher than yesterday's peak. Measuring rarity by recency needs no
//! model of the distribution, so it works the same on counts, latencies, percentages and
//! prices, on heavy tails and on slow drifts, with one configuration for all. The views:
//! - the value itself, upwards and downwards (spikes and drops);
//! - the mean of the last few values, upwards and downwards (level shifts too small to stand
//!   out point by point);
//! - the mean absolute change over the last dozen values, upwards and downwards (a series
//!   gone wild, or gone flat).
//!
//! Each view's score is `ln(1 + age) / ln(1 + horizon)`, where `age` is the number of points
//! since the last one at least as extreme (the whole history when there is none, at most
//! `horizon`). The final score is the highest view, 0 during the warm-up; after a high score,
//! its echoes (the next records of the same shift) are damped for a while, so one anomaly
//! makes one alarm.
//!
//! A view also scores a value far from its recent level (more than 8 usual spreads), record or
//! not, so a local spike under an old, higher peak is seen.

use std::collections::VecDeque;

mod context;
pub use context::ContextDetector;

/// Settings shared by every series.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// How far back rarity is measured, in points.
    pub horizon: usize,
    /// Points before which the score is 0.
    pub warmup: usize,
    /// Points in the short mean of the level-shift view.
    pub short: usize,
    /// Points in the volatility view (mean absolute change).
    pub volatility: usize,
    /// Points after a high score during which its echoes are damped.
    pub refractory: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            horizon: 8000,
            warmup: 150,
            short: 5,
            volatility: 12,
            refractory: 300,
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

/// The usual spread of a series: an exponentially weighted mean absolute deviation from an
/// exponentially weighted mean (about the last 200 points).
#[derive(Debug, Clone)]
struct Spread {
    level: f64,
    spread: f64,
}

impl Spread {
    const ALPHA: f64 = 0.005;

    fn new() -> Self {
        Self {
            level: f64::NAN,
            spread: 0.0,
        }
    }

    fn learn(&mut self, x: f64) {
        if self.level.is_nan() {
            self.level = x;
            return;
        }
        self.spread += Self::ALPHA * ((x - self.level).abs() - self.spread);
        self.level += Self::ALPHA * (x - self.level);
    }
}

/// One view of the series (the values, their short mean, their short volatility): records in
/// both directions, with the view's own spread for margins.
#[derive(Debug, Clone)]
struct View {
    high: Record,
    low: Record,
    spread: Spread,
    /// Whether a record low counts (for volatility, a stretch flatter than ever).
    lows: bool,
}

impl View {
    fn new(lows: bool) -> Self {
        Self {
            high: Record::default(),
            low: Record::default(),
            spread: Spread::new(),
            lows,
        }
    }

    fn score(&mut self, i: usize, x: f64, config: &DetectorConfig) -> f64 {
        let h = config.horizon;
        let scale = self.spread.spread.max(1e-9);
        let up = rarity(i, self.high.last_at_least(i, x, h), scale, h);
        let down = rarity(i, self.low.last_at_least(i, -x, h), scale, h);
        let z = if self.spread.level.is_nan() {
            0.0
        } else {
            (x - self.spread.level) / scale
        };
        let z = if self.lows { z.abs() } else { z.max(0.0) };
        let local = if z > LOCAL_Z { z / (z + LOCAL_K) } else { 0.0 };
        self.spread.learn(x);
        let r = if self.lows { up.max(down) } else { up };
        r.max(local)
    }
}

/// A value this many usual spreads from the view's recent level is surprising even when it is
/// no record (a local spike under an old, higher peak); its score then rises as `z / (z + K)`.
const LOCAL_Z: f64 = 8.0;
const LOCAL_K: f64 = 2.0;

/// How rare a finding is, in [0, 1]: the age on a log scale, and for a record, how far it
/// passes the previous extreme in units of the view's usual spread, so a spike far past every
/// earlier value outranks a value barely past them.
fn rarity(index: usize, found: Found, scale: f64, horizon: usize) -> f64 {
    let (age, margin) = match found {
        Found::At(i) => (index - i, 0.0),
        Found::Record(margin) => (index, margin / scale),
    };
    let age = age.min(horizon);
    let r = ((age as f64).ln_1p() / (horizon as f64).ln_1p()).clamp(0.0, 1.0);
    r + (1.0 - r) * (margin / (margin + 1.0)).clamp(0.0, 1.0)
}

/// The online detector of one series.
#[derive(Debug, Clone)]
pub struct Detector {
    config: DetectorConfig,
    seen: usize,
    value: View,
    mean: View,
    volatility: View,
    short: VecDeque<f64>,
    changes: VecDeque<f64>,
    last: Option<f64>,
    last_alarm: Option<(usize, f64)>,
}

impl Detector {
    /// A detector with `config`.
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            seen: 0,
            value: View::new(true),
            mean: View::new(true),
            volatility: View::new(true),
            short: VecDeque::with_capacity(config.short + 1),
            changes: VecDeque::with_capacity(config.volatility + 1),
            last: None,
            last_alarm: None,
            config,
        }
    }

    /// Scores `value` (from the values before it and itself) and learns it. Values that are not
    /// finite score 0 and are not learned.
    pub fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let i = self.seen;
        self.seen += 1;
        let config = self.config.clone();

        push(&mut self.short, value, config.short);
        let mean = self.short.iter().sum::<f64>() / self.short.len() as f64;
        if let Some(last) = self.last {
            push(&mut self.changes, (value - last).abs(), config.volatility);
        }
        self.last = Some(value);
        let mut score = self
            .value
            .score(i, value, &config)
            .max(self.mean.score(i, mean, &config));
        if self.changes.len() == config.volatility {
            let volatility = self.changes.iter().sum::<f64>() / self.changes.len() as f64;
            score = score.max(self.volatility.score(i, volatility, &config));
        }
        if self.seen <= config.warmup {
            return 0.0;
        }
        // One anomaly, one alarm: for a while after a high score, only a rarer event may
        // score as high again; its echoes (the next records of the same shift) are damped.
        let quiet = self
            .last_alarm
            .is_none_or(|(at, _)| i - at > config.refractory);
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

/// A context surprise at least this high is an event; after one, the channel stays silent
/// until its raw surprise has stayed below this for a quiet period, so a sustained excursion
/// is one event, not a run of them.
const CONTEXT_EVENT: f64 = 0.75;
/// Below these, a channel says nothing (0): the output is an event stream, zero almost
/// everywhere, so what a threshold keeps is events, not the texture of ordinary rows. Both sit
/// well under where NAB's best thresholds fall (0.72-0.73 on the dev set).
const CONTEXT_FLOOR: f64 = 0.5;
const RECORDS_FLOOR: f64 = 0.9;
/// The records channel's score is scaled by this before the two are combined: its scores
/// cluster near 1 where the context channel's events sit near 0.75-1, and one threshold serves
/// both. Chosen on half of the NAB dev files (docs/performance.md), checked on the other half.
const RECORDS_WEIGHT: f64 = 0.75;

/// The detector of one whole series (a file): its range and length are known. Two channels,
/// combined by maximum so each event is scored by whichever saw it best:
/// - the context channel ([`ContextDetector`]): a transition between coarse levels that nothing
///   learned predicted, as an event stream (one graded spike, then a quiet period of a fifth of
///   NAB's probation, `min(15 % of the rows, 750) / 5`, keyed on the raw surprise);
/// - the records channel ([`Detector`]): values, means and volatility rarer than any for a
///   long time, scaled by 0.75.
#[derive(Debug)]
pub struct SeriesDetector {
    records: Detector,
    context: ContextDetector,
    /// How many steps the context channel stays silent after a loud raw surprise.
    quiet_for: usize,
    seen: usize,
    /// The step of the last raw surprise at or above [`CONTEXT_EVENT`]; the series starts loud
    /// (nothing is known yet), so the first quiet period is its own warm-up.
    last_loud: Option<usize>,
    /// A series of one value has nothing to judge: it scores 0 throughout.
    constant: bool,
}

impl SeriesDetector {
    /// A detector for a series of `len` values within [`min`, `max`].
    pub fn new(min: f64, max: f64, len: usize) -> Self {
        let probation = (len * 15 / 100).min(750);
        Self {
            records: Detector::new(DetectorConfig::default()),
            context: ContextDetector::new(min, max),
            quiet_for: (probation / 5).max(1),
            seen: 0,
            last_loud: None,
            constant: min >= max,
        }
    }

    /// Scores `value` in [0, 1] from the values before it and itself, and learns it. Values
    /// that are not finite score 0 and are not learned.
    pub fn update(&mut self, value: f64) -> f64 {
        if !value.is_finite() || self.constant {
            return 0.0;
        }
        let records = self.records.update(value);
        let raw = self.context.update(value);
        let i = self.seen;
        self.seen += 1;
        // Before any step, the loud moment is "just before the first" (i + 1 steps ago).
        let since = self.last_loud.map_or(i + 1, |at| i - at);
        let context = if since > self.quiet_for && raw >= CONTEXT_FLOOR {
            raw
        } else {
            0.0
        };
        if raw >= CONTEXT_EVENT {
            self.last_loud = Some(i);
        }
        let records = if records >= RECORDS_FLOOR {
            RECORDS_WEIGHT * records
        } else {
            0.0
        };
        context.max(records)
    }
}

fn push(window: &mut VecDeque<f64>, x: f64, len: usize) {
    window.push_back(x);
    if window.len() > len {
        window.pop_front();
    }
}

/// What [`score_csv`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scored {
    /// Rows scored.
    pub rows: usize,
    /// Malformed rows skipped.
    pub skipped: usize,
    /// Rows whose time is not after the row before (repeated or going back): scored in file
    /// order, as NAB's own files (which hold a few repeated times) are.
    pub out_of_order: usize,
    /// The line of the first of those.
    pub first_out_of_order: Option<u64>,
}

/// Why [`score_csv`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// The header row is unreadable or lacks a column.
    #[error("{0}")]
    Header(String),
    /// Writing the output failed.
    #[error("writing the scores: {0}")]
    Write(#[from] std::io::Error),
}

/// A timestamp `YYYY-MM-DD HH:MM:SS[.f]` (read as UTC) or RFC 3339, in microseconds.
fn timestamp(t: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_micros())
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp_micros()))
        .ok()
}

/// Scores a CSV series (a header row naming `timestamp` and `value`, in any order and case)
/// into `timestamp,value,anomaly_score` rows, one per good input row. A malformed row is
/// skipped and reported through `skip` with its line number and why; the rest go on.
///
/// # Errors
/// [`ScoreError`] for a header without those columns, or when writing fails.
pub fn score_csv(
    input: impl std::io::Read,
    mut out: impl std::io::Write,
    mut skip: impl FnMut(u64, String),
) -> Result<Scored, ScoreError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ScoreError::Header(format!("reading the header row: {e}")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| ScoreError::Header(format!("no `{name}` column in the header row")))
    };
    let (t_col, v_col) = (column("timestamp")?, column("value")?);
    // The whole file first: its range and length set the levels and the quiet periods (NAB's
    // rules allow a detector to know a file's minimum and maximum).
    let mut rows: Vec<(String, String, f64)> = Vec::new();
    let mut scored = Scored::default();
    let mut record = csv::StringRecord::new();
    let mut last_time = None;
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let t = record.get(t_col).map(str::trim).unwrap_or_default();
                let v = record.get(v_col).map(str::trim).unwrap_or_default();
                match (v.parse::<f64>(), timestamp(t)) {
                    (Ok(value), Some(time)) if value.is_finite() => {
                        if last_time.is_some_and(|last| time <= last) {
                            scored.out_of_order += 1;
                            scored.first_out_of_order.get_or_insert(line);
                        }
                        last_time = Some(time);
                        rows.push((t.to_owned(), v.to_owned(), value));
                    }
                    _ => {
                        skip(
                            line,
                            format!("expected a timestamp and a number, got {t:?},{v:?}"),
                        );
                        scored.skipped += 1;
                    }
                }
            }
            Err(e) => {
                skip(line, e.to_string());
                scored.skipped += 1;
            }
        }
    }
    let (min, max) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, _, v)| {
            (lo.min(*v), hi.max(*v))
        });
    writeln!(out, "timestamp,value,anomaly_score")?;
    let mut detector = SeriesDetector::new(min, max, rows.len());
    for (t, v, value) in &rows {
        let score = detector.update(*value);
        writeln!(out, "{t},{v},{score:.6}")?;
        scored.rows += 1;
    }
    out.flush()?;
    Ok(scored)
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
        // Records happen by chance (about ln n of them per view and direction), but few are
        // both old and far enough to score high.
        let high = s.iter().skip(1000).filter(|v| **v >= 0.9).count();
        assert!(high <= 10, "{high} high scores on steady noise");
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

    fn series_scores(values: &[f64]) -> Vec<f64> {
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let mut d = SeriesDetector::new(min, max, values.len());
        values.iter().map(|v| d.update(*v)).collect()
    }

    #[test]
    fn a_series_scores_a_shift_once_and_its_quiet_stretch_barely() {
        let mut values = series(5000, |i| {
            100.0 + 5.0 * noise(i) + 8.0 * (i as f64 / 40.0).sin()
        });
        for v in values.iter_mut().skip(4000) {
            *v += 40.0;
        }
        let s = series_scores(&values);
        assert!(s.iter().all(|v| (0.0..=1.0).contains(v)));
        let event = s[4000..4010].iter().cloned().fold(0.0, f64::max);
        let quiet = s[1000..3990].iter().filter(|v| **v >= event).count();
        let echoes = s[4010..4150].iter().filter(|v| **v >= event * 0.9).count();
        assert!(event >= 0.7, "the shift scores {event}");
        assert!(
            quiet <= 3,
            "{quiet} quiet points score as high as the shift"
        );
        assert!(echoes == 0, "{echoes} echoes of the shift");
    }

    #[test]
    fn a_constant_series_scores_zero_and_the_first_rows_are_quiet() {
        assert!(series_scores(&[7.0; 500]).iter().all(|v| *v == 0.0));
        let values = series(2000, |i| 10.0 + noise(i));
        let s = series_scores(&values);
        // The first rows are a warm-up: nothing is known yet.
        assert!(s[..60].iter().all(|v| *v == 0.0), "{:?}", &s[..60]);
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut d = Detector::new(DetectorConfig::default());
        assert_eq!(d.update(f64::NAN), 0.0);
        assert_eq!(d.update(f64::INFINITY), 0.0);
    }
}
