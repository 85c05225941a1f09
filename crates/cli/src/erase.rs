//! `frontline erase --customer ID` or `--user NAME`: erases a customer's data, or a person who
//! used Frontline, at the command line, as `POST /api/v1/erasures` and
//! `POST /api/v1/erasures/people` do (audited as the operating-system user), and prints the
//! receipt. The command line is also how an admin's own account is erased.

use clap::Args;
use frontline_server::plumbing::config::Config;
use std::process::ExitCode;

/// What to erase: one customer or one person.
#[derive(Debug, Args)]
pub(crate) struct EraseArgs {
    /// The customer's id exactly as the source sent it (an e-mail address, a requester id).
    #[arg(long, required_unless_present = "user", conflicts_with = "user")]
    customer: Option<String>,
    /// A user's name: it becomes a placeholder wherever it stood, and the account goes.
    #[arg(long)]
    user: Option<String>,
    #[command(flatten)]
    pub(crate) db: crate::DatabaseArg,
}

pub(crate) async fn run(args: EraseArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = frontline_server::open_store(&config.database).await?;
    let key = frontline_server::plumbing::startup::pseudonym_key(config, store.as_ref()).await?;
    let origin = crate::token::cli_origin();
    if let Some(user) = args.user.as_deref() {
        let user = user.trim();
        anyhow::ensure!(!user.is_empty(), "--user: required, the user's name");
        let done = store
            .erase_person(user, &key.pseudonym(&format!("user:{user}")), &origin)
            .await?;
        let c = &done.counts;
        println!(
            "{user} is now {} everywhere Frontline named them: {} audit fields erased \
             ({} older records kept: their hash covers the name), {} actor fields and {} \
             documents rewritten; account {}, {} sessions and {} tokens removed",
            done.placeholder,
            c.audit_fields_erased,
            c.audit_records_kept,
            c.actor_fields,
            c.documents,
            if c.account_removed {
                "removed"
            } else {
                "not found"
            },
            c.sessions_removed,
            c.tokens_removed
        );
        return Ok(ExitCode::SUCCESS);
    }
    let customer = args.customer.as_deref().unwrap_or_default().trim();
    anyhow::ensure!(
        !customer.is_empty(),
        "--customer: required, the id as the source sent it"
    );
    let done = store
        .erase_customer(&key.pseudonym(customer), &origin)
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
