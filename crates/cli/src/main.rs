//! `frontline`, the one binary: `serve` runs the server; `ingest` loads contact files;
//! `detect` scores numeric series; `replay` runs detection over recorded contacts; `token`
//! administers API tokens; `audit verify` checks the audit log's hash chain.
//!
//! Exit codes: 0 success, 1 a check failed, 2 an error (printed to stderr with its causes).

mod audit;
mod backup;
mod backup_portable;
mod detect;
mod erase;
mod ingest;
mod moving;
mod reapply;
mod replay;
mod retention;
mod taxonomy;
mod token;
mod user;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use frontline_server::plumbing::config::{Config, Overrides, unknown_env_names};
use frontline_server::plumbing::telemetry::{self, LogFormat};
use signals::shutdown_signal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "frontline",
    version,
    about = "Customer contacts as an early warning for security; one incident and one message for both teams."
)]
struct Cli {
    /// A TOML configuration file (env FRONTLINE_CONFIG).
    #[arg(long, global = true, env = "FRONTLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Log format on stderr (env FRONTLINE_LOG_FORMAT).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "FRONTLINE_LOG_FORMAT"
    )]
    log_format: LogFormatArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Auto,
    Json,
    Plain,
}

#[derive(Debug, clap::Args)]
struct DatabaseArg {
    /// Database URL: sqlite://PATH (sqlite:///abs/path.db for an absolute path) or
    /// postgres://… [env FRONTLINE_DATABASE; default sqlite://frontline.db]
    #[arg(long)]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database if needed).
    Serve {
        /// Address to listen on [env FRONTLINE_LISTEN; default 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        db: DatabaseArg,
        /// The intake bus several nodes share, `nats://HOST:4222` (NATS with JetStream)
        /// [env FRONTLINE_BUS__URL; default: none, intake writes to the database]
        #[arg(long)]
        bus: Option<String>,
        /// Demo mode: creates people who sign in with the password `frontline-demo`, loads a
        /// week of customer contacts into an empty database, then plays a live incident (a
        /// phishing wave, then a security finding). Never on a database you care about.
        #[arg(long)]
        demo: bool,
    },
    /// Score numeric series (CSV `timestamp,value`) for anomalies, online.
    Detect(detect::DetectArgs),
    /// Load contacts from an NDJSON or CSV file, into the database or to a running server.
    Ingest(ingest::IngestArgs),
    /// Run intake and spike detection over recorded contacts; print alerts as NDJSON.
    Replay(replay::ReplayArgs),
    /// Train and measure the learned topic classifier.
    Taxonomy {
        #[command(subcommand)]
        command: taxonomy::TaxonomyCommand,
    },
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Add people who sign in to the web pages.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Erase a customer's data on request (GDPR Article 17); recorded in the erasure ledger.
    Erase(erase::EraseArgs),
    /// Copy the database while the server runs, with a manifest that proves the copy whole
    /// (SQLite: one file; PostgreSQL: a directory of the portable export).
    Backup(backup::BackupArgs),
    /// Restore a backup (the server stopped), verified against its manifest, with every erasure
    /// made since applied again.
    Restore(backup::RestoreArgs),
    /// Write every table to a directory as NDJSON, with a manifest of counts and digests.
    Export(moving::ExportArgs),
    /// Load a directory written by `export` into an empty database, verified against its
    /// manifest.
    Import(moving::ImportArgs),
    /// Copy an installation into another database (SQLite to PostgreSQL), verified table by
    /// table, with the audit chain, pseudonym key and tokens carried over.
    Migrate(moving::MigrateArgs),
    /// Remove data past its `[retention]` window now (the server also does, hourly).
    Retention {
        #[command(subcommand)]
        command: retention::RetentionCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain from the first record; exit 1 naming the first broken or missing
    /// record.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
    },
}

/// mimalloc: the server allocates and frees small buffers on every request and the pipeline
/// on every contact, from several threads; glibc's malloc spent a fifth of the server's time
/// under load (measured: benches/status.sh, docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(match cli.log_format {
        LogFormatArg::Auto => LogFormat::Auto,
        LogFormatArg::Json => LogFormat::Json,
        LogFormatArg::Plain => LogFormat::Plain,
    });
    for name in unknown_env_names(std::env::vars().map(|(k, _)| k)) {
        tracing::warn!(variable = %name, "unknown FRONTLINE_* environment variable ignored; check its spelling");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Prepares the demo (people, a feeder token) and plays it in the background once the server
/// answers.
async fn start_demo(
    app: &frontline_server::Application,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use frontline_server::demo;
    let (token, empty) = demo::prepare(app.state().store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("preparing the demo: {e:?}"))?;
    let addr = app.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let base = format!("http://{host}:{}", addr.port());
    let people: Vec<String> = demo::PEOPLE
        .iter()
        .map(|(name, role)| format!("{name} ({})", role.as_str()))
        .collect();
    eprintln!(
        "\nFrontline demo: open {base}/ and sign in as one of {} with the password `{}`.\n\
         carla (CX lead) watches the dashboard; sam (security) and cora (comms) join the incident.\n\
         {}A phishing wave starts in about 10 seconds; a security finding follows; the incident\n\
         opens by itself within two minutes. Ctrl-C stops.\n",
        people.join(", "),
        demo::PASSWORD,
        if empty {
            "A week of ordinary contacts is loading first. "
        } else {
            ""
        },
    );
    let play = demo::Play {
        base,
        token,
        history: empty,
        speed: 1.0,
        keep_going: true,
    };
    tokio::spawn(async move {
        if let Err(e) = demo::play(play, shutdown).await {
            tracing::error!(error = %e, "the demo stopped");
        }
    });
    Ok(())
}

fn load_config(cli_config: Option<&PathBuf>, overrides: Overrides) -> anyhow::Result<Config> {
    Config::load(cli_config.map(PathBuf::as_path), overrides).context("loading configuration")
}

/// [`load_config`] for the commands whose only override is `--database`.
fn load_config_with_database(
    cli_config: Option<&PathBuf>,
    database: Option<String>,
) -> anyhow::Result<Config> {
    load_config(
        cli_config,
        Overrides {
            database,
            ..Overrides::default()
        },
    )
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            bus,
            demo,
        } => {
            let config = load_config(
                cli.config.as_ref(),
                Overrides {
                    listen,
                    database: db.database,
                    bus,
                },
            )?;
            let app = frontline_server::build(config).await?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            tokio::spawn(shutdown_signal(shutdown.clone()));
            if demo {
                start_demo(&app, shutdown.clone()).await?;
            }
            app.run_until(shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Detect(args) => detect::run(&args),
        Command::Replay(args) => {
            let config = load_config(cli.config.as_ref(), Overrides::default())?;
            replay::run(&args, &config)
        }
        Command::Taxonomy { command } => {
            let config = load_config(cli.config.as_ref(), Overrides::default())?;
            taxonomy::run(&command, &config).await
        }
        Command::Ingest(args) => {
            let config = load_config_with_database(cli.config.as_ref(), args.db.database.clone())?;
            ingest::run(args, &config).await
        }
        Command::Token { command } => {
            let config =
                load_config_with_database(cli.config.as_ref(), command.database().clone())?;
            token::run(command, &config).await
        }
        Command::User { command } => {
            let config =
                load_config_with_database(cli.config.as_ref(), command.database().clone())?;
            user::run(command, &config).await
        }
        Command::Audit {
            command: AuditCommand::Verify { db },
        } => {
            let config = load_config_with_database(cli.config.as_ref(), db.database)?;
            audit::verify(&config).await
        }
        Command::Erase(args) => {
            let config = load_config_with_database(cli.config.as_ref(), args.db.database.clone())?;
            erase::run(args, &config).await
        }
        Command::Backup(args) => {
            let config = load_config_with_database(cli.config.as_ref(), args.database.clone())?;
            backup::backup(args, &config.database).await
        }
        Command::Restore(args) => {
            let config = load_config_with_database(cli.config.as_ref(), args.database.clone())?;
            backup::restore(args, &config).await
        }
        Command::Export(args) => {
            let config = load_config_with_database(cli.config.as_ref(), args.db.database.clone())?;
            moving::export(args, &config.database).await
        }
        Command::Import(args) => {
            let config = load_config_with_database(cli.config.as_ref(), args.db.database.clone())?;
            moving::import(args, &config.database).await
        }
        Command::Migrate(args) => moving::migrate(args).await,
        Command::Retention { command } => {
            let config =
                load_config_with_database(cli.config.as_ref(), command.database().clone())?;
            retention::run(command, &config).await
        }
    }
}

mod signals {
    //! Turns SIGINT and SIGTERM into a cancellation, so `serve` drains and exits cleanly.
    use tokio_util::sync::CancellationToken;

    pub(crate) async fn shutdown_signal(token: CancellationToken) {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = terminate => {}
            () = token.cancelled() => return,
        }
        tracing::info!("shutdown requested");
        token.cancel();
    }
}
