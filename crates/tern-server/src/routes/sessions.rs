//! `/api/v2/sessions/{id}` and `/api/v2/users/{id}/sessions`: a user's
//! single sign-on sessions, seen, labelled and ended by an operator
//! (Auth0's `sessions` and `users.getSessions/deleteSessions`). See
//! `session_admin`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::sso::Session;

use crate::auth::Caller;
use crate::body::{JsonOrFormBody, QueryMap};
use crate::console_app;
use crate::cursor::{self, List};
use crate::error::ApiError;
use crate::session_admin;
use crate::state::AppState;
use crate::user_admin::known_user;

const READ: &str = "read:sessions";
const UPDATE: &str = "update:sessions";
const DELETE: &str = "delete:sessions";
/// Revoking also revokes refresh tokens: Auth0 asks for both scopes.
const REVOKE: [&str; 2] = [DELETE, "delete:refresh_tokens"];

fn no_session() -> ApiError {
    ApiError::not_found("inexistent_session", "The session does not exist.")
}

/// An active session of this tenant by its public id, or Auth0's 404.
async fn known_session(s: &AppState, sid: &str) -> Result<Session, ApiError> {
    session_admin::find(s, sid).await?.ok_or_else(no_session)
}

/// `GET /users/{id}/sessions`.
#[utoipa::path(
    get,
    path = "/users/{id}/sessions",
    operation_id = "get_sessions_for_user",
    tag = "sessions",
    summary = "Get a user's sessions",
    params(("id" = String, Path, description = "The user_id."), crate::openapi::CheckpointParams),
    responses(
        (status = 200, description = "The user's active sessions, in id order; `next` is the `from` of the next page.", body = crate::openapi::SessionPage),
        (status = 400, description = "`take` not an integer from 1 to 100, `include_totals` not a boolean, or `from` not a `next` of this list (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:sessions"])),
)]
pub async fn of_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[READ])?;
    let take = q.int("take", 1, 100)?.unwrap_or(50);
    q.bool("include_totals")?;
    let user = known_user(&s, &id).await?;
    let from = cursor::from_query(&s, List::Sessions, q.str("from"))?;
    let (page, next) =
        session_admin::page_of_user(&s, &user.user_id, from.as_deref(), take).await?;
    let mut body = json!({"sessions": page.iter().map(session_admin::view).collect::<Vec<_>>()});
    if let Some(next) = next {
        body["next"] = json!(cursor::encode(&s, List::Sessions, &next)?);
    }
    Ok(Json(body))
}

/// `DELETE /users/{id}/sessions`.
#[utoipa::path(
    delete,
    path = "/users/{id}/sessions",
    operation_id = "delete_sessions_for_user",
    tag = "sessions",
    summary = "End all of a user's sessions",
    params(("id" = String, Path, description = "The user_id.")),
    responses(
        (status = 202, description = "Ended: the user's browsers must sign in again. Refresh tokens stay valid (revoke a session for those)."),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:sessions"])),
)]
pub async fn delete_of_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[DELETE])?;
    let user = known_user(&s, &id).await?;
    console_app::guard_user_change(&caller, &user.connection_name)?;
    s.store.delete_user_sessions(s.tid(), &user.user_id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /sessions/{id}`.
#[utoipa::path(
    get,
    path = "/sessions/{id}",
    operation_id = "get_session",
    tag = "sessions",
    summary = "Get a session",
    params(("id" = String, Path, description = "The session's id (its `sid`).")),
    responses(
        (status = 200, description = "The session.", body = crate::openapi::SessionView),
        (status = 404, description = "No such active session (`inexistent_session`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:sessions"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[READ])?;
    let session = known_session(&s, &id).await?;
    Ok(Json(session_admin::view(&session)))
}

/// `PATCH /sessions/{id}`.
#[utoipa::path(
    patch,
    path = "/sessions/{id}",
    operation_id = "update_session",
    tag = "sessions",
    summary = "Update a session's metadata",
    description = "Replaces `session_metadata` (`null` or `{}` removes it all). The session's use (`updated_at`, its expiries) does not change.",
    params(("id" = String, Path, description = "The session's id (its `sid`).")),
    request_body(content(
        (crate::openapi::UpdateSession = "application/json"),
        (crate::openapi::UpdateSession = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The updated session.", body = crate::openapi::SessionView),
        (status = 400, description = "A property other than `session_metadata`, or none; `session_metadata` neither null nor an object of strings, over 25 properties, a value over 255 characters or a key outside 1 to 255 (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such active session (`inexistent_session`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:sessions"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[UPDATE])?;
    let session = known_session(&s, &id).await?;
    console_app::guard_holders_change(&s, &caller, [session.user_id.as_str()]).await?;
    let updated = session_admin::update_metadata(&s, &session, &body).await?;
    updated
        .map(|x| Json(session_admin::view(&x)))
        .ok_or_else(no_session)
}

/// `DELETE /sessions/{id}`.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    operation_id = "delete_session",
    tag = "sessions",
    summary = "End a session",
    params(("id" = String, Path, description = "The session's id (its `sid`).")),
    description = "As Auth0 (whose OpenAPI lists no 404 here, unlike `GET` and `revoke`), an id that names no active session of this tenant is accepted too: nothing changes.",
    responses(
        (status = 202, description = "Ended (or nothing to end): the browser must sign in again. Refresh tokens issued through it stay valid (`POST /sessions/{id}/revoke` revokes them too)."),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:sessions"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[DELETE])?;
    if let Some(session) = session_admin::find(&s, &id).await? {
        console_app::guard_holders_change(&s, &caller, [session.user_id.as_str()]).await?;
        s.store.delete_session(s.tid(), &session.sid).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// `POST /sessions/{id}/revoke`.
#[utoipa::path(
    post,
    path = "/sessions/{id}/revoke",
    operation_id = "revoke_session",
    tag = "sessions",
    summary = "Revoke a session and its refresh tokens",
    params(("id" = String, Path, description = "The session's id (its `sid`).")),
    responses(
        (status = 202, description = "Ended, and every grant issued through it revoked: its refresh tokens are refused (`invalid_grant`) and its access tokens at `/userinfo`. Each revoked grant is logged `srrt`, as the refresh-token endpoints log theirs."),
        (status = 404, description = "No such active session (`inexistent_session`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:sessions", "delete:refresh_tokens"])),
)]
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_all(&REVOKE)?;
    let session = known_session(&s, &id).await?;
    console_app::guard_holders_change(&s, &caller, [session.user_id.as_str()]).await?;
    session_admin::revoke(&s, &session, &caller.client_id).await?;
    Ok(StatusCode::ACCEPTED)
}
