//! Correlation: which early-warning alerts, agents' reports and security events belong
//! together, and when together they are strong enough to open an incident. Pure: the server's
//! correlation worker gathers the recent signals not yet linked, asks [`correlate`], and
//! applies the decisions.
//!
//! Security events get their meaning (topics) from rules: a source, label patterns and a title
//! pattern mapped to topics (`credential stuffing` → `account_takeover`). Alerts and reports
//! carry a topic already. Two signals belong together when their topics meet, their services
//! agree (or one has none), and they happened within the window of each other.
//!
//! Strength counts independent evidence: every alert of one anomaly is one customer signal
//! (all alerts together weigh as one), each report counts (agents are strong sensors), each
//! security event by its severity. An alert alone never opens an incident; an alert with a
//! high-severity finding, or with an agent's report, does (default threshold 2.5).

use chrono::{DateTime, Duration, Utc};
use frontline_core::incident::{Severity, Signal};
use frontline_core::security_event::Severity as EventSeverity;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A rule giving security events a meaning, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Named in the reasons the correlator gives.
    pub name: String,
    /// Only events from this source (e.g. `alertmanager`), if set.
    #[serde(default)]
    pub source: Option<String>,
    /// Label name → regular expression its value must match (Alertmanager labels).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Regular expression the title must match, if set.
    #[serde(default)]
    pub title: Option<String>,
    /// The topics such events mean.
    pub topics: Vec<String>,
}

/// The built-in rules: common finding names from SIEMs and Alertmanager rules. Matching is
/// case-insensitive on the title, or on an Alertmanager `category` label.
pub fn default_rules() -> Vec<RuleSpec> {
    let rule = |name: &str, pattern: &str, topics: &[&str]| RuleSpec {
        name: name.into(),
        source: None,
        labels: BTreeMap::new(),
        title: Some(format!("(?i){pattern}")),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
    };
    let label = |name: &str, value: &str, topics: &[&str]| RuleSpec {
        name: name.into(),
        source: None,
        labels: BTreeMap::from([("category".to_owned(), format!("(?i)^(?:{value})$"))]),
        title: None,
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
    };
    vec![
        rule(
            "credential-attack",
            r"credential|brute.?force|password.?spray|account.?takeover|\bATO\b|impossible travel|mfa fatigue|login anomal|suspicious login",
            &["account_takeover", "account_access"],
        ),
        rule(
            "phishing",
            r"phish|lookalike|look-alike|typosquat|spoof|smishing|brand abuse|fake (?:site|domain|login)",
            &["phishing"],
        ),
        rule(
            "fraud",
            r"fraud|chargeback|card.?testing|carding|money mule|payment anomal",
            &["fraud"],
        ),
        rule(
            "data-exposure",
            r"exfiltrat|data (?:leak|exposure|breach)|\bDLP\b|public bucket|exposed (?:database|bucket|secret)",
            &["data_exposure"],
        ),
        rule(
            "availability",
            r"down\b|unavailable|outage|5xx|\b5\d\d\b|error.?rate|latency|timeout|ddos|unreachable|health.?check",
            &["outage", "performance"],
        ),
        label(
            "category-account",
            "account_takeover|credential_stuffing|ato",
            &["account_takeover", "account_access"],
        ),
        label("category-phishing", "phishing", &["phishing"]),
        label("category-fraud", "fraud", &["fraud"]),
        label(
            "category-availability",
            "availability|outage",
            &["outage", "performance"],
        ),
    ]
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    source: Option<String>,
    labels: Vec<(String, Regex)>,
    title: Option<Regex>,
    topics: Vec<String>,
}

/// Compiled rules.
#[derive(Debug, Clone)]
pub struct Rules(Vec<Rule>);

impl Rules {
    /// Compiles `specs`, in order.
    ///
    /// # Errors
    /// A message naming the rule (by position and name) and the pattern that does not compile,
    /// or a rule with neither a title, labels nor a source.
    pub fn compile(specs: &[RuleSpec]) -> Result<Self, String> {
        let mut out = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let at = format!("rules[{i}] ({})", spec.name);
            let re = |field: &str, p: &str| Regex::new(p).map_err(|e| format!("{at}.{field}: {e}"));
            if spec.topics.is_empty() {
                return Err(format!("{at}.topics: name at least one topic"));
            }
            if spec.title.is_none() && spec.labels.is_empty() && spec.source.is_none() {
                return Err(format!(
                    "{at}: give a title pattern, labels or a source, or it matches every event"
                ));
            }
            out.push(Rule {
                name: spec.name.clone(),
                source: spec.source.clone(),
                labels: spec
                    .labels
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), re(&format!("labels.{k}"), v)?)))
                    .collect::<Result<_, String>>()?,
                title: spec.title.as_deref().map(|p| re("title", p)).transpose()?,
                topics: spec.topics.clone(),
            });
        }
        Ok(Self(out))
    }

    /// The first rule matching an event, and the topics of every matching rule.
    /// `indicators` is the event's indicators (Alertmanager labels under `labels`).
    pub fn topics_of(
        &self,
        source: &str,
        title: &str,
        indicators: &serde_json::Value,
    ) -> Option<(String, Vec<String>)> {
        let mut name = None;
        let mut topics: Vec<String> = Vec::new();
        for rule in &self.0 {
            if rule.source.as_deref().is_some_and(|s| s != source) {
                continue;
            }
            if rule.title.as_ref().is_some_and(|re| !re.is_match(title)) {
                continue;
            }
            let labels_match = rule.labels.iter().all(|(k, re)| {
                indicators["labels"][k]
                    .as_str()
                    .is_some_and(|v| re.is_match(v))
            });
            if !labels_match {
                continue;
            }
            name.get_or_insert_with(|| rule.name.clone());
            for t in &rule.topics {
                if !topics.contains(t) {
                    topics.push(t.clone());
                }
            }
        }
        name.map(|n| (n, topics))
    }
}

/// What kind of evidence a signal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// An early-warning alert (customers' contacts).
    Alert,
    /// A CX agent's report.
    Report,
    /// A security event of this severity.
    Event(EventSeverity),
}

/// A signal the correlator may link.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Which.
    pub signal: Signal,
    /// What kind.
    pub evidence: Evidence,
    /// When it happened (alert start, event observation, report filing).
    pub at: DateTime<Utc>,
    /// What it is about.
    pub topics: Vec<String>,
    /// The service, if known.
    pub service: Option<String>,
    /// A short description for reasons (`alert x: spike of phishing contacts`).
    pub describe: String,
    /// The rule that gave a security event its topics.
    pub rule: Option<String>,
    /// For events, the title (a good incident title).
    pub title: Option<String>,
    /// What stays the same when a tool reports one finding again (Alertmanager's fingerprint:
    /// an alert that fires, resolves and fires again is two events but one finding). Findings
    /// with the same key count once toward an incident's strength.
    pub finding: Option<String>,
}

/// An open incident as the correlator sees it: what its linked signals are about.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The incident.
    pub id: i64,
    /// Topics of its signals.
    pub topics: BTreeSet<String>,
    /// Services of its signals and its own.
    pub services: BTreeSet<String>,
    /// Its earliest signal.
    pub first: DateTime<Utc>,
    /// Its latest signal.
    pub last: DateTime<Utc>,
}

/// How the correlator weighs and groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Signals further apart than this (minutes) do not belong together (default 60).
    pub window_minutes: i64,
    /// The strength at which linked signals open an incident (default 2.5).
    pub strength: f64,
    /// Weight of customer alerts (all alerts of a group together count once; default 1).
    pub alert_weight: f64,
    /// Weight of each agent's report (default 1.5).
    pub report_weight: f64,
    /// Weight of a critical security event (default 2); high 1.5, medium 1, low 0.5, info 0
    /// scale from it.
    pub critical_weight: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            window_minutes: 60,
            strength: 2.5,
            alert_weight: 1.0,
            report_weight: 1.5,
            critical_weight: 2.0,
        }
    }
}

impl Settings {
    fn weight(&self, e: Evidence) -> f64 {
        match e {
            Evidence::Alert => self.alert_weight,
            Evidence::Report => self.report_weight,
            Evidence::Event(s) => {
                self.critical_weight
                    * match s {
                        EventSeverity::Critical => 1.0,
                        EventSeverity::High => 0.75,
                        EventSeverity::Medium => 0.5,
                        EventSeverity::Low => 0.25,
                        EventSeverity::Info => 0.0,
                    }
            }
        }
    }

    fn window(&self) -> Duration {
        Duration::minutes(self.window_minutes)
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Link signals to an open incident.
    Join {
        /// The incident.
        incident: i64,
        /// The signals.
        signals: Vec<Signal>,
        /// Why.
        reason: String,
    },
    /// Open an incident with these signals.
    Open {
        /// Its title.
        title: String,
        /// Its severity.
        severity: Severity,
        /// Its services.
        services: Vec<String>,
        /// Its signals.
        signals: Vec<Signal>,
        /// Why.
        reason: String,
    },
}

fn services_agree(a: Option<&String>, b: Option<&String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

fn meet(a: &Candidate, b: &Candidate, window: Duration) -> bool {
    (a.at - b.at).abs() <= window
        && services_agree(a.service.as_ref(), b.service.as_ref())
        && a.topics.iter().any(|t| b.topics.contains(t))
}

/// Decides, for signals not linked to any incident, which join an open incident and which
/// groups are strong enough to open one. Deterministic: the same input gives the same output.
pub fn correlate(candidates: &[Candidate], incidents: &[Profile], s: &Settings) -> Vec<Decision> {
    let window = s.window();
    let mut out = Vec::new();
    let mut joins: BTreeMap<i64, Vec<&Candidate>> = BTreeMap::new();
    let mut rest = Vec::new();
    for c in candidates {
        let home = incidents
            .iter()
            .filter(|p| {
                c.topics.iter().any(|t| p.topics.contains(t))
                    && (p.services.is_empty()
                        || c.service
                            .as_ref()
                            .is_none_or(|svc| p.services.contains(svc)))
                    && c.at >= p.first - window
                    && c.at <= p.last + window
            })
            .max_by_key(|p| (p.last, p.id));
        match home {
            Some(p) => joins.entry(p.id).or_default().push(c),
            None => rest.push(c),
        }
    }
    for (incident, members) in joins {
        let reason = format!(
            "Correlated into this incident (same topic and service, within {} minutes): {}",
            s.window_minutes,
            members
                .iter()
                .map(|c| c.describe.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        out.push(Decision::Join {
            incident,
            signals: members.iter().map(|c| c.signal.clone()).collect(),
            reason,
        });
    }

    // Groups: connected components of "meet".
    let n = rest.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in (i + 1)..n {
            if meet(rest[i], rest[j], window) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a != b {
                    parent[b.max(a)] = a.min(b);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&Candidate>> = BTreeMap::new();
    for (i, c) in rest.iter().enumerate() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(c);
    }
    for members in groups.into_values() {
        if members.len() < 2 {
            continue;
        }
        let alerts = members.iter().any(|c| c.evidence == Evidence::Alert);
        // One finding reported again (a flapping alert) is still one finding: the strongest
        // of its reports counts.
        let mut findings: BTreeMap<(Option<&str>, Option<&Signal>), f64> = BTreeMap::new();
        for c in members.iter().filter(|c| c.evidence != Evidence::Alert) {
            let key = match &c.finding {
                Some(finding) => (Some(finding.as_str()), None),
                None => (None, Some(&c.signal)),
            };
            let w = findings.entry(key).or_default();
            *w = w.max(s.weight(c.evidence));
        }
        let strength: f64 =
            if alerts { s.alert_weight } else { 0.0 } + findings.values().sum::<f64>();
        if strength + 1e-9 < s.strength {
            continue;
        }
        out.push(open(&members, strength, s));
    }
    out
}

fn open(members: &[&Candidate], strength: f64, s: &Settings) -> Decision {
    // The topic most members share names the incident.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in members {
        for t in &c.topics {
            *counts.entry(t.as_str()).or_default() += 1;
        }
    }
    let topic = counts
        .iter()
        .max_by_key(|(t, n)| (**n, std::cmp::Reverse(**t)))
        .map_or("trouble", |(t, _)| *t)
        .replace('_', " ");
    let services: Vec<String> = members
        .iter()
        .filter_map(|c| c.service.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let worst = members
        .iter()
        .filter_map(|c| match c.evidence {
            Evidence::Event(sev) => Some(sev),
            _ => None,
        })
        .max();
    let severity = match worst {
        Some(EventSeverity::Critical) => Severity::Sev1,
        Some(EventSeverity::High) => Severity::Sev2,
        _ => Severity::Sev3,
    };
    let on = if services.is_empty() {
        String::new()
    } else {
        format!(" on {}", services.join(", "))
    };
    let event_title = members
        .iter()
        .filter(|c| matches!(c.evidence, Evidence::Event(_)))
        .max_by_key(|c| match c.evidence {
            Evidence::Event(sev) => sev,
            _ => EventSeverity::Info,
        })
        .and_then(|c| c.title.clone());
    let title = match event_title {
        Some(t) => format!("{t} — customers report {topic}{on}"),
        None => format!("Customers report {topic}{on}"),
    };
    let title: String = title.chars().take(200).collect();
    let rules: BTreeSet<&str> = members.iter().filter_map(|c| c.rule.as_deref()).collect();
    let first = members.iter().map(|c| c.at).min().unwrap_or_default();
    let last = members.iter().map(|c| c.at).max().unwrap_or_default();
    let reason = format!(
        "Opened by correlation{}: {} — within {} minutes; strength {strength:.1} (threshold {:.1})",
        if rules.is_empty() {
            String::new()
        } else {
            format!(
                " (rule {})",
                rules.into_iter().collect::<Vec<_>>().join(", ")
            )
        },
        members
            .iter()
            .map(|c| c.describe.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        (last - first).num_minutes(),
        s.strength
    );
    Decision::Open {
        title,
        severity,
        services,
        signals: members.iter().map(|c| c.signal.clone()).collect(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn alert(id: &str, min: i64, topic: &str, service: Option<&str>) -> Candidate {
        Candidate {
            signal: Signal::Alert { id: id.into() },
            evidence: Evidence::Alert,
            at: at(min),
            topics: vec![topic.into()],
            service: service.map(Into::into),
            describe: format!("alert {id}"),
            rule: None,
            title: None,
            finding: None,
        }
    }

    fn event(id: &str, min: i64, title: &str, sev: EventSeverity, service: &str) -> Candidate {
        let rules = Rules::compile(&default_rules()).unwrap();
        let (rule, topics) = rules
            .topics_of("siem", title, &serde_json::Value::Null)
            .unwrap_or_default();
        Candidate {
            signal: Signal::SecurityEvent {
                source: "siem".into(),
                id: id.into(),
            },
            evidence: Evidence::Event(sev),
            at: at(min),
            topics,
            service: Some(service.into()),
            describe: format!("event {id}"),
            rule: Some(rule),
            title: Some(title.into()),
            finding: None,
        }
    }

    fn report(id: i64, min: i64, topic: &str) -> Candidate {
        Candidate {
            signal: Signal::Report { id },
            evidence: Evidence::Report,
            at: at(min),
            topics: vec![topic.into()],
            service: None,
            describe: format!("report {id}"),
            rule: None,
            title: None,
            finding: None,
        }
    }

    #[test]
    fn default_rules_give_findings_their_meaning() {
        let rules = Rules::compile(&default_rules()).unwrap();
        let topics = |title: &str, labels: serde_json::Value| {
            rules
                .topics_of(
                    "alertmanager",
                    title,
                    &serde_json::json!({"labels": labels}),
                )
                .map(|(_, t)| t)
                .unwrap_or_default()
        };
        assert_eq!(
            topics("Credential stuffing from 300 IPs", serde_json::json!({})),
            ["account_takeover", "account_access"]
        );
        assert_eq!(
            topics("Lookalike domain registered", serde_json::json!({})),
            ["phishing"]
        );
        assert_eq!(
            topics("CheckoutHigh5xxRate", serde_json::json!({})),
            ["outage", "performance"]
        );
        assert_eq!(
            topics("SomethingOdd", serde_json::json!({"category": "Fraud"})),
            ["fraud"]
        );
        assert!(topics("Disk 80% full", serde_json::json!({})).is_empty());
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule_and_field() {
        let mut spec = default_rules();
        spec[1].title = Some("(unclosed".into());
        let err = Rules::compile(&spec).unwrap_err();
        assert!(err.starts_with("rules[1] (phishing).title:"), "{err}");
        let bare = RuleSpec {
            name: "all".into(),
            source: None,
            labels: BTreeMap::new(),
            title: None,
            topics: vec!["outage".into()],
        };
        assert!(Rules::compile(&[bare]).unwrap_err().contains("every event"));
    }

    #[test]
    fn an_alert_with_a_matching_finding_opens_an_incident_and_says_why() {
        let c = [
            alert("a1", 0, "account_takeover", None),
            alert("a2", 2, "account_takeover", Some("web")),
            event(
                "e1",
                10,
                "Credential stuffing detected",
                EventSeverity::High,
                "web",
            ),
            // Unrelated: other topic, other service, too late.
            alert("x", 5, "outage", Some("app")),
            event(
                "late",
                200,
                "Credential stuffing detected",
                EventSeverity::High,
                "web",
            ),
        ];
        let d = correlate(&c, &[], &Settings::default());
        assert_eq!(d.len(), 1, "{d:?}");
        let Decision::Open {
            title,
            severity,
            services,
            signals,
            reason,
        } = &d[0]
        else {
            panic!("{d:?}")
        };
        assert_eq!(signals.len(), 3);
        assert_eq!(*severity, Severity::Sev2);
        assert_eq!(services, &["web"]);
        assert_eq!(
            title,
            "Credential stuffing detected — customers report account takeover on web"
        );
        assert!(reason.contains("rule credential-attack"), "{reason}");
        assert!(reason.contains("strength 2.5"), "{reason}");
    }

    #[test]
    fn alerts_alone_or_weak_findings_open_nothing() {
        let s = Settings::default();
        let many_alerts: Vec<Candidate> = (0..5)
            .map(|i| alert(&format!("a{i}"), i, "phishing", None))
            .collect();
        assert!(correlate(&many_alerts, &[], &s).is_empty());
        let weak = [
            alert("a", 0, "phishing", None),
            event("e", 1, "Phishing kit seen", EventSeverity::Medium, "web"),
        ];
        assert!(correlate(&weak, &[], &s).is_empty());
        let critical_alone = [event(
            "e",
            1,
            "Data exfiltration",
            EventSeverity::Critical,
            "db",
        )];
        assert!(correlate(&critical_alone, &[], &s).is_empty());
        // One critical finding that fired, resolved and fired again is still one finding.
        let mut flapping = [
            event("f:1", 1, "Data exfiltration", EventSeverity::Critical, "db"),
            event(
                "f:2",
                20,
                "Data exfiltration",
                EventSeverity::Critical,
                "db",
            ),
        ];
        assert_eq!(
            correlate(&flapping, &[], &s).len(),
            1,
            "two findings open one"
        );
        for e in &mut flapping {
            e.finding = Some("alertmanager:f".into());
        }
        assert!(correlate(&flapping, &[], &s).is_empty());
        // Two agents' reports are strong evidence together.
        let reports = [report(1, 0, "phishing"), report(2, 30, "phishing")];
        assert!(matches!(
            correlate(&reports, &[], &s)[..],
            [Decision::Open {
                severity: Severity::Sev3,
                ..
            }]
        ));
    }

    #[test]
    fn related_signals_join_the_open_incident_instead_of_opening_another() {
        let profile = Profile {
            id: 7,
            topics: BTreeSet::from(["account_takeover".to_owned()]),
            services: BTreeSet::from(["web".to_owned()]),
            first: at(0),
            last: at(10),
        };
        let c = [
            alert("a3", 30, "account_takeover", Some("web")),
            report(4, 40, "account_takeover"),
            event(
                "e2",
                50,
                "Credential stuffing detected",
                EventSeverity::High,
                "web",
            ),
            alert("other-service", 30, "account_takeover", Some("app")),
        ];
        let d = correlate(&c, &[profile], &Settings::default());
        assert_eq!(d.len(), 1, "{d:?}");
        let Decision::Join {
            incident, signals, ..
        } = &d[0]
        else {
            panic!("{d:?}")
        };
        assert_eq!(*incident, 7);
        assert_eq!(signals.len(), 3);
    }
}
