//! `frontline erase --customer ID`: erases a customer's data at the command line, as
//! `POST /api/v1/erasures` does (audited as the operating-system user), and prints the receipt.

use clap::Args;
use frontline_server::plumbing::config::Config;
use std::process::ExitCode;

/// What to erase.
#[derive(Debug, Args)]
pub(crate) struct EraseArgs {
    /// The customer's id exactly as the source sent it (an e-mail address, a requester id).
    #[arg(long)]
    customer: String,
    #[command(flatten)]
    pub(crate) db: crate::DatabaseArg,
}

pub(crate) async fn run(args: EraseArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let customer = args.customer.trim();
    anyhow::ensure!(
        !customer.is_empty(),
        "--customer: required, the id as the source sent it"
    );
    let store = frontline_server::open_store(&config.database).await?;
    let key = frontline_server::plumbing::startup::pseudonym_key(config, store.as_ref()).await?;
    let done = store
        .erase_customer(&key.pseudonym(customer), &crate::token::cli_origin())
        .await?;
    let c = &done.counts;
    println!(
        "erasure {}: {} contacts removed, {} left as tombstones (an incident links them), \
         {} alerts' evidence scrubbed, {} topic corrections removed",
        done.id,
        c.contacts_removed,
        c.contacts_tombstoned,
        c.alerts_scrubbed,
        c.corrections_removed
    );
    Ok(ExitCode::SUCCESS)
}
