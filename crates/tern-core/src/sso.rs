//! Single sign-on sessions: what the `tern_session` cookie points to. The
//! cookie holds a random secret; the store keeps only its SHA-256, so a copy
//! of the database logs nobody in. `sid` is the session's public name (the ID
//! token's `sid`, `/oidc/logout`'s `logout_hint`).

use serde::{Deserialize, Serialize};

use crate::access_metadata::Metadata;
use crate::device::Device;

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// SHA-256 of the cookie value, hex.
    pub id_hash: String,
    /// Public session id.
    pub sid: String,
    /// The user.
    pub user_id: String,
    /// Their connection.
    pub connection_id: String,
    /// When the user last typed their credentials (epoch seconds).
    pub auth_time: i64,
    /// Creation (epoch seconds).
    pub created_at: i64,
    /// When it last served the browser (epoch seconds; its creation until
    /// then): the Management API's `last_interacted_at` and `updated_at`.
    pub last_interacted_at: i64,
    /// Gone after this, used or not (the tenant's `session_lifetime`).
    pub expires_at: i64,
    /// Gone after this unless used (the tenant's `idle_session_lifetime`).
    pub idle_expires_at: i64,
    /// Applications that received tokens through it.
    pub clients: Vec<String>,
    /// Methods the login passed beyond the password (`["mfa"]`), for the
    /// `amr` of ID tokens issued through the session later (SSO).
    pub amr: Vec<String>,
    /// The requests that started it and last used it (empty for sessions
    /// stored before Tern recorded them).
    pub device: Device,
    /// What an operator wrote on it (`session_metadata`).
    pub metadata: Metadata,
}

impl Session {
    /// Whether it still signs the browser in at epoch second `now`.
    pub fn is_active(&self, now: i64) -> bool {
        now < self.expires_at && now < self.idle_expires_at
    }
}

/// What a session holds besides its keys (stored as a JSON document).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionBody {
    /// The user's connection.
    pub connection_id: String,
    /// Last authentication.
    pub auth_time: i64,
    /// Creation.
    pub created_at: i64,
    /// See [`Session::last_interacted_at`]; absent in sessions stored before
    /// it was recorded (read as their creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_interacted_at: Option<i64>,
    /// Applications served.
    #[serde(default)]
    pub clients: Vec<String>,
    /// See [`Session::amr`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// See [`Session::device`]. Its metadata is not here but in a column of
    /// its own: each use rewrites this body, and would otherwise write back
    /// metadata an operator changed in between.
    #[serde(default, skip_serializing_if = "Device::is_empty")]
    pub device: Device,
}
