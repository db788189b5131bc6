#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Invalid Auth0 `custom_password_hash` objects → expected error code and path.

use serde_json::{Value, json};
use tern_hash::StoredHash;

const BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";
const ARGON2: &str = "$argon2id$v=19$m=65536,t=2,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos";
const MD5_HEX: &str = "5f4dcc3b5aa765d61d8327deb882cf99";
const SHA1_B64: &str = "cg7f42jH39/2EaAU4wNd4s2lKIk=";

fn cases() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let root = "custom_password_hash";
    vec![
        // --- structure ---
        ("not an object", json!("md5"), "INVALID_TYPE", root),
        ("array", json!([]), "INVALID_TYPE", root),
        (
            "unknown top-level key",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"rounds":3}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            root,
        ),
        (
            "missing algorithm",
            json!({"hash":{"value":MD5_HEX,"encoding":"hex"}}),
            "OBJECT_REQUIRED",
            root,
        ),
        (
            "missing hash",
            json!({"algorithm":"md5"}),
            "OBJECT_REQUIRED",
            root,
        ),
        (
            "algorithm not a string",
            json!({"algorithm":5,"hash":{"value":MD5_HEX,"encoding":"hex"}}),
            "INVALID_TYPE",
            "custom_password_hash.algorithm",
        ),
        (
            "unknown algorithm",
            json!({"algorithm":"md2","hash":{"value":MD5_HEX,"encoding":"hex"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.algorithm",
        ),
        (
            "algorithm case",
            json!({"algorithm":"MD5","hash":{"value":MD5_HEX,"encoding":"hex"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.algorithm",
        ),
        (
            "hash as string (old schema)",
            json!({"algorithm":"md5","hash":MD5_HEX}),
            "INVALID_TYPE",
            "custom_password_hash.hash",
        ),
        (
            "hash without value",
            json!({"algorithm":"md5","hash":{"encoding":"hex"}}),
            "OBJECT_REQUIRED",
            "custom_password_hash.hash",
        ),
        (
            "hash.value not a string",
            json!({"algorithm":"md5","hash":{"value":123,"encoding":"hex"}}),
            "INVALID_TYPE",
            "custom_password_hash.hash.value",
        ),
        (
            "unknown hash key",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex","salt":"x"}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            "custom_password_hash.hash",
        ),
        (
            "unknown hash.encoding",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"base32"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "hash.encoding not a string",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":true}}),
            "INVALID_TYPE",
            "custom_password_hash.hash.encoding",
        ),
        (
            "unknown digest",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha3","key":{"value":"k"}}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.digest",
        ),
        (
            "key not an object",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha1","key":"736868"}}),
            "INVALID_TYPE",
            "custom_password_hash.hash.key",
        ),
        (
            "key without value",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha1","key":{"encoding":"hex"}}}),
            "OBJECT_REQUIRED",
            "custom_password_hash.hash.key",
        ),
        (
            "unknown key.encoding",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha1","key":{"value":"k","encoding":"latin1"}}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.key.encoding",
        ),
        (
            "unknown key key",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha1","key":{"value":"k","position":"prefix"}}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            "custom_password_hash.hash.key",
        ),
        (
            "bad hex key",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha1","key":{"value":"73686","encoding":"hex"}}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.key.value",
        ),
        (
            "salt not an object",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"salt":"abc"}),
            "INVALID_TYPE",
            "custom_password_hash.salt",
        ),
        (
            "salt without value",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"salt":{"position":"prefix"}}),
            "OBJECT_REQUIRED",
            "custom_password_hash.salt",
        ),
        (
            "unknown salt.position",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"salt":{"value":"abc","position":"middle"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.salt.position",
        ),
        (
            "unknown salt.encoding",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"salt":{"value":"abc","encoding":"ascii"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.salt.encoding",
        ),
        (
            "unknown salt key",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"salt":{"value":"abc","length":3}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            "custom_password_hash.salt",
        ),
        (
            "bad base64 salt",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"salt":{"value":"a","encoding":"base64"}}),
            "INVALID_FORMAT",
            "custom_password_hash.salt.value",
        ),
        (
            "password not an object",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"password":"utf8"}),
            "INVALID_TYPE",
            "custom_password_hash.password",
        ),
        (
            "unknown password.encoding",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"password":{"encoding":"utf16"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.password.encoding",
        ),
        (
            "unknown password key",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"password":{"encoding":"utf8","trim":true}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            "custom_password_hash.password",
        ),
        (
            "keylen not an integer",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":"16"}),
            "INVALID_TYPE",
            "custom_password_hash.keylen",
        ),
        (
            "cost fractional",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"cost":1024.5}),
            "INVALID_TYPE",
            "custom_password_hash.cost",
        ),
        (
            "cost type checked for md5 too",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex"},"cost":"high"}),
            "INVALID_TYPE",
            "custom_password_hash.cost",
        ),
        // --- per-algorithm rules ---
        (
            "md5 needs an encoding",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX}}),
            "OBJECT_REQUIRED",
            "custom_password_hash.hash",
        ),
        (
            "md5 utf8 encoding",
            json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"utf8"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "md5 bad hex",
            json!({"algorithm":"md5","hash":{"value":"5f4dcc3b5aa765d61d8327deb882cf9g","encoding":"hex"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "md5 wrong length",
            json!({"algorithm":"md5","hash":{"value":"5f4dcc3b5aa765d61d8327deb882cf","encoding":"hex"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "sha256 given an md5",
            json!({"algorithm":"sha256","hash":{"value":MD5_HEX,"encoding":"hex"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "sha1 bad base64",
            json!({"algorithm":"sha1","hash":{"value":"!!!!","encoding":"base64"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "hmac without digest",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","key":{"value":"shh"}}}),
            "OBJECT_REQUIRED",
            "custom_password_hash.hash",
        ),
        (
            "hmac without key",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha1"}}),
            "OBJECT_REQUIRED",
            "custom_password_hash.hash",
        ),
        (
            "hmac utf8 encoding",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"utf8","digest":"sha1","key":{"value":"shh"}}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "hmac wrong digest length",
            json!({"algorithm":"hmac","hash":{"value":SHA1_B64,"encoding":"base64","digest":"sha256","key":{"value":"shh"}}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "argon2 hex encoding",
            json!({"algorithm":"argon2","hash":{"value":ARGON2,"encoding":"hex"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "argon2 with salt",
            json!({"algorithm":"argon2","hash":{"value":ARGON2},"salt":{"value":"abc"}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            root,
        ),
        (
            "argon2 not PHC",
            json!({"algorithm":"argon2","hash":{"value":BCRYPT}}),
            "PATTERN",
            "custom_password_hash.hash.value",
        ),
        (
            "argon2 bad params",
            json!({"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=65536,t=0,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "bcrypt base64 encoding",
            json!({"algorithm":"bcrypt","hash":{"value":BCRYPT,"encoding":"base64"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "bcrypt $2x$",
            json!({"algorithm":"bcrypt","hash":{"value":"$2x$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}}),
            "PATTERN",
            "custom_password_hash.hash.value",
        ),
        (
            "bcrypt $2$",
            json!({"algorithm":"bcrypt","hash":{"value":"$2$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}}),
            "PATTERN",
            "custom_password_hash.hash.value",
        ),
        (
            "bcrypt $sha1$",
            json!({"algorithm":"bcrypt","hash":{"value":"$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq"}}),
            "PATTERN",
            "custom_password_hash.hash.value",
        ),
        (
            "bcrypt truncated",
            json!({"algorithm":"bcrypt","hash":{"value":"$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "ldap with salt",
            json!({"algorithm":"ldap","hash":{"value":"{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA="},"salt":{"value":"x"}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            root,
        ),
        (
            "ldap {CRYPT}",
            json!({"algorithm":"ldap","hash":{"value":"{CRYPT}$1$salt$abcdefghijklmnopqrstuv"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "ldap unknown scheme",
            json!({"algorithm":"ldap","hash":{"value":"{PBKDF2}abc"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "ldap no scheme",
            json!({"algorithm":"ldap","hash":{"value":"W6ph5Mm5Pz8GgiULbPgzG37mj9g="}}),
            "PATTERN",
            "custom_password_hash.hash.value",
        ),
        (
            "ldap hex encoding",
            json!({"algorithm":"ldap","hash":{"value":"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=","encoding":"hex"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "ldap wrong digest length",
            json!({"algorithm":"ldap","hash":{"value":"{SHA256}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "pbkdf2 with salt",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1,l=4$AAAA$AAAAAA"},"salt":{"value":"x"}}),
            "OBJECT_ADDITIONAL_PROPERTIES",
            root,
        ),
        (
            "pbkdf2 base64 encoding",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1,l=4$AAAA$AAAAAA","encoding":"base64"}}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
        (
            "pbkdf2 not PHC",
            json!({"algorithm":"pbkdf2","hash":{"value":"pbkdf2_sha256$1000$salt$AAAA"}}),
            "PATTERN",
            "custom_password_hash.hash.value",
        ),
        (
            "pbkdf2 unknown digest",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha3$i=1,l=4$AAAA$AAAAAA"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "pbkdf2 mdc2",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-RSA-MDC2$i=1,l=4$AAAA$AAAAAA"}}),
            "UNSUPPORTED_DIGEST",
            "custom_password_hash.hash.value",
        ),
        (
            "pbkdf2 l mismatch",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1,l=8$AAAA$AAAAAA"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "pbkdf2 default l=64 mismatch",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1$AAAA$AAAAAA"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "pbkdf2 i=0",
            json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=0,l=4$AAAA$AAAAAA"}}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "scrypt without keylen",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"}}),
            "OBJECT_REQUIRED",
            root,
        ),
        (
            "scrypt keylen 0",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":0}),
            "MINIMUM",
            "custom_password_hash.keylen",
        ),
        (
            "scrypt cost 1",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"cost":1}),
            "MINIMUM",
            "custom_password_hash.cost",
        ),
        (
            "scrypt cost not power of two",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"cost":1000}),
            "INVALID_FORMAT",
            "custom_password_hash.cost",
        ),
        (
            "scrypt blockSize 0",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"blockSize":0}),
            "MINIMUM",
            "custom_password_hash.blockSize",
        ),
        (
            "scrypt parallelization -1",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"parallelization":-1}),
            "MINIMUM",
            "custom_password_hash.parallelization",
        ),
        (
            "scrypt memory beyond any machine",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"cost":4611686018427387904_u64,"blockSize":1024}),
            "MAXIMUM",
            "custom_password_hash.cost",
        ),
        (
            "scrypt huge numbers",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"cost":4611686018427387904_u64,"blockSize":9223372036854775807_i64}),
            "MAXIMUM",
            "custom_password_hash.cost",
        ),
        (
            "scrypt huge float cost",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":16,"cost":1e29,"blockSize":1e29}),
            "INVALID_FORMAT",
            "custom_password_hash.cost",
        ),
        (
            "scrypt keylen mismatch",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"hex"},"keylen":32}),
            "INVALID_FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            "scrypt utf8 encoding",
            json!({"algorithm":"scrypt","hash":{"value":MD5_HEX,"encoding":"utf8"},"keylen":16}),
            "ENUM_MISMATCH",
            "custom_password_hash.hash.encoding",
        ),
    ]
}

#[test]
fn invalid_objects_are_rejected_with_code_and_path() {
    let mut failures = Vec::new();
    for (name, obj, code, path) in cases() {
        match StoredHash::from_custom(&obj) {
            Ok(h) => failures.push(format!("{name}: accepted as {}", h.scheme().name())),
            Err(e) => {
                if e.code != code || e.path != path {
                    failures.push(format!(
                        "{name}: got {} at {} ({}), expected {code} at {path}",
                        e.code, e.path, e.message
                    ));
                }
                if !e
                    .to_string()
                    .starts_with(&format!("Error in {} property - ", e.path))
                {
                    failures.push(format!("{name}: display is {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ignored_fields_and_defaults_are_accepted() {
    // scrypt-only and hmac-only keys are ignored by other algorithms, as Auth0 does.
    let obj = json!({"algorithm":"md5","hash":{"value":MD5_HEX,"encoding":"hex","digest":"sha1","key":{"value":"k"}},"keylen":16,"cost":3});
    let h = StoredHash::from_custom(&obj).expect("accepted");
    assert!(
        h.verify("password", &tern_hash::CostLimits::default())
            .unwrap()
    );
    // Upper-case hex, URL-safe base64 without padding, whitespace in base64.
    let h = StoredHash::from_custom(
        &json!({"algorithm":"md5","hash":{"value":"5F4DCC3B5AA765D61D8327DEB882CF99","encoding":"hex"}}),
    )
    .expect("upper-case hex");
    assert!(
        h.verify("password", &tern_hash::CostLimits::default())
            .unwrap()
    );
    let h = StoredHash::from_custom(&json!({"algorithm":"sha1","hash":{"value":"W6ph5Mm5Pz8GgiULbPgzG37mj9g","encoding":"base64"}}))
        .expect("unpadded base64");
    assert!(
        h.verify("password", &tern_hash::CostLimits::default())
            .unwrap()
    );
    let h = StoredHash::from_custom(&json!({"algorithm":"sha1","hash":{"value":"W6ph5Mm5Pz8G giULbPgzG37mj9g=","encoding":"base64"}}))
        .expect("base64 with a space, as Node ignores it");
    assert!(
        h.verify("password", &tern_hash::CostLimits::default())
            .unwrap()
    );
}

#[test]
fn storage_form_of_objects() {
    let obj = json!({"algorithm":"sha256","hash":{"value":"d24e794fce503c3ddb1cd1ba1dd5d9b250cf9917336a0316fefd87fecf79200f","encoding":"hex"},"salt":{"value":"abc123"}});
    let h = StoredHash::from_custom(&obj).expect("doc example");
    assert_eq!(h.scheme().name(), "auth0-custom-sha256");
    let s = h.to_storage();
    assert!(s.starts_with('{'), "{s}");
    assert!(
        s.contains("\"position\":\"prefix\""),
        "defaults filled in: {s}"
    );
    let again = StoredHash::parse(&s).expect("storage form parses");
    assert_eq!(again.to_storage(), s);
    // A broken stored object reports the custom error.
    let err = StoredHash::parse("{\"algorithm\":\"md5\"}").expect_err("invalid");
    assert!(
        matches!(err, tern_hash::HashError::Custom(ref c) if c.code == "OBJECT_REQUIRED"),
        "{err}"
    );
    // Plain-carrier objects normalise to their string.
    let h = StoredHash::from_custom(&json!({"algorithm":"bcrypt","hash":{"value":BCRYPT}}))
        .expect("bcrypt");
    assert_eq!(h.to_storage(), BCRYPT);
    let h = StoredHash::from_custom(
        &json!({"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-RSA-SHA256$i=1,l=4$AAAA$AAAAAA"}}),
    )
    .expect("pbkdf2");
    assert_eq!(h.to_storage(), "$pbkdf2-sha256$i=1,l=4$AAAA$AAAAAA");
}
