#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A database connection's password options beside `passwordPolicy`
//! (`password_complexity_options`, `password_dictionary`,
//! `password_no_personal_info`, `password_history`): validated when the
//! connection is saved, enforced wherever a password is set — signup, the
//! Management API's create and PATCH, the reset page.

mod common;
mod reset_support;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use reset_support::{submit, ticket_of};
use serde_json::{Value, json};

const DB: &str = "Username-Password-Authentication";

/// Merge `extra` into the default connection's options (PATCH replaces
/// the whole `options` object, as Auth0); the PATCH's status and body.
async fn set_options(h: &Harness, t: &str, extra: Value) -> (StatusCode, Value) {
    let path = format!("/connections/{}", h.info.connection_id);
    let (_, conn) = h.api(t, Method::GET, &path, None).await;
    let mut options = conn["options"].clone();
    for (k, v) in extra.as_object().unwrap() {
        options[k] = v.clone();
    }
    h.api(t, Method::PATCH, &path, Some(json!({ "options": options })))
        .await
}

async fn patch_password(h: &Harness, t: &str, user_id: &str, pw: &str) -> (StatusCode, Value) {
    let path = format!("/users/{}", urlencoding::encode(user_id));
    h.api(t, Method::PATCH, &path, Some(json!({ "password": pw })))
        .await
}

/// Assert Auth0's Management API refusal: 400, `errorCode`, exact message.
fn assert_refused((s, body): (StatusCode, Value), code: &str, message: &str) {
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

const TOO_COMMON: &str = "Password is too common: choose one that is neither among the most common passwords nor in this connection's list of forbidden passwords.";
const USER_INFO: &str = "Password is based on user information: it must not contain the user's email (the part before @), username, name, nickname, given name or family name.";
const REUSED: &str = "Password has previously been used: choose one that is not among the last ones of this account.";

async fn options_are_validated(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let cases = [
        (
            json!({"password_complexity_options": {"min_length": 0}}),
            "'options.password_complexity_options.min_length' must be an integer from 1 to 128.",
        ),
        (
            json!({"password_complexity_options": {"min_length": 129}}),
            "'options.password_complexity_options.min_length' must be an integer from 1 to 128.",
        ),
        (
            json!({"password_complexity_options": {"min_length": "12"}}),
            "'options.password_complexity_options.min_length' must be an integer from 1 to 128.",
        ),
        (
            json!({"password_complexity_options": {"min_length": 8, "max_length": 9}}),
            "'options.password_complexity_options.max_length' is not a property Auth0 defines (min_length).",
        ),
        (
            json!({"password_history": {"enable": true, "size": 25}}),
            "'options.password_history.size' must be an integer from 0 to 24.",
        ),
        (
            json!({"password_history": {"size": 5}}),
            "'options.password_history.enable' is required.",
        ),
        (
            json!({"password_no_personal_info": {"enable": "yes"}}),
            "'options.password_no_personal_info.enable' must be a boolean.",
        ),
        (
            json!({"password_dictionary": []}),
            "'options.password_dictionary' must be an object or null.",
        ),
        (
            json!({"password_dictionary": {"enable": true, "dictionary": vec!["w"; 201]}}),
            "'options.password_dictionary.dictionary' must be an array of at most 200 strings of at most 50 characters.",
        ),
        (
            json!({"password_dictionary": {"enable": true, "dictionary": ["x".repeat(51)]}}),
            "'options.password_dictionary.dictionary' must be an array of at most 200 strings of at most 50 characters.",
        ),
    ];
    for (options, message) in cases {
        let (s, body) = set_options(&h, &t, options.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{options}: {body}");
        assert_eq!(body["errorCode"], "invalid_body", "{options}: {body}");
        assert_eq!(
            body["message"],
            format!("Payload validation error: {message}"),
            "{options}"
        );
    }
    // POST /connections checks the same way.
    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "other-db", "strategy": "auth0",
                "options": {"password_history": {"enable": true, "size": -1}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "Payload validation error: 'options.password_history.size' must be an integer from 0 to 24."
    );
    // The bounds themselves, and null, are accepted and stored.
    let good = json!({
        "password_complexity_options": {"min_length": 128},
        "password_history": {"enable": true, "size": 24},
        "password_dictionary": {"enable": true, "dictionary": vec!["x".repeat(50); 200]},
        "password_no_personal_info": null,
    });
    let (s, body) = set_options(&h, &t, good.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for (k, v) in good.as_object().unwrap() {
        assert_eq!(&body["options"][k], v, "{k}");
    }
}

async fn signup_enforces_options(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (cid, _) = h.password_client(&t).await;
    let (s, body) = set_options(
        &h,
        &t,
        json!({"passwordPolicy": "fair",
            "password_complexity_options": {"min_length": 12},
            "password_dictionary": {"enable": true, "dictionary": ["Correct-Horse-9", "Tr0ub4dor&3xyz"]},
            "password_no_personal_info": {"enable": true}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let signup = |email: &str, pw: &str, extra: Value| {
        let mut body = json!({"client_id": cid, "connection": DB, "email": email, "password": pw});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = h
            .http
            .post(format!("{}/dbconnections/signup", h.base))
            .json(&body)
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let cases = [
        // 11 characters pass "fair" (8) but not min_length.
        (
            "a@example.com",
            "Abcdefgh123",
            json!({}),
            "Password is too weak: at least 12 characters are required.",
        ),
        // The dictionary, whatever the case.
        ("b@example.com", "tr0ub4DOR&3XYZ", json!({}), TOO_COMMON),
        // Among the most common passwords (Auth0's default dictionary),
        // though not in the connection's own entries.
        ("b@example.com", "Qwerty123456", json!({}), TOO_COMMON),
        // The email's local part, whatever the case.
        (
            "Margaret.Hamilton@example.com",
            "xxMARGARET.HAMILTON42",
            json!({}),
            USER_INFO,
        ),
        // The name and the nickname given at signup.
        (
            "c@example.com",
            "Apollo-Hamilton-11",
            json!({"family_name": "hamilton"}),
            USER_INFO,
        ),
        (
            "d@example.com",
            "Best-Nick-Ever-12",
            json!({"nickname": "Nick"}),
            USER_INFO,
        ),
    ];
    for (email, pw, extra, message) in cases {
        let (s, body) = signup(email, pw, extra).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{pw}: {body}");
        assert_eq!(body["error"], "invalid_password", "{pw}: {body}");
        assert_eq!(body["error_description"], message, "{pw}");
    }
    // Nothing was created; a password meeting every rule signs up.
    let store = &h.state().store;
    let conn = &h.info.connection_id;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let u = store.get_user_by_email(h.state().tid(), conn, email).await;
        assert!(u.unwrap().is_none(), "{email}");
    }
    let (s, body) = signup(
        "c@example.com",
        "Apollo-Guidance-11",
        json!({"family_name": "hamilton"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn management_api_enforces_options(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, body) = set_options(
        &h,
        &t,
        json!({"password_dictionary": {"enable": true, "dictionary": ["Correct-Horse-9"]},
            "password_no_personal_info": {"enable": true},
            "password_history": {"enable": true, "size": 3}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let create = |email: &str, pw: &str| {
        h.api(
            &t,
            Method::POST,
            "/users",
            Some(json!({"connection": DB, "email": email, "password": pw, "name": "Grace Hopper"})),
        )
    };
    assert_refused(
        create("g@example.com", "correct-horse-9").await,
        "password_dictionary_error",
        &format!("PasswordDictionaryError: {TOO_COMMON}"),
    );
    assert_refused(
        create("g@example.com", "I-am-grace hopper!").await,
        "password_no_user_info_error",
        &format!("PasswordNoUserInfoError: {USER_INFO}"),
    );
    let (s, u) = create("g@example.com", "Pass-One-111").await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let id = u["user_id"].as_str().unwrap();

    // PATCH checks against the profile as patched (here the stored name).
    assert_refused(
        patch_password(&h, &t, id, "GRACE HOPPER rocks").await,
        "password_no_user_info_error",
        &format!("PasswordNoUserInfoError: {USER_INFO}"),
    );
    // History of 3: the current password and the two before it.
    let reused = format!("PasswordHistoryError: {REUSED}");
    assert_refused(
        patch_password(&h, &t, id, "Pass-One-111").await,
        "password_history_error",
        &reused,
    );
    for pw in ["Pass-Two-222", "Pass-Three-333"] {
        let (s, body) = patch_password(&h, &t, id, pw).await;
        assert_eq!(s, StatusCode::OK, "{pw}: {body}");
    }
    for pw in ["Pass-One-111", "Pass-Two-222", "Pass-Three-333"] {
        assert_refused(
            patch_password(&h, &t, id, pw).await,
            "password_history_error",
            &reused,
        );
    }
    let (s, body) = patch_password(&h, &t, id, "Pass-Four-444").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Four passwords on, the first is out of the last three.
    let (s, body) = patch_password(&h, &t, id, "Pass-One-111").await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The store keeps at most 24 previous passwords, and none once the
    // user is deleted.
    let (s, body) = set_options(&h, &t, json!({"password_history": {"enable": false}})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for n in 0..25 {
        let (s, body) = patch_password(&h, &t, id, &format!("Churn-{n}-xyz")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let store = &h.state().store;
    let kept = store
        .previous_credentials(h.state().tid(), id, 100)
        .await
        .unwrap();
    assert_eq!(kept.len(), 24);
    let (s, _) = h
        .api(
            &t,
            Method::DELETE,
            &format!("/users/{}", urlencoding::encode(id)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let kept = store
        .previous_credentials(h.state().tid(), id, 100)
        .await
        .unwrap();
    assert!(kept.is_empty());
}

async fn reset_page_enforces_options(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, body) = set_options(
        &h,
        &t,
        json!({"password_no_personal_info": {"enable": true},
            "password_history": {"enable": true, "size": 2}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let u = h.create_user(&t, "ada@example.com", "First-pa55word").await;
    let id = u["user_id"].as_str().unwrap();
    let (s, ticket) = h
        .api(
            &t,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ticket}");
    let token = ticket_of(ticket["ticket"].as_str().unwrap());
    // The same password again, then one holding the email: the form again
    // with the rule's message, the link still usable.
    for (pw, message) in [("First-pa55word", REUSED), ("Ada-is-2-strong", USER_INFO)] {
        let (s, _, html) = submit(&h, &token, pw, pw).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{pw}: {html}");
        let shown = message.replace('\'', "&#39;");
        assert!(html.contains(&shown), "{pw}: {html}");
    }
    let (s, _, html) = submit(&h, &token, "Second-pa55word", "Second-pa55word").await;
    assert!(s.is_success() || s.is_redirection(), "{s}: {html}");
    // The reset kept the first password in the history.
    let kept = h
        .state()
        .store
        .previous_credentials(h.state().tid(), id, 24)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
}

both_backends!(
    options_are_validated,
    signup_enforces_options,
    management_api_enforces_options,
    reset_page_enforces_options,
);
