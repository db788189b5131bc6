//! Auth0's MFA API for the password grants: `POST /mfa/challenge` and
//! `GET /mfa/authenticators`, both on the `mfa_token` of an `mfa_required`
//! answer (the logic is in `mfa`).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
        // `otp` only: Tern sends no SMS, email or push (Auth0's `oob`).
        let has_otp = !crate::mfa::authenticators(&user).is_empty();
        if kind.split_whitespace().any(|k| k == "otp") && has_otp {
            return Ok(json!({"challenge_type": "otp"}));
        }
        Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_challenge_type",
            "The user has no authenticator for this challenge type (Tern supports otp).",
        ))
    }
    .await;
    let mut resp = match result {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(e) => e.into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
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
        (status = 403, description = "A malformed (`invalid_grant`) or expired (`expired_token`) mfa_token.", body = crate::openapi::OAuthErrorBody),
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
        let pending = crate::mfa::read_token_any_client(&s, token)?;
        let user = crate::mfa::pending_user(&s, &pending).await?;
        Ok::<_, OAuthError>(crate::mfa::authenticators(&user))
    }
    .await;
    match result {
        Ok(list) => Json(list).into_response(),
        Err(e) => e.into_response(),
    }
}
