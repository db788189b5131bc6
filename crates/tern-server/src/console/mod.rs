//! The Tern Console at `/console`: server-rendered pages from which an
//! operator runs a migration without curl.
//!
//! Operators are users of the `tern-operators` database connection, which
//! every start makes sure exists (`setup`); they sign in through Tern's own
//! browser login as the stored console application (`signin`,
//! `crate::console_app`): the hosted pages bring the password policy,
//! brute-force protection, MFA and the tenant log. Pages need a console session
//! (`session`), every form carries its CSRF token (`csrf`), and every
//! change calls the same domain code as the Management API and is written
//! to the tenant log with the operator as actor ([`audit`]).
//!
//! These routes are HTML for people, not part of the Management API: they
//! are not in the OpenAPI document.

pub mod csrf;
pub mod forms;
pub mod layout;
pub mod pages;
pub mod session;
pub mod setup;
pub mod signin;

use axum::Router;
use axum::routing::{get, post};
use tern_core::CoreResult;
use tern_core::model::{Connection, LogEvent};

use self::session::Operator;
pub use crate::routes::authorize::see_other;
use crate::state::AppState;

pub use crate::console_app::OPERATORS_CONNECTION;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::overview::show))
        .route("/console/", get(pages::overview::show))
        .route("/console/setup", get(setup::show).post(setup::submit))
        .route("/console/login", get(signin::login))
        .route("/console/callback", get(signin::callback))
        .route("/console/logout", post(signin::logout))
        .route("/console/signed-out", get(signin::signed_out))
        .route(
            "/console/connections/{id}/migration",
            get(pages::migration::show),
        )
        .route("/console/users", get(pages::users::list))
        .route("/console/users/{id}", get(pages::users::show))
        .route(
            "/console/users/{id}/unblock-logins",
            post(pages::users::unblock_logins),
        )
        .merge(pages::connections::router())
        .merge(pages::applications::router())
        .merge(pages::apis::router())
        .merge(pages::post_login_flow::router())
        .merge(pages::actions::router())
        .merge(pages::email_templates::router())
        .merge(pages::deletes::router())
        .route("/console/users/{id}/block", post(pages::users::block))
        .route("/console/users/{id}/unblock", post(pages::users::unblock))
        .route("/console/users/{id}/reset", post(pages::users::reset))
        .route(
            "/console/users/{id}/delete",
            get(pages::users::confirm_delete).post(pages::users::delete),
        )
        .route(
            "/console/users/{id}/metadata",
            post(pages::user_details::save_metadata),
        )
        .merge(pages::user_access::router())
        .merge(pages::user_roles::router())
        .merge(pages::roles::router())
        .route(
            "/console/imports",
            get(pages::imports::list)
                .post(pages::imports::upload)
                .layer(
                    // A users file of any size: read as a stream, never whole.
                    axum::extract::DefaultBodyLimit::disable(),
                ),
        )
        .route("/console/imports/{id}", get(pages::imports::show))
        .route("/console/imports/{id}/{file}", get(pages::imports::errors))
        .route(
            "/console/exports",
            get(pages::exports::list).post(pages::exports::start),
        )
        .route(
            "/console/exports/{id}/download",
            get(pages::exports::download),
        )
        .route("/console/logs", get(pages::logs::list))
        .route("/console/settings", get(pages::settings::show))
        .route(
            "/console/settings/brute-force",
            post(pages::settings::brute_force_submit),
        )
        .route(
            "/console/settings/suspicious-ip",
            post(pages::settings::suspicious_ip_submit),
        )
        .route("/console/settings/mail", post(pages::settings::mail_submit))
        .route(
            "/console/settings/mail/test",
            post(pages::settings::mail_test),
        )
        .route(
            "/console/settings/mail/forget",
            post(pages::settings::mail_forget),
        )
        .route(
            "/console/settings/keys/rotate",
            post(pages::settings::rotate),
        )
        .route(
            "/console/settings/keys/{kid}/revoke",
            post(pages::settings::revoke),
        )
}

/// The operators' connection of this tenant.
pub async fn operators_connection(s: &AppState) -> CoreResult<Option<Connection>> {
    s.store
        .get_connection_by_name(s.tid(), OPERATORS_CONNECTION)
        .await
}

/// Write the console change `what` ("Console: {what}", `sapi`) with
/// `details` to the tenant log, the operator as actor ([`audit`]).
pub async fn audit_change(s: &AppState, op: &Operator, what: &str, details: serde_json::Value) {
    let mut ev = LogEvent::new("sapi", format!("Console: {what}"));
    ev.details = Some(details);
    audit(s, op, ev).await;
}

/// Write a console change to the tenant log with the operator as actor
/// (`details.actor`), as the Management API logs its own changes (`sapi`).
pub async fn audit(s: &AppState, op: &Operator, mut ev: LogEvent) {
    let actor = serde_json::json!({"user_id": op.user.user_id, "email": op.user.email});
    let mut details = match ev.details.take() {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    details.insert("actor".into(), actor);
    ev.details = Some(serde_json::Value::Object(details));
    ev.client_id = Some(crate::console_app::CLIENT_ID.into());
    ev.client_name = Some(crate::console_app::NAME.into());
    s.log(ev).await;
}
