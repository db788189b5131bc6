#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The official Auth0 SDKs (npm `auth0` 7, PyPI `auth0-python` 6) as clients of
//! a real Tern, on both backends. The suites live in `tests/sdk/`; this test
//! starts the server and runs them (`scripts/test` installs their dependencies).

mod common;

use common::{Backend, Harness};

async fn official_sdks(b: Backend) {
    let h = Harness::start(b).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk");
    assert!(
        root.join("node/node_modules/auth0").exists() && root.join("python/.venv").exists(),
        "SDK dependencies are missing: run `bash tests/sdk/install.sh` (scripts/test does)"
    );
    let out = tokio::process::Command::new("bash")
        .arg(root.join("run.sh"))
        .env("TERN_DOMAIN", &h.info.domain)
        .env("TERN_CLIENT_ID", &h.info.client_id)
        .env("TERN_CLIENT_SECRET", &h.info.client_secret)
        .env("TERN_AUDIENCE", &h.info.audience)
        .env(
            "TERN_CONNECTION",
            tern_server::bootstrap::DEFAULT_CONNECTION,
        )
        .env("TERN_CONNECTION_ID", &h.info.connection_id)
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK suites failed on {b:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    h.stop().await;
}

both_backends!(official_sdks);
