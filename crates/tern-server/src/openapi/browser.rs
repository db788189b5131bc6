//! Schemas of the browser sign-in endpoints: `/authorize`, the hosted
//! pages, logout, revocation, tenant settings and branding.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The parameters of `/authorize` (query string, or a form body for POST).
/// Unknown parameters are ignored.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeParams {
    /// The application.
    pub client_id: String,
    /// One of the application's `callbacks`, exactly.
    pub redirect_uri: String,
    /// `code`.
    pub response_type: String,
    /// `query` (default), `form_post` or `web_message`.
    pub response_mode: Option<String>,
    /// Space-separated: `openid`, `profile`, `email`, `offline_access`, API scopes.
    pub scope: Option<String>,
    /// Echoed back to the callback.
    pub state: Option<String>,
    /// Copied into the ID token.
    pub nonce: Option<String>,
    /// The API the access token is for.
    pub audience: Option<String>,
    /// A database connection enabled for the application.
    pub connection: Option<String>,
    /// `none` (silent authentication) or `login` (ask again).
    pub prompt: Option<String>,
    /// `signup`: open the signup page.
    pub screen_hint: Option<String>,
    /// Pre-fills the identifier.
    pub login_hint: Option<String>,
    /// Seconds since the last login after which the user must log in again.
    pub max_age: Option<i64>,
    /// Preferred languages of the pages (`fr`, `en`).
    pub ui_locales: Option<String>,
    /// PKCE: BASE64URL(SHA-256(code_verifier)); required for public clients.
    pub code_challenge: Option<String>,
    /// `S256`.
    pub code_challenge_method: Option<String>,
}

/// The `state` of a hosted page: the login transaction.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateParam {
    /// The transaction `/authorize` started.
    pub state: String,
}

/// The login form.
#[derive(Deserialize, ToSchema)]
pub struct LoginForm {
    /// The transaction.
    pub state: String,
    /// Email or username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The signup form.
#[derive(Deserialize, ToSchema)]
pub struct SignupForm {
    /// The transaction.
    pub state: String,
    /// Email address.
    pub email: String,
    /// Username (connections with `requires_username`).
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// Password, checked against the connection's policy.
    pub password: String,
}

/// The password reset request form.
#[derive(Deserialize, ToSchema)]
pub struct ResetRequestForm {
    /// The transaction.
    pub state: String,
    /// Email address.
    pub email: String,
}

/// The parameters of `/v2/logout`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutParams {
    /// Where to go afterwards: one of the Allowed Logout URLs.
    #[serde(rename = "returnTo")]
    #[param(rename = "returnTo")]
    pub return_to: Option<String>,
    /// The application whose Allowed Logout URLs apply (else the tenant's).
    pub client_id: Option<String>,
}

/// The parameters of `/oidc/logout` (query, or form for POST).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OidcLogoutParams {
    /// An ID token Tern issued to the application.
    pub id_token_hint: Option<String>,
    /// The `sid` of the session to end.
    pub logout_hint: Option<String>,
    /// Where to go afterwards: one of the application's Allowed Logout URLs.
    pub post_logout_redirect_uri: Option<String>,
    /// The application.
    pub client_id: Option<String>,
    /// Echoed to `post_logout_redirect_uri`.
    pub state: Option<String>,
}

/// The body of `POST /oauth/revoke`.
#[derive(Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// The application the token was issued to.
    pub client_id: String,
    /// The client's secret (confidential clients; or HTTP Basic).
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    /// The refresh token.
    pub token: String,
}

/// Auth0's client `refresh_token` object.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenConfiguration {
    /// `rotating` or `non-rotating`.
    #[schema(pattern = "^(rotating|non-rotating)$")]
    pub rotation_type: String,
    /// `expiring` or `non-expiring`.
    #[schema(pattern = "^(expiring|non-expiring)$")]
    pub expiration_type: String,
    /// Seconds during which a rotated token may be exchanged again without counting as reuse.
    #[schema(nullable = false, minimum = 0)]
    pub leeway: Option<i64>,
    /// Absolute lifetime in seconds.
    #[schema(nullable = false, minimum = 1, maximum = 157_788_000)]
    pub token_lifetime: Option<i64>,
    /// No absolute lifetime.
    #[schema(nullable = false)]
    pub infinite_token_lifetime: Option<bool>,
    /// Lifetime without use, in seconds.
    #[schema(nullable = false, minimum = 1)]
    pub idle_token_lifetime: Option<i64>,
    /// No idle lifetime.
    #[schema(nullable = false)]
    pub infinite_idle_token_lifetime: Option<bool>,
    /// Multi-resource refresh token policies (checked and kept, not acted on).
    #[schema(min_items = 1)]
    pub policies: Option<Vec<RefreshTokenPolicy>>,
}

/// One multi-resource refresh token policy.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenPolicy {
    /// The API's identifier.
    #[schema(min_length = 1, max_length = 600)]
    pub audience: String,
    /// Permissions on that API, each 1–280 characters.
    pub scope: Vec<String>,
}

/// The tenant settings Tern acts on.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// The name the hosted pages show.
    #[schema(nullable = false)]
    pub friendly_name: Option<String>,
    /// Hours a session lives (default 168).
    #[schema(nullable = false, minimum = 0.0167, maximum = 8760)]
    pub session_lifetime: Option<f64>,
    /// Hours a session lives without use (default 72).
    #[schema(nullable = false, minimum = 0.0167, maximum = 8760)]
    pub idle_session_lifetime: Option<f64>,
    /// Where `/v2/logout` may return to without `client_id`.
    #[schema(nullable = false)]
    pub allowed_logout_urls: Option<Vec<String>>,
    /// Where a login page opened without a transaction sends the browser.
    #[schema(nullable = false)]
    pub default_redirection_uri: Option<String>,
    /// Support address (the email templates' `support_email`).
    #[schema(nullable = false)]
    pub support_email: Option<String>,
    /// Support page, http(s) (the email templates' `support_url`).
    #[schema(nullable = false)]
    pub support_url: Option<String>,
}

/// Branding colours.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingColors {
    /// Accent colour, `#rrggbb` or `#rgb`.
    #[schema(nullable = false, pattern = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub primary: Option<String>,
    /// Page background colour.
    #[schema(nullable = false, pattern = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub page_background: Option<String>,
}

/// The branding of the hosted pages.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Colours.
    #[schema(nullable = false)]
    pub colors: Option<BrandingColors>,
    /// Logo (https).
    #[schema(nullable = false)]
    pub logo_url: Option<String>,
    /// Favicon (https).
    #[schema(nullable = false)]
    pub favicon_url: Option<String>,
    /// Custom font (kept, not applied).
    #[schema(nullable = false)]
    pub font: Option<serde_json::Value>,
    /// Tern extension: a stylesheet (https) loaded after Tern's.
    #[schema(nullable = false)]
    pub tern_stylesheet_url: Option<String>,
}
