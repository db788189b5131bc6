//! `GET /users/{id}/authentication-methods`: the MFA enrollments a user
//! brought along (a login script's profile or an import file's
//! `mfa_factors`), in Auth0's shape, so an operator can see that none was
//! lost. Secrets never leave: a TOTP enrollment is listed without its seed.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tern_core::model::User;

use crate::auth::Caller;
use crate::body::{Paging, QueryMap};
use crate::error::ApiError;
use crate::state::AppState;

/// One enrollment as Auth0 lists it: `totp`, `phone` (SMS) or `email`,
/// under the id `/guardian/enrollments/{id}` knows it by.
fn method(user: &User, factor: &Value) -> Option<Value> {
    let (kind, body) = factor.as_object()?.iter().next()?;
    let mut m = json!({
        "id": crate::enrollments::enrollment_id(&user.user_id, factor)?,
        "type": kind,
        "confirmed": !tern_core::mfa::is_pending_totp(factor),
        "created_at": user.created_at,
    });
    match kind.as_str() {
        "totp" => {}
        "phone" => {
            m["phone_number"] = body.get("value")?.clone();
            m["preferred_authentication_method"] = json!("sms");
        }
        "email" => m["email"] = body.get("value")?.clone(),
        _ => return None,
    }
    Some(m)
}

/// `GET /users/{id}/authentication-methods`.
#[utoipa::path(
    get,
    path = "/users/{id}/authentication-methods",
    operation_id = "get_authentication_methods",
    tag = "users",
    summary = "List a user's authentication methods (MFA enrollments)",
    description = "The MFA enrollments the user arrived with (`mfa_factors` of a login script's profile or of an import row). TOTP seeds are never returned.",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`."), crate::openapi::PagingParams),
    responses(
        (status = 200, description = "The enrollments.", body = crate::openapi::AuthenticationMethodList),
        (status = 400, description = "Invalid paging (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:authentication_methods"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:authentication_methods"])?;
    let paging = Paging::from_query(&q, 100)?;
    let user = s
        .store
        .get_user(s.tid(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("inexistent_user", "The user does not exist."))?;
    let methods: Vec<Value> = user
        .mfa_factors
        .iter()
        .filter_map(|f| method(&user, f))
        .collect();
    Ok(Json(paging.apply(methods, "authenticators")))
}
