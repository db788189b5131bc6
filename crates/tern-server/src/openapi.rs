//! The OpenAPI 3.1 document of every endpoint Tern implements, served at
//! `GET /api/v2/openapi.json` without authentication.
//!
//! Operations are described by `#[utoipa::path]` attributes on the handlers in
//! `routes/`; this module holds the document root ([`ApiDoc`]), the component
//! schemas (the JSON shapes of requests and responses; the domain types in
//! `tern-core` stay free of documentation machinery) and the handler serving
//! the document. The document is built per request so that `servers` names
//! the public URL in effect: `{public_url}/api/v2` for the Management API,
//! and `{public_url}` (a path-level override) for the public endpoints.
//!
//! `tests/openapi.rs` checks the document against the route table in
//! `routes/mod.rs`, both ways.

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Server, ServerBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use crate::routes;
use crate::state::AppState;

mod actions;
mod browser;
mod email_provider;
mod email_templates;
mod grants;
mod sessions;
pub use actions::*;
pub use browser::*;
pub use email_provider::*;
pub use email_templates::*;
pub use grants::*;
pub use sessions::*;

/// Where the Management API is mounted; the document's `servers` entry.
pub const MANAGEMENT_PREFIX: &str = "/api/v2";

/// Paths of the document that live outside [`MANAGEMENT_PREFIX`] (each gets
/// its own `servers` entry: the bare public URL).
pub const PUBLIC_PATHS: &[&str] = &[
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
    "/oauth/token",
    "/mfa/challenge",
    "/mfa/authenticators",
    "/oauth/revoke",
    "/dbconnections/signup",
    "/dbconnections/change_password",
    "/lo/reset",
    "/lo/unblock",
    "/lo/verify_email",
    "/jobs-files/{id}/{name}",
    "/userinfo",
    "/authorize",
    "/authorize/resume",
    "/continue",
    "/u/login",
    "/u/mfa-otp-challenge",
    "/u/mfa-otp-enrollment-qr",
    "/mfa/associate",
    "/u/signup",
    "/u/reset-password/request",
    "/u/reset-password",
    "/oidc/logout",
    "/v2/logout",
];

/// The document root: every operation, its components and security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tern",
        description = "Tern's implementation of Auth0's Management API v2 (under `/api/v2`) and of the authentication endpoints used in user migrations. Management API errors are `{statusCode, error, message, errorCode}`; OAuth errors are `{error, error_description}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        document,
        routes::clients::list,
        routes::clients::create,
        routes::clients::get_one,
        routes::clients::update,
        routes::clients::delete,
        routes::clients::rotate_secret,
        routes::actions::list,
        routes::actions::create,
        routes::actions::get_one,
        routes::actions::update,
        routes::actions::delete,
        routes::actions::deploy,
        routes::actions::bindings,
        routes::actions::update_bindings,
        routes::resource_servers::list,
        routes::resource_servers::create,
        routes::resource_servers::get_one,
        routes::resource_servers::update,
        routes::resource_servers::delete,
        routes::roles::list,
        routes::roles::create,
        routes::roles::get_one,
        routes::roles::update,
        routes::roles::delete,
        routes::roles::permissions,
        routes::roles::add_permissions,
        routes::roles::remove_permissions,
        routes::roles::users,
        routes::roles::add_users,
        routes::user_roles::roles,
        routes::user_roles::add_roles,
        routes::user_roles::remove_roles,
        routes::user_roles::permissions,
        routes::user_roles::add_permissions,
        routes::user_roles::remove_permissions,
        routes::client_grants::list,
        routes::client_grants::create,
        routes::client_grants::get_one,
        routes::client_grants::update,
        routes::client_grants::delete,
        routes::connections::list,
        routes::connections::create,
        routes::connections::get_one,
        routes::connections::update,
        routes::connections::delete,
        routes::migration::report,
        routes::migration::try_script,
        routes::users::delete_by_email,
        routes::users::list,
        routes::users::create,
        routes::users::get_one,
        routes::users::update,
        routes::users::delete,
        routes::users::by_email,
        routes::authentication_methods::list,
        routes::authentication_methods::get_one,
        routes::authentication_methods::delete_one,
        routes::authentication_methods::delete_all,
        routes::authentication_methods::delete_authenticators,
        routes::logs::list,
        routes::logs::of_user,
        routes::logs::get_one,
        routes::signing_keys::list,
        routes::signing_keys::get_one,
        routes::signing_keys::rotate,
        routes::signing_keys::revoke,
        routes::jobs::create_import,
        routes::exports::create,
        routes::exports::download,
        routes::jobs::get_one,
        routes::jobs::errors,
        routes::wellknown::jwks,
        routes::wellknown::openid_configuration,
        routes::oauth::token,
        routes::mfa::challenge,
        routes::mfa::authenticators,
        routes::mfa::associate,
        routes::oauth::revoke,
        routes::dbconnections::signup,
        routes::dbconnections::change_password,
        routes::tickets::password_change,
        routes::tickets::email_verification,
        routes::jobs::verification_email,
        routes::reset_page::show,
        routes::reset_page::submit,
        routes::oauth::userinfo,
        routes::attack_protection::get_brute_force,
        routes::attack_protection::update_brute_force,
        routes::attack_protection::get_suspicious_ip,
        routes::attack_protection::update_suspicious_ip,
        routes::attack_protection::get_ip_block,
        routes::attack_protection::delete_ip_block,
        routes::enrollments::of_user,
        routes::refresh_tokens::of_user,
        routes::refresh_tokens::delete_of_user,
        routes::refresh_tokens::list,
        routes::refresh_tokens::revoke,
        routes::refresh_tokens::get_one,
        routes::refresh_tokens::update,
        routes::refresh_tokens::delete,
        routes::grants::list,
        routes::grants::delete,
        routes::grants::delete_by_user,
        routes::device_credentials::list,
        routes::device_credentials::delete,
        routes::enrollments::get_one,
        routes::enrollments::delete,
        routes::sessions::of_user,
        routes::sessions::delete_of_user,
        routes::sessions::get_one,
        routes::sessions::update,
        routes::sessions::delete,
        routes::sessions::revoke,
        routes::guardian::get_policies,
        routes::guardian::put_policies,
        routes::guardian::get_factors,
        routes::guardian::put_factor,
        routes::user_blocks::get_by_user,
        routes::user_blocks::delete_by_user,
        routes::user_blocks::get_by_identifier,
        routes::user_blocks::delete_by_identifier,
        routes::unblock_page::unblock_page,
        routes::unblock_page::unblock,
        routes::verify_email_page::verify_email,
        routes::verify_email_page::confirm,
        routes::tenant_settings::get_settings,
        routes::tenant_settings::update_settings,
        routes::branding::get_branding,
        routes::branding::update_branding,
        routes::email_provider::get_provider,
        routes::email_provider::create_provider,
        routes::email_provider::update_provider,
        routes::email_provider::delete_provider,
        routes::email_templates::create,
        routes::email_templates::get_one,
        routes::email_templates::update,
        routes::email_templates::replace,
        routes::authorize::authorize,
        routes::authorize::resume,
        routes::authorize::continue_login,
        routes::universal_login::login_page,
        routes::universal_login::login,
        routes::universal_mfa::challenge_page,
        routes::universal_mfa::challenge,
        routes::universal_mfa::enrolment_form,
        routes::universal_mfa::enrol,
        routes::universal_signup::signup_page,
        routes::universal_signup::signup,
        routes::universal_signup::reset_request_page,
        routes::universal_signup::reset_request,
        routes::universal_signup::reset_page,
        routes::universal_signup::reset,
        routes::logout::v2_logout,
        routes::logout::oidc_logout,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "clients", description = "Applications."),
        (name = "resource-servers", description = "APIs tokens are issued for."),
        (name = "roles", description = "Roles and permissions (RBAC): what users may be given in tokens for an API that enforces policies."),
        (name = "client-grants", description = "Which client may get which scopes of which API."),
        (name = "connections", description = "Database connections."),
        (name = "actions", description = "Post-login actions and their bindings."),
        (name = "users", description = "Users of database connections."),
        (name = "logs", description = "The tenant log."),
        (name = "sessions", description = "Users' single sign-on sessions: seen, ended, revoked."),
        (name = "refresh-tokens", description = "Users' refresh tokens: one per live grant, revocable."),
        (name = "grants", description = "Users' grants: each unrevoked authorization of an application by a user."),
        (name = "device-credentials", description = "Refresh tokens seen as device credentials (the older SDKs' view)."),
        (name = "attack-protection", description = "Brute-force protection and suspicious-IP throttling settings."),
        (name = "guardian", description = "Multi-factor authentication settings: policies and factors."),
        (name = "user-blocks", description = "Blocks brute-force protection imposed."),
        (name = "anomaly", description = "Addresses suspicious-IP throttling refuses."),
        (name = "tenants", description = "Tenant settings."),
        (name = "branding", description = "The look of the hosted pages."),
        (name = "email-templates", description = "The mail Tern sends, as Liquid templates."),
        (name = "emails", description = "The SMTP server Tern sends mail through, as Auth0's email provider."),
        (name = "keys", description = "Token signing keys: rotation and revocation."),
        (name = "jobs", description = "Bulk user imports and exports."),
        (name = "tickets", description = "Password change tickets (reset links)."),
        (name = "authentication", description = "Tokens, user profile and discovery (outside `/api/v2`)."),
        (name = "hosted pages", description = "HTML pages people open (outside `/api/v2`)."),
        (name = "meta", description = "This document."),
    )
)]
pub struct ApiDoc;

/// Security schemes: the Management API's bearer token, a user's access
/// token for `/userinfo`, and HTTP Basic client authentication at `/oauth/token`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An RS256 access token for the Management API audience (`{public URL}/api/v2/`), from the client-credentials grant at `/oauth/token`. Each operation lists the scopes it accepts (any one of them suffices).",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "userAccessToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user's access token from the password grant (its audience includes `{public URL}/userinfo`).",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "mfaToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `mfa_token` of an `mfa_required` answer from `/oauth/token` (valid ten minutes).",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "clientSecretBasic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "client_id and client_secret (URL-encoded) as HTTP Basic credentials; the alternative to client_secret in the body.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document with the servers of the running instance.
static BASE_DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The document for an instance whose public URL is `public_url`.
pub fn build(public_url: &str) -> utoipa::openapi::OpenApi {
    let mut doc = BASE_DOCUMENT.clone();
    doc.servers = Some(vec![
        ServerBuilder::new()
            .url(format!("{public_url}{MANAGEMENT_PREFIX}"))
            .description(Some("Management API"))
            .build(),
    ]);
    for (path, item) in doc.paths.paths.iter_mut() {
        if PUBLIC_PATHS.contains(&path.as_str()) {
            item.servers = Some(vec![Server::new(public_url)]);
        }
    }
    // One handler serves both GET and POST of these; operation ids must be unique.
    for (path, id) in [
        ("/userinfo", "userinfo_post"),
        ("/authorize", "authorize_post"),
        ("/oidc/logout", "oidc_logout_post"),
        ("/continue", "continue_login_post"),
    ] {
        if let Some(item) = doc.paths.paths.get_mut(path)
            && let Some(op) = item.post.as_mut()
        {
            op.operation_id = Some(id.into());
        }
    }
    doc
}

/// `GET /api/v2/openapi.json`: this document (no token needed).
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "get_openapi_document",
    tag = "meta",
    summary = "This document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this server.", content_type = "application/json", body = Object),
    ),
    security(()),
)]
pub async fn document(State(s): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(build(&s.public_url))
}

// ---------------------------------------------------------------- errors

/// A Management API error.
#[derive(Serialize, ToSchema)]
#[allow(non_snake_case)]
pub struct ApiErrorBody {
    /// The HTTP status, repeated.
    #[schema(example = 404)]
    pub statusCode: u16,
    /// The HTTP reason phrase.
    #[schema(example = "Not Found")]
    pub error: String,
    /// Human-readable; not stable.
    #[schema(example = "The user does not exist.")]
    pub message: String,
    /// The machine code (`invalid_body`, `invalid_query_string`, `invalid_token`,
    /// `insufficient_scope`, `too_many_requests`, `inexistent_user`, …).
    #[schema(example = "inexistent_user", nullable = false)]
    pub errorCode: Option<String>,
}

/// An OAuth error (`/oauth/token`, `/userinfo`).
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `access_denied`, `invalid_token`, `unauthorized`, `server_error`.
    #[schema(example = "invalid_grant")]
    pub error: String,
    /// Human-readable.
    #[schema(example = "Wrong email or password.")]
    pub error_description: String,
    /// With `mfa_required`: the token that continues the login.
    #[schema(nullable = false)]
    pub mfa_token: Option<String>,
    /// With `mfa_required`: `{"challenge": [{"type": "otp"}]}`, or
    /// `{"enroll": [{"type": "otp"}]}` when the user must enrol first.
    #[schema(nullable = false, value_type = Option<Object>)]
    pub mfa_requirements: Option<Value>,
}

/// The errors every Management API operation can answer before its handler runs.
#[derive(IntoResponses)]
pub enum ManagementErrors {
    /// Missing, malformed, expired or foreign bearer token (`invalid_token`).
    #[response(status = 401)]
    Unauthorized(ApiErrorBody),
    /// The token holds none of the accepted scopes (`insufficient_scope`).
    #[response(status = 403)]
    Forbidden(ApiErrorBody),
    /// The tenant's rate limit is exhausted (`too_many_requests`).
    #[response(
        status = 429,
        headers(
            ("X-RateLimit-Limit" = u32, description = "Bucket size."),
            ("X-RateLimit-Remaining" = u32, description = "Requests left."),
            ("X-RateLimit-Reset" = u64, description = "When a request will be accepted again, UTC epoch seconds."),
        )
    )]
    TooManyRequests(ApiErrorBody),
}

// ---------------------------------------------------------------- parameters

/// Offset paging of list endpoints.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingParams {
    /// Zero-based page number.
    #[param(minimum = 0, maximum = 4_294_967_295_u64, nullable = false)]
    pub page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 0, maximum = 100, nullable = false)]
    pub per_page: Option<u64>,
    /// Wrap the page as `{start, limit, length, total, <items>}` instead of a bare array.
    #[param(nullable = false)]
    pub include_totals: Option<bool>,
}

/// Field selection.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FieldsParams {
    /// Comma-separated top-level fields to include (or, with `include_fields=false`, to exclude).
    #[param(nullable = false, example = "user_id,email")]
    pub fields: Option<String>,
    /// Whether `fields` lists the fields to include (default) or to exclude.
    #[param(nullable = false)]
    pub include_fields: Option<bool>,
}

/// The search engine of `GET /users`.
#[derive(Deserialize, ToSchema)]
#[allow(non_camel_case_types)]
pub enum SearchEngine {
    /// Auth0's user search v3 (the only one).
    v3,
}

/// The search parameters of `GET /users`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearchParams {
    /// A query in the Lucene subset of Auth0's user search v3, e.g. `email:"jane@example.com"` or `logins_count:[1 TO *]`.
    #[param(nullable = false, example = "email:*@example.com")]
    pub q: Option<String>,
    /// `field:1` (ascending) or `field:-1` (descending), for `email`, `name`, `given_name`,
    /// `family_name`, `nickname`, `username`, `user_id`, `created_at`, `updated_at`,
    /// `last_login`, `logins_count`.
    #[param(
        nullable = false,
        pattern = "^[A-Za-z0-9_.]+:-?1$",
        example = "created_at:-1"
    )]
    pub sort: Option<String>,
    /// Must be `v3` when given.
    #[param(nullable = false, inline)]
    pub search_engine: Option<SearchEngine>,
}

/// Filters of `GET /client-grants`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientGrantFilter {
    /// Only grants for this API identifier.
    #[param(nullable = false)]
    pub audience: Option<String>,
    /// Only grants of this client.
    #[param(nullable = false)]
    pub client_id: Option<String>,
}

/// Filters of `GET /connections`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionFilter {
    /// Only connections of this strategy.
    #[param(nullable = false, example = "auth0")]
    pub strategy: Option<String>,
    /// Only the connection with this name.
    #[param(nullable = false)]
    pub name: Option<String>,
}

/// Filters of `GET /logs`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogFilter {
    /// Auth0's log search (a Lucene subset): `field:value` on `date`, `type`,
    /// `log_id`, `user_id`, `ip`, `client_id`, `client_name`, `connection`,
    /// `connection_id`, `user_name` and `description`, joined by `AND`, `OR`,
    /// `NOT` and parentheses; values match whole and case-sensitively, quoted
    /// when they hold spaces, a trailing `*` for a prefix; `date` takes a day
    /// (`2026-12-01`), an ISO instant or a range (`[a TO b]` inclusive, `{a TO b}`
    /// exclusive, `*` for an open end). A date range is read through an
    /// index, in date order; other fields may be compared event by event,
    /// within the search deadline. Other fields (`hostname`, `user_agent`, …),
    /// other wildcards and terms without a field are refused by name.
    #[param(
        nullable = false,
        example = "type:fp AND date:[2026-12-01 TO 2026-12-02]"
    )]
    pub q: Option<String>,
    /// Tern's shorthand for a type: the events listed are of it, and match `q` besides.
    #[param(nullable = false, example = "fp")]
    pub r#type: Option<String>,
    /// `date:1` (oldest first) or `date:-1` (newest first, the default).
    #[param(nullable = false, pattern = "^date:(1|-1)$", example = "date:-1")]
    pub sort: Option<String>,
    /// A checkpoint: the `log_id` after which to read on, oldest first (every
    /// parameter but `take` is then ignored, as Auth0).
    #[param(nullable = false)]
    pub from: Option<String>,
    /// How many events to read after `from` (default 50).
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub take: Option<u64>,
}

/// Which members of each log event to show (`log_id` is always kept).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogFields {
    /// Comma-separated log fields to include (or, with `include_fields=false`, to exclude).
    #[param(
        nullable = false,
        pattern = "^(date|connection|client_id|client_name|ip|user_id|user_name|description|user_agent|type|details|strategy|strategy_type)(,(date|connection|client_id|client_name|ip|user_id|user_name|description|user_agent|type|details|strategy|strategy_type))*$",
        example = "date,type,user_id"
    )]
    pub fields: Option<String>,
    /// Whether `fields` lists the fields to include (default) or to exclude.
    #[param(nullable = false)]
    pub include_fields: Option<bool>,
}

/// The order of a user's log events.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogSort {
    /// `date:1` (oldest first) or `date:-1` (newest first, the default).
    #[param(nullable = false, pattern = "^date:(1|-1)$", example = "date:-1")]
    pub sort: Option<String>,
}

/// A required `email` query parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailParam {
    /// The email address (matched case-insensitively).
    #[param(min_length = 1, example = "jane@example.com")]
    pub email: String,
}

// ---------------------------------------------------------------- paging wrappers

macro_rules! page_of {
    ($page:ident, $list:ident, $item:ty, $key:ident, $what:literal) => {
        #[doc = concat!("A page of ", $what, " with totals (`include_totals=true`).")]
        #[derive(Serialize, ToSchema)]
        pub struct $page {
            /// Index of the first item.
            pub start: u64,
            /// Page size asked for.
            pub limit: u64,
            /// Items in this page.
            pub length: u64,
            /// Items in all pages.
            pub total: u64,
            #[doc = concat!("The ", $what, ".")]
            pub $key: Vec<$item>,
        }

        #[doc = concat!("A list of ", $what, ": a bare array, or a page with totals when `include_totals=true`.")]
        #[derive(Serialize, ToSchema)]
        #[serde(untagged)]
        pub enum $list {
            /// Without totals.
            Items(Vec<$item>),
            /// With totals.
            Page($page),
        }
    };
}

page_of!(ClientsPage, ClientList, Client, clients, "clients");
page_of!(
    ResourceServersPage,
    ResourceServerList,
    ResourceServer,
    resource_servers,
    "resource servers"
);
page_of!(
    ClientGrantsPage,
    ClientGrantList,
    ClientGrant,
    client_grants,
    "client grants"
);
page_of!(
    ConnectionsPage,
    ConnectionList,
    Connection,
    connections,
    "connections"
);
page_of!(UsersPage, UserList, User, users, "users");
page_of!(LogsPage, LogList, LogEvent, logs, "log events");
page_of!(UserGrantsPage, UserGrantList, UserGrant, grants, "grants");
page_of!(
    DeviceCredentialsPage,
    DeviceCredentialList,
    DeviceCredential,
    device_credentials,
    "device credentials"
);
page_of!(
    AuthenticationMethodsPage,
    AuthenticationMethodList,
    AuthenticationMethod,
    authenticators,
    "authentication methods"
);

/// The first confirmed MFA enrollment of a user (`GET /users/{id}/enrollments`).
#[derive(Serialize, ToSchema)]
pub struct UserEnrollment {
    /// `<type>|dev_…`, stable while the factor is.
    pub id: String,
    /// `confirmed` (or `pending` while a TOTP enrolment awaits its first code).
    pub status: String,
    /// `totp`, `sms` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `authenticator` for TOTP, else `sms`.
    pub auth_method: String,
    /// The address of an `email` enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The phone number of an `sms` enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// When the user arrived in Tern (the enrolment came with them or later).
    pub enrolled_at: String,
}

/// An MFA enrollment (`GET /guardian/enrollments/{id}`).
#[derive(Serialize, ToSchema)]
pub struct GuardianEnrollment {
    /// `<type>|dev_…`.
    pub id: String,
    /// `confirmed` or `pending`.
    pub status: String,
    /// The phone number of an `sms` enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// When the user arrived in Tern.
    pub enrolled_at: String,
}

/// An MFA enrollment (`GET /users/{id}/authentication-methods`).
#[derive(Serialize, ToSchema)]
pub struct AuthenticationMethod {
    /// The enrollment id `/guardian/enrollments/{id}` takes (`totp|dev_…`,
    /// `sms|dev_…`, `email|dev_…`); stable while the factor is.
    pub id: String,
    /// `totp`, `phone` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// False only for an authenticator app whose enrolment no code has
    /// confirmed yet; imported enrollments were confirmed in the legacy system.
    pub confirmed: bool,
    /// When the user arrived in Tern.
    pub created_at: String,
    /// The phone number of a `phone` enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `sms` for a `phone` enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_authentication_method: Option<String>,
    /// The address of an `email` enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

// ---------------------------------------------------------------- clients

/// How a client authenticates at `/oauth/token`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// `client_secret` in the body.
    ClientSecretPost,
    /// HTTP Basic.
    ClientSecretBasic,
    /// A public client.
    None,
}

/// An application.
#[derive(Serialize, ToSchema)]
pub struct Client {
    /// Public identifier.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[schema(nullable = false)]
    pub description: Option<String>,
    /// `non_interactive` (machine to machine), `regular_web`, `spa`, `native`.
    #[schema(nullable = false)]
    pub app_type: Option<String>,
    /// Whether the application belongs to the tenant's owner.
    pub is_first_party: bool,
    /// Allowed redirect URLs.
    pub callbacks: Vec<String>,
    /// Allowed origins.
    pub allowed_origins: Vec<String>,
    /// Allowed web origins.
    pub web_origins: Vec<String>,
    /// Allowed logout URLs.
    pub allowed_logout_urls: Vec<String>,
    /// Grant types the application may use.
    pub grant_types: Vec<String>,
    /// How it authenticates at `/oauth/token`.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// If true, trust that the IP specified in the `auth0-forwarded-for`
    /// header is the end-user's IP for brute-force protection (and
    /// suspicious-IP throttling) on the token endpoint; believed only when
    /// the client authenticates with its secret. Default false.
    pub is_token_endpoint_ip_header_trusted: bool,
    /// Metadata.
    pub client_metadata: Map<String, Value>,
    /// Auth0 compatibility field.
    pub global: bool,
    /// How its refresh tokens rotate and expire (absent: Auth0's defaults).
    #[schema(nullable = false)]
    pub refresh_token: Option<RefreshTokenConfiguration>,
    /// The application's login page (https).
    #[schema(nullable = false)]
    pub initiate_login_uri: Option<String>,
}

/// An application with its secret: returned only when the secret is made
/// (creation, rotation); Tern keeps only a hash.
#[derive(Serialize, ToSchema)]
pub struct ClientWithSecret {
    /// The application.
    #[serde(flatten)]
    pub client: Client,
    /// The secret, 64 characters.
    pub client_secret: String,
}

macro_rules! client_body {
    ($(#[$m:meta])* $ty:ident, $name:ty) => {
        $(#[$m])*
        #[derive(Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            /// Display name, not blank.
            #[schema(nullable = false, min_length = 1, pattern = r"\S")]
            pub name: $name,
            /// Free text.
            pub description: Option<String>,
            /// `non_interactive` (machine to machine), `regular_web`, `spa`, `native`.
            pub app_type: Option<String>,
            /// Whether the application belongs to the tenant's owner (default true).
            #[schema(nullable = false)]
            pub is_first_party: Option<bool>,
            /// Allowed redirect URLs.
            #[schema(nullable = false)]
            pub callbacks: Option<Vec<String>>,
            /// Allowed origins.
            #[schema(nullable = false)]
            pub allowed_origins: Option<Vec<String>>,
            /// Allowed web origins.
            #[schema(nullable = false)]
            pub web_origins: Option<Vec<String>>,
            /// Allowed logout URLs.
            #[schema(nullable = false)]
            pub allowed_logout_urls: Option<Vec<String>>,
            /// Grant types (default: `client_credentials` for `non_interactive`, otherwise
            /// `authorization_code`, `implicit`, `refresh_token`, `client_credentials`).
            #[schema(nullable = false)]
            pub grant_types: Option<Vec<String>>,
            /// Default `client_secret_post`.
            #[schema(nullable = false)]
            pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
            /// If true, trust that the IP specified in the `auth0-forwarded-for`
            /// header is the end-user's IP for brute-force protection (and
            /// suspicious-IP throttling) on the token endpoint; believed only
            /// when the client authenticates with its secret. Default false.
            #[schema(nullable = false, default = false)]
            pub is_token_endpoint_ip_header_trusted: Option<bool>,
            /// Metadata.
            #[schema(nullable = false)]
            pub client_metadata: Option<Map<String, Value>>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub oidc_conformant: Option<Value>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub logo_uri: Option<Value>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub jwt_configuration: Option<Value>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub sso: Option<Value>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub cross_origin_auth: Option<Value>,
            /// How refresh tokens rotate and expire (Auth0's object).
            #[schema(nullable = false)]
            pub refresh_token: Option<RefreshTokenConfiguration>,
            /// The application's login page (https).
            #[schema(nullable = false)]
            pub initiate_login_uri: Option<String>,
        }
    };
}

client_body!(
    /// The body of `POST /clients`.
    ClientCreate,
    String
);
client_body!(
    /// The body of `PATCH /clients/{id}`.
    ClientUpdate,
    Option<String>
);

// ---------------------------------------------------------------- resource servers

/// A scope an API defines.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceServerScope {
    /// The scope name, e.g. `read:users`.
    pub value: String,
    /// What it allows.
    #[serde(default)]
    pub description: String,
}

/// Token signing algorithm: Tern signs with RS256 only.
#[derive(Serialize, Deserialize, ToSchema)]
pub enum SigningAlg {
    /// RSA with SHA-256.
    RS256,
}

/// An API (resource server).
#[derive(Serialize, ToSchema)]
pub struct ResourceServer {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The audience.
    pub identifier: String,
    /// Scopes it defines.
    pub scopes: Vec<ResourceServerScope>,
    /// Always `RS256`.
    pub signing_alg: SigningAlg,
    /// Access token lifetime, seconds.
    pub token_lifetime: i64,
    /// Whether refresh tokens may be issued for it.
    pub allow_offline_access: bool,
    /// Whether first-party clients skip consent.
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// The Management API itself (cannot be changed or deleted).
    pub is_system: bool,
    /// Tern extension: only machine-to-machine clients (client credentials
    /// through a client grant) may get tokens for this API; the password and
    /// password-realm grants (and any later user-facing grant) answer 403
    /// `access_denied` for it. Always true for the Management API.
    pub tern_machine_to_machine_only: bool,
    /// RBAC: a user's token gets only the requested scopes the user holds
    /// as permissions (directly or through roles); OpenID scopes stay.
    pub enforce_policies: bool,
    /// The access token's dialect; `access_token_authz` adds the user's
    /// permissions for this API as a `permissions` claim (with
    /// `enforce_policies`).
    pub token_dialect: TokenDialect,
}

/// The access-token dialects Tern issues (Auth0's `rfc9068_profile` and
/// `rfc9068_profile_authz` are refused with a 400).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenDialect {
    /// Auth0's standard claims.
    AccessToken,
    /// The standard claims and `permissions`.
    AccessTokenAuthz,
}

macro_rules! resource_server_body {
    ($(#[$m:meta])* $ty:ident, $identifier:ty) => {
        $(#[$m])*
        #[derive(Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            /// The audience, e.g. `https://api.example.com/`; cannot be changed once set.
            #[schema(nullable = false, min_length = 1, max_length = 600)]
            pub identifier: $identifier,
            /// Display name (default: the identifier).
            #[schema(nullable = false)]
            pub name: Option<String>,
            /// Scopes it defines.
            #[schema(nullable = false)]
            pub scopes: Option<Vec<ResourceServerScope>>,
            /// Must be `RS256`.
            #[schema(nullable = false)]
            pub signing_alg: Option<SigningAlg>,
            /// Access token lifetime, seconds (default 86400).
            #[schema(nullable = false, minimum = 1, maximum = 2_592_000)]
            pub token_lifetime: Option<i64>,
            /// Whether refresh tokens may be issued for it.
            #[schema(nullable = false)]
            pub allow_offline_access: Option<bool>,
            /// Whether first-party clients skip consent (default true).
            #[schema(nullable = false)]
            pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
            /// Tern extension (default false): refuse every user-facing grant
            /// for this audience with 403 `access_denied`; only client
            /// credentials through a client grant get tokens for it.
            #[schema(nullable = false)]
            pub tern_machine_to_machine_only: Option<bool>,
            /// RBAC (default false): narrow user tokens' scopes to the user's permissions.
            #[schema(nullable = false)]
            pub enforce_policies: Option<bool>,
            /// The access token's dialect (default `access_token`).
            #[schema(nullable = false)]
            pub token_dialect: Option<TokenDialect>,
        }
    };
}

resource_server_body!(
    /// The body of `POST /resource-servers`.
    ResourceServerCreate,
    String
);
resource_server_body!(
    /// The body of `PATCH /resource-servers/{id}`.
    ResourceServerUpdate,
    Option<String>
);

// ---------------------------------------------------------------- client grants

/// Permission for one client to get tokens for one API with some scopes.
#[derive(Serialize, ToSchema)]
pub struct ClientGrant {
    /// `cgr_…`.
    pub id: String,
    /// The client it permits.
    pub client_id: String,
    /// The API identifier.
    pub audience: String,
    /// Scopes the client may receive.
    pub scope: Vec<String>,
}

/// The body of `POST /client-grants`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientGrantCreate {
    /// An existing client.
    pub client_id: String,
    /// An existing API's identifier.
    pub audience: String,
    /// Scopes, each defined by the API.
    pub scope: Vec<String>,
}

/// The body of `PATCH /client-grants/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientGrantUpdate {
    /// Scopes, each defined by the API.
    pub scope: Option<Vec<String>>,
}

// ---------------------------------------------------------------- connections

/// Auth0's password strength levels.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordPolicy {
    /// Any non-empty password.
    None,
    /// At least 6 characters.
    Low,
    /// At least 8 characters, three character classes.
    Fair,
    /// At least 8 characters, three of four character classes.
    Good,
    /// At least 10 characters, no more than two identical characters in a row.
    Excellent,
}

/// Custom database scripts, by name; each a non-empty string of at most 100 KB.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomScripts {
    /// `login(email, password, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub login: Option<String>,
    /// `getByEmail(email, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub get_user: Option<String>,
    /// `create(user, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub create: Option<String>,
    /// `verify(email, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub verify: Option<String>,
    /// `changePassword(email, newPassword, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub change_password: Option<String>,
    /// `remove(id, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub delete: Option<String>,
    /// `changeEmail(email, newEmail, verified, callback)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub change_email: Option<String>,
    /// `changeUsername(...)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub change_username: Option<String>,
    /// `changePhoneNumber(...)`.
    #[schema(min_length = 1, max_length = 102_400)]
    pub change_phone_number: Option<String>,
}

/// Options of a database connection. The ones listed are type-checked; any
/// other is kept as given.
#[derive(Serialize, Deserialize, ToSchema)]
#[allow(non_snake_case)]
pub struct ConnectionOptions {
    /// "Use my own database": the custom scripts are used.
    #[schema(nullable = false)]
    pub enabledDatabaseCustomization: Option<bool>,
    /// Lazy migration: users found by the `login` script are imported.
    #[schema(nullable = false)]
    pub import_mode: Option<bool>,
    /// Whether users need a username.
    #[schema(nullable = false)]
    pub requires_username: Option<bool>,
    /// Whether sign-up is disabled.
    #[schema(nullable = false)]
    pub disable_signup: Option<bool>,
    /// Brute-force protection.
    #[schema(nullable = false)]
    pub brute_force_protection: Option<bool>,
    /// Whether scripts receive a context argument.
    #[schema(nullable = false)]
    pub enable_script_context: Option<bool>,
    /// Password strength policy.
    pub passwordPolicy: Option<PasswordPolicy>,
    /// Custom database scripts.
    #[schema(nullable = false)]
    pub customScripts: Option<CustomScripts>,
    /// Settings passed to the scripts (`configuration.KEY`), typically
    /// secrets; also holds the HTTP connector's client secret under
    /// `TERN_CONNECTOR_CLIENT_SECRET`. Stored encrypted; answers show each
    /// value as `********`, and sending `********` back keeps the stored value.
    #[schema(nullable = false)]
    pub configuration: Option<std::collections::BTreeMap<String, String>>,
    /// Tern extension: a zero-code connector to the legacy store, used
    /// instead of the scripts for lazy migration (login, get_user, mark migrated).
    pub tern_connector: Option<TernConnector>,
}

/// A zero-code legacy connector (Tern extension), by `type`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TernConnector {
    /// The legacy store is an HTTP API protected by Tern machine tokens.
    Http(Box<HttpConnectorOptions>),
    /// The legacy store is a SQL database Tern queries itself.
    Sql(SqlConnectorOptions),
}

/// The `http` connector. The client secret goes in
/// `options.configuration.TERN_CONNECTOR_CLIENT_SECRET`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConnectorOptions {
    /// `http(s)://host[:port][/prefix]` of the legacy API.
    #[schema(min_length = 1, pattern = "^https?://")]
    pub base_url: String,
    /// `POST {"username", "password"}` → the profile, or 401 (default `/login`).
    #[schema(nullable = false, pattern = "^/")]
    pub login_path: Option<String>,
    /// `GET ?email=` (or `{email}` in the path) → the profile, or 404 (default `/users`).
    #[schema(nullable = false, pattern = "^/")]
    pub get_user_path: Option<String>,
    /// `POST` after a user migrated, `{id}` = the legacy id (default
    /// `/users/{id}/migrated`; `null` = never called).
    #[schema(pattern = "^/.*\\{id\\}")]
    pub migrated_path: Option<String>,
    /// Profile field (`user_id`, `email`, `email_verified`, `username`, `name`,
    /// `given_name`, `family_name`, `nickname`, `picture`, `app_metadata.KEY`,
    /// `user_metadata.KEY`) ← JSON pointer into the answer. Must map `user_id`.
    /// Absent: the answer is already a profile.
    #[schema(nullable = false)]
    pub profile_map: Option<std::collections::BTreeMap<String, String>>,
    /// The machine client Tern gets its token as (needs a client grant for `audience`).
    #[schema(min_length = 1)]
    pub client_id: String,
    /// The legacy API's identifier in Tern.
    #[schema(min_length = 1)]
    pub audience: String,
    /// Scopes to request (default: all the client grant allows).
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// Bound of one call, retries included, ms (default 5000).
    #[schema(nullable = false, minimum = 1, maximum = 60_000)]
    pub timeout_ms: Option<u64>,
    /// Retries after a connect error, timeout or 5xx (default 2).
    #[schema(nullable = false, minimum = 0, maximum = 5)]
    pub retries: Option<u32>,
    /// First backoff, doubled at each retry, ms (default 100).
    #[schema(nullable = false, minimum = 1, maximum = 10_000)]
    pub backoff_ms: Option<u64>,
    /// Circuit breaker.
    #[schema(nullable = false)]
    pub circuit_breaker: Option<CircuitBreakerOptions>,
}

/// Opens after `failures` consecutive failed calls for `cooldown_ms`; while
/// open, logins needing the legacy store get 503 at once.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakerOptions {
    /// Default 5.
    #[schema(nullable = false, minimum = 1, maximum = 100)]
    pub failures: Option<u32>,
    /// Default 30000.
    #[schema(nullable = false, minimum = 100, maximum = 3_600_000)]
    pub cooldown_ms: Option<u64>,
}

/// The `sql` connector's settings.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SqlConnectorOptions {}

/// A connection. Every field is present unless removed by `fields`/`include_fields`.
#[derive(Serialize, ToSchema)]
pub struct Connection {
    /// `con_…`.
    #[schema(nullable = false)]
    pub id: Option<String>,
    /// Unique name; the `realm` of the password-realm grant.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// Display name.
    #[schema(nullable = false)]
    pub display_name: Option<String>,
    /// Always `auth0` (database).
    #[schema(nullable = false)]
    pub strategy: Option<String>,
    /// Strategy options.
    #[schema(nullable = false)]
    pub options: Option<ConnectionOptions>,
    /// Client ids it is enabled for.
    #[schema(nullable = false)]
    pub enabled_clients: Option<Vec<String>>,
    /// Realms.
    #[schema(nullable = false)]
    pub realms: Option<Vec<String>>,
    /// Whether it is a domain connection.
    #[schema(nullable = false)]
    pub is_domain_connection: Option<bool>,
}

/// The strategy of a connection Tern can create.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// A database connection.
    Auth0,
}

macro_rules! connection_body {
    ($(#[$m:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$m])*
        #[derive(Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            $($extra)*
            /// Display name.
            pub display_name: Option<String>,
            /// Strategy options (on update, the whole object is replaced).
            pub options: Option<ConnectionOptions>,
            /// Client ids it is enabled for; each must exist.
            pub enabled_clients: Option<Vec<String>>,
            /// Realms (default: the name).
            pub realms: Option<Vec<String>>,
            /// Whether it is a domain connection.
            pub is_domain_connection: Option<bool>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub metadata: Option<Value>,
            /// Accepted for compatibility, ignored.
            #[schema(nullable = false)]
            pub show_as_button: Option<Value>,
        }
    };
}

connection_body!(
    /// The body of `POST /connections`.
    ConnectionCreate {
        /// Alphanumerics and single dashes, starting and ending with an alphanumeric.
        #[schema(max_length = 128, pattern = "^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$")]
        pub name: String,
        /// `auth0`: Tern implements database connections.
        pub strategy: Strategy,
    }
);
connection_body!(
    /// The body of `PATCH /connections/{id}`.
    ConnectionUpdate {}
);

// ---------------------------------------------------------------- migration

/// Users of one arrival source.
#[derive(Serialize, ToSchema)]
pub struct MigrationSourceLine {
    /// How many.
    pub users: u64,
    /// The first arrival (null when none).
    pub first_at: Option<String>,
    /// The latest arrival (null when none).
    pub last_at: Option<String>,
}

/// `GET /connections/{id}/migration` (Tern extension).
#[derive(Serialize, ToSchema)]
pub struct MigrationReport {
    /// `con_…`.
    pub connection_id: String,
    /// The connection name.
    pub connection: String,
    /// "Use my own database" is on.
    pub custom_database: bool,
    /// Import mode (lazy migration) is on.
    pub import_mode: bool,
    /// Users of the connection.
    pub total_users: u64,
    /// Per arrival source: `lazy_login`, `lazy_reset`, `bulk_import`, `signup`,
    /// `api` (always present), and `legacy` (profiles kept while import mode is off).
    pub sources: std::collections::BTreeMap<String, MigrationSourceLine>,
    /// Users without a credential (imported without a hash, an unfinished
    /// reset, or a legacy store that stays the source of truth).
    pub awaiting_credential: u64,
    /// Credentials per hash scheme (`argon2id`, `bcrypt`, `md5-crypt`, …, `unreadable`).
    pub credentials_by_scheme: std::collections::BTreeMap<String, u64>,
    /// The first lazy login, lazy reset or bulk import (null when none).
    pub first_migration_at: Option<String>,
    /// The latest one (null when none).
    pub last_migration_at: Option<String>,
}

/// The body of `POST /connections/{id}/scripts/{name}/try`: `args`, or the
/// script's named inputs.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct ScriptTryRequest {
    /// The arguments before `callback`, in order (as many as the script takes).
    #[schema(nullable = false, max_items = 3)]
    pub args: Option<Vec<Value>>,
    /// A source to run instead of the stored script.
    #[schema(nullable = false, min_length = 1, max_length = 102_400)]
    pub script: Option<String>,
    /// Configuration values for this run, over the stored ones (`********` keeps one).
    #[schema(nullable = false)]
    pub configuration: Option<std::collections::BTreeMap<String, String>>,
    /// login, get_user, verify, change_password, change_email: the email.
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// login: the username (instead of `email`).
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// login: the password.
    #[schema(nullable = false)]
    pub password: Option<String>,
    /// create: Auth0's user object (`email`, `password`, `connection`, …).
    #[schema(nullable = false)]
    pub user: Option<Map<String, Value>>,
    /// delete: the user id without `auth0|`.
    #[schema(nullable = false)]
    pub id: Option<String>,
    /// change_email: the new email.
    #[schema(nullable = false)]
    pub newEmail: Option<String>,
    /// change_password: the new password.
    #[schema(nullable = false)]
    pub newPassword: Option<String>,
    /// change_email: whether the new email is verified.
    #[schema(nullable = false)]
    pub verified: Option<bool>,
}

/// How a tried script failed.
#[derive(Serialize, ToSchema)]
pub struct ScriptTryError {
    /// `callback` (the script called back with an error), or the sandbox's
    /// reason: `timeout`, `out_of_memory`, `stack_overflow`, `thrown`,
    /// `rejected_promise`, `source_too_large`, `not_a_function`, `syntax`,
    /// `module_not_found`, `no_callback`, `invalid_callback_value`, `internal`.
    pub kind: String,
    /// What happened.
    pub message: String,
    /// For `callback`: `WrongUsernameOrPasswordError`, `ValidationError`,
    /// `UnauthorizedError` or `Error`.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// For `WrongUsernameOrPasswordError`: the user it names.
    pub user: Option<String>,
    /// For `ValidationError`: its code.
    #[schema(nullable = false)]
    pub code: Option<String>,
}

/// What a tried script did: `result` (what it called back with) or `error`.
#[derive(Serialize, ToSchema)]
pub struct ScriptTryResult {
    /// The value passed to `callback(null, value)` (null for `callback()`).
    pub result: Option<Value>,
    /// Why there is no result.
    #[schema(nullable = false)]
    pub error: Option<ScriptTryError>,
    /// Captured `console` lines (`[warn] `/`[error] ` prefixed), capped.
    pub console: Vec<String>,
    /// Contract violations, e.g. a second callback.
    pub warnings: Vec<String>,
    /// Wall-clock time of the run, waiting for a sandbox slot included.
    pub elapsed_ms: u64,
}

// ---------------------------------------------------------------- users

/// One identity of a user.
#[derive(Serialize, ToSchema)]
#[allow(non_snake_case)]
pub struct Identity {
    /// The connection name.
    pub connection: String,
    /// The id without the provider prefix.
    pub user_id: String,
    /// Always `auth0`.
    pub provider: String,
    /// Always false.
    pub isSocial: bool,
}

/// A user. Every field is present (optional ones when set) unless removed by
/// `fields`/`include_fields`.
#[derive(Serialize, ToSchema)]
pub struct User {
    /// `auth0|…`.
    #[schema(nullable = false, example = "auth0|65f0c1d2e3a4b5c6d7e8f901")]
    pub user_id: Option<String>,
    /// Lower-cased email.
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// Whether the email is verified.
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
    /// Username.
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// E.164 phone number.
    #[schema(nullable = false)]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified (with `phone_number`).
    #[schema(nullable = false)]
    pub phone_verified: Option<bool>,
    /// Full name.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// Given name.
    #[schema(nullable = false)]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(nullable = false)]
    pub family_name: Option<String>,
    /// Nickname.
    #[schema(nullable = false)]
    pub nickname: Option<String>,
    /// Picture URL.
    #[schema(nullable = false)]
    pub picture: Option<String>,
    /// Creation time, ISO 8601.
    #[schema(nullable = false)]
    pub created_at: Option<String>,
    /// Last change, ISO 8601.
    #[schema(nullable = false)]
    pub updated_at: Option<String>,
    /// Identities (one, of the database connection).
    #[schema(nullable = false)]
    pub identities: Option<Vec<Identity>>,
    /// Metadata the user may not change.
    #[schema(nullable = false)]
    pub app_metadata: Option<Map<String, Value>>,
    /// Metadata the user may change.
    #[schema(nullable = false)]
    pub user_metadata: Option<Map<String, Value>>,
    /// Last successful login, ISO 8601.
    #[schema(nullable = false)]
    pub last_login: Option<String>,
    /// IP of the last successful login.
    #[schema(nullable = false)]
    pub last_ip: Option<String>,
    /// Successful logins.
    #[schema(nullable = false)]
    pub logins_count: Option<i64>,
    /// Present (true) when the user is blocked.
    #[schema(nullable = false)]
    pub blocked: Option<bool>,
}

macro_rules! user_body {
    ($(#[$m:meta])* $ty:ident { $($extra:tt)* }) => {
        $(#[$m])*
        #[derive(Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            $($extra)*
            /// Whether the email is verified.
            #[schema(nullable = false)]
            pub email_verified: Option<bool>,
            /// Letters, digits and `_ - . + ! # $ ^ \` ~ ' @`; not an email address. Required
            /// by connections with `requires_username`.
            #[schema(nullable = false, min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9_.+!#$^`~'@-]+$")]
            pub username: Option<String>,
            /// E.164.
            #[schema(nullable = false, pattern = r"^\+[0-9]{1,15}$")]
            pub phone_number: Option<String>,
            /// Whether the phone number is verified.
            #[schema(nullable = false)]
            pub phone_verified: Option<bool>,
            /// Full name.
            #[schema(nullable = false, min_length = 1, max_length = 300)]
            pub name: Option<String>,
            /// Given name.
            #[schema(nullable = false, min_length = 1, max_length = 150)]
            pub given_name: Option<String>,
            /// Family name.
            #[schema(nullable = false, min_length = 1, max_length = 150)]
            pub family_name: Option<String>,
            /// Nickname.
            #[schema(nullable = false, min_length = 1, max_length = 300)]
            pub nickname: Option<String>,
            /// Picture URL.
            #[schema(nullable = false, min_length = 1, max_length = 2048)]
            pub picture: Option<String>,
            /// Blocked users cannot log in.
            #[schema(nullable = false)]
            pub blocked: Option<bool>,
            /// Metadata the user may not change (keys without `.` or `$`).
            #[schema(nullable = false)]
            pub app_metadata: Option<Map<String, Value>>,
            /// Metadata the user may change (keys without `.` or `$`).
            #[schema(nullable = false)]
            pub user_metadata: Option<Map<String, Value>>,
            /// Accepted, no effect.
            #[schema(nullable = false)]
            pub verify_email: Option<bool>,
        }
    };
}

user_body!(
    /// The body of `POST /users`. `null` is not accepted for any field.
    UserCreate {
        /// The database connection's name.
        #[schema(min_length = 1, max_length = 128, example = "Username-Password-Authentication")]
        pub connection: String,
        /// Email address.
        #[schema(format = Email, min_length = 1, max_length = 254)]
        pub email: String,
        /// The password, checked against the connection's password policy.
        #[schema(min_length = 1, max_length = 1024)]
        pub password: String,
        /// The id to give the user (with or without `auth0|`), no whitespace.
        #[schema(nullable = false, min_length = 1, max_length = 255, pattern = r"^\S*$")]
        pub user_id: Option<String>,
    }
);
user_body!(
    /// The body of `PATCH /users/{id}`. `null` is not accepted for any field.
    UserUpdate {
        /// The user's connection name (it cannot change; another name is refused).
        #[schema(nullable = false, min_length = 1, max_length = 128)]
        pub connection: Option<String>,
        /// Email address.
        #[schema(nullable = false, format = Email, min_length = 1, max_length = 254)]
        pub email: Option<String>,
        /// The new password, checked against the connection's password policy.
        #[schema(nullable = false, min_length = 1, max_length = 1024)]
        pub password: Option<String>,
        /// Accepted, no effect.
        #[schema(nullable = false)]
        pub verify_phone_number: Option<bool>,
        /// Accepted, no effect.
        #[schema(nullable = false)]
        pub verify_password: Option<bool>,
        /// Accepted, no effect.
        #[schema(nullable = false, min_length = 1, max_length = 128)]
        pub client_id: Option<String>,
    }
);

// ---------------------------------------------------------------- logs

/// One event of the tenant log. Every event has a `date` and a `type`; a
/// listing's `fields` can leave them out (never `log_id`).
#[derive(Serialize, ToSchema)]
pub struct LogEvent {
    /// Unique, sortable id.
    pub log_id: String,
    /// When, ISO 8601.
    #[schema(nullable = false)]
    pub date: Option<String>,
    /// Auth0 event type: `s`, `f`, `fp`, `fu`, `seccft`, `feccft`, `sapi`, `fapi`, `api_limit`, ….
    #[schema(nullable = false)]
    pub r#type: Option<String>,
    /// Human description.
    #[schema(nullable = false)]
    pub description: Option<String>,
    /// The client involved.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The client's name.
    #[schema(nullable = false)]
    pub client_name: Option<String>,
    /// Caller IP.
    #[schema(nullable = false)]
    pub ip: Option<String>,
    /// The user involved.
    #[schema(nullable = false)]
    pub user_id: Option<String>,
    /// The user name or email typed.
    #[schema(nullable = false)]
    pub user_name: Option<String>,
    /// The connection involved.
    #[schema(nullable = false)]
    pub connection: Option<String>,
    /// The connection id.
    #[schema(nullable = false)]
    pub connection_id: Option<String>,
    /// Extra structured details.
    #[schema(nullable = false)]
    pub details: Option<Value>,
}

// ---------------------------------------------------------------- jobs

/// `true` or `false`, as a multipart part.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormBool {
    /// Yes.
    True,
    /// No.
    False,
}

/// The multipart form of `POST /jobs/users-imports`.
#[derive(Deserialize, ToSchema)]
pub struct UsersImportForm {
    /// The users file: a JSON array of users in Auth0's import schema.
    #[schema(value_type = String, format = Binary)]
    pub users: Vec<u8>,
    /// The database connection to import into.
    #[schema(pattern = "^con_[A-Za-z0-9]{16}$", example = "con_0123456789abcdef")]
    pub connection_id: String,
    /// Update users that exist (matched by email) instead of failing them (default false).
    #[schema(nullable = false)]
    pub upsert: Option<FormBool>,
    /// Echoed in the job.
    #[schema(nullable = false, max_length = 255)]
    pub external_id: Option<String>,
    /// Accepted for compatibility (default true).
    #[schema(nullable = false)]
    pub send_completion_email: Option<FormBool>,
    /// Validate and count without writing users (default false).
    #[schema(nullable = false)]
    pub dry_run: Option<FormBool>,
    /// Tern extension: answer (still 202) only once the job has ended or
    /// after this many milliseconds (0 to 10000), whichever comes first, so
    /// a small import needs no polling. Absent or 0: answer at once, as Auth0.
    #[schema(nullable = false, pattern = "^[0-9]{1,5}$", example = "10000")]
    pub tern_wait_ms: Option<String>,
}

/// The state of a job.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Queued.
    Pending,
    /// Running.
    Processing,
    /// Every row accounted for (failed rows are in `/errors`).
    Completed,
    /// A job-level error; see `status_details`.
    Failed,
    /// Completed long ago.
    Expired,
}

/// Row counts of a finished job.
#[derive(Serialize, ToSchema)]
pub struct JobSummary {
    /// Rows that failed.
    pub failed: u64,
    /// Users updated (upsert).
    pub updated: u64,
    /// Users inserted.
    pub inserted: u64,
    /// Rows in the file.
    pub total: u64,
    /// Tern extension, in a dry run whose rows name roles (`tern_roles`)
    /// it would give: what giving them would do. Nothing is written.
    #[schema(nullable = false)]
    pub tern_roles: Option<DryRunRoles>,
}

/// What a dry-run import's roles would do, over the rows it would insert or
/// update.
#[derive(Serialize, ToSchema)]
pub struct DryRunRoles {
    /// Role names the tenant has no role of, which the import would create
    /// (sorted; the first 1 000).
    pub would_create: Vec<String>,
    /// Present and true when the import would create more roles than
    /// `would_create` names.
    #[schema(nullable = false)]
    pub would_create_more: Option<bool>,
    /// Roles it would give users, one per (user, role) the user does not
    /// hold yet.
    pub would_assign: u64,
}

/// A job: an import (`users_import`) or an export (`users_export`).
#[derive(Serialize, ToSchema)]
pub struct Job {
    /// `job_…`.
    pub id: String,
    /// `users_import` or `users_export`.
    pub r#type: String,
    /// Its state.
    pub status: JobState,
    /// Creation time, ISO 8601.
    pub created_at: String,
    /// The connection (an export of every connection has none).
    #[schema(nullable = false)]
    pub connection_id: Option<String>,
    /// The connection's name.
    #[schema(nullable = false)]
    pub connection: Option<String>,
    /// Whether existing users are updated.
    #[schema(nullable = false)]
    pub upsert: Option<bool>,
    /// As requested.
    #[schema(nullable = false)]
    pub send_completion_email: Option<bool>,
    /// As requested.
    #[schema(nullable = false)]
    pub external_id: Option<String>,
    /// Present (true) for a dry run.
    #[schema(nullable = false)]
    pub dry_run: Option<bool>,
    /// Progress, while pending or processing.
    #[schema(nullable = false)]
    pub percentage_done: Option<u64>,
    /// Estimate, while pending or processing.
    #[schema(nullable = false)]
    pub time_left_seconds: Option<u64>,
    /// Once completed or failed.
    #[schema(nullable = false)]
    pub summary: Option<JobSummary>,
    /// Why a job failed.
    pub status_details: Option<String>,
    /// Export: `json` (NDJSON) or `csv`.
    #[schema(nullable = false)]
    pub format: Option<ExportFormat>,
    /// Export: the fields written.
    #[schema(nullable = false)]
    pub fields: Option<Vec<ExportField>>,
    /// Export: at most this many users.
    #[schema(nullable = false)]
    pub limit: Option<u64>,
    /// Export, once completed: a signed download link valid for 60 seconds
    /// (fetch the job again for a new one).
    #[schema(nullable = false)]
    pub location: Option<String>,
}

/// The file format of an export.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Newline-delimited JSON, gzipped.
    Json,
    /// CSV, gzipped (formula-like cells escaped).
    Csv,
}

/// A field of an export.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportField {
    /// Path such as `email`, `identities[0].connection`, `user_metadata.plan`.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Column title / key in the output (default: `name`).
    #[schema(nullable = false, max_length = 100)]
    pub export_as: Option<String>,
}

/// The body of `POST /jobs/users-exports` (JSON, or a form without `fields`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsersExportRequest {
    /// Only this connection's users (default: every connection).
    #[schema(nullable = false, pattern = "^con_[A-Za-z0-9]{16}$")]
    pub connection_id: Option<String>,
    /// Default `json`.
    #[schema(nullable = false)]
    pub format: Option<ExportFormat>,
    /// At most this many users.
    #[schema(nullable = false, minimum = 1)]
    pub limit: Option<u64>,
    /// The fields to write (default: Auth0's default set). CSV: at most 30, and
    /// leaf paths only (not `app_metadata`, `user_metadata`, `identities`).
    #[schema(nullable = false)]
    pub fields: Option<Vec<ExportField>>,
}

/// The query of an export download link.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// The signed token of the link.
    pub token: String,
}

/// One problem with one row.
#[derive(Serialize, ToSchema)]
pub struct JobRowError {
    /// Auth0 error code (`INVALID_TYPE`, `FORMAT`, `PATTERN`, `DUPLICATED_USER`, `CONFLICT`, …).
    pub code: String,
    /// Human message.
    pub message: String,
    /// JSON path of the offending field.
    pub path: String,
}

/// A row that failed, with its problems.
#[derive(Serialize, ToSchema)]
pub struct JobErrorRecord {
    /// The row as in the file, password hashes redacted.
    pub user: Value,
    /// What is wrong with it.
    pub errors: Vec<JobRowError>,
    /// The row's index in the file (a Tern addition).
    pub index: u64,
}

/// The failed rows of a job, or the job itself when it failed as a whole.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum JobErrors {
    /// The failed rows.
    Rows(Vec<JobErrorRecord>),
    /// A job-level failure.
    Failed(Box<Job>),
}

// ---------------------------------------------------------------- authentication

/// Grant types of `/oauth/token`.
#[derive(Serialize, Deserialize, ToSchema)]
pub enum GrantType {
    /// Machine to machine.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// Resource owner password.
    #[serde(rename = "password")]
    Password,
    /// Resource owner password against a named connection (`realm`).
    #[serde(rename = "http://auth0.com/oauth/grant-type/password-realm")]
    PasswordRealm,
    /// A code from `/authorize`.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// The one-time code finishing a login that answered `mfa_required`.
    #[serde(rename = "http://auth0.com/oauth/grant-type/mfa-otp")]
    MfaOtp,
    /// A refresh token from an earlier exchange (`offline_access`).
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

/// A token request, as a form or as JSON (`null`s count as absent).
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The grant.
    pub grant_type: GrantType,
    /// The client (or HTTP Basic).
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The client's secret (or HTTP Basic).
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    /// The API identifier (required for `client_credentials`).
    #[schema(nullable = false)]
    pub audience: Option<String>,
    /// Space-separated scopes.
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// Email or username (password grants).
    #[schema(nullable = false)]
    pub username: Option<String>,
    /// Password (password grants).
    #[schema(nullable = false)]
    pub password: Option<String>,
    /// Connection name (required for password-realm).
    #[schema(nullable = false)]
    pub realm: Option<String>,
    /// The code (`authorization_code`).
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// The callback the code was sent to (`authorization_code`).
    #[schema(nullable = false)]
    pub redirect_uri: Option<String>,
    /// PKCE verifier (`authorization_code`, when the request had a challenge).
    #[schema(nullable = false, min_length = 43, max_length = 128)]
    pub code_verifier: Option<String>,
    /// The refresh token (`refresh_token`).
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
    /// The `mfa_token` of an `mfa_required` answer (`mfa-otp`).
    #[schema(nullable = false)]
    pub mfa_token: Option<String>,
    /// The authenticator app's current code (`mfa-otp`).
    #[schema(nullable = false)]
    pub otp: Option<String>,
}

/// The form of `POST /u/mfa-otp-challenge`.
#[derive(Deserialize, ToSchema)]
pub struct MfaOtpForm {
    /// The transaction (also accepted in the query).
    #[schema(nullable = false)]
    pub state: Option<String>,
    /// The authenticator app's 6-digit code.
    pub code: String,
}

/// A factor of `GET /guardian/factors`.
#[derive(Serialize, ToSchema)]
pub struct GuardianFactor {
    /// The factor, e.g. `otp`.
    pub name: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Always `false` (no trial limits).
    pub trial_expired: bool,
}

/// The body and answer of `PUT /guardian/factors/{name}`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct GuardianFactorUpdate {
    /// Whether the factor is enabled.
    pub enabled: bool,
}

/// The body of `POST /mfa/associate`.
#[derive(Deserialize, ToSchema)]
pub struct MfaAssociateRequest {
    /// `["otp"]` (authenticator apps; Tern has no out-of-band channel).
    pub authenticator_types: Vec<String>,
}

/// The answer of `POST /mfa/associate`.
#[derive(Serialize, ToSchema)]
pub struct MfaAssociateResponse {
    /// `otp`.
    pub authenticator_type: String,
    /// The seed, Base32, shown once: type it into the app.
    pub secret: String,
    /// The `otpauth://` URI to show as a QR code.
    pub barcode_uri: String,
}

/// The body of `POST /mfa/challenge`.
#[derive(Deserialize, ToSchema)]
pub struct MfaChallengeRequest {
    /// The `mfa_token` of the `mfa_required` answer.
    pub mfa_token: String,
    /// The application (or HTTP Basic).
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Its secret (confidential applications; or HTTP Basic).
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    /// `otp` (Tern sends no out-of-band codes).
    pub challenge_type: String,
    /// Which authenticator (optional).
    #[schema(nullable = false)]
    pub authenticator_id: Option<String>,
}

/// The answer of `POST /mfa/challenge`.
#[derive(Serialize, ToSchema)]
pub struct MfaChallengeResponse {
    /// `otp`: enter the authenticator app's code with the mfa-otp grant.
    pub challenge_type: String,
}

/// An authenticator of `GET /mfa/authenticators`.
#[derive(Serialize, ToSchema)]
pub struct MfaAuthenticator {
    /// The enrollment id, e.g. `totp|dev_…` (as `/guardian/enrollments/{id}`).
    pub id: String,
    /// `otp`.
    pub authenticator_type: String,
    /// `false` for an enrolment /mfa/associate started and no code confirmed yet.
    pub active: bool,
    /// A display name.
    pub name: String,
}

/// The body of `POST /dbconnections/signup`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// The application signing the user up; the connection must be enabled for it.
    pub client_id: String,
    /// The database connection's name.
    pub connection: String,
    /// Email address.
    #[schema(format = Email, min_length = 1, max_length = 254)]
    pub email: String,
    /// Checked against the connection's password policy.
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
    /// Username (connections with `requires_username`).
    #[schema(nullable = false, min_length = 1, max_length = 128)]
    pub username: Option<String>,
    /// Given name.
    #[schema(nullable = false, min_length = 1, max_length = 150)]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(nullable = false, min_length = 1, max_length = 150)]
    pub family_name: Option<String>,
    /// Full name.
    #[schema(nullable = false, min_length = 1, max_length = 300)]
    pub name: Option<String>,
    /// Nickname.
    #[schema(nullable = false, min_length = 1, max_length = 300)]
    pub nickname: Option<String>,
    /// Picture URL.
    #[schema(nullable = false, min_length = 1, max_length = 2048)]
    pub picture: Option<String>,
    /// At most 10 string fields of at most 500 characters.
    #[schema(nullable = false)]
    pub user_metadata: Option<std::collections::BTreeMap<String, String>>,
}

/// A user made by sign-up.
#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    /// The user id without the `auth0|` prefix.
    pub _id: String,
    /// Email address.
    pub email: String,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// Username, when given.
    #[schema(nullable = false)]
    pub username: Option<String>,
}

/// Tokens.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// RS256 JWT.
    pub access_token: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// `Bearer`.
    pub token_type: String,
    /// With the `openid` scope.
    #[schema(nullable = false)]
    pub id_token: Option<String>,
    /// With `offline_access` where the client and the API allow it; on a
    /// refresh, the successor of a rotating token.
    #[schema(nullable = false)]
    pub refresh_token: Option<String>,
}

/// OIDC claims of the user a token was issued to, for its scopes.
#[derive(Serialize, ToSchema)]
pub struct UserInfo {
    /// The user id.
    pub sub: String,
    /// `profile` scope.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// `profile` scope.
    #[schema(nullable = false)]
    pub nickname: Option<String>,
    /// `profile` scope.
    #[schema(nullable = false)]
    pub picture: Option<String>,
    /// `profile` scope.
    #[schema(nullable = false)]
    pub given_name: Option<String>,
    /// `profile` scope.
    #[schema(nullable = false)]
    pub family_name: Option<String>,
    /// `profile` scope.
    #[schema(nullable = false)]
    pub updated_at: Option<String>,
    /// `email` scope.
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// `email` scope.
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
}

/// A public RSA signing key.
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// `RSA`.
    pub kty: String,
    /// Key id (the JWT header `kid`).
    pub kid: String,
    /// `sig`.
    pub r#use: String,
    /// `RS256`.
    pub alg: String,
    /// Modulus, base64url.
    pub n: String,
    /// Exponent, base64url.
    pub e: String,
    /// The key's self-signed certificate (base64 DER), as Auth0 publishes it.
    pub x5c: Vec<String>,
    /// SHA-1 thumbprint of that certificate, base64url.
    pub x5t: String,
}

/// A signing key (`GET /keys/signing`), as Auth0 answers it.
#[derive(Serialize, ToSchema)]
pub struct SigningKeyBody {
    /// Key id (the JWT header `kid`).
    pub kid: String,
    /// The key's self-signed certificate, PEM (CRLF line breaks, as Auth0).
    pub cert: String,
    /// The same certificate as a PKCS#7 PEM.
    pub pkcs7: String,
    /// The key signs every token.
    pub current: bool,
    /// The key signs after the next rotation (already in the JWKS).
    pub next: bool,
    /// The key signed before a rotation; its tokens verify until it is revoked.
    pub previous: bool,
    /// When it became the current key.
    #[schema(nullable = false)]
    pub current_since: Option<String>,
    /// When it stopped being the current key.
    #[schema(nullable = false)]
    pub current_until: Option<String>,
    /// SHA-1 of the certificate, `AA:BB:…`.
    pub fingerprint: String,
    /// SHA-1 of the certificate, hex.
    pub thumbprint: String,
    /// Revoked: out of the JWKS, its tokens refused.
    pub revoked: bool,
    /// When it was revoked.
    #[schema(nullable = false)]
    pub revoked_at: Option<String>,
}

/// A key named by a rotation (the new next key) or a revocation (the revoked key).
#[derive(Serialize, ToSchema)]
pub struct SigningKeyRef {
    /// The key's certificate, PEM.
    pub cert: String,
    /// Key id.
    pub kid: String,
}

/// The tenant's public signing keys.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    /// Every key a valid token may be signed with.
    pub keys: Vec<Jwk>,
}

/// OpenID Connect discovery.
#[derive(Serialize, ToSchema)]
pub struct OpenIdConfiguration {
    /// `{public URL}/`.
    pub issuer: String,
    /// `{public URL}/oauth/token`.
    pub token_endpoint: String,
    /// `{public URL}/userinfo`.
    pub userinfo_endpoint: String,
    /// `{public URL}/.well-known/jwks.json`.
    pub jwks_uri: String,
    /// Supported grants.
    pub grant_types_supported: Vec<String>,
    /// Supported response types.
    pub response_types_supported: Vec<String>,
    /// `public`.
    pub subject_types_supported: Vec<String>,
    /// `RS256`.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// OIDC scopes.
    pub scopes_supported: Vec<String>,
    /// Claims.
    pub claims_supported: Vec<String>,
    /// `{public URL}/authorize`.
    pub authorization_endpoint: String,
    /// `{public URL}/oidc/logout`.
    pub end_session_endpoint: String,
    /// `{public URL}/oauth/revoke`.
    pub revocation_endpoint: String,
    /// `client_secret_basic`, `client_secret_post`, `none`.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// `S256`.
    pub code_challenge_methods_supported: Vec<String>,
    /// `query`, `form_post`, `web_message`.
    pub response_modes_supported: Vec<String>,
    /// `false`: request objects are refused.
    pub request_parameter_supported: bool,
    /// `false`.
    pub request_uri_parameter_supported: bool,
}

/// The body of `POST /dbconnections/change_password`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The application asking; the connection must be enabled for it.
    pub client_id: String,
    /// The user's email address.
    #[schema(format = Email, min_length = 1, max_length = 254)]
    pub email: String,
    /// The database connection's name.
    pub connection: String,
}

/// The body of `POST /api/v2/tickets/password-change`: `user_id`, or
/// `email` with `connection_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeTicketRequest {
    /// Where the reset page sends the user afterwards (`?success=true&message=…`); not with `client_id`.
    #[schema(
        nullable = false,
        format = "uri",
        example = "https://app.example/after-reset"
    )]
    pub result_url: Option<String>,
    /// The user, e.g. `auth0|…`; not with `email`/`connection_id`.
    #[schema(nullable = false, min_length = 1)]
    pub user_id: Option<String>,
    /// The application the ticket is for.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The user's connection, with `email`.
    #[schema(nullable = false, pattern = "^con_[A-Za-z0-9]{16}$")]
    pub connection_id: Option<String>,
    /// The user's email, with `connection_id`.
    #[schema(nullable = false, format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Lifetime in seconds; 0 or absent: 432000 (5 days). At most 30 days.
    #[schema(nullable = false, minimum = 0, maximum = 2_592_000)]
    pub ttl_sec: Option<i64>,
    /// Set `email_verified` when the password is set.
    #[schema(nullable = false)]
    pub mark_email_as_verified: Option<bool>,
    /// Add `email=` to the redirect to `result_url`.
    #[serde(rename = "includeEmailInRedirect")]
    #[schema(nullable = false)]
    pub include_email_in_redirect: Option<bool>,
}

/// A password change ticket.
#[derive(Serialize, ToSchema)]
pub struct PasswordChangeTicket {
    /// The reset link (`{public URL}/lo/reset?ticket=…`); it works once.
    #[schema(format = "uri")]
    pub ticket: String,
}

/// The body of `POST /api/v2/tickets/email-verification`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerificationTicketRequest {
    /// The user, e.g. `auth0|…`: stored, not blocked, with an email.
    #[schema(min_length = 1)]
    pub user_id: String,
    /// Where the link sends the user afterwards (`?message=…&success=true&code=success`); an absolute http(s) URL, not with `client_id`.
    #[schema(
        nullable = false,
        format = "uri",
        example = "https://app.example/verified"
    )]
    pub result_url: Option<String>,
    /// The application the ticket is for (logged with the ticket's events).
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Lifetime in seconds; 0 or absent: 432000 (5 days). At most 30 days.
    #[schema(nullable = false, minimum = 0, maximum = 2_592_000)]
    pub ttl_sec: Option<i64>,
    /// Add `email=` to the redirect to `result_url`.
    #[serde(rename = "includeEmailInRedirect")]
    #[schema(nullable = false)]
    pub include_email_in_redirect: Option<bool>,
    /// The identity to verify: Tern users have one, so it must be the user's own (`provider` `auth0`, `user_id` without the prefix).
    #[schema(nullable = false, value_type = Object)]
    pub identity: Option<serde_json::Value>,
}

/// The body of `POST /api/v2/jobs/verification-email`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationEmailJobRequest {
    /// The user, e.g. `auth0|…`: stored, not blocked, with an email.
    #[schema(min_length = 1)]
    pub user_id: String,
    /// The application the mail is for (logged with the link's events).
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// The identity to verify: the user's own (`provider` `auth0`, `user_id` without the prefix).
    #[schema(nullable = false, value_type = Object)]
    pub identity: Option<serde_json::Value>,
}

/// A verification-email job (`POST /jobs/verification-email`, `GET /jobs/{id}`).
#[derive(Serialize, ToSchema)]
pub struct VerificationEmailJob {
    /// `job_…`.
    pub id: String,
    /// `verification_email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `completed`, or `failed` when the mail could not be sent.
    pub status: String,
    /// When it ran.
    pub created_at: String,
    /// Why it failed.
    #[schema(nullable = false)]
    pub status_details: Option<String>,
}

/// The answer of `POST /api/v2/tickets/email-verification`.
#[derive(Serialize, ToSchema)]
pub struct EmailVerificationTicket {
    /// The verification link (`{public URL}/lo/verify_email?ticket=…`); it works once.
    #[schema(format = "uri")]
    pub ticket: String,
}

/// The form of a mailed link's confirmation page (its button): the email
/// verification and the brute-force unblock links.
#[derive(Deserialize, ToSchema)]
pub struct TicketForm {
    /// The ticket from the link.
    pub ticket: String,
}

/// The form of the reset page.
#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordForm {
    /// The ticket from the link.
    pub ticket: String,
    /// The new password, checked against the connection's password policy.
    #[serde(rename = "newPassword")]
    pub new_password: String,
    /// The same password again.
    #[serde(rename = "confirmNewPassword")]
    pub confirm_new_password: String,
    /// The account's email, for password managers; ignored.
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// The language the hosted page was shown in (`/u/reset-password`), so
    /// its answer stays in it; ignored by `/lo/reset`.
    #[schema(nullable = false)]
    pub ui_locales: Option<String>,
}

/// The ticket of a reset link.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketParam {
    /// The ticket from the link.
    pub ticket: String,
}

/// Brute-force protection settings (Auth0's defaults: on, both shields,
/// per identifier and IP, 10 attempts, no allowlist).
#[derive(Serialize, ToSchema)]
pub struct BruteForceSettings {
    /// Whether brute-force protection is active.
    pub enabled: Option<bool>,
    /// `block` (refuse the blocked attempts) and/or `user_notification`
    /// (mail the user an unblock link).
    pub shields: Option<Vec<String>>,
    /// Addresses and CIDR ranges never counted or blocked.
    pub allowlist: Option<Vec<String>>,
    /// `count_per_identifier_and_ip` or `count_per_identifier`.
    pub mode: Option<String>,
    /// Consecutive failures that block, 1–100.
    #[schema(minimum = 1, maximum = 100)]
    pub max_attempts: Option<u32>,
}

/// One stage of suspicious-IP throttling: a bucket of `max_attempts` per
/// address, one attempt granted back every `rate` milliseconds.
#[derive(Serialize, ToSchema)]
pub struct SuspiciousIpStage {
    /// Attempts an address has before it is refused.
    pub max_attempts: Option<u32>,
    /// Milliseconds after which one attempt is granted back.
    pub rate: Option<u64>,
}

/// Suspicious-IP throttling's stages.
#[derive(Serialize, ToSchema)]
pub struct SuspiciousIpStages {
    /// Failed logins from one address across users (Auth0's defaults: 100,
    /// 864000 ms; `max_attempts` 1–2500, `rate` 34560–86400000).
    #[serde(rename = "pre-login")]
    pub pre_login: Option<SuspiciousIpStage>,
    /// Signups from one address (Auth0's defaults: 50, 1728000 ms;
    /// `max_attempts` 1–72000, `rate` 1200–86400000).
    #[serde(rename = "pre-user-registration")]
    pub pre_user_registration: Option<SuspiciousIpStage>,
}

/// Suspicious-IP throttling settings (Auth0's defaults: on, both shields,
/// no allowlist).
#[derive(Serialize, ToSchema)]
pub struct SuspiciousIpSettings {
    /// Whether suspicious-IP throttling is active.
    pub enabled: Option<bool>,
    /// `block` (refuse the address's attempts) and/or `admin_notification`
    /// (mail `admin_emails`).
    pub shields: Option<Vec<String>>,
    /// Addresses and CIDR ranges never throttled.
    pub allowlist: Option<Vec<String>>,
    /// The limits per stage.
    pub stage: Option<SuspiciousIpStages>,
}

/// One block.
#[derive(Serialize, ToSchema)]
pub struct UserBlock {
    /// The user's email or username.
    pub identifier: String,
    /// The blocked address; absent when failures are counted per identifier.
    pub ip: Option<String>,
    /// The connection's name.
    pub connection: String,
}

/// `GET /user-blocks…`.
#[derive(Serialize, ToSchema)]
pub struct UserBlocks {
    /// The blocks in force.
    pub blocked_for: Vec<UserBlock>,
}

/// `?identifier=` of `/user-blocks`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdentifierParam {
    /// An email or a username.
    pub identifier: String,
}

/// `?consider_brute_force_enablement=` of `/user-blocks`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlockEnablementParam {
    /// When true and blocking is off, the list is empty.
    pub consider_brute_force_enablement: Option<bool>,
}

mod roles;
pub use roles::*;
