#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's operations pages at the protocol level, on both backends:
//! imports (a streamed upload split into jobs, a dry run with its hash
//! formats, the failed rows in the file's numbering and their downloads),
//! the user actions (block, unblock, reset link, delete with a confirm
//! step), logs, exports and settings — each refused without a session and
//! without the CSRF token, each change logged with the operator as actor,
//! and nothing secret on a page. Chromium drives them in `browser.rs`.

mod common;

use common::browser::{Answer, Browser};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::json;

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The first operator, signed in through the setup link.
async fn operator(h: &Harness) -> Browser {
    let url = h.info.console_setup_url.clone().expect("a setup link");
    let token = url.split_once("token=").unwrap().1.to_string();
    let mut b = Browser::new(&h.base);
    let a = b
        .post_form(
            "/console/setup",
            &[
                ("token", &token),
                ("email", OPERATOR),
                ("password", OPERATOR_PASSWORD),
                ("confirm", OPERATOR_PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    b
}

fn to_login(a: &Answer) {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location().as_deref(), Some("/console/login"));
}

/// Post the import form as a browser does: the fields in form order, then
/// the file.
async fn upload(
    h: &Harness,
    b: &Browser,
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
    let cookie = b
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/console/imports{query}", h.base))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, location, r.text().await.unwrap())
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
    let (s, _, _) = upload(&h, &b, "", &[("connection_id", &conn)], &file).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = upload(
        &h,
        &b,
        "",
        &[("csrf", &"0".repeat(64)), ("connection_id", &conn)],
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // No session: to the sign-in page.
    let anon = Browser::new(&h.base);
    let (s, loc, _) = upload(
        &h,
        &anon,
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
        &h,
        &b,
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
        &h,
        &b,
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
    assert!(lines[1].starts_with("5,INVALID_JSON,"), "{}", csv.body);
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

both_backends!(
    imports_split_and_report_failed_rows,
    user_actions_go_through_the_api_rules,
);
