#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Deleting connections, applications and APIs from the console, on both
//! backends: the confirmation page names what is lost, the posted form
//! needs the session's CSRF token and a ticked box, the deletion is the
//! Management API's own (users of a connection go with it, an
//! application leaves its connections, an API's grants go with it) and is
//! logged with the operator as actor; the operators' connection, the
//! console application and the Management API are refused.

mod common;

use common::browser::{Browser, csrf};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";

/// A connection with two users, an application using it with a grant for
/// an API: their ids (connection, client, API).
async fn world(h: &Harness, t: &str) -> (String, String, String) {
    let (_, app) = h
        .api(t, Method::POST, "/clients", Some(json!({"name": "Shop"})))
        .await;
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let (s, c) = h
        .api(
            t,
            Method::POST,
            "/connections",
            Some(
                json!({"name": "shop-users", "strategy": "auth0", "enabled_clients": [client_id]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    for email in ["a@shop.example", "b@shop.example"] {
        let (s, u) = h
            .api(
                t,
                Method::POST,
                "/users",
                Some(json!({"connection": "shop-users", "email": email, "password": "Correct-Horse-7-Battery"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
    }
    let (s, api) = h
        .api(
            t,
            Method::POST,
            "/resource-servers",
            Some(json!({"name": "Orders", "identifier": "https://orders.example/", "scopes": [{"value": "read:orders"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api}");
    let (s, g) = h
        .api(
            t,
            Method::POST,
            "/client-grants",
            Some(json!({"client_id": client_id, "audience": "https://orders.example/", "scope": ["read:orders"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    (
        c["id"].as_str().unwrap().to_string(),
        client_id,
        api["id"].as_str().unwrap().to_string(),
    )
}

/// The confirmation, the refusals of a form without its token or without
/// the ticked box, then the deletion; what the page named.
async fn delete_through(h: &Harness, op: &mut Browser, url: &str, names: &[&str]) -> String {
    let page = op.get(url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for n in names {
        assert!(page.body.contains(n), "{url} names {n}: {}", page.body);
    }
    let token = csrf(&page.body);
    let forged = op.post_form(url, &[("confirm", "yes")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{url} without CSRF");
    let crossed = op
        .post_form(url, &[("csrf", &"0".repeat(64)), ("confirm", "yes")])
        .await;
    assert_eq!(
        crossed.status,
        StatusCode::FORBIDDEN,
        "{url} with another token"
    );
    let anon = Browser::new(&h.base)
        .post_form(url, &[("confirm", "yes")])
        .await;
    assert_eq!(anon.location().as_deref(), Some("/console/login"));
    let unticked = op.post_form(url, &[("csrf", &token)]).await;
    assert_eq!(unticked.location().as_deref(), Some(url), "back to confirm");
    let done = op
        .post_form(url, &[("csrf", &token), ("confirm", "yes")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    done.location().unwrap()
}

async fn logged(h: &Harness, t: &str, what: &str) -> Value {
    h.console_log(t, "sapi", what, OPERATOR).await
}

/// How many users have this email (in any connection).
async fn users_with(h: &Harness, t: &str, email: &str) -> usize {
    let (_, users) = h
        .api(
            t,
            Method::GET,
            &format!("/users-by-email?email={email}"),
            None,
        )
        .await;
    users.as_array().unwrap().len()
}

async fn a_deletion_names_what_is_lost(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (connection, client, api) = world(&h, &t).await;
    for email in ["a@shop.example", "b@shop.example"] {
        assert_eq!(users_with(&h, &t, email).await, 1, "{email}");
    }
    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;

    // Each edit page leads to its deletion.
    for page in [
        format!("/console/connections/{connection}"),
        format!("/console/applications/{client}"),
        format!("/console/apis/{api}"),
    ] {
        let body = op.get(&page).await.body;
        assert!(body.contains(&format!("href=\"{page}/delete\"")), "{page}");
    }

    // The API: its grant (the application's) goes with it.
    let to = delete_through(
        &h,
        &mut op,
        &format!("/console/apis/{api}/delete"),
        &["https://orders.example/", "Shop"],
    )
    .await;
    assert_eq!(to, "/console/apis?done=deleted");
    let (s, _) = h
        .api(&t, Method::GET, &format!("/resource-servers/{api}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, grants) = h
        .api(
            &t,
            Method::GET,
            &format!("/client-grants?client_id={client}"),
            None,
        )
        .await;
    assert_eq!(grants, json!([]));
    logged(&h, &t, "Console: API deleted").await;

    // The application: it leaves its connection, which stays.
    let to = delete_through(
        &h,
        &mut op,
        &format!("/console/applications/{client}/delete"),
        &["shop-users", &client],
    )
    .await;
    assert_eq!(to, "/console/applications?done=deleted");
    let (s, _) = h
        .api(&t, Method::GET, &format!("/clients/{client}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{connection}"), None)
        .await;
    assert_eq!(c["enabled_clients"], json!([]), "{c}");
    logged(&h, &t, "Console: application deleted").await;

    // The connection: its two users go with it.
    let to = delete_through(
        &h,
        &mut op,
        &format!("/console/connections/{connection}/delete"),
        &["id=\"lost-users\"><strong>2</strong>"],
    )
    .await;
    assert_eq!(to, "/console/connections?done=deleted");
    let (s, _) = h
        .api(&t, Method::GET, &format!("/connections/{connection}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for email in ["a@shop.example", "b@shop.example"] {
        assert_eq!(users_with(&h, &t, email).await, 0, "{email}");
    }
    let entry = logged(&h, &t, "Console: connection deleted").await;
    assert_eq!(entry["details"]["users"], 2);
    assert_eq!(entry["connection"], "shop-users");
    h.stop().await;
}

async fn what_the_console_needs_cannot_be_deleted(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut op = h.console_operator(OPERATOR, OPERATOR_PASSWORD).await;
    let token = csrf(&op.get("/console").await.body);
    let s = h.state();
    let operators = h.operators_connection().await;
    let (_, apis) = h.api(&t, Method::GET, "/resource-servers", None).await;
    let system = apis.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        // Not even listed in the console.
        (
            format!("/console/connections/{}/delete", operators.id),
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
        (
            "/console/applications/tern-console/delete".into(),
            StatusCode::FORBIDDEN,
            "managed by Tern",
        ),
        (
            format!("/console/apis/{system}/delete"),
            StatusCode::FORBIDDEN,
            "cannot be deleted",
        ),
    ];
    for (url, status, says) in cases {
        let page = op.get(&url).await;
        assert_eq!(page.status, status, "GET {url}: {}", page.body);
        assert!(page.body.contains(says), "{url}: {}", page.body);
        let posted = op
            .post_form(&url, &[("csrf", &token), ("confirm", "yes")])
            .await;
        assert_eq!(posted.status, status, "POST {url}: {}", posted.body);
    }
    assert!(
        s.store
            .get_connection(s.tid(), &operators.id)
            .await
            .unwrap()
            .is_some()
    );
    // Its page shows it and offers nothing to change; a forged save and a
    // rotation are refused by the Management API's services.
    let page = op.get("/console/applications/tern-console").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("managed by Tern"));
    assert!(
        !page
            .body
            .contains("action=\"/console/applications/tern-console")
    );
    let before = s.store.get_client(s.tid(), "tern-console").await.unwrap();
    assert!(before.is_some());
    for url in [
        "/console/applications/tern-console",
        "/console/applications/tern-console/rotate-secret",
    ] {
        let posted = op
            .post_form(
                url,
                &[
                    ("csrf", &token),
                    ("name", "Evil"),
                    ("callbacks", "https://evil.example/cb"),
                ],
            )
            .await;
        assert_ne!(
            posted.status,
            StatusCode::SEE_OTHER,
            "{url}: {}",
            posted.body
        );
        assert!(
            posted.body.contains("managed by Tern"),
            "{url}: {}",
            posted.body
        );
    }
    assert_eq!(
        s.store.get_client(s.tid(), "tern-console").await.unwrap(),
        before
    );
    assert_eq!(
        op.get("/console").await.status,
        StatusCode::OK,
        "still signed in"
    );
    h.stop().await;
}

both_backends!(
    a_deletion_names_what_is_lost,
    what_the_console_needs_cannot_be_deleted,
);
