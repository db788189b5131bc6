//! Auth0's MFA API for the password grants: `POST /mfa/challenge`,
//! `GET /mfa/authenticators` and `POST /mfa/associate`, all on the
//! `mfa_token` of an `mfa_required` answer (the logic is in `mfa`).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::oauth::{client_credentials, invalid_client, read_params};
use crate::auth::bearer;
use crate::client_secret::secret_matches;
use crate::error::OAuthError;
use crate::state::AppState;

/// `POST /mfa/challenge`.
#[utoipa::path(
    post,
    path = "/mfa/challenge",
    operation_id = "mfa_challenge",
    tag = "authentication",
    summary = "Ask for a challenge with the mfa_token of an mfa_required answer",
    request_body(content(
        (crate::openapi::MfaChallengeRequest = "application/json"),
        (crate::openapi::MfaChallengeRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The challenge: `{\"challenge_type\": \"otp\"}` (enter the code of the authenticator app).", body = crate::openapi::MfaChallengeResponse),
        (status = 400, description = "Missing parameter (`invalid_request`), or a challenge type the user has no authenticator for (`unsupported_challenge_type`).", body = crate::openapi::OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = crate::openapi::OAuthErrorBody),
        (status = 403, description = "A malformed, foreign (`invalid_grant`) or expired (`expired_token`) mfa_token.", body = crate::openapi::OAuthErrorBody),
    ),
    security((), ("clientSecretBasic" = [])),
)]
pub async fn challenge(State(s): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let result = async {
        let p = read_params(req).await?;
        let (client_id, secret) = client_credentials(&headers, &p)?;
        let client = s.store.get_client(s.tid(), &client_id).await?;
        let authenticated = match (&client, &secret) {
            (Some(c), Some(sec)) => secret_matches(c, sec),
            (Some(c), None) => c.token_endpoint_auth_method == "none",
            _ => false,
        };
        let client = client
            .filter(|_| authenticated)
            .ok_or_else(invalid_client)?;
        let pending = crate::mfa::read_token(&s, p.require("mfa_token")?, &client.client_id)?;
        let kind = p.require("challenge_type")?;
        let user = crate::mfa::pending_user(&s, &pending).await?;
        if crate::mfa::must_enrol(&user) {
            // Nothing to challenge yet: `/mfa/associate` first (the draft
            // OAuth MFA spec's error, which Auth0 answers too).
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "association_required",
                "The user has no authenticator: enrol one with /mfa/associate.",
            ));
        }
        // `otp` only: Tern sends no SMS, email or push (Auth0's `oob`).
        if kind.split_whitespace().any(|k| k == "otp") {
            return Ok(json!({"challenge_type": "otp"}));
        }
        Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_challenge_type",
            "The user has no authenticator for this challenge type (Tern supports otp).",
        ))
    }
    .await;
    crate::error::no_store(result)
}

/// `GET /mfa/authenticators` with the `mfa_token` as bearer token.
#[utoipa::path(
    get,
    path = "/mfa/authenticators",
    operation_id = "mfa_authenticators",
    tag = "authentication",
    summary = "The authenticators of the user an mfa_token is for",
    params(("client_id" = Option<String>, Query, description = "Ignored: the mfa_token names its application.")),
    responses(
        (status = 200, description = "The user's authenticators (TOTP apps; never their seeds).", body = Vec<crate::openapi::MfaAuthenticator>),
        (status = 401, description = "No bearer token (`invalid_token`).", body = crate::openapi::OAuthErrorBody),
        (status = 403, description = "A malformed mfa_token, one of a deleted application or user (`invalid_grant`), or an expired one (`expired_token`).", body = crate::openapi::OAuthErrorBody),
    ),
    security(("mfaToken" = [])),
)]
pub async fn authenticators(
    State(s): State<AppState>,
    ConnectInfo(_peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Missing bearer token (the mfa_token).",
        )
        .into_response();
    };
    let result = async {
        let pending = crate::mfa::read_token_of_existing_client(&s, token).await?;
        let user = crate::mfa::pending_user(&s, &pending).await?;
        Ok::<_, OAuthError>(crate::mfa::authenticators(&user))
    }
    .await;
    match result {
        Ok(list) => Json(list).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /mfa/associate` with the `mfa_token` as bearer token: start the
/// enrolment of an authenticator app for a user who has none. The answer
/// carries the seed (once); the mfa-otp grant with the app's first code
/// confirms it and finishes the login.
#[utoipa::path(
    post,
    path = "/mfa/associate",
    operation_id = "mfa_associate",
    tag = "authentication",
    summary = "Enrol an authenticator app with the mfa_token of an mfa_required answer",
    request_body(content(
        (crate::openapi::MfaAssociateRequest = "application/json"),
        (crate::openapi::MfaAssociateRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The enrolment, pending until the mfa-otp grant confirms it with a code.", body = crate::openapi::MfaAssociateResponse),
        (status = 400, description = "A malformed body, or authenticator types other than `otp` (`invalid_request`, `unsupported_challenge_type`).", body = crate::openapi::OAuthErrorBody),
        (status = 401, description = "No bearer token (`invalid_token`).", body = crate::openapi::OAuthErrorBody),
        (status = 403, description = "A malformed mfa_token, one of a deleted application or user (`invalid_grant`), an expired one (`expired_token`), or the user already has an authenticator (`access_denied`).", body = crate::openapi::OAuthErrorBody),
        (status = 413, description = "The body is larger than 64 KB (`invalid_request`).", body = crate::openapi::OAuthErrorBody),
    ),
    security(("mfaToken" = [])),
)]
pub async fn associate(State(s): State<AppState>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()).map(str::to_string) else {
        return OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Missing bearer token (the mfa_token).",
        )
        .into_response();
    };
    let result = async {
        let types = authenticator_types(req).await?;
        if types.is_empty() || types.iter().any(|t| t != "otp") {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_challenge_type",
                "Tern enrols authenticator apps only: authenticator_types must be [\"otp\"].",
            ));
        }
        let pending = crate::mfa::read_token_of_existing_client(&s, &token).await?;
        let user = crate::mfa::pending_user(&s, &pending).await?;
        if !crate::mfa::must_enrol(&user) {
            // Adding a second app needs the first one (Auth0 asks for a
            // token with the `enroll` scope then; Tern has none).
            return Err(OAuthError::access_denied("User is already enrolled."));
        }
        let seed = crate::mfa::start_enrolment(&s, &user)
            .await?
            .ok_or_else(|| OAuthError::invalid_request("The user changed; try again."))?;
        let account = user
            .email
            .as_deref()
            .or(user.username.as_deref())
            .unwrap_or(&user.user_id);
        Ok(json!({
            "authenticator_type": "otp",
            "secret": seed,
            "barcode_uri": crate::mfa::otpauth_uri(&seed, account),
        }))
    }
    .await;
    crate::error::no_store(result)
}

/// `authenticator_types` of an associate body: a JSON array, or repeated
/// (or space-separated) form values.
async fn authenticator_types(req: Request) -> Result<Vec<String>, OAuthError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    let bytes = crate::body::read_limited(req, 64 * 1024)
        .await
        .map_err(|_| {
            OAuthError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "The request body is larger than 64 KB.",
            )
        })?;
    if is_json {
        #[derive(serde::Deserialize)]
        struct Body {
            authenticator_types: Vec<String>,
        }
        let body: Body = serde_json::from_slice(&bytes).map_err(|_| {
            OAuthError::invalid_request("authenticator_types must be an array of strings.")
        })?;
        return Ok(body.authenticator_types);
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| OAuthError::invalid_request("The body is not UTF-8."))?;
    Ok(url::form_urlencoded::parse(text.as_bytes())
        .filter(|(k, _)| k == "authenticator_types" || k == "authenticator_types[]")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect())
}
