//! The bulk-import row: Auth0's import schema, validated field by field, and
//! what a valid row does to the users of a connection (insert, or upsert with
//! Auth0's field table).
//!
//! Errors carry Auth0's JSON-schema codes (`INVALID_TYPE`, `MIN_LENGTH`,
//! `PATTERN`, `FORMAT`, …), a message in Auth0's "Error in `<path>` property - …"
//! form, and the `path`.

use serde::Serialize;
use serde_json::{Map, Value};
use tern_hash::{CostLimits, OverLimit, StoredHash};

use crate::clock::now_iso;
use crate::ids;
use crate::model::{Connection, JsonObject, User, UserSource};
use crate::roles::{self, NamedRole};
use crate::user_profile::{
    FORBIDDEN_APP_METADATA_KEYS, MAX_METADATA_BYTES, is_e164, is_valid_email, is_valid_username,
    normalize_email, normalize_username,
};

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// Auth0 error code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
    /// JSON path of the offending field.
    pub path: String,
}

impl RowError {
    fn new(code: &'static str, path: &str, detail: impl std::fmt::Display) -> Self {
        Self {
            code,
            message: format!("Error in {path} property - {detail}"),
            path: path.to_string(),
        }
    }
    /// A row whose email, id or username appeared earlier in the file or exists already.
    pub fn duplicated(what: &str, existing: bool) -> Self {
        let message = if existing {
            format!("The user already exists (same {what}).")
        } else {
            format!("A user with this {what} was already provided.")
        };
        Self {
            code: "DUPLICATED_USER",
            message,
            path: what.to_string(),
        }
    }
    /// A row whose `user_id` a user of another connection holds: Auth0's
    /// code for duplicates, naming that user and its connection (ids are
    /// unique in the tenant, so the row can neither be inserted nor merged).
    pub fn user_id_of_another_connection(holder: &User) -> Self {
        Self {
            code: "DUPLICATED_USER",
            message: format!(
                "The user already exists (same user_id): {} is a user of connection '{}' ({}); user ids are unique in the tenant, so this row cannot become a user of this connection.",
                holder.user_id, holder.connection_name, holder.connection_id
            ),
            path: "user_id".into(),
        }
    }
}

/// A row that passed validation.
#[derive(Debug, Clone, Default)]
pub struct ValidRow {
    /// Lower-cased email.
    pub email: String,
    /// Fields as given (None = absent).
    pub email_verified: Option<bool>,
    /// Phone.
    pub phone_number: Option<String>,
    /// Phone verified.
    pub phone_verified: Option<bool>,
    /// Local id (without `auth0|`).
    pub user_id: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Picture.
    pub picture: Option<String>,
    /// Blocked.
    pub blocked: Option<bool>,
    /// App metadata.
    pub app_metadata: Option<JsonObject>,
    /// User metadata.
    pub user_metadata: Option<JsonObject>,
    /// Credential in storage form, from `password_hash` or `custom_password_hash`.
    pub credential: Option<String>,
    /// Whether the credential came from `custom_password_hash` or
    /// `tern_password_hash` (both replace a never-used credential on upsert).
    pub custom_hash: bool,
    /// MFA enrollments (§2.4 shape, checked).
    pub mfa_factors: Option<Vec<Value>>,
    /// Roles the user is given (`tern_roles`), each name once.
    pub roles: Vec<NamedRole>,
}

/// The top-level fields of Auth0's import schema (`additionalProperties: false`).
pub const IMPORT_FIELDS: &[&str] = &[
    "email",
    "email_verified",
    "phone_number",
    "phone_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "app_metadata",
    "user_metadata",
    "password_hash",
    "custom_password_hash",
    "tern_password_hash",
    "mfa_factors",
    "tern_roles",
];

/// The most roles one row may name.
pub const MAX_ROWS_ROLES: usize = 100;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Checker<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<RowError>,
}

impl Checker<'_> {
    fn string(&mut self, key: &str, min: usize, max: usize) -> Option<String> {
        match self.obj.get(key)? {
            Value::String(s) => {
                let n = s.chars().count();
                if n < min {
                    self.errors.push(RowError::new(
                        "MIN_LENGTH",
                        key,
                        format!("String is too short ({n} chars), minimum {min}"),
                    ));
                    None
                } else if n > max {
                    self.errors.push(RowError::new(
                        "MAX_LENGTH",
                        key,
                        format!("String is too long ({n} chars), maximum {max}"),
                    ));
                    None
                } else {
                    Some(s.clone())
                }
            }
            other => {
                self.errors.push(RowError::new(
                    "INVALID_TYPE",
                    key,
                    format!("Expected type string but found type {}", type_name(other)),
                ));
                None
            }
        }
    }
    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.obj.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.errors.push(RowError::new(
                    "INVALID_TYPE",
                    key,
                    format!("Expected type boolean but found type {}", type_name(other)),
                ));
                None
            }
        }
    }
    fn object(&mut self, key: &str) -> Option<JsonObject> {
        match self.obj.get(key)? {
            Value::Object(m) => Some(m.clone()),
            other => {
                self.errors.push(RowError::new(
                    "INVALID_TYPE",
                    key,
                    format!("Expected type object but found type {}", type_name(other)),
                ));
                None
            }
        }
    }
}

/// A hash over the cost limits: the row fails, naming the bound and the
/// setting, as a value over a schema maximum would.
fn over_limit(path: &str, e: &OverLimit) -> RowError {
    RowError::new(
        "MAXIMUM",
        path,
        format!(
            "{e}: every login of this user would cost more than this server allows; \
             raise that setting to import this hash"
        ),
    )
}

/// Validate one row of an import file. A password hash must be within
/// `limits` (the server's cost limits).
pub fn validate_row(row: &Value, limits: &CostLimits) -> Result<ValidRow, Vec<RowError>> {
    let Some(obj) = row.as_object() else {
        return Err(vec![RowError {
            code: "INVALID_TYPE",
            message: format!("Expected type object but found type {}", type_name(row)),
            path: String::new(),
        }]);
    };
    let mut c = Checker {
        obj,
        errors: vec![],
    };
    for key in obj.keys().filter(|k| !IMPORT_FIELDS.contains(&k.as_str())) {
        c.errors.push(RowError::new(
            "OBJECT_ADDITIONAL_PROPERTIES",
            key,
            format!("Additional properties not allowed: {key}"),
        ));
    }
    let mut v = ValidRow::default();
    match c.string("email", 1, 254) {
        Some(e) if is_valid_email(&e) => v.email = normalize_email(&e),
        Some(e) => c.errors.push(RowError::new(
            "INVALID_FORMAT",
            "email",
            format!("Object didn't pass validation for format email: {e}"),
        )),
        None if !obj.contains_key("email") => c.errors.push(RowError::new(
            "OBJECT_REQUIRED",
            "email",
            "Missing required property: email",
        )),
        None => {}
    }
    v.email_verified = c.boolean("email_verified");
    v.phone_verified = c.boolean("phone_verified");
    v.blocked = c.boolean("blocked");
    v.phone_number = c.string("phone_number", 2, 16);
    if let Some(p) = &v.phone_number
        && !is_e164(p)
    {
        c.errors.push(RowError::new(
            "PATTERN",
            "phone_number",
            "String does not match pattern ^\\+[0-9]{1,15}$",
        ));
    }
    v.user_id = c.string("user_id", 1, 255);
    if let Some(id) = &v.user_id
        && id.chars().any(char::is_whitespace)
    {
        c.errors.push(RowError::new(
            "PATTERN",
            "user_id",
            "String does not match pattern ^\\S*$",
        ));
    }
    v.username = c.string("username", 1, 128);
    if let Some(u) = &v.username
        && !is_valid_username(u)
    {
        c.errors.push(RowError::new("PATTERN", "username", "the username may contain only letters, digits and _ - . + ! # $ ^ ` ~ ' @, and must not be an email address"));
    }
    v.username = v.username.as_deref().map(normalize_username);
    v.given_name = c.string("given_name", 1, 150);
    v.family_name = c.string("family_name", 1, 150);
    v.name = c.string("name", 1, 300);
    v.nickname = c.string("nickname", 1, 300);
    v.picture = c.string("picture", 1, 2048);
    if let Some(p) = &v.picture
        && !(p.starts_with("https://") || p.starts_with("http://"))
    {
        c.errors.push(RowError::new(
            "FORMAT",
            "picture",
            format!("Object didn't pass validation for format url: {p}"),
        ));
    }
    v.app_metadata = c.object("app_metadata");
    if let Some(m) = &v.app_metadata {
        for k in m
            .keys()
            .filter(|k| FORBIDDEN_APP_METADATA_KEYS.contains(&k.as_str()))
        {
            c.errors.push(RowError::new(
                "NOT_PASSED",
                &format!("app_metadata.{k}"),
                format!("'{k}' is a reserved key and may not be set in app_metadata"),
            ));
        }
    }
    v.user_metadata = c.object("user_metadata");
    for (name, m) in [
        ("app_metadata", &v.app_metadata),
        ("user_metadata", &v.user_metadata),
    ] {
        if let Some(m) = m {
            check_keys(m, name, &mut c.errors);
            // The Management API's bound: an import adds users with
            // `create:users` and must not store (and index) more.
            let size = serde_json::to_string(m).map_or(0, |s| s.len());
            if size > MAX_METADATA_BYTES {
                c.errors.push(RowError::new(
                    "MAX_LENGTH",
                    name,
                    format!("{name} is {size} bytes; the limit is {MAX_METADATA_BYTES}"),
                ));
            }
        }
    }
    let mfa_errors = c.errors.len();
    check_mfa(obj.get("mfa_factors"), &mut c.errors);
    if c.errors.len() == mfa_errors {
        v.mfa_factors = obj.get("mfa_factors").and_then(Value::as_array).cloned();
    }
    v.roles = check_roles(obj.get("tern_roles"), &mut c.errors);
    let given: Vec<&str> = [
        "password_hash",
        "custom_password_hash",
        "tern_password_hash",
    ]
    .into_iter()
    .filter(|k| obj.contains_key(*k))
    .collect();
    match (
        obj.get("password_hash"),
        obj.get("custom_password_hash"),
        obj.get("tern_password_hash"),
    ) {
        _ if given.len() > 1 => c.errors.push(RowError::new(
            "CONFLICT",
            given[0],
            format!("{} cannot both be given", given.join(" and ")),
        )),
        // Tern's extension: formats that are not self-describing
        // (tern-hash `explicit.rs`); like custom_password_hash otherwise.
        (None, None, Some(obj)) => match StoredHash::from_tern_object(obj) {
            Ok(sh) => match sh.check_cost(limits) {
                Ok(()) => {
                    v.credential = Some(sh.to_storage());
                    v.custom_hash = true;
                }
                Err(e) => c.errors.push(over_limit("tern_password_hash", &e)),
            },
            Err(e) => c.errors.push(RowError {
                code: e.code,
                message: format!("Error in {} property - {}", e.path, e.message),
                path: e.path,
            }),
        },
        (Some(Value::String(h)), _, _) => match StoredHash::from_import_password_hash(h) {
            Ok(sh) => match sh.check_cost(limits) {
                Ok(()) => v.credential = Some(sh.to_storage()),
                Err(e) => c.errors.push(over_limit("password_hash", &e)),
            },
            Err(e) => c
                .errors
                .push(RowError::new("INVALID_FORMAT", "password_hash", e)),
        },
        (Some(other), _, _) => c.errors.push(RowError::new(
            "INVALID_TYPE",
            "password_hash",
            format!("Expected type string but found type {}", type_name(other)),
        )),
        (None, Some(custom), _) => match StoredHash::from_custom(custom) {
            Ok(sh) => match sh.check_cost(limits) {
                Ok(()) => {
                    v.credential = Some(sh.to_storage());
                    v.custom_hash = true;
                }
                Err(e) => c.errors.push(over_limit("custom_password_hash", &e)),
            },
            Err(e) => c.errors.push(RowError {
                code: e.code,
                message: format!("Error in {} property - {}", e.path, e.message),
                path: e.path,
            }),
        },
        (None, None, None) => {}
    }
    check_nul(row, "", &mut c.errors);
    if c.errors.is_empty() {
        Ok(v)
    } else {
        Err(c.errors)
    }
}

/// Text anywhere in the row (a value or a key, metadata included) holding
/// U+0000, which PostgreSQL cannot store in text: refused as the row's own
/// error, so the whole job never trips over it.
fn check_nul(v: &Value, path: &str, errors: &mut Vec<RowError>) {
    crate::user_profile::find_nul(v, path, &mut |at| {
        errors.push(RowError::new(
            "INVALID_FORMAT",
            &at,
            "must not contain the NUL character (\\u0000)",
        ));
    });
}

fn check_keys(m: &JsonObject, prefix: &str, errors: &mut Vec<RowError>) {
    for (k, val) in m {
        let path = format!("{prefix}.{k}");
        if k.contains('.') || k.contains('$') {
            errors.push(RowError::new(
                "PATTERN",
                &path,
                "metadata field names must not contain '.' or '$'",
            ));
        }
        if let Value::Object(inner) = val {
            check_keys(inner, &path, errors);
        }
    }
}

/// Tern's extension `tern_roles`: an array of role names, or of
/// `{"name", "description"}` objects (the description is used only when
/// the job creates the role). Each failure is a row error; a name given
/// twice counts once (the first one's description).
fn check_roles(v: Option<&Value>, errors: &mut Vec<RowError>) -> Vec<NamedRole> {
    let Some(v) = v else { return vec![] };
    let Some(list) = v.as_array() else {
        errors.push(RowError::new(
            "INVALID_TYPE",
            "tern_roles",
            format!("Expected type array but found type {}", type_name(v)),
        ));
        return vec![];
    };
    if list.len() > MAX_ROWS_ROLES {
        errors.push(RowError::new(
            "ARRAY_LENGTH_LONG",
            "tern_roles",
            format!(
                "Array is too long ({}), maximum {MAX_ROWS_ROLES}",
                list.len()
            ),
        ));
        return vec![];
    }
    let mut named: Vec<NamedRole> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let path = format!("tern_roles[{i}]");
        let given = match item {
            Value::String(name) => Some((name.as_str(), "")),
            Value::Object(o) if o.keys().all(|k| k == "name" || k == "description") => {
                match (o.get("name"), o.get("description")) {
                    (Some(Value::String(n)), None) => Some((n.as_str(), "")),
                    (Some(Value::String(n)), Some(Value::String(d))) => {
                        Some((n.as_str(), d.as_str()))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((name, description)) = given else {
            errors.push(RowError::new(
                "INVALID_TYPE",
                &path,
                "each role is a name (string) or an object with a string name and an optional string description",
            ));
            continue;
        };
        if name.trim().is_empty()
            || name.chars().count() > roles::MAX_NAME
            || description.chars().count() > roles::MAX_DESCRIPTION
        {
            errors.push(RowError::new(
                "INVALID_FORMAT",
                &path,
                format!(
                    "a role's name must be 1 to {} characters (not only spaces) and its description at most {}",
                    roles::MAX_NAME,
                    roles::MAX_DESCRIPTION
                ),
            ));
            continue;
        }
        if !named.iter().any(|r| r.name == name) {
            named.push(NamedRole {
                name: name.to_string(),
                description: description.to_string(),
            });
        }
    }
    named
}

/// Check Auth0's `mfa_factors` shape (§2.4); each failure is a row error.
pub(crate) fn check_mfa(v: Option<&Value>, errors: &mut Vec<RowError>) {
    let Some(v) = v else { return };
    let Some(list) = v.as_array() else {
        errors.push(RowError::new(
            "INVALID_TYPE",
            "mfa_factors",
            format!("Expected type array but found type {}", type_name(v)),
        ));
        return;
    };
    if list.is_empty() {
        errors.push(RowError::new(
            "ARRAY_LENGTH_SHORT",
            "mfa_factors",
            "Array is too short (0), minimum 1",
        ));
    }
    if list.len() > 10 {
        errors.push(RowError::new(
            "ARRAY_LENGTH_LONG",
            "mfa_factors",
            format!("Array is too long ({}), maximum 10", list.len()),
        ));
    }
    for (i, f) in list.iter().enumerate() {
        let path = format!("mfa_factors[{i}]");
        let Some(obj) = f.as_object().filter(|o| o.len() == 1) else {
            errors.push(RowError::new(
                "INVALID_TYPE",
                &path,
                "each factor is an object with exactly one of totp, phone, email",
            ));
            continue;
        };
        let (kind, body) = obj
            .iter()
            .next()
            .map(|(k, v)| (k.as_str(), v))
            .unwrap_or(("", &Value::Null));
        let field = |name: &str| body.get(name).and_then(Value::as_str);
        let ok = match kind {
            "totp" => field("secret").is_some_and(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
            }),
            "phone" => field("value").is_some_and(is_e164),
            "email" => field("value").is_some_and(is_valid_email),
            _ => {
                errors.push(RowError::new(
                    "OBJECT_ADDITIONAL_PROPERTIES",
                    &path,
                    format!("Additional properties not allowed: {kind}"),
                ));
                continue;
            }
        };
        if !ok {
            errors.push(RowError::new("PATTERN", &format!("{path}.{kind}"), "the factor's value does not match its format (totp: unpadded Base32; phone: E.164; email: an address)"));
        }
    }
}

/// The row as echoed in job errors: secrets replaced by `*****`. A failed
/// row may hold them in any shape (a hash given as a bare string, a key
/// where a salt belongs, a plain `password` the schema refuses), so every
/// string inside the credential fields is masked but for the names of
/// algorithms and encodings, which say what was wrong.
pub fn redact(row: &Value) -> Value {
    let mut r = row.clone();
    if let Some(o) = r.as_object_mut() {
        for field in ["password", "password_hash"] {
            if let Some(v) = o.get_mut(field) {
                *v = MASK.into();
            }
        }
        for field in ["custom_password_hash", "tern_password_hash", "mfa_factors"] {
            if let Some(v) = o.get_mut(field) {
                mask_strings(v, None);
            }
        }
    }
    r
}

const MASK: &str = "*****";

/// Keys whose string values describe a credential without being one.
const DESCRIPTIVE_KEYS: &[&str] = &[
    "algorithm",
    "encoding",
    "digest",
    "position",
    "type",
    "mode",
    "hash_algorithm",
    "rounds",
    "iterations",
];

/// Mask every string in `v` but those under a [`DESCRIPTIVE_KEYS`] key.
fn mask_strings(v: &mut Value, key: Option<&str>) {
    match v {
        Value::String(text) if !key.is_some_and(|k| DESCRIPTIVE_KEYS.contains(&k)) => {
            *text = MASK.into();
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mask_strings(i, key)),
        Value::Object(fields) => fields
            .iter_mut()
            .for_each(|(k, v)| mask_strings(v, Some(k))),
        _ => {}
    }
}

/// A new user from a valid row.
pub fn new_user(row: ValidRow, connection: &Connection) -> User {
    let now = now_iso();
    let nickname = row
        .nickname
        .or_else(|| row.email.split('@').next().map(str::to_string));
    User {
        user_id: format!("auth0|{}", row.user_id.unwrap_or_else(ids::user_local_id)),
        connection_id: connection.id.clone(),
        connection_name: connection.name.clone(),
        name: row.name.or_else(|| Some(row.email.clone())),
        email: Some(row.email),
        email_verified: row.email_verified.unwrap_or(false),
        username: row.username,
        phone_number: row.phone_number,
        phone_verified: row.phone_verified.unwrap_or(false),
        given_name: row.given_name,
        family_name: row.family_name,
        nickname,
        picture: row.picture,
        blocked: row.blocked.unwrap_or(false),
        app_metadata: row.app_metadata.unwrap_or_default(),
        user_metadata: row.user_metadata.unwrap_or_default(),
        created_at: now.clone(),
        updated_at: now,
        last_login: None,
        last_ip: None,
        logins_count: 0,
        credential: row.credential,
        source: UserSource::BulkImport,
        mfa_factors: row.mfa_factors.unwrap_or_default(),
    }
}

/// The note of an upsert field left alone because the job's creator may
/// not change existing users' credentials.
fn needs_update_scope(field: &str) -> RowError {
    RowError {
        code: "CONFLICT",
        message: format!(
            "{field} was not applied to the existing user: replacing a user's password or factors needs a token with update:users."
        ),
        path: field.into(),
    }
}

/// Apply an upsert row to an existing user, with Auth0's field table:
/// metadata replaced (not merged), profile names and `email_verified`
/// updated when given; `custom_password_hash` only while the user has never
/// logged in; `password_hash`, `blocked`, `username`, `user_id` untouched.
/// A hash and `mfa_factors` only with `credentials` (the job's creator may
/// change users: with `create:users` alone an upsert would set the password
/// of a user who has not logged in yet and sign in as them).
/// Returns a note when a given field was not applied.
pub fn upsert(existing: &User, row: ValidRow, credentials: bool) -> (User, Option<RowError>) {
    let mut u = existing.clone();
    let mut note = None;
    if let Some(v) = row.email_verified {
        u.email_verified = v;
    }
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = row.$f { u.$f = Some(v); } )* };
    }
    set!(given_name, family_name, name, nickname, picture);
    if let Some(m) = row.app_metadata {
        u.app_metadata = m;
    }
    if let Some(m) = row.user_metadata {
        u.user_metadata = m;
    }
    // Auth0: "update the factors of any existing users by enabling upsert".
    if let Some(f) = row.mfa_factors {
        if credentials {
            u.mfa_factors = f;
        } else {
            note = Some(needs_update_scope("mfa_factors"));
        }
    }
    if row.custom_hash {
        if !credentials {
            note = Some(needs_update_scope("custom_password_hash"));
        } else if existing.logins_count == 0 {
            u.credential = row.credential;
        } else {
            note = Some(RowError {
                code: "CONFLICT",
                message: "custom_password_hash was not applied: the user has already logged in with the imported password.".into(),
                path: "custom_password_hash".into(),
            });
        }
    }
    u.updated_at = now_iso();
    (u, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_are_names_or_named_objects() {
        let limits = CostLimits::default();
        let row = json!({"email": "a@x.co", "tern_roles": ["editor",
            {"name": "viewer", "description": "Views"}, "editor"]});
        let valid = validate_row(&row, &limits).map(|v| v.roles);
        let named = |name: &str, description: &str| NamedRole {
            name: name.into(),
            description: description.into(),
        };
        assert_eq!(
            valid,
            Ok(vec![named("editor", ""), named("viewer", "Views")])
        );
        let paths = |roles: Value| -> Vec<(&'static str, String)> {
            let row = json!({"email": "a@x.co", "tern_roles": roles});
            let errors = validate_row(&row, &limits).err().unwrap_or_default();
            errors.into_iter().map(|e| (e.code, e.path)).collect()
        };
        assert_eq!(
            paths(json!("editor")),
            [("INVALID_TYPE", "tern_roles".into())]
        );
        assert_eq!(
            paths(json!([1, {"name": "x", "permissions": []}, {"description": "d"}, ""])),
            [
                ("INVALID_TYPE", "tern_roles[0]".into()),
                ("INVALID_TYPE", "tern_roles[1]".into()),
                ("INVALID_TYPE", "tern_roles[2]".into()),
                ("INVALID_FORMAT", "tern_roles[3]".into()),
            ]
        );
        assert_eq!(
            paths(Value::Array(vec![json!("r"); 101])),
            [("ARRAY_LENGTH_LONG", "tern_roles".into())]
        );
    }

    #[test]
    fn echoed_rows_mask_credentials_of_any_shape() {
        let row = json!({
            "email": "a@example.com",
            "password": "PlainTextPassw0rd",
            "password_hash": {"odd": "shape"},
            "custom_password_hash": {"algorithm": "hmac", "hash": "bare-string-hash",
                "salt": "bare-salt", "key": {"value": "pepper", "encoding": "utf8"}},
            "tern_password_hash": {"algorithm": "firebase-scrypt", "hash": "h",
                "params": {"signer_key": "k", "rounds": 8, "mem_cost": 14}},
            "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXP"}}, "odd"],
        });
        let shown = redact(&row).to_string();
        for secret in [
            "PlainTextPassw0rd",
            "shape",
            "bare-string-hash",
            "bare-salt",
            "pepper",
            "\"h\"",
            "\"k\"",
            "JBSWY3DPEHPK3PXP",
            "odd",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        for kept in [
            "a@example.com",
            "hmac",
            "utf8",
            "firebase-scrypt",
            "\"mem_cost\":14",
        ] {
            assert!(shown.contains(kept), "{kept} missing from {shown}");
        }
    }
}
