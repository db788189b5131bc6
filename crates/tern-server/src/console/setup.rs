//! The first operator: a one-time setup link.
//!
//! Every start makes sure the operators' connection exists; while it has no
//! user, the start issues a fresh setup token (replacing any earlier one),
//! printed by `tern serve` and written to `bootstrap.json` as
//! `console_setup_url`. The token is kept as a record in the session store
//! under a fixed public id and the SHA-256 of `console-setup:` + token — a
//! namespace no browser cookie hashes into. Setting up the first operator
//! deletes that record: deleting is atomic, so a token is spent once even
//! when two forms race. The new operator then signs in like every later
//! time, through Tern's login (`signin`).

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use serde_json::json;
use tern_core::model::{Connection, LogEvent, UserSource};
use tern_core::sso::Session;
use tern_core::store::{InsertOutcome, Store};
use tern_core::user_profile::{ProfileFields, ProfileRequest};
use tern_core::{CoreResult, ids, users};

use super::layout::{problem, public_page};
use super::{OPERATORS_CONNECTION, operators_connection, see_other};
use crate::client_secret::hash_secret;
use crate::routes::universal_login::read_form;
use crate::state::AppState;

/// The setup record's public id (one per tenant).
const SETUP_SID: &str = "console-setup";
/// How long a setup link stays usable; every start without an operator
/// issues a new one anyway.
const SETUP_TTL_SECS: i64 = 30 * 86_400;

fn setup_hash(token: &str) -> String {
    hash_secret(&format!("console-setup:{token}"))
}

/// Make sure the operators' connection exists; while it has no user, issue
/// a new setup token and answer its link.
pub async fn prepare(
    store: &dyn Store,
    tenant: &str,
    public_url: &str,
) -> CoreResult<Option<String>> {
    let connection = match store
        .get_connection_by_name(tenant, OPERATORS_CONNECTION)
        .await?
    {
        Some(c) => c,
        None => {
            let c = operators_connection_record();
            match store.insert_connection(tenant, &c).await {
                Ok(()) => c,
                // Another instance starting on the same database made it first.
                Err(e) => store
                    .get_connection_by_name(tenant, OPERATORS_CONNECTION)
                    .await?
                    .ok_or(e)?,
            }
        }
    };
    crate::console_app::ensure(store, tenant, public_url).await?;
    store.delete_session(tenant, SETUP_SID).await?;
    if store.count_connection_users(tenant, &connection.id).await? > 0 {
        return Ok(None);
    }
    let token = ids::ticket_token();
    let now = tern_core::clock::now_epoch();
    let issued = store
        .insert_session(
            tenant,
            &Session {
                id_hash: setup_hash(&token),
                sid: SETUP_SID.into(),
                user_id: String::new(),
                connection_id: connection.id,
                auth_time: now,
                created_at: now,
                last_interacted_at: now,
                expires_at: now + SETUP_TTL_SECS,
                idle_expires_at: now + SETUP_TTL_SECS,
                clients: Vec::new(),
                amr: Vec::new(),
                device: Default::default(),
                metadata: Default::default(),
            },
        )
        .await;
    // Instances starting together on one database race for the one setup
    // record: the loser leaves the winner's link in force (a failure to
    // write is not worth refusing to start over).
    if let Err(e) = issued {
        tracing::warn!(error = %e, "no console setup link issued by this instance (another one starting on the same database may have issued it)");
        return Ok(None);
    }
    Ok(Some(format!("{public_url}/console/setup?token={token}")))
}

/// The operators' connection as first created: a database connection with
/// a good password policy, brute-force protection and no signup, enabled
/// for the console application alone (operators sign in only there).
fn operators_connection_record() -> Connection {
    let mut options = serde_json::Map::new();
    options.insert("passwordPolicy".into(), "good".into());
    options.insert("brute_force_protection".into(), true.into());
    options.insert("disable_signup".into(), true.into());
    Connection {
        id: ids::connection_id(),
        name: OPERATORS_CONNECTION.into(),
        display_name: Some("Tern Console operators".into()),
        strategy: "auth0".into(),
        options,
        enabled_clients: vec![crate::console_app::CLIENT_ID.into()],
        realms: vec![OPERATORS_CONNECTION.into()],
        is_domain_connection: false,
    }
}

/// Whether `token` is the open setup token. The link sets up the *first*
/// operator only: once the operators' connection has a user — whoever made
/// it (the link, the Management API with every scope, an import) — the
/// link is spent, its record deleted, so a link left in a log does not
/// make its reader an operator.
async fn open(s: &AppState, token: &str) -> CoreResult<bool> {
    let record = s.store.get_session(s.tid(), &setup_hash(token)).await?;
    if !record.is_some_and(|r| r.sid == SETUP_SID && r.is_active(s.now())) {
        return Ok(false);
    }
    let operators = match operators_connection(s).await? {
        Some(c) => s.store.count_connection_users(s.tid(), &c.id).await?,
        None => 0,
    };
    if operators > 0 {
        s.store.delete_session(s.tid(), SETUP_SID).await?;
        return Ok(false);
    }
    Ok(true)
}

/// `?token=` of the setup link.
#[derive(Debug, Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

fn spent() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Setup link not valid",
        "This setup link was already used or has been replaced. Sign in at /console/login, or restart Tern without any operator to get a new link.",
    )
}

fn form(token: &str, email: &str, error: Option<&str>, status: StatusCode) -> Response {
    public_page(
        status,
        "Set up the console",
        html! {
            h1 { "Set up the console" }
            p.text { "Create the first operator. You will sign in to the console with this email and password." }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form method="post" action="/console/setup" {
                input type="hidden" name="token" value=(token);
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="new-password" required aria-describedby="pw-hint";
                p.hint #pw-hint { "At least 8 characters with lower and upper case letters and numbers." }
                label for="confirm" { "Repeat the password" }
                input #confirm type="password" name="confirm" autocomplete="new-password" required;
                button type="submit" { "Create operator and sign in" }
                p.hint { "You then sign in with this email and password on Tern's login page." }
            }
        },
    )
}

/// `GET /console/setup?token=`.
pub async fn show(State(s): State<AppState>, Query(q): Query<SetupQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    match open(&s, &token).await {
        Ok(true) => form(&token, "", None, StatusCode::OK),
        Ok(false) => spent(),
        Err(e) => internal(&e),
    }
}

fn internal(e: &tern_core::CoreError) -> Response {
    tracing::error!(error = %e, "console setup failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The setup could not be completed; try again.",
    )
}

/// `POST /console/setup`: create the first operator, spend the token and
/// send the operator to sign in through Tern's login, email filled in.
pub async fn submit(State(s): State<AppState>, req: Request) -> Response {
    let (_, f) = match read_form(req).await {
        Ok(x) => x,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "Bad request", m),
    };
    let token = f.get("token").unwrap_or_default().to_string();
    let email = f.get("email").unwrap_or_default().trim().to_lowercase();
    let password = f.get("password").unwrap_or_default().to_string();
    match open(&s, &token).await {
        Ok(true) => {}
        Ok(false) => return spent(),
        Err(e) => return internal(&e),
    }
    let retry = |m: &str| form(&token, &email, Some(m), StatusCode::BAD_REQUEST);
    if password != f.get("confirm").unwrap_or_default() {
        return retry("The two passwords differ.");
    }
    let Ok(Some(connection)) = operators_connection(&s).await else {
        return internal(&tern_core::CoreError::Storage(
            "the operators' connection is missing".into(),
        ));
    };
    let fields = match ProfileFields::from_json(
        &json!({"email": email, "connection": OPERATORS_CONNECTION, "email_verified": true}),
        ProfileRequest::Create,
    ) {
        Ok(f) => f,
        Err(_) => return retry("Enter a valid email address."),
    };
    let credential = match crate::passwords::hash_new_password(
        &s,
        &connection,
        crate::passwords::Owner::New(&fields),
        password.clone(),
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return retry(&e.message),
    };
    // Spend the token first: of two racing forms only one gets past here.
    match s.store.delete_session(s.tid(), SETUP_SID).await {
        Ok(true) => {}
        Ok(false) => return spent(),
        Err(e) => return internal(&e),
    }
    let user = users::new_user(fields, &connection, Some(credential), UserSource::Api);
    match s.store.insert_user(s.tid(), &user).await {
        Ok(InsertOutcome::Inserted) => {}
        Ok(InsertOutcome::Duplicate) => return spent(),
        Err(e) => return internal(&e),
    }
    let mut ev = LogEvent::new(
        "sapi",
        "Console: first operator created with the setup link",
    );
    ev.user_id = Some(user.user_id.clone());
    ev.user_name = Some(email.clone());
    ev.connection = Some(connection.name.clone());
    ev.connection_id = Some(connection.id.clone());
    ev.client_id = Some(crate::console_app::CLIENT_ID.into());
    ev.client_name = Some(crate::console_app::NAME.into());
    s.log(ev).await;
    let next = format!(
        "/console/login?login_hint={}",
        urlencoding::encode(user.email.as_deref().unwrap_or_default())
    );
    see_other(&next, Vec::new())
}
