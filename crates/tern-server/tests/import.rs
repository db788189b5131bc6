#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Bulk import jobs over the real multipart endpoint.

mod common;

use std::time::Duration;

use common::{Backend, Harness};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn upload(
    h: &Harness,
    token: &str,
    file: Vec<u8>,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = Form::new().part(
        "users",
        Part::bytes(file)
            .file_name("users.json")
            .mime_str("application/json")
            .unwrap(),
    );
    let mut has_conn = false;
    for (k, v) in extra {
        has_conn |= *k == "connection_id";
        form = form.text(k.to_string(), v.to_string());
    }
    if !has_conn {
        form = form.text("connection_id", h.info.connection_id.clone());
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

async fn wait_done(h: &Harness, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (s, job) = h
            .api(token, Method::GET, &format!("/jobs/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{job}");
        if job["status"] == "completed" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

/// Upload `rows` as a job and wait for it: (job id, the completed job).
async fn import_to_end(h: &Harness, token: &str, rows: &Value) -> (String, Value) {
    let (s, job) = upload(h, token, serde_json::to_vec(rows).unwrap(), &[]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_done(h, token, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    (id, done)
}

/// `GET /jobs/{id}/errors`, which must answer 200 with records.
async fn errors_of(h: &Harness, token: &str, id: &str) -> Value {
    let (s, errs) = h
        .api(token, Method::GET, &format!("/jobs/{id}/errors"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{errs}");
    errs
}

/// Each error record of `GET /jobs/{id}/errors` as (row index, first
/// error's code, first error's `detail` field).
fn first_errors(errs: &Value, detail: &str) -> Vec<(u64, String, String)> {
    errs.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["errors"][0]["code"].as_str().unwrap().to_string(),
                e["errors"][0][detail].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn import_reports_every_row(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, "existing@example.com", "Corr3ct-horse")
        .await;
    let rows = json!([
        // 0: valid, bcrypt hash of "hello" (Auth0's documented example, made by the bcrypt reference implementation)
        {"email": "Good@Example.com", "email_verified": true, "user_id": "legacy-1", "given_name": "Good",
         "app_metadata": {"plan": "gold"}, "user_metadata": {"lang": "en"},
         "password_hash": "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"},
        // 1: valid, Auth0's documented hmac-sha1 custom hash of "test"
        {"email": "hmac@example.com", "custom_password_hash": {"algorithm": "hmac", "hash": {"value": "cg7f42jH39/2EaAU4wNd4s2lKIk=", "encoding": "base64", "digest": "sha1", "key": {"value": "736868", "encoding": "hex"}}}},
        // 2: no email
        {"given_name": "No Email"},
        // 3: bad email
        {"email": "not-an-email"},
        // 4: wrong type
        {"email": "type@example.com", "email_verified": "yes"},
        // 5: unknown field
        {"email": "extra@example.com", "favourite_colour": "blue"},
        // 6: forbidden app_metadata key
        {"email": "forbidden@example.com", "app_metadata": {"email": "x"}},
        // 7: both hashes
        {"email": "both@example.com", "password_hash": "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "x", "encoding": "hex"}}},
        // 8: invalid custom hash object
        {"email": "badhash@example.com", "custom_password_hash": {"algorithm": "rot13", "hash": {"value": "x"}}},
        // 9: duplicate of row 0 in the file
        {"email": "good@example.com"},
        // 10: exists already
        {"email": "existing@example.com"},
        // 11: too long given_name
        {"email": "long@example.com", "given_name": "x".repeat(151)},
        // 12: bad mfa factor
        {"email": "mfa@example.com", "mfa_factors": [{"totp": {"secret": "lowercase!"}}]},
        // 13: not an object
        "just a string",
        // 14: valid, no hash at all
        {"email": "nohash@example.com", "username": "nohash"},
    ]);
    let (s, job) = upload(
        &h,
        &t,
        serde_json::to_vec(&rows).unwrap(),
        &[
            ("external_id", "batch-7"),
            ("send_completion_email", "false"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["type"], "users_import");
    assert_eq!(job["external_id"], "batch-7");
    assert_eq!(job["connection"], "Username-Password-Authentication");
    assert!(job["id"].as_str().unwrap().starts_with("job_"));
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["summary"],
        json!({"failed": 12, "updated": 0, "inserted": 3, "total": 15})
    );

    let errs = errors_of(&h, &t, job["id"].as_str().unwrap()).await;
    let got = first_errors(&errs, "path");
    let want: Vec<(u64, &str, &str)> = vec![
        (2, "OBJECT_REQUIRED", "email"),
        (3, "INVALID_FORMAT", "email"),
        (4, "INVALID_TYPE", "email_verified"),
        (5, "OBJECT_ADDITIONAL_PROPERTIES", "favourite_colour"),
        (6, "NOT_PASSED", "app_metadata.email"),
        (7, "CONFLICT", "password_hash"),
        (8, "ENUM_MISMATCH", "custom_password_hash.algorithm"),
        (9, "DUPLICATED_USER", "email"),
        (10, "DUPLICATED_USER", "email"),
        (11, "MAX_LENGTH", "given_name"),
        (12, "PATTERN", "mfa_factors[0].totp"),
        (13, "INVALID_TYPE", ""),
    ];
    let want: Vec<(u64, String, String)> = want
        .into_iter()
        .map(|(i, c, p)| (i, c.into(), p.into()))
        .collect();
    assert_eq!(got, want, "{errs}");
    // Hashes are redacted in the echoed rows.
    let row7 = errs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["index"] == 7)
        .unwrap();
    assert_eq!(row7["user"]["password_hash"], "*****");
    assert_eq!(
        row7["user"]["custom_password_hash"]["hash"]["value"],
        "*****"
    );

    // Imported users have Auth0's shape and log in with their old passwords.
    let (_, good) = h
        .api(&t, Method::GET, "/users/auth0%7Clegacy-1", None)
        .await;
    assert_eq!(good["email"], "good@example.com");
    assert_eq!(good["email_verified"], true);
    assert_eq!(good["app_metadata"], json!({"plan": "gold"}));
    let (cid, secret) = h.password_client(&t).await;
    for (user, pw) in [("good@example.com", "hello"), ("hmac@example.com", "test")] {
        let (s, body) = h.token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": user, "password": pw, "realm": "Username-Password-Authentication"})).await;
        assert_eq!(s, StatusCode::OK, "{user}: {body}");
    }
    let (s, _) = h.token(json!({"grant_type": "password", "client_id": cid, "client_secret": secret, "username": "nohash@example.com", "password": "anything", "realm": "Username-Password-Authentication"})).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a user imported without a hash has no password yet"
    );
    h.stop().await;
}

async fn upsert_dry_run_and_job_failures(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let first = json!([{"email": "u@example.com", "given_name": "Before", "user_metadata": {"a": 1, "b": 2}, "blocked": false,
                        "password_hash": "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}]);
    let (_, job) = upload(&h, &t, serde_json::to_vec(&first).unwrap(), &[]).await;
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["summary"]["inserted"], 1);

    let second = json!([
        {"email": "u@example.com", "given_name": "After", "user_metadata": {"c": 3}, "blocked": true},
        {"email": "new@example.com"}
    ]);
    // Dry run: validates, counts, writes nothing.
    let (s, job) = upload(
        &h,
        &t,
        serde_json::to_vec(&second).unwrap(),
        &[("upsert", "true"), ("dry_run", "true")],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(job["dry_run"], true);
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 1, "inserted": 1, "total": 2})
    );
    let (_, list) = h
        .api(&t, Method::GET, "/users?include_totals=true", None)
        .await;
    assert_eq!(list["total"], 1, "dry run wrote nothing");

    // Without upsert the existing user fails; with it, metadata is replaced and blocked untouched.
    let (_, job) = upload(&h, &t, serde_json::to_vec(&second).unwrap(), &[]).await;
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 1, "updated": 0, "inserted": 1, "total": 2})
    );
    let (_, job) = upload(
        &h,
        &t,
        serde_json::to_vec(&json!([second[0].clone()])).unwrap(),
        &[("upsert", "true")],
    )
    .await;
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 1, "inserted": 0, "total": 1})
    );
    let (_, u) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=u%40example.com",
            None,
        )
        .await;
    assert_eq!(u[0]["given_name"], "After");
    assert_eq!(
        u[0]["user_metadata"],
        json!({"c": 3}),
        "replaced, not merged"
    );
    assert!(u[0].get("blocked").is_none(), "blocked is not upserted");
    let (s, errs) = h
        .api(
            &t,
            Method::GET,
            &format!("/jobs/{}/errors", job["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!((s, errs), (StatusCode::NO_CONTENT, Value::Null));

    // Unparsable file: the job fails with a reason.
    let (_, job) = upload(&h, &t, b"[{\"email\": ".to_vec(), &[]).await;
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["status_details"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{done}"
    );
    let (s, generic) = h
        .api(
            &t,
            Method::GET,
            &format!("/jobs/{}/errors", job["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(generic["status"], "failed");
    h.stop().await;
}

async fn request_errors_as_auth0(b: Backend) {
    let h = Harness::start_with(b, |c| c.import.batch_size = 20).await;
    let t = h.admin_token().await;
    let url = format!("{}/api/v2/jobs/users-imports", h.base);
    let post = |form: Form| h.http.post(&url).bearer_auth(&t).multipart(form).send();
    let file = || Part::bytes(b"[]".to_vec()).file_name("u.json");
    let cases: Vec<(Form, u16, &str)> = vec![
        (
            Form::new().text("connection_id", h.info.connection_id.clone()),
            400,
            "Must provide 'users' file as multipart part.",
        ),
        (
            Form::new()
                .part("users", Part::bytes(b"  ".to_vec()))
                .text("connection_id", h.info.connection_id.clone()),
            400,
            "Users file must not be empty.",
        ),
        (
            Form::new().part("users", file()),
            400,
            "Must provide 'connection_id' as multipart part.",
        ),
        (
            Form::new()
                .part("users", file())
                .text("connection_id", "Username-Password-Authentication"),
            400,
            "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
        ),
        (
            Form::new()
                .part("users", file())
                .text("connection_id", "con_0000000000000000"),
            400,
            "The connection does not exist.",
        ),
        (
            Form::new()
                .part("users", file())
                .text("connection_id", h.info.connection_id.clone())
                .text("upsert", "maybe"),
            400,
            "Expected type boolean",
        ),
        (
            Form::new()
                .part("users", Part::bytes(vec![b' '; 512_001]))
                .text("connection_id", h.info.connection_id.clone()),
            413,
            "Payload content length greater than maximum allowed: 512000.",
        ),
    ];
    for (form, status, msg) in cases {
        let r = post(form).await.unwrap();
        let s = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(s.as_u16(), status, "{msg}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(msg),
            "{msg}: {body}"
        );
    }
    let r = h
        .http
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"users": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "not multipart");
    // Scope.
    let weak = h
        .m2m_token(
            &h.info.client_id,
            &h.info.client_secret,
            &h.info.audience,
            Some("read:users"),
        )
        .await;
    let (s, _) = upload(&h, &weak, b"[]".to_vec(), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Custom database without import mode.
    let (_, c) = h.api(&t, Method::POST, "/connections", Some(json!({"name": "legacy", "strategy": "auth0", "enabled_clients": [h.info.client_id], "options": {"enabledDatabaseCustomization": true}}))).await;
    let (s, body) = upload(
        &h,
        &t,
        b"[]".to_vec(),
        &[("connection_id", c["id"].as_str().unwrap())],
    )
    .await;
    assert_eq!(
        (s, body["message"].as_str().unwrap()),
        (
            StatusCode::BAD_REQUEST,
            "Custom Database Connections without import mode are not allowed."
        )
    );
    // A connection enabled for no application.
    let (_, c) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(json!({"name": "lonely", "strategy": "auth0"})),
        )
        .await;
    let (s, body) = upload(
        &h,
        &t,
        b"[]".to_vec(),
        &[("connection_id", c["id"].as_str().unwrap())],
    )
    .await;
    assert_eq!(
        (s, body["message"].as_str().unwrap()),
        (StatusCode::BAD_REQUEST, "Connection must be enabled.")
    );

    // Two active jobs per tenant: two big jobs (the server runs two at a
    // time), the third refused while they run.
    let big = |from: usize| {
        let rows: Vec<Value> = (from..from + 3000)
            .map(|i| json!({"email": format!("bulk{i}@example.com")}))
            .collect();
        serde_json::to_vec(&rows).unwrap()
    };
    assert!(big(0).len() < 512_000);
    let (s1, j1) = upload(&h, &t, big(0), &[]).await;
    let (s2, _) = upload(&h, &t, big(3000), &[]).await;
    let (s3, third) = upload(&h, &t, b"[]".to_vec(), &[]).await;
    assert_eq!(
        (s1, s2, s3),
        (
            StatusCode::ACCEPTED,
            StatusCode::ACCEPTED,
            StatusCode::TOO_MANY_REQUESTS
        ),
        "{third}"
    );
    assert_eq!(
        third,
        json!({"statusCode": 429, "error": "Too Many Requests", "message": "There are 2 active import users jobs, please wait until some of them are finished and try again"})
    );
    let done = wait_done(&h, &t, j1["id"].as_str().unwrap()).await;
    assert_eq!(done["summary"]["inserted"], 3000);
    // Unknown and malformed job ids.
    let (s, _) = h
        .api(&t, Method::GET, "/jobs/job_0000000000000000", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h.api(&t, Method::GET, "/jobs/nope", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.stop().await;
}

/// `tern_wait_ms` (a Tern extension): a poll of a running job is held until
/// the job ends, then answers the ended job; an ended job answers at once;
/// a bad value is Auth0's query error.
async fn a_held_poll_answers_when_the_job_ends(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let rows: Vec<Value> = (0..2000)
        .map(|i| json!({"email": format!("held{i}@example.com")}))
        .collect();
    let (s, job) = upload(&h, &t, serde_json::to_vec(&rows).unwrap(), &[]).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let path = format!("/jobs/{}?tern_wait_ms=10000", job["id"].as_str().unwrap());
    let started = std::time::Instant::now();
    let (s, held) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{held}");
    assert_eq!(held["status"], "completed", "{held}");
    assert_eq!(held["summary"]["inserted"], 2000);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let again = std::time::Instant::now();
    let (s, _) = h.api(&t, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        again.elapsed() < std::time::Duration::from_secs(2),
        "an ended job is answered at once"
    );
    for bad in ["10001", "soon", "-1"] {
        let (s, body) = h
            .api(
                &t,
                Method::GET,
                &format!("/jobs/{}?tern_wait_ms={bad}", job["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["errorCode"], "invalid_query_string", "{bad}: {body}");
    }

    // The upload itself may be held until its job ends (still 202).
    let more: Vec<Value> = (0..300)
        .map(|i| json!({"email": format!("held-upload{i}@example.com")}))
        .collect();
    let file = serde_json::to_vec(&more).unwrap();
    let (s, job) = upload(&h, &t, file.clone(), &[("tern_wait_ms", "10000")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 300, "total": 300})
    );
    // Without it, or with 0, the upload answers at once, as Auth0.
    let (s, job) = upload(&h, &t, b"[]".to_vec(), &[("tern_wait_ms", "0")]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["status"], "pending", "{job}");
    for bad in ["10001", "soon", "-1"] {
        let (s, body) = upload(&h, &t, file.clone(), &[("tern_wait_ms", bad)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(
            body["message"],
            format!(
                "Payload validation error: 'tern_wait_ms' must be an integer from 0 to 10000 (milliseconds), got '{bad}'."
            ),
            "{bad}"
        );
    }
    h.stop().await;
}

async fn auth_methods(h: &Harness, t: &str, id: &str) -> Value {
    let (s, m) = h
        .api(
            t,
            Method::GET,
            &format!("/users/{id}/authentication-methods"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    m
}

/// An import row's `mfa_factors` are kept with the user (listed without the
/// TOTP seed); an upsert row's replace them, as Auth0's field table says.
async fn mfa_factors_are_imported_and_upserted(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let row = |factors: Value| json!([{"email": "mfa@example.com", "user_id": "mfa1", "mfa_factors": factors}]);
    let (s, job) = upload(
        &h,
        &t,
        serde_json::to_vec(&row(
            json!([{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}, {"phone": {"value": "+15550001111"}}]),
        ))
        .unwrap(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["summary"]["inserted"], 1, "{done}");
    let m = auth_methods(&h, &t, "auth0%7Cmfa1").await;
    assert_eq!(m.as_array().unwrap().len(), 2, "{m}");
    assert!(!m.to_string().contains("JBSWY3DPEHPK3PXP"));
    let (s, job) = upload(
        &h,
        &t,
        serde_json::to_vec(&row(json!([{"email": {"value": "mfa@example.com"}}]))).unwrap(),
        &[("upsert", "true")],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let done = wait_done(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["summary"]["updated"], 1, "{done}");
    let m = auth_methods(&h, &t, "auth0%7Cmfa1").await;
    let id = m[0]["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("email|dev_"), "an enrollment id: {m}");
    assert_eq!(
        m,
        json!([{"id": id, "type": "email", "confirmed": true,
        "created_at": m[0]["created_at"], "email": "mfa@example.com"}])
    );
    h.stop().await;
}

/// `create:users` adds users; it does not take over those that exist. An
/// upsert by a token without `update:users` leaves an existing user's
/// password hash and factors alone (noted on the row) — else it could set
/// the password of a user who has not logged in yet and sign in as them;
/// with `update:users` both are replaced, as Auth0's field table says. A
/// `create:users` caller sees an export job but not its download link;
/// metadata past the Management API's 16 KB fails its row.
async fn create_users_alone_takes_over_nobody(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    h.create_user(&t, "victim@example.com", "Victims-Own-1")
        .await;
    let info = &h.info;
    let creator = h
        .m2m_token(
            &info.client_id,
            &info.client_secret,
            &info.audience,
            Some("create:users"),
        )
        .await;
    let editor = h
        .m2m_token(
            &info.client_id,
            &info.client_secret,
            &info.audience,
            Some("create:users update:users"),
        )
        .await;
    // sha256("attacker-pass"), hex.
    let takeover = json!([{"email": "victim@example.com",
        "custom_password_hash": {"algorithm": "sha256", "hash": {"encoding": "hex",
            "value": "a871a36162e9cb0c0e26f963c8fc44721c2906c1f97c657968a2b48b36c81e26"}},
        "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}],
        "given_name": "Renamed"}]);
    let (s, job) = upload(
        &h,
        &creator,
        serde_json::to_vec(&takeover).unwrap(),
        &[("upsert", "true")],
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap();
    let done = wait_done(&h, &creator, id).await;
    assert_eq!(done["summary"]["updated"], 1, "{done}");
    let errs = errors_of(&h, &t, id).await;
    assert!(
        errs.to_string().contains("needs a token with update:users"),
        "{errs}"
    );
    let (cid, secret) = h.password_client(&t).await;
    let login = |pw: &'static str| {
        let (h, cid, secret) = (&h, cid.clone(), secret.clone());
        async move {
            h.token(
                json!({"grant_type": "password", "client_id": cid, "client_secret": secret,
                "username": "victim@example.com", "password": pw}),
            )
            .await
            .0
        }
    };
    assert_eq!(
        login("Victims-Own-1").await,
        StatusCode::OK,
        "the victim's password stands"
    );
    assert_ne!(login("attacker-pass").await, StatusCode::OK);
    let (_, u) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=victim%40example.com",
            None,
        )
        .await;
    assert_eq!(
        u[0]["given_name"], "Renamed",
        "the profile fields are upserted"
    );
    let uid = urlencoding::encode(u[0]["user_id"].as_str().unwrap()).into_owned();
    assert_eq!(
        auth_methods(&h, &t, &uid).await.as_array().unwrap().len(),
        0,
        "no factor was added"
    );

    // With update:users, on a user who has not logged in: applied.
    h.create_user(&t, "fresh@example.com", "Fresh-Own-1").await;
    let mut row = takeover.clone();
    row[0]["email"] = json!("fresh@example.com");
    let (_, job) = upload(
        &h,
        &editor,
        serde_json::to_vec(&row).unwrap(),
        &[("upsert", "true")],
    )
    .await;
    let done = wait_done(&h, &editor, job["id"].as_str().unwrap()).await;
    assert_eq!(done["summary"]["updated"], 1, "{done}");
    let (s, body) = h
        .token(
            json!({"grant_type": "password", "client_id": cid, "client_secret": secret,
            "username": "fresh@example.com", "password": "attacker-pass"}),
        )
        .await;
    // The imported password is right; the imported factor is asked for.
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required")),
        "{body}"
    );
    let (_, f) = h
        .api(
            &t,
            Method::GET,
            "/users-by-email?email=fresh%40example.com",
            None,
        )
        .await;
    let fid = urlencoding::encode(f[0]["user_id"].as_str().unwrap()).into_owned();
    assert_eq!(
        auth_methods(&h, &t, &fid).await.as_array().unwrap().len(),
        1,
        "the imported TOTP factor"
    );

    // Metadata over 16 KB fails its row.
    let big = json!([{"email": "big@example.com", "user_metadata": {"blob": "x".repeat(17_000)}}]);
    let (_, job) = upload(&h, &creator, serde_json::to_vec(&big).unwrap(), &[]).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_done(&h, &creator, id).await;
    assert_eq!(done["summary"]["failed"], 1, "{done}");
    let errs = errors_of(&h, &t, id).await;
    assert_eq!(errs[0]["errors"][0]["code"], "MAX_LENGTH", "{errs}");

    // An export: its link only for read:users.
    let (s, export) = h
        .api(
            &t,
            Method::POST,
            "/jobs/users-exports",
            Some(json!({"format": "json"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{export}");
    let eid = export["id"].as_str().unwrap();
    let done = wait_done(&h, &t, eid).await;
    assert!(done["location"].is_string(), "{done}");
    let (s, seen) = h
        .api(&creator, Method::GET, &format!("/jobs/{eid}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(seen["status"], "completed");
    assert!(seen.get("location").is_none(), "{seen}");
    h.stop().await;
}

/// Insert-only imports write each batch optimistically and overlap them
/// (batch k+1 is written while batch k commits); a batch that meets a stored
/// user is planned again with lookups. With two-row batches, stored users
/// met in several batches, on each key, must each be reported with the
/// field they collide on, and every other row inserted exactly once.
async fn collisions_in_overlapping_batches_are_named(b: Backend) {
    let h = Harness::start_with(b, |c| c.import.batch_size = 2).await;
    let t = h.admin_token().await;
    let first = json!([
        {"email": "a1@example.com", "user_id": "u1"},
        {"email": "a2@example.com", "username": "name2"},
        {"email": "a3@example.com"},
    ]);
    let (_, done) = import_to_end(&h, &t, &first).await;
    assert_eq!(done["summary"]["inserted"], 3, "{done}");

    let second = json!([
        {"email": "new0@example.com"},
        {"email": "new1@example.com"},
        {"email": "A1@Example.com"},
        {"email": "new3@example.com"},
        {"email": "new4@example.com", "user_id": "u1"},
        {"email": "new5@example.com", "username": "name2"},
        {"email": "new6@example.com"},
        {"email": "a3@example.com"},
        {"email": "new8@example.com"},
    ]);
    let (id, done) = import_to_end(&h, &t, &second).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 4, "updated": 0, "inserted": 5, "total": 9})
    );
    let got = first_errors(&errors_of(&h, &t, &id).await, "message");
    let same = |field: &str| format!("The user already exists (same {field}).");
    assert_eq!(
        got,
        vec![
            (2, "DUPLICATED_USER".into(), same("email")),
            (4, "DUPLICATED_USER".into(), same("user_id")),
            (5, "DUPLICATED_USER".into(), same("username")),
            (7, "DUPLICATED_USER".into(), same("email")),
        ]
    );
    let (s, users) = h
        .api(
            &t,
            Method::GET,
            "/users?include_totals=true&per_page=50",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut emails: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [
            "a1@example.com",
            "a2@example.com",
            "a3@example.com",
            "new0@example.com",
            "new1@example.com",
            "new3@example.com",
            "new6@example.com",
            "new8@example.com",
        ]
    );
    h.stop().await;
}

/// PostgreSQL cannot store U+0000 in text; a row carrying it anywhere is
/// that row's error on both backends, and the job goes on.
async fn a_nul_character_fails_its_row_not_the_job(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let rows = json!([
        {"email": "before@example.com"},
        {"email": "nul@example.com", "name": "Nul\u{0}Name"},
        {"email": "meta@example.com", "user_metadata": {"notes": ["ok", "bad\u{0}"]}},
        {"email": "after@example.com"},
    ]);
    let (id, done) = import_to_end(&h, &t, &rows).await;
    assert_eq!(
        done["summary"],
        json!({"failed": 2, "updated": 0, "inserted": 2, "total": 4})
    );
    assert_eq!(
        first_errors(&errors_of(&h, &t, &id).await, "path"),
        vec![
            (1, "INVALID_FORMAT".into(), "name".into()),
            (2, "INVALID_FORMAT".into(), "user_metadata.notes[1]".into()),
        ]
    );
    h.stop().await;
}

/// A row nested deeper than the JSON reader goes (128 levels) is that row's
/// error, saying so — it once passed for `null` and was refused as "found
/// type null" — and the rows around it are imported.
async fn a_row_nested_too_deep_fails_alone_and_says_why(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    let file = format!(
        "[{{\"email\": \"before@example.com\"}}, \
         {{\"email\": \"deep@example.com\", \"app_metadata\": {deep}}}, \
         {{\"email\": \"after@example.com\"}}]"
    );
    let (s, job) = upload(&h, &t, file.into_bytes(), &[]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_done(&h, &t, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["summary"],
        json!({"failed": 1, "updated": 0, "inserted": 2, "total": 3})
    );
    let errs = errors_of(&h, &t, &id).await;
    assert_eq!(
        first_errors(&errs, "code"),
        vec![(1, "INVALID_FORMAT".into(), "INVALID_FORMAT".into())]
    );
    let message = errs[0]["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("nested more than 127 levels deep"),
        "{message}"
    );
    h.stop().await;
}

/// A server stopped mid-import hands its job back: restarted with a lease
/// of an hour, it resumes at once (it would otherwise wait the hour out),
/// and every row is applied exactly once.
/// The settings of the hand-back tests: batches small enough that the stop
/// lands mid-job, a lease long enough that only a hand-back resumes it.
fn handback_settings(c: &mut tern_server::Config) {
    c.import.batch_size = 5;
    c.import.lease_secs = 3600;
    c.import.runners = 1;
    c.import.max_file_bytes = 10_000_000;
}

/// A job of 2 000 users, once it is being processed; its id.
async fn handback_job_under_way(h: &Harness, t: &str) -> String {
    let rows: Vec<Value> = (0..2000)
        .map(|i| json!({"email": format!("handback{i}@example.com")}))
        .collect();
    let (s, job) = upload(h, t, serde_json::to_vec(&rows).unwrap(), &[]).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    loop {
        let (_, j) = h.api(t, Method::GET, &format!("/jobs/{id}"), None).await;
        assert_ne!(
            j["status"], "completed",
            "finished before the stop could be staged"
        );
        if j["status"] == "processing" && j["percentage_done"].as_u64().unwrap_or(0) > 0 {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The restarted server finishes job `id`, each row applied once.
async fn handed_back_and_finished(h: &Harness, id: &str) {
    let t = h.admin_token().await;
    let mut done = Value::Null;
    for _ in 0..2400 {
        let (_, j) = h.api(&t, Method::GET, &format!("/jobs/{id}"), None).await;
        if j["status"] == "completed" {
            done = j;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        done["status"], "completed",
        "the job was not handed back: {done}"
    );
    assert_eq!(done["summary"]["inserted"], 2000, "{done}");
    assert_eq!(done["summary"]["failed"], 0, "{done}");
    // Counted by the connection's migration report: `include_totals` stops at
    // 1000, as Auth0's does.
    let (_, report) = h
        .api(
            &t,
            Method::GET,
            &format!("/connections/{}/migration", h.info.connection_id),
            None,
        )
        .await;
    assert_eq!(report["total_users"], 2000, "each row applied once");
}

async fn a_stopped_server_hands_its_job_back(b: Backend) {
    let h = Harness::start_with(b, handback_settings).await;
    let t = h.admin_token().await;
    let id = handback_job_under_way(&h, &t).await;
    let h = h.restart(handback_settings).await;
    handed_back_and_finished(&h, &id).await;
    h.stop().await;
}

/// SQLite: the stop meets the write lock held past SQLite's busy timeout
/// (10 s) — as a stopped worker's batch still committing or a checkpoint
/// can hold it on a loaded machine — and hands the job back once the lock
/// goes, instead of leaving it to its lease.
#[tokio::test]
async fn the_hand_back_outlasts_a_held_write_lock() {
    use sqlx::Connection;
    let h = Harness::start_with(Backend::Sqlite, handback_settings).await;
    let t = h.admin_token().await;
    let id = handback_job_under_way(&h, &t).await;
    let file = h.dir.path().join("tern.db");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let holder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(12)).await;
        sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
    });
    let h = h.restart(handback_settings).await;
    holder.await.unwrap();
    handed_back_and_finished(&h, &id).await;
    h.stop().await;
}

both_backends!(
    a_row_nested_too_deep_fails_alone_and_says_why,
    a_stopped_server_hands_its_job_back,
    a_nul_character_fails_its_row_not_the_job,
    collisions_in_overlapping_batches_are_named,
    mfa_factors_are_imported_and_upserted,
    create_users_alone_takes_over_nobody,
    a_held_poll_answers_when_the_job_ends,
    import_reports_every_row,
    upsert_dry_run_and_job_failures,
    request_errors_as_auth0
);
