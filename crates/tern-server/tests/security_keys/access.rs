//! A deleted client's tokens refused; the data directory owner-only.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, Harness};
use crate::{clients_with, m2m_with};

/// A Management API token whose client was deleted is refused; one whose
/// client's secret was rotated still works until it expires, as in Auth0.
async fn deleted_client_tokens_are_refused(b: Backend) {
    let h = Harness::start(b).await;
    let admin = h.admin_token().await;
    let (token, id) = m2m_with(&h, &admin, "doomed", &["read:clients"]).await;
    assert_eq!(clients_with(&h, &h.base, &token).await.0, StatusCode::OK);
    let (s, _) = h
        .api(
            &admin,
            Method::POST,
            &format!("/clients/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        clients_with(&h, &h.base, &token).await.0,
        StatusCode::OK,
        "Auth0 keeps tokens across a secret rotation"
    );
    let (s, _) = h
        .api(&admin, Method::DELETE, &format!("/clients/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = clients_with(&h, &h.base, &token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    assert_eq!(
        (e["statusCode"].clone(), e["errorCode"].clone()),
        (json!(401), json!("invalid_token"))
    );
    assert!(e["message"].as_str().unwrap().contains("deleted"), "{e}");
    h.stop().await;
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The data directory is 0700 and every file Tern writes there 0600 —
/// SQLite's `-wal` and `-shm` too — and an older, looser directory is
/// tightened at start; a file that is not Tern's is left alone.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("tern-data");
    let d = data.clone();
    let h = Harness::start_with(Backend::Sqlite, move |c| c.data_dir = d).await;
    h.create_user(&h.admin_token().await, "ann@example.com", "Secret-123")
        .await;
    let files = [
        "tern.db",
        "tern.db-wal",
        "tern.db-shm",
        "secrets.key",
        "bootstrap.json",
    ];
    assert_eq!(mode(&data), 0o700, "data dir");
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }

    // As an earlier version left it: readable by everyone.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("notes.txt"), "x").unwrap();
    for f in files.iter().chain(&["notes.txt"]) {
        std::fs::set_permissions(data.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let h = h.restart(|_| {}).await;
    h.create_user(&h.admin_token().await, "bob@example.com", "Secret-123")
        .await;
    assert_eq!(mode(&data), 0o700, "data dir tightened");
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f} tightened");
    }
    // Not Tern's: left as the operator made it.
    assert_eq!(mode(&data.join("notes.txt")), 0o644);
    h.stop().await;
}

crate::both_backends!(deleted_client_tokens_are_refused);
