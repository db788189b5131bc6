//! A tenant's signing keys: sealed private halves, certificates, and the
//! next → current → previous → revoked rotation.

use sqlx::Row;
use sqlx::any::AnyRow;
use tern_core::model::{SigningKey, SigningKeyState, StoredPrivateKey};
use tern_core::store::SigningKeyStore;
use tern_core::{CoreError, CoreResult};

use super::{SqlStore, is_unique_violation, storage};
use crate::search_sql::Dialect;

const COLUMNS: &str = "kid, private_pem, sealed_key, cert_pem, state, created_at, current_since, current_until, revoked_at";

fn decode(r: &AnyRow) -> CoreResult<SigningKey> {
    let get = |c: &str| r.try_get::<String, _>(c).map_err(storage);
    let get_o = |c: &str| r.try_get::<Option<String>, _>(c).map_err(storage);
    let (clear, sealed) = (get("private_pem")?, get("sealed_key")?);
    let private_key = if !sealed.is_empty() {
        StoredPrivateKey::Sealed(sealed)
    } else if !clear.is_empty() {
        StoredPrivateKey::LegacyClear(clear)
    } else {
        StoredPrivateKey::Erased
    };
    let state = get("state")?;
    Ok(SigningKey {
        kid: get("kid")?,
        private_key,
        cert_pem: get("cert_pem")?,
        state: SigningKeyState::parse(&state)
            .ok_or_else(|| CoreError::Storage(format!("unknown signing key state '{state}'")))?,
        created_at: get("created_at")?,
        current_since: get_o("current_since")?,
        current_until: get_o("current_until")?,
        revoked_at: get_o("revoked_at")?,
    })
}

/// (clear, sealed) column values of a key's private half.
fn private_columns(key: &StoredPrivateKey) -> (&str, &str) {
    match key {
        StoredPrivateKey::Sealed(s) => ("", s),
        StoredPrivateKey::LegacyClear(c) => (c, ""),
        StoredPrivateKey::Erased => ("", ""),
    }
}

fn insert_query(
    tenant: &str,
    key: &SigningKey,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let (clear, sealed) = private_columns(&key.private_key);
    sqlx::query(
        "INSERT INTO signing_keys (tenant_id, kid, private_pem, sealed_key, cert_pem, state, created_at, current_since, current_until, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant.to_string())
    .bind(key.kid.clone())
    .bind(clear.to_string())
    .bind(sealed.to_string())
    .bind(key.cert_pem.clone())
    .bind(key.state.as_str())
    .bind(key.created_at.clone())
    .bind(key.current_since.clone())
    .bind(key.current_until.clone())
    .bind(key.revoked_at.clone())
}

fn conflict_or_storage(e: sqlx::Error) -> CoreError {
    if is_unique_violation(&e) {
        CoreError::conflict(
            "conflict",
            "The tenant's signing keys changed at the same time (another instance rotated them); try again.",
        )
    } else {
        storage(e)
    }
}

#[async_trait::async_trait]
impl SigningKeyStore for SqlStore {
    async fn signing_keys(&self, tenant: &str) -> CoreResult<Vec<SigningKey>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC, kid"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter().map(decode).collect()
    }

    async fn insert_signing_key(&self, tenant: &str, key: &SigningKey) -> CoreResult<()> {
        insert_query(tenant, key)
            .execute(&self.pool)
            .await
            .map_err(conflict_or_storage)?;
        Ok(())
    }

    async fn seal_legacy_signing_keys(
        &self,
        tenant: &str,
        sealed: &[SigningKey],
    ) -> CoreResult<()> {
        if sealed.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(storage)?;
        for key in sealed {
            let StoredPrivateKey::Sealed(value) = &key.private_key else {
                return Err(CoreError::Storage(format!(
                    "signing key {} must be sealed before it replaces its clear text",
                    key.kid
                )));
            };
            sqlx::query(
                "UPDATE signing_keys SET sealed_key = $3, cert_pem = $4, private_pem = '' \
                 WHERE tenant_id = $1 AND kid = $2",
            )
            .bind(tenant)
            .bind(&key.kid)
            .bind(value)
            .bind(&key.cert_pem)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)?;
        if self.dialect == Dialect::Sqlite {
            // An UPDATE leaves the old row's bytes in the page's free space
            // and in older WAL frames. VACUUM writes the database anew (only
            // live rows), and a TRUNCATE checkpoint moves it into the main
            // file and empties the WAL: no copy of the clear key is left in
            // either file. It runs once, when keys from before sealing exist.
            sqlx::query("VACUUM")
                .execute(&self.pool)
                .await
                .map_err(storage)?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .map_err(storage)?;
        }
        // PostgreSQL keeps the old row version on disk until (auto)vacuum
        // reuses its space; no SQL can read it any more.
        Ok(())
    }

    async fn rotate_signing_keys(
        &self,
        tenant: &str,
        current: &str,
        next: &str,
        new_next: &SigningKey,
        at: &str,
    ) -> CoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // Each step names the role it expects, so a concurrent rotation
        // (which changed the roles first) makes this one change nothing.
        let retired = sqlx::query(
            "UPDATE signing_keys SET state = 'previous', current_until = $3 \
             WHERE tenant_id = $1 AND kid = $2 AND state = 'current'",
        )
        .bind(tenant)
        .bind(current)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        if retired.rows_affected() != 1 {
            tx.rollback().await.map_err(storage)?;
            return Ok(false);
        }
        let promoted = sqlx::query(
            "UPDATE signing_keys SET state = 'current', current_since = $3 \
             WHERE tenant_id = $1 AND kid = $2 AND state = 'next'",
        )
        .bind(tenant)
        .bind(next)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or_storage)?;
        if promoted.rows_affected() != 1 {
            tx.rollback().await.map_err(storage)?;
            return Ok(false);
        }
        insert_query(tenant, new_next)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or_storage)?;
        tx.commit().await.map_err(conflict_or_storage)?;
        Ok(true)
    }

    async fn revoke_signing_key(&self, tenant: &str, kid: &str, at: &str) -> CoreResult<bool> {
        let r = sqlx::query(
            "UPDATE signing_keys SET state = 'revoked', revoked_at = $3, sealed_key = '', private_pem = '' \
             WHERE tenant_id = $1 AND kid = $2 AND state = 'previous'",
        )
        .bind(tenant)
        .bind(kid)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(r.rows_affected() > 0)
    }
}
