//! A connection's Configuration tab: `options.configuration`, the values
//! scripts read as `configuration.KEY` (and the HTTP connector's client
//! secret). Keys are listed; values are write-only: the page never holds
//! one, a blank field keeps the stored value (the mask, as in the API),
//! and a change goes through `manage::connections::update`, which seals it.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde_json::{Map, Value, json};
use tern_core::model::Connection;

use super::connections::{Tab, header, load, options_for_patch};
use crate::console::forms::{self, Done, alert, csrf_field, note};
use crate::console::layout::{Section, page};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::manage;
use crate::secrets::MASK;
use crate::state::AppState;

/// Empty rows offered for new keys.
const NEW_ROWS: usize = 3;

/// The routes of this tab.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/console/connections/{id}/configuration",
        get(show).post(save),
    )
}

fn keys(c: &Connection) -> Vec<String> {
    c.options
        .get("configuration")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// A key scripts can name as `configuration.KEY`.
fn valid_key(k: &str) -> bool {
    k.len() <= 128
        && k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `GET /console/connections/{id}/configuration`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    match load(&s, &id).await {
        Ok(c) => render(&op, &c, done.message(), None, StatusCode::OK),
        Err(r) => r,
    }
}

fn render(
    op: &Operator,
    c: &Connection,
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let keys = keys(c);
    let mut r = page(
        op,
        Section::Connections,
        &format!("{} · configuration", c.name),
        html! {
            (header(c, Tab::Configuration))
            (note(saved))
            (alert(error))
            p.text { "Values are encrypted when saved and never shown again: scripts read them as " code { "configuration.KEY" } ". Leave a value blank to keep it." }
            form method="post" action=(format!("/console/connections/{}/configuration", c.id)) {
                (csrf_field(op))
                @if keys.is_empty() {
                    p.empty { "No configuration value yet." }
                } @else {
                    (forms::write_only_rows(&keys, "", "Key"))
                }
                fieldset {
                    legend { "Add values" }
                    (forms::new_write_only_rows(NEW_ROWS, "new_key", "new_value", "Key"))
                    p.hint { "Letters, digits and underscores, e.g. PG_URL." }
                }
                div.actions { button type="submit" { "Save the configuration" } }
            }
        },
    );
    *r.status_mut() = status;
    r
}

/// `POST /console/connections/{id}/configuration`.
pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let stored = keys(&c);
    let mut cfg = Map::new();
    let (mut set, mut removed) = (Vec::new(), Vec::new());
    for (i, k) in stored.iter().enumerate() {
        // Only keys the connection has; a forged key_N names nothing.
        if form.get(&format!("key_{i}")) != Some(k.as_str()) {
            cfg.insert(k.clone(), json!(MASK));
            continue;
        }
        if form.get(&format!("remove_{i}")) == Some("on") {
            removed.push(k.clone());
            continue;
        }
        match form.get(&format!("value_{i}")).filter(|v| !v.is_empty()) {
            Some(v) => {
                set.push(k.clone());
                cfg.insert(k.clone(), json!(v));
            }
            None => {
                cfg.insert(k.clone(), json!(MASK));
            }
        }
    }
    for i in 0..NEW_ROWS {
        let key = form.get(&format!("new_key_{i}")).unwrap_or_default().trim();
        let value = form.get(&format!("new_value_{i}")).unwrap_or_default();
        if key.is_empty() && value.is_empty() {
            continue;
        }
        let problem = if !valid_key(key) {
            Some(format!(
                "“{key}” is not a usable key: use letters, digits and underscores, starting with a letter."
            ))
        } else if value.is_empty() {
            Some(format!("Give {key} a value."))
        } else if value == MASK {
            Some(format!("{key}: the value cannot be the mask itself."))
        } else {
            None
        };
        if let Some(m) = problem {
            return render(&op, &c, None, Some(&m), StatusCode::BAD_REQUEST);
        }
        set.push(key.to_string());
        cfg.insert(key.to_string(), json!(value));
    }
    let mut options = options_for_patch(&c);
    options.insert("configuration".into(), Value::Object(cfg));
    match manage::connections::update(
        &s,
        crate::console_app::Changer::Console,
        &c.id,
        &json!({ "options": options }),
    )
    .await
    {
        Ok(_) => {
            super::connections::log_change(
                &s,
                &op,
                &c,
                "configuration saved",
                json!({"keys_set": set, "keys_removed": removed}),
            )
            .await;
            see_other(
                &format!("/console/connections/{}/configuration?done=saved", c.id),
                Vec::new(),
            )
        }
        Err(e) => render(&op, &c, None, Some(&forms::api_message(&e)), e.status),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_are_identifiers() {
        assert!(valid_key("PG_URL"));
        assert!(valid_key("_x1"));
        assert!(!valid_key("1abc"));
        assert!(!valid_key("a-b"));
        assert!(!valid_key(""));
    }
}
