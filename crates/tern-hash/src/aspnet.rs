//! ASP.NET Identity password hashes (`PasswordHasher` in
//! Microsoft.AspNetCore.Identity): base64 of a binary blob.
//!
//! * v2 (`0x00` marker): salt (16) ‖ subkey (32), PBKDF2-HMAC-SHA1, 1000 iterations.
//! * v3 (`0x01` marker): PRF (u32 BE: 0 = SHA-1, 1 = SHA-256, 2 = SHA-512),
//!   iteration count (u32 BE), salt length (u32 BE), salt, subkey.

use crate::digest::Digest;
use crate::encoding::{b64_decode, is_strict_padded_b64};
use crate::kdf::Pbkdf2Hash;
use crate::{HashError, Scheme};

const NAME: &str = "aspnet-identity";

/// Is `s` plausibly an ASP.NET Identity hash (padded standard base64 whose
/// first byte is a known format marker)?
pub(crate) fn claims(s: &str) -> bool {
    is_strict_padded_b64(s)
        && b64_decode(s).is_some_and(|b| matches!(b.first(), Some(0x00 | 0x01)) && b.len() >= 17)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Parse a v2 or v3 hash.
pub(crate) fn parse(s: &str) -> Result<Pbkdf2Hash, HashError> {
    let raw = b64_decode(s).ok_or_else(|| HashError::malformed(NAME, "not base64"))?;
    match raw.first() {
        Some(0x00) => {
            if raw.len() != 1 + 16 + 32 {
                return Err(HashError::malformed(
                    "aspnet-identity-v2",
                    format!("expected 49 bytes, found {}", raw.len()),
                ));
            }
            Pbkdf2Hash::new(
                Scheme::AspNetIdentityV2,
                Digest::Sha1,
                1000,
                raw[1..17].to_vec(),
                raw[17..].to_vec(),
            )
        }
        Some(0x01) => {
            const V3: &str = "aspnet-identity-v3";
            let header =
                |at| be_u32(&raw, at).ok_or_else(|| HashError::malformed(V3, "truncated header"));
            let prf = header(1)?;
            let iterations = header(5)?;
            let salt_len = usize::try_from(header(9)?)
                .map_err(|_| HashError::malformed(V3, "salt length out of range"))?;
            let digest = match prf {
                0 => Digest::Sha1,
                1 => Digest::Sha256,
                2 => Digest::Sha512,
                other => {
                    return Err(HashError::malformed(V3, format!("unknown PRF {other}")));
                }
            };
            if salt_len < 16 {
                return Err(HashError::malformed(V3, "salt shorter than 16 bytes"));
            }
            let salt_end = 13usize.saturating_add(salt_len);
            let salt = raw
                .get(13..salt_end)
                .ok_or_else(|| HashError::malformed(V3, "salt length exceeds the data"))?;
            let subkey = &raw[salt_end..];
            if subkey.len() < 16 {
                return Err(HashError::malformed(V3, "subkey shorter than 16 bytes"));
            }
            Pbkdf2Hash::new(
                Scheme::AspNetIdentityV3,
                digest,
                iterations,
                salt.to_vec(),
                subkey.to_vec(),
            )
        }
        _ => Err(HashError::malformed(NAME, "unknown format marker")),
    }
}
