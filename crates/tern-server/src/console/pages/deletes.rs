//! Deleting a connection, an application, an API or a role: a confirmation page
//! (`confirm_page`, which the action pages use too)
//! that names what goes with it, then a posted form (CSRF token and a
//! ticked box) that calls the Management API's own `DELETE` service
//! (`manage`) and logs the change with the operator as actor. What those
//! services refuse — the operators' connection, the console application,
//! the Management API — the console refuses with their message.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::json;
use tern_core::model::LogEvent;

use super::connections::{found, load as load_connection, oops};
use crate::console::forms::csrf_field;
use crate::console::layout::{Section, page, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit, see_other};
use crate::error::ApiError;
use crate::manage;
use crate::state::AppState;

/// The routes of the three confirmations and deletions.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console/connections/{id}/delete",
            get(confirm_connection).post(delete_connection),
        )
        .route(
            "/console/applications/{id}/delete",
            get(confirm_application).post(delete_application),
        )
        .route(
            "/console/apis/{id}/delete",
            get(confirm_api).post(delete_api),
        )
        .route(
            "/console/roles/{id}/delete",
            get(confirm_role).post(delete_role),
        )
}

/// What a confirmation page shows.
pub struct Confirm<'a> {
    /// The navigation entry.
    pub section: Section,
    /// "connection", "application", "API", "role", "action".
    pub kind: &'a str,
    /// The thing's name.
    pub name: &'a str,
    /// Its page (the way back); the form posts to it + `/delete`.
    pub back: String,
    /// What is lost with it, one sentence per item.
    pub losses: Markup,
}

/// A deletion's confirmation: what is lost, a box to tick, the button.
pub fn confirm_page(op: &Operator, c: Confirm<'_>) -> Response {
    let title = format!("Delete the {} {}?", c.kind, c.name);
    page(
        op,
        c.section,
        &title,
        html! {
            p.crumbs { a href=(c.back) { "← " (c.name) } }
            h1 { (title) }
            h2 { "What is lost" }
            (c.losses)
            p.text { "This cannot be undone." }
            form method="post" action=(format!("{}/delete", c.back)) {
                (csrf_field(op))
                label.check { input type="checkbox" name="confirm" value="yes" required; "Yes, delete the " (c.kind) " " (c.name) }
                div.actions {
                    button.danger type="submit" { "Delete the " (c.kind) }
                    a href=(c.back) { "Cancel" }
                }
            }
        },
    )
}

/// The service refused: its message, on a page.
fn refused(e: &ApiError) -> Response {
    problem(e.status, "The deletion was refused", &e.message)
}

async fn log_deleted(s: &AppState, op: &Operator, what: &str, details: serde_json::Value) {
    let mut ev = LogEvent::new("sapi", format!("Console: {what} deleted"));
    if let Some(name) = details["connection"].as_str() {
        ev.connection = Some(name.to_string());
        ev.connection_id = details["connection_id"].as_str().map(str::to_string);
    }
    ev.details = Some(details);
    audit(s, op, ev).await;
}

fn connection_url(id: &str) -> String {
    format!("/console/connections/{}", urlencoding::encode(id))
}

fn application_url(id: &str) -> String {
    format!("/console/applications/{}", urlencoding::encode(id))
}

fn api_url(id: &str) -> String {
    format!("/console/apis/{}", urlencoding::encode(id))
}

/// `GET /console/connections/{id}/delete`.
pub async fn confirm_connection(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    let c = match load_connection(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let users = match s.store.count_connection_users(s.tid(), &c.id).await {
        Ok(n) => n,
        Err(e) => return oops("connection", &e),
    };
    let apps = match s.store.list_clients(s.tid()).await {
        Ok(v) => v,
        Err(e) => return oops("applications", &e),
    };
    let using: Vec<&str> = apps
        .iter()
        .filter(|a| c.enabled_clients.contains(&a.client_id))
        .map(|a| a.name.as_str())
        .collect();
    let losses = html! {
        ul {
            li #lost-users { strong { (users) } " user" @if users != 1 { "s" } " of this connection, deleted with it from Tern (their accounts, credentials and metadata)." }
            @if using.is_empty() {
                li #lost-apps { "No application uses it." }
            } @else {
                li #lost-apps { "Applications using it, whose users can no longer sign in through it: " strong { (using.join(", ")) } "." }
            }
            @if c.custom_database() {
                li { "Its scripts and configuration values. The legacy store itself is not touched." }
            }
        }
    };
    confirm_page(
        &op,
        Confirm {
            section: Section::Connections,
            kind: "connection",
            name: &c.name,
            back: connection_url(&c.id),
            losses,
        },
    )
}

/// `POST /console/connections/{id}/delete` (as `DELETE /connections/{id}`).
pub async fn delete_connection(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    if form.get("confirm") != Some("yes") {
        return see_other(&format!("{}/delete", connection_url(&id)), Vec::new());
    }
    // The operators' connection is not even found here; the service
    // refuses it too.
    let c = match load_connection(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let users = s
        .store
        .count_connection_users(s.tid(), &c.id)
        .await
        .unwrap_or(0);
    match manage::connections::delete(&s, &c.id).await {
        Ok(_) => {
            let details = json!({"connection": c.name, "connection_id": c.id, "users": users});
            log_deleted(&s, &op, "connection", details).await;
            see_other("/console/connections?done=deleted", Vec::new())
        }
        Err(e) => refused(&e),
    }
}

/// `GET /console/applications/{id}/delete`.
pub async fn confirm_application(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = crate::console_app::guard_client(&id) {
        return refused(&e);
    }
    let app = match found("application", s.store.get_client(s.tid(), &id).await) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (connections, grants) = match (
        s.store.list_connections(s.tid()).await,
        s.store.list_client_grants(s.tid()).await,
    ) {
        (Ok(c), Ok(g)) => (c, g),
        (Err(e), _) | (_, Err(e)) => return oops("application", &e),
    };
    let enabled: Vec<&str> = connections
        .iter()
        .filter(|c| c.enabled_clients.contains(&app.client_id))
        .map(|c| c.name.as_str())
        .collect();
    let audiences: Vec<&str> = grants
        .iter()
        .filter(|g| g.client_id == app.client_id)
        .map(|g| g.audience.as_str())
        .collect();
    let losses = html! {
        ul {
            li { "Its client id " code { (app.client_id) } " and secret: sign-ins and token requests with them stop." }
            @if enabled.is_empty() {
                li #lost-connections { "No connection is enabled for it." }
            } @else {
                li #lost-connections { "Connections enabled for it, which stay (with their users) without it: " strong { (enabled.join(", ")) } "." }
            }
            @if audiences.is_empty() {
                li #lost-grants { "It has no grant for an API." }
            } @else {
                li #lost-grants { "Its grants for these APIs: " strong { (audiences.join(", ")) } "." }
            }
        }
    };
    confirm_page(
        &op,
        Confirm {
            section: Section::Applications,
            kind: "application",
            name: &app.name,
            back: application_url(&app.client_id),
            losses,
        },
    )
}

/// `POST /console/applications/{id}/delete` (as `DELETE /clients/{id}`).
pub async fn delete_application(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    if form.get("confirm") != Some("yes") {
        return see_other(&format!("{}/delete", application_url(&id)), Vec::new());
    }
    let app = match found("application", s.store.get_client(s.tid(), &id).await) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match manage::clients::delete(&s, &app.client_id).await {
        Ok(_) => {
            let details = json!({"client_id": app.client_id, "name": app.name});
            log_deleted(&s, &op, "application", details).await;
            see_other("/console/applications?done=deleted", Vec::new())
        }
        Err(e) => refused(&e),
    }
}

/// `GET /console/apis/{id}/delete`.
pub async fn confirm_api(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    let rs = match found("API", s.store.get_resource_server(s.tid(), &id).await) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if rs.is_system {
        return refused(&ApiError::new(
            StatusCode::FORBIDDEN,
            "operation_not_supported",
            "The Management API cannot be deleted.",
        ));
    }
    let (apps, grants) = match (
        s.store.list_clients(s.tid()).await,
        s.store.list_client_grants(s.tid()).await,
    ) {
        (Ok(a), Ok(g)) => (a, g),
        (Err(e), _) | (_, Err(e)) => return oops("API", &e),
    };
    let granted: Vec<&str> = grants
        .iter()
        .filter(|g| g.audience == rs.identifier)
        .filter_map(|g| apps.iter().find(|a| a.client_id == g.client_id))
        .map(|a| a.name.as_str())
        .collect();
    let losses = html! {
        ul {
            li { "Its identifier " code { (rs.identifier) } " and its " (rs.scopes.len()) " scopes: no new token is issued for it (tokens already issued stay valid until they expire)." }
            @if granted.is_empty() {
                li #lost-grants { "No application has a grant for it." }
            } @else {
                li #lost-grants { "The grants of these applications, deleted with it: " strong { (granted.join(", ")) } "." }
            }
        }
    };
    confirm_page(
        &op,
        Confirm {
            section: Section::Apis,
            kind: "API",
            name: &rs.name,
            back: api_url(&rs.id),
            losses,
        },
    )
}

/// `POST /console/apis/{id}/delete` (as `DELETE /resource-servers/{id}`).
pub async fn delete_api(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    if form.get("confirm") != Some("yes") {
        return see_other(&format!("{}/delete", api_url(&id)), Vec::new());
    }
    let rs = match found("API", s.store.get_resource_server(s.tid(), &id).await) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match manage::resource_servers::delete(&s, &rs.id).await {
        Ok(_) => {
            let details = json!({"id": rs.id, "name": rs.name, "identifier": rs.identifier});
            log_deleted(&s, &op, "API", details).await;
            see_other("/console/apis?done=deleted", Vec::new())
        }
        Err(e) => refused(&e),
    }
}

/// `GET /console/roles/{id}/delete`: names its users and permissions.
pub async fn confirm_role(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    let role = match found("role", s.store.get_role(s.tid(), &id).await) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (members, permissions) = match (
        s.store.count_role_members(s.tid(), &role.id).await,
        s.store.list_role_permissions(s.tid(), &role.id).await,
    ) {
        (Ok(m), Ok(p)) => (m, p),
        (Err(e), _) | (_, Err(e)) => return oops("role", &e),
    };
    let names: Vec<&str> = permissions
        .iter()
        .map(|p| p.permission_name.as_str())
        .collect();
    let losses = html! {
        ul {
            li #lost-members { strong { (members) } " user" @if members != 1 { "s" } " lose the role, and the permissions it gave them (their tokens carry them until they expire or are refreshed)." }
            @if names.is_empty() {
                li #lost-permissions { "It gives no permission." }
            } @else {
                li #lost-permissions { "Its " (names.len()) " permission(s): " strong { (names.join(", ")) } "." }
            }
        }
    };
    confirm_page(
        &op,
        Confirm {
            section: Section::Roles,
            kind: "role",
            name: &role.name,
            back: super::roles::role_url(&role.id),
            losses,
        },
    )
}

/// `POST /console/roles/{id}/delete` (as `DELETE /roles/{id}`).
pub async fn delete_role(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    if form.get("confirm") != Some("yes") {
        return see_other(
            &format!("{}/delete", super::roles::role_url(&id)),
            Vec::new(),
        );
    }
    let role = match found("role", s.store.get_role(s.tid(), &id).await) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match manage::roles::delete(&s, &role.id).await {
        Ok(()) => {
            let details = json!({"id": role.id, "name": role.name});
            log_deleted(&s, &op, "role", details).await;
            see_other("/console/roles?done=deleted", Vec::new())
        }
        Err(e) => refused(&e),
    }
}
