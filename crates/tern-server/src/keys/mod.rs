//! RS256 signing keys: sealed at rest, rotated and revoked as Auth0 does,
//! published as JWKS, and reloaded from the store so that several instances
//! on one database agree on them.
//!
//! [`Keys`] holds the current [`KeyRing`] (an immutable snapshot) and swaps
//! it for a fresh one: at once after a rotation or revocation made here; when
//! a token names a `kid` this instance does not know (at most once per
//! [`ON_DEMAND_RELOAD_EVERY`]: another instance rotated twice); and every
//! `keys.reload_secs` (30 s by default). A revocation made on another
//! instance therefore takes effect here within `keys.reload_secs`.

pub mod material;
mod ring;
pub mod rotation;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use serde::Serialize;
use tern_core::store::Store;

pub use ring::KeyRing;

use crate::secrets::SecretKey;

/// A key could not be generated, opened or loaded.
#[derive(Debug, thiserror::Error)]
#[error("signing key error: {0}")]
pub struct KeyError(String);

/// Unknown `kid`s reload the keys at most this often: a flood of tokens
/// with made-up kids costs one store read per interval, not one per request.
pub const ON_DEMAND_RELOAD_EVERY: Duration = Duration::from_secs(5);

/// What verifies a token signed with some `kid`.
pub enum Verifier {
    /// This public key.
    Key(DecodingKey),
    /// Nothing: the key was revoked.
    Revoked,
    /// Nothing: no key of this tenant has that id.
    Unknown,
}

/// A tenant's keys, reloadable.
pub struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    store: Arc<dyn Store>,
    tenant: String,
    secrets: Arc<SecretKey>,
    /// When a token with an unknown kid last made us reload.
    last_on_demand: Mutex<Option<Instant>>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl Keys {
    /// Load the tenant's keys from the store.
    pub async fn load(
        store: Arc<dyn Store>,
        tenant: &str,
        secrets: Arc<SecretKey>,
    ) -> Result<Self, KeyError> {
        let ring = Self::read(store.as_ref(), tenant, &secrets).await?;
        Ok(Self {
            ring: RwLock::new(Arc::new(ring)),
            store,
            tenant: tenant.to_string(),
            secrets,
            last_on_demand: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    async fn read(
        store: &dyn Store,
        tenant: &str,
        secrets: &SecretKey,
    ) -> Result<KeyRing, KeyError> {
        let stored = store
            .signing_keys(tenant)
            .await
            .map_err(|e| KeyError(e.to_string()))?;
        KeyRing::build(secrets, tenant, &stored)
    }

    /// The snapshot in effect.
    pub fn ring(&self) -> Arc<KeyRing> {
        // A poisoned lock still holds a complete ring (it is swapped whole).
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sign claims with the current key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        self.ring().sign(claims)
    }

    /// The JWKS document.
    pub fn jwks(&self) -> JwkSet {
        self.ring().jwks()
    }

    /// Read the keys from the store again and swap them in. On failure the
    /// ring in effect stays.
    pub async fn reload(&self) -> Result<(), KeyError> {
        let _one = self.reloading.lock().await;
        let ring = Self::read(self.store.as_ref(), &self.tenant, &self.secrets).await?;
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        Ok(())
    }

    /// The key that verifies `token`: RS256 with a `kid` of one of this
    /// tenant's keys that is not revoked (its claims still to be checked).
    pub async fn rs256_key_for(&self, token: &str) -> Option<DecodingKey> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return None;
        }
        match self.verifier(&header.kid?).await {
            Verifier::Key(k) => Some(k),
            Verifier::Revoked | Verifier::Unknown => None,
        }
    }

    /// The key that verifies tokens signed with `kid`. An unknown kid may be
    /// a key another instance created since we loaded ours: reload (bounded
    /// by [`ON_DEMAND_RELOAD_EVERY`]) and look again.
    pub async fn verifier(&self, kid: &str) -> Verifier {
        let ring = self.ring();
        if let Some(k) = ring.decoding_key(kid) {
            return Verifier::Key(k.clone());
        }
        // Revocation is final: no reload can bring the key back.
        if ring.is_revoked(kid) {
            return Verifier::Revoked;
        }
        if !self.claim_on_demand_reload(Instant::now()) {
            return Verifier::Unknown;
        }
        if let Err(e) = self.reload().await {
            tracing::error!(error = %e, "could not reload the signing keys");
        }
        let ring = self.ring();
        match ring.decoding_key(kid) {
            Some(k) => Verifier::Key(k.clone()),
            None if ring.is_revoked(kid) => Verifier::Revoked,
            None => Verifier::Unknown,
        }
    }

    /// Whether an unknown kid seen at `now` may trigger a reload.
    fn claim_on_demand_reload(&self, now: Instant) -> bool {
        let mut last = self
            .last_on_demand
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match *last {
            Some(t) if now.saturating_duration_since(t) < ON_DEMAND_RELOAD_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// Reload every `every` until the task is aborted (a failed reload is
    /// logged; the keys in effect stay).
    pub fn spawn_periodic_reload(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let keys = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; the keys are fresh
            loop {
                tick.tick().await;
                if let Err(e) = keys.reload().await {
                    tracing::error!(error = %e, "could not reload the signing keys");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn unknown_kids_reload_at_most_once_per_interval() {
        let store: Arc<dyn Store> =
            Arc::new(tern_store::SqlStore::open("sqlite::memory:").await.unwrap());
        let secrets = Arc::new(SecretKey::from_bytes(&[3u8; 32]).unwrap());
        let tenant = tern_core::model::Tenant {
            id: "ten_1".into(),
            name: "t".into(),
            created_at: tern_core::clock::now_iso(),
        };
        store.insert_tenant(&tenant).await.unwrap();
        rotation::prepare(store.as_ref(), &secrets, "ten_1", "tern.test")
            .await
            .unwrap();
        let keys = Keys::load(store, "ten_1", secrets).await.unwrap();
        let t0 = Instant::now();
        assert!(keys.claim_on_demand_reload(t0));
        assert!(!keys.claim_on_demand_reload(t0 + Duration::from_secs(1)));
        assert!(
            !keys.claim_on_demand_reload(t0 + ON_DEMAND_RELOAD_EVERY - Duration::from_millis(1))
        );
        assert!(keys.claim_on_demand_reload(t0 + ON_DEMAND_RELOAD_EVERY));
        assert!(!keys.claim_on_demand_reload(t0 + ON_DEMAND_RELOAD_EVERY + Duration::from_secs(1)));
    }
}
