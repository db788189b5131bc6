//! The key-derivation verifiers (Argon2, scrypt, PBKDF2) with validated
//! parameters. Several string formats (PHC, passlib, Django, ASP.NET, Auth0
//! objects) parse into these.

use crate::digest::Digest;
use crate::encoding::ct_eq;
use crate::limits::Work;
use crate::{HashError, Scheme, Strength, Verifier};

/// Argon2 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Argon2Variant {
    /// Argon2id.
    Id,
    /// Argon2i.
    I,
    /// Argon2d.
    D,
}

impl Argon2Variant {
    fn algorithm(self) -> argon2::Algorithm {
        match self {
            Self::Id => argon2::Algorithm::Argon2id,
            Self::I => argon2::Algorithm::Argon2i,
            Self::D => argon2::Algorithm::Argon2d,
        }
    }

    pub(crate) fn scheme(self) -> Scheme {
        match self {
            Self::Id => Scheme::Argon2id,
            Self::I => Scheme::Argon2i,
            Self::D => Scheme::Argon2d,
        }
    }

    pub(crate) fn ident(self) -> &'static str {
        match self {
            Self::Id => "argon2id",
            Self::I => "argon2i",
            Self::D => "argon2d",
        }
    }
}

/// An Argon2 hash with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Argon2Hash {
    variant: Argon2Variant,
    version: u32,
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Argon2Hash {
    /// Validate parameters. `version` is 0x10 or 0x13.
    pub(crate) fn new(
        variant: Argon2Variant,
        version: u32,
        (m, t, p): (u32, u32, u32),
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, HashError> {
        let scheme = variant.ident();
        if version != 0x10 && version != 0x13 {
            return Err(HashError::malformed(
                scheme,
                format!("unknown version {version} (expected 16 or 19)"),
            ));
        }
        // Any memory cost parses; the cost bounds decide whether it is run.
        argon2::Params::new(m, t, p, Some(hash.len()))
            .map_err(|e| HashError::malformed(scheme, format!("invalid parameters: {e}")))?;
        if salt.len() < 8 {
            return Err(HashError::malformed(
                scheme,
                "salt must be at least 8 bytes",
            ));
        }
        Ok(Self {
            variant,
            version,
            m,
            t,
            p,
            salt,
            hash,
        })
    }

    fn engine(&self) -> Option<argon2::Argon2<'static>> {
        let version = if self.version == 0x10 {
            argon2::Version::V0x10
        } else {
            argon2::Version::V0x13
        };
        let params = argon2::Params::new(self.m, self.t, self.p, Some(self.hash.len())).ok()?;
        Some(argon2::Argon2::new(
            self.variant.algorithm(),
            version,
            params,
        ))
    }
}

impl Verifier for Argon2Hash {
    fn scheme(&self) -> Scheme {
        self.variant.scheme()
    }

    fn describe(&self) -> String {
        format!(
            "{} v={}, memory m={} KiB, iterations t={}, parallelism p={}, {}-byte salt, {}-byte hash",
            self.variant.ident(),
            self.version,
            self.m,
            self.t,
            self.p,
            self.salt.len(),
            self.hash.len()
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        let Some(engine) = self.engine() else {
            return false;
        };
        let mut out = vec![0u8; self.hash.len()];
        crate::argon2_memory::hash_into(&engine, password, &self.salt, &mut out).is_ok()
            && ct_eq(&out, &self.hash)
    }

    fn work(&self) -> Work {
        Work::Argon2 {
            m: self.m,
            t: self.t,
        }
    }

    fn strength(&self) -> Strength {
        Strength::Argon2 {
            id: self.variant == Argon2Variant::Id,
            version: self.version,
            m: self.m,
            t: self.t,
            p: self.p,
        }
    }
}

/// How a scheme's string format is introduced in `describe()`.
fn label(scheme: Scheme) -> String {
    match scheme {
        Scheme::Scrypt => "scrypt PHC string: ".into(),
        Scheme::Pbkdf2(d) => format!("PBKDF2 PHC string ($pbkdf2-{}$): ", d.name()),
        Scheme::PasslibPbkdf2(_) => "passlib PBKDF2 (ab64 alphabet): ".into(),
        Scheme::DjangoScrypt => "Django scrypt$: ".into(),
        Scheme::DjangoPbkdf2Sha256 => "Django pbkdf2_sha256$: ".into(),
        Scheme::DjangoPbkdf2Sha1 => "Django pbkdf2_sha1$: ".into(),
        Scheme::AspNetIdentityV2 => "ASP.NET Identity v2: ".into(),
        Scheme::AspNetIdentityV3 => "ASP.NET Identity v3: ".into(),
        Scheme::AtlassianPbkdf2Sha1 => "Atlassian {PKCS5S2}: ".into(),
        Scheme::LdapPbkdf2(d) => format!(
            "LDAP {{PBKDF2{}}} (passlib ldap_pbkdf2_{}): ",
            if d == Digest::Sha1 {
                String::new()
            } else {
                format!("-{}", d.name().to_ascii_uppercase())
            },
            d.name()
        ),
        Scheme::GrubPbkdf2Sha512 => "GRUB grub.pbkdf2.sha512: ".into(),
        Scheme::CtaPbkdf2Sha1 => "Cryptacular $p5k2$: ".into(),
        Scheme::DlitzPbkdf2Sha1 => "dlitz $p5k2$ (config string as salt): ".into(),
        _ => String::new(),
    }
}

/// An scrypt hash with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct ScryptHash {
    scheme: Scheme,
    log_n: u8,
    r: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl ScryptHash {
    /// Validate parameters given `N` itself (must be a power of two > 1).
    pub(crate) fn with_n(
        scheme: Scheme,
        n: u64,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, HashError> {
        if n < 2 || !n.is_power_of_two() {
            return Err(HashError::malformed(
                scheme.name(),
                format!("N={n} is not a power of two greater than 1"),
            ));
        }
        let log_n = u8::try_from(n.trailing_zeros())
            .map_err(|_| HashError::malformed(scheme.name(), "N too large"))?;
        Self::new(scheme, log_n, r, p, salt, hash)
    }

    /// Validate parameters given log2(N).
    pub(crate) fn new(
        scheme: Scheme,
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, HashError> {
        let name = scheme.name();
        if log_n == 0 || log_n >= 64 {
            return Err(HashError::malformed(
                name,
                format!("ln={log_n} out of range"),
            ));
        }
        if r == 0 || p == 0 {
            return Err(HashError::malformed(name, "r and p must be positive"));
        }
        // Any N, r, p parses; the cost bounds decide whether it is run.
        scrypt::Params::new(log_n, r, p)
            .map_err(|_| HashError::malformed(name, "invalid scrypt parameters"))?;
        if hash.is_empty() {
            return Err(HashError::malformed(name, "empty hash"));
        }
        Ok(Self {
            scheme,
            log_n,
            r,
            p,
            salt,
            hash,
        })
    }
}

impl Verifier for ScryptHash {
    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn describe(&self) -> String {
        format!(
            "{}scrypt N=2^{} ({}), r={}, p={}, {}-byte salt, {}-byte hash",
            label(self.scheme),
            self.log_n,
            1u64 << self.log_n,
            self.r,
            self.p,
            self.salt.len(),
            self.hash.len()
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        let Ok(params) = scrypt::Params::new(self.log_n, self.r, self.p) else {
            return false;
        };
        let mut out = vec![0u8; self.hash.len()];
        scrypt::scrypt(password, &self.salt, &params, &mut out).is_ok() && ct_eq(&out, &self.hash)
    }

    fn work(&self) -> Work {
        Work::Scrypt {
            log_n: self.log_n,
            r: self.r,
            p: self.p,
        }
    }
}

/// A PBKDF2-HMAC hash with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Pbkdf2Hash {
    scheme: Scheme,
    digest: Digest,
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Pbkdf2Hash {
    /// Validate parameters.
    pub(crate) fn new(
        scheme: Scheme,
        digest: Digest,
        rounds: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, HashError> {
        if rounds == 0 {
            return Err(HashError::malformed(scheme.name(), "iteration count is 0"));
        }
        if hash.is_empty() {
            return Err(HashError::malformed(scheme.name(), "empty hash"));
        }
        Ok(Self {
            scheme,
            digest,
            rounds,
            salt,
            hash,
        })
    }

    /// The canonical PHC form `$pbkdf2-<digest>$i=<rounds>,l=<len>$<salt>$<hash>`.
    pub(crate) fn to_phc(&self) -> String {
        format!(
            "$pbkdf2-{}$i={},l={}${}${}",
            self.digest.name(),
            self.rounds,
            self.hash.len(),
            crate::encoding::b64_encode_nopad(&self.salt),
            crate::encoding::b64_encode_nopad(&self.hash)
        )
    }
}

impl Verifier for Pbkdf2Hash {
    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn describe(&self) -> String {
        format!(
            "{}PBKDF2-HMAC-{}, {} iterations, {}-byte salt, {}-byte hash",
            label(self.scheme),
            self.digest.name().to_ascii_uppercase(),
            self.rounds,
            self.salt.len(),
            self.hash.len()
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        let mut out = vec![0u8; self.hash.len()];
        self.digest
            .pbkdf2(password, &self.salt, self.rounds, &mut out);
        ct_eq(&out, &self.hash)
    }

    fn work(&self) -> Work {
        Work::Pbkdf2 {
            digest: self.digest,
            iterations: self.rounds,
            hash_len: self.hash.len(),
        }
    }
}
