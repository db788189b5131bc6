//! `POST /api/v2/tickets/password-change`: a reset link for a user, made by
//! an administrator (the Management API) instead of mailed to the user.
//! A ticket for an operator needs every Management API scope
//! (`console_app::guard_user_change`): its link sets the operator's password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tern_core::email_verification::VerificationOptions;
use tern_core::ids::is_connection_id;
use tern_core::model::User;
use tern_core::tickets::{self, TicketOptions};
use tern_core::user_profile::{is_valid_email, normalize_email};

use super::{field, object_with};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::console_app;
use crate::error::ApiError;
use crate::lazy::{self, LegacyLookup, ResetMigration};
use crate::state::AppState;
use tern_core::legacy::LegacyProfile;

const FIELDS: &[&str] = &[
    "result_url",
    "user_id",
    "client_id",
    "connection_id",
    "email",
    "ttl_sec",
    "mark_email_as_verified",
    "includeEmailInRedirect",
];

/// An absolute http(s) URL for the redirect after the reset.
pub fn parse_result_url(raw: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(raw).map_err(|e| format!("result_url is not a URL: {e}."))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("result_url must be an absolute http or https URL.".into());
    }
    Ok(u)
}

/// `POST /tickets/password-change`.
#[utoipa::path(
    post,
    path = "/tickets/password-change",
    operation_id = "post_password_change_ticket",
    tag = "tickets",
    summary = "Create a password change ticket",
    description = "A link that lets the user set a new password once, until it expires. The user is named by `user_id`, or by `email` and `connection_id`; on a connection whose legacy store is asked (`get_user`), a user Tern does not know yet is created from the legacy profile without a password.",
    request_body(content = crate::openapi::PasswordChangeTicketRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The ticket.", body = crate::openapi::PasswordChangeTicket),
        (status = 400, description = "Invalid body, unknown connection or client, a user without email, or a bad `result_url` or `ttl_sec` (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 409, description = "The legacy store's profile for this email contradicts a stored user; see the `w` event in the tenant log (`legacy_conflict`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        (status = 503, description = "The legacy user store could not be asked (`temporarily_unavailable`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:user_tickets"])),
)]
pub async fn password_change(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:user_tickets"])?;
    let obj = object_with(&body, FIELDS)?;
    let user_id: Option<String> = field(obj, "user_id")?;
    let email: Option<String> = field(obj, "email")?;
    let connection_id: Option<String> = field(obj, "connection_id")?;
    let client_id: Option<String> = field(obj, "client_id")?;
    let result_url: Option<String> = field(obj, "result_url")?;
    let ttl = tickets::ttl(field::<i64>(obj, "ttl_sec")?).map_err(ApiError::invalid_body)?;
    let options = TicketOptions {
        mark_email_as_verified: field(obj, "mark_email_as_verified")?.unwrap_or(false),
        include_email_in_redirect: field(obj, "includeEmailInRedirect")?.unwrap_or(false),
        result_url: match result_url {
            Some(_) if client_id.is_some() => {
                return Err(ApiError::invalid_body(
                    "result_url cannot be specified together with client_id.",
                ));
            }
            Some(u) => Some(
                parse_result_url(&u)
                    .map_err(ApiError::invalid_body)?
                    .to_string(),
            ),
            None => None,
        },
        client_id: match client_id {
            Some(id) => Some(
                s.store
                    .get_client(s.tid(), &id)
                    .await?
                    .ok_or_else(|| ApiError::invalid_body("The client does not exist"))?
                    .client_id,
            ),
            None => None,
        },
    };
    let (user, pending) = match (user_id, email, connection_id) {
        (Some(id), None, None) => {
            let user = s
                .store
                .get_user(s.tid(), &id)
                .await?
                .ok_or_else(user_not_found)?;
            console_app::guard_user_change(&caller, &user.connection_name)?;
            (user, None)
        }
        (None, Some(email), Some(connection_id)) => {
            by_email(&s, &caller, &email, &connection_id).await?
        }
        (Some(_), _, _) => {
            return Err(ApiError::invalid_body(
                "Payload validation error: send user_id, or email and connection_id, not both.",
            ));
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(ApiError::invalid_body(
                "Payload validation error: email and connection_id go together.",
            ));
        }
        (None, None, None) => {
            return Err(ApiError::invalid_body(
                "Payload validation error: 'Missing required property: user_id' (or email and connection_id).",
            ));
        }
    };
    if user.email.is_none() {
        return Err(ApiError::invalid_body(
            "The user does not have an email address.",
        ));
    }
    let ticket =
        crate::reset::issue_ticket_at(&s, &user, ttl, options, crate::reset::RESET_PATH, pending)
            .await?;
    Ok((StatusCode::CREATED, Json(json!({"ticket": ticket}))).into_response())
}

fn user_not_found() -> ApiError {
    ApiError::not_found("inexistent_user", "The user does not exist.")
}

/// The user of `email` on the connection; for one only the legacy store
/// knows, the user its `get_user` profile makes and that profile, which the
/// ticket carries until its link creates the user with the new password.
async fn by_email(
    s: &AppState,
    caller: &Caller,
    email: &str,
    connection_id: &str,
) -> Result<(User, Option<LegacyProfile>), ApiError> {
    if !is_connection_id(connection_id) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{{16}}$' on property connection_id: {connection_id}."
        )));
    }
    let email = normalize_email(email.trim());
    if !is_valid_email(&email) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'Object didn't pass validation for format email: {email}' on property email."
        )));
    }
    let connection = s
        .store
        .get_connection(s.tid(), connection_id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid_body(format!(
                "The connection with id {connection_id} does not exist."
            ))
        })?;
    // Before the legacy store is asked: its profile may be stored.
    console_app::guard_user_change(caller, &connection.name)?;
    if let Some(u) = s
        .store
        .get_user_by_email(s.tid(), &connection.id, &email)
        .await?
    {
        return Ok((u, None));
    }
    let conflict = |why: String| ApiError::new(StatusCode::CONFLICT, "legacy_conflict", why);
    match lazy::get_user(s, &connection, &email).await {
        Ok(LegacyLookup::NotFound) => Err(user_not_found()),
        Ok(LegacyLookup::Unusable(why)) => Err(conflict(why)),
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            format!("The legacy user store could not be asked (get_user): {e}"),
        )),
        Ok(LegacyLookup::Found(profile)) => {
            match lazy::prepare_reset(s, &connection, &email, *profile).await? {
                ResetMigration::Stored(u) => Ok((*u, None)),
                ResetMigration::Pending { user, profile } => Ok((*user, Some(*profile))),
                ResetMigration::Refused(why) => Err(conflict(why)),
            }
        }
    }
}

const VERIFICATION_FIELDS: &[&str] = &[
    "result_url",
    "user_id",
    "client_id",
    "organization_id",
    "ttl_sec",
    "includeEmailInRedirect",
    "identity",
];

/// `POST /tickets/email-verification`.
#[utoipa::path(
    post,
    path = "/tickets/email-verification",
    operation_id = "post_email_verification_ticket",
    tag = "tickets",
    summary = "Create an email verification ticket",
    description = "A link that sets the user's `email_verified` once, until it expires, while the user still has the address it was made for. On a connection whose legacy store is the source of truth, the connection's `verify` script runs first.",
    request_body(content = crate::openapi::EmailVerificationTicketRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The ticket.", body = crate::openapi::EmailVerificationTicket),
        (status = 400, description = "Invalid body, unknown client, `organization_id` (Tern has no organizations), an identity the user does not have, a user without email or blocked, a bad `result_url` or `ttl_sec` (`invalid_body`).", body = crate::openapi::ApiErrorBody),
        (status = 404, description = "No such user (`inexistent_user`).", body = crate::openapi::ApiErrorBody),
        (status = 413, description = "The body is larger than the limit (`payload_too_large`).", body = crate::openapi::ApiErrorBody),
        crate::openapi::ManagementErrors,
    ),
    security(("bearerAuth" = ["create:user_tickets"])),
)]
pub async fn email_verification(
    State(s): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(&["create:user_tickets"])?;
    let obj = object_with(&body, VERIFICATION_FIELDS)?;
    let (user, client_id) = verification_target(&s, &caller, obj).await?;
    let ttl = tickets::ttl(field::<i64>(obj, "ttl_sec")?).map_err(ApiError::invalid_body)?;
    let result_url: Option<String> = field(obj, "result_url")?;
    if result_url.is_some() && client_id.is_some() {
        return Err(ApiError::invalid_body(
            "result_url cannot be specified together with client_id.",
        ));
    }
    let options = VerificationOptions {
        result_url: result_url
            .map(|u| parse_result_url(&u).map(|u| u.to_string()))
            .transpose()
            .map_err(ApiError::invalid_body)?,
        client_id,
        include_email_in_redirect: field(obj, "includeEmailInRedirect")?.unwrap_or(false),
    };
    let ticket = crate::verification::issue_ticket(&s, &user, ttl, options).await?;
    Ok((StatusCode::CREATED, Json(json!({"ticket": ticket}))).into_response())
}

/// Whom an email-verification request (a ticket, or the mail job) is for:
/// the user `user_id` names — `identity`, if given, must be theirs — whom
/// the caller may change, and the application `client_id` names, which must
/// exist. Tern has no organizations: `organization_id` is refused.
pub(super) async fn verification_target(
    s: &AppState,
    caller: &Caller,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<(User, Option<String>), ApiError> {
    if obj.contains_key("organization_id") {
        return Err(ApiError::invalid_body(
            "The organization does not exist: Tern has no organizations.",
        ));
    }
    let user_id: String = field(obj, "user_id")?.ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Missing required property: user_id'.")
    })?;
    let client_id = match field::<String>(obj, "client_id")? {
        Some(id) => Some(
            s.store
                .get_client(s.tid(), &id)
                .await?
                .ok_or_else(|| ApiError::invalid_body("The client does not exist"))?
                .client_id,
        ),
        None => None,
    };
    let identity: Option<serde_json::Value> = field(obj, "identity")?;
    let user = s
        .store
        .get_user(s.tid(), &user_id)
        .await?
        .ok_or_else(user_not_found)?;
    console_app::guard_user_change(caller, &user.connection_name)?;
    if let Some(identity) = identity {
        check_identity(&user, &identity)?;
    }
    Ok((user, client_id))
}

/// Auth0's `identity` names one of the user's identities; a Tern user has
/// one, of provider `auth0`, whose `user_id` is the id without its prefix.
pub(super) fn check_identity(user: &User, identity: &serde_json::Value) -> Result<(), ApiError> {
    let provider = identity.get("provider").and_then(|v| v.as_str());
    let id = identity.get("user_id").and_then(|v| v.as_str());
    let (Some(provider), Some(id)) = (provider, id) else {
        return Err(ApiError::invalid_body(
            "Payload validation error: identity needs user_id and provider (strings).",
        ));
    };
    if provider != "auth0" || id != user.local_id() {
        return Err(ApiError::invalid_body(
            "The user exists, but does not contain the given identity.",
        ));
    }
    Ok(())
}
