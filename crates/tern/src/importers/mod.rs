//! `tern import --from PLATFORM`: another platform's own user export turned
//! into rows of Tern's import schema, one row at a time, before they enter
//! the ordinary import path (same chunking, progress, dry run and per-row
//! errors). Each platform is a module with one `convert` function; hash
//! parameters or side files a platform needs are loaded once, up front.
//!
//! | platform | input | password |
//! |---|---|---|
//! | `firebase` | `firebase auth:export` JSON (`{"users": [...]}`) + the project's hash parameters | `tern_password_hash` `firebase-scrypt` |
//! | `auth0-export` | Auth0 user export (NDJSON) + `--password-hashes` (Auth0's password-hash export, NDJSON) | `password_hash` (bcrypt) |
//! | `keycloak` | realm export (`{"users": [...]}` with `credentials`) | `tern_password_hash` `keycloak` |
//! | `kratos` | identities (`GET /admin/identities?include_credential=password`: JSON array, or NDJSON) | `password_hash` (PHC / bcrypt) |
//! | `supabase` | `auth.users` as CSV, a JSON array or NDJSON | `password_hash` (bcrypt) |

mod auth0;
mod firebase;
mod keycloak;
mod kratos;
mod supabase;

use std::path::PathBuf;

use serde_json::{Map, Value};

pub use tern_core::import_file::{Convert, Reading};

/// The platforms `--from` reads.
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
        .map(|(flag, _, owner)| {
            (
                flag,
                match owner {
                    Firebase => "firebase",
                    _ => "auth0-export",
                },
            )
        })
    }
}

/// Prepare reading `platform`'s export: load its parameters and side files.
pub fn reading(platform: Platform, args: &PlatformArgs) -> Result<Reading, String> {
    let (convert, rows_key, csv): (Convert, _, _) = match platform {
        Platform::Firebase => (firebase::converter(args)?, Some("users"), false),
        Platform::Auth0Export => (auth0::converter(args)?, None, false),
        Platform::Keycloak => (Box::new(keycloak::convert), Some("users"), false),
        Platform::Kratos => (Box::new(kratos::convert), None, false),
        Platform::Supabase => (Box::new(supabase::convert), None, true),
    };
    Ok(Reading {
        convert,
        rows_key,
        csv,
    })
}

/// The key under which a converter lists the second factors it could not
/// carry over; `tern_core::import_file` takes it off the row and reports it.
pub use tern_core::import_file::LEFT_BEHIND;

/// An import row under construction: absent, null and empty values are
/// left out, so the server's schema sees only what the export holds.
#[derive(Default)]
pub(crate) struct Row(Map<String, Value>);

impl Row {
    pub fn set(&mut self, key: &str, v: impl Into<Value>) -> &mut Self {
        let v = v.into();
        let empty = match &v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if !empty {
            self.0.insert(key.into(), v);
        }
        self
    }
    pub fn set_opt(&mut self, key: &str, v: Option<impl Into<Value>>) -> &mut Self {
        if let Some(v) = v {
            self.set(key, v);
        }
        self
    }
    pub fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// A string field of a JSON object.
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A JSON object given either as an object or as a string holding one
/// (exports from SQL and Firebase's custom claims carry JSON in strings).
pub(crate) fn json_object(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Object(m) if !m.is_empty() => Some(Value::Object(m.clone())),
        Value::String(s) if !s.trim().is_empty() => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object),
        _ => None,
    }
}

/// A picture only when it is an http(s) URL (the import schema's rule).
pub(crate) fn picture(url: Option<&str>) -> Option<&str> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// "First Last" from whichever parts there are.
pub(crate) fn full_name(first: Option<&str>, last: Option<&str>) -> String {
    [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A username only when the import schema takes it (not an email address).
pub(crate) fn username(name: Option<&str>) -> Option<&str> {
    name.filter(|n| !n.contains('@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_leave_out_empty_values() {
        let mut r = Row::default();
        r.set("a", "")
            .set("b", Value::Null)
            .set("c", json!({}))
            .set("d", false);
        r.set_opt("e", Some("x")).set_opt("f", None::<&str>);
        assert_eq!(r.done(), json!({"d": false, "e": "x"}));
    }
}
