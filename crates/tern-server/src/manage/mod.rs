//! The Management API's configuration changes as services: what `POST`,
//! `PATCH` and the script "try" of `/api/v2/{connections,clients,
//! resource-servers,client-grants}` do, taking the API's JSON bodies. The
//! route handlers check scopes and map the answer; the console builds the
//! same bodies from its forms and calls the same functions, so a change
//! made in the console is checked exactly as one made with `curl`.

pub mod actions;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod connector_test;
pub mod resource_servers;
pub mod roles;
pub mod script_try;
