//! Accepting only Tern-issued machine tokens: RS256 signatures checked
//! against Tern's JWKS (fetched and cached), then issuer, audience, expiry,
//! a machine subject (`…@clients`) and the scope the endpoint needs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

/// Keys are re-read after this long even when every `kid` is known (rotation).
const JWKS_TTL: Duration = Duration::from_secs(600);
/// An unknown `kid` triggers a re-read at most this often (no amplification of junk tokens).
const MIN_REFRESH: Duration = Duration::from_secs(10);

/// Why a request's token was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// 401 `invalid_token` (missing, malformed, wrong signature, expired…).
    Invalid(String),
    /// 403 `insufficient_scope`.
    Scope(String),
    /// 503: the keys could not be fetched, so nothing can be verified.
    KeysUnavailable(String),
}

/// What a verified token says.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The client id (the `sub` without `@clients`).
    pub client_id: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
}

struct Cache {
    keys: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

/// Verifies bearer tokens against one issuer and audience.
pub struct Verifier {
    issuer: String,
    audience: String,
    jwks_url: String,
    leeway: u64,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl Verifier {
    /// `issuer` is compared exactly with `iss` (Tern's has a trailing slash).
    pub fn new(issuer: String, audience: String, jwks_url: String, leeway: u64) -> Self {
        Self {
            issuer,
            audience,
            jwks_url,
            leeway,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            cache: Mutex::new(Cache {
                keys: HashMap::new(),
                fetched: None,
            }),
        }
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        let mut cache = self.cache.lock().await;
        let age = cache.fetched.map(|t| t.elapsed());
        let stale = age.is_none_or(|a| a > JWKS_TTL);
        let may_refresh = age.is_none_or(|a| a > MIN_REFRESH);
        if stale || (!cache.keys.contains_key(kid) && may_refresh) {
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                // Keys we already hold stay usable while Tern is unreachable.
                Err(e) if cache.keys.is_empty() => return Err(Refusal::KeysUnavailable(e)),
                Err(e) => tracing::warn!("JWKS refresh failed, keeping cached keys: {e}"),
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| Refusal::Invalid(format!("unknown signing key '{kid}'")))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("cannot fetch {}: {e}", self.jwks_url))?
            .json()
            .await
            .map_err(|e| format!("{} is not a JWK set: {e}", self.jwks_url))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|k| Some((k.common.key_id.clone()?, DecodingKey::from_jwk(k).ok()?)))
            .collect())
    }

    /// Verify `token` and require `scope`.
    pub async fn verify(&self, token: &str, scope: &str) -> Result<Machine, Refusal> {
        let invalid = |m: &str| Refusal::Invalid(m.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed token"))?;
        // Only RS256: never `none`, never an HMAC keyed with the public key.
        if header.alg != Algorithm::RS256 {
            return Err(invalid("only RS256 tokens are accepted"));
        }
        let kid = header.kid.ok_or_else(|| invalid("the token has no kid"))?;
        let key = self.key(&kid).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = self.leeway;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| {
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::InvalidAudience => "the token is for another audience",
                ErrorKind::InvalidIssuer => "the token is from another issuer",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks exp, iss, aud or sub",
                _ => "invalid token",
            })
        })?;
        let Some(client_id) = data.claims.sub.strip_suffix("@clients") else {
            return Err(invalid(
                "the token was issued to a user; this API accepts machine clients only",
            ));
        };
        if !data.claims.scope.split_whitespace().any(|s| s == scope) {
            return Err(Refusal::Scope(format!("the token lacks the scope {scope}")));
        }
        Ok(Machine {
            client_id: client_id.to_string(),
        })
    }
}
