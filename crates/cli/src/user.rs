//! `frontline user add NAME --role ROLE`: a person who signs in to the web pages. Creates the
//! user (or gives an existing one the role) and prints only a one-time password, which must be
//! changed at the first sign-in.

use anyhow::Context as _;
use clap::Subcommand;
use frontline_core::Role;
use frontline_server::auth::session::{hash_password, one_time_password};
use frontline_server::plumbing::config::Config;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user (or add a role to one) and print a one-time password.
    Add {
        /// The user's name (what they type to sign in).
        name: String,
        /// The role to give.
        #[arg(long)]
        role: Role,
        #[command(flatten)]
        db: crate::DatabaseArg,
    },
    /// Take a role away, or (without --role) all access: every role, the password, every
    /// session and every API token, at once.
    Remove {
        /// The user's name.
        name: String,
        /// Only this role.
        #[arg(long)]
        role: Option<Role>,
        #[command(flatten)]
        db: crate::DatabaseArg,
    },
}

impl UserCommand {
    pub(crate) fn database(&self) -> &Option<String> {
        match self {
            UserCommand::Add { db, .. } | UserCommand::Remove { db, .. } => &db.database,
        }
    }
}

pub(crate) async fn run(command: UserCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = frontline_server::open_store(&config.database).await?;
    match command {
        UserCommand::Add { name, role, .. } => {
            let name = frontline_core::field::short_text(name, "name", 128)?;
            let password = one_time_password();
            let hash = {
                let password = password.clone();
                tokio::task::spawn_blocking(move || hash_password(&password)).await?
            };
            store
                .set_password(&name, Some(role), &hash, true, &crate::token::cli_origin())
                .await
                .context("saving the user")?;
            // Only the password on stdout, so a script can take it.
            println!("{password}");
            eprintln!(
                "{name} may sign in at /login with this one-time password, and will choose their own."
            );
        }
        UserCommand::Remove { name, role, .. } => {
            let removed = store
                .remove_access(&name, role, &crate::token::cli_origin())
                .await
                .context("taking access away")?;
            match role {
                Some(r) => eprintln!("{name} no longer has the {} role.", r.as_str()),
                None => eprintln!(
                    "{name} has no access any more: {} roles taken away, {} sessions ended, {} tokens revoked.",
                    removed.roles, removed.sessions, removed.tokens
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
