//! A connection's Custom Database tab: one editor per script (all seven
//! Auth0 defines — `change_email` included and never dropped on save),
//! templates to start from (`script_templates`), a Try panel that runs
//! the editor's text with given inputs through `manage::script_try` (the
//! code behind `POST /api/v2/connections/{id}/scripts/{name}/try`), and
//! the cut-over: switching the legacy scripts off while import mode stays
//! on. Saving goes through `manage::connections::update`, like a `PATCH`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tern_core::model::Connection;
use tern_script::ScriptName;

use super::connections::{
    Tab, context_switch, header, load, options_for_patch, patch_options, switches,
};
use super::script_templates::{FAMILIES, template};
use crate::console::forms::{self, Done, alert, csrf_field, note};
use crate::console::layout::{Section, page, problem};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::legacy_script::{SCRIPT_NAMES, script_name, script_source};
use crate::manage::script_try;
use crate::routes::universal_login::FormFields;
use crate::state::AppState;

/// Keys whose values a Try result never shows: hashes and MFA seeds a
/// profile may carry.
const HIDDEN_KEYS: &[&str] = &[
    "password",
    "password_hash",
    "custom_password_hash",
    "tern_password_hash",
    "mfa_factors",
];

/// The routes of this tab.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console/connections/{id}/scripts/{name}",
            get(show).post(save),
        )
        .route("/console/connections/{id}/scripts/{name}/try", post(try_it))
        .route("/console/connections/{id}/scripts-off", post(scripts_off))
        .route("/console/connections/{id}/switches", post(save_switches))
}

/// `?template=` and `?done=`.
#[derive(Debug, Deserialize)]
pub struct EditorQuery {
    template: Option<String>,
    done: Option<String>,
}

/// What the editor shows.
struct Editor<'a> {
    source: String,
    /// The source is not what is stored (a template, or an edit tried).
    unsaved: bool,
    inputs: &'a Map<String, Value>,
    outcome: Option<Value>,
    error: Option<String>,
    saved: Option<&'static str>,
    /// The connection has users (the "use my own database" switch is held).
    has_users: bool,
}

fn no_such_script() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "No such script",
        "Custom-database scripts are login, get_user, create, verify, change_password, delete and change_email.",
    )
}

/// `GET /console/connections/{id}/scripts/{name}`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path((id, name)): Path<(String, String)>,
    Query(q): Query<EditorQuery>,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(script) = script_name(&name) else {
        return no_such_script();
    };
    let stored = script_source(&c, script).unwrap_or_default().to_string();
    let loaded = q.template.as_deref().and_then(|t| template(t, script));
    let mut error = None;
    if q.template.as_deref().is_some_and(|t| !t.is_empty()) && loaded.is_none() {
        error = Some("That template has no version of this script.".to_string());
    }
    let empty = Map::new();
    let editor = Editor {
        unsaved: loaded.is_some(),
        source: loaded.map_or(stored, str::to_string),
        inputs: &empty,
        outcome: None,
        error,
        saved: Done::from_code(q.done.as_deref()).message(),
        has_users: has_users(&s, &c).await,
    };
    render(&op, &c, script, &editor, StatusCode::OK)
}

fn render(
    op: &Operator,
    c: &Connection,
    script: ScriptName,
    e: &Editor,
    status: StatusCode,
) -> Response {
    let base = format!("/console/connections/{}/scripts", c.id);
    let items: Vec<(String, &str, bool)> = SCRIPT_NAMES
        .iter()
        .map(|n| (format!("{base}/{}", n.key()), n.key(), *n == script))
        .collect();
    let here = format!("{base}/{}", script.key());
    let mut r = page(
        op,
        Section::Connections,
        &format!("{} · {}", c.name, script.key()),
        html! {
            (header(c, Tab::Scripts))
            (note(e.saved))
            form method="post" action=(format!("/console/connections/{}/switches", c.id)) {
                (csrf_field(op))
                (switches(c.custom_database(), c.import_mode(), e.has_users))
                (context_switch(script_context(c)))
                div.actions { button.secondary type="submit" { "Save the switches" } }
            }
            @if !c.custom_database() {
                p.alert role="status" { "“Use my own database” is off: Tern does not call these scripts." }
            }
            h2 { "Scripts" }
            (forms::tabs("Scripts", &items, true))
            form method="get" action=(here) {
                div.grid2 {
                    div {
                        label for="template" { "Start from a template" }
                        select #template name="template" aria-describedby="template-hint" {
                            @for f in FAMILIES { option value=(f.key) { (f.label) } }
                        }
                        p.hint #template-hint { "Replaces the editor's text; nothing is saved until you press Save." }
                    }
                    div.actions { button.secondary type="submit" { "Load the template" } }
                }
            }
            (alert(e.error.as_deref()))
            form method="post" action=(here) {
                (csrf_field(op))
                (forms::area("source", &format!("The {} script", script.key()), &e.source, true,
                    Some(signature(script))))
                @if e.unsaved { p.hint { "Not saved yet." } }
                div.actions {
                    button type="submit" { "Save the script" }
                }
                fieldset #try {
                    legend { "Try the script" }
                    p.hint { "Runs the text in the editor (saved or not) in the same sandbox and limits as a login, with the stored configuration. Nothing is stored." }
                    (try_inputs(script, e.inputs))
                    div.actions {
                        button.secondary type="submit" formaction=(format!("{here}/try")) { "Try" }
                    }
                    @if let Some(o) = &e.outcome { (outcome(o)) }
                }
            }
            @if matches!(script, ScriptName::Login | ScriptName::GetUser) && c.custom_database() {
                fieldset {
                    legend { "Cut-over" }
                    @if script_source(c, ScriptName::Login) == template("noop", ScriptName::Login) {
                        p.text #scripts-off-state { "The scripts are switched off: the legacy store is no longer asked." }
                    }
                    p.text { "When the remaining users are imported, switch the legacy scripts off: login and get_user are replaced by scripts that no longer ask the legacy store, and import mode stays on, so migrated users keep signing in." }
                    form method="post" action=(format!("/console/connections/{}/scripts-off", c.id)) {
                        (csrf_field(op))
                        div.actions { button.danger type="submit" { "Switch the scripts off" } }
                    }
                }
            }
        },
    );
    *r.status_mut() = status;
    r
}

fn signature(script: ScriptName) -> &'static str {
    match script {
        ScriptName::Login => {
            "login(usernameOrEmail, password, callback): callback(null, profile) or callback(new WrongUsernameOrPasswordError(email))."
        }
        ScriptName::GetUser => {
            "getUser(email, callback): callback(null, profile), or callback(null) when there is no such user."
        }
        ScriptName::Create => {
            "create(user, callback): callback(null), or a ValidationError('user_exists', …). Called only with import mode off."
        }
        ScriptName::Verify => {
            "verify(email, callback): callback(null, true). Called only with import mode off."
        }
        ScriptName::ChangePassword => {
            "changePassword(email, newPassword, callback): callback(null, true). Called only with import mode off."
        }
        ScriptName::Delete => {
            "remove(id, callback): callback(null). Called only with import mode off."
        }
        ScriptName::ChangeEmail => {
            "changeEmail(email, newEmail, verified, callback): callback(null, true). Kept on every save; called only with import mode off."
        }
    }
}

fn input_value(inputs: &Map<String, Value>, k: &str) -> String {
    match inputs.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Object(_)) => serde_json::to_string_pretty(v).unwrap_or_default(),
        _ => String::new(),
    }
}

fn try_inputs(script: ScriptName, inputs: &Map<String, Value>) -> Markup {
    html! {
        div.grid2 {
            @for k in script_try::inputs(script) {
                div {
                    @match *k {
                        "password" | "newPassword" => {
                            label for=(format!("try-{k}")) { (k) }
                            // A password typed for a try is never sent back.
                            input id=(format!("try-{k}")) type="password" name=(format!("try_{k}")) autocomplete="off";
                        }
                        "user" => {
                            label for="try-user" { "user (JSON)" }
                            textarea #try-user.short name="try_user" spellcheck="false" {
                                @let v = input_value(inputs, "user");
                                @if v.is_empty() { "{\"email\": \"someone@example.com\", \"password\": \"…\"}" } @else { (v) }
                            }
                        }
                        "verified" => {
                            (forms::check("try_verified", "on", "verified", inputs.get("verified") == Some(&json!(true)), None, false))
                        }
                        _ => {
                            label for=(format!("try-{k}")) { (k) }
                            input id=(format!("try-{k}")) type="text" name=(format!("try_{k}")) value=(input_value(inputs, k)) autocomplete="off";
                        }
                    }
                }
            }
        }
    }
}

/// Replace hashes and seeds anywhere in `v` by a marker.
fn hide_secrets(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if HIDDEN_KEYS.contains(&k.as_str()) && !x.is_null() {
                    *x = json!("(hidden)");
                } else {
                    hide_secrets(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(hide_secrets),
        _ => {}
    }
}

fn outcome(o: &Value) -> Markup {
    let failed = o.get("error").is_some();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let console: Vec<String> = o
        .get("console")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let warnings: Vec<String> = o
        .get("warnings")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    html! {
        section.result.failed[failed] #try-result aria-live="polite" aria-labelledby="try-result-title" {
            h2 #try-result-title {
                @if failed { "The script failed" } @else { "The script answered" }
                " in " span #try-elapsed { (o.get("elapsed_ms").and_then(Value::as_u64).unwrap_or(0)) } " ms"
            }
            @if let Some(err) = o.get("error") {
                p { strong { (err.get("name").and_then(Value::as_str).unwrap_or(err.get("kind").and_then(Value::as_str).unwrap_or("error"))) } ": " (err.get("message").and_then(Value::as_str).unwrap_or("")) }
                pre { (pretty(err)) }
            } @else {
                h3 { "Result" }
                pre #try-output { (pretty(o.get("result").unwrap_or(&Value::Null))) }
            }
            h3 { "Console" }
            @if console.is_empty() { p.hint { "Nothing was logged." } } @else { pre #try-console { @for l in &console { (l) "\n" } } }
            @if !warnings.is_empty() { h3 { "Warnings" } ul { @for w in &warnings { li { (w) } } } }
        }
    }
}

fn read_inputs(script: ScriptName, form: &FormFields) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    for k in script_try::inputs(script) {
        let raw = form.get(&format!("try_{k}")).unwrap_or_default();
        let v = match *k {
            "user" => serde_json::from_str::<Value>(raw)
                .ok()
                .filter(Value::is_object)
                .ok_or("The user input must be a JSON object.")?,
            "verified" => json!(raw == "on"),
            _ => json!(raw),
        };
        m.insert((*k).to_string(), v);
    }
    Ok(m)
}

/// `POST /console/connections/{id}/scripts/{name}/try`.
pub async fn try_it(
    State(s): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(script) = script_name(&name) else {
        return no_such_script();
    };
    // Browsers send a textarea's line breaks as CRLF.
    let source = form.get("source").unwrap_or_default().replace("\r\n", "\n");
    let unsaved = script_source(&c, script).unwrap_or_default() != source;
    let (inputs, result) = match read_inputs(script, &form) {
        Ok(inputs) => {
            let mut body = inputs.clone();
            if !source.trim().is_empty() {
                body.insert("script".into(), json!(source));
            }
            let r = script_try::run(&s, &c.id, script.key(), &Value::Object(body)).await;
            (inputs, r.map_err(|e| forms::api_message(&e)))
        }
        Err(m) => (Map::new(), Err(m)),
    };
    let (outcome, error) = match result {
        Ok(mut v) => {
            hide_secrets(&mut v);
            (Some(v), None)
        }
        Err(m) => (None, Some(m)),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let editor = Editor {
        source,
        unsaved,
        inputs: &inputs,
        outcome,
        error,
        saved: None,
        has_users: has_users(&s, &c).await,
    };
    render(&op, &c, script, &editor, status)
}

/// `POST /console/connections/{id}/scripts/{name}`: save (an empty editor
/// removes the script).
pub async fn save(
    State(s): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(script) = script_name(&name) else {
        return no_such_script();
    };
    let source = form.get("source").unwrap_or_default().replace("\r\n", "\n");
    let mut options = options_for_patch(&c);
    let mut scripts = options
        .get("customScripts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if source.trim().is_empty() {
        scripts.remove(script.key());
    } else {
        scripts.insert(script.key().into(), json!(source));
    }
    options.insert("customScripts".into(), Value::Object(scripts));
    let what = format!("{} script saved", script.key());
    match patch_options(&s, &op, &c, options, &what).await {
        Ok(_) => see_other(
            &format!(
                "/console/connections/{}/scripts/{}?done=saved",
                c.id,
                script.key()
            ),
            Vec::new(),
        ),
        Err(e) => {
            let empty = Map::new();
            let editor = Editor {
                source,
                unsaved: true,
                inputs: &empty,
                outcome: None,
                error: Some(forms::api_message(&e)),
                saved: None,
                has_users: has_users(&s, &c).await,
            };
            render(&op, &c, script, &editor, e.status)
        }
    }
}

/// Whether scripts get the context object.
fn script_context(c: &Connection) -> bool {
    c.options
        .get("enable_script_context")
        .and_then(Value::as_bool)
        == Some(true)
}

/// Whether the connection has users; on a store error, as if it had (the
/// switch is then held).
async fn has_users(s: &AppState, c: &Connection) -> bool {
    s.store
        .count_connection_users(s.tid(), &c.id)
        .await
        .map_or(true, |n| n > 0)
}

/// `POST /console/connections/{id}/switches`: "Use my own database" (held
/// once the connection has users) and "Import users".
pub async fn save_switches(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // A disabled checkbox is not sent: with users, the switch stays as stored.
    let custom = if has_users(&s, &c).await {
        c.custom_database()
    } else {
        form.get("custom_database") == Some("on")
    };
    let import = form.get("import_mode") == Some("on");
    // One-way: once on, it stays on (its disabled box is not sent).
    let context = script_context(&c) || form.get("enable_script_context") == Some("on");
    let mut options = options_for_patch(&c);
    options.insert("enable_script_context".into(), json!(context));
    options.insert("enabledDatabaseCustomization".into(), json!(custom));
    options.insert("import_mode".into(), json!(import));
    match patch_options(&s, &op, &c, options, "legacy-store switches saved").await {
        Ok(_) => see_other(
            &format!("/console/connections/{}/scripts/login?done=saved", c.id),
            Vec::new(),
        ),
        Err(e) => problem(
            e.status,
            "Could not save the switches",
            &forms::api_message(&e),
        ),
    }
}

/// `POST /console/connections/{id}/scripts-off`: login and get_user become
/// the no-legacy-store scripts; import mode is switched on (and stays on).
pub async fn scripts_off(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut options = options_for_patch(&c);
    let mut scripts = options
        .get("customScripts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for name in [ScriptName::Login, ScriptName::GetUser] {
        if let Some(t) = template("noop", name) {
            scripts.insert(name.key().into(), json!(t));
        }
    }
    options.insert("customScripts".into(), Value::Object(scripts));
    options.insert("import_mode".into(), json!(true));
    match patch_options(&s, &op, &c, options, "legacy scripts switched off").await {
        Ok(_) => see_other(
            &format!(
                "/console/connections/{}/scripts/login?done=scripts-off",
                c.id
            ),
            Vec::new(),
        ),
        Err(e) => problem(
            e.status,
            "Could not switch the scripts off",
            &forms::api_message(&e),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_seeds_are_hidden_at_any_depth() {
        let mut v = json!({"result": {"user_id": "1", "tern_password_hash": "$2b$10$x",
            "mfa_factors": [{"totp": {"secret": "ABC"}}], "nested": [{"password": "p"}]}});
        hide_secrets(&mut v);
        let text = v.to_string();
        assert!(!text.contains("$2b$10$x") && !text.contains("ABC") && !text.contains("\"p\""));
        assert_eq!(v["result"]["user_id"], "1");
    }
}
