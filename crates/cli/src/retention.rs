//! `frontline retention run [--dry-run]`: removes now what is past its `[retention]` window,
//! as the server's sweeper does, and prints what it removed (or would remove) per class.

use clap::Subcommand;
use frontline_server::plumbing::config::Config;
use std::process::ExitCode;

/// Retention commands.
#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Remove what is past its window now; print the counts per class.
    Run {
        /// Count what would go, change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: crate::DatabaseArg,
    },
}

impl RetentionCommand {
    pub(crate) fn database(&self) -> &Option<String> {
        match self {
            RetentionCommand::Run { db, .. } => &db.database,
        }
    }
}

pub(crate) async fn run(command: RetentionCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Run { dry_run, .. } = command;
    let store = frontline_server::open_store(&config.database).await?;
    let actor = crate::token::cli_origin().actor;
    let counts = frontline_server::workers::retention::run_once(
        store.as_ref(),
        &config.retention,
        actor,
        chrono::Utc::now(),
        dry_run,
    )
    .await?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let r = &config.retention;
    let window = |days: u32| {
        if days == 0 {
            "kept".to_owned()
        } else {
            format!("older than {days} days")
        }
    };
    for (what, n, days) in [
        ("contact texts", counts.contact_texts, r.contact_text_days),
        ("contacts", counts.contacts, r.contacts_days),
        (
            "alert evidence",
            counts.alert_evidence,
            r.alert_evidence_days,
        ),
        ("webhook deliveries", counts.deliveries, r.deliveries_days),
        ("mails", counts.mails, r.deliveries_days),
        ("sessions", counts.sessions, r.sessions_days),
        ("API tokens", counts.tokens, r.sessions_days),
    ] {
        println!("{verb} {n:>8} {what} ({})", window(days));
    }
    Ok(ExitCode::SUCCESS)
}
