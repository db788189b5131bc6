#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Legacy self-describing formats (issue 16) against vectors made by other
//! implementations (`fixtures/gen_formats.py`: libpass, pyca bcrypt,
//! argon2-cffi, hashlib/hmac): the right password verifies, a wrong one does
//! not, `identify` names the scheme, the storage form round-trips, the
//! scheme name is one `hash_format` accepts, and the cost bounds apply.

use serde_json::Value;
use tern_hash::{CostLimits, HashPolicy, Scheme, StoredHash};

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

#[test]
fn every_vector_verifies_right_and_refuses_wrong() {
    let limits = CostLimits::default();
    let mut problems = Vec::new();
    let all = vectors();
    assert!(all.len() >= 50, "fixture file lost vectors");
    for v in &all {
        let id = v["id"].as_str().unwrap();
        let hash = v["hash"].as_str().unwrap();
        let scheme = v["scheme"].as_str().unwrap();
        let h = match tern_hash::identify(hash) {
            Ok(h) => h,
            Err(e) => {
                problems.push(format!("{id}: does not parse: {e}"));
                continue;
            }
        };
        if h.scheme().name() != scheme {
            problems.push(format!("{id}: scheme {} not {scheme}", h.scheme()));
        }
        if Scheme::from_name(scheme) != Some(h.scheme()) {
            problems.push(format!("{id}: {scheme} is not a hash_format name"));
        }
        if h.verify(v["password"].as_str().unwrap(), &limits) != Ok(true) {
            problems.push(format!("{id}: right password refused"));
        }
        if h.verify(v["wrong"].as_str().unwrap(), &limits) != Ok(false) {
            problems.push(format!("{id}: wrong password accepted"));
        }
        if h.describe().is_empty() {
            problems.push(format!("{id}: empty description"));
        }
        let again = StoredHash::parse(&h.to_storage()).unwrap();
        if again.scheme() != h.scheme() || again.to_storage() != h.to_storage() {
            problems.push(format!("{id}: storage form does not round-trip"));
        }
        if StoredHash::from_import_password_hash(hash).is_err() {
            problems.push(format!("{id}: refused as an import password_hash"));
        }
        // Legacy formats are verified, never kept: the first login rehashes.
        if !HashPolicy::default().needs_rehash(&h) {
            problems.push(format!("{id}: not marked for rehash"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_new_scheme_has_a_vector() {
    let names: Vec<String> = vectors()
        .iter()
        .map(|v| v["scheme"].as_str().unwrap().to_owned())
        .collect();
    for want in [
        "atlassian-pbkdf2-sha1",
        "ldap-pbkdf2-sha1",
        "ldap-pbkdf2-sha256",
        "ldap-pbkdf2-sha512",
        "ldap-crypt",
        "mysql41",
        "mssql2000",
        "mssql2005",
        "oracle11",
        "sha1-crypt",
        "bsd-nthash",
        "bcrypt-sha256",
        "grub-pbkdf2-sha512",
        "cta-pbkdf2-sha1",
        "dlitz-pbkdf2-sha1",
        "fshp",
        "wordpress-bcrypt",
        "nextcloud",
        "des-crypt",
        "bsdi-crypt",
        "sun-md5-crypt",
    ] {
        assert!(names.iter().any(|n| n == want), "no vector for {want}");
    }
}

#[test]
fn mssql2000_is_case_insensitive_as_sql_server_2000_was() {
    let v = vectors()
        .into_iter()
        .find(|v| v["id"] == "mssql2000-ascii")
        .unwrap();
    let h = StoredHash::parse(v["hash"].as_str().unwrap()).unwrap();
    let pw = v["password"].as_str().unwrap();
    assert_eq!(
        h.verify(&pw.to_uppercase(), &CostLimits::default()),
        Ok(true)
    );
    // 2005 is case-sensitive.
    let v = vectors()
        .into_iter()
        .find(|v| v["id"] == "mssql2005-ascii")
        .unwrap();
    let h = StoredHash::parse(v["hash"].as_str().unwrap()).unwrap();
    let pw = v["password"].as_str().unwrap();
    assert_eq!(
        h.verify(&pw.to_uppercase(), &CostLimits::default()),
        Ok(false)
    );
}

#[test]
fn cost_bounds_apply_to_the_new_formats() {
    // Each of these is well formed but over a default bound: refused
    // before anything is computed, naming the setting.
    let salt = "c2FsdHNhbHRzYWx0c2FsdA"; // 16 bytes, base64
    let sha256 = "XEDPjVSGLElVgv277c9OLK5gadsPXKjgV62tVxIF..k";
    let cases = [
        (
            format!("{{PBKDF2-SHA256}}4000000000${salt}${sha256}"),
            "pbkdf2_iterations.sha256",
        ),
        (
            "$sha1$4000000000$abcdefgh$AAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            "pbkdf2_iterations.sha1",
        ),
        (
            format!("grub.pbkdf2.sha512.4000000000.00112233.{}", "AB".repeat(64)),
            "pbkdf2_iterations.sha512",
        ),
        (
            "$p5k2$ffffffff$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
            "pbkdf2_iterations.sha1",
        ),
        (
            format!("{{FSHP1|0|4000000000}}{}", "A".repeat(43) + "="),
            "pbkdf2_iterations.sha256",
        ),
        (
            "$wp$2y$31$abcdefghijklmnopqrstuuXnrD30XXSBZGhHyNhPTkLMnVlXKqP3e".to_owned(),
            "bcrypt_cost",
        ),
        (
            "$bcrypt-sha256$v=2,t=2b,r=31$abcdefghijklmnopqrstuu$XnrD30XXSBZGhHyNhPTkLMnVlXKqP3e"
                .to_owned(),
            "bcrypt_cost",
        ),
        (
            "1|$2y$31$abcdefghijklmnopqrstuuXnrD30XXSBZGhHyNhPTkLMnVlXKqP3e".to_owned(),
            "bcrypt_cost",
        ),
        (
            "{CRYPT}$6$rounds=999999999$salt$".to_owned() + &"a".repeat(86),
            "sha512_crypt_rounds",
        ),
    ];
    for (hash, setting) in cases {
        let h = StoredHash::parse(&hash).unwrap_or_else(|e| panic!("{hash}: {e}"));
        let over = h.verify("pw", &CostLimits::default()).unwrap_err();
        assert_eq!(over.setting, setting, "{hash}");
        assert!(h.check_cost(&CostLimits::default()).is_err(), "{hash}");
    }
}

#[test]
fn malformed_strings_are_refused_by_name() {
    for (hash, scheme) in [
        ("{PKCS5S2}AAAA", "atlassian-pbkdf2-sha1"),
        ("{PBKDF2-SHA256}x$y$z", "ldap-pbkdf2-sha256"),
        ("*0123", "mysql41"),
        ("0x0100ABCD", "mssql"),
        ("$sha1$10$salt$short", "sha1-crypt"),
        ("$3$$0123", "bsd-nthash"),
        ("$bcrypt-sha256$v=3,t=2b,r=12$a$b", "bcrypt-sha256"),
        ("grub.pbkdf2.sha512.10.XX.YY", "grub-pbkdf2-sha512"),
        ("$p5k2$10$salt$abc", "p5k2"),
        ("{FSHP9|8|1000}AAAA", "fshp"),
        ("{CRYPT}not a crypt string", "ldap-crypt"),
        ("_....saltAAAAAAAAAAA", "bsdi-crypt"),
        ("_/...salt!AAAAAAAAAA", "bsdi-crypt"),
        ("$md5,rounds=0100$salt$$AAAA", "sun-md5-crypt"),
        ("$md5$salt$$tooshort", "sun-md5-crypt"),
        (
            "3|$2y$10$abcdefghijklmnopqrstuuXnrD30XXSBZGhHyNhPTkLMnVlXKqP3e",
            "nextcloud",
        ),
    ] {
        let e = StoredHash::parse(hash).unwrap_err().to_string();
        assert!(e.contains(scheme), "{hash}: {e}");
    }
}

#[test]
fn mysql_style_strings_of_other_lengths_stay_unrecognised() {
    // `*` alone or `S:` with the wrong length are not claimed.
    for s in ["*", "S:abc", "2|x"] {
        assert!(StoredHash::parse(s).is_err(), "{s}");
    }
}
