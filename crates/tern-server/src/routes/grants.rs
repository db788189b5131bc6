//! Auth0's user grants: `GET /grants`, `DELETE /grants/{id}` and
//! `DELETE /grants?user_id=`. Auth0's grants are the consents users gave
//! applications; Tern records no consent, and lists instead its own
//! grants — each unrevoked authorization of one application by one user
//! (a code exchange, or a password login with `offline_access`), with its
//! scopes and API. Deleting one revokes it: its refresh tokens are refused
//! and, at `/userinfo`, the access tokens it issued (`grant_admin`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use tern_core::grants::GrantQuery;

use crate::auth::Caller;
use crate::body::{Paging, QueryMap};
use crate::error::ApiError;
use crate::grant_admin;
use crate::state::AppState;

/// `GET /grants` (filters `user_id`, `client_id`, `audience`).
#[utoipa::path(
    get,
    path = "/grants",
    operation_id = "get_grants",
    tag = "grants",
    summary = "List grants",
    description = "The unrevoked grants (authorizations of an application by a user), ordered by id.",
    params(crate::openapi::PagingParams, crate::openapi::GrantFilter),
    responses(
        (status = 200, description = "The grants.", body = crate::openapi::UserGrantList),
        (status = 400, description = "Invalid paging (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:grants"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:grants"])?;
    let paging = Paging::from_query(&q, 100)?;
    let query = GrantQuery {
        user_id: q.str("user_id"),
        client_id: q.str("client_id"),
        audience: q.str("audience"),
        offset: paging.page.saturating_mul(paging.per_page),
        limit: paging.per_page,
        ..GrantQuery::default()
    };
    let grants = s.store.list_grants(s.tid(), &query).await?;
    let total = if paging.include_totals {
        s.store.count_grants(s.tid(), &query).await?
    } else {
        0
    };
    let items = grants
        .iter()
        .map(|l| grant_admin::grant_view(&l.grant))
        .collect();
    Ok(Json(paging.wrap(items, total, "grants")))
}

/// `DELETE /grants/{id}`.
#[utoipa::path(
    delete,
    path = "/grants/{id}",
    operation_id = "delete_grants_by_id",
    tag = "grants",
    summary = "Revoke a grant",
    description = "As Auth0, an unknown or already revoked id is accepted too (nothing changes).",
    params(("id" = String, Path, description = "The grant id (`gr_…`).")),
    responses(
        (status = 204, description = "Revoked (or nothing to revoke)."),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:grants"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:grants"])?;
    if let Some(grant) = s.store.get_grant(s.tid(), &id).await? {
        grant_admin::revoke_guarded(&s, &caller, &[grant]).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /grants?user_id=`.
#[utoipa::path(
    delete,
    path = "/grants",
    operation_id = "delete_grants_by_user_id",
    tag = "grants",
    summary = "Revoke a user's grants",
    params(crate::openapi::UserIdParam),
    responses(
        (status = 204, description = "Revoked (an unknown user has none)."),
        (status = 400, description = "No `user_id` (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:grants"])),
)]
pub async fn delete_by_user(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:grants"])?;
    let user = q
        .str("user_id")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::invalid_query("Missing required 'user_id' parameter."))?;
    let query = GrantQuery {
        user_id: Some(user),
        ..GrantQuery::default()
    };
    grant_admin::revoke_matching_guarded(&s, &caller, query).await?;
    Ok(StatusCode::NO_CONTENT)
}
