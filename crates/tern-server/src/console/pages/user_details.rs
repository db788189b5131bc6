//! What the user page shows of the user's record beyond the profile: the
//! metadata, editable; the recent log events about them; and the user as
//! `GET /api/v2/users/{id}` returns it (`user_json`, the same serializer).
//!
//! Saving metadata goes through `user_admin::update`, the code behind
//! `PATCH /api/v2/users/{id}`, so its validation and limits apply. That
//! `PATCH` merges each metadata object at the top level (a key set to
//! `null` is removed, keys left out stay); the console replaces instead —
//! every stored key the operator removed is sent as `null` — so what the
//! operator sees after saving is what is stored.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Map, Value};
use tern_core::CoreResult;
use tern_core::model::{JsonObject, LogEvent, User};
use tern_core::store::LogQuery;
use tern_core::user_profile::user_json;

use super::users::{find_user, log_action, refused, user_page, user_url};
use crate::console::forms::{self, alert, csrf_field};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::console_app::Changer;
use crate::state::AppState;
use crate::user_admin;

/// How many of the user's newest log events the page shows.
pub const HISTORY: usize = 20;

/// The metadata editor's two fields, as stored or as the operator typed
/// them, and why a save was refused.
pub struct MetadataEditor {
    user_metadata: String,
    app_metadata: String,
    error: Option<String>,
}

fn pretty(m: &JsonObject) -> String {
    serde_json::to_string_pretty(m).unwrap_or_default()
}

impl MetadataEditor {
    /// The user's metadata as stored.
    pub fn stored(user: &User) -> Self {
        Self {
            user_metadata: pretty(&user.user_metadata),
            app_metadata: pretty(&user.app_metadata),
            error: None,
        }
    }
}

/// The editable metadata section.
pub fn metadata_section(op: &Operator, user: &User, e: &MetadataEditor) -> Markup {
    html! {
        h2 { "Metadata" }
        (alert(e.error.as_deref()))
        form #metadata method="post" action=(format!("{}/metadata", user_url(&user.user_id))) {
            (csrf_field(op))
            p.hint { "Each a JSON object. Saving replaces what is stored with what is written here: a key removed here is removed (the Management API's PATCH would keep it), a key set to null is removed too. An empty field is an empty object." }
            (forms::area("user_metadata", "User metadata", &e.user_metadata, true, None))
            (forms::area("app_metadata", "App metadata", &e.app_metadata, true, None))
            div.actions { button type="submit" { "Save the metadata" } }
        }
    }
}

/// The user's newest log events (of any type), at most [`HISTORY`], read
/// through the log's user index however old they are.
pub async fn history(s: &AppState, user_id: &str) -> CoreResult<Vec<LogEvent>> {
    let query = LogQuery {
        user_id: Some(user_id),
        ..LogQuery::default()
    };
    let (events, _) = s
        .store
        .search_logs(s.tid(), &query, 0, HISTORY as u64, 0)
        .await?;
    Ok(events)
}

/// The history section: the user's recent events and a link to the log
/// page filtered for them.
pub fn history_section(user: &User, events: &[LogEvent]) -> Markup {
    let all = format!("/console/logs?user={}", urlencoding::encode(&user.user_id));
    html! {
        h2 #history-heading { "History" }
        p.hint {
            "The user's newest " (HISTORY) " events. "
            a href=(all) { "All of this user's events in the log" }
        }
        @if events.is_empty() {
            p.empty { "No event about this user in the log." }
        } @else {
            div.table-wrap { table #history aria-labelledby="history-heading" {
                thead { tr { th scope="col" { "Date" } th scope="col" { "Event" } th scope="col" { "Application" } th scope="col" { "Connection" } } }
                tbody { @for e in events { tr data-type=(e.kind) {
                    td { (e.date) }
                    td { code { (e.kind) } " " (e.description.as_deref().unwrap_or("")) }
                    td { (e.client_name.as_deref().or(e.client_id.as_deref()).unwrap_or("—")) }
                    td { (e.connection.as_deref().unwrap_or("—")) }
                } } }
            } }
        }
    }
}

/// The user as the Management API returns them.
pub fn raw_json_section(user: &User) -> Markup {
    let json = serde_json::to_string_pretty(&user_json(user)).unwrap_or_default();
    html! {
        h2 { "Raw JSON" }
        p.hint { "As " code { "GET /api/v2/users/{id}" } " returns the user." }
        pre #raw-json { (json) }
    }
}

/// A metadata field as typed: a JSON object (blank: an empty one), or a
/// message saying what is wrong with it.
fn parse(text: &str, label: &str) -> Result<JsonObject, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!(
            "{label} must be a JSON object ({{\"key\": value, …}}), not {}.",
            kind_of(&other)
        )),
        Err(e) => Err(format!("{label} is not valid JSON: {e}.")),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `PATCH` value that makes `stored` into `wanted` under a top-level
/// merge: `wanted`, with every key it lacks set to `null`; `None` when
/// nothing changes.
fn replacement(stored: &JsonObject, wanted: JsonObject) -> Option<Value> {
    if *stored == wanted {
        return None;
    }
    let mut patch = wanted;
    for k in stored.keys() {
        if !patch.contains_key(k) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    Some(Value::Object(patch))
}

/// `POST /console/users/{id}/metadata` (as `PATCH /users/{id}` with
/// `user_metadata` and `app_metadata`, replacing rather than merging).
pub async fn save_metadata(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Result<Response, Response> {
    let user = find_user(&s, &id, "metadata save").await?;
    let typed = |k: &str| form.get(k).unwrap_or_default().to_string();
    let mut editor = MetadataEditor {
        user_metadata: typed("user_metadata"),
        app_metadata: typed("app_metadata"),
        error: None,
    };
    let parsed = parse(&editor.user_metadata, "User metadata")
        .and_then(|u| parse(&editor.app_metadata, "App metadata").map(|a| (u, a)));
    let (wanted_user, wanted_app) = match parsed {
        Ok(p) => p,
        Err(m) => {
            editor.error = Some(format!("Nothing was saved: {m}"));
            return Err(
                user_page(&s, &op, &user, None, &editor, None, StatusCode::BAD_REQUEST).await,
            );
        }
    };
    let mut body = Map::new();
    if let Some(p) = replacement(&user.user_metadata, wanted_user) {
        body.insert("user_metadata".into(), p);
    }
    if let Some(p) = replacement(&user.app_metadata, wanted_app) {
        body.insert("app_metadata".into(), p);
    }
    let page = user_url(&user.user_id);
    if body.is_empty() {
        return Ok(see_other(
            &format!("{page}?done=metadata-unchanged"),
            Vec::new(),
        ));
    }
    let changed: Vec<String> = body.keys().cloned().collect();
    match user_admin::update(&s, &id, &Value::Object(body), Changer::Console).await {
        Ok(saved) => {
            log_action(
                &s,
                &op,
                &saved,
                "Console: user metadata saved",
                Some(serde_json::json!({"changed": changed})),
            )
            .await;
            Ok(see_other(
                &format!("{page}?done=metadata-saved"),
                Vec::new(),
            ))
        }
        // The rules of `PATCH` refused it: shown beside what was typed.
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            editor.error = Some(format!("Nothing was saved: {}", forms::api_message(&e)));
            Err(user_page(&s, &op, &user, None, &editor, None, e.status).await)
        }
        Err(e) => Err(refused(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn only_objects_are_metadata() {
        assert_eq!(parse("  ", "User metadata"), Ok(Map::new()));
        assert_eq!(
            parse(r#"{"plan": "pro"}"#, "User metadata"),
            Ok(obj(json!({"plan": "pro"})))
        );
        let e = parse("[1, 2]", "App metadata").unwrap_err();
        assert!(e.starts_with("App metadata must be a JSON object"), "{e}");
        assert!(e.ends_with("not an array."), "{e}");
        let e = parse(r#"{"plan": "pro""#, "User metadata").unwrap_err();
        assert!(e.starts_with("User metadata is not valid JSON: "), "{e}");
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn a_replacement_removes_what_was_left_out() {
        let stored = obj(json!({"plan": "pro", "team": "eng", "nested": {"a": 1}}));
        assert_eq!(replacement(&stored, stored.clone()), None);
        let patch = replacement(&stored, obj(json!({"plan": "free", "nested": {"b": 2}})));
        assert_eq!(
            patch,
            Some(json!({"plan": "free", "nested": {"b": 2}, "team": null}))
        );
        assert_eq!(
            replacement(&stored, Map::new()),
            Some(json!({"plan": null, "team": null, "nested": null}))
        );
    }
}
