//! phpass portable hashes (`$P$` WordPress, `$H$` phpBB 3) and Drupal 7
//! (`$S$`, the same construction over SHA-512, truncated to 55 characters;
//! `U$…` for Drupal 6 MD5 hashes that Drupal 7 wrapped).

use md5::Md5;
use sha2::{Digest as _, Sha512};

use crate::encoding::{ct_eq, hash64_encode_le, hash64_value};
use crate::limits::Work;
use crate::{HashError, Scheme, Verifier};

/// A parsed phpass-family hash.
#[derive(Debug, Clone)]
pub(crate) struct PhpassHash {
    sha512: bool,
    /// Drupal's `U$` prefix: the password is first replaced by its MD5 hex.
    upgraded: bool,
    ident: &'static str,
    log2_rounds: u32,
    salt: String,
    checksum: String,
}

impl PhpassHash {
    /// Parse `$P$`/`$H$`/`$S$` (optionally with Drupal's `U` prefix).
    pub(crate) fn parse(s: &str) -> Result<Self, HashError> {
        let (upgraded, body) = match s.strip_prefix('U') {
            Some(b) => (true, b),
            None => (false, s),
        };
        let (ident, sha512, name) = if body.starts_with("$P$") {
            ("$P$", false, "phpass")
        } else if body.starts_with("$H$") {
            ("$H$", false, "phpass")
        } else if body.starts_with("$S$") {
            ("$S$", true, "drupal7")
        } else {
            return Err(HashError::malformed("phpass", "expected $P$, $H$ or $S$"));
        };
        let name = if upgraded { "drupal7-upgraded" } else { name };
        let rest = &body[3..];
        let expected = if sha512 { 1 + 8 + 43 } else { 1 + 8 + 22 };
        if rest.len() != expected || !rest.is_ascii() {
            return Err(HashError::malformed(
                name,
                format!(
                    "expected {} characters, found {}",
                    3 + expected,
                    3 + rest.chars().count()
                ),
            ));
        }
        let log2_rounds = rest
            .bytes()
            .next()
            .and_then(hash64_value)
            .map(u32::from)
            .ok_or_else(|| HashError::malformed(name, "bad rounds character"))?;
        if !(7..=30).contains(&log2_rounds) {
            return Err(HashError::malformed(
                name,
                format!("log2 rounds {log2_rounds} outside 7..=30"),
            ));
        }
        let checksum = &rest[9..];
        if !checksum.bytes().all(|b| hash64_value(b).is_some()) {
            return Err(HashError::malformed(name, "checksum is not hash64"));
        }
        Ok(Self {
            sha512,
            upgraded,
            ident,
            log2_rounds,
            salt: rest[1..9].to_owned(),
            checksum: checksum.to_owned(),
        })
    }

    fn compute(&self, password: &[u8]) -> String {
        let md5_hex;
        let password = if self.upgraded {
            md5_hex = hex::encode(Md5::digest(password));
            md5_hex.as_bytes()
        } else {
            password
        };
        let rounds = 1u64 << self.log2_rounds;
        if self.sha512 {
            let mut h = Sha512::new()
                .chain_update(self.salt.as_bytes())
                .chain_update(password)
                .finalize();
            for _ in 0..rounds {
                h = Sha512::new()
                    .chain_update(h)
                    .chain_update(password)
                    .finalize();
            }
            let mut enc = hash64_encode_le(&h);
            enc.truncate(43);
            enc
        } else {
            let mut h = Md5::new()
                .chain_update(self.salt.as_bytes())
                .chain_update(password)
                .finalize();
            for _ in 0..rounds {
                h = Md5::new().chain_update(h).chain_update(password).finalize();
            }
            hash64_encode_le(&h)
        }
    }
}

impl Verifier for PhpassHash {
    fn scheme(&self) -> Scheme {
        match (self.upgraded, self.sha512) {
            (true, _) => Scheme::Drupal7Upgraded,
            (false, true) => Scheme::Drupal7,
            (false, false) => Scheme::Phpass,
        }
    }

    fn describe(&self) -> String {
        let what = match (self.upgraded, self.sha512) {
            (true, true) => "Drupal 7 SHA-512 over a Drupal 6 MD5 hash (U$S$)",
            (true, false) => "Drupal 7 phpass MD5 over a Drupal 6 MD5 hash (U$)",
            (false, true) => "Drupal 7 SHA-512 ($S$)",
            (false, false) => "phpass portable MD5",
        };
        format!(
            "{what}, ident {}, 2^{} = {} rounds, 8-character salt",
            self.ident,
            self.log2_rounds,
            1u64 << self.log2_rounds
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        ct_eq(self.compute(password).as_bytes(), self.checksum.as_bytes())
    }

    fn work(&self) -> Work {
        Work::Phpass {
            sha512: self.sha512,
            log2_rounds: self.log2_rounds,
        }
    }

    fn fed_len(&self, password: &str) -> usize {
        // Drupal's U$ hashes the password's MD5 hex, not the password.
        if self.upgraded { 32 } else { password.len() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phpass_reference_vector() {
        // phpass' own test.php vector.
        let h = PhpassHash::parse("$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0").expect("parse");
        assert!(h.verify(b"test12345"));
        assert!(!h.verify(b"test12346"));
    }
}
