//! Schemas of the Management API's session endpoints (`/sessions/{id}`,
//! `/users/{id}/sessions`), Auth0's shapes less what Tern does not record;
//! the `device` and metadata shapes refresh tokens share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Where a session or a refresh token family was started and last used
/// (Auth0's `SessionDeviceMetadata` and `RefreshTokenDevice`). Each
/// property is absent when not recorded (before Tern recorded them, or a
/// request without `User-Agent`); there is no `*_asn`: Tern has no ASN
/// database.
#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    /// The client address of the request that started it (believed from
    /// `X-Forwarded-For` only behind `http.trusted_proxies`).
    #[schema(nullable = false)]
    pub initial_ip: Option<String>,
    /// Its `User-Agent` (the first 256 characters).
    #[schema(nullable = false)]
    pub initial_user_agent: Option<String>,
    /// The client address of the latest request that used it.
    #[schema(nullable = false)]
    pub last_ip: Option<String>,
    /// Its `User-Agent` (the first 256 characters).
    #[schema(nullable = false)]
    pub last_user_agent: Option<String>,
}

/// An operator's metadata on a session or refresh token: at most 25
/// properties, string values of at most 255 characters, keys of 1 to 255.
pub type AccessMetadata = BTreeMap<String, String>;

/// `PATCH /sessions/{id}` (Auth0's `UpdateSessionRequestContent`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateSession {
    /// The session's new metadata, replacing the old: an object of at most
    /// 25 string values (each at most 255 characters); `null` or `{}`
    /// removes it all.
    pub session_metadata: Option<AccessMetadata>,
}

/// A single sign-on session (Auth0's `SessionResponseContent`). Tern
/// records no cookie mode, so `cookie` is absent.
/// Dates are ISO-8601 UTC (null only past the year 9999).
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// The session's public id (the ID token's `sid`).
    pub id: String,
    /// Its user.
    pub user_id: String,
    /// When it started.
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    /// When it last changed: its last use.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
    /// When the user last typed their credentials.
    #[schema(format = DateTime)]
    pub authenticated_at: Option<String>,
    /// It ends at this time unless used before.
    #[schema(format = DateTime)]
    pub idle_expires_at: Option<String>,
    /// It ends at this time however often used.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// When it last signed the browser in to an application.
    #[schema(format = DateTime)]
    pub last_interacted_at: Option<String>,
    /// Where it was started and last used.
    pub device: DeviceView,
    /// The applications that received tokens through it.
    pub clients: Vec<SessionClient>,
    /// How the user authenticated.
    pub authentication: SessionAuthentication,
    /// What an operator wrote on it (`{}`: nothing).
    pub session_metadata: AccessMetadata,
}

/// An application a session served.
#[derive(Serialize, ToSchema)]
pub struct SessionClient {
    /// The application.
    pub client_id: String,
}

/// The methods a session's login passed.
#[derive(Serialize, ToSchema)]
pub struct SessionAuthentication {
    /// `pwd`, then `mfa` when the login passed a second factor.
    pub methods: Vec<SessionAuthenticationMethod>,
}

/// One authentication method.
#[derive(Serialize, ToSchema)]
pub struct SessionAuthenticationMethod {
    /// `pwd` or `mfa`.
    pub name: String,
    /// When it was passed.
    #[schema(format = DateTime)]
    pub timestamp: Option<String>,
}

/// A page of a user's sessions (Auth0's checkpoint paging).
#[derive(Serialize, ToSchema)]
pub struct SessionPage {
    /// Active sessions, in id order.
    pub sessions: Vec<SessionView>,
    /// The `from` of the next page; absent on the last.
    #[schema(nullable = false)]
    pub next: Option<String>,
}

/// Auth0's checkpoint paging (`from`, `take`) of the session and refresh
/// token lists.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointParams {
    /// An opaque cursor: the `next` of the previous page of the same list,
    /// passed back unchanged (the page starts after it).
    #[param(nullable = false)]
    pub from: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub take: Option<u64>,
    /// Accepted for Auth0's SDKs; pages carry no totals.
    #[param(nullable = false)]
    pub include_totals: Option<bool>,
}
