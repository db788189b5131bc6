//! Schemas of the RBAC endpoints (`/roles…`, `/users/{id}/roles`,
//! `/users/{id}/permissions`): Auth0's shapes.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A role (Auth0's `Role`).
#[derive(Serialize, ToSchema)]
pub struct RoleView {
    /// `rol_` and 16 alphanumerics.
    pub id: String,
    /// Unique in the tenant.
    pub name: String,
    /// Free text (empty when none was given).
    pub description: String,
}

/// The body of `POST /roles`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    /// Unique in the tenant, 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    /// At most 1000 characters.
    #[schema(nullable = false, max_length = 1000)]
    pub description: Option<String>,
}

/// The body of `PATCH /roles/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    /// Unique in the tenant, 1 to 255 characters.
    #[schema(nullable = false, min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// At most 1000 characters.
    #[schema(nullable = false, max_length = 1000)]
    pub description: Option<String>,
}

/// A permission named in a request: a scope an API defines.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRequest {
    /// The API's identifier (audience).
    pub resource_server_identifier: String,
    /// A scope the API defines.
    pub permission_name: String,
}

/// `{"permissions": [...]}`: permissions to give or take.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsBody {
    /// 1 to 1000 permissions.
    #[schema(min_items = 1, max_items = 1000)]
    pub permissions: Vec<PermissionRequest>,
}

/// A permission as listed (Auth0's `PermissionsResponsePayload`).
#[derive(Serialize, ToSchema)]
pub struct PermissionView {
    /// The API's identifier.
    pub resource_server_identifier: String,
    /// The scope.
    pub permission_name: String,
    /// The API's name.
    pub resource_server_name: String,
    /// The scope's description.
    pub description: String,
}

/// How a user holds a permission.
#[derive(Serialize, ToSchema)]
pub struct PermissionSourceView {
    /// The role's id (`""` for `DIRECT`).
    pub source_id: String,
    /// The role's name (`""` for `DIRECT`).
    pub source_name: String,
    /// `DIRECT` or `ROLE`.
    pub source_type: String,
}

/// A user's permission (Auth0's `UserPermissionSchema`), once however many
/// ways it is held.
#[derive(Serialize, ToSchema)]
pub struct UserPermissionView {
    /// The API's identifier.
    pub resource_server_identifier: String,
    /// The scope.
    pub permission_name: String,
    /// The API's name.
    pub resource_server_name: String,
    /// The scope's description.
    pub description: String,
    /// Given directly, through roles, or both.
    pub sources: Vec<PermissionSourceView>,
}

/// `{"roles": [...]}`: role ids to give a user or take from them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIdsBody {
    /// 1 to 1000 role ids, each an existing role.
    #[schema(min_items = 1, max_items = 1000)]
    pub roles: Vec<String>,
}

/// `{"users": [...]}`: users to give a role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIdsBody {
    /// 1 to 1000 user ids, each a stored user.
    #[schema(min_items = 1, max_items = 1000)]
    pub users: Vec<String>,
}

/// A role's member (Auth0's `RoleUser`).
#[derive(Serialize, ToSchema)]
pub struct RoleMemberView {
    /// The user's id.
    pub user_id: String,
    /// Their email, when they have one.
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// Their name, when they have one.
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// Their picture, when they have one.
    #[schema(nullable = false)]
    pub picture: Option<String>,
}

/// A checkpoint page of a role's users (`from`/`take`). Nothing beyond its
/// two fields, so an offset page (which also has `users`) is not one of
/// these too: a `RoleMembers` answer is exactly one of its shapes.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleMemberCheckpoint {
    /// The users, by id.
    pub users: Vec<RoleMemberView>,
    /// The `from` of the next page; absent on the last.
    #[schema(nullable = false)]
    pub next: Option<String>,
}

/// A role's users: an offset list (`page`/`per_page`) or a checkpoint page
/// (when `from` or `take` is given).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RoleMembers {
    /// Offset paging.
    Offset(RoleMemberList),
    /// Checkpoint paging.
    Checkpoint(RoleMemberCheckpoint),
}

/// `GET /roles` filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleFilter {
    /// Only roles whose name contains this (any case).
    #[param(nullable = false)]
    pub name_filter: Option<String>,
}

/// `GET /roles/{id}/users` checkpoint paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleMemberCheckpointParams {
    /// The `next` of the previous page, unchanged.
    #[param(nullable = false)]
    pub from: Option<String>,
    /// Users per checkpoint page (default 50).
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub take: Option<u64>,
}

page_of!(RolesPage, RoleList, RoleView, roles, "roles");
page_of!(
    PermissionsPage,
    PermissionList,
    PermissionView,
    permissions,
    "permissions"
);
page_of!(
    UserPermissionsPage,
    UserPermissionList,
    UserPermissionView,
    permissions,
    "a user's permissions"
);
page_of!(
    RoleMembersPage,
    RoleMemberList,
    RoleMemberView,
    users,
    "a role's users"
);
