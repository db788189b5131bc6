//! Applications: list, create (the client secret shown on the answer to
//! the creation, once — Tern keeps only its hash), edit (type, grant types,
//! callback and logout URLs, web origins, enabled connections), and rotate
//! the secret (the new one shown once). Changes go through
//! `manage::clients` and `manage::connections` with the Management API's
//! bodies and are logged with the operator as actor.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};
use tern_core::model::{Client, Connection, LogEvent};

use super::connections::oops;
use crate::console::forms::{
    self, Done, ListTable, alert, check, csrf_field, joined, lines, list_table, note,
};
use crate::console::layout::{Section, page, problem};
use crate::console::session::{Operator, OperatorForm};
use crate::console::{OPERATORS_CONNECTION, audit, see_other};
use crate::manage;
use crate::routes::universal_login::FormFields;
use crate::state::AppState;

/// Application types, as Auth0 names them.
const TYPES: &[(&str, &str)] = &[
    ("regular_web", "Regular web application"),
    ("spa", "Single-page application"),
    ("native", "Native application"),
    ("non_interactive", "Machine to machine"),
];

/// Grant types Tern serves.
const GRANTS: &[(&str, &str)] = &[
    ("authorization_code", "Authorization code (browser sign-in)"),
    ("implicit", "Implicit"),
    ("refresh_token", "Refresh token"),
    (
        "client_credentials",
        "Client credentials (machine to machine)",
    ),
    ("password", "Password"),
    (
        "http://auth0.com/oauth/grant-type/password-realm",
        "Password with realm",
    ),
    (
        "http://auth0.com/oauth/grant-type/mfa-otp",
        "MFA one-time code",
    ),
];

const AUTH_METHODS: &[(&str, &str)] = &[
    (
        "client_secret_post",
        "Secret in the body (client_secret_post)",
    ),
    (
        "client_secret_basic",
        "Secret in the header (client_secret_basic)",
    ),
    ("none", "None (public client)"),
];

/// The routes of the application pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/applications", get(list).post(create))
        .route("/console/applications/new", get(new))
        .route("/console/applications/{id}", get(edit).post(save))
        .route(
            "/console/applications/{id}/rotate-secret",
            post(rotate_secret),
        )
}

fn href(c: &Client) -> String {
    format!(
        "/console/applications/{}",
        urlencoding::encode(&c.client_id)
    )
}

fn type_label(t: Option<&str>) -> &str {
    TYPES
        .iter()
        .find(|(k, _)| Some(*k) == t)
        .map_or("Application", |(_, l)| l)
}

async fn log(s: &AppState, op: &Operator, c: &Client, what: &str) {
    let mut ev = LogEvent::new("sapi", format!("Console: {what}"));
    ev.details = Some(json!({"client_id": c.client_id, "name": c.name}));
    audit(s, op, ev).await;
}

async fn connections(s: &AppState) -> Result<Vec<Connection>, Response> {
    match s.store.list_connections(s.tid()).await {
        Ok(mut v) => {
            v.retain(|c| c.name != OPERATORS_CONNECTION);
            Ok(v)
        }
        Err(e) => Err(oops("connections", &e)),
    }
}

/// `GET /console/applications`.
pub async fn list(State(s): State<AppState>, op: Operator, Query(done): Query<Done>) -> Response {
    let apps = match s.store.list_clients(s.tid()).await {
        Ok(v) => v,
        Err(e) => return oops("applications", &e),
    };
    page(
        &op,
        Section::Applications,
        "Applications",
        list_table(
            &ListTable {
                title: "Applications",
                create: ("/console/applications/new", "Create an application"),
                done: done.message(),
                columns: &["Name", "Type", "Client id"],
                empty: "No application yet.",
            },
            &apps.iter().map(row).collect::<Vec<_>>(),
        ),
    )
}

fn row(a: &Client) -> Markup {
    html! { tr {
        td {
            a href=(href(a)) { (a.name) }
            @if a.client_id == crate::console_app::CLIENT_ID { " " span.badge { "managed by Tern" } }
        }
        td { (type_label(a.app_type.as_deref())) }
        td { code { (a.client_id) } }
    } }
}

/// `GET /console/applications/new`.
pub async fn new(op: Operator) -> Response {
    new_page(&op, "", "regular_web", None, StatusCode::OK)
}

fn new_page(
    op: &Operator,
    name: &str,
    kind: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut r = page(
        op,
        Section::Applications,
        "Create an application",
        html! {
            p.crumbs { a href="/console/applications" { "← Applications" } }
            h1 { "Create an application" }
            (alert(error))
            form method="post" action="/console/applications" {
                (csrf_field(op))
                (forms::text("name", "Name", name, None))
                label for="app_type" { "Type" }
                select #app_type name="app_type" {
                    @for (k, l) in TYPES { option value=(k) selected[*k == kind] { (l) } }
                }
                p.hint { "Its secret is shown once, on the next page: copy it then." }
                div.actions { button type="submit" { "Create the application" } }
            }
        },
    );
    *r.status_mut() = status;
    r
}

/// The page that shows a secret, once.
fn secret_page(op: &Operator, c: &Client, secret: &str, title: &str) -> Response {
    page(
        op,
        Section::Applications,
        title,
        html! {
            p.crumbs { a href="/console/applications" { "← Applications" } }
            h1 { (title) }
            p.note role="status" { "Copy the client secret now: Tern keeps only a hash of it and will never show it again." }
            table { tbody {
                tr { th scope="row" { "Name" } td { (c.name) } }
                tr { th scope="row" { "Client id" } td { code #client-id { (c.client_id) } } }
            } }
            h2 #secret-title { "Client secret" }
            output.secret #client-secret aria-labelledby="secret-title" { (secret) }
            p { a.button href=(href(c)) { "Continue to the application's settings" } }
        },
    )
}

/// `POST /console/applications`.
pub async fn create(
    State(s): State<AppState>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let name = form.get("name").unwrap_or_default().trim().to_string();
    let kind = form.get("app_type").unwrap_or("regular_web").to_string();
    match manage::clients::create(&s, &json!({"name": name, "app_type": kind})).await {
        Ok((c, secret)) => {
            log(&s, &op, &c, "application created").await;
            secret_page(&op, &c, &secret, "Application created")
        }
        Err(e) => new_page(&op, &name, &kind, Some(&forms::api_message(&e)), e.status),
    }
}

async fn load(s: &AppState, id: &str) -> Result<Client, Response> {
    super::connections::found("application", s.store.get_client(s.tid(), id).await)
}

/// `GET /console/applications/{id}`.
pub async fn edit(
    State(s): State<AppState>,
    op: Operator,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let c = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if c.client_id == crate::console_app::CLIENT_ID {
        return managed_page(&op, &c);
    }
    edit_page(&s, &op, &c, done.message(), None, StatusCode::OK).await
}

/// The console application's page: what it is, nothing to edit (the
/// Management API's services refuse every change to it).
fn managed_page(op: &Operator, c: &Client) -> Response {
    page(
        op,
        Section::Applications,
        &c.name,
        html! {
            p.crumbs { a href="/console/applications" { "← Applications" } }
            h1 { (c.name) " " span.badge { "managed by Tern" } }
            p.text { "Operators sign in to this console through this application and Tern's login page. Tern keeps it in this shape at every start; it cannot be edited or deleted, and the tern-operators connection is enabled for it alone." }
            dl {
                dt { "Client id" } dd { code { (c.client_id) } }
                dt { "Grant types" } dd { (c.grant_types.join(", ")) }
                dt { "Callback URL" } dd { @for u in &c.callbacks { code { (u) } } }
                dt { "Logout URL" } dd { @for u in &c.allowed_logout_urls { code { (u) } } }
            }
        },
    )
}

fn urls(name: &str, label: &str, rows: &[String], hint: &str) -> Markup {
    forms::area(name, label, &joined(rows), false, Some(hint))
}

async fn edit_page(
    s: &AppState,
    op: &Operator,
    c: &Client,
    saved: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let conns = match connections(s).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let grants = match s.store.list_client_grants(s.tid()).await {
        Ok(mut g) => {
            g.retain(|g| g.client_id == c.client_id);
            g
        }
        Err(e) => return oops("client grants", &e),
    };
    let mut r = page(
        op,
        Section::Applications,
        &c.name,
        html! {
            p.crumbs { a href="/console/applications" { "← Applications" } }
            h1 { (c.name) }
            (note(saved))
            (alert(error))
            p.text { "Client id " code { (c.client_id) } ". The secret is never shown again; rotate it to get a new one." }
            form method="post" action=(href(c)) {
                (csrf_field(op))
                div.grid2 {
                    div { (forms::text("name", "Name", &c.name, None)) }
                    div {
                        label for="app_type" { "Type" }
                        select #app_type name="app_type" {
                            @for (k, l) in TYPES { option value=(k) selected[Some(*k) == c.app_type.as_deref()] { (l) } }
                        }
                    }
                }
                (forms::text("description", "Description", c.description.as_deref().unwrap_or_default(), None))
                fieldset {
                    legend { "Grant types" }
                    @for (k, l) in GRANTS { (check("grant_types", k, l, c.grant_types.iter().any(|g| g == k), None, false)) }
                }
                label for="token_endpoint_auth_method" { "Token endpoint authentication" }
                select #token_endpoint_auth_method name="token_endpoint_auth_method" {
                    @for (k, l) in AUTH_METHODS { option value=(k) selected[*k == c.token_endpoint_auth_method] { (l) } }
                }
                (check("is_token_endpoint_ip_header_trusted", "on", "Trust the auth0-forwarded-for header",
                    c.is_token_endpoint_ip_header_trusted,
                    Some("Only for a server-side application that passes on its end user's address: brute-force protection and suspicious-IP throttling on the token endpoint then count against the address it names (with its secret)."),
                    false))
                fieldset {
                    legend { "URLs" }
                    (urls("callbacks", "Allowed callback URLs", &c.callbacks, "One per line. Where /authorize may send the user back."))
                    (urls("allowed_logout_urls", "Allowed logout URLs", &c.allowed_logout_urls, "One per line. Where logout may return."))
                    (urls("web_origins", "Allowed web origins", &c.web_origins, "One per line, e.g. https://app.example.com."))
                    (urls("allowed_origins", "Allowed origins (CORS)", &c.allowed_origins, "One per line."))
                    (forms::text("initiate_login_uri", "Application login URI", c.initiate_login_uri.as_deref().unwrap_or_default(), Some("https only; blank for none.")))
                }
                fieldset {
                    legend { "Connections" }
                    @if conns.is_empty() { p.empty { "No connection yet. " a href="/console/connections/new" { "Create one" } "." } }
                    @for k in &conns {
                        (check("connections", &k.id, &k.name, k.enabled_clients.contains(&c.client_id), None, false))
                    }
                }
                div.actions { button type="submit" { "Save the application" } }
            }
            h2 { "APIs it may call as a machine" }
            @if grants.is_empty() {
                p.empty { "No client grant. Grant access from an API's page." }
            } @else {
                ul { @for g in &grants { li { code { (g.audience) } ": " (g.scope.join(" ")) } } }
            }
            p { a href="/console/apis" { "Manage grants on the APIs page" } }
            h2 { "Client secret" }
            form method="post" action=(format!("{}/rotate-secret", href(c))) {
                (csrf_field(op))
                p.hint { "A new secret replaces the old one at once; applications using the old one stop working." }
                div.actions { button.danger type="submit" { "Rotate the secret" } }
            }
            (forms::delete_link("application", &href(c)))
        },
    );
    *r.status_mut() = status;
    r
}

fn body_of(form: &FormFields) -> Value {
    let text = |k: &str| form.get(k).unwrap_or_default().trim().to_string();
    let login = text("initiate_login_uri");
    let description = text("description");
    json!({
        "name": text("name"),
        "app_type": text("app_type"),
        "description": if description.is_empty() { Value::Null } else { json!(description) },
        "grant_types": form.all("grant_types"),
        "token_endpoint_auth_method": text("token_endpoint_auth_method"),
        "is_token_endpoint_ip_header_trusted": form.get("is_token_endpoint_ip_header_trusted") == Some("on"),
        "callbacks": lines(form.get("callbacks").unwrap_or_default()),
        "allowed_logout_urls": lines(form.get("allowed_logout_urls").unwrap_or_default()),
        "web_origins": lines(form.get("web_origins").unwrap_or_default()),
        "allowed_origins": lines(form.get("allowed_origins").unwrap_or_default()),
        "initiate_login_uri": if login.is_empty() { Value::Null } else { json!(login) },
    })
}

/// `POST /console/applications/{id}`: the client, then each connection
/// whose `enabled_clients` must change.
pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, form }: OperatorForm,
) -> Response {
    let current = match load(&s, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = match manage::clients::update(&s, &current.client_id, &body_of(&form)).await {
        Ok(c) => c,
        Err(e) => {
            return edit_page(
                &s,
                &op,
                &current,
                None,
                Some(&forms::api_message(&e)),
                e.status,
            )
            .await;
        }
    };
    let wanted = form.all("connections");
    let conns = match connections(&s).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    for k in conns {
        let has = k.enabled_clients.contains(&c.client_id);
        let want = wanted.contains(&k.id.as_str());
        if has == want {
            continue;
        }
        let mut enabled = k.enabled_clients.clone();
        if want {
            enabled.push(c.client_id.clone());
        } else {
            enabled.retain(|x| *x != c.client_id);
        }
        if let Err(e) = manage::connections::update(
            &s,
            crate::console_app::Changer::Console,
            &k.id,
            &json!({"enabled_clients": enabled}),
        )
        .await
        {
            return edit_page(&s, &op, &c, None, Some(&forms::api_message(&e)), e.status).await;
        }
        super::connections::log_change(
            &s,
            &op,
            &k,
            if want {
                "application enabled"
            } else {
                "application disabled"
            },
            json!({"client_id": c.client_id}),
        )
        .await;
    }
    log(&s, &op, &c, "application saved").await;
    see_other(&format!("{}?done=saved", href(&c)), Vec::new())
}

/// `POST /console/applications/{id}/rotate-secret`.
pub async fn rotate_secret(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { op, .. }: OperatorForm,
) -> Response {
    match manage::clients::rotate_secret(&s, &id).await {
        Ok((c, secret)) => {
            log(&s, &op, &c, "application secret rotated").await;
            secret_page(&op, &c, &secret, "New client secret")
        }
        Err(e) => problem(
            e.status,
            "Could not rotate the secret",
            &forms::api_message(&e),
        ),
    }
}
