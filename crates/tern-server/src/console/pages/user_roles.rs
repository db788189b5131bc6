//! The user page's roles and permissions (Auth0's RBAC): the roles the
//! user holds, assigning one of the tenant's roles and taking one away,
//! and every permission they hold with where it comes from — given
//! directly (which can be taken here) or through which roles. Changes go
//! through `manage::roles`, as `/api/v2/users/{id}/roles` and
//! `…/permissions` do, and are logged with the operator as actor.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use maud::{Markup, html};
use serde_json::json;
use tern_core::CoreResult;
use tern_core::model::{ResourceServer, User};
use tern_core::roles::{HeldPermission, Permission, PermissionSource, Role};

use super::role_tabs::{api_name, option_value, parse_option, row_action};
use super::roles::role_url;
use super::users::{log_action, refused, user_url};
use crate::console::forms::csrf_field;
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::console_app::Changer;
use crate::error::ApiError;
use crate::manage::roles::{self as service, Change};
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

/// The roles and permissions sections of the user's page.
pub fn sections(op: &Operator, user: &User, r: &UserRbac) -> Markup {
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

/// After a change: logged with what it named and back to the user's page
/// with its notice, or the page saying why it was refused.
async fn after<T: serde::Serialize>(
    s: &AppState,
    op: &Operator,
    result: Result<(User, Vec<T>), ApiError>,
    (key, what, done): (&str, &str, &str),
) -> Response {
    match result {
        Ok((user, changed)) => {
            let details = json!({ key: changed });
            log_action(s, op, &user, what, Some(details)).await;
            let page = user_url(&user.user_id);
            see_other(&format!("{page}?done={done}"), Vec::new())
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
    let body = json!({"roles": [form.get("role_id").unwrap_or_default()]});
    let result = service::change_user_roles(&s, &id, &body, Changer::Console, Change::Give).await;
    let what = ("roles", "Console: user role assigned", "role-assigned");
    after(&s, &op, result, what).await
}

/// `POST /console/users/{id}/roles/remove` (as `DELETE /users/{id}/roles`).
pub async fn unassign(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let body = json!({"roles": [form.get("role_id").unwrap_or_default()]});
    let result = service::change_user_roles(&s, &id, &body, Changer::Console, Change::Take).await;
    let what = ("roles", "Console: user role removed", "role-removed");
    after(&s, &op, result, what).await
}

/// `POST /console/users/{id}/permissions/remove` (as `DELETE
/// /users/{id}/permissions`): a permission given directly.
pub async fn remove_permission(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let permissions: Vec<Permission> = form
        .get("permission")
        .and_then(parse_option)
        .into_iter()
        .collect();
    let body = json!({ "permissions": permissions });
    let result =
        service::change_user_permissions(&s, &id, &body, Changer::Console, Change::Take).await;
    let what = (
        "permissions",
        "Console: user permission removed",
        "permission-removed",
    );
    after(&s, &op, result, what).await
}
