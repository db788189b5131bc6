//! Connection `configuration` secrets (the values custom-database scripts
//! read as `configuration.KEY`): sealed at rest with AES-256-GCM, masked in
//! every Management API answer, and revealed only to the legacy source that
//! runs the scripts.
//!
//! A stored value is `$tern-sealed$v1$` + base64(nonce ‖ ciphertext ‖ tag);
//! the additional data binds it to its tenant, connection and key name, so a
//! sealed value copied to another connection or key does not open. The key
//! is `secrets_key` (`TERN_SECRETS_KEY`, base64 or hex of 32 bytes) or, when
//! unset, `secrets.key` in the data directory, created at first start with
//! mode 0600. Several instances sharing one database must share the key;
//! losing it loses the sealed values (the scripts then fail with a clear
//! error until the values are set again).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tern_core::legacy::{LegacyCreate, LegacyError, LegacyLogin, LegacyProfile, LegacySource};
use tern_core::model::{Connection, JsonObject};
use tern_core::store::Store;

use crate::config::Config;

/// What API answers show instead of a configuration value, and what a
/// caller sends back to keep a value unchanged.
pub const MASK: &str = "********";
const PREFIX: &str = "$tern-sealed$v1$";
const NONCE_LEN: usize = 12;
/// The key file in the data directory (when `secrets_key` is not set).
pub const KEY_FILE: &str = "secrets.key";

/// The key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[error("secrets key: {0}")]
pub struct SecretsError(String);

/// The AES-256-GCM key configuration values are sealed with.
pub struct SecretKey(RandomizedNonceKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretsError> {
        if bytes.len() != 32 {
            return Err(SecretsError(format!(
                "the key must be 32 bytes, got {}",
                bytes.len()
            )));
        }
        RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map(Self)
            .map_err(|_| SecretsError("AES-256-GCM rejected the key".into()))
    }

    /// The configured key, or the data directory's `secrets.key`, created
    /// (0600) on first start.
    pub fn load(config: &Config) -> Result<Self, SecretsError> {
        match config.secrets_key.as_deref() {
            Some(text) => Self::from_bytes(&decode_key(text).ok_or_else(|| {
                SecretsError(
                    "secrets_key (TERN_SECRETS_KEY) must be 32 bytes in base64 or hex".into(),
                )
            })?),
            None => Self::from_file(&config.data_dir.join(KEY_FILE)),
        }
    }

    fn from_file(path: &Path) -> Result<Self, SecretsError> {
        let io = |e: std::io::Error| SecretsError(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_bytes(&decode_key(&text).ok_or_else(|| {
                SecretsError(format!(
                    "{} does not hold 32 bytes in base64",
                    path.display()
                ))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                aws_lc_rs::rand::fill(&mut bytes)
                    .map_err(|_| SecretsError("no randomness for a new key".into()))?;
                let mut opts = std::fs::OpenOptions::new();
                // create_new: two instances starting on one data dir never
                // overwrite each other's key.
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                use std::io::Write;
                match opts.open(path) {
                    Ok(mut f) => {
                        f.write_all(format!("{}\n", B64.encode(bytes)).as_bytes())
                            .map_err(io)?;
                        Self::from_bytes(&bytes)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_file(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seal `clear`, bound to `aad` (what the value belongs to: a sealed
    /// value opens only with the same `aad`). Also seals signing keys.
    pub(crate) fn seal(&self, aad: &str, clear: &str) -> Result<String, SecretsError> {
        Ok(format!(
            "{PREFIX}{}",
            B64.encode(self.seal_bytes(aad, clear.as_bytes())?)
        ))
    }

    /// Open a value [`Self::seal`] made with the same `aad`; `None` when it
    /// is not sealed, was sealed under another key or `aad`, or was altered.
    pub(crate) fn open(&self, aad: &str, sealed: &str) -> Option<String> {
        let raw = B64.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        String::from_utf8(self.open_bytes(aad, &raw)?).ok()
    }

    /// Whether `stored` has the form [`Self::seal`] gives (not whether it opens).
    pub(crate) fn looks_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// `nonce ‖ ciphertext ‖ tag` of `clear` bound to `aad` (for values
    /// that travel, such as `mfa_token`s, encoded by the caller).
    pub(crate) fn seal_bytes(&self, aad: &str, clear: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let mut buf = clear.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| SecretsError("sealing failed".into()))?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Open what [`Self::seal_bytes`] made with the same `aad`.
    pub(crate) fn open_bytes(&self, aad: &str, raw: &[u8]) -> Option<Vec<u8>> {
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let clear = self
            .0
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut body)
            .ok()?;
        Some(clear.to_vec())
    }
}

fn decode_key(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex_decode(t);
    }
    B64.decode(t).ok()
}

fn hex_decode(t: &str) -> Option<Vec<u8>> {
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The additional data an action secret is sealed under: bound to its
/// tenant, action and name, so a sealed value copied elsewhere does not open.
pub(crate) fn action_secret_aad(tenant: &str, action_id: &str, name: &str) -> String {
    format!("tern-action-secret\0{tenant}\0{action_id}\0{name}")
}

fn aad(tenant: &str, connection_id: &str, name: &str) -> String {
    format!("tern-configuration\0{tenant}\0{connection_id}\0{name}")
}

fn configuration(options: &JsonObject) -> Option<&JsonObject> {
    options.get("configuration").and_then(Value::as_object)
}

/// Seal the `configuration` of options about to be stored for a connection.
/// Values shorter than this are not masked where they appear in script
/// output: masking every `1` of a `PORT: 1` would only garble the text.
pub const MIN_MASKED_LEN: usize = 4;

/// Replace every occurrence of each of `secrets` in `text` by [`MASK`].
/// Pass the longest secrets first, so that a value containing another is
/// masked whole.
fn mask_in(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), MASK);
        }
    }
}

/// The forms a value takes in text that may be logged: as it is, and
/// JSON-escaped once and twice without the quotes (`\n`, `\"`, `\\`) —
/// what `JSON.stringify`, the script console's formatting of objects and
/// arrays (`inspect` in tern-script's `core.js`, which prints nested
/// strings with `JSON.stringify`), a JSON request echoed by a legacy API, or
/// a JSON string inside JSON make of it.
fn written_forms(value: &str) -> Vec<String> {
    let once = json_escaped(value);
    let twice = json_escaped(&once);
    let mut forms = vec![value.to_string(), once, twice];
    forms.dedup();
    forms
}

/// `value` as inside a JSON string: serde_json escapes exactly what
/// JavaScript's `JSON.stringify` does (`"`, `\\`, control characters as
/// `\n` or lower-case `\u00XX`).
fn json_escaped(value: &str) -> String {
    let quoted = Value::String(value.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Values that must not reach a log or an error message: a password a user
/// typed and secrets such as a connection's configuration values, in each
/// of their [`written_forms`]. A password too short to mask without
/// garbling the text withholds every line (or message) it appears in
/// instead: a typed password never reaches the log, however short.
///
/// Redact whole texts before cutting them: a cut inside a secret leaves a
/// piece no mask matches.
pub struct Redactions {
    /// Longest first, so a value containing another is masked whole.
    masked: Vec<String>,
    short_password: Vec<String>,
}

/// What replaces a line or message that held a short typed password.
pub const WITHHELD: &str = "[line withheld: it contained the password the user typed]";

impl Redactions {
    /// The redactions of `password` (if any) and `secrets`.
    pub fn new<'a>(password: Option<&'a str>, secrets: impl Iterator<Item = &'a str>) -> Self {
        let mut masked: Vec<String> = password
            .into_iter()
            .chain(secrets)
            .filter(|v| v.len() >= MIN_MASKED_LEN)
            .flat_map(written_forms)
            .collect();
        masked.sort_by_key(|v| std::cmp::Reverse(v.len()));
        masked.dedup();
        let short_password = password
            .filter(|p| !p.is_empty() && p.len() < MIN_MASKED_LEN)
            .map(written_forms)
            .unwrap_or_default();
        Self {
            masked,
            short_password,
        }
    }

    /// Redact each line.
    pub fn apply(&self, lines: &mut [String]) {
        for line in lines {
            self.apply_text(line);
        }
    }

    /// Redact one text.
    pub fn apply_text(&self, text: &mut String) {
        if self
            .short_password
            .iter()
            .any(|p| text.contains(p.as_str()))
        {
            *text = WITHHELD.to_string();
        } else {
            mask_in(text, &self.masked);
        }
    }

    /// Redact every string in `value` (an answer that may carry script
    /// output or results).
    pub fn apply_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.apply_text(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.apply_json(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.apply_json(x)),
            _ => {}
        }
    }
}

/// A value equal to [`MASK`] keeps the value stored under that key in
/// `previous` (the options being replaced); a mask for a key that had no
/// value is refused with a message naming the key.
pub fn seal_options(
    key: &SecretKey,
    tenant: &str,
    connection_id: &str,
    options: &mut JsonObject,
    previous: Option<&JsonObject>,
) -> Result<(), String> {
    let Some(Value::Object(cfg)) = options.get_mut("configuration") else {
        return Ok(());
    };
    let old = previous.and_then(configuration);
    for (name, value) in cfg.iter_mut() {
        let Some(clear) = value.as_str() else {
            continue;
        };
        let sealed = if clear == MASK {
            match old.and_then(|o| o.get(name)).and_then(Value::as_str) {
                Some(stored) if stored.starts_with(PREFIX) => stored.to_string(),
                // A value stored before sealing existed: seal it now.
                Some(stored) => key
                    .seal(&aad(tenant, connection_id, name), stored)
                    .map_err(|e| e.to_string())?,
                None => {
                    return Err(format!(
                        "'options.configuration.{name}' is the mask \"{MASK}\" but the connection has no value to keep for it: send the value itself."
                    ));
                }
            }
        } else {
            key.seal(&aad(tenant, connection_id, name), clear)
                .map_err(|e| e.to_string())?
        };
        *value = json!(sealed);
    }
    Ok(())
}

/// Replace every configuration value by [`MASK`]: the keys stay visible (a
/// dashboard lists them), the values never leave the server.
pub fn mask(connection: &mut Connection) {
    if let Some(Value::Object(cfg)) = connection.options.get_mut("configuration") {
        for v in cfg.values_mut() {
            *v = json!(MASK);
        }
    }
    if let Some(settings) = connection.options.get_mut("tern_connector") {
        crate::connectors::sql::mask_settings(settings, MASK);
        crate::connectors::http::mask_settings(settings, MASK);
    }
}

/// The clear configuration of a stored connection, for its scripts.
pub fn reveal(
    key: &SecretKey,
    tenant: &str,
    connection: &Connection,
) -> Result<BTreeMap<String, String>, LegacyError> {
    let Some(cfg) = configuration(&connection.options) else {
        return Ok(BTreeMap::new());
    };
    cfg.iter()
        .filter_map(|(name, v)| Some((name, v.as_str()?)))
        .map(|(name, v)| {
            let clear = if v.starts_with(PREFIX) {
                key.open(&aad(tenant, &connection.id, name), v).ok_or_else(|| {
                    LegacyError(format!(
                        "configuration.{name} cannot be decrypted with this server's secrets key (was the key changed or the data directory replaced?); set the value again"
                    ))
                })?
            } else {
                // Stored before sealing existed (sealed at the next start).
                v.to_string()
            };
            Ok((name.clone(), clear))
        })
        .collect()
}

/// A copy of `connection` whose configuration holds the clear values.
pub fn revealed(
    key: &SecretKey,
    tenant: &str,
    connection: &Connection,
) -> Result<Connection, LegacyError> {
    let clear = reveal(key, tenant, connection)?;
    let mut c = connection.clone();
    if !clear.is_empty() {
        c.options.insert("configuration".into(), json!(clear));
    }
    Ok(c)
}

/// Seal configuration values stored in clear (written before sealing
/// existed, or by a path that bypassed it). Run at start.
pub async fn seal_stored(
    store: &dyn Store,
    tenant: &str,
    key: &SecretKey,
) -> tern_core::CoreResult<u64> {
    let mut sealed = 0;
    for mut c in store.list_connections(tenant).await? {
        let needs = configuration(&c.options).is_some_and(|cfg| {
            cfg.values()
                .any(|v| v.as_str().is_some_and(|s| !s.starts_with(PREFIX)))
        });
        if !needs {
            continue;
        }
        let previous = c.options.clone();
        if let Some(Value::Object(cfg)) = c.options.get_mut("configuration") {
            for v in cfg.values_mut() {
                if v.as_str().is_some_and(|s| !s.starts_with(PREFIX)) {
                    *v = json!(MASK);
                }
            }
        }
        let id = c.id.clone();
        if let Err(e) = seal_options(key, tenant, &id, &mut c.options, Some(&previous)) {
            tracing::error!(connection = %c.name, "cannot seal configuration: {e}");
            continue;
        }
        store.update_connection(tenant, &c).await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// A [`LegacySource`] that hands the connection to `inner` with its
/// configuration in clear: any source (scripts, connectors) sees the values
/// it was configured with, and only this wrapper holds the key.
pub struct Revealing {
    key: Arc<SecretKey>,
    inner: Arc<dyn LegacySource>,
}

impl Revealing {
    /// Wrap `inner`.
    pub fn new(key: Arc<SecretKey>, inner: Arc<dyn LegacySource>) -> Self {
        Self { key, inner }
    }
}

#[async_trait::async_trait]
impl LegacySource for Revealing {
    async fn count(
        &self,
        tenant: &str,
        connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.count(tenant, &c).await
    }

    async fn login(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.login(tenant, &c, username, password).await
    }

    async fn login_from(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<LegacyLogin, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner
            .login_from(tenant, &c, username, password, ip)
            .await
    }

    async fn get_user(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.get_user(tenant, &c, email).await
    }

    async fn create(
        &self,
        tenant: &str,
        connection: &Connection,
        user: &Value,
    ) -> Result<LegacyCreate, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.create(tenant, &c, user).await
    }

    async fn verify(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<(), LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.verify(tenant, &c, email).await
    }

    async fn change_password(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
        new_password: &str,
    ) -> Result<bool, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner
            .change_password(tenant, &c, email, new_password)
            .await
    }

    async fn delete(
        &self,
        tenant: &str,
        connection: &Connection,
        id: &str,
    ) -> Result<(), LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.delete(tenant, &c, id).await
    }

    async fn change_email(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
        new_email: &str,
        verified: bool,
    ) -> Result<bool, LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner
            .change_email(tenant, &c, email, new_email, verified)
            .await
    }

    async fn mark_migrated(
        &self,
        tenant: &str,
        connection: &Connection,
        profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        let c = revealed(&self.key, tenant, connection)?;
        self.inner.mark_migrated(tenant, &c, profile).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn connection(options: Value) -> Connection {
        Connection {
            id: "con_1".into(),
            name: "legacy".into(),
            display_name: None,
            strategy: "auth0".into(),
            options: options.as_object().unwrap().clone(),
            enabled_clients: vec![],
            realms: vec![],
            is_domain_connection: false,
        }
    }

    #[test]
    fn sealed_values_open_only_for_their_connection_and_key() {
        let key = SecretKey::from_bytes(&[7u8; 32]).unwrap();
        let mut opts = json!({"configuration": {"DB_PASSWORD": "hunter2"}})
            .as_object()
            .unwrap()
            .clone();
        seal_options(&key, "t1", "con_1", &mut opts, None).unwrap();
        let stored = opts["configuration"]["DB_PASSWORD"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(stored.starts_with(PREFIX) && !stored.contains("hunter2"));
        let c = connection(Value::Object(opts.clone()));
        assert_eq!(reveal(&key, "t1", &c).unwrap()["DB_PASSWORD"], "hunter2");
        // Another tenant, connection or key name: the tag does not verify.
        assert!(reveal(&key, "t2", &c).is_err());
        let mut other = c.clone();
        other.id = "con_2".into();
        assert!(reveal(&key, "t1", &other).is_err());
        let wrong_key = SecretKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(
            reveal(&wrong_key, "t1", &c)
                .unwrap_err()
                .0
                .contains("cannot be decrypted")
        );

        // The mask keeps the stored value; a mask without one is refused.
        let mut next = json!({"configuration": {"DB_PASSWORD": MASK, "NEW": "x"}})
            .as_object()
            .unwrap()
            .clone();
        seal_options(&key, "t1", "con_1", &mut next, Some(&opts)).unwrap();
        assert_eq!(
            next["configuration"]["DB_PASSWORD"].as_str().unwrap(),
            stored
        );
        let mut bad = json!({"configuration": {"OTHER": MASK}})
            .as_object()
            .unwrap()
            .clone();
        assert!(
            seal_options(&key, "t1", "con_1", &mut bad, Some(&opts))
                .unwrap_err()
                .contains("OTHER")
        );

        let mut shown = c.clone();
        mask(&mut shown);
        assert_eq!(shown.options["configuration"], json!({"DB_PASSWORD": MASK}));
    }

    #[test]
    fn keys_decode_from_base64_or_hex() {
        assert_eq!(decode_key(&"ab".repeat(32)).unwrap(), vec![0xab; 32]);
        assert_eq!(decode_key(&B64.encode([1u8; 32])).unwrap(), vec![1; 32]);
        assert!(SecretKey::from_bytes(&[0u8; 16]).is_err());
    }
}
