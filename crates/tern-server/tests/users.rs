#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Users through the Management API, and logging in as them.

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CONN: &str = "Username-Password-Authentication";

async fn user_lifecycle(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, u) = h
        .api(&t, Method::POST, "/users", Some(json!({
            "connection": CONN, "email": "Ann.Smith@Example.com", "password": "Corr3ct-horse",
            "given_name": "Ann", "user_metadata": {"a": 1, "keep": true}, "app_metadata": {"plan": "gold"}
        })))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let id = u["user_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("auth0|"), "{id}");
    assert_eq!(
        u["email"], "ann.smith@example.com",
        "emails are stored lower-cased"
    );
    assert_eq!(u["email_verified"], false);
    assert_eq!(
        u["identities"][0],
        json!({"connection": CONN, "user_id": id.trim_start_matches("auth0|"), "provider": "auth0", "isSocial": false})
    );
    assert_eq!(u["nickname"], "ann.smith");
    assert!(u.get("password").is_none() && u.get("credential").is_none());
    assert!(u["created_at"].as_str().unwrap().ends_with('Z'));

    // Same email again → 409.
    let (s, b2) = h.api(&t, Method::POST, "/users", Some(json!({"connection": CONN, "email": "ann.smith@example.com", "password": "Corr3ct-horse"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b2}");
    assert_eq!(b2["message"], "The user already exists.");

    // Weak password per the connection's "good" policy.
    let (s, b3) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": CONN, "email": "weak@example.com", "password": "abc"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b3["message"]
            .as_str()
            .unwrap()
            .contains("PasswordStrengthError"),
        "{b3}"
    );

    // Missing connection / unknown connection.
    let (s, b4) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"email": "x@example.com", "password": "Corr3ct-horse"})),
        )
        .await;
    assert_eq!(
        (s, b4["message"].as_str().unwrap()),
        (
            StatusCode::BAD_REQUEST,
            "Payload validation error: 'Missing required property: connection'."
        )
    );
    let (s, _) = h.api(&t, Method::POST, "/users", Some(json!({"connection": "nope", "email": "x@example.com", "password": "Corr3ct-horse"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Get, fields projection.
    let path = format!("/users/{}", urlencoding::encode(&id));
    let (s, g) = h
        .api(
            &t,
            Method::GET,
            &format!("{path}?fields=email,user_id&include_fields=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(g.as_object().unwrap().len(), 2, "{g}");

    // PATCH merges metadata at the top level; null removes a key.
    let (s, p) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"user_metadata": {"b": 2, "keep": null}, "name": "Ann S."})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["user_metadata"], json!({"a": 1, "b": 2}));
    assert_eq!(p["app_metadata"], json!({"plan": "gold"}));
    assert_eq!(p["name"], "Ann S.");
    // U+0000 anywhere (PostgreSQL cannot store it in text nor index it in
    // metadata): 400 naming where, on both backends, and nothing changed.
    for (body, at) in [
        (json!({"app_metadata": {"k\u{0}": 1}}), "app_metadata.k\\0"),
        (
            json!({"user_metadata": {"notes": ["ok", "bad\u{0}"]}}),
            "user_metadata.notes[1]",
        ),
        (
            json!({"user_metadata": {"a": {"b": "c\u{0}"}}, "name": "Ann T."}),
            "user_metadata.a.b",
        ),
        (json!({"nickname": "a\u{0}b"}), "nickname"),
    ] {
        let (s, e) = h.api(&t, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(
            e["message"],
            format!(
                "Payload validation error: text must not contain the NUL character (\\u0000) (at {at})."
            )
        );
    }
    let (_, unchanged) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(unchanged["user_metadata"], json!({"a": 1, "b": 2}));
    assert_eq!(unchanged["app_metadata"], json!({"plan": "gold"}));
    assert_eq!(unchanged["name"], "Ann S.");
    let (s, p) = h
        .api(
            &t,
            Method::PATCH,
            &path,
            Some(json!({"email": "x@example.com", "password": "N3w-password!"})),
        )
        .await;
    assert_eq!(
        (s, p["message"].as_str().unwrap()),
        (
            StatusCode::BAD_REQUEST,
            "Cannot update password and email simultaneously."
        )
    );

    // users-by-email.
    let (s, list) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=ann.smith%40example.com",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Delete, then 404; delete again is still 204.
    let (s, _) = h.api(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, nf) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        nf,
        json!({"statusCode": 404, "error": "Not Found", "message": "The user does not exist.", "errorCode": "inexistent_user"})
    );
    let (s, _) = h.api(&t, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // DELETE /connections/{id}/users?email=
    h.create_user(&t, "gone@example.com", "Corr3ct-horse").await;
    let (s, _) = h
        .api(
            &t,
            Method::DELETE,
            &format!(
                "/connections/{}/users?email=GONE%40example.com",
                h.info.connection_id
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=gone%40example.com",
            None,
        )
        .await;
    assert_eq!(list, json!([]));
    h.stop().await;
}

async fn password_login(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let u = h.create_user(&t, "bob@example.com", "Corr3ct-horse").await;
    let realm = "http://auth0.com/oauth/grant-type/password-realm";

    let ok = json!({"grant_type": realm, "client_id": cid, "client_secret": secret, "username": "BOB@example.com",
                    "password": "Corr3ct-horse", "realm": CONN, "scope": "openid profile email"});
    let (s, body) = h.token(ok.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string(), "openid → id_token");
    let access = body["access_token"].as_str().unwrap();
    let info: Value = h
        .http
        .get(format!("{}/userinfo", h.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], u["user_id"]);
    assert_eq!(info["email"], "bob@example.com");

    // The plain password grant with a realm parameter (auth-js does this).
    let (s, body) = h.token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "bob@example.com", "password": "Corr3ct-horse", "realm": CONN})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.get("id_token").is_none() || body["scope"].as_str().unwrap().contains("openid"));

    let mut wrong = ok.clone();
    wrong["password"] = json!("nope");
    let (s, body) = h.token(wrong).await;
    assert_eq!(
        (s, body.clone()),
        (
            StatusCode::FORBIDDEN,
            json!({"error": "invalid_grant", "error_description": "Wrong email or password."})
        )
    );
    let mut unknown = ok.clone();
    unknown["username"] = json!("nobody@example.com");
    let (s, body2) = h.token(unknown).await;
    assert_eq!(
        (s, body2),
        (StatusCode::FORBIDDEN, body),
        "unknown user and wrong password look the same"
    );

    // The same email in a second connection, another password: each realm
    // finds its own user (the user is read by the realm's name beside the
    // connection), and a realm the client may not use is refused whoever
    // the user is.
    let (s, other) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "second-db", "strategy": "auth0", "enabled_clients": [cid]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    let (s, twin) = h
        .api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": "second-db", "email": "bob@example.com", "password": "Other-horse-42"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{twin}");
    let mut in_second = ok.clone();
    in_second["realm"] = json!("second-db");
    in_second["password"] = json!("Other-horse-42");
    let (s, body) = h.token(in_second.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(common::browser::claims(id_token)["sub"], twin["user_id"]);
    let mut crossed = ok.clone();
    crossed["password"] = json!("Other-horse-42");
    let (s, _) = h.token(crossed).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the other connection's password");
    let (s, _) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{}", other["id"].as_str().unwrap()),
            Some(json!({"enabled_clients": []})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = h.token(in_second).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    let mut nowhere = ok.clone();
    nowhere["realm"] = json!("no-such-db");
    let (s, body) = h.token(nowhere).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    // The M2M admin client may not use the password grant.
    let (s, body) = h.token(json!({"grant_type": realm, "client_id": h.info.client_id, "client_secret": h.info.client_secret, "username": "bob@example.com", "password": "Corr3ct-horse", "realm": CONN})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "unauthorized_client");

    // A client that fails to authenticate gets invalid_client and nothing
    // else, though the login's reads are made before it authenticates: no
    // login (logins_count below), no failure counted (the fp count below).
    for password in ["Corr3ct-horse", "nope"] {
        let mut bad_client = ok.clone();
        bad_client["client_secret"] = json!("not-the-secret");
        bad_client["password"] = json!(password);
        let (s, body) = h.token(bad_client).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{body}"
        );
    }

    // User tokens for the Management API are refused.
    let mut mgmt = ok.clone();
    mgmt["audience"] = json!(h.info.audience);
    let (s, _) = h.token(mgmt).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // last_login, logins_count, last_ip.
    let (_, got) = h
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
    assert_eq!(got["logins_count"], 2);
    assert_eq!(got["last_ip"], "127.0.0.1");
    assert!(got["last_login"].is_string());

    // Blocked users cannot log in.
    h.api(
        &t,
        Method::PATCH,
        &format!(
            "/users/{}",
            urlencoding::encode(u["user_id"].as_str().unwrap())
        ),
        Some(json!({"blocked": true})),
    )
    .await;
    let (s, body) = h.token(ok.clone()).await;
    assert_eq!(
        (s, body["error_description"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("user is blocked"))
    );

    // Tenant logs: s, fp, fu, seccft, sapi — newest first, filterable.
    let (_, logs) = h.api(&t, Method::GET, "/logs?per_page=100", None).await;
    let kinds: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    for k in ["s", "fp", "fu", "seccft", "sapi", "f"] {
        assert!(kinds.contains(&k), "log type {k} missing from {kinds:?}");
    }
    let (_, fps) = h
        .api(&t, Method::GET, "/logs?q=type:fp&include_totals=true", None)
        .await;
    assert!(
        fps["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["type"] == "fp")
    );
    assert_eq!(
        fps["total"], 2,
        "the wrong password, the other connection's"
    );
    assert!(
        fps["logs"][0].to_string().find("nope").is_none(),
        "no password in logs"
    );
    h.stop().await;
}

async fn legacy_credential_is_upgraded_on_login(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let u = h
        .create_user(&t, "legacy@example.com", "Corr3ct-horse")
        .await;
    let id = u["user_id"].as_str().unwrap();
    // Replace the credential with a bcrypt hash of "hello" — Auth0's documented
    // example, made by the bcrypt reference implementation, not by Tern.
    let store = &h.state().store;
    let tid = h.state().tid().to_string();
    let mut user = store.get_user(&tid, id).await.unwrap().unwrap();
    user.credential = Some("$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K".into());
    store.update_user(&tid, &user).await.unwrap();

    let req = |pw: &str| json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "legacy@example.com", "password": pw, "realm": CONN});
    let (s, _) = h.token(req("Corr3ct-horse")).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the old password no longer applies"
    );
    let (s, body) = h.token(req("hello")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let after = store.get_user(&tid, id).await.unwrap().unwrap();
    let cred = after.credential.unwrap();
    assert!(
        cred.starts_with("$argon2id$"),
        "upgraded to the policy: {cred}"
    );
    let (s, _) = h.token(req("hello")).await;
    assert_eq!(s, StatusCode::OK, "the upgraded credential verifies");
    h.stop().await;
}

async fn search_and_paging(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    for i in 0..12 {
        let (s, body) = h
            .api(&t, Method::POST, "/users", Some(json!({"connection": CONN, "email": format!("user{i:02}@{}.com", if i % 2 == 0 { "even" } else { "odd" }),
                "password": "Corr3ct-horse", "app_metadata": {"plan": if i < 3 { "gold" } else { "free" }}, "given_name": format!("Name{i}")})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let (s, page) = h
        .api(
            &t,
            Method::GET,
            "/users?page=0&per_page=5&include_totals=true",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            page["start"].clone(),
            page["limit"].clone(),
            page["length"].clone(),
            page["total"].clone()
        ),
        (json!(0), json!(5), json!(5), json!(12))
    );
    let (_, last) = h
        .api(
            &t,
            Method::GET,
            "/users?page=5&per_page=5&include_totals=true",
            None,
        )
        .await;
    assert_eq!(last["users"], json!([]), "pages past the end are empty");
    let (_, bare) = h.api(&t, Method::GET, "/users?per_page=3", None).await;
    assert_eq!(
        bare.as_array().map(Vec::len),
        Some(3),
        "bare array without include_totals"
    );

    let count = |q: &'static str| {
        let h = &h;
        let t = &t;
        async move {
            let (s, b) = h
                .api(
                    t,
                    Method::GET,
                    &format!(
                        "/users?include_totals=true&search_engine=v3&q={}",
                        urlencoding::encode(q)
                    ),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{q}: {b}");
            b["total"].as_u64().unwrap()
        }
    };
    assert_eq!(count("email:\"user03@odd.com\"").await, 1);
    assert_eq!(count("email.domain:\"even.com\"").await, 6);
    assert_eq!(count("app_metadata.plan:\"gold\"").await, 3);
    assert_eq!(count("email:user1*").await, 2);
    assert_eq!(
        count("app_metadata.plan:gold AND email.domain:odd.com").await,
        1
    );
    assert_eq!(count("NOT app_metadata.plan:gold").await, 9);
    assert_eq!(count("logins_count:[0 TO 0]").await, 12);
    assert_eq!(count("_exists_:given_name").await, 12);
    assert_eq!(count("given_name:NAME1 OR given_name:name2").await, 2);

    let (s, sorted) = h
        .api(&t, Method::GET, "/users?sort=email:-1&per_page=2", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sorted[0]["email"], "user11@odd.com");

    let bad = [
        ("/users?q=email:(unclosed", 400),
        ("/users?q=nosuchfield:x", 400),
        (
            "/users?q=email%3A%22x%27%3B%20DROP%20TABLE%20users%3B%20--%22",
            200,
        ),
        ("/users?page=10&per_page=100", 400),
        ("/users?per_page=101", 400),
        ("/users?page=abc", 400),
        ("/users?search_engine=v1", 400),
        ("/users?sort=app_metadata.plan:1", 400),
    ];
    for (path, status) in bad {
        let (s, body) = h.api(&t, Method::GET, path, None).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        if status == 400 {
            assert_eq!(body["statusCode"], 400, "{path}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    let (_, still) = h
        .api(&t, Method::GET, "/users?include_totals=true", None)
        .await;
    assert_eq!(still["total"], 12, "the injection attempt changed nothing");
    let (_, bad_syntax) = h
        .api(&t, Method::GET, "/users?q=email:(unclosed", None)
        .await;
    assert!(
        bad_syntax["message"].as_str().unwrap().contains("position"),
        "says where: {bad_syntax}"
    );
    h.stop().await;
}

both_backends!(
    user_lifecycle,
    password_login,
    legacy_credential_is_upgraded_on_login,
    search_and_paging
);

/// A search waits for one of the few search turns (so searches cannot take
/// every store connection from logins) and is answered Auth0's 503 once it
/// has waited or run past 2 seconds. Both turns are held by the test here,
/// standing for two searches that walk a million users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_take_turns_and_time_out() {
    let h = Harness::start(Backend::Sqlite).await;
    let t = h.admin_token().await;
    h.create_user(&t, "ada@example.com", "Secret-123!").await;
    let turns = h.state().searches.clone();
    let held = turns
        .acquire_many_owned(u32::try_from(tern_server::user_search::SEARCHES_AT_ONCE).unwrap())
        .await
        .unwrap();
    let search_ada = || {
        h.api(
            &t,
            Method::GET,
            "/users?q=email:%22ada@example.com%22",
            None,
        )
    };
    let (s, e) = search_ada().await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(
        e["message"],
        "The query exceeded the timeout. Please try refining your search criteria."
    );
    // Lookups that are not searches do not wait for a turn.
    let (s, found) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=ada@example.com",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    drop(held);
    let (s, found) = search_ada().await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    h.stop().await;
}
