#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `tern import --from PLATFORM` end to end: each platform's export file,
//! built by `fixtures/platforms/gen_exports.py` in the platform's documented
//! shape with hashes from independent tools (firebase-scrypt, pyca bcrypt,
//! hashlib, argon2-cffi), imported by the real `tern` binary into a real
//! `tern serve` (SQLite, then PostgreSQL); then every user logs in with the
//! password-realm grant: the right password is taken (a token, or Auth0's
//! `mfa_required` where a second factor came over), a wrong one refused, a
//! blocked user stays blocked.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{PgDb, Tern, get, post_json, user_total};

/// The Management API's rate limit out of the way: the test makes many calls at once.
const UNLIMITED: &[(&str, &str)] = &[
    ("TERN_RATE_LIMIT__BURST", "10000"),
    ("TERN_RATE_LIMIT__PER_SECOND", "10000"),
];

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platforms")
}

fn fixture(name: &str) -> String {
    fixtures().join(name).to_str().unwrap().to_string()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `tern import FILE --connection CONN ARGS` with the admin client's credentials.
fn tern_import(tern: &Tern, info: &Value, file: &str, conn: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "import",
            &fixture(file),
            "--connection",
            conn,
            "--domain",
            &tern.base,
        ])
        .args(["--client-id", info["client_id"].as_str().unwrap()])
        .args(["--client-secret", info["client_secret"].as_str().unwrap()])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One import: the file, its `--from` arguments, the rows it must refuse,
/// and the hash formats its dry run must report.
struct Case {
    file: &'static str,
    args: Vec<String>,
    refused: &'static [&'static str],
    formats: &'static str,
    /// The dry run's lines on second factors (carried, left behind).
    factors: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let from = |p: &str, extra: &[String]| {
        let mut v = vec!["--from".to_string(), p.to_string()];
        v.extend_from_slice(extra);
        v
    };
    vec![
        Case {
            file: "firebase-users.json",
            args: from(
                "firebase",
                &["--hash-config".into(), fixture("firebase-hash-config.txt")],
            ),
            refused: &[],
            formats: "firebase-scrypt 4, no password 1",
            factors: &[
                "  second factors: phone 1\n",
                "  second factors left behind: 1 × Firebase TOTP factor: the export holds no secret (the user enrols again)\n",
            ],
        },
        Case {
            file: "auth0-users.ndjson",
            args: from(
                "auth0-export",
                &[
                    "--password-hashes".into(),
                    fixture("auth0-password-hashes.ndjson"),
                ],
            ),
            refused: &[],
            formats: "bcrypt 3",
            factors: &[],
        },
        Case {
            file: "keycloak-realm.json",
            args: from("keycloak", &[]),
            refused: &[],
            formats: "keycloak 5",
            factors: &[
                "  second factors: totp 1\n",
                "  second factors left behind: 1 × Keycloak OTP credential other than a 6-digit, 30 s, SHA-1 TOTP (HOTP or other settings)\n",
            ],
        },
        Case {
            file: "kratos-identities.json",
            args: from("kratos", &[]),
            refused: &[],
            formats: "argon2id 1, bcrypt 3, pbkdf2-sha256 1",
            factors: &[
                "  second factors: totp 1\n",
                "  second factors left behind: 1 × Kratos WebAuthn credential (bound to the old origin)\n",
            ],
        },
        Case {
            file: "supabase-users.csv",
            args: from("supabase", &[]),
            refused: &["row 4: UNCONVERTIBLE_ROW: user "],
            formats: "bcrypt 4",
            factors: &[],
        },
        Case {
            file: "supabase-users.json",
            args: from("supabase", &[]),
            refused: &["row 4: UNCONVERTIBLE_ROW: user "],
            formats: "bcrypt 4",
            factors: &[],
        },
    ]
}

fn connection_name(file: &str) -> String {
    file.replace('.', "-")
}

fn platform_exports(db: Option<&str>) {
    let root = tempfile::tempdir().unwrap();
    let tern = Tern::launch(&root.path().join("tern-data"), db, UNLIMITED, &[], false);
    let info = tern.info();
    let token = tern.token(&info);
    let api = |path: &str| format!("{}/api/v2{path}", tern.base);
    let (s, app) = post_json(
        &api("/clients"),
        Some(&token),
        &json!({"name": "app", "app_type": "regular_web", "grant_types": ["password", PASSWORD_REALM, MFA_OTP]}),
    );
    assert_eq!(s, 201, "{app}");
    let logins: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("logins.json")).unwrap()).unwrap();

    for case in cases() {
        let conn = connection_name(case.file);
        let (s, c) = post_json(
            &api("/connections"),
            Some(&token),
            &json!({"name": conn, "strategy": "auth0", "enabled_clients": [app["client_id"]]}),
        );
        assert_eq!(s, 201, "{c}");
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();

        // The dry run names the hash formats and writes nothing.
        let before = user_total(&tern.base, &token);
        let mut dry = args.clone();
        dry.push("--dry-run");
        let run = tern_import(&tern, &info, case.file, &conn, &dry);
        let summary = format!("{}: {}\n{}", case.file, run.stdout, run.stderr);
        assert!(
            run.stdout
                .contains(&format!("  password hashes: {}\n", case.formats)),
            "{summary}"
        );
        assert!(run.stdout.contains("DRY RUN"), "{summary}");
        for line in case.factors {
            assert!(run.stdout.contains(line), "{line}: {summary}");
        }
        if case.factors.is_empty() {
            assert!(!run.stdout.contains("second factors"), "{summary}");
        }
        assert_eq!(user_total(&tern.base, &token), before, "{summary}");

        let run = tern_import(&tern, &info, case.file, &conn, &args);
        let summary = format!("{}: {}\n{}", case.file, run.stdout, run.stderr);
        let failed: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("row "))
            .collect();
        assert_eq!(failed.len(), case.refused.len(), "{summary}");
        for (line, want) in failed.iter().zip(case.refused) {
            assert!(line.starts_with(want), "{summary}");
        }
        assert_eq!(
            run.code,
            if case.refused.is_empty() { 0 } else { 1 },
            "{summary}"
        );

        check_logins(&tern, &app, &conn, &logins[case.file]);
    }
    check_profiles(&tern, &token);
}

/// Every user of `logins` (from logins.json) logs in through `conn` as expected:
/// a token, `mfa_required`, or blocked; a wrong password is refused.
fn check_logins(tern: &Tern, app: &Value, conn: &str, logins: &Value) {
    for user in logins.as_array().unwrap() {
        let login = |password: &str| {
            post_json(
                &format!("{}/oauth/token", tern.base),
                None,
                &json!({"grant_type": PASSWORD_REALM, "client_id": app["client_id"],
                        "client_secret": app["client_secret"], "username": user["email"],
                        "password": password, "realm": conn}),
            )
        };
        let password = user["password"].as_str().unwrap();
        let who = format!("{} {}", conn, user["email"]);
        let (s, r) = login(password);
        match user["expect"].as_str().unwrap() {
            "token" => {
                assert_eq!(s, 200, "{who}: {r}");
                assert!(r["access_token"].is_string(), "{who}: {r}");
            }
            "mfa" => {
                assert_eq!(
                    (s, r["error"].as_str()),
                    (403, Some("mfa_required")),
                    "{who}: {r}"
                );
                // The authenticator the user had on the old platform finishes
                // the login: the code its secret gives now.
                let seed = totp_seed(user["email"].as_str().unwrap());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let (s, done) = post_json(
                    &format!("{}/oauth/token", tern.base),
                    None,
                    &json!({"grant_type": MFA_OTP, "client_id": app["client_id"],
                            "client_secret": app["client_secret"], "mfa_token": r["mfa_token"],
                            "otp": totp(&seed, now)}),
                );
                assert_eq!(s, 200, "{who}: the imported TOTP enrolment: {done}");
                assert!(done["access_token"].is_string(), "{who}: {done}");
            }
            _ => assert_eq!(
                (s, r["error"].as_str()),
                (401, Some("unauthorized")),
                "{who}: {r}"
            ),
        }
        if user["expect"] != "blocked" {
            let (s, r) = login(&format!("{password}x"));
            assert_eq!(
                (s, r["error"].as_str()),
                (403, Some("invalid_grant")),
                "{who}: {r}"
            );
        }
    }
}

const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

/// The TOTP seed a user's authenticator holds, read from the platform's
/// export as the platform keeps it (not through Tern's importer): Keycloak's
/// `otp` credential stores the text its QR code base32-encodes, Kratos the
/// `otpauth://` URL.
fn totp_seed(email: &str) -> Vec<u8> {
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(fixtures().join(f)).unwrap()).unwrap()
    };
    let realm = read("keycloak-realm.json");
    for u in realm["users"].as_array().unwrap() {
        if u["email"] == email {
            let otp = u["credentials"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == "otp")
                .unwrap();
            let secret: Value = serde_json::from_str(otp["secretData"].as_str().unwrap()).unwrap();
            return secret["value"].as_str().unwrap().as_bytes().to_vec();
        }
    }
    for i in read("kratos-identities.json").as_array().unwrap() {
        if i["traits"]["email"] == email {
            let url = i["credentials"]["totp"]["config"]["totp_url"]
                .as_str()
                .unwrap();
            let secret = url
                .split("secret=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap();
            return base32_decode(secret);
        }
    }
    panic!("no TOTP secret for {email} in the fixtures")
}

/// RFC 4648 base32 (no padding), written for the test.
fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            other => panic!("not base32: {}", other as char),
        };
        buffer = (buffer << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps) at Unix time `t`,
/// written from the RFC, independent of Tern.
fn totp(seed: &[u8], t: u64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let mac = hmac::sign(&key, &(t / 30).to_be_bytes());
    let h = mac.as_ref();
    let o = (h[19] & 0xf) as usize;
    let bin = (u32::from(h[o]) & 0x7f) << 24
        | u32::from(h[o + 1]) << 16
        | u32::from(h[o + 2]) << 8
        | u32::from(h[o + 3]);
    format!("{:06}", bin % 1_000_000)
}

#[test]
fn the_tests_totp_matches_rfc_6238_appendix_b() {
    // Appendix B's SHA-1 codes are 8 digits; their last 6 are the 6-digit codes.
    let seed = b"12345678901234567890";
    for (t, code) in [
        (59, "287082"),
        (1_111_111_109, "081804"),
        (1_234_567_890, "005924"),
    ] {
        assert_eq!(totp(seed, t), code, "T = {t}");
    }
    assert_eq!(base32_decode("JBSWY3DPEHPK3PXP"), b"Hello!\xde\xad\xbe\xef");
}

/// The user whose email is `email`, through the Management API.
fn user(tern: &Tern, token: &str, email: &str) -> Value {
    let (s, r) = get(
        &format!("{}/api/v2/users-by-email?email={email}", tern.base),
        token,
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r.as_array().map(Vec::len), Some(1), "{email}: {r}");
    r[0].clone()
}

/// Profiles, metadata, verified flags and ids carried over.
fn check_profiles(tern: &Tern, token: &str) {
    let fb: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("firebase-users.json")).unwrap())
            .unwrap();
    let u = user(tern, token, "fb0@example.com");
    assert_eq!(
        u["user_id"],
        format!("auth0|{}", fb["users"][0]["localId"].as_str().unwrap())
    );
    assert_eq!(u["name"], "Firebase User 0");
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["app_metadata"], json!({"admin": true, "plan": "pro"}));
    let u = user(tern, token, "fb1@example.com");
    assert_eq!(u["email_verified"], false);
    assert_eq!(
        u["picture"],
        "https://lh3.googleusercontent.com/a/photo.jpg"
    );
    assert_eq!(
        user(tern, token, "google@example.com")["name"],
        "Google Only"
    );
    let u = user(tern, token, "fb2@example.com");
    let id = u["user_id"].as_str().unwrap().replace('|', "%7C");
    let (s, methods) = get(
        &format!("{}/api/v2/users/{id}/authentication-methods", tern.base),
        token,
    );
    assert_eq!(s, 200, "{methods}");
    assert!(methods.to_string().contains("+15555550123"), "{methods}");

    let u = user(tern, token, "a0user0@example.com");
    assert_eq!(
        (
            u["app_metadata"]["plan"].as_str(),
            u["user_metadata"]["lang"].as_str()
        ),
        (Some("gold"), Some("fr"))
    );
    assert!(u["user_id"].as_str().unwrap().starts_with("auth0|"), "{u}");

    let u = user(tern, token, "kc1@example.com");
    assert_eq!(
        (u["given_name"].as_str(), u["family_name"].as_str()),
        (Some("Key"), Some("Cloak1"))
    );
    assert_eq!(
        u["user_metadata"],
        json!({"locale": ["fr"], "dept": ["sales"]})
    );
    assert_eq!(u["app_metadata"]["groups"], json!(["/engineering"]));
    assert_eq!(
        user(tern, token, "kc2@example.com")["email_verified"],
        false
    );
    let u = user(tern, token, "kc0@example.com");
    assert_eq!(u["username"], "kcuser0");
    // Realm roles became Tern roles: the composite "admin" brings the
    // "staff" it contains, each with the realm's description; Keycloak's
    // built-in roles stay behind, and app_metadata keeps the list as it was.
    assert_eq!(
        u["app_metadata"]["realmRoles"],
        json!(["default-roles-acme", "admin"])
    );
    let roles_of = |user_id: &str| -> Vec<(String, String)> {
        let id = user_id.replace('|', "%7C");
        let (s, r) = get(&format!("{}/api/v2/users/{id}/roles", tern.base), token);
        assert_eq!(s, 200, "{r}");
        let mut roles: Vec<(String, String)> = r
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (text("name"), text("description"))
            })
            .collect();
        roles.sort();
        roles
    };
    let role = |name: &str, description: &str| (name.to_string(), description.to_string());
    let staff = role("staff", "Everyone on the payroll");
    assert_eq!(
        roles_of(u["user_id"].as_str().unwrap()),
        [role("admin", "Realm administrators"), staff.clone()]
    );
    let kc1 = user(tern, token, "kc1@example.com");
    assert_eq!(roles_of(kc1["user_id"].as_str().unwrap()), [staff]);
    let (s, all) = get(&format!("{}/api/v2/roles", tern.base), token);
    assert_eq!(s, 200, "{all}");
    let mut names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "staff"]);

    let u = user(tern, token, "kratos0@example.com");
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["given_name"], "Ory");
    assert_eq!(u["user_metadata"], json!({"newsletter": true}));
    assert_eq!(u["app_metadata"]["metadata_admin"], json!({"crm_id": 42}));
    assert_eq!(
        user(tern, token, "kratos2@example.com")["email_verified"],
        false
    );

    let u = user(tern, token, "supa0@example.com");
    assert_eq!(u["name"], "Supa Base");
    assert_eq!(u["user_metadata"]["team"], "a, b");
    assert_eq!(u["app_metadata"]["provider"], "email");
    let u = user(tern, token, "supa1@example.com");
    assert_eq!(
        (u["phone_number"].as_str(), u["phone_verified"].as_bool()),
        (Some("+15555550100"), Some(true))
    );
    assert_eq!(
        user(tern, token, "supa2@example.com")["email_verified"],
        false
    );
}

#[test]
fn platform_exports_sqlite() {
    platform_exports(None);
}

#[test]
fn platform_exports_postgres() {
    let db = PgDb::create("tern_platforms");
    platform_exports(Some(&db.url()));
}

/// `tern import postgres://… --from supabase` reads `auth.users` from the
/// database itself: the CSV fixture loaded into a table of Supabase's
/// column types, then read back with `row_to_json`.
#[test]
fn supabase_straight_from_its_database() {
    let supa = PgDb::create("tern_supabase");
    let columns = "instance_id uuid, id uuid primary key, aud varchar(255), role varchar(255), email varchar(255),
        encrypted_password varchar(255), email_confirmed_at timestamptz, invited_at timestamptz,
        confirmation_token varchar(255), confirmation_sent_at timestamptz, recovery_token varchar(255),
        recovery_sent_at timestamptz, email_change_token_new varchar(255), email_change varchar(255),
        email_change_sent_at timestamptz, last_sign_in_at timestamptz, raw_app_meta_data jsonb,
        raw_user_meta_data jsonb, is_super_admin boolean, created_at timestamptz, updated_at timestamptz,
        phone text, phone_confirmed_at timestamptz, phone_change text, phone_change_token varchar(255),
        phone_change_sent_at timestamptz, confirmed_at timestamptz, email_change_token_current varchar(255),
        email_change_confirm_status smallint, banned_until timestamptz, reauthentication_token varchar(255),
        reauthentication_sent_at timestamptz, is_sso_user boolean, deleted_at timestamptz, is_anonymous boolean";
    let psql = |sql: &str| {
        let ok = Command::new("psql")
            .args([supa.url().as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .status()
            .unwrap()
            .success();
        assert!(ok, "psql {sql}");
    };
    psql(&format!(
        "CREATE SCHEMA auth; CREATE TABLE auth.users ({columns})"
    ));
    psql(&format!(
        "\\copy auth.users from '{}' csv header",
        fixture("supabase-users.csv")
    ));

    let root = tempfile::tempdir().unwrap();
    let tern = Tern::launch(&root.path().join("tern-data"), None, UNLIMITED, &[], false);
    let info = tern.info();
    let token = tern.token(&info);
    let (s, app) = post_json(
        &format!("{}/api/v2/clients", tern.base),
        Some(&token),
        &json!({"name": "app", "app_type": "regular_web", "grant_types": ["password", PASSWORD_REALM]}),
    );
    assert_eq!(s, 201, "{app}");
    let (s, c) = post_json(
        &format!("{}/api/v2/connections", tern.base),
        Some(&token),
        &json!({"name": "supabase", "strategy": "auth0", "enabled_clients": [app["client_id"]]}),
    );
    assert_eq!(s, 201, "{c}");
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "import",
            &supa.url(),
            "--connection",
            "supabase",
            "--from",
            "supabase",
        ])
        .args(["--domain", &tern.base])
        .args(["--client-id", info["client_id"].as_str().unwrap()])
        .args(["--client-secret", info["client_secret"].as_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{summary}");
    assert!(
        stdout.contains(": UNCONVERTIBLE_ROW: user "),
        "the deleted user: {summary}"
    );
    assert!(
        stdout.contains("  total 5, inserted 4, updated 0, failed 1\n"),
        "{summary}"
    );
    assert!(
        stdout.contains("  password hashes: bcrypt 4\n"),
        "{summary}"
    );
    let logins: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("logins.json")).unwrap()).unwrap();
    check_logins(&tern, &app, "supabase", &logins["supabase-users.csv"]);
    let u = user(&tern, &token, "supa1@example.com");
    assert_eq!(u["phone_number"], "+15555550100");
    assert_eq!(
        user(&tern, &token, "supa0@example.com")["user_metadata"]["team"],
        "a, b"
    );
}

#[test]
fn missing_or_misplaced_platform_flags_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "import",
            &fixture("firebase-users.json"),
            "--connection",
            "x",
        ])
        .args(["--from", "firebase", "--domain", "http://127.0.0.1:9"])
        .args(["--client-id", "a", "--client-secret", "b"])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("base64_signer_key"), "{stderr}");
    // A platform's flag given to another is refused, not ignored.
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "import",
            &fixture("keycloak-realm.json"),
            "--connection",
            "x",
        ])
        .args([
            "--from",
            "keycloak",
            "--rounds",
            "8",
            "--domain",
            "http://127.0.0.1:9",
        ])
        .args(["--client-id", "a", "--client-secret", "b"])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--rounds goes with --from firebase"),
        "{stderr}"
    );
}
