#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console in a real browser: `tests/browser/console/connections.test.mjs`
//! (`playwright-core` driving Debian's `/usr/bin/chromium`) runs a whole lazy
//! migration by clicking — setup link, a custom-database connection against
//! a legacy PostgreSQL table, the Try panel, an application, a user
//! migrating through Tern's hosted login, the overview, the cut-over, the
//! user found — and saves a screenshot of each page in
//! `target/console-screenshots/connections/<backend>/` (printed; CI keeps them).
//! Tern runs with the public URL `http://localhost:PORT`, so the browser
//! reaches the issuer it advertises. `scripts/test` installs the
//! dependencies (`tests/browser/install.sh`).

mod common;

use common::{Backend, Harness, PgDatabase};

const EMAIL: &str = "grace@legacy.example";
const PASSWORD: &str = "Legacy-Pass-77";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn psql(url: &str, sql: &str) {
    let ok = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{sql}");
}

async fn console_by_clicking(b: Backend) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        root.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "browser suite dependencies are missing: run `bash tests/browser/install.sh` (scripts/test does)"
    );
    // The legacy store: a PostgreSQL table in the shape of the console's
    // PostgreSQL template, one user with a bcrypt hash.
    let legacy = PgDatabase::create();
    psql(
        &legacy.url(),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT, password TEXT)",
    );
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    psql(
        &legacy.url(),
        &format!("INSERT INTO users VALUES (42, '{EMAIL}', 'grace', '{hash}')"),
    );
    let port = free_port();
    let h = Harness::start_with(b, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://localhost:{port}"));
    })
    .await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/console-screenshots/connections")
        .join(format!("{b:?}").to_lowercase());
    println!("console screenshots: {}", shots.display());
    let out = tokio::process::Command::new("node")
        .current_dir(&root)
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "console/connections.test.mjs",
        ])
        .env("TERN_ISSUER", h.state().issuer())
        .env(
            "TERN_CONSOLE_SETUP_URL",
            h.info.console_setup_url.clone().expect("a setup link"),
        )
        .env("TERN_LEGACY_PG_URL", legacy.url())
        .env("TERN_LEGACY_EMAIL", EMAIL)
        .env("TERN_LEGACY_PASSWORD", PASSWORD)
        .env("TERN_SCREENSHOTS", &shots)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "console browser suite failed on {b:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The user the browser signed in is in Tern, migrated lazily with a
    // credential of its own; the connection's scripts no longer reach the
    // legacy store.
    let user = h
        .state()
        .store
        .get_user(h.state().tid(), "auth0|42")
        .await
        .unwrap()
        .expect("migrated");
    assert_eq!(user.source, tern_core::model::UserSource::LazyLogin);
    assert!(user.credential.is_some_and(|c| c.starts_with("$argon2id$")));
    let c = h
        .state()
        .store
        .get_connection_by_name(h.state().tid(), "legacy-db")
        .await
        .unwrap()
        .unwrap();
    assert!(
        c.options["customScripts"]["login"]
            .as_str()
            .unwrap()
            .contains("The migration is over")
    );
    let pngs = std::fs::read_dir(&shots)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(pngs >= 15, "{pngs} screenshots in {}", shots.display());
    h.stop().await;
}

/// One Chromium at a time (CI has two cores): both backends in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_by_clicking_on_both_backends() {
    console_by_clicking(Backend::Sqlite).await;
    console_by_clicking(Backend::Postgres).await;
}
