//! Tern's `tern_password_hash` import object: formats that are not
//! self-describing (their parameters live outside the hash string), given
//! explicitly. A documented Tern extension beside Auth0's
//! `custom_password_hash`:
//!
//! ```json
//! {"algorithm": "firebase-scrypt", "hash": "<base64>", "salt": "<base64>",
//!  "params": {"signer_key": "<base64>", "salt_separator": "<base64>", "rounds": 8, "mem_cost": 14}}
//! ```
//!
//! | `algorithm` | `hash` | `salt` | `params` | construction |
//! |---|---|---|---|---|
//! | `firebase-scrypt` | base64 `passwordHash` | base64 `salt` | `signer_key`, `salt_separator` (base64), `rounds` 1–8, `mem_cost` 1–14 | AES-256-CTR(key = scrypt(p, salt ‖ sep, N=2^mem_cost, r=rounds, p=1)[..32], IV 0) of the signer key |
//! | `magento2` | `hash:salt:version` | — | — | version 0 MD5, 1 SHA-256 of salt ‖ p (hex), 2/3 Argon2id13 (libsodium interactive: t=2, 64 MiB, 32 bytes, salt's first 16 bytes); chained versions `1:2` applied in turn |
//! | `joomla` | `hash:salt` (32 hex) | — | — | MD5(p ‖ salt) hex (Joomla 1.5–2.5) |
//! | `keycloak` | — | — | `secretData`, `credentialData` (the credential's JSON strings or objects) | PBKDF2-SHA1/256/512 or Argon2 with the credential's parameters |
//! | `devise-bcrypt` | `$2a$` bcrypt | — | `pepper` | bcrypt(p ‖ pepper) |
//! | `vbulletin` | 32 hex | salt | — | MD5(hex MD5(p) ‖ salt) |
//! | `smf` | 40 hex, or bcrypt (2.1) | — | `username` | SHA-1(lower(username) ‖ p); 2.1: bcrypt(lower(username) ‖ p) |
//! | `discourse` | 64 hex | 32-hex salt string | `iterations` (default 64000) | PBKDF2-HMAC-SHA256(p, salt string), hex |
//!
//! Errors name the field (`tern_password_hash.params.rounds`) with the same
//! codes as `custom_password_hash`. The storage form is the object as compact
//! JSON (begins with `{`); `StoredHash::parse` reads it back.

use std::sync::Arc;

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use serde_json::{Map, Value};

use crate::bcrypt::BcryptHash;
use crate::digest::Digest;
use crate::encoding::{b64_decode_node, ct_eq};
use crate::kdf::{Argon2Hash, Argon2Variant, Pbkdf2Hash};
use crate::limits::Work;
use crate::{CustomHashError, Scheme, Verifier};

/// Root of error paths.
pub(crate) const ROOT: &str = "tern_password_hash";

/// The `algorithm` values.
pub(crate) const ALGORITHMS: &[&str] = &[
    "firebase-scrypt",
    "magento2",
    "joomla",
    "keycloak",
    "devise-bcrypt",
    "vbulletin",
    "smf",
    "discourse",
];

type Built = (Arc<dyn Verifier>, String);

fn err(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> CustomHashError {
    CustomHashError {
        code,
        path: path.into(),
        message: message.into(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn keys(map: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), CustomHashError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(err(
            "OBJECT_ADDITIONAL_PROPERTIES",
            path,
            format!("Additional properties not allowed: {extra}"),
        )),
        None => Ok(()),
    }
}

/// Field access with paths.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: String) -> Result<Self, CustomHashError> {
        match v {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(err(
                "INVALID_TYPE",
                path,
                format!("Expected type object but found type {}", type_name(other)),
            )),
        }
    }

    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&self, key: &str) -> Result<&'a Value, CustomHashError> {
        self.map.get(key).ok_or_else(|| {
            err(
                "OBJECT_REQUIRED",
                &self.path,
                format!("Missing required property: {key}"),
            )
        })
    }

    fn str(&self, key: &str) -> Result<&'a str, CustomHashError> {
        let v = self.get(key)?;
        v.as_str().ok_or_else(|| {
            err(
                "INVALID_TYPE",
                self.at(key),
                format!("Expected type string but found type {}", type_name(v)),
            )
        })
    }

    fn opt_str(&self, key: &str) -> Result<Option<&'a str>, CustomHashError> {
        if self.map.contains_key(key) {
            self.str(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn base64(&self, key: &str) -> Result<Vec<u8>, CustomHashError> {
        b64_decode_node(self.str(key)?).ok_or_else(|| {
            err(
                "INVALID_FORMAT",
                self.at(key),
                "Object didn't pass validation for format base64",
            )
        })
    }

    fn hex(&self, key: &str, len: usize) -> Result<Vec<u8>, CustomHashError> {
        hex_field(self.str(key)?, len, &self.at(key))
    }

    /// An integer in `min..=max` (absent: `default`, if any).
    fn int(
        &self,
        key: &str,
        min: u64,
        max: u64,
        default: Option<u64>,
    ) -> Result<u64, CustomHashError> {
        let v = match (self.map.get(key), default) {
            (None, Some(d)) => return Ok(d),
            (None, None) => self.get(key)?,
            (Some(v), _) => v,
        };
        let n = v.as_u64().ok_or_else(|| {
            err(
                "INVALID_TYPE",
                self.at(key),
                format!("Expected type integer but found type {}", type_name(v)),
            )
        })?;
        if n < min {
            return Err(err(
                "MINIMUM",
                self.at(key),
                format!("Value {n} is less than minimum {min}"),
            ));
        }
        if n > max {
            return Err(err(
                "MAXIMUM",
                self.at(key),
                format!("Value {n} is greater than maximum {max}"),
            ));
        }
        Ok(n)
    }
}

fn hex_field(s: &str, len: usize, path: &str) -> Result<Vec<u8>, CustomHashError> {
    if s.len() != len * 2 {
        return Err(err(
            "INVALID_FORMAT",
            path,
            format!(
                "Expected {} hex digits, found {} characters",
                len * 2,
                s.len()
            ),
        ));
    }
    hex::decode(s).map_err(|_| {
        err(
            "INVALID_FORMAT",
            path,
            "Object didn't pass validation for format hex",
        )
    })
}

/// Does this stored JSON object name one of Tern's algorithms?
pub(crate) fn claims(v: &Value) -> bool {
    v.get("algorithm")
        .and_then(Value::as_str)
        .is_some_and(|a| ALGORITHMS.contains(&a))
}

/// Parse and validate a `tern_password_hash` object.
pub(crate) fn parse(v: &Value) -> Result<Built, CustomHashError> {
    let root = Obj::new(v, ROOT.to_owned())?;
    let algorithm = root.str("algorithm")?;
    let allowed: &[&str] = match algorithm {
        "firebase-scrypt" | "discourse" => &["algorithm", "hash", "salt", "params"],
        "vbulletin" => &["algorithm", "hash", "salt"],
        "magento2" | "joomla" => &["algorithm", "hash"],
        "keycloak" => &["algorithm", "secretData", "credentialData"],
        "devise-bcrypt" | "smf" => &["algorithm", "hash", "params"],
        _ => {
            return Err(err(
                "ENUM_MISMATCH",
                root.at("algorithm"),
                format!(
                    "No enum match for: {algorithm:?} (Tern reads {})",
                    ALGORITHMS.join(", ")
                ),
            ));
        }
    };
    keys(root.map, ROOT, allowed)?;
    let verifier: Arc<dyn Verifier> = match algorithm {
        "firebase-scrypt" => firebase(&root)?,
        "magento2" => magento(&root)?,
        "joomla" => joomla(&root)?,
        "keycloak" => keycloak(&root)?,
        "devise-bcrypt" => devise(&root)?,
        "vbulletin" => vbulletin(&root)?,
        "smf" => smf(&root)?,
        _ => discourse(&root)?,
    };
    let storage = serde_json::to_string(v).unwrap_or_default();
    Ok((verifier, storage))
}

fn params<'a>(root: &Obj<'a>, allowed: &[&str]) -> Result<Obj<'a>, CustomHashError> {
    let p = Obj::new(root.get("params")?, root.at("params"))?;
    keys(p.map, &p.path, allowed)?;
    Ok(p)
}

// ---------------------------------------------------------------- Firebase

#[derive(Debug)]
struct Firebase {
    salt: Vec<u8>,
    signer_key: Vec<u8>,
    log_n: u8,
    r: u32,
    expected: Vec<u8>,
}

fn firebase(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let p = params(
        root,
        &["signer_key", "salt_separator", "rounds", "mem_cost"],
    )?;
    let expected = root.base64("hash")?;
    let mut salt = root.base64("salt")?;
    let signer_key = p.base64("signer_key")?;
    salt.extend(p.base64("salt_separator")?);
    let r = p.int("rounds", 1, 8, None)?;
    let log_n = p.int("mem_cost", 1, 14, None)?;
    if signer_key.is_empty() || expected.len() != signer_key.len() {
        return Err(err(
            "INVALID_FORMAT",
            root.at("hash"),
            format!(
                "Decoded hash is {} bytes but the signer key is {} (the hash is the encrypted signer key)",
                expected.len(),
                signer_key.len()
            ),
        ));
    }
    Ok(Arc::new(Firebase {
        salt,
        signer_key,
        log_n: u8::try_from(log_n).unwrap_or(14),
        r: u32::try_from(r).unwrap_or(8),
        expected,
    }))
}

impl Verifier for Firebase {
    fn scheme(&self) -> Scheme {
        Scheme::FirebaseScrypt
    }
    fn describe(&self) -> String {
        format!(
            "Firebase modified scrypt: N=2^{} (mem_cost), r={} (rounds), p=1, {}-byte salt with separator, AES-256-CTR of a {}-byte signer key",
            self.log_n,
            self.r,
            self.salt.len(),
            self.signer_key.len()
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        let Ok(params) = scrypt::Params::new(self.log_n, self.r, 1) else {
            return false;
        };
        let mut key = [0u8; 32];
        if scrypt::scrypt(password, &self.salt, &params, &mut key).is_err() {
            return false;
        }
        let cipher = aes::Aes256::new(&key.into());
        let mut out = Vec::with_capacity(self.signer_key.len());
        for (i, chunk) in self.signer_key.chunks(16).enumerate() {
            // CTR with a zero IV: the counter block is the big-endian index.
            let mut block = (i as u128).to_be_bytes().into();
            cipher.encrypt_block(&mut block);
            out.extend(chunk.iter().zip(block.iter()).map(|(a, b)| a ^ b));
        }
        ct_eq(&out, &self.expected)
    }
    fn work(&self) -> Work {
        Work::Scrypt {
            log_n: self.log_n,
            r: self.r,
            p: 1,
        }
    }
}

// ------------------------------------------------- salted digest families

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Joomla,
    VBulletin,
    Smf,
}

#[derive(Debug)]
struct SaltedHex {
    family: Family,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

fn joomla(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let value = root.str("hash")?;
    let Some((hash, salt)) = value.split_once(':') else {
        return Err(err(
            "INVALID_FORMAT",
            root.at("hash"),
            "Expected hash:salt (32 hex digits, a colon, the salt)",
        ));
    };
    Ok(Arc::new(SaltedHex {
        family: Family::Joomla,
        salt: salt.as_bytes().to_vec(),
        expected: hex_field(hash, 16, &root.at("hash"))?,
    }))
}

fn vbulletin(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    Ok(Arc::new(SaltedHex {
        family: Family::VBulletin,
        salt: root.str("salt")?.as_bytes().to_vec(),
        expected: root.hex("hash", 16)?,
    }))
}

fn smf(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let p = params(root, &["username"])?;
    let hash = root.str("hash")?;
    if hash.starts_with("$2") {
        // SMF 2.1: password_hash(strtolower(member_name) . password, PASSWORD_BCRYPT).
        let inner = BcryptHash::parse(hash).map_err(|e| {
            err(
                "INVALID_FORMAT",
                root.at("hash"),
                format!("Object didn't pass validation: {e}"),
            )
        })?;
        return Ok(Arc::new(Named {
            scheme: Scheme::SmfBcrypt,
            label: "SMF 2.1 bcrypt of the lower-case username + password",
            prefix: p.str("username")?.to_ascii_lowercase().into_bytes(),
            pepper: Vec::new(),
            inner: Arc::new(inner),
        }));
    }
    Ok(Arc::new(SaltedHex {
        family: Family::Smf,
        salt: p.str("username")?.to_ascii_lowercase().into_bytes(),
        expected: root.hex("hash", 20)?,
    }))
}

impl Verifier for SaltedHex {
    fn scheme(&self) -> Scheme {
        match self.family {
            Family::Joomla => Scheme::Joomla,
            Family::VBulletin => Scheme::VBulletin,
            Family::Smf => Scheme::Smf,
        }
    }
    fn describe(&self) -> String {
        match self.family {
            Family::Joomla => format!(
                "Joomla 1.5–2.5: MD5(password + salt), {}-character salt",
                self.salt.len()
            ),
            Family::VBulletin => format!(
                "vBulletin: MD5(hex MD5(password) + salt), {}-character salt",
                self.salt.len()
            ),
            Family::Smf => "SMF: SHA-1(lower-case username + password)".into(),
        }
    }
    fn verify(&self, password: &[u8]) -> bool {
        let got = match self.family {
            Family::Joomla => Digest::Md5.hash(&[password, &self.salt]),
            Family::VBulletin => {
                let inner = hex::encode(Digest::Md5.hash(&[password]));
                Digest::Md5.hash(&[inner.as_bytes(), &self.salt])
            }
            Family::Smf => Digest::Sha1.hash(&[&self.salt, password]),
        };
        ct_eq(&got, &self.expected)
    }
}

// ---------------------------------------------------------------- Magento 2

#[derive(Debug)]
struct Magento {
    versions: Vec<u8>,
    salt: String,
    expected: String,
}

/// libsodium's `crypto_pwhash` interactive limits, as Magento uses them.
const MAGENTO_ARGON2: (u32, u32, u32) = (65_536, 2, 1);

fn magento(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let path = root.at("hash");
    let value = root.str("hash")?;
    let mut parts = value.split(':');
    let (Some(hash), Some(salt)) = (parts.next(), parts.next()) else {
        return Err(err(
            "INVALID_FORMAT",
            &path,
            "Expected hash:salt:version (Magento 2's customer_entity.password_hash)",
        ));
    };
    let mut versions = Vec::new();
    for v in parts {
        match v {
            "0" | "1" | "2" | "3" => versions.push(v.as_bytes()[0] - b'0'),
            other => {
                return Err(err(
                    "INVALID_FORMAT",
                    &path,
                    format!(
                        "Unknown Magento hash version {other:?} (0 md5, 1 sha256, 2/3 argon2id13)"
                    ),
                ));
            }
        }
    }
    if versions.is_empty() {
        versions.push(1);
    }
    let last = versions.last().copied().unwrap_or(1);
    let want_len = if last == 0 { 32 } else { 64 };
    if hash.len() != want_len || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(
            "INVALID_FORMAT",
            &path,
            format!("Expected {want_len} hex digits before the salt"),
        ));
    }
    if versions.iter().any(|&v| v >= 2) && salt.len() < 16 {
        return Err(err(
            "INVALID_FORMAT",
            &path,
            "Argon2 versions need a salt of at least 16 characters",
        ));
    }
    Ok(Arc::new(Magento {
        versions,
        salt: salt.to_owned(),
        expected: hash.to_ascii_lowercase(),
    }))
}

impl Verifier for Magento {
    fn scheme(&self) -> Scheme {
        Scheme::Magento2
    }
    fn describe(&self) -> String {
        let names: Vec<&str> = self
            .versions
            .iter()
            .map(|v| match v {
                0 => "md5",
                1 => "sha256",
                _ => "argon2id13 (t=2, 64 MiB)",
            })
            .collect();
        format!(
            "Magento 2 hash:salt:version, {} of salt + password, {}-character salt",
            names.join(" then "),
            self.salt.len()
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        let mut data = password.to_vec();
        for &v in &self.versions {
            data = match v {
                0 => hex::encode(Digest::Md5.hash(&[self.salt.as_bytes(), &data])).into_bytes(),
                1 => hex::encode(Digest::Sha256.hash(&[self.salt.as_bytes(), &data])).into_bytes(),
                _ => {
                    let (m, t, p) = MAGENTO_ARGON2;
                    let Ok(params) = argon2::Params::new(m, t, p, Some(32)) else {
                        return false;
                    };
                    let engine = argon2::Argon2::new(
                        argon2::Algorithm::Argon2id,
                        argon2::Version::V0x13,
                        params,
                    );
                    let mut out = [0u8; 32];
                    let salt = &self.salt.as_bytes()[..16];
                    if crate::argon2_memory::hash_into(&engine, &data, salt, &mut out).is_err() {
                        return false;
                    }
                    hex::encode(out).into_bytes()
                }
            };
        }
        ct_eq(&data, self.expected.as_bytes())
    }
    fn work(&self) -> Work {
        if self.versions.iter().any(|&v| v >= 2) {
            Work::Argon2 {
                m: MAGENTO_ARGON2.0,
                t: MAGENTO_ARGON2.1,
            }
        } else {
            Work::Fixed
        }
    }
}

// ------------------------------------------------------ renamed KDF wrappers

/// A KDF verifier under a platform's scheme name.
#[derive(Debug)]
struct Named {
    scheme: Scheme,
    label: &'static str,
    /// Put before the password (SMF 2.1's lower-case username).
    prefix: Vec<u8>,
    /// Put after the password (Devise's pepper).
    pepper: Vec<u8>,
    inner: Arc<dyn Verifier>,
}

impl Verifier for Named {
    fn scheme(&self) -> Scheme {
        self.scheme
    }
    fn describe(&self) -> String {
        format!("{}: {}", self.label, self.inner.describe())
    }
    fn verify(&self, password: &[u8]) -> bool {
        if self.pepper.is_empty() && self.prefix.is_empty() {
            self.inner.verify(password)
        } else {
            self.inner
                .verify(&[&self.prefix, password, &self.pepper].concat())
        }
    }
    fn work(&self) -> Work {
        self.inner.work()
    }
    fn fed_len(&self, password: &str) -> usize {
        self.prefix.len() + password.len() + self.pepper.len()
    }
}

fn devise(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let p = params(root, &["pepper"])?;
    let pepper = p.str("pepper")?.as_bytes().to_vec();
    let inner = BcryptHash::parse(root.str("hash")?).map_err(|e| {
        err(
            "INVALID_FORMAT",
            root.at("hash"),
            format!("Object didn't pass validation: {e}"),
        )
    })?;
    Ok(Arc::new(Named {
        scheme: Scheme::DeviseBcrypt,
        label: "Devise bcrypt with a pepper appended to the password",
        prefix: Vec::new(),
        pepper,
        inner: Arc::new(inner),
    }))
}

fn discourse(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let iterations = match root.map.get("params") {
        None => 64_000,
        Some(_) => params(root, &["iterations"])?.int(
            "iterations",
            1,
            u64::from(u32::MAX),
            Some(64_000),
        )?,
    };
    let hash = root.hex("hash", 32)?;
    let salt = root.str("salt")?.as_bytes().to_vec();
    let inner = Pbkdf2Hash::new(
        Scheme::DiscoursePbkdf2Sha256,
        Digest::Sha256,
        u32::try_from(iterations).unwrap_or(u32::MAX),
        salt,
        hash,
    )
    .map_err(|e| err("INVALID_FORMAT", root.at("hash"), e.to_string()))?;
    Ok(Arc::new(Named {
        scheme: Scheme::DiscoursePbkdf2Sha256,
        label: "Discourse (hex hash, salt string as given)",
        prefix: Vec::new(),
        pepper: Vec::new(),
        inner: Arc::new(inner),
    }))
}

// ---------------------------------------------------------------- Keycloak

/// A Keycloak field: its export carries a JSON string; an object is taken too.
fn json_field<'a>(root: &Obj<'a>, key: &str) -> Result<Value, CustomHashError> {
    match root.get(key)? {
        Value::String(s) => serde_json::from_str(s).map_err(|e| {
            err(
                "INVALID_FORMAT",
                root.at(key),
                format!("Not a JSON document: {e}"),
            )
        }),
        v @ Value::Object(_) => Ok(v.clone()),
        other => Err(err(
            "INVALID_TYPE",
            root.at(key),
            format!(
                "Expected type string (JSON) or object but found type {}",
                type_name(other)
            ),
        )),
    }
}

/// Keycloak's `additionalParameters` values are lists of strings.
fn keycloak_param(extra: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    let v = extra?.get(key)?;
    let v = v.as_array().and_then(|a| a.first()).unwrap_or(v);
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn keycloak(root: &Obj<'_>) -> Result<Arc<dyn Verifier>, CustomHashError> {
    let secret_v = json_field(root, "secretData")?;
    let cred_v = json_field(root, "credentialData")?;
    let secret = Obj::new(&secret_v, root.at("secretData"))?;
    let cred = Obj::new(&cred_v, root.at("credentialData"))?;
    let hash = secret.base64("value")?;
    let salt = match secret.opt_str("salt")? {
        Some(_) => secret.base64("salt")?,
        None => Vec::new(),
    };
    let algorithm = cred.str("algorithm")?;
    let iterations = cred.int("hashIterations", 1, u64::from(u32::MAX), None)?;
    let iterations = u32::try_from(iterations).unwrap_or(u32::MAX);
    let extra = cred
        .map
        .get("additionalParameters")
        .and_then(Value::as_object);
    let bad = |e: crate::HashError| err("INVALID_FORMAT", root.at("secretData"), e.to_string());
    let (scheme, inner): (Scheme, Arc<dyn Verifier>) = match algorithm {
        "pbkdf2" | "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512" => {
            let digest = match algorithm {
                "pbkdf2-sha256" => Digest::Sha256,
                "pbkdf2-sha512" => Digest::Sha512,
                _ => Digest::Sha1,
            };
            let scheme = Scheme::KeycloakPbkdf2(digest);
            let inner = Pbkdf2Hash::new(scheme, digest, iterations, salt, hash).map_err(bad)?;
            (scheme, Arc::new(inner))
        }
        "argon2" => {
            let variant = match keycloak_param(extra, "type").as_deref() {
                None | Some("id") => Argon2Variant::Id,
                Some("i") => Argon2Variant::I,
                Some("d") => Argon2Variant::D,
                Some(other) => {
                    return Err(err(
                        "ENUM_MISMATCH",
                        cred.at("additionalParameters.type"),
                        format!("Unknown argon2 type {other:?} (id, i, d)"),
                    ));
                }
            };
            let version = match keycloak_param(extra, "version").as_deref() {
                None | Some("1.3") => 0x13,
                Some("1.0") => 0x10,
                Some(other) => {
                    return Err(err(
                        "ENUM_MISMATCH",
                        cred.at("additionalParameters.version"),
                        format!("Unknown argon2 version {other:?} (1.0, 1.3)"),
                    ));
                }
            };
            let num = |key: &str, default: u32| -> Result<u32, CustomHashError> {
                match keycloak_param(extra, key) {
                    None => Ok(default),
                    Some(s) => s.parse().map_err(|_| {
                        err(
                            "INVALID_FORMAT",
                            cred.at(&format!("additionalParameters.{key}")),
                            format!("{s:?} is not a number"),
                        )
                    }),
                }
            };
            // Keycloak's defaults: 7168 KiB, parallelism 1.
            let m = num("memory", 7168)?;
            let p = num("parallelism", 1)?;
            let inner =
                Argon2Hash::new(variant, version, (m, iterations, p), salt, hash).map_err(bad)?;
            (Scheme::KeycloakArgon2, Arc::new(inner))
        }
        other => {
            return Err(err(
                "ENUM_MISMATCH",
                cred.at("algorithm"),
                format!(
                    "Unknown Keycloak algorithm {other:?} (pbkdf2, pbkdf2-sha256, pbkdf2-sha512, argon2)"
                ),
            ));
        }
    };
    Ok(Arc::new(Named {
        scheme,
        label: "Keycloak credential",
        prefix: Vec::new(),
        pepper: Vec::new(),
        inner,
    }))
}
