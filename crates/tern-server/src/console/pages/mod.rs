//! The console's pages, one module per screen.

pub mod imports;
pub mod login;
pub mod migration;
pub mod overview;
pub mod users;
