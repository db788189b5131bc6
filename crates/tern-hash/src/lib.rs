//! Identify, verify and create password hashes.
//!
//! Pure code: no I/O, no async, no users. [`StoredHash`] parses any supported
//! self-describing hash string (bcrypt, PHC argon2/scrypt/pbkdf2, passlib,
//! modular crypt, phpass, Drupal 7, Django, LDAP, ASP.NET Identity) or an
//! Auth0 `custom_password_hash` object, and verifies passwords against it
//! with constant-time digest comparison, within [`CostLimits`] (a hash of
//! any cost parses; one over a bound is refused, never computed).
//! [`HashPolicy`] hashes new passwords, holds the bounds and decides when a
//! stored hash should be upgraded.
//!
//! ```
//! use tern_hash::{CostLimits, HashPolicy, StoredHash};
//!
//! let h = StoredHash::parse("$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K").unwrap();
//! assert_eq!(h.scheme().name(), "bcrypt");
//! assert_eq!(h.verify("hello", &CostLimits::default()), Ok(true));
//! assert!(HashPolicy::default().needs_rehash(&h));
//!
//! let slow = StoredHash::parse("$2b$31$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K").unwrap();
//! let refused = slow.verify("hello", &CostLimits::default()).unwrap_err();
//! assert_eq!(refused.setting, "bcrypt_cost");
//! ```

#![warn(missing_docs)]

use std::fmt;
use std::sync::Arc;

mod argon2_memory;
mod aspnet;
mod bcrypt;
mod custom;
mod des_crypt;
mod digest;
mod django;
mod encoding;
mod error;
mod explicit;
mod identify;
mod kdf;
mod ldap;
mod legacy;
mod limits;
mod modular;
mod phc;
mod phpass;
mod policy;
mod scheme;
mod sun_md5;

pub use digest::Digest;
pub use error::{CustomHashError, HashError};
pub use limits::{CostLimits, OverLimit, Pbkdf2Iterations, SECTION as LIMITS_SECTION};
pub use policy::HashPolicy;
pub use scheme::{CustomAlgorithm, Scheme};

/// Parameters that matter to the rehash decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strength {
    /// A plain Argon2 PHC hash.
    Argon2 {
        id: bool,
        version: u32,
        m: u32,
        t: u32,
        p: u32,
    },
    /// A plain bcrypt hash.
    Bcrypt { cost: u32 },
    /// Anything else (always rehashed).
    Other,
}

/// One parsed hash format.
pub(crate) trait Verifier: fmt::Debug + Send + Sync {
    /// The scheme.
    fn scheme(&self) -> Scheme;
    /// Format and parameters, for humans.
    fn describe(&self) -> String;
    /// Verify password bytes (constant-time digest comparison). Runs
    /// whatever the cost: [`StoredHash::verify`] checks the bounds first.
    fn verify(&self, password: &[u8]) -> bool;
    /// Verify a typed password; formats that transcode it override this.
    fn verify_str(&self, password: &str) -> bool {
        self.verify(password.as_bytes())
    }
    /// The work of one verification, for the cost bounds.
    fn work(&self) -> limits::Work {
        limits::Work::Fixed
    }
    /// How many bytes the password becomes before the costly part hashes
    /// it; formats that transcode, salt or pre-hash it override this.
    fn fed_len(&self, password: &str) -> usize {
        password.len()
    }
    /// Parameters for the rehash decision.
    fn strength(&self) -> Strength {
        Strength::Other
    }
}

/// A stored password hash, parsed and ready to verify.
///
/// Cheap to clone. `Debug` shows only the scheme, never the hash.
#[derive(Clone)]
pub struct StoredHash {
    inner: Arc<dyn Verifier>,
    storage: String,
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredHash")
            .field("scheme", &self.scheme().name())
            .finish_non_exhaustive()
    }
}

impl StoredHash {
    fn from_parts((inner, storage): (Arc<dyn Verifier>, String)) -> Self {
        Self { inner, storage }
    }

    /// Parse a self-describing hash string (bcrypt, PHC, modular crypt,
    /// phpass, Drupal, Django, LDAP, ASP.NET Identity...). Also accepts the
    /// canonical storage form produced by [`StoredHash::to_storage`],
    /// including stored custom objects (compact JSON beginning with `{`).
    /// Leading and trailing whitespace is ignored.
    pub fn parse(s: &str) -> Result<StoredHash, HashError> {
        identify::identify(s, true).map(Self::from_parts)
    }

    /// Parse an Auth0 `custom_password_hash` JSON object. Invalid objects
    /// are rejected with the JSON field path and Auth0's import error code
    /// (see [`CustomHashError`]).
    pub fn from_custom(obj: &serde_json::Value) -> Result<StoredHash, CustomHashError> {
        custom::parse(obj).map(Self::from_parts)
    }

    /// Parse a Tern `tern_password_hash` import object: a format that is not
    /// self-describing, with its parameters (`firebase-scrypt`, `magento2`,
    /// `joomla`, `keycloak`, `devise-bcrypt`, `vbulletin`, `smf`,
    /// `discourse`; see the crate README). Errors carry a code and the JSON
    /// path from `tern_password_hash`, as for [`StoredHash::from_custom`].
    /// The storage form is the object as compact JSON.
    pub fn from_tern_object(obj: &serde_json::Value) -> Result<StoredHash, CustomHashError> {
        explicit::parse(obj).map(Self::from_parts)
    }

    /// Parse an Auth0 import `password_hash` field. Auth0 takes bcrypt
    /// `$2a$`/`$2b$` at cost 10; Tern also takes `$2y$`, any cost, and every
    /// other self-describing format. Same as [`StoredHash::parse`] (minus
    /// the JSON storage form of custom objects), but errors are wrapped in
    /// [`HashError::ImportPasswordHash`] so that the message names the field.
    pub fn from_import_password_hash(s: &str) -> Result<StoredHash, HashError> {
        identify::identify(s, false)
            .map(Self::from_parts)
            .map_err(|e| HashError::ImportPasswordHash(Box::new(e)))
    }

    /// The scheme, e.g. [`Scheme::Bcrypt`]; `scheme().name()` is a stable
    /// lower-case name such as `"bcrypt"` or `"auth0-custom-sha256"`.
    pub fn scheme(&self) -> Scheme {
        self.inner.scheme()
    }

    /// Human description of the format and its parameters (cost, rounds,
    /// memory, iterations, salt length), for `tern hash identify`.
    pub fn describe(&self) -> String {
        self.inner.describe()
    }

    /// Verify a password, if the work it costs is within `limits`: a hash
    /// (or, for schemes that hash the password in every round, a password)
    /// over a bound is refused with [`OverLimit`] before anything is
    /// computed. The final digest comparison is constant-time.
    pub fn verify(&self, password: &str, limits: &CostLimits) -> Result<bool, OverLimit> {
        limits.check(
            self.scheme().name(),
            self.inner.work(),
            Some(self.inner.fed_len(password)),
        )?;
        Ok(self.inner.verify_str(password))
    }

    /// Is this hash's work factor within `limits` (for passwords of up to
    /// 64 bytes)? Import and `tern hash identify` ask this; a login asks
    /// [`StoredHash::verify`], which also weighs the typed password's length.
    pub fn check_cost(&self, limits: &CostLimits) -> Result<(), OverLimit> {
        limits.check(self.scheme().name(), self.inner.work(), None)
    }

    /// The canonical string Tern stores. `StoredHash::parse(&h.to_storage())`
    /// yields an equivalent hash. Self-describing strings are stored as given
    /// (trimmed); custom objects that only carry such a string are stored as
    /// that string; other custom objects as compact JSON beginning with `{`
    /// (the normalised object, defaults filled in).
    pub fn to_storage(&self) -> String {
        self.storage.clone()
    }

    pub(crate) fn strength(&self) -> Strength {
        self.inner.strength()
    }
}

/// The `algorithm` names a `tern_password_hash` object may have
/// (`firebase-scrypt`, `magento2`, …), for configuration that takes either
/// such an object or an Auth0 `custom_password_hash` one.
pub fn tern_algorithms() -> &'static [&'static str] {
    explicit::ALGORITHMS
}

/// Identify a hash string: an alias of [`StoredHash::parse`] for the CLI.
pub fn identify(s: &str) -> Result<StoredHash, HashError> {
    StoredHash::parse(s)
}
