#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Roles carried by import rows (`tern_roles`) on both backends, through
//! the real multipart endpoint: the users hold them as `GET
//! /users/{id}/roles` and `GET /roles/{id}/users` show; a job needs the
//! scopes the roles API needs; a re-run adds nothing twice; two jobs
//! creating the same new role make one.

mod common;

use common::{Backend, Harness};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `POST /jobs/users-imports` of `rows` (not waited for): status and body.
async fn upload(h: &Harness, token: &str, rows: &Value, upsert: bool) -> (StatusCode, Value) {
    let form = Form::new()
        .part(
            "users",
            Part::bytes(rows.to_string().into_bytes()).file_name("users.json"),
        )
        .text("connection_id", h.info.connection_id.clone())
        .text("upsert", upsert.to_string());
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Poll job `id` until it ends; it must complete.
async fn completed(h: &Harness, token: &str, id: &str) -> Value {
    for _ in 0..1200 {
        let (s, job) = h
            .api(token, Method::GET, &format!("/jobs/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{job}");
        if job["status"] == "completed" || job["status"] == "failed" {
            assert_eq!(job["status"], "completed", "{job}");
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

/// Upload `rows` and wait for the job: the finished job.
async fn import(h: &Harness, token: &str, rows: &Value, upsert: bool) -> Value {
    let (s, job) = upload(h, token, rows, upsert).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    completed(h, token, job["id"].as_str().unwrap()).await
}

/// A user's roles as (name, description), by name.
async fn roles_of(h: &Harness, t: &str, user_id: &str) -> Vec<(String, String)> {
    let (s, roles) = h
        .api(t, Method::GET, &format!("/users/{user_id}/roles"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{roles}");
    common::pairs(&roles, "name", "description")
}

/// The tenant's roles as (name, id), by name.
async fn tenant_roles(h: &Harness, t: &str) -> Vec<(String, String)> {
    let (s, roles) = h.api(t, Method::GET, "/roles", None).await;
    assert_eq!(s, StatusCode::OK, "{roles}");
    common::pairs(&roles, "name", "id")
}

/// The user ids of a role's members, sorted.
async fn members(h: &Harness, t: &str, role_id: &str) -> Vec<String> {
    let (s, users) = h
        .api(t, Method::GET, &format!("/roles/{role_id}/users"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{users}");
    let mut ids: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn pair(name: &str, description: &str) -> (String, String) {
    (name.to_string(), description.to_string())
}

async fn rows_give_their_users_roles(b: Backend) {
    // Batches of two: the rows naming a role span several transactions.
    let h = Harness::start_with(b, |c| c.import.batch_size = 2).await;
    let t = h.admin_token().await;
    let (s, editor) = h
        .api(
            &t,
            Method::POST,
            "/roles",
            Some(json!({"name": "editor", "description": "Edits"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{editor}");
    let rows = json!([
        {"email": "ann@example.com", "user_id": "ann",
         "tern_roles": ["editor", {"name": "viewer", "description": "Views"}]},
        {"email": "bob@example.com", "user_id": "bob", "tern_roles": ["viewer", "viewer"]},
        {"email": "cid@example.com", "user_id": "cid"},
        {"email": "dan@example.com", "user_id": "dan", "tern_roles": "editor"},
        {"email": "eve@example.com", "user_id": "eve", "tern_roles": [{"name": " "}]},
    ]);
    let job = import(&h, &t, &rows, false).await;
    assert_eq!(job["summary"]["inserted"], 3, "{job}");
    assert_eq!(job["summary"]["failed"], 2, "{job}");
    let errors = h.job_errors(&t, job["id"].as_str().unwrap()).await;
    let codes: Vec<(u64, &str, &str)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["errors"][0]["code"].as_str().unwrap(),
                e["errors"][0]["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (3, "INVALID_TYPE", "tern_roles"),
            (4, "INVALID_FORMAT", "tern_roles[0]")
        ]
    );
    assert_eq!(
        roles_of(&h, &t, "auth0|ann").await,
        [pair("editor", "Edits"), pair("viewer", "Views")]
    );
    assert_eq!(
        roles_of(&h, &t, "auth0|bob").await,
        [pair("viewer", "Views")]
    );
    assert!(roles_of(&h, &t, "auth0|cid").await.is_empty());
    let roles = tenant_roles(&h, &t).await;
    assert_eq!(
        roles.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["editor", "viewer"]
    );
    assert_eq!(roles[0].1, editor["id"].as_str().unwrap());
    assert_eq!(
        members(&h, &t, &roles[1].1).await,
        ["auth0|ann", "auth0|bob"]
    );
    assert_eq!(members(&h, &t, &roles[0].1).await, ["auth0|ann"]);

    // The same file again as an upsert, plus a role for bob: nothing is
    // given twice, no role is made twice, a role held is never taken.
    let mut again = rows.as_array().unwrap()[..3].to_vec();
    again[1] = json!({"email": "bob@example.com", "user_id": "bob", "tern_roles": ["admin"]});
    let job = import(&h, &t, &Value::Array(again), true).await;
    assert_eq!(job["summary"]["updated"], 3, "{job}");
    assert_eq!(
        roles_of(&h, &t, "auth0|bob").await,
        [pair("admin", ""), pair("viewer", "Views")]
    );
    assert_eq!(
        roles_of(&h, &t, "auth0|ann").await,
        [pair("editor", "Edits"), pair("viewer", "Views")]
    );
    let roles = tenant_roles(&h, &t).await;
    assert_eq!(
        roles.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["admin", "editor", "viewer"]
    );
    assert_eq!(
        members(&h, &t, &roles[2].1).await,
        ["auth0|ann", "auth0|bob"]
    );
    h.stop().await;
}

async fn roles_in_a_job_need_the_role_scopes(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let (s, _) = h
        .api(&t, Method::POST, "/roles", Some(json!({"name": "editor"})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let creator = h.scoped_token(&["create:users", "read:users"]).await;
    let with_roles = json!([{"email": "ann@example.com", "tern_roles": ["editor"]}]);
    // Refused as the roles API refuses a caller without the scope.
    let (s, body) = upload(&h, &creator, &with_roles, false).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["errorCode"], "insufficient_scope", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("create:role_members"),
        "{body}"
    );
    let (s, body) = h
        .api(
            &creator,
            Method::POST,
            "/roles",
            Some(json!({"name": "other"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // A file without the field is what it always was.
    let plain = json!([{"email": "ann@example.com"}]);
    let job = import(&h, &creator, &plain, false).await;
    assert_eq!(job["summary"]["inserted"], 1, "{job}");

    // Assigning without creating: a role of the tenant is given, a name
    // the tenant lacks fails its row and creates nothing.
    let assigner = h
        .scoped_token(&["create:users", "read:users", "create:role_members"])
        .await;
    let rows = json!([
        {"email": "bob@example.com", "user_id": "bob", "tern_roles": ["editor"]},
        {"email": "cid@example.com", "user_id": "cid", "tern_roles": ["editor", "ghost"]},
    ]);
    let job = import(&h, &assigner, &rows, false).await;
    assert_eq!(job["summary"]["inserted"], 1, "{job}");
    assert_eq!(job["summary"]["failed"], 1, "{job}");
    let errors = h.job_errors(&t, job["id"].as_str().unwrap()).await;
    assert_eq!(errors[0]["index"], 1, "{errors}");
    assert_eq!(errors[0]["errors"][0]["code"], "INSUFFICIENT_SCOPE");
    let message = errors[0]["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("'ghost'") && message.contains("create:roles"),
        "{message}"
    );
    assert_eq!(roles_of(&h, &t, "auth0|bob").await, [pair("editor", "")]);
    let (s, _) = h.api(&t, Method::GET, "/users/auth0|cid", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let names: Vec<String> = tenant_roles(&h, &t)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(names, ["editor"]);
    h.stop().await;
}

async fn two_jobs_creating_one_role_make_one(b: Backend) {
    // Small batches, two runners: both jobs write side by side.
    let h = Harness::start_with(b, |c| c.import.batch_size = 5).await;
    let t = h.admin_token().await;
    let rows = |prefix: &str| {
        let rows: Vec<Value> = (0..40)
            .map(|i| {
                json!({"email": format!("{prefix}{i}@example.com"),
                       "tern_roles": ["shared", format!("only-{prefix}")]})
            })
            .collect();
        Value::Array(rows)
    };
    let (a, b) = (rows("a"), rows("b"));
    let (first, second) = tokio::join!(upload(&h, &t, &a, false), upload(&h, &t, &b, false));
    for (s, job) in [&first, &second] {
        assert_eq!(*s, StatusCode::ACCEPTED, "{job}");
    }
    for (_, job) in [&first, &second] {
        let done = completed(&h, &t, job["id"].as_str().unwrap()).await;
        assert_eq!(done["summary"]["inserted"], 40, "{done}");
    }
    let roles = tenant_roles(&h, &t).await;
    assert_eq!(
        roles.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["only-a", "only-b", "shared"]
    );
    let (s, page) = h
        .api(
            &t,
            Method::GET,
            &format!(
                "/roles/{}/users?include_totals=true&per_page=100",
                roles[2].1
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 80, "{page}");
    assert_eq!(members(&h, &t, &roles[0].1).await.len(), 40);
    h.stop().await;
}

both_backends!(
    rows_give_their_users_roles,
    roles_in_a_job_need_the_role_scopes,
    two_jobs_creating_one_role_make_one
);
