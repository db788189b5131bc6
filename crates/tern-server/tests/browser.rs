#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Real client libraries in a real browser against a real Tern: the Node
//! suites in `tests/browser/` (`openid-client` 6, `@auth0/auth0-spa-js` 2,
//! an `express-openid-connect` 3 application — with a user imported with a
//! TOTP enrolment — all with `playwright-core` driving Debian's
//! `/usr/bin/chromium`). Tern runs with the public URL
//! `http://localhost:PORT` so the browser reaches the issuer it advertises;
//! a legacy user store (`examples/legacy-api`, behind Tern's HTTP connector)
//! is started so a user can be migrated lazily through the hosted login page.
//! Mail goes over SMTP to a port the signup and reset suite listens on, so
//! it can open the reset link it was mailed.
//! `scripts/test` installs the dependencies (`tests/browser/install.sh`).

mod common;

use common::legacy::{
    LegacyApi, REALM, http_connector, legacy_connection, protect_legacy_api, seed_user, tern_user,
};
use common::{Backend, Harness, free_port};

async fn browser_suites(b: Backend) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        root.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "browser suite dependencies are missing: run `bash tests/browser/install.sh` (scripts/test does)"
    );
    let port = free_port();
    let smtp_port = free_port();
    let h = Harness::start_with(b, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://localhost:{port}"));
        c.smtp.url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
        c.smtp.from = "Tern <tern@example.com>".into();
    })
    .await;
    let t = h.admin_token().await;
    let mut legacy = LegacyApi::start(&h).await;
    let (connector_id, connector_secret) = protect_legacy_api(&h, &t).await;
    let (connection_id, _, _) = legacy_connection(
        &h,
        &t,
        http_connector(&legacy.url(), &connector_id, serde_json::json!({})),
        &connector_secret,
    )
    .await;
    let user = seed_user("ada");
    // A user who arrives with an authenticator app (the seed is RFC 6238's
    // key); the express suite computes their codes itself.
    let (totp_email, totp_password, totp_seed) = (
        "totp-user@example.com",
        "Totp-Browser-Suite-9",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    );
    h.import_rows(
        &t,
        &serde_json::json!([{"email": totp_email, "email_verified": true,
            "password_hash": bcrypt::hash(totp_password, 4).unwrap(),
            "mfa_factors": [{"totp": {"secret": totp_seed}}]}]),
    )
    .await;
    // Not yet migrated: one tries to sign up again, one resets their password.
    let taken = seed_user("alan");
    let resetting = seed_user("grace");
    let out = tokio::process::Command::new("bash")
        .arg(root.join("run.sh"))
        .env("TERN_ISSUER", h.state().issuer())
        .env("TERN_ADMIN_CLIENT_ID", &h.info.client_id)
        .env("TERN_ADMIN_CLIENT_SECRET", &h.info.client_secret)
        .env("TERN_AUDIENCE", &h.info.audience)
        .env("TERN_DEFAULT_CONNECTION_ID", &h.info.connection_id)
        .env("TERN_LEGACY_CONNECTION", REALM)
        .env("TERN_LEGACY_CONNECTION_ID", &connection_id)
        .env("TERN_LEGACY_EMAIL", &user.email)
        .env("TERN_LEGACY_PASSWORD", &user.password)
        .env("TERN_TOTP_EMAIL", totp_email)
        .env("TERN_TOTP_PASSWORD", totp_password)
        .env("TERN_TOTP_SEED", totp_seed)
        .env("TERN_SMTP_PORT", smtp_port.to_string())
        .env("TERN_LEGACY_SIGNUP_EMAIL", &taken.email)
        .env("TERN_LEGACY_RESET_EMAIL", &resetting.email)
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser suites failed on {b:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The legacy user was migrated by the hosted login: stored in Tern with
    // the typed password, and the legacy store was told.
    let migrated = tern_user(&h, user.id).await.expect("migrated into Tern");
    assert_eq!(migrated.source, tern_core::model::UserSource::LazyLogin);
    assert!(migrated.credential.is_some());
    legacy.wait_migrated(&user.email).await;
    // The signup as a legacy user made nobody; the reset made the legacy
    // user, with the new password.
    assert!(tern_user(&h, taken.id).await.is_none());
    let reset = tern_user(&h, resetting.id)
        .await
        .expect("created by the reset");
    assert!(reset.credential.is_some());
    legacy.stop().await;
    h.stop().await;
}

/// One Chromium at a time (CI has two cores): both backends in one test, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_suites_on_both_backends() {
    browser_suites(Backend::Sqlite).await;
    browser_suites(Backend::Postgres).await;
}
