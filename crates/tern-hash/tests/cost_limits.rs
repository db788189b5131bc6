#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Cost bounds: every scheme with a work factor, at its default bound and
//! just over it. Hashes over a bound are only strings: verifying one is
//! refused before anything is computed (a bcrypt cost 31 computed would hang
//! this test for a day), and parsing and describing it still work.

use tern_hash::{CostLimits, OverLimit, StoredHash};

/// 53 bcrypt characters (salt + checksum) after `$2b$NN$`.
const BCRYPT_TAIL: &str = "nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";

/// Unpadded base64 of `n` zero bytes.
fn zeros_b64(n: usize) -> String {
    "A".repeat((n * 4).div_ceil(3))
}

/// Padded standard base64.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn pbkdf2_phc(digest: &str, len: usize, iterations: u64) -> String {
    format!(
        "$pbkdf2-{digest}$i={iterations},l={len}${}${}",
        zeros_b64(16),
        zeros_b64(len)
    )
}

fn aspnet_v3(iterations: u32) -> String {
    let mut raw = vec![1u8];
    raw.extend(1u32.to_be_bytes()); // PRF: HMAC-SHA256
    raw.extend(iterations.to_be_bytes());
    raw.extend(16u32.to_be_bytes());
    raw.extend([7u8; 16 + 32]);
    b64(&raw)
}

fn phpass(ident: &str, log2: usize, sum_len: usize) -> String {
    const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    format!(
        "{ident}{}saltsalt{}",
        char::from(ITOA64[log2]),
        ".".repeat(sum_len)
    )
}

fn argon2(m: u32, t: u32) -> String {
    format!(
        "$argon2id$v=19$m={m},t={t},p=1${}${}",
        zeros_b64(16),
        zeros_b64(32)
    )
}

fn scrypt(ln: u32, r: u32, p: u32) -> String {
    format!(
        "$scrypt$ln={ln},r={r},p={p}${}${}",
        zeros_b64(16),
        zeros_b64(32)
    )
}

/// (scheme, at the default bound, just over it, the setting named).
fn cases() -> Vec<(&'static str, String, String, &'static str)> {
    let bcrypt = |c: u32| format!("$2b${c:02}${BCRYPT_TAIL}");
    let mut v = vec![
        ("bcrypt", bcrypt(14), bcrypt(15), "bcrypt_cost"),
        (
            "django-bcrypt",
            format!("bcrypt${}", bcrypt(14)),
            format!("bcrypt${}", bcrypt(15)),
            "bcrypt_cost",
        ),
        (
            "django-bcrypt-sha256",
            format!("bcrypt_sha256${}", bcrypt(14)),
            format!("bcrypt_sha256${}", bcrypt(31)),
            "bcrypt_cost",
        ),
        (
            "sha256-crypt",
            format!("$5$rounds=2200000$saltsalt${}", ".".repeat(43)),
            format!("$5$rounds=2200001$saltsalt${}", ".".repeat(43)),
            "sha256_crypt_rounds",
        ),
        (
            "sha512-crypt",
            format!("$6$rounds=2200000$saltsalt${}", ".".repeat(86)),
            format!("$6$rounds=999999999$saltsalt${}", ".".repeat(86)),
            "sha512_crypt_rounds",
        ),
        (
            "phpass",
            phpass("$P$", 22, 22),
            phpass("$P$", 23, 22),
            "phpass_log2_rounds",
        ),
        (
            "phpass",
            phpass("$H$", 22, 22),
            phpass("$H$", 30, 22),
            "phpass_log2_rounds",
        ),
        (
            "drupal7",
            phpass("$S$", 21, 43),
            phpass("$S$", 22, 43),
            "drupal7_log2_rounds",
        ),
        (
            "drupal7-upgraded",
            format!("U{}", phpass("$S$", 21, 43)),
            format!("U{}", phpass("$S$", 22, 43)),
            "drupal7_log2_rounds",
        ),
        (
            "argon2id",
            argon2(262_144, 5),
            argon2(262_144, 6),
            "argon2_work",
        ),
        (
            "argon2id",
            argon2(262_144, 1),
            argon2(262_145, 1),
            "memory_mib",
        ),
        (
            "argon2id",
            argon2(65_536, 22),
            argon2(65_536, 23),
            "argon2_work",
        ),
        (
            "django-argon2",
            format!("argon2{}", argon2(262_144, 5)),
            format!("argon2{}", argon2(4 << 20, 1)),
            "memory_mib",
        ),
        ("scrypt", scrypt(18, 8, 1), scrypt(19, 8, 1), "memory_mib"),
        ("scrypt", scrypt(17, 8, 3), scrypt(17, 8, 4), "scrypt_work"),
        (
            "scrypt",
            scrypt(14, 8, 28),
            scrypt(14, 8, 29),
            "scrypt_work",
        ),
        (
            "django-scrypt",
            format!("scrypt$131072$salt$8$3${}", zeros_b64(32)),
            format!("scrypt$131072$salt$8$4${}", zeros_b64(32)),
            "scrypt_work",
        ),
        (
            "aspnet-identity-v3",
            aspnet_v3(3_000_000),
            aspnet_v3(3_000_001),
            "pbkdf2_iterations.sha256",
        ),
        (
            "django-pbkdf2-sha256",
            format!("pbkdf2_sha256$3000000$salt${}", b64(&[0; 32])),
            format!("pbkdf2_sha256$3000001$salt${}", b64(&[0; 32])),
            "pbkdf2_iterations.sha256",
        ),
        (
            "passlib-pbkdf2-sha512",
            format!("$pbkdf2-sha512$2200000${}${}", zeros_b64(16), zeros_b64(64)),
            format!("$pbkdf2-sha512$2200001${}${}", zeros_b64(16), zeros_b64(64)),
            "pbkdf2_iterations.sha512",
        ),
        // A hash longer than the digest costs its iterations once per block.
        (
            "pbkdf2-sha256",
            pbkdf2_phc("sha256", 64, 1_500_000),
            pbkdf2_phc("sha256", 64, 1_500_001),
            "pbkdf2_iterations.sha256",
        ),
        (
            "pbkdf2-sha1",
            pbkdf2_phc("sha1", 21, 3_000_000),
            pbkdf2_phc("sha1", 21, 3_000_001),
            "pbkdf2_iterations.sha1",
        ),
    ];
    for (digest, len, bound) in [
        ("md4", 16, 8_000_000u64),
        ("md5", 16, 5_000_000),
        ("ripemd160", 20, 2_600_000),
        ("sha1", 20, 6_000_000),
        ("sha224", 28, 3_000_000),
        ("sha256", 32, 3_000_000),
        ("sha384", 48, 2_200_000),
        ("sha512", 64, 2_200_000),
        ("whirlpool", 64, 700_000),
    ] {
        let setting: &'static str = Box::leak(format!("pbkdf2_iterations.{digest}").into());
        let scheme: &'static str = Box::leak(format!("pbkdf2-{digest}").into());
        v.push((
            scheme,
            pbkdf2_phc(digest, len, bound),
            pbkdf2_phc(digest, len, bound + 1),
            setting,
        ));
    }
    v
}

#[test]
fn each_scheme_at_and_just_over_its_bound() {
    let limits = CostLimits::default();
    let mut failures = Vec::new();
    for (scheme, at, over, setting) in cases() {
        let at_hash = StoredHash::parse(&at).unwrap_or_else(|e| panic!("{at}: {e}"));
        if at_hash.scheme().name() != scheme {
            failures.push(format!("{at}: scheme {}", at_hash.scheme().name()));
        }
        if let Err(e) = at_hash.check_cost(&limits) {
            failures.push(format!("{scheme} at the bound refused: {e}"));
        }
        // Over the bound: parses and describes (for `tern hash identify`)...
        let over_hash = StoredHash::parse(&over).unwrap_or_else(|e| panic!("{over}: {e}"));
        assert!(!over_hash.describe().is_empty());
        // ...but is refused by the check and by verify, never computed.
        match over_hash.check_cost(&limits) {
            Ok(()) => failures.push(format!("{scheme}: {over} passes the check")),
            Err(e) if e.setting != setting => {
                failures.push(format!("{scheme}: named {} not {setting}", e.setting));
            }
            Err(e) => {
                let msg = e.to_string();
                if !msg.contains(&format!("password_hash.limits.{setting}"))
                    || !msg.starts_with(scheme)
                {
                    failures.push(format!("{scheme}: message {msg:?}"));
                }
            }
        }
        match over_hash.verify("password", &limits) {
            Err(OverLimit { setting: s, .. }) if s == setting => {}
            other => failures.push(format!("{scheme}: verify over the bound gave {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_name_value_bound_and_setting() {
    let h = StoredHash::parse(&format!("$2b$31${BCRYPT_TAIL}")).unwrap();
    assert!(h.describe().contains("cost 31"));
    let e = h.check_cost(&CostLimits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bcrypt cost 31 is over the bound 14 (password_hash.limits.bcrypt_cost)"
    );
    let e = StoredHash::parse(&pbkdf2_phc("sha256", 64, 2_000_000))
        .unwrap()
        .check_cost(&CostLimits::default())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "pbkdf2-sha256 2000000 iterations × 2 output blocks (64-byte hash) = 4000000 \
         is over the bound 3000000 (password_hash.limits.pbkdf2_iterations.sha256)"
    );
}

#[test]
fn auth0_objects_are_bounded_like_their_algorithm() {
    let limits = CostLimits::default();
    let scrypt = |p: u32| {
        StoredHash::from_custom(&serde_json::json!({
            "algorithm": "scrypt", "hash": {"value": "00".repeat(32), "encoding": "hex"},
            "keylen": 32, "cost": 131072, "blockSize": 8, "parallelization": p}))
        .unwrap()
    };
    assert_eq!(scrypt(3).check_cost(&limits), Ok(()));
    assert_eq!(
        scrypt(4).check_cost(&limits).unwrap_err().setting,
        "scrypt_work"
    );
    let over = StoredHash::from_custom(&serde_json::json!({
        "algorithm": "scrypt", "hash": {"value": "00".repeat(32), "encoding": "hex"},
        "keylen": 32, "cost": 1u64 << 40, "blockSize": 8}))
    .expect("any cost parses");
    assert_eq!(over.verify("x", &limits).unwrap_err().setting, "memory_mib");
    for (obj, setting) in [
        (
            serde_json::json!({"algorithm": "bcrypt", "hash": {"value": format!("$2b$16${BCRYPT_TAIL}")},
                               "salt": {"value": "pepper"}}),
            "bcrypt_cost",
        ),
        (
            serde_json::json!({"algorithm": "pbkdf2", "hash": {"value": pbkdf2_phc("sha512", 64, 3_000_000)},
                               "password": {"encoding": "utf16le"}}),
            "pbkdf2_iterations.sha512",
        ),
        (
            serde_json::json!({"algorithm": "argon2", "hash": {"value": argon2(1 << 20, 1)}}),
            "memory_mib",
        ),
    ] {
        let h = StoredHash::from_custom(&obj).unwrap();
        assert_eq!(h.check_cost(&limits).unwrap_err().setting, setting, "{obj}");
        assert_eq!(
            h.verify("x", &limits).unwrap_err().setting,
            setting,
            "{obj}"
        );
    }
}

#[test]
fn a_long_password_costs_more_rounds_where_each_round_hashes_it() {
    let limits = CostLimits::default();
    // 100 000 sha512-crypt rounds are fine for a 64-byte password...
    let h = StoredHash::parse(&format!("$6$rounds=100000$saltsalt${}", ".".repeat(86))).unwrap();
    assert_eq!(h.check_cost(&limits), Ok(()));
    assert_eq!(h.verify(&"p".repeat(64), &limits), Ok(false));
    // ...but a 4000-byte one costs as much as 3.1 million rounds of it.
    let e = h.verify(&"p".repeat(4000), &limits).unwrap_err();
    assert_eq!(e.setting, "sha512_crypt_rounds");
    assert!(e.what.contains("4000-byte password"), "{e}");
    // phpass of WordPress' default cost (2^13) with a 2 MiB password: 2^13
    // rounds of 32 769 MD5 blocks — refused by length first.
    let wp = StoredHash::parse(&phpass("$P$", 13, 22)).unwrap();
    let e = wp.verify(&"p".repeat(2 << 20), &limits).unwrap_err();
    assert_eq!(e.setting, "max_password_bytes");
    // 4096 bytes is allowed, but 2^13 rounds of it are as costly as ~2^19.
    assert_eq!(wp.verify(&"p".repeat(4096), &limits), Ok(false));
    let e = StoredHash::parse(&phpass("$P$", 18, 22))
        .unwrap()
        .verify(&"p".repeat(4096), &limits)
        .unwrap_err();
    assert_eq!(e.setting, "phpass_log2_rounds");
    // md5-crypt has no cost parameter: only the length bound applies.
    let md5 = StoredHash::parse("$1$saltsalt$......................").unwrap();
    assert_eq!(md5.verify(&"p".repeat(4096), &limits), Ok(false));
    assert_eq!(
        md5.verify(&"p".repeat(4097), &limits).unwrap_err().setting,
        "max_password_bytes"
    );
    // Schemes that read the password once take any length.
    let argon = StoredHash::parse(&argon2(64, 1)).unwrap();
    assert_eq!(argon.verify(&"p".repeat(1 << 20), &limits), Ok(false));
}

#[test]
fn raised_and_lowered_limits() {
    // A real bcrypt cost-5 hash (pyca bcrypt) verifies at bcrypt_cost 5 and
    // is refused at 4.
    let h =
        StoredHash::parse("$2b$05$DPB8ObROlgp8zqpSWnIzceQoL9keI52HNdgILzmzNo.WMpyKTC6Aq").unwrap();
    let at = CostLimits {
        bcrypt_cost: 5,
        ..CostLimits::default()
    };
    assert_eq!(h.verify("password", &at), Ok(true));
    assert_eq!(h.verify("Password", &at), Ok(false));
    let below = CostLimits {
        bcrypt_cost: 4,
        ..CostLimits::default()
    };
    assert_eq!(
        h.verify("password", &below).unwrap_err().setting,
        "bcrypt_cost"
    );
    // Raising a bound admits the hash.
    let over = StoredHash::parse(&format!("$2b$15${BCRYPT_TAIL}")).unwrap();
    let raised = CostLimits {
        bcrypt_cost: 15,
        ..CostLimits::default()
    };
    assert_eq!(over.check_cost(&raised), Ok(()));
    assert!(over.check_cost(&CostLimits::unlimited()).is_ok());
}

#[test]
fn limits_read_from_a_configuration_section() {
    let limits: CostLimits = serde_json::from_value(serde_json::json!({
        "bcrypt_cost": 12,
        "pbkdf2_iterations": {"sha256": 1000}
    }))
    .unwrap();
    assert_eq!(limits.bcrypt_cost, 12);
    assert_eq!(limits.pbkdf2_iterations.sha256, 1000);
    // Unnamed bounds keep their defaults.
    assert_eq!(limits.pbkdf2_iterations.sha1, 6_000_000);
    assert_eq!(limits.memory_mib, 256);
    // A misspelt bound is an error, not a silently ignored setting.
    let typo = serde_json::from_value::<CostLimits>(serde_json::json!({"bcrypt_costs": 12}));
    assert!(typo.is_err());
}
