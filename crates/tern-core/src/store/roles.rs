//! Roles and permissions (Auth0's RBAC).

use std::collections::HashMap;

use crate::CoreResult;
use crate::roles::{HeldPermission, Permission, Role, RoleMember};

/// Storing roles, what they give and who holds them, and users' direct
/// permissions. Deleting a user, a role or an API drops the assignments
/// naming it in the same transaction (the store's triggers).
#[async_trait::async_trait]
pub trait RoleStore: Send + Sync {
    /// Insert a role; `Conflict` when the name is taken.
    async fn insert_role(&self, tenant: &str, role: &Role) -> CoreResult<()>;
    /// A role by id.
    async fn get_role(&self, tenant: &str, id: &str) -> CoreResult<Option<Role>>;
    /// Roles by name, those whose name contains `name_filter` (any case) when given.
    async fn list_roles(&self, tenant: &str, name_filter: Option<&str>) -> CoreResult<Vec<Role>>;
    /// Those of `ids` that are roles of the tenant.
    async fn existing_roles(&self, tenant: &str, ids: &[String]) -> CoreResult<Vec<String>>;
    /// Replace a role's name and description; false if it does not exist,
    /// `Conflict` when the new name is taken.
    async fn update_role(&self, tenant: &str, role: &Role) -> CoreResult<bool>;
    /// Delete a role with its permissions and members; false if it did not exist.
    async fn delete_role(&self, tenant: &str, id: &str) -> CoreResult<bool>;

    /// Give a role permissions (those it has already are kept once).
    async fn add_role_permissions(
        &self,
        tenant: &str,
        role_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()>;
    /// Take permissions from a role.
    async fn remove_role_permissions(
        &self,
        tenant: &str,
        role_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()>;
    /// A role's permissions, by API and name.
    async fn list_role_permissions(
        &self,
        tenant: &str,
        role_id: &str,
    ) -> CoreResult<Vec<Permission>>;
    /// How many permissions each of `role_ids` gives, in one statement (a
    /// page of the console's list); ids that are not roles of the tenant
    /// are left out.
    async fn count_role_permissions(
        &self,
        tenant: &str,
        role_ids: &[String],
    ) -> CoreResult<HashMap<String, u64>>;

    /// Give users roles: `(user_id, role_id)` pairs (those held already are kept once).
    async fn add_role_members(&self, tenant: &str, pairs: &[(String, String)]) -> CoreResult<()>;
    /// Take roles from users: `(user_id, role_id)` pairs.
    async fn remove_role_members(&self, tenant: &str, pairs: &[(String, String)])
    -> CoreResult<()>;
    /// A role's members (stored users only), by user id: those after the
    /// id `after`, less the first `skip`, at most `limit`.
    async fn list_role_members(
        &self,
        tenant: &str,
        role_id: &str,
        after: Option<&str>,
        skip: u64,
        limit: u64,
    ) -> CoreResult<Vec<RoleMember>>;
    /// How many stored users hold a role.
    async fn count_role_members(&self, tenant: &str, role_id: &str) -> CoreResult<u64>;
    /// The roles a user holds, by name.
    async fn list_user_roles(&self, tenant: &str, user_id: &str) -> CoreResult<Vec<Role>>;
    /// The names of the roles each of `user_ids` holds, as `(user_id,
    /// role name)` pairs, in one statement (a dry-run import's batch).
    async fn held_role_names(
        &self,
        tenant: &str,
        user_ids: &[String],
    ) -> CoreResult<Vec<(String, String)>>;

    /// Give a user permissions directly.
    async fn add_user_permissions(
        &self,
        tenant: &str,
        user_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()>;
    /// Take a user's direct permissions.
    async fn remove_user_permissions(
        &self,
        tenant: &str,
        user_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()>;
    /// Every way a user holds a permission, directly or through roles, by
    /// API and name.
    async fn list_user_permissions(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> CoreResult<Vec<HeldPermission>>;
    /// The names of the permissions a user holds for one API, each once and
    /// in order: what a token for it may carry (one statement).
    async fn user_permission_names(
        &self,
        tenant: &str,
        user_id: &str,
        api_identifier: &str,
    ) -> CoreResult<Vec<String>>;
}
