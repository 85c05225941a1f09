//! Topics of customer trouble, from a taxonomy of phrases and patterns (TOML), matched in one
//! pass over normalised text (Aho–Corasick) plus a few compiled patterns, and from the learned
//! classifier beside it ([`crate::learned`]) for the topics and languages it was trained on.
//!
//! The default taxonomy (`taxonomy/default.toml`, embedded) covers English, German, French and
//! Spanish. Configuration may extend it (topics with the same name gain phrases) or replace
//! it. A bad file is refused naming the file, line and reason.

use crate::learned::{Prediction, TopicModel};
use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};

/// The embedded default taxonomy.
pub const DEFAULT_TAXONOMY: &str = include_str!("../taxonomy/default.toml");

/// A taxonomy file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct TaxonomyError {
    /// The file (or `default` for the embedded one).
    pub file: String,
    /// The 1-based line, where known.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

/// One taxonomy file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyFile {
    /// Words that, right before a phrase of a negatable topic, cancel it.
    #[serde(default)]
    pub negations: Vec<String>,
    /// The topics.
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicSpec>,
}

/// One topic as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Its name, `[a-z_]+`.
    pub name: String,
    /// Whether it has security meaning (a benign spike must never raise it).
    #[serde(default)]
    pub security: bool,
    /// Whether a negation right before a phrase cancels it.
    #[serde(default)]
    pub negatable: bool,
    /// Phrases, in any language, written naturally.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Regular expressions over normalised text.
    #[serde(default)]
    pub patterns: Vec<String>,
}

impl TaxonomyFile {
    /// Parses `text`, naming `file` in errors.
    ///
    /// # Errors
    /// [`TaxonomyError`] with the line of a TOML or shape error.
    pub fn parse(text: &str, file: &str) -> Result<Self, TaxonomyError> {
        toml::from_str(text).map_err(|e| TaxonomyError {
            file: file.to_owned(),
            line: e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
            reason: e.message().to_owned(),
        })
    }
}

/// One topic as compiled, for people to read (the settings page).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Topic {
    /// Its name.
    pub name: String,
    /// Whether it has security meaning.
    pub security: bool,
    /// Whether a negation right before a phrase cancels it.
    pub negatable: bool,
    /// Its phrases as written, from every file that names it.
    pub phrases: Vec<String>,
    /// Its regular expressions.
    pub patterns: Vec<String>,
}

/// A compiled taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    topics: Vec<Topic>,
    matcher: AhoCorasick,
    /// For each phrase in the matcher, its topic.
    phrase_topic: Vec<usize>,
    patterns: Vec<(Regex, usize)>,
    negations: HashSet<String>,
    /// The learned classifier, when one is used, and for each of its topics the taxonomy's.
    model: Option<(std::sync::Arc<TopicModel>, Vec<usize>)>,
}

/// The probability at which the learned classifier gives a topic.
pub const MODEL_THRESHOLD: f32 = 0.5;

impl Taxonomy {
    /// The embedded default taxonomy.
    pub fn default_taxonomy() -> Self {
        #[allow(clippy::expect_used)]
        let file = TaxonomyFile::parse(DEFAULT_TAXONOMY, "default")
            .expect("the embedded taxonomy is tested to parse");
        #[allow(clippy::expect_used)]
        Self::build(vec![("default".to_owned(), file)])
            .expect("the embedded taxonomy is tested to build")
            .with_model(TopicModel::embedded())
    }

    /// Adds the learned classifier: for its topics it decides (the taxonomy's phrases still
    /// decide for contacts in a language it was not trained on); other topics stay the
    /// taxonomy's. A topic only the model knows joins the taxonomy.
    #[must_use]
    pub fn with_model(mut self, model: std::sync::Arc<TopicModel>) -> Self {
        let mut map = Vec::new();
        for name in model.topics() {
            let index = match self.topics.iter().position(|t| &t.name == name) {
                Some(i) => i,
                None => {
                    self.topics.push(Topic {
                        name: name.clone(),
                        security: false,
                        negatable: false,
                        phrases: Vec::new(),
                        patterns: Vec::new(),
                    });
                    self.topics.len() - 1
                }
            };
            map.push(index);
        }
        self.model = Some((model, map));
        self
    }

    /// The learned classifier, if one is used.
    pub fn model(&self) -> Option<&TopicModel> {
        self.model.as_ref().map(|(m, _)| m.as_ref())
    }

    /// The learned classifier's topics for a normalised text with the words that drove each.
    pub fn explain_normalized(&self, norm: &str) -> Vec<Prediction> {
        self.model()
            .map(|m| m.explain(norm, MODEL_THRESHOLD, 5))
            .unwrap_or_default()
    }

    /// Why a stored contact has its `topics`: for each the model explains, the words of its
    /// (redacted) `text` that drove it. Explained on reading: nothing more is kept per contact.
    pub fn topic_words(&self, text: &str, topics: &[String]) -> Vec<Prediction> {
        let mut explained = self.explain_normalized(&normalize(text));
        explained.retain(|p| topics.contains(&p.topic));
        explained
    }

    /// Compiles files in order; a topic named again gains the later file's phrases and
    /// patterns (and its flags, when the later file sets them).
    ///
    /// # Errors
    /// [`TaxonomyError`] for a bad topic name or a pattern that does not compile.
    pub fn build(files: Vec<(String, TaxonomyFile)>) -> Result<Self, TaxonomyError> {
        let mut topics: Vec<Topic> = Vec::new();
        let mut phrases: Vec<(String, usize)> = Vec::new();
        let mut patterns = Vec::new();
        let mut negations = HashSet::new();
        for (file, spec) in files {
            let err = |reason: String| TaxonomyError {
                file: file.clone(),
                line: None,
                reason,
            };
            negations.extend(spec.negations.iter().map(|n| normalize(n)));
            for t in spec.topics {
                if t.name.is_empty() || !t.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                {
                    return Err(err(format!(
                        "topic name {:?} must be lower-case letters and _",
                        t.name
                    )));
                }
                let index = match topics.iter().position(|x| x.name == t.name) {
                    Some(i) => {
                        topics[i].security |= t.security;
                        topics[i].negatable |= t.negatable;
                        i
                    }
                    None => {
                        topics.push(Topic {
                            name: t.name.clone(),
                            security: t.security,
                            negatable: t.negatable,
                            phrases: Vec::new(),
                            patterns: Vec::new(),
                        });
                        topics.len() - 1
                    }
                };
                for p in &t.phrases {
                    let n = normalize(p);
                    if n.is_empty() {
                        return Err(err(format!(
                            "topic {}: phrase {p:?} has no letters or digits",
                            t.name
                        )));
                    }
                    phrases.push((n, index));
                    topics[index].phrases.push(p.clone());
                }
                for p in &t.patterns {
                    let re = Regex::new(p)
                        .map_err(|e| err(format!("topic {}: pattern {p:?}: {e}", t.name)))?;
                    patterns.push((re, index));
                    topics[index].patterns.push(p.clone());
                }
            }
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(phrases.iter().map(|(p, _)| p.as_str()))
            .map_err(|e| TaxonomyError {
                file: "taxonomy".into(),
                line: None,
                reason: format!("phrases do not compile: {e}"),
            })?;
        Ok(Self {
            topics,
            matcher,
            phrase_topic: phrases.into_iter().map(|(_, t)| t).collect(),
            patterns,
            negations,
            model: None,
        })
    }

    /// Every topic, in taxonomy order.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The negation words, sorted (normalised).
    pub fn negations(&self) -> Vec<&str> {
        let mut words: Vec<&str> = self.negations.iter().map(String::as_str).collect();
        words.sort_unstable();
        words
    }

    /// Every topic name, in taxonomy order.
    pub fn topic_names(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| t.name.as_str())
    }

    /// Whether `topic` has security meaning.
    pub fn is_security(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t.name == topic && t.security)
    }

    /// The topics of `text`, sorted by name.
    pub fn classify(&self, text: &str) -> Vec<String> {
        self.classify_normalized(&normalize(text))
    }

    /// The topics of a text already passed through [`normalize`] (callers that need the
    /// normalised text for something else too normalise once), its language unknown.
    pub fn classify_normalized(&self, norm: &str) -> Vec<String> {
        self.classify_contact(norm, None)
    }

    /// The topics of a normalised text in `language` (an ISO 639-1 code, when the source
    /// said): the learned classifier's for its topics, unless the language is one it was not
    /// trained on; the taxonomy's for the rest.
    pub fn classify_contact(&self, norm: &str, language: Option<&str>) -> Vec<String> {
        let mut found = self.phrase_topics(norm);
        if let Some((model, map)) = &self.model {
            if language.is_none_or(|l| model.knows_language(l)) {
                for (p, index) in model.probabilities(norm).into_iter().zip(map) {
                    found.remove(index);
                    if p >= MODEL_THRESHOLD {
                        found.insert(*index);
                    }
                }
            }
        }
        let mut names: Vec<String> = found
            .into_iter()
            .map(|t| self.topics[t].name.clone())
            .collect();
        names.sort();
        names
    }

    /// The taxonomy's own topics (phrases and patterns) of a normalised text.
    fn phrase_topics(&self, norm: &str) -> BTreeSet<usize> {
        let bytes = norm.as_bytes();
        let mut found = BTreeSet::new();
        for m in self.matcher.find_overlapping_iter(norm) {
            let (s, e) = (m.start(), m.end());
            let whole_word =
                (s == 0 || bytes[s - 1] == b' ') && (e == bytes.len() || bytes[e] == b' ');
            if !whole_word {
                continue;
            }
            let topic = self.phrase_topic[m.pattern().as_usize()];
            if self.topics[topic].negatable && self.negated(&norm[..s]) {
                continue;
            }
            found.insert(topic);
        }
        for (re, topic) in &self.patterns {
            if !found.contains(topic) && re.is_match(norm) {
                found.insert(*topic);
            }
        }
        found
    }

    /// Whether one of the three words before a match is a negation.
    fn negated(&self, before: &str) -> bool {
        before
            .split(' ')
            .filter(|w| !w.is_empty())
            .rev()
            .take(3)
            .any(|w| self.negations.contains(w))
    }
}

/// Lower case, accents folded, apostrophes dropped, every other non-alphanumeric character a
/// single space, no leading or trailing space.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        // Most text is ASCII: lower-cased in place, without Unicode tables.
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
                space = false;
            } else if !matches!(c, '\'' | '`') && !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        if matches!(c, '\'' | '’' | '`' | '´') {
            continue;
        }
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                match fold(l) {
                    Some(s) => out.push_str(s),
                    None => out.push(l),
                }
            }
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

pub(crate) fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => "a",
        'ç' | 'č' | 'ć' => "c",
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'ī' => "i",
        'ñ' | 'ń' | 'ň' => "n",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' => "o",
        'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ů' => "u",
        'ý' | 'ÿ' => "y",
        'ß' => "ss",
        'œ' => "oe",
        'æ' => "ae",
        'š' => "s",
        'ž' | 'ź' | 'ż' => "z",
        'ł' => "l",
        'ř' => "r",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The taxonomy's phrases alone (the learned classifier has tests of its own).
    fn topics(text: &str) -> Vec<String> {
        let file = TaxonomyFile::parse(DEFAULT_TAXONOMY, "default").unwrap();
        Taxonomy::build(vec![("default".into(), file)])
            .unwrap()
            .classify(text)
    }

    #[test]
    fn the_model_decides_its_topics_except_in_languages_it_does_not_know() {
        let t = Taxonomy::default_taxonomy();
        let norm = normalize("got a text with a link asking me to confirm my card, not from you?");
        assert!(
            t.classify_contact(&norm, Some("en"))
                .contains(&"phishing".to_owned())
        );
        // Phrases decide where the model has no training: "hacked" is in the taxonomy.
        let norm = normalize("mi hanno hackerato, account hacked");
        assert_eq!(t.classify_contact(&norm, Some("pt")), ["account_takeover"]);
        let explained = t.explain_normalized(&normalize("someone changed my password and email"));
        assert!(
            explained
                .iter()
                .any(|p| p.topic == "account_takeover" && !p.words.is_empty())
        );
    }

    #[test]
    fn normalising_folds_case_accents_and_apostrophes() {
        assert_eq!(
            normalize("  Can't LOG-IN!! Passwort zurücksetzen, contraseña "),
            "cant log in passwort zurucksetzen contrasena"
        );
        assert_eq!(normalize("Straße"), "strasse");
    }

    #[test]
    fn customers_as_they_write() {
        assert_eq!(topics("cant login since this morning"), ["account_access"]);
        assert_eq!(
            topics("someone changed my password!!"),
            ["account_takeover"]
        );
        assert_eq!(
            topics("got a text saying my account is suspended"),
            ["phishing"]
        );
        assert_eq!(topics("app down again??"), ["outage"]);
        assert_eq!(
            topics("Ich kann mich nicht mehr einloggen"),
            ["account_access"]
        );
        assert_eq!(topics("Je n'arrive pas à me connecter"), ["account_access"]);
        assert_eq!(
            topics("No puedo entrar a mi cuenta, me hackearon"),
            ["account_access", "account_takeover"]
        );
        assert_eq!(topics("the checkout page is super slow"), ["performance"]);
        assert_eq!(
            topics("there was a charge i didnt make on my card"),
            ["fraud"]
        );
        assert_eq!(
            topics("I can see someone elses orders in my account"),
            ["data_exposure"]
        );
        assert!(topics("Where is my parcel? Thanks").is_empty());
    }

    #[test]
    fn negation_cancels_only_negatable_topics() {
        assert!(topics("this is not a scam, right?").is_empty());
        assert_eq!(topics("this is a scam"), ["phishing"]);
        assert_eq!(topics("the app is not working"), ["outage"]);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(topics("I downloaded the invoice").is_empty());
        assert!(topics("the scampi was great").is_empty());
    }

    #[test]
    fn files_extend_and_bad_files_name_file_and_line() {
        let extra = TaxonomyFile::parse(
            "[[topic]]\nname = \"phishing\"\nphrases = [\"promo code text\"]\n\n[[topic]]\nname = \"billing\"\nphrases = [\"invoice wrong\"]\n",
            "extra.toml",
        )
        .unwrap();
        let default = TaxonomyFile::parse(DEFAULT_TAXONOMY, "default").unwrap();
        let t = Taxonomy::build(vec![
            ("default".into(), default),
            ("extra.toml".into(), extra),
        ])
        .unwrap();
        assert_eq!(t.classify("weird promo code text from you?"), ["phishing"]);
        assert_eq!(t.classify("my invoice wrong again"), ["billing"]);
        assert!(t.is_security("phishing") && !t.is_security("billing"));

        let err =
            TaxonomyFile::parse("[[topic]]\nname = \"x\"\nphrasez = []\n", "bad.toml").unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("bad.toml", Some(3)));
        let bad = TaxonomyFile::parse("[[topic]]\nname = \"x\"\npatterns = [\"(\"]\n", "re.toml")
            .unwrap();
        let err = Taxonomy::build(vec![("re.toml".into(), bad)]).unwrap_err();
        assert!(
            err.to_string().starts_with("re.toml: topic x: pattern"),
            "{err}"
        );
    }
}
