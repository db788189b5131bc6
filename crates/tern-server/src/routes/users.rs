//! `/api/v2/users`, `/api/v2/users-by-email`, `/api/v2/connections/{id}/users`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tern_core::model::{User, UserSource};
use tern_core::store::{InsertOutcome, UserSearch};
use tern_core::user_profile::{
    ProfileFields, ProfileRequest, UsernameRules, project_fields, user_json,
};
use tern_core::{search, users};

use crate::auth::Caller;
use crate::body::{JsonBody, Paging, QueryMap};
use crate::console_app::Changer;
use crate::error::ApiError;
use crate::passwords::{Owner, hash_new_password};
use crate::state::AppState;
use crate::user_admin::{refuse_legacy_email, user_exists, user_not_found};

/// `GET /users`: list or search (`q`, Lucene subset), paged, within the search window.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "get_users",
    tag = "users",
    summary = "List or search users",
    params(crate::openapi::PagingParams, crate::openapi::UserSearchParams, crate::openapi::FieldsParams),
    responses(
        (status = 200, description = "The users.", body = crate::openapi::UserList),
        (status = 400, description = "Invalid query, sort or paging, or a page past the search window (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 503, description = "The search did not answer within `search.timeout_ms` (2 seconds, as Auth0), its wait for a turn included (`query_timeout`); its statement is stopped.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users"])?;
    if let Some(engine) = q.str("search_engine")
        && engine != "v3"
    {
        return Err(ApiError::invalid_query(format!(
            "You are not allowed to use search_engine={engine}."
        )));
    }
    let paging = Paging::from_query(&q, 100)?;
    let window = s.config.search_window;
    if paging.per_page > 0
        && (paging.page.saturating_add(1)).saturating_mul(paging.per_page) > window
    {
        return Err(ApiError::invalid_query(format!(
            "You can only page through the first {window} records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation."
        )));
    }
    let query = match q.str("q").map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => {
            Some(search::parse_query(text).map_err(|e| ApiError::invalid_query(e.to_string()))?)
        }
        None => None,
    };
    let sort = match q.str("sort").filter(|s| !s.is_empty()) {
        Some(text) => {
            Some(search::parse_sort(text).map_err(|e| ApiError::invalid_query(e.to_string()))?)
        }
        None => None,
    };
    let (fields, include) = q.fields()?;
    let page = crate::user_search::search(
        &s,
        UserSearch {
            query,
            sort,
            offset: paging.page * paging.per_page,
            limit: paging.per_page,
            total_up_to: paging.include_totals.then_some(window),
            // Set by `user_search::search` from `search.timeout_ms`.
            deadline: None,
        },
    )
    .await?;
    let items = page
        .users
        .iter()
        .map(|u| project_fields(user_json(u), &fields, include))
        .collect();
    Ok(Json(paging.wrap(items, page.total, "users")))
}

/// `POST /users`. A user with an email is mailed a verification link when
/// `verify_email` is true, or when it is absent and `email_verified` is not
/// true (Auth0's rule), unless the `verify_email` template is disabled.
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "create_user",
    tag = "users",
    summary = "Create a user",
    request_body(content = crate::openapi::UserCreate, content_type = "application/json"),
    responses(
        (status = 201, description = "The user.", body = crate::openapi::User),
        (status = 400, description = "Invalid body (`invalid_body`), unknown connection, a password too weak for the connection (`password_strength_error`), or, import mode off, a failing legacy script (`auth0_idp_error`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "The user already exists, here or in the legacy store (`auth0_idp_error`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        (status = 503, description = "The legacy user store could not be asked whether the user exists, or the password hashing pool is full (`temporarily_unavailable`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:users"])),
)]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:users"])?;
    let mut f = ProfileFields::from_json(&body, ProfileRequest::Create)?;
    // Checked a boolean by `from_json`.
    let verify_email = body.get("verify_email").and_then(Value::as_bool);
    let name = f.connection.clone().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Missing required property: connection'.")
    })?;
    let connection = s
        .store
        .get_connection_by_name(s.tid(), &name)
        .await?
        .ok_or_else(|| ApiError::invalid_body(format!("The connection does not exist: {name}.")))?;
    crate::console_app::guard_user_change(&caller, &connection.name)?;
    if f.email.is_none() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'Missing required property: email'.",
        ));
    }
    UsernameRules::of(&connection.options).check(f.username.as_deref(), true)?;
    let password = f.password.take().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Missing required property: password'.")
    })?;
    if crate::legacy_ops::authoritative(&s, &connection) {
        let user =
            crate::legacy_ops::create_user(&s, &connection, f, &password, None, UserSource::Api)
                .await?;
        crate::verification::after_creation(&s, &user, None, verify_email).await;
        return Ok((StatusCode::CREATED, Json(user_json(&user))).into_response());
    }
    if let Some(email) = &f.email
        && s.store
            .get_user_by_email(s.tid(), &connection.id, email)
            .await?
            .is_none()
    {
        refuse_legacy_email(&s, &connection, email, None).await?;
    }
    let credential = hash_new_password(&s, &connection, Owner::New(&f), password).await?;
    let user = users::new_user(f, &connection, Some(credential), UserSource::Api);
    match s.store.insert_user(s.tid(), &user).await? {
        InsertOutcome::Inserted => {
            // Auth0 mails a verification link unless `verify_email` says
            // otherwise (in the background: the answer does not wait).
            crate::verification::after_creation(&s, &user, None, verify_email).await;
            Ok((StatusCode::CREATED, Json(user_json(&user))).into_response())
        }
        InsertOutcome::Duplicate => Err(user_exists()),
    }
}

async fn load(s: &AppState, id: &str) -> Result<User, ApiError> {
    s.store
        .get_user(s.tid(), id)
        .await?
        .ok_or_else(user_not_found)
}

/// `GET /users/{id}`.
#[utoipa::path(
    get,
    path = "/users/{id}",
    operation_id = "get_user",
    tag = "users",
    summary = "Get a user",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`."), crate::openapi::FieldsParams),
    responses(
        (status = 200, description = "The user.", body = crate::openapi::User),
        (status = 400, description = "Invalid query parameters (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn get_one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users"])?;
    let (fields, include) = q.fields()?;
    let user = load(&s, &id).await?;
    Ok(Json(project_fields(user_json(&user), &fields, include)))
}

/// `PATCH /users/{id}`.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "update_user",
    tag = "users",
    summary = "Update a user",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`.")),
    request_body(content = crate::openapi::UserUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated user.", body = crate::openapi::User),
        (status = 400, description = "Invalid body (`invalid_body`), a password too weak for the connection (`password_strength_error`), or, import mode off, a failing legacy script (`change_email`, `verify`, `change_password`; `auth0_idp_error`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "Another user of the connection has this email or username, or, with lazy migration, the legacy store gives the new email to another user (`auth0_idp_error`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        (status = 503, description = "The legacy user store could not be asked about the new email, or the password hashing pool is full (`temporarily_unavailable`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["update:users"]), ("bearerAuth" = ["update:users_app_metadata"])),
)]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let only_app_metadata = body
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "app_metadata"));
    if only_app_metadata {
        caller.require(&["update:users", "update:users_app_metadata"])?;
    } else {
        caller.require(&["update:users"])?;
    }
    let user = crate::user_admin::update(&s, &id, &body, Changer::Api(&caller)).await?;
    Ok(Json(user_json(&user)))
}

/// `DELETE /users/{id}`: 204 whether or not the user existed, as Auth0.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    operation_id = "delete_user",
    tag = "users",
    summary = "Delete a user",
    params(("id" = String, Path, description = "The user_id, e.g. `auth0|…`.")),
    responses(
        (status = 204, description = "Deleted, or there was no such user."),
        (status = 400, description = "Import mode off: the connection's delete script failed (`auth0_idp_error`); nothing was deleted.", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:users"])),
)]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:users"])?;
    crate::user_admin::delete(&s, &id, Changer::Api(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users-by-email?email=`.
#[utoipa::path(
    get,
    path = "/users-by-email",
    operation_id = "get_users_by_email",
    tag = "users",
    summary = "Find users by email",
    params(crate::openapi::EmailParam, crate::openapi::FieldsParams),
    responses(
        (status = 200, description = "Users with this email, in every connection.", body = [crate::openapi::User]),
        (status = 400, description = "Missing `email`, or invalid query (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["read:users"])),
)]
pub async fn by_email(
    State(s): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&["read:users"])?;
    let email = q.str("email").filter(|e| !e.is_empty()).ok_or_else(|| {
        ApiError::invalid_query("Query validation error: 'Missing required property: email'.")
    })?;
    let (fields, include) = q.fields()?;
    let users = s.store.users_by_email(s.tid(), email).await?;
    Ok(Json(Value::Array(
        users
            .iter()
            .map(|u| project_fields(user_json(u), &fields, include))
            .collect(),
    )))
}

/// `DELETE /connections/{id}/users?email=`: the clean-up Auth0 documents for
/// `DUPLICATED_USER`.
#[utoipa::path(
    delete,
    path = "/connections/{id}/users",
    operation_id = "delete_connection_users_by_email",
    tag = "users",
    summary = "Delete a connection's users by email",
    params(("id" = String, Path, description = "The connection id."), crate::openapi::EmailParam),
    responses(
        (status = 204, description = "Deleted (or there was no such user)."),
        (status = 400, description = "Missing `email` (`invalid_query_string`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such connection (`inexistent_connection`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["delete:users"])),
)]
pub async fn delete_by_email(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<StatusCode, ApiError> {
    caller.require(&["delete:users"])?;
    let email = q.str("email").filter(|e| !e.is_empty()).ok_or_else(|| {
        ApiError::invalid_query("Query validation error: 'Missing required property: email'.")
    })?;
    let connection = s.store.get_connection(s.tid(), &id).await?.ok_or_else(|| {
        ApiError::not_found("inexistent_connection", "The connection does not exist.")
    })?;
    crate::console_app::guard_user_change(&caller, &connection.name)?;
    s.store
        .delete_users_by_email(s.tid(), &connection.id, &email.to_lowercase())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
