//! Checkpoint cursors: the `next` a checkpoint-paged list answers, which the
//! caller passes back as `from`. Auth0 documents them as opaque strings, so
//! they are: base64url of `version ‖ list ‖ sealed(last key)`. The version
//! byte says how to read the rest, so a cursor handed out by one release is
//! still read by the next; the list byte says which list it pages (a
//! session cursor given to a refresh token list is refused by name); the
//! key is sealed with the tenant's secrets key (`secrets`) bound to the
//! tenant and the list, so an altered or forged cursor does not open.
//! Instances sharing a database share that key already, so a cursor from
//! one is read by all.
//!
//! The log's `from` is not one of these: Auth0 documents it as a log id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;
use crate::state::AppState;

/// The layout this release writes.
const VERSION: u8 = 1;

/// A checkpoint-paged list, which a cursor names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `GET /users/{id}/sessions`; the key is a session's `sid`.
    Sessions,
    /// `GET /users/{id}/refresh-tokens` and `GET /refresh-tokens`: the same
    /// grants in the same order, so a cursor of one pages the other; the key
    /// is a grant id.
    RefreshTokens,
    /// `GET /roles/{id}/users`; the key is a user id.
    RoleMembers,
}

impl List {
    fn byte(self) -> u8 {
        match self {
            Self::Sessions => 1,
            Self::RefreshTokens => 2,
            Self::RoleMembers => 3,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Sessions),
            2 => Some(Self::RefreshTokens),
            3 => Some(Self::RoleMembers),
            _ => None,
        }
    }

    /// What the caller knows the list as, for error messages.
    fn name(self) -> &'static str {
        match self {
            Self::Sessions => "a user's sessions",
            Self::RefreshTokens => "refresh tokens",
            Self::RoleMembers => "a role's users",
        }
    }
}

fn aad(tenant: &str, list: List) -> String {
    // A purpose of its own: no other sealed value opens as a cursor.
    format!("tern-cursor\0{tenant}\0{}", list.byte())
}

/// The cursor after `key` in `list`.
pub fn encode(s: &AppState, list: List, key: &str) -> Result<String, ApiError> {
    let sealed = s
        .secrets
        .seal_bytes(&aad(s.tid(), list), key.as_bytes())
        .map_err(|_| ApiError::internal())?;
    let mut raw = vec![VERSION, list.byte()];
    raw.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

fn invalid(why: &str) -> ApiError {
    ApiError::invalid_query(format!(
        "Query validation error: 'from' {why}. Pass the 'next' of the previous page unchanged, or leave 'from' out to start at the first page."
    ))
}

/// The key a `from` cursor of `list` holds; a 400 in Auth0's envelope
/// saying what is wrong with anything else.
pub fn decode(s: &AppState, list: List, cursor: &str) -> Result<String, ApiError> {
    let raw = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid("is not a cursor this server handed out"))?;
    let [version, kind, sealed @ ..] = raw.as_slice() else {
        return Err(invalid("is not a cursor this server handed out"));
    };
    if *version != VERSION {
        return Err(invalid(&format!(
            "is a cursor of an unknown format (version {version})"
        )));
    }
    match List::from_byte(*kind) {
        Some(k) if k == list => {}
        Some(other) => {
            return Err(invalid(&format!(
                "is a cursor of {}, not of {}",
                other.name(),
                list.name()
            )));
        }
        None => return Err(invalid("is not a cursor this server handed out")),
    }
    s.secrets
        .open_bytes(&aad(s.tid(), list), sealed)
        .and_then(|k| String::from_utf8(k).ok())
        .ok_or_else(|| invalid("is not a cursor this server handed out (altered, or from another tenant or server)"))
}

/// `from` of the query, if given and not empty, decoded for `list`.
pub fn from_query(
    s: &AppState,
    list: List,
    from: Option<&str>,
) -> Result<Option<String>, ApiError> {
    from.filter(|f| !f.is_empty())
        .map(|f| decode(s, list, f))
        .transpose()
}
