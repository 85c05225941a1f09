//! Emerging clusters: contacts whose texts are near-duplicates of each other, arriving together
//! from several distinct customers (a new phishing text, a new error message), are a signal
//! even before any topic count moves.
//!
//! Each text becomes a MinHash signature over its normalised word 3-shingles; an LSH index
//! (bands of the signature) finds the clusters a new text may belong to, and it joins the one
//! whose representative it resembles most (estimated Jaccard similarity at least
//! `similarity`), or starts a new one. A cluster alerts when the distinct customers it gained
//! in the last `window` are far more than its own past rate makes likely (a Poisson tail, as
//! for spikes); only clusters younger than `emerging_for` alert, so steady templates ("where
//! is my order?") and recurring questions stay quiet.
//! Memory is bounded: clusters expire after `ttl` without new members, and at most
//! `max_clusters` are kept (the least recently active go first).

use crate::classify::normalize;
use crate::spikes::{AlertKind, Evidence, SpikeAlert, poisson_tail};
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

/// Settings of cluster detection.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Estimated Jaccard similarity needed to join a cluster.
    pub similarity: f64,
    /// How far back a cluster's recent growth is counted.
    pub window: Duration,
    /// Fewest distinct customers in the window that can alert.
    pub min_customers: u64,
    /// The growth rate (distinct customers a minute) assumed for a cluster with no past.
    pub new_cluster_rate: f64,
    /// Tail probability below which growth is anomalous.
    pub threshold: f64,
    /// How long a cluster counts as emerging; an older one has become part of the usual
    /// traffic (a template, a recurring question) and no longer alerts.
    pub emerging_for: Duration,
    /// A cluster without new members for this long is forgotten.
    pub ttl: Duration,
    /// Most clusters kept.
    pub max_clusters: usize,
    /// Contacts kept as evidence per alert.
    pub evidence: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            similarity: 0.5,
            window: Duration::minutes(30),
            min_customers: 5,
            new_cluster_rate: 0.02,
            threshold: 1e-6,
            emerging_for: Duration::hours(6),
            ttl: Duration::hours(12),
            max_clusters: 50_000,
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
    /// The same text normalised ([`normalize`]), when the caller has it already.
    pub normalized: Option<&'a str>,
    /// The customer's pseudonym (or the contact's own id when none was given).
    pub customer: &'a str,
    /// Its topics.
    pub topics: &'a [String],
}

type Signature = [u64; HASHES];

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

/// The MinHash signature of a text's word 3-shingles (shorter texts: their words).
pub fn signature(text: &str) -> Option<Signature> {
    signature_normalized(&normalize(text))
}

/// [`signature`] of a text already passed through [`normalize`].
pub fn signature_normalized(norm: &str) -> Option<Signature> {
    // Any word with a digit is one word: forwarded copies of a lure differ in per-recipient
    // link tokens, reference numbers and amounts, and should still land together.
    let numeric = word_hash("#");
    let words: Vec<u64> = norm
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.bytes().any(|b| b.is_ascii_digit()) {
                numeric
            } else {
                word_hash(w)
            }
        })
        .collect();
    if words.len() < 3 {
        return None;
    }
    let mut sig = [u64::MAX; HASHES];
    for shingle in words.windows(3) {
        let base = mix(shingle[0] ^ shingle[1].rotate_left(21) ^ shingle[2].rotate_left(42));
        // One multiply-add per hash function (a universal family over the mixed shingle):
        // cheap enough to run on every contact, and the compiler vectorises the loop.
        for (slot, (a, b)) in sig.iter_mut().zip(FAMILY.iter()) {
            let h = base.wrapping_mul(*a).wrapping_add(*b);
            *slot = (*slot).min(h);
        }
    }
    Some(sig)
}

/// The hash family's multipliers (odd) and offsets, fixed so signatures are stable.
static FAMILY: std::sync::LazyLock<[(u64, u64); HASHES]> = std::sync::LazyLock::new(|| {
    let mut f = [(0, 0); HASHES];
    for (i, slot) in f.iter_mut().enumerate() {
        *slot = (mix(i as u64 * 2 + 1) | 1, mix(i as u64 * 2 + 2));
    }
    f
});

fn similarity(a: &Signature, b: &Signature) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / HASHES as f64
}

fn band_keys(sig: &Signature) -> [u64; BANDS] {
    let mut keys = [0u64; BANDS];
    for (b, key) in keys.iter_mut().enumerate() {
        let mut h = b as u64;
        for v in &sig[b * ROWS..(b + 1) * ROWS] {
            h = mix(h ^ v);
        }
        *key = h;
    }
    keys
}

#[derive(Debug, Clone)]
struct Cluster {
    id: u64,
    signature: Signature,
    text: String,
    created: DateTime<Utc>,
    last: DateTime<Utc>,
    /// Customers seen inside the window (and when), so memory stays bounded by the window.
    in_window: HashMap<u64, DateTime<Utc>>,
    /// (time, customer) of arrivals of customers not already in the window.
    recent: VecDeque<(DateTime<Utc>, u64)>,
    /// Such arrivals in all (an upper bound on distinct customers).
    arrivals: u64,
    /// Whether it was born after the tracker's first hour (before that, everything is new).
    may_alert: bool,
    topics: HashMap<String, u64>,
    first_contacts: Vec<Evidence>,
    alert: Option<SpikeAlert>,
}

/// The cluster tracker.
#[derive(Debug, Clone)]
pub struct ClusterTracker {
    config: ClusterConfig,
    clusters: HashMap<u64, Cluster>,
    index: HashMap<u64, Vec<u64>>,
    next_id: u64,
    origin: Option<DateTime<Utc>>,
    last_expiry: Option<DateTime<Utc>>,
}

impl ClusterTracker {
    /// A tracker with `config`.
    pub fn new(config: ClusterConfig) -> Self {
        Self {
            config,
            clusters: HashMap::default(),
            index: HashMap::default(),
            next_id: 1,
            origin: None,
            last_expiry: None,
        }
    }

    /// How many clusters are held.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Adds a contact; returns a cluster alert when its cluster's growth is anomalous.
    pub fn add(&mut self, c: &ClusteredContact<'_>) -> Option<SpikeAlert> {
        if self.origin.is_none_or(|o| c.received_at < o) {
            self.origin = Some(c.received_at);
        }
        let sig = match c.normalized {
            Some(norm) => signature_normalized(norm)?,
            None => signature(c.text)?,
        };
        let keys = band_keys(&sig);
        // A cluster shares several bands with a text like it: compare it once. Ids grow with
        // age, so sorted ids keep the oldest first among equally similar clusters.
        let mut candidates: Vec<u64> = keys
            .iter()
            .flat_map(|key| self.index.get(key).into_iter().flatten().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: Option<(u64, f64)> = None;
        for id in candidates {
            if let Some(cluster) = self.clusters.get(&id) {
                let s = similarity(&sig, &cluster.signature);
                if s >= self.config.similarity && best.is_none_or(|(_, b)| s > b) {
                    best = Some((id, s));
                }
            }
        }
        let id = match best {
            Some((id, _)) => id,
            None => self.create(sig, keys, c),
        };
        let config = self.config.clone();
        let cluster = self.clusters.get_mut(&id)?;
        cluster.last = cluster.last.max(c.received_at);
        for t in c.topics {
            match cluster.topics.get_mut(t) {
                Some(n) => *n += 1,
                None => {
                    cluster.topics.insert(t.clone(), 1);
                }
            }
        }
        // Evidence is built only where it is kept: most contacts join a cluster that has all
        // the evidence it keeps and never alerts.
        let evidence = || Evidence {
            source: c.source.to_owned(),
            id: c.id.to_owned(),
        };
        if cluster.first_contacts.len() < config.evidence {
            cluster.first_contacts.push(evidence());
        }
        while let Some((t, who)) = cluster.recent.front() {
            if c.received_at - *t <= config.window {
                break;
            }
            if cluster.in_window.get(who) == Some(t) {
                cluster.in_window.remove(who);
            }
            cluster.recent.pop_front();
        }
        // Customers are held as hashes of their pseudonyms: no allocation per contact, and a
        // collision (one in 2^64) would at worst undercount by one.
        let who = word_hash(c.customer);
        if cluster.in_window.contains_key(&who) {
            return None;
        }
        cluster.in_window.insert(who, c.received_at);
        cluster.recent.push_back((c.received_at, who));
        cluster.arrivals += 1;
        let result = assess(&config, cluster, c.received_at, evidence);
        self.expire(c.received_at);
        result
    }

    fn create(
        &mut self,
        signature: Signature,
        keys: [u64; BANDS],
        c: &ClusteredContact<'_>,
    ) -> u64 {
        if self.clusters.len() >= self.config.max_clusters {
            if let Some(oldest) = self.clusters.values().min_by_key(|k| k.last).map(|k| k.id) {
                self.remove(oldest);
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        for key in keys {
            self.index.entry(key).or_default().push(id);
        }
        self.clusters.insert(
            id,
            Cluster {
                id,
                signature,
                text: c.text.chars().take(500).collect(),
                created: c.received_at,
                last: c.received_at,
                in_window: HashMap::default(),
                recent: VecDeque::new(),
                arrivals: 0,
                may_alert: self
                    .origin
                    .is_some_and(|o| c.received_at - o >= Duration::hours(1)),
                topics: HashMap::default(),
                first_contacts: Vec::new(),
                alert: None,
            },
        );
        id
    }

    fn remove(&mut self, id: u64) {
        if let Some(cluster) = self.clusters.remove(&id) {
            for key in band_keys(&cluster.signature) {
                if let Some(ids) = self.index.get_mut(&key) {
                    ids.retain(|x| *x != id);
                    if ids.is_empty() {
                        self.index.remove(&key);
                    }
                }
            }
        }
    }

    /// Forgets clusters idle longer than the TTL. A full pass, so it runs once per ten minutes
    /// of event time, not on every contact.
    fn expire(&mut self, now: DateTime<Utc>) {
        if self
            .last_expiry
            .is_some_and(|t| now - t < Duration::minutes(10))
        {
            return;
        }
        self.last_expiry = Some(now);
        // One cutoff, compared with each cluster's last time: no date arithmetic per cluster.
        let cutoff = now - self.config.ttl;
        let stale: Vec<u64> = self
            .clusters
            .values()
            .filter(|k| k.last < cutoff)
            .map(|k| k.id)
            .collect();
        for id in stale {
            self.remove(id);
        }
    }
}

/// Whether the cluster's growth in the window is anomalous; raises or updates its alert.
fn assess(
    config: &ClusterConfig,
    k: &mut Cluster,
    now: DateTime<Utc>,
    newest: impl Fn() -> Evidence,
) -> Option<SpikeAlert> {
    let in_window = k.recent.len() as u64;
    let window_minutes = config.window.num_seconds() as f64 / 60.0;
    // Its own rate before the window, once it has a past longer than the window.
    let before = k.arrivals - in_window;
    let past_minutes = ((now - k.created) - config.window).num_seconds() as f64 / 60.0;
    let rate = if past_minutes > window_minutes {
        (before as f64 / past_minutes).max(config.new_cluster_rate)
    } else {
        config.new_cluster_rate
    };
    let expected = rate * window_minutes;
    let tail = poisson_tail(in_window, expected);
    let emerging = k.may_alert && now - k.created <= config.emerging_for;
    if !emerging || in_window < config.min_customers || tail >= config.threshold {
        if k.alert
            .as_ref()
            .is_some_and(|a| now - a.raised_at > config.window)
        {
            k.alert = None;
        }
        return None;
    }
    let score = (-(tail.max(1e-300)).log10() / 10.0).clamp(0.0, 1.0);
    let topic = k
        .topics
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .filter(|(_, n)| **n * 2 >= k.arrivals)
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
        evidence: k.first_contacts.clone(),
        text: None,
        language: None,
        group_id: None,
    });
    alert.topic = topic;
    alert.raised_at = now;
    alert.observed = in_window;
    alert.customers = in_window;
    alert.expected = expected;
    alert.score = alert.score.max(score);
    alert.text = Some(k.text.clone());
    if alert.evidence.len() < config.evidence {
        let newest = newest();
        if !alert.evidence.contains(&newest) {
            alert.evidence.push(newest);
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

    #[test]
    fn near_duplicates_share_a_signature_and_strangers_do_not() {
        let a = signature(
            "Got this SMS: your account is suspended, verify now at [link] or lose access",
        )
        .unwrap();
        let b = signature("hi, got this sms: your account is suspended, verify now at [link] or lose access!! is it you?").unwrap();
        let c = signature("Where is my order? It was supposed to arrive yesterday").unwrap();
        assert!(similarity(&a, &b) >= 0.5, "{}", similarity(&a, &b));
        assert!(similarity(&a, &c) < 0.2);
        assert!(signature("too short").is_none());
    }

    #[test]
    fn a_new_text_from_many_customers_alerts_and_a_steady_template_does_not() {
        let mut t = ClusterTracker::new(ClusterConfig::default());
        let topics = vec![];
        let mut alerts = Vec::new();
        // A steady template: one customer every 5 minutes for two days.
        for m in 0..(2 * 24 * 12) {
            let id = format!("o{m}");
            let customer = format!("c{m}");
            let c = ClusteredContact {
                source: "s",
                id: &id,
                received_at: at(m * 5),
                text: "Where is my order? It was supposed to arrive yesterday",
                normalized: None,
                customer: &customer,
                topics: &topics,
            };
            alerts.extend(t.add(&c));
        }
        assert!(alerts.is_empty(), "{alerts:?}");
        // A new phishing text: eight customers in ten minutes.
        for k in 0..8 {
            let id = format!("p{k}");
            let customer = format!("victim{k}");
            let text = format!(
                "got this text: your parcel is held, pay the customs fee at [link] now ({k})"
            );
            let c = ClusteredContact {
                source: "s",
                id: &id,
                received_at: at(2 * 24 * 60 + k),
                text: &text,
                normalized: None,
                customer: &customer,
                topics: &topics,
            };
            alerts.extend(t.add(&c));
        }
        let last = alerts.last().expect("a cluster alert");
        assert_eq!(last.kind, AlertKind::Cluster);
        assert!(last.observed >= 5);
        assert!(last.evidence.iter().any(|e| e.id == "p0"));
        assert!(last.text.as_deref().unwrap().contains("customs fee"));
        // The same customer again adds nothing.
        let c = ClusteredContact {
            source: "s",
            id: "again",
            received_at: at(2 * 24 * 60 + 9),
            text: "got this text: your parcel is held, pay the customs fee at [link] now (1)",
            normalized: None,
            customer: "victim1",
            topics: &topics,
        };
        assert!(t.add(&c).is_none());
    }

    #[test]
    fn idle_clusters_are_forgotten_after_their_ttl() {
        let mut t = ClusterTracker::new(ClusterConfig::default());
        let topics = vec![];
        let texts = [
            "the parcel locker at the station will not open at all",
            "your invoice for november shows a wrong delivery address",
        ];
        for (k, text) in texts.iter().enumerate() {
            let id = format!("c{k}");
            // Thirteen hours apart: past the 12-hour TTL.
            let c = ClusteredContact {
                source: "s",
                id: &id,
                received_at: at(k as i64 * 13 * 60),
                text,
                normalized: None,
                customer: &id,
                topics: &topics,
            };
            t.add(&c);
        }
        assert_eq!(t.len(), 1, "the first cluster expired");
    }
}
