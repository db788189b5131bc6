//! The console's pages, one module per screen.

pub mod exports;
pub mod imports;
pub mod login;
pub mod logs;
pub mod migration;
pub mod overview;
pub mod settings;
pub mod users;
