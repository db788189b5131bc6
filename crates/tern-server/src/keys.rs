//! RS256 signing keys: generated once per tenant, persisted, published as JWKS.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use tern_core::model::SigningKey;

/// The keys a tenant signs and verifies with.
pub struct KeyRing {
    /// Key id of the signing key (the newest).
    kid: String,
    signing: EncodingKey,
    /// Every key's public half, for the JWKS and for verification by `kid`.
    public: Vec<(String, Jwk, DecodingKey)>,
}

/// A key could not be generated or loaded.
#[derive(Debug, thiserror::Error)]
#[error("signing key error: {0}")]
pub struct KeyError(String);

/// Generate a new 2048-bit RSA key, as PKCS#8 PEM, with a random `kid`.
pub fn generate_key() -> Result<SigningKey, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError(e.to_string()))?;
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
        .map_err(|e| KeyError(e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    let kid_bytes: [u8; 16] = rand::random();
    Ok(SigningKey {
        kid: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kid_bytes),
        private_pem: pem,
        created_at: tern_core::clock::now_iso(),
    })
}

impl KeyRing {
    /// Build from stored keys, newest first; the first signs.
    pub fn new(keys: &[SigningKey]) -> Result<Self, KeyError> {
        let mut public = Vec::new();
        let mut signing = None;
        for k in keys {
            let enc = EncodingKey::from_rsa_pem(k.private_pem.as_bytes())
                .map_err(|e| KeyError(e.to_string()))?;
            let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256)
                .map_err(|e| KeyError(e.to_string()))?;
            jwk.common.key_id = Some(k.kid.clone());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
            let dec = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError(e.to_string()))?;
            public.push((k.kid.clone(), jwk, dec));
            if signing.is_none() {
                signing = Some((k.kid.clone(), enc));
            }
        }
        let (kid, signing) = signing.ok_or_else(|| KeyError("no signing key".into()))?;
        Ok(Self {
            kid,
            signing,
            public,
        })
    }

    /// Sign claims as an RS256 JWT with the current key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(|e| KeyError(e.to_string()))
    }

    /// The public key with this `kid`.
    pub fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.public
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, _, d)| d)
    }

    /// The JWKS document.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.public.iter().map(|(_, j, _)| j.clone()).collect(),
        }
    }
}
