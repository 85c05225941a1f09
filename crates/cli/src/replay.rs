//! `frontline replay --contacts FILE [--events FILE]`: the detection pipeline over recorded
//! contacts, by event time, without a server or database: each line is checked, redacted and
//! classified as at intake, then fed to the pipeline's `Detector` (the one the server's
//! detection worker runs), and every spike, theme or cluster alert raised or updated is printed
//! with its family (`group_id`) as one JSON object per line on stdout. Deterministic: the same input gives the same output.
//! Progress and the summary go to stderr; a malformed line is reported by number and skipped.
//!
//! Contacts are expected in (about) event-time order, as exports come: a contact later than
//! its minute's lateness allowance is counted in the summary as too late, not in a stream.
//! Security events are read and checked (correlation with alerts comes with the incident
//! issue).

use anyhow::Context as _;
use frontline_core::contact::RedactedContact;
use frontline_core::field::Dated;
use frontline_core::security_event::{NewSecurityEvent, SecurityEventInput};
use frontline_pipeline::Intake;
use frontline_pipeline::detector::{DetectedContact, Detector, Layer};
use frontline_pipeline::pseudonym::PseudonymKey;
use frontline_pipeline::redact::Redactor;
use frontline_server::api::bulk::parse_line;
use frontline_server::plumbing::config::Config;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// `frontline replay` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// Recorded contacts, NDJSON in the API's shape (`-` for standard input).
    #[arg(long)]
    contacts: PathBuf,
    /// Recorded security events, NDJSON in the API's shape.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Leave a layer of detection out, to measure what it adds (repeatable).
    #[arg(long, value_enum)]
    without: Vec<LayerArg>,
}

/// A detection layer on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LayerArg {
    Spikes,
    Themes,
    Clusters,
}

fn open(path: &PathBuf) -> anyhow::Result<Box<dyn BufRead + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

/// A contact as intake leaves it, with its normalised text.
type Prepared = (RedactedContact, String);

/// Contacts handed from the reading thread to detection at a time.
const BATCH: usize = 256;

/// Reads, checks and prepares every line of `input` into batches sent to `send`; reports a
/// malformed line by number and skips it. Returns how many were skipped.
fn prepare_all(
    input: Box<dyn BufRead + Send>,
    path: &std::path::Path,
    intake: &Intake,
    margin: chrono::Duration,
    send: &std::sync::mpsc::SyncSender<anyhow::Result<Vec<Prepared>>>,
) -> u64 {
    let mut skipped = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    for (n, line) in input.split(b'\n').enumerate() {
        let line = match line.with_context(|| format!("reading {}", path.display())) {
            Ok(line) => line,
            Err(e) => {
                // Detection stops at the error, as it did when one thread read and detected.
                let _ = send.send(Ok(std::mem::take(&mut batch)));
                let _ = send.send(Err(e));
                return skipped;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // Refused as the server refuses it: one contact from far ahead would hold event time.
        match parse_line(&line).and_then(|c| c.not_ahead(margin)) {
            Ok(c) => batch.push(intake.prepare_normalized(c)),
            Err(e) => {
                eprintln!("{}:{}: skipped: {e}", path.display(), n + 1);
                skipped += 1;
            }
        }
        if batch.len() == BATCH
            && send
                .send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))
                .is_err()
        {
            // Detection stopped (its error is the one reported).
            return skipped;
        }
    }
    let _ = send.send(Ok(batch));
    skipped
}

pub(crate) fn run(args: &ReplayArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let taxonomy = config.load_taxonomy().context("loading the taxonomy")?;
    // Pseudonyms never reach the output; a fixed key keeps replay deterministic.
    let key = config
        .pseudonym_key()?
        .unwrap_or_else(|| b"frontline-replay-pseudonyms".to_vec());
    let intake = Intake {
        redactor: Redactor::shared(),
        pseudonyms: PseudonymKey::new(key),
        taxonomy: Arc::new(taxonomy),
    };
    let margin = config.limits.future_margin();
    let started = Instant::now();
    let mut skipped = 0u64;
    if let Some(events) = &args.events {
        let mut count = 0u64;
        for (n, line) in open(events)?.lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", events.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let checked = serde_json::from_str::<SecurityEventInput>(&line)
                .map_err(|e| e.to_string())
                .and_then(|i| NewSecurityEvent::try_from(i).map_err(|e| e.to_string()))
                .and_then(|e| e.check_not_ahead(margin).map_err(|e| e.to_string()));
            match checked {
                Ok(_) => count += 1,
                Err(e) => {
                    eprintln!("{}:{}: skipped: {e}", events.display(), n + 1);
                    skipped += 1;
                }
            }
        }
        eprintln!("replay: {count} security events read");
    }

    let off: Vec<Layer> = args
        .without
        .iter()
        .map(|l| match l {
            LayerArg::Spikes => Layer::Spikes,
            LayerArg::Themes => Layer::Themes,
            LayerArg::Clusters => Layer::Clusters,
        })
        .collect();
    let mut detector = Detector::default().without(&off);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let emit = |alerts: Vec<frontline_core::alert::DetectedAlert>,
                out: &mut dyn Write|
     -> anyhow::Result<u64> {
        for a in &alerts {
            serde_json::to_writer(&mut *out, a)?;
            out.write_all(b"\n")?;
        }
        Ok(alerts.len() as u64)
    };
    let (mut contacts, mut emitted) = (0u64, 0u64);
    // Two threads, as the server has intake and detection: this one reads, checks, redacts
    // and classifies lines in batches; the caller's detects and prints, in input order.
    // Each is about half the work per contact, so a replay takes about half the time on two
    // cores (the output is the same: detection alone carries state from contact to contact).
    let (send, receive) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<Prepared>>>(4);
    let input = open(&args.contacts)?;
    let contacts_path = args.contacts.clone();
    let intake = &intake;
    let read_skipped = std::thread::scope(|scope| -> anyhow::Result<u64> {
        let reader = scope.spawn(move || prepare_all(input, &contacts_path, intake, margin, &send));
        for batch in receive {
            for (contact, normalized) in batch? {
                contacts += 1;
                let detected = DetectedContact {
                    source: &contact.key.source,
                    id: &contact.key.id,
                    received_at: contact.received_at,
                    text: &contact.text,
                    normalized: Some(&normalized),
                    topics: &contact.topics,
                    service: contact.service.as_deref(),
                    channel: contact.channel.as_str(),
                    customer: contact.customer.as_deref(),
                    language: contact.language.as_deref(),
                };
                emitted += emit(detector.add(&detected), &mut out)?;
                if contacts % 1_000_000 == 0 {
                    eprintln!(
                        "replay: {contacts} contacts, {:.0}/s",
                        contacts as f64 / started.elapsed().as_secs_f64()
                    );
                }
            }
        }
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread failed"))
    })?;
    skipped += read_skipped;
    emitted += emit(detector.finish(), &mut out)?;
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    let (streams, clusters, words) = detector.sizes();
    eprintln!(
        "replay: {contacts} contacts in {secs:.1}s ({:.0}/s), {streams} streams, {clusters} clusters, {words} theme words, {emitted} alert lines, {} too late, {skipped} lines skipped",
        contacts as f64 / secs.max(1e-9),
        detector.too_late(),
    );
    Ok(ExitCode::SUCCESS)
}
