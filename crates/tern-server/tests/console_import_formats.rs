#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's Imports page reads other platforms' exports, as
//! `tern import --from` does: each export of `crates/tern/tests/fixtures/platforms`
//! (built by its `gen_exports.py` in the platform's documented shape, with
//! hashes from independent tools) is uploaded through the console as a
//! browser posts the form (session cookie, CSRF token, multipart with the
//! fields in form order and an empty file part for a file input left
//! empty), dry run first — hash formats and second factors counted, nothing
//! written — then for real, split into several jobs; the failed rows keep
//! their index in the original file, and every user logs in as the export
//! says (a token, `mfa_required`, or blocked). On SQLite and PostgreSQL.

mod common;

use common::browser::{Browser, csrf};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tern/tests/fixtures/platforms/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first operator, signed in through the setup link and Tern's login.
async fn operator(h: &Harness) -> Browser {
    h.console_operator(OPERATOR, OPERATOR_PASSWORD).await
}

/// A part of the form: a text field, or a file (name, bytes).
enum Part {
    Text(&'static str, String),
    File(&'static str, &'static str, Vec<u8>),
}

/// Post the import form as Chromium does: every field in form order, a
/// file input left empty as a part with an empty file name and no bytes.
async fn post(
    b: &mut Browser,
    query: &str,
    parts: Vec<Part>,
) -> (StatusCode, Option<String>, String) {
    let mut form = reqwest::multipart::Form::new();
    for p in parts {
        form = match p {
            Part::Text(k, v) => form.text(k, v),
            Part::File(k, name, bytes) => form.part(
                k,
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(name)
                    .mime_str("application/octet-stream")
                    .unwrap(),
            ),
        };
    }
    let r = b
        .post_multipart(&format!("/console/imports{query}"), form)
        .await;
    let location = r.location();
    (r.status, location, r.body)
}

/// The page of an import once nothing moves (it stops reloading itself).
async fn settled(b: &mut Browser, path: &str) -> String {
    for _ in 0..600 {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import never settled");
}

/// One export: its file, the source format and side inputs, the hash
/// formats and second factors its dry run must count, the rows it refuses.
struct Case {
    file: &'static str,
    source: &'static str,
    hash_config: Option<&'static str>,
    password_hashes: Option<&'static str>,
    formats: &'static [(&'static str, u64)],
    carried: &'static [(&'static str, u64)],
    left_behind: &'static [&'static str],
    refused: &'static [(u64, &'static str)],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            file: "firebase-users.json",
            source: "firebase",
            hash_config: Some("firebase-hash-config.txt"),
            password_hashes: None,
            formats: &[("firebase-scrypt", 4), ("no password", 1)],
            carried: &[("phone", 1)],
            left_behind: &[
                "Firebase TOTP factor: the export holds no secret (the user enrols again)",
            ],
            refused: &[],
        },
        Case {
            file: "auth0-users.ndjson",
            source: "auth0-export",
            hash_config: None,
            password_hashes: Some("auth0-password-hashes.ndjson"),
            formats: &[("bcrypt", 3)],
            carried: &[],
            left_behind: &[],
            refused: &[],
        },
        Case {
            file: "keycloak-realm.json",
            source: "keycloak",
            hash_config: None,
            password_hashes: None,
            formats: &[("keycloak", 5)],
            carried: &[("totp", 1)],
            left_behind: &[
                "Keycloak OTP credential other than a 6-digit, 30 s, SHA-1 TOTP (HOTP or other settings)",
            ],
            refused: &[],
        },
        Case {
            file: "kratos-identities.json",
            source: "kratos",
            hash_config: None,
            password_hashes: None,
            formats: &[("argon2id", 1), ("bcrypt", 3), ("pbkdf2-sha256", 1)],
            carried: &[("totp", 1)],
            left_behind: &["Kratos WebAuthn credential (bound to the old origin)"],
            refused: &[],
        },
        Case {
            file: "supabase-users.csv",
            source: "supabase",
            hash_config: None,
            password_hashes: None,
            formats: &[("bcrypt", 4)],
            carried: &[],
            left_behind: &[],
            refused: &[(4, "UNCONVERTIBLE_ROW")],
        },
        Case {
            file: "supabase-users.json",
            source: "supabase",
            hash_config: None,
            password_hashes: None,
            formats: &[("bcrypt", 4)],
            carried: &[],
            left_behind: &[],
            refused: &[(4, "UNCONVERTIBLE_ROW")],
        },
    ]
}

/// The form's parts for `case` into `conn`, in the page's order.
fn parts(token: &str, conn: &str, case: &Case) -> Vec<Part> {
    vec![
        Part::Text("csrf", token.into()),
        Part::Text("connection_id", conn.into()),
        Part::Text("source", case.source.into()),
        Part::Text(
            "hash_config",
            case.hash_config
                .map(|f| String::from_utf8(fixture(f)).unwrap())
                .unwrap_or_default(),
        ),
        match case.password_hashes {
            Some(f) => Part::File("password_hashes", f, fixture(f)),
            None => Part::File("password_hashes", "", Vec::new()),
        },
        Part::File("users", case.file, fixture(case.file)),
    ]
}

async fn user_total(h: &Harness, token: &str) -> u64 {
    let (s, v) = h
        .api(
            token,
            Method::GET,
            "/users?include_totals=true&per_page=1",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["total"].as_u64().unwrap()
}

/// The realm roles of the Keycloak export (read here from the fixture as
/// Keycloak wrote it) are the users' Tern roles: `kc0` holds the composite
/// "admin" and so the "staff" it contains; the built-in roles are left
/// behind; each role has the realm's description. Its rows went through
/// several jobs, side by side: each role was made once.
async fn keycloak_roles_given(h: &Harness, t: &str) {
    let realm: Value = serde_json::from_slice(&fixture("keycloak-realm.json")).unwrap();
    let description = |name: &str| -> String {
        let roles = realm["roles"]["realm"].as_array().unwrap();
        let role = roles.iter().find(|r| r["name"] == name).unwrap();
        role["description"].as_str().unwrap().to_string()
    };
    let (s, roles) = h.api(t, Method::GET, "/roles", None).await;
    assert_eq!(s, StatusCode::OK, "{roles}");
    let found = common::pairs(&roles, "name", "description");
    let want: Vec<(String, String)> = ["admin", "staff"]
        .iter()
        .map(|n| (n.to_string(), description(n)))
        .collect();
    assert_eq!(found, want);
    let kc0 = realm["users"][0]["id"].as_str().unwrap();
    let (s, held) = h
        .api(t, Method::GET, &format!("/users/auth0|{kc0}/roles"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{held}");
    let mut names: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "staff"]);
}

/// How many role assignments the tenant holds, over every role.
async fn role_assignments(h: &Harness, t: &str) -> u64 {
    let (_, roles) = h.api(t, Method::GET, "/roles", None).await;
    let mut n = 0;
    for role in roles.as_array().unwrap() {
        let path = format!("/roles/{}/users?per_page=100", role["id"].as_str().unwrap());
        let (s, users) = h.api(t, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{users}");
        n += users.as_array().unwrap().len() as u64;
    }
    n
}

async fn platform_exports_through_the_console(backend: Backend) {
    // Small job files: an export is cut into several jobs.
    let h = Harness::start_with(backend, |c| c.import.max_file_bytes = 1024).await;
    let t = h.admin_token().await;
    h.exempt_loopback_from_ip_throttling(&t).await;
    let (s, app) = h
        .api(&t, Method::POST, "/clients", Some(json!({"name": "app", "app_type": "regular_web",
            "grant_types": ["password", PASSWORD_REALM, "http://auth0.com/oauth/grant-type/mfa-otp"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{app}");
    let mut b = operator(&h).await;
    let list = b.get("/console/imports").await;
    let token = csrf(&list.body);
    // The select lists Auth0's own file and every `--from` platform, each
    // with what it carries and leaves behind.
    for name in [
        "auth0",
        "firebase",
        "auth0-export",
        "keycloak",
        "kratos",
        "supabase",
    ] {
        assert!(
            list.body.contains(&format!("<option value=\"{name}\"")),
            "{name}: {}",
            list.body
        );
    }
    assert!(
        list.body
            .contains("Left behind: TOTP factors (the export holds no secret")
    );
    let logins: Value = serde_json::from_slice(&fixture("logins.json")).unwrap();

    for case in cases() {
        let name = case.file.replace('.', "-");
        let (s, c) = h
            .api(&t, Method::POST, "/connections", Some(json!({"name": name, "strategy": "auth0", "enabled_clients": [app["client_id"]]})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let conn = c["id"].as_str().unwrap().to_string();

        // The dry run counts formats and second factors and writes nothing.
        let before = user_total(&h, &t).await;
        let (_, roles_before) = h.api(&t, Method::GET, "/roles", None).await;
        let (s, loc, body) = post(&mut b, "?dry_run=true", parts(&token, &conn, &case)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{}: {body}", case.file);
        let dry = settled(&mut b, &loc.unwrap()).await;
        let shown = format!("{}: {dry}", case.file);
        assert!(dry.contains("dry run: nothing is written"), "{shown}");
        assert!(
            dry.contains(&format!("data-source=\"{}\"", case.source)),
            "{shown}"
        );
        for (format, n) in case.formats {
            assert!(
                dry.contains(&format!(
                    "data-format=\"{format}\"><td>{format}</td><td class=\"num\">{n}<"
                )),
                "{format} {n}: {shown}"
            );
        }
        assert_eq!(
            dry.matches("data-format=").count(),
            case.formats.len(),
            "{shown}"
        );
        for (kind, n) in case.carried {
            assert!(
                dry.contains(&format!(
                    "data-carried=\"{kind}\"><td>{kind}</td><td>carried</td><td class=\"num\">{n}<"
                )),
                "{kind}: {shown}"
            );
        }
        for why in case.left_behind {
            assert!(
                dry.contains(&format!("data-left-behind=\"{why}\"")),
                "{why}: {shown}"
            );
        }
        assert_eq!(
            dry.contains("id=\"factors\""),
            !case.carried.is_empty() || !case.left_behind.is_empty(),
            "{shown}"
        );
        for (index, code) in case.refused {
            assert!(dry.contains(&format!("data-index=\"{index}\"")), "{shown}");
            assert!(dry.contains(code), "{shown}");
        }
        assert_eq!(user_total(&h, &t).await, before, "{shown}");
        // Keycloak's realm roles: the dry run names the roles it would
        // create and counts the assignments (compared with the real
        // import's below); any other export names none.
        let would_give = dry
            .split("data-would-give=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|n| n.parse::<u64>().unwrap());
        if case.source == "keycloak" {
            for role in ["admin", "staff"] {
                assert!(
                    dry.contains(&format!("data-would-create=\"{role}\"")),
                    "{shown}"
                );
            }
            assert!(would_give.is_some_and(|n| n > 0), "{shown}");
        } else {
            assert!(!dry.contains("id=\"roles\""), "{shown}");
        }
        let (_, roles) = h.api(&t, Method::GET, "/roles", None).await;
        assert_eq!(roles, roles_before, "the dry run created no role: {shown}");

        // The import itself: several jobs, the refused rows by file index.
        let (s, loc, body) = post(&mut b, "", parts(&token, &conn, &case)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{}: {body}", case.file);
        let page = settled(&mut b, &loc.unwrap()).await;
        let shown = format!("{}: {page}", case.file);
        // Exports larger than a few job files are split (Auth0's three
        // rows fit in one).
        if fixture(case.file).len() > 3 * 1024 {
            assert!(
                page.matches("data-job=").count() > 1,
                "several jobs: {shown}"
            );
        }
        assert!(
            page.contains(&format!("id=\"rows-failed\">{}<", case.refused.len())),
            "{shown}"
        );
        let rows: u64 = case.formats.iter().map(|(_, n)| n).sum();
        assert!(
            page.contains(&format!("id=\"rows-inserted\">{rows}<")),
            "{shown}"
        );
        for (index, code) in case.refused {
            let at = page.find(&format!("data-index=\"{index}\"")).expect(&shown);
            assert!(page[at..].contains(code), "{shown}");
        }

        // Every user logs in as the export says.
        for user in logins[case.file].as_array().unwrap() {
            let (s, r) = h
                .token(
                    json!({"grant_type": PASSWORD_REALM, "client_id": app["client_id"],
                    "client_secret": app["client_secret"], "username": user["email"],
                    "password": user["password"], "realm": name}),
                )
                .await;
            let who = format!("{} {}: {r}", case.file, user["email"]);
            match user["expect"].as_str().unwrap() {
                "token" => assert_eq!(s, StatusCode::OK, "{who}"),
                "mfa" => assert_eq!(
                    (s, r["error"].as_str()),
                    (StatusCode::FORBIDDEN, Some("mfa_required")),
                    "{who}"
                ),
                _ => assert_eq!(
                    (s, r["error"].as_str()),
                    (StatusCode::UNAUTHORIZED, Some("unauthorized")),
                    "{who}"
                ),
            }
        }
        if case.source == "keycloak" {
            keycloak_roles_given(&h, &t).await;
            assert_eq!(Some(role_assignments(&h, &t).await), would_give, "{shown}");
        }
    }

    // What a format needs, missing or wrong: the form again with the reason,
    // nothing queued.
    let conn = h.info.connection_id.clone();
    let imports = |body: &str| body.matches("href=\"/console/imports/imp_").count();
    let listed = imports(&b.get("/console/imports").await.body);
    let firebase = &cases()[0];
    let mut no_params = parts(&token, &conn, firebase);
    no_params[3] = Part::Text("hash_config", String::new());
    let (s, _, body) = post(&mut b, "", no_params).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("base64_signer_key"), "{body}");
    let mut unknown = parts(&token, &conn, firebase);
    unknown[2] = Part::Text("source", "okta".into());
    let (s, _, body) = post(&mut b, "", unknown).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Choose a source format"), "{body}");
    let mut not_hashes = parts(&token, &conn, &cases()[1]);
    not_hashes[4] = Part::File("password_hashes", "x.ndjson", b"{not json\n".to_vec());
    let (s, _, body) = post(&mut b, "", not_hashes).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("line 1 is not JSON"), "{body}");
    // Without the CSRF token: refused.
    let mut forged = parts(&token, &conn, &cases()[2]);
    forged[0] = Part::Text("csrf", "0".repeat(64));
    let (s, _, _) = post(&mut b, "", forged).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The upload has no size limit (its file is streamed), so the form's
    // text fields are read up to a bound, never whole.
    let mut long = parts(&token, &conn, &cases()[2]);
    long[3] = Part::Text("hash_config", "x".repeat(20_000));
    let (s, _, body) = post(&mut b, "", long).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("A form field of the upload is longer than 16384 bytes."),
        "{body}"
    );
    assert_eq!(imports(&b.get("/console/imports").await.body), listed);
    h.stop().await;
}

both_backends!(platform_exports_through_the_console);
