#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A whole two-phase migration from the console in a real headless
//! Chromium (`tests/browser/console/migration.test.mjs`, playwright-core
//! driving Debian's `/usr/bin/chromium`): the first operator signs in
//! through the setup link and Tern's own login, creates a custom-database
//! connection against a legacy PostgreSQL table and tries its login
//! script, a legacy user migrates on their first login through an
//! application's `/authorize` flow, an import file with a bad row is
//! uploaded and that row's error shown, the overview's numbers move, the
//! scripts are switched off and the user is found and their session ended
//! from their page. Screenshots of every
//! page go to `target/console-screenshots/<backend>/` (printed; CI keeps
//! them as artifacts). Tern runs with the public URL
//! `http://localhost:PORT`, so the browser reaches the issuer it
//! advertises. `scripts/test` installs the dependencies
//! (`tests/browser/install.sh`).
//!
//! A second suite (`tests/browser/console/actions.test.mjs`) writes a
//! post-login action with a secret, deploys it and binds it, and edits the
//! verification mail's template with its sandboxed preview (and previews
//! unsaved edits and bad Liquid in that frame), by clicking;
//! a password login over HTTP then carries the action's claim and a
//! signup's mail the subject typed (screenshots in
//! `target/console-screenshots/actions-<backend>/`).

mod common;

use common::{Backend, Harness, PgDatabase, free_port};
use serde_json::json;

const EMAIL: &str = "grace@legacy.example";
const PASSWORD: &str = "Legacy-Pass-77";

/// Five users of the legacy store the login script never saw, with their
/// bcrypt hashes; the third without a valid email.
fn import_file(dir: &std::path::Path) -> std::path::PathBuf {
    let hash = bcrypt::hash("Imported-Pass-9", 4).unwrap();
    let mut file = String::new();
    for i in 0..5 {
        let email = if i == 2 {
            "not-an-email".to_string()
        } else {
            format!("imported{i}@legacy.example")
        };
        let row = json!({"email": email, "email_verified": true, "password_hash": hash});
        file.push_str(&format!("{row}\n"));
    }
    let path = dir.join("users.ndjson");
    std::fs::write(&path, file).unwrap();
    path
}

/// A server whose public URL the browser reaches (`http://localhost:PORT`).
async fn browser_harness(b: Backend) -> Harness {
    let port = free_port();
    Harness::start_with(b, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://localhost:{port}"));
    })
    .await
}

/// Run the console suite `file` against `h` with `envs` beside the issuer,
/// the setup link and the screenshot folder, `target/console-screenshots/
/// <name>/` (emptied first: a stale screenshot must not pass for one); the
/// folder.
async fn run_suite(
    h: &Harness,
    file: &str,
    name: &str,
    envs: &[(&str, &std::ffi::OsStr)],
) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        root.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "browser suite dependencies are missing: run `bash tests/browser/install.sh` (scripts/test does)"
    );
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/console-screenshots")
        .join(name);
    let _ = std::fs::remove_dir_all(&shots);
    println!("console screenshots: {}", shots.display());
    let out = tokio::process::Command::new("node")
        .current_dir(&root)
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            file,
        ])
        .env("TERN_ISSUER", h.state().issuer())
        .env(
            "TERN_CONSOLE_SETUP_URL",
            h.info.console_setup_url.clone().expect("a setup link"),
        )
        .env("TERN_SCREENSHOTS", &shots)
        .envs(envs.iter().copied())
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{file} failed on {name}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    shots
}

async fn migration_by_clicking(b: Backend) {
    // The legacy store: a PostgreSQL table in the shape of the console's
    // PostgreSQL template, one user with a bcrypt hash.
    let legacy = PgDatabase::create();
    legacy.run(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT, password TEXT)",
    );
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    legacy.run(&format!(
        "INSERT INTO users VALUES (42, '{EMAIL}', 'grace', '{hash}')"
    ));
    let h = browser_harness(b).await;
    let import = import_file(h.dir.path());
    let pg_url = legacy.url();
    let shots = run_suite(
        &h,
        "console/migration.test.mjs",
        &format!("{b:?}").to_lowercase(),
        &[
            ("TERN_LEGACY_PG_URL", pg_url.as_ref()),
            ("TERN_LEGACY_EMAIL", EMAIL.as_ref()),
            ("TERN_LEGACY_PASSWORD", PASSWORD.as_ref()),
            ("TERN_IMPORT_FILE", import.as_os_str()),
            ("TERN_IMPORTED_EMAIL", "imported0@legacy.example".as_ref()),
        ],
    )
    .await;

    // What the clicks did, seen from the store and the Management API.
    let s = h.state();
    let user = s
        .store
        .get_user(s.tid(), "auth0|42")
        .await
        .unwrap()
        .expect("migrated");
    assert_eq!(user.source, tern_core::model::UserSource::LazyLogin);
    // The session of the user's login was ended from their page.
    let left = s
        .store
        .list_user_sessions(s.tid(), "auth0|42", s.now(), None, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert!(user.credential.is_some_and(|c| c.starts_with("$argon2id$")));
    let c = s
        .store
        .get_connection_by_name(s.tid(), "legacy-db")
        .await
        .unwrap()
        .unwrap();
    assert!(
        c.options["customScripts"]["login"]
            .as_str()
            .unwrap()
            .contains("The migration is over")
    );
    let t = h.admin_token().await;
    for i in [0, 1, 3, 4] {
        let (_, found) = h
            .api(
                &t,
                reqwest::Method::GET,
                &format!("/users?q=email:imported{i}@legacy.example"),
                None,
            )
            .await;
        assert_eq!(found.as_array().unwrap().len(), 1, "imported{i}");
        assert_eq!(found[0]["identities"][0]["connection"], "legacy-db");
        assert_ne!(found[0]["blocked"], json!(true), "unblocked again");
    }
    for what in [
        "Console: user blocked",
        "Console: user unblocked",
        "Console: import started",
        "Console: session ended",
    ] {
        h.console_log(&t, "sapi", what, "ops@example.com").await;
    }
    // The operator signed in at Tern's login, for the console application;
    // the legacy user's first login names them (it created them).
    let (_, logins) = h
        .api(&t, reqwest::Method::GET, "/logs?q=type:s", None)
        .await;
    for (field, value) in [("client_id", "tern-console"), ("user_id", "auth0|42")] {
        assert!(
            logins.as_array().unwrap().iter().any(|l| l[field] == value),
            "a login with {field} {value}: {logins}"
        );
    }
    let pngs: Vec<String> = std::fs::read_dir(&shots)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".png"))
        .collect();
    for page in [
        "console-login",
        "overview-before",
        "connection-try",
        "overview-after-lazy",
        "import",
        "overview-after-import",
        "scripts-off",
        "user-found",
        "user-session-ended",
        "signed-out",
    ] {
        assert!(
            pngs.iter().any(|n| n.ends_with(&format!("-{page}.png"))),
            "{page}: {pngs:?}"
        );
    }
    h.stop().await;
}

/// Roles by clicking (`tests/browser/console/roles.test.mjs`): a role
/// made, given a scope of an API, assigned from a user's page and seen on
/// the role's users tab; the outcome read back through the Management API.
async fn roles_by_clicking(b: Backend) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        root.join("node_modules/playwright-core").exists(),
        "browser suite dependencies are missing: run `bash tests/browser/install.sh`"
    );
    let port = free_port();
    let h = Harness::start_with(b, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://localhost:{port}"));
    })
    .await;
    let t = h.admin_token().await;
    let (s, api) = h
        .api(
            &t,
            reqwest::Method::POST,
            "/resource-servers",
            Some(
                json!({"name": "Orders", "identifier": "https://orders.example/",
                "scopes": [{"value": "read:orders"}, {"value": "write:orders"}]}),
            ),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{api}");
    let (s, user) = h
        .api(
            &t,
            reqwest::Method::POST,
            "/users",
            Some(json!({"connection": "Username-Password-Authentication",
                "email": "clerk@shop.example", "password": "Correct-Horse-7-Battery"})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{user}");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/console-screenshots")
        .join(format!("roles-{b:?}").to_lowercase());
    let _ = std::fs::remove_dir_all(&shots);
    let out = tokio::process::Command::new("node")
        .current_dir(&root)
        .args(["--test", "--test-reporter=spec", "console/roles.test.mjs"])
        .env("TERN_ISSUER", h.state().issuer())
        .env(
            "TERN_CONSOLE_SETUP_URL",
            h.info.console_setup_url.clone().expect("a setup link"),
        )
        .env("TERN_USER_EMAIL", "clerk@shop.example")
        .env("TERN_API_NAME", "Orders")
        .env("TERN_SCOPE", "read:orders")
        .env("TERN_SCREENSHOTS", &shots)
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "roles browser suite failed on {b:?}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let user_id = user["user_id"].as_str().unwrap();
    let (_, roles) = h
        .api(
            &t,
            reqwest::Method::GET,
            &format!("/users/{user_id}/roles"),
            None,
        )
        .await;
    assert_eq!(roles[0]["name"], "Order clerks", "{roles}");
    let role = roles[0]["id"].as_str().unwrap();
    let (_, perms) = h
        .api(
            &t,
            reqwest::Method::GET,
            &format!("/roles/{role}/permissions"),
            None,
        )
        .await;
    assert_eq!(
        perms
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["permission_name"].clone())
            .collect::<Vec<_>>(),
        vec![json!("read:orders")],
        "{perms}"
    );
    let (_, held) = h
        .api(
            &t,
            reqwest::Method::GET,
            &format!("/users/{user_id}/permissions"),
            None,
        )
        .await;
    assert_eq!(
        held[0]["sources"][0]["source_name"], "Order clerks",
        "{held}"
    );
    h.console_log(&t, "sapi", "Console: user role assigned", "ops@example.com")
        .await;
    h.stop().await;
}

/// One Chromium at a time: both backends in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_by_clicking_on_both_backends() {
    roles_by_clicking(Backend::Sqlite).await;
    roles_by_clicking(Backend::Postgres).await;
}

/// One Chromium at a time (CI has two cores): both backends in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_by_clicking_on_both_backends() {
    migration_by_clicking(Backend::Sqlite).await;
    migration_by_clicking(Backend::Postgres).await;
}

/// The action's secret, typed in the browser and read back only from a token.
const TIER: &str = "gold-Wq7-secret";
/// The subject typed for the verification mail.
const SUBJECT: &str = "Welcome aboard {{ user.email }}";

async fn action_and_template_by_clicking(b: Backend) {
    let h = browser_harness(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, "ada@example.com", "Correct-Horse-7-Battery")
        .await;
    let app = h.password_client(&t).await;
    run_suite(
        &h,
        "console/actions.test.mjs",
        &format!("actions-{b:?}").to_lowercase(),
        &[
            ("TERN_ACTION_SECRET", TIER.as_ref()),
            ("TERN_SUBJECT", SUBJECT.as_ref()),
        ],
    )
    .await;

    // The action the clicks wrote, deployed and bound runs on a password login.
    let (s, tokens) = h
        .token(json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": "Username-Password-Authentication",
            "username": "ada@example.com", "password": "Correct-Horse-7-Battery",
            "scope": "openid", "client_id": app.0, "client_secret": app.1,
        }))
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{tokens}");
    let access = common::browser::claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["https://shop.example/tier"], TIER, "{access}");

    // A signup's verification mail has the subject typed in the console.
    let (s, u) = h
        .signup_from(&app.0, "new@example.com", "Sign-up-pa55word", "10.0.0.2")
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{u}");
    let subject = h.mail_to("new@example.com").await.subject;
    assert_eq!(subject, "Welcome aboard new@example.com");
    h.stop().await;
}

/// One Chromium at a time: both backends in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_and_template_by_clicking_on_both_backends() {
    action_and_template_by_clicking(Backend::Sqlite).await;
    action_and_template_by_clicking(Backend::Postgres).await;
}
