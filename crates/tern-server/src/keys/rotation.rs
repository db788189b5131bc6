//! Auth0's key rotation: a *next* key is always published ahead of use;
//! rotating makes it the *current* (signing) key, the current one a
//! *previous* key (tokens it signed stay valid), and creates a new next key.
//! Only a previous key can be revoked: it leaves the JWKS, every token it
//! signed is refused, and its private half is erased.

use tern_core::model::{SigningKey, SigningKeyState, StoredPrivateKey};
use tern_core::store::Store;
use tern_core::{CoreError, CoreResult, clock};

use super::material::{self, NewKey};
use super::{KeyError, Keys};
use crate::secrets::SecretKey;

/// What [`prepare`] did.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Keys stored in clear by earlier versions, now sealed.
    pub sealed: usize,
    /// Keys created (a tenant's first current key, a missing next key).
    pub created: usize,
}

/// The subject of new keys' certificates: the public URL's host (and port).
pub fn common_name(public_url: &str) -> &str {
    public_url
        .split_once("://")
        .map_or(public_url, |(_, host)| host)
        .trim_end_matches('/')
}

async fn generate(common_name: &str) -> Result<NewKey, KeyError> {
    let cn = common_name.to_string();
    // RSA key generation takes tens of milliseconds of CPU.
    tokio::task::spawn_blocking(move || material::generate(&cn))
        .await
        .map_err(|e| KeyError(e.to_string()))?
}

fn store_error(e: CoreError) -> KeyError {
    KeyError(e.to_string())
}

/// At start: seal keys earlier versions stored in clear (erasing the clear
/// text), then make sure the tenant has a current and a next key. Several
/// instances may run this at once: a key another one created first wins.
pub async fn prepare(
    store: &dyn Store,
    secrets: &SecretKey,
    tenant: &str,
    common_name: &str,
) -> Result<Prepared, KeyError> {
    let mut done = Prepared::default();
    let stored = store.signing_keys(tenant).await.map_err(store_error)?;
    let mut sealed = Vec::new();
    for key in &stored {
        let StoredPrivateKey::LegacyClear(pem) = &key.private_key else {
            continue;
        };
        let new = NewKey {
            kid: key.kid.clone(),
            cert_pem: material::self_signed_cert(pem, common_name)?,
            private_pem: pem.clone(),
        };
        let mut with_sealed = material::sealed(secrets, tenant, &new, key.state)?;
        with_sealed.created_at = key.created_at.clone();
        sealed.push(with_sealed);
    }
    if !sealed.is_empty() {
        store
            .seal_legacy_signing_keys(tenant, &sealed)
            .await
            .map_err(store_error)?;
        done.sealed = sealed.len();
    }
    for role in [SigningKeyState::Current, SigningKeyState::Next] {
        if stored.iter().any(|k| k.state == role) {
            continue;
        }
        let key = material::sealed(secrets, tenant, &generate(common_name).await?, role)?;
        match store.insert_signing_key(tenant, &key).await {
            Ok(()) => done.created += 1,
            // Another instance starting on the same database created it.
            Err(CoreError::Conflict { .. }) => {}
            Err(e) => return Err(store_error(e)),
        }
    }
    Ok(done)
}

/// The tenant's keys as stored (revoked ones included), newest first.
pub async fn list(keys: &Keys) -> CoreResult<Vec<SigningKey>> {
    keys.store.signing_keys(&keys.tenant).await
}

/// One key by id.
pub async fn get(keys: &Keys, kid: &str) -> CoreResult<SigningKey> {
    list(keys)
        .await?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(not_found)
}

fn not_found() -> CoreError {
    CoreError::not_found("inexistent_signing_key", "Signing key not found.")
}

fn internal(e: KeyError) -> CoreError {
    CoreError::Storage(e.to_string())
}

/// Rotate; answers the new next key. This instance signs with the former
/// next key from the moment this returns.
pub async fn rotate(keys: &Keys, common_name: &str) -> CoreResult<SigningKey> {
    let stored = list(keys).await?;
    let role = |s| stored.iter().find(|k| k.state == s).map(|k| k.kid.clone());
    let (Some(current), Some(next)) = (role(SigningKeyState::Current), role(SigningKeyState::Next))
    else {
        return Err(CoreError::Storage(
            "the tenant lacks a current or a next signing key".into(),
        ));
    };
    let new = generate(common_name).await.map_err(internal)?;
    let new = material::sealed(&keys.secrets, &keys.tenant, &new, SigningKeyState::Next)
        .map_err(internal)?;
    let rotated = keys
        .store
        .rotate_signing_keys(&keys.tenant, &current, &next, &new, &clock::now_iso())
        .await?;
    if !rotated {
        return Err(CoreError::conflict(
            "conflict",
            "The signing keys were rotated or revoked at the same time by another request; list them and try again.",
        ));
    }
    reload_after_change(keys).await;
    Ok(new)
}

/// Revoke a previous key; answers it as now stored.
pub async fn revoke(keys: &Keys, kid: &str) -> CoreResult<SigningKey> {
    let key = get(keys, kid).await?;
    let refuse = |what: &str| {
        CoreError::bad_request(
            "operation_not_supported",
            format!(
                "Only a previously used signing key can be revoked; {kid} is {what}. Rotate the keys first."
            ),
        )
    };
    match key.state {
        SigningKeyState::Previous => {}
        SigningKeyState::Current => return Err(refuse("the current key")),
        SigningKeyState::Next => return Err(refuse("the next key")),
        SigningKeyState::Revoked => {
            return Err(CoreError::bad_request(
                "operation_not_supported",
                format!(
                    "Signing key {kid} was already revoked at {}.",
                    key.revoked_at.as_deref().unwrap_or("an earlier time")
                ),
            ));
        }
    }
    if !keys
        .store
        .revoke_signing_key(&keys.tenant, kid, &clock::now_iso())
        .await?
    {
        return Err(CoreError::conflict(
            "conflict",
            "The signing key changed at the same time (revoked by another request); list the keys and try again.",
        ));
    }
    reload_after_change(keys).await;
    get(keys, kid).await
}

/// After a change made here, this instance uses the new keys at once. The
/// change is stored; if the reload fails, the periodic one catches up.
async fn reload_after_change(keys: &Keys) {
    if let Err(e) = keys.reload().await {
        tracing::error!(error = %e, "signing keys changed but could not be reloaded");
    }
}
