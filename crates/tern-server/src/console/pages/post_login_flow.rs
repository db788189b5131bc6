//! The post-login flow: the actions bound to the trigger, in the order
//! logins run them. Each button posts one change (add a deployed action,
//! remove one, move one up or down) that becomes the whole new list,
//! saved through `manage::actions::update_bindings` — the service of
//! `PATCH /actions/triggers/post-login/bindings`, which checks every
//! action is deployed. Bindings are named by id, so a page left open while
//! the flow changed elsewhere cannot move or remove the wrong one.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Value, json};
use tern_core::actions::{Action, ActionBinding, POST_LOGIN};

use super::actions::{href, read_all, section_tabs};
use crate::console::audit_change;
use crate::console::forms::{self, Done, alert, csrf_field, note};
use crate::console::layout::{Section, page_status};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::manage;
use crate::state::AppState;

const FLOW: &str = "/console/actions/flow";

/// The flow's route.
pub fn router() -> Router<AppState> {
    Router::new().route(FLOW, get(show).post(change))
}

/// `GET /console/actions/flow`.
pub async fn show(State(s): State<AppState>, op: Operator, Query(done): Query<Done>) -> Response {
    match read_all(&s).await {
        Ok((actions, bindings)) => render(
            &op,
            &actions,
            &bindings,
            done.message(),
            None,
            StatusCode::OK,
        ),
        Err(r) => r,
    }
}

/// A one-button form posting `verb=binding`.
fn button(op: &Operator, verb: &str, binding: &str, label: Markup, danger: bool) -> Markup {
    html! {
        form method="post" action=(FLOW) {
            (csrf_field(op))
            input type="hidden" name=(verb) value=(binding);
            button.inline.secondary[!danger].danger[danger] type="submit" { (label) }
        }
    }
}

fn render(
    op: &Operator,
    actions: &[Action],
    bindings: &[ActionBinding],
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let deployed: Vec<&Action> = actions
        .iter()
        .filter(|a| a.deployed.is_some() && a.supported_triggers.iter().any(|t| t == POST_LOGIN))
        .collect();
    let last = bindings.len().saturating_sub(1);
    page_status(
        status,
        op,
        Section::Actions,
        "Post-login flow",
        html! {
            (section_tabs(true))
            h1 { "Post-login flow" }
            p.text { "After a user signs in and before tokens are issued, these actions run in this order; one that denies stops the flow. Each runs its deployed version." }
            (note(saved))
            (alert(error))
            @if bindings.is_empty() {
                p.empty { "No action runs after login." }
            } @else {
                ol #flow {
                    @for (i, b) in bindings.iter().enumerate() {
                        li {
                            a href=(href(&b.action_id)) { (b.display_name) }
                            div.actions {
                                @if i > 0 { (button(op, "up", &b.id, html! { "Move up" span.visually-hidden { " " (b.display_name) } }, false)) }
                                @if i < last { (button(op, "down", &b.id, html! { "Move down" span.visually-hidden { " " (b.display_name) } }, false)) }
                                (button(op, "remove", &b.id, html! { "Remove" span.visually-hidden { " " (b.display_name) } }, true))
                            }
                        }
                    }
                }
            }
            h2 { "Add an action" }
            @if deployed.is_empty() {
                p.empty { "No deployed action to add: " a href="/console/actions" { "deploy one" } " first." }
            } @else {
                form method="post" action=(FLOW) {
                    (csrf_field(op))
                    label for="add" { "Deployed action" }
                    select #add name="add" {
                        @for a in &deployed { option value=(a.id) { (a.name) } }
                    }
                    div.actions { button type="submit" { "Add to the end of the flow" } }
                }
            }
        },
    )
}

/// One change the flow's form asks for.
#[derive(Debug, PartialEq)]
enum Change {
    Add(String),
    Remove(String),
    Up(String),
    Down(String),
}

fn read_change(form: &crate::routes::universal_login::FormFields) -> Option<Change> {
    let get = |k: &str| form.get(k).filter(|v| !v.is_empty()).map(str::to_string);
    get("add")
        .map(Change::Add)
        .or_else(|| get("remove").map(Change::Remove))
        .or_else(|| get("up").map(Change::Up))
        .or_else(|| get("down").map(Change::Down))
}

/// The new order as binding refs: current bindings by id, an added action
/// by id at the end. `None` when the change names a binding not in the flow.
fn reorder(current: &[ActionBinding], change: &Change) -> Option<Vec<Value>> {
    let mut refs: Vec<Value> = current
        .iter()
        .map(|b| json!({"ref": {"type": "binding_id", "value": b.id}, "display_name": b.display_name}))
        .collect();
    let at = |id: &str| current.iter().position(|b| b.id == id);
    match change {
        Change::Add(action) => refs.push(json!({"ref": {"type": "action_id", "value": action}})),
        Change::Remove(id) => {
            refs.remove(at(id)?);
        }
        Change::Up(id) => {
            let i = at(id)?;
            refs.swap(i.checked_sub(1)?, i);
        }
        Change::Down(id) => {
            let i = at(id)?;
            if i + 1 >= refs.len() {
                return None;
            }
            refs.swap(i, i + 1);
        }
    }
    Some(refs)
}

/// `POST /console/actions/flow`.
pub async fn change(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let (actions, bindings) = match read_all(&s).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let refused = |m: &str, status| render(&op, &actions, &bindings, None, Some(m), status);
    let Some(change) = read_change(&form) else {
        return refused("Choose what to change.", StatusCode::BAD_REQUEST);
    };
    let Some(refs) = reorder(&bindings, &change) else {
        return refused(
            "The flow changed since this page was loaded; nothing was changed. Look at it again.",
            StatusCode::CONFLICT,
        );
    };
    match manage::actions::update_bindings(&s, POST_LOGIN, &json!({ "bindings": refs })).await {
        Ok(saved) => {
            let names: Vec<&str> = saved.iter().map(|b| b.display_name.as_str()).collect();
            audit_change(
                &s,
                &op,
                "post-login flow saved",
                json!({ "actions": names }),
            )
            .await;
            see_other(&format!("{FLOW}?done=saved"), Vec::new())
        }
        Err(e) => refused(&forms::api_message(&e), e.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(id: &str) -> ActionBinding {
        ActionBinding {
            id: id.into(),
            trigger_id: POST_LOGIN.into(),
            action_id: format!("action-{id}"),
            display_name: id.into(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn order(refs: &[Value]) -> Vec<&str> {
        refs.iter()
            .map(|r| r["ref"]["value"].as_str().unwrap_or_default())
            .collect()
    }

    #[test]
    fn each_change_makes_the_whole_new_order() {
        let flow = [binding("a"), binding("b"), binding("c")];
        let cases = [
            (Change::Up("b".into()), Some(vec!["b", "a", "c"])),
            (Change::Down("b".into()), Some(vec!["a", "c", "b"])),
            (Change::Remove("a".into()), Some(vec!["b", "c"])),
            (Change::Add("x".into()), Some(vec!["a", "b", "c", "x"])),
            (Change::Up("a".into()), None),
            (Change::Down("c".into()), None),
            (Change::Remove("gone".into()), None),
        ];
        for (change, want) in cases {
            let got = reorder(&flow, &change);
            assert_eq!(got.as_deref().map(order), want, "{change:?}");
        }
    }
}
