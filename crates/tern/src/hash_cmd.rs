//! `tern hash`: check legacy hashes before an import.
//!
//! `identify` names a hash's format and parameters. `verify` checks a password
//! against a hash string, an Auth0 `custom_password_hash` object or a whole
//! import row — the quickest way to catch salt-order and encoding mistakes.
//! The password is read from a prompt (no echo) or from standard input, never
//! from the command line, where it would land in shell history and `ps`.
//!
//! Both judge the hash against the server's cost limits
//! (`[password_hash.limits]` of `--config` and `TERN_PASSWORD_HASH__LIMITS__*`,
//! else the defaults): `identify` says whether the hash is within them, and
//! `verify` refuses one over them, as the server would, unless told
//! `--ignore-cost-limits`.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;
use tern_hash::{CostLimits, StoredHash};

/// `tern hash …`.
#[derive(Subcommand)]
pub enum HashCommand {
    /// Name the format of a hash and its parameters.
    Identify {
        /// The hash string, e.g. '$2b$10$…' or 'pbkdf2_sha256$…'.
        hash: String,
        /// The server's TOML configuration, for its `[password_hash.limits]`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check a password (prompted, or one line of stdin) against a hash.
    Verify {
        /// A hash string, a custom_password_hash JSON object, or an import row
        /// (JSON with `password_hash` or `custom_password_hash`).
        hash: String,
        /// The server's TOML configuration, for its `[password_hash.limits]`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Verify a hash even if it is over the cost limits (it may take
        /// minutes or days: the server never does this).
        #[arg(long)]
        ignore_cost_limits: bool,
    },
}

/// The cost limits the server would apply.
fn limits(config: Option<&Path>) -> Result<CostLimits, String> {
    tern_server::Config::load(config)
        .map(|c| c.password_hash.limits)
        .map_err(|e| format!("configuration error: {e}"))
}

/// Run a hash subcommand: exit 0 on success / match, 1 on no match, 2 on unusable input.
pub fn run(cmd: HashCommand) -> ExitCode {
    match cmd {
        HashCommand::Identify { hash, config } => {
            match load(&hash).and_then(|h| Ok((h, limits(config.as_deref())?))) {
                Ok((h, limits)) => {
                    println!("{}\n{}", h.scheme().name(), h.describe());
                    match h.check_cost(&limits) {
                        Ok(()) => println!("within the cost limits"),
                        Err(over) => println!(
                            "over the cost limits: {over}; Tern refuses to import or verify it"
                        ),
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("tern hash identify: {e}");
                    ExitCode::from(2)
                }
            }
        }
        HashCommand::Verify {
            hash,
            config,
            ignore_cost_limits,
        } => {
            let loaded = load(&hash).and_then(|h| {
                let limits = if ignore_cost_limits {
                    CostLimits::unlimited()
                } else {
                    limits(config.as_deref())?
                };
                Ok((h, limits))
            });
            let (h, limits) = match loaded {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("tern hash verify: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Err(over) = h.check_cost(&limits) {
                eprintln!(
                    "tern hash verify: not verified: {over} (--ignore-cost-limits verifies it anyway, however long it takes)"
                );
                return ExitCode::from(2);
            }
            let password = match read_password() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("tern hash verify: cannot read the password: {e}");
                    return ExitCode::from(2);
                }
            };
            let verdict = match h.verify(&password, &limits) {
                Ok(v) => v,
                Err(over) => {
                    eprintln!("tern hash verify: not verified: {over}");
                    return ExitCode::from(2);
                }
            };
            if verdict {
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
    } else if let Some(obj) = v.get("tern_password_hash") {
        StoredHash::from_tern_object(obj).map_err(|e| format!("{} {e}", e.code))
    } else if let Some(s) = v.get("password_hash").and_then(Value::as_str) {
        StoredHash::from_import_password_hash(s).map_err(|e| e.to_string())
    } else if v.get("algorithm").is_some() {
        // A bare object: Tern's own algorithms first, else Auth0's.
        StoredHash::from_tern_object(&v)
            .or_else(|_| StoredHash::from_custom(&v))
            .map_err(|e| e.to_string())
    } else {
        Err("a JSON argument must be a custom_password_hash or tern_password_hash object or an import row with password_hash, custom_password_hash or tern_password_hash".into())
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
