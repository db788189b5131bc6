//! PHC strings (`$id$v=..$k=v,..$salt$hash`): Argon2, scrypt, PBKDF2, and
//! passlib's PBKDF2 dialect (`$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 hash>`).

use crate::digest::{Digest, DigestName};
use crate::encoding::b64_decode;
use crate::kdf::{Argon2Hash, Argon2Variant, Pbkdf2Hash, ScryptHash};
use crate::{HashError, Scheme};

/// The fields of a PHC string, still encoded.
#[derive(Debug)]
pub(crate) struct Phc<'a> {
    /// Algorithm identifier.
    pub id: &'a str,
    /// `v=` segment, if present.
    pub version: Option<&'a str>,
    /// `k=v` parameters in order.
    pub params: Vec<(&'a str, &'a str)>,
    /// Encoded salt (None when the string ends after the parameters).
    pub salt: Option<&'a str>,
    /// Encoded hash.
    pub hash: Option<&'a str>,
}

/// Is `seg` a PHC parameter list (`name=value,...` with lower-case names)?
fn is_param_list(seg: &str) -> bool {
    !seg.is_empty()
        && seg.split(',').all(|kv| {
            kv.split_once('=').is_some_and(|(k, v)| {
                !k.is_empty()
                    && !v.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
        })
}

/// Split a PHC string. `scheme` names the format in errors.
pub(crate) fn split<'a>(s: &'a str, scheme: &'static str) -> Result<Phc<'a>, HashError> {
    let mut segs = s.split('$');
    if segs.next() != Some("") {
        return Err(HashError::malformed(scheme, "expected a leading $"));
    }
    let id = segs
        .next()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| HashError::malformed(scheme, "missing identifier"))?;
    let rest: Vec<&str> = segs.collect();
    let mut i = 0;
    let mut version = None;
    if let Some(v) = rest.get(i).and_then(|seg| seg.strip_prefix("v=")) {
        version = Some(v);
        i += 1;
    }
    let mut params = Vec::new();
    if let Some(seg) = rest.get(i).filter(|seg| is_param_list(seg)) {
        params = seg.split(',').filter_map(|kv| kv.split_once('=')).collect();
        i += 1;
    }
    let tail = &rest[i.min(rest.len())..];
    if tail.len() > 2 {
        return Err(HashError::malformed(scheme, "too many $-separated fields"));
    }
    Ok(Phc {
        id,
        version,
        params,
        salt: tail.first().copied(),
        hash: tail.get(1).copied(),
    })
}

/// Parse a decimal `u32` parameter.
pub(crate) fn parse_u32(v: &str, what: &str, scheme: &'static str) -> Result<u32, HashError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::malformed(
            scheme,
            format!("{what} is not a number: {v:?}"),
        ));
    }
    v.parse()
        .map_err(|_| HashError::malformed(scheme, format!("{what} out of range: {v}")))
}

/// Decode a base64 field or fail with the format's error.
pub(crate) fn decode_field(
    v: Option<&str>,
    what: &str,
    scheme: &'static str,
) -> Result<Vec<u8>, HashError> {
    let v = v.ok_or_else(|| HashError::malformed(scheme, format!("missing {what}")))?;
    b64_decode(v).ok_or_else(|| HashError::malformed(scheme, format!("{what} is not base64")))
}

/// Parse `$argon2{id,i,d}$v=19$m=..,t=..,p=..$salt$hash`.
pub(crate) fn parse_argon2(s: &str) -> Result<Argon2Hash, HashError> {
    let phc = split(s, "argon2")?;
    let variant = match phc.id {
        "argon2id" => Argon2Variant::Id,
        "argon2i" => Argon2Variant::I,
        "argon2d" => Argon2Variant::D,
        other => {
            return Err(HashError::malformed(
                "argon2",
                format!("unknown identifier {other:?}"),
            ));
        }
    };
    let scheme = variant.ident();
    // A missing version means the original 1.0 (0x10), as in the reference code.
    let version = match phc.version {
        None => 0x10,
        Some(v) => parse_u32(v, "version", scheme)?,
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for (k, v) in &phc.params {
        match *k {
            "m" => m = Some(parse_u32(v, "m", scheme)?),
            "t" => t = Some(parse_u32(v, "t", scheme)?),
            "p" => p = Some(parse_u32(v, "p", scheme)?),
            "keyid" | "data" => {
                return Err(HashError::unsupported(
                    scheme,
                    format!("parameter {k} (secret key / associated data) is not supported"),
                ));
            }
            other => {
                return Err(HashError::malformed(
                    scheme,
                    format!("unknown parameter {other}"),
                ));
            }
        }
    }
    let (Some(m), Some(t), Some(p)) = (m, t, p) else {
        return Err(HashError::malformed(scheme, "m, t and p are required"));
    };
    let salt = decode_field(phc.salt, "salt", scheme)?;
    let hash = decode_field(phc.hash, "hash", scheme)?;
    Argon2Hash::new(variant, version, (m, t, p), salt, hash)
}

/// Parse `$scrypt$ln=..,r=..,p=..$salt$hash` (RustCrypto and passlib).
pub(crate) fn parse_scrypt(s: &str) -> Result<ScryptHash, HashError> {
    const NAME: &str = "scrypt";
    let phc = split(s, NAME)?;
    if phc.id != "scrypt" {
        return Err(HashError::malformed(NAME, "identifier must be scrypt"));
    }
    let (mut ln, mut r, mut p) = (None, None, None);
    for (k, v) in &phc.params {
        match *k {
            "ln" => ln = Some(parse_u32(v, "ln", NAME)?),
            "r" => r = Some(parse_u32(v, "r", NAME)?),
            "p" => p = Some(parse_u32(v, "p", NAME)?),
            other => {
                return Err(HashError::malformed(
                    NAME,
                    format!("unknown parameter {other}"),
                ));
            }
        }
    }
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(HashError::malformed(NAME, "ln, r and p are required"));
    };
    let ln = u8::try_from(ln).map_err(|_| HashError::malformed(NAME, "ln out of range"))?;
    let salt = decode_field(phc.salt, "salt", NAME)?;
    let hash = decode_field(phc.hash, "hash", NAME)?;
    ScryptHash::new(Scheme::Scrypt, ln, r, p, salt, hash)
}

/// Resolve the digest part of a `pbkdf2-<digest>` identifier.
pub(crate) fn pbkdf2_digest(id: &str) -> Result<Digest, HashError> {
    let name = id.strip_prefix("pbkdf2-").unwrap_or("sha1");
    match Digest::from_openssl_name(name) {
        Some(DigestName::Supported(d)) => Ok(d),
        Some(DigestName::Unsupported(n)) => Err(HashError::unsupported(
            "pbkdf2",
            format!("digest {n} has no available implementation"),
        )),
        None => Err(HashError::malformed(
            "pbkdf2",
            format!("unknown digest in identifier {id:?}"),
        )),
    }
}

/// Defaults for PHC PBKDF2 parameters missing from the string.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pbkdf2Defaults {
    /// Default `i`, if `i` may be omitted.
    pub iterations: Option<u32>,
    /// Default `l`, if `l` may be omitted (otherwise the hash length is used).
    pub length: Option<u32>,
}

/// Parse a PBKDF2 PHC string, or passlib's dialect when the parameter field
/// is a bare number.
pub(crate) fn parse_pbkdf2(s: &str, defaults: Pbkdf2Defaults) -> Result<Pbkdf2Hash, HashError> {
    const NAME: &str = "pbkdf2";
    // passlib: `$pbkdf2-sha256$29000$salt$hash` — bare rounds, no `i=`.
    let fields: Vec<&str> = s.split('$').collect();
    if fields.len() == 5 && !fields[2].is_empty() && fields[2].bytes().all(|b| b.is_ascii_digit()) {
        let id = fields[1];
        if id != "pbkdf2" && !id.starts_with("pbkdf2-") {
            return Err(HashError::malformed(
                NAME,
                "identifier must be pbkdf2-<digest>",
            ));
        }
        return parse_passlib_pbkdf2(s, pbkdf2_digest(id)?);
    }
    let phc = split(s, NAME)?;
    if phc.id != "pbkdf2" && !phc.id.starts_with("pbkdf2-") {
        return Err(HashError::malformed(
            NAME,
            "identifier must be pbkdf2-<digest>",
        ));
    }
    let digest = pbkdf2_digest(phc.id)?;
    if phc.id == "pbkdf2" {
        return Err(HashError::malformed(
            NAME,
            "identifier must be pbkdf2-<digest>",
        ));
    }
    let scheme = Scheme::Pbkdf2(digest);
    let (mut i, mut l) = (None, None);
    for (k, v) in &phc.params {
        match *k {
            "i" => i = Some(parse_u32(v, "i", scheme.name())?),
            "l" => l = Some(parse_u32(v, "l", scheme.name())?),
            other => {
                return Err(HashError::malformed(
                    scheme.name(),
                    format!("unknown parameter {other}"),
                ));
            }
        }
    }
    let rounds = i
        .or(defaults.iterations)
        .ok_or_else(|| HashError::malformed(scheme.name(), "missing i (iterations)"))?;
    let salt = decode_field(phc.salt, "salt", scheme.name())?;
    let hash = decode_field(phc.hash, "hash", scheme.name())?;
    if let Some(l) = l.or(defaults.length)
        && usize::try_from(l).ok() != Some(hash.len())
    {
        return Err(HashError::malformed(
            scheme.name(),
            format!("l={l} but the hash is {} bytes", hash.len()),
        ));
    }
    Pbkdf2Hash::new(scheme, digest, rounds, salt, hash)
}

/// passlib's `$pbkdf2$<rounds>$<salt>$<hash>` (sha1) and
/// `$pbkdf2-sha256$`/`$pbkdf2-sha512$`; salt and hash in the ab64 alphabet.
fn parse_passlib_pbkdf2(s: &str, digest: Digest) -> Result<Pbkdf2Hash, HashError> {
    let scheme = Scheme::PasslibPbkdf2(digest);
    let name = scheme.name();
    if !matches!(digest, Digest::Sha1 | Digest::Sha256 | Digest::Sha512) {
        return Err(HashError::malformed(
            name,
            "passlib only defines sha1, sha256, sha512",
        ));
    }
    let fields: Vec<&str> = s.split('$').collect();
    let [_, _, rounds, salt, hash] = fields.as_slice() else {
        return Err(HashError::malformed(name, "expected $id$rounds$salt$hash"));
    };
    let rounds = parse_u32(rounds, "rounds", name)?;
    let salt = decode_field(Some(salt), "salt", name)?;
    let hash = decode_field(Some(hash), "hash", name)?;
    Pbkdf2Hash::new(scheme, digest, rounds, salt, hash)
}
