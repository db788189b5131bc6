//! APIs (resource servers) as the Management API changes them, for its
//! handlers and the console alike. The Management API itself
//! (`is_system`) cannot be changed.

use axum::http::StatusCode;
use serde_json::Value;
use tern_core::ids;
use tern_core::model::{ResourceServer, default_token_lifetime};

use crate::error::ApiError;
use crate::payload::{merge_into, object_with, require_keys};
use crate::state::AppState;

/// The body's accepted fields.
pub const FIELDS: &[&str] = &[
    "name",
    "identifier",
    "scopes",
    "signing_alg",
    "token_lifetime",
    "allow_offline_access",
    "skip_consent_for_verifiable_first_party_clients",
    "tern_machine_to_machine_only",
    "enforce_policies",
    "token_dialect",
];

/// The token dialects Tern issues. Auth0's `rfc9068_profile` and
/// `rfc9068_profile_authz` (RFC 9068's claims and `at+jwt` header) are
/// refused rather than accepted and ignored.
pub const TOKEN_DIALECTS: &[&str] = &["access_token", "access_token_authz"];

/// The most scopes one API may define.
pub const MAX_SCOPES: usize = 1000;

/// 404 `inexistent_resource_server`.
pub fn not_found() -> ApiError {
    ApiError::not_found(
        "inexistent_resource_server",
        "The resource server does not exist",
    )
}

fn validate(rs: &ResourceServer) -> Result<(), ApiError> {
    if !TOKEN_DIALECTS.contains(&rs.token_dialect.as_str()) {
        let why = if rs.token_dialect.starts_with("rfc9068_profile") {
            "Tern does not issue RFC 9068 profile tokens yet"
        } else {
            "it is not one of Auth0's token dialects"
        };
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'token_dialect' {:?} is refused: {why}. Use one of: {}.",
            rs.token_dialect,
            TOKEN_DIALECTS.join(", ")
        )));
    }
    if rs.signing_alg != "RS256" {
        return Err(ApiError::invalid_body(
            "Payload validation error: Tern signs with RS256 only; 'signing_alg' must be RS256.",
        ));
    }
    if !(1..=2_592_000).contains(&rs.token_lifetime) {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'token_lifetime' must be between 1 and 2592000 seconds.",
        ));
    }
    if rs.identifier.is_empty() || rs.identifier.len() > 600 {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'identifier' must be 1 to 600 characters.",
        ));
    }
    // Auth0's bounds on a scope; the count bounds what a grant's check and
    // a token's `scope` can grow to.
    if rs.scopes.len() > MAX_SCOPES {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: an API defines at most {MAX_SCOPES} scopes, got {}.",
            rs.scopes.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for sc in &rs.scopes {
        let chars = sc.value.chars().count();
        if chars == 0 || chars > 280 || sc.description.chars().count() > 500 {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: scope '{}' must have a value of 1 to 280 characters and a description of at most 500.",
                sc.value.chars().take(64).collect::<String>()
            )));
        }
        if !seen.insert(sc.value.as_str()) {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: scope '{}' is defined twice.",
                sc.value
            )));
        }
    }
    Ok(())
}

/// Audiences Tern's own endpoints accept tokens for (`/userinfo`, an
/// export's download link). An API registered under one of them could have
/// a client grant mint tokens those endpoints believe, so none may be.
fn internal_audiences(s: &AppState) -> [String; 2] {
    [
        format!("{}userinfo", s.issuer()),
        format!("{}/jobs-files", s.public_url),
    ]
}

/// Create an API from a `POST /resource-servers` body.
pub async fn create(s: &AppState, body: &Value) -> Result<ResourceServer, ApiError> {
    let obj = object_with(body, FIELDS)?;
    require_keys(obj, &["identifier"])?;
    let base = ResourceServer {
        id: ids::resource_server_id(),
        name: String::new(),
        identifier: String::new(),
        scopes: vec![],
        signing_alg: "RS256".into(),
        token_lifetime: default_token_lifetime(),
        allow_offline_access: false,
        skip_consent_for_verifiable_first_party_clients: true,
        is_system: false,
        tern_machine_to_machine_only: false,
        enforce_policies: false,
        token_dialect: tern_core::model::default_token_dialect(),
    };
    let mut rs = merge_into(&base, obj)?;
    if rs.name.is_empty() {
        rs.name = rs.identifier.clone();
    }
    validate(&rs)?;
    if internal_audiences(s).contains(&rs.identifier) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: '{}' is an audience of Tern's own endpoints and cannot be an API's identifier.",
            rs.identifier
        )));
    }
    s.store.insert_resource_server(s.tid(), &rs).await?;
    Ok(rs)
}

/// Apply a `PATCH /resource-servers/{id}` body (`id` or identifier).
pub async fn update(s: &AppState, id: &str, body: &Value) -> Result<ResourceServer, ApiError> {
    let obj = object_with(body, FIELDS)?;
    let current = s
        .store
        .get_resource_server(s.tid(), id)
        .await?
        .ok_or_else(not_found)?;
    if current.is_system {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "operation_not_supported",
            "The Management API cannot be modified.",
        ));
    }
    if obj
        .get("identifier")
        .is_some_and(|v| v.as_str() != Some(current.identifier.as_str()))
    {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'identifier' cannot be changed.",
        ));
    }
    let mut rs = merge_into(&current, obj)?;
    rs.id = current.id;
    rs.is_system = false;
    validate(&rs)?;
    s.store.update_resource_server(s.tid(), &rs).await?;
    Ok(rs)
}

/// `DELETE /resource-servers/{id}` (`id` or identifier), with the client
/// grants for its audience (so an API created later with the same
/// identifier starts without them); `false` when there was no such API.
/// The Management API is refused.
pub async fn delete(s: &AppState, id: &str) -> Result<bool, ApiError> {
    let Some(rs) = s.store.get_resource_server(s.tid(), id).await? else {
        return Ok(false);
    };
    if rs.is_system {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "operation_not_supported",
            "The Management API cannot be deleted.",
        ));
    }
    for g in s.store.list_client_grants(s.tid()).await? {
        if g.audience == rs.identifier {
            s.store.delete_client_grant(s.tid(), &g.id).await?;
        }
    }
    Ok(s.store.delete_resource_server(s.tid(), &rs.id).await?)
}
