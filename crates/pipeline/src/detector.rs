//! The whole early warning over one stream of contacts, in event time: topic spikes, emerging
//! themes and lure clusters, and the grouping of their alerts into one family per wave. The
//! server's detection worker and `frontline replay` both drive this one type, so the same
//! contacts in the same order give the same alerts in both.

use crate::clusters::{ClusterConfig, ClusterTracker, ClusteredContact};
use crate::spikes::{AlertKind, CountedContact, SpikeAlert, SpikeConfig, SpikeTracker};
use crate::themes::{ThemeConfig, ThemeTracker};
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashSet as HashSet;

/// A stored (redacted, classified) contact as detection sees it.
#[derive(Debug, Clone)]
pub struct DetectedContact<'a> {
    /// The contact's source.
    pub source: &'a str,
    /// The source's id.
    pub id: &'a str,
    /// When the customer sent it.
    pub received_at: DateTime<Utc>,
    /// The redacted text.
    pub text: &'a str,
    /// What topics and themes read of the redacted text ([`crate::heard`]: the customer's own
    /// words, normalised), when the caller has it; else it is worked out here the same way.
    pub normalized: Option<&'a str>,
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

#[derive(Debug, Clone)]
struct Group {
    id: String,
    topic: Option<String>,
    /// Whether it began with a theme (themes of one wave, with or without a topic, join it).
    theme: bool,
    last: DateTime<Utc>,
    evidence: HashSet<(String, String)>,
    members: HashSet<String>,
}

/// Alerts of one wave become one family: a new alert joins an open family that shares one of
/// its contacts, or that has the same security topic and was active within `GROUP_GAP`.
const GROUP_GAP: Duration = Duration::hours(3);

/// A layer of detection, to switch off when measuring what each adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Topic spikes.
    Spikes,
    /// Emerging themes.
    Themes,
    /// Near-duplicate clusters.
    Clusters,
}

/// Every detector, over one stream of contacts.
#[derive(Debug, Clone)]
pub struct Detector {
    off: Vec<Layer>,
    spikes: SpikeTracker,
    clusters: ClusterTracker,
    themes: ThemeTracker,
    /// Themes among security reports only ([`ThemeConfig::security_reports`]).
    security_themes: ThemeTracker,
    /// The topics whose contacts it hears: the security topics, which spikes also watch per
    /// language.
    security: Vec<String>,
    groups: Vec<Group>,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new(
            SpikeConfig::default(),
            ClusterConfig::default(),
            ThemeConfig::default(),
        )
    }
}

impl Detector {
    /// Detectors with these settings.
    pub fn new(spikes: SpikeConfig, clusters: ClusterConfig, themes: ThemeConfig) -> Self {
        Self {
            off: Vec::new(),
            clusters: ClusterTracker::new(clusters),
            security_themes: ThemeTracker::new(ThemeConfig::security_reports(&themes)),
            security: spikes.by_language.clone(),
            spikes: SpikeTracker::new(spikes),
            themes: ThemeTracker::new(themes),
            groups: Vec::new(),
        }
    }

    /// The same without `layers` (for measuring what each adds).
    #[must_use]
    pub fn without(mut self, layers: &[Layer]) -> Self {
        self.off.extend_from_slice(layers);
        self
    }

    /// Feeds one contact; returns the alerts it raised or updated, in order.
    pub fn add(&mut self, c: &DetectedContact<'_>) -> Vec<SpikeAlert> {
        let owned;
        let normalized = match c.normalized {
            Some(n) => n,
            None => {
                // As intake (and so `replay`) hears it: the server's worker, which reads
                // stored contacts, once normalised the whole text here, quoted replies and a
                // chat assistant's lines included, and so saw other themes than replay.
                owned = crate::heard(c.text);
                &owned
            }
        };
        let mut alerts = Vec::new();
        let spikes = self.spikes.add(&CountedContact {
            source: c.source,
            id: c.id,
            received_at: c.received_at,
            topics: c.topics,
            service: c.service,
            channel: c.channel,
            customer: c.customer,
            language: c.language,
        });
        if !self.off.contains(&Layer::Spikes) {
            alerts.extend(spikes);
        }
        let themes = self.themes.add(c, normalized);
        if !self.off.contains(&Layer::Themes) {
            alerts.extend(themes);
        }
        // The same words again among security reports alone: "bank", "details" or "cambiado"
        // are everyday words overall, and news when several customers' fraud or takeover
        // reports suddenly share them (a card-testing merchant, a lure's wording).
        if c.topics.iter().any(|t| self.security.contains(t)) {
            let themes = self.security_themes.add(c, normalized);
            if !self.off.contains(&Layer::Themes) {
                alerts.extend(themes);
            }
        }
        let cluster = self.clusters.add(&ClusteredContact {
            source: c.source,
            id: c.id,
            received_at: c.received_at,
            text: c.text,
            customer: c.customer.unwrap_or(c.id),
            topics: c.topics,
        });
        if !self.off.contains(&Layer::Clusters) {
            alerts.extend(cluster);
        }
        self.group(alerts)
    }

    /// Closes every open minute: the end of the input.
    pub fn finish(&mut self) -> Vec<SpikeAlert> {
        let mut alerts = self.spikes.finish();
        if self.off.contains(&Layer::Spikes) {
            alerts.clear();
        }
        self.group(alerts)
    }

    /// Sizes, for reports: (spike streams, clusters, theme words).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.spikes.streams(),
            self.clusters.len(),
            self.themes.words(),
        )
    }

    /// Contacts that came too late for their minute.
    pub fn too_late(&self) -> u64 {
        self.spikes.too_late
    }

    /// Names each alert's family (`group_id`).
    fn group(&mut self, mut alerts: Vec<SpikeAlert>) -> Vec<SpikeAlert> {
        for alert in &mut alerts {
            alert.group_id = Some(self.family(alert));
        }
        alerts
    }

    fn family(&mut self, a: &SpikeAlert) -> String {
        let now = a.raised_at;
        self.groups.retain(|g| now - g.last <= GROUP_GAP);
        let evidence: Vec<(String, String)> = a
            .evidence
            .iter()
            .map(|e| (e.source.clone(), e.id.clone()))
            .collect();
        let index = self
            .groups
            .iter()
            .position(|g| g.members.contains(&a.alert_id))
            .or_else(|| {
                self.groups
                    .iter()
                    .position(|g| evidence.iter().any(|e| g.evidence.contains(e)))
            })
            .or_else(|| {
                let topic = a.topic.as_deref().filter(|t| *t != "other")?;
                self.groups
                    .iter()
                    .position(|g| g.topic.as_deref() == Some(topic))
            })
            .or_else(|| {
                // Themes without a topic at the same time are most often one wave's words in
                // several languages ("price", "prix", "precio").
                (a.kind == AlertKind::Theme && a.topic.is_none()).then_some(())?;
                self.groups
                    .iter()
                    .position(|g| g.theme && g.topic.is_none())
            });
        let group = match index {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(Group {
                    id: a.alert_id.clone(),
                    topic: a.topic.clone(),
                    theme: a.kind == AlertKind::Theme,
                    last: now,
                    evidence: HashSet::default(),
                    members: HashSet::default(),
                });
                let last = self.groups.len() - 1;
                &mut self.groups[last]
            }
        };
        group.last = group.last.max(now);
        group.members.insert(a.alert_id.clone());
        if group.evidence.len() < 2_000 {
            group.evidence.extend(evidence);
        }
        group.id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds two days of ordinary mails, then six customers within the hour whose own words
    /// are ordinary but whose quoted reply names a word never seen; each contact with its
    /// heard text given (`replay`) or not (the server's worker).
    fn quoted_wave(given: bool) -> Vec<SpikeAlert> {
        let start = DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut detector = Detector::default();
        let topics: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut feed = |id: String, minute: i64, text: &str| {
            let heard = crate::heard(text);
            out.extend(detector.add(&DetectedContact {
                source: "mail",
                id: &id,
                received_at: start + Duration::minutes(minute),
                text,
                normalized: given.then_some(heard.as_str()),
                topics: &topics,
                service: None,
                channel: "email",
                customer: Some(&id),
                language: Some("en"),
            }));
        };
        for m in 0..(2 * 24 * 60) {
            feed(format!("c{m}"), m, "where is my parcel, it has been a week");
        }
        for i in 0..6 {
            let text = format!(
                "thanks, that answers it {i}\n\nOn Mon, 2 Nov 2026, Support <[email]> wrote:\n> \
                 your zorblatix voucher is ready at the zorblatix desk"
            );
            feed(format!("w{i}"), 2 * 24 * 60 + i * 5, &text);
        }
        out
    }

    #[test]
    fn the_worker_hears_a_stored_contact_as_replay_does() {
        let given = quoted_wave(true);
        let worked_out = quoted_wave(false);
        let ids = |a: &[SpikeAlert]| a.iter().map(|a| a.alert_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&worked_out), ids(&given));
        // What support wrote, quoted below a reply, is no customer's report.
        assert!(
            !worked_out
                .iter()
                .any(|a| a.text.as_deref().unwrap_or_default().contains("zorblatix")),
            "{worked_out:?}"
        );
    }

    /// Two days in which "bank" is everyday (a third of all contacts) but never in a fraud
    /// report, then four customers' reports within the hour that share it, with the fraud
    /// topic (`reported`) or without any; the alerts the wave raised.
    fn bank_wave(reported: bool) -> Vec<SpikeAlert> {
        let start = DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut detector = Detector::default();
        let fraud = vec!["fraud".to_owned()];
        let none: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut feed = |id: String, minute: i64, text: &str, topics: &[String]| {
            out.extend(detector.add(&DetectedContact {
                source: "mail",
                id: &id,
                received_at: start + Duration::minutes(minute),
                text,
                normalized: None,
                topics,
                service: None,
                channel: "email",
                customer: Some(&id),
                language: Some("en"),
            }));
        };
        let ordinary = [
            "my bank transfer to a friend is late",
            "where is my parcel, it has been a week",
            "how do I change my plan",
        ];
        for m in 0..(2 * 24 * 60) {
            // Enough fraud reports for the security tracker's warm-up.
            if m % 8 == 0 {
                feed(format!("f{m}"), m, "a charge I do not recognise", &fraud);
            } else {
                feed(format!("c{m}"), m, ordinary[(m % 3) as usize], &none);
            }
        }
        // Told differently each time, so no two are copies (a cluster) and no new word is
        // shared overall (a theme there).
        let wave = [
            "the bank says this charge is not mine",
            "bank phoned me, a charge I never made",
            "my bank blocked a charge, was it you",
            "alert from my bank about a charge today",
        ];
        for (i, text) in (0..).zip(wave) {
            let topics = if reported { &fraud } else { &none };
            feed(format!("w{i}"), 2 * 24 * 60 + 1 + i * 12, text, topics);
        }
        let wave_start = start + Duration::minutes(2 * 24 * 60);
        out.retain(|a| a.raised_at >= wave_start);
        out
    }

    #[test]
    fn an_everyday_word_shared_by_several_fraud_reports_is_a_theme() {
        let reported = bank_wave(true);
        let theme = reported
            .iter()
            .find(|a| a.alert_id.starts_with("security-theme:"))
            .unwrap_or_else(|| panic!("no security theme in {reported:?}"));
        assert_eq!(theme.kind, AlertKind::Theme);
        assert_eq!(theme.topic.as_deref(), Some("fraud"));
        assert!(
            theme.text.as_deref().unwrap_or_default().contains("bank"),
            "{theme:?}"
        );
        assert!(theme.customers >= 3, "{theme:?}");
        // Everyday overall, the word is no theme there; and the same contacts without a
        // security topic raise nothing.
        assert!(
            !reported.iter().any(|a| a.alert_id.starts_with("theme:")),
            "{reported:?}"
        );
        assert!(bank_wave(false).is_empty());
    }
}
