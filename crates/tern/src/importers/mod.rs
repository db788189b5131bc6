//! `tern import --from PLATFORM`: the command line over
//! `tern_core::import_file::platforms` (the converters the console's
//! Imports page uses too). Here only what is the CLI's: the `--from` values
//! and the flags some platforms take, their side files read from disk.

use std::path::PathBuf;

use tern_core::import_file::platforms::{self, Options, PasswordHashes};

pub use tern_core::import_file::Reading;

/// The platforms `--from` reads (`platforms::Platform`, as clap lists them).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// `firebase auth:export users.json --format=json` (+ the hash parameters).
    Firebase,
    /// Auth0's user export (NDJSON), joined with its password-hash export (`--password-hashes`).
    #[value(name = "auth0-export")]
    Auth0Export,
    /// A Keycloak realm export (`kc.sh export --realm R --file F`).
    Keycloak,
    /// Ory Kratos identities listed with `include_credential=password`.
    Kratos,
    /// Supabase `auth.users` as CSV or JSON.
    Supabase,
}

impl Platform {
    fn core(self) -> platforms::Platform {
        match self {
            Platform::Firebase => platforms::Platform::Firebase,
            Platform::Auth0Export => platforms::Platform::Auth0Export,
            Platform::Keycloak => platforms::Platform::Keycloak,
            Platform::Kratos => platforms::Platform::Kratos,
            Platform::Supabase => platforms::Platform::Supabase,
        }
    }
}

/// Options only some platforms use.
#[derive(clap::Args, Debug, Default)]
pub struct PlatformArgs {
    /// Firebase: the project's password hash parameters, as shown by the
    /// console (Authentication → Users → ⋮ → Password hash parameters): the
    /// `hash_config { … }` block, or a JSON object with the same keys.
    #[arg(long, value_name = "FILE")]
    pub hash_config: Option<PathBuf>,
    /// Firebase: base64_signer_key (instead of --hash-config).
    #[arg(long, value_name = "BASE64")]
    pub signer_key: Option<String>,
    /// Firebase: base64_salt_separator (instead of --hash-config).
    #[arg(long, value_name = "BASE64")]
    pub salt_separator: Option<String>,
    /// Firebase: rounds (instead of --hash-config).
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Firebase: mem_cost (instead of --hash-config).
    #[arg(long)]
    pub mem_cost: Option<u32>,
    /// Auth0: the password-hash export Auth0 support sends (NDJSON with
    /// `_id.$oid`, `email`, `passwordHash`), joined to the user export by id
    /// (then by email).
    #[arg(long, value_name = "FILE")]
    pub password_hashes: Option<PathBuf>,
}

impl PlatformArgs {
    /// A flag given that `platform` (None: no `--from`) does not read, and
    /// the `--from` it belongs to: a misplaced flag is an error, not ignored.
    pub fn stray(&self, platform: Option<Platform>) -> Option<(&'static str, &'static str)> {
        use Platform::{Auth0Export, Firebase};
        [
            ("--hash-config", self.hash_config.is_some(), Firebase),
            ("--signer-key", self.signer_key.is_some(), Firebase),
            ("--salt-separator", self.salt_separator.is_some(), Firebase),
            ("--rounds", self.rounds.is_some(), Firebase),
            ("--mem-cost", self.mem_cost.is_some(), Firebase),
            (
                "--password-hashes",
                self.password_hashes.is_some(),
                Auth0Export,
            ),
        ]
        .into_iter()
        .find(|&(_, given, owner)| given && platform != Some(owner))
        .map(|(flag, _, owner)| (flag, owner.core().name()))
    }

    /// The options, side files read.
    fn options(&self) -> Result<Options, String> {
        let hash_config = match &self.hash_config {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let password_hashes = match &self.password_hashes {
            Some(path) => {
                let shown = path.display().to_string();
                let file =
                    std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
                Some(PasswordHashes::load(std::io::BufReader::new(file), &shown)?)
            }
            None => None,
        };
        Ok(Options {
            hash_config,
            signer_key: self.signer_key.clone(),
            salt_separator: self.salt_separator.clone(),
            rounds: self.rounds,
            mem_cost: self.mem_cost,
            password_hashes,
        })
    }
}

/// Prepare reading `platform`'s export: load its parameters and side files.
pub fn reading(platform: Platform, args: &PlatformArgs) -> Result<Reading, String> {
    platforms::reading(platform.core(), args.options()?).map_err(|e| match platform {
        Platform::Firebase => {
            format!("--from firebase: {e} (give --hash-config FILE, or --signer-key, --salt-separator, --rounds, --mem-cost)")
        }
        _ => format!("--from {}: {e}", platform.core().name()),
    })
}
