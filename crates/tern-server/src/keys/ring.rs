//! One snapshot of a tenant's keys: the current key's signer, the public
//! half of every key that still verifies (next, current, previous), and the
//! kids of revoked keys (so a refusal can say why).

use std::collections::HashSet;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::Serialize;
use serde_json::json;
use tern_core::model::{SigningKey, SigningKeyState};

use super::KeyError;
use super::material::{self, CertInfo};
use crate::secrets::SecretKey;

/// The keys a tenant signs and verifies with, as loaded at one moment.
pub struct KeyRing {
    /// Key id of the current key.
    kid: String,
    /// The current key, parsed once: `jsonwebtoken::encode` parses and
    /// checks the private key on every call, which profiled as a large share
    /// of a login's CPU beside the signature itself.
    signing: RsaKeyPair,
    /// The current key's JOSE header, already base64url-encoded.
    header_b64: String,
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

    /// Sign claims as an RS256 JWT (RFC 7515 compact form) with the current key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let claims = serde_json::to_vec(claims).map_err(|e| KeyError(e.to_string()))?;
        let mut token = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 360);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let mut signature = vec![0; self.signing.public_modulus_len()];
        self.signing
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|e| KeyError(format!("signing with key {}: {e}", self.kid)))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
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
        let (kid, key) = self
            .signing
            .ok_or_else(|| KeyError("the tenant has no current signing key".into()))?;
        // `EncodingKey` holds the key as PKCS#1 DER whichever PEM it came from.
        let signing = RsaKeyPair::from_der(key.as_bytes())
            .map_err(|e| KeyError(format!("signing key {kid}: {e}")))?;
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(KeyRing {
            kid,
            signing,
            header_b64,
            public: self.public,
            revoked: self.revoked,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jsonwebtoken::{Validation, decode, decode_header};

    /// Tokens signed here verify with jsonwebtoken (another implementation
    /// of RFC 7515) under the published key, and name it in their header.
    #[test]
    fn signed_tokens_verify_with_the_published_key() {
        let ring = KeyRing::ephemeral().unwrap();
        let claims = json!({"sub": "auth0|1", "aud": "api", "exp": 4_000_000_000_i64, "n": "é✓"});
        let token = ring.sign(&claims).unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(ring.current_kid()));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["api"]);
        let key = ring.decoding_key(ring.current_kid()).unwrap();
        let got = decode::<serde_json::Value>(&token, key, &v).unwrap();
        assert_eq!(got.claims, claims);
        // A changed payload no longer verifies.
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = URL_SAFE_NO_PAD
            .encode(json!({"sub": "auth0|2", "aud": "api", "exp": 4_000_000_000_i64}).to_string());
        parts[1] = &other;
        assert!(decode::<serde_json::Value>(&parts.join("."), key, &v).is_err());
    }
}
