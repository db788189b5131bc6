//! The console's pages, one module per screen.

pub mod actions;
pub mod apis;
pub mod applications;
pub mod connection_config;
pub mod connection_connector;
pub mod connection_scripts;
pub mod connections;
pub mod deletes;
pub mod email_templates;
pub mod exports;
pub mod imports;
pub mod logs;
pub mod migration;
pub mod overview;
pub mod post_login_flow;
pub mod role_tabs;
pub mod roles;
pub mod script_templates;
pub mod settings;
pub mod user_access;
pub mod user_details;
pub mod user_roles;
pub mod users;
