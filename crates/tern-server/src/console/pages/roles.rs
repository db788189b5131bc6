//! Roles (Auth0's RBAC): the list — filtered by name as `GET /roles`'s
//! `name_filter`, paged —, creating one, and a role's page with its three
//! tabs: settings (name and description, here), permissions and users
//! (`role_tabs`). Its deletion is confirmed in `deletes`. Every change
//! calls `manage::roles`, the code behind `/api/v2/roles`, and is logged
//! with the operator as actor.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use tern_core::roles::Role;

use super::connections::{found, oops};
use super::role_tabs;
use crate::console::forms::{self, Done, alert, csrf_field, note, tabs};
use crate::console::layout::{Section, page};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit_change, see_other};
use crate::manage::roles as service;
use crate::state::AppState;

/// Roles per page of the list.
pub const PAGE_SIZE: usize = 50;

/// The routes of the roles' pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/roles", get(list).post(create))
        .route("/console/roles/new", get(new))
        .route("/console/roles/{id}", get(show).post(save))
        .route(
            "/console/roles/{id}/permissions",
            get(role_tabs::permissions).post(role_tabs::add_permission),
        )
        .route(
            "/console/roles/{id}/permissions/remove",
            post(role_tabs::remove_permission),
        )
        .route(
            "/console/roles/{id}/users",
            get(role_tabs::users).post(role_tabs::add_users),
        )
        .route(
            "/console/roles/{id}/users/remove",
            post(role_tabs::remove_user),
        )
}

/// A role's console page.
pub fn role_url(id: &str) -> String {
    format!("/console/roles/{}", urlencoding::encode(id))
}

/// The tenant's role `id`, or the page that says why not.
pub async fn load(s: &AppState, id: &str) -> Result<Role, Response> {
    found("role", s.store.get_role(s.tid(), id).await)
}

/// A page number from the query: anything but a whole number is the first.
pub fn page_number(text: Option<&str>) -> usize {
    text.and_then(|p| p.trim().parse().ok()).unwrap_or(0)
}

/// Links to the previous and next pages of a list at `base` (which
/// already carries its other query parameters after `?`).
pub fn pager(base: &str, page: usize, more: bool) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        @if page > 0 || more {
            nav.actions aria-label="Pages" {
                @if page > 0 { a rel="prev" href=(format!("{base}{sep}page={}", page - 1)) { "← Previous page" } }
                span { "Page " (page + 1) }
                @if more { a rel="next" href=(format!("{base}{sep}page={}", page + 1)) { "Next page →" } }
            }
        }
    }
}

/// `?name_filter=&page=&done=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    name_filter: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

/// `GET /console/roles`.
pub async fn list(State(s): State<AppState>, op: Operator, Query(q): Query<ListQuery>) -> Response {
    let filter = q.name_filter.as_deref().map(str::trim).unwrap_or("");
    let roles = match s
        .store
        .list_roles(s.tid(), (!filter.is_empty()).then_some(filter))
        .await
    {
        Ok(r) => r,
        Err(e) => return oops("roles", &e),
    };
    let page_no = page_number(q.page.as_deref());
    let shown: Vec<&Role> = roles
        .iter()
        .skip(page_no.saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE)
        .collect();
    // One statement for the page's counts, not one per role.
    let ids: Vec<String> = shown.iter().map(|r| r.id.clone()).collect();
    let counts = match s.store.count_role_permissions(s.tid(), &ids).await {
        Ok(c) => c,
        Err(e) => return oops("role permissions", &e),
    };
    let rows: Vec<Markup> = shown
        .iter()
        .map(|r| {
            html! { tr {
                td { a href=(role_url(&r.id)) { (r.name) } }
                td { (r.description) }
                td.num { (counts.get(&r.id).copied().unwrap_or(0)) }
            } }
        })
        .collect();
    let more = roles.len() > page_no.saturating_mul(PAGE_SIZE) + shown.len();
    let base = format!("/console/roles?name_filter={}", urlencoding::encode(filter));
    page(
        &op,
        Section::Roles,
        "Roles",
        html! {
            div.head { h1 { "Roles" } a.button href="/console/roles/new" { "Create a role" } }
            (note(Done::from_code(q.done.as_deref()).message()))
            form method="get" action="/console/roles" role="search" {
                label for="name_filter" { "Name contains" }
                input #name_filter type="text" name="name_filter" value=(filter);
                button type="submit" { "Filter" }
            }
            @if rows.is_empty() {
                p.empty { @if filter.is_empty() { "No role yet." } @else { "No role's name contains this." } }
            } @else {
                p.hint { (roles.len()) " role(s)" }
                div.table-wrap { table #roles {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th.num scope="col" { "Permissions" } } }
                    tbody { @for r in &rows { (r) } }
                } }
            }
            (pager(&base, page_no, more))
        },
    )
}

fn role_fields(name: &str, description: &str) -> Markup {
    html! {
        (forms::text("name", "Name", name, Some("Unique in the tenant.")))
        (forms::area("description", "Description", description, false, None))
    }
}

/// What the operator typed, as a role body.
fn body_of(form: &crate::routes::universal_login::FormFields) -> (String, String, Value) {
    let name = form.get("name").unwrap_or_default().trim().to_string();
    let description = form
        .get("description")
        .unwrap_or_default()
        .trim()
        .to_string();
    let body = json!({"name": name, "description": description});
    (name, description, body)
}

/// `GET /console/roles/new`.
pub async fn new(op: Operator) -> Response {
    new_page(&op, "", "", None, StatusCode::OK)
}

fn new_page(
    op: &Operator,
    name: &str,
    description: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut r = page(
        op,
        Section::Roles,
        "Create a role",
        html! {
            p.crumbs { a href="/console/roles" { "← Roles" } }
            h1 { "Create a role" }
            (alert(error))
            form method="post" action="/console/roles" {
                (csrf_field(op))
                (role_fields(name, description))
                div.actions { button type="submit" { "Create the role" } }
            }
        },
    );
    *r.status_mut() = status;
    r
}

/// `POST /console/roles` (as `POST /roles`).
pub async fn create(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let (name, description, body) = body_of(&form);
    match service::create(&s, &body).await {
        Ok(role) => {
            audit_change(
                &s,
                &op,
                "role created",
                json!({"id": role.id, "name": role.name}),
            )
            .await;
            see_other(&format!("{}?done=created", role_url(&role.id)), Vec::new())
        }
        Err(e) => new_page(
            &op,
            &name,
            &description,
            Some(&forms::api_message(&e)),
            e.status,
        ),
    }
}

/// The tabs of a role's page; `current` is the path's last part.
pub fn role_tabs_bar(role: &Role, current: &str) -> Markup {
    let base = role_url(&role.id);
    tabs(
        "Role",
        &[
            (base.clone(), "Settings", current.is_empty()),
            (
                format!("{base}/permissions"),
                "Permissions",
                current == "permissions",
            ),
            (format!("{base}/users"), "Users", current == "users"),
        ],
        false,
    )
}

/// What a role's page says about the change that led to it.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// The confirmation of a change made.
    pub saved: Option<&'a str>,
    /// Why a change was refused.
    pub error: Option<&'a str>,
    /// The page's status.
    pub status: StatusCode,
}

impl<'a> Outcome<'a> {
    /// A page shown (after a change, its confirmation).
    pub fn shown(saved: Option<&'a str>) -> Self {
        Self {
            saved,
            error: None,
            status: StatusCode::OK,
        }
    }

    /// A page shown again with why the change was refused.
    pub fn refused(error: &'a str, status: StatusCode) -> Self {
        Self {
            saved: None,
            error: Some(error),
            status,
        }
    }
}

/// A role's page: its heading, tabs, outcome and `content`.
pub fn role_page(
    op: &Operator,
    role: &Role,
    tab: &str,
    outcome: Outcome<'_>,
    content: Markup,
) -> Response {
    let mut r = page(
        op,
        Section::Roles,
        &role.name,
        html! {
            p.crumbs { a href="/console/roles" { "← Roles" } }
            h1 { (role.name) }
            (role_tabs_bar(role, tab))
            (note(outcome.saved))
            (alert(outcome.error))
            (content)
        },
    );
    *r.status_mut() = outcome.status;
    r
}

fn settings(op: &Operator, role: &Role, name: &str, description: &str) -> Markup {
    html! {
        p.text { "Id " code { (role.id) } "." }
        form method="post" action=(role_url(&role.id)) {
            (csrf_field(op))
            (role_fields(name, description))
            div.actions { button type="submit" { "Save the role" } }
        }
        (forms::delete_link("role", &role_url(&role.id)))
    }
}

/// `GET /console/roles/{id}`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let role = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let content = settings(&op, &role, &role.name, &role.description);
    role_page(&op, &role, "", Outcome::shown(done.message()), content)
}

/// `POST /console/roles/{id}` (as `PATCH /roles/{id}`).
pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let role = match load(&s, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (name, description, body) = body_of(&form);
    match service::update(&s, &role.id, &body).await {
        Ok(saved) => {
            audit_change(
                &s,
                &op,
                "role saved",
                json!({"id": saved.id, "name": saved.name}),
            )
            .await;
            see_other(&format!("{}?done=saved", role_url(&saved.id)), Vec::new())
        }
        Err(e) => {
            let content = settings(&op, &role, &name, &description);
            let m = forms::api_message(&e);
            role_page(&op, &role, "", Outcome::refused(&m, e.status), content)
        }
    }
}
