//! bcrypt (`$2a$`, `$2b$`, `$2y$`), parsed by hand and computed with the
//! `bcrypt` crate's raw EksBlowfish function.
//!
//! Parsing is done here rather than by `bcrypt::verify` so that salts with
//! non-zero trailing bits (which some PHP/crypt_blowfish hashes carry) are
//! accepted as every C implementation accepts them, and so that `$2x$` (the
//! crypt_blowfish sign-extension bug mode) is refused instead of silently
//! verified the wrong way for non-ASCII passwords.

use crate::encoding::{bcrypt_b64_decode, bcrypt_b64_encode, ct_eq};
use crate::limits::Work;
use crate::{HashError, Scheme, Strength, Verifier};

const SCHEME: &str = "bcrypt";

/// bcrypt's highest and lowest cost.
pub(crate) const MIN_COST: u32 = 4;
/// See [`MIN_COST`].
pub(crate) const MAX_COST: u32 = 31;

/// A parsed bcrypt hash.
#[derive(Debug, Clone)]
pub(crate) struct BcryptHash {
    version: &'static str,
    cost: u32,
    salt: [u8; 16],
    checksum: [u8; 23],
}

impl BcryptHash {
    /// Parse `$2b$10$<22 salt chars><31 checksum chars>`.
    pub(crate) fn parse(s: &str) -> Result<Self, HashError> {
        let body = s
            .strip_prefix('$')
            .ok_or_else(|| HashError::malformed(SCHEME, "expected a leading $"))?;
        let version = match body.get(0..3) {
            Some("2a$") => "2a",
            Some("2b$") => "2b",
            Some("2y$") => "2y",
            Some("2x$") => {
                return Err(HashError::unsupported(
                    SCHEME,
                    "$2x$ hashes reproduce crypt_blowfish's sign-extension bug; \
                     they are not supported",
                ));
            }
            _ if body.starts_with("2$") => {
                return Err(HashError::unsupported(
                    SCHEME,
                    "the original $2$ variant is not supported",
                ));
            }
            _ => {
                return Err(HashError::malformed(
                    SCHEME,
                    "expected prefix $2a$, $2b$ or $2y$",
                ));
            }
        };
        let rest = &body[3..];
        let (cost_str, tail) = rest
            .split_once('$')
            .ok_or_else(|| HashError::malformed(SCHEME, "missing cost"))?;
        if cost_str.len() != 2 || !cost_str.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HashError::malformed(SCHEME, "cost must be two digits"));
        }
        let cost: u32 = cost_str
            .parse()
            .map_err(|_| HashError::malformed(SCHEME, "cost must be two digits"))?;
        if !(MIN_COST..=MAX_COST).contains(&cost) {
            return Err(HashError::malformed(
                SCHEME,
                format!("cost {cost} is outside 4..=31"),
            ));
        }
        if tail.len() != 53 || !tail.is_ascii() {
            return Err(HashError::malformed(
                SCHEME,
                format!(
                    "expected 53 characters of salt and checksum, found {}",
                    tail.chars().count()
                ),
            ));
        }
        let (salt_s, sum_s) = tail.split_at(22);
        let salt = bcrypt_b64_decode(salt_s)
            .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
            .ok_or_else(|| HashError::malformed(SCHEME, "salt is not bcrypt base64"))?;
        let checksum = bcrypt_b64_decode(sum_s)
            .and_then(|v| <[u8; 23]>::try_from(v.as_slice()).ok())
            .ok_or_else(|| HashError::malformed(SCHEME, "checksum is not bcrypt base64"))?;
        Ok(Self {
            version,
            cost,
            salt,
            checksum,
        })
    }
}

/// Raw bcrypt: the first 23 bytes of EksBlowfish over the password truncated
/// to 72 bytes with its C string terminator.
pub(crate) fn raw(cost: u32, salt: [u8; 16], password: &[u8]) -> [u8; 23] {
    let mut buf = [0u8; 72];
    let n = password.len().min(72);
    buf[..n].copy_from_slice(&password[..n]);
    let used = (n + 1).min(72);
    let cost = cost.clamp(MIN_COST, MAX_COST);
    let out = ::bcrypt::bcrypt(cost, salt, &buf[..used]);
    let mut sum = [0u8; 23];
    sum.copy_from_slice(&out[..23]);
    sum
}

/// Format a `$2b$` hash string.
pub(crate) fn format(cost: u32, salt: [u8; 16], checksum: &[u8; 23]) -> String {
    format!(
        "$2b${cost:02}${}{}",
        bcrypt_b64_encode(&salt),
        bcrypt_b64_encode(checksum)
    )
}

impl Verifier for BcryptHash {
    fn scheme(&self) -> Scheme {
        Scheme::Bcrypt
    }

    fn describe(&self) -> String {
        format!(
            "bcrypt (${}$), cost {} (2^{} rounds), 16-byte salt; reads at most 72 password bytes",
            self.version, self.cost, self.cost
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        ct_eq(&raw(self.cost, self.salt, password), &self.checksum)
    }

    fn strength(&self) -> Strength {
        Strength::Bcrypt { cost: self.cost }
    }

    fn work(&self) -> Work {
        Work::Bcrypt { cost: self.cost }
    }
}
