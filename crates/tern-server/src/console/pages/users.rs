//! Users: search with the Management API's `q` syntax (the same parser and
//! store search as `GET /api/v2/users`), a user's page (identities,
//! metadata, how and when they arrived, credential scheme — never the hash
//! —, last login, brute-force blocks, MFA enrolments), and lifting a user's
//! brute-force blocks (`brute_force::lift`, as `DELETE /user-blocks/{id}`);
//! the user actions — block, unblock, delete — through `user_admin`, the
//! code behind `PATCH`/`DELETE /api/v2/users/{id}`, and a reset link mailed
//! through `reset::request_reset`, as `/dbconnections/change_password`.
//! The user page also shows the user's sessions and refresh tokens
//! (`user_access`) and their metadata, recent log events and raw JSON
//! (`user_details`), and their roles and permissions (`user_roles`), whose
//! actions live in those modules.
//! Every action is written to the tenant log with the operator as actor.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tern_core::model::{LogEvent, User};
use tern_core::search;
use tern_core::store::{BlocksOf, UserSearch};

use super::user_access;
use super::user_details::{self, MetadataEditor};
use super::user_roles;
use crate::brute_force;
use crate::console::layout::{Section, page, page_status, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{audit, csrf, see_other};
use crate::console_app::Changer;
use crate::reset::{self, ResetRequest};
use crate::state::AppState;
use crate::user_admin;

const PAGE_SIZE: u64 = 50;

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    done: Option<String>,
}

/// The 500 page of a failed read or write (the error goes to Tern's log only).
pub(super) fn oops(what: &str, e: &dyn std::fmt::Display) -> Response {
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
    let (query, mut error) = if text.is_empty() {
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
            // Set by `user_search::search` from `search.timeout_ms`.
            deadline: None,
        };
        match crate::user_search::search(&s, search).await {
            Ok(p) => Some(p),
            Err(crate::user_search::SearchFailure::Store(e)) => return oops("user search", &e),
            Err(crate::user_search::SearchFailure::TimedOut) => {
                error = Some(format!(
                    "The search took longer than {} ms; narrow it (an exact email or id, a prefix, a metadata value).",
                    s.config.search.timeout().as_millis()
                ));
                None
            }
        }
    };
    page(
        &op,
        Section::Users,
        "Users",
        html! {
            h1 { "Users" }
            @if let Some(n) = notice(q.done.as_deref()) { p.notice role="status" { (n) } }
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

/// `?done=` after an action: which notice the user page shows.
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// The notice of an action, by its fixed name (never text from the URL).
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "blocked" => {
            "The user is blocked: they cannot sign in, and their open reset links are closed."
        }
        "unblocked" => "The user is unblocked.",
        "reset" => "A reset link was mailed to the user.",
        "reset-throttled" => "A reset link was mailed less than a minute ago; no new one was sent.",
        "lifted" => "The brute-force blocks are lifted.",
        "deleted" => "The user was deleted.",
        "session-ended" => {
            "The session is ended, and the refresh tokens issued through it are revoked."
        }
        "sessions-ended" => {
            "Every session is ended, and the refresh tokens issued through them are revoked."
        }
        "token-revoked" => "The refresh token is revoked.",
        "tokens-revoked" => "Every refresh token of the user is revoked.",
        "metadata-saved" => "The metadata is saved.",
        "metadata-unchanged" => "The metadata was already as written; nothing changed.",
        "role-assigned" => "The role is assigned.",
        "role-removed" => "The role is taken from the user.",
        "permission-removed" => "The direct permission is removed.",
        _ => return None,
    })
}

/// The user's console page.
pub(super) fn user_url(id: &str) -> String {
    format!("/console/users/{}", urlencoding::encode(id))
}

fn action(op: &Operator, id: &str, what: &str, label: &str, class: Option<&str>) -> Markup {
    html! {
        form method="post" action=(format!("{}/{what}", user_url(id))) {
            input type="hidden" name=(csrf::FIELD) value=(op.csrf);
            button type="submit" class=[class] { (label) }
        }
    }
}

/// The tenant's user `id`, or the page to answer instead (404, or 500 when
/// the store fails; `what` names the step in Tern's log).
pub(super) async fn find_user(s: &AppState, id: &str, what: &str) -> Result<User, Response> {
    match s.store.get_user(s.tid(), id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(problem(
            StatusCode::NOT_FOUND,
            "No such user",
            "The user does not exist.",
        )),
        Err(e) => Err(oops(what, &e)),
    }
}

/// `GET /console/users/{id}`.
pub async fn show(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let user = match find_user(&s, &id, "user page").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let editor = MetadataEditor::stored(&user);
    user_page(
        &s,
        &op,
        &user,
        notice(done.done.as_deref()),
        &editor,
        None,
        StatusCode::OK,
    )
    .await
}

/// The user's page, answered with `status`: after an action its `notice`,
/// the metadata editor as stored or, when a save was refused, as typed
/// with the reason, and why a roles or permissions form was refused.
pub(super) async fn user_page(
    s: &AppState,
    op: &Operator,
    user: &User,
    notice: Option<&str>,
    editor: &MetadataEditor,
    rbac_refusal: Option<&user_roles::Refusal>,
    status: StatusCode,
) -> Response {
    let blocks = match brute_force::blocks(s, BlocksOf::User(&user.user_id)).await {
        Ok(b) => b,
        Err(e) => return oops("user blocks", &e),
    };
    let access = match user_access::load(s, &user.user_id).await {
        Ok(a) => a,
        Err(e) => return oops("user sessions and refresh tokens", &e),
    };
    let rbac = match user_roles::load(s, &user.user_id).await {
        Ok(r) => r,
        Err(e) => return oops("user roles", &e),
    };
    let history = match user_details::history(s, &user.user_id).await {
        Ok(h) => h,
        Err(e) => return oops("user history", &e),
    };
    let title = user.email.clone().unwrap_or_else(|| user.user_id.clone());
    page_status(
        status,
        op,
        Section::Users,
        &title,
        html! {
            p { a href="/console/users" { "← Users" } }
            h1 { (title) }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            div.actions aria-label="Actions" {
                @if user.blocked {
                    (action(op, &user.user_id, "unblock", "Unblock", None))
                } @else {
                    (action(op, &user.user_id, "block", "Block", Some("secondary")))
                }
                @if user.email.is_some() {
                    (action(op, &user.user_id, "reset", "Send a reset link", Some("secondary")))
                }
                a href=(format!("{}/delete", user_url(&user.user_id))) { "Delete…" }
            }
            div.table-wrap { table {
                tbody {
                    (row("User id", html! { code { (user.user_id) } }))
                    (row("Identity", html! { (user.connection_name) " · " code { (user.local_id()) } }))
                    (row("Email", html! { (user.email.as_deref().unwrap_or("—")) @if user.email_verified { " (verified)" } }))
                    (row("Username", html! { (user.username.as_deref().unwrap_or("—")) }))
                    (row("Arrived", html! { span #arrived { (user.source.as_str()) } " on " (user.created_at) }))
                    (row("Credential scheme", html! { span #scheme { (scheme(user)) } }))
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
            (user_access::sections(op, user, &access))
            (user_roles::sections(op, user, &rbac, rbac_refusal))
            (user_details::metadata_section(op, user, editor))
            (user_details::history_section(user, &history))
            (user_details::raw_json_section(user))
        },
    )
}

/// The page of a change the shared rules refused, with their reason.
pub(super) fn refused(e: &crate::error::ApiError) -> Response {
    problem(
        e.status,
        "The change was refused",
        &format!("{} Go back to the user and try again.", e.message),
    )
}

/// Log a user action with the operator as actor, and what it touched
/// (`details`, beside the actor).
pub(super) async fn log_action(
    s: &AppState,
    op: &Operator,
    user: &User,
    description: &str,
    details: Option<serde_json::Value>,
) {
    let mut ev = LogEvent::new("sapi", description);
    ev.details = details;
    ev.user_id = Some(user.user_id.clone());
    ev.user_name = user.email.clone().or_else(|| user.username.clone());
    ev.connection = Some(user.connection_name.clone());
    ev.connection_id = Some(user.connection_id.clone());
    audit(s, op, ev).await;
}

async fn set_blocked(s: &AppState, op: &Operator, id: &str, blocked: bool) -> Response {
    match user_admin::update(
        s,
        id,
        &serde_json::json!({ "blocked": blocked }),
        Changer::Console,
    )
    .await
    {
        Ok(user) => {
            let (what, done) = if blocked {
                ("Console: user blocked", "blocked")
            } else {
                ("Console: user unblocked", "unblocked")
            };
            log_action(s, op, &user, what, None).await;
            see_other(&format!("{}?done={done}", user_url(id)), Vec::new())
        }
        Err(e) => refused(&e),
    }
}

/// `POST /console/users/{id}/block` (as `PATCH /users/{id}` `{"blocked": true}`).
pub async fn block(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    set_blocked(&s, &op, &id, true).await
}

/// `POST /console/users/{id}/unblock`.
pub async fn unblock(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    set_blocked(&s, &op, &id, false).await
}

/// `POST /console/users/{id}/reset`: mail the user a reset link.
pub async fn reset(
    State(s): State<AppState>,
    crate::client_ip::ClientIp(ip): crate::client_ip::ClientIp,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    let user = match find_user(&s, &id, "reset").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (Some(email), Ok(Some(connection))) = (
        user.email.clone(),
        s.store.get_connection(s.tid(), &user.connection_id).await,
    ) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "No reset link",
            "This user has no email address (or no connection) to send a reset link to.",
        );
    };
    // The user exists here, so no legacy lookup is spent; the operator's
    // address is what the request's budget would be counted against.
    let outcome = reset::request_reset(
        &s,
        &connection,
        &email,
        &ip.to_string(),
        reset::RESET_PATH,
        None,
    )
    .await;
    let done = match outcome {
        Ok(ResetRequest::Sent { .. }) => "reset",
        Ok(ResetRequest::Throttled(_)) => "reset-throttled",
        Ok(ResetRequest::MailFailed { error, .. }) => {
            tracing::warn!(error = %error, "console reset mail failed");
            return problem(
                StatusCode::BAD_GATEWAY,
                "The mail was not sent",
                "The reset link could not be mailed; check the mail settings and try again.",
            );
        }
        Ok(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "No reset link",
                "The user could not be found by their email on their connection.",
            );
        }
        Err(e) => return oops("reset", &e),
    };
    log_action(&s, &op, &user, "Console: reset link sent", None).await;
    see_other(&format!("{}?done={done}", user_url(&id)), Vec::new())
}

/// `GET /console/users/{id}/delete`: the confirmation step.
pub async fn confirm_delete(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    let user = match find_user(&s, &id, "delete").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let name = user.email.clone().unwrap_or_else(|| user.user_id.clone());
    page(
        &op,
        Section::Users,
        "Delete a user",
        html! {
            p { a href=(user_url(&id)) { "← " (name) } }
            h1 { "Delete " (name) "?" }
            p.text { "The user " code { (user.user_id) } " of " (user.connection_name) " is deleted from Tern"
                " (and, when the connection's legacy store stays authoritative, from it first). This cannot be undone." }
            form method="post" action=(format!("{}/delete", user_url(&id))) {
                input type="hidden" name=(csrf::FIELD) value=(op.csrf);
                label.check { input type="checkbox" name="confirm" value="yes" required; "Yes, delete this user" }
                div.actions {
                    button.danger type="submit" { "Delete the user" }
                    a href=(user_url(&id)) { "Cancel" }
                }
            }
        },
    )
}

/// `POST /console/users/{id}/delete` (as `DELETE /users/{id}`).
pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    if form.get("confirm") != Some("yes") {
        return see_other(&format!("{}/delete", user_url(&id)), Vec::new());
    }
    let user = match find_user(&s, &id, "delete").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(e) = user_admin::delete(&s, &id, Changer::Console).await {
        return refused(&e);
    }
    log_action(&s, &op, &user, "Console: user deleted", None).await;
    see_other("/console/users?done=deleted", Vec::new())
}

/// `POST /console/users/{id}/unblock-logins`.
pub async fn unblock_logins(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    if let Err(r) = find_user(&s, &id, "unblock").await {
        return r;
    }
    let lifted = match brute_force::lift(&s, BlocksOf::User(&id)).await {
        Ok(n) => n,
        Err(e) => return oops("unblock", &e),
    };
    let mut ev = LogEvent::new("sapi", "Console: brute-force blocks lifted");
    ev.user_id = Some(id.clone());
    ev.details = Some(serde_json::json!({"lifted": lifted}));
    audit(&s, &op, ev).await;
    see_other(&format!("{}?done=lifted", user_url(&id)), Vec::new())
}
