//! Roles, their permissions and members, users' direct permissions.
//! Deleting a user, a role or an API drops the rows naming it by trigger
//! (migration 0053), in the deleting statement's transaction.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tern_core::CoreResult;
use tern_core::roles::{HeldPermission, Permission, PermissionSource, Role, RoleMember};
use tern_core::store::RoleStore;

use super::{SqlStore, as_i64, storage};
use crate::bulk;

const ROLE_CONFLICT: &str = "A role with the same name";

fn role_of(r: &AnyRow) -> CoreResult<Role> {
    Ok(Role {
        id: r.try_get("id").map_err(storage)?,
        name: r.try_get("name").map_err(storage)?,
        description: r.try_get("description").map_err(storage)?,
    })
}

fn permission_of(r: &AnyRow) -> CoreResult<Permission> {
    Ok(Permission {
        resource_server_identifier: r.try_get("resource_server_identifier").map_err(storage)?,
        permission_name: r.try_get("permission_name").map_err(storage)?,
    })
}

impl SqlStore {
    /// Run `sql` once per item in one transaction: `bind` binds the tenant
    /// as `$1` and the item's values after it.
    async fn each_in_tx<T>(
        &self,
        sql: &'static str,
        items: &[T],
        bind: impl for<'q> Fn(
            sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
            &'q T,
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
        tenant: &str,
    ) -> CoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        for item in items {
            bind(sqlx::query(sql).bind(tenant), item)
                .execute(&mut *tx)
                .await
                .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)
    }

    /// Write `permissions` of one holder (a role or a user) with `sql`, whose
    /// `$2` is the holder and `$3`, `$4` the permission, in one transaction.
    async fn permission_rows(
        &self,
        sql: &'static str,
        tenant: &str,
        holder: &str,
        permissions: &[Permission],
    ) -> CoreResult<()> {
        self.each_in_tx(
            sql,
            permissions,
            |q, p| {
                q.bind(holder)
                    .bind(&p.resource_server_identifier)
                    .bind(&p.permission_name)
            },
            tenant,
        )
        .await
    }
}

#[async_trait::async_trait]
impl RoleStore for SqlStore {
    async fn insert_role(&self, tenant: &str, role: &Role) -> CoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO roles (tenant_id, id, name, description) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(&role.id)
        .bind(&role.name)
        .bind(&role.description);
        self.write_doc(q, ROLE_CONFLICT).await.map(drop)
    }

    async fn get_role(&self, tenant: &str, id: &str) -> CoreResult<Option<Role>> {
        let row =
            sqlx::query("SELECT id, name, description FROM roles WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
        row.as_ref().map(role_of).transpose()
    }

    async fn list_roles(&self, tenant: &str, name_filter: Option<&str>) -> CoreResult<Vec<Role>> {
        let rows = sqlx::query(
            "SELECT id, name, description FROM roles WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        let roles = rows.iter().map(role_of).collect::<CoreResult<Vec<_>>>()?;
        // A tenant's roles are few; the filter's case folding is Unicode's,
        // the same on both databases.
        Ok(match name_filter.map(str::to_lowercase) {
            Some(f) => roles
                .into_iter()
                .filter(|r| r.name.to_lowercase().contains(&f))
                .collect(),
            None => roles,
        })
    }

    async fn existing_roles(&self, tenant: &str, ids: &[String]) -> CoreResult<Vec<String>> {
        let mut found = Vec::new();
        for id in ids {
            if self.get_role(tenant, id).await?.is_some() {
                found.push(id.clone());
            }
        }
        Ok(found)
    }

    async fn update_role(&self, tenant: &str, role: &Role) -> CoreResult<bool> {
        let q = sqlx::query(
            "UPDATE roles SET name = $3, description = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(&role.id)
        .bind(&role.name)
        .bind(&role.description);
        Ok(self.write_doc(q, ROLE_CONFLICT).await? > 0)
    }

    async fn delete_role(&self, tenant: &str, id: &str) -> CoreResult<bool> {
        self.delete_doc("roles", tenant, id).await
    }

    async fn add_role_permissions(
        &self,
        tenant: &str,
        role_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()> {
        self.permission_rows(
            "INSERT INTO role_permissions (tenant_id, role_id, resource_server_identifier, permission_name) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            tenant,
            role_id,
            permissions,
        )
        .await
    }

    async fn remove_role_permissions(
        &self,
        tenant: &str,
        role_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()> {
        self.permission_rows(
            "DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 \
             AND resource_server_identifier = $3 AND permission_name = $4",
            tenant,
            role_id,
            permissions,
        )
        .await
    }

    async fn list_role_permissions(
        &self,
        tenant: &str,
        role_id: &str,
    ) -> CoreResult<Vec<Permission>> {
        let rows = sqlx::query(
            "SELECT resource_server_identifier, permission_name FROM role_permissions \
             WHERE tenant_id = $1 AND role_id = $2 ORDER BY resource_server_identifier, permission_name",
        )
        .bind(tenant)
        .bind(role_id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter().map(permission_of).collect()
    }

    async fn count_role_permissions(
        &self,
        tenant: &str,
        role_ids: &[String],
    ) -> CoreResult<HashMap<String, u64>> {
        if role_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT ro.id, COUNT(p.permission_name) AS n FROM roles ro \
             LEFT JOIN role_permissions p ON p.tenant_id = ro.tenant_id AND p.role_id = ro.id \
             WHERE ro.tenant_id = $1 AND ro.id IN ({}) GROUP BY ro.id",
            bulk::json_text_list(self.dialect, 2)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(bulk::json_param(role_ids)?)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n").map_err(storage)?;
                Ok((r.try_get("id").map_err(storage)?, n.max(0) as u64))
            })
            .collect()
    }

    async fn add_role_members(&self, tenant: &str, pairs: &[(String, String)]) -> CoreResult<()> {
        self.each_in_tx(
            "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            pairs,
            |q, (user, role)| q.bind(user).bind(role),
            tenant,
        )
        .await
    }

    async fn remove_role_members(
        &self,
        tenant: &str,
        pairs: &[(String, String)],
    ) -> CoreResult<()> {
        self.each_in_tx(
            "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3",
            pairs,
            |q, (user, role)| q.bind(user).bind(role),
            tenant,
        )
        .await
    }

    async fn list_role_members(
        &self,
        tenant: &str,
        role_id: &str,
        after: Option<&str>,
        skip: u64,
        limit: u64,
    ) -> CoreResult<Vec<RoleMember>> {
        let rows = sqlx::query(
            "SELECT u.user_id, u.email, u.name, u.picture FROM user_roles r \
             JOIN users u ON u.tenant_id = r.tenant_id AND u.user_id = r.user_id \
             WHERE r.tenant_id = $1 AND r.role_id = $2 AND r.user_id > $3 \
             ORDER BY r.user_id LIMIT $4 OFFSET $5",
        )
        .bind(tenant)
        .bind(role_id)
        .bind(after.unwrap_or(""))
        .bind(as_i64(limit))
        .bind(as_i64(skip))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                Ok(RoleMember {
                    user_id: r.try_get("user_id").map_err(storage)?,
                    email: r.try_get("email").map_err(storage)?,
                    name: r.try_get("name").map_err(storage)?,
                    picture: r.try_get("picture").map_err(storage)?,
                })
            })
            .collect()
    }

    async fn count_role_members(&self, tenant: &str, role_id: &str) -> CoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_roles r \
             JOIN users u ON u.tenant_id = r.tenant_id AND u.user_id = r.user_id \
             WHERE r.tenant_id = $1 AND r.role_id = $2",
        )
        .bind(tenant)
        .bind(role_id)
        .fetch_one(&self.pool)
        .await
        .map_err(storage)?;
        Ok(n.max(0) as u64)
    }

    async fn list_user_roles(&self, tenant: &str, user_id: &str) -> CoreResult<Vec<Role>> {
        let rows = sqlx::query(
            "SELECT ro.id, ro.name, ro.description FROM user_roles ur \
             JOIN roles ro ON ro.tenant_id = ur.tenant_id AND ro.id = ur.role_id \
             WHERE ur.tenant_id = $1 AND ur.user_id = $2 ORDER BY ro.name, ro.id",
        )
        .bind(tenant)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter().map(role_of).collect()
    }

    async fn held_role_names(
        &self,
        tenant: &str,
        user_ids: &[String],
    ) -> CoreResult<Vec<(String, String)>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT ur.user_id, ro.name FROM user_roles ur \
             JOIN roles ro ON ro.tenant_id = ur.tenant_id AND ro.id = ur.role_id \
             WHERE ur.tenant_id = $1 AND ur.user_id IN ({})",
            bulk::json_text_list(self.dialect, 2)
        );
        let rows: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(bulk::json_param(user_ids)?)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        Ok(rows)
    }

    async fn add_user_permissions(
        &self,
        tenant: &str,
        user_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()> {
        self.permission_rows(
            "INSERT INTO user_permissions (tenant_id, user_id, resource_server_identifier, permission_name) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            tenant,
            user_id,
            permissions,
        )
        .await
    }

    async fn remove_user_permissions(
        &self,
        tenant: &str,
        user_id: &str,
        permissions: &[Permission],
    ) -> CoreResult<()> {
        self.permission_rows(
            "DELETE FROM user_permissions WHERE tenant_id = $1 AND user_id = $2 \
             AND resource_server_identifier = $3 AND permission_name = $4",
            tenant,
            user_id,
            permissions,
        )
        .await
    }

    async fn list_user_permissions(
        &self,
        tenant: &str,
        user_id: &str,
    ) -> CoreResult<Vec<HeldPermission>> {
        let rows = sqlx::query(
            "SELECT resource_server_identifier, permission_name, '' AS role_id, '' AS role_name \
             FROM user_permissions WHERE tenant_id = $1 AND user_id = $2 \
             UNION ALL \
             SELECT p.resource_server_identifier, p.permission_name, ro.id, ro.name \
             FROM user_roles ur \
             JOIN roles ro ON ro.tenant_id = ur.tenant_id AND ro.id = ur.role_id \
             JOIN role_permissions p ON p.tenant_id = ur.tenant_id AND p.role_id = ur.role_id \
             WHERE ur.tenant_id = $1 AND ur.user_id = $2 \
             ORDER BY 1, 2, 3",
        )
        .bind(tenant)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        rows.iter()
            .map(|r| {
                let role_id: String = r.try_get("role_id").map_err(storage)?;
                let source = if role_id.is_empty() {
                    PermissionSource::Direct
                } else {
                    PermissionSource::Role {
                        id: role_id,
                        name: r.try_get("role_name").map_err(storage)?,
                    }
                };
                Ok(HeldPermission {
                    permission: permission_of(r)?,
                    source,
                })
            })
            .collect()
    }

    async fn user_permission_names(
        &self,
        tenant: &str,
        user_id: &str,
        api_identifier: &str,
    ) -> CoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT permission_name FROM user_permissions \
             WHERE tenant_id = $1 AND user_id = $2 AND resource_server_identifier = $3 \
             UNION \
             SELECT p.permission_name FROM user_roles ur \
             JOIN role_permissions p ON p.tenant_id = ur.tenant_id AND p.role_id = ur.role_id \
             WHERE ur.tenant_id = $1 AND ur.user_id = $2 AND p.resource_server_identifier = $3 \
             ORDER BY 1",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(api_identifier)
        .fetch_all(&self.pool)
        .await
        .map_err(storage)
    }
}
