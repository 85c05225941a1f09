//! Backup and restore through the portable export (`crates/cli/src/moving.rs`), for
//! PostgreSQL installations, where the SQLite file copy does not apply: one consistent
//! snapshot (a repeatable-read transaction, so intake goes on) written as a directory of
//! per-table NDJSON with a manifest of rows and SHA-256, read back before it gets its name.
//! A restore checks every file first, keeps what a forced restore replaces as a backup of its
//! own, writes the rows into the target (any backend), reads them back against the manifest,
//! then applies again every erasure made since the backup.

use crate::moving::{self, Manifest};
use anyhow::{Context, ensure};
use frontline_store::Store;
use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

/// Takes the backup into the directory `out` (an older backup there is replaced only once
/// the new one reads back whole).
pub(crate) async fn backup(out: &Path, database: &str) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let store = moving::open_existing(database, "--database").await?;
    let tmp = crate::backup::temporary(out, ".partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .with_context(|| format!("--out: removing {}", tmp.display()))?;
    }
    let result = async {
        let manifest = moving::write_export(store.as_ref(), &tmp).await?;
        // Read back as a restore would before it is given its name.
        moving::check_export(&tmp, "--out")?;
        anyhow::Ok(manifest)
    }
    .await;
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e.context("the backup failed; nothing was named --out"));
        }
    };
    if out.exists() {
        let old = crate::backup::temporary(out, ".old");
        std::fs::rename(out, &old).with_context(|| format!("--out: moving {}", out.display()))?;
        std::fs::rename(&tmp, out).with_context(|| format!("--out: naming {}", out.display()))?;
        let _ = std::fs::remove_dir_all(&old).or_else(|_| std::fs::remove_file(&old));
    } else {
        std::fs::rename(&tmp, out).with_context(|| format!("--out: naming {}", out.display()))?;
    }
    println!(
        "backup of {} rows in {} tables written to {} in {:.1} s and read back whole \
         (rows and SHA-256 per table in its manifest.json)",
        manifest.rows(),
        manifest.tables.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The erasure ledger of an installation, as pseudonyms, oldest first.
async fn ledger(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.list_erasures(after, 1000).await?;
        let Some(last) = page.last().map(|e| e.id) else {
            return Ok(all);
        };
        all.extend(page.into_iter().map(|e| e.pseudonym));
        after = last;
    }
}

/// Restores the backup directory `from` into `database`.
pub(crate) async fn restore(
    from: &Path,
    config: &frontline_server::plumbing::config::Config,
    force: bool,
    erasures: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let database = config.database.as_str();
    let manifest: Manifest = moving::check_export(from, "--from")?;
    let store = frontline_server::open_store(database).await?;
    // Erasures made since the backup: the replaced installation's and the file's, less the
    // ones the backup already holds.
    let erasures_table = frontline_store::portable::table("erasures").context("catalogue")?;
    let pseudonym_at = erasures_table
        .columns
        .iter()
        .position(|(c, _)| *c == "pseudonym")
        .context("catalogue")?;
    let known: HashSet<String> = Manifest::rows_of(from, erasures_table, "--from")?
        .into_iter()
        .filter_map(|row| match row.into_iter().nth(pseudonym_at) {
            Some(frontline_store::portable::Cell::Text(p)) => Some(p),
            _ => None,
        })
        .collect();
    let mut wanted = ledger(store.as_ref()).await?;
    if let Some(file) = erasures {
        wanted.extend(crate::backup::ledger_file(file)?);
    }
    let mut seen = HashSet::new();
    wanted.retain(|p| !known.contains(p) && seen.insert(p.clone()));

    let held = store.table_rows().await?;
    let mut kept = None;
    if let Some((table, n)) = held.iter().find(|(_, n)| *n > 0) {
        ensure!(
            force,
            "--database: not empty (table {table} holds {n} rows); --force replaces it"
        );
        // What is replaced is written out first, and read back, as a backup of its own:
        // emptying the target and loading the backup are many transactions, and a restore
        // that fails half-way must not have lost the installation it was replacing.
        let dir = crate::backup::temporary(
            from,
            &format!(".replaced-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")),
        );
        let written = moving::write_export(store.as_ref(), &dir)
            .await
            .and_then(|_| moving::check_export(&dir, "--database"));
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        written.with_context(|| {
            format!(
                "keeping what --force replaces in {} failed; nothing was changed",
                dir.display()
            )
        })?;
        println!(
            "the installation being replaced is kept in {} (restore it with frontline restore \
             --from {} --force)",
            dir.display(),
            dir.display()
        );
        kept = Some(dir);
        // Children first, so no row is left pointing at one already gone.
        for table in frontline_store::portable::TABLES.iter().rev() {
            store.clear_table(table).await?;
        }
    }
    store.import_started(&from.display().to_string()).await?;
    moving::load_export(&store, from, &manifest, "--from")
        .await
        .with_context(|| match &kept {
            Some(dir) => format!(
                "restore failed; run it again with --force once the cause is fixed (what was \
                 replaced is kept in {})",
                dir.display()
            ),
            None => "restore failed; run it again with --force once the cause is fixed".into(),
        })?;
    let key = frontline_server::plumbing::startup::pseudonym_key(config, store.as_ref()).await?;
    crate::reapply::reapply(store.as_ref(), &key, &wanted, &crate::token::cli_origin()).await?;
    let (records, head) = moving::audit_head(store.as_ref()).await?;
    store.import_verified().await?;
    println!(
        "restored {} rows from {} (taken {}): every table read back as backed up, {} erasures \
         made since the backup applied again, audit log intact ({records} records, head {head})",
        manifest.rows(),
        from.display(),
        manifest.created_at.to_rfc3339(),
        wanted.len()
    );
    Ok(ExitCode::SUCCESS)
}
