#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Users of the `tern-operators` connection are the console's operators,
//! and an operator can give any client every Management API scope. So a
//! Management API write that creates, changes, deletes, unblocks, imports,
//! issues a reset ticket for or removes a second factor of an operator needs
//! a token with every scope: a narrower token is refused (403
//! `insufficient_scope`) and nothing changes. The bootstrap admin client
//! (every scope) still adds operators, as the README says. Public and
//! hosted signup cannot make an operator either. Both backends, real HTTP.

mod common;

use common::browser::{Browser, form_state};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tern_core::store::FailedLogin;

const OPERATORS: &str = "tern-operators";
const OPERATOR: &str = "op@example.com";
const PASSWORD: &str = "Operat0r-Passw0rd!";
const SCOPES: &[&str] = &[
    "create:users",
    "read:users",
    "update:users",
    "update:users_app_metadata",
    "delete:users",
    "create:user_tickets",
    "read:authentication_methods",
    "delete:guardian_enrollments",
    "read:connections",
    "update:connections",
];

/// A machine client granted [`SCOPES`] on the Management API (through the
/// Management API, as an administrator would); a token for it narrowed to
/// `scope` by the token request.
struct Narrow {
    id: String,
    secret: String,
}

impl Narrow {
    async fn create(h: &Harness, admin: &str) -> Self {
        let (s, c) = h
            .api(
                admin,
                Method::POST,
                "/clients",
                Some(
                    json!({"name": "support tool", "app_type": "non_interactive",
                    "grant_types": ["client_credentials"]}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["client_id"].as_str().unwrap().to_string();
        let (s, g) = h
            .api(
                admin,
                Method::POST,
                "/client-grants",
                Some(json!({"client_id": id, "audience": h.info.audience, "scope": SCOPES})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{g}");
        Self {
            id,
            secret: c["client_secret"].as_str().unwrap().to_string(),
        }
    }

    async fn token(&self, h: &Harness, scope: &str) -> String {
        h.m2m_token(&self.id, &self.secret, &h.info.audience, Some(scope))
            .await
    }
}

/// The refusal every narrow write to an operator gets.
#[track_caller]
fn assert_refused(what: &str, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(body["statusCode"], 403, "{what}: {body}");
    assert_eq!(body["error"], "Forbidden", "{what}: {body}");
    assert_eq!(body["errorCode"], "insufficient_scope", "{what}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(OPERATORS) && message.contains("every Management API scope"),
        "{what}: {message}"
    );
}

async fn user_by_email(h: &Harness, admin: &str, email: &str) -> Vec<Value> {
    let (s, users) = h
        .api(
            admin,
            Method::GET,
            &format!("/users-by-email?email={}", urlencoding::encode(email)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{users}");
    users.as_array().unwrap().clone()
}

async fn import(
    h: &Harness,
    token: &str,
    connection_id: &str,
    rows: &Value,
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .part(
            "users",
            reqwest::multipart::Part::bytes(rows.to_string().into_bytes()).file_name("users.json"),
        )
        .text("connection_id", connection_id.to_string());
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Create and import: `create:users` alone makes no operator; the
/// bootstrap admin token does.
async fn creating_an_operator_needs_every_scope(b: Backend) {
    let h = Harness::start(b).await;
    let admin = h.admin_token().await;
    let narrow = Narrow::create(&h, &admin).await;
    let creator = narrow.token(&h, "create:users").await;
    let all_narrow = narrow.token(&h, &SCOPES.join(" ")).await;
    let operators = h.operators_connection().await;

    for token in [&creator, &all_narrow] {
        let (s, e) = h
            .api(
                token,
                Method::POST,
                "/users",
                Some(
                    json!({"connection": OPERATORS, "email": "mallory@example.com",
                    "password": PASSWORD, "email_verified": true}),
                ),
            )
            .await;
        assert_refused("POST /users", s, &e);
        let rows = json!([{"email": "mallory@example.com", "email_verified": true,
            "password_hash": "$2b$10$C9ByUjRC1gWsd9pAe3mTx.QC1bp0mYHwWpY2XnDBbNBMTsCMd6sCq"}]);
        let (s, e) = import(&h, token, &operators.id, &rows).await;
        assert_refused("POST /jobs/users-imports", s, &e);
    }
    assert!(
        user_by_email(&h, &admin, "mallory@example.com")
            .await
            .is_empty()
    );
    // Other connections are as before for the same token.
    let (s, u) = h
        .api(
            &creator,
            Method::POST,
            "/users",
            Some(json!({"connection": "Username-Password-Authentication",
                "email": "mallory@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (s, job) = import(
        &h,
        &creator,
        &h.info.connection_id,
        &json!([{"email": "imported@example.com"}]),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");

    // The README's way to add an operator: the bootstrap admin token.
    let (s, op) = h
        .api(
            &admin,
            Method::POST,
            "/users",
            Some(json!({"connection": OPERATORS, "email": OPERATOR,
                "password": PASSWORD, "email_verified": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    assert_eq!(op["identities"][0]["connection"], OPERATORS);
    // The new operator signs in to the console.
    let mut browser = Browser::new(&h.base);
    let signed = browser.console_sign_in(OPERATOR, PASSWORD).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert!(browser.jar.contains_key("__Host-tern_console"));
    h.stop().await;
}

/// Update, block, delete, unblock, tickets and MFA enrollments of an
/// operator: refused to narrow tokens, the operator unchanged; the admin
/// token may.
async fn changing_an_operator_needs_every_scope(b: Backend) {
    let h = Harness::start(b).await;
    let admin = h.admin_token().await;
    let narrow = Narrow::create(&h, &admin).await;
    let operators = h.operators_connection().await;
    let (s, op) = h
        .api(
            &admin,
            Method::POST,
            "/users",
            Some(json!({"connection": OPERATORS, "email": OPERATOR,
                "password": PASSWORD, "email_verified": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    let id = op["user_id"].as_str().unwrap().to_string();
    let path = format!("/users/{}", urlencoding::encode(&id));

    // A second factor and a brute-force block to (not) remove.
    let st = h.state();
    let phone = json!({"phone": {"value": "+15550001234"}});
    assert!(
        st.store
            .replace_mfa_factors(st.tid(), &id, &[], std::slice::from_ref(&phone))
            .await
            .unwrap()
    );
    let now = st.now();
    st.store
        .count_login_failure(
            st.tid(),
            &FailedLogin {
                user_id: &id,
                ip: "",
                connection: OPERATORS,
                identifier: OPERATOR,
                now,
                forget_before: now - 3600,
            },
        )
        .await
        .unwrap();
    assert!(
        st.store
            .block_login(st.tid(), &id, "", now, "unblock-hash")
            .await
            .unwrap()
    );
    let blocks_path = format!("/user-blocks/{}", urlencoding::encode(&id));
    let (_, blocks) = h.api(&admin, Method::GET, &blocks_path, None).await;
    assert_eq!(
        blocks["blocked_for"].as_array().unwrap().len(),
        1,
        "{blocks}"
    );
    let (_, methods) = h
        .api(
            &admin,
            Method::GET,
            &format!("{path}/authentication-methods"),
            None,
        )
        .await;
    let enrollment = methods[0]["id"].as_str().unwrap().to_string();

    let (_, before) = h.api(&admin, Method::GET, &path, None).await;
    let updater = narrow.token(&h, "update:users").await;
    let metadata = narrow.token(&h, "update:users_app_metadata").await;
    let deleter = narrow.token(&h, "delete:users").await;
    let tickets = narrow.token(&h, "create:user_tickets").await;
    let mfa = narrow.token(&h, "delete:guardian_enrollments").await;
    let all_narrow = narrow.token(&h, &SCOPES.join(" ")).await;
    let email = urlencoding::encode(OPERATOR).into_owned();
    let attempts: Vec<(&str, &String, Method, String, Option<Value>)> = vec![
        (
            "new password",
            &updater,
            Method::PATCH,
            path.clone(),
            Some(json!({"password": "Mall0ry-Owns-It!"})),
        ),
        (
            "new email",
            &updater,
            Method::PATCH,
            path.clone(),
            Some(json!({"email": "mallory@example.com", "email_verified": true})),
        ),
        (
            "block",
            &updater,
            Method::PATCH,
            path.clone(),
            Some(json!({"blocked": true})),
        ),
        (
            "app_metadata",
            &metadata,
            Method::PATCH,
            path.clone(),
            Some(json!({"app_metadata": {"role": "x"}})),
        ),
        ("delete", &deleter, Method::DELETE, path.clone(), None),
        (
            "delete by email",
            &deleter,
            Method::DELETE,
            format!("/connections/{}/users?email={email}", operators.id),
            None,
        ),
        (
            "ticket by id",
            &tickets,
            Method::POST,
            "/tickets/password-change".into(),
            Some(json!({"user_id": id})),
        ),
        (
            "ticket by email",
            &tickets,
            Method::POST,
            "/tickets/password-change".into(),
            Some(json!({"email": OPERATOR, "connection_id": operators.id})),
        ),
        (
            "unblock",
            &updater,
            Method::DELETE,
            blocks_path.clone(),
            None,
        ),
        (
            "unblock by identifier",
            &updater,
            Method::DELETE,
            format!("/user-blocks?identifier={email}"),
            None,
        ),
        (
            "remove second factor",
            &mfa,
            Method::DELETE,
            format!("/guardian/enrollments/{}", urlencoding::encode(&enrollment)),
            None,
        ),
    ];
    for (what, token, method, at, body) in &attempts {
        for token in [*token, &all_narrow] {
            let (s, e) = h.api(token, method.clone(), at, body.clone()).await;
            assert_refused(what, s, &e);
        }
    }
    // Nothing changed: the user, its factor, its block; no ticket was mailed
    // or answered, and the password still signs in.
    let (s, after) = h.api(&admin, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after, before);
    assert!(
        after
            .get("app_metadata")
            .is_none_or(|m| m.get("role").is_none())
    );
    let stored = st.store.get_user(st.tid(), &id).await.unwrap().unwrap();
    assert_eq!(stored.mfa_factors, vec![phone]);
    let (_, blocks) = h.api(&admin, Method::GET, &blocks_path, None).await;
    assert_eq!(
        blocks["blocked_for"].as_array().unwrap().len(),
        1,
        "{blocks}"
    );
    // Lift the block (the admin may), then the password still signs in.
    let (s, e) = h.api(&admin, Method::DELETE, &blocks_path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let mut browser = Browser::new(&h.base);
    let signed = browser.console_sign_in(OPERATOR, PASSWORD).await;
    assert!(
        browser.jar.contains_key("__Host-tern_console"),
        "{}",
        signed.body
    );

    // Non-operators are as before for the same narrow tokens.
    let user = h.create_user(&admin, "shopper@example.com", PASSWORD).await;
    let user_path = format!(
        "/users/{}",
        urlencoding::encode(user["user_id"].as_str().unwrap())
    );
    let (s, e) = h
        .api(
            &updater,
            Method::PATCH,
            &user_path,
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = h
        .api(
            &tickets,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"user_id": user["user_id"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (s, e) = h
        .api(
            &updater,
            Method::DELETE,
            "/user-blocks?identifier=shopper%40example.com",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = h.api(&deleter, Method::DELETE, &user_path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");

    // The admin token (every scope) changes operators.
    let (s, e) = h
        .api(
            &admin,
            Method::POST,
            "/tickets/password-change",
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (s, e) = h
        .api(
            &admin,
            Method::DELETE,
            &format!("/guardian/enrollments/{}", urlencoding::encode(&enrollment)),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = h
        .api(&admin, Method::PATCH, &path, Some(json!({"blocked": true})))
        .await;
    assert_eq!((s, &e["blocked"]), (StatusCode::OK, &json!(true)), "{e}");
    let (s, e) = h.api(&admin, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    assert!(user_by_email(&h, &admin, OPERATOR).await.is_empty());
    h.stop().await;
}

/// `GET /users/{id}/authentication-methods` takes `read:authentication_methods`
/// only, as Auth0's OAS lists; `read:users` no longer reads it.
async fn authentication_methods_need_their_scope(b: Backend) {
    let h = Harness::start(b).await;
    let admin = h.admin_token().await;
    let narrow = Narrow::create(&h, &admin).await;
    let user = h.create_user(&admin, "ann@example.com", PASSWORD).await;
    let path = format!(
        "/users/{}/authentication-methods",
        urlencoding::encode(user["user_id"].as_str().unwrap())
    );
    let reader = narrow.token(&h, "read:users").await;
    let (s, e) = h.api(&reader, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["errorCode"], "insufficient_scope", "{e}");
    let methods = narrow.token(&h, "read:authentication_methods").await;
    let (s, e) = h.api(&methods, Method::GET, &path, None).await;
    assert_eq!((s, e), (StatusCode::OK, json!([])));
    h.stop().await;
}

/// Public signup (`/dbconnections/signup`, the hosted `/u/signup` of the
/// console's login) cannot make an operator; a reset request for an
/// operator is answered as any other (the mail goes to the operator).
async fn signup_cannot_make_an_operator(b: Backend) {
    let h = Harness::start(b).await;
    let admin = h.admin_token().await;
    let signup = |client: String| {
        let h = &h;
        async move {
            let r = h
                .http
                .post(format!("{}/dbconnections/signup", h.base))
                .json(&json!({"client_id": client, "connection": OPERATORS,
                    "email": "mallory@example.com", "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, e) = signup("tern-console".into()).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("operation_not_allowed")),
        "{e}"
    );
    let (s, e) = signup(h.info.client_id.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not enabled for it: {e}");

    // The hosted signup page of the console's own login.
    let mut browser = Browser::new(&h.base);
    let login = browser.get("/console/login").await;
    let page = browser.follow(login).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let state = form_state(&page.body);
    let form = browser.get(&format!("/u/signup?state={state}")).await;
    assert_eq!(form.status, StatusCode::FORBIDDEN, "{}", form.body);
    let posted = browser
        .post_form(
            &format!("/u/signup?state={state}"),
            &[
                ("state", state.as_str()),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
    assert!(
        user_by_email(&h, &admin, "mallory@example.com")
            .await
            .is_empty()
    );

    // change_password for an operator: the usual answer, mail to the operator.
    let (s, op) = h
        .api(
            &admin,
            Method::POST,
            "/users",
            Some(json!({"connection": OPERATORS, "email": OPERATOR,
                "password": PASSWORD, "email_verified": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{op}");
    let r = h
        .http
        .post(format!("{}/dbconnections/change_password", h.base))
        .json(&json!({"client_id": "tern-console", "connection": OPERATORS, "email": OPERATOR}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let st = h.state();
    let mut outbox = Vec::new();
    for _ in 0..100 {
        outbox = st.store.list_outbox(st.tid(), 0, 10).await.unwrap();
        if !outbox.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        !outbox.is_empty() && outbox.iter().all(|m| m.to == OPERATOR),
        "mail to the operator only: {outbox:?}"
    );
    h.stop().await;
}

/// The operators' connection itself decides who signs in as an operator
/// (a custom database's login script, the password policy): `PATCH
/// /connections/{id}` of it needs every scope too, and a refusal changes
/// nothing. Other connections take `update:connections` as before.
async fn changing_the_operators_connection_needs_every_scope(b: Backend) {
    let h = Harness::start(b).await;
    let admin = h.admin_token().await;
    let narrow = Narrow::create(&h, &admin).await;
    let operators = h.operators_connection().await;
    let path = format!("/connections/{}", operators.id);
    let (_, before) = h.api(&admin, Method::GET, &path, None).await;
    let token = narrow
        .token(&h, "read:connections update:connections")
        .await;
    let mut options = before["options"].clone();
    options["enabledDatabaseCustomization"] = json!(true);
    options["customScripts"] = json!({"login":
        "function login(email, password, callback) { callback(null, {user_id: 'x', email: email}); }"});
    let (s, e) = h
        .api(
            &token,
            Method::PATCH,
            &path,
            Some(json!({"options": options})),
        )
        .await;
    assert_refused("custom database on the operators' connection", s, &e);
    let (s, e) = h
        .api(
            &token,
            Method::PATCH,
            &path,
            Some(json!({"display_name": "Ops"})),
        )
        .await;
    assert_refused("the operators' display name", s, &e);
    let (_, after) = h.api(&admin, Method::GET, &path, None).await;
    assert_eq!(after, before, "nothing changed");

    let default = format!("/connections/{}", h.info.connection_id);
    let (s, e) = h
        .api(
            &token,
            Method::PATCH,
            &default,
            Some(json!({"display_name": "Shop"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = h
        .api(
            &admin,
            Method::PATCH,
            &path,
            Some(json!({"display_name": "Ops"})),
        )
        .await;
    assert_eq!(
        (s, e["display_name"].as_str()),
        (StatusCode::OK, Some("Ops"))
    );
    h.stop().await;
}

both_backends!(
    changing_the_operators_connection_needs_every_scope,
    creating_an_operator_needs_every_scope,
    changing_an_operator_needs_every_scope,
    authentication_methods_need_their_scope,
    signup_cannot_make_an_operator,
);
