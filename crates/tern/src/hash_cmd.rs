//! `tern hash`: operator tools for password hashes (filled in with tern-hash).

use std::process::ExitCode;

use clap::Subcommand;

/// `tern hash …`.
#[derive(Subcommand)]
pub enum HashCommand {
    /// Name the format of a hash and its parameters.
    Identify {
        /// The hash string.
        hash: String,
    },
}

/// Run a hash subcommand.
pub fn run(cmd: HashCommand) -> ExitCode {
    match cmd {
        HashCommand::Identify { hash } => match tern_hash::identify(&hash) {
            Ok(h) => {
                println!("{}", h.describe());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}
