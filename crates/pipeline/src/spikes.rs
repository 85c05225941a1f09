//! Spikes in contact volume: contacts counted per topic (overall, per service and channel, and
//! for security topics per language) in one-minute event-time buckets, each stream scored
//! against what its own past makes likely, and alerts raised, updated and closed. Pure:
//! `frontline replay` and the server's detection worker feed it the same way.
//!
//! Counts are small, so the test is count-aware: the chance of seeing at least this many
//! contacts if they arrive at the expected Poisson rate (3 where 0.5 is usual is rare; 3 where
//! 40 is usual is not). The expected rate follows the stream's rhythm: an average per hour of
//! the week once a week is known, per hour of the day once a day is known, and the recent
//! level before that (the warm-up, with a stricter threshold); a rare topic-wide stream's rate
//! is fixed for the hour, so a slow wave does not raise its own baseline as it goes. Windows
//! of ten, sixty and 180 minutes catch sustained rises that no single minute shows. While a
//! stream is anomalous it learns slowly, so an incident does not become its own baseline.

use chrono::{DateTime, Duration, DurationRound, Utc};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use smallvec::SmallVec;
use std::collections::{BTreeMap, BTreeSet};

/// Settings of spike detection.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeConfig {
    /// How late (event time) a contact may arrive and still be counted in its minute.
    pub lateness: Duration,
    /// Tail probability below which a minute or window is anomalous (after warm-up).
    pub threshold: f64,
    /// The same during the first day of a stream.
    pub warmup_threshold: f64,
    /// Fewest contacts in a minute (or window) that can be anomalous.
    pub min_count: u64,
    /// Quiet minutes after which an open alert closes.
    pub close_after: u32,
    /// Contacts kept as evidence per alert.
    pub evidence: usize,
    /// Most streams kept (topic-wide streams are always kept).
    pub max_streams: usize,
    /// Topics whose overall stream uses `sensitive_threshold` on its long windows after warm-up.
    pub sensitive: Vec<String>,
    /// The tail probability for those streams over an hour or three (their minute and ten
    /// minutes keep `threshold`).
    pub sensitive_threshold: f64,
    /// The tail probability for those streams over ten minutes, where only distinct customers
    /// count: a burst of one customer's chat, mail and post is one report, and is what made
    /// the common threshold necessary there.
    pub sensitive_burst_threshold: f64,
    /// Below this many contacts a day, a sensitive topic's overall stream is rare: its
    /// background is a stray report every day or two, so two customers telling of the same
    /// kind of breach within an hour or three is already news ("I see another customer's
    /// account", twice). Its long windows then need only `rare_customers` distinct customers
    /// and a tail below `rare_threshold`. The test is still against the stream's own rate, so
    /// where the topic is common it turns itself off.
    pub rare_per_day: f64,
    /// The tail probability for a rare sensitive stream over an hour or three.
    pub rare_threshold: f64,
    /// Fewest distinct customers that can make a rare sensitive stream's window anomalous.
    pub rare_customers: u64,
    /// Topics also watched per language: the security topics, whose waves are often local
    /// (a lure written in one language). Ordinary topics rise and fall everywhere at once.
    pub by_language: Vec<String>,
}

impl Default for SpikeConfig {
    fn default() -> Self {
        Self {
            lateness: Duration::minutes(2),
            threshold: 1e-6,
            warmup_threshold: 1e-9,
            min_count: 4,
            close_after: 30,
            evidence: 20,
            max_streams: 5000,
            sensitive: ["data_exposure", "account_takeover"]
                .map(String::from)
                .to_vec(),
            sensitive_threshold: 1e-4,
            sensitive_burst_threshold: 1e-5,
            rare_per_day: 2.0,
            rare_threshold: 3e-3,
            rare_customers: 2,
            by_language: ["phishing", "account_takeover", "fraud", "data_exposure"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Which contacts a stream counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The topic.
    pub topic: String,
    /// The service, or `None` for the topic overall.
    pub service: Option<String>,
    /// The channel, or `None` for the topic overall.
    pub channel: Option<String>,
    /// The language, for the topic's stream in one language: a wave that hits one country
    /// (a lure in one language) is small beside the topic overall and plain in its own
    /// language. `None` otherwise.
    pub language: Option<String>,
}

impl StreamKey {
    /// Whether the stream watches a whole topic, or a topic in one language.
    fn topic_wide(&self) -> bool {
        self.service.is_none()
    }

    fn matches(&self, k: &KeyRef<'_>) -> bool {
        self.topic == k.topic
            && self.service.as_deref() == k.service
            && self.channel.as_deref() == k.channel
            && self.language.as_deref() == k.language
    }
}

/// A [`StreamKey`] borrowed from the contact, so finding a stream allocates nothing (building
/// owned keys to look streams up was several allocations per contact).
#[derive(Clone, Copy)]
struct KeyRef<'a> {
    topic: &'a str,
    service: Option<&'a str>,
    channel: Option<&'a str>,
    language: Option<&'a str>,
}

impl KeyRef<'_> {
    fn hash(&self) -> u64 {
        use crate::clusters::word_hash;
        let part = |p: Option<&str>| p.map_or(0x5bd1_e995, word_hash);
        word_hash(self.topic)
            ^ part(self.service).rotate_left(16)
            ^ part(self.channel).rotate_left(32)
            ^ part(self.language).rotate_left(48)
    }

    fn to_owned(self) -> StreamKey {
        StreamKey {
            topic: self.topic.to_owned(),
            service: self.service.map(str::to_owned),
            channel: self.channel.map(str::to_owned),
            language: self.language.map(str::to_owned),
        }
    }
}

/// A contact as spike detection sees it.
#[derive(Debug, Clone)]
pub struct CountedContact<'a> {
    /// The contact's source.
    pub source: &'a str,
    /// The source's id.
    pub id: &'a str,
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// Its topics.
    pub topics: &'a [String],
    /// Its service.
    pub service: Option<&'a str>,
    /// Its channel.
    pub channel: &'a str,
    /// The customer's pseudonym, if known.
    pub customer: Option<&'a str>,
    /// Its language, if known.
    pub language: Option<&'a str>,
}

pub use frontline_core::alert::{AlertKind, DetectedAlert as SpikeAlert, Evidence};

#[derive(Debug, Clone, Default)]
struct Bucket {
    count: u64,
    evidence: Vec<Evidence>,
    /// Hashes of the customers counted (up to [`MAX_CUSTOMERS_PER_MINUTE`]).
    customers: HashSet<u64>,
}

/// A cap on the customers remembered per stream and minute, so a flood cannot grow memory.
const MAX_CUSTOMERS_PER_MINUTE: usize = 10_000;

/// A closed minute of a stream.
#[derive(Debug, Clone)]
struct Minute {
    /// Minutes since the Unix epoch.
    start: i64,
    count: u64,
    expected: f64,
    evidence: Vec<Evidence>,
    customers: HashSet<u64>,
}

#[derive(Debug, Clone)]
struct Stream {
    /// Open buckets by minute start.
    buckets: BTreeMap<DateTime<Utc>, Bucket>,
    first_minute: Option<i64>,
    level: f64,
    minutes: u32,
    /// Per-minute averages by hour of day and of week, with how many minutes each holds (a
    /// running mean until 180 minutes, then an exponential average of about that many).
    by_hour: [(f64, u32); 24],
    by_hour_of_week: [(f64, u32); 168],
    /// The last minutes.
    recent: std::collections::VecDeque<Minute>,
    /// Count and expectation summed over each of [`WINDOWS`], kept as minutes come and go.
    sums: [(u64, f64); WINDOWS.len()],
    alert: Option<SpikeAlert>,
    /// Distinct customers of the open alert.
    alert_customers: HashSet<u64>,
    quiet: u32,
    /// Until when the long windows may not open an alert (their length after the last one).
    long_quiet_until: Option<i64>,
    /// The expected count per minute fixed for the current hour (its start, the rate).
    hour_rate: Option<(i64, f64)>,
    /// The per-minute average over about the last day, whatever the hour.
    daily: (f64, u32),
    /// The first minute (index) this stream has not closed yet, once it has a history: the
    /// minutes without contacts are closed only when the stream next hears one (see
    /// [`SpikeTracker::close_until`]).
    next: Option<i64>,
}

impl Stream {
    fn new() -> Self {
        Self {
            buckets: BTreeMap::new(),
            first_minute: None,
            level: 0.0,
            minutes: 0,
            by_hour: [(0.0, 0); 24],
            by_hour_of_week: [(0.0, 0); 168],
            recent: std::collections::VecDeque::new(),
            sums: [(0, 0.0); WINDOWS.len()],
            alert: None,
            alert_customers: HashSet::default(),
            quiet: 0,
            long_quiet_until: None,
            hour_rate: None,
            daily: (0.0, 0),
            next: None,
        }
    }

    /// The expected count for the minute starting at `t`. A rate from the hourly averages is
    /// fixed for the hour once first asked: a rare stream's average for an hour holds about
    /// sixty minutes, so learning each minute of a slow wave at once would raise its own
    /// baseline by a sixtieth a contact and hide it. The hour is learned all the same and
    /// counts from the next hour on. Only topic-wide streams (`fix`) are fixed: the narrow
    /// per service and channel ones are too noisy to do without following the day. The
    /// recent level (the warm-up) is not fixed either: it is meant to follow.
    fn expected(&mut self, t: &Clock, fix: bool) -> f64 {
        let hour = t.hour_start;
        if let Some((start, rate)) = self.hour_rate {
            if start == hour {
                return rate;
            }
        }
        let age = self.age(t);
        let known = |(v, n): (f64, u32)| (n >= 30).then_some(v);
        let by_hour = if age >= DAY * 7 {
            let week = self.by_hour_of_week[t.how];
            match (known(week), known(self.by_hour[t.hour])) {
                // A sparse stream's hour of the week holds a contact or two from one or two
                // weeks: alone it is mostly chance (one stray report last Thursday at 3 a.m.
                // tripled the rate a takeover wave this Thursday was measured against, and
                // delayed its alert by half an hour). It is shrunk towards the same hour of
                // every day, as if that held `WEEK_PRIOR` minutes of it.
                (Some(rate), Some(day)) if day < SPARSE_RATE => {
                    let n = f64::from(week.1);
                    Some((rate * n + day * WEEK_PRIOR) / (n + WEEK_PRIOR))
                }
                (week, day) => week.or(day),
            }
        } else if age >= DAY {
            known(self.by_hour[t.hour])
        } else {
            None
        };
        // An hour's average from a few days is noisy for a rare stream (two quiet mornings
        // make its rate zero); a share of the stream's whole-day rate bounds it from below.
        let by_hour = by_hour.map(|rate| rate.max(DAY_SHARE * self.daily.0));
        match by_hour {
            Some(rate) if fix && rate < SPARSE_RATE => {
                // One hour's average is a few dozen minutes of a rare stream: the hours
                // around it on every day are more data (a lull at noon is as likely chance
                // as habit), and still low at night when the hours around are low too.
                let h = t.hour;
                let around = [(h + 23) % 24, h, h, (h + 1) % 24].map(|i| known(self.by_hour[i]));
                let rate = if around.iter().all(Option::is_some) {
                    rate.max(around.iter().flatten().sum::<f64>() / 4.0)
                } else {
                    rate
                };
                let rate = rate.max(MIN_RATE);
                self.hour_rate = Some((hour, rate));
                rate
            }
            Some(rate) => rate.max(MIN_RATE),
            None => self.level.max(MIN_RATE),
        }
    }

    /// Minutes since the stream's history began (zero before it has one).
    fn age(&self, t: &Clock) -> i64 {
        self.first_minute.map_or(0, |f| t.index - f)
    }

    fn learn(&mut self, t: &Clock, count: f64) {
        /// A running mean until `cap` values, then an exponential average of about that many.
        fn update(slot: &mut (f64, u32), x: f64, cap: u32) {
            slot.1 = (slot.1 + 1).min(cap);
            slot.0 += (x - slot.0) / f64::from(slot.1);
        }
        update(&mut self.by_hour[t.hour], count, 180);
        update(&mut self.by_hour_of_week[t.how], count, 180);
        update(&mut self.daily, count, 1440);
        // The level follows about the last hour (a plain mean until it has one).
        self.minutes = (self.minutes + 1).min(60);
        self.level += (count - self.level) / f64::from(self.minutes);
    }
}

/// The least count a minute any stream is expected to see (one contact in about a day and a
/// half): a topic never seen is still possible, and a first contact is not infinitely rare.
const MIN_RATE: f64 = 0.0005;
/// How many minutes of evidence the same hour of every day counts for against a sparse
/// stream's hour of the week (which holds 60 a week, up to 180).
const WEEK_PRIOR: f64 = 120.0;
/// The least share of its whole-day rate a stream is expected to see in any hour.
const DAY_SHARE: f64 = 0.25;
/// Below this many contacts a minute (three an hour) a stream is sparse: one contact moves
/// its hourly average by a large part of itself, so its rate is fixed for the hour. Busier
/// streams keep following the day's level within the hour, since whole days run above or
/// below their average and a fixed rate would flag them.
const SPARSE_RATE: f64 = 0.05;

/// Minutes in a day.
const DAY: i64 = 24 * 60;

/// The calendar facts of the minute being closed, by integer arithmetic: chrono's
/// date arithmetic per stream and minute was a tenth of a replay.
struct Clock {
    /// Minutes since the Unix epoch.
    index: i64,
    /// The minute its hour began (the same count).
    hour_start: i64,
    hour: usize,
    /// Hour of the week, from Monday 00:00.
    how: usize,
}

/// Minutes since the Unix epoch.
fn minute_index(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// The start of the minute `index` minutes after the Unix epoch.
fn at_minute(index: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(index * 60, 0).unwrap_or_default()
}

impl Clock {
    /// The minute `index` minutes after the Unix epoch (a Thursday).
    fn at(index: i64) -> Self {
        let hours = index.div_euclid(60);
        let hour = hours.rem_euclid(24) as usize;
        let weekday = (index.div_euclid(DAY) + 3).rem_euclid(7) as usize;
        Self {
            index,
            hour_start: hours * 60,
            hour,
            how: weekday * 24 + hour,
        }
    }
}

/// P(X >= k) for X ~ Poisson(lambda).
pub fn poisson_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda > 200.0 {
        // Normal approximation with continuity correction.
        let z = (k as f64 - 0.5 - lambda) / lambda.sqrt();
        return 0.5 * libm_erfc(z / std::f64::consts::SQRT_2);
    }
    // 1 - P(X <= k - 1), summing the pmf; for far tails sum upwards instead (no cancellation).
    let k = k as usize;
    if (k as f64) > lambda {
        let mut term = (-lambda + k as f64 * lambda.ln() - ln_factorial(k)).exp();
        let mut sum = 0.0;
        let mut i = k;
        while term > sum * 1e-16 && i < k + 1000 {
            sum += term;
            i += 1;
            term *= lambda / i as f64;
        }
        sum.min(1.0)
    } else {
        let mut term = (-lambda).exp();
        let mut cdf = 0.0;
        for i in 0..k {
            cdf += term;
            term *= lambda / (i + 1) as f64;
        }
        (1.0 - cdf).clamp(0.0, 1.0)
    }
}

fn ln_factorial(n: usize) -> f64 {
    (1..=n).map(|i| (i as f64).ln()).sum()
}

fn libm_erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// All the streams, advanced by event time.
#[derive(Debug, Clone)]
pub struct SpikeTracker {
    config: SpikeConfig,
    streams: Vec<(StreamKey, Stream)>,
    /// Positions in `streams` by the hash of their key (a collision lists several).
    index: HashMap<u64, SmallVec<[usize; 1]>>,
    /// The latest event time seen.
    latest: Option<DateTime<Utc>>,
    /// Minutes before this are closed.
    closed_until: Option<DateTime<Utc>>,
    /// Contacts that arrived after their minute closed.
    pub too_late: u64,
    /// The first minute of the input.
    origin: Option<DateTime<Utc>>,
    /// Every open bucket as (minute index, stream), in the order they close.
    open: BTreeSet<(i64, usize)>,
    /// Stretches of minutes (from, to) that no stream heard anything in for longer than
    /// [`MAX_GAP_MINUTES`]: no stream steps through them.
    skipped: Vec<(i64, i64)>,
}

/// The windows (in minutes) scored besides the minute itself: a burst shows in ten minutes, a
/// wave that grows over a morning only in an hour or three.
const WINDOWS: [usize; 3] = [10, 60, 180];
/// The longest window: how many closed minutes a stream keeps.
const WINDOW: usize = WINDOWS[WINDOWS.len() - 1];
/// A window alerts only when it holds at least this many times what was expected: real
/// traffic is burstier than Poisson, and a long window of a busy stream is never that far off
/// by chance.
const MIN_RATIO: f64 = 2.0;
/// The longest stretch of empty minutes stepped through one by one; beyond it, a week of
/// silence has taught every baseline all it can, so the rest is skipped. This bounds the work
/// of any gap in event time (a backfill, a contact dated far off) by the number of streams.
const MAX_GAP_MINUTES: i64 = 7 * 24 * 60;

impl SpikeTracker {
    /// A tracker with `config`.
    pub fn new(config: SpikeConfig) -> Self {
        Self {
            config,
            streams: Vec::new(),
            index: HashMap::default(),
            latest: None,
            closed_until: None,
            too_late: 0,
            origin: None,
            open: BTreeSet::new(),
            skipped: Vec::new(),
        }
    }

    /// Counts a contact; returns the alerts raised or updated by minutes that its event time
    /// closed.
    pub fn add(&mut self, c: &CountedContact<'_>) -> Vec<SpikeAlert> {
        let minute = c
            .received_at
            .duration_trunc(Duration::minutes(1))
            .unwrap_or(c.received_at);
        if self.closed_until.is_some_and(|closed| minute < closed) {
            self.too_late += 1;
        } else {
            // Without a customer, the contact counts as its own customer (as in themes):
            // sensitive streams count customers, and a source that sends none must still count.
            let who = crate::clusters::word_hash(c.customer.unwrap_or(c.id));
            let evidence_kept = self.config.evidence;
            for topic in c.topics {
                let keys = [
                    Some(KeyRef {
                        topic,
                        service: None,
                        channel: None,
                        language: None,
                    }),
                    Some(KeyRef {
                        topic,
                        service: Some(c.service.unwrap_or("unknown")),
                        channel: Some(c.channel),
                        language: None,
                    }),
                    c.language
                        .filter(|_| self.config.by_language.contains(topic))
                        .map(|language| KeyRef {
                            topic,
                            service: None,
                            channel: None,
                            language: Some(language),
                        }),
                ];
                for key in keys.into_iter().flatten() {
                    let Some(i) = self.stream_for(key) else {
                        continue;
                    };
                    let bucket = match self.streams[i].1.buckets.entry(minute) {
                        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                        std::collections::btree_map::Entry::Vacant(v) => {
                            self.open.insert((minute_index(minute), i));
                            v.insert(Bucket::default())
                        }
                    };
                    bucket.count += 1;
                    if bucket.customers.len() < MAX_CUSTOMERS_PER_MINUTE {
                        bucket.customers.insert(who);
                    }
                    if bucket.evidence.len() < evidence_kept {
                        bucket.evidence.push(Evidence {
                            source: c.source.to_owned(),
                            id: c.id.to_owned(),
                        });
                    }
                }
            }
        }
        if self.origin.is_none_or(|o| minute < o) && self.closed_until.is_none() {
            self.origin = Some(minute);
        }
        if self.latest.is_none_or(|l| c.received_at > l) {
            self.latest = Some(c.received_at);
        }
        let Some(latest) = self.latest else {
            return Vec::new();
        };
        let watermark = (latest - self.config.lateness)
            .duration_trunc(Duration::minutes(1))
            .unwrap_or(latest);
        self.close_until(watermark)
    }

    /// The stream counting `key`, started if new. Services and languages are whatever senders
    /// say: past the cap, new streams for them are not started (`None`), and their contacts
    /// count in the topic's overall stream only, so memory stays bounded.
    fn stream_for(&mut self, key: KeyRef<'_>) -> Option<usize> {
        let hash = key.hash();
        let slots = self.index.entry(hash).or_default();
        let found = slots
            .iter()
            .copied()
            .find(|&i| self.streams[i].0.matches(&key));
        let i = match found {
            Some(i) => i,
            None => {
                if (key.service.is_some() || key.language.is_some())
                    && self.streams.len() >= self.config.max_streams
                {
                    return None;
                }
                self.streams.push((key.to_owned(), Stream::new()));
                slots.push(self.streams.len() - 1);
                self.streams.len() - 1
            }
        };
        Some(i)
    }

    /// Closes every minute before `until` (the end of input closes everything).
    ///
    /// A minute without contacts never raises or updates an alert; it only teaches the
    /// stream's baseline and counts towards closing its open alert, and each stream's state
    /// depends on its own minutes alone. So a stream closes its empty minutes when it next
    /// hears a contact, all at once: the per-minute pass over every stream touched a few
    /// kilobytes of each of hundreds of streams every minute, and was a sixth of a replay.
    /// The alerts are the same, in the same order.
    pub fn close_until(&mut self, until: DateTime<Utc>) -> Vec<SpikeAlert> {
        // Most contacts arrive in a minute already open: nothing to close, and nothing to
        // look through.
        if self.closed_until.is_some_and(|closed| until <= closed) {
            return Vec::new();
        }
        let start = match self.closed_until {
            Some(c) => minute_index(c),
            None => match self.open.first() {
                Some(&(first, _)) => first,
                None => return Vec::new(),
            },
        };
        // Every minute that begins before `until` closes.
        let end = (until.timestamp() + 59).div_euclid(60);
        let mut alerts = Vec::new();
        // The first minute not yet passed by every stream, to find the long silences.
        let mut cursor = start;
        while let Some(&(minute, i)) = self.open.first() {
            if minute >= end {
                break;
            }
            self.open.pop_first();
            if minute >= cursor {
                if minute - cursor > MAX_GAP_MINUTES {
                    self.skipped.push((cursor, minute - MAX_GAP_MINUTES));
                }
                cursor = minute + 1;
            }
            if let Some(alert) = self.close_stream(i, minute) {
                alerts.push(alert);
            }
        }
        if end - cursor > MAX_GAP_MINUTES {
            self.skipped.push((cursor, end - MAX_GAP_MINUTES));
        }
        self.closed_until = Some(at_minute(end.max(start)));
        alerts.sort_by(|a, b| (a.raised_at, &a.alert_id).cmp(&(b.raised_at, &b.alert_id)));
        alerts
    }

    /// Closes stream `i`'s empty minutes up to `minute`, then `minute` with its bucket.
    fn close_stream(&mut self, i: usize, minute: i64) -> Option<SpikeAlert> {
        let (key, stream) = &mut self.streams[i];
        let bucket = stream
            .buckets
            .remove(&at_minute(minute))
            .unwrap_or_default();
        match stream.next {
            Some(mut m) => {
                let mut skips = self.skipped[self.skipped.partition_point(|&(_, to)| to <= m)..]
                    .iter()
                    .peekable();
                while m < minute {
                    if let Some(&&(from, to)) = skips.peek() {
                        if m >= from {
                            m = to;
                            skips.next();
                            continue;
                        }
                    }
                    // An empty minute raises nothing: see `step`.
                    let _ = step(&self.config, key, stream, &Clock::at(m), Bucket::default());
                    m += 1;
                }
            }
            None => {
                // A stream seen for the first time was silent since the input began: that
                // silence is its history, so a topic that never came up and now comes up in
                // numbers is as unusual as it looks.
                let origin = self.origin.map_or(minute, minute_index);
                stream.first_minute = Some(origin);
                if minute - origin >= 60 {
                    stream.minutes = 60;
                }
                if minute - origin >= DAY {
                    stream.by_hour = [(0.0, 60); 24];
                    stream.daily = (0.0, 1440);
                }
                if minute - origin >= 7 * DAY {
                    stream.by_hour_of_week = [(0.0, 60); 168];
                }
            }
        }
        stream.next = Some(minute + 1);
        step(&self.config, key, stream, &Clock::at(minute), bucket)
    }

    /// Closes every open minute: the end of the input.
    pub fn finish(&mut self) -> Vec<SpikeAlert> {
        let Some(&(last, _)) = self.open.last() else {
            return Vec::new();
        };
        self.close_until(at_minute(last + 1))
    }

    /// How many streams exist (for memory reports).
    pub fn streams(&self) -> usize {
        self.streams.len()
    }
}

/// Scores one closed minute of one stream and moves its alert.
fn step(
    config: &SpikeConfig,
    key: &StreamKey,
    s: &mut Stream,
    clock: &Clock,
    bucket: Bucket,
) -> Option<SpikeAlert> {
    let minute = clock.index;
    let expected = s.expected(clock, key.topic_wide());
    let count = bucket.count;
    s.recent.push_back(Minute {
        start: minute,
        count,
        expected,
        evidence: bucket.evidence,
        customers: bucket.customers,
    });
    for (sum, w) in s.sums.iter_mut().zip(WINDOWS) {
        sum.0 += count;
        sum.1 += expected;
        if s.recent.len() > w {
            let old = &s.recent[s.recent.len() - 1 - w];
            sum.0 -= old.count;
            sum.1 = (sum.1 - old.expected).max(0.0);
        }
    }
    if s.recent.len() > WINDOW {
        s.recent.pop_front();
    }
    // A minute without contacts is never anomalous (most minutes of most streams): it is
    // learned as it is and counts towards closing an open alert, without a tail computed.
    if count == 0 {
        s.learn(clock, 0.0);
        close_when_quiet(config, s, minute);
        return None;
    }
    let warm = s.first_minute.is_some() && s.age(clock) >= DAY;
    // A rare security topic watched as a whole is one of a handful of streams, and its few
    // contacts are the earliest word of a breach: over an hour or three it may speak sooner.
    // Its minute and ten minutes keep the common threshold, since a few contacts close
    // together happen by chance more often than Poisson says.
    let sensitive =
        warm && key.topic_wide() && key.language.is_none() && config.sensitive.contains(&key.topic);
    let rare = sensitive && s.daily.0 * 1440.0 < config.rare_per_day;
    let threshold_of = |w: usize| {
        if !warm {
            config.warmup_threshold
        } else if rare && w > WINDOWS[0] {
            config.rare_threshold
        } else if sensitive && w > WINDOWS[0] {
            config.sensitive_threshold
        } else if sensitive && w == WINDOWS[0] {
            config.sensitive_burst_threshold
        } else {
            config.threshold
        }
    };
    // A long window stays high for hours after a burst. It may open an alert only while its
    // latest ten minutes are still elevated (for a rare topic, one contact where a twentieth is
    // usual is), never extends one (the minute and the ten-minute window do), and stays silent
    // for its own length after an alert closes, so an alert ends with its wave and the wave's
    // tail does not open another.
    let (last_c, last_e) = s.sums[0];
    let still_rising = last_c >= 1 && poisson_tail(last_c, last_e) < 0.05;
    let long_allowed =
        still_rising && s.alert.is_none() && s.long_quiet_until.is_none_or(|until| minute >= until);
    // The most unusual of the minute (length 1) and the windows, measured against each one's
    // threshold: its length, tail probability, and the two's ratio.
    let minute_tail = if count >= config.min_count {
        poisson_tail(count, expected)
    } else {
        1.0
    };
    let mut best = (1usize, minute_tail, minute_tail / threshold_of(1));
    for (&(c, e), w) in s.sums.iter().zip(WINDOWS) {
        if w > WINDOWS[0] && !long_allowed {
            continue;
        }
        let least = if rare && w > WINDOWS[0] {
            config.rare_customers.min(config.min_count)
        } else {
            config.min_count
        };
        if c < least {
            continue;
        }
        // A sensitive stream's ten minutes, and a rare one's every window, count distinct
        // customers: one customer's chat, mail and post about one breach is one report.
        let c = if sensitive && (w == WINDOWS[0] || rare) {
            distinct_customers(s, w)
        } else {
            c
        };
        if c >= least && c as f64 >= MIN_RATIO * e {
            let tail = poisson_tail(c, e);
            let against = tail / threshold_of(w);
            if against < best.2 {
                best = (w, tail, against);
            }
        }
    }
    let (window_len, tail, against_threshold) = best;
    // Nothing is unusual in the first hour of the input: there is no past to compare with.
    let settled = s.first_minute.is_some() && s.age(clock) >= 60;
    let anomalous = settled && against_threshold < 1.0 && count > 0;
    // Learn slowly from anomalous minutes, so an incident does not become the baseline.
    // During the warm-up the baseline is still finding its level, and learns everything.
    let learned = if anomalous && warm {
        expected + 3.0 * expected.sqrt()
    } else {
        count as f64
    };
    s.learn(clock, (count as f64).min(learned));
    let end = at_minute(minute + 1);
    if anomalous {
        s.quiet = 0;
        let score = (-(tail.max(1e-300)).log10() / 10.0).clamp(0.0, 1.0);
        // A new alert counts the whole window that made it fire (from its first non-empty
        // minute) and names those contacts; an update adds the minute just closed.
        let opening = s.alert.is_none();
        let minutes: Vec<_> = if opening && window_len > 1 {
            let skip = s.recent.len().saturating_sub(window_len);
            s.recent
                .iter()
                .skip(skip)
                .skip_while(|m| m.count == 0)
                .collect()
        } else {
            s.recent.back().into_iter().collect()
        };
        let began = at_minute(minutes.first().map_or(minute, |m| m.start));
        let (observed, expected_sum) = minutes
            .iter()
            .fold((0, 0.0), |(c, e), m| (c + m.count, e + m.expected));
        let evidence: Vec<Evidence> = minutes
            .iter()
            .flat_map(|m| m.evidence.iter().cloned())
            .collect();
        if opening {
            s.alert_customers.clear();
        }
        for m in &minutes {
            s.alert_customers.extend(m.customers.iter().copied());
        }
        let customers = s.alert_customers.len() as u64;
        let alert = s.alert.get_or_insert_with(|| SpikeAlert {
            alert_id: format!(
                "spike:{}{}:{}:{}:{}",
                key.topic,
                key.language
                    .as_deref()
                    .map_or(String::new(), |l| format!("@{l}")),
                key.service.as_deref().unwrap_or("*"),
                key.channel.as_deref().unwrap_or("*"),
                began.format("%Y-%m-%dT%H:%MZ")
            ),
            kind: AlertKind::Spike,
            topic: Some(key.topic.clone()),
            service: key.service.clone(),
            channel: key.channel.clone(),
            started_at: began,
            raised_at: end,
            observed: 0,
            customers: 0,
            expected: 0.0,
            score: 0.0,
            evidence: Vec::new(),
            text: None,
            language: key.language.clone(),
            group_id: None,
        });
        alert.raised_at = end;
        alert.customers = customers;
        alert.observed += observed;
        alert.expected += expected_sum;
        alert.score = alert.score.max(score);
        let room = config.evidence.saturating_sub(alert.evidence.len());
        alert.evidence.extend(evidence.into_iter().take(room));
        return Some(alert.clone());
    }
    close_when_quiet(config, s, minute);
    None
}

/// Distinct customers in a stream's last `window` minutes.
fn distinct_customers(s: &Stream, window: usize) -> u64 {
    let skip = s.recent.len().saturating_sub(window);
    let mut seen: HashSet<u64> = HashSet::default();
    for m in s.recent.iter().skip(skip) {
        seen.extend(m.customers.iter().copied());
    }
    seen.len() as u64
}

/// Counts a minute that added nothing to the stream's open alert, closing it after enough.
fn close_when_quiet(config: &SpikeConfig, s: &mut Stream, minute: i64) {
    if s.alert.is_some() {
        s.quiet += 1;
        if s.quiet >= config.close_after {
            s.alert = None;
            s.long_quiet_until = Some(minute + WINDOW as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact<'a>(id: &'a str, at: DateTime<Utc>, topics: &'a [String]) -> CountedContact<'a> {
        CountedContact {
            source: "t",
            id,
            received_at: at,
            topics,
            service: Some("web"),
            channel: "chat",
            customer: Some(id),
            language: None,
        }
    }

    /// The Monday every test starts on.
    fn monday() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_silent_topic_that_comes_up_in_numbers_alerts_within_minutes() {
        let start = monday();
        let mut tracker = SpikeTracker::new(SpikeConfig::default());
        let other = vec!["outage".to_owned()];
        let phishing = vec!["phishing".to_owned()];
        let mut alerts = Vec::new();
        // Three hours of a steady trickle of another topic, then phishing at 1.5 a minute.
        for s in (0..4 * 3600).step_by(20) {
            let at = start + Duration::seconds(s);
            let ids = format!("{s}");
            alerts.extend(tracker.add(&contact(&ids, at, &other)));
            if s >= 3 * 3600 && s % 40 == 0 {
                alerts.extend(tracker.add(&contact(&ids, at, &phishing)));
            }
        }
        alerts.extend(tracker.finish());
        assert!(
            alerts
                .iter()
                .all(|a| a.topic.as_deref() == Some("phishing")),
            "{alerts:?}"
        );
        let first = alerts
            .iter()
            .map(|a| a.raised_at)
            .min()
            .expect("a phishing alert");
        assert!(
            first - (start + Duration::hours(3)) <= Duration::minutes(6),
            "{first}"
        );
        let overall = alerts.iter().find(|a| a.service.is_none()).unwrap();
        assert!(overall.evidence.len() >= 4 && overall.observed >= 4);
        assert!(overall.expected < 1.0);
    }

    /// Eight days of ordinary traffic with a takeover report an hour by day and one every five
    /// hours by night, and one more at each of `strays`; then from `wave` one report every
    /// `every` minutes for `minutes`. Gives the alerts raised before the wave and how long
    /// after its start the first takeover alert came.
    fn takeover_wave_at_night(
        strays: &[DateTime<Utc>],
        wave: DateTime<Utc>,
        every: i64,
        minutes: i64,
    ) -> (Vec<SpikeAlert>, Option<Duration>) {
        let start = monday();
        let mut tracker = SpikeTracker::new(SpikeConfig::default());
        let other = vec!["other".to_owned()];
        let takeover = vec!["account_takeover".to_owned()];
        let mut alerts = Vec::new();
        let mut n = 0;
        let mut add = |tracker: &mut SpikeTracker, at: DateTime<Utc>, topics: &[String]| {
            n += 1;
            tracker.add(&contact(&format!("c{n}"), at, topics))
        };
        for m in 0..8 * 24 * 60i64 {
            let at = start + Duration::minutes(m);
            alerts.extend(add(&mut tracker, at, &other));
            let hour = (m / 60) % 24;
            let by_day = (8..20).contains(&hour) && m % 60 == 17;
            if by_day || m % 300 == 123 || strays.contains(&at) {
                alerts.extend(add(&mut tracker, at + Duration::seconds(5), &takeover));
            }
        }
        let before = std::mem::take(&mut alerts);
        for m in 0..minutes {
            let at = wave + Duration::minutes(m);
            alerts.extend(add(&mut tracker, at, &other));
            if m % every == 0 {
                alerts.extend(add(&mut tracker, at + Duration::seconds(5), &takeover));
            }
        }
        let first = alerts
            .iter()
            .filter(|a| a.topic.as_deref() == Some("account_takeover"))
            .map(|a| a.raised_at - wave)
            .min();
        (before, first)
    }

    #[test]
    fn a_slow_wave_of_a_rare_topic_at_night_alerts_within_a_few_contacts() {
        // At one at night, one report every twelve minutes.
        let wave = monday() + Duration::days(8) + Duration::hours(1);
        let (before, first) = takeover_wave_at_night(&[], wave, 12, 4 * 60);
        assert!(before.is_empty(), "{before:?}");
        let first = first.expect("an account takeover alert");
        assert!(first <= Duration::minutes(6 * 12), "{first}");
    }

    #[test]
    fn two_stray_reports_a_week_ago_do_not_hide_a_wave_at_the_same_hour() {
        // On the first Tuesday two stray reports between one and two at night (that hour of
        // the week has seen two an hour), and the next Tuesday at one a report every eight
        // minutes.
        let tuesday = monday() + Duration::days(1) + Duration::hours(1);
        let strays = [
            tuesday + Duration::minutes(10),
            tuesday + Duration::minutes(40),
        ];
        let (_, first) = takeover_wave_at_night(&strays, tuesday + Duration::days(7), 8, 2 * 60);
        let first = first.expect("an account takeover alert");
        // Against that hour of the week alone the wave needed 81 minutes and eleven reports;
        // shrunk towards every night's rate, six are enough.
        assert!(first <= Duration::minutes(6 * 8), "{first}");
    }

    #[test]
    fn two_customers_reporting_a_rare_breach_within_the_hour_alert_and_one_writing_twice_does_not()
    {
        let start = monday();
        // The first report's customer, the second's, and the topic.
        let run = |first: Option<&str>, second: Option<&str>, topic: &str| {
            let mut tracker = SpikeTracker::new(SpikeConfig::default());
            let other = vec!["other".to_owned()];
            let rare = vec![topic.to_owned()];
            let mut alerts = Vec::new();
            // Three days of ordinary traffic with one report of the topic a day, at noon.
            for m in 0..3 * 24 * 60i64 {
                let at = start + Duration::minutes(m);
                alerts.extend(tracker.add(&contact(&format!("o{m}"), at, &other)));
                if m % (24 * 60) == 12 * 60 {
                    alerts.extend(tracker.add(&contact(&format!("r{m}"), at, &rare)));
                }
            }
            assert!(alerts.is_empty(), "{alerts:?}");
            // Then two reports forty minutes apart in the morning.
            let wave = start + Duration::days(3) + Duration::hours(9);
            for m in 0..3 * 60i64 {
                let at = wave + Duration::minutes(m);
                alerts.extend(tracker.add(&contact(&format!("p{m}"), at, &other)));
                let id = format!("x{m}");
                let mut c = contact(&id, at + Duration::seconds(5), &rare);
                c.customer = if m == 40 { second } else { first };
                if m == 0 || m == 40 {
                    alerts.extend(tracker.add(&c));
                }
            }
            alerts.extend(tracker.finish());
            alerts
                .iter()
                .filter(|a| a.service.is_none() && a.topic.as_deref() == Some(topic))
                .map(|a| a.raised_at - wave)
                .min()
        };
        let (a, b) = (Some("a"), Some("b"));
        let delay = run(a, b, "data_exposure").expect("a data exposure alert");
        assert!(delay <= Duration::minutes(45), "{delay}");
        assert_eq!(run(a, a, "data_exposure"), None, "one customer twice");
        assert_eq!(run(a, b, "phishing"), None, "not a sensitive topic");
        // A source that names no customer: each contact is its own.
        assert!(
            run(None, None, "data_exposure").is_some(),
            "no customer ids"
        );
    }

    #[test]
    fn a_breach_topic_never_heard_before_alerts_at_two_customers() {
        let start = monday();
        let mut tracker = SpikeTracker::new(SpikeConfig::default());
        let other = vec!["other".to_owned()];
        let exposure = vec!["data_exposure".to_owned()];
        let mut alerts = Vec::new();
        // Two days without the topic: its first report starts its stream with that silence
        // as its history (its daily rate too, which once read as one contact a minute).
        let wave = start + Duration::days(2);
        for m in 0..2 * 24 * 60 + 90i64 {
            let at = start + Duration::minutes(m);
            alerts.extend(tracker.add(&contact(&format!("o{m}"), at, &other)));
            if at == wave || at == wave + Duration::minutes(30) {
                let id = format!("x{m}");
                alerts.extend(tracker.add(&contact(&id, at + Duration::seconds(5), &exposure)));
            }
        }
        let first = alerts
            .iter()
            .filter(|a| a.service.is_none() && a.topic.as_deref() == Some("data_exposure"))
            .map(|a| a.raised_at - wave)
            .min();
        assert!(
            first.is_some_and(|d| d <= Duration::minutes(35)),
            "{first:?} {alerts:?}"
        );
    }

    #[test]
    fn a_wave_in_one_language_stands_out_of_a_busy_topic() {
        let start = monday();
        let mut tracker = SpikeTracker::new(SpikeConfig::default());
        let phishing = vec!["phishing".to_owned()];
        let mut alerts = Vec::new();
        let mut n = 0;
        let mut add = |tracker: &mut SpikeTracker, at: DateTime<Utc>, language: &str| {
            n += 1;
            let id = format!("c{n}");
            let mut c = contact(&id, at, &phishing);
            c.language = Some(language);
            tracker.add(&c)
        };
        // Eight days of scam reports in English every quarter of an hour, and one in Italian
        // every six hours.
        for m in (0..8 * 24 * 60i64).step_by(15) {
            alerts.extend(add(&mut tracker, start + Duration::minutes(m), "en"));
            if m % 360 == 0 {
                alerts.extend(add(&mut tracker, start + Duration::minutes(m + 7), "it"));
            }
        }
        assert!(alerts.is_empty(), "{alerts:?}");
        // Then a lure in Italian: one report every quarter of an hour, which the topic as a
        // whole (five an hour where four are usual) does not notice.
        let wave = start + Duration::days(8) + Duration::hours(9);
        for m in (0..4 * 60i64).step_by(15) {
            alerts.extend(add(&mut tracker, wave + Duration::minutes(m), "en"));
            alerts.extend(add(&mut tracker, wave + Duration::minutes(m + 7), "it"));
        }
        let local = alerts
            .iter()
            .find(|a| a.alert_id.starts_with("spike:phishing@it:"))
            .expect("an alert for phishing in Italian");
        assert!(
            local.raised_at - wave <= Duration::minutes(8 * 15),
            "{local:?}"
        );
        assert!(
            alerts.iter().all(|a| a.alert_id.contains("@it")),
            "{alerts:?}"
        );
    }

    #[test]
    fn streams_are_capped_but_topics_always_count() {
        let mut tracker = SpikeTracker::new(SpikeConfig {
            max_streams: 3,
            ..SpikeConfig::default()
        });
        let topics = vec!["outage".to_owned()];
        let at = monday();
        for k in 0..20 {
            let service = format!("svc{k}");
            tracker.add(&CountedContact {
                source: "t",
                id: "x",
                received_at: at,
                topics: &topics,
                service: Some(&service),
                channel: "chat",
                customer: None,
                language: None,
            });
        }
        assert_eq!(tracker.streams(), 3);
        assert!(tracker.streams.iter().any(|(k, _)| *k
            == StreamKey {
                topic: "outage".into(),
                service: None,
                channel: None,
                language: None,
            }));
    }

    #[test]
    fn a_contact_from_long_ago_and_one_far_ahead_cost_a_bounded_pass() {
        let mut tracker = SpikeTracker::new(SpikeConfig::default());
        let topics = vec!["outage".to_owned()];
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let started = std::time::Instant::now();
        tracker.add(&contact("a", at("0001-01-01T00:00:00Z"), &topics));
        tracker.add(&contact("b", at("2026-11-02T00:00:00Z"), &topics));
        tracker.add(&contact("c", at("9999-12-31T23:59:59Z"), &topics));
        tracker.finish();
        // Stepping minute by minute would take hours; a week per gap takes well under a
        // second even unoptimised. A generous bound, as a guard, not a benchmark.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(tracker.too_late, 0);
    }

    #[test]
    fn poisson_tails_are_count_aware() {
        assert!((poisson_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        assert!(poisson_tail(3, 0.5) < 0.02);
        assert!(poisson_tail(3, 40.0) > 0.999);
        assert!(poisson_tail(30, 2.0) < 1e-15);
        assert!(poisson_tail(400, 300.0) < 1e-6);
        assert_eq!(poisson_tail(0, 5.0), 1.0);
    }
}
