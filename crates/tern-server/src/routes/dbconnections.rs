//! `POST /dbconnections/signup`: self-service signup on a database
//! connection. With lazy migration on, the legacy store is asked first
//! (`get_user`), so a legacy user cannot sign up a second time. With import
//! mode off the legacy store creates the user (`legacy_ops::create_user`).
//!
//! `POST /dbconnections/change_password`: mail a reset link. The answer is
//! the same whether or not the user exists, and comes before the work (a
//! legacy `get_user`, the mail), whose duration would tell; a user only the
//! legacy store knows is created from its `get_user` profile, without a
//! password, and the link sets one.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tern_core::user_profile::{ProfileFields, ProfileRequest, is_valid_email, normalize_email};

use crate::body::read_limited;
use crate::error::OAuthError;
use crate::reset::dispatch_reset_request;
use crate::signup::SignupFailure;
use crate::state::AppState;

const FIELDS: &[&str] = &[
    "client_id",
    "email",
    "password",
    "connection",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "user_metadata",
];

fn too_large() -> OAuthError {
    OAuthError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "The request body is larger than 64 KB.",
    )
}

fn request_error(code: &'static str, msg: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, code, msg)
}

/// `/dbconnections/*` take JSON only (415 otherwise). A page on any site can
/// make a browser POST `text/plain`, a form or a body without a type here
/// without a CORS preflight; a JSON body needs one, which Tern never grants.
/// So refusing everything else keeps other sites from signing people up or
/// mailing them reset links. The official SDKs all send `application/json`.
fn require_json(req: &Request) -> Result<(), OAuthError> {
    let given = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = given
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        return Ok(());
    }
    Err(OAuthError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        match given {
            Some(ct) => format!(
                "Unsupported Media Type '{ct}': send the parameters as a JSON object with Content-Type: application/json."
            ),
            None => "Unsupported Media Type: the request has no Content-Type; send the parameters as a JSON object with Content-Type: application/json.".to_string(),
        },
    ))
}

/// `POST /dbconnections/signup`.
#[utoipa::path(
    post,
    path = "/dbconnections/signup",
    operation_id = "dbconnections_signup",
    tag = "authentication",
    summary = "Sign a user up to a database connection",
    request_body(content = crate::openapi::SignupRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The new user.", body = crate::openapi::SignupResponse),
        (status = 400, description = "Invalid request (`invalid_request`), user exists or invalid profile (`invalid_signup`), or weak password (`invalid_password`).", body = crate::openapi::OAuthErrorBody),
        (status = 403, description = "Sign-up is disabled for the connection (`operation_not_allowed`).", body = crate::openapi::OAuthErrorBody),
        (status = 413, description = "The body is larger than 64 KB (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
        (status = 415, description = "The body is not JSON (`Content-Type` other than `application/json`, or none): `invalid_request`.", body = crate::openapi::OAuthErrorBody),
        (status = 429, description = "Suspicious-IP throttling: too many signups from this address (`too_many_attempts`).", body = crate::openapi::OAuthErrorBody),
        (status = 503, description = "The legacy user store could not be asked (`temporarily_unavailable`).", body = crate::openapi::OAuthErrorBody),
    ),
)]
pub async fn signup(
    State(s): State<AppState>,
    crate::client_ip::ClientIp(ip): crate::client_ip::ClientIp,
    req: Request,
) -> Result<Response, OAuthError> {
    require_json(&req)?;
    let bytes = read_limited(req, 64 * 1024)
        .await
        .map_err(|_| too_large())?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| request_error("invalid_request", format!("Invalid JSON body: {e}")))?;
    let obj = body
        .as_object()
        .ok_or_else(|| request_error("invalid_request", "The body must be a JSON object."))?;
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(request_error(
            "invalid_request",
            format!("Unknown parameter: {k}"),
        ));
    }
    let get = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let client_id = get("client_id")
        .ok_or_else(|| request_error("invalid_request", "Missing required parameter: client_id"))?;
    let name = get("connection").ok_or_else(|| {
        request_error("invalid_request", "Missing required parameter: connection")
    })?;
    let (client, connection) = client_and_connection(&s, &client_id, &name).await?;
    if !crate::signup::allowed(&connection) {
        return Err(disabled());
    }
    // Signup metadata: at most 10 string fields of at most 500 characters (Auth0's rule).
    if let Some(m) = obj.get("user_metadata") {
        let ok = m.as_object().is_some_and(|m| {
            m.len() <= 10
                && m.values()
                    .all(|v| v.as_str().is_some_and(|s| s.chars().count() <= 500))
        });
        if !ok {
            return Err(request_error(
                "invalid_signup",
                "user_metadata may hold at most 10 string fields of at most 500 characters.",
            ));
        }
    }
    let mut profile = body.clone();
    if let Some(o) = profile.as_object_mut() {
        o.remove("client_id");
    }
    let f = ProfileFields::from_json(&profile, ProfileRequest::Create)
        .map_err(|e| request_error("invalid_signup", e.to_string()))?;
    let user = crate::signup::sign_up(&s, &client, &connection, f, &ip.to_string())
        .await
        .map_err(|e| match e {
            SignupFailure::Disabled => disabled(),
            SignupFailure::MissingEmail => {
                request_error("invalid_request", "Missing required parameter: email")
            }
            SignupFailure::MissingPassword => {
                request_error("invalid_request", "Missing required parameter: password")
            }
            SignupFailure::WeakPassword(r) => request_error("invalid_password", r.to_string()),
            SignupFailure::Exists => request_error("invalid_signup", "The user already exists"),
            SignupFailure::BadUsername(e) => request_error("invalid_signup", e.to_string()),
            SignupFailure::LegacyUnavailable => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The legacy user store could not be reached; try again later.",
            ),
            SignupFailure::Legacy(e) => e.to_oauth("invalid_signup"),
            SignupFailure::Throttled(e) => e,
            SignupFailure::Busy => OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The server is busy hashing passwords; try again in a moment.",
            ),
            SignupFailure::Store(e) => e.into(),
        })?;
    Ok(Json(json!({"_id": user.local_id(), "email": user.email, "email_verified": user.email_verified, "username": user.username})).into_response())
}

fn disabled() -> OAuthError {
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "operation_not_allowed",
        "Public signup is disabled.",
    )
}

/// Auth0's answer to every accepted change-password request.
pub const CHANGE_PASSWORD_SENT: &str = "We've just sent you an email to reset your password.";

const CHANGE_PASSWORD_FIELDS: &[&str] = &["client_id", "email", "connection"];

/// `POST /dbconnections/change_password`.
#[utoipa::path(
    post,
    path = "/dbconnections/change_password",
    operation_id = "dbconnections_change_password",
    tag = "authentication",
    summary = "Mail a password reset link",
    description = "Answers the same whether or not the user exists, before the lookup and the mail run (their outcome is in the tenant log: `scpr`, `fcpr`, `fn`). On a connection whose legacy store is asked (`get_user`), a user Tern does not know yet is created from the legacy profile without a password; the link sets it.",
    request_body(content = crate::openapi::ChangePasswordRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Accepted: a link was mailed if the user exists.", content_type = "text/plain", body = String, example = json!(CHANGE_PASSWORD_SENT)),
        (status = 400, description = "Invalid request: missing or malformed parameter, unknown client, or a connection that does not exist or is not enabled for the client (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
        (status = 413, description = "The body is larger than 64 KB (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
        (status = 415, description = "The body is not JSON (`Content-Type` other than `application/json`, or none): `invalid_request`; nothing is mailed.", body = crate::openapi::OAuthErrorBody),
    ),
)]
pub async fn change_password(
    State(s): State<AppState>,
    crate::client_ip::ClientIp(ip): crate::client_ip::ClientIp,
    req: Request,
) -> Result<Response, OAuthError> {
    require_json(&req)?;
    let bytes = read_limited(req, 64 * 1024)
        .await
        .map_err(|_| too_large())?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| request_error("invalid_request", format!("Invalid JSON body: {e}")))?;
    let obj = body
        .as_object()
        .ok_or_else(|| request_error("invalid_request", "The body must be a JSON object."))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !CHANGE_PASSWORD_FIELDS.contains(&k.as_str()))
    {
        return Err(request_error(
            "invalid_request",
            format!("Unknown parameter: {k}"),
        ));
    }
    let get = |k: &str| -> Result<String, OAuthError> {
        match obj.get(k) {
            Some(Value::String(v)) if !v.is_empty() => Ok(v.clone()),
            None | Some(Value::Null) => Err(request_error(
                "invalid_request",
                format!("Missing required parameter: {k}"),
            )),
            Some(_) => Err(request_error(
                "invalid_request",
                format!("Parameter '{k}' must be a non-empty string."),
            )),
        }
    };
    let client_id = get("client_id")?;
    let name = get("connection")?;
    let email = normalize_email(get("email")?.trim());
    if !is_valid_email(&email) {
        return Err(request_error(
            "invalid_request",
            "The email is not a valid address.",
        ));
    }
    let (client, connection) = client_and_connection(&s, &client_id, &name).await?;

    dispatch_reset_request(
        &s,
        connection,
        client,
        email,
        ip.to_string(),
        crate::reset::RESET_PATH.to_string(),
    )
    .await;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        CHANGE_PASSWORD_SENT,
    )
        .into_response())
}

/// The calling application and the database connection it names, which must
/// be enabled for it (both `/dbconnections` endpoints answer the same errors).
async fn client_and_connection(
    s: &AppState,
    client_id: &str,
    name: &str,
) -> Result<(tern_core::model::Client, tern_core::model::Connection), OAuthError> {
    let client = s
        .store
        .get_client(s.tid(), client_id)
        .await?
        .ok_or_else(|| request_error("invalid_request", "Unknown client."))?;
    let connection = s
        .store
        .get_connection_by_name(s.tid(), name)
        .await?
        .filter(|c| c.enabled_clients.contains(&client.client_id))
        .ok_or_else(|| {
            request_error(
                "invalid_request",
                format!(
                    "The connection '{name}' does not exist or is not enabled for this client."
                ),
            )
        })?;
    Ok((client, connection))
}
