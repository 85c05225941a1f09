//! The learned topic classifier beside the taxonomy: one logistic regression per topic over
//! hashed word, word-pair and character features of the normalised text. It hears how customers
//! describe trouble ("a text with a link asking me to verify", "money left overnight") where no
//! phrase list can, in the languages of its training corpus.
//!
//! The weights are trained by `frontline taxonomy train` from the labelled corpus kept in
//! `crates/pipeline/classifier/` and embedded in the binary; configuration may point at another
//! model file. A prediction explains itself: the words whose features pushed a topic up most.
//! Training is deterministic (fixed order, a seeded shuffle), so the same corpus gives the same
//! file, and a test holds the embedded model to that.

use std::collections::{BTreeMap, BTreeSet};

/// The embedded model, trained from the corpus below.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../classifier/model.bin");

/// The embedded training corpus, one file per language (`topics<TAB>text` lines), in file
/// name order (the order `frontline taxonomy train` reads a folder in).
pub const EMBEDDED_CORPUS: &[(&str, &str)] = &[
    ("de.tsv", include_str!("../classifier/de.tsv")),
    ("en.tsv", include_str!("../classifier/en.tsv")),
    ("es.tsv", include_str!("../classifier/es.tsv")),
    ("fr.tsv", include_str!("../classifier/fr.tsv")),
    ("it.tsv", include_str!("../classifier/it.tsv")),
    ("nl.tsv", include_str!("../classifier/nl.tsv")),
];

const MAGIC: &[u8] = b"FLTM1\n";
/// Weights are stored as i16 times this scale (their range stays well inside ±8).
const SCALE: f32 = 4096.0;

/// A model file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ModelError {
    /// The file (or `embedded`).
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// One labelled example of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Its topics (`other` alone for none of the model's topics).
    pub topics: Vec<String>,
    /// Its text as a customer would write it.
    pub text: String,
    /// The corpus file's language (its name without `.tsv`).
    pub language: String,
}

/// Reads a corpus file: `topics<TAB>text` per line (topics separated by commas), `#` comments
/// and blank lines skipped.
///
/// # Errors
/// [`ModelError`] naming the file and line of a line without a tab, topics or text.
pub fn parse_corpus(file: &str, text: &str) -> Result<Vec<Example>, ModelError> {
    let language = file
        .trim_end_matches(".tsv")
        .rsplit('/')
        .next()
        .unwrap_or(file);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: &str| ModelError {
            file: format!("{file}:{}", n + 1),
            reason: reason.to_owned(),
        };
        let (topics, body) = line
            .split_once('\t')
            .ok_or_else(|| bad("no tab after the topics"))?;
        let topics: Vec<String> = topics
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if topics.is_empty()
            || topics
                .iter()
                .any(|t| !t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        {
            return Err(bad("topics must be lower-case names separated by commas"));
        }
        if body.trim().is_empty() {
            return Err(bad("no text"));
        }
        out.push(Example {
            topics,
            text: body.replace("\\n", "\n"),
            language: language.to_owned(),
        });
    }
    Ok(out)
}

/// The features of one normalised text: (hashed index, the word it belongs to).
fn features(norm: &str, bits: u32, mut emit: impl FnMut(u32, usize)) {
    let mask = (1u64 << bits) - 1;
    let mut prev: Option<u64> = None;
    let mut padded: Vec<char> = Vec::with_capacity(32);
    for (w, word) in norm.split(' ').filter(|w| !w.is_empty()).enumerate() {
        // Digits are one shape: error codes, amounts and dates generalise by their form.
        let shaped = shape(word);
        let h = hash(1, shaped.as_bytes());
        emit((h & mask) as u32, w);
        if let Some(p) = prev {
            emit(
                (crate::clusters::mix(p ^ h.rotate_left(17)) & mask) as u32,
                w,
            );
        }
        prev = Some(h);
        // Character 4-grams of longer words catch typos, inflections and compounds. Hashed
        // from the characters' bytes as they come: no string is built per gram.
        padded.clear();
        padded.push('^');
        padded.extend(shaped.chars());
        padded.push('$');
        if padded.len() >= 7 {
            for gram in padded.windows(4) {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ 3;
                let mut utf8 = [0u8; 4];
                for c in gram {
                    for b in c.encode_utf8(&mut utf8).bytes() {
                        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
                    }
                }
                emit((crate::clusters::mix(h) & mask) as u32, w);
            }
        }
    }
}

fn shape(word: &str) -> std::borrow::Cow<'_, str> {
    if word.bytes().any(|b| b.is_ascii_digit()) {
        word.chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect::<String>()
            .into()
    } else {
        word.into()
    }
}

fn hash(class: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(class);
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    crate::clusters::mix(h)
}

/// The distinct feature indexes of a text, sorted, each with the value every one carries
/// (one over the square root of their number, so long texts do not outvote short ones).
fn vector(norm: &str, bits: u32) -> (Vec<u32>, f32) {
    let mut idx = Vec::with_capacity(norm.len() * 2);
    features(norm, bits, |i, _| idx.push(i));
    idx.sort_unstable();
    idx.dedup();
    let value = if idx.is_empty() {
        0.0
    } else {
        1.0 / (idx.len() as f32).sqrt()
    };
    (idx, value)
}

/// A trained model.
#[derive(Clone)]
pub struct TopicModel {
    bits: u32,
    topics: Vec<String>,
    languages: Vec<String>,
    bias: Vec<f32>,
    /// Feature-major: `weights[feature * topics + topic]`.
    weights: Vec<f32>,
}

impl std::fmt::Debug for TopicModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The weights are megabytes of numbers: the shape is what a reader needs.
        f.debug_struct("TopicModel")
            .field("bits", &self.bits)
            .field("topics", &self.topics)
            .field("languages", &self.languages)
            .finish_non_exhaustive()
    }
}

/// The settings of training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// log2 of the number of hashed features.
    pub bits: u32,
    /// Passes over the corpus.
    pub epochs: u32,
    /// The first pass's learning rate (it falls linearly to a tenth).
    pub rate: f32,
    /// How much a positive example counts against a negative one (topics are rare).
    pub positive_weight: f32,
    /// Wrapped and misspelt copies of each example trained on besides it
    /// ([`crate::augment`]).
    pub variants: usize,
    /// How much each update shrinks the weights it touches (L2 regularisation, scaled by the
    /// learning rate). Without it the model leaned on incidental words of a small corpus
    /// ("customer", a sign-off, "entered the code") and called ordinary access trouble an
    /// account takeover: on drills it never saw, `account_takeover` precision rose from 0.76
    /// to 0.97 at the same recall when it came in.
    pub l2: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            bits: 16,
            epochs: 12,
            rate: 0.8,
            positive_weight: 2.0,
            variants: 4,
            l2: 0.001,
        }
    }
}

/// A topic the model predicts, with its probability and the words that drove it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The topic.
    pub topic: String,
    /// Its probability.
    pub probability: f32,
    /// The words that pushed it up most, strongest first.
    pub words: Vec<String>,
}

impl TopicModel {
    /// The embedded model (loaded once per process and shared: it holds megabytes).
    pub fn embedded() -> std::sync::Arc<TopicModel> {
        static MODEL: std::sync::LazyLock<std::sync::Arc<TopicModel>> =
            std::sync::LazyLock::new(|| {
                #[allow(clippy::expect_used)]
                std::sync::Arc::new(
                    TopicModel::from_bytes(EMBEDDED_MODEL, "embedded")
                        .expect("the embedded model is tested to load"),
                )
            });
        MODEL.clone()
    }

    /// Trains a model on `examples`, deterministically.
    pub fn train(examples: &[Example], config: &TrainConfig) -> TopicModel {
        let topics: Vec<String> = examples
            .iter()
            .flat_map(|e| e.topics.iter())
            .filter(|t| *t != "other")
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let languages: Vec<String> = examples
            .iter()
            .map(|e| e.language.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let n = topics.len();
        let vectors: Vec<(Vec<u32>, f32, Vec<bool>)> = examples
            .iter()
            .enumerate()
            .flat_map(|(k, e)| {
                let y: Vec<bool> = topics.iter().map(|t| e.topics.contains(t)).collect();
                crate::augment::variants(&e.text, &e.language, k as u64, config.variants)
                    .into_iter()
                    .map(move |text| {
                        let (idx, v) = vector(&crate::heard(&text), config.bits);
                        (idx, v, y.clone())
                    })
            })
            .collect();
        let mut model = TopicModel {
            bits: config.bits,
            topics,
            languages,
            bias: vec![0.0; n],
            weights: vec![0.0; (1usize << config.bits) * n],
        };
        let mut order: Vec<usize> = (0..vectors.len()).collect();
        let mut seed = 0x5eed_u64;
        for epoch in 0..config.epochs {
            // Fisher–Yates with splitmix64: the same order on every machine.
            for i in (1..order.len()).rev() {
                seed = seed.wrapping_add(1);
                let j = (crate::clusters::mix(seed) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            let progress = epoch as f32 / config.epochs.max(1) as f32;
            let rate = config.rate * (1.0 - 0.9 * progress);
            for &k in &order {
                let (idx, value, y) = &vectors[k];
                for (t, &positive) in y.iter().enumerate() {
                    let z = model.bias[t]
                        + idx
                            .iter()
                            .map(|&i| model.weights[i as usize * n + t])
                            .sum::<f32>()
                            * value;
                    let p = sigmoid(z);
                    let (target, weight) = if positive {
                        (1.0, config.positive_weight)
                    } else {
                        (0.0, 1.0)
                    };
                    let g = (p - target) * weight * rate;
                    model.bias[t] -= g * 0.1;
                    let shrink = 1.0 - rate * config.l2;
                    for &i in idx {
                        let w = &mut model.weights[i as usize * n + t];
                        *w = *w * shrink - g * value;
                    }
                }
            }
        }
        model
    }

    /// The topics it knows.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// Whether its corpus had `language` (a BCP 47 tag such as `de` or `de-CH`; the primary
    /// subtag decides).
    pub fn knows_language(&self, language: &str) -> bool {
        let primary = language.split(['-', '_']).next().unwrap_or(language);
        self.languages
            .iter()
            .any(|l| l.eq_ignore_ascii_case(primary))
    }

    /// Each topic's probability for a normalised text, in [`TopicModel::topics`] order.
    pub fn probabilities(&self, norm: &str) -> Vec<f32> {
        let n = self.topics.len();
        let (idx, value) = vector(norm, self.bits);
        let mut z = vec![0.0f32; n];
        for &i in &idx {
            let row = &self.weights[i as usize * n..(i as usize + 1) * n];
            for (acc, w) in z.iter_mut().zip(row) {
                *acc += w;
            }
        }
        z.iter()
            .zip(&self.bias)
            .map(|(s, b)| sigmoid(b + s * value))
            .collect()
    }

    /// The topics at or above `threshold` for a normalised text, with the words that drove
    /// each (at most `words` of them).
    pub fn explain(&self, norm: &str, threshold: f32, words: usize) -> Vec<Prediction> {
        let n = self.topics.len();
        let probabilities = self.probabilities(norm);
        let tokens: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let (idx, value) = vector(norm, self.bits);
        let mut out = Vec::new();
        for (t, p) in probabilities.into_iter().enumerate() {
            if p < threshold {
                continue;
            }
            // Each distinct feature's weight goes to the words it came from.
            let mut per_word: BTreeMap<usize, f32> = BTreeMap::new();
            let mut seen = BTreeSet::new();
            features(norm, self.bits, |i, w| {
                if seen.insert(i) && idx.binary_search(&i).is_ok() {
                    *per_word.entry(w).or_default() += self.weights[i as usize * n + t] * value;
                }
            });
            let mut ranked: Vec<(usize, f32)> =
                per_word.into_iter().filter(|(_, s)| *s > 0.0).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut named: Vec<String> = Vec::new();
            for (w, _) in ranked {
                let word = tokens.get(w).copied().unwrap_or_default().to_owned();
                if !named.contains(&word) {
                    named.push(word);
                }
                if named.len() == words {
                    break;
                }
            }
            out.push(Prediction {
                topic: self.topics[t].clone(),
                probability: p,
                words: named,
            });
        }
        out
    }

    /// The model as a file: a magic line, a JSON header line, then one record per feature
    /// with any weight (its index as u32, then one i16 per topic, little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.topics.len();
        let header = serde_json::json!({
            "bits": self.bits,
            "topics": self.topics,
            "languages": self.languages,
            "bias": self.bias.iter().map(|b| quantize(*b)).collect::<Vec<_>>(),
        });
        let mut out = MAGIC.to_vec();
        out.extend(header.to_string().as_bytes());
        out.push(b'\n');
        for (i, row) in self.weights.chunks(n.max(1)).enumerate() {
            let q: Vec<i16> = row.iter().map(|w| quantize(*w)).collect();
            if q.iter().all(|w| *w == 0) {
                continue;
            }
            out.extend((i as u32).to_le_bytes());
            for w in q {
                out.extend(w.to_le_bytes());
            }
        }
        out
    }

    /// Reads a model file, naming `file` in errors.
    ///
    /// # Errors
    /// [`ModelError`] when the file is not a model or is cut short or inconsistent.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<TopicModel, ModelError> {
        let bad = |reason: String| ModelError {
            file: file.to_owned(),
            reason,
        };
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not a Frontline topic model (no FLTM1 header)".into()))?;
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| bad("the header line is not ended".into()))?;
        #[derive(serde::Deserialize)]
        struct Header {
            bits: u32,
            topics: Vec<String>,
            languages: Vec<String>,
            bias: Vec<i16>,
        }
        let header: Header = serde_json::from_slice(&rest[..end])
            .map_err(|e| bad(format!("the header is not valid: {e}")))?;
        if !(8..=22).contains(&header.bits) {
            return Err(bad(format!("bits {} is outside 8..=22", header.bits)));
        }
        let n = header.topics.len();
        if n == 0 || header.bias.len() != n {
            return Err(bad(
                "topics and bias must be non-empty and of one length".into()
            ));
        }
        let dims = 1usize << header.bits;
        let mut weights = vec![0.0f32; dims * n];
        let record = 4 + 2 * n;
        let body = &rest[end + 1..];
        if body.len() % record != 0 {
            return Err(bad("the weights are cut short".into()));
        }
        for chunk in body.chunks_exact(record) {
            let i = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize;
            if i >= dims {
                return Err(bad(format!("feature {i} is outside the model's {dims}")));
            }
            for (t, w) in chunk[4..].chunks_exact(2).enumerate() {
                weights[i * n + t] = f32::from(i16::from_le_bytes([w[0], w[1]])) / SCALE;
            }
        }
        Ok(TopicModel {
            bits: header.bits,
            topics: header.topics,
            languages: header.languages,
            bias: header.bias.iter().map(|b| f32::from(*b) / SCALE).collect(),
            weights,
        })
    }
}

fn quantize(w: f32) -> i16 {
    (w * SCALE)
        .round()
        .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// The embedded corpus, parsed.
///
/// # Errors
/// [`ModelError`] for a malformed line (a test keeps the embedded corpus well-formed).
pub fn embedded_corpus() -> Result<Vec<Example>, ModelError> {
    let mut out = Vec::new();
    for (file, text) in EMBEDDED_CORPUS {
        out.extend(parse_corpus(file, text)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::normalize;

    #[test]
    fn the_embedded_model_is_what_the_embedded_corpus_trains() {
        let trained = TopicModel::train(&embedded_corpus().unwrap(), &TrainConfig::default());
        assert!(
            trained.to_bytes() == EMBEDDED_MODEL,
            "retrain: cargo run --release -- taxonomy train"
        );
    }

    #[test]
    fn a_model_round_trips_and_bad_files_are_named() {
        let corpus = parse_corpus(
            "xx.tsv",
            "phishing\tgot a text with a link saying my account is locked\nother\twhere is my parcel\n",
        )
        .unwrap();
        let model = TopicModel::train(
            &corpus,
            &TrainConfig {
                bits: 10,
                ..TrainConfig::default()
            },
        );
        let back = TopicModel::from_bytes(&model.to_bytes(), "m.bin").unwrap();
        assert_eq!(back.topics(), ["phishing"]);
        assert!(back.knows_language("xx"));
        let p = back.probabilities(&normalize("a text with a link"))[0];
        let q = back.probabilities(&normalize("my parcel"))[0];
        assert!(p > q, "{p} {q}");
        let err = TopicModel::from_bytes(b"hello", "m.bin").unwrap_err();
        assert!(
            err.to_string().starts_with("m.bin: not a Frontline"),
            "{err}"
        );
        let mut cut = model.to_bytes();
        cut.pop();
        assert!(
            TopicModel::from_bytes(&cut, "m.bin")
                .unwrap_err()
                .reason
                .contains("cut short")
        );
        let err = parse_corpus("en.tsv", "phishing\tok\nno tab here\n").unwrap_err();
        assert_eq!(err.file, "en.tsv:2");
    }

    #[test]
    fn predictions_name_the_words_that_drove_them() {
        let model = TopicModel::embedded();
        let norm =
            normalize("I got an SMS with a link asking me to verify my account, is that you?");
        let p = model.explain(&norm, 0.5, 3);
        let phishing = p.iter().find(|p| p.topic == "phishing").expect("phishing");
        assert!(!phishing.words.is_empty() && phishing.words.len() <= 3);
        assert!(
            phishing
                .words
                .iter()
                .all(|w| norm.split(' ').any(|x| x == w))
        );
    }
}
