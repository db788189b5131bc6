//! A user's ways back in, on their console page: their single sign-on
//! sessions (`session_admin`, the service behind
//! `/api/v2/users/{id}/sessions` and `/sessions/{id}`) and their refresh
//! tokens (`grant_admin`, behind `/api/v2/users/{id}/refresh-tokens` and
//! `/refresh-tokens/{id}`), each with its end and an end of them all.
//!
//! Ending a session here is `POST /sessions/{id}/revoke`: the browser must
//! sign in again and the refresh tokens issued through the session are
//! revoked with it, so "End" leaves nothing of that sign-in working. An
//! operator's sessions include their console sessions; ending the one in
//! use signs the operator out.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use maud::{Markup, html};
use serde_json::json;
use tern_core::CoreResult;
use tern_core::device::Seen;
use tern_core::grants::{GrantQuery, ListedGrant};
use tern_core::model::User;
use tern_core::sso::Session;

use super::users::{find_user, log_action, oops, refused, user_url};
use crate::console::forms::csrf_field;
use crate::console::layout::problem;
use crate::console::see_other;
use crate::console::session::{self, Operator, OperatorForm};
use crate::console_app::{self, Changer};
use crate::state::AppState;
use crate::{grant_admin, session_admin};

/// Sessions, and refresh tokens, listed on the page (End all reaches
/// every one).
const SHOWN: u64 = 50;
/// Sessions read per page while ending them all.
const BATCH: u64 = 100;

/// The routes of these actions.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/users/{id}/sessions/end", post(end_all_sessions))
        .route("/console/users/{id}/sessions/{sid}/end", post(end_session))
        .route(
            "/console/users/{id}/refresh-tokens/revoke",
            post(revoke_all_tokens),
        )
        .route(
            "/console/users/{id}/refresh-tokens/{grant}/revoke",
            post(revoke_token),
        )
}

/// What the page shows of a user's access.
pub struct Access {
    sessions: Vec<Session>,
    more_sessions: bool,
    tokens: Vec<ListedGrant>,
    more_tokens: bool,
    /// Application names by client id (an id without a name: deleted).
    apps: BTreeMap<String, String>,
}

/// The user's active sessions and live refresh tokens, the first
/// [`SHOWN`] of each, with the names of their applications.
pub async fn load(s: &AppState, user_id: &str) -> CoreResult<Access> {
    let (sessions, next) = session_admin::page_of_user(s, user_id, None, SHOWN).await?;
    // One more than shown says whether there are more.
    let mut tokens = grant_admin::live(
        s,
        GrantQuery {
            user_id: Some(user_id),
            limit: SHOWN + 1,
            ..GrantQuery::default()
        },
    )
    .await?;
    let more_tokens = tokens.len() as u64 > SHOWN;
    tokens.truncate(usize::try_from(SHOWN).unwrap_or(usize::MAX));
    let mut apps = BTreeMap::new();
    let ids = sessions
        .iter()
        .flat_map(|x| x.clients.iter())
        .chain(tokens.iter().map(|l| &l.grant.client_id));
    for id in ids {
        if !apps.contains_key(id)
            && let Some(c) = s.store.get_client(s.tid(), id).await?
        {
            apps.insert(id.clone(), c.name);
        }
    }
    Ok(Access {
        sessions,
        more_sessions: next.is_some(),
        tokens,
        more_tokens,
        apps,
    })
}

fn date(epoch: i64) -> String {
    tern_core::clock::iso_of_epoch(epoch).unwrap_or_else(|| epoch.to_string())
}

fn app_name<'a>(a: &'a Access, client_id: &'a str) -> &'a str {
    a.apps.get(client_id).map_or(client_id, String::as_str)
}

/// A form posting to `{user page}/{path}` with one button.
fn button(op: &Operator, user: &User, path: &str, label: Markup, class: &str) -> Markup {
    html! {
        form method="post" action=(format!("{}/{path}", user_url(&user.user_id))) {
            (csrf_field(op))
            button.inline type="submit" class=(class) { (label) }
        }
    }
}

/// Characters of a user agent shown in a table cell (the whole one, up to
/// what is stored, is the cell's title).
const AGENT_SHOWN: usize = 48;

/// Where a session or token was last used from: the address, and the
/// start of the user agent; "not recorded" for those older than the
/// recording (`device`).
fn seen(last: &Seen) -> Markup {
    let agent = last.user_agent.as_deref().unwrap_or("");
    let short: String = agent.chars().take(AGENT_SHOWN).collect();
    html! {
        @match &last.ip {
            Some(ip) => { code { (ip) } }
            None => { "not recorded" }
        }
        @if !short.is_empty() {
            br; span.hint title=(agent) { (short) @if short.len() < agent.len() { "…" } }
        }
    }
}

/// When a session ends unless used again: the earlier of its two limits.
fn session_ends(x: &Session) -> Markup {
    let idle = x.idle_expires_at < x.expires_at;
    html! {
        (date(x.idle_expires_at.min(x.expires_at)))
        @if idle { " (unless used)" }
    }
}

/// The sessions and refresh tokens sections of the user page.
pub fn sections(op: &Operator, user: &User, a: &Access) -> Markup {
    html! {
        h2 #sessions-heading { "Sessions" }
        p.hint { "Browsers signed in through Tern's login. End signs the browser out and revokes the refresh tokens issued through the session." }
        @if a.sessions.is_empty() {
            p.empty #no-sessions { "No active session." }
        } @else {
            div.table-wrap { table #sessions aria-labelledby="sessions-heading" {
                thead { tr {
                    th scope="col" { "Started" } th scope="col" { "Last used" } th scope="col" { "Expires" }
                    th scope="col" { "Applications" } th scope="col" { "Signed in with" } th scope="col" { "Last seen from" }
                    th scope="col" { span.visually-hidden { "Action" } }
                } }
                tbody { @for x in &a.sessions { tr data-session=(x.sid) {
                    td { (date(x.created_at)) }
                    td { (date(x.last_interacted_at)) }
                    td { (session_ends(x)) }
                    td { @for (i, c) in x.clients.iter().enumerate() { @if i > 0 { ", " } (app_name(a, c)) } }
                    td {
                        "password" @for m in &x.amr { " + " (m) }
                        ", " (date(x.auth_time))
                        @if x.sid == op.session.sid { " " span.badge { "this console session" } }
                    }
                    td { (seen(&x.device.last)) }
                    td { (button(op, user, &format!("sessions/{}/end", urlencoding::encode(&x.sid)),
                        html! { "End" span.visually-hidden { " the session started " (date(x.created_at)) } }, "secondary")) }
                } } }
            } }
            @if a.more_sessions { p.hint { "The first " (SHOWN) " are shown; End all sessions ends the others too." } }
            (button(op, user, "sessions/end", html! { "End all sessions" }, "danger"))
        }
        h2 #tokens-heading { "Refresh tokens" }
        p.hint { "Applications holding offline access for the user (one row per token family: a rotation keeps it). Revoke refuses the token at /oauth/token from now on." }
        @if a.tokens.is_empty() {
            p.empty #no-refresh-tokens { "No live refresh token." }
        } @else {
            div.table-wrap { table #refresh-tokens aria-labelledby="tokens-heading" {
                thead { tr {
                    th scope="col" { "Application" } th scope="col" { "Created" } th scope="col" { "Last used" }
                    th scope="col" { "Expires" } th scope="col" { "Rotating" } th scope="col" { "Scope" } th scope="col" { "Last seen from" }
                    th scope="col" { span.visually-hidden { "Action" } }
                } }
                tbody { @for l in &a.tokens { tr data-token=(l.grant.id) {
                    td { (app_name(a, &l.grant.client_id)) }
                    td { (date(l.grant.created_at)) }
                    td { (l.last_exchanged_at.map_or_else(|| "never".to_string(), date)) }
                    td { (token_ends(l)) }
                    td { @if l.token.as_ref().is_some_and(|t| t.rotating) { "yes" } @else { "no" } }
                    td {
                        code { (l.grant.details.scope.join(" ")) }
                        @if let Some(aud) = &l.grant.details.audience { " for " code { (aud) } }
                    }
                    td { (seen(l.token.as_ref().map_or(&l.grant.details.made_from, |t| &t.last_seen))) }
                    td { (button(op, user, &format!("refresh-tokens/{}/revoke", urlencoding::encode(&l.grant.id)),
                        html! { "Revoke" span.visually-hidden { " the token of " (app_name(a, &l.grant.client_id)) " created " (date(l.grant.created_at)) } }, "secondary")) }
                } } }
            } }
            @if a.more_tokens { p.hint { "The first " (SHOWN) " are shown; Revoke all revokes the others too." } }
            (button(op, user, "refresh-tokens/revoke", html! { "Revoke all refresh tokens" }, "danger"))
        }
    }
}

/// When a refresh token ends unless used again: the earlier of its limits.
fn token_ends(l: &ListedGrant) -> Markup {
    let t = l.token.as_ref();
    let idle = t.and_then(|t| t.idle_expires_at);
    let absolute = t.and_then(|t| t.expires_at);
    let ends = match (idle, absolute) {
        (Some(i), Some(a)) => Some((i.min(a), i < a)),
        (Some(i), None) => Some((i, true)),
        (None, Some(a)) => Some((a, false)),
        (None, None) => None,
    };
    html! {
        @match ends {
            Some((at, unless_used)) => { (date(at)) @if unless_used { " (unless used)" } }
            None => { "never" }
        }
    }
}

/// The user the action is on, and whether the operator may change them:
/// the guard a Management API client meets (`guard_user_change`), which
/// the console, holding everything already, passes.
async fn changed_user(s: &AppState, id: &str, what: &str) -> Result<User, Response> {
    let user = find_user(s, id, what).await?;
    Changer::Console
        .may_change(&user.connection_name)
        .map_err(|e| refused(&e))?;
    Ok(user)
}

/// How an action ended: what the tenant log says (`description`, with
/// `details`), whether the operator's own console session was among those
/// ended, and the `?done=` code of the notice.
struct Outcome<'a> {
    description: &'a str,
    details: serde_json::Value,
    ended_own: bool,
    done: &'a str,
}

/// Log the action with the operator as actor; back to the user's page
/// with its notice, or, when the operator's own console session ended, to
/// the sign-in page.
async fn finish(s: &AppState, op: &Operator, user: &User, o: Outcome<'_>) -> Response {
    log_action(s, op, user, o.description, Some(o.details)).await;
    if o.ended_own {
        return see_other("/console/login", vec![session::clear(s)]);
    }
    see_other(
        &format!("{}?done={}", user_url(&user.user_id), o.done),
        Vec::new(),
    )
}

/// `POST /console/users/{id}/sessions/{sid}/end` (as `POST /sessions/{sid}/revoke`).
pub async fn end_session(
    State(s): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
    OperatorForm { op, .. }: OperatorForm,
) -> Result<Response, Response> {
    const WHAT: &str = "session end";
    let user = changed_user(&s, &id, WHAT).await?;
    let session = session_admin::find(&s, &sid)
        .await
        .map_err(|e| oops(WHAT, &e))?
        .filter(|x| x.user_id == user.user_id)
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                "No such session",
                "This session has ended already, or is not this user's. Go back to the user and reload.",
            )
        })?;
    let revoked = session_admin::revoke(&s, &session, console_app::CLIENT_ID)
        .await
        .map_err(|e| oops(WHAT, &e))?;
    let outcome = Outcome {
        description: "Console: session ended",
        details: json!({"session_id": session.sid, "grants_revoked": revoked}),
        ended_own: session.sid == op.session.sid,
        done: "session-ended",
    };
    Ok(finish(&s, &op, &user, outcome).await)
}

/// `POST /console/users/{id}/sessions/end`: every session, each as
/// `POST /sessions/{sid}/revoke`.
pub async fn end_all_sessions(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Result<Response, Response> {
    const WHAT: &str = "sessions end";
    let user = changed_user(&s, &id, WHAT).await?;
    let (ended, revoked) = end_every_session(&s, &user.user_id)
        .await
        .map_err(|e| oops(WHAT, &e))?;
    let outcome = Outcome {
        description: "Console: all sessions ended",
        details: json!({"sessions_ended": ended.len(), "grants_revoked": revoked}),
        ended_own: ended.contains(&op.session.sid),
        done: "sessions-ended",
    };
    Ok(finish(&s, &op, &user, outcome).await)
}

/// End every active session of the user and revoke what each issued; the
/// sessions ended and the grants revoked.
async fn end_every_session(s: &AppState, user_id: &str) -> CoreResult<(Vec<String>, usize)> {
    let mut sessions = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let (page, next) = session_admin::page_of_user(s, user_id, from.as_deref(), BATCH).await?;
        sessions.extend(page);
        match next {
            Some(n) => from = Some(n),
            None => break,
        }
    }
    let mut revoked = 0;
    for x in &sessions {
        revoked += session_admin::revoke(s, x, console_app::CLIENT_ID).await?;
    }
    Ok((sessions.into_iter().map(|x| x.sid).collect(), revoked))
}

/// `POST /console/users/{id}/refresh-tokens/{grant}/revoke` (as
/// `DELETE /refresh-tokens/{grant}`).
pub async fn revoke_token(
    State(s): State<AppState>,
    Path((id, grant_id)): Path<(String, String)>,
    OperatorForm { op, .. }: OperatorForm,
) -> Result<Response, Response> {
    const WHAT: &str = "refresh token revocation";
    let user = changed_user(&s, &id, WHAT).await?;
    let grant = s
        .store
        .get_grant(s.tid(), &grant_id)
        .await
        .map_err(|e| oops(WHAT, &e))?
        .filter(|g| g.user_id == user.user_id && g.revoked_at.is_none())
        .ok_or_else(|| {
            problem(
                StatusCode::NOT_FOUND,
                "No such refresh token",
                "This refresh token is revoked already, or is not this user's. Go back to the user and reload.",
            )
        })?;
    grant_admin::revoke(&s, &grant, console_app::CLIENT_ID)
        .await
        .map_err(|e| oops(WHAT, &e))?;
    let outcome = Outcome {
        description: "Console: refresh token revoked",
        details: json!({"grant_id": grant.id, "client_id": grant.client_id}),
        ended_own: false,
        done: "token-revoked",
    };
    Ok(finish(&s, &op, &user, outcome).await)
}

/// `POST /console/users/{id}/refresh-tokens/revoke` (as
/// `DELETE /users/{id}/refresh-tokens`).
pub async fn revoke_all_tokens(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Result<Response, Response> {
    const WHAT: &str = "refresh tokens revocation";
    let user = changed_user(&s, &id, WHAT).await?;
    let query = GrantQuery {
        user_id: Some(&user.user_id),
        ..GrantQuery::default()
    };
    let revoked = grant_admin::revoke_all(&s, query, console_app::CLIENT_ID)
        .await
        .map_err(|e| oops(WHAT, &e))?;
    let outcome = Outcome {
        description: "Console: all refresh tokens revoked",
        details: json!({"grants_revoked": revoked}),
        ended_own: false,
        done: "tokens-revoked",
    };
    Ok(finish(&s, &op, &user, outcome).await)
}
