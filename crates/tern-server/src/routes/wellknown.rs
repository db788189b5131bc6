//! OpenID discovery and the JWKS.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /.well-known/jwks.json`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "get_jwks",
    tag = "authentication",
    summary = "The tenant's public signing keys",
    responses(
        (status = 200, description = "The JWKS.", body = crate::openapi::Jwks),
    ),
)]
pub async fn jwks(State(state): State<AppState>) -> Json<jsonwebtoken::jwk::JwkSet> {
    Json(state.keys.jwks())
}

/// `GET /.well-known/openid-configuration`: every URL from the public URL
/// (https even when Tern listens on plain http), as SDKs verify the issuer.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "get_openid_configuration",
    tag = "authentication",
    summary = "OpenID Connect discovery",
    responses(
        (status = 200, description = "The discovery document.", body = crate::openapi::OpenIdConfiguration),
    ),
)]
pub async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let base = &state.public_url;
    Json(json!({
        "issuer": state.issuer(),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{base}/oidc/logout"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password", "http://auth0.com/oauth/grant-type/password-realm", "http://auth0.com/oauth/grant-type/mfa-otp"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post", "web_message"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["aud", "auth_time", "azp", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "nickname", "nonce", "picture", "sid", "sub", "updated_at"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    }))
}
