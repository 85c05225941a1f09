//! `frontline serve --demo`: a realistic week of customer contacts, then a live incident played
//! in real time, so a new user sees the whole flow — a phishing wave in what customers write,
//! an early-warning alert, a security finding, one incident for both teams — within two
//! minutes of starting.
//!
//! Everything goes through the server's own public API on loopback (intake, redaction,
//! classification, detection and correlation are the real ones); the demo only plays the
//! customers and the security tool. The people it creates sign in with [`PASSWORD`].

use crate::plumbing::error::ApiError;
use chrono::{DateTime, Duration, Timelike, Utc};
use frontline_core::Role;
use frontline_store::Store;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The demo people's password (they are told to change nothing: it is a demo database).
pub const PASSWORD: &str = "frontline-demo";

/// The people the demo creates: one per team.
pub const PEOPLE: &[(&str, Role)] = &[
    ("ada", Role::Admin),
    ("carla", Role::CxLead),
    ("sam", Role::Security),
    ("cora", Role::Comms),
    ("alex", Role::CxAgent),
];

/// A small deterministic generator, so every demo tells the same story.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 10_000) as f64 / 10_000.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

/// What customers write on an ordinary day, by weight.
const EVERYDAY: &[(&str, u32)] = &[
    (
        "Where is my parcel? The tracking has not moved for three days.",
        14,
    ),
    ("How do I change the delivery address on my order?", 10),
    ("Can I get an invoice for my last order please", 8),
    (
        "I can't log in since this morning, it says wrong password",
        7,
    ),
    ("Forgot my password and the reset email never arrives", 5),
    ("I didn't get the code by SMS to sign in", 4),
    (
        "The app is very slow today, the payment page keeps spinning",
        3,
    ),
    ("Ich kann mich nicht einloggen, das Passwort ist falsch", 2),
    ("The checkout page shows error 500", 2),
    ("I want to cancel my subscription", 6),
    ("Got a suspicious email about my order, is this real?", 1),
];
const CHANNELS: &[&str] = &["ticket", "chat", "email", "call", "social"];
const SERVICES: &[&str] = &["web", "app", "login", "payments"];

/// What the phishing wave's victims write.
const WAVE: &[&str] = &[
    "Got a text saying my account is suspended with a link to verify, is this real?",
    "Did you send me an SMS asking for my password? The link goes to frontline-login.co",
    "I got an email saying my account is locked and it asked for my code",
    "Someone texted me pretending to be you, asking me to log in at frontline-login.co",
    "Is this legit? A message says my account will be closed unless I verify today",
    "Scam text with your logo asked for my one time code, I think I typed it in",
];

fn contact(
    id: String,
    at: DateTime<Utc>,
    text: &str,
    customer: u64,
    channel: &str,
    service: &str,
) -> Value {
    json!({
        "id": id,
        "source": "demo",
        "channel": channel,
        "received_at": at.to_rfc3339(),
        "text": text,
        "customer": format!("cust-{customer}"),
        "service": service,
        "language": if text.starts_with("Ich") { "de" } else { "en" },
    })
}

/// Contacts per hour at `hour` (UTC) of an ordinary day: quiet at night, busy in office hours.
fn hourly_rate(hour: u32) -> f64 {
    match hour {
        0..=5 => 3.0,
        6..=8 => 14.0,
        9..=17 => 32.0,
        18..=21 => 18.0,
        _ => 7.0,
    }
}

fn everyday(rng: &mut Lcg, id: String, at: DateTime<Utc>) -> Value {
    let total: u32 = EVERYDAY.iter().map(|(_, w)| w).sum();
    let mut roll = (rng.next() % u64::from(total)) as u32;
    let text = EVERYDAY
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map_or(EVERYDAY[0].0, |(t, _)| t);
    let customer = rng.next() % 20_000;
    let channel = rng.pick(CHANNELS);
    let service = rng.pick(SERVICES);
    contact(id, at, text, customer, channel, service)
}

/// The week before `now`, in time order: ordinary traffic with a daily rhythm.
pub fn history(now: DateTime<Utc>, run: &str) -> Vec<Value> {
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    let start = now - Duration::days(7);
    let mut hour_start = start;
    while hour_start < now {
        let rate = hourly_rate(hour_start.hour()) * (0.8 + 0.4 * rng.unit());
        let n = rate.round() as i64;
        for _ in 0..n {
            let at = hour_start + Duration::seconds((rng.next() % 3600) as i64);
            if at < now {
                out.push((at, rng.next()));
            }
        }
        hour_start += Duration::hours(1);
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter()
        .enumerate()
        .map(|(i, (at, seed))| everyday(&mut Lcg(seed), format!("{run}-h{i}"), at))
        .collect()
}

/// One step of the live incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A customer writes.
    Contact(Value),
    /// The e-mail security tool reports a finding.
    SecurityEvent(Value),
}

/// Seconds (of the story) the wave lasts, after which only ordinary traffic goes on.
pub const WAVE_ENDS: i64 = 150;

/// The live incident from `t0`: ordinary traffic all along; from 10 s a phishing wave that
/// builds up (victims of a lookalike domain write in, on every channel); at 45 s the e-mail
/// security tool reports the lookalike domain. Offsets in seconds of the story.
pub fn live(t0: DateTime<Utc>, run: &str) -> Vec<(i64, Step)> {
    let mut rng = Lcg(11);
    let mut steps = Vec::new();
    let mut n = 0u64;
    // Ordinary traffic: one contact every ~5 s.
    let mut t = 0i64;
    while t < WAVE_ENDS + 30 {
        n += 1;
        let at = t0 + Duration::seconds(t);
        steps.push((
            t,
            Step::Contact(everyday(&mut rng, format!("{run}-l{n}"), at)),
        ));
        t += 3 + (rng.next() % 5) as i64;
    }
    // The wave: every 3 s at first, then every second, then tailing off.
    let mut t = 10i64;
    let mut victim = 0u64;
    while t < WAVE_ENDS {
        victim += 1;
        let at = t0 + Duration::seconds(t);
        let text = rng.pick(WAVE);
        let channel = rng.pick(&["chat", "ticket", "call", "social", "email"]);
        steps.push((
            t,
            Step::Contact(contact(
                format!("{run}-w{victim}"),
                at,
                text,
                900_000 + victim,
                channel,
                "login",
            )),
        ));
        t += match t {
            ..30 => 3,
            30..100 => 1,
            _ => 2,
        };
    }
    steps.push((
        45,
        Step::SecurityEvent(json!({
            "id": format!("{run}-lookalike"),
            "source": "mail-security",
            "observed_at": (t0 + Duration::seconds(45)).to_rfc3339(),
            "severity": "high",
            "title": "Lookalike domain frontline-login.co used in a smishing and phishing campaign",
            "service": "login",
            "indicators": {"domains": ["frontline-login.co"], "messages_blocked": 1342},
        })),
    ));
    steps.sort_by_key(|(t, _)| *t);
    steps
}

/// Creates the demo people (with [`PASSWORD`]) and a token for the demo's feeder; says whether
/// the database is empty (then the week of history is loaded too).
///
/// # Errors
/// The store's.
pub async fn prepare(store: &dyn Store) -> Result<(String, bool), ApiError> {
    use crate::auth::session::hash_password;
    let origin = frontline_store::Origin::new(frontline_core::audit::Actor::System);
    let hash = tokio::task::spawn_blocking(|| hash_password(PASSWORD))
        .await
        .map_err(|e| ApiError::internal(format!("hashing the demo password: {e}")))?;
    for (name, role) in PEOPLE {
        store
            .set_password(name, Some(*role), &hash, false, &origin)
            .await?;
    }
    let (_, token) =
        crate::auth::token::issue(store, "demo-feeder", Role::Ingest, None, &origin).await?;
    let empty = store
        .list_contacts(&frontline_store::ContactQuery {
            limit: 1,
            ..Default::default()
        })
        .await?
        .items
        .is_empty();
    Ok((token, empty))
}

/// How to play.
#[derive(Debug, Clone)]
pub struct Play {
    /// The server's address (`http://127.0.0.1:8080`).
    pub base: String,
    /// An ingest token.
    pub token: String,
    /// Load the week before now first.
    pub history: bool,
    /// 1.0 is real time; tests play faster.
    pub speed: f64,
    /// Keep ordinary traffic going after the story, until shut down.
    pub keep_going: bool,
}

async fn send(
    client: &reqwest::Client,
    play: &Play,
    path: &str,
    body: &Value,
) -> anyhow::Result<()> {
    let r = client
        .post(format!("{}{path}", play.base))
        .bearer_auth(&play.token)
        .json(body)
        .send()
        .await?;
    let status = r.status();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    // A batch is taken in part when some elements are wrong: the demo sends none.
    if !status.is_success() || answer["rejected"].as_array().is_some_and(|r| !r.is_empty()) {
        anyhow::bail!("{path} answered {status}: {answer}");
    }
    Ok(())
}

/// Plays the demo against the server at `play.base`, until the story ends (or, with
/// `keep_going`, until `shutdown`).
///
/// # Errors
/// When the server refuses what the demo sends.
pub async fn play(play: Play, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let run = Utc::now().timestamp().to_string();
    let t0 = Utc::now();
    if play.history {
        let week = history(t0, &run);
        tracing::info!(
            contacts = week.len(),
            "demo: loading a week of customer contacts"
        );
        for batch in week.chunks(500) {
            send(&client, &play, "/api/v1/contacts", &json!(batch)).await?;
        }
    }
    tracing::info!("demo: the live incident starts now; watch the dashboard");
    let t0 = Utc::now();
    let started = tokio::time::Instant::now();
    let mut said_wave = false;
    for (offset, step) in live(t0, &run) {
        let due = started + std::time::Duration::from_secs_f64(offset as f64 / play.speed);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep_until(due) => {}
        }
        match step {
            Step::Contact(c) => {
                if !said_wave && c["id"].as_str().is_some_and(|id| id.contains("-w")) {
                    said_wave = true;
                    tracing::info!("demo: customers start writing about a phishing message");
                }
                send(&client, &play, "/api/v1/contacts", &json!([c])).await?;
            }
            Step::SecurityEvent(e) => {
                tracing::info!("demo: the e-mail security tool reports a lookalike domain");
                send(&client, &play, "/api/v1/security-events", &json!([e])).await?;
            }
        }
    }
    if !play.keep_going {
        return Ok(());
    }
    tracing::info!("demo: the wave is over; ordinary traffic goes on");
    let mut rng = Lcg(13);
    let mut n = 0u64;
    loop {
        let wait = std::time::Duration::from_secs_f64((4 + rng.next() % 6) as f64 / play.speed);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
        n += 1;
        let c = everyday(&mut rng, format!("{run}-a{n}"), Utc::now());
        send(&client, &play, "/api/v1/contacts", &json!([c])).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_212_800, 0).unwrap()
    }

    #[test]
    fn the_week_has_a_daily_rhythm_and_stays_in_the_past() {
        let week = history(t0(), "r");
        assert!((2_500..5_000).contains(&week.len()), "{}", week.len());
        let hours: Vec<u32> = week
            .iter()
            .map(|c| {
                DateTime::parse_from_rfc3339(c["received_at"].as_str().unwrap())
                    .unwrap()
                    .hour()
            })
            .collect();
        let day = hours.iter().filter(|h| (9..=17).contains(*h)).count();
        let night = hours.iter().filter(|h| (0..=5).contains(*h)).count();
        assert!(day > 5 * night, "office hours are busier: {day} vs {night}");
        let times: Vec<&str> = week
            .iter()
            .map(|c| c["received_at"].as_str().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
        assert!(times.iter().all(|t| *t < t0().to_rfc3339().as_str()));
        assert_eq!(history(t0(), "r"), week, "the same story every time");
    }

    #[test]
    fn the_wave_builds_up_and_the_finding_comes_in_the_middle() {
        let steps = live(t0(), "r");
        let wave: Vec<i64> = steps
            .iter()
            .filter(
                |(_, s)| matches!(s, Step::Contact(c) if c["id"].as_str().unwrap().contains("-w")),
            )
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(wave.first(), Some(&10));
        let in_minute = |from: i64| {
            wave.iter()
                .filter(|t| (from..from + 60).contains(*t))
                .count()
        };
        assert!(in_minute(40) > 3 * in_minute(0).min(20) / 2, "it builds up");
        assert!(in_minute(40) >= 50, "{}", in_minute(40));
        let finding = steps
            .iter()
            .position(|(_, s)| matches!(s, Step::SecurityEvent(_)))
            .unwrap();
        assert_eq!(steps[finding].0, 45);
        assert!(steps.windows(2).all(|w| w[0].0 <= w[1].0), "in order");
        let customers: std::collections::BTreeSet<_> = steps
            .iter()
            .filter_map(|(_, s)| match s {
                Step::Contact(c) if c["id"].as_str().unwrap().contains("-w") => {
                    Some(c["customer"].as_str().unwrap().to_owned())
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            customers.len(),
            wave.len(),
            "every victim is another customer"
        );
    }
}
