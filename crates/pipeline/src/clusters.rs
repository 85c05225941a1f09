//! Lure clusters: copies of one text that several customers paste or forward (a phishing
//! message, an error screen's wording) are a signal of their own, before any topic count
//! moves. Security reads them as "eight customers sent us this same message".
//!
//! Forwarded copies rarely match whole: each sits in its own wrapper (a greeting, a chat bot's
//! preamble, "is this you?"), carries a per-recipient link token and name, is truncated or
//! re-wrapped, and the attackers switch domains half-way. So a contact is compared passage by
//! passage, not as a whole: its words (in the customer's own part, speaker labels dropped,
//! any word with a digit one placeholder) become overlapping 5-word shingles, and only
//! **new** shingles count, those first heard within `emerging_for` (steady templates, bot
//! greetings and signatures were heard before and never link anything). Two contacts that
//! share `min_shared` new shingles, ten words in a row, carry one passage and land in one
//! cluster, however long their wrappers and wherever a copy was cut off; a copy after the
//! domain switch still shares the rest of the text. A cluster alerts once `min_customers`
//! distinct customers sent it within `window`, or two already when they share `long_passage`
//! shingles (about twenty words word for word, which customers' own phrasing never repeats).
//!
//! Memory is bounded: shingles live in two generations, the older dropped whole every half
//! `memory` (or once the newer holds half of `max_shingles`), so a shingle is forgotten
//! between half and all of `memory` after it was last heard, with no pass over them all;
//! clusters are forgotten once idle for `window`.

use crate::own_words::own_words;
use crate::spikes::{AlertKind, Evidence, SpikeAlert};
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

/// Words per shingle.
const SHINGLE: usize = 5;

/// Settings of cluster detection.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// New shingles two contacts must share to carry one passage.
    pub min_shared: usize,
    /// How long a shingle counts as new after it was first heard.
    pub emerging_for: Duration,
    /// How long a shingle is remembered after it was last heard: what "new" is measured
    /// against.
    pub memory: Duration,
    /// How far back a cluster's distinct customers are counted.
    pub window: Duration,
    /// Fewest distinct customers in the window that alert.
    pub min_customers: u64,
    /// New shingles shared by two customers that alert at two already: a passage of twenty
    /// words or more, word for word, is no coincidence even in one language's rare phrasing
    /// (shorter ones are: a familiar complaint in the same words).
    pub long_passage: usize,
    /// Event time heard before any cluster may alert: before it, everything is new.
    pub warm_up: Duration,
    /// Most shingles remembered.
    pub max_shingles: usize,
    /// Contacts kept as evidence per alert.
    pub evidence: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            min_shared: 6,
            emerging_for: Duration::hours(12),
            memory: Duration::days(8),
            window: Duration::hours(2),
            min_customers: 3,
            long_passage: 14,
            warm_up: Duration::days(1),
            max_shingles: 4_000_000,
            evidence: 20,
        }
    }
}

/// A contact as cluster detection sees it.
#[derive(Debug, Clone)]
pub struct ClusteredContact<'a> {
    /// The contact's source.
    pub source: &'a str,
    /// The source's id.
    pub id: &'a str,
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// The redacted text.
    pub text: &'a str,
    /// The customer's pseudonym (or the contact's own id when none was given).
    pub customer: &'a str,
    /// Its topics.
    pub topics: &'a [String],
}

pub(crate) fn mix(mut x: u64) -> u64 {
    // splitmix64: cheap, well-distributed, and the same on every machine.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub(crate) fn word_hash(w: &str) -> u64 {
    // FNV-1a, then mixed: stable across runs (no random seed), so replay is deterministic.
    mix(fnv(0xcbf2_9ce4_8422_2325, w.as_bytes()))
}

/// [`word_hash`] of `"{a} {b}"`, without building the string.
pub(crate) fn pair_hash(a: &str, b: &str) -> u64 {
    let h = fnv(0xcbf2_9ce4_8422_2325, a.as_bytes());
    mix(fnv(fnv(h, b" "), b.as_bytes()))
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The hashes of a text's 5-word shingles, sorted and without repeats, into `out`: the
/// customer's own words ([`own_words`]), each line without its speaker label ("Customer:",
/// "Subject:"), lower-cased and folded as topics read them, any word with a digit one
/// placeholder (link tokens, amounts, reference numbers), the lines run together so a passage
/// wrapped over lines stays whole.
pub fn shingles(text: &str, out: &mut Vec<u64>) {
    out.clear();
    let mut found = Vec::new();
    words(own_words(text), &mut found);
    out.extend(found.windows(SHINGLE).map(shingle));
    out.sort_unstable();
    out.dedup();
}

fn shingle(words: &[(u64, std::ops::Range<usize>)]) -> u64 {
    words.iter().fold(0x0053_4849_4e47_4c45_u64, |h, (w, _)| {
        mix(h.rotate_left(13) ^ w)
    })
}

/// The words of `text` as shingles read them: each word's hash and where it is in `text`.
/// Words split where [`normalize`](crate::classify::normalize) splits them.
fn words(text: &str, out: &mut Vec<(u64, std::ops::Range<usize>)>) {
    let numeric = word_hash("#");
    let mut word = String::new();
    let mut digit = false;
    let mut begin = 0;
    let mut flush = |word: &mut String, digit: &mut bool, span: std::ops::Range<usize>| {
        if !word.is_empty() {
            out.push((if *digit { numeric } else { word_hash(word) }, span));
            word.clear();
            *digit = false;
        }
    };
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = without_label(line);
        let base = offset + (line.len() - bare.len());
        for (i, c) in bare.char_indices() {
            if matches!(c, '\'' | '’' | '`' | '´') {
                continue;
            }
            if c.is_alphanumeric() {
                if word.is_empty() {
                    begin = base + i;
                }
                digit |= c.is_ascii_digit();
                if c.is_ascii() {
                    word.push(c.to_ascii_lowercase());
                } else {
                    for l in c.to_lowercase() {
                        match crate::classify::fold(l) {
                            Some(f) => word.push_str(f),
                            None => word.push(l),
                        }
                    }
                }
            } else {
                flush(&mut word, &mut digit, begin..base + i);
            }
        }
        flush(&mut word, &mut digit, begin..base + bare.len());
        offset += line.len();
    }
}

/// The part of `text` that carries new words: from the first to the last word that only new
/// shingles (those in `fresh`, sorted) cover. A cluster shows this, the pasted lure, not the
/// wrapper of one copy (a chat bot's greeting, "is this you?" heard a thousand times before).
fn passage(text: &str, fresh: &[u64]) -> String {
    let own = own_words(text);
    let mut found = Vec::new();
    words(own, &mut found);
    // Per word: covered by a new shingle, covered by one heard before.
    let mut covered = vec![(false, false); found.len()];
    for (i, w) in found.windows(SHINGLE).enumerate() {
        let new = fresh.binary_search(&shingle(w)).is_ok();
        for c in &mut covered[i..i + SHINGLE] {
            if new {
                c.0 = true;
            } else {
                c.1 = true;
            }
        }
    }
    let only_new: Vec<usize> = (0..found.len())
        .filter(|&j| covered[j].0 && !covered[j].1)
        .collect();
    let span = match (only_new.first(), only_new.last()) {
        (Some(first), Some(last)) => &own[found[*first].1.start..found[*last].1.end],
        _ => own,
    };
    span.chars().take(500).collect()
}

/// A line without a leading speaker or field label of one or two short words ("Customer:",
/// "Bot:", "Subject:", "Cust called:"), which would otherwise split a passage pasted over
/// several chat lines.
fn without_label(line: &str) -> &str {
    let line = line.trim_start();
    match line.find(':') {
        Some(i)
            if i > 0
                && i <= 20
                && line[..i].split_whitespace().count() <= 2
                && line[..i]
                    .chars()
                    .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
                && !line[i + 1..].starts_with('/') =>
        {
            &line[i + 1..]
        }
        _ => line,
    }
}

#[derive(Debug, Clone, Copy)]
struct Shingle {
    /// First and last heard (Unix seconds).
    first: i64,
    last: i64,
    /// The passage (the sequence number of the contact that first carried it); 0 for none.
    owner: u64,
}

/// A contact that carried new shingles and may be a passage's first copy.
#[derive(Debug, Clone)]
struct Seed {
    n: u64,
    at: DateTime<Utc>,
    who: u64,
    evidence: Evidence,
    topics: Vec<String>,
}

#[derive(Debug, Clone)]
struct Cluster {
    id: u64,
    text: String,
    created: DateTime<Utc>,
    last: DateTime<Utc>,
    /// (time, customer) of customers not already in the window, oldest first.
    recent: VecDeque<(DateTime<Utc>, u64)>,
    /// Contacts in all, and how many carried each topic.
    members: u64,
    topics: HashMap<String, u64>,
    may_alert: bool,
    /// The most new shingles a member shared with the passage.
    longest: usize,
    evidence: Vec<Evidence>,
    alert: Option<SpikeAlert>,
}

/// The cluster tracker.
#[derive(Debug, Clone)]
pub struct ClusterTracker {
    config: ClusterConfig,
    /// Shingles heard in this generation, and in the one before.
    shingles: HashMap<u64, Shingle>,
    older: HashMap<u64, Shingle>,
    generation_began: Option<DateTime<Utc>>,
    seeds: VecDeque<Seed>,
    clusters: HashMap<u64, Cluster>,
    next: u64,
    origin: Option<DateTime<Utc>>,
    last_expiry: Option<DateTime<Utc>>,
    /// Reused per contact: its shingles, and its new ones.
    scratch: Vec<u64>,
    fresh: Vec<u64>,
}

impl ClusterTracker {
    /// A tracker with `config`.
    pub fn new(config: ClusterConfig) -> Self {
        Self {
            config,
            shingles: HashMap::default(),
            older: HashMap::default(),
            generation_began: None,
            seeds: VecDeque::new(),
            clusters: HashMap::default(),
            next: 1,
            origin: None,
            last_expiry: None,
            scratch: Vec::new(),
            fresh: Vec::new(),
        }
    }

    /// How many clusters (passages carried by two contacts or more) are held.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Adds a contact; returns a cluster alert when its passage reached enough customers.
    pub fn add(&mut self, c: &ClusteredContact<'_>) -> Option<SpikeAlert> {
        let now = c.received_at;
        if self.origin.is_none_or(|o| now < o) {
            self.origin = Some(now);
        }
        self.expire(now);
        let mut all = std::mem::take(&mut self.scratch);
        shingles(c.text, &mut all);
        let owner = self.link(&all, now.timestamp());
        self.scratch = all;
        let (owner, shared) = owner?;
        let who = word_hash(c.customer);
        let evidence = Evidence {
            source: c.source.to_owned(),
            id: c.id.to_owned(),
        };
        if owner == self.next {
            // A first copy: remembered, in case others follow.
            self.next += 1;
            self.seeds.push_back(Seed {
                n: owner,
                at: now,
                who,
                evidence,
                topics: c.topics.to_vec(),
            });
            return None;
        }
        let config = self.config.clone();
        if !self.clusters.contains_key(&owner) {
            let may_alert = self.origin.is_some_and(|o| now - o >= config.warm_up);
            let mut cluster = Cluster {
                id: owner,
                text: passage(c.text, &self.fresh),
                created: now,
                last: now,
                recent: VecDeque::new(),
                members: 0,
                topics: HashMap::default(),
                may_alert,
                longest: 0,
                evidence: Vec::new(),
                alert: None,
            };
            if let Ok(i) = self.seeds.binary_search_by_key(&owner, |s| s.n) {
                let seed = &self.seeds[i];
                cluster.created = seed.at;
                join(
                    &mut cluster,
                    &config,
                    seed.at,
                    seed.who,
                    &seed.topics,
                    seed.evidence.clone(),
                );
            }
            self.clusters.insert(owner, cluster);
        }
        let cluster = self.clusters.get_mut(&owner)?;
        cluster.longest = cluster.longest.max(shared);
        join(cluster, &config, now, who, c.topics, evidence);
        assess(&config, cluster, now)
    }

    /// Records a contact's shingles; returns the passage it carries: an existing one it
    /// shares `min_shared` new shingles with, else a new one (`self.next`) when it has that
    /// many new shingles of its own, else none.
    fn link(&mut self, all: &[u64], now: i64) -> Option<(u64, usize)> {
        let emerging = self.config.emerging_for.num_seconds();
        let window = self.config.window.num_seconds();
        let mut tally: Vec<(u64, usize)> = Vec::new();
        self.fresh.clear();
        for h in all {
            let older = &mut self.older;
            let entry = self.shingles.entry(*h).or_insert_with(|| {
                older.remove(h).unwrap_or(Shingle {
                    first: now,
                    last: now,
                    owner: 0,
                })
            });
            if now - entry.first > emerging {
                entry.last = now;
                continue;
            }
            self.fresh.push(*h);
            if entry.owner != 0 && now - entry.last <= window {
                match tally.iter_mut().find(|(o, _)| *o == entry.owner) {
                    Some((_, n)) => *n += 1,
                    None => tally.push((entry.owner, 1)),
                }
            }
            entry.last = now;
        }
        let shared = tally
            .into_iter()
            .filter(|(_, n)| *n >= self.config.min_shared)
            .max_by_key(|(o, n)| (*n, std::cmp::Reverse(*o)));
        let (owner, shared) = match shared {
            Some(found) => found,
            None if self.fresh.len() >= self.config.min_shared => (self.next, 0),
            None => return None,
        };
        for h in &self.fresh {
            if let Some(entry) = self.shingles.get_mut(h) {
                entry.owner = owner;
            }
        }
        Some((owner, shared))
    }

    /// Starts a new generation of shingles when the current one is half `memory` old or
    /// holds half of `max_shingles` (dropping the one before it whole); forgets first copies
    /// older than the window, and (every ten minutes of event time) idle clusters.
    fn expire(&mut self, now: DateTime<Utc>) {
        while self
            .seeds
            .front()
            .is_some_and(|s| now - s.at > self.config.window)
        {
            self.seeds.pop_front();
        }
        let began = *self.generation_began.get_or_insert(now);
        if now - began >= self.config.memory / 2
            || self.shingles.len() >= self.config.max_shingles / 2
        {
            // The new generation will hold about as many as the last: sized for them at
            // once, since growing a map of millions by doubling was 3 % of a replay.
            let room = HashMap::with_capacity_and_hasher(self.shingles.len(), Default::default());
            self.older = std::mem::replace(&mut self.shingles, room);
            self.generation_began = Some(now);
        }
        if self
            .last_expiry
            .is_some_and(|t| now - t < Duration::minutes(10))
        {
            return;
        }
        self.last_expiry = Some(now);
        let window = self.config.window;
        self.clusters.retain(|_, k| now - k.last <= window);
    }
}

/// Adds one member to a cluster.
fn join(
    k: &mut Cluster,
    config: &ClusterConfig,
    now: DateTime<Utc>,
    who: u64,
    topics: &[String],
    evidence: Evidence,
) {
    k.last = k.last.max(now);
    k.members += 1;
    for t in topics {
        match k.topics.get_mut(t) {
            Some(n) => *n += 1,
            None => {
                k.topics.insert(t.clone(), 1);
            }
        }
    }
    if k.evidence.len() < config.evidence && !k.evidence.contains(&evidence) {
        k.evidence.push(evidence);
    }
    while k
        .recent
        .front()
        .is_some_and(|(t, _)| now - *t > config.window)
    {
        k.recent.pop_front();
    }
    if !k.recent.iter().any(|(_, w)| *w == who) {
        k.recent.push_back((now, who));
    }
}

/// Raises or updates the cluster's alert once enough distinct customers sent it.
fn assess(config: &ClusterConfig, k: &mut Cluster, now: DateTime<Utc>) -> Option<SpikeAlert> {
    let customers = k.recent.len() as u64;
    let emerging = k.may_alert && now - k.created <= config.emerging_for;
    let enough =
        customers >= config.min_customers || (customers >= 2 && k.longest >= config.long_passage);
    if !emerging || !enough {
        return None;
    }
    // Past the fewest customers, each further one makes chance less likely: a graded score.
    let score = (customers as f64 / (2.0 * config.min_customers as f64)).clamp(0.5, 1.0);
    let topic = k
        .topics
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .filter(|(_, n)| **n * 2 >= k.members)
        .map(|(t, _)| t.clone());
    let started = k.recent.front().map_or(now, |(t, _)| *t);
    let alert = k.alert.get_or_insert_with(|| SpikeAlert {
        alert_id: format!("cluster:{}:{}", k.id, started.format("%Y-%m-%dT%H:%MZ")),
        kind: AlertKind::Cluster,
        topic: None,
        service: None,
        channel: None,
        started_at: started,
        raised_at: now,
        observed: 0,
        customers: 0,
        expected: 0.0,
        score: 0.0,
        evidence: Vec::new(),
        text: None,
        language: None,
        group_id: None,
    });
    alert.topic = topic;
    alert.raised_at = now;
    alert.observed = k.members;
    alert.customers = customers;
    alert.score = alert.score.max(score);
    alert.text = Some(k.text.clone());
    for e in &k.evidence {
        if alert.evidence.len() < config.evidence && !alert.evidence.contains(e) {
            alert.evidence.push(e.clone());
        }
    }
    Some(alert.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute)
    }

    const DAY: i64 = 24 * 60;

    /// Feeds `text` from `customer` at `minute`; returns the alert, if any.
    fn feed(t: &mut ClusterTracker, minute: i64, customer: &str, text: &str) -> Option<SpikeAlert> {
        let topics = vec!["phishing".to_owned()];
        t.add(&ClusteredContact {
            source: "s",
            id: customer,
            received_at: at(minute),
            text,
            customer,
            topics: &topics,
        })
    }

    /// A day of ordinary traffic: a few templates, heard every few minutes.
    fn ordinary_day(t: &mut ClusterTracker) {
        let templates = [
            "Bot: Hi, I'm the assistant. What can I help you with today?\nCustomer: where is my order, it was supposed to arrive yesterday",
            "Dear team, I cannot log in to the app since the update this morning, please help. Regards",
            "Subject: Invoice\n\nHello, the invoice for last month shows the wrong delivery address. Thanks",
        ];
        for m in 0..(DAY / 5) {
            let who = format!("o{m}");
            assert!(feed(t, m * 5, &who, templates[m as usize % 3]).is_none());
        }
    }

    const LURE: &str = "A payment of 849.00 to M. KOWAL is being processed from your account. If you did not authorise this, cancel it here: http://secure-pay.example/?c=9GpAbv";

    #[test]
    fn pasted_and_forwarded_copies_in_their_own_wrappers_are_one_cluster() {
        let mut t = ClusterTracker::new(ClusterConfig::default());
        ordinary_day(&mut t);
        // Each copy cut short in its own place: a dozen words in common, not twenty.
        let copies = [
            "Subject: Fwd: Action required\n\nHi,\n\nIs this from you?\n\n---------- Forwarded message ---------\nFrom: Bank <no-reply@secure-pay.example>\n\nDear Chloe, A payment of 849.00 to M. KOWAL is being processed from your account. If you did",
            // Pasted into a chat over three lines, with another amount.
            "Bot: Hi, I'm the assistant. What can I help you with today?\nCustomer: is this you: A payment of 310.00 to M.\nCustomer: KOWAL is being processed from your account.\nCustomer: If you did",
            // After the attackers switched domains.
            "@bank Got this text, is it you? \"Dear customer A payment of 99.00 to M. KOWAL is being processed from your account. If you did not authorise this, cancel it here: http://login-pay.example/?c=YE5ty\" #annoyed",
        ];
        assert!(feed(&mut t, DAY + 10, "a", copies[0]).is_none());
        assert!(
            feed(&mut t, DAY + 20, "b", copies[1]).is_none(),
            "two customers sharing a dozen words are not yet a wave"
        );
        let alert =
            feed(&mut t, DAY + 30, "c", copies[2]).expect("a cluster alert at three customers");
        assert_eq!(alert.kind, AlertKind::Cluster);
        assert_eq!(alert.customers, 3);
        assert_eq!(alert.topic.as_deref(), Some("phishing"));
        let ids: Vec<&str> = alert.evidence.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"], "the first copy is evidence too");
        // It shows the pasted text, not the chat bot's greeting around it.
        let shown = alert.text.as_deref().unwrap();
        assert!(shown.contains("KOWAL is being processed"), "{shown}");
        assert!(!shown.contains("What can I help you with"), "{shown}");
        // The same customer again adds no customer; a new one updates the same alert.
        assert!(feed(&mut t, DAY + 31, "c", copies[2]).is_some_and(|a| a.customers == 3));
        let update = feed(&mut t, DAY + 40, "d", copies[0]).expect("an update");
        assert_eq!(update.alert_id, alert.alert_id);
        assert_eq!(update.customers, 4);
    }

    #[test]
    fn a_long_passage_word_for_word_alerts_at_two_customers() {
        let mut t = ClusterTracker::new(ClusterConfig::default());
        ordinary_day(&mut t);
        let forward = format!(
            "Subject: Fwd: Action required\n\nGenuine?\n\n---------- Forwarded message ---------\nDear Chloe, {LURE}"
        );
        let pasted = LURE.replace("9GpAbv", "Qe7VFgb").replace("849.00", "12.50");
        assert!(feed(&mut t, DAY + 10, "a", &forward).is_none());
        let alert = feed(&mut t, DAY + 25, "b", &pasted).expect("twenty words in the same order");
        assert_eq!(alert.customers, 2);
    }

    #[test]
    fn templates_heard_before_and_unrelated_texts_never_cluster() {
        let mut t = ClusterTracker::new(ClusterConfig::default());
        ordinary_day(&mut t);
        // The ordinary templates again, from many customers at once: heard before, so not new.
        for k in 0..20 {
            let who = format!("x{k}");
            assert!(
                feed(&mut t, DAY + k, &who, "Dear team, I cannot log in to the app since the update this morning, please help. Regards").is_none()
            );
        }
        // Three customers, each with words of their own and the same greeting.
        let own = [
            "Bot: Hi, I'm the assistant. What can I help you with today?\nCustomer: my parcel locker at the central station refuses my code since friday",
            "Bot: Hi, I'm the assistant. What can I help you with today?\nCustomer: the card I ordered for my daughter came with her name spelled wrong",
            "Bot: Hi, I'm the assistant. What can I help you with today?\nCustomer: why does the statement for october show two identical cinema tickets",
        ];
        for (k, text) in own.iter().enumerate() {
            let who = format!("y{k}");
            assert!(feed(&mut t, DAY + 30 + k as i64, &who, text).is_none());
        }
        assert!(t.is_empty(), "no passage was carried by two contacts");
    }

    #[test]
    fn nothing_alerts_during_the_warm_up_when_everything_is_new() {
        let mut t = ClusterTracker::new(ClusterConfig::default());
        for k in 0..6 {
            let who = format!("w{k}");
            assert!(feed(&mut t, k, &who, LURE).is_none());
        }
        assert_eq!(t.len(), 1, "the copies are one cluster all the same");
    }

    #[test]
    fn shingles_skip_labels_and_number_tokens() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        shingles(
            "Customer: your code is 1234 for the new device login",
            &mut a,
        );
        shingles("your code is 98765 for the new device login", &mut b);
        assert_eq!(a, b);
        assert!(!a.is_empty());
        shingles("too short to shingle", &mut a);
        assert!(a.is_empty());
        // Words split where topics split them, accents folded, apostrophes kept inside.
        let mut found = Vec::new();
        words("Customer: Don't e-mail Zoë!", &mut found);
        let text = "Customer: Don't e-mail Zoë!";
        let spans: Vec<&str> = found.iter().map(|(_, r)| &text[r.clone()]).collect();
        assert_eq!(spans, ["Don't", "e", "mail", "Zoë"]);
        assert_eq!(found[3].0, word_hash("zoe"));
        assert_eq!(without_label("From: Bank <x@y>"), " Bank <x@y>");
        assert_eq!(without_label("Order 42: late"), "Order 42: late");
        assert_eq!(without_label("http://x.example"), "http://x.example");
    }

    #[test]
    fn shingles_are_forgotten_after_their_memory() {
        let config = ClusterConfig {
            memory: Duration::hours(1),
            ..ClusterConfig::default()
        };
        let mut t = ClusterTracker::new(config);
        feed(&mut t, 0, "a", LURE);
        assert!(!t.shingles.is_empty());
        // Half the memory on, the lure is in the older generation; a whole memory on, gone.
        feed(&mut t, 31, "b", "short one");
        assert!(t.shingles.is_empty() && !t.older.is_empty());
        feed(&mut t, 62, "c", "short one");
        assert!(t.shingles.is_empty() && t.older.is_empty());
    }
}
