//! Auth0 `custom_password_hash` objects (bulk-import schema, see
//! `spec/auth0-reference.md` §2.2): validation with Auth0's error codes and
//! paths, and verification.
//!
//! Validation follows the published JSON schema plus the per-algorithm rules
//! of the documentation, and applies `additionalProperties: false` at every
//! level (Tern is stricter than the published schema there: an unknown key
//! is a typo that would otherwise be silently ignored). Codes:
//!
//! | situation | code | path |
//! |---|---|---|
//! | wrong JSON type | `INVALID_TYPE` | the value |
//! | value outside an enum, or an encoding the algorithm forbids | `ENUM_MISMATCH` | the value |
//! | missing required key (including `hash.digest`/`hash.key` for hmac, `keylen` for scrypt, `hash.encoding` where no default applies) | `OBJECT_REQUIRED` | the object |
//! | unknown key, or `salt` where the algorithm forbids it | `OBJECT_ADDITIONAL_PROPERTIES` | the object |
//! | `hash.value` of the wrong family (bcrypt prefix, PHC id, LDAP scheme) | `PATTERN` | `hash.value` |
//! | undecodable hex/base64, malformed hash string, length mismatch, `cost` not a power of two | `INVALID_FORMAT` | the value |
//! | integer below its minimum | `MINIMUM` | the value |
//! | scrypt memory beyond any machine (128·cost·blockSize over 2^64 bytes) | `MAXIMUM` | `cost` |
//! | pbkdf2 digest MDC-2 (no maintained implementation) | `UNSUPPORTED_DIGEST` | `hash.value` |
//!
//! Keys the documentation says are "only used" by one algorithm (`keylen`,
//! `cost`, `blockSize`, `parallelization` outside scrypt; `hash.digest` and
//! `hash.key` outside hmac) are type-checked and otherwise ignored, as Auth0
//! ignores them, so that files Auth0 accepts are accepted.
//!
//! Objects that merely carry a self-describing string (argon2, bcrypt without
//! a salt, pbkdf2, ldap) with the default `utf8` password encoding are
//! normalised to that string: their scheme is the string's own (e.g.
//! `bcrypt`) and `to_storage` gives the string. Everything else is kept as
//! an object: scheme `auth0-custom-<algorithm>`, storage form = the
//! normalised object as compact JSON (defaults filled in), which begins with
//! `{` and which `StoredHash::parse` reads back.

mod build;
mod schema;
mod verifier;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use self::schema::{decode, enum_value, err, object, opt_enum, opt_integer, required, string};
use crate::encoding::PasswordEncoding;
use crate::{CustomHashError, HashError, Verifier};

const ROOT: &str = "custom_password_hash";
const ALGORITHMS: &[&str] = &[
    "argon2", "bcrypt", "hmac", "ldap", "md4", "md5", "sha1", "sha256", "sha512", "pbkdf2",
    "scrypt",
];
const ENCODINGS: &[&str] = &["base64", "hex", "utf8"];
const DIGESTS: &[&str] = &[
    "md4",
    "md5",
    "ripemd160",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "whirlpool",
];
const POSITIONS: &[&str] = &["prefix", "suffix"];
const PASSWORD_ENCODINGS: &[&str] = &["ascii", "utf8", "utf16le", "ucs2", "latin1", "binary"];

/// scrypt defaults (Auth0): cost, blockSize, parallelization.
const SCRYPT_DEFAULTS: (i128, i128, i128) = (16384, 8, 1);

/// A string field with its encoding and decoded bytes (salt, key).
#[derive(Debug)]
struct Encoded<'a> {
    value: &'a str,
    encoding: &'a str,
    bytes: Vec<u8>,
}

/// A structurally valid object, with defaults applied and the
/// per-algorithm encoding and salt rules checked.
#[derive(Debug)]
struct Fields<'a> {
    algorithm: &'a str,
    value: &'a str,
    /// `hash.encoding`, defaulted to `utf8` where the algorithm allows it.
    encoding: &'a str,
    digest: Option<&'a str>,
    key: Option<Encoded<'a>>,
    salt: Option<Encoded<'a>>,
    /// `salt.position == "suffix"`.
    salt_suffix: bool,
    password_encoding: PasswordEncoding,
    keylen: Option<i128>,
    cost: Option<i128>,
    block_size: Option<i128>,
    parallelization: Option<i128>,
}

impl Fields<'_> {
    /// Is this object only a carrier for a self-describing string, so that it
    /// can be stored as that string?
    fn is_plain(&self) -> bool {
        self.salt.is_none() && self.password_encoding == PasswordEncoding::Utf8
    }
}

/// Parse and validate a custom object. Returns the verifier and its storage
/// string.
pub(crate) fn parse(obj: &Value) -> Result<(Arc<dyn Verifier>, String), CustomHashError> {
    build::build(&read(obj)?)
}

/// Parse the storage form (a JSON object string).
pub(crate) fn parse_storage(s: &str) -> Result<(Arc<dyn Verifier>, String), HashError> {
    let v: Value = serde_json::from_str(s).map_err(|e| {
        HashError::Custom(err(
            "INVALID_TYPE",
            ROOT,
            format!("stored custom_password_hash is not valid JSON: {e}"),
        ))
    })?;
    parse(&v).map_err(HashError::Custom)
}

/// A JSON object.
type Object = Map<String, Value>;

/// Read an optional `{value, encoding}` (+ `position` for salts) object;
/// returns it decoded, with the raw object for further keys.
fn encoded<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
) -> Result<Option<(Encoded<'a>, &'a Object)>, CustomHashError> {
    let Some(v) = map.get(key) else {
        return Ok(None);
    };
    let path = format!("{path}.{key}");
    let obj = object(v, &path, allowed)?;
    let value = string(required(obj, "value", &path)?, &format!("{path}.value"))?;
    let encoding = opt_enum(obj, "encoding", &path, ENCODINGS)?.unwrap_or("utf8");
    let bytes = decode(value, encoding, &format!("{path}.value"))?;
    Ok(Some((
        Encoded {
            value,
            encoding,
            bytes,
        },
        obj,
    )))
}

/// Structure, types, enums, defaults, and the per-algorithm rules on
/// `hash.encoding` and `salt`.
fn read(obj: &Value) -> Result<Fields<'_>, CustomHashError> {
    let root = object(
        obj,
        ROOT,
        &[
            "algorithm",
            "hash",
            "salt",
            "password",
            "keylen",
            "cost",
            "blockSize",
            "parallelization",
        ],
    )?;
    let algorithm = enum_value(
        required(root, "algorithm", ROOT)?,
        &format!("{ROOT}.algorithm"),
        ALGORITHMS,
    )?;
    let hash_path = format!("{ROOT}.hash");
    let hash = object(
        required(root, "hash", ROOT)?,
        &hash_path,
        &["value", "encoding", "digest", "key"],
    )?;
    let value = string(
        required(hash, "value", &hash_path)?,
        &format!("{hash_path}.value"),
    )?;
    let hash_encoding = opt_enum(hash, "encoding", &hash_path, ENCODINGS)?;
    let digest = opt_enum(hash, "digest", &hash_path, DIGESTS)?;
    let key = encoded(hash, "key", &hash_path, &["value", "encoding"])?.map(|(k, _)| k);
    let (salt, salt_suffix) = match encoded(root, "salt", ROOT, &["value", "encoding", "position"])?
    {
        None => (None, false),
        Some((s, obj)) => {
            let position = opt_enum(obj, "position", &format!("{ROOT}.salt"), POSITIONS)?;
            (Some(s), position == Some("suffix"))
        }
    };
    let password_encoding = match root.get("password") {
        None => PasswordEncoding::Utf8,
        Some(p) => {
            let path = format!("{ROOT}.password");
            let p = object(p, &path, &["encoding"])?;
            opt_enum(p, "encoding", &path, PASSWORD_ENCODINGS)?
                .and_then(PasswordEncoding::from_name)
                .unwrap_or(PasswordEncoding::Utf8)
        }
    };
    let keylen = opt_integer(root, "keylen")?;
    let cost = opt_integer(root, "cost")?;
    let block_size = opt_integer(root, "blockSize")?;
    let parallelization = opt_integer(root, "parallelization")?;

    // Per-algorithm rules on hash.encoding and salt.
    let carrier = matches!(algorithm, "argon2" | "bcrypt" | "ldap" | "pbkdf2");
    let encoding = match (hash_encoding, carrier) {
        (None | Some("utf8"), true) => "utf8",
        (Some(e), false) if e != "utf8" => e,
        (None, false) => {
            return Err(err(
                "OBJECT_REQUIRED",
                &hash_path,
                format!(
                    "Missing required property: encoding (algorithm {algorithm} needs hex or base64)"
                ),
            ));
        }
        (Some(e), _) => {
            let allowed = if carrier { "utf8" } else { "hex or base64" };
            return Err(err(
                "ENUM_MISMATCH",
                format!("{hash_path}.encoding"),
                format!("No enum match for: \"{e}\" (algorithm {algorithm} requires {allowed})"),
            ));
        }
    };
    if salt.is_some() && matches!(algorithm, "argon2" | "ldap" | "pbkdf2") {
        return Err(err(
            "OBJECT_ADDITIONAL_PROPERTIES",
            ROOT,
            format!(
                "Additional properties not allowed: salt (algorithm {algorithm} carries its salt in hash.value)"
            ),
        ));
    }
    Ok(Fields {
        algorithm,
        value,
        encoding,
        digest,
        key,
        salt,
        salt_suffix,
        password_encoding,
        keylen,
        cost,
        block_size,
        parallelization,
    })
}

/// The normalised object as compact JSON (the storage form): keys in a fixed
/// order, defaults filled in, keys the algorithm ignores left out.
fn canonical_json(f: &Fields<'_>) -> String {
    let mut hash = Map::new();
    hash.insert("value".into(), json!(f.value));
    hash.insert("encoding".into(), json!(f.encoding));
    if f.algorithm == "hmac" {
        if let Some(d) = f.digest {
            hash.insert("digest".into(), json!(d));
        }
        if let Some(k) = &f.key {
            hash.insert(
                "key".into(),
                json!({"value": k.value, "encoding": k.encoding}),
            );
        }
    }
    let mut obj = Map::new();
    obj.insert("algorithm".into(), json!(f.algorithm));
    obj.insert("hash".into(), Value::Object(hash));
    if let Some(s) = &f.salt {
        let position = if f.salt_suffix { "suffix" } else { "prefix" };
        obj.insert(
            "salt".into(),
            json!({"value": s.value, "encoding": s.encoding, "position": position}),
        );
    }
    if f.password_encoding != PasswordEncoding::Utf8 {
        obj.insert(
            "password".into(),
            json!({"encoding": f.password_encoding.name()}),
        );
    }
    if f.algorithm == "scrypt" {
        let (cost, block_size, parallelization) = SCRYPT_DEFAULTS;
        // Validated to be positive and in range before storage is built.
        let n = |v: i128| json!(u64::try_from(v).unwrap_or(0));
        obj.insert("keylen".into(), n(f.keylen.unwrap_or(0)));
        obj.insert("cost".into(), n(f.cost.unwrap_or(cost)));
        obj.insert("blockSize".into(), n(f.block_size.unwrap_or(block_size)));
        obj.insert(
            "parallelization".into(),
            n(f.parallelization.unwrap_or(parallelization)),
        );
    }
    Value::Object(obj).to_string()
}
