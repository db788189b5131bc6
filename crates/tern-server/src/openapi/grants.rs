//! Schemas of users' grants seen through the Management API: refresh
//! tokens, user grants and device credentials (`grant_admin`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters of `GET /refresh-tokens`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefreshTokenFilter {
    /// The user whose tokens to list.
    #[param(min_length = 1)]
    pub user_id: String,
    /// Only the tokens of this application.
    #[param(nullable = false)]
    pub client_id: Option<String>,
}

/// Filters of `GET /grants`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantFilter {
    /// Only this user's grants.
    #[param(nullable = false)]
    pub user_id: Option<String>,
    /// Only this application's grants.
    #[param(nullable = false)]
    pub client_id: Option<String>,
    /// Only grants for this API identifier.
    #[param(nullable = false)]
    pub audience: Option<String>,
}

/// A required `user_id` query parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserIdParam {
    /// The user.
    #[param(min_length = 1)]
    pub user_id: String,
}

/// A device credential's kind.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceCredentialType {
    /// A public key (Tern keeps none).
    PublicKey,
    /// A non-rotating refresh token.
    RefreshToken,
    /// A rotating refresh token.
    RotatingRefreshToken,
}

/// Filters of `GET /device-credentials`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceCredentialFilter {
    /// Only this user's credentials.
    #[param(nullable = false)]
    pub user_id: Option<String>,
    /// Only this application's credentials.
    #[param(nullable = false)]
    pub client_id: Option<String>,
    /// Only credentials of this kind (both kinds of refresh token when absent).
    #[param(nullable = false, inline)]
    pub r#type: Option<DeviceCredentialType>,
}

/// An API a refresh token reaches, with its scopes.
#[derive(Serialize, ToSchema)]
pub struct RefreshTokenResourceServer {
    /// The API identifier (empty: the token is for `/userinfo` only).
    pub audience: String,
    /// Space-separated granted scopes.
    pub scopes: String,
}

/// A refresh token: a grant holding a live token (the id stays the same
/// across rotations).
#[derive(Serialize, ToSchema)]
pub struct RefreshToken {
    /// `gr_…`, the grant's id.
    pub id: String,
    /// The user.
    pub user_id: String,
    /// When the grant was made (ISO 8601).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the token expires unless used (null: never).
    #[schema(format = DateTime)]
    pub idle_expires_at: Option<String>,
    /// When the token family expires (null: never).
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// The request that made the grant (`initial_*`) and the one that
    /// issued the live token, or last exchanged it if it does not rotate
    /// (`last_*`).
    pub device: super::DeviceView,
    /// The application.
    pub client_id: String,
    /// The browser session the grant came from (null for the password grant).
    pub session_id: Option<String>,
    /// Whether each use replaces the token.
    pub rotating: bool,
    /// The API it reaches and the scopes.
    pub resource_servers: Vec<RefreshTokenResourceServer>,
    /// What an operator wrote on the family (`{}`: nothing); rotations keep it.
    pub refresh_token_metadata: super::AccessMetadata,
    /// The last exchange of the family's tokens (null: none yet).
    #[schema(format = DateTime)]
    pub last_exchanged_at: Option<String>,
}

/// `PATCH /refresh-tokens/{id}` (Auth0's `UpdateRefreshTokenRequestContent`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateRefreshToken {
    /// The family's new metadata, replacing the old: an object of at most
    /// 25 string values (each at most 255 characters); `null` or `{}`
    /// removes it all.
    pub refresh_token_metadata: Option<super::AccessMetadata>,
}

/// A page of a user's refresh tokens (`GET /users/{id}/refresh-tokens`).
#[derive(Serialize, ToSchema)]
pub struct UserRefreshTokenPage {
    /// The tokens.
    pub tokens: Vec<RefreshToken>,
    /// The `from` of the next page; absent on the last.
    #[schema(nullable = false)]
    pub next: Option<String>,
}

/// A page of refresh tokens (`GET /refresh-tokens`).
#[derive(Serialize, ToSchema)]
pub struct RefreshTokenPage {
    /// The tokens.
    pub refresh_tokens: Vec<RefreshToken>,
    /// The `from` of the next page; absent on the last.
    #[schema(nullable = false)]
    pub next: Option<String>,
}

/// `POST /refresh-tokens/revoke`: exactly one of `ids`; `user_id`;
/// `user_id` and `client_id`; `client_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRefreshTokens {
    /// Token ids (1 to 100).
    #[schema(nullable = false, min_items = 1, max_items = 100, value_type = Option<Vec<String>>)]
    pub ids: Option<Vec<String>>,
    /// Every token of this user.
    #[schema(nullable = false, min_length = 1, max_length = 300)]
    pub user_id: Option<String>,
    /// Every token of this application.
    #[schema(nullable = false, min_length = 1, max_length = 64)]
    pub client_id: Option<String>,
}

/// A user's grant: one unrevoked authorization of an application.
#[derive(Serialize, ToSchema)]
pub struct UserGrant {
    /// `gr_…`.
    pub id: String,
    /// The application.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The API (absent: `/userinfo` only).
    #[schema(nullable = false)]
    pub audience: Option<String>,
    /// Granted scopes.
    pub scope: Vec<String>,
}

/// A refresh token seen as a device credential (every property may be
/// left out by `fields`).
#[derive(Serialize, ToSchema)]
pub struct DeviceCredential {
    /// `dcr_` and 16 alphanumerics.
    #[schema(nullable = false)]
    pub id: Option<String>,
    /// `refresh_token` or `rotating_refresh_token`.
    #[schema(nullable = false)]
    pub r#type: Option<DeviceCredentialType>,
    /// The user.
    #[schema(nullable = false)]
    pub user_id: Option<String>,
    /// The application.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
}
