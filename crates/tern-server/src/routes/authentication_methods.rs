//! `/users/{id}/authentication-methods`: the MFA enrollments a user
//! brought along (a login script's profile or an import file's
//! `mfa_factors`) or made, in Auth0's shape, so an operator can see that
//! none was lost, and remove one or all (`/users/{id}/authenticators` too:
//! the user lost their device). Secrets never leave: a TOTP enrollment is
//! listed without its seed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tern_core::model::User;

use crate::auth::Caller;
use crate::body::{Paging, QueryMap};
use crate::console_app::Changer;
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

fn no_user() -> ApiError {
    ApiError::not_found("inexistent_user", "The user does not exist.")
}

fn no_method() -> ApiError {
    ApiError::not_found(
        "inexistent_authentication_method",
        "The authentication method does not exist.",
    )
}

/// `GET /users/{id}/authentication-methods/{authentication_method_id}`.
#[utoipa::path(
    get,
    path = "/users/{id}/authentication-methods/{authentication_method_id}",
    operation_id = "get_authentication_methods_by_authentication_method_id",
    tag = "users",
    summary = "Get one of a user's authentication methods",
    params(
        ("id" = String, Path, description = "The user_id, e.g. `auth0|…`."),
        ("authentication_method_id" = String, Path, description = "The method's id, as listed (`totp|dev_…`)."),
    ),
    responses(
        (status = 200, description = "The method.", body = crate::openapi::AuthenticationMethod),
        (status = 404, description = "No such user (`inexistent_user`), or no such method of this user (`inexistent_authentication_method`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:authentication_methods"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, method_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:authentication_methods"])?;
    let user = s.store.get_user(s.tid(), &id).await?.ok_or_else(no_user)?;
    user.mfa_factors
        .iter()
        .filter_map(|f| method(&user, f))
        .find(|m| m["id"] == method_id.as_str())
        .map(Json)
        .ok_or_else(no_method)
}

/// `DELETE /users/{id}/authentication-methods/{authentication_method_id}`.
#[utoipa::path(
    delete,
    path = "/users/{id}/authentication-methods/{authentication_method_id}",
    operation_id = "delete_authentication_methods_by_authentication_method_id",
    tag = "users",
    summary = "Delete one of a user's authentication methods",
    description = "As `DELETE /guardian/enrollments/{id}`: when a policy asks for a second factor, the user enrols a new one at the next login.",
    params(
        ("id" = String, Path, description = "The user_id, e.g. `auth0|…`."),
        ("authentication_method_id" = String, Path, description = "The method's id, as listed (`totp|dev_…`)."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such user (`inexistent_user`), or no such method of this user (`inexistent_authentication_method`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:authentication_methods"])),
)]
pub async fn delete_one(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, method_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:authentication_methods"])?;
    // The method must be this user's: its id names its user.
    match crate::enrollments::find(&s, &method_id).await? {
        Some((user, _)) if user.user_id == id => {}
        _ if s.store.get_user(s.tid(), &id).await?.is_none() => return Err(no_user()),
        _ => return Err(no_method()),
    }
    if crate::enrollments::delete(&s, &method_id, Changer::Api(&caller)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_method())
    }
}

/// `DELETE /users/{id}/authentication-methods`.
#[utoipa::path(
    delete,
    path = "/users/{id}/authentication-methods",
    operation_id = "delete_authentication_methods",
    tag = "users",
    summary = "Delete all of a user's authentication methods",
    description = "Every MFA factor of the user is removed (a user who lost their device): when a policy asks for a second factor, the user enrols a new one at the next login. The password stays.",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`.")),
    responses(
        (status = 204, description = "Deleted (also when the user had none)."),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:authentication_methods"])),
)]
pub async fn delete_all(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:authentication_methods"])?;
    remove_all(&s, &caller, &id).await
}

/// `DELETE /users/{id}/authenticators`.
#[utoipa::path(
    delete,
    path = "/users/{id}/authenticators",
    operation_id = "delete_authenticators",
    tag = "users",
    summary = "Delete all of a user's authenticators",
    description = "As `DELETE /users/{id}/authentication-methods`, under Guardian's scope.",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`.")),
    responses(
        (status = 204, description = "Deleted (also when the user had none)."),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:guardian_enrollments"])),
)]
pub async fn delete_authenticators(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:guardian_enrollments"])?;
    remove_all(&s, &caller, &id).await
}

async fn remove_all(s: &AppState, caller: &Caller, id: &str) -> Result<StatusCode, ApiError> {
    match crate::enrollments::delete_all(s, id, Changer::Api(caller)).await? {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(no_user()),
    }
}
