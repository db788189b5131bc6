//! Auth0's refresh token endpoints: `GET|DELETE /users/{id}/refresh-tokens`,
//! `GET|DELETE /refresh-tokens/{id}`, `GET /refresh-tokens?user_id=` and
//! `POST /refresh-tokens/revoke`, so an operator can see and end a user's
//! offline access, and `PATCH /refresh-tokens/{id}` to label it. One refresh token is one grant holding a live token
//! (`grant_admin`); revoking it refuses the whole family at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::grants::GrantQuery;
use tern_core::user_profile::project_fields;

use crate::auth::Caller;
use crate::body::{JsonOrFormBody, QueryMap};
use crate::console_app;
use crate::cursor::{self, List};
use crate::error::ApiError;
use crate::grant_admin;
use crate::state::AppState;
use crate::user_admin::known_user;

const READ: &[&str] = &["read:refresh_tokens"];
const UPDATE: &[&str] = &["update:refresh_tokens"];
const DELETE: &[&str] = &["delete:refresh_tokens"];

fn unknown_token() -> ApiError {
    ApiError::not_found(
        "inexistent_refresh_token",
        "The refresh token does not exist.",
    )
}

/// Checkpoint paging (`from`, `take`) over a listing: the page under `key`,
/// each token cut to `fields` (all: none named), and, when more may follow,
/// `next` (a cursor after the last id, which `from` takes back: ids are the
/// listing's order).
async fn checkpoint_page(
    s: &AppState,
    q: &QueryMap,
    query: GrantQuery<'_>,
    key: &str,
    (fields, include): (&[String], bool),
) -> Result<Value, ApiError> {
    let take = q.int("take", 1, 100)?.unwrap_or(50);
    let from = cursor::from_query(s, List::RefreshTokens, q.str("from"))?;
    // One more than asked says whether a next page exists.
    let mut listed = grant_admin::live(
        s,
        GrantQuery {
            after_id: from.as_deref(),
            limit: take + 1,
            ..query
        },
    )
    .await?;
    let more = listed.len() as u64 > take;
    listed.truncate(usize::try_from(take).unwrap_or(usize::MAX));
    let tokens: Vec<Value> = listed
        .iter()
        .map(|l| project_fields(grant_admin::token_view(l), fields, include))
        .collect();
    let mut page = json!({ key: tokens });
    if more && let Some(last) = listed.last() {
        page["next"] = json!(cursor::encode(s, List::RefreshTokens, &last.grant.id)?);
    }
    Ok(page)
}

/// `GET /users/{id}/refresh-tokens`.
#[utoipa::path(
    get,
    path = "/users/{id}/refresh-tokens",
    operation_id = "get_refresh_tokens_for_user",
    tag = "users",
    summary = "Get a user's refresh tokens",
    description = "The user's live refresh tokens (unrevoked, unexpired), one per token family (a rotation keeps the id), ordered by id. `from` takes the previous page's `next`.",
    params(
        ("id" = String, Path, description = "The user_id, e.g. `auth0|…`."),
        crate::openapi::CheckpointParams,
    ),
    responses(
        (status = 200, description = "The tokens.", body = crate::openapi::UserRefreshTokenPage),
        (status = 400, description = "Invalid `take` or `include_totals`, or `from` not a `next` of a refresh token list (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:refresh_tokens"])),
)]
pub async fn of_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(READ)?;
    // Accepted as Auth0 does; checkpoint pages carry no totals.
    q.bool("include_totals")?;
    known_user(&s, &id).await?;
    let query = GrantQuery {
        user_id: Some(&id),
        ..GrantQuery::default()
    };
    checkpoint_page(&s, &q, query, "tokens", (&[], true))
        .await
        .map(Json)
}

/// `DELETE /users/{id}/refresh-tokens`.
#[utoipa::path(
    delete,
    path = "/users/{id}/refresh-tokens",
    operation_id = "delete_refresh_tokens_for_user",
    tag = "users",
    summary = "Revoke a user's refresh tokens",
    description = "Revokes every grant of the user: their refresh tokens are refused at `/oauth/token` from now on, and the access tokens those grants issued at `/userinfo`. Each revocation is logged (`srrt`).",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`.")),
    responses(
        (status = 202, description = "Revoked."),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:refresh_tokens"])),
)]
pub async fn delete_of_user(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(DELETE)?;
    known_user(&s, &id).await?;
    let query = GrantQuery {
        user_id: Some(&id),
        ..GrantQuery::default()
    };
    grant_admin::revoke_matching_guarded(&s, &caller, query).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /refresh-tokens` (`user_id` required, `client_id`).
#[utoipa::path(
    get,
    path = "/refresh-tokens",
    operation_id = "get_refresh_tokens",
    tag = "refresh-tokens",
    summary = "List a user's refresh tokens",
    description = "As `GET /users/{id}/refresh-tokens`, under `refresh_tokens`, optionally for one application; `fields` and `include_fields` choose each token's properties.",
    params(crate::openapi::RefreshTokenFilter, crate::openapi::CheckpointParams, crate::openapi::FieldsParams),
    responses(
        (status = 200, description = "The tokens.", body = crate::openapi::RefreshTokenPage),
        (status = 400, description = "No `user_id`, an invalid `take` or `include_fields`, or `from` not a `next` of a refresh token list (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:refresh_tokens"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(READ)?;
    let (fields, include) = q.fields()?;
    let user = q
        .str("user_id")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid_query("Missing required 'user_id' parameter."))?;
    known_user(&s, user).await?;
    let query = GrantQuery {
        user_id: Some(user),
        client_id: q.str("client_id"),
        ..GrantQuery::default()
    };
    checkpoint_page(&s, &q, query, "refresh_tokens", (&fields, include))
        .await
        .map(Json)
}

/// `GET /refresh-tokens/{id}`.
#[utoipa::path(
    get,
    path = "/refresh-tokens/{id}",
    operation_id = "get_refresh_token",
    tag = "refresh-tokens",
    summary = "Get a refresh token",
    params(("id" = String, Path, description = "The refresh token id (`gr_…`, the same across rotations).")),
    responses(
        (status = 200, description = "The token.", body = crate::openapi::RefreshToken),
        (status = 404, description = "No such live token (`inexistent_refresh_token`): unknown, revoked or expired.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:refresh_tokens"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(READ)?;
    grant_admin::live_one(&s, &id)
        .await?
        .map(|l| Json(grant_admin::token_view(&l)))
        .ok_or_else(unknown_token)
}

/// `PATCH /refresh-tokens/{id}`.
#[utoipa::path(
    patch,
    path = "/refresh-tokens/{id}",
    operation_id = "update_refresh_token",
    tag = "refresh-tokens",
    summary = "Update a refresh token's metadata",
    description = "Replaces `refresh_token_metadata` (`null` or `{}` removes it all). It belongs to the token family: every rotation keeps it.",
    params(("id" = String, Path, description = "The refresh token id (`gr_…`, the same across rotations).")),
    request_body(content(
        (crate::openapi::UpdateRefreshToken = "application/json"),
        (crate::openapi::UpdateRefreshToken = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The updated refresh token.", body = crate::openapi::RefreshToken),
        (status = 400, description = "A property other than `refresh_token_metadata`, or none; `refresh_token_metadata` neither null nor an object of strings, over 25 properties, a value over 255 characters or a key outside 1 to 255 (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such live token (`inexistent_refresh_token`): unknown, revoked or expired.", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:refresh_tokens"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<Json<Value>, ApiError> {
    caller.require(UPDATE)?;
    if let Some(grant) = s.store.get_grant(s.tid(), &id).await? {
        console_app::guard_holders_change(&s, &caller, [grant.user_id.as_str()]).await?;
    }
    grant_admin::update_metadata(&s, &id, &body)
        .await?
        .map(|l| Json(grant_admin::token_view(&l)))
        .ok_or_else(unknown_token)
}

/// `DELETE /refresh-tokens/{id}`.
#[utoipa::path(
    delete,
    path = "/refresh-tokens/{id}",
    operation_id = "delete_refresh_token",
    tag = "refresh-tokens",
    summary = "Revoke a refresh token",
    description = "Revokes the token's family (its grant): refused at `/oauth/token` from now on. As Auth0, an unknown or already revoked id is accepted too (nothing changes).",
    params(("id" = String, Path, description = "The refresh token id (`gr_…`).")),
    responses(
        (status = 202, description = "Revoked (or nothing to revoke)."),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:refresh_tokens"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(DELETE)?;
    if let Some(grant) = s.store.get_grant(s.tid(), &id).await? {
        grant_admin::revoke_guarded(&s, &caller, &[grant]).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// The largest `ids` list `POST /refresh-tokens/revoke` takes (Auth0's).
const MAX_REVOKE_IDS: usize = 100;

/// What `POST /refresh-tokens/revoke` asks to revoke.
enum Revocation {
    Ids(Vec<String>),
    Matching {
        user_id: Option<String>,
        client_id: Option<String>,
    },
}

fn revocation(body: &Value) -> Result<Revocation, ApiError> {
    let bad = |m: &str| ApiError::invalid_body(format!("Payload validation error: {m}"));
    let obj = body
        .as_object()
        .ok_or_else(|| bad("a JSON object is expected."))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["ids", "user_id", "client_id"].contains(&k.as_str()))
    {
        return Err(bad(&format!("Additional properties not allowed: {k}.")));
    }
    let text = |key: &str, max: usize| -> Result<Option<String>, ApiError> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(v)) if (1..=max).contains(&v.chars().count()) => Ok(Some(v.clone())),
            Some(_) => Err(bad(&format!(
                "'{key}' must be a string of 1 to {max} characters."
            ))),
        }
    };
    let user_id = text("user_id", 300)?;
    let client_id = text("client_id", 64)?;
    match obj.get("ids") {
        Some(ids) => {
            if user_id.is_some() || client_id.is_some() {
                return Err(bad(
                    "Invalid combination of parameters: 'ids' stands alone.",
                ));
            }
            let ids = ids
                .as_array()
                .filter(|a| (1..=MAX_REVOKE_IDS).contains(&a.len()))
                .ok_or_else(|| bad("'ids' must be an array of 1 to 100 token ids."))?;
            ids.iter()
                .map(|v| {
                    v.as_str()
                        .filter(|s| (1..=30).contains(&s.chars().count()))
                        .map(str::to_string)
                        .ok_or_else(|| bad("each of 'ids' must be a string of 1 to 30 characters."))
                })
                .collect::<Result<_, _>>()
                .map(Revocation::Ids)
        }
        None if user_id.is_none() && client_id.is_none() => Err(bad(
            "Invalid combination of parameters: give 'ids', 'user_id', 'user_id' and 'client_id', or 'client_id'.",
        )),
        None => Ok(Revocation::Matching { user_id, client_id }),
    }
}

/// `POST /refresh-tokens/revoke`.
#[utoipa::path(
    post,
    path = "/refresh-tokens/revoke",
    operation_id = "revoke_refresh_tokens",
    tag = "refresh-tokens",
    summary = "Revoke refresh tokens in bulk",
    description = "By `ids` (up to 100), by `user_id`, by `user_id` and `client_id`, or by `client_id`. Unknown ids are skipped.",
    request_body(content(
        (crate::openapi::RevokeRefreshTokens = "application/json"),
        (crate::openapi::RevokeRefreshTokens = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 202, description = "Revoked."),
        (status = 400, description = "Invalid body or combination (`invalid_body`); unknown user or client (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:refresh_tokens"])),
)]
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    JsonOrFormBody(body): JsonOrFormBody,
) -> Result<StatusCode, ApiError> {
    caller.require(DELETE)?;
    match revocation(&body)? {
        Revocation::Ids(ids) => {
            let mut grants = Vec::with_capacity(ids.len());
            for id in ids {
                grants.extend(s.store.get_grant(s.tid(), &id).await?);
            }
            grant_admin::revoke_guarded(&s, &caller, &grants).await?;
        }
        Revocation::Matching { user_id, client_id } => {
            if let Some(u) = &user_id
                && s.store.get_user(s.tid(), u).await?.is_none()
            {
                return Err(ApiError::invalid_body("User not found."));
            }
            if let Some(c) = &client_id
                && s.store.get_client(s.tid(), c).await?.is_none()
            {
                return Err(ApiError::invalid_body("Client not found."));
            }
            let query = GrantQuery {
                user_id: user_id.as_deref(),
                client_id: client_id.as_deref(),
                ..GrantQuery::default()
            };
            grant_admin::revoke_matching_guarded(&s, &caller, query).await?;
        }
    }
    Ok(StatusCode::ACCEPTED)
}
