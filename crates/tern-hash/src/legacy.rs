//! Self-describing legacy formats people bring from other systems, verified
//! only (Tern never produces them; a login with one rehashes to the policy):
//!
//! | string | scheme | construction |
//! |---|---|---|
//! | `{PKCS5S2}` base64(salt16 ‖ dk32) | `atlassian-pbkdf2-sha1` | PBKDF2-HMAC-SHA1, 10 000 iterations |
//! | `{PBKDF2}`, `{PBKDF2-SHA256}`, `{PBKDF2-SHA512}` rounds$salt$dk | `ldap-pbkdf2-*` | PBKDF2, ab64 salt and hash (passlib's `ldap_pbkdf2_*`) |
//! | `{CRYPT}` + any crypt string Tern reads | `ldap-crypt` | the inner string's scheme |
//! | `*` + 40 hex | `mysql41` | SHA1(SHA1(password)), MySQL `PASSWORD()` |
//! | `0x0100` + salt8hex + 40 hex | `mssql2005` | SHA1(UTF-16LE(password) ‖ salt) |
//! | `0x0100` + salt8hex + 80 hex | `mssql2000` | as 2005, plus the upper-cased password (SQL Server 2000 compared that half: case-insensitive) |
//! | `S:` + 40 hex + salt20hex | `oracle11` | SHA1(password ‖ salt) |
//! | `$sha1$rounds$salt$chk` | `sha1-crypt` | NetBSD: HMAC-SHA1 iterated `rounds` times |
//! | `$3$$` + 32 hex | `bsd-nthash` | FreeBSD: MD4(UTF-16LE(password)) |
//! | `$bcrypt-sha256$2b,12$…` (v1), `$bcrypt-sha256$v=2,t=2b,r=12$…` | `bcrypt-sha256` | bcrypt over base64(SHA256(p)) / base64(HMAC-SHA256(salt, p)) |
//! | `grub.pbkdf2.sha512.rounds.SALT.HASH` | `grub-pbkdf2-sha512` | PBKDF2-HMAC-SHA512, hex |
//! | `$p5k2$rounds16$salt$chk` (28-char checksum) | `cta-pbkdf2-sha1` | Cryptacular: PBKDF2-HMAC-SHA1, URL-safe base64 |
//! | `$p5k2$[rounds16]$salt$chk` (32-char checksum) | `dlitz-pbkdf2-sha1` | PBKDF2-HMAC-SHA1 salted with the config string, 24 bytes ab64 |
//! | `{FSHP<v>\|<saltlen>\|<rounds>}` base64 | `fshp` | SHA-1/256/384/512 of salt ‖ password, iterated |
//! | `$wp$2y$…` | `wordpress-bcrypt` | WordPress 6.8+: bcrypt over base64(HMAC-SHA384("wp-sha384", p)) |
//! | `1\|`, `2\|`, `3\|` + bcrypt or argon2 | `nextcloud` | Nextcloud's version prefix over PHP's `password_hash` |

use std::sync::Arc;

use crate::bcrypt::BcryptHash;
use crate::digest::Digest;
use crate::encoding::{b64_decode, b64_encode_padded, ct_eq, hash64_encode_le, hash64_value};
use crate::kdf::Pbkdf2Hash;
use crate::limits::Work;
use crate::phc::parse_argon2;
use crate::{HashError, Scheme, Verifier};

fn boxed<V: Verifier + 'static>(v: V) -> Arc<dyn Verifier> {
    Arc::new(v)
}

fn hex_exact(s: &str, len: usize, scheme: &'static str, what: &str) -> Result<Vec<u8>, HashError> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HashError::malformed(
            scheme,
            format!("{what} must be {len} hex digits"),
        ));
    }
    hex::decode(s).map_err(|_| HashError::malformed(scheme, format!("{what} is not hex")))
}

fn parse_rounds(s: &str, radix: u32, scheme: &'static str) -> Result<u32, HashError> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return Err(HashError::malformed(scheme, "rounds is not a number"));
    }
    u32::from_str_radix(s, radix)
        .ok()
        .filter(|&r| r > 0)
        .ok_or_else(|| HashError::malformed(scheme, "rounds out of range (1..2^32)"))
}

/// Does this legacy module claim `s` (by its prefix)? Strings that begin
/// with `$` are dispatched by identifier in `identify.rs` instead.
pub(crate) fn claims_braced(upper_word: &str) -> bool {
    matches!(
        upper_word,
        "PKCS5S2" | "PBKDF2" | "PBKDF2-SHA1" | "PBKDF2-SHA256" | "PBKDF2-SHA512" | "CRYPT"
    ) || upper_word.starts_with("FSHP")
}

/// `{WORD}…` formats handled here: Atlassian, LDAP PBKDF2, `{CRYPT}`, FSHP.
pub(crate) fn parse_braced(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let (word, rest) = s
        .strip_prefix('{')
        .and_then(|r| r.split_once('}'))
        .ok_or_else(|| HashError::malformed("ldap", "expected {SCHEME}value"))?;
    let upper = word.to_ascii_uppercase();
    match upper.as_str() {
        "PKCS5S2" => atlassian(rest),
        "PBKDF2" | "PBKDF2-SHA1" => ldap_pbkdf2(rest, Digest::Sha1),
        "PBKDF2-SHA256" => ldap_pbkdf2(rest, Digest::Sha256),
        "PBKDF2-SHA512" => ldap_pbkdf2(rest, Digest::Sha512),
        "CRYPT" => ldap_crypt(rest),
        _ => fshp(word, rest),
    }
}

fn atlassian(b64: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "atlassian-pbkdf2-sha1";
    let raw = b64_decode(b64.trim())
        .filter(|r| r.len() == 48)
        .ok_or_else(|| HashError::malformed(NAME, "value must be base64 of 48 bytes"))?;
    let (salt, dk) = raw.split_at(16);
    Ok(boxed(Pbkdf2Hash::new(
        Scheme::AtlassianPbkdf2Sha1,
        Digest::Sha1,
        10_000,
        salt.to_vec(),
        dk.to_vec(),
    )?))
}

fn ldap_pbkdf2(rest: &str, digest: Digest) -> Result<Arc<dyn Verifier>, HashError> {
    let scheme = Scheme::LdapPbkdf2(digest);
    let name = scheme.name();
    let fields: Vec<&str> = rest.split('$').collect();
    let [rounds, salt, hash] = fields.as_slice() else {
        return Err(HashError::malformed(name, "expected rounds$salt$hash"));
    };
    let rounds = parse_rounds(rounds, 10, name)?;
    let salt = b64_decode(salt).ok_or_else(|| HashError::malformed(name, "salt is not base64"))?;
    let hash = b64_decode(hash)
        .filter(|h| h.len() == digest.output_len())
        .ok_or_else(|| {
            HashError::malformed(
                name,
                format!("hash must be {} bytes of base64", digest.output_len()),
            )
        })?;
    Ok(boxed(Pbkdf2Hash::new(scheme, digest, rounds, salt, hash)?))
}

/// `{CRYPT}` over any crypt string Tern reads.
#[derive(Debug)]
struct LdapCrypt {
    inner: Arc<dyn Verifier>,
}

fn ldap_crypt(rest: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let rest = rest.trim();
    if rest.starts_with('{') {
        return Err(HashError::malformed(
            "ldap-crypt",
            "{CRYPT} wraps a crypt string, not another {SCHEME}",
        ));
    }
    let (inner, _) = crate::identify::identify(rest, false).map_err(|e| match e {
        HashError::Unrecognised { .. } => HashError::unsupported(
            "ldap-crypt",
            "the string inside {CRYPT} is no crypt format Tern reads",
        ),
        other => other,
    })?;
    Ok(boxed(LdapCrypt { inner }))
}

impl Verifier for LdapCrypt {
    fn scheme(&self) -> Scheme {
        Scheme::LdapCrypt
    }
    fn describe(&self) -> String {
        format!(
            "LDAP {{CRYPT}} wrapping {}: {}",
            self.inner.scheme().name(),
            self.inner.describe()
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        self.inner.verify(password)
    }
    fn verify_str(&self, password: &str) -> bool {
        self.inner.verify_str(password)
    }
    fn work(&self) -> Work {
        self.inner.work()
    }
    fn fed_len(&self, password: &str) -> usize {
        self.inner.fed_len(password)
    }
}

/// FSHP: `{FSHP<variant>|<salt len>|<rounds>}base64(salt ‖ checksum)`.
#[derive(Debug)]
struct Fshp {
    variant: u8,
    digest: Digest,
    rounds: u32,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

fn fshp(word: &str, b64: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "fshp";
    let params = word
        .strip_prefix("FSHP")
        .ok_or_else(|| HashError::unsupported("ldap", format!("scheme {{{word}}}")))?;
    let fields: Vec<&str> = params.split('|').collect();
    let [variant, salt_len, rounds] = fields.as_slice() else {
        return Err(HashError::malformed(
            NAME,
            "expected {FSHP<variant>|<salt size>|<rounds>}",
        ));
    };
    let (variant, digest) = match *variant {
        "0" => (0, Digest::Sha1),
        "1" => (1, Digest::Sha256),
        "2" => (2, Digest::Sha384),
        "3" => (3, Digest::Sha512),
        v => {
            return Err(HashError::unsupported(
                NAME,
                format!("variant {v} (known: 0 sha1, 1 sha256, 2 sha384, 3 sha512)"),
            ));
        }
    };
    let salt_len: usize = salt_len
        .parse()
        .map_err(|_| HashError::malformed(NAME, "salt size is not a number"))?;
    let rounds = parse_rounds(rounds, 10, NAME)?;
    let raw =
        b64_decode(b64.trim()).ok_or_else(|| HashError::malformed(NAME, "value is not base64"))?;
    if raw.len() != salt_len.saturating_add(digest.output_len()) {
        return Err(HashError::malformed(
            NAME,
            format!(
                "value decodes to {} bytes; expected salt {salt_len} + {} digest",
                raw.len(),
                digest.output_len()
            ),
        ));
    }
    let (salt, expected) = raw.split_at(salt_len);
    Ok(boxed(Fshp {
        variant,
        digest,
        rounds,
        salt: salt.to_vec(),
        expected: expected.to_vec(),
    }))
}

impl Verifier for Fshp {
    fn scheme(&self) -> Scheme {
        Scheme::Fshp
    }
    fn describe(&self) -> String {
        format!(
            "FSHP variant {} ({} of salt + password, iterated {} times), {}-byte salt",
            self.variant,
            self.digest.name(),
            self.rounds,
            self.salt.len()
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        let mut block = self.digest.hash(&[&self.salt, password]);
        for _ in 1..self.rounds {
            block = self.digest.hash(&[&block]);
        }
        ct_eq(&block, &self.expected)
    }
    fn work(&self) -> Work {
        // One plain digest per round: cheaper than a PBKDF2 iteration (two),
        // so the PBKDF2 bound of the digest is a safe bound.
        Work::Pbkdf2 {
            digest: self.digest,
            iterations: self.rounds,
            hash_len: self.digest.output_len(),
        }
    }
}

/// Single-digest legacy database formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbKind {
    Mysql41,
    Mssql2000,
    Mssql2005,
    Oracle11,
    NtHash,
}

#[derive(Debug)]
struct DbHash {
    kind: DbKind,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `*`+40 hex (MySQL 4.1+ `PASSWORD()`).
pub(crate) fn parse_mysql41(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let expected = hex_exact(&s[1..], 40, "mysql41", "the digest")?;
    Ok(boxed(DbHash {
        kind: DbKind::Mysql41,
        salt: Vec::new(),
        expected,
    }))
}

/// `0x0100` + 8 hex salt + 40 or 80 hex (SQL Server 2005 / 2000).
pub(crate) fn parse_mssql(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let body = &s[6..];
    let kind = match body.len() {
        48 => DbKind::Mssql2005,
        88 => DbKind::Mssql2000,
        n => {
            return Err(HashError::malformed(
                "mssql",
                format!("0x0100 must be followed by 48 (2005) or 88 (2000) hex digits, not {n}"),
            ));
        }
    };
    let name = if kind == DbKind::Mssql2005 {
        "mssql2005"
    } else {
        "mssql2000"
    };
    let raw = hex_exact(body, body.len(), name, "the value")?;
    let (salt, digests) = raw.split_at(4);
    Ok(boxed(DbHash {
        kind,
        salt: salt.to_vec(),
        expected: digests.to_vec(),
    }))
}

/// `S:` + 40 hex digest + 20 hex salt (Oracle 11g).
pub(crate) fn parse_oracle11(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let raw = hex_exact(&s[2..], 60, "oracle11", "the value after S:")?;
    let (expected, salt) = raw.split_at(20);
    Ok(boxed(DbHash {
        kind: DbKind::Oracle11,
        salt: salt.to_vec(),
        expected: expected.to_vec(),
    }))
}

/// `$3$$` + 32 hex (FreeBSD's NT hash).
pub(crate) fn parse_nthash(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let expected = hex_exact(&s[4..], 32, "bsd-nthash", "the digest")?;
    Ok(boxed(DbHash {
        kind: DbKind::NtHash,
        salt: Vec::new(),
        expected,
    }))
}

impl Verifier for DbHash {
    fn scheme(&self) -> Scheme {
        match self.kind {
            DbKind::Mysql41 => Scheme::Mysql41,
            DbKind::Mssql2000 => Scheme::Mssql2000,
            DbKind::Mssql2005 => Scheme::Mssql2005,
            DbKind::Oracle11 => Scheme::Oracle11,
            DbKind::NtHash => Scheme::BsdNtHash,
        }
    }
    fn describe(&self) -> String {
        match self.kind {
            DbKind::Mysql41 => "MySQL 4.1+ PASSWORD(): unsalted SHA1(SHA1(password))".into(),
            DbKind::Mssql2005 => {
                "SQL Server 2005: SHA1(UTF-16LE(password) + salt), 4-byte salt".into()
            }
            DbKind::Mssql2000 => {
                "SQL Server 2000: SHA1(UTF-16LE(password) + salt), 4-byte salt; verified case-insensitively against the upper-case half, as SQL Server 2000 did".into()
            }
            DbKind::Oracle11 => "Oracle 11g: SHA1(password + salt), 10-byte salt".into(),
            DbKind::NtHash => "FreeBSD $3$ NT hash: unsalted MD4(UTF-16LE(password))".into(),
        }
    }
    fn verify(&self, password: &[u8]) -> bool {
        // Only the str path is meaningful for the UTF-16 formats.
        self.verify_str(&String::from_utf8_lossy(password))
    }
    fn verify_str(&self, password: &str) -> bool {
        match self.kind {
            DbKind::Mysql41 => {
                let inner = Digest::Sha1.hash(&[password.as_bytes()]);
                ct_eq(&Digest::Sha1.hash(&[&inner]), &self.expected)
            }
            DbKind::Mssql2005 => ct_eq(
                &Digest::Sha1.hash(&[&utf16le(password), &self.salt]),
                &self.expected,
            ),
            DbKind::Mssql2000 => ct_eq(
                &Digest::Sha1.hash(&[&utf16le(&password.to_uppercase()), &self.salt]),
                &self.expected[20..],
            ),
            DbKind::Oracle11 => ct_eq(
                &Digest::Sha1.hash(&[password.as_bytes(), &self.salt]),
                &self.expected,
            ),
            DbKind::NtHash => ct_eq(&Digest::Md4.hash(&[&utf16le(password)]), &self.expected),
        }
    }
}

/// NetBSD `$sha1$<rounds>$<salt>$<28 hash64>`.
#[derive(Debug)]
struct Sha1Crypt {
    rounds: u32,
    salt: String,
    checksum: String,
}

/// passlib's byte order for the 20-byte HMAC-SHA1 (with a repeated 0 to
/// fill the last group).
const SHA1_CRYPT_OFFSETS: [usize; 21] = [
    2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 17, 16, 15, 0, 19, 18,
];

pub(crate) fn parse_sha1_crypt(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "sha1-crypt";
    let fields: Vec<&str> = s.split('$').collect();
    let [_, _, rounds, salt, checksum] = fields.as_slice() else {
        return Err(HashError::malformed(
            NAME,
            "expected $sha1$rounds$salt$checksum",
        ));
    };
    let rounds = parse_rounds(rounds, 10, NAME)?;
    if salt.len() > 64 || !salt.bytes().all(|b| hash64_value(b).is_some()) {
        return Err(HashError::malformed(
            NAME,
            "salt must be at most 64 hash64 characters",
        ));
    }
    if checksum.len() != 28 || !checksum.bytes().all(|b| hash64_value(b).is_some()) {
        return Err(HashError::malformed(
            NAME,
            "checksum must be 28 hash64 characters",
        ));
    }
    Ok(boxed(Sha1Crypt {
        rounds,
        salt: (*salt).to_owned(),
        checksum: (*checksum).to_owned(),
    }))
}

impl Verifier for Sha1Crypt {
    fn scheme(&self) -> Scheme {
        Scheme::Sha1Crypt
    }
    fn describe(&self) -> String {
        format!(
            "NetBSD sha1-crypt ($sha1$): HMAC-SHA1 iterated {} times, {}-character salt",
            self.rounds,
            self.salt.len()
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        let first = format!("{}$sha1${}", self.salt, self.rounds);
        let result = Digest::Sha1.hmac_iterated(password, first.as_bytes(), self.rounds);
        let ordered: Vec<u8> = SHA1_CRYPT_OFFSETS
            .iter()
            .map(|&i| result.get(i).copied().unwrap_or(0))
            .collect();
        ct_eq(
            hash64_encode_le(&ordered).as_bytes(),
            self.checksum.as_bytes(),
        )
    }
    fn work(&self) -> Work {
        Work::Pbkdf2 {
            digest: Digest::Sha1,
            iterations: self.rounds,
            hash_len: 20,
        }
    }
}

/// How a bcrypt wrapper turns the password into bcrypt's input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Prehash {
    /// passlib bcrypt-sha256 v1: base64(SHA256(p)).
    Sha256,
    /// passlib bcrypt-sha256 v2: base64(HMAC-SHA256(key = salt string, p)).
    HmacSha256 { salt: String },
    /// WordPress 6.8+: base64(HMAC-SHA384(key "wp-sha384", p)).
    WordPress,
}

#[derive(Debug)]
struct PrehashedBcrypt {
    prehash: Prehash,
    inner: BcryptHash,
}

/// `$bcrypt-sha256$…` (passlib v1 and v2).
pub(crate) fn parse_bcrypt_sha256(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "bcrypt-sha256";
    let fields: Vec<&str> = s.split('$').collect();
    let [_, _, params, salt, digest] = fields.as_slice() else {
        return Err(HashError::malformed(
            NAME,
            "expected $bcrypt-sha256$<params>$<salt>$<digest>",
        ));
    };
    let (prehash, ident, cost) = if let Some(v2) = params.strip_prefix("v=") {
        let mut it = v2.split(',');
        let version = it.next().unwrap_or_default();
        if version != "2" {
            return Err(HashError::unsupported(NAME, format!("version {version}")));
        }
        let (Some(t), Some(r), None) = (
            it.next().and_then(|t| t.strip_prefix("t=")),
            it.next().and_then(|r| r.strip_prefix("r=")),
            it.next(),
        ) else {
            return Err(HashError::malformed(NAME, "expected v=2,t=<type>,r=<cost>"));
        };
        (
            Prehash::HmacSha256 {
                salt: (*salt).to_owned(),
            },
            t,
            r,
        )
    } else {
        let Some((t, r)) = params.split_once(',') else {
            return Err(HashError::malformed(NAME, "expected <type>,<cost>"));
        };
        (Prehash::Sha256, t, r)
    };
    if !matches!(ident, "2a" | "2b") {
        return Err(HashError::malformed(NAME, "type must be 2a or 2b"));
    }
    let inner =
        BcryptHash::parse(&format!("${ident}${cost:0>2}${salt}{digest}")).map_err(|e| match e {
            HashError::Malformed { reason, .. } => HashError::malformed(NAME, reason),
            other => other,
        })?;
    Ok(boxed(PrehashedBcrypt { prehash, inner }))
}

/// `$wp$2y$…` (WordPress 6.8+).
pub(crate) fn parse_wordpress(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let inner = BcryptHash::parse(&s[3..]).map_err(|e| match e {
        HashError::Malformed { reason, .. } => HashError::malformed("wordpress-bcrypt", reason),
        other => other,
    })?;
    Ok(boxed(PrehashedBcrypt {
        prehash: Prehash::WordPress,
        inner,
    }))
}

impl Verifier for PrehashedBcrypt {
    fn scheme(&self) -> Scheme {
        match self.prehash {
            Prehash::WordPress => Scheme::WordPressBcrypt,
            _ => Scheme::BcryptSha256,
        }
    }
    fn describe(&self) -> String {
        let pre = match self.prehash {
            Prehash::Sha256 => "passlib bcrypt-sha256 v1: base64(SHA-256(password)) fed to",
            Prehash::HmacSha256 { .. } => {
                "passlib bcrypt-sha256 v2: base64(HMAC-SHA256(salt, password)) fed to"
            }
            Prehash::WordPress => {
                "WordPress 6.8+ $wp$: base64(HMAC-SHA384(\"wp-sha384\", password)) fed to"
            }
        };
        format!("{pre} {}", self.inner.describe())
    }
    fn verify(&self, password: &[u8]) -> bool {
        let digest = match &self.prehash {
            Prehash::Sha256 => Digest::Sha256.hash(&[password]),
            Prehash::HmacSha256 { salt } => Digest::Sha256.hmac(salt.as_bytes(), &[password]),
            Prehash::WordPress => Digest::Sha384.hmac(b"wp-sha384", &[password]),
        };
        self.inner.verify(b64_encode_padded(&digest).as_bytes())
    }
    fn work(&self) -> Work {
        self.inner.work()
    }
    fn fed_len(&self, _password: &str) -> usize {
        64
    }
}

/// Nextcloud's `<version>|<password_hash() string>`.
#[derive(Debug)]
struct Nextcloud {
    version: u8,
    inner: Arc<dyn Verifier>,
}

/// Is `s` a Nextcloud versioned hash (`1|`, `2|`, `3|`)?
pub(crate) fn claims_nextcloud(s: &str) -> bool {
    matches!(s.get(..2), Some("1|" | "2|" | "3|"))
}

pub(crate) fn parse_nextcloud(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "nextcloud";
    let version = s.as_bytes()[0] - b'0';
    let rest = &s[2..];
    let inner: Arc<dyn Verifier> = match version {
        1 if rest.starts_with("$2") => boxed(BcryptHash::parse(rest)?),
        2 if rest.starts_with("$argon2i$") => boxed(parse_argon2(rest)?),
        3 if rest.starts_with("$argon2id$") => boxed(parse_argon2(rest)?),
        _ => {
            return Err(HashError::malformed(
                NAME,
                "1| must carry bcrypt, 2| argon2i, 3| argon2id",
            ));
        }
    };
    Ok(boxed(Nextcloud { version, inner }))
}

impl Verifier for Nextcloud {
    fn scheme(&self) -> Scheme {
        Scheme::Nextcloud
    }
    fn describe(&self) -> String {
        format!(
            "Nextcloud hash version {}: {}",
            self.version,
            self.inner.describe()
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        self.inner.verify(password)
    }
    fn work(&self) -> Work {
        self.inner.work()
    }
    fn fed_len(&self, password: &str) -> usize {
        self.inner.fed_len(password)
    }
}

/// `grub.pbkdf2.sha512.<rounds>.<SALT hex>.<HASH hex>`.
pub(crate) fn parse_grub(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "grub-pbkdf2-sha512";
    let fields: Vec<&str> = s["grub.pbkdf2.sha512.".len()..].split('.').collect();
    let [rounds, salt, hash] = fields.as_slice() else {
        return Err(HashError::malformed(
            NAME,
            "expected <rounds>.<salt>.<hash>",
        ));
    };
    let rounds = parse_rounds(rounds, 10, NAME)?;
    let salt = hex::decode(salt).map_err(|_| HashError::malformed(NAME, "salt is not hex"))?;
    let hash = hex_exact(hash, 128, NAME, "the hash")?;
    Ok(boxed(Pbkdf2Hash::new(
        Scheme::GrubPbkdf2Sha512,
        Digest::Sha512,
        rounds,
        salt,
        hash,
    )?))
}

/// `$p5k2$…`: Cryptacular (28-character URL-safe base64 checksum) or
/// Dwayne Litzenberger's (32-character ab64 checksum, config as salt).
pub(crate) fn parse_p5k2(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let fields: Vec<&str> = s.split('$').collect();
    let [_, _, rounds, salt, chk] = fields.as_slice() else {
        return Err(HashError::malformed(
            "p5k2",
            "expected $p5k2$<rounds hex>$<salt>$<checksum>",
        ));
    };
    match chk.len() {
        28 => {
            const NAME: &str = "cta-pbkdf2-sha1";
            let rounds = parse_rounds(rounds, 16, NAME)?;
            let salt =
                b64_decode(salt).ok_or_else(|| HashError::malformed(NAME, "salt is not base64"))?;
            let hash = b64_decode(chk)
                .filter(|h| h.len() == 20)
                .ok_or_else(|| HashError::malformed(NAME, "checksum is not 20 bytes of base64"))?;
            Ok(boxed(Pbkdf2Hash::new(
                Scheme::CtaPbkdf2Sha1,
                Digest::Sha1,
                rounds,
                salt,
                hash,
            )?))
        }
        32 => {
            const NAME: &str = "dlitz-pbkdf2-sha1";
            let n = if rounds.is_empty() {
                400
            } else {
                parse_rounds(rounds, 16, NAME)?
            };
            let hash = b64_decode(chk)
                .filter(|h| h.len() == 24)
                .ok_or_else(|| HashError::malformed(NAME, "checksum is not 24 bytes of ab64"))?;
            // The PBKDF2 salt is the configuration string itself, as
            // passlib renders it: rounds in lower-case hex, omitted at 400.
            let shown = if n == 400 {
                String::new()
            } else {
                format!("{n:x}")
            };
            let config = format!("$p5k2${shown}${salt}");
            Ok(boxed(Pbkdf2Hash::new(
                Scheme::DlitzPbkdf2Sha1,
                Digest::Sha1,
                n,
                config.into_bytes(),
                hash,
            )?))
        }
        n => Err(HashError::malformed(
            "p5k2",
            format!("checksum of {n} characters (Cryptacular: 28, dlitz: 32)"),
        )),
    }
}
