//! Auth0's RBAC ("API Authorization Core"): roles, permissions — a scope an
//! API defines, given to a role or to a user directly — and what a user holds.

use serde::{Deserialize, Serialize};

/// Tern's bounds on a role's name and description (Auth0 publishes none;
/// these keep a role listable), the same for the Management API and an
/// import file's `tern_roles`: the longest name, in characters.
pub const MAX_NAME: usize = 255;
/// The longest role description, in characters.
pub const MAX_DESCRIPTION: usize = 1000;

/// A role: a named set of permissions users are given together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// `rol_` and 16 alphanumerics.
    pub id: String,
    /// Unique in the tenant.
    pub name: String,
    /// Free text.
    pub description: String,
}

/// A permission: the scope `permission_name` of the API whose identifier
/// (audience) is `resource_server_identifier`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Permission {
    /// The API's identifier.
    pub resource_server_identifier: String,
    /// The scope's value.
    pub permission_name: String,
}

/// Where a user's permission comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionSource {
    /// Given to the user directly.
    Direct,
    /// Given to a role the user holds: its id and name.
    Role {
        /// The role's id.
        id: String,
        /// The role's name.
        name: String,
    },
}

/// One way a user holds a permission (a permission held directly and
/// through two roles is three of these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPermission {
    /// What is held.
    pub permission: Permission,
    /// How.
    pub source: PermissionSource,
}

/// A role's member as Auth0 lists them (`GET /roles/{id}/users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMember {
    /// The user's id.
    pub user_id: String,
    /// Their email, when they have one.
    pub email: Option<String>,
    /// Their name.
    pub name: Option<String>,
    /// Their picture.
    pub picture: Option<String>,
}

/// A role an import row names (`tern_roles`): the user is given the
/// tenant's role of that name, which the job creates with this description
/// when the tenant has none yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRole {
    /// The role's name (unique in the tenant).
    pub name: String,
    /// Its description if the job creates it (empty when the row gave none).
    pub description: String,
}
