//! Users: search with the Management API's `q` syntax (the same parser and
//! store search as `GET /api/v2/users`), a user's page (identities,
//! metadata, how and when they arrived, credential scheme — never the hash
//! —, last login, brute-force blocks, MFA enrolments), and lifting a user's
//! brute-force blocks (`brute_force::lift`, as `DELETE /user-blocks/{id}`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tern_core::model::{LogEvent, User};
use tern_core::search;
use tern_core::store::{BlocksOf, UserSearch};

use crate::brute_force;
use crate::console::layout::{Section, page, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit, csrf, see_other};
use crate::state::AppState;

const PAGE_SIZE: u64 = 50;

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

fn oops(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console {what} failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The users could not be read; try again.",
    )
}

/// The credential's hash scheme, named by `tern-hash`.
pub fn scheme(u: &User) -> &'static str {
    match u.credential.as_deref() {
        None => "none yet",
        Some(c) => tern_hash::StoredHash::parse(c).map_or("unreadable", |h| h.scheme().name()),
    }
}

/// `GET /console/users?q=`.
pub async fn list(
    State(s): State<AppState>,
    op: Operator,
    Query(q): Query<SearchQuery>,
) -> Response {
    let text = q.q.unwrap_or_default().trim().to_string();
    let (query, error) = if text.is_empty() {
        (None, None)
    } else {
        match search::parse_query(&text) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    let found = if error.is_some() {
        None
    } else {
        let search = UserSearch {
            query,
            sort: None,
            offset: 0,
            limit: PAGE_SIZE,
            total_up_to: Some(s.config.search_window),
        };
        match s.store.search_users(s.tid(), &search).await {
            Ok(p) => Some(p),
            Err(e) => return oops("user search", &e),
        }
    };
    page(
        &op,
        Section::Users,
        "Users",
        html! {
            h1 { "Users" }
            form method="get" action="/console/users" role="search" {
                label for="q" { "Search" }
                input #q type="text" name="q" value=(text) aria-describedby="q-hint";
                p.hint #q-hint {
                    "The Management API's query syntax, e.g. "
                    code { "email:\"ada@example.com\"" } ", " code { "email:*@example.com" } ", "
                    code { "identities.connection:\"legacy-db\"" } ", " code { "blocked:true" } "."
                }
                button type="submit" { "Search" }
            }
            @if let Some(e) = &error { p.alert role="alert" { "The query is not valid: " (e) } }
            @if let Some(p) = &found {
                h2 { (p.total) " user(s)" @if p.total > PAGE_SIZE { ", the first " (PAGE_SIZE) " shown" } }
                @if p.users.is_empty() {
                    p.empty { "No user matches." }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th scope="col" { "User" } th scope="col" { "Connection" } th scope="col" { "Arrived" } th scope="col" { "Last login" } } }
                        tbody { @for u in &p.users { tr {
                            td { a href=(format!("/console/users/{}", urlencoding::encode(&u.user_id))) { (u.email.as_deref().or(u.username.as_deref()).unwrap_or(&u.user_id)) } }
                            td { (u.connection_name) }
                            td { (u.source.as_str()) }
                            td { (u.last_login.as_deref().unwrap_or("never")) }
                        } } }
                    } }
                }
            }
        },
    )
}

fn row(label: &str, value: Markup) -> Markup {
    html! { tr { th scope="row" { (label) } td { (value) } } }
}

/// `GET /console/users/{id}`.
pub async fn show(State(s): State<AppState>, op: Operator, Path(id): Path<String>) -> Response {
    let user = match s.store.get_user(s.tid(), &id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such user",
                "The user does not exist.",
            );
        }
        Err(e) => return oops("user page", &e),
    };
    let blocks = match brute_force::blocks(&s, BlocksOf::User(&user.user_id)).await {
        Ok(b) => b,
        Err(e) => return oops("user blocks", &e),
    };
    let json =
        |m: &tern_core::model::JsonObject| serde_json::to_string_pretty(m).unwrap_or_default();
    let title = user.email.clone().unwrap_or_else(|| user.user_id.clone());
    page(
        &op,
        Section::Users,
        &title,
        html! {
            p { a href="/console/users" { "← Users" } }
            h1 { (title) }
            div.table-wrap { table {
                tbody {
                    (row("User id", html! { code { (user.user_id) } }))
                    (row("Identity", html! { (user.connection_name) " · " code { (user.local_id()) } }))
                    (row("Email", html! { (user.email.as_deref().unwrap_or("—")) @if user.email_verified { " (verified)" } }))
                    (row("Username", html! { (user.username.as_deref().unwrap_or("—")) }))
                    (row("Arrived", html! { span #arrived { (user.source.as_str()) } " on " (user.created_at) }))
                    (row("Credential scheme", html! { span #scheme { (scheme(&user)) } }))
                    (row("Last login", html! { (user.last_login.as_deref().unwrap_or("never")) " · " (user.logins_count) " login(s)" }))
                    (row("Blocked", html! { @if user.blocked { "yes" } @else { "no" } }))
                    (row("MFA enrolments", html! {
                        @if user.mfa_factors.is_empty() { "none" } @else {
                            @for f in &user.mfa_factors { (f.get("type").and_then(|t| t.as_str()).unwrap_or("factor")) " " }
                        }
                    }))
                }
            } }
            h2 { "Brute-force blocks" }
            @if blocks.is_empty() {
                p.empty { "No login is blocked." }
            } @else {
                ul { @for b in &blocks { li { (b.identifier) @if let Some(ip) = &b.ip { " from " (ip) } } } }
                form method="post" action=(format!("/console/users/{}/unblock-logins", urlencoding::encode(&user.user_id))) {
                    input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                    button type="submit" { "Lift the blocks" }
                }
            }
            h2 { "User metadata" }
            pre { (json(&user.user_metadata)) }
            h2 { "App metadata" }
            pre { (json(&user.app_metadata)) }
        },
    )
}

/// `POST /console/users/{id}/unblock-logins`.
pub async fn unblock_logins(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    match s.store.get_user(s.tid(), &id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                "No such user",
                "The user does not exist.",
            );
        }
        Err(e) => return oops("unblock", &e),
    }
    let lifted = match brute_force::lift(&s, BlocksOf::User(&id)).await {
        Ok(n) => n,
        Err(e) => return oops("unblock", &e),
    };
    let mut ev = LogEvent::new("sapi", "Console: brute-force blocks lifted");
    ev.user_id = Some(id.clone());
    ev.details = Some(serde_json::json!({"lifted": lifted}));
    audit(&s, &op, ev).await;
    see_other(
        &format!("/console/users/{}", urlencoding::encode(&id)),
        Vec::new(),
    )
}
