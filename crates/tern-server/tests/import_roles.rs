#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Roles carried by import rows (`tern_roles`) on both backends, through
//! the real multipart endpoint: the users hold them as `GET
//! /users/{id}/roles` and `GET /roles/{id}/users` show; a job needs the
//! scopes the roles API needs; a re-run adds nothing twice; two jobs
//! creating the same new role make one; a job stopped mid-way and resumed
//! gives each role once.

mod common;

use std::collections::BTreeMap;

use common::{Backend, Harness};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `POST /jobs/users-imports` of `rows` (not waited for): status and body.
async fn upload(h: &Harness, token: &str, rows: &Value, upsert: bool) -> (StatusCode, Value) {
    upload_with(h, token, rows, &[("upsert", &upsert.to_string())]).await
}

/// [`upload`] with these form fields.
async fn upload_with(
    h: &Harness,
    token: &str,
    rows: &Value,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = Form::new()
        .part(
            "users",
            Part::bytes(rows.to_string().into_bytes()).file_name("users.json"),
        )
        .text("connection_id", h.info.connection_id.clone());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
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

/// Rows of roles in the database itself: (roles, grants).
async fn role_rows(h: &Harness) -> (i64, i64) {
    let mut db = h.database().await;
    let roles: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roles")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_roles")
        .fetch_one(&mut db)
        .await
        .unwrap();
    (roles, grants)
}

async fn a_dry_run_reports_its_roles_and_writes_none(b: Backend) {
    // Batches of two: the findings add up over several batches.
    let h = Harness::start_with(b, |c| c.import.batch_size = 2).await;
    let t = h.admin_token().await;
    let (s, _) = h
        .api(&t, Method::POST, "/roles", Some(json!({"name": "editor"})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let before = tenant_roles(&h, &t).await;
    let rows = json!([
        {"email": "ann@example.com", "tern_roles": ["editor", {"name": "viewer", "description": "Views"}]},
        {"email": "bob@example.com", "tern_roles": ["viewer", "admin"]},
        {"email": "cid@example.com"},
        {"email": "dan@example.com", "tern_roles": "editor"},
        {"email": "ann@example.com", "tern_roles": ["ghost"]},
        {"email": "fay@example.com", "tern_roles": ["editor"]},
    ]);
    let (s, job) = upload_with(&h, &t, &rows, &[("dry_run", "true")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let done = completed(&h, &t, job["id"].as_str().unwrap()).await;
    // Rows 3 (not an array) and 4 (ann again) fail: their roles count for
    // nothing, so "ghost" is not among those created.
    assert_eq!(
        done["summary"],
        json!({"failed": 2, "updated": 0, "inserted": 4, "total": 6,
               "tern_roles": {"would_create": ["admin", "viewer"], "would_assign": 5}}),
        "{done}"
    );
    assert_eq!(tenant_roles(&h, &t).await, before, "no role created");
    assert_eq!(role_rows(&h).await, (1, 0), "no role, no grant written");
    let (_, users) = h
        .api(&t, Method::GET, "/users?include_totals=true", None)
        .await;
    assert_eq!(users["total"], 0, "{users}");

    // A creator who may assign but not create: the row naming a role the
    // tenant lacks fails as it would for real, and nothing is to be created.
    let assigner = h
        .scoped_token(&["create:users", "read:users", "create:role_members"])
        .await;
    let (s, job) = upload_with(&h, &assigner, &rows, &[("dry_run", "true")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let done = completed(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 4, "updated": 0, "inserted": 2, "total": 6,
               "tern_roles": {"would_create": [], "would_assign": 1}}),
        "{done}"
    );

    // Upserting over users that exist: their new grants count, not the
    // roles they hold already; and a file naming no role reports none.
    let ann = json!([{"email": "ann@example.com", "tern_roles": ["editor"]}]);
    import(&h, &t, &ann, false).await;
    assert_eq!(role_rows(&h).await, (1, 1), "ann holds editor");
    let again = json!([{"email": "ann@example.com", "tern_roles": ["editor", "viewer"]}]);
    let (s, job) = upload_with(&h, &t, &again, &[("dry_run", "true"), ("upsert", "true")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let done = completed(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(
        done["summary"]["tern_roles"],
        json!({"would_create": ["viewer"], "would_assign": 1}),
        "{done}"
    );

    // A file naming more roles than a dry run lists: the first names by
    // order, and a flag that there are more (the list is rewritten with
    // every batch's progress, so it stays bounded).
    let many: Vec<Value> = (0..11)
        .map(|u| {
            let names: Vec<String> = (0..100).map(|r| format!("r{:04}", u * 100 + r)).collect();
            json!({"email": format!("many{u}@example.com"), "tern_roles": names})
        })
        .collect();
    let (s, job) = upload_with(&h, &t, &json!(many), &[("dry_run", "true")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let done = completed(&h, &t, job["id"].as_str().unwrap()).await;
    let found = &done["summary"]["tern_roles"];
    assert_eq!(found["would_assign"], 1100, "{found}");
    assert_eq!(found["would_create_more"], true, "{found}");
    let listed: Vec<&str> = found["would_create"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let first: Vec<String> = (0..1000).map(|r| format!("r{r:04}")).collect();
    assert_eq!(listed, first, "the first 1 000 names by order");
    let plain = json!([{"email": "zed@example.com"}]);
    let (_, job) = upload_with(&h, &t, &plain, &[("dry_run", "true")]).await;
    let done = completed(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 1, "total": 1}),
        "{done}"
    );
    assert_eq!(role_rows(&h).await, (1, 1), "the dry runs wrote nothing");
    h.stop().await;
}

/// The roles row `i` of the resumed job names: one all share, one of a
/// few, and every third row one more.
fn resumed_row_roles(i: usize) -> Vec<String> {
    let mut roles = vec!["member".to_string(), format!("team-{}", i % 7)];
    if i.is_multiple_of(3) {
        roles.push(format!("extra-{}", i % 2));
    }
    roles
}

/// Small batches, one runner, a lease only a hand-back beats: the stop
/// lands mid-job and the restarted server resumes it.
fn resume_settings(c: &mut tern_server::Config) {
    c.import.batch_size = 5;
    c.import.lease_secs = 3600;
    c.import.runners = 1;
    c.import.max_file_bytes = 10_000_000;
}

/// The rows of the resumed jobs, each naming its `resumed_row_roles`.
fn resumed_rows(rows: usize) -> Value {
    let rows: Vec<Value> = (0..rows)
        .map(|i| {
            json!({"email": format!("resume{i}@example.com"), "user_id": format!("r{i}"),
                   "tern_roles": resumed_row_roles(i)})
        })
        .collect();
    Value::Array(rows)
}

/// The server restarted once job `id` is processing with some batches (and
/// so some roles) in, not all: the restarted server resumes it.
async fn restarted_mid_job(h: Harness, t: &str, id: &str) -> Harness {
    loop {
        let (_, j) = h.api(t, Method::GET, &format!("/jobs/{id}"), None).await;
        assert_ne!(j["status"], "completed", "finished before the stop");
        if j["status"] == "processing" && j["percentage_done"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    h.restart(resume_settings).await
}

/// The tenant's role names, sorted, read from the database.
async fn stored_role_names(h: &Harness) -> Vec<String> {
    use sqlx::Row;
    let mut db = h.database().await;
    let mut names: Vec<String> = sqlx::query("SELECT name FROM roles")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    names.sort();
    names
}

/// Every role name `resumed_row_roles` gives, sorted.
fn resumed_role_names() -> Vec<String> {
    let mut want: Vec<String> = ["member", "extra-0", "extra-1"]
        .iter()
        .map(|s| s.to_string())
        .chain((0..7).map(|k| format!("team-{k}")))
        .collect();
    want.sort();
    want
}

async fn a_resumed_dry_run_reports_the_whole_file(b: Backend) {
    const ROWS: usize = 1500;
    let h = Harness::start_with(b, resume_settings).await;
    let t = h.admin_token().await;
    let rows = resumed_rows(ROWS);
    let (s, job) = upload_with(&h, &t, &rows, &[("dry_run", "true")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let h = restarted_mid_job(h, &t, &id).await;
    let t = h.admin_token().await;
    let done = completed(&h, &t, &id).await;
    let grants: usize = (0..ROWS).map(|i| resumed_row_roles(i).len()).sum();
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 0, "inserted": ROWS, "total": ROWS,
               "tern_roles": {"would_create": resumed_role_names(), "would_assign": grants}}),
        "{done}"
    );
    assert_eq!(role_rows(&h).await, (0, 0), "a dry run writes no role");
    h.stop().await;
}

async fn a_resumed_job_gives_each_role_once(b: Backend) {
    use sqlx::Row;
    const ROWS: usize = 1500;
    let h = Harness::start_with(b, resume_settings).await;
    let t = h.admin_token().await;
    let (s, job) = upload(&h, &t, &resumed_rows(ROWS), false).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let h = restarted_mid_job(h, &t, &id).await;
    let t = h.admin_token().await;
    let done = completed(&h, &t, &id).await;
    assert_eq!(done["summary"]["inserted"], ROWS, "{done}");
    assert_eq!(done["summary"]["failed"], 0, "{done}");

    let mut db = h.database().await;
    let held = sqlx::query(
        "SELECT ur.user_id, r.name FROM user_roles ur JOIN roles r \
         ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut by_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &held {
        by_user
            .entry(row.get::<String, _>(0))
            .or_default()
            .push(row.get::<String, _>(1));
    }
    for roles in by_user.values_mut() {
        roles.sort(); // a role held twice would show twice here
    }
    let expected: BTreeMap<String, Vec<String>> = (0..ROWS)
        .map(|i| {
            let mut roles = resumed_row_roles(i);
            roles.sort();
            (format!("auth0|r{i}"), roles)
        })
        .collect();
    assert_eq!(by_user.len(), ROWS);
    assert!(
        by_user == expected,
        "every user holds exactly its roles, once"
    );
    assert_eq!(
        stored_role_names(&h).await,
        resumed_role_names(),
        "each role created once"
    );
    h.stop().await;
}

both_backends!(
    rows_give_their_users_roles,
    roles_in_a_job_need_the_role_scopes,
    two_jobs_creating_one_role_make_one,
    a_dry_run_reports_its_roles_and_writes_none,
    a_resumed_dry_run_reports_the_whole_file,
    a_resumed_job_gives_each_role_once
);
