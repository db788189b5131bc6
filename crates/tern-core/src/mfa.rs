//! Multi-factor authentication: the TOTP enrolments users arrive with
//! (Auth0's `mfa_factors`, from an import row or a login script's profile)
//! or make on the hosted pages, and the tenant's Guardian settings that
//! decide who must enrol.
//!
//! A TOTP seed is a secret as strong as a password hash is not: whoever
//! reads it can compute every code. It is therefore sealed before any
//! `User` carrying it is stored ([`seal_factors`], with the server's key
//! behind [`SeedSealer`]), and nothing answers it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Seals a TOTP seed for storage and opens it again. Implemented by the
/// server with its secrets key; the domain only decides *when* to seal.
pub trait SeedSealer: Send + Sync {
    /// `seed` (unpadded Base32) sealed, bound to the tenant and user.
    fn seal_seed(&self, tenant: &str, user_id: &str, seed: &str) -> Option<String>;
    /// Whether `stored` is already sealed (written by [`Self::seal_seed`]).
    fn is_sealed(&self, stored: &str) -> bool;
}

/// The stored TOTP secrets of `factors` (sealed, or in clear in rows an
/// earlier version wrote), in order.
pub fn totp_secrets(factors: &[Value]) -> Vec<&str> {
    factors
        .iter()
        .filter_map(|f| f.pointer("/totp/secret").and_then(Value::as_str))
        .collect()
}

/// Whether the user has a confirmed TOTP enrolment (an imported factor
/// counts as confirmed, as in Auth0).
pub fn has_totp(factors: &[Value]) -> bool {
    !totp_secrets(factors).is_empty()
}

/// Seal every TOTP secret of `factors` that is not sealed yet; `false` when
/// one could not be sealed (the caller must not store the factors then).
/// Returns whether anything changed through `changed`.
pub fn seal_factors(
    factors: &mut [Value],
    sealer: &dyn SeedSealer,
    tenant: &str,
    user_id: &str,
    changed: &mut bool,
) -> bool {
    for f in factors.iter_mut() {
        let Some(secret) = f.pointer_mut("/totp/secret") else {
            continue;
        };
        let Some(clear) = secret.as_str() else {
            continue;
        };
        if sealer.is_sealed(clear) {
            continue;
        }
        match sealer.seal_seed(tenant, user_id, clear) {
            Some(sealed) => {
                *secret = Value::String(sealed);
                *changed = true;
            }
            None => return false,
        }
    }
    true
}

/// Decode unpadded (or padded) RFC 4648 Base32, case-insensitively; `None`
/// on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in text.bytes().filter(|b| *b != b'=') {
        let v = match b.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Encode as unpadded RFC 4648 Base32 (what authenticator apps read).
pub fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Guardian's `all-applications` policy: every login asks for a factor.
pub const POLICY_ALL_APPLICATIONS: &str = "all-applications";

/// The tenant's MFA settings (`/api/v2/guardian/factors/otp`,
/// `/api/v2/guardian/policies`), stored as a tenant document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianSettings {
    /// The `otp` factor (authenticator apps) is enabled.
    #[serde(default)]
    pub otp_enabled: bool,
    /// Policies: `[]` or `["all-applications"]`.
    #[serde(default)]
    pub policies: Vec<String>,
}

impl GuardianSettings {
    /// Whether a user without a factor must enrol one at login: the policy
    /// asks for MFA on every login and there is a factor to enrol.
    pub fn requires_enrolment(&self) -> bool {
        self.otp_enabled && self.policies.iter().any(|p| p == POLICY_ALL_APPLICATIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_reads_rfc_4648_vectors() {
        for (clear, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(clear.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), clear.as_bytes());
        }
        assert_eq!(base32_decode("mzxw6===").unwrap(), b"foo");
        assert!(base32_decode("MZ1W").is_none());
    }

    struct Fake;
    impl SeedSealer for Fake {
        fn seal_seed(&self, tenant: &str, user_id: &str, seed: &str) -> Option<String> {
            Some(format!("sealed:{tenant}:{user_id}:{}", seed.len()))
        }
        fn is_sealed(&self, stored: &str) -> bool {
            stored.starts_with("sealed:")
        }
    }

    #[test]
    fn only_clear_totp_secrets_are_sealed() {
        let mut f = vec![
            serde_json::json!({"totp": {"secret": "JBSWY3DPEHPK3PXP"}}),
            serde_json::json!({"phone": {"value": "+15551234567"}}),
            serde_json::json!({"totp": {"secret": "sealed:t:u:16"}}),
        ];
        let mut changed = false;
        assert!(seal_factors(&mut f, &Fake, "t", "auth0|1", &mut changed));
        assert!(changed);
        assert_eq!(f[0]["totp"]["secret"], "sealed:t:auth0|1:16");
        assert_eq!(f[1]["phone"]["value"], "+15551234567");
        assert_eq!(f[2]["totp"]["secret"], "sealed:t:u:16");
        assert!(has_totp(&f));
        let mut again = false;
        assert!(seal_factors(&mut f, &Fake, "t", "auth0|1", &mut again));
        assert!(!again);
    }
}
