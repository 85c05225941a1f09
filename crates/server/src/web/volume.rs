//! Contact volume per topic for the dashboard: the last 24 hours by the hour and the last 7
//! days by 6 hours, each against what is usual for that time of day or week.
//!
//! "Usual" is the same bucket one period earlier, several times over (the same hour on each of
//! the 7 days before; the same 6 hours of the week in each of the 3 weeks before): the band is
//! their mean ± 2 standard deviations, where the variance is at least the mean (counts are at
//! least as noisy as Poisson). Periods before the first contact on record do not count, so a
//! new installation shows no band rather than a band of zeros. The current bucket is not over
//! yet: its band is scaled to the part that has passed.

use chrono::{DateTime, Duration, Utc};
use frontline_store::{Bucket, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// One chart's shape: buckets of `bucket` seconds, `shown` of them ending with the current
/// one, compared with the same bucket `period` seconds earlier, `history` times.
#[derive(Debug, Clone, Copy)]
pub struct Season {
    /// A bucket, in seconds (a multiple of an hour).
    pub bucket: i64,
    /// How many buckets are drawn.
    pub shown: i64,
    /// The season, in seconds.
    pub period: i64,
    /// How many earlier seasons make the band.
    pub history: i64,
}

/// The last 24 hours, hour by hour, against the 7 days before.
pub const DAY: Season = Season {
    bucket: 3_600,
    shown: 24,
    period: 86_400,
    history: 7,
};

/// The last 7 days, 6 hours at a time, against the 3 weeks before.
pub const WEEK: Season = Season {
    bucket: 6 * 3_600,
    shown: 28,
    period: 7 * 86_400,
    history: 3,
};

/// How far back [`gather`] reads: the longest chart plus its history.
fn reach(season: Season) -> i64 {
    season.bucket * season.shown + season.period * season.history
}

/// One bucket of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Where the bucket starts.
    pub start: DateTime<Utc>,
    /// Contacts in it (so far, for the current one).
    pub observed: u64,
    /// `(low, expected, high)`, when there is history to compare with.
    pub band: Option<(f64, f64, f64)>,
}

/// Hourly counts of one topic, keyed by the hour's start.
pub type Hourly = BTreeMap<DateTime<Utc>, u64>;

fn sum(hourly: &Hourly, from: DateTime<Utc>, seconds: i64) -> u64 {
    hourly
        .range(from..from + Duration::seconds(seconds))
        .map(|(_, n)| n)
        .sum()
}

/// A topic's chart for `season` at `now`, from its hourly counts; `first` is the hour of the
/// first contact on record (any topic), before which there is no history.
pub fn series(
    hourly: &Hourly,
    season: Season,
    now: DateTime<Utc>,
    first: Option<DateTime<Utc>>,
) -> Vec<Point> {
    let current = Bucket::of(season.bucket).start(now);
    // The part of the current bucket that has passed, to scale its band.
    let elapsed =
        ((now - current).num_seconds() as f64 / season.bucket as f64).clamp(1.0 / 60.0, 1.0);
    (0..season.shown)
        .rev()
        .map(|back| {
            let start = current - Duration::seconds(back * season.bucket);
            let samples: Vec<f64> = (1..=season.history)
                .map(|k| start - Duration::seconds(k * season.period))
                .filter(|s| first.is_some_and(|f| *s >= f))
                .map(|s| sum(hourly, s, season.bucket) as f64)
                .collect();
            let scale = if back == 0 { elapsed } else { 1.0 };
            Point {
                start,
                observed: sum(hourly, start, season.bucket),
                band: band(&samples).map(|(m, var)| {
                    let (m, sd) = (m * scale, (var * scale).sqrt());
                    ((m - 2.0 * sd).max(0.0), m, m + 2.0 * sd)
                }),
            }
        })
        .collect()
}

/// The mean and variance (at least the mean) of the samples, if any.
fn band(samples: &[f64]) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = if samples.len() > 1 {
        samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some((mean, var.max(mean)))
}

/// One topic on the dashboard.
#[derive(Debug, Clone)]
pub struct TopicVolume {
    /// The topic.
    pub topic: String,
    /// Contacts in the last 24 hours.
    pub last_day: u64,
    /// The 24-hour chart's points.
    pub day: Vec<Point>,
    /// The 7-day chart's points.
    pub week: Vec<Point>,
}

/// The topics to chart at `now`: the busiest `most` of the last 24 hours, and every topic in
/// `always` (those with open alerts) that had contacts in the last 7 days.
///
/// # Errors
/// The store's.
pub async fn gather(
    store: &dyn Store,
    now: DateTime<Utc>,
    most: usize,
    always: &BTreeSet<String>,
) -> Result<Vec<TopicVolume>, StoreError> {
    let since = Bucket::of(WEEK.bucket).start(now) - Duration::seconds(reach(WEEK).max(reach(DAY)));
    let counts = store
        .topic_counts(since, now + Duration::seconds(1), Bucket::of(3_600))
        .await?;
    let first = counts.iter().map(|c| c.start).min();
    let mut by_topic: BTreeMap<String, Hourly> = BTreeMap::new();
    for c in counts {
        *by_topic
            .entry(c.topic)
            .or_default()
            .entry(c.start)
            .or_default() += c.contacts;
    }
    let day_ago = now - Duration::hours(24);
    let week_ago = now - Duration::days(7);
    let mut ranked: Vec<(u64, String)> = by_topic
        .iter()
        .filter(|(_, h)| h.range(week_ago..).next().is_some())
        .map(|(t, h)| (h.range(day_ago..).map(|(_, n)| n).sum(), t.clone()))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let chosen: Vec<(u64, String)> = ranked
        .iter()
        .enumerate()
        .filter(|(i, (_, t))| *i < most || always.contains(t))
        .map(|(_, x)| x.clone())
        .collect();
    Ok(chosen
        .into_iter()
        .map(|(last_day, topic)| {
            let hourly = &by_topic[&topic];
            TopicVolume {
                day: series(hourly, DAY, now, first),
                week: series(hourly, WEEK, now, first),
                last_day,
                topic,
            }
        })
        .collect())
}

/// How long the dashboard's volumes are reused: every open dashboard renders again on each
/// change it follows, and the hourly charts do not need to be fresher than this.
pub const FRESH: std::time::Duration = std::time::Duration::from_secs(15);

/// The last volumes gathered, shared by every dashboard render in this process. One render
/// gathers while the others wait for its result (so a burst of refreshes costs one query).
#[derive(Default)]
pub struct Cache {
    last: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    at: std::time::Instant,
    now: DateTime<Utc>,
    most: usize,
    always: BTreeSet<String>,
    volumes: std::sync::Arc<Vec<TopicVolume>>,
}

impl Cache {
    /// [`gather`]'s answer for these topics, gathered at most `fresh` ago (with the time it was
    /// gathered for).
    ///
    /// # Errors
    /// The store's.
    pub async fn get(
        &self,
        store: &dyn Store,
        most: usize,
        always: &BTreeSet<String>,
        fresh: std::time::Duration,
    ) -> Result<(DateTime<Utc>, std::sync::Arc<Vec<TopicVolume>>), StoreError> {
        let mut last = self.last.lock().await;
        if let Some(c) = last.as_ref()
            && c.at.elapsed() < fresh
            && c.most == most
            && &c.always == always
        {
            return Ok((c.now, c.volumes.clone()));
        }
        let now = Utc::now();
        let volumes = std::sync::Arc::new(gather(store, now, most, always).await?);
        *last = Some(Cached {
            at: std::time::Instant::now(),
            now,
            most,
            always: always.clone(),
            volumes: volumes.clone(),
        });
        Ok((now, volumes))
    }
}

/// A chart of one topic's points with its band.
pub fn chart(title: &str, points: &[Point], season: Season, now: DateTime<Utc>) -> String {
    use crate::web::charts::{Band, Line, lines_with_band};
    let start = points.first().map_or(now, |p| p.start);
    let half = Duration::seconds(season.bucket / 2);
    // Points sit in the middle of their bucket; the current one at its middle or now.
    let at = |p: &Point| (p.start + half).min(now);
    let observed = Line {
        name: "contacts".into(),
        points: points.iter().map(|p| (at(p), p.observed as f64)).collect(),
    };
    let band = Band {
        points: points
            .iter()
            .filter_map(|p| p.band.map(|(lo, mid, hi)| (at(p), lo, mid, hi)))
            .collect(),
    };
    lines_with_band(title, start, now, &[observed], &band, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: i64) -> DateTime<Utc> {
        // 2025-11-30 00:00 UTC, a Sunday.
        DateTime::from_timestamp(1_764_460_800 + hours * 3_600, 0).unwrap()
    }

    #[test]
    fn the_band_is_the_same_hour_on_the_days_before() {
        let mut hourly = Hourly::new();
        // Ten days of history: 10 contacts at 09:00 every day, 2 at every other hour;
        // today 40 at 09:00.
        for d in -10..0 {
            for hour in 0..24 {
                hourly.insert(h(d * 24 + hour), if hour == 9 { 10 } else { 2 });
            }
        }
        for hour in 0..=10 {
            hourly.insert(h(hour), if hour == 9 { 40 } else { 2 });
        }
        let now = h(10) + Duration::minutes(30);
        let points = series(&hourly, DAY, now, Some(h(-240)));
        assert_eq!(points.len(), 24);
        assert_eq!(points.last().unwrap().start, h(10));
        let nine = points.iter().find(|p| p.start == h(9)).unwrap();
        assert_eq!(nine.observed, 40);
        let (lo, mid, hi) = nine.band.unwrap();
        // Seven identical samples of 10: variance is the mean (Poisson), sd = √10.
        assert!((mid - 10.0).abs() < 1e-9, "{mid}");
        assert!((hi - (10.0 + 2.0 * 10f64.sqrt())).abs() < 1e-9, "{hi}");
        assert!((lo - (10.0 - 2.0 * 10f64.sqrt())).abs() < 1e-9, "{lo}");
        assert!(nine.observed as f64 > hi, "the spike is outside its band");
        let eight = points.iter().find(|p| p.start == h(8)).unwrap();
        assert!(eight.band.unwrap().2 > 2.0 && eight.band.unwrap().0 <= 2.0);
        // The current hour is half over: its band is half an hour's worth.
        let current = points.last().unwrap();
        assert!((current.band.unwrap().1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn spread_in_the_history_widens_the_band() {
        let mut hourly = Hourly::new();
        for (d, n) in (-7..0).zip([0, 20, 0, 20, 0, 20, 10]) {
            hourly.insert(h(d * 24 + 9), n);
        }
        let points = series(&hourly, DAY, h(10), Some(h(-7 * 24)));
        let (lo, mid, hi) = points
            .iter()
            .find(|p| p.start == h(9))
            .unwrap()
            .band
            .unwrap();
        assert!((mid - 10.0).abs() < 1e-9);
        let sd = (600.0f64 / 6.0).sqrt();
        assert!((hi - (10.0 + 2.0 * sd)).abs() < 1e-9, "{hi}");
        assert_eq!(lo, 0.0);
    }

    #[test]
    fn no_history_no_band_and_days_before_the_first_contact_do_not_count() {
        let mut hourly = Hourly::new();
        hourly.insert(h(-24 + 9), 6);
        hourly.insert(h(9), 7);
        let points = series(&hourly, DAY, h(12), Some(h(-24)));
        let nine = points.iter().find(|p| p.start == h(9)).unwrap();
        // One day of history, not seven days of which six are zeros.
        assert_eq!(nine.band.unwrap().1, 6.0);
        let none = series(&hourly, DAY, h(12), None);
        assert!(none.iter().all(|p| p.band.is_none()));
    }

    #[test]
    fn the_week_chart_compares_the_same_hours_of_the_week() {
        let mut hourly = Hourly::new();
        // Sundays 06:00–12:00 had 12 contacts an hour for three weeks; this Sunday 30.
        for w in 1..=3 {
            for hour in 6..12 {
                hourly.insert(h(-w * 168 + hour), 12);
            }
        }
        for hour in 6..12 {
            hourly.insert(h(hour), 30);
        }
        let now = h(5 * 24);
        let points = series(&hourly, WEEK, now, Some(h(-3 * 168)));
        assert_eq!(points.len(), 28);
        let sunday = points.iter().find(|p| p.start == h(6)).unwrap();
        assert_eq!(sunday.observed, 180);
        assert!((sunday.band.unwrap().1 - 72.0).abs() < 1e-9);
    }
}
