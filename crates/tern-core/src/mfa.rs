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

/// The flag of a TOTP enrolment that was started (a seed shown to the
/// user) but not yet confirmed with a first code: `{"totp": {"secret": …,
/// "pending": true}}`. A pending enrolment is no factor: it passes no login
/// and no API lists it as active.
const PENDING: &str = "pending";

fn is_pending(factor: &Value) -> bool {
    factor.pointer("/totp/pending").and_then(Value::as_bool) == Some(true)
}

/// The stored TOTP secrets of `factors`' confirmed enrolments (sealed, or
/// in clear in rows an earlier version wrote), in order.
pub fn totp_secrets(factors: &[Value]) -> Vec<&str> {
    factors
        .iter()
        .filter(|f| !is_pending(f))
        .filter_map(|f| f.pointer("/totp/secret").and_then(Value::as_str))
        .collect()
}

/// The stored (sealed) secret of the pending TOTP enrolment, if any.
pub fn pending_totp_secret(factors: &[Value]) -> Option<&str> {
    factors
        .iter()
        .find(|f| is_pending(f))
        .and_then(|f| f.pointer("/totp/secret").and_then(Value::as_str))
}

/// `factors` with `sealed` as the one pending TOTP enrolment (an earlier
/// pending one is replaced: the last seed shown is the one to confirm).
pub fn with_pending_totp(factors: &[Value], sealed: &str) -> Vec<Value> {
    let mut out: Vec<Value> = factors.iter().filter(|f| !is_pending(f)).cloned().collect();
    out.push(serde_json::json!({"totp": {"secret": sealed, PENDING: true}}));
    out
}

/// `factors` with the pending TOTP enrolment confirmed; `None` when there
/// is none.
pub fn confirm_pending_totp(factors: &[Value]) -> Option<Vec<Value>> {
    let mut out = factors.to_vec();
    let pending = out.iter_mut().find(|f| is_pending(f))?;
    pending.get_mut("totp")?.as_object_mut()?.remove(PENDING);
    Some(out)
}

/// `factors` with `sealed` added as a confirmed TOTP enrolment, any
/// pending one dropped (the user has a factor now; a pending enrolment
/// started elsewhere, e.g. by `/mfa/associate`, is moot). For an enrolment
/// whose seed was kept outside the user (a hosted login transaction's).
pub fn with_confirmed_totp(factors: &[Value], sealed: &str) -> Vec<Value> {
    let mut out: Vec<Value> = factors.iter().filter(|f| !is_pending(f)).cloned().collect();
    out.push(serde_json::json!({"totp": {"secret": sealed}}));
    out
}

/// Whether a factor is a pending TOTP enrolment (for listings that skip it).
pub fn is_pending_totp(factor: &Value) -> bool {
    is_pending(factor)
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

/// Auth0's factor names (`/api/v2/guardian/factors/{name}`). Tern has only
/// `otp`; the others are listed disabled and cannot be enabled.
pub const FACTOR_NAMES: &[&str] = &[
    "sms",
    "push-notification",
    "email",
    "duo",
    "otp",
    "webauthn-roaming",
    "webauthn-platform",
    "recovery-code",
];

/// The factor Tern implements: authenticator apps (TOTP).
pub const FACTOR_OTP: &str = "otp";

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

    /// Set the policies (`PUT /guardian/policies`): `[]` or
    /// `["all-applications"]`. Auth0's `confidence-score` (Adaptive MFA)
    /// is refused: Tern has no risk assessment to base it on.
    pub fn set_policies(&mut self, policies: &[String]) -> Result<(), String> {
        if let Some(p) = policies.iter().find(|p| *p != POLICY_ALL_APPLICATIONS) {
            return Err(format!(
                "Payload validation error: policy '{p}' is not supported (Tern supports all-applications)."
            ));
        }
        self.policies = if policies.is_empty() {
            Vec::new()
        } else {
            vec![POLICY_ALL_APPLICATIONS.to_string()]
        };
        Ok(())
    }

    /// Whether factor `name` is enabled.
    pub fn factor_enabled(&self, name: &str) -> bool {
        name == FACTOR_OTP && self.otp_enabled
    }

    /// Enable or disable factor `name` (`PUT /guardian/factors/{name}`).
    pub fn set_factor(&mut self, name: &str, enabled: bool) -> Result<(), String> {
        if !FACTOR_NAMES.contains(&name) {
            return Err(format!(
                "Path validation error: 'No enum match for: \"{name}\"' on property name (Factor name)."
            ));
        }
        if name == FACTOR_OTP {
            self.otp_enabled = enabled;
        } else if enabled {
            return Err(format!(
                "The {name} factor is not supported by Tern (only otp can be enabled)."
            ));
        }
        Ok(())
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
    fn a_pending_enrolment_is_no_factor_until_confirmed() {
        let imported = vec![serde_json::json!({"phone": {"value": "+15551234567"}})];
        let started = with_pending_totp(&imported, "sealed:a");
        assert!(!has_totp(&started));
        assert_eq!(pending_totp_secret(&started), Some("sealed:a"));
        // Starting again replaces the seed shown before.
        let again = with_pending_totp(&started, "sealed:b");
        assert_eq!(again.len(), 2);
        assert_eq!(pending_totp_secret(&again), Some("sealed:b"));
        let confirmed = confirm_pending_totp(&again).unwrap();
        assert!(has_totp(&confirmed));
        assert_eq!(totp_secrets(&confirmed), vec!["sealed:b"]);
        assert_eq!(pending_totp_secret(&confirmed), None);
        assert!(confirm_pending_totp(&confirmed).is_none());
    }

    #[test]
    fn a_confirmed_enrolment_replaces_a_pending_one() {
        let phone = serde_json::json!({"phone": {"value": "+15551234567"}});
        let started = with_pending_totp(std::slice::from_ref(&phone), "sealed:a");
        let confirmed = with_confirmed_totp(&started, "sealed:t");
        assert_eq!(
            confirmed,
            vec![phone, serde_json::json!({"totp": {"secret": "sealed:t"}})]
        );
        assert!(has_totp(&confirmed));
        assert_eq!(pending_totp_secret(&confirmed), None);
    }

    #[test]
    fn guardian_settings_accept_what_tern_can_enforce() {
        let mut g = GuardianSettings::default();
        assert!(!g.requires_enrolment());
        g.set_policies(&["all-applications".into()]).unwrap();
        assert!(!g.requires_enrolment(), "no factor enabled yet");
        g.set_factor("otp", true).unwrap();
        assert!(g.requires_enrolment());
        assert!(g.set_policies(&["confidence-score".into()]).is_err());
        assert!(g.set_factor("sms", true).is_err());
        g.set_factor("sms", false).unwrap();
        assert!(g.set_factor("carrier-pigeon", false).is_err());
        g.set_policies(&[]).unwrap();
        assert!(!g.requires_enrolment());
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
