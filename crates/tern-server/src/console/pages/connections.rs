//! Connections: the list, creating a database connection (with the "Use
//! my own database" and "Import users" switches, [`switches`], which the
//! Custom database tab shows afterwards), and a connection's Settings tab
//! (sign-up and username rules, the password policy, and which
//! applications use it). Every change is a Management API body handed to
//! `manage::connections` and logged with the operator as actor. The
//! operators' own connection is never listed nor editable here.
//!
//! The other tabs of a connection live in `connection_scripts`,
//! `connection_config` and `connection_connector`; [`tabs`] draws the bar.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Value, json};
use tern_core::model::{Client, Connection, JsonObject, LogEvent};

use super::{connection_config, connection_connector, connection_scripts};
use crate::console::forms::{self, Done, ListTable, alert, check, csrf_field, list_table, note};
use crate::console::layout::{Section, page, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{OPERATORS_CONNECTION, audit, see_other};
use crate::error::ApiError;
use crate::manage;
use crate::routes::universal_login::FormFields;
use crate::secrets::MASK;
use crate::state::AppState;

const POLICIES: &[(&str, &str)] = &[
    ("none", "None (any non-empty password)"),
    ("low", "Low (at least 6 characters)"),
    ("fair", "Fair (8 characters, three kinds)"),
    ("good", "Good (8 characters, three of four kinds)"),
    ("excellent", "Excellent (10 characters, no repeats)"),
];

/// The connection pages' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/connections", get(list).post(create))
        .route("/console/connections/new", get(new))
        .route(
            "/console/connections/{id}",
            get(settings).post(save_settings),
        )
        .merge(connection_scripts::router())
        .merge(connection_config::router())
        .merge(connection_connector::router())
}

/// Which tab of a connection a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Settings and applications.
    Settings,
    /// The custom-database scripts.
    Scripts,
    /// Configuration values.
    Configuration,
    /// A zero-code connector.
    Connector,
}

/// The page head of a connection: breadcrumb, name, tab bar.
pub fn header(c: &Connection, tab: Tab) -> Markup {
    let base = format!("/console/connections/{}", c.id);
    let items = [
        (base.clone(), "Settings", tab == Tab::Settings),
        (
            format!("{base}/scripts/login"),
            "Custom database",
            tab == Tab::Scripts,
        ),
        (
            format!("{base}/configuration"),
            "Configuration",
            tab == Tab::Configuration,
        ),
        (
            format!("{base}/connector"),
            "Zero-code connector",
            tab == Tab::Connector,
        ),
        (format!("{base}/migration"), "Migration", false),
    ];
    html! {
        p.crumbs { a href="/console/connections" { "← Connections" } }
        h1 { (c.name) }
        p.hint {
            @if c.custom_database() { span.badge.on { "Uses its own database" } } @else { span.badge { "Tern's database only" } }
            " "
            @if c.import_mode() { span.badge.on { "Import users: on" } } @else if c.custom_database() { span.badge { "Import users: off (legacy stays the source)" } }
        }
        (forms::tabs("Connection", &items, false))
    }
}

/// A stored connection operators may edit (never the operators' own).
pub async fn load(s: &AppState, id: &str) -> Result<Connection, Response> {
    match s.store.get_connection(s.tid(), id).await {
        Ok(Some(c)) if c.name != OPERATORS_CONNECTION => Ok(c),
        Ok(_) => Err(problem(
            StatusCode::NOT_FOUND,
            "No such connection",
            "The connection does not exist.",
        )),
        Err(e) => Err(oops("connection", &e)),
    }
}

/// A stored record a page needs (`what` names it: "API", "application"),
/// or the page that says why not: 404 when there is none, 500 (logged)
/// when the store failed.
// The error is a page the handler answers at once, never carried along:
// boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
pub fn found<T, E: std::fmt::Display>(what: &str, r: Result<Option<T>, E>) -> Result<T, Response> {
    match r {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(problem(
            StatusCode::NOT_FOUND,
            &format!("No such {what}"),
            &format!("The {what} does not exist."),
        )),
        Err(e) => Err(oops(what, &e)),
    }
}

/// A 500 page after logging the cause.
pub fn oops(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console {what} failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The console could not read or write this; try again.",
    )
}

/// The stored options as a `PATCH` body's `options`: configuration values
/// become the mask, which keeps each stored value (`secrets::seal_options`),
/// so no page ever needs them in clear.
pub fn options_for_patch(c: &Connection) -> JsonObject {
    let mut o = c.options.clone();
    if let Some(Value::Object(cfg)) = o.get_mut("configuration") {
        for v in cfg.values_mut() {
            *v = json!(MASK);
        }
    }
    o
}

/// Save `options` through the Management API's update and log it.
pub async fn patch_options(
    s: &AppState,
    op: &Operator,
    c: &Connection,
    options: JsonObject,
    what: &str,
) -> Result<Connection, ApiError> {
    let updated = manage::connections::update(
        s,
        crate::console_app::Changer::Console,
        &c.id,
        &json!({ "options": options }),
    )
    .await?;
    log_change(s, op, c, what, json!({})).await;
    Ok(updated)
}

/// Log a console change to a connection with the operator as actor.
pub async fn log_change(s: &AppState, op: &Operator, c: &Connection, what: &str, details: Value) {
    let mut ev = LogEvent::new("sapi", format!("Console: {what}"));
    ev.connection = Some(c.name.clone());
    ev.connection_id = Some(c.id.clone());
    ev.details = Some(details);
    audit(s, op, ev).await;
}

async fn applications(s: &AppState) -> Result<Vec<Client>, Response> {
    match s.store.list_clients(s.tid()).await {
        Ok(mut v) => {
            v.retain(|c| !c.global);
            Ok(v)
        }
        Err(e) => Err(oops("applications", &e)),
    }
}

/// `GET /console/connections`.
pub async fn list(State(s): State<AppState>, op: Operator, Query(done): Query<Done>) -> Response {
    let mut all = match s.store.list_connections(s.tid()).await {
        Ok(v) => v,
        Err(e) => return oops("connections", &e),
    };
    all.retain(|c| c.name != OPERATORS_CONNECTION);
    let apps = match applications(&s).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    page(
        &op,
        Section::Connections,
        "Connections",
        list_table(
            &ListTable {
                title: "Connections",
                create: ("/console/connections/new", "Create a connection"),
                done: done.message(),
                columns: &["Name", "Legacy store", "Applications"],
                empty: "No database connection yet. Create one to start a migration.",
            },
            &all.iter().map(|c| row(c, &apps)).collect::<Vec<_>>(),
        ),
    )
}

fn row(c: &Connection, apps: &[Client]) -> Markup {
    let names: Vec<&str> = apps
        .iter()
        .filter(|a| c.enabled_clients.contains(&a.client_id))
        .map(|a| a.name.as_str())
        .collect();
    html! { tr {
        td { a href=(format!("/console/connections/{}", c.id)) { (c.name) } }
        td { (kind(c)) }
        td { @if names.is_empty() { span.hint { "none" } } @else { (names.join(", ")) } }
    } }
}

fn kind(c: &Connection) -> &'static str {
    match (
        c.custom_database(),
        c.import_mode(),
        crate::connectors::configured(c).is_some(),
    ) {
        (false, _, _) => "none (Tern's database only)",
        (true, true, true) => "zero-code connector, importing users",
        (true, true, false) => "scripts, importing users",
        (true, false, true) => "zero-code connector, legacy stays the source",
        (true, false, false) => "scripts, legacy stays the source",
    }
}

/// What the settings form shows.
struct Settings<'a> {
    name: &'a str,
    custom: bool,
    import: bool,
    requires_username: bool,
    disable_signup: bool,
    policy: &'a str,
    enabled: Vec<String>,
}

impl<'a> Settings<'a> {
    fn of(c: &'a Connection) -> Self {
        let flag = |k: &str| c.options.get(k).and_then(Value::as_bool) == Some(true);
        Settings {
            name: &c.name,
            custom: c.custom_database(),
            import: c.import_mode(),
            requires_username: flag("requires_username"),
            disable_signup: flag("disable_signup"),
            policy: c
                .options
                .get("passwordPolicy")
                .and_then(Value::as_str)
                .unwrap_or("none"),
            enabled: c.enabled_clients.clone(),
        }
    }

    fn read(f: &'a FormFields) -> Self {
        let on = |k: &str| f.get(k) == Some("on");
        Settings {
            name: f.get("name").unwrap_or_default().trim(),
            custom: on("custom_database"),
            import: on("import_mode"),
            requires_username: on("requires_username"),
            disable_signup: on("disable_signup"),
            policy: f.get("password_policy").unwrap_or("none"),
            enabled: f
                .all("enabled_clients")
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    fn apply(&self, options: &mut JsonObject) {
        options.insert("enabledDatabaseCustomization".into(), json!(self.custom));
        options.insert("import_mode".into(), json!(self.import));
        options.insert("requires_username".into(), json!(self.requires_username));
        options.insert("disable_signup".into(), json!(self.disable_signup));
        options.insert("passwordPolicy".into(), json!(self.policy));
    }
}

/// The "Use my own database" and "Import users" switches (on the create
/// form and the Custom database tab). With users, the first is held.
pub fn switches(custom: bool, import: bool, has_users: bool) -> Markup {
    html! {
        fieldset {
            legend { "Legacy store" }
            (check("custom_database", "on", "Use my own database", custom,
                Some(if has_users {
                    "This connection has users: Tern, like Auth0, keeps this switch as it is."
                } else {
                    "Users are looked up in your legacy store, by scripts or a zero-code connector."
                }), has_users))
            (check("import_mode", "on", "Import users", import,
                Some("On: a user is copied into Tern, with the password they typed, at their first login (lazy migration). Off: the legacy store stays the source of truth."), false))
        }
    }
}

/// The one-way "context object" switch (`options.enable_script_context`):
/// once on, scripts get a `context` argument before `callback` and, as in
/// Auth0, it cannot be turned off.
pub fn context_switch(on: bool) -> Markup {
    check(
        "enable_script_context",
        "on",
        "Pass the context object to scripts",
        on,
        Some(if on {
            "On for good: scripts receive context before callback (Auth0 does not allow turning it off)."
        } else {
            "Scripts then receive a context argument before callback. This cannot be turned off."
        }),
        on,
    )
}

fn settings_fields(v: &Settings, apps: &[Client]) -> Markup {
    html! {
        fieldset {
            legend { "Sign-up and passwords" }
            (check("requires_username", "on", "Requires a username", v.requires_username, None, false))
            (check("disable_signup", "on", "Disable sign-ups", v.disable_signup, None, false))
            label for="password_policy" { "Password policy" }
            select #password_policy name="password_policy" {
                @for (key, label) in POLICIES {
                    option value=(key) selected[*key == v.policy] { (label) }
                }
            }
        }
        fieldset {
            legend { "Applications using this connection" }
            @if apps.is_empty() {
                p.empty { "No application yet. " a href="/console/applications/new" { "Create one" } "." }
            }
            @for a in apps {
                (check("enabled_clients", &a.client_id, &a.name, v.enabled.contains(&a.client_id),
                    Some(&format!("{} · {}", a.app_type.as_deref().unwrap_or("application"), a.client_id)), false))
            }
        }
    }
}

/// `GET /console/connections/new`.
pub async fn new(State(s): State<AppState>, op: Operator) -> Response {
    let apps = match applications(&s).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = Settings {
        name: "",
        custom: true,
        import: true,
        requires_username: false,
        disable_signup: false,
        policy: "good",
        enabled: Vec::new(),
    };
    new_page(&op, &v, &apps, None, StatusCode::OK)
}

fn new_page(
    op: &Operator,
    v: &Settings,
    apps: &[Client],
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut r = page(
        op,
        Section::Connections,
        "Create a connection",
        html! {
            p.crumbs { a href="/console/connections" { "← Connections" } }
            h1 { "Create a database connection" }
            (alert(error))
            form method="post" action="/console/connections" {
                (csrf_field(op))
                (forms::text("name", "Name", v.name, Some("Letters, digits and single dashes, starting and ending with a letter or digit, e.g. legacy-users.")))
                (switches(v.custom, v.import, false))
                (settings_fields(v, apps))
                div.actions { button type="submit" { "Create the connection" } }
            }
        },
    );
    *r.status_mut() = status;
    r
}

/// `POST /console/connections`.
pub async fn create(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let v = Settings::read(&form);
    let mut options = JsonObject::new();
    v.apply(&mut options);
    let body = json!({
        "name": v.name,
        "strategy": "auth0",
        "options": options,
        "enabled_clients": v.enabled,
    });
    match manage::connections::create(&s, &body).await {
        Ok(c) => {
            log_change(&s, &op, &c, "connection created", json!({})).await;
            let next = if c.custom_database() {
                format!("/console/connections/{}/scripts/login?done=created", c.id)
            } else {
                format!("/console/connections/{}?done=created", c.id)
            };
            see_other(&next, Vec::new())
        }
        Err(e) => {
            let apps = match applications(&s).await {
                Ok(a) => a,
                Err(r) => return r,
            };
            new_page(&op, &v, &apps, Some(&forms::api_message(&e)), e.status)
        }
    }
}

/// `GET /console/connections/{id}`.
pub async fn settings(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    settings_page(
        &s,
        &op,
        &c,
        &Settings::of(&c),
        done.message(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn settings_page(
    s: &AppState,
    op: &Operator,
    c: &Connection,
    v: &Settings<'_>,
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let apps = match applications(s).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let users = match s.store.count_connection_users(s.tid(), &c.id).await {
        Ok(n) => n,
        Err(e) => return oops("connection users", &e),
    };
    let mut r = page(
        op,
        Section::Connections,
        &c.name,
        html! {
            (header(c, Tab::Settings))
            (note(saved))
            (alert(error))
            p.text {
                (users) " user(s) stored in Tern. Connection id " code { (c.id) } ". "
                "The legacy-store switches are on the " a href=(format!("/console/connections/{}/scripts/login", c.id)) { "Custom database" } " tab."
            }
            form method="post" action=(format!("/console/connections/{}", c.id)) {
                (csrf_field(op))
                (settings_fields(v, &apps))
                div.actions { button type="submit" { "Save settings" } }
            }
            (forms::delete_link("connection", &format!("/console/connections/{}", c.id)))
        },
    );
    *r.status_mut() = status;
    r
}

/// `POST /console/connections/{id}`.
pub async fn save_settings(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut v = Settings::read(&form);
    v.name = &c.name;
    // The legacy-store switches live on the Custom database tab.
    v.custom = c.custom_database();
    v.import = c.import_mode();
    let mut options = options_for_patch(&c);
    v.apply(&mut options);
    let body = json!({"options": options, "enabled_clients": v.enabled});
    match manage::connections::update(&s, crate::console_app::Changer::Console, &c.id, &body).await
    {
        Ok(_) => {
            log_change(
                &s,
                &op,
                &c,
                "connection settings saved",
                json!({"enabled_clients": v.enabled}),
            )
            .await;
            see_other(
                &format!("/console/connections/{}?done=saved", c.id),
                Vec::new(),
            )
        }
        Err(e) => {
            settings_page(
                &s,
                &op,
                &c,
                &v,
                None,
                Some(&forms::api_message(&e)),
                e.status,
            )
            .await
        }
    }
}
