//! Emerging themes, with no taxonomy at all: words and word pairs that several customers
//! suddenly use far more than their own usual share of contacts (a lure's domain, an error
//! code, a merchant's descriptor, "code I didn't ask for"), grouped into one theme by occurring
//! in the same contacts. This catches what nobody has put in a taxonomy yet, in any language.
//!
//! Each word's usual share is an exponentially decayed count over contacts that have left the
//! recent window (so a burst does not become its own baseline at once), divided by the same
//! decayed count of all contacts. Share-based expectation follows the daily rhythm by itself:
//! at 3 a.m. fewer contacts mean fewer expected uses. A word fires when its count in the window
//! is a Poisson tail event against that expectation, from enough distinct customers.
//! Memory is bounded: rare words are forgotten, and at most `max_words` are kept.

use crate::detector::DetectedContact;
use crate::spikes::{AlertKind, Evidence, SpikeAlert, poisson_tail};
use chrono::{DateTime, Duration, Utc};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use smallvec::SmallVec;
use std::collections::VecDeque;

/// Settings of theme detection.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeConfig {
    /// How far back the recent count of a word reaches.
    pub window: Duration,
    /// How long a word's usual share remembers (the time constant of its decay).
    pub memory: Duration,
    /// Fewest distinct customers using a word in the window before it can fire.
    pub min_customers: usize,
    /// Fewest for a word never seen before (its usual share is nothing): a lure's domain or
    /// a new error code is news at fewer customers than a familiar word's rise.
    pub min_customers_new: usize,
    /// Fewest for a host name (a lure's domain as customers quote it), new or already heard
    /// of: a domain that several customers quote within the hour, far above its own usual
    /// rate, is the clearest sign of a campaign there is, and each contact that quotes it is
    /// one more recipient. A lure's domain is often known before its wave: a few customers
    /// report the first texts days earlier, so "never seen" alone would miss it.
    pub min_customers_host: usize,
    /// Tail probability below which a host name fires: far fewer host names than words are
    /// watched, so it can be less strict.
    pub host_threshold: f64,
    /// Fewest times its recent count must exceed the expected count.
    pub min_ratio: f64,
    /// Tail probability below which a word fires (strict: thousands of words are watched).
    pub threshold: f64,
    /// Contacts seen before any word may fire (the baseline needs a past).
    pub warmup_contacts: u64,
    /// A theme without new contacts for this long is over.
    pub close_after: Duration,
    /// Most words remembered.
    pub max_words: usize,
    /// Contacts kept as evidence per theme.
    pub evidence: usize,
    /// What its alert ids begin with (`theme:…`): trackers side by side keep theirs apart.
    pub name: &'static str,
    /// Whether host names quoted in the text are watched besides words.
    pub hosts: bool,
}

impl Default for ThemeConfig {
    fn default() -> Self {
        Self {
            window: Duration::minutes(90),
            memory: Duration::days(4),
            min_customers: 5,
            min_customers_new: 4,
            min_customers_host: 3,
            host_threshold: 1e-6,
            min_ratio: 3.0,
            threshold: 1e-8,
            warmup_contacts: 2_000,
            close_after: Duration::hours(3),
            max_words: 400_000,
            evidence: 20,
            name: "theme",
            hosts: true,
        }
    }
}

impl ThemeConfig {
    /// The settings for themes among security reports only (contacts with a security topic):
    /// a word every customer uses ("bank", "details", "cambiado") is no theme overall, yet
    /// news when four customers' fraud or takeover reports suddenly share it, or three share a
    /// word never seen in such reports. The stream is about a fiftieth of all contacts, so fewer
    /// words are watched and the customers needed are fewer. Host names are left to the
    /// overall tracker: security reports quote a shortener or a one-off lure domain every
    /// day, and three of them in an hour was, on the drills, background more often than a
    /// wave.
    pub fn security_reports(overall: &ThemeConfig) -> ThemeConfig {
        ThemeConfig {
            name: "security-theme",
            min_customers: 4,
            min_customers_new: 3,
            hosts: false,
            threshold: 1e-6,
            warmup_contacts: 300,
            ..overall.clone()
        }
    }
}

#[derive(Debug, Clone)]
struct Word {
    text: String,
    /// Decayed count of contacts (out of the window) that used it, as of `at` (Unix seconds:
    /// plain numbers, since date arithmetic per word and contact was a visible share of a
    /// replay).
    usual: f64,
    at: i64,
    /// Contacts in the window that use it.
    recent: u32,
    /// Distinct customers among them (hashes), counted up to the most any test needs: a
    /// handful, so a short inline list (no allocation, no hashing) holds them.
    ///
    /// Held as the low 32 bits of each customer's hash: five customers colliding there is one
    /// in hundreds of millions, and the list then fits where an empty hash set did.
    customers: SmallVec<[u32; 5]>,
}

#[derive(Debug, Clone)]
struct Recent {
    at: DateTime<Utc>,
    words: Vec<u64>,
    customer: u64,
    contact: Evidence,
}

#[derive(Debug, Clone)]
struct Theme {
    words: Vec<u64>,
    last: DateTime<Utc>,
    topics: HashMap<String, u64>,
    members: u64,
    customers: HashSet<u64>,
    alert: SpikeAlert,
}

/// The theme tracker.
#[derive(Debug, Clone)]
pub struct ThemeTracker {
    config: ThemeConfig,
    words: HashMap<u64, Word>,
    window: VecDeque<Recent>,
    /// Decayed count of all contacts out of the window, as of `total_at`.
    total: f64,
    total_at: Option<DateTime<Utc>>,
    seen: u64,
    themes: Vec<Theme>,
    last_prune: Option<DateTime<Utc>>,
    /// The latest event time seen.
    latest: Option<DateTime<Utc>>,
}

/// A word whose decayed usual count is below this has not been used out of the window in
/// the memory's span: it is new.
const NEW_WORD: f64 = 0.5;

/// Keeps a host name's hash apart from a word's with the same letters.
const HOST_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// Words that say nothing about what happened, in the languages customers write most; and the
/// placeholders that redaction leaves.
const STOP_WORDS: &[&str] = &[
    // placeholders
    "email", "phone", "card", "iban", "ip", // en
    "the", "and", "for", "you", "your", "with", "this", "that", "have", "has", "had", "was", "are",
    "but", "not", "can", "cant", "its", "from", "what", "why", "how", "when", "all", "just", "now",
    "get", "got", "any", "our", "out", "they", "them", "there", "here", "please", "pls", "thanks",
    "thank", "hello", "hey", "dear", "regards", "customer", "bot", "again", "still", "been",
    "will", "would", "could", "should", "about", "into", "some", "one", "today", "did", "didnt",
    "dont", "does", "doesnt", "ive", "im", "yes", "who", "help", "sent", "also", // de
    "der", "die", "das", "und", "ich", "mein", "meine", "meinen", "mir", "mich", "ist", "nicht",
    "ein", "eine", "einen", "mit", "von", "bei", "auf", "fur", "sie", "ihr", "ihre", "euch",
    "habe", "hat", "bin", "sind", "wie", "was", "warum", "auch", "noch", "schon", "bitte", "danke",
    "hallo", "kunde", "kundin", "den", "dem", "des", "wird", "wurde", "kann", "aber", "oder",
    // fr
    "les", "des", "une", "est", "pas", "que", "qui", "pour", "dans", "sur", "mon", "mes", "vous",
    "votre", "vos", "avec", "jai", "moi", "mais", "plus", "tout", "merci", "bonjour", "client",
    "cliente", "cest", "suis", "par", "aux", "ete", // es
    "los", "las", "del", "con", "por", "para", "una", "que", "mis", "esta", "este", "pero", "muy",
    "hola", "gracias", "como", "cuando", "hay", "sin", "ayuda", // it
    "che", "non", "per", "con", "una", "del", "della", "mio", "mia", "sono", "questo", "questa",
    "grazie", "ciao", "salve", "come", "anche", "gli", "alla", // nl
    "het", "een", "van", "niet", "mijn", "met", "voor", "dat", "die", "wat", "ook", "maar",
    "jullie", "bij", "heb", "naar", "nog", "dank", "hoi", "klant", "wel", "geen", "kan",
];

fn is_stop(word: &str) -> bool {
    static SET: std::sync::LazyLock<HashSet<&'static str>> =
        std::sync::LazyLock::new(|| STOP_WORDS.iter().copied().collect());
    SET.contains(word)
}

/// A word or adjacent word pair of a text that can make a theme: its hash, and the text to
/// name it by (built only for a term not yet remembered).
struct Term<'a> {
    hash: u64,
    first: &'a str,
    second: Option<&'a str>,
}

impl Term<'_> {
    fn text(&self) -> String {
        match self.second {
            Some(second) => format!("{} {second}", self.first),
            None => self.first.to_owned(),
        }
    }
}

/// The host names a (redacted, not normalised) text quotes, lower-cased and without a
/// leading `www.`: `secure-example.app` in "link is secure-example.app" or
/// "https://www.secure-example.app/x". Normalising would split one into its labels, and a
/// campaign's domain is only telling whole.
fn hosts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let is_host_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    for token in text.split(|c: char| !is_host_char(c)) {
        let token = token.trim_matches(|c| c == '.' || c == '-');
        if token.len() < 4 || token.len() > 80 || !token.contains('.') {
            continue;
        }
        let lower = token.to_ascii_lowercase();
        let host = lower.strip_prefix("www.").unwrap_or(&lower);
        let labels: Vec<&str> = host.split('.').collect();
        let Some(tld) = labels.last() else { continue };
        // A name, not a number (1.50), an abbreviation (z.b) or a file (scan.pdf).
        let named = labels.iter().all(|l| !l.is_empty())
            && (2..=12).contains(&tld.len())
            && tld.bytes().all(|b| b.is_ascii_alphabetic())
            && !FILE_TYPES.contains(tld)
            && labels[..labels.len() - 1]
                .iter()
                .any(|l| l.len() >= 2 && l.bytes().any(|b| b.is_ascii_alphabetic()));
        if named && !out.iter().any(|h| h == host) {
            out.push(host.to_owned());
        }
    }
    out
}

/// Whether a text has a letter or digit, a dot and a letter in a row: most have none, and
/// need no closer look.
fn may_quote_a_host(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[1] == b'.' && w[2].is_ascii_alphabetic() && w[0].is_ascii_alphanumeric())
}

/// Endings that name a file, not a host.
const FILE_TYPES: &[&str] = &[
    "pdf", "png", "jpg", "jpeg", "gif", "doc", "docx", "txt", "csv", "xls", "xlsx", "zip", "heic",
];

/// The distinct terms of a normalised text.
fn terms(norm: &str) -> Vec<Term<'_>> {
    let words: Vec<&str> = norm
        .split(' ')
        .filter(|w| w.len() >= 3 && w.len() <= 40 && !is_stop(w))
        .collect();
    let mut out: Vec<Term<'_>> = Vec::with_capacity(words.len() * 2);
    for (i, w) in words.iter().enumerate() {
        // Long bare numbers (amounts, dates, references) vary per contact; a code keeps its
        // letters, and a short number (an HTTP status, a price) may well be the theme.
        if w.bytes().all(|b| b.is_ascii_digit()) && w.len() > 4 {
            continue;
        }
        out.push(Term {
            hash: crate::clusters::word_hash(w),
            first: w,
            second: None,
        });
        if let Some(next) = words.get(i + 1) {
            out.push(Term {
                hash: crate::clusters::pair_hash(w, next),
                first: w,
                second: Some(next),
            });
        }
    }
    out.sort_unstable_by_key(|t| t.hash);
    out.dedup_by_key(|t| t.hash);
    out
}

impl ThemeTracker {
    /// A tracker with `config`.
    pub fn new(config: ThemeConfig) -> Self {
        Self {
            config,
            words: HashMap::default(),
            window: VecDeque::new(),
            total: 0.0,
            total_at: None,
            seen: 0,
            themes: Vec::new(),
            last_prune: None,
            latest: None,
        }
    }

    /// How many words are remembered (for memory reports).
    pub fn words(&self) -> usize {
        self.words.len()
    }

    fn decay(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        decay_secs(&self.config, (to - from).num_seconds())
    }

    /// Adds a contact, whose redacted text normalised ([`crate::classify::normalize`]) is
    /// `normalized`; returns the theme alerts it raised or updated.
    pub fn add(&mut self, c: &DetectedContact<'_>, normalized: &str) -> Vec<SpikeAlert> {
        let now = c.received_at;
        self.seen += 1;
        // The window ends at the latest time seen, not this contact's: a backfill of older
        // contacts must not stop contacts from leaving it (the window grew by a day's worth
        // of contacts each time input went back in time).
        let latest = self.latest.map_or(now, |l| l.max(now));
        self.latest = Some(latest);
        self.leave_window(latest);
        // A contact already older than the window when it arrives (a backfill) is no burst,
        // and kept in the window it would stay there behind newer ones: it is left out.
        if latest - now > self.config.window {
            return Vec::new();
        }
        // Without a customer, the contact counts as its own customer.
        let who = crate::clusters::word_hash(c.customer.unwrap_or(c.id));
        let mut terms = terms(normalized);
        let hosts = if self.config.hosts && may_quote_a_host(c.text) {
            hosts(c.text)
        } else {
            Vec::new()
        };
        terms.extend(hosts.iter().map(|h| Term {
            hash: crate::clusters::word_hash(h) ^ HOST_SALT,
            first: h,
            second: None,
        }));
        let mut hashes = Vec::with_capacity(terms.len());
        let most_customers = self.most_customers_needed();
        // Which words now fire is judged as each is counted, while its entry is at hand (a
        // second look-up per word in a table of a hundred thousand was a cache miss each).
        // A contact's terms are distinct, so each is final once counted; the window's scale
        // is what it will be with this contact in it.
        let judge = self.seen >= self.config.warmup_contacts;
        let scale = (self.window.len() + 1) as f64 / (self.decayed_total(now) + 1.0);
        let mut fired: Vec<u64> = Vec::new();
        for term in terms {
            let h = term.hash;
            if self.words.len() >= self.config.max_words && !self.words.contains_key(&h) {
                continue;
            }
            let word = self.words.entry(h).or_insert_with(|| Word {
                text: term.text(),
                usual: 0.0,
                at: now.timestamp(),
                recent: 0,
                customers: SmallVec::new(),
            });
            word.recent += 1;
            // Only whether enough distinct customers used the word matters, so the set stops
            // growing there: a common word no longer holds a thousand hashes.
            let short = who as u32;
            if word.customers.len() < most_customers && !word.customers.contains(&short) {
                word.customers.push(short);
            }
            if judge && word_fires(&self.config, word, now.timestamp(), scale) {
                fired.push(h);
            }
            hashes.push(h);
        }
        let evidence = Evidence {
            source: c.source.to_owned(),
            id: c.id.to_owned(),
        };
        self.window.push_back(Recent {
            at: now,
            words: hashes,
            customer: who,
            contact: evidence.clone(),
        });
        let mut out = Vec::new();
        // The contact's words, as the window now holds them (borrowed, not copied).
        let hashes: &[u64] = self.window.back().map_or(&[], |r| r.words.as_slice());
        // Contacts that carry an open theme's words, while those words are still well above
        // their usual share, join it (a theme of a common word ends with its burst). Most of
        // the time no theme is open, and nothing need be computed.
        let open = |t: &Theme| now - t.last <= self.config.close_after;
        let elevated: Vec<u64> = if self.themes.iter().any(open) {
            hashes
                .iter()
                .copied()
                .filter(|h| self.ratio(*h, now, scale) >= 2.0)
                .collect()
        } else {
            Vec::new()
        };
        let mut joined = false;
        for theme in &mut self.themes {
            if now - theme.last > self.config.close_after {
                continue;
            }
            let shared = theme.words.iter().filter(|w| elevated.contains(w)).count();
            if shared * 2 >= theme.words.len().min(4) && shared > 0 {
                joined = true;
                theme.last = now;
                if theme.customers.insert(who) {
                    theme.members += 1;
                    for t in c.topics {
                        *theme.topics.entry(t.clone()).or_default() += 1;
                    }
                    if theme.alert.evidence.len() < self.config.evidence {
                        theme.alert.evidence.push(evidence.clone());
                    }
                    theme.alert.observed = theme.members;
                    theme.alert.customers = theme.customers.len() as u64;
                    theme.alert.raised_at = now;
                    theme.alert.topic = topic_of(&theme.topics, theme.members);
                    // Updates at growing steps, so a long wave does not print a line per contact.
                    if theme.members.is_power_of_two() || theme.members % 25 == 0 {
                        out.push(theme.alert.clone());
                    }
                }
            }
        }
        if joined || !judge {
            return out;
        }
        if fired.is_empty() {
            return out;
        }
        out.push(self.open(fired, now, c.topics));
        self.prune(now);
        out
    }

    /// Word `h`'s count in the window and what its usual share makes of the window.
    fn observed_expected(&self, h: u64, now: DateTime<Utc>, scale: f64) -> Option<(u64, f64)> {
        let word = self.words.get(&h)?;
        Some(observed_expected(
            &self.config,
            word,
            now.timestamp(),
            scale,
        ))
    }

    /// What a word's usual count (plus one half) is multiplied by to give its expected count
    /// in the window now: the window's size over the decayed count of all contacts. The same
    /// for every word of a contact, so computed once per contact.
    fn scale(&self, now: DateTime<Utc>) -> f64 {
        self.window.len() as f64 / (self.decayed_total(now) + 1.0)
    }

    /// The decayed count of all contacts out of the window, as of `now`.
    fn decayed_total(&self, now: DateTime<Utc>) -> f64 {
        self.total * self.total_at.map_or(1.0, |t| self.decay(t, now))
    }

    /// How many times its expected count word `h` now has in the window.
    fn ratio(&self, h: u64, now: DateTime<Utc>, scale: f64) -> f64 {
        self.observed_expected(h, now, scale)
            .map_or(0.0, |(count, expected)| count as f64 / expected.max(1e-9))
    }

    /// The most distinct customers any word's test needs: a word's set stops growing there.
    fn most_customers_needed(&self) -> usize {
        let c = &self.config;
        c.min_customers
            .max(c.min_customers_new)
            .max(c.min_customers_host)
    }

    /// Opens a theme named by the fired words, with the contacts of the window that carry
    /// them as its first members.
    fn open(&mut self, fired: Vec<u64>, now: DateTime<Utc>, topics: &[String]) -> SpikeAlert {
        let mut names: Vec<&Word> = fired.iter().filter_map(|h| self.words.get(h)).collect();
        // Rarest usual share first: the most telling words lead the name.
        names.sort_by(|a, b| a.usual.total_cmp(&b.usual).then(a.text.cmp(&b.text)));
        let label: Vec<String> = names.iter().take(6).map(|w| w.text.clone()).collect();
        let members: Vec<&Recent> = self
            .window
            .iter()
            .filter(|r| r.words.iter().any(|w| fired.contains(w)))
            .collect();
        // A common word is in the window before its burst too: the burst is its newest
        // contacts beyond the expected count, and only they start the theme and stand as its
        // evidence (the older ones are ordinary traffic, and would date the theme hours back).
        let scale = self.scale(now);
        let excess = fired
            .iter()
            .filter_map(|h| self.observed_expected(*h, now, scale))
            .map(|(count, expected)| (count as f64 - expected).ceil().max(1.0) as usize)
            .max()
            .unwrap_or(members.len());
        let members = &members[members.len().saturating_sub(excess)..];
        let started = members.first().map_or(now, |r| r.at);
        let customers: HashSet<u64> = members.iter().map(|r| r.customer).collect();
        let evidence: Vec<Evidence> = members
            .iter()
            .take(self.config.evidence)
            .map(|r| r.contact.clone())
            .collect();
        let mut topic_counts = HashMap::default();
        for t in topics {
            topic_counts.insert(t.clone(), 1);
        }
        let alert = SpikeAlert {
            alert_id: format!(
                "{}:{}:{}",
                self.config.name,
                label.first().map_or("", String::as_str).replace(' ', "_"),
                started.format("%Y-%m-%dT%H:%MZ")
            ),
            kind: AlertKind::Theme,
            topic: topic_of(&topic_counts, 1),
            service: None,
            channel: None,
            started_at: started,
            raised_at: now,
            observed: members.len() as u64,
            customers: customers.len() as u64,
            expected: 0.0,
            score: 1.0,
            evidence,
            text: Some(label.join(", ")),
            language: None,
            group_id: None,
        };
        self.themes
            .retain(|t| now - t.last <= self.config.close_after);
        self.themes.push(Theme {
            words: fired,
            last: now,
            topics: topic_counts,
            members: 1,
            customers,
            alert: alert.clone(),
        });
        alert
    }

    /// Moves contacts older than the window into the words' usual shares.
    fn leave_window(&mut self, now: DateTime<Utc>) {
        while let Some(front) = self.window.front() {
            if now - front.at <= self.config.window {
                break;
            }
            let Some(gone) = self.window.pop_front() else {
                break;
            };
            let decay = self.total_at.map_or(1.0, |t| self.decay(t, gone.at));
            self.total = self.total * decay + 1.0;
            self.total_at = Some(gone.at);
            let memory = self.config.memory.num_seconds().max(1) as f64;
            let gone_at = gone.at.timestamp();
            for h in gone.words {
                if let Some(word) = self.words.get_mut(&h) {
                    let secs = (gone_at - word.at).max(0) as f64;
                    word.usual = word.usual * (-secs / memory).exp() + 1.0;
                    word.at = gone_at;
                    word.recent = word.recent.saturating_sub(1);
                    if word.recent == 0 {
                        word.customers.clear();
                    }
                }
            }
        }
    }

    /// Forgets words rarely used and out of the window, at most once an hour of event time.
    fn prune(&mut self, now: DateTime<Utc>) {
        if self
            .last_prune
            .is_some_and(|t| now - t < Duration::hours(1))
        {
            return;
        }
        self.last_prune = Some(now);
        let memory = self.config.memory.num_seconds().max(1) as f64;
        let now = now.timestamp();
        self.words.retain(|_, w| {
            let secs = (now - w.at).max(0) as f64;
            w.recent > 0 || w.usual * (-secs / memory).exp() >= 0.05
        });
    }
}

/// A word's count in the window and what its usual share makes of the window (`scale`: the
/// window's size over the decayed count of all contacts), at `now` (Unix seconds).
fn observed_expected(config: &ThemeConfig, w: &Word, now: i64, scale: f64) -> (u64, f64) {
    let usual = w.usual * decay_secs(config, now - w.at);
    (u64::from(w.recent), (usual + 0.5) * scale)
}

/// What is left of a count after `secs` seconds (none lost when negative).
fn decay_secs(config: &ThemeConfig, secs: i64) -> f64 {
    (-(secs.max(0) as f64) / config.memory.num_seconds().max(1) as f64).exp()
}

/// Whether word `w` is now far above its usual share, from enough customers.
fn word_fires(config: &ThemeConfig, w: &Word, now: i64, scale: f64) -> bool {
    // Most words of most contacts have too few customers for any test: decided before
    // looking at what kind of word it is.
    let fewest = config
        .min_customers
        .min(config.min_customers_new)
        .min(config.min_customers_host);
    if w.customers.len() < fewest {
        return false;
    }
    let new = w.usual < NEW_WORD;
    // Only host names hold a dot: normalised words never do.
    let (min, threshold) = if w.text.contains('.') {
        (config.min_customers_host, config.host_threshold)
    } else if new && !w.text.contains(' ') {
        (config.min_customers_new, config.threshold)
    } else {
        (config.min_customers, config.threshold)
    };
    if w.customers.len() < min {
        return false;
    }
    let (count, expected) = observed_expected(config, w, now, scale);
    count as f64 >= config.min_ratio * expected && poisson_tail(count, expected) < threshold
}

/// A theme's topic: the one most of its contacts have, when at least half have it.
fn topic_of(topics: &HashMap<String, u64>, members: u64) -> Option<String> {
    topics
        .iter()
        .filter(|(t, _)| *t != "other")
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .filter(|(_, n)| **n * 2 >= members)
        .map(|(t, _)| t.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn contact<'a>(id: &'a str, at: DateTime<Utc>, topics: &'a [String]) -> DetectedContact<'a> {
        DetectedContact {
            source: "t",
            id,
            received_at: at,
            text: "",
            normalized: None,
            topics,
            service: None,
            channel: "chat",
            customer: Some(id),
            language: None,
        }
    }

    /// Two days of ordinary questions, a contact a minute, then (if `wave`) customers writing
    /// about a text from an unknown domain, one every three minutes.
    fn run(wave: bool) -> Vec<SpikeAlert> {
        let ordinary = [
            "where is my parcel it has been a week",
            "how do i change my delivery address",
            "my refund has not arrived yet",
            "i cannot log in since this morning",
            "the app is slow today",
            "please cancel my subscription",
        ];
        let mut tracker = ThemeTracker::new(ThemeConfig::default());
        let mut out = Vec::new();
        let topics: Vec<String> = Vec::new();
        for m in 0..(3 * 24 * 60) {
            let norm = ordinary[(m % 6) as usize];
            let id = format!("c{m}");
            out.extend(tracker.add(&contact(&id, at(m), &topics), norm));
            if wave && m >= 2 * 24 * 60 && m % 3 == 0 {
                let id = format!("w{m}");
                let norm = format!("got a text from parcel-redirect example asking to pay {m}");
                out.extend(tracker.add(&contact(&id, at(m), &topics), &norm));
            }
        }
        out
    }

    /// Two days of ordinary traffic, then four customers within the hour using a word never
    /// seen before; the alerts it raised with `config`.
    fn four_with_a_new_word(config: ThemeConfig) -> Vec<SpikeAlert> {
        let mut tracker = ThemeTracker::new(config);
        let topics: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for m in 0..(2 * 24 * 60) {
            let id = format!("c{m}");
            out.extend(tracker.add(
                &contact(&id, at(m), &topics),
                "where is my parcel it has been a week",
            ));
        }
        for i in 0..4 {
            let id = format!("w{i}");
            let norm = format!("what is this zorblatix message number {i}");
            out.extend(tracker.add(&contact(&id, at(2 * 24 * 60 + i * 10), &topics), &norm));
        }
        out
    }

    #[test]
    fn a_word_never_seen_before_is_news_at_fewer_customers() {
        let alerts = four_with_a_new_word(ThemeConfig::default());
        assert!(
            alerts
                .iter()
                .any(|a| a.text.as_deref().is_some_and(|t| t.contains("zorblatix"))),
            "{alerts:?}"
        );
        let strict = ThemeConfig {
            min_customers_new: 5,
            ..ThemeConfig::default()
        };
        assert!(four_with_a_new_word(strict).is_empty());
    }

    #[test]
    fn host_names_are_read_whole_and_numbers_files_and_sentences_are_not() {
        let text = "Got a text: verify at https://www.Secure-Example.app/x7Kq now. \
                    Also pay-here.example.co.uk? Charged 1.50. See scan.pdf. Thanks.Bye z.b";
        assert!(may_quote_a_host(text));
        assert_eq!(
            hosts(text),
            ["secure-example.app", "pay-here.example.co.uk", "thanks.bye"]
        );
        assert!(!may_quote_a_host("Charged 1.50 today. Why?"));
    }

    #[test]
    fn a_host_never_seen_before_is_news_at_three_customers() {
        let mut tracker = ThemeTracker::new(ThemeConfig::default());
        let topics: Vec<String> = Vec::new();
        let ordinary = "where is my parcel it has been a week";
        for m in 0..(2 * 24 * 60) {
            let id = format!("c{m}");
            tracker.add(&contact(&id, at(m), &topics), ordinary);
        }
        let mut alerts = Vec::new();
        for i in 0..3 {
            let id = format!("w{i}");
            let text =
                format!("is parcel-fee{i}.example.net yours? and what of parcel-redirect.example");
            let c = DetectedContact {
                text: &text,
                ..contact(&id, at(2 * 24 * 60 + i * 10), &topics)
            };
            alerts.extend(tracker.add(&c, &crate::classify::normalize(&text)));
        }
        let named: Vec<&str> = alerts.iter().filter_map(|a| a.text.as_deref()).collect();
        assert_eq!(named, ["parcel-redirect.example"], "{alerts:?}");
    }

    #[test]
    fn a_rare_host_quoted_by_a_campaign_is_news_too() {
        let mut tracker = ThemeTracker::new(ThemeConfig::default());
        let topics: Vec<String> = Vec::new();
        let ordinary = "where is my parcel it has been a week";
        let early = "got a text linking to verify-example.net is it you";
        // Two days of ordinary traffic in which the lure's domain turns up twice a day: the
        // first recipients of a campaign that has not started in earnest.
        for m in 0..(2 * 24 * 60) {
            let id = format!("c{m}");
            let text = if m % 720 == 360 { early } else { ordinary };
            let c = DetectedContact {
                text,
                ..contact(&id, at(m), &topics)
            };
            assert!(
                tracker
                    .add(&c, &crate::classify::normalize(text))
                    .is_empty()
            );
        }
        let mut alerts = Vec::new();
        for i in 0..5 {
            let id = format!("w{i}");
            let c = DetectedContact {
                text: early,
                ..contact(&id, at(2 * 24 * 60 + i * 8), &topics)
            };
            alerts.extend(tracker.add(&c, &crate::classify::normalize(early)));
        }
        let named: Vec<&str> = alerts.iter().filter_map(|a| a.text.as_deref()).collect();
        assert!(named.contains(&"verify-example.net"), "{alerts:?}");
    }

    #[test]
    fn contacts_from_the_past_do_not_hold_the_window_open() {
        let mut tracker = ThemeTracker::new(ThemeConfig::default());
        let topics: Vec<String> = Vec::new();
        let norm = "where is my parcel it has been a week";
        for m in 0..600 {
            let id = format!("c{m}");
            tracker.add(&contact(&id, at(24 * 60 + m), &topics), norm);
        }
        // A backfill from the day before: none of it may stay in the window.
        for m in 0..600 {
            let id = format!("b{m}");
            tracker.add(&contact(&id, at(m), &topics), norm);
        }
        let window = tracker.window.len();
        assert!(window <= 91 + 2, "the window holds {window} contacts");
    }

    #[test]
    fn ordinary_traffic_raises_no_theme() {
        assert!(run(false).is_empty());
    }

    #[test]
    fn new_words_from_several_customers_raise_one_named_theme_within_minutes() {
        let alerts = run(true);
        let first = alerts.first().expect("a theme alert");
        assert_eq!(first.kind, AlertKind::Theme);
        assert!(
            first.raised_at - at(2 * 24 * 60) <= Duration::minutes(20),
            "{first:?}"
        );
        let words = first.text.as_deref().unwrap_or_default();
        assert!(
            words.contains("redirect") || words.contains("parcel redirect"),
            "{words}"
        );
        let ids: std::collections::BTreeSet<&str> =
            alerts.iter().map(|a| a.alert_id.as_str()).collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert!(alerts.last().unwrap().evidence.len() >= 5);
    }
}
