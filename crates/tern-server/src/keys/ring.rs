//! One snapshot of a tenant's keys: the current key's signer, the public
//! half of every key that still verifies (next, current, previous), and the
//! kids of revoked keys (so a refusal can say why).

use std::collections::HashSet;

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use tern_core::model::{SigningKey, SigningKeyState};

use super::KeyError;
use super::material::{self, CertInfo};
use crate::secrets::SecretKey;

/// The keys a tenant signs and verifies with, as loaded at one moment.
pub struct KeyRing {
    /// Key id of the current key.
    kid: String,
    signing: EncodingKey,
    /// Public halves of the keys that verify, current first, then next,
    /// then previous keys newest first: the JWKS order.
    public: Vec<(String, Jwk, DecodingKey)>,
    revoked: HashSet<String>,
}

impl KeyRing {
    /// Build from stored keys (any order), opening their private halves.
    pub fn build(secrets: &SecretKey, tenant: &str, keys: &[SigningKey]) -> Result<Self, KeyError> {
        let rank = |s: SigningKeyState| match s {
            SigningKeyState::Current => 0,
            SigningKeyState::Next => 1,
            SigningKeyState::Previous => 2,
            SigningKeyState::Revoked => 3,
        };
        let mut ordered: Vec<&SigningKey> = keys.iter().collect();
        // Stable: previous keys keep the store's newest-first order.
        ordered.sort_by_key(|k| rank(k.state));
        let mut ring = Self::empty_parts();
        for k in ordered {
            if k.state == SigningKeyState::Revoked {
                ring.revoked.insert(k.kid.clone());
                continue;
            }
            let pem = material::open(secrets, tenant, k)?
                .ok_or_else(|| KeyError(format!("signing key {} has no private key", k.kid)))?;
            ring.add(
                &k.kid,
                &pem,
                Some(&k.cert_pem),
                k.state == SigningKeyState::Current,
            )?;
        }
        ring.finish()
    }

    /// A ring of one freshly generated key that is stored nowhere (tests
    /// use it to forge tokens Tern must refuse).
    pub fn ephemeral() -> Result<Self, KeyError> {
        let key = material::generate("ephemeral")?;
        let mut ring = Self::empty_parts();
        ring.add(&key.kid, &key.private_pem, Some(&key.cert_pem), true)?;
        ring.finish()
    }

    fn empty_parts() -> Parts {
        Parts {
            signing: None,
            public: Vec::new(),
            revoked: HashSet::new(),
        }
    }

    /// Sign claims as an RS256 JWT with the current key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(|e| KeyError(e.to_string()))
    }

    /// The public key with this `kid`, if it still verifies.
    pub fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.public
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, _, d)| d)
    }

    /// Whether `kid` names a revoked key.
    pub fn is_revoked(&self, kid: &str) -> bool {
        self.revoked.contains(kid)
    }

    /// The current key's id.
    pub fn current_kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS document: every key that verifies, revoked ones left out.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.public.iter().map(|(_, j, _)| j.clone()).collect(),
        }
    }
}

/// A ring being assembled.
struct Parts {
    signing: Option<(String, EncodingKey)>,
    public: Vec<(String, Jwk, DecodingKey)>,
    revoked: HashSet<String>,
}

impl Parts {
    fn add(
        &mut self,
        kid: &str,
        private_pem: &str,
        cert_pem: Option<&str>,
        current: bool,
    ) -> Result<(), KeyError> {
        let enc = EncodingKey::from_rsa_pem(private_pem.as_bytes())
            .map_err(|e| KeyError(format!("signing key {kid}: {e}")))?;
        let mut jwk =
            Jwk::from_encoding_key(&enc, Algorithm::RS256).map_err(|e| KeyError(e.to_string()))?;
        jwk.common.key_id = Some(kid.to_string());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        // x5c/x5t as Auth0 publishes them, for verifiers that pin certificates.
        if let Some(info) = cert_pem.and_then(CertInfo::of) {
            jwk.common.x509_chain = Some(vec![info.x5c]);
            jwk.common.x509_sha1_fingerprint = Some(info.x5t);
        }
        let dec = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError(e.to_string()))?;
        self.public.push((kid.to_string(), jwk, dec));
        if current {
            self.signing = Some((kid.to_string(), enc));
        }
        Ok(())
    }

    fn finish(self) -> Result<KeyRing, KeyError> {
        let (kid, signing) = self
            .signing
            .ok_or_else(|| KeyError("the tenant has no current signing key".into()))?;
        Ok(KeyRing {
            kid,
            signing,
            public: self.public,
            revoked: self.revoked,
        })
    }
}
