#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The console's Connections, Applications and APIs pages at the protocol
//! level, on both backends: no page or action without a session, no
//! action without the session's CSRF token (the sign-in form included),
//! changes made by forms through the Management API's own checks and
//! logged with the operator as actor, the Try panel on a real legacy
//! PostgreSQL table, the zero-code connector's Test on a real SQLite file,
//! and nothing secret in any page: configuration values, client secrets
//! after the page that creates them, legacy hashes. Chromium drives the
//! same pages in `console_browser.rs`.

mod common;

use common::browser::{Answer, Browser, csrf};
use common::{Backend, Harness, PgDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection as _, Executor as _, SqliteConnection};

const OPERATOR: &str = "ops@example.com";
const OPERATOR_PASSWORD: &str = "Operator-Pass-42";
const LEGACY_PASSWORD: &str = "Legacy-Pass-77";

/// The first operator, signed in through Tern's login.
/// The first operator, signed in through the setup link and Tern's login.
async fn operator(h: &Harness) -> Browser {
    h.console_operator(OPERATOR, OPERATOR_PASSWORD).await
}

fn to_login(a: &Answer, what: &str) {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{what}: {}", a.body);
    assert_eq!(a.location().as_deref(), Some("/console/login"), "{what}");
}

/// A textarea's text, unescaped.
fn textarea(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("<textarea id=\"{id}\""))
        .expect("the textarea");
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</textarea>").unwrap();
    rest[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text of the element with this id (no nested tags).
fn text_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).expect(id);
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()].to_string()
}

async fn console_events(h: &Harness, t: &str) -> Vec<Value> {
    let (_, logs) = h
        .api(t, Method::GET, "/logs?q=type:sapi&per_page=100", None)
        .await;
    logs.as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["description"]
                .as_str()
                .unwrap_or("")
                .starts_with("Console: ")
        })
        .cloned()
        .collect()
}

async fn pages_and_actions_need_a_session(backend: Backend) {
    let h = Harness::start(backend).await;
    let conn = format!("/console/connections/{}", h.info.connection_id);
    let app = format!("/console/applications/{}", h.info.client_id);
    let mut b = Browser::new(&h.base);
    for path in [
        "/console/connections".to_string(),
        "/console/connections/new".into(),
        conn.clone(),
        format!("{conn}/scripts/login"),
        format!("{conn}/configuration"),
        format!("{conn}/connector"),
        "/console/applications".into(),
        "/console/applications/new".into(),
        app.clone(),
        "/console/apis".into(),
        "/console/apis/new".into(),
    ] {
        to_login(&b.get(&path).await, &path);
    }
    for path in [
        "/console/connections".to_string(),
        conn.clone(),
        format!("{conn}/scripts/login"),
        format!("{conn}/scripts/login/try"),
        format!("{conn}/scripts-off"),
        format!("{conn}/switches"),
        format!("{conn}/configuration"),
        format!("{conn}/connector"),
        format!("{conn}/connector/test"),
        "/console/applications".into(),
        app.clone(),
        format!("{app}/rotate-secret"),
        "/console/apis".into(),
        "/console/apis/x".into(),
        "/console/apis/x/grants".into(),
        "/console/apis/x/grants/y".into(),
    ] {
        to_login(
            &b.post_form(&path, &[("csrf", "x"), ("name", "sneaky")])
                .await,
            &path,
        );
    }
    // Nothing was created.
    let t = h.admin_token().await;
    let (_, conns) = h.api(&t, Method::GET, "/connections", None).await;
    assert!(!conns.to_string().contains("sneaky"));
    h.stop().await;
}

async fn forms_need_the_sessions_token(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = operator(&h).await;
    let conn = format!("/console/connections/{}", h.info.connection_id);
    let app = format!("/console/applications/{}", h.info.client_id);
    let (_, apis) = h.api(&t, Method::GET, "/resource-servers", None).await;
    let api_id = apis[0]["id"].as_str().unwrap().to_string();
    for path in [
        "/console/connections".to_string(),
        conn.clone(),
        format!("{conn}/scripts/login"),
        format!("{conn}/scripts/login/try"),
        format!("{conn}/scripts-off"),
        format!("{conn}/switches"),
        format!("{conn}/configuration"),
        format!("{conn}/connector"),
        format!("{conn}/connector/test"),
        "/console/applications".into(),
        app.clone(),
        format!("{app}/rotate-secret"),
        "/console/apis".into(),
        format!("/console/apis/{api_id}"),
        format!("/console/apis/{api_id}/grants"),
    ] {
        for token in [None, Some("0".repeat(64))] {
            let mut fields = vec![
                ("name", "forged"),
                ("identifier", "https://forged.example/"),
            ];
            if let Some(t) = &token {
                fields.push(("csrf", t));
            }
            let a = b.post_form(&path, &fields).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
        }
    }
    // Nothing changed: no connection, application or API named "forged".
    for path in ["/connections", "/clients", "/resource-servers"] {
        let (_, v) = h.api(&t, Method::GET, path, None).await;
        assert!(!v.to_string().contains("forged"), "{path}: {v}");
    }
    let events = console_events(&h, &t).await;
    assert!(
        events.iter().all(|e| e["description"]
            .as_str()
            .unwrap()
            .contains("first operator")),
        "{events:?}"
    );
    h.stop().await;
}

fn psql(url: &str, sql: &str) {
    let ok = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{sql}");
}

/// A legacy PostgreSQL `users` table in the shape the console's PostgreSQL
/// template reads, with one user; the user's bcrypt hash.
fn legacy_pg() -> (PgDatabase, String) {
    let db = PgDatabase::create();
    let hash = bcrypt::hash(LEGACY_PASSWORD, 4).unwrap();
    psql(
        &db.url(),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT, password TEXT)",
    );
    psql(
        &db.url(),
        &format!("INSERT INTO users VALUES (7, 'grace@legacy.example', 'grace', '{hash}')"),
    );
    (db, hash)
}

async fn a_custom_database_connection_by_forms(backend: Backend) {
    let (legacy, hash) = legacy_pg();
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = operator(&h).await;
    let empty = b.get("/console/connections").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(!empty.body.contains("tern-operators"), "never listed");

    // A bad name is refused with the API's rule, and nothing is stored.
    let form = b.get("/console/connections/new").await;
    let token = csrf(&form.body);
    let bad = b
        .post_form(
            "/console/connections",
            &[
                ("csrf", &token),
                ("name", "-bad name-"),
                ("custom_database", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("role=\"alert\""), "{}", bad.body);
    let made = b
        .post_form(
            "/console/connections",
            &[
                ("csrf", &token),
                ("name", "legacy-db"),
                ("custom_database", "on"),
                ("import_mode", "on"),
                ("password_policy", "none"),
                ("enabled_clients", &h.info.client_id),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, conns) = h
        .api(&t, Method::GET, "/connections?name=legacy-db", None)
        .await;
    let c = conns[0].clone();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["options"]["enabledDatabaseCustomization"], true);
    assert_eq!(c["options"]["import_mode"], true);
    assert_eq!(c["enabled_clients"], json!([h.info.client_id]));
    let base = format!("/console/connections/{id}");
    assert_eq!(
        made.location().unwrap(),
        format!("{base}/scripts/login?done=created")
    );

    // The configuration value is written once and never shown.
    let secret_url = legacy.url();
    let page = b.get(&format!("{base}/configuration")).await;
    assert!(page.body.contains("No configuration value yet."));
    let saved = b
        .post_form(
            &format!("{base}/configuration"),
            &[
                ("csrf", &token),
                ("new_key_0", "PG_URL"),
                ("new_value_0", &secret_url),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(c["options"]["configuration"]["PG_URL"], "********");

    // The PostgreSQL template, loaded into the editor, saved, tried.
    let loaded = b
        .get(&format!("{base}/scripts/login?template=postgres"))
        .await;
    assert!(loaded.body.contains("Not saved yet."));
    let login_source = textarea(&loaded.body, "source");
    assert!(login_source.contains("require('pg')"), "{login_source}");
    let saved = b
        .post_form(
            &format!("{base}/scripts/login"),
            &[("csrf", &token), ("source", &login_source)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let get_user = textarea(
        &b.get(&format!("{base}/scripts/get_user?template=postgres"))
            .await
            .body,
        "source",
    );
    b.post_form(
        &format!("{base}/scripts/get_user"),
        &[("csrf", &token), ("source", &get_user)],
    )
    .await;
    let tried = b
        .post_form(
            &format!("{base}/scripts/login/try"),
            &[
                ("csrf", &token),
                ("source", &login_source),
                ("try_email", "grace@legacy.example"),
                ("try_password", LEGACY_PASSWORD),
            ],
        )
        .await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.body);
    assert!(tried.body.contains("The script answered"), "{}", tried.body);
    assert!(text_of(&tried.body, "try-elapsed").parse::<u64>().is_ok());
    assert!(tried.body.contains("grace@legacy.example"));
    assert!(
        !tried.body.contains(LEGACY_PASSWORD),
        "the typed password is not sent back"
    );
    let wrong = b
        .post_form(
            &format!("{base}/scripts/login/try"),
            &[
                ("csrf", &token),
                ("source", &login_source),
                ("try_email", "grace@legacy.example"),
                ("try_password", "not-it"),
            ],
        )
        .await;
    assert!(
        wrong.body.contains("WrongUsernameOrPasswordError"),
        "{}",
        wrong.body
    );
    // An unsaved edit that prints the configuration and answers the hash:
    // the console shows neither.
    let leaky = format!(
        "function login(email, password, callback) {{ console.log('url is ' + configuration.PG_URL); callback(null, {{user_id: 1, email: email, tern_password_hash: '{hash}'}}); }}"
    );
    let tried = b
        .post_form(
            &format!("{base}/scripts/login/try"),
            &[
                ("csrf", &token),
                ("source", &leaky),
                ("try_email", "x@legacy.example"),
                ("try_password", "y"),
            ],
        )
        .await;
    assert!(tried.body.contains("url is ********"), "{}", tried.body);
    assert!(tried.body.contains("(hidden)"));
    // The stored script did not change.
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(
        c["options"]["customScripts"]["login"],
        login_source.replace("\r\n", "\n")
    );

    // Every page of the connection: no configuration value, no hash.
    for path in [
        base.clone(),
        format!("{base}/scripts/login"),
        format!("{base}/scripts/get_user"),
        format!("{base}/configuration"),
        format!("{base}/connector"),
        "/console/connections".into(),
    ] {
        let p = b.get(&path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(
            !p.body.contains(&secret_url),
            "{path} shows a configuration value"
        );
        assert!(!p.body.contains(&hash), "{path} shows a hash");
    }

    // Grace migrates at her first login, through the application the form enabled.
    let (app, app_secret) = h.password_client(&t).await;
    let enabled = b
        .post_form(
            &base,
            &[
                ("csrf", &token),
                ("password_policy", "none"),
                ("enabled_clients", &app),
            ],
        )
        .await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER, "{}", enabled.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(c["enabled_clients"], json!([app]));
    assert_eq!(
        (
            c["options"]["enabledDatabaseCustomization"].as_bool(),
            c["options"]["import_mode"].as_bool()
        ),
        (Some(true), Some(true)),
        "the Settings tab leaves the legacy-store switches alone"
    );
    let login = |pw: &'static str| {
        h.token(
            json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app, "client_secret": app_secret, "username": "grace@legacy.example",
            "password": pw, "realm": "legacy-db"}),
        )
    };
    let (s, body) = login(LEGACY_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // With users, the "use my own database" switch is held as it is, even
    // when a form leaves it out; "import users" still switches.
    let tab = b.get(&format!("{base}/scripts/login")).await;
    assert!(tab.body.contains("keeps this switch as it is"));
    let switched = b
        .post_form(&format!("{base}/switches"), &[("csrf", &token)])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER, "{}", switched.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(c["options"]["enabledDatabaseCustomization"], true);
    assert_eq!(c["options"]["import_mode"], false);
    // The context object: switched on, it stays on when a form leaves it out.
    b.post_form(
        &format!("{base}/switches"),
        &[("csrf", &token), ("enable_script_context", "on")],
    )
    .await;
    b.post_form(&format!("{base}/switches"), &[("csrf", &token)])
        .await;
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(c["options"]["enable_script_context"], true);
    assert!(
        b.get(&format!("{base}/scripts/login"))
            .await
            .body
            .contains("On for good")
    );

    // Cut-over: the scripts are switched off; Grace still signs in, from Tern.
    let off = b
        .post_form(&format!("{base}/scripts-off"), &[("csrf", &token)])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert!(
        c["options"]["customScripts"]["login"]
            .as_str()
            .unwrap()
            .contains("The migration is over")
    );
    assert_eq!(c["options"]["import_mode"], true);
    assert_eq!(c["options"]["configuration"]["PG_URL"], "********", "kept");
    let (s, body) = login(LEGACY_PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The switched-off login script answers "unknown user", context or not.
    let tried = b
        .post_form(
            &format!("{base}/scripts/login/try"),
            &[
                ("csrf", &token),
                ("source", ""),
                ("try_email", "someone@legacy.example"),
                ("try_password", "x"),
            ],
        )
        .await;
    assert!(
        tried.body.contains("WrongUsernameOrPasswordError"),
        "{}",
        tried.body
    );

    // Every change is in the tenant log with the operator as actor, no value.
    let events = console_events(&h, &t).await;
    for what in [
        "Console: connection created",
        "Console: configuration saved",
        "Console: login script saved",
        "Console: connection settings saved",
        "Console: legacy-store switches saved",
        "Console: legacy scripts switched off",
    ] {
        let e = events
            .iter()
            .find(|e| e["description"] == what)
            .unwrap_or_else(|| panic!("{what} not logged: {events:?}"));
        assert_eq!(e["details"]["actor"]["email"], OPERATOR, "{e}");
        assert_eq!(e["connection_id"], id.as_str());
    }
    assert!(!json!(events).to_string().contains(&secret_url));
    h.stop().await;
}

async fn applications_and_apis_by_forms(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = operator(&h).await;
    let token = csrf(&b.get("/console/applications/new").await.body);

    // Created: the secret is on this page, and on no page after it.
    let made = b
        .post_form(
            "/console/applications",
            &[
                ("csrf", &token),
                ("name", "Billing worker"),
                ("app_type", "non_interactive"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let client_id = text_of(&made.body, "client-id");
    let secret = text_of(&made.body, "client-secret");
    assert!(secret.len() >= 32, "{secret}");
    let edit = format!("/console/applications/{client_id}");
    for path in ["/console/applications", edit.as_str(), "/console/apis"] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(!p.body.contains(&secret), "{path} shows the secret again");
    }

    // An API for machines only, and a grant of one of its scopes.
    let api = b
        .post_form(
            "/console/apis",
            &[
                ("csrf", &token),
                ("name", "Billing"),
                ("identifier", "https://billing.example/"),
                ("scopes", "read:invoices: Read invoices\nwrite:invoices"),
                ("tern_machine_to_machine_only", "on"),
            ],
        )
        .await;
    assert_eq!(api.status, StatusCode::SEE_OTHER, "{}", api.body);
    let api_page = api.location().unwrap();
    let (_, rs) = h
        .api(
            &t,
            Method::GET,
            "/resource-servers/https%3A%2F%2Fbilling.example%2F",
            None,
        )
        .await;
    assert_eq!(rs["tern_machine_to_machine_only"], true);
    assert_eq!(
        rs["scopes"][0],
        json!({"value": "read:invoices", "description": "Read invoices"})
    );
    let granted = b
        .post_form(
            &format!("{}/grants", api_page.split('?').next().unwrap()),
            &[
                ("csrf", &token),
                ("client_id", &client_id),
                ("scope", "read:invoices"),
            ],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    let (s, body) = h
        .token(
            json!({"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "audience": "https://billing.example/"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read:invoices");

    // Edited: URLs one per line, grant types, a connection enabled for it.
    let saved = b
        .post_form(
            &edit,
            &[
                ("csrf", &token),
                ("name", "Billing worker"),
                ("app_type", "regular_web"),
                ("grant_types", "authorization_code"),
                ("grant_types", "client_credentials"),
                ("token_endpoint_auth_method", "client_secret_post"),
                ("is_token_endpoint_ip_header_trusted", "on"),
                (
                    "callbacks",
                    "https://billing.example/cb\nhttps://billing.example/cb2",
                ),
                ("allowed_logout_urls", "https://billing.example/bye"),
                ("web_origins", "https://billing.example"),
                ("connections", &h.info.connection_id),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/clients/{client_id}"), None)
        .await;
    assert_eq!(
        c["callbacks"],
        json!(["https://billing.example/cb", "https://billing.example/cb2"])
    );
    assert_eq!(
        c["grant_types"],
        json!(["authorization_code", "client_credentials"])
    );
    assert_eq!(
        c["allowed_logout_urls"],
        json!(["https://billing.example/bye"])
    );
    assert_eq!(c["is_token_endpoint_ip_header_trusted"], true, "{c}");
    assert!(
        b.get(&edit)
            .await
            .body
            .contains("name=\"is_token_endpoint_ip_header_trusted\" value=\"on\" checked"),
        "the box shows the flag"
    );
    let (_, conn) = h
        .api(
            &t,
            Method::GET,
            &format!("/connections/{}", h.info.connection_id),
            None,
        )
        .await;
    assert!(
        conn["enabled_clients"]
            .as_array()
            .unwrap()
            .contains(&json!(client_id))
    );
    // A value the API refuses is shown, and nothing is half-written.
    let refused = b
        .post_form(
            &edit,
            &[
                ("csrf", &token),
                ("name", "Renamed"),
                ("app_type", "regular_web"),
                ("token_endpoint_auth_method", "client_secret_post"),
                ("initiate_login_uri", "http://not-https.example"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("initiate_login_uri"),
        "{}",
        refused.body
    );
    let (_, c) = h
        .api(&t, Method::GET, &format!("/clients/{client_id}"), None)
        .await;
    assert_eq!(c["name"], "Billing worker");

    // Rotated: the new secret is shown once; the old one stops working.
    let rotated = b
        .post_form(&format!("{edit}/rotate-secret"), &[("csrf", &token)])
        .await;
    let fresh = text_of(&rotated.body, "client-secret");
    assert_ne!(fresh, secret);
    let (s, _) = h
        .token(
            json!({"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "audience": "https://billing.example/"}),
        )
        .await;
    assert_ne!(s, StatusCode::OK);
    assert!(!b.get(&edit).await.body.contains(&fresh));

    let events = console_events(&h, &t).await;
    for what in [
        "Console: application created",
        "Console: API created",
        "Console: client grant created",
        "Console: application saved",
        "Console: application secret rotated",
    ] {
        let e = events
            .iter()
            .find(|e| e["description"] == what)
            .unwrap_or_else(|| panic!("{what} not logged: {events:?}"));
        assert_eq!(e["details"]["actor"]["email"], OPERATOR, "{e}");
    }
    let all = json!(events).to_string();
    assert!(!all.contains(&secret) && !all.contains(&fresh));
    h.stop().await;
}

async fn a_sql_connector_by_forms(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("legacy.db");
    let dsn = format!("sqlite:{}", file.display());
    let hash = bcrypt::hash(LEGACY_PASSWORD, 4).unwrap();
    {
        let mut c = SqliteConnection::connect(&format!("{dsn}?mode=rwc"))
            .await
            .unwrap();
        c.execute(
            "CREATE TABLE members (uid TEXT PRIMARY KEY, mail TEXT, pw TEXT, full_name TEXT)",
        )
        .await
        .unwrap();
        c.execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO members VALUES ('m-1', 'alan@legacy.example', '{hash}', 'Alan T')"
        )))
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let h = Harness::start(backend).await;
    let mut b = operator(&h).await;
    let token = csrf(&b.get("/console/connections/new").await.body);
    let made = b
        .post_form(
            "/console/connections",
            &[
                ("csrf", &token),
                ("name", "lite"),
                ("custom_database", "on"),
                ("import_mode", "on"),
                ("password_policy", "none"),
            ],
        )
        .await;
    let base = made
        .location()
        .unwrap()
        .split("/scripts")
        .next()
        .unwrap()
        .to_string();
    // A lookup that writes is refused by the connector's own check.
    let refused = b
        .post_form(
            &format!("{base}/connector"),
            &[
                ("csrf", &token),
                ("type", "sql"),
                ("dsn", &dsn),
                ("lookup_query", "DELETE FROM members"),
                ("col_user_id", "uid"),
                ("col_email", "mail"),
                ("col_password_hash", "pw"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("SELECT"), "{}", refused.body);
    let saved = b
        .post_form(
            &format!("{base}/connector"),
            &[
                ("csrf", &token),
                ("type", "sql"),
                ("dsn", &dsn),
                (
                    "lookup_query",
                    "SELECT uid, mail, pw, full_name FROM members WHERE mail = :identifier",
                ),
                ("col_user_id", "uid"),
                ("col_email", "mail"),
                ("col_password_hash", "pw"),
                ("more_columns", "name=full_name"),
                ("hash_format", "bcrypt"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = b.get(&format!("{base}/connector")).await;
    assert!(page.body.contains("Test the saved connector"));
    assert!(page.body.contains("full_name"));
    let found = b
        .post_form(
            &format!("{base}/connector/test"),
            &[("csrf", &token), ("email", "alan@legacy.example")],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.body.contains("Found") && found.body.contains("Alan T"),
        "{}",
        found.body
    );
    let checked = b
        .post_form(
            &format!("{base}/connector/test"),
            &[
                ("csrf", &token),
                ("email", "alan@legacy.example"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert!(
        checked.body.contains("Wrong email or password"),
        "{}",
        checked.body
    );
    let missing = b
        .post_form(
            &format!("{base}/connector/test"),
            &[("csrf", &token), ("email", "nobody@legacy.example")],
        )
        .await;
    assert!(missing.body.contains("No such user in the legacy store"));
    for body in [&page.body, &found.body, &checked.body] {
        assert!(!body.contains(&hash), "a legacy hash reached a page");
    }
    h.stop().await;
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn an_http_connector_keeps_its_secret(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let mut b = operator(&h).await;
    let token = csrf(&b.get("/console/connections/new").await.body);
    let made = b
        .post_form(
            "/console/connections",
            &[
                ("csrf", &token),
                ("name", "api-legacy"),
                ("custom_database", "on"),
                ("import_mode", "on"),
            ],
        )
        .await;
    let base = made
        .location()
        .unwrap()
        .split("/scripts")
        .next()
        .unwrap()
        .to_string();
    let id = base.rsplit('/').next().unwrap().to_string();
    let fields = |secret: &'static str| {
        vec![
            ("csrf", token.clone()),
            ("type", "http".to_string()),
            ("base_url", "http://127.0.0.1:9".to_string()),
            ("client_id", h.info.client_id.clone()),
            ("audience", "https://legacy-api.example/".to_string()),
            ("profile_map", "user_id=/id\nemail=/email".to_string()),
            ("client_secret", secret.to_string()),
        ]
    };
    // Without its secret the connector is refused, as by the API.
    let no_secret = fields("");
    let refused = b
        .post_form(&format!("{base}/connector"), &as_refs(&no_secret))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("client secret"), "{}", refused.body);
    let secret = "http-connector-secret-5cbd1e";
    let with_secret = fields(secret);
    let saved = b
        .post_form(&format!("{base}/connector"), &as_refs(&with_secret))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(c["options"]["tern_connector"]["type"], "http");
    assert_eq!(
        c["options"]["tern_connector"]["profile_map"],
        json!({"user_id": "/id", "email": "/email"})
    );
    assert_eq!(
        c["options"]["configuration"]["TERN_CONNECTOR_CLIENT_SECRET"],
        "********"
    );
    // A setting the form does not show, set through the API, survives the
    // form's next save.
    let mut options = c["options"].clone();
    options["tern_connector"]["circuit_breaker"] = json!({"failures": 3, "cooldown_ms": 1000});
    let (s, body) = h
        .api(
            &t,
            Method::PATCH,
            &format!("/connections/{id}"),
            Some(json!({"options": options})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Saved again without a secret: the stored one is kept.
    let again = b
        .post_form(&format!("{base}/connector"), &as_refs(&no_secret))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert_eq!(
        c["options"]["tern_connector"]["circuit_breaker"]["failures"],
        3
    );
    for path in [
        format!("{base}/connector"),
        format!("{base}/configuration"),
        base.clone(),
    ] {
        let p = b.get(&path).await;
        assert!(
            !p.body.contains(secret),
            "{path} shows the connector secret"
        );
    }
    // A legacy API that does not answer: the Test says so.
    let tested = b
        .post_form(
            &format!("{base}/connector/test"),
            &[("csrf", &token), ("email", "x@legacy.example")],
        )
        .await;
    assert!(
        tested.body.contains("The legacy store did not answer"),
        "{}",
        tested.body
    );
    h.stop().await;
}

/// A Cognito connector (set through the API) is shown as it is, with its
/// secrets masked, and can be removed; no SQL form offers to overwrite it.
async fn a_cognito_connector_is_shown_not_overwritten(backend: Backend) {
    let h = Harness::start(backend).await;
    let t = h.admin_token().await;
    let secret = "cognito-aws-secret-key-0f3a9c";
    let (s, c) = h
        .api(&t, Method::POST, "/connections", Some(json!({"name": "cognito-users", "strategy": "auth0",
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                "tern_connector": {"type": "cognito", "region": "eu-west-1",
                                   "user_pool_id": "eu-west-1_AbC123", "client_id": "abc123"},
                "configuration": {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret}}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap();
    let base = format!("/console/connections/{id}");
    let mut b = operator(&h).await;
    let page = b.get(&format!("{base}/connector")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("AWS Cognito connector"), "{}", page.body);
    assert!(page.body.contains("eu-west-1_AbC123"), "{}", page.body);
    assert!(!page.body.contains("name=\"dsn\""), "{}", page.body);
    assert!(!page.body.contains(secret));
    let token = csrf(&page.body);
    let removed = b
        .post_form(
            &format!("{base}/connector"),
            &[("csrf", &token), ("type", "sql"), ("action", "remove")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let (_, c) = h
        .api(&t, Method::GET, &format!("/connections/{id}"), None)
        .await;
    assert!(
        c["options"]
            .get("tern_connector")
            .is_none_or(Value::is_null),
        "{c}"
    );
    h.stop().await;
}

both_backends!(
    a_cognito_connector_is_shown_not_overwritten,
    an_http_connector_keeps_its_secret,
    pages_and_actions_need_a_session,
    forms_need_the_sessions_token,
    a_custom_database_connection_by_forms,
    applications_and_apis_by_forms,
    a_sql_connector_by_forms,
);
