//! What a user's authorization leaves behind: the single-use authorization
//! code, the grant it turns into, and the grant's refresh tokens.
//!
//! A grant is one authorization of one application for one user (one code
//! exchange, or one password login asking for `offline_access`). Its refresh
//! tokens form a family: with rotation each use replaces the token, and
//! presenting a replaced token (outside the leeway) revokes the grant, so
//! every token of the family — and, at `/userinfo`, every access token the
//! grant issued — stops working. A reused authorization code revokes its
//! grant the same way. Codes and refresh tokens are stored only as SHA-256
//! digests of their value.

use serde::{Deserialize, Serialize};

use crate::access_metadata::Metadata;
use crate::device::Seen;

/// Longest life of an authorization code (Auth0 does not say; RFC 6749
/// recommends at most ten minutes, and a browser hop takes seconds).
pub const CODE_LIFETIME_SECS: i64 = 60;

/// An authorization code, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationCode {
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    /// The application it was issued to.
    pub client_id: String,
    /// Epoch second after which it is refused.
    pub expires_at: i64,
    /// When it was exchanged (`None`: not yet).
    pub used_at: Option<i64>,
    /// The grant its exchange created (set on the first exchange).
    pub grant_id: Option<String>,
    /// Everything the exchange must match or will put into tokens.
    pub details: CodeDetails,
}

/// What a code is bound to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeDetails {
    /// The callback it was sent to; the exchange must name the same.
    pub redirect_uri: String,
    /// The user.
    pub user_id: String,
    /// Granted scopes.
    pub scope: Vec<String>,
    /// The API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The request's nonce, for the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// The session it came from.
    pub sid: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Methods beyond the password (`["mfa"]`), for the ID token's `amr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// What the post-login actions added, for the tokens of the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_claims: Option<crate::actions::ActionClaims>,
}

/// What exchanging a code came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeRedemption {
    /// No such code.
    Unknown,
    /// First use: the code, now marked used and tied to the new grant.
    Redeemed(AuthorizationCode),
    /// Used before: the code as it was (its `grant_id` is what to revoke).
    Reused(AuthorizationCode),
}

/// One authorization of one application for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// `gr_` + random.
    pub id: String,
    /// The application.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// Creation (epoch seconds).
    pub created_at: i64,
    /// When it was revoked; a revoked grant's tokens are all refused.
    pub revoked_at: Option<i64>,
    /// What it allows.
    pub details: GrantDetails,
    /// What an operator wrote on it (the refresh token's
    /// `refresh_token_metadata`, which every rotation of the family keeps).
    pub metadata: Metadata,
}

/// A grant's scope and context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantDetails {
    /// Granted scopes.
    pub scope: Vec<String>,
    /// The API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The session it came from (none for the password grants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Methods beyond the password the login passed (`["mfa"]`): a refresh
    /// issues ID tokens with the same `amr` as the login's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Why it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
    /// The request that made it (the token endpoint's caller): its refresh
    /// tokens' first device. Empty for grants made before Tern recorded it.
    #[serde(default, skip_serializing_if = "Seen::is_empty")]
    pub made_from: Seen,
}

/// A refresh token, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Its grant (family).
    pub grant_id: String,
    /// The token it replaced (rotation), if any.
    pub parent_hash: Option<String>,
    /// The application it was issued to.
    pub client_id: String,
    /// Creation (epoch seconds).
    pub created_at: i64,
    /// Absolute expiry, inherited through rotations; `None`: never.
    pub expires_at: Option<i64>,
    /// Expiry without use; `None`: never.
    pub idle_expires_at: Option<i64>,
    /// When it was exchanged, for a rotating token (`None`: not yet).
    pub used_at: Option<i64>,
    /// Whether each use replaces it.
    pub rotating: bool,
    /// The request that issued it (a rotation's successor: the exchange
    /// that rotated), or that last exchanged it if it does not rotate: the
    /// family's latest device when it is the live token.
    pub last_seen: Seen,
}

impl RefreshToken {
    /// Whether it has expired at epoch second `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t) || self.idle_expires_at.is_some_and(|t| now >= t)
    }
}

/// Which grants a listing covers (the tenant aside): the Management API's
/// views of grants (`/grants`, `/refresh-tokens`, `/device-credentials`)
/// are all this one query. Only unrevoked grants are listed, ordered by id.
#[derive(Debug, Clone, Default)]
pub struct GrantQuery<'a> {
    /// This grant only.
    pub id: Option<&'a str>,
    /// The grant shown as this device credential ([`device_credential_id`]).
    pub device_credential_id: Option<&'a str>,
    /// The user's.
    pub user_id: Option<&'a str>,
    /// The application's.
    pub client_id: Option<&'a str>,
    /// For this API.
    pub audience: Option<&'a str>,
    /// Only grants holding a refresh token that is live at this epoch
    /// second (unspent, unexpired), each listed with the newest such token.
    pub live_token_at: Option<i64>,
    /// Of that live token's kind (`true`: rotating).
    pub rotating: Option<bool>,
    /// Only ids sorting after this one (checkpoint paging).
    pub after_id: Option<&'a str>,
    /// Rows to skip (offset paging).
    pub offset: u64,
    /// At most this many.
    pub limit: u64,
}

/// A listed grant, with its live refresh token when the query asked for one.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedGrant {
    /// The grant.
    pub grant: Grant,
    /// Its newest live token (`GrantQuery::live_token_at`).
    pub token: Option<RefreshToken>,
    /// The last exchange of any token of the family (epoch seconds).
    pub last_exchanged_at: Option<i64>,
}

/// Auth0's client `refresh_token` object: how an application's refresh
/// tokens rotate and expire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenConfig {
    /// `rotating` or `non-rotating`.
    pub rotation_type: RotationType,
    /// `expiring` or `non-expiring`.
    pub expiration_type: ExpirationType,
    /// Seconds during which a rotated token may still be exchanged once more
    /// without counting as reuse.
    #[serde(default)]
    pub leeway: i64,
    /// Absolute lifetime in seconds (`expiring`).
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime: i64,
    /// No absolute lifetime (takes precedence over `token_lifetime`).
    #[serde(default)]
    pub infinite_token_lifetime: bool,
    /// Lifetime without use, in seconds (`expiring`).
    #[serde(default = "default_idle_token_lifetime")]
    pub idle_token_lifetime: i64,
    /// No idle lifetime (takes precedence over `idle_token_lifetime`).
    #[serde(default)]
    pub infinite_idle_token_lifetime: bool,
    /// Multi-resource refresh token policies: checked and kept, not acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<RefreshTokenPolicy>>,
}

/// One multi-resource refresh token policy: an API and the scopes a refresh
/// token may be exchanged for there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenPolicy {
    /// The API's identifier (1–600 characters).
    pub audience: String,
    /// Its permissions (each 1–280 characters).
    pub scope: Vec<String>,
}

/// Whether each use of a refresh token replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RotationType {
    /// Each exchange returns a new token and retires the one used.
    Rotating,
    /// The token stays the same.
    NonRotating,
}

/// Whether refresh tokens expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpirationType {
    /// `token_lifetime` and `idle_token_lifetime` apply.
    Expiring,
    /// They live until revoked.
    NonExpiring,
}

fn default_token_lifetime() -> i64 {
    2_592_000
}

fn default_idle_token_lifetime() -> i64 {
    1_296_000
}

/// Largest `token_lifetime` Auth0's API accepts (five years).
pub const MAX_TOKEN_LIFETIME: i64 = 157_788_000;

impl Default for RefreshTokenConfig {
    /// Auth0's settings for a new application.
    fn default() -> Self {
        Self {
            rotation_type: RotationType::NonRotating,
            expiration_type: ExpirationType::NonExpiring,
            leeway: 0,
            token_lifetime: default_token_lifetime(),
            infinite_token_lifetime: true,
            idle_token_lifetime: default_idle_token_lifetime(),
            infinite_idle_token_lifetime: true,
            policies: None,
        }
    }
}

impl RefreshTokenConfig {
    /// Auth0's bounds, as a message naming the property.
    pub fn validate(&self) -> Result<(), String> {
        if self.leeway < 0 {
            return Err("refresh_token.leeway must be at least 0".into());
        }
        if !(1..=MAX_TOKEN_LIFETIME).contains(&self.token_lifetime) {
            return Err(format!(
                "refresh_token.token_lifetime must be between 1 and {MAX_TOKEN_LIFETIME}"
            ));
        }
        if self.idle_token_lifetime < 1 {
            return Err("refresh_token.idle_token_lifetime must be at least 1".into());
        }
        if let Some(policies) = &self.policies {
            check_policies(policies)?;
        }
        if self.expiration_type == ExpirationType::Expiring
            && !self.infinite_token_lifetime
            && !self.infinite_idle_token_lifetime
            && self.idle_token_lifetime > self.token_lifetime
        {
            return Err(
                "refresh_token.idle_token_lifetime cannot be longer than token_lifetime".into(),
            );
        }
        Ok(())
    }

    /// The absolute and idle expiries of a token issued at `now` (the
    /// absolute one is the family's: a rotation inherits it).
    pub fn expiries(&self, now: i64) -> (Option<i64>, Option<i64>) {
        if self.expiration_type == ExpirationType::NonExpiring {
            return (None, None);
        }
        let absolute =
            (!self.infinite_token_lifetime).then(|| now.saturating_add(self.token_lifetime));
        (absolute, self.idle_expiry(now))
    }

    /// The idle expiry of a token used (or issued) at `now`.
    pub fn idle_expiry(&self, now: i64) -> Option<i64> {
        (self.expiration_type == ExpirationType::Expiring && !self.infinite_idle_token_lifetime)
            .then(|| now.saturating_add(self.idle_token_lifetime))
    }
}

/// Auth0's bounds on `refresh_token.policies`.
fn check_policies(policies: &[RefreshTokenPolicy]) -> Result<(), String> {
    if policies.is_empty() {
        return Err("refresh_token.policies must hold at least one policy (or be null)".into());
    }
    for p in policies {
        if !(1..=600).contains(&p.audience.chars().count()) {
            return Err("refresh_token.policies[].audience must be 1 to 600 characters".into());
        }
        if p.scope
            .iter()
            .any(|s| !(1..=280).contains(&s.chars().count()))
        {
            return Err(
                "refresh_token.policies[].scope entries must be 1 to 280 characters".into(),
            );
        }
    }
    Ok(())
}

/// The prefix of Tern's grant ids (`gr_` and 24 alphanumerics).
const GRANT_PREFIX: &str = "gr_";
/// The prefix of device credential ids.
const DEVICE_CREDENTIAL_PREFIX: &str = "dcr_";
/// Characters of the grant's random part a device credential id carries:
/// Auth0's ids are `^dcr_[A-Za-z0-9]{16}$`, too short for the whole grant id.
const DEVICE_CREDENTIAL_CHARS: usize = 16;

/// The id Auth0's `/device-credentials` shows for grant `grant_id`: `dcr_`
/// and the first sixteen characters of the grant's random part. The store
/// keeps it beside the grant (migration 0042 wrote it for older grants in
/// SQL, the same way), so a credential is found by it directly.
pub fn device_credential_id(grant_id: &str) -> String {
    let random = grant_id.strip_prefix(GRANT_PREFIX).unwrap_or(grant_id);
    let part: String = random.chars().take(DEVICE_CREDENTIAL_CHARS).collect();
    format!("{DEVICE_CREDENTIAL_PREFIX}{part}")
}

/// Whether `id` has the shape of a device credential id
/// (`^dcr_[A-Za-z0-9]{16}$`).
pub fn is_device_credential_id(id: &str) -> bool {
    id.strip_prefix(DEVICE_CREDENTIAL_PREFIX)
        .is_some_and(|part| {
            part.len() == DEVICE_CREDENTIAL_CHARS && part.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_credential_ids_carry_the_start_of_their_grant() {
        let id = device_credential_id("gr_abcdefghijklmnopqrstuvwx");
        assert_eq!(id, "dcr_abcdefghijklmnop");
        assert!(is_device_credential_id(&id));
        assert!(!is_device_credential_id("dcr_short"));
        assert!(!is_device_credential_id("dcr_abcdefghijklmno!"));
        assert!(!is_device_credential_id("dcr_abcdefghijklmnopq"));
        assert!(!is_device_credential_id("gr_abcdefghijklmnop"));
    }

    #[test]
    fn auth0_defaults_never_expire_and_do_not_rotate() {
        let c = RefreshTokenConfig::default();
        assert_eq!(c.expiries(1000), (None, None));
        assert!(c.validate().is_ok());
        let json = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(json["rotation_type"], "non-rotating");
        assert_eq!(json["expiration_type"], "non-expiring");
    }

    #[test]
    fn expiring_tokens_have_both_lifetimes_unless_infinite() {
        let c: RefreshTokenConfig = serde_json::from_value(serde_json::json!({
            "rotation_type": "rotating", "expiration_type": "expiring",
            "token_lifetime": 100, "idle_token_lifetime": 10
        }))
        .unwrap_or_default();
        assert_eq!(c.expiries(1000), (Some(1100), Some(1010)));
        let infinite = RefreshTokenConfig {
            infinite_idle_token_lifetime: true,
            ..c.clone()
        };
        assert_eq!(infinite.expiries(1000), (Some(1100), None));
        let too_idle = RefreshTokenConfig {
            idle_token_lifetime: 101,
            ..c
        };
        assert!(too_idle.validate().is_err());
    }

    #[test]
    fn policies_are_a_list_of_audience_and_scopes() {
        let parse = |policies: serde_json::Value| {
            serde_json::from_value::<RefreshTokenConfig>(serde_json::json!({
                "rotation_type": "rotating", "expiration_type": "expiring", "policies": policies
            }))
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map(|()| c))
        };
        let ok = parse(serde_json::json!([{"audience": "https://api", "scope": ["read:x"]}]));
        assert_eq!(
            ok.ok().and_then(|c| c.policies).map(|p| p[0].scope.clone()),
            Some(vec!["read:x".to_string()])
        );
        assert!(parse(serde_json::json!({"k": {"v": true}})).is_err());
        assert!(parse(serde_json::json!([])).is_err());
        assert!(parse(serde_json::json!([{"audience": "", "scope": []}])).is_err());
        assert!(parse(serde_json::json!([{"audience": "a", "scope": [""]}])).is_err());
        assert!(parse(serde_json::json!([{"audience": "a", "scope": [], "x": 1}])).is_err());
        assert!(parse(serde_json::Value::Null).is_ok());
    }

    #[test]
    fn unknown_properties_are_refused() {
        let r: Result<RefreshTokenConfig, _> = serde_json::from_value(serde_json::json!({
            "rotation_type": "rotating", "expiration_type": "expiring", "bogus": 1
        }));
        assert!(r.is_err());
    }
}
