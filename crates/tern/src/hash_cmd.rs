//! `tern hash`: check legacy hashes before an import.
//!
//! `identify` names a hash's format and parameters. `verify` checks a password
//! against a hash string, an Auth0 `custom_password_hash` object or a whole
//! import row — the quickest way to catch salt-order and encoding mistakes.
//! The password is read from a prompt (no echo) or from standard input, never
//! from the command line, where it would land in shell history and `ps`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;
use tern_hash::StoredHash;

/// `tern hash …`.
#[derive(Subcommand)]
pub enum HashCommand {
    /// Name the format of a hash and its parameters.
    Identify {
        /// The hash string, e.g. '$2b$10$…' or 'pbkdf2_sha256$…'.
        hash: String,
    },
    /// Check a password (prompted, or one line of stdin) against a hash.
    Verify {
        /// A hash string, a custom_password_hash JSON object, or an import row
        /// (JSON with `password_hash` or `custom_password_hash`).
        hash: String,
    },
}

/// Run a hash subcommand: exit 0 on success / match, 1 on no match, 2 on unusable input.
pub fn run(cmd: HashCommand) -> ExitCode {
    match cmd {
        HashCommand::Identify { hash } => match load(&hash) {
            Ok(h) => {
                println!("{}\n{}", h.scheme().name(), h.describe());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tern hash identify: {e}");
                ExitCode::from(2)
            }
        },
        HashCommand::Verify { hash } => {
            let h = match load(&hash) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("tern hash verify: {e}");
                    return ExitCode::from(2);
                }
            };
            let password = match read_password() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("tern hash verify: cannot read the password: {e}");
                    return ExitCode::from(2);
                }
            };
            if h.verify(&password) {
                println!("match ({})", h.scheme().name());
                ExitCode::SUCCESS
            } else {
                println!("no match ({}): {}", h.scheme().name(), h.describe());
                println!(
                    "hint: check the salt position (prefix/suffix), hash.encoding (hex/base64) and password.encoding (utf8/utf16le/latin1)"
                );
                ExitCode::from(1)
            }
        }
    }
}

/// A hash from a string, a custom object or an import row.
fn load(arg: &str) -> Result<StoredHash, String> {
    let trimmed = arg.trim();
    // LDAP hashes start with '{' too: only a JSON object counts as JSON.
    let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(trimmed) else {
        return StoredHash::parse(trimmed).map_err(|e| e.to_string());
    };
    if let Some(custom) = v.get("custom_password_hash") {
        StoredHash::from_custom(custom).map_err(|e| e.to_string())
    } else if let Some(s) = v.get("password_hash").and_then(Value::as_str) {
        StoredHash::from_import_password_hash(s).map_err(|e| e.to_string())
    } else if v.get("algorithm").is_some() {
        StoredHash::from_custom(&v).map_err(|e| e.to_string())
    } else {
        Err("a JSON argument must be a custom_password_hash object or an import row with password_hash or custom_password_hash".into())
    }
}

fn read_password() -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password: ")
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
