//! The console as a stored application of Tern, and the rules that keep
//! the operators' sign-in safe.
//!
//! Operators sign in to the console through Tern's own browser login
//! (`/authorize`, the hosted pages, `/console/callback`). For that the
//! tenant holds one first-party application, [`CLIENT_ID`], which every
//! start makes sure exists in exactly the shape below (its URLs follow a
//! changed public URL), and the operators' connection is enabled for it
//! alone, with signup off.
//!
//! The Management API and the console's own pages change applications and
//! connections through `manage`, which asks this module first: the console
//! application cannot be deleted or edited, no client grant can be given
//! to it, no other application can have the operators' connection, the
//! console application cannot be given another connection, and the
//! operators' connection keeps signup off and cannot be deleted. Each is
//! refused with a message saying why.
//!
//! An operator can do everything in the console, client grants included,
//! so an operator can give any client every Management API scope. Creating,
//! changing, deleting, unblocking, importing, issuing a reset ticket for, or
//! removing a second factor of a user of the operators' connection, or
//! ending or labelling their sessions and refresh tokens, through the
//! Management API therefore needs a token holding every Management API
//! scope ([`guard_user_change`], [`guard_holders_change`], called by every
//! such write before it writes anything); anything less would be a way to
//! every scope.

use serde_json::Value;
use tern_core::CoreResult;
use tern_core::model::{Client, Connection};
use tern_core::store::Store;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The console application's `client_id` (one per tenant).
pub const CLIENT_ID: &str = "tern-console";
/// Its name, on the hosted login page and in the tenant log.
pub const NAME: &str = "Tern Console";
/// The database connection whose users are the console's operators.
pub const OPERATORS_CONNECTION: &str = "tern-operators";
/// The console's callback path (under the public URL).
pub const CALLBACK_PATH: &str = "/console/callback";
/// Where a console sign-out ends (under the public URL).
pub const SIGNED_OUT_PATH: &str = "/console/signed-out";

/// The console application as it must be: a first-party regular web
/// application allowed only the authorization code grant, with one
/// callback and one logout URL under Tern's public URL. Its secret is
/// random and never kept in clear: the console redeems its codes by
/// calling `code_grant` directly, and nobody can redeem them at
/// `/oauth/token`.
pub fn record(public_url: &str) -> Client {
    Client {
        client_id: CLIENT_ID.into(),
        name: NAME.into(),
        description: Some(
            "Tern's own console: operators sign in through the hosted login. Managed by Tern; it cannot be edited or deleted.".into(),
        ),
        app_type: Some("regular_web".into()),
        is_first_party: true,
        callbacks: vec![format!("{public_url}{CALLBACK_PATH}")],
        allowed_origins: Vec::new(),
        web_origins: Vec::new(),
        allowed_logout_urls: vec![format!("{public_url}{SIGNED_OUT_PATH}")],
        grant_types: vec!["authorization_code".into()],
        token_endpoint_auth_method: "client_secret_post".into(),
        is_token_endpoint_ip_header_trusted: false,
        client_metadata: Default::default(),
        global: false,
        refresh_token: None,
        initiate_login_uri: None,
        jwt_configuration: Default::default(),
        secret_hash: crate::client_secret::hash_secret(&tern_core::ids::client_secret()),
    }
}

/// Whether a stored client has the console application's shape (its
/// secret aside).
fn in_shape(have: &Client, want: &Client) -> bool {
    have.name == want.name
        && have.callbacks == want.callbacks
        && have.allowed_logout_urls == want.allowed_logout_urls
        && have.grant_types == want.grant_types
        && have.allowed_origins.is_empty()
        && have.web_origins.is_empty()
        && have.is_first_party
        && have.refresh_token.is_none()
        && have.token_endpoint_auth_method == want.token_endpoint_auth_method
        && !have.is_token_endpoint_ip_header_trusted
}

/// Make sure the console application exists in its shape and that the
/// operators' `connection` is enabled for it alone, with signup off
/// (every start: a data dir made by an earlier version gets them, and a
/// changed public URL moves the callback).
pub async fn ensure(store: &dyn Store, tenant: &str, public_url: &str) -> CoreResult<()> {
    let want = record(public_url);
    match store.get_client(tenant, CLIENT_ID).await? {
        None => {
            if let Err(e) = store.insert_client(tenant, &want).await {
                // Another instance starting on the same database made it first.
                if store.get_client(tenant, CLIENT_ID).await?.is_none() {
                    return Err(e);
                }
            }
        }
        Some(have) if !in_shape(&have, &want) => {
            let mut fixed = want;
            fixed.secret_hash = have.secret_hash;
            store.update_client(tenant, &fixed).await?;
        }
        Some(_) => {}
    }
    let Some(mut c) = store
        .get_connection_by_name(tenant, OPERATORS_CONNECTION)
        .await?
    else {
        return Ok(());
    };
    let signup_off = c.options.get("disable_signup") == Some(&Value::Bool(true));
    if c.enabled_clients != [CLIENT_ID] || !signup_off {
        c.enabled_clients = vec![CLIENT_ID.into()];
        c.options.insert("disable_signup".into(), Value::Bool(true));
        store.update_connection(tenant, &c).await?;
    }
    Ok(())
}

fn refused(message: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "operation_not_supported",
        message,
    )
}

/// Refuse changing or deleting the console application.
pub fn guard_client(client_id: &str) -> Result<(), ApiError> {
    if client_id == CLIENT_ID {
        return Err(refused(
            "The Tern Console application is managed by Tern (operators sign in to the console through it): it cannot be changed or deleted.",
        ));
    }
    Ok(())
}

/// Refuse a connection change that would give the operators' connection
/// to another application, another connection to the console
/// application, or let anyone sign up as an operator. `connection` is the
/// connection as it would be stored.
pub fn guard_connection(connection: &Connection) -> Result<(), ApiError> {
    let is_operators = connection.name == OPERATORS_CONNECTION;
    let has_console = connection.enabled_clients.iter().any(|c| c == CLIENT_ID);
    if is_operators {
        if connection.enabled_clients != [CLIENT_ID] {
            return Err(refused(
                "The tern-operators connection is enabled for the Tern Console application only: operators sign in nowhere else.",
            ));
        }
        if connection.options.get("disable_signup") != Some(&Value::Bool(true)) {
            return Err(refused(
                "The tern-operators connection keeps options.disable_signup true: nobody may sign up as an operator.",
            ));
        }
    } else if has_console {
        return Err(refused(
            "The Tern Console application signs in operators only: no other connection can be enabled for it.",
        ));
    }
    Ok(())
}

/// Refuse deleting the operators' connection.
pub fn guard_connection_delete(connection: &Connection) -> Result<(), ApiError> {
    if connection.name == OPERATORS_CONNECTION {
        return Err(refused(
            "The tern-operators connection holds the console's operators: it cannot be deleted.",
        ));
    }
    Ok(())
}

/// Who changes a user, as far as the operators' connection goes.
#[derive(Debug, Clone, Copy)]
pub enum Changer<'a> {
    /// An operator, in the console: operators already hold everything.
    Console,
    /// A Management API client, with its token's scopes.
    Api(&'a Caller),
}

impl Changer<'_> {
    /// [`guard_user_change`] for a Management API client; the console
    /// passes.
    pub fn may_change(self, connection: &str) -> Result<(), ApiError> {
        match self {
            Changer::Console => Ok(()),
            Changer::Api(caller) => guard_user_change(caller, connection),
        }
    }

    /// [`guard_connection_change`] for a Management API client; the
    /// console passes.
    pub fn may_change_connection(self, connection: &Connection) -> Result<(), ApiError> {
        match self {
            Changer::Console => Ok(()),
            Changer::Api(caller) => guard_connection_change(caller, connection),
        }
    }
}

/// Refuse a Management API write to a user of `connection` (its name) —
/// create, update, delete, unblock, import, password-change ticket, MFA
/// enrollment removal — when the user is an operator and the token lacks
/// any Management API scope ([`crate::bootstrap::MANAGEMENT_SCOPES`], the
/// bootstrap admin client's grant): an operator can grant every scope, so
/// whoever makes or changes one must hold them all already. The answer is
/// the 403 `insufficient_scope` of a missing scope. Reads are not refused.
pub fn guard_user_change(caller: &Caller, connection: &str) -> Result<(), ApiError> {
    if connection != OPERATORS_CONNECTION {
        return Ok(());
    }
    needs_every_scope(
        caller,
        &format!(
            "Users of the {OPERATORS_CONNECTION} connection are the console's operators, who can grant every Management API scope: creating or changing them needs a token with every Management API scope (as the bootstrap admin client's)."
        ),
    )
}

/// [`guard_user_change`] for a write to what users hold — a session, a
/// refresh token, a device credential: ending or relabelling an
/// operator's sign-in is a change to an operator. Checked for every holder
/// before anything is written; a user no longer stored guards nothing (what
/// they held goes with them). A token holding every scope is not slowed by
/// the look-ups.
pub async fn guard_holders_change<'a>(
    s: &AppState,
    caller: &Caller,
    user_ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), ApiError> {
    if holds_every_scope(caller) {
        return Ok(());
    }
    let holders: std::collections::BTreeSet<&str> = user_ids.into_iter().collect();
    for user_id in holders {
        if let Some(user) = s.store.get_user(s.tid(), user_id).await? {
            guard_user_change(caller, &user.connection_name)?;
        }
    }
    Ok(())
}

/// Whether the token holds every Management API scope, which every guard
/// here lets through.
pub fn holds_every_scope(caller: &Caller) -> bool {
    missing_scopes(caller).is_empty()
}

/// Refuse a Management API change of the operators' connection itself
/// (`PATCH /connections/{id}`) unless the token holds every Management API
/// scope: its options decide who signs in as an operator (a custom
/// database's login script, the password policy, attack protection).
pub fn guard_connection_change(caller: &Caller, connection: &Connection) -> Result<(), ApiError> {
    if connection.name != OPERATORS_CONNECTION {
        return Ok(());
    }
    needs_every_scope(
        caller,
        &format!(
            "The {OPERATORS_CONNECTION} connection decides who signs in to the console as an operator, who can grant every Management API scope: changing it needs a token with every Management API scope (as the bootstrap admin client's)."
        ),
    )
}

/// The 403 `insufficient_scope` of a missing scope, saying `why` and which
/// Management API scopes ([`crate::bootstrap::MANAGEMENT_SCOPES`]) the
/// token lacks, unless it lacks none.
fn needs_every_scope(caller: &Caller, why: &str) -> Result<(), ApiError> {
    let missing = missing_scopes(caller);
    if missing.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 5;
    let more = match missing.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Err(ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "insufficient_scope",
        format!(
            "{why} This token lacks {}{more}.",
            missing[..missing.len().min(SHOWN)].join(", ")
        ),
    ))
}

/// The Management API scopes ([`crate::bootstrap::MANAGEMENT_SCOPES`]) the
/// token lacks.
fn missing_scopes(caller: &Caller) -> Vec<&'static str> {
    crate::bootstrap::MANAGEMENT_SCOPES
        .iter()
        .copied()
        .filter(|s| !caller.scopes.iter().any(|g| g == s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(name: &str, clients: &[&str], signup_off: bool) -> Connection {
        let mut options = serde_json::Map::new();
        options.insert("disable_signup".into(), Value::Bool(signup_off));
        Connection {
            id: "con_1".into(),
            name: name.into(),
            display_name: None,
            strategy: "auth0".into(),
            options,
            enabled_clients: clients.iter().map(|c| c.to_string()).collect(),
            realms: vec![name.into()],
            is_domain_connection: false,
        }
    }

    #[test]
    fn the_operators_connection_stays_the_consoles_alone() {
        let cases = [
            (OPERATORS_CONNECTION, &[CLIENT_ID][..], true, true),
            (OPERATORS_CONNECTION, &[CLIENT_ID, "app"][..], true, false),
            (OPERATORS_CONNECTION, &[][..], true, false),
            (OPERATORS_CONNECTION, &[CLIENT_ID][..], false, false),
            ("shop-users", &["app"][..], false, true),
            ("shop-users", &["app", CLIENT_ID][..], false, false),
        ];
        for (name, clients, signup_off, ok) in cases {
            assert_eq!(
                guard_connection(&connection(name, clients, signup_off)).is_ok(),
                ok,
                "{name} {clients:?} {signup_off}"
            );
        }
        assert!(guard_connection_delete(&connection(OPERATORS_CONNECTION, &[], true)).is_err());
        assert!(guard_connection_delete(&connection("shop-users", &[], true)).is_ok());
        assert!(guard_client(CLIENT_ID).is_err());
        assert!(guard_client("other").is_ok());
    }

    #[test]
    fn operators_are_changed_only_with_every_scope() {
        let caller = |scopes: &[&str]| Caller {
            client_id: "c".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let every = caller(crate::bootstrap::MANAGEMENT_SCOPES);
        let some = caller(&["create:users", "update:users", "delete:users"]);
        assert!(guard_user_change(&every, OPERATORS_CONNECTION).is_ok());
        assert!(guard_user_change(&some, "shop-users").is_ok());
        let e = guard_user_change(&some, OPERATORS_CONNECTION).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::FORBIDDEN);
        assert_eq!(e.code, Some("insufficient_scope"));
        assert!(
            e.message.contains("read:users_app_metadata"),
            "{}",
            e.message
        );
        let mut almost = every.clone();
        almost.scopes.retain(|s| s != "execute:connection_scripts");
        let e = guard_user_change(&almost, OPERATORS_CONNECTION).unwrap_err();
        assert!(
            e.message.ends_with("lacks execute:connection_scripts."),
            "{}",
            e.message
        );
        assert!(Changer::Console.may_change(OPERATORS_CONNECTION).is_ok());
        assert!(
            Changer::Api(&some)
                .may_change(OPERATORS_CONNECTION)
                .is_err()
        );
    }

    #[test]
    fn the_record_is_in_shape_whatever_its_secret() {
        let a = record("https://id.example");
        let b = record("https://id.example");
        assert_ne!(a.secret_hash, b.secret_hash);
        assert!(in_shape(&a, &b));
        assert!(!in_shape(&a, &record("https://moved.example")));
        assert_eq!(a.callbacks, ["https://id.example/console/callback"]);
    }
}
