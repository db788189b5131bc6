#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Identification errors, the rehash policy and the equal-timing dummy.

use tern_hash::{CostLimits, HashError, HashPolicy, Scheme, StoredHash, identify};

#[test]
fn unrecognised_lists_every_format_tried() {
    for s in [
        "",
        "   ",
        "hello",
        "$9$abc",
        "5f4dcc3b5aa765d61d8327deb882cf99",
        "{\"algorithm\"",
        "foo$bar",
    ] {
        let err = StoredHash::parse(s).expect_err(s);
        let HashError::Unrecognised { tried } = &err else {
            // A JSON-looking string is read as a stored custom object.
            assert!(s.starts_with('{'), "{s:?}: {err}");
            continue;
        };
        assert!(tried.len() >= 14, "{tried:?}");
        let msg = err.to_string();
        for want in [
            "bcrypt",
            "argon2",
            "scrypt",
            "pbkdf2",
            "md5-crypt",
            "sha512-crypt",
            "phpass",
            "drupal7",
            "django",
            "ldap",
            "aspnet-identity",
            "custom_password_hash",
        ] {
            assert!(msg.contains(want), "{msg} lacks {want}");
        }
    }
}

#[test]
fn malformed_and_unsupported() {
    let cases = [
        ("$2b$10$short", "malformed"),
        (
            "$2b$03$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "malformed",
        ),
        (
            "$2x$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "unsupported",
        ),
        (
            "$argon2id$v=19$m=65536,t=2$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4",
            "malformed",
        ),
        (
            "$argon2id$v=19$m=65536,t=2,p=1,keyid=abc$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4",
            "unsupported",
        ),
        ("$pbkdf2-mdc2$i=1,l=4$AAAA$AAAAAA", "unsupported"),
        ("$pbkdf2-sha256$i=x,l=4$AAAA$AAAAAA", "malformed"),
        ("$1$saltsaltsalt$abc", "malformed"),
        ("$6$rounds=abc$salt$x", "malformed"),
        ("$P$Babc", "malformed"),
        ("$S$Cshort", "malformed"),
        // {CRYPT} is read through its inner string (legacy.rs).
        ("{CRYPT}$1$abc$def", "malformed"),
        ("{CRYPT}not-a-crypt-string", "unsupported"),
        ("{SSHA}!!!", "malformed"),
        ("{SHA}AAAA", "malformed"),
        ("pbkdf2_sha256$abc$salt$AAAA", "malformed"),
        ("scrypt$1000$salt$8$1$AAAA", "malformed"),
        ("sha1$salt$abcd", "malformed"),
        (
            "AQAAAAcAACcQAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
            "malformed",
        ),
    ];
    for (s, want) in cases {
        match StoredHash::parse(s) {
            Ok(h) => panic!("{s} parsed as {}", h.scheme().name()),
            Err(HashError::Malformed { .. }) if want == "malformed" => {}
            Err(HashError::Unsupported { .. }) if want == "unsupported" => {}
            Err(e) => panic!("{s}: expected {want}, got {e:?}"),
        }
    }
}

#[test]
fn import_password_hash() {
    let h = StoredHash::from_import_password_hash(
        "  $2y$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u\n",
    )
    .expect("$2y$ any cost, surrounding whitespace");
    assert_eq!(h.scheme(), Scheme::Bcrypt);
    let err = StoredHash::from_import_password_hash("nope").expect_err("invalid");
    assert!(
        err.to_string()
            .starts_with("invalid password_hash: unrecognised"),
        "{err}"
    );
    // The JSON storage form of custom objects is not a password_hash.
    assert!(StoredHash::from_import_password_hash("{\"algorithm\":\"md5\"}").is_err());
    assert_eq!(
        identify("$1$abc$GQLPJ4ykN8ITnIeMqpKe4/")
            .map(|h| h.scheme())
            .ok(),
        Some(Scheme::Md5Crypt)
    );
}

#[test]
fn describe_mentions_parameters() {
    let h = StoredHash::parse("$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K")
        .expect("bcrypt");
    assert!(h.describe().contains("cost 10"), "{}", h.describe());
    let h = StoredHash::parse(
        "$argon2id$v=19$m=65536,t=2,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos",
    )
    .expect("argon2");
    let d = h.describe();
    assert!(
        d.contains("m=65536") && d.contains("t=2") && d.contains("16-byte salt"),
        "{d}"
    );
    assert_eq!(format!("{h:?}"), "StoredHash { scheme: \"argon2id\", .. }");
}

#[test]
fn policy_default_hash_verify_and_rehash() {
    let policy = HashPolicy::default();
    assert_eq!(policy.describe(), "argon2id m=19456 KiB, t=2, p=1");
    let stored = policy.hash("pässwörd-ü€");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let h = StoredHash::parse(&stored).expect("own hash parses");
    assert!(
        h.verify("pässwörd-ü€", &tern_hash::CostLimits::default())
            .unwrap()
    );
    assert!(
        !h.verify("pässwörd-ü", &tern_hash::CostLimits::default())
            .unwrap()
    );
    assert!(!policy.needs_rehash(&h));
    assert_ne!(policy.hash("x"), policy.hash("x"), "random salts");
    assert!(!policy.dummy_verify("anything"));
}

#[test]
fn policy_rehash_matrix() {
    let strong = HashPolicy::argon2id(1024, 2, 1).expect("policy");
    let weak_m =
        StoredHash::parse(&HashPolicy::argon2id(512, 2, 1).expect("p").hash("pw")).expect("h");
    let weak_t =
        StoredHash::parse(&HashPolicy::argon2id(1024, 1, 1).expect("p").hash("pw")).expect("h");
    let same = StoredHash::parse(&strong.hash("pw")).expect("h");
    let stronger =
        StoredHash::parse(&HashPolicy::argon2id(2048, 3, 2).expect("p").hash("pw")).expect("h");
    assert!(strong.needs_rehash(&weak_m));
    assert!(strong.needs_rehash(&weak_t));
    assert!(!strong.needs_rehash(&same));
    assert!(!strong.needs_rehash(&stronger));
    let bcrypt10 =
        StoredHash::parse("$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K")
            .expect("bcrypt");
    assert!(strong.needs_rehash(&bcrypt10), "other algorithm");
    let bcrypt_policy = HashPolicy::bcrypt(10).expect("bcrypt policy");
    assert!(!bcrypt_policy.needs_rehash(&bcrypt10));
    assert!(HashPolicy::bcrypt(11).expect("p").needs_rehash(&bcrypt10));
    assert!(bcrypt_policy.needs_rehash(&same), "other algorithm");
    let argon2i = StoredHash::parse(
        "$argon2i$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    )
    .expect("argon2i");
    assert!(strong.needs_rehash(&argon2i), "argon2i is not argon2id");
    let v16 = StoredHash::parse("$argon2id$m=65536,t=2,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos")
        .expect("no v= means 0x10");
    assert!(strong.needs_rehash(&v16), "old version");
    let bh = bcrypt_policy.hash("pässwörd");
    assert!(bh.starts_with("$2b$10$"), "{bh}");
    let parsed = StoredHash::parse(&bh).expect("own bcrypt parses");
    assert!(
        parsed
            .verify("pässwörd", &tern_hash::CostLimits::default())
            .unwrap()
            && !parsed
                .verify("passwörd", &tern_hash::CostLimits::default())
                .unwrap()
    );
    assert!(!bcrypt_policy.dummy_verify("pässwörd"));
}

#[test]
fn invalid_policies() {
    assert!(matches!(
        HashPolicy::bcrypt(3),
        Err(HashError::InvalidPolicy(_))
    ));
    assert!(matches!(
        HashPolicy::bcrypt(32),
        Err(HashError::InvalidPolicy(_))
    ));
    assert!(HashPolicy::argon2id(4, 1, 1).is_err(), "m below 8*p");
    assert!(HashPolicy::argon2id(1024, 0, 1).is_err(), "t = 0");
    assert!(HashPolicy::argon2id(1024, 1, 0).is_err(), "p = 0");
    // A policy whose own hashes would be over the cost limits is refused.
    let huge = HashPolicy::argon2id(4 << 20, 1, 1).expect("valid argon2 parameters");
    let err = huge
        .with_limits(CostLimits::default())
        .expect_err("4 GiB is over memory_mib");
    assert!(err.to_string().contains("memory_mib"), "{err}");
    assert!(
        HashPolicy::bcrypt(15)
            .unwrap()
            .with_limits(CostLimits::default())
            .is_err(),
        "bcrypt 15 is over bcrypt_cost 14"
    );
    let raised = CostLimits {
        bcrypt_cost: 15,
        ..CostLimits::default()
    };
    let p = HashPolicy::bcrypt(15).unwrap().with_limits(raised).unwrap();
    assert_eq!(p.limits().bcrypt_cost, 15);
}

#[test]
fn bcrypt_reads_72_bytes() {
    let policy = HashPolicy::bcrypt(4).expect("p");
    let long = "a".repeat(72);
    let h = StoredHash::parse(&policy.hash(&long)).expect("h");
    assert!(
        h.verify(&format!("{long}tail"), &tern_hash::CostLimits::default())
            .unwrap(),
        "bytes past 72 are ignored, as in every bcrypt"
    );
}

#[test]
fn stored_hash_is_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<StoredHash>();
    assert_send_sync::<HashPolicy>();
}

#[test]
fn schemes_are_found_by_their_names() {
    let names: Vec<&str> = Scheme::self_describing().map(Scheme::name).collect();
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "names are unique: {names:?}");
    for s in Scheme::self_describing() {
        assert_eq!(Scheme::from_name(s.name()), Some(s));
    }
    for (hash, name) in [
        (
            "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K",
            "bcrypt",
        ),
        ("{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "ldap-ssha"),
    ] {
        let parsed = StoredHash::parse(hash).unwrap().scheme();
        assert_eq!(Scheme::from_name(name), Some(parsed));
    }
    for unknown in ["", "bcyrpt", "auth0-custom-sha256", "BCRYPT"] {
        assert_eq!(Scheme::from_name(unknown), None, "{unknown}");
    }
}
