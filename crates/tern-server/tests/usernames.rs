#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Usernames compared as Auth0 compares them: stored lower-cased on every
//! way in (`POST`/`PATCH /users`, signup, imports), so `Alice` and `alice`
//! are one user of a connection, found by a login in any case. (Data stored
//! before migration 0039: `tern-store/tests/username_folding.rs`.)

mod common;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CONN: &str = "Username-Password-Authentication";
const PASSWORD: &str = "Corr3ct-horse";

/// `POST /users` of `email` with `username`: status and body.
async fn create(h: &Harness, t: &str, email: &str, username: &str) -> (StatusCode, Value) {
    h.api(
        t,
        Method::POST,
        "/users",
        Some(
            json!({"connection": CONN, "email": email, "username": username, "password": PASSWORD}),
        ),
    )
    .await
}

async fn usernames_are_one_in_any_case(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, alice) = create(&h, &t, "alice@example.com", "Alice").await;
    assert_eq!(s, StatusCode::CREATED, "{alice}");
    assert_eq!(alice["username"], "alice", "stored lower-cased");
    for taken in ["alice", "ALICE"] {
        let (s, e) = create(&h, &t, &format!("{taken}2@example.com"), taken).await;
        assert_eq!(s, StatusCode::CONFLICT, "{taken}: {e}");
        assert_eq!(e["message"], "The user already exists.", "{e}");
    }

    // A login by username, in another case: the grant without a realm and
    // the realm grant (whose reads go ahead in one statement).
    let (cid, secret) = h.password_client(&t).await;
    for (grant, typed) in [
        (json!({"grant_type": "password"}), "ALICE"),
        (
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": CONN}),
            "aLiCe",
        ),
    ] {
        let mut body = grant;
        body.as_object_mut().unwrap().extend(
            json!({"client_id": cid, "client_secret": secret, "username": typed, "password": PASSWORD})
                .as_object()
                .unwrap()
                .clone(),
        );
        let (s, tokens) = h.token(body).await;
        assert_eq!(s, StatusCode::OK, "{typed}: {tokens}");
    }

    // Searching finds the stored (lower-cased) form; Auth0's username
    // search is case-sensitive.
    let (s, found) = h
        .api(
            &t,
            Method::GET,
            "/users?search_engine=v3&q=username:alice",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");

    // PATCH: another user cannot take the name in any case; a new name is
    // stored lower-cased.
    let (_, bob) = create(&h, &t, "bob@example.com", "bob").await;
    let path = format!(
        "/users/{}",
        urlencoding::encode(bob["user_id"].as_str().unwrap())
    );
    let (s, e) = h
        .api(&t, Method::PATCH, &path, Some(json!({"username": "ALICE"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (s, u) = h
        .api(&t, Method::PATCH, &path, Some(json!({"username": "Bobby"})))
        .await;
    assert_eq!(
        (s, &u["username"]),
        (StatusCode::OK, &json!("bobby")),
        "{u}"
    );

    // Signup.
    let r = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(
            &json!({"client_id": cid, "connection": CONN, "email": "carol@example.com",
            "username": "Carol", "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "carol");
    h.stop().await;
}

/// An import file with `Bob` and `bob`: the second is a duplicate within
/// the file, and `ALICE` one of a stored user, as Auth0 reports them.
async fn imported_usernames_are_one_in_any_case(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, e) = create(&h, &t, "alice@example.com", "alice").await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let job = h
        .import_rows(
            &t,
            &json!([
                {"email": "bob1@example.com", "username": "Bob"},
                {"email": "bob2@example.com", "username": "bob"},
                {"email": "alice2@example.com", "username": "ALICE"},
            ]),
        )
        .await;
    assert_eq!(job["summary"]["inserted"], 1, "{job}");
    let errors = h.job_errors(&t, job["id"].as_str().unwrap()).await;
    let reported: Vec<(u64, &str, &str)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let first = &e["errors"][0];
            (
                e["index"].as_u64().unwrap(),
                first["code"].as_str().unwrap(),
                first["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        vec![
            (
                1,
                "DUPLICATED_USER",
                "A user with this username was already provided."
            ),
            (
                2,
                "DUPLICATED_USER",
                "The user already exists (same username)."
            ),
        ]
    );
    let (_, found) = h
        .api(
            &t,
            Method::GET,
            "/users?search_engine=v3&q=username:bob",
            None,
        )
        .await;
    assert_eq!(found[0]["email"], "bob1@example.com", "{found}");
    h.stop().await;
}

both_backends!(
    usernames_are_one_in_any_case,
    imported_usernames_are_one_in_any_case
);
