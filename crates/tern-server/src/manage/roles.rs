//! Roles and permissions (Auth0's RBAC) as the Management API changes and
//! shows them: a role's body, the permissions a body names (each a scope
//! its API defines), members, and a user's permissions with their sources.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use tern_core::ids;
use tern_core::model::{ResourceServer, User};
use tern_core::roles::{
    HeldPermission, MAX_DESCRIPTION, MAX_NAME, Permission, PermissionSource, Role,
};

use crate::console_app::Changer;
use crate::error::ApiError;
use crate::payload::{field, object_with, require_keys};
use crate::state::AppState;
use crate::user_admin::known_user;

/// The most items one assignment body may name (each is a statement in the
/// assignment's transaction).
pub const MAX_ITEMS: usize = 1000;

/// 404 `inexistent_role`.
pub fn not_found() -> ApiError {
    ApiError::not_found("inexistent_role", "The role does not exist.")
}

/// The tenant's role `id`, or the 404.
pub async fn known_role(s: &AppState, id: &str) -> Result<Role, ApiError> {
    s.store.get_role(s.tid(), id).await?.ok_or_else(not_found)
}

fn checked_text(
    obj: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    let Some(v) = field::<String>(obj, key)? else {
        return Ok(None);
    };
    let n = v.chars().count();
    if key == "name" && v.trim().is_empty() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'name' must not be empty.",
        ));
    }
    if n > max {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: '{key}' must be at most {max} characters, got {n}."
        )));
    }
    Ok(Some(v))
}

/// Create a role from a `POST /roles` body; 409 when the name is taken.
pub async fn create(s: &AppState, body: &Value) -> Result<Role, ApiError> {
    let obj = object_with(body, &["name", "description"])?;
    require_keys(obj, &["name"])?;
    let role = Role {
        id: ids::role_id(),
        name: checked_text(obj, "name", MAX_NAME)?.unwrap_or_default(),
        description: checked_text(obj, "description", MAX_DESCRIPTION)?.unwrap_or_default(),
    };
    if role.name.is_empty() {
        return Err(ApiError::invalid_body(
            "Payload validation error: 'name' must not be empty.",
        ));
    }
    s.store.insert_role(s.tid(), &role).await?;
    Ok(role)
}

/// Apply a `PATCH /roles/{id}` body.
pub async fn update(s: &AppState, id: &str, body: &Value) -> Result<Role, ApiError> {
    let obj = object_with(body, &["name", "description"])?;
    let mut role = known_role(s, id).await?;
    if let Some(name) = checked_text(obj, "name", MAX_NAME)? {
        role.name = name;
    }
    if let Some(d) = checked_text(obj, "description", MAX_DESCRIPTION)? {
        role.description = d;
    }
    if !s.store.update_role(s.tid(), &role).await? {
        return Err(not_found());
    }
    Ok(role)
}

/// Delete role `id` with its permissions and its users' assignments.
pub async fn delete(s: &AppState, id: &str) -> Result<(), ApiError> {
    if !s.store.delete_role(s.tid(), id).await? {
        return Err(not_found());
    }
    Ok(())
}

/// Whether a change gives or takes what its body names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Give (what is held already is kept once).
    Give,
    /// Take (what is not held is ignored).
    Take,
}

/// The permissions a body names for `change`: to give, each must be a
/// scope its API defines ([`defined_permissions`]); to take, the shape is
/// enough.
async fn permissions_for(
    s: &AppState,
    body: &Value,
    change: Change,
) -> Result<Vec<Permission>, ApiError> {
    match change {
        Change::Give => defined_permissions(s, body).await,
        Change::Take => permissions_of(body),
    }
}

/// Give role `id` the permissions of a `{"permissions": [...]}` body, or
/// take them.
pub async fn change_role_permissions(
    s: &AppState,
    id: &str,
    body: &Value,
    change: Change,
) -> Result<(Role, Vec<Permission>), ApiError> {
    let permissions = permissions_for(s, body, change).await?;
    let role = known_role(s, id).await?;
    match change {
        Change::Give => {
            s.store
                .add_role_permissions(s.tid(), &role.id, &permissions)
                .await?
        }
        Change::Take => {
            s.store
                .remove_role_permissions(s.tid(), &role.id, &permissions)
                .await?
        }
    }
    Ok((role, permissions))
}

/// Give the users of a `{"users": [...]}` body role `id`: every one must
/// exist and may be changed by `changer`, or nothing is written.
pub async fn add_members(
    s: &AppState,
    id: &str,
    body: &Value,
    changer: Changer<'_>,
) -> Result<(Role, Vec<String>), ApiError> {
    let users = ids_of(body, "users")?;
    let role = known_role(s, id).await?;
    for user_id in &users {
        let user = s.store.get_user(s.tid(), user_id).await?.ok_or_else(|| {
            ApiError::invalid_body(format!(
                "Payload validation error: the user '{user_id}' does not exist."
            ))
        })?;
        changer.may_change(&user.connection_name)?;
    }
    let pairs: Vec<(String, String)> = users.iter().map(|u| (u.clone(), role.id.clone())).collect();
    s.store.add_role_members(s.tid(), &pairs).await?;
    Ok((role, users))
}

/// Give user `id` the roles of a `{"roles": [...]}` body — all of which
/// must exist —, or take them.
pub async fn change_user_roles(
    s: &AppState,
    id: &str,
    body: &Value,
    changer: Changer<'_>,
    change: Change,
) -> Result<(User, Vec<String>), ApiError> {
    let roles = ids_of(body, "roles")?;
    let user = known_user(s, id).await?;
    changer.may_change(&user.connection_name)?;
    let pairs: Vec<(String, String)> = roles
        .iter()
        .map(|r| (user.user_id.clone(), r.clone()))
        .collect();
    match change {
        Change::Give => {
            existing_roles(s, &roles).await?;
            s.store.add_role_members(s.tid(), &pairs).await?;
        }
        Change::Take => s.store.remove_role_members(s.tid(), &pairs).await?,
    }
    Ok((user, roles))
}

/// Give user `id` the permissions of a body directly, or take those they
/// hold directly (roles are unchanged).
pub async fn change_user_permissions(
    s: &AppState,
    id: &str,
    body: &Value,
    changer: Changer<'_>,
    change: Change,
) -> Result<(User, Vec<Permission>), ApiError> {
    let permissions = permissions_for(s, body, change).await?;
    let user = known_user(s, id).await?;
    changer.may_change(&user.connection_name)?;
    match change {
        Change::Give => {
            s.store
                .add_user_permissions(s.tid(), &user.user_id, &permissions)
                .await?
        }
        Change::Take => {
            s.store
                .remove_user_permissions(s.tid(), &user.user_id, &permissions)
                .await?
        }
    }
    Ok((user, permissions))
}

/// The array `key` of a body of only that key: 1 to [`MAX_ITEMS`] items.
fn items<'a>(body: &'a Value, key: &str) -> Result<&'a Vec<Value>, ApiError> {
    let obj = object_with(body, &[key])?;
    require_keys(obj, &[key])?;
    let list = obj[key].as_array().ok_or_else(|| {
        ApiError::invalid_body(format!(
            "Payload validation error: '{key}' must be an array."
        ))
    })?;
    if list.is_empty() || list.len() > MAX_ITEMS {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: '{key}' must have 1 to {MAX_ITEMS} items, got {}.",
            list.len()
        )));
    }
    Ok(list)
}

/// The ids a `{"roles": [...]}` or `{"users": [...]}` body names, each once.
pub fn ids_of(body: &Value, key: &str) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for v in items(body, key)? {
        match v.as_str() {
            Some(id) if !id.is_empty() => {
                if !out.iter().any(|o| o == id) {
                    out.push(id.to_string());
                }
            }
            _ => {
                return Err(ApiError::invalid_body(format!(
                    "Payload validation error: every item of '{key}' must be a non-empty string id."
                )));
            }
        }
    }
    Ok(out)
}

/// The permissions a `{"permissions": [{resource_server_identifier,
/// permission_name}]}` body names, each once (shape only).
pub fn permissions_of(body: &Value) -> Result<Vec<Permission>, ApiError> {
    let mut out: Vec<Permission> = Vec::new();
    for v in items(body, "permissions")? {
        let p: Permission = v
            .as_object()
            .filter(|o| o.len() == 2)
            .and_then(|_| serde_json::from_value(v.clone()).ok())
            .ok_or_else(|| {
                ApiError::invalid_body(
                    "Payload validation error: every permission must be an object of exactly 'resource_server_identifier' and 'permission_name' (strings).",
                )
            })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The permissions of a body, each a scope that its API defines: an
/// unknown API, a scope it does not define or the Management API's own
/// scopes (which applications get through client grants, and user tokens
/// never reach) are refused with a 400 naming them.
pub async fn defined_permissions(s: &AppState, body: &Value) -> Result<Vec<Permission>, ApiError> {
    let permissions = permissions_of(body)?;
    let mut apis: HashMap<&str, ResourceServer> = HashMap::new();
    for p in &permissions {
        let id = p.resource_server_identifier.as_str();
        if !apis.contains_key(id) {
            let rs = s
                .store
                .get_resource_server(s.tid(), id)
                .await?
                .filter(|rs| rs.identifier == id)
                .ok_or_else(|| {
                    ApiError::invalid_body(format!(
                        "Payload validation error: no API has the identifier '{id}' (resource_server_identifier is an API's identifier, its audience)."
                    ))
                })?;
            if rs.is_system {
                return Err(ApiError::invalid_body(
                    "Payload validation error: the Management API's scopes are given to applications through client grants, not to users or roles.",
                ));
            }
            apis.insert(id, rs);
        }
        if !apis[id]
            .scopes
            .iter()
            .any(|sc| sc.value == p.permission_name)
        {
            return Err(ApiError::invalid_body(format!(
                "Payload validation error: the API '{id}' defines no permission '{}'; add it to the API's scopes first.",
                p.permission_name
            )));
        }
    }
    Ok(permissions)
}

/// The roles of `ids`, all of which must exist: a 400 naming the first
/// that does not (a body's fault, not the path's).
pub async fn existing_roles(s: &AppState, ids: &[String]) -> Result<(), ApiError> {
    let found = s.store.existing_roles(s.tid(), ids).await?;
    match ids.iter().find(|id| !found.contains(id)) {
        Some(missing) => Err(ApiError::invalid_body(format!(
            "Payload validation error: the role '{missing}' does not exist."
        ))),
        None => Ok(()),
    }
}

/// Auth0's view of permissions: each with its API's name and the scope's
/// description.
pub async fn permission_views(
    s: &AppState,
    permissions: &[Permission],
) -> Result<Vec<Value>, ApiError> {
    let apis = s.store.list_resource_servers(s.tid()).await?;
    Ok(permissions
        .iter()
        .map(|p| permission_view(&apis, p))
        .collect())
}

fn permission_view(apis: &[ResourceServer], p: &Permission) -> Value {
    let api = apis
        .iter()
        .find(|a| a.identifier == p.resource_server_identifier);
    let description = api
        .and_then(|a| a.scopes.iter().find(|sc| sc.value == p.permission_name))
        .map_or("", |sc| sc.description.as_str());
    json!({
        "resource_server_identifier": p.resource_server_identifier,
        "permission_name": p.permission_name,
        "resource_server_name": api.map_or(p.resource_server_identifier.as_str(), |a| a.name.as_str()),
        "description": description,
    })
}

/// A user's permissions as `GET /users/{id}/permissions` shows them: each
/// once, with `sources` saying whether it was given directly (`DIRECT`)
/// and through which roles (`ROLE`).
pub async fn user_permission_views(
    s: &AppState,
    held: Vec<HeldPermission>,
) -> Result<Vec<Value>, ApiError> {
    let apis = s.store.list_resource_servers(s.tid()).await?;
    let mut by_permission: BTreeMap<Permission, Vec<Value>> = BTreeMap::new();
    for h in held {
        let source = match h.source {
            PermissionSource::Direct => {
                json!({"source_id": "", "source_name": "", "source_type": "DIRECT"})
            }
            PermissionSource::Role { id, name } => {
                json!({"source_id": id, "source_name": name, "source_type": "ROLE"})
            }
        };
        by_permission.entry(h.permission).or_default().push(source);
    }
    Ok(by_permission
        .into_iter()
        .map(|(p, sources)| {
            let mut v = permission_view(&apis, &p);
            v["sources"] = Value::Array(sources);
            v
        })
        .collect())
}
