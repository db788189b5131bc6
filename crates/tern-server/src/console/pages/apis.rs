//! APIs (resource servers): list, create, edit (scopes, token lifetime,
//! offline access, machine-to-machine only), and the client grants that
//! let applications call an API with client credentials. Changes go
//! through `manage::resource_servers` and `manage::client_grants` with the
//! Management API's bodies and are logged with the operator as actor. The
//! Management API itself is shown read-only.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};
use tern_core::model::{Client, ClientGrant, ResourceServer};

use super::connections::oops;
use crate::console::forms::{self, Done, ListTable, alert, check, csrf_field, list_table, note};
use crate::console::layout::{Section, page, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit_change, see_other};
use crate::manage;
use crate::routes::universal_login::FormFields;
use crate::state::AppState;

/// The routes of the API pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/apis", get(list).post(create))
        .route("/console/apis/new", get(new))
        .route("/console/apis/{id}", get(edit).post(save))
        .route("/console/apis/{id}/grants", post(grant))
        .route("/console/apis/{id}/grants/{grant}", post(change_grant))
}

fn href(rs: &ResourceServer) -> String {
    format!("/console/apis/{}", urlencoding::encode(&rs.id))
}

/// `GET /console/apis`.
pub async fn list(State(s): State<AppState>, op: Operator, Query(done): Query<Done>) -> Response {
    let apis = match s.store.list_resource_servers(s.tid()).await {
        Ok(v) => v,
        Err(e) => return oops("APIs", &e),
    };
    page(
        &op,
        Section::Apis,
        "APIs",
        list_table(
            &ListTable {
                title: "APIs",
                create: ("/console/apis/new", "Create an API"),
                done: done.message(),
                columns: &["Name", "Identifier (audience)", "Who may get tokens"],
                empty: "No API yet.",
            },
            &apis.iter().map(row).collect::<Vec<_>>(),
        ),
    )
}

fn row(a: &ResourceServer) -> Markup {
    html! { tr {
        td { a href=(href(a)) { (a.name) } @if a.is_system { " " span.badge { "system" } } }
        td { code { (a.identifier) } }
        td { @if a.tern_machine_to_machine_only { span.badge.on { "machines only" } } @else { "users and machines" } }
    } }
}

struct Fields {
    name: String,
    identifier: String,
    scopes: String,
    lifetime: String,
    offline: bool,
    m2m_only: bool,
}

impl Fields {
    fn of(rs: &ResourceServer) -> Self {
        Fields {
            name: rs.name.clone(),
            identifier: rs.identifier.clone(),
            scopes: rs
                .scopes
                .iter()
                .map(|sc| {
                    if sc.description.is_empty() {
                        sc.value.clone()
                    } else {
                        format!("{}: {}", sc.value, sc.description)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
            lifetime: rs.token_lifetime.to_string(),
            offline: rs.allow_offline_access,
            m2m_only: rs.tern_machine_to_machine_only,
        }
    }

    fn read(f: &FormFields) -> Self {
        Fields {
            name: f.get("name").unwrap_or_default().trim().to_string(),
            identifier: f.get("identifier").unwrap_or_default().trim().to_string(),
            scopes: f.get("scopes").unwrap_or_default().to_string(),
            lifetime: f
                .get("token_lifetime")
                .unwrap_or_default()
                .trim()
                .to_string(),
            offline: f.get("allow_offline_access") == Some("on"),
            m2m_only: f.get("tern_machine_to_machine_only") == Some("on"),
        }
    }

    /// The API body (without `identifier`, which only creation sends).
    fn body(&self) -> Result<serde_json::Map<String, Value>, String> {
        let scopes: Vec<Value> = self
            .scopes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                // `read:users: Read users`: a scope value holds colons, but
                // no colon followed by a space.
                let (v, d) = l.split_once(": ").unwrap_or((l, ""));
                json!({"value": v.trim(), "description": d.trim()})
            })
            .collect();
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("scopes".into(), json!(scopes));
        if !self.lifetime.is_empty() {
            let n: i64 = self
                .lifetime
                .parse()
                .map_err(|_| "The token lifetime must be a whole number of seconds.".to_string())?;
            m.insert("token_lifetime".into(), json!(n));
        }
        m.insert("allow_offline_access".into(), json!(self.offline));
        m.insert("tern_machine_to_machine_only".into(), json!(self.m2m_only));
        Ok(m)
    }
}

fn api_fields(v: &Fields, creating: bool) -> Markup {
    html! {
        (forms::text("name", "Name", &v.name, None))
        @if creating {
            (forms::text("identifier", "Identifier (audience)", &v.identifier, Some("A URI naming the API, e.g. https://api.example.com/. It cannot be changed later.")))
        }
        (forms::area("scopes", "Scopes", &v.scopes, false, Some("One per line: value, or value: description (e.g. read:orders: Read orders).")))
        (forms::text("token_lifetime", "Access token lifetime (seconds)", &v.lifetime, Some("Blank: 86400.")))
        (check("allow_offline_access", "on", "Allow refresh tokens (offline access)", v.offline, None, false))
        (check("tern_machine_to_machine_only", "on", "Machines only", v.m2m_only,
            Some("Only applications with a client grant get tokens for this API (client credentials); every sign-in of a user for it is refused."), false))
    }
}

/// `GET /console/apis/new`.
pub async fn new(op: Operator) -> Response {
    let v = Fields {
        name: String::new(),
        identifier: String::new(),
        scopes: String::new(),
        lifetime: String::new(),
        offline: false,
        m2m_only: false,
    };
    new_page(&op, &v, None, StatusCode::OK)
}

fn new_page(op: &Operator, v: &Fields, error: Option<&str>, status: StatusCode) -> Response {
    let mut r = page(
        op,
        Section::Apis,
        "Create an API",
        html! {
            p.crumbs { a href="/console/apis" { "← APIs" } }
            h1 { "Create an API" }
            (alert(error))
            form method="post" action="/console/apis" {
                (csrf_field(op))
                (api_fields(v, true))
                div.actions { button type="submit" { "Create the API" } }
            }
        },
    );
    *r.status_mut() = status;
    r
}

/// `POST /console/apis`.
pub async fn create(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let v = Fields::read(&form);
    let mut body = match v.body() {
        Ok(b) => b,
        Err(m) => return new_page(&op, &v, Some(&m), StatusCode::BAD_REQUEST),
    };
    body.insert("identifier".into(), json!(v.identifier));
    match manage::resource_servers::create(&s, &Value::Object(body)).await {
        Ok(rs) => {
            audit_change(
                &s,
                &op,
                "API created",
                json!({"id": rs.id, "identifier": rs.identifier}),
            )
            .await;
            see_other(&format!("{}?done=created", href(&rs)), Vec::new())
        }
        Err(e) => new_page(&op, &v, Some(&forms::api_message(&e)), e.status),
    }
}

async fn load(s: &AppState, id: &str) -> Result<ResourceServer, Response> {
    super::connections::found("API", s.store.get_resource_server(s.tid(), id).await)
}

/// `GET /console/apis/{id}`.
pub async fn edit(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let rs = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    edit_page(
        &s,
        &op,
        &rs,
        &Fields::of(&rs),
        done.message(),
        None,
        StatusCode::OK,
    )
    .await
}

fn grant_scopes(op: &Operator, rs: &ResourceServer, g: &ClientGrant, app: &str) -> Markup {
    html! {
        form method="post" action=(format!("{}/grants/{}", href(rs), urlencoding::encode(&g.id))) {
            (csrf_field(op))
            fieldset {
                legend { (app) }
                @if rs.scopes.is_empty() { p.hint { "The API defines no scope." } }
                @for sc in &rs.scopes {
                    (check(&format!("scope-{}", g.id), &sc.value, &sc.value, g.scope.contains(&sc.value), None, false))
                }
                div.actions {
                    button.secondary type="submit" name="action" value="save" { "Save the scopes" }
                    button.danger type="submit" name="action" value="delete" { "Revoke the grant" }
                }
            }
        }
    }
}

async fn edit_page(
    s: &AppState,
    op: &Operator,
    rs: &ResourceServer,
    v: &Fields,
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let apps: Vec<Client> = match s.store.list_clients(s.tid()).await {
        Ok(a) => a,
        Err(e) => return oops("applications", &e),
    };
    let grants = match s.store.list_client_grants(s.tid()).await {
        Ok(mut g) => {
            g.retain(|g| g.audience == rs.identifier);
            g
        }
        Err(e) => return oops("client grants", &e),
    };
    let name_of = |id: &str| {
        apps.iter()
            .find(|a| a.client_id == id)
            .map_or(id.to_string(), |a| a.name.clone())
    };
    let ungranted: Vec<&Client> = apps
        .iter()
        .filter(|a| !grants.iter().any(|g| g.client_id == a.client_id))
        .collect();
    let mut r = page(
        op,
        Section::Apis,
        &rs.name,
        html! {
            p.crumbs { a href="/console/apis" { "← APIs" } }
            h1 { (rs.name) }
            (note(saved))
            (alert(error))
            p.text { "Identifier " code { (rs.identifier) } "." }
            @if rs.is_system {
                p.text { "This is Tern's Management API: its settings cannot be changed here, but applications can be granted its scopes." }
            } @else {
                form method="post" action=(href(rs)) {
                    (csrf_field(op))
                    (api_fields(v, false))
                    div.actions { button type="submit" { "Save the API" } }
                }
            }
            h2 { "Applications allowed as machines (client grants)" }
            @if grants.is_empty() { p.empty { "No application may call this API with client credentials yet." } }
            @for g in &grants { (grant_scopes(op, rs, g, &name_of(&g.client_id))) }
            @if !ungranted.is_empty() {
                form method="post" action=(format!("{}/grants", href(rs))) {
                    (csrf_field(op))
                    fieldset {
                        legend { "Grant an application" }
                        label for="grant-client" { "Application" }
                        select #grant-client name="client_id" {
                            @for a in &ungranted { option value=(a.client_id) { (a.name) } }
                        }
                        @for sc in &rs.scopes { (check("scope", &sc.value, &sc.value, false, None, false)) }
                        div.actions { button.secondary type="submit" { "Grant" } }
                    }
                }
            }
            @if !rs.is_system { (forms::delete_link("API", &href(rs))) }
        },
    );
    *r.status_mut() = status;
    r
}

/// `POST /console/apis/{id}`.
pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let rs = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let v = Fields::read(&form);
    let result = match v.body() {
        Ok(body) => manage::resource_servers::update(&s, &rs.id, &Value::Object(body))
            .await
            .map_err(|e| (forms::api_message(&e), e.status)),
        Err(m) => Err((m, StatusCode::BAD_REQUEST)),
    };
    match result {
        Ok(updated) => {
            audit_change(
                &s,
                &op,
                "API saved",
                json!({"id": updated.id, "identifier": updated.identifier}),
            )
            .await;
            see_other(&format!("{}?done=saved", href(&updated)), Vec::new())
        }
        Err((m, status)) => edit_page(&s, &op, &rs, &v, None, Some(&m), status).await,
    }
}

/// `POST /console/apis/{id}/grants`.
pub async fn grant(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let rs = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let body = json!({
        "client_id": form.get("client_id").unwrap_or_default(),
        "audience": rs.identifier,
        "scope": form.all("scope"),
    });
    match manage::client_grants::create(&s, &body).await {
        Ok(g) => {
            audit_change(&s, &op, "client grant created", json!({"id": g.id, "client_id": g.client_id, "audience": g.audience, "scope": g.scope})).await;
            see_other(&format!("{}?done=grant-saved", href(&rs)), Vec::new())
        }
        Err(e) => {
            edit_page(
                &s,
                &op,
                &rs,
                &Fields::of(&rs),
                None,
                Some(&forms::api_message(&e)),
                e.status,
            )
            .await
        }
    }
}

/// `POST /console/apis/{id}/grants/{grant}`: save its scopes or revoke it.
pub async fn change_grant(
    State(s): State<AppState>,
    Path((id, grant)): Path<(String, String)>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let rs = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    // Only a grant of this API is changed from its page.
    let g = match s.store.get_client_grant(s.tid(), &grant).await {
        Ok(Some(g)) if g.audience == rs.identifier => g,
        Ok(_) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such grant",
                "The grant does not exist.",
            );
        }
        Err(e) => return oops("client grant", &e),
    };
    if form.get("action") == Some("delete") {
        if let Err(e) = manage::client_grants::delete(&s, &g.id).await {
            return problem(
                e.status,
                "Could not revoke the grant",
                &forms::api_message(&e),
            );
        }
        audit_change(
            &s,
            &op,
            "client grant deleted",
            json!({"id": g.id, "client_id": g.client_id, "audience": g.audience}),
        )
        .await;
        return see_other(&format!("{}?done=grant-deleted", href(&rs)), Vec::new());
    }
    let scope = form.all(&format!("scope-{}", g.id));
    match manage::client_grants::update(&s, &g.id, &json!({"scope": scope})).await {
        Ok(g) => {
            audit_change(&s, &op, "client grant saved", json!({"id": g.id, "client_id": g.client_id, "audience": g.audience, "scope": g.scope})).await;
            see_other(&format!("{}?done=grant-saved", href(&rs)), Vec::new())
        }
        Err(e) => {
            edit_page(
                &s,
                &op,
                &rs,
                &Fields::of(&rs),
                None,
                Some(&forms::api_message(&e)),
                e.status,
            )
            .await
        }
    }
}
