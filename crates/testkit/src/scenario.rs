//! A realistic synthetic fortnight of contacts, for detection tests and benchmarks: a daily and
//! weekly rhythm of ordinary questions, with four injected episodes (a phishing campaign, an
//! account-takeover wave, an outage, and a benign marketing spike). Deterministic for a seed.

use chrono::{DateTime, Duration, TimeZone, Utc};

/// One injected episode.
#[derive(Debug, Clone)]
pub struct Episode {
    /// What it is (`phishing`, `account_takeover`, `outage`, `benign`).
    pub name: &'static str,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// How long it lasts.
    pub length: Duration,
    /// Extra contacts per minute while it lasts.
    pub rate: f64,
    service: &'static str,
    texts: &'static [&'static str],
}

/// The scenario: its contacts (NDJSON lines, in event-time order) and its episodes.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// One JSON contact per line, ordered by `received_at`.
    pub ndjson: String,
    /// The injected episodes.
    pub episodes: Vec<Episode>,
    /// The first minute.
    pub start: DateTime<Utc>,
    /// How many contacts.
    pub contacts: usize,
}

const ORDINARY: &[&str] = &[
    "Where is my order? It was supposed to arrive yesterday",
    "How do I change my delivery address?",
    "I want a refund for order #88213455",
    "Can I add a second user to my plan?",
    "Your invoice shows the wrong VAT number",
    "forgot my password, how do I reset it",
    "the app is slow this morning",
    "Wo ist meine Bestellung?",
    "Je voudrais changer mon adresse",
    "Quiero cancelar mi suscripción",
    "Thanks for the quick help last week!",
    "Is there a student discount?",
];
const PHISHING: &[&str] = &[
    "Got a text saying my account is suspended and I must click a link, is this real?",
    "I received an SMS from you asking me to verify your account at a weird link",
    "Is this you? Email says my account will be closed unless I confirm my password",
    "Ich habe eine SMS bekommen, mein Konto sei gesperrt, ist das echt?",
];
const TAKEOVER: &[&str] = &[
    "Someone changed my password and now I can't log in",
    "My email was changed and I didn't do it, account hacked?",
    "There is a login from another country, not me!!",
    "Jemand hat mein Passwort geändert",
];
const OUTAGE: &[&str] = &[
    "app down again?? nothing loads",
    "website down, getting error 503",
    "Checkout is not working at all",
    "La app no funciona",
];
const BENIGN: &[&str] = &[
    "The promo code SAVE20 from your newsletter is not accepted at checkout",
    "Where is my 20% discount from the email?",
    "Does the SAVE20 offer also apply to renewals?",
];

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson count by inverse transform (rates here are small).
    fn poisson(&mut self, lambda: f64) -> u32 {
        let l = (-lambda).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.next();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[(self.next() * items.len() as f64) as usize % items.len()]
    }
}

/// Ordinary contacts per minute at `t`: quiet nights, busy days, quieter weekends.
fn base_rate(t: DateTime<Utc>) -> f64 {
    use chrono::{Datelike, Timelike};
    let hour = t.hour() as f64 + t.minute() as f64 / 60.0;
    let day =
        0.15 + 1.6 * (((hour - 14.0) / 24.0 * std::f64::consts::TAU).cos() * 0.5 + 0.5).powi(2);
    let weekend = matches!(t.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
    if weekend { day * 0.6 } else { day }
}

/// Two weeks from Monday 2026-11-02.
pub fn fortnight(seed: u64) -> Scenario {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 2, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let at = |day: i64, hour: u32| start + Duration::days(day) + Duration::hours(i64::from(hour));
    let episodes = vec![
        Episode {
            name: "phishing",
            start: at(4, 10),
            length: Duration::hours(3),
            rate: 1.2,
            service: "mobile",
            texts: PHISHING,
        },
        Episode {
            name: "benign",
            start: at(6, 12),
            length: Duration::hours(2),
            rate: 4.0,
            service: "web",
            texts: BENIGN,
        },
        Episode {
            name: "account_takeover",
            start: at(8, 14),
            length: Duration::hours(2),
            rate: 1.0,
            service: "login",
            texts: TAKEOVER,
        },
        Episode {
            name: "outage",
            start: at(11, 9),
            length: Duration::minutes(45),
            rate: 8.0,
            service: "web",
            texts: OUTAGE,
        },
    ];
    let mut rng = Rng(seed.wrapping_add(7));
    let mut ndjson = String::new();
    let mut n = 0usize;
    let channels = ["ticket", "chat", "email", "call", "social"];
    let services = ["web", "mobile", "login", "payments"];
    for minute in 0..(14 * 24 * 60) {
        let t = start + Duration::minutes(minute);
        let mut lines: Vec<(f64, String, &str)> = Vec::new();
        for _ in 0..rng.poisson(base_rate(t)) {
            lines.push((
                rng.next(),
                rng.pick(ORDINARY).to_owned(),
                services[(rng.next() * 4.0) as usize % 4],
            ));
        }
        for e in &episodes {
            if t >= e.start && t < e.start + e.length {
                for _ in 0..rng.poisson(e.rate) {
                    lines.push((rng.next(), rng.pick(e.texts).to_owned(), e.service));
                }
            }
        }
        lines.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (offset, text, service) in lines {
            let when = t + Duration::milliseconds((offset * 59_999.0) as i64);
            let line = serde_json::json!({
                "id": format!("s{seed}-{n}"),
                "source": "zendesk",
                "channel": channels[(rng.next() * 5.0) as usize % 5],
                "received_at": when.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "text": text,
                "customer": format!("cust-{}", (rng.next() * 1e6) as u64),
                "service": service,
            });
            ndjson.push_str(&line.to_string());
            ndjson.push('\n');
            n += 1;
        }
    }
    Scenario {
        ndjson,
        episodes,
        start,
        contacts: n,
    }
}
