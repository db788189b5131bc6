//! Tern's HTTP server: `/oauth/token`, `/userinfo`, `/.well-known`, the
//! Management API under `/api/v2`.
//!
//! Handlers are thin: they parse the request, call the domain (`tern-core`)
//! or the store, and map errors once (see [`error`]).

pub mod actions;
pub mod app;
pub mod auth;
pub mod authorize;
pub mod background;
pub mod body;
pub mod bootstrap;
pub mod brute_force;
pub mod client_ip;
pub mod client_secret;
pub mod code_grant;
pub mod config;
pub mod connectors;
pub mod console;
pub mod console_app;
pub mod cookie_moves;
pub mod cookies;
pub mod cors;
pub mod cursor;
pub mod data_dir;
pub mod email_templates;
pub mod enrollments;
pub mod entitlement;
pub mod error;
pub mod export_job;
pub mod grant_admin;
pub mod hash_pool;
pub mod http_server;
pub mod import_upload;
pub mod ip_attempts;
pub mod ip_throttling;
pub mod jobs;
pub mod keys;
pub mod lazy;
pub mod legacy_budget;
pub mod legacy_ids;
pub mod legacy_ops;
pub mod legacy_script;
pub mod login;
pub mod login_turns;
pub mod logout;
pub mod mail;
pub mod mail_settings;
pub mod manage;
pub mod metrics;
pub mod mfa;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod password_grant;
pub mod passwords;
pub mod payload;
pub mod profile_hash;
pub mod rate_limit;
pub mod rbac;
pub mod refresh;
pub mod reset;
pub mod retention;
pub mod routes;
pub mod secrets;
pub mod session_admin;
pub mod sessions;
pub mod signup;
pub mod state;
pub mod strict_transport;
pub mod tls;
pub mod tokens;
pub mod user_admin;
pub mod user_search;
pub mod verification;

pub use app::{RunningServer, start};
pub use config::Config;
