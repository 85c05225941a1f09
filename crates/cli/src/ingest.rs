//! `frontline ingest FILE`: loads contacts from NDJSON or CSV through the same intake code as
//! the server: straight into the database (`--database`), or streamed to a running server
//! (`--server URL --token T`). Shows progress (a bar on a terminal, plain lines otherwise) and
//! ends with a summary: accepted, duplicates, and rejected lines by number.
//!
//! CSV is turned into NDJSON on the way (a header row names the fields; columns that are not
//! contact fields go into `metadata`), and rejected lines are reported by their line in the
//! CSV file.

use anyhow::Context as _;
use bytes::Bytes;
use frontline_api::{BulkSummary, ErrorBody, RejectedLine};
use frontline_pipeline::Intake;
use frontline_pipeline::redact::Redactor;
use frontline_server::api::bulk::{BulkIntake, MAX_LISTED_REJECTIONS, csv_record_to_json};
use frontline_server::plumbing::config::Config;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How many rejected lines the summary prints.
const SHOWN_REJECTIONS: usize = 20;

/// The input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One JSON object a line.
    Ndjson,
    /// Comma-separated, with a header row naming the fields.
    Csv,
}

/// `frontline ingest` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct IngestArgs {
    /// The file to load (`-` for standard input).
    file: PathBuf,
    /// The file's format [default: from the extension; .csv is CSV, anything else NDJSON].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Send to this running server (e.g. http://127.0.0.1:8080) instead of the database.
    #[arg(long, requires = "token")]
    server: Option<String>,
    /// An API token with the ingest (or admin) role, for --server.
    #[arg(
        long,
        requires = "server",
        env = "FRONTLINE_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    #[command(flatten)]
    pub(crate) db: crate::DatabaseArg,
}

pub(crate) async fn run(args: IngestArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let format = args.format.unwrap_or_else(|| {
        let csv = args
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if csv { Format::Csv } else { Format::Ndjson }
    });
    let total_bytes = if args.file.as_os_str() == "-" {
        None
    } else {
        Some(
            std::fs::metadata(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?
                .len(),
        )
    };
    let progress = Progress::new(total_bytes);
    let (lines, producer) = produce(args.file.clone(), format)?;

    let result = match (&args.server, &args.token) {
        (Some(server), Some(token)) => to_server(server, token, lines, &progress).await,
        _ => to_database(config, lines, &progress).await,
    };
    progress.finish();
    let local = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the file reader stopped unexpectedly"))?
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut summary = result?;
    local.apply(&mut summary);
    print_summary(&summary);
    Ok(if summary.rejected_count == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Lines the reader refused itself (CSV it could not read) and where each sent line came from.
#[derive(Default)]
struct LocalReport {
    /// For CSV, the file line of each sent NDJSON line (index = NDJSON line - 1).
    line_map: Option<Vec<u64>>,
    rejected: Vec<RejectedLine>,
}

impl LocalReport {
    /// Maps the server's NDJSON line numbers to the file's and merges local rejections.
    fn apply(self, summary: &mut BulkSummary) {
        if let Some(map) = &self.line_map {
            for r in &mut summary.rejected {
                if let Some(line) = usize::try_from(r.line)
                    .ok()
                    .and_then(|l| map.get(l.wrapping_sub(1)))
                {
                    r.line = *line;
                }
            }
            summary.lines = map
                .last()
                .copied()
                .unwrap_or(summary.lines)
                .max(summary.lines);
        }
        summary.rejected_count += self.rejected.len() as u64;
        summary.rejected.extend(self.rejected);
        summary.rejected.sort_by_key(|r| r.line);
        summary.rejected.truncate(MAX_LISTED_REJECTIONS);
    }
}

type Lines = mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// Reads the file on a thread of its own and hands NDJSON chunks to the async side.
fn produce(
    file: PathBuf,
    format: Format,
) -> anyhow::Result<(Lines, std::thread::JoinHandle<anyhow::Result<LocalReport>>)> {
    let reader: Box<dyn Read + Send> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?)
    };
    let (tx, rx) = mpsc::channel(8);
    let handle = std::thread::spawn(move || match format {
        Format::Ndjson => {
            let mut reader = std::io::BufReader::with_capacity(256 * 1024, reader);
            loop {
                let mut chunk = vec![0u8; 256 * 1024];
                let n = match reader.read(&mut chunk) {
                    Ok(0) => return Ok(LocalReport::default()),
                    Ok(n) => n,
                    Err(e) => {
                        let message = e.to_string();
                        let _ = tx.blocking_send(Err(e));
                        anyhow::bail!(message);
                    }
                };
                chunk.truncate(n);
                if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                    return Ok(LocalReport::default());
                }
            }
        }
        Format::Csv => csv_to_ndjson(reader, &tx),
    });
    Ok((rx, handle))
}

/// Turns CSV records into NDJSON lines, 256 KiB at a time.
fn csv_to_ndjson(
    reader: Box<dyn Read + Send>,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> anyhow::Result<LocalReport> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .context("reading the CSV header row")?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut report = LocalReport {
        line_map: Some(Vec::new()),
        rejected: Vec::new(),
    };
    let mut out = Vec::with_capacity(300 * 1024);
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line() + 1;
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                serde_json::to_writer(&mut out, &csv_record_to_json(&headers, &record))?;
                out.push(b'\n');
                if let Some(map) = report.line_map.as_mut() {
                    map.push(line);
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, csv::Position::line);
                report.rejected.push(RejectedLine {
                    line,
                    error: frontline_api::ErrorDetail {
                        code: "invalid".into(),
                        message: format!("unreadable CSV record: {e}"),
                        field: None,
                    },
                });
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    // Anything but a bad character means the rest cannot be trusted.
                    let _ = tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut out))));
                    return Err(e).context("reading the CSV file");
                }
            }
        }
        if out.len() >= 256 * 1024
            && tx
                .blocking_send(Ok(Bytes::from(std::mem::take(&mut out))))
                .is_err()
        {
            return Ok(report);
        }
    }
    if !out.is_empty() {
        let _ = tx.blocking_send(Ok(Bytes::from(out)));
    }
    Ok(report)
}

async fn to_database(
    config: &Config,
    lines: Lines,
    progress: &Progress,
) -> anyhow::Result<BulkSummary> {
    let store = frontline_server::open_store(&config.database).await?;
    let pseudonyms =
        frontline_server::plumbing::startup::pseudonym_key(config, store.as_ref()).await?;
    let taxonomy = config.load_taxonomy().context("loading the taxonomy")?;
    let intake = BulkIntake {
        store,
        intake: Arc::new(Intake {
            redactor: Redactor::shared(),
            pseudonyms,
            taxonomy: Arc::new(taxonomy),
        }),
        origin: crate::token::cli_origin(),
        max_bytes: u64::MAX,
        future_margin: config.limits.future_margin(),
        // The CLI is not scraped: its counts go nowhere.
        ops: Arc::default(),
        bus: None,
    };
    let report = progress.clone();
    let stream = tokio_stream(lines);
    intake
        .run(stream, move |summary, bytes| {
            report.update(bytes, summary.lines)
        })
        .await
        .context("loading into the database")
}

async fn to_server(
    server: &str,
    token: &str,
    lines: Lines,
    progress: &Progress,
) -> anyhow::Result<BulkSummary> {
    let url = format!("{}/api/v1/contacts/bulk", server.trim_end_matches('/'));
    let counter = progress.clone();
    let sent = Arc::new(Mutex::new((0u64, 0u64)));
    let stream = tokio_stream(lines).map(move |chunk| {
        if let Ok(bytes) = &chunk {
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            if let Ok(mut s) = sent.lock() {
                s.0 += bytes.len() as u64;
                s.1 += newlines;
                counter.update(s.0, s.1);
            }
        }
        chunk
    });
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .with_context(|| format!("sending to {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .context("reading the server's answer")?;
    if status.is_success() {
        return serde_json::from_str(&text)
            .with_context(|| format!("the server answered {status} with {text}"));
    }
    let detail = serde_json::from_str::<ErrorBody>(&text)
        .map_or(text, |b| format!("{} ({})", b.error.message, b.error.code));
    anyhow::bail!("the server refused the upload ({status}): {detail}")
}

fn tokio_stream(
    mut rx: Lines,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn print_summary(summary: &BulkSummary) {
    println!("accepted:   {}", summary.accepted);
    println!("duplicates: {}", summary.duplicates);
    println!("rejected:   {}", summary.rejected_count);
    for r in summary.rejected.iter().take(SHOWN_REJECTIONS) {
        println!("  line {}: {}", r.line, r.error.message);
    }
    let shown = summary.rejected.len().min(SHOWN_REJECTIONS) as u64;
    if summary.rejected_count > shown {
        println!("  … and {} more", summary.rejected_count - shown);
    }
}

/// Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise.
#[derive(Clone)]
struct Progress {
    bar: Option<ProgressBar>,
    total: Option<u64>,
    started: Instant,
    last_line: Arc<Mutex<Instant>>,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            total,
            started: Instant::now(),
            last_line: Arc::new(Mutex::new(Instant::now())),
        }
    }

    fn update(&self, bytes: u64, lines: u64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = lines as f64 / elapsed;
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(format!("{lines} lines, {rate:.0}/s"));
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        if last.elapsed() < Duration::from_secs(2) {
            return;
        }
        *last = Instant::now();
        let eta = self.total.filter(|t| bytes > 0 && *t > bytes).map(|t| {
            let left = (t - bytes) as f64 / (bytes as f64 / elapsed);
            format!(
                ", {:.0}% , ETA {:.0}s",
                bytes as f64 * 100.0 / t as f64,
                left
            )
        });
        eprintln!(
            "ingest: {lines} lines, {rate:.0} lines/s{}",
            eta.unwrap_or_default()
        );
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!(
            "ingest: done in {:.1}s",
            self.started.elapsed().as_secs_f64()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_become_fields_and_metadata() {
        let headers: Vec<String> = [
            "id",
            "source",
            "channel",
            "received_at",
            "text",
            "service",
            "priority",
            "metadata",
        ]
        .map(String::from)
        .to_vec();
        let record = csv::StringRecord::from(vec![
            "1",
            "zendesk",
            "ticket",
            "2026-11-25T13:00:00Z",
            "hi",
            "",
            "high",
            "{\"tags\":[\"vip\"]}",
        ]);
        let v = csv_record_to_json(&headers, &record);
        assert_eq!(
            v,
            serde_json::json!({"id": "1", "source": "zendesk", "channel": "ticket", "received_at": "2026-11-25T13:00:00Z", "text": "hi", "metadata": {"priority": "high", "tags": ["vip"]}})
        );
        let record = csv::StringRecord::from(vec!["", "zendesk", "ticket", "x", "hi", "", "", ""]);
        assert_eq!(csv_record_to_json(&headers, &record)["id"], "");
    }

    #[test]
    fn file_lines_replace_ndjson_lines_and_local_errors_merge() {
        let mut summary = BulkSummary {
            accepted: 1,
            duplicates: 0,
            rejected: vec![RejectedLine {
                line: 2,
                error: frontline_api::ErrorDetail {
                    code: "invalid".into(),
                    message: "m".into(),
                    field: None,
                },
            }],
            rejected_count: 1,
            lines: 2,
        };
        let local = LocalReport {
            line_map: Some(vec![2, 5]),
            rejected: vec![RejectedLine {
                line: 4,
                error: frontline_api::ErrorDetail {
                    code: "invalid".into(),
                    message: "csv".into(),
                    field: None,
                },
            }],
        };
        local.apply(&mut summary);
        let lines: Vec<u64> = summary.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 5]);
        assert_eq!(summary.rejected_count, 2);
        assert_eq!(summary.lines, 5);
    }
}
