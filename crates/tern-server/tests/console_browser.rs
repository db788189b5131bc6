#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's operations pages in a real headless Chromium
//! (`tests/browser/console_ops.console.mjs`, playwright-core driving
//! Debian's `/usr/bin/chromium`): the first operator signs in through the
//! setup link, uploads an import file with a bad row and sees that row's
//! error, sees the overview's numbers move, reads the logs, finds a user
//! and blocks and unblocks them. Screenshots of every page go to
//! `target/console-screenshots/<backend>/` (printed; CI keeps them as
//! artifacts). `scripts/test` installs the dependencies.

mod common;

use common::{Backend, Harness};
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn console_in_chromium(b: Backend) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        root.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "browser suite dependencies are missing: run `bash tests/browser/install.sh` (scripts/test does)"
    );
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/console-screenshots")
        .join(format!("{b:?}").to_lowercase());
    std::fs::create_dir_all(&shots).unwrap();
    let shots = shots.canonicalize().unwrap();
    println!("console screenshots: {}", shots.display());
    let port = free_port();
    let h = Harness::start_with(b, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://localhost:{port}"));
    })
    .await;
    let t = h.admin_token().await;
    h.create_user(&t, "ada@example.com", "Correct-Horse-7-Battery")
        .await;
    // Five rows, the third without a valid email.
    let hash = bcrypt::hash("Imported-Pass-9", 4).unwrap();
    let mut file = String::new();
    for i in 0..5 {
        let email = if i == 2 {
            "not-an-email".to_string()
        } else {
            format!("imported{i}@example.com")
        };
        file.push_str(&format!(
            "{}\n",
            json!({"email": email, "email_verified": true, "password_hash": hash})
        ));
    }
    let import = h.dir.path().join("users.ndjson");
    std::fs::write(&import, file).unwrap();
    let (_, conn) = h
        .api(
            &t,
            reqwest::Method::GET,
            &format!("/connections/{}", h.info.connection_id),
            None,
        )
        .await;
    let out = tokio::process::Command::new("node")
        .current_dir(&root)
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "console_ops.console.mjs",
        ])
        .env("TERN_ISSUER", h.state().issuer())
        .env(
            "TERN_CONSOLE_SETUP_URL",
            h.info.console_setup_url.clone().unwrap(),
        )
        .env("TERN_IMPORT_FILE", &import)
        .env("TERN_IMPORT_CONNECTION", conn["name"].as_str().unwrap())
        .env("TERN_CONSOLE_USER", "ada@example.com")
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
    // What the clicks did, seen from the Management API.
    for i in [0, 1, 3, 4] {
        let (_, found) = h
            .api(
                &t,
                reqwest::Method::GET,
                &format!("/users?q=email:imported{i}@example.com"),
                None,
            )
            .await;
        assert_eq!(found.as_array().unwrap().len(), 1, "imported{i}");
    }
    let (_, ada) = h
        .api(
            &t,
            reqwest::Method::GET,
            "/users?q=email:ada@example.com",
            None,
        )
        .await;
    assert_ne!(
        ada[0]["blocked"],
        json!(true),
        "blocked then unblocked: {ada}"
    );
    let (_, logs) = h
        .api(&t, reqwest::Method::GET, "/logs?q=type:sapi", None)
        .await;
    for what in [
        "Console: user blocked",
        "Console: user unblocked",
        "Console: import started",
    ] {
        assert!(
            logs.as_array()
                .unwrap()
                .iter()
                .any(|l| l["description"] == what),
            "{what}: {logs}"
        );
    }
    for name in [
        "02-overview-before",
        "05-import",
        "07-logs",
        "08-user-blocked",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
    h.stop().await;
}

/// One Chromium at a time (CI has two cores): both backends in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_chromium_on_both_backends() {
    console_in_chromium(Backend::Sqlite).await;
    console_in_chromium(Backend::Postgres).await;
}
