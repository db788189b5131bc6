//! Applications as the Management API changes them (`POST`/`PATCH
//! /api/v2/clients`, rotating the secret, `DELETE`), for its handlers and the
//! console alike. A secret exists in clear only in the answer that creates
//! or rotates it: the store keeps its SHA-256 (`client_secret`).

use serde_json::Value;
use tern_core::grants::RefreshTokenConfig;
use tern_core::ids;
use tern_core::model::Client;
use tern_core::url_match::{UrlRule, check_stored_url};

use crate::client_secret::hash_secret;
use crate::error::ApiError;
use crate::payload::{field, merge_into, object_with, require_keys};
use crate::state::AppState;

/// The body's accepted fields.
pub const FIELDS: &[&str] = &[
    "name",
    "description",
    "app_type",
    "is_first_party",
    "callbacks",
    "allowed_origins",
    "web_origins",
    "allowed_logout_urls",
    "grant_types",
    "token_endpoint_auth_method",
    "is_token_endpoint_ip_header_trusted",
    "client_metadata",
    "oidc_conformant",
    "logo_uri",
    "jwt_configuration",
    "sso",
    "cross_origin_auth",
    "refresh_token",
    "initiate_login_uri",
];
/// Fields Tern accepts for Auth0 compatibility but does not act on.
const IGNORED: &[&str] = &["oidc_conformant", "logo_uri", "sso", "cross_origin_auth"];

/// 404 `inexistent_client`.
pub fn not_found() -> ApiError {
    ApiError::not_found("inexistent_client", "Client not found")
}

/// Create an application from a `POST /clients` body: the stored client
/// and its secret, which nothing can show again.
pub async fn create(s: &AppState, body: &Value) -> Result<(Client, String), ApiError> {
    let obj = object_with(body, FIELDS)?;
    require_keys(obj, &["name"])?;
    let mut patch = obj.clone();
    patch.retain(|k, _| !IGNORED.contains(&k.as_str()));
    let app_type: Option<String> = field(obj, "app_type")?;
    check_types(obj)?;
    let base = Client {
        client_id: ids::client_id(),
        name: String::new(),
        description: None,
        app_type: None,
        is_first_party: true,
        callbacks: vec![],
        allowed_origins: vec![],
        web_origins: vec![],
        allowed_logout_urls: vec![],
        // Auth0's defaults for a new application.
        grant_types: if app_type.as_deref() == Some("non_interactive") {
            vec!["client_credentials".into()]
        } else {
            vec![
                "authorization_code".into(),
                "implicit".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ]
        },
        token_endpoint_auth_method: "client_secret_post".into(),
        is_token_endpoint_ip_header_trusted: false,
        client_metadata: Default::default(),
        global: false,
        refresh_token: Some(RefreshTokenConfig::default()),
        initiate_login_uri: None,
        jwt_configuration: Default::default(),
        secret_hash: String::new(),
    };
    let mut client = merge_into(&base, &patch)?;
    validate(&client)?;
    check_logo_uri(obj)?;
    let secret = ids::client_secret();
    client.secret_hash = hash_secret(&secret);
    s.store.insert_client(s.tid(), &client).await?;
    crate::cors::clients_changed(s).await;
    Ok((client, secret))
}

/// Auth0's payload validation error for a field sent as another JSON type
/// (`... on property is_token_endpoint_ip_header_trusted.`), for the fields
/// whose type the merged document's read would otherwise report without
/// their name.
fn check_types(obj: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    let jwt = obj.get("jwt_configuration");
    let checks = [
        (
            "is_token_endpoint_ip_header_trusted",
            obj.get("is_token_endpoint_ip_header_trusted"),
            "boolean",
        ),
        ("jwt_configuration", jwt, "object"),
        (
            "jwt_configuration.lifetime_in_seconds",
            jwt.and_then(|j| j.get("lifetime_in_seconds")),
            "integer",
        ),
        (
            "jwt_configuration.alg",
            jwt.and_then(|j| j.get("alg")),
            "string",
        ),
    ];
    for (key, value, expected) in checks {
        let Some(value) = value else { continue };
        let found = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if found != expected {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: 'Expected type {expected} but found type {found}' on property {key}."
            )));
        }
    }
    Ok(())
}

fn validate(c: &Client) -> Result<(), ApiError> {
    if c.name.trim().is_empty() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'String is too short (0 chars), minimum 1' on property name.",
        ));
    }
    if !["client_secret_post", "client_secret_basic", "none"]
        .contains(&c.token_endpoint_auth_method.as_str())
    {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'token_endpoint_auth_method' must be one of client_secret_post, client_secret_basic, none.",
        ));
    }
    if let Some(rt) = &c.refresh_token {
        rt.validate()
            .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}.")))?;
    }
    c.jwt_configuration
        .validate()
        .map_err(|m| ApiError::invalid_body(format!("Payload validation error: {m}.")))?;
    if let Some(u) = &c.initiate_login_uri {
        check_stored_url(u, UrlRule::Https)
            .map_err(|m| invalid(&format!("'initiate_login_uri' {m}")))?;
    }
    check_url_lists(c)?;
    check_description_and_metadata(c)
}

/// `Payload validation error: <what>.` as a 400 `invalid_body`.
fn invalid(what: &str) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: {what}."))
}

/// At most this many entries in each URL list. Auth0 documents 100 for
/// `web_origins`; every list is read on each `/authorize` (callbacks), each
/// CORS request (origins, of every client) and each `GET /clients`, so one
/// bound for all keeps those costs small and known.
const MAX_URLS_PER_LIST: usize = 100;
/// At most this many bytes per URL: what `/authorize` accepts as a
/// `redirect_uri`, so a longer callback could never match anyway.
const MAX_URL_BYTES: usize = crate::authorize::request::MAX_PARAM_BYTES;

/// The application's URL lists: bounded, and each URL one the browser
/// reads as written, of a scheme that hands it to an application.
fn check_url_lists(c: &Client) -> Result<(), ApiError> {
    for (name, list, rule) in [
        ("callbacks", &c.callbacks, UrlRule::Callback),
        (
            "allowed_logout_urls",
            &c.allowed_logout_urls,
            UrlRule::WebWithWildcard,
        ),
        ("web_origins", &c.web_origins, UrlRule::WebWithWildcard),
        (
            "allowed_origins",
            &c.allowed_origins,
            UrlRule::WebWithWildcard,
        ),
    ] {
        if list.len() > MAX_URLS_PER_LIST {
            return Err(invalid(&format!(
                "'{name}' has {} entries, at most {MAX_URLS_PER_LIST} are allowed",
                list.len()
            )));
        }
        for u in list {
            if u.len() > MAX_URL_BYTES {
                return Err(invalid(&format!(
                    "an entry of '{name}' is {} bytes long, at most {MAX_URL_BYTES} are allowed",
                    u.len()
                )));
            }
            check_stored_url(u, rule).map_err(|m| invalid(&format!("'{name}' entry {u:?} {m}")))?;
        }
    }
    Ok(())
}

/// Auth0's OAS bounds: `description` at most 140 characters;
/// `client_metadata` at most 10 properties, names and string values at
/// most 255 characters.
const MAX_DESCRIPTION_CHARS: usize = 140;
const MAX_METADATA_PROPERTIES: usize = 10;
const MAX_METADATA_CHARS: usize = 255;

fn check_description_and_metadata(c: &Client) -> Result<(), ApiError> {
    if let Some(d) = &c.description
        && d.chars().count() > MAX_DESCRIPTION_CHARS
    {
        return Err(invalid(&format!(
            "'String is too long ({} chars), maximum {MAX_DESCRIPTION_CHARS}' on property description",
            d.chars().count()
        )));
    }
    let metadata = &c.client_metadata;
    if metadata.len() > MAX_METADATA_PROPERTIES {
        return Err(invalid(&format!(
            "'client_metadata' has {} properties, at most {MAX_METADATA_PROPERTIES} are allowed",
            metadata.len()
        )));
    }
    for (k, v) in metadata {
        if k.chars().count() > MAX_METADATA_CHARS {
            return Err(invalid(&format!(
                "a 'client_metadata' property name is longer than {MAX_METADATA_CHARS} characters"
            )));
        }
        let Value::String(v) = v else {
            return Err(invalid(&format!("'client_metadata.{k}' must be a string")));
        };
        if v.chars().count() > MAX_METADATA_CHARS {
            return Err(invalid(&format!(
                "'client_metadata.{k}' is longer than {MAX_METADATA_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// `logo_uri` is accepted and not kept (see [`IGNORED`]), but Auth0
/// refuses what is not an absolute URL, and so does Tern: http(s) only,
/// written as the browser would read it; empty is allowed.
fn check_logo_uri(obj: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    match obj.get("logo_uri") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(u)) if u.is_empty() => Ok(()),
        Some(Value::String(u)) if u.len() > MAX_URL_BYTES => Err(invalid(&format!(
            "'logo_uri' is {} bytes long, at most {MAX_URL_BYTES} are allowed",
            u.len()
        ))),
        Some(Value::String(u)) => {
            check_stored_url(u, UrlRule::Web).map_err(|m| invalid(&format!("'logo_uri' {m}")))
        }
        Some(_) => Err(invalid("'logo_uri' must be a string")),
    }
}

/// Apply a `PATCH /clients/{id}` body; the updated client.
pub async fn update(s: &AppState, id: &str, body: &Value) -> Result<Client, ApiError> {
    let obj = object_with(body, FIELDS)?;
    crate::console_app::guard_client(id)?;
    check_types(obj)?;
    let current = s
        .store
        .get_client(s.tid(), id)
        .await?
        .ok_or_else(not_found)?;
    let mut patch = obj.clone();
    patch.retain(|k, _| !IGNORED.contains(&k.as_str()));
    let mut client = merge_into(&current, &patch)?;
    client.secret_hash = current.secret_hash;
    client.client_id = current.client_id;
    validate(&client)?;
    check_logo_uri(obj)?;
    s.store.update_client(s.tid(), &client).await?;
    crate::cors::clients_changed(s).await;
    Ok(client)
}

/// A new secret for the client: the client and the secret, shown once.
pub async fn rotate_secret(s: &AppState, id: &str) -> Result<(Client, String), ApiError> {
    crate::console_app::guard_client(id)?;
    let mut client = s
        .store
        .get_client(s.tid(), id)
        .await?
        .ok_or_else(not_found)?;
    let secret = ids::client_secret();
    client.secret_hash = hash_secret(&secret);
    s.store.update_client(s.tid(), &client).await?;
    Ok((client, secret))
}

/// `DELETE /clients/{id}`: the application and its client grants; the
/// connections enabled for it stay, without it. Idempotent, as Auth0:
/// deleting what is not there is not an error (`false`). The console
/// application is refused.
pub async fn delete(s: &AppState, id: &str) -> Result<bool, ApiError> {
    crate::console_app::guard_client(id)?;
    // First the connections, so no connection is left naming an
    // application that no longer exists (a later PATCH echoing its
    // enabled_clients would otherwise be refused).
    for mut c in s.store.list_connections(s.tid()).await? {
        if c.enabled_clients.iter().any(|e| e == id) {
            c.enabled_clients.retain(|e| e != id);
            s.store.update_connection(s.tid(), &c).await?;
        }
    }
    let deleted = s.store.delete_client(s.tid(), id).await?;
    crate::cors::clients_changed(s).await;
    Ok(deleted)
}
