#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Start, restart, bootstrap credentials, rate limiting, connections and
//! configuration entities through the API.

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn bootstrap_and_restart_keep_everything(b: Backend) {
    let h = Harness::start_with(b, |c| {
        c.bootstrap_client_id = Some("operator-chosen-id".into());
        c.bootstrap_client_secret = Some("operator-chosen-secret-0123456789".into());
    })
    .await;
    assert_eq!(h.info.client_id, "operator-chosen-id");
    let file = h.dir.path().join("bootstrap.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "bootstrap.json holds a secret");
    }
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for k in [
        "domain",
        "client_id",
        "client_secret",
        "audience",
        "connection_id",
    ] {
        assert!(on_disk[k].is_string(), "bootstrap.json lacks {k}");
    }
    let t = h.admin_token().await;
    let u = h
        .create_user(&t, "persist@example.com", "Corr3ct-horse")
        .await;
    let jwks_before = h.state().keys.jwks();

    // Client secrets are stored hashed: the secret appears nowhere in the store.
    let (_, c) = h
        .api(
            &t,
            Method::GET,
            &format!("/clients/{}", h.info.client_id),
            None,
        )
        .await;
    assert!(
        c.get("client_secret").is_none() && c.get("secret_hash").is_none(),
        "{c}"
    );

    let h = h.restart(|_| {}).await;
    let t = h.admin_token().await; // the same credentials work after restart (new port, new audience)
    let (s, got) = h
        .api(
            &t,
            Method::GET,
            &format!(
                "/users/{}",
                urlencoding::encode(u["user_id"].as_str().unwrap())
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(h.state().keys.jwks().keys.len(), jwks_before.keys.len());
    assert_eq!(
        h.state().keys.jwks().keys[0].common.key_id,
        jwks_before.keys[0].common.key_id,
        "signing key persisted"
    );
    let (_, conns) = h
        .api(&t, Method::GET, "/connections?strategy=auth0", None)
        .await;
    // The default connection and the console operators', each once.
    let mut names: Vec<&str> = conns
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["Username-Password-Authentication", "tern-operators"],
        "no second bootstrap"
    );
    h.stop().await;
}

async fn rate_limit_headers_and_429(b: Backend) {
    let h = Harness::start_with(b, |c| {
        // 3 per hour: a window the four calls cannot straddle by chance.
        c.rate_limit.burst = 3;
        c.rate_limit.per_second = 3.0 / 3600.0;
    })
    .await;
    let t = h.admin_token().await;
    let mut statuses = vec![];
    let mut last = None;
    for _ in 0..4 {
        let r = h
            .http
            .get(format!("{}/api/v2/users", h.base))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        let hdr = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        assert_eq!(hdr("x-ratelimit-limit"), Some(3));
        assert!(hdr("x-ratelimit-remaining").is_some());
        let reset = hdr("x-ratelimit-reset").unwrap();
        let now = tern_core::clock::now_epoch() as u64;
        assert!(
            reset >= now && reset <= now + 3600,
            "reset is epoch seconds, soon: {reset} vs {now}"
        );
        statuses.push(r.status().as_u16());
        last = Some(r);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let body: Value = last.unwrap().json().await.unwrap();
    assert_eq!(
        body,
        json!({"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"})
    );
    h.stop().await;
}

async fn connections_clients_grants(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, c) = h.api(&t, Method::POST, "/connections", Some(json!({"name": "legacy-db", "strategy": "auth0", "options": {"passwordPolicy": "low"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    assert!(tern_core::ids::is_connection_id(&id), "{id}");
    let (s, _) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "legacy-db", "strategy": "auth0"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    for bad in [
        json!({"name": "bad name", "strategy": "auth0"}),
        json!({"name": "x", "strategy": "google-oauth2"}),
        json!({"name": "y", "strategy": "auth0", "options": {"import_mode": "yes"}}),
    ] {
        let (s, body) = h
            .api(&t, Method::POST, "/connections", Some(bad.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} → {body}");
    }
    let (_, named) = h
        .api(&t, Method::GET, "/connections?name=legacy-db", None)
        .await;
    assert_eq!(named.as_array().unwrap().len(), 1);
    // Turning customisation on is allowed while the connection is empty…
    let path = format!("/connections/{id}");
    let (s, body) = h.api(&t, Method::PATCH, &path, Some(json!({"options": {"enabledDatabaseCustomization": true, "import_mode": true}, "enabled_clients": [h.info.client_id]}))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // …but not once it has users.
    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(
                json!({"connection": "legacy-db", "email": "c@example.com", "password": "abcdef"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"options": {"enabledDatabaseCustomization": false}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "This database contains users. You cannot change \"options.enabledDatabaseCustomization\" setting."
    );
    let (s, _) = h
        .api(&t, Method::PATCH, &path, Some(json!({"name": "renamed"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "name cannot be patched");
    let (s, _) = h.api(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An API, an M2M client, a grant with a subset of scopes → token with exactly those.
    let (s, api) = h.api(&t, Method::POST, "/resource-servers", Some(json!({"name": "Legacy", "identifier": "https://legacy.example/", "scopes": [{"value": "read:profiles", "description": "r"}, {"value": "migrate", "description": "m"}]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let (s, _) = h
        .api(
            &t,
            Method::POST,
            "/resource-servers",
            Some(json!({"identifier": "https://legacy.example/"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Tern's own endpoints' audiences are not for APIs: a client grant on
    // one would mint tokens `/userinfo` or an export link believe.
    let issuer = h.state().issuer();
    for internal in [
        format!("{issuer}userinfo"),
        format!("{}/jobs-files", h.state().public_url),
    ] {
        let (s, e) = h
            .api(
                &t,
                Method::POST,
                "/resource-servers",
                Some(json!({"identifier": internal})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{internal}: {e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("Tern's own endpoints"),
            "{e}"
        );
    }
    let (_, m2m) = h
        .api(
            &t,
            Method::POST,
            "/clients",
            Some(json!({"name": "migrator", "app_type": "non_interactive"})),
        )
        .await;
    let (s, g) = h.api(&t, Method::POST, "/client-grants", Some(json!({"client_id": m2m["client_id"], "audience": "https://legacy.example/", "scope": ["read:profiles"]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let (s, _) = h.api(&t, Method::POST, "/client-grants", Some(json!({"client_id": m2m["client_id"], "audience": "https://legacy.example/", "scope": ["undefined:scope"]}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let tok = h
        .m2m_token(
            m2m["client_id"].as_str().unwrap(),
            m2m["client_secret"].as_str().unwrap(),
            "https://legacy.example/",
            None,
        )
        .await;
    let (_, listed) = h
        .api(
            &t,
            Method::GET,
            &format!(
                "/client-grants?client_id={}",
                m2m["client_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!tok.is_empty());
    // The migrator's token is not a Management API token.
    let (s, _) = h.api(&tok, Method::GET, "/users", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Rotating the secret invalidates the old one.
    let (s, rotated) = h
        .api(
            &t,
            Method::POST,
            &format!(
                "/clients/{}/rotate-secret",
                m2m["client_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(rotated["client_secret"], m2m["client_secret"]);
    let (s, _) = h.token(json!({"grant_type": "client_credentials", "client_id": m2m["client_id"], "client_secret": m2m["client_secret"], "audience": "https://legacy.example/"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The Management API cannot be deleted.
    let (s, _) = h
        .api(
            &t,
            Method::DELETE,
            &format!(
                "/resource-servers/{}",
                urlencoding::encode(&h.info.audience)
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    h.stop().await;
}

both_backends!(
    bootstrap_and_restart_keep_everything,
    rate_limit_headers_and_429,
    connections_clients_grants
);

/// PostgreSQL connections the server dropped (a restart, an idle timeout, a
/// proxy) cost no request: a pooled connection idle for a second or more is
/// pinged before use and replaced when dead (the store no longer pings
/// before every query).
#[tokio::test]
async fn dropped_postgres_connections_are_replaced() {
    let h = Harness::start(Backend::Postgres).await;
    let t = h.admin_token().await;
    // Use several pooled connections, then have PostgreSQL end every one.
    let calls = (0..6).map(|_| h.api(&t, Method::GET, "/users", None));
    for (s, _) in futures_util::future::join_all(calls).await {
        assert_eq!(s, StatusCode::OK);
    }
    let pg = h.pg.as_ref().unwrap();
    pg.run(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid()",
        pg.name
    ));
    // The pool measures idleness on the real clock (sqlx's), not Tern's.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    for _ in 0..3 {
        let calls = (0..6).map(|_| h.api(&t, Method::GET, "/users", None));
        for (s, body) in futures_util::future::join_all(calls).await {
            assert_eq!(s, StatusCode::OK, "{body}");
        }
    }
    h.stop().await;
}
