//! Per-algorithm construction of verifiers from validated fields.

use std::sync::Arc;

use super::schema::{decode, err, minimum, pattern, value_error};
use super::verifier::{Core, CustomHash, Salt};
use super::{Fields, ROOT, SCRYPT_DEFAULTS, canonical_json};
use crate::bcrypt::BcryptHash;
use crate::digest::{Digest, DigestName};
use crate::kdf::ScryptHash;
use crate::ldap::LdapHash;
use crate::phc::{Pbkdf2Defaults, parse_argon2, parse_pbkdf2};
use crate::scheme::CustomAlgorithm;
use crate::{CustomHashError, Scheme, Verifier};

type Built = (Arc<dyn Verifier>, String);

/// Build the verifier for validated fields.
pub(super) fn build(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    match f.algorithm {
        "md4" => digest(f, Digest::Md4, CustomAlgorithm::Md4),
        "md5" => digest(f, Digest::Md5, CustomAlgorithm::Md5),
        "sha1" => digest(f, Digest::Sha1, CustomAlgorithm::Sha1),
        "sha256" => digest(f, Digest::Sha256, CustomAlgorithm::Sha256),
        "sha512" => digest(f, Digest::Sha512, CustomAlgorithm::Sha512),
        "hmac" => hmac(f),
        "scrypt" => scrypt(f),
        "bcrypt" => bcrypt(f),
        "argon2" => argon2(f),
        "pbkdf2" => pbkdf2(f),
        // "ldap": the enum check leaves no other value.
        _ => ldap(f),
    }
}

/// Keep the object as an object: `auth0-custom-*`, stored as JSON.
fn keep(f: &Fields<'_>, algorithm: CustomAlgorithm, core: Core, salted: bool) -> Built {
    let verifier = CustomHash {
        algorithm,
        encoding_note: if f.encoding == "utf8" {
            String::new()
        } else {
            format!("hash encoded as {}", f.encoding)
        },
        password_encoding: f.password_encoding,
        salt: f.salt.as_ref().filter(|_| salted).map(|s| Salt {
            bytes: s.bytes.clone(),
            suffix: f.salt_suffix,
        }),
        core,
    };
    (Arc::new(verifier), canonical_json(f))
}

/// A string carrier: stored as the string itself when nothing else is
/// needed, else kept as an object.
fn carrier<V: Verifier + 'static>(
    f: &Fields<'_>,
    algorithm: CustomAlgorithm,
    inner: V,
    storage: String,
) -> Built {
    if f.is_plain() {
        (Arc::new(inner), storage)
    } else {
        keep(f, algorithm, Core::Inner(Arc::new(inner)), true)
    }
}

fn value_path() -> String {
    format!("{ROOT}.hash.value")
}

/// Decode a digest/HMAC value and check its length.
fn digest_value(f: &Fields<'_>, digest: Digest) -> Result<Vec<u8>, CustomHashError> {
    let bytes = decode(f.value, f.encoding, &value_path())?;
    if bytes.len() != digest.output_len() {
        return Err(err(
            "INVALID_FORMAT",
            value_path(),
            format!(
                "Decoded hash is {} bytes; {} produces {}",
                bytes.len(),
                digest.name(),
                digest.output_len()
            ),
        ));
    }
    Ok(bytes)
}

fn digest(
    f: &Fields<'_>,
    digest: Digest,
    algorithm: CustomAlgorithm,
) -> Result<Built, CustomHashError> {
    let expected = digest_value(f, digest)?;
    Ok(keep(f, algorithm, Core::Digest { digest, expected }, true))
}

fn hmac(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    let hash_path = format!("{ROOT}.hash");
    let digest = f.digest.and_then(Digest::from_hmac_name).ok_or_else(|| {
        err(
            "OBJECT_REQUIRED",
            &hash_path,
            "Missing required property: digest",
        )
    })?;
    let key = f.key.as_ref().ok_or_else(|| {
        err(
            "OBJECT_REQUIRED",
            &hash_path,
            "Missing required property: key",
        )
    })?;
    let expected = digest_value(f, digest)?;
    let core = Core::Hmac {
        digest,
        key: key.bytes.clone(),
        expected,
    };
    Ok(keep(f, CustomAlgorithm::Hmac(digest), core, true))
}

fn scrypt(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    let keylen = f
        .keylen
        .ok_or_else(|| err("OBJECT_REQUIRED", ROOT, "Missing required property: keylen"))?;
    minimum(keylen, 1, "keylen")?;
    let n = f.cost.unwrap_or(SCRYPT_DEFAULTS.0);
    minimum(n, 2, "cost")?;
    if n & (n - 1) != 0 {
        return Err(err(
            "INVALID_FORMAT",
            format!("{ROOT}.cost"),
            format!("Value {n} is not a power of two"),
        ));
    }
    let r = f.block_size.unwrap_or(SCRYPT_DEFAULTS.1);
    minimum(r, 1, "blockSize")?;
    let p = f.parallelization.unwrap_or(SCRYPT_DEFAULTS.2);
    minimum(p, 1, "parallelization")?;
    // Any cost parses (the cost bounds decide whether it is run), as long
    // as the memory it names is a number at all.
    let memory = n.checked_mul(r).and_then(|v| v.checked_mul(128));
    if memory.is_none_or(|m| m > i128::from(u64::MAX)) {
        return Err(err(
            "MAXIMUM",
            format!("{ROOT}.cost"),
            format!(
                "cost {n} with blockSize {r} needs 128*cost*blockSize bytes, more than any machine has"
            ),
        ));
    }
    let too_large = |key: &str| err("MAXIMUM", format!("{ROOT}.{key}"), "Value too large");
    let r = u32::try_from(r).map_err(|_| too_large("blockSize"))?;
    let p = u32::try_from(p).map_err(|_| too_large("parallelization"))?;
    let n = u64::try_from(n).map_err(|_| too_large("cost"))?;
    let expected = decode(f.value, f.encoding, &value_path())?;
    if i128::try_from(expected.len()).ok() != Some(keylen) {
        return Err(err(
            "INVALID_FORMAT",
            value_path(),
            format!(
                "Decoded hash is {} bytes but keylen is {keylen}",
                expected.len()
            ),
        ));
    }
    let salt = f.salt.as_ref().map(|s| s.bytes.clone()).unwrap_or_default();
    let inner = ScryptHash::with_n(
        Scheme::Auth0Custom(CustomAlgorithm::Scrypt),
        n,
        r,
        p,
        salt,
        expected,
    )
    .map_err(|e| value_error(&e))?;
    // The salt is scrypt's own salt, not a prefix/suffix of the password.
    Ok(keep(
        f,
        CustomAlgorithm::Scrypt,
        Core::Inner(Arc::new(inner)),
        false,
    ))
}

fn bcrypt(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    if !["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| f.value.starts_with(p))
    {
        return Err(pattern("^\\$2[aby]\\$", f.value));
    }
    let inner = BcryptHash::parse(f.value).map_err(|e| value_error(&e))?;
    Ok(carrier(
        f,
        CustomAlgorithm::Bcrypt,
        inner,
        f.value.to_owned(),
    ))
}

fn argon2(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    if !["$argon2id$", "$argon2i$", "$argon2d$"]
        .iter()
        .any(|p| f.value.starts_with(p))
    {
        return Err(pattern("^\\$argon2(id|i|d)\\$", f.value));
    }
    let inner = parse_argon2(f.value).map_err(|e| value_error(&e))?;
    Ok(carrier(
        f,
        CustomAlgorithm::Argon2,
        inner,
        f.value.to_owned(),
    ))
}

fn pbkdf2(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    let Some(id) = f
        .value
        .strip_prefix("$pbkdf2-")
        .and_then(|r| r.split('$').next())
    else {
        return Err(pattern("^\\$pbkdf2-<digest>\\$", f.value));
    };
    match Digest::from_openssl_name(id) {
        Some(DigestName::Supported(_)) => {}
        Some(DigestName::Unsupported(d)) => {
            return Err(err(
                "UNSUPPORTED_DIGEST",
                value_path(),
                format!(
                    "Digest {id} ({d}) is accepted by Auth0 but Tern has no implementation of it; \
                     these users must reset their password or migrate lazily"
                ),
            ));
        }
        None => {
            return Err(err(
                "INVALID_FORMAT",
                value_path(),
                format!("Unknown pbkdf2 digest {id:?}"),
            ));
        }
    }
    let defaults = Pbkdf2Defaults {
        iterations: Some(100_000),
        length: Some(64),
    };
    let inner = parse_pbkdf2(f.value, defaults).map_err(|e| value_error(&e))?;
    // Stored as a complete PHC string (Auth0's defaults made explicit, the
    // OpenSSL digest alias replaced by its canonical name).
    let storage = if matches!(inner.scheme(), Scheme::Pbkdf2(_)) {
        inner.to_phc()
    } else {
        f.value.to_owned()
    };
    Ok(carrier(f, CustomAlgorithm::Pbkdf2, inner, storage))
}

fn ldap(f: &Fields<'_>) -> Result<Built, CustomHashError> {
    if !LdapHash::claims(f.value) {
        return Err(pattern("^\\{[A-Za-z0-9]+\\}", f.value));
    }
    let value = f.value.trim();
    let inner = LdapHash::parse(value).map_err(|e| value_error(&e))?;
    Ok(carrier(f, CustomAlgorithm::Ldap, inner, value.to_owned()))
}
