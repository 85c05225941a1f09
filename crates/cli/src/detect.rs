//! `frontline detect --input PATH --output PATH`: anomaly scores for numeric series.
//!
//! PATH is a CSV file or a folder of them (searched recursively; the output mirrors the input
//! tree with the same file names; files not ending in `.csv` are ignored). Input columns
//! `timestamp,value`; output `timestamp,value,anomaly_score`, one row per input row, each score
//! computed online from the rows before it and itself. One configuration for every file.
//! A malformed row is reported on stderr with its file and line, and skipped.

use anyhow::Context as _;
use frontline_pipeline::detect::{Detector, DetectorConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `frontline detect` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct DetectArgs {
    /// A CSV file or a folder of them.
    #[arg(long)]
    input: PathBuf,
    /// Where the scored file (or the mirrored folder) goes.
    #[arg(long)]
    output: PathBuf,
}

pub(crate) fn run(args: &DetectArgs) -> anyhow::Result<ExitCode> {
    let meta = std::fs::metadata(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        collect(&args.input, &mut files)?;
        files.sort();
    } else {
        files.push(args.input.clone());
    }
    let mut rows = 0usize;
    let mut skipped = 0usize;
    for file in &files {
        let target = if meta.is_dir() {
            let rel = file.strip_prefix(&args.input).unwrap_or(file);
            args.output.join(rel)
        } else {
            args.output.clone()
        };
        let (n, bad) = score_file(file, &target)?;
        rows += n;
        skipped += bad;
    }
    eprintln!(
        "detect: {} files, {rows} rows scored, {skipped} malformed rows skipped",
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "csv") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether a timestamp is of a form we read: `YYYY-MM-DD HH:MM:SS[.f]` or RFC 3339.
fn valid_timestamp(t: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || chrono::DateTime::parse_from_rfc3339(t).is_ok()
}

/// Scores one file; answers (rows scored, rows skipped).
fn score_file(input: &Path, output: &Path) -> anyhow::Result<(usize, usize)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(input)
        .with_context(|| format!("opening {}", input.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header row", input.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .with_context(|| format!("{}: no `{name}` column in the header row", input.display()))
    };
    let (t_col, v_col) = (column("timestamp")?, column("value")?);
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?,
    );
    writeln!(out, "timestamp,value,anomaly_score")?;
    let mut detector = Detector::new(DetectorConfig::default());
    let (mut rows, mut skipped) = (0, 0);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let t = record.get(t_col).map(str::trim).unwrap_or_default();
                let v = record.get(v_col).map(str::trim).unwrap_or_default();
                match v.parse::<f64>() {
                    Ok(value) if value.is_finite() && valid_timestamp(t) => {
                        let score = detector.update(value);
                        writeln!(out, "{t},{v},{score:.6}")?;
                        rows += 1;
                    }
                    _ => {
                        eprintln!(
                            "{}:{line}: skipped: expected a timestamp and a number, got {t:?},{v:?}",
                            input.display()
                        );
                        skipped += 1;
                    }
                }
            }
            Err(e) => {
                eprintln!("{}:{line}: skipped: {e}", input.display());
                skipped += 1;
            }
        }
    }
    out.flush()?;
    Ok((rows, skipped))
}
