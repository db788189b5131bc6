//! Other platforms' own user exports turned into rows of Tern's import
//! schema, one row at a time, before they enter the ordinary import path
//! (same chunking, progress, dry run and per-row errors): what
//! `tern import --from PLATFORM` and the console's Imports page ("Source
//! format") both read. Each platform is a module with one `convert`
//! function; hash parameters or side files a platform needs are given as
//! [`Options`], loaded once, up front (the CLI reads them from files, the
//! console from its form).
//!
//! | platform | input | password |
//! |---|---|---|
//! | `firebase` | `firebase auth:export` JSON (`{"users": [...]}`) + the project's hash parameters | `tern_password_hash` `firebase-scrypt` |
//! | `auth0-export` | Auth0 user export (NDJSON) + Auth0's password-hash export (NDJSON) | `password_hash` (bcrypt) |
//! | `keycloak` | realm export (`{"users": [...]}` with `credentials`) | `tern_password_hash` `keycloak` |
//! | `kratos` | identities (`GET /admin/identities?include_credential=password`: JSON array, or NDJSON) | `password_hash` (PHC / bcrypt) |
//! | `supabase` | `auth.users` as CSV, a JSON array or NDJSON | `password_hash` (bcrypt) |

mod auth0;
mod firebase;
mod keycloak;
mod kratos;
mod supabase;

use serde_json::{Map, Value};

pub use crate::import_file::{Convert, Reading};
pub use auth0::PasswordHashes;

/// The platforms whose exports are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// `firebase auth:export users.json --format=json` (+ the hash parameters).
    Firebase,
    /// Auth0's user export (NDJSON), joined with its password-hash export.
    Auth0Export,
    /// A Keycloak realm export (`kc.sh export --realm R --file F`).
    Keycloak,
    /// Ory Kratos identities listed with `include_credential=password`.
    Kratos,
    /// Supabase `auth.users` as CSV or JSON.
    Supabase,
}

impl Platform {
    /// Every platform, in the order forms list them.
    pub const ALL: [Platform; 5] = [
        Platform::Auth0Export,
        Platform::Firebase,
        Platform::Keycloak,
        Platform::Kratos,
        Platform::Supabase,
    ];

    /// The name `--from` takes and forms send.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Firebase => "firebase",
            Platform::Auth0Export => "auth0-export",
            Platform::Keycloak => "keycloak",
            Platform::Kratos => "kratos",
            Platform::Supabase => "supabase",
        }
    }

    /// The platform of a [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What a person picks in a list.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Firebase => "Firebase Authentication export",
            Platform::Auth0Export => "Auth0 user export (+ password hashes)",
            Platform::Keycloak => "Keycloak realm export",
            Platform::Kratos => "Ory Kratos identities",
            Platform::Supabase => "Supabase auth.users",
        }
    }

    /// What of a user is carried over and what is left behind, and why —
    /// the summary an operator reads before choosing the format.
    pub fn summary(self) -> &'static str {
        match self {
            Platform::Firebase => {
                "`firebase auth:export users.json --format=json`. Carried: email and its verification, name, picture, phone, custom claims (as app_metadata), disabled (as blocked), the password (Firebase's scrypt, with the project's hash parameters) and SMS second factors. Left behind: TOTP factors (the export holds no secret: the user enrols again), provider links, sign-in dates."
            }
            Platform::Auth0Export => {
                "An Auth0 export job's NDJSON, joined by id (then email) with the password-hash export Auth0 support sends. Carried: the fields Auth0's import schema takes, the bcrypt password hash, `auth0|` taken off user_id. Left behind: identities, logins_count, last_login, created_at and other read-only fields; second factors (Auth0 does not export them)."
            }
            Platform::Keycloak => {
                "`kc.sh export --realm R --file realm.json`. Carried: username, email and its verification, names, enabled (as blocked), attributes (as user_metadata), realm roles (as the user's roles, created when missing, composites expanded, Keycloak's built-in roles left out; also in app_metadata with groups), the password credential (Keycloak's hash, as exported) and 6-digit, 30 s, SHA-1 TOTP. Left behind: other OTP kinds (HOTP, other settings), WebAuthn credentials (bound to Keycloak), client roles, required actions, federation links."
            }
            Platform::Kratos => {
                "Identities from `GET /admin/identities?include_credential=password` (a JSON array or NDJSON). Carried: traits (email, phone, username, name; the rest as user_metadata), email verification, public and admin metadata (as app_metadata), the password (PHC argon2, pbkdf2, scrypt or bcrypt) and TOTP with its totp_url. Left behind: WebAuthn (bound to the old origin), recovery codes, sessions, OIDC links."
            }
            Platform::Supabase => {
                "The `auth.users` table as CSV or JSON. Carried: email and phone with their confirmation, raw_user_meta_data (as user_metadata, also name and picture), raw_app_meta_data (as app_metadata), banned_until (as blocked), the bcrypt password. Refused row by row: deleted and anonymous users. Left behind: sessions, OAuth identities, auth.mfa_factors."
            }
        }
    }
}

/// What some platforms need besides the export itself.
#[derive(Default)]
pub struct Options {
    /// Firebase: the project's password hash parameters, as the Firebase
    /// console shows them (`hash_config { … }`) or a JSON object with the
    /// same keys.
    pub hash_config: Option<String>,
    /// Firebase: base64_signer_key (over `hash_config`).
    pub signer_key: Option<String>,
    /// Firebase: base64_salt_separator (over `hash_config`).
    pub salt_separator: Option<String>,
    /// Firebase: rounds (over `hash_config`).
    pub rounds: Option<u32>,
    /// Firebase: mem_cost (over `hash_config`).
    pub mem_cost: Option<u32>,
    /// Auth0: the password-hash export, loaded.
    pub password_hashes: Option<PasswordHashes>,
}

/// Prepare reading `platform`'s export with its parameters and side files.
pub fn reading(platform: Platform, options: Options) -> Result<Reading, String> {
    let plain = |convert: Convert, rows_key, csv| Reading {
        convert,
        rows_key,
        csv,
        context: None,
    };
    Ok(match platform {
        Platform::Firebase => plain(firebase::converter(&options)?, Some("users"), false),
        Platform::Auth0Export => plain(
            auth0::converter(options.password_hashes.unwrap_or_default()),
            None,
            false,
        ),
        Platform::Keycloak => keycloak::reading(),
        Platform::Kratos => plain(Box::new(kratos::convert), None, false),
        Platform::Supabase => plain(Box::new(supabase::convert), None, true),
    })
}

/// The key under which a converter lists the second factors it could not
/// carry over; `tern_core::import_file` takes it off the row and reports it.
pub(crate) use crate::import_file::LEFT_BEHIND;

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
