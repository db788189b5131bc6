//! `legacy-api`: run the example legacy user API, or export its unmigrated
//! users as an Auth0 import file.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "legacy-api",
    about = "An example legacy user system behind an API that accepts only Tern-issued machine tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Listen address.
    #[arg(long, env = "LEGACY_API_LISTEN", default_value = "127.0.0.1:4000")]
    listen: String,
    /// Tern's issuer, exactly as in its tokens (`iss`), e.g. http://127.0.0.1:8080/
    #[arg(
        long,
        env = "LEGACY_API_ISSUER",
        default_value = "http://127.0.0.1:8080/"
    )]
    issuer: String,
    /// Tern's JWKS URL (default: <issuer>.well-known/jwks.json).
    #[arg(long, env = "LEGACY_API_JWKS_URL")]
    jwks_url: Option<String>,
    /// This API's identifier in Tern (the `aud` its tokens must carry).
    #[arg(
        long,
        env = "LEGACY_API_AUDIENCE",
        default_value = "https://legacy-api.example/"
    )]
    audience: String,
    /// The SQLite database (created and seeded on first start).
    #[arg(long, env = "LEGACY_API_DB", default_value = "legacy.db")]
    db: PathBuf,
    /// Clock skew tolerated on token expiry, seconds.
    #[arg(long, env = "LEGACY_API_LEEWAY_SECS", default_value_t = 5)]
    leeway_secs: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Print the users Tern has not migrated yet as an Auth0 import file (JSON array).
    Export {
        /// The SQLite database.
        #[arg(long, env = "LEGACY_API_DB", default_value = "legacy.db")]
        db: PathBuf,
        /// Include users already migrated.
        #[arg(long)]
        all: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEGACY_API_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Export { db, all }) => {
            let db = legacy_api::store::LegacyDb::open(&db).await?;
            let users = db.list(!all).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&legacy_api::export::import_file(&users))?
            );
            eprintln!("exported {} users", users.len());
            Ok(())
        }
        None => {
            let a = cli.serve;
            let running = legacy_api::start(legacy_api::Config {
                listen: a.listen,
                issuer: a.issuer,
                jwks_url: a.jwks_url,
                audience: a.audience,
                db_path: a.db,
                leeway_secs: a.leeway_secs,
            })
            .await?;
            println!("legacy-api listening on http://{}", running.addr);
            running.wait().await?;
            Ok(())
        }
    }
}
