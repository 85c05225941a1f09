//! `frontline taxonomy train|eval`: the learned topic classifier's two commands for the people
//! who tune it. `train` turns the labelled corpus (a folder of `*.tsv`, by default the one kept
//! in the repository) into the model file the binary embeds; `eval` measures topics, taxonomy
//! and model together, against labelled contacts nobody here wrote, per topic and language.

use anyhow::Context as _;
use frontline_pipeline::learned::{Example, TopicModel, TrainConfig, parse_corpus};
use frontline_server::api::bulk::parse_line;
use frontline_server::plumbing::config::Config;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

/// `frontline taxonomy` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum TaxonomyCommand {
    /// Train the learned classifier from a labelled corpus and write the model file.
    Train {
        /// A folder of `*.tsv` files (`topics<TAB>text`), read in file name order.
        #[arg(long, default_value = "crates/pipeline/classifier")]
        corpus: PathBuf,
        /// Where to write the model (the embedded one is `crates/pipeline/classifier/model.bin`).
        #[arg(long, default_value = "crates/pipeline/classifier/model.bin")]
        out: PathBuf,
        /// Also learn from what people taught in the configured database: the topics they
        /// corrected on contacts (`PUT /api/v1/contacts/{source}/{id}/topics`), and the
        /// contacts of alerts they dismissed as not a security matter (a reason beginning "not
        /// security" or "not a security"), which lose the alert's topic. Point `[taxonomy]
        /// model` at the result to use it.
        #[arg(long)]
        feedback: bool,
    },
    /// Measure topics (taxonomy and model as configured) against labelled contacts: precision
    /// and recall per topic, overall and per language.
    Eval {
        /// Contacts, NDJSON in the API's shape.
        #[arg(long)]
        contacts: PathBuf,
        /// Labels, NDJSON `{"id", "topics": [...]}`, one per contact.
        #[arg(long)]
        labels: PathBuf,
        /// Also print up to 20 contacts this topic missed and 20 it wrongly got, to stderr.
        #[arg(long)]
        show: Option<String>,
        /// Also write each contact's topics as NDJSON `{"id", "topics"}` to this file.
        #[arg(long)]
        dump: Option<PathBuf>,
    },
}

pub(crate) async fn run(command: &TaxonomyCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        TaxonomyCommand::Train {
            corpus,
            out,
            feedback,
        } => {
            let corrections = if *feedback {
                feedback_examples(config).await?
            } else {
                Vec::new()
            };
            train(corpus, out, corrections)
        }
        TaxonomyCommand::Eval {
            contacts,
            labels,
            show,
            dump,
        } => eval(contacts, labels, show.as_deref(), dump.as_ref(), config),
    }
}

/// What people taught in the configured database, as training examples: the topics they
/// corrected on contacts (a contact corrected to no topic teaches `other`), and the evidence of
/// alerts they dismissed as not a security matter (see [`not_security`]): each such contact
/// keeps its other topics and loses the alert's, unless someone corrected it by hand.
async fn feedback_examples(config: &Config) -> anyhow::Result<Vec<Example>> {
    let store = frontline_server::open_store(&config.database).await?;
    let example = |topics: Vec<String>, text: String, language: Option<String>| Example {
        topics: if topics.is_empty() {
            vec!["other".to_owned()]
        } else {
            topics
        },
        text,
        language: language.unwrap_or_else(|| "en".to_owned()),
    };
    let mut taught = std::collections::HashSet::new();
    let mut out = Vec::new();
    for c in store.topic_corrections().await? {
        taught.insert((c.source.clone(), c.id.clone()));
        out.push(example(c.topics, c.text, c.language));
    }
    let mut query = frontline_store::AlertQuery {
        state: Some(frontline_core::alert::AlertState::Dismissed),
        limit: frontline_store::query::MAX_LIMIT,
        ..Default::default()
    };
    loop {
        let page = store.list_alerts(&query).await?;
        for alert in &page.items {
            let Some(topic) = alert.detected.topic.as_deref() else {
                // A theme or cluster without a topic says nothing about the classifier.
                continue;
            };
            if !alert.reason.as_deref().is_some_and(not_security) {
                continue;
            }
            for e in &alert.detected.evidence {
                if !taught.insert((e.source.clone(), e.id.clone())) {
                    continue;
                }
                let Some(contact) = store.get_contact(&e.source, &e.id).await? else {
                    continue; // erased or past retention since
                };
                let c = contact.contact;
                let topics = c.topics.into_iter().filter(|t| t != topic).collect();
                out.push(example(topics, c.text, c.language));
            }
        }
        match page.next_cursor {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    Ok(out)
}

/// Whether a dismissal's reason says the alert was no security matter: "not security", "not
/// a security matter", "not a security issue" and the like, in any case. Other reasons
/// (a duplicate, already handled, a test) say nothing about the topic.
fn not_security(reason: &str) -> bool {
    let r = reason.trim().to_lowercase();
    r.starts_with("not security") || r.starts_with("not a security")
}

fn train(corpus: &PathBuf, out: &PathBuf, feedback: Vec<Example>) -> anyhow::Result<ExitCode> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus)
        .with_context(|| format!("reading {}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut examples = Vec::new();
    for f in &files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        examples.extend(parse_corpus(&name.unwrap_or_default(), &text)?);
    }
    anyhow::ensure!(!examples.is_empty(), "no examples in {}", corpus.display());
    let corrections = feedback.len();
    examples.extend(feedback);
    let model = TopicModel::train(&examples, &TrainConfig::default());
    let bytes = model.to_bytes();
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "taxonomy train: {} examples from {} files and {corrections} taught by people (corrections, alerts dismissed as not security), topics {}, {} bytes to {}",
        examples.len(),
        files.len(),
        model.topics().join(", "),
        bytes.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u64,
    fp: u64,
    fn_: u64,
}

fn eval(
    contacts: &PathBuf,
    labels: &PathBuf,
    show: Option<&str>,
    dump: Option<&PathBuf>,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let mut shown = (0, 0);
    let mut dump = match dump {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let taxonomy = config.load_taxonomy().context("loading the taxonomy")?;
    let mut truth: HashMap<String, Vec<String>> = HashMap::new();
    let file =
        std::fs::File::open(labels).with_context(|| format!("opening {}", labels.display()))?;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        #[derive(serde::Deserialize)]
        struct Label {
            id: String,
            topics: Vec<String>,
        }
        let label: Label = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}", labels.display(), n + 1))?;
        truth.insert(label.id, label.topics);
    }
    let redactor = frontline_pipeline::redact::Redactor::shared();
    // (topic, language) → counts; language "all" for the total.
    let mut table: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let file =
        std::fs::File::open(contacts).with_context(|| format!("opening {}", contacts.display()))?;
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line?;
        let Ok(c) = parse_line(&line) else { continue };
        let Some(expected) = truth.get(&c.key.id) else {
            continue;
        };
        let norm = frontline_pipeline::heard(&redactor.redact(&c.text).text);
        let got = taxonomy.classify_contact(&norm, c.language.as_deref());
        let language = c.language.clone().unwrap_or_else(|| "?".into());
        if let Some(out) = dump.as_mut() {
            use std::io::Write as _;
            serde_json::to_writer(
                &mut *out,
                &serde_json::json!({"id": c.key.id, "topics": got}),
            )?;
            out.write_all(b"\n")?;
        }
        if let Some(topic) = show {
            let (e, g) = (
                expected.iter().any(|t| t == topic),
                got.iter().any(|t| t == topic),
            );
            let slot = if e && !g { &mut shown.0 } else { &mut shown.1 };
            if e != g && *slot < 20 {
                *slot += 1;
                let why = taxonomy.explain_normalized(&norm);
                eprintln!(
                    "{} {language} expected {expected:?} got {got:?} {why:?}\n  {}",
                    if e { "MISSED" } else { "WRONG" },
                    c.text.replace('\n', " / ")
                );
            }
        }
        for topic in taxonomy.topic_names() {
            if topic == "other" {
                continue;
            }
            let (e, g) = (
                expected.iter().any(|t| t == topic),
                got.iter().any(|t| t == topic),
            );
            for lang in ["all", language.as_str()] {
                let cell = table
                    .entry((topic.to_owned(), lang.to_owned()))
                    .or_default();
                match (e, g) {
                    (true, true) => cell.tp += 1,
                    (false, true) => cell.fp += 1,
                    (true, false) => cell.fn_ += 1,
                    (false, false) => {}
                }
            }
        }
    }
    println!(
        "{:<18} {:<4} {:>9} {:>7} {:>6} {:>6}",
        "topic", "lang", "precision", "recall", "true", "said"
    );
    for ((topic, lang), c) in &table {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                "-".to_owned()
            } else {
                format!("{:.2}", a as f64 / b as f64)
            }
        };
        println!(
            "{topic:<18} {lang:<4} {:>9} {:>7} {:>6} {:>6}",
            ratio(c.tp, c.tp + c.fp),
            ratio(c.tp, c.tp + c.fn_),
            c.tp + c.fn_,
            c.tp + c.fp
        );
    }
    Ok(ExitCode::SUCCESS)
}
