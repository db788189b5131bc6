//! A role's permissions and users tabs. A permission is added by choosing
//! one scope an API defines (the Management API's own are not offered,
//! and `manage::roles` refuses them anyway); users are added by user id or
//! by email — an email names every user of the tenant with it, in any
//! connection — and an entry naming nobody refuses the whole addition.
//! Changes go through `manage::roles`, as `/api/v2/roles/{id}/…` do.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use tern_core::model::ResourceServer;
use tern_core::roles::{Permission, Role};
use tern_core::user_profile::normalize_email;

use super::connections::oops;
use super::roles::{Outcome, load, page_number, pager, role_page, role_url};
use crate::console::audit_change;
use crate::console::forms::{self, Done, csrf_field};
use crate::console::see_other;
use crate::console::session::{Operator, OperatorForm};
use crate::console_app::Changer;
use crate::manage::roles::{self as service, Change};
use crate::state::AppState;

/// Members per page of the users tab.
const MEMBERS_PAGE: u64 = 50;

/// A permission as a form's option value: its API's identifier and the
/// scope, as a JSON pair (an identifier is any text).
pub(super) fn option_value(p: &Permission) -> String {
    json!([p.resource_server_identifier, p.permission_name]).to_string()
}

pub(super) fn parse_option(v: &str) -> Option<Permission> {
    let (api, scope): (String, String) = serde_json::from_str(v).ok()?;
    Some(Permission {
        resource_server_identifier: api,
        permission_name: scope,
    })
}

/// The API named by `identifier`, for its display name.
pub(super) fn api_name<'a>(apis: &'a [ResourceServer], identifier: &'a str) -> &'a str {
    apis.iter()
        .find(|a| a.identifier == identifier)
        .map_or(identifier, |a| a.name.as_str())
}

/// A form posting to `action` with hidden `fields` and one button.
pub(super) fn row_action(
    op: &Operator,
    action: &str,
    fields: &[(&str, &str)],
    label: Markup,
) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(op))
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            button.secondary.inline type="submit" { (label) }
        }
    }
}

async fn permissions_page(
    s: &AppState,
    op: &Operator,
    role: &Role,
    outcome: Outcome<'_>,
) -> Response {
    let (held, apis) = match (
        s.store.list_role_permissions(s.tid(), &role.id).await,
        s.store.list_resource_servers(s.tid()).await,
    ) {
        (Ok(h), Ok(a)) => (h, a),
        (Err(e), _) | (_, Err(e)) => return oops("role permissions", &e),
    };
    // The scopes the role could be given: every one a user-facing API
    // defines that the role lacks.
    let offered: Vec<(&ResourceServer, Vec<Permission>)> = apis
        .iter()
        .filter(|a| !a.is_system)
        .map(|a| {
            let ps = a
                .scopes
                .iter()
                .map(|sc| Permission {
                    resource_server_identifier: a.identifier.clone(),
                    permission_name: sc.value.clone(),
                })
                .filter(|p| !held.contains(p))
                .collect::<Vec<_>>();
            (a, ps)
        })
        .filter(|(_, ps)| !ps.is_empty())
        .collect();
    let remove = format!("{}/permissions/remove", role_url(&role.id));
    let content = html! {
        h2 #permissions-heading { "Permissions" }
        @if held.is_empty() {
            p.empty { "The role gives no permission yet." }
        } @else {
            div.table-wrap { table #permissions aria-labelledby="permissions-heading" {
                thead { tr { th scope="col" { "API" } th scope="col" { "Permission" } th scope="col" { span.visually-hidden { "Remove" } } } }
                tbody { @for p in &held { tr {
                    td { (api_name(&apis, &p.resource_server_identifier)) br; code { (p.resource_server_identifier) } }
                    td { code { (p.permission_name) } }
                    td { (row_action(op, &remove, &[("permission", &option_value(p))],
                        html! { "Remove " span.visually-hidden { (p.permission_name) } })) }
                } } }
            } }
        }
        form method="post" action=(format!("{}/permissions", role_url(&role.id))) {
            (csrf_field(op))
            fieldset {
                legend { "Add a permission" }
                @if offered.is_empty() {
                    p.hint { "No API defines a scope the role lacks: add scopes on an API's page first ("
                        a href="/console/apis" { "APIs" } ")." }
                } @else {
                    label for="permission" { "API and scope" }
                    select #permission name="permission" {
                        @for (a, ps) in &offered {
                            optgroup label=(a.name) {
                                @for p in ps { option value=(option_value(p)) { (a.name) ": " (p.permission_name) } }
                            }
                        }
                    }
                    div.actions { button type="submit" { "Add the permission" } }
                }
            }
        }
    };
    role_page(op, role, "permissions", outcome, content)
}

/// `GET /console/roles/{id}/permissions`.
pub async fn permissions(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let role = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    permissions_page(&s, &op, &role, Outcome::shown(done.message())).await
}

/// The permission a form names, as a body of `/roles/{id}/permissions`.
fn permission_body(form: &crate::routes::universal_login::FormFields) -> Result<Value, String> {
    let p = form
        .get("permission")
        .and_then(parse_option)
        .ok_or_else(|| "Choose an API's scope.".to_string())?;
    Ok(json!({"permissions": [p]}))
}

async fn change_permission(
    s: &AppState,
    op: &Operator,
    id: &str,
    form: &crate::routes::universal_login::FormFields,
    change: Change,
) -> Response {
    let role = match load(s, id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let result = match permission_body(form) {
        Ok(body) => service::change_role_permissions(s, &role.id, &body, change).await,
        Err(m) => {
            let outcome = Outcome::refused(&m, StatusCode::BAD_REQUEST);
            return permissions_page(s, op, &role, outcome).await;
        }
    };
    match result {
        Ok((role, given)) => {
            let (what, done) = if change == Change::Give {
                ("role permission added", "permission-added")
            } else {
                ("role permission removed", "permission-removed")
            };
            audit_change(
                s,
                op,
                what,
                json!({"id": role.id, "name": role.name, "permissions": given}),
            )
            .await;
            see_other(
                &format!("{}/permissions?done={done}", role_url(&role.id)),
                Vec::new(),
            )
        }
        Err(e) => {
            let m = format!("Nothing was changed: {}", forms::api_message(&e));
            permissions_page(s, op, &role, Outcome::refused(&m, e.status)).await
        }
    }
}

/// `POST /console/roles/{id}/permissions` (as `POST /roles/{id}/permissions`).
pub async fn add_permission(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    change_permission(&s, &op, &id, &form, Change::Give).await
}

/// `POST /console/roles/{id}/permissions/remove` (as `DELETE /roles/{id}/permissions`).
pub async fn remove_permission(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    change_permission(&s, &op, &id, &form, Change::Take).await
}

/// `?page=&done=`.
#[derive(Debug, Default, Deserialize)]
pub struct MembersQuery {
    page: Option<String>,
    done: Option<String>,
}

async fn users_page(
    s: &AppState,
    op: &Operator,
    role: &Role,
    page_no: usize,
    typed: &str,
    outcome: Outcome<'_>,
) -> Response {
    let skip = (page_no as u64).saturating_mul(MEMBERS_PAGE);
    // One more than a page says whether a next page exists.
    let (members, total) = match (
        s.store
            .list_role_members(s.tid(), &role.id, None, skip, MEMBERS_PAGE + 1)
            .await,
        s.store.count_role_members(s.tid(), &role.id).await,
    ) {
        (Ok(m), Ok(n)) => (m, n),
        (Err(e), _) | (_, Err(e)) => return oops("role members", &e),
    };
    let more = members.len() as u64 > MEMBERS_PAGE;
    let remove = format!("{}/users/remove", role_url(&role.id));
    let base = format!("{}/users", role_url(&role.id));
    let content = html! {
        h2 #members-heading { "Users" }
        p.hint { (total) " user(s) hold this role." }
        @if members.is_empty() {
            p.empty { "No user holds this role on this page." }
        } @else {
            div.table-wrap { table #members aria-labelledby="members-heading" {
                thead { tr { th scope="col" { "User" } th scope="col" { "User id" } th scope="col" { span.visually-hidden { "Remove" } } } }
                tbody { @for m in members.iter().take(MEMBERS_PAGE as usize) { tr {
                    td { a href=(format!("/console/users/{}", urlencoding::encode(&m.user_id))) {
                        (m.email.as_deref().or(m.name.as_deref()).unwrap_or(&m.user_id)) } }
                    td { code { (m.user_id) } }
                    td { (row_action(op, &remove, &[("user_id", &m.user_id)],
                        html! { "Remove " span.visually-hidden { (m.user_id) } })) }
                } } }
            } }
        }
        (pager(&base, page_no, more))
        form method="post" action=(base) {
            (csrf_field(op))
            fieldset {
                legend { "Add users" }
                (forms::area("users", "User ids or emails", typed, false,
                    Some("One per line (or separated by commas). An email adds every user of the tenant with it, in any connection.")))
                div.actions { button type="submit" { "Add the users" } }
            }
        }
    };
    role_page(op, role, "users", outcome, content)
}

/// `GET /console/roles/{id}/users?page=`.
pub async fn users(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<MembersQuery>,
) -> Response {
    let role = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let done = Done::from_code(q.done.as_deref());
    let page_no = page_number(q.page.as_deref());
    users_page(&s, &op, &role, page_no, "", Outcome::shown(done.message())).await
}

/// The user ids the typed entries name: each a user id, or else an email
/// naming every user of the tenant with it. `Err` lists the entries that
/// name nobody.
async fn resolve_users(
    s: &AppState,
    entries: &[String],
) -> Result<Result<Vec<String>, Vec<String>>, tern_core::CoreError> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for entry in entries {
        if let Some(u) = s.store.get_user(s.tid(), entry).await? {
            ids.push(u.user_id);
            continue;
        }
        let by_email = if entry.contains('@') {
            s.store
                .users_by_email(s.tid(), &normalize_email(entry))
                .await?
        } else {
            Vec::new()
        };
        if by_email.is_empty() {
            unknown.push(entry.clone());
        }
        ids.extend(by_email.into_iter().map(|u| u.user_id));
    }
    Ok(if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(unknown)
    })
}

/// `POST /console/roles/{id}/users` (as `POST /roles/{id}/users`): every
/// entry must name a user, or nothing is added.
pub async fn add_users(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let role = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let typed = form.get("users").unwrap_or_default().to_string();
    let entries = forms::lines(&typed);
    let refuse = async |m: String, status: StatusCode| {
        users_page(&s, &op, &role, 0, &typed, Outcome::refused(&m, status)).await
    };
    if entries.is_empty() {
        return refuse(
            "Type at least one user id or email.".into(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let ids = match resolve_users(&s, &entries).await {
        Ok(Ok(ids)) => ids,
        Ok(Err(unknown)) => {
            return refuse(
                format!(
                    "Nothing was added: no user of this tenant has the id or email {}.",
                    unknown.join(", ")
                ),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        Err(e) => return oops("user lookup", &e),
    };
    match service::add_members(&s, &role.id, &json!({"users": ids}), Changer::Console).await {
        Ok((role, added)) => {
            audit_change(
                &s,
                &op,
                "role users added",
                json!({"id": role.id, "name": role.name, "users": added}),
            )
            .await;
            see_other(
                &format!("{}/users?done=users-added", role_url(&role.id)),
                Vec::new(),
            )
        }
        Err(e) => {
            refuse(
                format!("Nothing was added: {}", forms::api_message(&e)),
                e.status,
            )
            .await
        }
    }
}

/// `POST /console/roles/{id}/users/remove` (as `DELETE /users/{user}/roles`).
pub async fn remove_user(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let role = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let user_id = form.get("user_id").unwrap_or_default();
    let body = json!({"roles": [role.id]});
    match service::change_user_roles(&s, user_id, &body, Changer::Console, Change::Take).await {
        Ok((user, _)) => {
            audit_change(
                &s,
                &op,
                "role user removed",
                json!({"id": role.id, "name": role.name, "user_id": user.user_id}),
            )
            .await;
            see_other(
                &format!("{}/users?done=user-removed", role_url(&role.id)),
                Vec::new(),
            )
        }
        Err(e) => {
            let m = format!("Nothing was changed: {}", forms::api_message(&e));
            users_page(&s, &op, &role, 0, "", Outcome::refused(&m, e.status)).await
        }
    }
}
