//! `frontline detect --input PATH --output PATH`: anomaly scores for numeric series.
//!
//! PATH is a CSV file or a folder of them (searched recursively; the output mirrors the input
//! tree with the same file names; files not ending in `.csv` are ignored). Input columns
//! `timestamp,value`; output `timestamp,value,anomaly_score`, one row per input row, each score
//! computed online from the rows before it and itself. One configuration for every file.
//! A malformed row is reported on stderr with its file and line, and skipped. Files are scored
//! in parallel, one per core.

use anyhow::Context as _;
use frontline_pipeline::detect::score_csv;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    let target = |file: &PathBuf| {
        if meta.is_dir() {
            let rel = file.strip_prefix(&args.input).unwrap_or(file);
            args.output.join(rel)
        } else {
            args.output.clone()
        }
    };
    // Files are independent: one per core, the largest first so the last to finish is short.
    let mut order: Vec<&PathBuf> = files.iter().collect();
    order.sort_by_cached_key(|f| std::cmp::Reverse(std::fs::metadata(f).map_or(0, |m| m.len())));
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(order.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(file) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push(score_file(file, &target(file)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker that panicked must not pass for one that scored nothing.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    let mut rows = 0usize;
    let mut skipped = 0usize;
    for result in results {
        let (n, bad) = result?;
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
/// Scores one file; answers (rows scored, rows skipped).
fn score_file(input: &Path, output: &Path) -> anyhow::Result<(usize, usize)> {
    let file =
        std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let out = std::io::BufWriter::new(
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?,
    );
    let scored = score_csv(std::io::BufReader::new(file), out, |line, why| {
        eprintln!("{}:{line}: skipped: {why}", input.display());
    })
    .with_context(|| input.display().to_string())?;
    if let Some(line) = scored.first_out_of_order {
        let n = scored.out_of_order;
        eprintln!(
            "{}:{line}: {n} {} (the first here) not later than the row before; scored in file \
             order",
            input.display(),
            if n == 1 { "row is" } else { "rows are" }
        );
    }
    Ok((scored.rows, scored.skipped))
}
