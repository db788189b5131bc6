#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Export jobs: NDJSON and CSV (escaped against formula injection), gzip,
//! downloaded through a short-lived signed link.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn finished(h: &Harness, t: &str, id: &str) -> Value {
    for _ in 0..400 {
        let (_, j) = h.api(t, Method::GET, &format!("/jobs/{id}"), None).await;
        if j["status"] == "completed" || j["status"] == "failed" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {id} did not finish");
}

async fn download(h: &Harness, job: &Value) -> String {
    // The link uses the public (https) URL; the test server speaks http.
    let location = job["location"]
        .as_str()
        .unwrap()
        .replace(&format!("https://{}", h.info.domain), &h.base);
    let r = h.http.get(&location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/gzip");
    let bytes = r.bytes().await.unwrap();
    let mut out = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut out)
        .unwrap();
    out
}

async fn exports(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    for i in 0..3 {
        let (s, _) = h
            .api(&t, Method::POST, "/users", Some(json!({"connection": "Username-Password-Authentication", "email": format!("e{i}@example.com"), "password": "Corr3ct-horse",
                "user_metadata": {"note": if i == 0 { "=HYPERLINK(\"http://evil\")" } else { "plain" }}})))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    // NDJSON with chosen fields.
    let (s, job) = h
        .api(&t, Method::POST, "/jobs/users-exports", Some(json!({"connection_id": h.info.connection_id, "format": "json",
            "fields": [{"name": "email"}, {"name": "identities[0].connection", "export_as": "provider"}, {"name": "user_metadata"}]})))
        .await;
    assert_eq!(s, StatusCode::OK, "{job}");
    assert_eq!(job["type"], "users_export");
    let done = finished(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    let text = download(&h, &done).await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        json!({"email": "e0@example.com", "provider": "Username-Password-Authentication", "user_metadata": {"note": "=HYPERLINK(\"http://evil\")"}})
    );

    // CSV with a limit: header, escaped strings, dates unescaped.
    let (_, job) = h
        .api(&t, Method::POST, "/jobs/users-exports", Some(json!({"format": "csv", "limit": 2,
            "fields": [{"name": "email"}, {"name": "user_metadata.note", "export_as": "note"}, {"name": "created_at"}, {"name": "logins_count"}]})))
        .await;
    let done = finished(&h, &t, job["id"].as_str().unwrap()).await;
    let csv = download(&h, &done).await;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert_eq!(
        rows[0],
        "\"'email\",\"'note\",\"'created_at\",\"'logins_count\""
    );
    assert!(
        rows[1].starts_with("\"'e0@example.com\",\"'=HYPERLINK(\"\"http://evil\"\")\",20"),
        "{}",
        rows[1]
    );
    assert!(rows[1].ends_with(",0"));

    // Bad requests.
    for (body, msg) in [
        (json!({"format": "xml"}), "format"),
        (
            json!({"format": "csv", "fields": [{"name": "app_metadata"}]}),
            "whole object",
        ),
        (json!({"connection_id": "nope"}), "pattern"),
        (json!({"limit": 0}), "limit"),
        (
            json!({"format": "json", "extra": 1}),
            "Additional properties",
        ),
        // Each field once, and at most 100: renamed copies of one field
        // would multiply every line.
        (
            json!({"format": "json", "fields": [{"name": "user_metadata", "export_as": "a"}, {"name": "user_metadata", "export_as": "b"}]}),
            "the field 'user_metadata' is listed more than once",
        ),
        (
            json!({"format": "json", "fields": (0..101).map(|i| json!({"name": format!("user_metadata.k{i}")})).collect::<Vec<_>>()}),
            "at most 100 fields",
        ),
    ] {
        let (s, b) = h
            .api(&t, Method::POST, "/jobs/users-exports", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(b["message"].as_str().unwrap().contains(msg), "{body}: {b}");
    }

    // The link is signed: a tampered or foreign token is refused.
    let loc = done["location"]
        .as_str()
        .unwrap()
        .replace(&format!("https://{}", h.info.domain), &h.base);
    let tampered = format!("{}x", loc);
    assert_eq!(
        h.http.get(&tampered).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let other = loc.replace(done["id"].as_str().unwrap(), "job_0000000000000000");
    assert_eq!(
        h.http.get(&other).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let no_token = loc.split('?').next().unwrap().to_string();
    assert_eq!(
        h.http.get(&no_token).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    h.stop().await;
}

/// A file of many chunks (tiny chunks here) downloads whole — a chunk lost or
/// out of order would break the gzip stream — with every user once.
async fn a_chunked_export_downloads_whole(b: Backend) {
    let h = Harness::start_with(b, |c| c.export.chunk_bytes = 512).await;
    let t = h.admin_token().await;
    let rows: Vec<Value> = (0..1500)
        .map(|i| json!({"email": format!("c{i:04}@chunks.example"),
            // Barely compressible, so the gzip output spans many chunks.
            "user_metadata": {"pad": format!("{:016x}{:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15), (i as u64 + 7).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))}}))
        .collect();
    let imported = h.import_rows(&t, &Value::from(rows)).await;
    assert_eq!(imported["summary"]["inserted"], 1500, "{imported}");
    let (s, job) = h
        .api(
            &t,
            Method::POST,
            "/jobs/users-exports",
            Some(json!({"connection_id": h.info.connection_id,
            "format": "json", "fields": [{"name": "email"}, {"name": "user_metadata.pad"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{job}");
    let done = finished(&h, &t, job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    let id = done["id"].as_str().unwrap();
    let tid = h.state().tid().to_string();
    let chunk = |n: u64| {
        let store = h.state().store.clone();
        let (tid, id) = (tid.clone(), id.to_string());
        async move { store.job_chunk(&tid, &id, n).await.unwrap() }
    };
    let mut n = 0;
    while chunk(n).await.is_some() {
        n += 1;
    }
    assert!(n >= 3, "the file is in several chunks: {n}");
    let text = download(&h, &done).await;
    let emails: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["email"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Rows of one import batch share their creation time, so within it the
    // order is by user id; what matters is that every user is there once.
    assert_eq!(emails.len(), 1500, "one line per user");
    let mut sorted = emails.clone();
    sorted.sort();
    sorted.dedup();
    let expected: Vec<String> = (0..1500)
        .map(|i| format!("c{i:04}@chunks.example"))
        .collect();
    assert!(sorted == expected, "users missing or repeated");
    h.stop().await;
}

both_backends!(exports, a_chunked_export_downloads_whole);
