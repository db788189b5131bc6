#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's operations pages at the protocol level, on both backends:
//! imports (a streamed upload split into jobs, a dry run with its hash
//! formats, the failed rows in the file's numbering and their downloads),
//! the user actions (block, unblock, reset link, delete with a confirm
//! step), logs, exports and settings — each refused without a session and
//! without the CSRF token, each change logged with the operator as actor,
//! and nothing secret on a page. Chromium drives them in `browser.rs`.

mod common;

use common::browser::{Answer, Browser, csrf};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";

/// The first operator, signed in through Tern's login.
/// The first operator, signed in through the setup link and Tern's login.
async fn operator(h: &Harness) -> Browser {
    h.console_operator(OPERATOR, OPERATOR_PASSWORD).await
}

fn to_login(a: &Answer) {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location().as_deref(), Some("/console/login"));
}

/// Post the import form as a browser does: the fields in form order, then
/// the file.
async fn upload(
    b: &mut Browser,
    query: &str,
    fields: &[(&str, &str)],
    file: &str,
) -> (StatusCode, Option<String>, String) {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form = form.part(
        "users",
        reqwest::multipart::Part::bytes(file.as_bytes().to_vec())
            .file_name("users.ndjson")
            .mime_str("application/octet-stream")
            .unwrap(),
    );
    let r = b
        .post_multipart(&format!("/console/imports{query}"), form)
        .await;
    let location = r.location();
    (r.status, location, r.body)
}

/// The page of an import once nothing moves (it stops reloading itself).
async fn settled(b: &mut Browser, path: &str) -> Answer {
    for _ in 0..600 {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if !page.body.contains("http-equiv=\"refresh\"") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import never settled");
}

fn rows(n: usize, bad: usize, unreadable: usize) -> String {
    let hash = bcrypt::hash("Correct-Horse-7-Battery", 4).unwrap();
    let mut out = String::new();
    for i in 0..n {
        if i == unreadable {
            out.push_str("{this is not json\n");
        } else if i == bad {
            out.push_str(&format!("{}\n", json!({"email": "not-an-email"})));
        } else {
            out.push_str(&format!(
                "{}\n",
                json!({"email": format!("user{i}@example.com"), "email_verified": true, "password_hash": hash})
            ));
        }
    }
    out
}

async fn imports_split_and_report_failed_rows(backend: Backend) {
    // Small job files: the upload is cut into several jobs.
    let h = Harness::start_with(backend, |c| c.import.max_file_bytes = 2048).await;
    let mut b = operator(&h).await;
    let list = b.get("/console/imports").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("No import yet"), "{}", list.body);
    let token = csrf(&list.body);
    let conn = h.info.connection_id.clone();
    let file = rows(40, 17, 5);

    // No token, or a wrong one: refused, nothing queued.
    let (s, _, _) = upload(&mut b, "", &[("connection_id", &conn)], &file).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = upload(
        &mut b,
        "",
        &[("csrf", &"0".repeat(64)), ("connection_id", &conn)],
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // No session: to the sign-in page.
    let mut anon = Browser::new(&h.base);
    let (s, loc, _) = upload(
        &mut anon,
        "",
        &[("csrf", &token), ("connection_id", &conn)],
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/console/login"));
    assert!(
        b.get("/console/imports")
            .await
            .body
            .contains("No import yet")
    );

    // A dry run: counted and checked, nothing written.
    let (s, loc, body) = upload(
        &mut b,
        "?dry_run=true",
        &[("csrf", &token), ("connection_id", &conn)],
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let dry = settled(&mut b, &loc.unwrap()).await;
    assert!(dry.body.contains("dry run: nothing is written"));
    assert!(
        dry.body
            .contains("data-format=\"bcrypt\"><td>bcrypt</td><td class=\"num\">38<"),
        "{}",
        dry.body
    );
    assert!(dry.body.contains("id=\"rows-read\">40<"), "{}", dry.body);
    assert!(
        dry.body.contains("id=\"rows-inserted\">38<"),
        "{}",
        dry.body
    );
    let t = h.admin_token().await;
    let (_, found) = h
        .api(&t, Method::GET, "/users?q=email:user0@example.com", None)
        .await;
    assert_eq!(
        found.as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );

    // The import itself.
    let (s, loc, body) = upload(
        &mut b,
        "",
        &[
            ("csrf", &token),
            ("connection_id", &conn),
            ("upsert", "false"),
        ],
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let path = loc.unwrap();
    let page = settled(&mut b, &path).await;
    assert!(
        page.body.matches("data-job=").count() > 1,
        "several jobs: {}",
        page.body
    );
    assert!(
        page.body.contains("id=\"rows-inserted\">38<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"rows-failed\">2<"), "{}", page.body);
    assert!(
        page.body.contains("data-done=\"40\" data-total=\"40\""),
        "{}",
        page.body
    );
    // The failed rows, in the file's numbering.
    assert!(page.body.contains("data-index=\"5\""), "{}", page.body);
    assert!(page.body.contains("INVALID_JSON"));
    assert!(page.body.contains("data-index=\"17\""), "{}", page.body);
    let csv = b.get(&format!("{path}/errors.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "index,code,path,message");
    // Text cells escaped against formulas, as user exports are.
    assert!(lines[1].starts_with("5,\"'INVALID_JSON\","), "{}", csv.body);
    assert!(lines[2].starts_with("17,"), "{}", csv.body);
    let js = b.get(&format!("{path}/errors.json")).await;
    let v: serde_json::Value = serde_json::from_str(&js.body).unwrap();
    assert_eq!(v[1]["index"], 17);
    let (_, found) = h
        .api(&t, Method::GET, "/users?q=email:user39@example.com", None)
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    // The list shows both uploads; the overview counts the imported users.
    let list = b.get("/console/imports").await;
    assert_eq!(list.body.matches("href=\"/console/imports/imp_").count(), 2);
    let home = b.get("/console").await;
    assert!(
        home.body.contains("id=\"migrated-users\">38<"),
        "{}",
        home.body
    );
    // Logged with the operator as actor.
    let (_, logs) = h.api(&t, Method::GET, "/logs?q=type:sapi", None).await;
    let entry = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["description"] == "Console: import started")
        .expect("logged");
    assert_eq!(entry["details"]["actor"]["email"], OPERATOR);
    // Without a session, neither the page nor the downloads.
    let mut anon = Browser::new(&h.base);
    to_login(&anon.get(&path).await);
    to_login(&anon.get(&format!("{path}/errors.csv")).await);
    h.stop().await;
}

async fn user_actions_go_through_the_api_rules(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let ada = h
        .create_user(&t, "ada@example.com", "Correct-Horse-7-Battery")
        .await;
    let id = ada["user_id"].as_str().unwrap();
    let enc = urlencoding::encode(id).into_owned();
    let user_page = format!("/console/users/{enc}");
    let mut b = operator(&h).await;
    let page = b.get(&user_page).await;
    let token = csrf(&page.body);
    assert!(page.body.contains(">Block<"), "{}", page.body);

    // Without the token or a session: refused, nothing changed.
    let refused = b.post_form(&format!("{user_page}/block"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    to_login(
        &Browser::new(&h.base)
            .post_form(&format!("{user_page}/block"), &[("csrf", &token)])
            .await,
    );
    to_login(
        &Browser::new(&h.base)
            .post_form(
                &format!("{user_page}/delete"),
                &[("csrf", &token), ("confirm", "yes")],
            )
            .await,
    );
    let stored = |h: &Harness| {
        let s = h.state().clone();
        let id = id.to_string();
        async move { s.store.get_user(s.tid(), &id).await.unwrap() }
    };
    assert!(!stored(&h).await.unwrap().blocked);

    let blocked = b
        .post_form(&format!("{user_page}/block"), &[("csrf", &token)])
        .await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER, "{}", blocked.body);
    assert!(stored(&h).await.unwrap().blocked);
    let page = b.follow(blocked).await;
    assert!(page.body.contains("The user is blocked"), "{}", page.body);
    assert!(page.body.contains(">Unblock<"));
    let unblocked = b
        .post_form(&format!("{user_page}/unblock"), &[("csrf", &token)])
        .await;
    assert_eq!(unblocked.status, StatusCode::SEE_OTHER);
    assert!(!stored(&h).await.unwrap().blocked);

    let reset = b
        .post_form(&format!("{user_page}/reset"), &[("csrf", &token)])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    assert_eq!(reset.location().unwrap(), format!("{user_page}?done=reset"));

    // Delete: the confirm step first; without the box ticked nothing happens.
    let confirm = b.get(&format!("{user_page}/delete")).await;
    assert!(
        confirm.body.contains("This cannot be undone"),
        "{}",
        confirm.body
    );
    let unticked = b
        .post_form(&format!("{user_page}/delete"), &[("csrf", &token)])
        .await;
    assert_eq!(unticked.status, StatusCode::SEE_OTHER);
    assert!(stored(&h).await.is_some());
    let gone = b
        .post_form(
            &format!("{user_page}/delete"),
            &[("csrf", &token), ("confirm", "yes")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert!(stored(&h).await.is_none());

    let (_, logs) = h.api(&t, Method::GET, "/logs?q=type:sapi", None).await;
    for what in [
        "Console: user blocked",
        "Console: user unblocked",
        "Console: reset link sent",
        "Console: user deleted",
    ] {
        let entry = logs
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["description"] == what)
            .unwrap_or_else(|| panic!("{what} logged: {logs}"));
        assert_eq!(entry["details"]["actor"]["email"], OPERATOR);
        assert_eq!(entry["user_id"], id);
    }
    h.stop().await;
}

async fn settings_logs_and_exports(backend: Backend) {
    let h = Harness::start_with(backend, |c| {
        c.smtp.url = Some("smtp://mailer:Sup3r-Secret-Pw@127.0.0.1:1".into());
    })
    .await;
    let t = h.admin_token().await;
    h.create_user(&t, "ada@example.com", "Correct-Horse-7-Battery")
        .await;
    // Without a session: no page, no action.
    let mut anon = Browser::new(&h.base);
    for page in [
        "/console/logs",
        "/console/exports",
        "/console/settings",
        "/console/imports",
    ] {
        to_login(&anon.get(page).await);
    }
    for action in [
        "/console/settings/brute-force",
        "/console/settings/suspicious-ip",
        "/console/settings/keys/rotate",
        "/console/exports",
    ] {
        to_login(&anon.post_form(action, &[("csrf", "x")]).await);
    }
    let mut b = operator(&h).await;

    // Settings: nothing secret on the page.
    let page = b.get("/console/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("Sup3r-Secret-Pw"),
        "the SMTP password is masked"
    );
    assert!(
        page.body
            .contains("id=\"smtp-user\" type=\"text\" name=\"user\" value=\"mailer\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("PRIVATE KEY"));
    let keys = h.state().store.signing_keys(h.state().tid()).await.unwrap();
    for k in &keys {
        if let tern_core::model::StoredPrivateKey::Sealed(sealed) = &k.private_key {
            assert!(
                !page.body.contains(&sealed[..40]),
                "no private key on the page"
            );
        }
    }
    let token = csrf(&page.body);
    // CSRF refused on every settings form.
    for action in [
        "/console/settings/brute-force",
        "/console/settings/suspicious-ip",
        "/console/settings/keys/rotate",
    ] {
        assert_eq!(
            b.post_form(action, &[]).await.status,
            StatusCode::FORBIDDEN,
            "{action}"
        );
    }
    let saved = b
        .post_form(
            "/console/settings/brute-force",
            &[
                ("csrf", &token),
                ("enabled", "true"),
                ("max_attempts", "7"),
                ("mode", "count_per_identifier_and_ip"),
                ("shield_block", "true"),
                ("allowlist", "10.0.0.0/8\n"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let now = tern_server::brute_force::settings(h.state()).await.unwrap();
    assert_eq!(now.max_attempts, 7);
    assert_eq!(now.allowlist, vec!["10.0.0.0/8".to_string()]);
    // The API's validation: a bad allowlist is refused and nothing changes.
    let bad = b
        .post_form(
            "/console/settings/brute-force",
            &[
                ("csrf", &token),
                ("enabled", "true"),
                ("max_attempts", "5"),
                ("mode", "count_per_identifier_and_ip"),
                ("allowlist", "not-an-ip"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not-an-ip"), "{}", bad.body);
    assert_eq!(
        tern_server::brute_force::settings(h.state())
            .await
            .unwrap()
            .max_attempts,
        7
    );
    let ip = b
        .post_form(
            "/console/settings/suspicious-ip",
            &[
                ("csrf", &token),
                ("enabled", "true"),
                ("pre_login_max_attempts", "250"),
                ("pre_login_rate", "345600"),
                ("pre_user_registration_max_attempts", "50"),
                ("pre_user_registration_rate", "1728000"),
                ("shield_block", "true"),
            ],
        )
        .await;
    assert_eq!(ip.status, StatusCode::SEE_OTHER, "{}", ip.body);
    assert_eq!(
        tern_server::ip_throttling::settings(h.state())
            .await
            .unwrap()
            .stage
            .pre_login
            .max_attempts,
        250
    );
    // Rotation: the next key becomes current.
    let next = keys
        .iter()
        .find(|k| k.state == tern_core::model::SigningKeyState::Next)
        .unwrap()
        .kid
        .clone();
    let rotated = b
        .post_form("/console/settings/keys/rotate", &[("csrf", &token)])
        .await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let after = b.get("/console/settings").await;
    assert!(
        after
            .body
            .contains(&format!("data-kid=\"{next}\" data-state=\"current\"")),
        "{}",
        after.body
    );

    // Logs: the changes above, filtered by type and by user.
    let logs = b.get("/console/logs?type=sapi").await;
    assert!(
        logs.body
            .contains("Console: brute-force protection updated"),
        "{}",
        logs.body
    );
    assert!(logs.body.contains("Console: signing keys rotated"));
    let by_user = b.get("/console/logs?user=ada%40example.com").await;
    assert!(
        !by_user.body.contains("signing keys rotated"),
        "{}",
        by_user.body
    );
    let follow = b.get("/console/logs?type=sapi&follow=on").await;
    assert!(follow.body.contains("http-equiv=\"refresh\""));
    let future = b.get("/console/logs?from=2999-01-01").await;
    assert!(future.body.contains("No event matches."));
    let bad_day = b.get("/console/logs?from=yesterday").await;
    assert!(bad_day.body.contains("YYYY-MM-DD"));

    // Exports: start one, see it finish, download it.
    let exports = b.get("/console/exports").await;
    assert!(exports.body.contains("No export yet."));
    assert_eq!(
        b.post_form("/console/exports", &[("format", "json")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let started = b
        .post_form(
            "/console/exports",
            &[
                ("csrf", &token),
                ("connection_id", &h.info.connection_id),
                ("format", "csv"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let mut done = None;
    for _ in 0..600 {
        let page = b.get("/console/exports").await;
        if page.body.contains("/download\"") {
            done = Some(page);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let page = done.expect("the export finished");
    let at = page.body.find("href=\"/console/exports/job_").unwrap() + "href=\"".len();
    let link = &page.body[at..at + page.body[at..].find('"').unwrap()];
    assert!(
        !page.body.contains("token="),
        "no download token in the page"
    );
    let to_file = b.get(link).await;
    assert_eq!(to_file.status, StatusCode::SEE_OTHER);
    // The harness's public URL is https in front of a plain listener.
    let public = h.server.as_ref().unwrap().public_url.clone();
    let file = reqwest::get(to_file.location().unwrap().replace(&public, &h.base))
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let bytes = file.bytes().await.unwrap();
    let mut gz = flate2::read::GzDecoder::new(&bytes[..]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut gz, &mut text).unwrap();
    assert!(text.contains("ada@example.com"), "{text}");
    to_login(&anon.get(link).await);
    h.stop().await;
}

async fn overview_counts_the_legacy_store(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("legacy.db");
    let dsn = format!("sqlite:{}", file.display());
    let hash = bcrypt::hash("Legacy-Pass-123", 4).unwrap();
    {
        use sqlx::{Connection, Executor};
        let mut c = sqlx::SqliteConnection::connect(&format!("{dsn}?mode=rwc"))
            .await
            .unwrap();
        c.execute("CREATE TABLE members (uid TEXT PRIMARY KEY, mail TEXT, pwhash TEXT)")
            .await
            .unwrap();
        for i in 0..3 {
            sqlx::query("INSERT INTO members VALUES ($1, $2, $3)")
                .bind(format!("m-{i}"))
                .bind(format!("member{i}@legacy.example"))
                .bind(&hash)
                .execute(&mut c)
                .await
                .unwrap();
        }
        c.close().await.unwrap();
    }
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let (cid, secret) = h.password_client(&t).await;
    let connector = |count: serde_json::Value| {
        json!({"type": "sql", "dsn": dsn,
        "lookup_query": "SELECT uid, mail, pwhash FROM members WHERE lower(mail) = lower(:identifier)",
        "columns": {"user_id": "uid", "email": "mail", "password_hash": "pwhash"},
        "count_query": count})
    };
    let create = |c: serde_json::Value, name: &str| {
        json!({"name": name, "strategy": "auth0", "enabled_clients": [h.info.client_id, cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none", "tern_connector": c}})
    };
    // Checked like the rest of the connector's settings.
    for (bad, says) in [
        (json!("DELETE FROM members"), "count_query must be a SELECT"),
        (
            json!("SELECT count(*) FROM members WHERE mail = :identifier"),
            "not a parameter here",
        ),
        (
            json!("SELECT count(*) FROM members WHERE mail = ?"),
            "takes no parameter",
        ),
    ] {
        let (s, body) = h
            .api(
                &t,
                Method::POST,
                "/connections",
                Some(create(connector(bad), "bad-count")),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains(says), "{says}: {body}");
    }
    let http = json!({"type": "http", "base_url": "http://127.0.0.1:9", "client_id": "x", "audience": "y", "count_path": "users/count"});
    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(create(http, "bad-http")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("count_path"), "{body}");

    let (s, body) = h
        .api(
            &t,
            Method::POST,
            "/connections",
            Some(create(
                connector(json!("SELECT count(*) FROM members")),
                "lite",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut b = operator(&h).await;
    let home = b.get("/console").await;
    assert!(
        home.body.contains("data-migrated=\"0\" data-legacy=\"3\""),
        "{}",
        home.body
    );
    assert!(home.body.contains("0 of 3 legacy users migrated"));
    let (s, body) = h
        .token(json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": cid, "client_secret": secret,
            "username": "member1@legacy.example", "password": "Legacy-Pass-123", "realm": "lite"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let home = b.get("/console").await;
    assert!(
        home.body.contains("1 of 3 legacy users migrated"),
        "{}",
        home.body
    );
    h.stop().await;
}

both_backends!(
    imports_split_and_report_failed_rows,
    user_actions_go_through_the_api_rules,
    settings_logs_and_exports,
    overview_counts_the_legacy_store,
);
