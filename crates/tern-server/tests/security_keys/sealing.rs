//! Private keys sealed at rest, also those an earlier version stored in clear.

use reqwest::StatusCode;
use sqlx::Row;

use crate::common::{Backend, Harness};
use crate::{
    clients_with, contains, db, jwks_at, kid_of, kids, modulus_hex, openssl, sqlite_bytes,
};

const SEALED_PREFIX: &str = "$tern-sealed$v1$";

/// Private keys never reach the database in clear.
async fn keys_are_sealed_at_rest(b: Backend) {
    let h = Harness::start(b).await;
    h.create_user(&h.admin_token().await, "ann@example.com", "Secret-123")
        .await;
    let pool = db(&h).await;
    let rows = sqlx::query("SELECT kid, private_pem, sealed_key FROM signing_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "a current and a next key");
    for r in &rows {
        let clear: String = r.get("private_pem");
        let sealed: String = r.get("sealed_key");
        assert_eq!(clear, "", "no clear private key");
        assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
        assert!(!sealed.contains("PRIVATE KEY"));
    }
    pool.close().await;
    if b == Backend::Sqlite {
        assert!(!contains(&sqlite_bytes(&h), "PRIVATE KEY"));
    }
    h.stop().await;
}

/// A key an earlier version stored in clear is sealed at start, its clear
/// text gone from the database (for SQLite: from the file's bytes), and it
/// keeps signing.
async fn clear_keys_of_earlier_versions_are_sealed_at_start(b: Backend) {
    let h = Harness::start(b).await;
    let pem = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        "",
    );
    let body_lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let modulus = openssl(&["rsa", "-noout", "-modulus"], &pem);

    // What migration 0007 leaves of a key stored before sealing existed:
    // the PEM in `private_pem`, no sealed value, no certificate, current.
    let pool = db(&h).await;
    let tenant: String = sqlx::query("SELECT id FROM tenants")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("id");
    sqlx::query("DELETE FROM signing_keys")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO signing_keys (tenant_id, kid, private_pem, created_at, state, current_since) VALUES ($1, 'legacy-kid', $2, '2024-01-01T00:00:00.000Z', 'current', '2024-01-01T00:00:00.000Z')")
        .bind(&tenant)
        .bind(&pem)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    if b == Backend::Sqlite {
        // The check below can see a clear key where there is one.
        assert!(
            contains(&sqlite_bytes(&h), body_lines[3]),
            "the fixture is on disk"
        );
    }

    let h = h.restart(|_| {}).await;
    let pool = db(&h).await;
    for r in sqlx::query("SELECT kid, private_pem, sealed_key, cert_pem FROM signing_keys")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        let clear: String = r.get("private_pem");
        assert_eq!(clear, "", "clear column emptied");
        for col in ["sealed_key", "cert_pem"] {
            let v: String = r.get(col);
            assert!(body_lines.iter().all(|l| !v.contains(l)), "{col}");
        }
    }
    pool.close().await;
    if b == Backend::Sqlite {
        let bytes = sqlite_bytes(&h);
        assert!(!contains(&bytes, "PRIVATE KEY"));
        for line in &body_lines {
            assert!(
                !contains(&bytes, line),
                "a line of the clear key is still in the file"
            );
        }
    }

    // Still the signing key, with the same public key.
    let t = h.admin_token().await;
    assert_eq!(kid_of(&t), "legacy-kid");
    assert_eq!(clients_with(&h, &h.base, &t).await.0, StatusCode::OK);
    let jwks = jwks_at(&h, &h.base).await;
    let legacy = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == "legacy-kid")
        .expect("published");
    assert_eq!(modulus.trim(), format!("Modulus={}", modulus_hex(legacy)));
    assert_eq!(kids(&jwks).len(), 2, "a next key was created beside it");
    h.stop().await;
}

crate::both_backends!(
    keys_are_sealed_at_rest,
    clear_keys_of_earlier_versions_are_sealed_at_start,
);
