//! `frontline backup` and `frontline restore` for the embedded SQLite database: a consistent
//! copy taken while the server runs, carrying a manifest that proves it whole, and a restore
//! that checks that proof and applies again every erasure made after the copy, so a backup
//! never brings an erased customer back. For operators, on the day something broke.
//!
//! The backup is itself a SQLite file: `VACUUM INTO` (one read transaction, so intake goes on
//! and the copy is one moment), `PRAGMA integrity_check`, then a `backup_manifest` table
//! (version, schema, time, rows per table, feed head, audit head and hash, erasure ledger
//! head), fsync, and only then renamed to its name.

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use clap::Args;
use frontline_core::audit::ChainCheck;
use frontline_store::Store;
use serde::{Deserialize, Serialize};
use sqlx::{Connection, SqliteConnection};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What to copy.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The database to copy: sqlite://PATH, or postgres://… (written as a directory)
    /// [env FRONTLINE_DATABASE]
    #[arg(long)]
    pub(crate) database: Option<String>,
    /// The backup file to write (replaced only once the new copy is verified).
    #[arg(long)]
    out: PathBuf,
}

/// What to restore.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup: a SQLite backup file, or a backup directory (PostgreSQL's).
    #[arg(long)]
    from: PathBuf,
    /// The database to restore into: sqlite://PATH for a file, any database for a directory.
    /// The servers must be stopped.
    #[arg(long)]
    pub(crate) database: Option<String>,
    /// Replace a database that holds data (its erasure ledger is applied to the restored copy).
    #[arg(long)]
    force: bool,
    /// An erasure ledger to apply as well (NDJSON, one `GET /api/v1/erasures` item per line),
    /// for when the installation being replaced is gone.
    #[arg(long)]
    erasures: Option<PathBuf>,
}

/// What a backup holds, and the figures a restore checks it against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The Frontline version that wrote it.
    pub version: String,
    /// Always `sqlite` for now.
    pub backend: String,
    /// The newest migration applied.
    pub schema: i64,
    /// When the copy was taken.
    pub created_at: DateTime<Utc>,
    /// Rows per table.
    pub rows: BTreeMap<String, i64>,
    /// The newest feed entry.
    pub feed_head: i64,
    /// The newest audit record and its hash.
    pub audit_head: i64,
    pub audit_hash: String,
    /// The newest erasure ledger row.
    pub erasure_head: i64,
}

const MANIFEST_TABLE: &str = "backup_manifest";

pub(crate) fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .with_context(|| {
            format!(
                "--database: {url:?}: a backup file restores into a sqlite:// database \
                 (a backup directory, as PostgreSQL's are, into any)"
            )
        })?;
    let path = rest.split('?').next().unwrap_or_default();
    ensure!(!path.is_empty(), "--database: {url:?} names no file");
    Ok(PathBuf::from(path))
}

async fn connect(path: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(30));
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// Reads the figures a manifest records from a database as it is now.
async fn measure(conn: &mut SqliteConnection) -> anyhow::Result<Manifest> {
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> ?1 ORDER BY name",
    )
    .bind(MANIFEST_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = BTreeMap::new();
    for (name,) in tables {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {quoted}"))
            .fetch_one(&mut *conn)
            .await?;
        rows.insert(name, n);
    }
    ensure!(
        rows.contains_key("audit_log") && rows.contains_key("_sqlx_migrations"),
        "not a Frontline database (no audit log or migrations)"
    );
    let (schema,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?;
    let (feed_head,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM feed")
        .fetch_one(&mut *conn)
        .await?;
    let (erasure_head,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM erasures")
        .fetch_one(&mut *conn)
        .await?;
    let audit: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (audit_head, audit_hash) = audit.unwrap_or((0, String::new()));
    Ok(Manifest {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: "sqlite".into(),
        schema,
        created_at: Utc::now(),
        rows,
        feed_head,
        audit_head,
        audit_hash,
        erasure_head,
    })
}

async fn integrity(conn: &mut SqliteConnection, what: &Path) -> anyhow::Result<()> {
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("{}: not a readable SQLite file", what.display()))?;
    ensure!(verdict == "ok", "{}: damaged ({verdict})", what.display());
    Ok(())
}

fn sync_file(path: &Path) -> anyhow::Result<()> {
    std::fs::File::open(path)?.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself must survive a crash too.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes the copy out to disk as it grows, a little at a time, from a thread of its own.
/// On ext4 (ordered data), the server's next commit (an fsync of its WAL) waits for every
/// block allocated since the last journal commit, the copy's included: left to the end, a
/// copy's hundreds of megabytes of dirty pages stalled intake for a quarter of a second.
struct Trickle {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Trickle {
    fn start(path: &Path) -> Self {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, path) = (done.clone(), path.to_path_buf());
        let thread = std::thread::spawn(move || {
            let mut file = None;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(50));
                if file.is_none() {
                    file = std::fs::File::open(&path).ok();
                }
                // A failure here only loses the pacing: the copy is synced whole at the end.
                if let Some(f) = &file {
                    let _ = f.sync_data();
                }
            }
        });
        Self {
            done,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(crate) fn temporary(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Takes the copy; prints its manifest.
pub(crate) async fn backup(args: BackupArgs, database: &str) -> anyhow::Result<ExitCode> {
    if !database.starts_with("sqlite:") {
        return crate::backup_portable::backup(&args.out, database).await;
    }
    let source = sqlite_path(database)?;
    ensure!(
        source.exists(),
        "--database: {} does not exist",
        source.display()
    );
    let tmp = temporary(&args.out, ".partial");
    let _ = std::fs::remove_file(&tmp);
    let result = async {
        let mut conn = connect(&source, false).await?;
        let target = tmp.to_str().context("--out: the path is not UTF-8")?;
        let copying = Trickle::start(&tmp);
        let copied = sqlx::query("VACUUM INTO ?1")
            .bind(target)
            .execute(&mut conn)
            .await;
        copying.stop();
        copied.with_context(|| format!("copying {}", source.display()))?;
        conn.close().await?;
        // The copy's integrity is checked once, below, as a restore would read it: checking it
        // here as well was a second full pass over the copy while intake runs beside it.
        let mut copy = connect(&tmp, false).await?;
        let manifest = measure(&mut copy).await?;
        sqlx::query(&format!(
            "CREATE TABLE {MANIFEST_TABLE} (manifest TEXT NOT NULL)"
        ))
        .execute(&mut copy)
        .await?;
        sqlx::query(&format!("INSERT INTO {MANIFEST_TABLE} VALUES (?1)"))
            .bind(serde_json::to_string(&manifest)?)
            .execute(&mut copy)
            .await?;
        copy.close().await?;
        // Read back as a restore would before it is given its name.
        verify(&tmp).await?;
        sync_file(&tmp)?;
        std::fs::rename(&tmp, &args.out)
            .with_context(|| format!("--out: naming {}", args.out.display()))?;
        sync_file(&args.out)?;
        anyhow::Ok(manifest)
    }
    .await;
    match result {
        Ok(manifest) => {
            println!("{}", serde_json::to_string(&manifest)?);
            eprintln!(
                "backup {}: {} contacts, audit head {} ({}), feed head {}, erasure ledger head {}",
                args.out.display(),
                manifest.rows.get("contacts").copied().unwrap_or(0),
                manifest.audit_head,
                manifest.audit_hash,
                manifest.feed_head,
                manifest.erasure_head
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Checks a backup file against its own manifest; returns the manifest.
async fn verify(path: &Path) -> anyhow::Result<Manifest> {
    ensure!(path.is_file(), "--from: {} is not a file", path.display());
    let mut conn = connect(path, true).await?;
    integrity(&mut conn, path).await?;
    let stored: Option<(String,)> =
        sqlx::query_as(&format!("SELECT manifest FROM {MANIFEST_TABLE} LIMIT 1"))
            .fetch_optional(&mut conn)
            .await
            .ok()
            .flatten();
    let (stored,) = stored
        .with_context(|| format!("{}: not a Frontline backup (no manifest)", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&stored)
        .with_context(|| format!("{}: its manifest cannot be read", path.display()))?;
    ensure!(
        manifest.schema <= frontline_store_sqlite::schema_version(),
        "{}: written by a newer Frontline ({}, schema {}); this one knows schema {}",
        path.display(),
        manifest.version,
        manifest.schema,
        frontline_store_sqlite::schema_version()
    );
    let now = measure(&mut conn).await?;
    conn.close().await?;
    for (table, n) in &manifest.rows {
        let found = now.rows.get(table).copied();
        ensure!(
            found == Some(*n),
            "{}: table {table} holds {} rows, its manifest says {n}",
            path.display(),
            found.map_or("no".into(), |f| f.to_string())
        );
    }
    ensure!(
        (
            now.feed_head,
            now.audit_head,
            &now.audit_hash,
            now.erasure_head
        ) == (
            manifest.feed_head,
            manifest.audit_head,
            &manifest.audit_hash,
            manifest.erasure_head
        ),
        "{}: its feed, audit or erasure heads differ from its manifest",
        path.display()
    );
    Ok(manifest)
}

/// The pseudonyms in an erasure ledger file (`--erasures`: NDJSON, one `GET /api/v1/erasures`
/// item per line).
pub(crate) fn ledger_file(file: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("--erasures: reading {}", file.display()))?;
    let mut pseudonyms = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("--erasures: line {}: not JSON", n + 1))?;
        let pseudonym = value["pseudonym"]
            .as_str()
            .with_context(|| format!("--erasures: line {}: no \"pseudonym\"", n + 1))?;
        pseudonyms.push(pseudonym.to_owned());
    }
    Ok(pseudonyms)
}

/// The pseudonyms of erasures made after the backup: rows of the replaced installation's ledger
/// (and of `--erasures`) that the backup's ledger does not hold.
async fn erasures_since(
    target: &Path,
    file: Option<&Path>,
    backup: &Path,
) -> anyhow::Result<Vec<String>> {
    let ledger = |path: PathBuf| async move {
        let mut conn = connect(&path, true).await?;
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT pseudonym, requested_at FROM erasures ORDER BY seq")
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
        conn.close().await?;
        anyhow::Ok(rows)
    };
    let known: HashSet<String> = ledger(backup.to_path_buf())
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let mut wanted = Vec::new();
    if target.exists() {
        wanted.extend(
            ledger(target.to_path_buf())
                .await?
                .into_iter()
                .map(|(p, _)| p),
        );
    }
    if let Some(file) = file {
        wanted.extend(ledger_file(file)?);
    }
    let mut seen = HashSet::new();
    wanted.retain(|p| !known.contains(p) && seen.insert(p.clone()));
    Ok(wanted)
}

/// Folds the write-ahead log into the database file and leaves WAL mode, so that the file alone
/// holds every change (the erasures applied again above all) before it is renamed into place.
/// Deleting a WAL that was not yet checkpointed would lose them, and sqlx's `Pool::close` can
/// return with a connection still open (sqlx issue 3217), so this waits for exclusive access
/// rather than trusting that they are gone. (A CI run lost the erasures this way.)
async fn self_contained(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    for _ in 0..300 {
        // Leaving WAL mode needs the only connection; with another open SQLite answers "locked"
        // at once, without waiting on the busy timeout.
        let left: Result<(String,), sqlx::Error> = sqlx::query_as("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut *conn)
            .await;
        match left {
            Ok((mode,)) if mode.eq_ignore_ascii_case("delete") => return Ok(()),
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.message().contains("locked") => {}
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("the restored copy stayed in use for 30 s; it was not put in place")
}

/// Restores; exit 0 only when restored and verified.
pub(crate) async fn restore(
    args: RestoreArgs,
    config: &frontline_server::plumbing::config::Config,
) -> anyhow::Result<ExitCode> {
    let database = config.database.as_str();
    if args.from.is_dir() {
        return crate::backup_portable::restore(
            &args.from,
            config,
            args.force,
            args.erasures.as_deref(),
        )
        .await;
    }
    let target = sqlite_path(database)?;
    let manifest = verify(&args.from).await?;
    if target.exists() && !args.force {
        let mut conn = connect(&target, true).await?;
        let measured = measure(&mut conn).await;
        conn.close().await?;
        let Ok(measured) = measured else {
            bail!(
                "--database: {} is not a Frontline database; --force replaces it",
                target.display()
            );
        };
        let held = measured
            .rows
            .into_iter()
            .find(|(t, n)| *n > 0 && !t.starts_with('_') && t != "secrets");
        if let Some((table, n)) = held {
            bail!(
                "--database: {} is not empty (table {table} holds {n} rows); --force replaces it",
                target.display()
            );
        }
    }
    let erasures = erasures_since(&target, args.erasures.as_deref(), &args.from).await?;
    let tmp = temporary(&target, ".restoring");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(temporary(&tmp, suffix));
    }
    std::fs::copy(&args.from, &tmp).with_context(|| format!("copying to {}", tmp.display()))?;
    let result = async {
        let mut conn = connect(&tmp, false).await?;
        sqlx::query(&format!("DROP TABLE {MANIFEST_TABLE}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let tmp_url = format!("sqlite://{}", tmp.display());
        let store = frontline_store_sqlite::SqliteStore::open(&tmp_url).await?;
        let key = frontline_server::plumbing::startup::pseudonym_key(config, &store).await?;
        crate::reapply::reapply(&store, &key, &erasures, &crate::token::cli_origin()).await?;
        // The chain must be whole from its first record, and still pass through the head the
        // backup recorded.
        let mut check = ChainCheck::default();
        let mut after = 0;
        let mut head_seen = manifest.audit_head == 0;
        loop {
            let records = store.audit_records(after, 1000).await?;
            let Some(last) = records.last().map(|r| r.seq) else {
                break;
            };
            for r in &records {
                check
                    .check(r)
                    .map_err(|b| anyhow::anyhow!("the restored audit log is broken: {b}"))?;
                if r.seq == manifest.audit_head {
                    ensure!(
                        r.hash == manifest.audit_hash,
                        "audit record {} differs from the backup's manifest",
                        r.seq
                    );
                    head_seen = true;
                }
            }
            after = last;
        }
        ensure!(head_seen, "audit record {} is missing", manifest.audit_head);
        store.close().await;
        // A connection sqlx returned to the pool after `close` lives until the pool is dropped.
        drop(store);
        let mut conn = connect(&tmp, false).await?;
        self_contained(&mut conn).await?;
        let (contacts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        anyhow::Ok((contacts, check.checked()))
    }
    .await;
    let (contacts, audited) = match result {
        Ok(done) => done,
        Err(e) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(temporary(&tmp, suffix));
            }
            return Err(e.context("restore failed; the target was not touched"));
        }
    };
    // The replaced installation's journal belongs to it alone; the restored file has none.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(temporary(&target, suffix));
    }
    sync_file(&tmp)?;
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("--database: replacing {}", target.display()))?;
    sync_file(&target)?;
    println!(
        "restored {} from {} (taken {}): {contacts} contacts, audit log intact ({audited} \
         records), {} erasures made since the backup applied again",
        target.display(),
        args.from.display(),
        manifest.created_at.to_rfc3339(),
        erasures.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_restored_file_waits_for_a_straggling_connection_and_keeps_its_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut writer = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)")
            .execute(&mut writer)
            .await
            .unwrap();
        // Like a pool connection sqlx has not closed yet: it holds the WAL open a while longer.
        let straggler = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            writer.close().await.unwrap();
        });
        let mut conn = connect(&path, false).await.unwrap();
        self_contained(&mut conn).await.unwrap();
        assert!(
            straggler.is_finished(),
            "it waited for the other connection"
        );
        conn.close().await.unwrap();
        straggler.await.unwrap();
        // The main file alone holds the rows: nothing is lost with the WAL gone.
        let _ = std::fs::remove_file(dir.path().join("r.db-wal"));
        let mut conn = connect(&path, true).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 3);
    }
}
