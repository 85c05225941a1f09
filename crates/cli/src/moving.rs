//! Moving an installation: `frontline export` writes every table as canonical NDJSON lines
//! with a manifest of counts and digests, `frontline import` reads such a directory into an
//! empty database, and `frontline migrate` copies a SQLite installation straight into
//! PostgreSQL (or any backend into any other). For the operator whose installation outgrew
//! the embedded database. All three speak `frontline_store::portable`, so times, JSON and bytes
//! keep their meaning, and all three verify what they wrote: per-table row counts and SHA-256
//! digests read back from the target, and the audit chain ending on the same hash.

use anyhow::{Context, bail, ensure};
use async_trait::async_trait;
use chrono::Utc;
use clap::Args;
use frontline_core::audit::ChainCheck;
use frontline_store::portable::{self, Digests, Row, RowSink, TABLES, Table, TableDigest};
use frontline_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// The manifest's format name; an import refuses any other.
const FORMAT: &str = "frontline-export/1";
/// Rows written to the target per transaction.
const CHUNK: usize = 5000;

/// What to export.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The directory to write (created; must be empty if it exists).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    pub(crate) db: crate::DatabaseArg,
}

/// What to import.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// A directory written by `frontline export`.
    #[arg(long = "in")]
    input: PathBuf,
    #[command(flatten)]
    pub(crate) db: crate::DatabaseArg,
}

/// What to migrate.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The installation to copy: sqlite://PATH (its server stopped).
    #[arg(long)]
    from: String,
    /// The empty database to copy it into: postgres://…
    #[arg(long)]
    to: String,
    /// Finish a migration that stopped half-way, instead of refusing a target that holds data.
    #[arg(long)]
    resume: bool,
}

/// One table in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TableEntry {
    name: String,
    columns: Vec<String>,
    rows: u64,
    sha256: String,
}

/// What an export holds: enough to refuse a damaged, foreign or newer one before anything is
/// written, and to prove an import whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    format: String,
    version: String,
    pub(crate) created_at: chrono::DateTime<Utc>,
    pub(crate) tables: Vec<TableEntry>,
}

fn entry(table: &Table, digest: &TableDigest) -> TableEntry {
    TableEntry {
        name: table.name.into(),
        columns: table.columns.iter().map(|(c, _)| (*c).to_owned()).collect(),
        rows: digest.rows(),
        sha256: digest.hex(),
    }
}

/// Opens a database that must already exist (an export's or migration's source): a SQLite
/// path that is not there is an error, not a new empty installation.
pub(crate) async fn open_existing(url: &str, what: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let path = crate::backup::sqlite_path(url)?;
        ensure!(path.exists(), "{what}: {} does not exist", path.display());
    }
    frontline_server::open_store(url)
        .await
        .with_context(|| format!("{what}: opening {}", redacted(url)))
}

/// Refuses a target that holds anything, naming the first table that does.
pub(crate) async fn ensure_empty(store: &dyn Store, what: &str, hint: &str) -> anyhow::Result<()> {
    if let Some((table, n)) = store.table_rows().await?.into_iter().find(|(_, n)| *n > 0) {
        bail!("{what}: not empty (table {table} holds {n} rows); {hint}");
    }
    Ok(())
}

/// Walks the audit chain from its first record; its head hash, or the first break.
pub(crate) async fn audit_head(store: &dyn Store) -> anyhow::Result<(u64, String)> {
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let records = store.audit_records(after, 1000).await?;
        let Some(last) = records.last().map(|r| r.seq) else {
            break;
        };
        for r in &records {
            check
                .check(r)
                .map_err(|b| anyhow::anyhow!("the audit log is broken: {b}"))?;
        }
        after = last;
    }
    Ok((check.checked(), check.head().to_owned()))
}

/// Checks the target against what was written: every table's rows and digest, read back.
async fn verify_target(
    store: &dyn Store,
    expected: &[TableEntry],
    what: &str,
) -> anyhow::Result<()> {
    let mut read = Digests::default();
    store.export(&mut read).await?;
    for want in expected {
        let got = read.of(&want.name);
        ensure!(
            got.rows() == want.rows && got.hex() == want.sha256,
            "{what}: table {} reads back as {} rows (sha256 {}) where {} rows (sha256 {}) were \
             written",
            want.name,
            got.rows(),
            got.hex(),
            want.rows,
            want.sha256
        );
    }
    Ok(())
}

/// Writes each table to `TABLE.ndjson` as it comes, hashing its lines.
struct FileSink {
    dir: PathBuf,
    open: Option<(&'static Table, BufWriter<std::fs::File>, TableDigest)>,
    done: Vec<TableEntry>,
}

impl FileSink {
    fn finish_table(&mut self) -> anyhow::Result<()> {
        if let Some((table, mut file, digest)) = self.open.take() {
            file.flush()?;
            file.get_ref().sync_all()?;
            self.done.push(entry(table, &digest));
        }
        Ok(())
    }

    fn start(&mut self, table: &'static Table) -> anyhow::Result<()> {
        self.finish_table()?;
        let path = self.dir.join(format!("{}.ndjson", table.name));
        let file = std::fs::File::create(&path)
            .with_context(|| format!("--out: creating {}", path.display()))?;
        self.open = Some((table, BufWriter::new(file), TableDigest::default()));
        Ok(())
    }
}

#[async_trait]
impl RowSink for FileSink {
    async fn rows(&mut self, table: &'static Table, rows: Vec<Row>) -> Result<(), StoreError> {
        let io = |e: anyhow::Error| StoreError::internal("writing the export", e);
        if self.open.as_ref().map(|(t, _, _)| t.name) != Some(table.name) {
            self.start(table).map_err(io)?;
        }
        if let Some((_, file, digest)) = self.open.as_mut() {
            for row in &rows {
                let line = portable::encode(row);
                digest.add_line(&line);
                writeln!(file, "{line}").map_err(|e| io(e.into()))?;
            }
        }
        Ok(())
    }
}

/// Writes `store`'s export into `dir` (created; it must not hold anything): one file per
/// table, then the manifest, last and under its name only once whole.
pub(crate) async fn write_export(store: &dyn Store, dir: &Path) -> anyhow::Result<Manifest> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut sink = FileSink {
        dir: dir.to_path_buf(),
        open: None,
        done: Vec::new(),
    };
    store.export(&mut sink).await?;
    sink.finish_table()?;
    // A table with no rows sent nothing: it gets an empty file all the same.
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        match sink.done.iter().find(|e| e.name == table.name) {
            Some(e) => tables.push(e.clone()),
            None => {
                std::fs::File::create(dir.join(format!("{}.ndjson", table.name)))?;
                tables.push(entry(table, &TableDigest::default()));
            }
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        created_at: Utc::now(),
        tables,
    };
    let tmp = dir.join("manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join("manifest.json"))?;
    Ok(manifest)
}

impl Manifest {
    /// Rows in every table.
    pub(crate) fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// The rows of `table` in the export, decoded (for a restore's look at the erasure
    /// ledger the backup holds).
    pub(crate) fn rows_of(
        dir: &Path,
        table: &'static Table,
        what: &str,
    ) -> anyhow::Result<Vec<Row>> {
        rows_of(dir, table, what)?
            .map(|r| r.map(|(row, _)| row))
            .collect()
    }
}

pub(crate) async fn export(args: ExportArgs, database: &str) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.out.exists() {
        let mut entries = std::fs::read_dir(&args.out)
            .with_context(|| format!("--out: reading {}", args.out.display()))?;
        ensure!(
            entries.next().is_none(),
            "--out: {} is not empty",
            args.out.display()
        );
    }
    let store = open_existing(database, "--database").await?;
    let manifest = write_export(store.as_ref(), &args.out)
        .await
        .context("--out")?;
    println!(
        "exported {} rows in {} tables to {} in {:.1} s",
        manifest.rows(),
        manifest.tables.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads an export's manifest, checks it against this build's catalogue, and checks every
/// file against it (rows and SHA-256) before anything is written. `what` names the argument
/// in errors (`--in`, `--from`).
pub(crate) fn check_export(dir: &Path, what: &str) -> anyhow::Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{what}: {} has no manifest.json (not an export, or one that did not finish)",
            dir.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{what}: {} is not a manifest", path.display()))?;
    ensure!(
        manifest.format == FORMAT,
        "{what}: format {:?}, this build reads {FORMAT:?}",
        manifest.format
    );
    for want in &manifest.tables {
        let Some(table) = portable::table(&want.name) else {
            bail!(
                "{what}: table {} is unknown to this build (an export from a newer version?)",
                want.name
            );
        };
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        ensure!(
            want.columns == columns,
            "{what}: table {} has columns {:?}, this build {:?}",
            want.name,
            want.columns,
            columns
        );
        let mut digest = TableDigest::default();
        for row in rows_of(dir, table, what)? {
            digest.add_line(&row?.1);
        }
        ensure!(
            digest.rows() == want.rows && digest.hex() == want.sha256,
            "{what}: {}.ndjson holds {} rows (sha256 {}) where the manifest says {} ({}): \
             damaged or edited; nothing was written",
            want.name,
            digest.rows(),
            digest.hex(),
            want.rows,
            want.sha256
        );
    }
    for table in TABLES {
        ensure!(
            manifest.tables.iter().any(|t| t.name == table.name),
            "{what}: the manifest lists no table {}",
            table.name
        );
    }
    Ok(manifest)
}

/// One table's file, line by line, each decoded and checked (with its line, for the digest);
/// an error names the file and line.
fn rows_of(
    dir: &Path,
    table: &'static Table,
    what: &str,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<(Row, String)>>> {
    let path = dir.join(format!("{}.ndjson", table.name));
    let file = std::fs::File::open(&path).with_context(|| format!("{what}: {}", path.display()))?;
    let what = what.to_owned();
    Ok(std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .map(move |(n, line)| {
            let at = || format!("{what}: {} line {}", path.display(), n + 1);
            let line = line.with_context(at)?;
            let row =
                portable::decode(table, &line).map_err(|why| anyhow::anyhow!("{}: {why}", at()))?;
            Ok((row, line))
        }))
}

/// Writes a checked export into `store` (which must be empty), moves its counters on, and
/// reads every table back against the manifest.
pub(crate) async fn load_export(
    store: &Arc<dyn Store>,
    dir: &Path,
    manifest: &Manifest,
    what: &str,
) -> anyhow::Result<()> {
    // The files are read and decoded on a thread of their own while the target writes.
    let (out, chunks) = tokio::sync::mpsc::channel(2);
    let reader = {
        let (dir, what) = (dir.to_path_buf(), what.to_owned());
        tokio::task::spawn_blocking(move || {
            for table in TABLES {
                let mut chunk = Vec::with_capacity(CHUNK);
                for row in rows_of(&dir, table, &what)? {
                    chunk.push(row?.0);
                    if chunk.len() == CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                        if out.blocking_send((table, full)).is_err() {
                            return Ok(());
                        }
                    }
                }
                if !chunk.is_empty() && out.blocking_send((table, chunk)).is_err() {
                    return Ok(());
                }
            }
            anyhow::Ok(())
        })
    };
    let written = write_chunks(store, chunks).await;
    reader.await.context("reading the files")??;
    written?;
    store.import_finish().await?;
    verify_target(store.as_ref(), &manifest.tables, "--database").await
}

pub(crate) async fn import(args: ImportArgs, database: &str) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let manifest = check_export(&args.input, "--in")?;
    let store = frontline_server::open_store(database).await?;
    ensure_empty(
        store.as_ref(),
        "--database",
        "import only into an empty database",
    )
    .await?;
    store
        .import_started(&args.input.display().to_string())
        .await?;
    load_export(&store, &args.input, &manifest, "--in").await?;
    store.import_verified().await?;
    let (records, head) = audit_head(store.as_ref()).await?;
    println!(
        "imported {} rows from {} in {:.1} s; every table reads back as exported, audit log \
         intact ({records} records, head {head})",
        manifest.rows(),
        args.input.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The reading half of a migration: hashes every row the source exports, gathers the rows of
/// the tables still to copy into chunks, and hands each chunk to the writing task. The hashing
/// happens here so it overlaps the target's writes.
struct Reader {
    skip: Vec<&'static str>,
    sent: Digests,
    pending: Vec<Row>,
    pending_table: Option<&'static Table>,
    out: tokio::sync::mpsc::Sender<(&'static Table, Vec<Row>)>,
}

impl Reader {
    async fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(table) = self.pending_table
            && !self.pending.is_empty()
        {
            let rows = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
            self.out
                .send((table, rows))
                .await
                .map_err(|_| StoreError::internal("migrating", "the writer stopped"))?;
        }
        Ok(())
    }
}

#[async_trait]
impl RowSink for Reader {
    async fn rows(&mut self, table: &'static Table, rows: Vec<Row>) -> Result<(), StoreError> {
        self.sent.add(table, &rows);
        if self.skip.contains(&table.name) {
            return Ok(());
        }
        if self.pending_table.map(|t| t.name) != Some(table.name) {
            self.flush().await?;
            self.pending_table = Some(table);
        }
        self.pending.extend(rows);
        if self.pending.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }
}

type JoinHandle = tokio::task::JoinHandle<Result<(), StoreError>>;

/// Waits for one chunk's write.
async fn written((table, write): (&'static str, JoinHandle)) -> anyhow::Result<()> {
    write
        .await
        .context("writing the target")?
        .with_context(|| format!("--to: writing {table}"))
}

/// Chunks of rows on their way to the target.
type Chunks = tokio::sync::mpsc::Receiver<(&'static Table, Vec<Row>)>;

/// Writes the chunks as they come. Two chunks of one table are written at once (PostgreSQL
/// spends most of its time maintaining indexes, one backend per connection); a table starts
/// only once the one before it is written whole, so a row never arrives before the row it
/// refers to.
async fn write_chunks(target: &Arc<dyn Store>, mut chunks: Chunks) -> anyhow::Result<()> {
    let mut writing: std::collections::VecDeque<(&'static str, JoinHandle)> =
        std::collections::VecDeque::new();
    while let Some((table, rows)) = chunks.recv().await {
        if writing.back().is_some_and(|(t, _)| *t != table.name) {
            while let Some(w) = writing.pop_front() {
                written(w).await?;
            }
        }
        if writing.len() == 2
            && let Some(w) = writing.pop_front()
        {
            written(w).await?;
        }
        let target = Arc::clone(target);
        writing.push_back((
            table.name,
            tokio::spawn(async move { target.import_rows(table, &rows).await }),
        ));
    }
    while let Some(w) = writing.pop_front() {
        written(w).await?;
    }
    Ok(())
}

pub(crate) async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.from != args.to, "--to: the same database as --from");
    let source = open_existing(&args.from, "--from").await?;
    let target = frontline_server::open_store(&args.to)
        .await
        .context("--to")?;
    let source_rows = source.table_rows().await?;
    let target_rows = target.table_rows().await?;
    // A resumed migration keeps the tables it finished (the digests below prove them) and
    // redoes the first one that differs, and everything after it.
    let mut skip: Vec<&'static str> = Vec::new();
    if args.resume {
        let first_unfinished = source_rows
            .iter()
            .zip(&target_rows)
            .position(|((_, s), (_, t))| s != t)
            .unwrap_or(TABLES.len());
        for table in TABLES[first_unfinished..].iter().rev() {
            target.clear_table(table).await?;
        }
        skip.extend(TABLES[..first_unfinished].iter().map(|t| t.name));
    } else {
        ensure_empty(
            target.as_ref(),
            "--to",
            "--resume finishes a migration that stopped half-way",
        )
        .await?;
    }
    // Marked until verified: `serve` refuses a database a crash left half-copied.
    target.import_started(&redacted(&args.from)).await?;
    let copy_started = Instant::now();
    // The source is read on one task while the target is written on this one: the two
    // databases work at once.
    let (out, chunks) = tokio::sync::mpsc::channel(2);
    let reader = {
        let source = Arc::clone(&source);
        tokio::spawn(async move {
            let mut reader = Reader {
                skip,
                sent: Digests::default(),
                pending: Vec::with_capacity(CHUNK),
                pending_table: None,
                out,
            };
            source.export(&mut reader).await?;
            reader.flush().await?;
            Ok::<_, StoreError>(reader.sent)
        })
    };
    write_chunks(&target, chunks).await?;
    let sent = reader.await.context("reading the source")??;
    let sent: Vec<TableEntry> = TABLES.iter().map(|t| entry(t, &sent.of(t.name))).collect();
    target.import_finish().await?;
    let copied = copy_started.elapsed();
    verify_target(target.as_ref(), &sent, "--to").await?;
    // Equal audit_log digests above already mean the same records, so the same head: the
    // source's chain is not walked again, only the target's checked whole.
    let (records, head) = audit_head(target.as_ref()).await?;
    target.import_verified().await?;
    let rows: u64 = sent.iter().map(|t| t.rows).sum();
    println!(
        "migrated {rows} rows in {} tables in {:.2} s ({:.0} rows/s), verified in {:.1} s: every \
         table's rows and SHA-256 equal on both sides, audit log intact ({records} records, \
         head {head}), pseudonym key and tokens carried over.\n\
         Cut-over:\n  \
         1. keep the old server stopped (anything it takes now is not in the copy);\n  \
         2. start every node with --database {} (or [database] url / FRONTLINE_DATABASE);\n  \
         3. check GET /api/v1/nodes and the status page, then keep {} as a backup.",
        TABLES.len(),
        copied.as_secs_f64(),
        rows as f64 / copied.as_secs_f64().max(1e-9),
        copy_started.elapsed().as_secs_f64() - copied.as_secs_f64(),
        redacted(&args.to),
        args.from
    );
    Ok(ExitCode::SUCCESS)
}

/// A database URL without its password, for printing.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:…{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn printed_urls_hide_the_password() {
        assert_eq!(
            redacted("postgres://app:s3cret@db:5432/frontline"),
            "postgres://app:…@db:5432/frontline"
        );
        assert_eq!(redacted("sqlite://f.db"), "sqlite://f.db");
    }
}
