//! Django's `algorithm$...` password strings: `pbkdf2_sha256`, `pbkdf2_sha1`,
//! `bcrypt_sha256`, `bcrypt`, `argon2`, `scrypt`, and the legacy salted
//! `sha1`/`md5` (`sha1$$hex` is Django's unsalted SHA-1).

use std::sync::Arc;

use crate::bcrypt::BcryptHash;
use crate::digest::Digest;
use crate::encoding::{b64_decode, ct_eq, hex_decode};
use crate::kdf::{Pbkdf2Hash, ScryptHash};
use crate::limits::Work;
use crate::phc::{parse_argon2, parse_u32};
use crate::{HashError, Scheme, Verifier};

/// Django algorithm names this module understands (the part before `$`).
pub(crate) const ALGORITHMS: &[&str] = &[
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "bcrypt_sha256",
    "bcrypt",
    "argon2",
    "scrypt",
    "sha1",
    "md5",
];

/// Parse a Django string whose algorithm prefix is one of [`ALGORITHMS`].
pub(crate) fn parse(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let (alg, rest) = s
        .split_once('$')
        .ok_or_else(|| HashError::malformed("django", "missing $"))?;
    match alg {
        "pbkdf2_sha256" => pbkdf2(rest, Scheme::DjangoPbkdf2Sha256, Digest::Sha256),
        "pbkdf2_sha1" => pbkdf2(rest, Scheme::DjangoPbkdf2Sha1, Digest::Sha1),
        "bcrypt_sha256" => wrapped(Scheme::DjangoBcryptSha256, true, BcryptHash::parse(rest)),
        "bcrypt" => wrapped(Scheme::DjangoBcrypt, false, BcryptHash::parse(rest)),
        // Django stores `argon2` + the PHC string (which starts with `$`).
        "argon2" => Ok(Arc::new(Wrapped {
            scheme: Scheme::DjangoArgon2,
            sha256_prehash: false,
            inner: Arc::new(
                parse_argon2(&format!("${rest}")).map_err(rename(Scheme::DjangoArgon2))?,
            ),
        })),
        "scrypt" => scrypt(rest),
        "sha1" => salted(rest, Scheme::DjangoSha1, Digest::Sha1),
        "md5" => salted(rest, Scheme::DjangoMd5, Digest::Md5),
        other => Err(HashError::malformed(
            "django",
            format!("unknown algorithm {other:?}"),
        )),
    }
}

/// Re-label an inner format's error with the Django scheme name.
fn rename(scheme: Scheme) -> impl Fn(HashError) -> HashError {
    move |e| match e {
        HashError::Malformed { reason, .. } => HashError::malformed(scheme.name(), reason),
        HashError::Unsupported { reason, .. } => HashError::unsupported(scheme.name(), reason),
        other => other,
    }
}

fn wrapped(
    scheme: Scheme,
    sha256_prehash: bool,
    inner: Result<BcryptHash, HashError>,
) -> Result<Arc<dyn Verifier>, HashError> {
    Ok(Arc::new(Wrapped {
        scheme,
        sha256_prehash,
        inner: Arc::new(inner.map_err(rename(scheme))?),
    }))
}

/// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`; the salt is used as
/// its UTF-8 bytes.
fn pbkdf2(rest: &str, scheme: Scheme, digest: Digest) -> Result<Arc<dyn Verifier>, HashError> {
    let name = scheme.name();
    let [iterations, salt, hash] = fields::<3>(rest, name, "iterations$salt$hash")?;
    let rounds = parse_u32(iterations, "iterations", name)?;
    let hash = b64_decode(hash).ok_or_else(|| HashError::malformed(name, "hash is not base64"))?;
    Ok(Arc::new(Pbkdf2Hash::new(
        scheme,
        digest,
        rounds,
        salt.as_bytes().to_vec(),
        hash,
    )?))
}

/// `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>`.
fn scrypt(rest: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let scheme = Scheme::DjangoScrypt;
    let name = scheme.name();
    let [n, salt, r, p, hash] = fields::<5>(rest, name, "N$salt$r$p$hash")?;
    let n = parse_u32(n, "N", name)?;
    let r = parse_u32(r, "r", name)?;
    let p = parse_u32(p, "p", name)?;
    let hash = b64_decode(hash).ok_or_else(|| HashError::malformed(name, "hash is not base64"))?;
    Ok(Arc::new(ScryptHash::with_n(
        scheme,
        u64::from(n),
        r,
        p,
        salt.as_bytes().to_vec(),
        hash,
    )?))
}

/// `sha1$<salt>$<hex>` = hex(sha1(salt + password)); empty salt allowed.
fn salted(rest: &str, scheme: Scheme, digest: Digest) -> Result<Arc<dyn Verifier>, HashError> {
    let name = scheme.name();
    let [salt, hash] = fields::<2>(rest, name, "salt$hex")?;
    let expected = hex_decode(hash)
        .filter(|h| h.len() == digest.output_len())
        .ok_or_else(|| {
            HashError::malformed(
                name,
                format!("hash must be {} hex digits", 2 * digest.output_len()),
            )
        })?;
    Ok(Arc::new(SaltedDigest {
        scheme,
        digest,
        salt: salt.to_owned(),
        expected,
    }))
}

/// Split `rest` into exactly `N` `$`-separated fields.
fn fields<'a, const N: usize>(
    rest: &'a str,
    name: &'static str,
    layout: &str,
) -> Result<[&'a str; N], HashError> {
    let v: Vec<&str> = rest.split('$').collect();
    <[&str; N]>::try_from(v.as_slice())
        .map_err(|_| HashError::malformed(name, format!("expected {layout} after the algorithm")))
}

/// Django's `bcrypt$` and `bcrypt_sha256$` (the latter hashes the password to
/// lower-case hex SHA-256 first), and `argon2$`.
#[derive(Debug)]
struct Wrapped {
    scheme: Scheme,
    sha256_prehash: bool,
    inner: Arc<dyn Verifier>,
}

impl Verifier for Wrapped {
    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn describe(&self) -> String {
        let pre = if self.sha256_prehash {
            "password pre-hashed to hex SHA-256, then "
        } else {
            ""
        };
        format!(
            "Django {}: {pre}{}",
            django_name(self.scheme),
            self.inner.describe()
        )
    }

    fn work(&self) -> Work {
        self.inner.work()
    }

    fn fed_len(&self, password: &str) -> usize {
        if self.sha256_prehash {
            64
        } else {
            self.inner.fed_len(password)
        }
    }

    fn verify(&self, password: &[u8]) -> bool {
        if self.sha256_prehash {
            let hex = hex::encode(Digest::Sha256.hash(&[password]));
            self.inner.verify(hex.as_bytes())
        } else {
            self.inner.verify(password)
        }
    }
}

/// The Django prefix of a scheme, e.g. `bcrypt_sha256$`.
fn django_name(scheme: Scheme) -> String {
    let name = scheme.name();
    format!(
        "{}$",
        name.strip_prefix("django-")
            .unwrap_or(name)
            .replace('-', "_")
    )
}

/// Django's legacy salted digests.
#[derive(Debug)]
struct SaltedDigest {
    scheme: Scheme,
    digest: Digest,
    salt: String,
    expected: Vec<u8>,
}

impl Verifier for SaltedDigest {
    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn describe(&self) -> String {
        if self.salt.is_empty() {
            format!(
                "Django {}: unsalted {}",
                django_name(self.scheme),
                self.digest.name()
            )
        } else {
            format!(
                "Django {}: {}(salt + password), {}-character salt",
                django_name(self.scheme),
                self.digest.name(),
                self.salt.len()
            )
        }
    }

    fn verify(&self, password: &[u8]) -> bool {
        ct_eq(
            &self.digest.hash(&[self.salt.as_bytes(), password]),
            &self.expected,
        )
    }
}
