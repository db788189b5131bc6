//! A connection's Zero-code connector tab: `options.tern_connector` as a
//! form — a legacy SQL database (DSN, lookup query, columns, hash format)
//! or a legacy HTTP API (paths, machine-token client, profile map) — saved
//! through `manage::connections::update` (which checks it as the API does),
//! and a "Test" that looks a user up, or checks a password, through the
//! server's own legacy source (`manage::connector_test`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tern_core::model::Connection;

use super::connections::{Tab, header, load, log_change, options_for_patch};
use crate::connectors::{self, OPTION, SECRET_KEY};
use crate::console::forms::{self, Done, alert, csrf_field, note};
use crate::console::layout::{Section, page};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::manage::{self, connector_test};
use crate::routes::universal_login::FormFields;
use crate::state::AppState;

/// The routes of this tab.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/connections/{id}/connector", get(show).post(save))
        .route("/console/connections/{id}/connector/test", post(test))
}

/// `?type=` and `?done=`.
#[derive(Debug, Deserialize)]
pub struct ConnectorQuery {
    r#type: Option<String>,
    done: Option<String>,
}

/// What the page shows besides the form.
#[derive(Default)]
struct View {
    saved: Option<&'static str>,
    error: Option<String>,
    tested: Option<(String, connector_test::TestOutcome)>,
}

/// The settings as the form shows them: the stored ones (DSN passwords
/// masked), or the ones just posted.
fn current(c: &Connection) -> Map<String, Value> {
    let mut shown = c.clone();
    crate::secrets::mask(&mut shown);
    connectors::configured(&shown)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn kind_of(c: &Connection, asked: Option<&str>) -> &'static str {
    match asked.or_else(|| {
        connectors::configured(c)
            .and_then(|v| v.get("type"))
            .and_then(Value::as_str)
    }) {
        Some("http") => "http",
        // Set through the Management API; the page shows them, removes and tests them.
        Some("cognito") => "cognito",
        Some("auth0") => "auth0",
        _ => "sql",
    }
}

/// `GET /console/connections/{id}/connector`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<ConnectorQuery>,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let kind = kind_of(&c, q.r#type.as_deref());
    let values = current(&c);
    let view = View {
        saved: Done::from_code(q.done.as_deref()).message(),
        ..View::default()
    };
    render(&op, &c, kind, &values, &view, StatusCode::OK)
}

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn n(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

fn pairs(m: &Map<String, Value>, k: &str, skip: &[&str]) -> String {
    m.get(k)
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn sql_fields(v: &Map<String, Value>) -> Markup {
    let cols = v
        .get("columns")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let hash = match v.get("hash_format") {
        Some(Value::String(s)) => s.clone(),
        Some(o @ Value::Object(_)) => o.to_string(),
        _ => String::new(),
    };
    html! {
        (forms::text("dsn", "Database URL (DSN)", s(v, "dsn"),
            Some("postgres://user:${configuration.PW}@host:5432/db, mysql://…, mariadb://… or sqlite:/path/users.db. Put the password in the Configuration tab and refer to it as ${configuration.KEY}.")))
        (forms::area("lookup_query", "Lookup query", s(v, "lookup_query"), true,
            Some("A SELECT that finds one user by :identifier (the email or username typed).")))
        div.grid2 {
            div { (forms::text("col_user_id", "Column: user id", s(&cols, "user_id"), None)) }
            div { (forms::text("col_email", "Column: email", s(&cols, "email"), None)) }
            div { (forms::text("col_password_hash", "Column: password hash", s(&cols, "password_hash"), None)) }
            div { (forms::text("hash_format", "Hash format", &hash, Some("Blank or auto: recognised from the hash; or a scheme such as bcrypt, phpass; or a custom_password_hash JSON object."))) }
        }
        (forms::area("more_columns", "More profile columns", &pairs(v, "columns", &["user_id", "email", "password_hash"]), false,
            Some("One per line, field=column, e.g. name=full_name, email_verified=verified, app_metadata=meta.")))
        (forms::area("mark_migrated", "After a migration, run (optional)", s(v, "mark_migrated"), true,
            Some("e.g. UPDATE users SET migrated = true WHERE id = :user_id. Blank: the legacy database is only read.")))
        (forms::text("timeout_ms", "Time limit (ms)", &n(v, "timeout_ms"), Some("Blank: 5000.")))
    }
}

fn http_fields(v: &Map<String, Value>) -> Markup {
    html! {
        (forms::text("base_url", "API base URL", s(v, "base_url"), Some("e.g. https://legacy.example.com")))
        div.grid2 {
            div { (forms::text("login_path", "Login path", s(v, "login_path"), Some("Blank: /login (POST username, password → profile or 401)."))) }
            div { (forms::text("get_user_path", "Get-user path", s(v, "get_user_path"), Some("Blank: /users (GET ?email= → profile or 404)."))) }
            div { (forms::text("migrated_path", "Migrated path", s(v, "migrated_path"), Some("Blank: /users/{id}/migrated; “none”: never called."))) }
        }
        fieldset {
            legend { "Tern's machine token for the API" }
            div.grid2 {
                div { (forms::text("client_id", "Client id", s(v, "client_id"), None)) }
                div {
                    label for="client_secret" { "Client secret" }
                    input #client_secret type="password" name="client_secret" autocomplete="new-password" placeholder="•••••••• (blank keeps the stored one)";
                }
                div { (forms::text("audience", "Audience", s(v, "audience"), None)) }
                div { (forms::text("scope", "Scope", s(v, "scope"), None)) }
            }
        }
        (forms::area("profile_map", "Profile map", &pairs(v, "profile_map", &[]), false,
            Some("One per line, field=/json/pointer, e.g. user_id=/id, email=/email, app_metadata.plan=/account/plan.")))
        div.grid2 {
            div { (forms::text("timeout_ms", "Time limit (ms)", &n(v, "timeout_ms"), None)) }
            div { (forms::text("retries", "Retries", &n(v, "retries"), None)) }
            div { (forms::text("backoff_ms", "Backoff (ms)", &n(v, "backoff_ms"), None)) }
        }
    }
}

fn render(
    op: &Operator,
    c: &Connection,
    kind: &str,
    values: &Map<String, Value>,
    view: &View,
    status: StatusCode,
) -> Response {
    let base = format!("/console/connections/{}/connector", c.id);
    let configured = connectors::configured(c).is_some();
    let items = [
        (format!("{base}?type=sql"), "SQL database", kind == "sql"),
        (format!("{base}?type=http"), "HTTP API", kind == "http"),
    ];
    let mut r = page(
        op,
        Section::Connections,
        &format!("{} · connector", c.name),
        html! {
            (header(c, Tab::Connector))
            (note(view.saved))
            (alert(view.error.as_deref()))
            p.text {
                "A zero-code connector reads the legacy store directly, instead of scripts. "
                @if configured { "This connection uses one: its scripts are not called." } @else { "This connection has none yet." }
            }
            @if !(c.custom_database() && c.import_mode()) {
                p.alert role="status" { "Connectors serve lazy migration: turn on “Use my own database” and “Import users” on the Settings tab." }
            }
            (forms::tabs("Connector type", &items, true))
            @if kind == "cognito" || kind == "auth0" {
                p.text {
                    @if kind == "cognito" { "An AWS Cognito connector" } @else { "This connection migrates users from another Auth0 tenant (the auth0 connector)" }
                    ": set through the Management API ("
                    code { "PATCH /api/v2/connections/" (c.id) }
                    ", see the README's “Coming from "
                    @if kind == "cognito" { "AWS Cognito" } @else { "Auth0" }
                    "”). Its settings:"
                }
                pre { (serde_json::to_string_pretty(values).unwrap_or_default()) }
                form method="post" action=(base) {
                    (csrf_field(op))
                    input type="hidden" name="type" value="sql";
                    div.actions { button.secondary type="submit" name="action" value="remove" { "Remove the connector" } }
                }
            } @else {
                form method="post" action=(base) {
                    (csrf_field(op))
                    input type="hidden" name="type" value=(kind);
                    @if kind == "http" { (http_fields(values)) } @else { (sql_fields(values)) }
                    div.actions {
                        button type="submit" name="action" value="save" { "Save the connector" }
                        @if configured { button.secondary type="submit" name="action" value="remove" { "Remove the connector" } }
                    }
                }
            }
            @if configured {
                form method="post" action=(format!("{base}/test")) {
                    (csrf_field(op))
                    fieldset #test {
                        legend { "Test the saved connector" }
                        div.grid2 {
                            div {
                                label for="test_email" { "Email" }
                                input #test_email type="email" name="email" autocomplete="off"
                                    value=(view.tested.as_ref().map(|t| t.0.as_str()).unwrap_or_default());
                            }
                            div {
                                label for="test_password" { "Password (optional)" }
                                input #test_password type="password" name="password" autocomplete="off" aria-describedby="test-pw-hint";
                                p.hint #test-pw-hint { "Blank: only look the user up. Given: check it as a login would." }
                            }
                        }
                        div.actions { button.secondary type="submit" { "Test" } }
                        @if let Some((_, t)) = &view.tested { (tested(t)) }
                    }
                }
            }
        },
    );
    *r.status_mut() = status;
    r
}

fn tested(t: &connector_test::TestOutcome) -> Markup {
    let (title, failed) = match t.verdict {
        "found" => ("Found", false),
        "not_found" => ("No such user in the legacy store", false),
        "wrong_credentials" => ("Wrong email or password", true),
        _ => ("The legacy store did not answer", true),
    };
    html! {
        section.result.failed[failed] #test-result aria-live="polite" {
            h2 { (title) " (" span #test-elapsed { (t.elapsed_ms) } " ms)" }
            @if !t.detail.is_null() { pre { (serde_json::to_string_pretty(&t.detail).unwrap_or_default()) } }
        }
    }
}

fn map_lines(text: &str, what: &str) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("{what}: “{line}” is not field=value."))?;
        m.insert(k.trim().to_string(), json!(v.trim()));
    }
    Ok(m)
}

fn number(f: &FormFields, k: &str, into: &mut Map<String, Value>) -> Result<(), String> {
    let raw = f.get(k).unwrap_or_default().trim();
    if raw.is_empty() {
        return Ok(());
    }
    let n: u64 = raw
        .parse()
        .map_err(|_| format!("{k} must be a whole number."))?;
    into.insert(k.into(), json!(n));
    Ok(())
}

fn put(f: &FormFields, k: &str, into: &mut Map<String, Value>) {
    let v = f.get(k).unwrap_or_default().trim();
    if !v.is_empty() {
        into.insert(k.into(), json!(v.replace("\r\n", "\n")));
    }
}

/// Settings each form edits; a blank field removes its key. Other keys of
/// the stored settings (set through the API: a circuit breaker, a count
/// query…) are kept as they are.
const HTTP_KEYS: &[&str] = &[
    "base_url",
    "login_path",
    "get_user_path",
    "migrated_path",
    "client_id",
    "audience",
    "scope",
    "profile_map",
    "timeout_ms",
    "retries",
    "backoff_ms",
];
const SQL_KEYS: &[&str] = &[
    "dsn",
    "lookup_query",
    "mark_migrated",
    "columns",
    "hash_format",
    "timeout_ms",
];

/// `options.tern_connector` from the posted form, over the stored settings
/// of the same type (`stored`).
fn read(
    kind: &str,
    f: &FormFields,
    stored: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, String> {
    let mut m = stored
        .filter(|s| s.get("type").and_then(Value::as_str) == Some(kind))
        .cloned()
        .unwrap_or_default();
    for k in if kind == "http" { HTTP_KEYS } else { SQL_KEYS } {
        m.remove(*k);
    }
    m.insert("type".into(), json!(kind));
    if kind == "http" {
        for k in [
            "base_url",
            "login_path",
            "get_user_path",
            "client_id",
            "audience",
            "scope",
        ] {
            put(f, k, &mut m);
        }
        match f.get("migrated_path").unwrap_or_default().trim() {
            "" => {}
            "none" => {
                m.insert("migrated_path".into(), Value::Null);
            }
            p => {
                m.insert("migrated_path".into(), json!(p));
            }
        }
        let map = map_lines(f.get("profile_map").unwrap_or_default(), "Profile map")?;
        if !map.is_empty() {
            m.insert("profile_map".into(), Value::Object(map));
        }
        for k in ["timeout_ms", "retries", "backoff_ms"] {
            number(f, k, &mut m)?;
        }
    } else {
        for k in ["dsn", "lookup_query", "mark_migrated"] {
            put(f, k, &mut m);
        }
        let mut cols = map_lines(
            f.get("more_columns").unwrap_or_default(),
            "More profile columns",
        )?;
        for (field, name) in [
            ("user_id", "col_user_id"),
            ("email", "col_email"),
            ("password_hash", "col_password_hash"),
        ] {
            let v = f.get(name).unwrap_or_default().trim();
            if !v.is_empty() {
                cols.insert(field.into(), json!(v));
            }
        }
        m.insert("columns".into(), Value::Object(cols));
        let hash = f.get("hash_format").unwrap_or_default().trim();
        if hash.starts_with('{') {
            let v: Value = serde_json::from_str(hash)
                .map_err(|e| format!("Hash format: not a JSON object ({e})."))?;
            m.insert("hash_format".into(), v);
        } else if !hash.is_empty() {
            m.insert("hash_format".into(), json!(hash));
        }
        number(f, "timeout_ms", &mut m)?;
    }
    Ok(m)
}

/// `POST /console/connections/{id}/connector`: save or remove.
pub async fn save(
    State(st): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&st, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let kind = if form.get("type") == Some("http") {
        "http"
    } else {
        "sql"
    };
    let mut options = options_for_patch(&c);
    let removing = form.get("action") == Some("remove");
    let settings = if removing {
        options.remove(OPTION);
        Map::new()
    } else {
        let stored = connectors::configured(&c).and_then(Value::as_object);
        let settings = match read(kind, &form, stored) {
            Ok(m) => m,
            Err(e) => {
                let view = View {
                    error: Some(e),
                    ..View::default()
                };
                return render(&op, &c, kind, &Map::new(), &view, StatusCode::BAD_REQUEST);
            }
        };
        options.insert(OPTION.into(), Value::Object(settings.clone()));
        let secret = form.get("client_secret").unwrap_or_default();
        if kind == "http" && !secret.is_empty() {
            let cfg = options.entry("configuration").or_insert_with(|| json!({}));
            if let Some(m) = cfg.as_object_mut() {
                m.insert(SECRET_KEY.into(), json!(secret));
            }
        }
        settings
    };
    match manage::connections::update(
        &st,
        crate::console_app::Changer::Console,
        &c.id,
        &json!({ "options": options }),
    )
    .await
    {
        Ok(_) => {
            let what = if removing {
                "connector removed"
            } else {
                "connector saved"
            };
            log_change(&st, &op, &c, what, json!({"type": kind})).await;
            see_other(
                &format!("/console/connections/{}/connector?done=saved", c.id),
                Vec::new(),
            )
        }
        Err(e) => {
            let view = View {
                error: Some(forms::api_message(&e)),
                ..View::default()
            };
            render(&op, &c, kind, &settings, &view, e.status)
        }
    }
}

/// `POST /console/connections/{id}/connector/test`.
pub async fn test(
    State(st): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&st, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let kind = kind_of(&c, None);
    let email = form.get("email").unwrap_or_default().trim().to_string();
    let password = form.get("password").filter(|p| !p.is_empty());
    let mut view = View::default();
    let status = match connector_test::run(&st, &c, &email, password).await {
        Ok(t) => {
            view.tested = Some((email, t));
            StatusCode::OK
        }
        Err(e) => {
            view.error = Some(forms::api_message(&e));
            StatusCode::BAD_REQUEST
        }
    };
    render(&op, &c, kind, &current(&c), &view, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_read_back_as_written() {
        let m = map_lines("name=full_name\n\n email_verified = verified ", "x").unwrap();
        assert_eq!(m["name"], "full_name");
        assert_eq!(m["email_verified"], "verified");
        assert!(
            map_lines("nope", "Profile map")
                .unwrap_err()
                .contains("field=value")
        );
    }
}
