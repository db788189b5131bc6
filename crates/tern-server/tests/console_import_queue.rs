#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! A console upload honours `import.max_active_jobs`: its jobs are stored
//! `waiting` and start only as slots free, one runner or many, one instance
//! or two on one PostgreSQL; the progress page shows them waiting; the
//! Management API keeps Auth0's 429 when the limit is reached. The slot is
//! held by a job "another instance" is processing (a row with a lease far in
//! the future), so what the page shows does not depend on timing.

mod common;

use common::browser::{Browser, csrf};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection as _;
use tern_core::model::{JobSpec, JobStatus, JobType};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const BLOCKER: &str = "job_held_by_another_instance";

/// The first operator, signed in through the setup link and Tern's login.
async fn operator(h: &Harness) -> Browser {
    h.console_operator(OPERATOR, OPERATOR_PASSWORD).await
}

/// The tenant's import jobs by status, read in one statement (a snapshot).
async fn by_status(db: &mut sqlx::AnyConnection, tenant: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT status, COUNT(*) FROM jobs WHERE tenant_id = $1 AND type = 'users_import' \
         GROUP BY status ORDER BY status",
    )
    .bind(tenant)
    .fetch_all(db)
    .await
    .unwrap()
}

fn count(rows: &[(String, i64)], statuses: &[&str]) -> i64 {
    rows.iter()
        .filter(|(s, _)| statuses.contains(&s.as_str()))
        .map(|(_, n)| n)
        .sum()
}

fn rows(n: usize) -> String {
    let hash = bcrypt::hash("Correct-Horse-7-Battery", 4).unwrap();
    (0..n)
        .map(|i| {
            format!(
                "{}\n",
                json!({"email": format!("user{i}@example.com"), "email_verified": true, "password_hash": hash})
            )
        })
        .collect()
}

async fn upload(h: &Harness, b: &mut Browser, token: &str, file: String) -> String {
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.to_string())
        .text("connection_id", h.info.connection_id.clone())
        .text("source", "auth0")
        .part(
            "users",
            reqwest::multipart::Part::bytes(file.into_bytes())
                .file_name("users.ndjson")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    let r = b.post_multipart("/console/imports", form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location().unwrap()
}

async fn uploads_wait_for_a_free_slot(backend: Backend) {
    let h = Harness::start_with(backend, |c| {
        c.import.max_active_jobs = 1;
        c.import.max_file_bytes = 1024;
    })
    .await;
    let tenant = h.state().tid().to_string();
    let mut db = h.database().await;

    // Another instance is running an import: the tenant's one slot is taken.
    let spec = JobSpec {
        kind: JobType::UsersImport,
        connection_id: h.info.connection_id.clone(),
        connection: "Username-Password-Authentication".into(),
        upsert: false,
        upsert_credentials: false,
        assign_roles: false,
        create_roles: false,
        external_id: None,
        send_completion_email: false,
        dry_run: false,
        export: None,
    };
    sqlx::query(
        "INSERT INTO jobs (tenant_id, id, type, status, created_at, updated_at, lease_until, body) \
         VALUES ($1, $2, 'users_import', 'processing', $3, $3, 4102444800, $4)",
    )
    .bind(&tenant)
    .bind(BLOCKER)
    .bind(tern_core::clock::now_iso())
    .bind(serde_json::to_string(&spec).unwrap())
    .execute(&mut db)
    .await
    .unwrap();

    // The Management API answers as Auth0 does with the limit reached.
    let t = h.admin_token().await;
    let form = reqwest::multipart::Form::new()
        .part(
            "users",
            reqwest::multipart::Part::bytes(b"[]".to_vec()).file_name("users.json"),
        )
        .text("connection_id", h.info.connection_id.clone());
    let r = h
        .http
        .post(format!("{}/api/v2/jobs/users-imports", h.base))
        .bearer_auth(&t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["message"],
        "There are 1 active import users jobs, please wait until some of them are finished and try again"
    );

    // The console's upload is accepted whole; its jobs wait.
    let mut b = operator(&h).await;
    let token = csrf(&b.get("/console/imports").await.body);
    let path = upload(&h, &mut b, &token, rows(30)).await;
    let page = b.get(&path).await.body;
    let jobs = page.matches("data-job=").count();
    assert!(jobs > 2, "several jobs: {page}");
    assert_eq!(
        page.matches(">waiting</span>").count(),
        jobs,
        "every job shows waiting: {page}"
    );
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    let now = by_status(&mut db, &tenant).await;
    assert_eq!(count(&now, &["waiting"]), jobs as i64, "{now:?}");
    assert_eq!(count(&now, &["pending", "processing"]), 1, "{now:?}");
    // No runner may start one while the slot is held, however often asked.
    for _ in 0..3 {
        assert_eq!(h.state().store.start_waiting_jobs(1).await.unwrap(), 0);
    }
    // A waiting job reads as pending to Auth0's API.
    let id = page.split("data-job=\"").nth(1).unwrap();
    let id = &id[..id.find('"').unwrap()];
    let (s, job) = h.api(&t, Method::GET, &format!("/jobs/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{job}");
    assert_eq!(job["status"], "pending", "{job}");

    // On PostgreSQL a second instance's runners compete for the same slot.
    let second = match backend {
        Backend::Postgres => {
            let mut config = h.state().config.clone();
            config.listen = "127.0.0.1:0".into();
            Some(tern_server::start(config).await.unwrap())
        }
        Backend::Sqlite => None,
    };

    // The other instance's job ends: the waiting jobs start one at a time.
    assert!(
        h.state()
            .store
            .finish_job(&tenant, BLOCKER, 0, JobStatus::Completed, None)
            .await
            .unwrap()
    );
    let mut last_waiting = jobs as i64;
    for _ in 0..6000 {
        let now = by_status(&mut db, &tenant).await;
        let active = count(&now, &["pending", "processing"]);
        assert!(
            active <= 1,
            "more than import.max_active_jobs at once: {now:?}"
        );
        let waiting = count(&now, &["waiting"]);
        assert!(waiting <= last_waiting, "{now:?}");
        last_waiting = waiting;
        if count(&now, &["completed"]) == jobs as i64 + 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let now = by_status(&mut db, &tenant).await;
    assert_eq!(count(&now, &["completed"]), jobs as i64 + 1, "{now:?}");
    let page = b.get(&path).await.body;
    assert!(page.contains("id=\"rows-inserted\">30<"), "{page}");
    assert!(!page.contains(">waiting</span>"), "{page}");
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
    if let Some(s) = second {
        s.stop().await;
    }
    db.close().await.unwrap();
    h.stop().await;
}

both_backends!(uploads_wait_for_a_free_slot);
