//! The entities of a tenant, in Auth0's vocabulary.
//!
//! Configuration entities (clients, APIs, grants, connections) serialise to the
//! JSON shapes Auth0's Management API returns, minus secrets: a client secret is
//! kept only as a hash (`secret_hash`), never serialised to a caller.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object, as used for metadata and connection options.
pub type JsonObject = Map<String, Value>;

/// The unit of isolation: every row of every table carries a tenant id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tenant {
    /// Opaque id, used as the scope of every query.
    pub id: String,
    /// Human name (also the base of export file names).
    pub name: String,
    /// Creation time.
    pub created_at: String,
}

/// Where a signing key stands in Auth0's rotation: the *next* key is
/// published ahead of use, the *current* key signs, *previous* keys (once
/// current) still verify until they are revoked; a *revoked* key verifies
/// nothing and its private half is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKeyState {
    /// Published, signs after the next rotation.
    Next,
    /// Signs every token.
    Current,
    /// Signed before a rotation; tokens it signed stay valid until revoked.
    Previous,
    /// Revoked: out of the JWKS, its tokens refused.
    Revoked,
}

impl SigningKeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Revoked => "revoked",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "next" => Self::Next,
            "current" => Self::Current,
            "previous" => Self::Previous,
            "revoked" => Self::Revoked,
            _ => return None,
        })
    }
}

/// A signing key's private half as the store holds it. The domain never
/// sees it in clear: the server seals it before storing and opens it when
/// it loads its key ring.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredPrivateKey {
    /// Sealed by the server with its secrets key.
    Sealed(String),
    /// A PKCS#8 PEM in clear, as versions before sealing stored it; the
    /// server seals it at its next start.
    LegacyClear(String),
    /// Nothing: the key was revoked and its private half erased.
    Erased,
}

impl std::fmt::Debug for StoredPrivateKey {
    // Never print key material, sealed or not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sealed(_) => "Sealed(..)",
            Self::LegacyClear(_) => "LegacyClear(..)",
            Self::Erased => "Erased",
        })
    }
}

/// One RS256 signing key of a tenant, with its place in the rotation.
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// Key id, the JWT header `kid`.
    pub kid: String,
    /// The private half.
    pub private_key: StoredPrivateKey,
    /// The key's self-signed X.509 certificate, PEM (public).
    pub cert_pem: String,
    /// Next, current, previous or revoked.
    pub state: SigningKeyState,
    /// Creation time.
    pub created_at: String,
    /// When it became the current key.
    pub current_since: Option<String>,
    /// When it stopped being the current key.
    pub current_until: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// An application (Auth0 "client").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Client {
    /// Public identifier.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `non_interactive` (machine to machine), `regular_web`, `spa`, `native`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<String>,
    /// Whether the application belongs to the tenant's owner.
    #[serde(default = "yes")]
    pub is_first_party: bool,
    /// Allowed redirect URLs.
    #[serde(default)]
    pub callbacks: Vec<String>,
    /// Allowed origins (CORS, web message).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Allowed web origins.
    #[serde(default)]
    pub web_origins: Vec<String>,
    /// Allowed logout URLs.
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    /// OAuth grant types this application may use.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// `client_secret_post`, `client_secret_basic` or `none`.
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    /// Whether `/oauth/token` believes the `auth0-forwarded-for` header this
    /// client sends (with its secret) as the end user's address, for
    /// brute-force protection and suspicious-IP throttling. Default false:
    /// the address is the caller's.
    #[serde(default)]
    pub is_token_endpoint_ip_header_trusted: bool,
    /// String-to-string metadata.
    #[serde(default)]
    pub client_metadata: Map<String, Value>,
    /// Whether this is the tenant's global client (Auth0 compatibility field).
    #[serde(default)]
    pub global: bool,
    /// How its refresh tokens rotate and expire (Auth0's `refresh_token`
    /// object); absent: Auth0's defaults (non-rotating, non-expiring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<crate::grants::RefreshTokenConfig>,
    /// The application's login page (Auth0's "Application Login URI"): where
    /// a hosted page opened without a login transaction sends the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiate_login_uri: Option<String>,
    /// Its ID tokens' settings (Auth0's `jwt_configuration`): their lifetime.
    #[serde(default)]
    pub jwt_configuration: JwtConfiguration,
    /// SHA-256 of the secret, hex. Secrets are random and 64 characters long,
    /// so a fast hash is enough and keeps `/oauth/token` fast.
    #[serde(default, skip_serializing)]
    pub secret_hash: String,
}

fn yes() -> bool {
    true
}

/// An application's ID token settings (Auth0's `jwt_configuration`). Tern
/// signs every token with the tenant's RS256 key, so `alg` can only be
/// that; members Auth0 keeps for other algorithms (`secret_encoded`,
/// `scopes`, …) are kept and shown as sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JwtConfiguration {
    /// Seconds an ID token is valid for (its `exp` − `iat`).
    #[serde(default = "default_id_token_lifetime")]
    pub lifetime_in_seconds: i64,
    /// The signing algorithm: `RS256`.
    #[serde(default = "rs256")]
    pub alg: String,
    /// Whatever else was sent, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl JwtConfiguration {
    /// The longest ID token lifetime an application may set: 30 days, as
    /// the longest access token (`resource_servers.token_lifetime`).
    pub const MAX_LIFETIME: i64 = 2_592_000;

    /// Why these settings cannot be kept, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=Self::MAX_LIFETIME).contains(&self.lifetime_in_seconds) {
            return Err(format!(
                "'jwt_configuration.lifetime_in_seconds' must be between 1 and {} seconds (30 days), got {}",
                Self::MAX_LIFETIME,
                self.lifetime_in_seconds
            ));
        }
        if self.alg != "RS256" {
            return Err(format!(
                "'jwt_configuration.alg' {} is not available: Tern signs ID tokens with the tenant's RS256 signing keys",
                self.alg
            ));
        }
        Ok(())
    }
}

impl Default for JwtConfiguration {
    fn default() -> Self {
        Self {
            lifetime_in_seconds: default_id_token_lifetime(),
            alg: rs256(),
            other: Map::new(),
        }
    }
}

/// Auth0's ID token lifetime: 10 hours.
fn default_id_token_lifetime() -> i64 {
    36_000
}

fn default_auth_method() -> String {
    "client_secret_post".into()
}

/// A scope an API defines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scope {
    /// The scope name, e.g. `read:users`.
    pub value: String,
    /// What it allows.
    #[serde(default)]
    pub description: String,
}

/// An API (Auth0 "resource server"): an audience tokens can be minted for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceServer {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The audience, e.g. `https://tern.example/api/v2/`.
    pub identifier: String,
    /// Scopes the API defines.
    #[serde(default)]
    pub scopes: Vec<Scope>,
    /// Always `RS256` in Tern.
    #[serde(default = "rs256")]
    pub signing_alg: String,
    /// Access token lifetime in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime: i64,
    /// Whether refresh tokens may be issued for it.
    #[serde(default)]
    pub allow_offline_access: bool,
    /// Whether first-party clients skip consent.
    #[serde(default = "yes")]
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// The Management API itself: cannot be changed or deleted.
    #[serde(default)]
    pub is_system: bool,
    /// Tern extension: only machine clients (client credentials through a
    /// client grant) may get tokens for this API; every user-facing grant is
    /// refused. Auth0 leaves this to a rule the customer must remember to write.
    #[serde(default)]
    pub tern_machine_to_machine_only: bool,
    /// Auth0's RBAC: a user-facing token gets only the requested scopes the
    /// user holds as permissions (directly or through roles).
    #[serde(default)]
    pub enforce_policies: bool,
    /// The access token's dialect: `access_token`, or `access_token_authz`,
    /// which adds the user's permissions (`permissions` claim) when
    /// `enforce_policies` is on.
    #[serde(default = "default_token_dialect")]
    pub token_dialect: String,
}

/// Auth0's default access-token dialect.
pub fn default_token_dialect() -> String {
    "access_token".into()
}

impl ResourceServer {
    /// Whether user tokens carry the `permissions` claim: Auth0 adds it for an
    /// `_authz` dialect, a setting of RBAC (its dashboard offers it only with
    /// RBAC enabled).
    pub fn adds_permissions_claim(&self) -> bool {
        self.enforce_policies && self.token_dialect.ends_with("_authz")
    }
}

fn rs256() -> String {
    "RS256".into()
}

/// Auth0's default access-token lifetime.
pub fn default_token_lifetime() -> i64 {
    86_400
}

/// Permission for one client to get tokens for one audience with some scopes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientGrant {
    /// `cgr_…`.
    pub id: String,
    /// The client it permits.
    pub client_id: String,
    /// The API identifier.
    pub audience: String,
    /// Scopes the client may receive.
    pub scope: Vec<String>,
}

/// A connection (Tern implements `auth0` database connections).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connection {
    /// `con_` + 16 alphanumerics.
    pub id: String,
    /// Unique per tenant; the `realm` of the password-realm grant.
    pub name: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Always `auth0` (database) for now.
    pub strategy: String,
    /// Strategy options (`enabledDatabaseCustomization`, `import_mode`, …).
    #[serde(default)]
    pub options: JsonObject,
    /// Client ids this connection is enabled for.
    #[serde(default)]
    pub enabled_clients: Vec<String>,
    /// Realms (the connection name, as Auth0).
    #[serde(default)]
    pub realms: Vec<String>,
    /// Whether it is a domain connection (never, for databases).
    #[serde(default)]
    pub is_domain_connection: bool,
}

impl Connection {
    /// "Use my own database" is on.
    pub fn custom_database(&self) -> bool {
        self.options
            .get("enabledDatabaseCustomization")
            .and_then(Value::as_bool)
            == Some(true)
    }
    /// "Import users to Auth0" (lazy migration) is on.
    pub fn import_mode(&self) -> bool {
        self.options.get("import_mode").and_then(Value::as_bool) == Some(true)
    }
}

/// How a user arrived in Tern; recorded for migration visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    /// `POST /api/v2/users`.
    Api,
    /// `POST /dbconnections/signup`.
    Signup,
    /// A bulk import job.
    BulkImport,
    /// First login through a legacy `login` script or connector.
    LazyLogin,
    /// A password reset of a user found through `get_user`.
    LazyReset,
    /// A user of a connection whose legacy store stays the source of truth
    /// (import mode off): Tern keeps the profile so tokens have a subject,
    /// never a credential (Auth0's shadow record).
    Legacy,
}

impl UserSource {
    /// Stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Signup => "signup",
            Self::BulkImport => "bulk_import",
            Self::LazyLogin => "lazy_login",
            Self::LazyReset => "lazy_reset",
            Self::Legacy => "legacy",
        }
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "api" => Self::Api,
            "signup" => Self::Signup,
            "bulk_import" => Self::BulkImport,
            "lazy_login" => Self::LazyLogin,
            "lazy_reset" => Self::LazyReset,
            "legacy" => Self::Legacy,
            _ => return None,
        })
    }
}

/// A user of a database connection.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Full id, `auth0|<local id>`.
    pub user_id: String,
    /// Connection id.
    pub connection_id: String,
    /// Connection name (Auth0 never renames connections, so this is stable).
    pub connection_name: String,
    /// Lower-cased email.
    pub email: Option<String>,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// Optional username.
    pub username: Option<String>,
    /// E.164 phone number.
    pub phone_number: Option<String>,
    /// Whether the phone is verified.
    pub phone_verified: bool,
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
    /// Blocked users cannot log in.
    pub blocked: bool,
    /// Metadata the user may not change.
    pub app_metadata: JsonObject,
    /// Metadata the user may change.
    pub user_metadata: JsonObject,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Last successful login.
    pub last_login: Option<String>,
    /// IP of the last successful login.
    pub last_ip: Option<String>,
    /// Successful logins.
    pub logins_count: i64,
    /// The password hash in `tern_hash` storage form; `None` = no credential
    /// (the user must set one through a reset, or migrate one lazily).
    pub credential: Option<String>,
    /// How the user arrived.
    pub source: UserSource,
    /// MFA enrollments brought from the legacy system or an import file
    /// (Auth0's `mfa_factors`: `{"totp": {"secret"}}`, `{"phone": {"value"}}`,
    /// `{"email": {"value"}}`); empty when none.
    pub mfa_factors: Vec<Value>,
}

/// A user's profile fields and, when asked for, metadata, borrowed from a
/// [`User`] or straight from a store's row: what an export of profile
/// fields (Auth0's default) and metadata paths writes, without an owned
/// `User` (and a `String` per field, a parsed map per metadata object) per
/// row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileView<'a> {
    /// Full id.
    pub user_id: &'a str,
    /// Email.
    pub email: Option<&'a str>,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// Username.
    pub username: Option<&'a str>,
    /// Phone number.
    pub phone_number: Option<&'a str>,
    /// Whether the phone is verified.
    pub phone_verified: bool,
    /// Full name.
    pub name: Option<&'a str>,
    /// Given name.
    pub given_name: Option<&'a str>,
    /// Family name.
    pub family_name: Option<&'a str>,
    /// Nickname.
    pub nickname: Option<&'a str>,
    /// Picture URL.
    pub picture: Option<&'a str>,
    /// Creation time.
    pub created_at: &'a str,
    /// Last change.
    pub updated_at: &'a str,
    /// Last successful login.
    pub last_login: Option<&'a str>,
    /// IP of the last successful login.
    pub last_ip: Option<&'a str>,
    /// Successful logins.
    pub logins_count: i64,
    /// Whether the user is blocked.
    pub blocked: bool,
    /// `app_metadata`, when the reader asked for it.
    pub app_metadata: MetadataView<'a>,
    /// `user_metadata`, when the reader asked for it.
    pub user_metadata: MetadataView<'a>,
}

/// A user's metadata object as a [`ProfileView`] holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetadataView<'a> {
    /// Not read (`MetadataColumns` did not ask for it).
    Absent,
    /// The stored JSON text, parsed only as far as a reader needs.
    Text(&'a str),
    /// A user's parsed object.
    Map(&'a JsonObject),
}

/// Which metadata objects a walk over profiles reads beside the profile
/// columns (`UserStore::visit_profiles_after`): the others stay unread,
/// [`MetadataView::Absent`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetadataColumns {
    /// Read `app_metadata`.
    pub app: bool,
    /// Read `user_metadata`.
    pub user: bool,
}

/// What a store's walk over users' profiles saw (see
/// `UserStore::visit_profiles_after`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfilesVisited {
    /// Users visited.
    pub users: u64,
    /// The last one's keyset position (`created_at`, `user_id`).
    pub last: Option<(String, String)>,
}

impl User {
    /// The profile fields, borrowed.
    pub fn profile(&self) -> ProfileView<'_> {
        ProfileView {
            user_id: &self.user_id,
            email: self.email.as_deref(),
            email_verified: self.email_verified,
            username: self.username.as_deref(),
            phone_number: self.phone_number.as_deref(),
            phone_verified: self.phone_verified,
            name: self.name.as_deref(),
            given_name: self.given_name.as_deref(),
            family_name: self.family_name.as_deref(),
            nickname: self.nickname.as_deref(),
            picture: self.picture.as_deref(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            last_login: self.last_login.as_deref(),
            last_ip: self.last_ip.as_deref(),
            logins_count: self.logins_count,
            blocked: self.blocked,
            app_metadata: MetadataView::Map(&self.app_metadata),
            user_metadata: MetadataView::Map(&self.user_metadata),
        }
    }

    /// The id without the `auth0|` provider prefix (the identity's `user_id`).
    pub fn local_id(&self) -> &str {
        self.user_id
            .split_once('|')
            .map_or(self.user_id.as_str(), |(_, id)| id)
    }
}

/// One event of the tenant log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogEvent {
    /// Unique, sortable id.
    #[serde(rename = "log_id")]
    pub id: String,
    /// When it happened.
    pub date: String,
    /// Auth0 event type (`s`, `f`, `fp`, `fu`, `seccft`, `feccft`, `sapi`, `fapi`, `api_limit`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The client involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Caller IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The user involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user name or email typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The connection involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// The connection id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// Extra structured details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl LogEvent {
    /// A new event of the given type, now.
    pub fn new(kind: &str, description: impl Into<String>) -> Self {
        let mut ev = Self {
            id: String::new(),
            date: String::new(),
            kind: kind.into(),
            description: Some(description.into()),
            client_id: None,
            client_name: None,
            ip: None,
            user_id: None,
            user_name: None,
            connection: None,
            connection_id: None,
            details: None,
        };
        ev.stamp_now();
        ev
    }

    /// Give the event a new id and date, now: an event kept to be written
    /// later, possibly more than once (each a login of its own).
    pub fn stamp_now(&mut self) {
        // One instant for both: the id's time is the date's to the
        // nanosecond, so a search by date can read the id index.
        let now = time::OffsetDateTime::now_utc();
        self.id = crate::ids::log_id_at(now);
        self.date = crate::clock::iso(now);
    }
}

/// What a background job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// `POST /api/v2/jobs/users-imports`.
    UsersImport,
    /// `POST /api/v2/jobs/users-exports`.
    UsersExport,
    /// `POST /api/v2/jobs/verification-email`: done in its request, stored
    /// finished so `GET /jobs/{id}` shows it; never claimed by the runner.
    VerificationEmail,
}

impl JobType {
    /// Auth0's name (`users_import`, `users_export`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsersImport => "users_import",
            Self::UsersExport => "users_export",
            Self::VerificationEmail => "verification_email",
        }
    }
}

/// One exported field: a profile path and the column title.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportField {
    /// Path such as `email`, `identities[0].connection`, `user_metadata.plan`.
    pub name: String,
    /// Column title / key in the output (default: `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_as: Option<String>,
}

/// What an export job writes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportSpec {
    /// `json` (NDJSON) or `csv`.
    pub format: String,
    /// Fields, in order.
    pub fields: Vec<ExportField>,
    /// At most this many users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Queued behind the tenant's `import.max_active_jobs`: a console
    /// upload's job that becomes `Pending` when a slot frees
    /// (`JobStore::start_waiting_jobs`). Auth0 has no such state; the
    /// Management API shows it as `pending`.
    Waiting,
    /// Accepted, not started.
    Pending,
    /// Rows are being applied.
    Processing,
    /// Every row is accounted for.
    Completed,
    /// A job-level error (e.g. an unparsable file); see `status_details`.
    Failed,
}

impl JobStatus {
    /// The stored and returned name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
    /// The name Auth0's API answers: a waiting job is pending there.
    pub fn as_auth0(self) -> &'static str {
        match self {
            Self::Waiting => "pending",
            other => other.as_str(),
        }
    }
    /// Not ended yet: waiting, pending or processing.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Waiting | Self::Pending | Self::Processing)
    }
    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting" => Self::Waiting,
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// The fixed description of a job, stored as its body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobSpec {
    /// Kind.
    #[serde(rename = "type")]
    pub kind: JobType,
    /// Target connection.
    pub connection_id: String,
    /// Its name.
    pub connection: String,
    /// Update users that exist (matched on email).
    pub upsert: bool,
    /// Whether an upsert may replace an existing user's password hash and
    /// MFA factors: only when the job's creator may change users
    /// (`update:users`, an operator). `create:users` alone may add users,
    /// not take over those that exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub upsert_credentials: bool,
    /// Whether rows may give their users roles (`tern_roles`): the job's
    /// creator may assign roles (`create:role_members`, an operator).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assign_roles: bool,
    /// Whether a role a row names that the tenant lacks is created: the
    /// job's creator may create roles (`create:roles`, an operator).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_roles: bool,
    /// Caller's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Mail the tenant administrators when done.
    pub send_completion_email: bool,
    /// Validate everything, write no user (Tern extension).
    #[serde(default)]
    pub dry_run: bool,
    /// For exports: format and fields. An export's `connection_id` may be
    /// empty, meaning every connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportSpec>,
}

/// A job and its progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// `job_…`.
    pub id: String,
    /// What it does.
    pub spec: JobSpec,
    /// Where it is.
    pub status: JobStatus,
    /// Creation time.
    pub created_at: String,
    /// Last progress.
    pub updated_at: String,
    /// Rows in the file, once parsed.
    pub total_rows: Option<u64>,
    /// Rows accounted for so far (the resume point).
    pub processed_rows: u64,
    /// Users created.
    pub inserted: u64,
    /// Users updated (upsert).
    pub updated: u64,
    /// Rows that failed.
    pub failed: u64,
    /// Why a job failed.
    pub status_details: Option<String>,
    /// The fencing token of the claim the job is running under (0: never
    /// claimed). Every write a runner makes for the job carries it, and the
    /// store refuses writes of an older claim.
    pub lease_token: i64,
    /// A dry run's findings on the roles its rows name, through the rows
    /// processed so far (`None` for other jobs).
    pub dry_run_roles: Option<DryRunRoles>,
}

/// What a dry-run import would do with the roles its rows name
/// (`tern_roles`), counted over the rows it would insert or update: the
/// roles it would create (the tenant has none of that name) and the role
/// grants it would make. Stored with the job's progress, batch by batch,
/// so a resumed dry run reports the whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DryRunRoles {
    /// Role names the tenant lacks, by name: the first
    /// [`DryRunRoles::NAMES_KEPT`] of them.
    pub would_create: std::collections::BTreeSet<String>,
    /// More roles would be created than `would_create` names.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub would_create_more: bool,
    /// (user, role) grants the users do not hold yet.
    pub would_assign: u64,
}

impl DryRunRoles {
    /// Names of roles to create kept at most. The list is stored with the
    /// job's progress at every batch: a file naming a million roles must
    /// not make that a million names rewritten 500 times.
    pub const NAMES_KEPT: usize = 1000;

    /// Count roles the tenant lacks (each name once).
    pub fn lacking(&mut self, names: impl IntoIterator<Item = String>) {
        self.would_create.extend(names);
        // The first names by order are kept whichever batch saw them, so a
        // resumed run or another job's order gives the same list.
        while self.would_create.len() > Self::NAMES_KEPT {
            self.would_create.pop_last();
            self.would_create_more = true;
        }
    }

    /// Add another batch's or job's findings.
    pub fn add(&mut self, other: &DryRunRoles) {
        self.lacking(other.would_create.iter().cloned());
        self.would_create_more |= other.would_create_more;
        self.would_assign += other.would_assign;
    }
}

impl Job {
    /// A new job, pending, nothing done yet.
    pub fn pending(id: String, spec: JobSpec, now: String) -> Self {
        Self {
            id,
            spec,
            status: JobStatus::Pending,
            created_at: now.clone(),
            updated_at: now,
            total_rows: None,
            processed_rows: 0,
            inserted: 0,
            updated: 0,
            failed: 0,
            status_details: None,
            lease_token: 0,
            dry_run_roles: None,
        }
    }
}
