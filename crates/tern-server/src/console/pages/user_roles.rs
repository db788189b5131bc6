//! The user page's roles and permissions (Auth0's RBAC): the roles the
//! user holds, assigning one of the tenant's roles and taking one away,
//! and every permission they hold with where it comes from — given
//! directly (which can be taken here) or through which roles. Changes go
//! through `manage::roles`, as `/api/v2/users/{id}/roles` and
//! `…/permissions` do, and are logged with the operator as actor. A form
//! refused (tampered, stale, or refused by the shared rules) is answered
//! with the user's page, the reason in the section the form belongs to.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use maud::{Markup, html};
use serde_json::json;
use tern_core::CoreResult;
use tern_core::model::{ResourceServer, User};
use tern_core::roles::{HeldPermission, Permission, PermissionSource, Role};

use super::role_tabs::{api_name, option_value, parse_option, row_action};
use super::roles::role_url;
use super::user_details::MetadataEditor;
use super::users::{find_user, log_action, refused, user_page, user_url};
use crate::console::forms::{self, alert, csrf_field};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::console_app::Changer;
use crate::error::ApiError;
use crate::manage::roles::{self as service, Change::Give, Change::Take};
use crate::state::AppState;

/// The routes of the user page's RBAC forms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/users/{id}/roles", post(assign))
        .route("/console/users/{id}/roles/remove", post(unassign))
        .route(
            "/console/users/{id}/permissions/remove",
            post(remove_permission),
        )
}

/// Why a form of the roles or permissions section was refused: shown in
/// that section of the user's page.
#[derive(Debug)]
pub enum Refusal {
    /// A role assignment or removal.
    Roles(String),
    /// A direct permission's removal.
    Permissions(String),
}

/// What the section shows of a user.
pub struct UserRbac {
    held_roles: Vec<Role>,
    tenant_roles: Vec<Role>,
    permissions: Vec<HeldPermission>,
    apis: Vec<ResourceServer>,
}

/// Read the user's roles and permissions, the tenant's roles and APIs.
pub async fn load(s: &AppState, user_id: &str) -> CoreResult<UserRbac> {
    Ok(UserRbac {
        held_roles: s.store.list_user_roles(s.tid(), user_id).await?,
        tenant_roles: s.store.list_roles(s.tid(), None).await?,
        permissions: s.store.list_user_permissions(s.tid(), user_id).await?,
        apis: s.store.list_resource_servers(s.tid()).await?,
    })
}

/// The roles and permissions sections of the user's page, with why a form
/// of theirs was refused.
pub fn sections(op: &Operator, user: &User, r: &UserRbac, refusal: Option<&Refusal>) -> Markup {
    let (roles_refused, permissions_refused) = match refusal {
        Some(Refusal::Roles(m)) => (Some(m.as_str()), None),
        Some(Refusal::Permissions(m)) => (None, Some(m.as_str())),
        None => (None, None),
    };
    let base = user_url(&user.user_id);
    let assignable: Vec<&Role> = r
        .tenant_roles
        .iter()
        .filter(|t| !r.held_roles.iter().any(|h| h.id == t.id))
        .collect();
    // Each permission once, with every way it is held.
    let mut by_permission: BTreeMap<&Permission, Vec<&PermissionSource>> = BTreeMap::new();
    for h in &r.permissions {
        by_permission
            .entry(&h.permission)
            .or_default()
            .push(&h.source);
    }
    html! {
        h2 #roles-heading { "Roles" }
        (alert(roles_refused))
        @if r.held_roles.is_empty() {
            p.empty { "The user holds no role." }
        } @else {
            div.table-wrap { table #user-roles aria-labelledby="roles-heading" {
                thead { tr { th scope="col" { "Role" } th scope="col" { "Description" } th scope="col" { span.visually-hidden { "Remove" } } } }
                tbody { @for role in &r.held_roles { tr {
                    td { a href=(role_url(&role.id)) { (role.name) } }
                    td { (role.description) }
                    td { (row_action(op, &format!("{base}/roles/remove"), &[("role_id", &role.id)],
                        html! { "Remove " span.visually-hidden { (role.name) } })) }
                } } }
            } }
        }
        @if assignable.is_empty() {
            p.hint { @if r.tenant_roles.is_empty() { "The tenant has no role yet: " a href="/console/roles/new" { "create one" } "." } @else { "The user holds every role of the tenant." } }
        } @else {
            form method="post" action=(format!("{base}/roles")) {
                (csrf_field(op))
                label for="assign-role" { "Assign a role" }
                select #assign-role name="role_id" {
                    @for role in &assignable { option value=(role.id) { (role.name) } }
                }
                div.actions { button.secondary type="submit" { "Assign the role" } }
            }
        }
        h2 #permissions-heading { "Permissions" }
        (alert(permissions_refused))
        p.hint { "Every permission the user holds, given directly or through their roles. A permission given through a role is taken by removing the role." }
        @if by_permission.is_empty() {
            p.empty { "The user holds no permission." }
        } @else {
            div.table-wrap { table #user-permissions aria-labelledby="permissions-heading" {
                thead { tr { th scope="col" { "API" } th scope="col" { "Permission" } th scope="col" { "Given" } th scope="col" { span.visually-hidden { "Remove" } } } }
                tbody { @for (p, sources) in &by_permission { tr {
                    td { (api_name(&r.apis, &p.resource_server_identifier)) }
                    td { code { (p.permission_name) } }
                    td { ul { @for src in sources { li { (source(src)) } } } }
                    td { @if sources.iter().any(|s| matches!(s, PermissionSource::Direct)) {
                        (row_action(op, &format!("{base}/permissions/remove"), &[("permission", &option_value(p))],
                            html! { "Remove the direct permission " span.visually-hidden { (p.permission_name) } }))
                    } }
                } } }
            } }
        }
    }
}

fn source(s: &PermissionSource) -> Markup {
    match s {
        PermissionSource::Direct => html! { "directly" },
        PermissionSource::Role { id, name } => {
            html! { "through the role " a href=(role_url(id)) { (name) } }
        }
    }
}

/// The user's page with `refusal` in its section, answered with `status`.
async fn refuse(
    s: &AppState,
    op: &Operator,
    id: &str,
    refusal: Refusal,
    status: StatusCode,
) -> Response {
    let user = match find_user(s, id, "user roles").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let editor = MetadataEditor::stored(&user);
    user_page(s, op, &user, None, &editor, Some(&refusal), status).await
}

/// The role a form names: its `role_id`, present and not blank.
fn role_of(form: &crate::routes::universal_login::FormFields) -> Option<&str> {
    form.get("role_id").map(str::trim).filter(|r| !r.is_empty())
}

/// What a section's change did, and how to say it was refused.
struct FormChange<'a> {
    /// The key of the log's details naming what changed.
    key: &'a str,
    /// The log's description.
    what: &'a str,
    /// The user page's `?done=` code.
    done: &'a str,
    /// The section a refusal is shown in.
    refusal: fn(String) -> Refusal,
}

/// After a change: logged with what it named and back to the user's page
/// with its notice. Refused by the shared rules' checks of the form (400):
/// the user's page with the reason in the section; otherwise (no such
/// user, an operator's account) the page saying why.
async fn after<T: serde::Serialize>(
    s: &AppState,
    op: &Operator,
    id: &str,
    result: Result<(User, Vec<T>), ApiError>,
    change: FormChange<'_>,
) -> Response {
    match result {
        Ok((user, changed)) => {
            let details = json!({ change.key: changed });
            log_action(s, op, &user, change.what, Some(details)).await;
            let page = user_url(&user.user_id);
            see_other(&format!("{page}?done={}", change.done), Vec::new())
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let m = format!("Nothing was changed: {}", forms::api_message(&e));
            refuse(s, op, id, (change.refusal)(m), e.status).await
        }
        Err(e) => refused(&e),
    }
}

/// `POST /console/users/{id}/roles` (as `POST /users/{id}/roles`).
pub async fn assign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let Some(role) = role_of(&form) else {
        let m = "Nothing was changed: choose a role to assign.".to_string();
        return refuse(&s, &op, &id, Refusal::Roles(m), StatusCode::BAD_REQUEST).await;
    };
    let body = json!({ "roles": [role] });
    let result = service::change_user_roles(&s, &id, &body, Changer::Console, Give).await;
    let change = FormChange {
        key: "roles",
        what: "Console: user role assigned",
        done: "role-assigned",
        refusal: Refusal::Roles,
    };
    after(&s, &op, &id, result, change).await
}

/// `POST /console/users/{id}/roles/remove` (as `DELETE /users/{id}/roles`).
pub async fn unassign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let Some(role) = role_of(&form) else {
        let m = "Nothing was changed: the form names no role to remove.".to_string();
        return refuse(&s, &op, &id, Refusal::Roles(m), StatusCode::BAD_REQUEST).await;
    };
    let body = json!({ "roles": [role] });
    let result = service::change_user_roles(&s, &id, &body, Changer::Console, Take).await;
    let change = FormChange {
        key: "roles",
        what: "Console: user role removed",
        done: "role-removed",
        refusal: Refusal::Roles,
    };
    after(&s, &op, &id, result, change).await
}

/// `POST /console/users/{id}/permissions/remove` (as `DELETE
/// /users/{id}/permissions`): a permission given directly.
pub async fn remove_permission(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let Some(permission) = form.get("permission").and_then(parse_option) else {
        let m = "Nothing was changed: the form names no permission to remove.".to_string();
        let refusal = Refusal::Permissions(m);
        return refuse(&s, &op, &id, refusal, StatusCode::BAD_REQUEST).await;
    };
    let body = json!({ "permissions": [permission] });
    let result = service::change_user_permissions(&s, &id, &body, Changer::Console, Take).await;
    let change = FormChange {
        key: "permissions",
        what: "Console: user permission removed",
        done: "permission-removed",
        refusal: Refusal::Permissions,
    };
    after(&s, &op, &id, result, change).await
}
