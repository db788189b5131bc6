//! Route tables. One module per resource; each handler parses, calls, maps.

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
pub use crate::payload::{field, merge_into, object_with, require_keys};
use crate::state::AppState;

pub mod actions;
pub mod attack_protection;
pub mod authentication_methods;
pub mod authorize;
pub mod branding;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod dbconnections;
pub mod device_credentials;
pub mod email_provider;
pub mod email_templates;
pub mod enrollments;
pub mod exports;
pub mod grants;
pub mod guardian;
pub mod jobs;
pub mod logout;
pub mod logs;
pub mod mfa;
pub mod migration;
pub mod oauth;
pub mod refresh_tokens;
pub mod reset_page;
pub mod resource_servers;
pub mod roles;
pub mod sessions;
pub mod signing_keys;
pub mod tenant_settings;
pub mod tickets;
pub mod unblock_page;
pub mod universal_login;
pub mod universal_mfa;
pub mod universal_signup;
pub mod user_blocks;
pub mod user_roles;
pub mod users;
pub mod verify_email_page;
pub mod wellknown;

/// `/api/v2/...` (mounted behind authentication and rate limiting).
pub fn management_router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            get(clients::get_one)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route("/clients/{id}/rotate-secret", post(clients::rotate_secret))
        .route("/actions/actions", get(actions::list).post(actions::create))
        .route(
            "/actions/actions/{id}",
            get(actions::get_one)
                .patch(actions::update)
                .delete(actions::delete),
        )
        .route("/actions/actions/{id}/deploy", post(actions::deploy))
        .route(
            "/actions/triggers/{triggerId}/bindings",
            get(actions::bindings).patch(actions::update_bindings),
        )
        .route(
            "/resource-servers",
            get(resource_servers::list).post(resource_servers::create),
        )
        .route(
            "/resource-servers/{id}",
            get(resource_servers::get_one)
                .patch(resource_servers::update)
                .delete(resource_servers::delete),
        )
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{id}",
            get(roles::get_one)
                .patch(roles::update)
                .delete(roles::delete),
        )
        .route(
            "/roles/{id}/permissions",
            get(roles::permissions)
                .post(roles::add_permissions)
                .delete(roles::remove_permissions),
        )
        .route(
            "/roles/{id}/users",
            get(roles::users).post(roles::add_users),
        )
        .route(
            "/users/{id}/roles",
            get(user_roles::roles)
                .post(user_roles::add_roles)
                .delete(user_roles::remove_roles),
        )
        .route(
            "/users/{id}/permissions",
            get(user_roles::permissions)
                .post(user_roles::add_permissions)
                .delete(user_roles::remove_permissions),
        )
        .route(
            "/client-grants",
            get(client_grants::list).post(client_grants::create),
        )
        .route(
            "/client-grants/{id}",
            get(client_grants::get_one)
                .patch(client_grants::update)
                .delete(client_grants::delete),
        )
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{id}",
            get(connections::get_one)
                .patch(connections::update)
                .delete(connections::delete),
        )
        .route(
            "/connections/{id}/users",
            axum::routing::delete(users::delete_by_email),
        )
        .route("/connections/{id}/migration", get(migration::report))
        .route(
            "/connections/{id}/scripts/{name}/try",
            post(migration::try_script),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get_one)
                .patch(users::update)
                .delete(users::delete),
        )
        .route(
            "/users/{id}/authentication-methods",
            get(authentication_methods::list).delete(authentication_methods::delete_all),
        )
        .route(
            "/users/{id}/authentication-methods/{authentication_method_id}",
            get(authentication_methods::get_one).delete(authentication_methods::delete_one),
        )
        .route(
            "/users/{id}/authenticators",
            axum::routing::delete(authentication_methods::delete_authenticators),
        )
        .route("/users/{id}/enrollments", get(enrollments::of_user))
        .route("/users/{id}/logs", get(logs::of_user))
        .route(
            "/users/{id}/sessions",
            get(sessions::of_user).delete(sessions::delete_of_user),
        )
        .route(
            "/sessions/{id}",
            get(sessions::get_one)
                .patch(sessions::update)
                .delete(sessions::delete),
        )
        .route("/sessions/{id}/revoke", post(sessions::revoke))
        .route(
            "/users/{id}/refresh-tokens",
            get(refresh_tokens::of_user).delete(refresh_tokens::delete_of_user),
        )
        .route("/refresh-tokens", get(refresh_tokens::list))
        .route("/refresh-tokens/revoke", post(refresh_tokens::revoke))
        .route(
            "/refresh-tokens/{id}",
            get(refresh_tokens::get_one)
                .patch(refresh_tokens::update)
                .delete(refresh_tokens::delete),
        )
        .route("/grants", get(grants::list).delete(grants::delete_by_user))
        .route("/grants/{id}", axum::routing::delete(grants::delete))
        .route("/device-credentials", get(device_credentials::list))
        .route(
            "/device-credentials/{id}",
            axum::routing::delete(device_credentials::delete),
        )
        .route(
            "/guardian/enrollments/{id}",
            get(enrollments::get_one).delete(enrollments::delete),
        )
        .route("/users-by-email", get(users::by_email))
        .route("/jobs/users-imports", post(jobs::create_import))
        .route("/jobs/users-exports", post(exports::create))
        .route("/jobs/verification-email", post(jobs::verification_email))
        .route("/jobs/{id}", get(jobs::get_one))
        .route("/jobs/{id}/errors", get(jobs::errors))
        .route("/tickets/password-change", post(tickets::password_change))
        .route(
            "/tickets/email-verification",
            post(tickets::email_verification),
        )
        .route("/keys/signing", get(signing_keys::list))
        .route("/keys/signing/rotate", post(signing_keys::rotate))
        .route("/keys/signing/{kid}", get(signing_keys::get_one))
        .route(
            "/keys/signing/{kid}/revoke",
            axum::routing::put(signing_keys::revoke),
        )
        .route(
            "/tenants/settings",
            get(tenant_settings::get_settings).patch(tenant_settings::update_settings),
        )
        .route(
            "/branding",
            get(branding::get_branding).patch(branding::update_branding),
        )
        .route(
            "/emails/provider",
            get(email_provider::get_provider)
                .post(email_provider::create_provider)
                .patch(email_provider::update_provider)
                .delete(email_provider::delete_provider),
        )
        .route("/email-templates", post(email_templates::create))
        .route(
            "/email-templates/{template_name}",
            get(email_templates::get_one)
                .patch(email_templates::update)
                .put(email_templates::replace),
        )
        .route(
            "/attack-protection/brute-force-protection",
            get(attack_protection::get_brute_force).patch(attack_protection::update_brute_force),
        )
        .route(
            "/attack-protection/suspicious-ip-throttling",
            get(attack_protection::get_suspicious_ip)
                .patch(attack_protection::update_suspicious_ip),
        )
        .route(
            "/anomaly/blocks/ips/{ip}",
            get(attack_protection::get_ip_block).delete(attack_protection::delete_ip_block),
        )
        .route(
            "/user-blocks",
            get(user_blocks::get_by_identifier).delete(user_blocks::delete_by_identifier),
        )
        .route(
            "/user-blocks/{id}",
            get(user_blocks::get_by_user).delete(user_blocks::delete_by_user),
        )
        .route(
            "/guardian/policies",
            get(guardian::get_policies).put(guardian::put_policies),
        )
        .route("/guardian/factors", get(guardian::get_factors))
        .route(
            "/guardian/factors/{name}",
            axum::routing::put(guardian::put_factor),
        )
        .route("/logs", get(logs::list))
        .route("/logs/{id}", get(logs::get_one))
        .fallback(management_not_found)
}

/// Everything outside `/api/v2`.
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(wellknown::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(wellknown::openid_configuration),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/mfa/challenge", post(mfa::challenge))
        .route("/mfa/authenticators", get(mfa::authenticators))
        .route("/mfa/associate", post(mfa::associate))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/dbconnections/signup", post(dbconnections::signup))
        .route(
            "/dbconnections/change_password",
            post(dbconnections::change_password),
        )
        .route("/lo/reset", get(reset_page::show).post(reset_page::submit))
        .route(
            "/lo/unblock",
            get(unblock_page::unblock_page).post(unblock_page::unblock),
        )
        .route(
            "/lo/verify_email",
            get(verify_email_page::verify_email).post(verify_email_page::confirm),
        )
        .route("/jobs-files/{id}/{name}", get(exports::download))
        .route("/userinfo", get(oauth::userinfo).post(oauth::userinfo))
        .route(
            "/authorize",
            get(authorize::authorize).post(authorize::authorize),
        )
        .route("/authorize/resume", get(authorize::resume))
        .route(
            "/continue",
            get(authorize::continue_login).post(authorize::continue_login),
        )
        .route(
            "/u/login",
            get(universal_login::login_page).post(universal_login::login),
        )
        .route(
            "/u/mfa-otp-challenge",
            get(universal_mfa::challenge_page).post(universal_mfa::challenge),
        )
        .route(
            "/u/mfa-otp-enrollment-qr",
            get(universal_mfa::enrolment_form).post(universal_mfa::enrol),
        )
        .route(
            "/u/signup",
            get(universal_signup::signup_page).post(universal_signup::signup),
        )
        .route(
            "/u/reset-password/request",
            get(universal_signup::reset_request_page).post(universal_signup::reset_request),
        )
        .route(
            "/u/reset-password",
            get(universal_signup::reset_page).post(universal_signup::reset),
        )
        .route("/v2/logout", get(logout::v2_logout))
        .route(
            "/oidc/logout",
            get(logout::oidc_logout).post(logout::oidc_logout),
        )
}

async fn management_not_found(uri: Uri) -> Response {
    ApiError::not_found(
        "not_found",
        format!(
            "Not Found: {} is not a Management API endpoint Tern implements.",
            uri.path()
        ),
    )
    .into_response()
}

/// 404 for anything else, as JSON.
pub async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "not_found", "error_description": format!("Nothing at {}", uri.path())})),
    )
        .into_response()
}
