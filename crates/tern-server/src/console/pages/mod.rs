//! The console's pages, one module per screen.

pub mod apis;
pub mod applications;
pub mod connection_config;
pub mod connection_connector;
pub mod connection_scripts;
pub mod connections;
pub mod login;
pub mod migration;
pub mod overview;
pub mod script_templates;
pub mod users;
