//! Post-login Actions: the list (deployed or draft, bound or not), creating
//! one, an action's page — its code in a plain textarea, runtime,
//! dependencies, secrets write-only (names listed, a blank value keeps the
//! stored one, as the connection configuration does) — deploying it (the
//! editor's posted draft saved first) and deleting it. Every change is the
//! Management API's body handed to `manage::actions`, which validates,
//! seals secrets and tells the runtime; a refusal is shown on the page
//! with nothing stored. The trigger's flow is `post_login_flow`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};
use tern_core::actions::{Action, ActionBinding, DEFAULT_RUNTIME, POST_LOGIN};

use super::connections::{found, oops};
use super::deletes::{Confirm, confirm_page};
use crate::console::forms::{self, Done, alert, csrf_field, note};
use crate::console::layout::{Section, page, page_status, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit_change, see_other};
use crate::manage;
use crate::manage::actions::PROVIDED_MODULES;
use crate::routes::universal_login::FormFields;
use crate::state::AppState;

/// Empty rows offered for new secrets.
const NEW_SECRETS: usize = 3;

/// What a new action's editor starts with: Auth0's post-login skeleton.
const STARTER_CODE: &str = "/**\n * Handler that will be called during the execution of a PostLogin flow.\n *\n * @param {Event} event - Details about the user and the context in which they are logging in.\n * @param {PostLoginAPI} api - Interface whose methods can be used to change the behavior of the login.\n */\nexports.onExecutePostLogin = async (event, api) => {\n};\n";

/// The routes of the action pages (the flow's are in `post_login_flow`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/actions", get(list).post(create))
        .route("/console/actions/new", get(new))
        .route("/console/actions/{id}", get(show).post(save))
        .route("/console/actions/{id}/deploy", post(deploy))
        .route(
            "/console/actions/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

/// An action's page.
pub fn href(id: &str) -> String {
    format!("/console/actions/{}", urlencoding::encode(id))
}

/// The tabs of the Actions section.
pub fn section_tabs(flow: bool) -> Markup {
    forms::tabs(
        "Actions",
        &[
            ("/console/actions".into(), "Library", !flow),
            ("/console/actions/flow".into(), "Post-login flow", flow),
        ],
        false,
    )
}

/// A deployed version's badge, or "draft", and whether the draft moved on.
fn status_badges(a: &Action) -> Markup {
    html! {
        @match &a.deployed {
            Some(d) => {
                span.badge.on { "deployed v" (d.number) }
                @if !a.all_changes_deployed() { " " span.badge { "undeployed changes" } }
            }
            None => span.badge { "draft" },
        }
    }
}

/// `GET /console/actions`.
pub async fn list(State(s): State<AppState>, op: Operator, Query(done): Query<Done>) -> Response {
    let (actions, bindings) = match read_all(&s).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let rows: Vec<Markup> = actions
        .iter()
        .map(|a| {
            let bound = bindings.iter().any(|b| b.action_id == a.id);
            html! { tr {
                td { a href=(href(&a.id)) { (a.name) } }
                td { (status_badges(a)) }
                td { @if bound { span.badge.on { "bound" } } @else { "not bound" } }
            } }
        })
        .collect();
    page(
        &op,
        Section::Actions,
        "Actions",
        html! {
            (section_tabs(false))
            (forms::list_table(
                &forms::ListTable {
                    title: "Actions",
                    create: ("/console/actions/new", "Create an action"),
                    done: done.message(),
                    columns: &["Name", "Status", "Post-login flow"],
                    empty: "No action yet. An action is JavaScript that runs after a user signs in and before tokens are issued.",
                },
                &rows,
            ))
        },
    )
}

/// The tenant's actions and the post-login bindings.
pub async fn read_all(s: &AppState) -> Result<(Vec<Action>, Vec<ActionBinding>), Response> {
    let actions = s
        .store
        .list_actions(s.tid())
        .await
        .map_err(|e| oops("actions", &e))?;
    let bindings = s
        .store
        .get_action_bindings(s.tid(), POST_LOGIN)
        .await
        .map_err(|e| oops("actions", &e))?;
    Ok((actions, bindings))
}

/// What the editor shows and posts (secrets apart).
struct Fields {
    name: String,
    code: String,
    runtime: String,
    dependencies: String,
}

impl Fields {
    fn of(a: &Action) -> Self {
        Fields {
            name: a.name.clone(),
            code: a.code.clone(),
            runtime: a.runtime.clone(),
            dependencies: a
                .dependencies
                .iter()
                .map(|d| {
                    let name = d["name"].as_str().unwrap_or_default();
                    match d["version"].as_str() {
                        Some(v) if !v.is_empty() => format!("{name}@{v}"),
                        _ => name.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn read(f: &FormFields) -> Self {
        Fields {
            name: f.get("name").unwrap_or_default().trim().to_string(),
            code: f.get("code").unwrap_or_default().replace("\r\n", "\n"),
            runtime: f.get("runtime").unwrap_or_default().trim().to_string(),
            dependencies: f.get("dependencies").unwrap_or_default().to_string(),
        }
    }

    /// The Management API's body for these fields.
    fn body(&self) -> serde_json::Map<String, Value> {
        let dependencies: Vec<Value> = forms::lines(&self.dependencies)
            .iter()
            .map(|l| {
                // `name@version`; a scoped name (`@scope/x`) keeps its first `@`.
                let (name, version) = match l.rfind('@') {
                    Some(i) if i > 0 => (&l[..i], &l[i + 1..]),
                    _ => (l.as_str(), "latest"),
                };
                json!({"name": name, "version": version})
            })
            .collect();
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("code".into(), json!(self.code));
        let runtime = if self.runtime.is_empty() {
            DEFAULT_RUNTIME
        } else {
            &self.runtime
        };
        m.insert("runtime".into(), json!(runtime));
        m.insert("dependencies".into(), json!(dependencies));
        m
    }
}

fn editor(v: &Fields) -> Markup {
    html! {
        (forms::text("name", "Name", &v.name, None))
        (forms::area("code", "Code", &v.code, true,
            Some("A module exporting onExecutePostLogin(event, api), as Auth0's. Saving changes the draft; logins run the deployed version.")))
        div.grid2 {
            div { (forms::text("runtime", "Runtime", &v.runtime,
                Some("node22 as Auth0's; Tern runs every action in its own JavaScript sandbox."))) }
            div { (forms::area("dependencies", "Dependencies", &v.dependencies, false,
                Some(&format!("One per line, name@version. Only modules the sandbox provides: {}.", PROVIDED_MODULES.join(", "))))) }
        }
    }
}

/// `GET /console/actions/new`.
pub async fn new(op: Operator) -> Response {
    let v = Fields {
        name: String::new(),
        code: STARTER_CODE.into(),
        runtime: DEFAULT_RUNTIME.into(),
        dependencies: String::new(),
    };
    new_page(&op, &v, None, StatusCode::OK)
}

fn new_page(op: &Operator, v: &Fields, error: Option<&str>, status: StatusCode) -> Response {
    page_status(
        status,
        op,
        Section::Actions,
        "Create an action",
        html! {
            p.crumbs { a href="/console/actions" { "← Actions" } }
            h1 { "Create an action" }
            (alert(error))
            form method="post" action="/console/actions" {
                (csrf_field(op))
                (editor(v))
                p.hint { "Secrets can be added once the action exists." }
                div.actions { button type="submit" { "Create the action" } }
            }
        },
    )
}

/// `POST /console/actions`.
pub async fn create(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let v = Fields::read(&form);
    let mut body = v.body();
    body.insert(
        "supported_triggers".into(),
        json!([{"id": POST_LOGIN, "version": "v3"}]),
    );
    match manage::actions::create(&s, &Value::Object(body)).await {
        Ok(a) => {
            audit_change(
                &s,
                &op,
                "action created",
                json!({"action_id": a.id, "name": a.name}),
            )
            .await;
            see_other(&format!("{}?done=created", href(&a.id)), Vec::new())
        }
        Err(e) => new_page(&op, &v, Some(&forms::api_message(&e)), e.status),
    }
}

async fn load(s: &AppState, id: &str) -> Result<Action, Response> {
    found("action", s.store.get_action(s.tid(), id).await)
}

/// `GET /console/actions/{id}`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    render(
        &op,
        &a,
        &Fields::of(&a),
        done.message(),
        None,
        StatusCode::OK,
    )
}

fn render(
    op: &Operator,
    a: &Action,
    v: &Fields,
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let action = href(&a.id);
    page_status(
        status,
        op,
        Section::Actions,
        &a.name,
        html! {
            p.crumbs { a href="/console/actions" { "← Actions" } }
            div.head { h1 { (a.name) } div { (status_badges(a)) } }
            (note(saved))
            (alert(error))
            form method="post" action=(action) {
                (csrf_field(op))
                (editor(v))
                (secrets_fieldset(a))
                h2 { "Deploy" }
                @match &a.deployed {
                    Some(d) => p.text { "Version " (d.number) " runs, deployed " (d.created_at) "." @if !a.all_changes_deployed() { " The draft has changed since." } },
                    None => p.text { "Not deployed yet: it cannot be added to the post-login flow until it is." },
                }
                p.hint { "Save and deploy saves the form as the draft first, then makes it what logins run; a save refused deploys nothing." }
                div.actions {
                    button type="submit" { "Save the draft" }
                    button.secondary type="submit" formaction=(format!("{action}/deploy")) { "Save and deploy" }
                }
            }
            (forms::delete_link("action", &action))
        },
    )
}

/// The secrets table: names only, a password field per value (blank keeps
/// it), a box to remove it, and rows for new ones.
fn secrets_fieldset(a: &Action) -> Markup {
    html! {
        fieldset {
            legend { "Secrets" }
            p.hint { "The action reads them as event.secrets.NAME. Values are encrypted when saved and never shown again; leave a value blank to keep it." }
            @if !a.secrets.is_empty() {
                (forms::write_only_rows(&a.secrets.iter().map(|x| x.name.clone()).collect::<Vec<_>>(), "secret_", "Name"))
            }
            (forms::new_write_only_rows(NEW_SECRETS, "new_secret", "new_secret_value", "New secret's name"))
        }
    }
}

/// What the secrets part of a posted form asks for: the API's `secrets`
/// list (a stored secret without a new value is sent by name, which keeps
/// it) and the names set and removed, for the log.
struct SecretsChange {
    list: Vec<Value>,
    set: Vec<String>,
    removed: Vec<String>,
}

fn read_secrets(a: &Action, form: &FormFields) -> Result<SecretsChange, String> {
    let mut c = SecretsChange {
        list: Vec::new(),
        set: Vec::new(),
        removed: Vec::new(),
    };
    for (i, sec) in a.secrets.iter().enumerate() {
        let name = &sec.name;
        // Only secrets the action has; a forged or stale row keeps the stored one.
        let row_is_this = form.get(&format!("secret_key_{i}")) == Some(name.as_str());
        if row_is_this && form.get(&format!("secret_remove_{i}")) == Some("on") {
            c.removed.push(name.clone());
            continue;
        }
        match form
            .get(&format!("secret_value_{i}"))
            .filter(|v| row_is_this && !v.is_empty())
        {
            Some(v) => {
                c.set.push(name.clone());
                c.list.push(json!({"name": name, "value": v}));
            }
            None => c.list.push(json!({"name": name})),
        }
    }
    for i in 0..NEW_SECRETS {
        let name = form
            .get(&format!("new_secret_{i}"))
            .unwrap_or_default()
            .trim();
        let value = form
            .get(&format!("new_secret_value_{i}"))
            .unwrap_or_default();
        if name.is_empty() && value.is_empty() {
            continue;
        }
        if name.is_empty() {
            return Err("Give the new secret a name.".into());
        }
        if value.is_empty() {
            return Err(format!("Give the secret {name} a value."));
        }
        if c.list.iter().any(|s| s["name"] == name) {
            return Err(format!(
                "The action already has a secret named {name}: type its new value in its row."
            ));
        }
        c.set.push(name.to_string());
        c.list.push(json!({"name": name, "value": value}));
    }
    Ok(c)
}

/// The posted editor saved as the action's draft (as `PATCH
/// /actions/actions/{id}`) and logged; otherwise the page, with what was
/// typed, saying why nothing was stored.
async fn save_posted(
    s: &AppState,
    op: &Operator,
    a: &Action,
    form: &FormFields,
) -> Result<Action, Response> {
    let v = Fields::read(form);
    let secrets = match read_secrets(a, form) {
        Ok(c) => c,
        Err(m) => return Err(render(op, a, &v, None, Some(&m), StatusCode::BAD_REQUEST)),
    };
    let mut body = v.body();
    body.insert("secrets".into(), Value::Array(secrets.list));
    match manage::actions::update(s, &a.id, &Value::Object(body)).await {
        Ok(saved) => {
            audit_change(
                s,
                op,
                "action saved",
                json!({"action_id": saved.id, "name": saved.name,
                    "secrets_set": secrets.set, "secrets_removed": secrets.removed}),
            )
            .await;
            Ok(saved)
        }
        Err(e) => Err(render(
            op,
            a,
            &v,
            None,
            Some(&forms::api_message(&e)),
            e.status,
        )),
    }
}

/// `POST /console/actions/{id}`: the draft saved.
pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match save_posted(&s, &op, &a, &form).await {
        Ok(saved) => see_other(&format!("{}?done=saved", href(&saved.id)), Vec::new()),
        Err(page) => page,
    }
}

/// `POST /console/actions/{id}/deploy`, the editor's "Save and deploy":
/// the posted draft is saved first, checked as a save, and only then
/// deployed — that very draft: a change landing between the save and the
/// deploy refuses the deploy — so what runs is what the operator sees; a
/// refused save deploys nothing.
pub async fn deploy(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let saved = match save_posted(&s, &op, &a, &form).await {
        Ok(saved) => saved,
        Err(page) => return page,
    };
    match manage::actions::deploy_saved(&s, &saved).await {
        Ok(a) => {
            let number = a.deployed.as_ref().map_or(0, |d| d.number);
            audit_change(
                &s,
                &op,
                "action deployed",
                json!({"action_id": a.id, "name": a.name, "version": number}),
            )
            .await;
            see_other(&format!("{}?done=deployed", href(&a.id)), Vec::new())
        }
        Err(e) => {
            let m = format!(
                "The draft was saved but not deployed: {}",
                forms::api_message(&e)
            );
            render(&op, &saved, &Fields::of(&saved), None, Some(&m), e.status)
        }
    }
}

/// `GET /console/actions/{id}/delete`: what goes with it, then the form.
pub async fn confirm_delete(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let bound = match read_all(&s).await {
        Ok((_, b)) => b.iter().any(|b| b.action_id == a.id),
        Err(r) => return r,
    };
    confirm_page(
        &op,
        Confirm {
            section: Section::Actions,
            kind: "action",
            name: &a.name,
            back: href(&a.id),
            losses: html! {
                p.text { "Its code, its secrets and its deployed version." }
                @if bound { p.text { strong { "It is in the post-login flow: " } "it is removed from it, and logins no longer run it." } }
            },
        },
    )
}

/// `POST /console/actions/{id}/delete`: deleted and unbound (the API's
/// `force=true`, which the confirmation named).
pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    if form.get("confirm") != Some("yes") {
        return problem(
            StatusCode::BAD_REQUEST,
            "Not deleted",
            "Tick the box that confirms the deletion.",
        );
    }
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match manage::actions::delete(&s, &a.id, true).await {
        Ok(()) => {
            audit_change(
                &s,
                &op,
                "action deleted",
                json!({"action_id": a.id, "name": a.name}),
            )
            .await;
            see_other("/console/actions?done=deleted", Vec::new())
        }
        Err(e) => problem(
            e.status,
            "The deletion was refused",
            &forms::api_message(&e),
        ),
    }
}
