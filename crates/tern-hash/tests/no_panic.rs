#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Property tests: the parsers never panic, whatever they are given.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tern_hash::StoredHash;

/// Strings that look like the supported formats, so that the parsers get
/// past their first checks.
fn hashlike() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just("$2b$10$"),
        Just("$2y$04$"),
        Just("$argon2id$v=19$m=1024,t=1,p=1$"),
        Just("$argon2i$"),
        Just("$scrypt$ln=4,r=8,p=1$"),
        Just("$pbkdf2-sha256$i=1,l=8$"),
        Just("$pbkdf2-sha256$1$"),
        Just("$pbkdf2$"),
        Just("$1$"),
        Just("$apr1$"),
        Just("$5$rounds=1000$"),
        Just("$6$"),
        Just("$P$B"),
        Just("$S$C"),
        Just("U$S$"),
        Just("pbkdf2_sha256$1$"),
        Just("bcrypt_sha256$$2b$04$"),
        Just("argon2$argon2id$"),
        Just("scrypt$2$"),
        Just("sha1$"),
        Just("{SSHA}"),
        Just("{SHA512}"),
        Just("AQAAAA"),
        Just("AA"),
        Just("{\"algorithm\":"),
        Just(""),
    ];
    (prefix, "[ -~éü€\\$=,./+]{0,90}").prop_map(|(p, s)| format!("{p}{s}"))
}

/// JSON values shaped like custom objects, with random leaves.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        "[ -~]{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("md5"),
            Just("hmac"),
            Just("scrypt"),
            Just("bcrypt"),
            Just("argon2"),
            Just("ldap"),
            Just("pbkdf2"),
            Just("hex"),
            Just("base64"),
            Just("utf8"),
            Just("prefix"),
            Just("suffix"),
            Just("ucs2"),
            Just("sha1"),
            Just("whirlpool"),
            Just("{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Just("$pbkdf2-md4$AAAA$AAAA"),
            Just("$2b$04$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn jsonish() -> impl Strategy<Value = Value> {
    let keys = prop_oneof![
        Just("algorithm"),
        Just("hash"),
        Just("value"),
        Just("encoding"),
        Just("digest"),
        Just("key"),
        Just("salt"),
        Just("position"),
        Just("password"),
        Just("keylen"),
        Just("cost"),
        Just("blockSize"),
        Just("parallelization"),
        Just("other"),
    ];
    leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kvs| {
                let mut m = Map::new();
                for (k, v) in kvs {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = StoredHash::parse(&s);
        let _ = StoredHash::from_import_password_hash(&s);
    }

    #[test]
    fn parse_hashlike_never_panics(s in hashlike()) {
        if let Ok(h) = StoredHash::parse(&s) {
            let _ = h.describe();
            prop_assert!(StoredHash::parse(&h.to_storage()).is_ok());
        }
    }

    #[test]
    fn from_custom_never_panics(v in jsonish()) {
        if let Ok(h) = StoredHash::from_custom(&v) {
            let _ = h.describe();
            prop_assert!(StoredHash::parse(&h.to_storage()).is_ok());
        }
    }

    #[test]
    fn from_custom_shaped_objects_never_panic(
        alg in leaf(), value in leaf(), enc in leaf(), salt in jsonish(), extra in jsonish()
    ) {
        let obj = json!({"algorithm": alg, "hash": {"value": value, "encoding": enc}, "salt": salt, "keylen": extra});
        let _ = StoredHash::from_custom(&obj);
        let obj = json!({"algorithm": alg, "hash": {"value": value, "encoding": enc}});
        let _ = StoredHash::from_custom(&obj);
    }
}
