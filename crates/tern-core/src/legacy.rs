//! The legacy user store seen from Tern: what a custom-database `login` or
//! `get_user` (script or connector) answers, and how its profile becomes a
//! Tern user. Profiles are normalised the way Auth0 treats them: `user_id`
//! may be a number or come as `id`; `metadata` means `app_metadata`.

use serde_json::Value;

use crate::clock::now_iso;
use crate::model::{Connection, JsonObject, User, UserSource};
use crate::user_profile::MAX_METADATA_BYTES;

/// What the legacy store said about a login.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyLogin {
    /// The credentials are right; here is the user.
    Profile(Box<LegacyProfile>),
    /// Wrong credentials (or unknown user); `user` is the id or email the
    /// script named, if any (Auth0 logs `fp` then, `fu` otherwise).
    WrongCredentials {
        /// The user the script said it found.
        user: Option<String>,
    },
}

/// The legacy store could not answer; nothing is stored and the reason is logged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct LegacyError(pub String);

/// Marks the errors of [`LegacyError::unusable_profile`]. A prefix rather than
/// a field keeps `LegacyError(String)`, which every `LegacySource` builds.
const UNUSABLE_PROFILE: &str = "unusable profile: ";

impl LegacyError {
    /// The legacy store answered, but with a profile Tern refuses (no stable
    /// id, no email or username): a warning for the operator, not an outage.
    pub fn unusable_profile(why: impl std::fmt::Display) -> Self {
        Self(format!("{UNUSABLE_PROFILE}{why}"))
    }
    /// Whether this is an [`unusable_profile`](Self::unusable_profile) error.
    pub fn is_unusable_profile(&self) -> bool {
        self.0.starts_with(UNUSABLE_PROFILE)
    }
}

/// A user as the legacy store describes it, normalised. Serialisable: a
/// password-change ticket for a user not in Tern yet carries it (seeds
/// sealed) until the link creates the user.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LegacyProfile {
    /// Stable id (the part after `auth0|`).
    pub user_id: String,
    /// Email, lower-cased.
    pub email: Option<String>,
    /// Email verified.
    pub email_verified: bool,
    /// Username.
    pub username: Option<String>,
    /// Names and picture.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// App metadata (`app_metadata` or the legacy `metadata`).
    pub app_metadata: JsonObject,
    /// User metadata.
    pub user_metadata: JsonObject,
    /// MFA enrollments in Auth0's `mfa_factors` shape (checked).
    pub mfa_factors: Vec<Value>,
    /// When the user was created in the legacy store (ISO 8601), when a
    /// source knows it for sure (the `auth0` connector reads it from the old
    /// tenant); `None`: the migration's time. Scripts' profiles leave it out,
    /// as Auth0 ignores a script's `created_at`.
    pub created_at: Option<String>,
}

/// What the legacy store said about creating a user (`create` script).
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyCreate {
    /// The legacy store created the user.
    Created,
    /// The legacy store already has the user (`ValidationError('user_exists')`);
    /// the message is the script's.
    UserExists(String),
}

/// The error of an operation a connection's legacy store does not implement
/// (no script for it, or a connector without the operation).
pub fn not_supported(operation: &str, connection: &Connection) -> LegacyError {
    LegacyError(format!(
        "{operation} is not supported by this connection ('{}'): its legacy store has no {operation} operation",
        connection.name
    ))
}

/// Asks a connection's legacy store.
///
/// `login` and `get_user` serve lazy migration (import mode on); the other
/// operations serve connections whose legacy store stays the source of truth
/// (import mode off), one per Auth0 custom-database script. They default to
/// [`not_supported`], so a source implements only what its store can do.
#[async_trait::async_trait]
pub trait LegacySource: Send + Sync {
    /// Run the legacy login for these credentials.
    async fn login(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
    ) -> Result<LegacyLogin, LegacyError>;
    /// [`login`](Self::login) for an end user at address `ip`: a source
    /// whose store runs its own attack protection (counting failures by
    /// address) tells it the user's address instead of Tern's. A source
    /// wrapping another passes it on (the default drops it).
    async fn login_from(
        &self,
        tenant: &str,
        connection: &Connection,
        username: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<LegacyLogin, LegacyError> {
        let _ = ip;
        self.login(tenant, connection, username, password).await
    }
    /// Look a user up by email (or username); `None` = not found.
    async fn get_user(
        &self,
        tenant: &str,
        connection: &Connection,
        email: &str,
    ) -> Result<Option<LegacyProfile>, LegacyError>;

    /// Create a user in the legacy store (`create(user, callback)`). `user`
    /// is Auth0's object: `{tenant, client_id, connection, email, password,
    /// username?, user_metadata?, app_metadata?, …}` with the plaintext password.
    async fn create(
        &self,
        _tenant: &str,
        connection: &Connection,
        _user: &Value,
    ) -> Result<LegacyCreate, LegacyError> {
        Err(not_supported("create", connection))
    }

    /// Mark the email verified in the legacy store (`verify(email, callback)`).
    async fn verify(
        &self,
        _tenant: &str,
        connection: &Connection,
        _email: &str,
    ) -> Result<(), LegacyError> {
        Err(not_supported("verify", connection))
    }

    /// Set a new password in the legacy store
    /// (`changePassword(email, newPassword, callback)`); `false` = the store
    /// answered that nothing was updated.
    async fn change_password(
        &self,
        _tenant: &str,
        connection: &Connection,
        _email: &str,
        _new_password: &str,
    ) -> Result<bool, LegacyError> {
        Err(not_supported("change_password", connection))
    }

    /// Delete a user from the legacy store (`deleteUser(id, callback)`);
    /// `id` is the identity's id, without `auth0|`.
    async fn delete(
        &self,
        _tenant: &str,
        connection: &Connection,
        _id: &str,
    ) -> Result<(), LegacyError> {
        Err(not_supported("delete", connection))
    }

    /// Change a user's email in the legacy store
    /// (`changeEmail(email, newEmail, verified, callback)`); `false` = not changed.
    async fn change_email(
        &self,
        _tenant: &str,
        connection: &Connection,
        _email: &str,
        _new_email: &str,
        _verified: bool,
    ) -> Result<bool, LegacyError> {
        Err(not_supported("change_email", connection))
    }

    /// Tell the legacy store that this user now lives in Tern (a connector's
    /// optional "mark migrated" step), after the user was stored. The
    /// default does nothing: scripts have no such step.
    async fn mark_migrated(
        &self,
        _tenant: &str,
        _connection: &Connection,
        _profile: &LegacyProfile,
    ) -> Result<(), LegacyError> {
        Ok(())
    }

    /// How many users the legacy store holds, when it can say (a
    /// connector's `count_query` or `count_path`): the migration overview's
    /// "N of M legacy users migrated". `None`: it cannot count.
    async fn count(
        &self,
        _tenant: &str,
        _connection: &Connection,
    ) -> Result<Option<u64>, LegacyError> {
        Ok(None)
    }
}

/// Normalise a profile returned by a script. Refuses a profile without a
/// stable id or without an email — the best practices Auth0 only recommends.
pub fn normalize_profile(v: &Value) -> Result<LegacyProfile, LegacyError> {
    let obj = v.as_object().ok_or_else(|| {
        LegacyError::unusable_profile("the script returned a profile that is not an object")
    })?;
    let id = obj
        .get("user_id")
        .or_else(|| obj.get("id"))
        .and_then(|id| match id {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let id = id.ok_or_else(|| {
        LegacyError::unusable_profile(
            "the profile has no user_id (or id): a stable id is required, or users would be duplicated",
        )
    })?;
    // A script may return ids already prefixed; Auth0 would double the prefix, Tern does not.
    let id = id.strip_prefix("auth0|").unwrap_or(&id).to_string();
    let s = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    let email = s("email").map(|e| crate::user_profile::normalize_email(&e));
    if email.is_none() && s("username").is_none() {
        return Err(LegacyError::unusable_profile(
            "the profile has neither email nor username",
        ));
    }
    let object = |k: &str| obj.get(k).and_then(Value::as_object).cloned();
    // The profile may carry MFA enrollments in the import file's shape; a
    // malformed list refuses the profile (Auth0: "Unable to import MFA
    // factors.") rather than migrating the user without them.
    let mut mfa_errors = Vec::new();
    crate::import::check_mfa(obj.get("mfa_factors"), &mut mfa_errors);
    if let Some(e) = mfa_errors.first() {
        return Err(LegacyError::unusable_profile(format!(
            "Unable to import MFA factors: {} ({})",
            e.message, e.path
        )));
    }
    let mfa_factors = obj
        .get("mfa_factors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let profile = LegacyProfile {
        user_id: id,
        email,
        email_verified: obj
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        username: s("username").map(|u| crate::user_profile::normalize_username(&u)),
        name: s("name"),
        given_name: s("given_name"),
        family_name: s("family_name"),
        nickname: s("nickname"),
        picture: s("picture"),
        app_metadata: object("app_metadata")
            .or_else(|| object("metadata"))
            .unwrap_or_default(),
        user_metadata: object("user_metadata").unwrap_or_default(),
        mfa_factors,
        created_at: None,
    };
    check_kept(&profile)?;
    Ok(profile)
}

/// The most a legacy profile may hold in what Tern keeps, as JSON text: a
/// legacy system must not fill the store (each metadata object is also
/// held to the Management API's [`MAX_METADATA_BYTES`]).
pub const MAX_KEPT_PROFILE_BYTES: usize = 64 * 1024;

/// Refuse a profile Tern cannot or should not store, on every backend
/// alike, rather than failing (or bloating) the user's write: metadata over
/// the Management API's bound, a profile over [`MAX_KEPT_PROFILE_BYTES`],
/// U+0000 anywhere kept (stored as text, metadata indexed). Fields Tern
/// ignores may hold anything.
fn check_kept(profile: &LegacyProfile) -> Result<(), LegacyError> {
    for (which, m) in [
        ("app_metadata", &profile.app_metadata),
        ("user_metadata", &profile.user_metadata),
    ] {
        let size = serde_json::to_string(m).map_or(0, |t| t.len());
        if size > MAX_METADATA_BYTES {
            return Err(LegacyError::unusable_profile(format!(
                "the profile's {which} is {size} bytes; Tern keeps at most {MAX_METADATA_BYTES} (as the Management API)"
            )));
        }
    }
    let Ok(kept) = serde_json::to_value(profile) else {
        return Ok(());
    };
    let size = kept.to_string().len();
    if size > MAX_KEPT_PROFILE_BYTES {
        return Err(LegacyError::unusable_profile(format!(
            "the profile is {size} bytes; Tern keeps at most {MAX_KEPT_PROFILE_BYTES}"
        )));
    }
    let mut nul = None;
    crate::user_profile::find_nul(&kept, "", &mut |at| {
        nul.get_or_insert(at);
    });
    match nul {
        Some(at) => Err(LegacyError::unusable_profile(format!(
            "the profile holds the NUL character (\\u0000) at {at}, which Tern cannot store"
        ))),
        None => Ok(()),
    }
}

/// The Tern user a migrated legacy user becomes: profile, metadata and the
/// credential in one value, written by one statement.
pub fn migrated_user(
    p: LegacyProfile,
    connection: &Connection,
    credential: Option<String>,
    source: UserSource,
) -> User {
    let now = now_iso();
    let nickname = p.nickname.or_else(|| {
        p.email
            .as_deref()
            .and_then(|e| e.split('@').next())
            .map(str::to_string)
    });
    User {
        user_id: format!("auth0|{}", p.user_id),
        connection_id: connection.id.clone(),
        connection_name: connection.name.clone(),
        name: p.name.or_else(|| p.email.clone()),
        email: p.email,
        email_verified: p.email_verified,
        username: p.username,
        phone_number: None,
        phone_verified: false,
        given_name: p.given_name,
        family_name: p.family_name,
        nickname,
        picture: p.picture,
        blocked: false,
        app_metadata: p.app_metadata,
        user_metadata: p.user_metadata,
        created_at: p.created_at.unwrap_or_else(|| now.clone()),
        updated_at: now,
        last_login: None,
        last_ip: None,
        logins_count: 0,
        credential,
        source,
        mfa_factors: p.mfa_factors,
    }
}

/// Why a `get_user` profile for `asked_email` must not become a user: it
/// names another email (two legacy users with one email, or a script bug),
/// or its id is already the local user `holder_of_id` under another email
/// (`login` gave that id for a different email). `None`: the profile is
/// consistent with what Tern knows.
pub fn get_user_conflict(
    asked_email: &str,
    profile: &LegacyProfile,
    holder_of_id: Option<&User>,
) -> Option<String> {
    let asked = asked_email.to_lowercase();
    match profile.email.as_deref() {
        None => {
            return Some(format!(
                "get_user for '{asked}' returned user_id '{}' without an email; not migrated",
                profile.user_id
            ));
        }
        Some(e) if e != asked => {
            return Some(format!(
                "get_user for '{asked}' returned user_id '{}' with another email, '{e}': two legacy users share an email or the script ignores its argument; not migrated",
                profile.user_id
            ));
        }
        Some(_) => {}
    }
    let holder = holder_of_id?;
    (holder.email.as_deref() != Some(asked.as_str())).then(|| {
        format!(
            "get_user for '{asked}' returned user_id '{}', but {} is stored with email '{}' (from an earlier login or reset): the legacy store gives one id to two emails; not migrated",
            profile.user_id,
            holder.user_id,
            holder.email.as_deref().unwrap_or("")
        )
    })
}

/// Why a legacy answer (or import row) of `connection` naming local id
/// `legacy_id` must not become — or be merged into — `holder`, the stored
/// user with that id: `holder` belongs to another connection. A user id is
/// unique in the tenant (`auth0|42` is one user), but two legacy systems
/// often number their users alike, so connection B's user 42 is not
/// connection A's `auth0|42`; taking it would hand A's account to whoever
/// holds B's password. `None`: same connection (or no holder).
pub fn connection_conflict(
    connection: &Connection,
    what: &str,
    legacy_id: &str,
    holder: &User,
) -> Option<String> {
    (holder.connection_id != connection.id).then(|| {
        format!(
            "{what} on connection '{}' ({}) returned user_id '{legacy_id}', but {} is a user of connection '{}' ({}): user ids are unique in the tenant, so the answer cannot become a user of '{}'; refused, nothing changed (if the two legacy stores number users alike, have this connection's scripts return prefixed ids, e.g. '{}-{legacy_id}')",
            connection.name,
            connection.id,
            holder.user_id,
            holder.connection_name,
            holder.connection_id,
            connection.name,
            connection.name,
        )
    })
}

/// Why a `login` profile must not be stored: its email belongs to the local
/// user `holder_of_email`, whose id differs (two legacy users with one email,
/// or an id that changed between `get_user` and `login`).
pub fn login_conflict(profile: &LegacyProfile, holder_of_email: &User) -> Option<String> {
    (holder_of_email.local_id() != profile.user_id).then(|| {
        format!(
            "login returned user_id '{}' for email '{}', which belongs to {}: two legacy users share the email or the id is not stable; refused",
            profile.user_id,
            profile.email.as_deref().unwrap_or(""),
            holder_of_email.user_id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profiles_as_real_scripts_return_them() {
        let p = normalize_profile(
            &json!({"id": 42, "email": "Ann@X.co", "username": "Ann_S", "metadata": {"plan": "gold"}}),
        )
        .unwrap();
        assert_eq!(
            (
                p.user_id.as_str(),
                p.email.as_deref(),
                p.username.as_deref()
            ),
            ("42", Some("ann@x.co"), Some("ann_s"))
        );
        assert_eq!(
            p.app_metadata,
            json!({"plan": "gold"}).as_object().unwrap().clone()
        );
        let p = normalize_profile(&json!({"user_id": "auth0|abc", "email": "a@x.co", "app_metadata": {"a": 1}, "metadata": {"b": 2}})).unwrap();
        assert_eq!(p.user_id, "abc");
        assert_eq!(p.app_metadata.get("a"), Some(&json!(1)));
        let nul = normalize_profile(
            &json!({"id": 1, "email": "a@x.co", "user_metadata": {"notes": ["ok", "a\u{0}b"]}}),
        )
        .unwrap_err();
        assert!(nul.is_unusable_profile());
        assert!(
            nul.to_string()
                .contains("NUL character (\\u0000) at user_metadata.notes[1]"),
            "{nul}"
        );
        assert!(
            normalize_profile(&json!({"id": 1, "email": "a@x.co", "ignored": "a\u{0}b"})).is_ok(),
            "a field Tern does not keep may hold it"
        );
        // A legacy system cannot fill the store: metadata is held to the
        // Management API's bound, the whole profile to its own.
        let big = "x".repeat(MAX_METADATA_BYTES);
        let e =
            normalize_profile(&json!({"id": 1, "email": "a@x.co", "app_metadata": {"blob": big}}))
                .unwrap_err();
        assert!(e.is_unusable_profile());
        assert!(
            e.to_string()
                .contains("app_metadata is 16395 bytes; Tern keeps at most 16384"),
            "{e}"
        );
        let fits = "x".repeat(MAX_METADATA_BYTES - 20);
        assert!(
            normalize_profile(
                &json!({"id": 1, "email": "a@x.co", "user_metadata": {"blob": fits}})
            )
            .is_ok()
        );
        let e = normalize_profile(
            &json!({"id": 1, "email": "a@x.co", "name": "n".repeat(MAX_KEPT_PROFILE_BYTES)}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Tern keeps at most 65536"), "{e}");
        for bad in [
            json!({"email": "a@x.co"}),
            json!({"user_id": "", "email": "a@x.co"}),
            json!({"user_id": "1"}),
            json!("x"),
        ] {
            let err = normalize_profile(&bad).unwrap_err();
            assert!(err.is_unusable_profile(), "{bad}: {err}");
        }
        assert!(!LegacyError("timeout".into()).is_unusable_profile());
    }

    fn legacy_connection() -> Connection {
        Connection {
            id: "con_1".into(),
            name: "legacy".into(),
            display_name: None,
            strategy: "auth0".into(),
            options: JsonObject::new(),
            enabled_clients: vec![],
            realms: vec![],
            is_domain_connection: false,
        }
    }

    fn local(id: &str, email: &str) -> User {
        let p = LegacyProfile {
            user_id: id.into(),
            email: Some(email.into()),
            ..LegacyProfile::default()
        };
        migrated_user(p, &legacy_connection(), None, UserSource::LazyLogin)
    }

    #[test]
    fn a_known_creation_time_is_kept() {
        // Scripts' profiles carry none: the user is created now.
        let p = normalize_profile(
            &json!({"user_id": "1", "email": "a@x.co", "created_at": "2019-01-01T00:00:00.000Z"}),
        )
        .unwrap();
        assert_eq!(p.created_at, None);
        assert_ne!(local("1", "a@x.co").created_at, "2019-01-01T00:00:00.000Z");
        let kept = LegacyProfile {
            created_at: Some("2019-01-01T00:00:00.000Z".into()),
            ..p
        };
        let u = migrated_user(kept, &legacy_connection(), None, UserSource::LazyLogin);
        assert_eq!(u.created_at, "2019-01-01T00:00:00.000Z");
        assert_ne!(u.updated_at, u.created_at);
    }

    #[test]
    fn guards_name_what_and_which_ids() {
        let p = |id: &str, email: Option<&str>| LegacyProfile {
            user_id: id.into(),
            email: email.map(str::to_string),
            ..LegacyProfile::default()
        };
        // Consistent: the asked email, an id nobody else holds, or held by the same email.
        assert_eq!(
            get_user_conflict("A@x.co", &p("7", Some("a@x.co")), None),
            None
        );
        let same = local("7", "a@x.co");
        assert_eq!(
            get_user_conflict("a@x.co", &p("7", Some("a@x.co")), Some(&same)),
            None
        );
        // Another email in the answer.
        let why = get_user_conflict("a@x.co", &p("7", Some("b@x.co")), None).unwrap();
        assert!(why.contains("'7'") && why.contains("b@x.co"), "{why}");
        assert!(get_user_conflict("a@x.co", &p("7", None), None).is_some());
        // The id already belongs to a user stored with another email.
        let other = local("7", "old@x.co");
        let why = get_user_conflict("a@x.co", &p("7", Some("a@x.co")), Some(&other)).unwrap();
        assert!(why.contains("auth0|7") && why.contains("old@x.co"), "{why}");
        // login: the email is held by another id.
        let holder = local("8", "a@x.co");
        let why = login_conflict(&p("7", Some("a@x.co")), &holder).unwrap();
        assert!(why.contains("'7'") && why.contains("auth0|8"), "{why}");
        assert_eq!(login_conflict(&p("8", Some("a@x.co")), &holder), None);
    }

    #[test]
    fn an_id_held_in_another_connection_is_a_conflict() {
        let holder = local("42", "victor@a.co"); // connection con_1, "legacy"
        let mut other = Connection {
            id: "con_2".into(),
            name: "shop-b".into(),
            ..holder_connection()
        };
        let why = connection_conflict(&other, "login", "42", &holder).unwrap();
        for part in ["'shop-b' (con_2)", "'42'", "auth0|42", "'legacy' (con_1)"] {
            assert!(why.contains(part), "{part} in {why}");
        }
        other.id = "con_1".into();
        assert_eq!(connection_conflict(&other, "login", "42", &holder), None);
    }

    fn holder_connection() -> Connection {
        Connection {
            id: "con_1".into(),
            name: "legacy".into(),
            display_name: None,
            strategy: "auth0".into(),
            options: JsonObject::new(),
            enabled_clients: vec![],
            realms: vec![],
            is_domain_connection: false,
        }
    }
}
