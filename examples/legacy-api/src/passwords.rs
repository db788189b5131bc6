//! Verifying the legacy application's password formats. The self-describing
//! ones (bcrypt, phpass, md5-crypt) go through `tern-hash`; the home-made
//! salted SHA-256 is computed here, as the legacy app did.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tern_hash::{CostLimits, StoredHash};

use crate::store::LegacyUser;

/// A bcrypt hash verified for unknown users, so that "no such user" takes as
/// long as "wrong password" (the password is "x"; made once with Python's bcrypt).
const DUMMY_BCRYPT: &str = "$2b$10$eX8oE8aJdqlctMZcqxEq4.FKIoh.08Qu1gw2rnZhZh.thRtP.I2TC";

/// Whether `password` matches the user's stored hash. A row whose hash does
/// not parse as its declared scheme never matches.
pub fn verify(user: &LegacyUser, password: &str) -> bool {
    let declared = user.password_scheme.as_str();
    match declared {
        "sha256_salted" => {
            let Some(salt) = user.password_salt.as_deref() else {
                return false;
            };
            let Ok(stored) = hex::decode(user.password_hash.trim()) else {
                return false;
            };
            let mut h = Sha256::new();
            h.update(salt.as_bytes());
            h.update(password.as_bytes());
            let computed = h.finalize();
            stored.len() == computed.len() && bool::from(computed.as_slice().ct_eq(&stored))
        }
        "bcrypt" | "phpass" | "md5_crypt" => match StoredHash::parse(&user.password_hash) {
            // A hash too costly to verify is refused like a wrong password.
            Ok(h) if scheme_matches(declared, h.scheme().name()) => {
                h.verify(password, &CostLimits::default()).unwrap_or(false)
            }
            _ => false,
        },
        _ => false,
    }
}

fn scheme_matches(declared: &str, parsed: &str) -> bool {
    match declared {
        "bcrypt" => parsed == "bcrypt",
        "phpass" => parsed == "phpass",
        "md5_crypt" => parsed == "md5-crypt",
        _ => false,
    }
}

/// Spend the time of one verification (for unknown users).
pub fn burn() {
    if let Ok(h) = StoredHash::parse(DUMMY_BCRYPT) {
        let _ = h.verify("not the password", &CostLimits::default());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::SEED;

    /// Every seeded user (hashes from Python's bcrypt, libpass and hashlib)
    /// verifies with its demo password, and not with another.
    #[test]
    fn seed_hashes_verify() {
        let doc: serde_json::Value = serde_json::from_str(SEED).unwrap();
        let mut schemes = std::collections::BTreeSet::new();
        for u in doc["users"].as_array().unwrap() {
            let user: LegacyUser = serde_json::from_value(u.clone()).unwrap();
            let pw = u["demo_password"].as_str().unwrap();
            assert!(
                verify(&user, pw),
                "{} ({})",
                user.email,
                user.password_scheme
            );
            assert!(!verify(&user, &format!("{pw}x")), "{}", user.email);
            assert!(!verify(&user, ""), "{}", user.email);
            schemes.insert(user.password_scheme.clone());
        }
        assert_eq!(schemes.len(), 4, "{schemes:?}");
    }

    #[test]
    fn declared_scheme_must_match() {
        let doc: serde_json::Value = serde_json::from_str(SEED).unwrap();
        let u = &doc["users"][0];
        let mut user: LegacyUser = serde_json::from_value(u.clone()).unwrap();
        assert_eq!(user.password_scheme, "bcrypt");
        user.password_scheme = "phpass".into();
        assert!(!verify(&user, u["demo_password"].as_str().unwrap()));
        assert_eq!(
            StoredHash::parse(DUMMY_BCRYPT)
                .unwrap()
                .verify("x", &CostLimits::default()),
            Ok(true)
        );
    }
}
