//! `tern`: the identity server and its operator tools.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard};

use clap::{Parser, Subcommand};
use tern_server::Config;

mod client;
mod export;
mod hash_cmd;
mod import;
mod importers;
mod progress;

#[derive(Parser)]
#[command(
    name = "tern",
    version,
    about = "Tern: an identity server that moves users off legacy stores without password resets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite in ./tern-data, 127.0.0.1:8080 by default).
    Serve(ServeArgs),
    /// Identify a password hash or check a password against it.
    #[command(subcommand)]
    Hash(hash_cmd::HashCommand),
    /// Import a users file of any size (JSON array or NDJSON) through the Management API.
    Import(import::ImportArgs),
    /// Export users to NDJSON or CSV through an export job of the Management API.
    Export(export::ExportArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file (values there are overridden by TERN_* variables and flags).
    #[arg(long, env = "TERN_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (port 0 = any free port).
    #[arg(long)]
    listen: Option<String>,
    /// Public URL (issuer; default https://<listen address>).
    #[arg(long)]
    public_url: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data dir).
    #[arg(long)]
    database_url: Option<String>,
    /// Data directory (SQLite file, bootstrap.json).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Server log format: `text` or `json` (one JSON object per line).
    #[arg(long, value_parser = ["text", "json"])]
    log_format: Option<String>,
    /// Serve HTTPS: the PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Serve HTTPS: the PEM private key (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Hash(cmd) => hash_cmd::run(cmd),
        Command::Import(args) => run_client("import", import::run(args)),
        Command::Export(args) => run_client("export", export::run(args)),
    }
}

/// Run an API-client command on a small runtime of its own (two workers:
/// the work is waiting on the server, not computing).
fn run_client(name: &str, command: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("tern {name}: cannot start the runtime: {e}");
            ExitCode::from(2)
        }
    }
}

/// Lock a mutex, ignoring poisoning: a panicked task's data is still the
/// best account of what happened, and the report must be printed.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tern: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(v) = args.listen {
        config.listen = v;
    }
    if let Some(v) = args.public_url {
        config.public_url = Some(v);
    }
    if let Some(v) = args.database_url {
        config.database_url = Some(v);
    }
    if let Some(v) = args.data_dir {
        config.data_dir = v;
    }
    if let Some(v) = args.log_format {
        config.log_format = v;
    }
    if let Some(v) = args.tls_cert {
        config.tls.cert = Some(v);
    }
    if let Some(v) = args.tls_key {
        config.tls.key = Some(v);
    }
    if let Err(e) = init_logging(&config.log_format) {
        eprintln!("tern: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let data_dir = config.data_dir.clone();
        let shutdown_timeout = config.shutdown_timeout_secs;
        let scheme = if config.tls.cert.is_some() {
            "https"
        } else {
            "http"
        };
        let server = match tern_server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tern: {e}");
                return ExitCode::FAILURE;
            }
        };
        // One line on stdout, so scripts (and tests) can find the port.
        announce(&format!(
            "tern listening on {scheme}://{} (public URL {})",
            server.addr, server.public_url
        ));
        tracing::info!(
            file = %data_dir.join("bootstrap.json").display(),
            "admin credentials"
        );
        // No operator yet: the one-time link that creates the first one.
        if let Some(url) = server
            .bootstrap
            .as_ref()
            .and_then(|b| b.console_setup_url.as_deref())
        {
            announce(&format!(
                "tern console: set up the first operator at {url} (one-time link)"
            ));
        }
        let grace = std::time::Duration::from_secs(shutdown_timeout);
        let mut ended = std::pin::pin!(server.wait_or(shutdown_signal()));
        match (&mut ended).await {
            tern_server::app::Ended::Failed(e) => {
                eprintln!("tern: {e}");
                ExitCode::FAILURE
            }
            tern_server::app::Ended::Signalled(draining) => {
                tracing::info!(
                    grace_secs = grace.as_secs(),
                    "shutting down: no new connections, finishing requests in flight"
                );
                if tokio::time::timeout(grace, draining).await.is_err() {
                    tracing::warn!("requests still running after the shutdown timeout; exiting");
                }
                ExitCode::SUCCESS
            }
        }
    })
}

/// Server logs on stderr, as text or one JSON object per line; `TERN_LOG`
/// filters them (`info,sqlx=warn` by default).
fn init_logging(format: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        "text" => builder.init(),
        "json" => builder.json().flatten_event(true).init(),
        other => return Err(format!("log_format '{other}': use text or json")),
    }
    Ok(())
}

/// SIGTERM (what service managers and orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One line for whoever started `tern serve`, on stdout. A server must not
/// die because its stdout went away (a supervisor that read the port and
/// closed the pipe): `println!` would panic on the broken pipe, so the error
/// is ignored here.
fn announce(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
