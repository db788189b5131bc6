//! Client grants (which application may get which scopes of which API,
//! by client credentials) as the Management API changes them, for its
//! handlers and the console alike.

use serde_json::Value;
use tern_core::ids;
use tern_core::model::ClientGrant;

use crate::error::ApiError;
use crate::payload::{field, object_with, require_keys};
use crate::state::AppState;

/// 404 `inexistent_client_grant`.
pub fn not_found() -> ApiError {
    ApiError::not_found(
        "inexistent_client_grant",
        "The client grant does not exist.",
    )
}

/// Every scope must be one the API defines; each is kept once, in the
/// order given.
async fn check_scopes(
    s: &AppState,
    audience: &str,
    scope: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    let rs = s
        .store
        .get_resource_server(s.tid(), audience)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "inexistent_resource_server",
                format!("No resource server found for audience {audience}."),
            )
        })?;
    let defined: std::collections::HashSet<&str> =
        rs.scopes.iter().map(|d| d.value.as_str()).collect();
    if let Some(bad) = scope.iter().find(|sc| !defined.contains(sc.as_str())) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: scope '{bad}' is not defined by the API {audience}."
        )));
    }
    let mut seen = std::collections::HashSet::new();
    Ok(scope
        .into_iter()
        .filter(|sc| seen.insert(sc.clone()))
        .collect())
}

/// Create a grant from a `POST /client-grants` body.
pub async fn create(s: &AppState, body: &Value) -> Result<ClientGrant, ApiError> {
    let obj = object_with(body, &["client_id", "audience", "scope"])?;
    require_keys(obj, &["client_id", "audience", "scope"])?;
    let client_id: String = field(obj, "client_id")?.unwrap_or_default();
    // The console application signs operators in and nothing else.
    crate::console_app::guard_client(&client_id)?;
    let audience: String = field(obj, "audience")?.unwrap_or_default();
    let scope: Vec<String> = field(obj, "scope")?.unwrap_or_default();
    if s.store.get_client(s.tid(), &client_id).await?.is_none() {
        return Err(ApiError::not_found(
            "inexistent_client",
            format!("No client found for client_id {client_id}."),
        ));
    }
    let scope = check_scopes(s, &audience, scope).await?;
    let grant = ClientGrant {
        id: ids::client_grant_id(),
        client_id,
        audience,
        scope,
    };
    s.store.insert_client_grant(s.tid(), &grant).await?;
    Ok(grant)
}

/// Apply a `PATCH /client-grants/{id}` body (scope only).
pub async fn update(s: &AppState, id: &str, body: &Value) -> Result<ClientGrant, ApiError> {
    let obj = object_with(body, &["scope"])?;
    let mut grant = s
        .store
        .get_client_grant(s.tid(), id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(scope) = field::<Vec<String>>(obj, "scope")? {
        grant.scope = check_scopes(s, &grant.audience, scope).await?;
    }
    s.store.update_client_grant(s.tid(), &grant).await?;
    Ok(grant)
}

/// Delete a grant (`DELETE /client-grants/{id}`); deleting what is not
/// there is not an error, as in Auth0.
pub async fn delete(s: &AppState, id: &str) -> Result<(), ApiError> {
    s.store.delete_client_grant(s.tid(), id).await?;
    Ok(())
}
