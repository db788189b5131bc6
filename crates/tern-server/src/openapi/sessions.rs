//! Schemas of the Management API's session endpoints (`/sessions/{id}`,
//! `/users/{id}/sessions`), Auth0's shapes less what Tern does not record.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A single sign-on session (Auth0's `SessionResponseContent`). Tern
/// records no device, cookie mode or metadata, so those are absent.
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
    /// The applications that received tokens through it.
    pub clients: Vec<SessionClient>,
    /// How the user authenticated.
    pub authentication: SessionAuthentication,
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
    /// Start after this id: the `next` of the previous page.
    #[param(nullable = false)]
    pub from: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub take: Option<u64>,
    /// Accepted for Auth0's SDKs; pages carry no totals.
    #[param(nullable = false)]
    pub include_totals: Option<bool>,
}
