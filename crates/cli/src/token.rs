//! `frontline token create|list|revoke`: API tokens, straight in the database (a running server
//! sees a new or revoked token at once: it reads tokens from the database on every request).

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;
use frontline_core::Role;
use frontline_core::audit::Actor;
use frontline_core::ids::TokenId;
use frontline_server::auth::token::issue;
use frontline_server::plumbing::config::Config;
use frontline_store::Origin;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token for user NAME (created if missing, and given ROLE); prints only the token.
    Create {
        /// admin, security, cx_lead, cx_agent, comms, viewer or ingest.
        #[arg(long)]
        role: Role,
        /// The user's name [default: the role's name].
        #[arg(long)]
        name: Option<String>,
        /// Lifetime, e.g. 90d, 12h [default: no expiry].
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
        #[command(flatten)]
        db: crate::DatabaseArg,
    },
    /// List tokens, newest first.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: crate::DatabaseArg,
    },
    /// Revoke a token by its id (the part after `flt_` and before the next `_`).
    Revoke {
        /// The token id, as `token list` shows it.
        id: String,
        #[command(flatten)]
        db: crate::DatabaseArg,
    },
}

impl TokenCommand {
    pub(crate) fn database(&self) -> &Option<String> {
        match self {
            TokenCommand::Create { db, .. }
            | TokenCommand::List { db, .. }
            | TokenCommand::Revoke { db, .. } => &db.database,
        }
    }
}

/// The audit origin of changes made at the command line.
pub(crate) fn cli_origin() -> Origin {
    let os_user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Origin::new(Actor::Cli { os_user })
}

pub(crate) async fn run(command: TokenCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = frontline_server::open_store(&config.database).await?;
    match command {
        TokenCommand::Create {
            role,
            name,
            expires_in,
            ..
        } => {
            let name = name.unwrap_or_else(|| role.as_str().to_owned());
            let name = frontline_core::field::short_text(name, "name", 128)?;
            let expires_at = expires_in
                .map(|d| chrono::Duration::from_std(d).map(|d| Utc::now() + d))
                .transpose()
                .context("--expires-in is too long")?;
            let (_, token) = issue(store.as_ref(), &name, role, expires_at, &cli_origin())
                .await
                .context("creating the token")?;
            println!("{token}");
        }
        TokenCommand::List { json, .. } => {
            let tokens = store.list_tokens().await.context("listing tokens")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                println!(
                    "{:<16}  {:<20}  {:<28}  {:<20}  {:<20}  STATUS",
                    "ID", "USER", "ROLES", "CREATED", "EXPIRES"
                );
                let now = Utc::now();
                for t in tokens {
                    let roles: Vec<&str> = t.roles.iter().map(|r| r.as_str()).collect();
                    let status = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.expires_at.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "active"
                    };
                    let fmt = |d: chrono::DateTime<Utc>| d.format("%Y-%m-%d %H:%M:%S").to_string();
                    println!(
                        "{:<16}  {:<20}  {:<28}  {:<20}  {:<20}  {status}",
                        t.id.0,
                        t.user,
                        roles.join(","),
                        fmt(t.created_at),
                        t.expires_at.map_or_else(|| "never".into(), fmt),
                    );
                }
            }
        }
        TokenCommand::Revoke { id, .. } => {
            let info = store
                .revoke_token(&TokenId(id.trim().to_owned()), &cli_origin())
                .await
                .with_context(|| format!("revoking token {id}"))?;
            println!("revoked {} (user {})", info.id, info.user);
        }
    }
    Ok(ExitCode::SUCCESS)
}
