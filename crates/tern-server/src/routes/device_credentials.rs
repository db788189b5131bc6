//! Auth0's device credentials, the older SDKs' view of refresh tokens:
//! `GET /device-credentials` and `DELETE /device-credentials/{id}`. Tern
//! keeps no public keys; its refresh tokens (one per live grant,
//! `grant_admin`) are credentials of type `refresh_token` or
//! `rotating_refresh_token`. Deleting one revokes its grant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use tern_core::grants::{GrantQuery, is_device_credential_id};
use tern_core::user_profile::project_fields;

use crate::auth::Caller;
use crate::body::{Paging, QueryMap};
use crate::error::ApiError;
use crate::grant_admin;
use crate::state::AppState;

/// The `type` filter: which kind of token, or `None` for both kinds;
/// `public_key` lists nothing.
fn kind(q: &QueryMap) -> Result<Option<Option<bool>>, ApiError> {
    match q.str("type") {
        None => Ok(Some(None)),
        Some("refresh_token") => Ok(Some(Some(false))),
        Some("rotating_refresh_token") => Ok(Some(Some(true))),
        Some("public_key") => Ok(None),
        Some(other) => Err(ApiError::invalid_query(format!(
            "Query validation error: 'type' must be public_key, refresh_token or rotating_refresh_token, got '{other}'."
        ))),
    }
}

/// `GET /device-credentials` (filters `user_id`, `client_id`, `type`).
#[utoipa::path(
    get,
    path = "/device-credentials",
    operation_id = "get_device_credentials",
    tag = "device-credentials",
    summary = "List device credentials",
    description = "The live refresh tokens (one per grant), as device credentials; `type=public_key` lists none (Tern keeps none).",
    params(crate::openapi::PagingParams, crate::openapi::FieldsParams, crate::openapi::DeviceCredentialFilter),
    responses(
        (status = 200, description = "The credentials.", body = crate::openapi::DeviceCredentialList),
        (status = 400, description = "Invalid paging or `type` (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:device_credentials"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:device_credentials"])?;
    let paging = Paging::from_query(&q, 100)?;
    let (fields, include) = q.fields()?;
    let Some(rotating) = kind(&q)? else {
        return Ok(Json(paging.wrap(Vec::new(), 0, "device_credentials")));
    };
    let query = GrantQuery {
        user_id: q.str("user_id"),
        client_id: q.str("client_id"),
        rotating,
        live_token_at: Some(s.now()),
        offset: paging.page.saturating_mul(paging.per_page),
        limit: paging.per_page,
        ..GrantQuery::default()
    };
    let listed = s.store.list_grants(s.tid(), &query).await?;
    let total = if paging.include_totals {
        s.store.count_grants(s.tid(), &query).await?
    } else {
        0
    };
    let items = listed
        .iter()
        .map(|l| project_fields(grant_admin::device_credential_view(l), &fields, include))
        .collect();
    Ok(Json(paging.wrap(items, total, "device_credentials")))
}

/// `DELETE /device-credentials/{id}`.
#[utoipa::path(
    delete,
    path = "/device-credentials/{id}",
    operation_id = "delete_device_credentials_by_id",
    tag = "device-credentials",
    summary = "Delete a device credential",
    description = "Revokes the refresh token's grant: its tokens are refused at `/oauth/token` from now on.",
    params(("id" = String, Path, description = "The credential id (`dcr_` and 16 alphanumerics).", pattern = "^dcr_[A-Za-z0-9]{16}$")),
    responses(
        (status = 204, description = "Deleted; as Auth0 (whose OpenAPI lists no 404 here), also when no live credential has this id: nothing changes."),
        (status = 400, description = "Not a credential id (`invalid_uri`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:device_credentials"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:device_credentials"])?;
    if !is_device_credential_id(&id) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_uri",
            "Path validation error: 'String does not match pattern ^dcr_[A-Za-z0-9]{16}$' on property id (ID of the credential to delete).",
        ));
    }
    let query = GrantQuery {
        device_credential_id: Some(&id),
        limit: 1,
        ..GrantQuery::default()
    };
    let listed = grant_admin::live(&s, query).await?;
    if let Some(found) = listed.into_iter().next() {
        grant_admin::revoke_guarded(&s, &caller, &[found.grant]).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
