//! Auth0's rotation and revocation, the certificates answered, the scopes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;

use crate::common::{Backend, Harness};
use crate::{
    CONN, REALM, clients_with, db, jwks_at, key, kid_of, kids, m2m_with, modulus_hex, openssl, set,
    userinfo,
};

/// Rotate: the next key signs, the previous one still verifies; revoke it:
/// out of the JWKS and its tokens refused by the Management API and
/// `/userinfo`. Only a previous key can be revoked. Scopes as Auth0.
async fn rotation_and_revocation_as_auth0(b: Backend) {
    let h = Harness::start(b).await;
    let t1 = h.admin_token().await;
    let k1 = kid_of(&t1);
    let (s, list) = h.api(&t1, Method::GET, "/keys/signing", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    let current = key(&list, &k1);
    assert_eq!(current["current"], true);
    assert_eq!(
        (
            current["next"].clone(),
            current["previous"].clone(),
            current["revoked"].clone()
        ),
        (json!(false), json!(false), json!(false))
    );
    assert!(current["current_since"].is_string());
    assert!(
        current["cert"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----\r\n")
    );
    assert!(
        current["pkcs7"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PKCS7-----\r\n")
    );
    assert_eq!(current["fingerprint"].as_str().unwrap().len(), 59);
    assert_eq!(
        current["thumbprint"],
        json!(current["fingerprint"].as_str().unwrap().replace(':', ""))
    );
    let k2 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["next"] == true)
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    // Auth0 publishes the next key ahead of use.
    assert_eq!(kids(&jwks_at(&h, &h.base).await), set(&[&k1, &k2]));
    let (s, one) = h
        .api(&t1, Method::GET, &format!("/keys/signing/{k2}"), None)
        .await;
    assert_eq!((s, one["next"].clone()), (StatusCode::OK, json!(true)));

    // A user's token signed by k1.
    h.create_user(&t1, "ann@example.com", "Secret-123").await;
    let (cid, secret) = h.password_client(&t1).await;
    let (s, body) = h
        .token(json!({"grant_type": REALM, "client_id": cid, "client_secret": secret, "realm": CONN,
                      "username": "ann@example.com", "password": "Secret-123", "scope": "openid email"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let u1 = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo(&h, &u1).await.0, StatusCode::OK);

    let (s, rotated) = h.api(&t1, Method::POST, "/keys/signing/rotate", None).await;
    assert_eq!(s, StatusCode::CREATED, "{rotated}");
    let k3 = rotated["kid"].as_str().unwrap().to_string();
    assert!(k3 != k1 && k3 != k2);
    assert!(
        rotated["cert"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let t2 = h.admin_token().await;
    assert_eq!(kid_of(&t2), k2, "the former next key signs");
    let (_, list) = h.api(&t2, Method::GET, "/keys/signing", None).await;
    assert_eq!(key(&list, &k1)["previous"], true);
    assert!(key(&list, &k1)["current_until"].is_string());
    assert_eq!(key(&list, &k2)["current"], true);
    assert_eq!(key(&list, &k3)["next"], true);
    assert_eq!(kids(&jwks_at(&h, &h.base).await), set(&[&k1, &k2, &k3]));
    assert_eq!(
        clients_with(&h, &h.base, &t1).await.0,
        StatusCode::OK,
        "previous key still verifies"
    );
    assert_eq!(userinfo(&h, &u1).await.0, StatusCode::OK);

    // Only a previous key can be revoked.
    for (kid, what) in [(&k2, "current"), (&k3, "next")] {
        let (s, e) = h
            .api(
                &t2,
                Method::PUT,
                &format!("/keys/signing/{kid}/revoke"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["statusCode"], 400);
        assert!(e["message"].as_str().unwrap().contains(what), "{e}");
    }
    let (s, e) = h
        .api(&t2, Method::PUT, "/keys/signing/no-such-kid/revoke", None)
        .await;
    assert_eq!(
        (s, e["errorCode"].clone()),
        (StatusCode::NOT_FOUND, json!("inexistent_signing_key"))
    );
    assert_eq!(
        h.api(&t2, Method::GET, "/keys/signing/no-such-kid", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let (s, revoked) = h
        .api(
            &t2,
            Method::PUT,
            &format!("/keys/signing/{k1}/revoke"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["kid"], json!(k1));
    assert!(revoked["cert"].is_string());
    assert_eq!(kids(&jwks_at(&h, &h.base).await), set(&[&k2, &k3]));
    let (s, e) = clients_with(&h, &h.base, &t1).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    assert_eq!(e["errorCode"], "invalid_token");
    assert!(e["message"].as_str().unwrap().contains("revoked"), "{e}");
    assert_eq!(userinfo(&h, &u1).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(clients_with(&h, &h.base, &t2).await.0, StatusCode::OK);
    let (_, got) = h
        .api(&t2, Method::GET, &format!("/keys/signing/{k1}"), None)
        .await;
    assert_eq!(
        (got["revoked"].clone(), got["previous"].clone()),
        (json!(true), json!(false))
    );
    assert!(got["revoked_at"].is_string());
    let (s, _) = h
        .api(
            &t2,
            Method::PUT,
            &format!("/keys/signing/{k1}/revoke"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "already revoked");

    // The revoked key's private half is erased.
    let pool = db(&h).await;
    let r = sqlx::query("SELECT sealed_key, private_pem FROM signing_keys WHERE kid = $1")
        .bind(&k1)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (
            r.get::<String, _>("sealed_key"),
            r.get::<String, _>("private_pem")
        ),
        (String::new(), String::new())
    );
    pool.close().await;

    // Writes are in the tenant log.
    let (_, logs) = h.api(&t2, Method::GET, "/logs?q=type:sapi", None).await;
    let said: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["description"].as_str())
        .collect();
    assert!(
        said.iter().any(|d| d.contains("/keys/signing/rotate")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|d| d.contains(&format!("/keys/signing/{k1}/revoke"))),
        "{said:?}"
    );

    // Scopes as Auth0: reading, rotating (create + update), revoking (update).
    let (reader, _) = m2m_with(&h, &t2, "reader", &["read:signing_keys"]).await;
    assert_eq!(
        h.api(&reader, Method::GET, "/keys/signing", None).await.0,
        StatusCode::OK
    );
    let (s, e) = h
        .api(&reader, Method::POST, "/keys/signing/rotate", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("create:signing_keys and update:signing_keys"),
        "{e}"
    );
    let (creator, _) = m2m_with(&h, &t2, "creator", &["create:signing_keys"]).await;
    assert_eq!(
        h.api(&creator, Method::POST, "/keys/signing/rotate", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.api(&creator, Method::GET, "/keys/signing", None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.api(
            &reader,
            Method::PUT,
            &format!("/keys/signing/{k2}/revoke"),
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    h.stop().await;
}

/// The certificate and PKCS#7 answered for a key are what `openssl` reads:
/// the same public key as the JWKS, the fingerprint Auth0 shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_what_openssl_reads() {
    let h = Harness::start(Backend::Sqlite).await;
    let t = h.admin_token().await;
    let (_, list) = h.api(&t, Method::GET, "/keys/signing", None).await;
    let k = key(&list, &kid_of(&t));
    let cert = k["cert"].as_str().unwrap();
    let fp = openssl(&["x509", "-noout", "-fingerprint", "-sha1"], cert);
    assert_eq!(
        fp.trim().rsplit('=').next().unwrap(),
        k["fingerprint"].as_str().unwrap(),
        "{fp}"
    );
    let modulus = openssl(&["x509", "-noout", "-modulus"], cert);
    let jwks = jwks_at(&h, &h.base).await;
    let jwk = key(&jwks["keys"], &kid_of(&t));
    assert_eq!(modulus.trim(), format!("Modulus={}", modulus_hex(jwk)));
    // The JWKS carries the same certificate (x5c) and its SHA-1 (x5t).
    let der = STANDARD.decode(jwk["x5c"][0].as_str().unwrap()).unwrap();
    let body: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(STANDARD.decode(body).unwrap(), der);
    let x5t = URL_SAFE_NO_PAD
        .decode(jwk["x5t"].as_str().unwrap())
        .unwrap();
    let x5t_hex: Vec<String> = x5t.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(x5t_hex.concat(), k["thumbprint"].as_str().unwrap());
    // PKCS#7: a certificates-only bundle holding exactly that certificate.
    let printed = openssl(&["pkcs7", "-print_certs"], k["pkcs7"].as_str().unwrap());
    let normalize = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with("-----") && !l.contains('=') && !l.is_empty())
            .collect()
    };
    assert_eq!(normalize(&printed), normalize(cert));
    h.stop().await;
}

/// A tenant created by a version without signing-key scopes: at the next
/// start the Management API and the bootstrap admin client get them, while
/// a scope the operator took away from the admin client stays away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_gives_the_admin_client_the_new_scopes() {
    const NEW: [&str; 3] = [
        "read:signing_keys",
        "create:signing_keys",
        "update:signing_keys",
    ];
    let h = Harness::start(Backend::Sqlite).await;
    let pool = db(&h).await;
    let older = |body: &str, field: &str, also: Option<&str>| {
        let mut v: Value = serde_json::from_str(body).unwrap();
        v[field].as_array_mut().unwrap().retain(|s| {
            let name = s.as_str().or_else(|| s["value"].as_str()).unwrap();
            !NEW.contains(&name) && Some(name) != also
        });
        v.to_string()
    };
    let rs: String = sqlx::query("SELECT body FROM resource_servers")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("body");
    sqlx::query("UPDATE resource_servers SET body = $1")
        .bind(older(&rs, "scopes", None))
        .execute(&pool)
        .await
        .unwrap();
    let grant: String = sqlx::query("SELECT body FROM client_grants WHERE client_id = $1")
        .bind(&h.info.client_id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("body");
    // The operator also took read:stats away from the admin client.
    sqlx::query("UPDATE client_grants SET body = $1 WHERE client_id = $2")
        .bind(older(&grant, "scope", Some("read:stats")))
        .bind(&h.info.client_id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let t = h.admin_token().await;
    assert_eq!(
        h.api(&t, Method::GET, "/keys/signing", None).await.0,
        StatusCode::FORBIDDEN,
        "the older grant"
    );

    let h = h.restart(|_| {}).await;
    let t = h.admin_token().await;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let scope = claims["scope"].as_str().unwrap();
    for s in NEW {
        assert!(scope.split(' ').any(|g| g == s), "{s} in {scope}");
    }
    assert!(!scope.split(' ').any(|g| g == "read:stats"), "{scope}");
    assert_eq!(
        h.api(&t, Method::GET, "/keys/signing", None).await.0,
        StatusCode::OK
    );
    h.stop().await;
}

crate::both_backends!(rotation_and_revocation_as_auth0);
