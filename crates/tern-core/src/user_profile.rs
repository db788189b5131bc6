//! The user profile as Auth0 shows it, and the rules for the fields callers may set.
//!
//! Both `POST /api/v2/users` and `PATCH /api/v2/users/{id}` go through
//! [`ProfileFields::from_json`], so a field is validated the same way wherever
//! it comes from.

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::model::{JsonObject, User};
use crate::{CoreError, CoreResult};

/// Keys Auth0 forbids in `app_metadata`.
pub const FORBIDDEN_APP_METADATA_KEYS: &[&str] = &[
    "__tenant",
    "_id",
    "blocked",
    "clientID",
    "created_at",
    "email_verified",
    "email",
    "globalClientID",
    "global_client_id",
    "identities",
    "lastIP",
    "lastLogin",
    "loginsCount",
    "metadata",
    "multifactor_last_modified",
    "multifactor",
    "updated_at",
    "user_id",
];

/// Render a user in Auth0's response shape.
pub fn user_json(u: &User) -> Value {
    let mut o = Map::new();
    o.insert("user_id".into(), json!(u.user_id));
    if let Some(e) = &u.email {
        o.insert("email".into(), json!(e));
    }
    o.insert("email_verified".into(), json!(u.email_verified));
    for (k, v) in [
        ("username", &u.username),
        ("phone_number", &u.phone_number),
        ("name", &u.name),
        ("given_name", &u.given_name),
        ("family_name", &u.family_name),
        ("nickname", &u.nickname),
        ("picture", &u.picture),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    if u.phone_number.is_some() {
        o.insert("phone_verified".into(), json!(u.phone_verified));
    }
    o.insert("created_at".into(), json!(u.created_at));
    o.insert("updated_at".into(), json!(u.updated_at));
    o.insert(
        "identities".into(),
        json!([{
            "connection": u.connection_name,
            "user_id": u.local_id(),
            "provider": "auth0",
            "isSocial": false,
        }]),
    );
    o.insert("app_metadata".into(), Value::Object(u.app_metadata.clone()));
    o.insert(
        "user_metadata".into(),
        Value::Object(u.user_metadata.clone()),
    );
    if let Some(t) = &u.last_login {
        o.insert("last_login".into(), json!(t));
    }
    if let Some(ip) = &u.last_ip {
        o.insert("last_ip".into(), json!(ip));
    }
    o.insert("logins_count".into(), json!(u.logins_count));
    if u.blocked {
        o.insert("blocked".into(), json!(true));
    }
    Value::Object(o)
}

/// Keep only the listed top-level fields (`fields` + `include_fields=true`) or
/// drop them (`include_fields=false`).
pub fn project_fields(user: Value, fields: &[String], include: bool) -> Value {
    if fields.is_empty() {
        return user;
    }
    match user {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k) == include)
                .collect(),
        ),
        other => other,
    }
}

/// Profile fields a caller may set, validated. `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct ProfileFields {
    /// Lower-cased email.
    pub email: Option<String>,
    /// Email verified flag.
    pub email_verified: Option<bool>,
    /// Username, lower-cased ([`normalize_username`]).
    pub username: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Phone verified flag.
    pub phone_verified: Option<bool>,
    /// Name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Picture.
    pub picture: Option<String>,
    /// Blocked.
    pub blocked: Option<bool>,
    /// App metadata (validated keys).
    pub app_metadata: Option<JsonObject>,
    /// User metadata.
    pub user_metadata: Option<JsonObject>,
    /// Plain-text password (hashed by the caller, never stored as is).
    pub password: Option<String>,
    /// Connection name.
    pub connection: Option<String>,
    /// Requested local user id (create only).
    pub user_id: Option<String>,
}

/// Which request the fields come from; each allows a different set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileRequest {
    /// `POST /api/v2/users`.
    Create,
    /// `PATCH /api/v2/users/{id}`.
    Update,
}

const CREATE_ONLY: &[&str] = &["user_id", "verify_email"];
const UPDATE_ONLY: &[&str] = &[
    "verify_email",
    "verify_phone_number",
    "client_id",
    "verify_password",
];
const COMMON: &[&str] = &[
    "email",
    "email_verified",
    "username",
    "phone_number",
    "phone_verified",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "blocked",
    "app_metadata",
    "user_metadata",
    "password",
    "connection",
];

impl ProfileFields {
    /// Validate a JSON body. Unknown fields, wrong types and values out of
    /// range are refused with Auth0's "Payload validation error" wording.
    pub fn from_json(body: &Value, request: ProfileRequest) -> CoreResult<Self> {
        let Some(obj) = body.as_object() else {
            return Err(CoreError::invalid_body(
                "Payload validation error: 'Expected type object but found type ".to_string()
                    + json_type(body)
                    + "'.",
            ));
        };
        let extra = match request {
            ProfileRequest::Create => CREATE_ONLY,
            ProfileRequest::Update => UPDATE_ONLY,
        };
        for key in obj.keys() {
            if !COMMON.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
                return Err(CoreError::invalid_body(format!(
                    "Payload validation error: 'Additional properties not allowed: {key}'."
                )));
            }
        }
        // Refused on every backend alike, metadata included (PostgreSQL
        // cannot store U+0000 in text, nor index metadata holding it).
        let mut nul = None;
        find_nul(body, "", &mut |at| {
            nul.get_or_insert(at);
        });
        if let Some(at) = nul {
            return Err(CoreError::invalid_body(format!(
                "Payload validation error: text must not contain the NUL character (\\u0000) (at {at})."
            )));
        }
        let mut f = ProfileFields {
            email: opt_string(obj, "email", 1, 254)?,
            email_verified: opt_bool(obj, "email_verified")?,
            username: opt_string(obj, "username", 1, 128)?,
            phone_number: opt_string(obj, "phone_number", 1, 16)?,
            phone_verified: opt_bool(obj, "phone_verified")?,
            name: opt_string(obj, "name", 1, 300)?,
            given_name: opt_string(obj, "given_name", 1, 150)?,
            family_name: opt_string(obj, "family_name", 1, 150)?,
            nickname: opt_string(obj, "nickname", 1, 300)?,
            picture: opt_string(obj, "picture", 1, 2048)?,
            blocked: opt_bool(obj, "blocked")?,
            app_metadata: opt_object(obj, "app_metadata")?,
            user_metadata: opt_object(obj, "user_metadata")?,
            password: opt_string(obj, "password", 1, 1024)?,
            connection: opt_string(obj, "connection", 1, 128)?,
            user_id: opt_string(obj, "user_id", 1, 255)?,
        };
        for key in ["verify_email", "verify_phone_number", "verify_password"] {
            opt_bool(obj, key)?;
        }
        opt_string(obj, "client_id", 1, 128)?;
        if let Some(e) = &f.email {
            if !is_valid_email(e) {
                return Err(CoreError::invalid_body(format!(
                    "Payload validation error: 'Object didn't pass validation for format email: {e}' on property email (The user's email)."
                )));
            }
            f.email = Some(normalize_email(e));
        }
        if let Some(id) = &f.user_id {
            if id.chars().any(char::is_whitespace) {
                return Err(CoreError::invalid_body(
                    "Payload validation error: 'String does not match pattern ^\\S*$' on property user_id.",
                ));
            }
            // Accept the id with or without the provider prefix, as Auth0 does.
            if let Some(local) = id.strip_prefix("auth0|") {
                f.user_id = Some(local.to_string());
            }
        }
        if let Some(p) = &f.phone_number
            && !is_e164(p)
        {
            return Err(CoreError::invalid_body(
                "Payload validation error: 'String does not match pattern ^\\+[0-9]{1,15}$' on property phone_number.",
            ));
        }
        if let Some(u) = &f.username
            && !is_valid_username(u)
        {
            return Err(CoreError::invalid_body(
                "Payload validation error: the username may contain only letters, digits and _ - . + ! # $ ^ ` ~ ' @, and must not be an email address.",
            ));
        }
        f.username = f.username.as_deref().map(normalize_username);
        if let Some(m) = &f.app_metadata {
            check_metadata_keys(m, "app_metadata")?;
            if let Some(bad) = m
                .keys()
                .find(|k| FORBIDDEN_APP_METADATA_KEYS.contains(&k.as_str()))
            {
                return Err(CoreError::invalid_body(format!(
                    "Payload validation error: 'app_metadata' may not contain the reserved key '{bad}'."
                )));
            }
        }
        if let Some(m) = &f.user_metadata {
            check_metadata_keys(m, "user_metadata")?;
        }
        Ok(f)
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(key: &str, expected: &str, found: &Value) -> CoreError {
    CoreError::invalid_body(format!(
        "Payload validation error: 'Expected type {expected} but found type {}' on property {key}.",
        json_type(found)
    ))
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    min: usize,
    max: usize,
) -> CoreResult<Option<String>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n < min {
                Err(CoreError::invalid_body(format!(
                    "Payload validation error: 'String is too short ({n} chars), minimum {min}' on property {key}."
                )))
            } else if n > max {
                Err(CoreError::invalid_body(format!(
                    "Payload validation error: 'String is too long ({n} chars), maximum {max}' on property {key}."
                )))
            } else {
                Ok(Some(s.clone()))
            }
        }
        Some(other) => Err(type_error(key, "string", other)),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> CoreResult<Option<bool>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(type_error(key, "boolean", other)),
    }
}

fn opt_object(obj: &Map<String, Value>, key: &str) -> CoreResult<Option<JsonObject>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(other) => Err(type_error(key, "object", other)),
    }
}

/// Every place in `v` where text holds U+0000: a string value, or an
/// object key (then its value is not searched), each as a path from `path`
/// (`user_metadata.notes[1]`; control characters in keys escaped).
pub fn find_nul(v: &Value, path: &str, found: &mut dyn FnMut(String)) {
    match v {
        Value::String(s) if s.contains('\0') => found(path.to_string()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul(item, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(fields) => {
            for (key, value) in fields {
                let shown = if key.chars().any(char::is_control) {
                    key.escape_debug().to_string()
                } else {
                    key.clone()
                };
                let at = if path.is_empty() {
                    shown.to_string()
                } else {
                    format!("{path}.{shown}")
                };
                if key.contains('\0') {
                    found(at);
                } else {
                    find_nul(value, &at, found);
                }
            }
        }
        _ => {}
    }
}

/// The most `app_metadata` or `user_metadata` may hold, as JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

fn check_metadata_keys(m: &JsonObject, which: &str) -> CoreResult<()> {
    fn walk(v: &Value, which: &str) -> CoreResult<()> {
        if let Value::Object(m) = v {
            for (k, v) in m {
                if k.contains('.') || k.contains('$') {
                    return Err(CoreError::invalid_body(format!(
                        "Payload validation error: {which} key '{k}' must not contain '.' or '$'."
                    )));
                }
                walk(v, which)?;
            }
        }
        Ok(())
    }
    let size = serde_json::to_string(m).map(|s| s.len()).unwrap_or(0);
    if size > MAX_METADATA_BYTES {
        return Err(CoreError::invalid_body(format!(
            "Payload validation error: {which} is {size} bytes; the limit is {MAX_METADATA_BYTES}."
        )));
    }
    for (k, v) in m {
        if k.contains('.') || k.contains('$') {
            return Err(CoreError::invalid_body(format!(
                "Payload validation error: {which} key '{k}' must not contain '.' or '$'."
            )));
        }
        walk(v, which)?;
    }
    Ok(())
}

/// An email address as a bare addr-spec: a dot-atom local part (RFC 5322
/// `atext` and single inner dots) of 1–64 characters, `@`, a dotted domain
/// of letters, digits and hyphens, at most 254 characters; characters past
/// ASCII are allowed on both sides (internationalised addresses). No
/// display name, angle brackets, quotes, comments, commas or white space:
/// the address is where Tern sends mail, and a string such as
/// `"pay now at …" <victim@example.com>` would put someone's text in front
/// of any mailbox. Quoted local parts are refused (nobody uses them).
pub fn is_valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let label_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let dotted = |part: &str, ok: &dyn Fn(char) -> bool| {
        !part.is_empty()
            && part
                .split('.')
                .all(|piece| !piece.is_empty() && piece.chars().all(|c| ok(c) || !c.is_ascii()))
    };
    local.len() <= 64
        && e.len() <= 254
        && dotted(local, &atext)
        && dotted(domain, &label_char)
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.starts_with('-') && !label.ends_with('-'))
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_format_char(c))
}

/// Unicode's format characters (category Cf: U+200B zero-width space,
/// U+200E left-to-right mark, U+FEFF byte-order mark, …): invisible, so an
/// address holding one looks like another user's.
fn is_format_char(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
}

/// The form an email address is stored and looked up in: NFC, lower-cased.
/// Without NFC, `jos\u{e9}` and `jose\u{301}` (the same on screen) would be two
/// accounts. Lower-casing can leave a sequence that composes, hence NFC
/// once more after it.
pub fn normalize_email(e: &str) -> String {
    e.nfc().collect::<String>().to_lowercase().nfc().collect()
}

/// The form a username is stored in and compared by: lower-cased, as Auth0
/// stores them, so `Alice` and `alice` are one user of a connection.
/// Only ASCII letters are folded: Auth0's usernames are ASCII (see
/// [`is_valid_username`]), and the databases' `lower()` folds exactly these
/// (SQLite's always, PostgreSQL's under `COLLATE "C"`), so migration 0039
/// folded stored usernames the same way. A legacy store's non-ASCII
/// username keeps its other letters as given.
pub fn normalize_username(u: &str) -> String {
    folded_username(u).into_owned()
}

/// [`normalize_username`] without a copy when `u` is already in that form
/// (a login's lookup binds both spellings and most are typed lower-case).
pub fn folded_username(u: &str) -> Cow<'_, str> {
    if u.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(u.to_ascii_lowercase())
    } else {
        Cow::Borrowed(u)
    }
}

/// E.164: `+` and 1 to 15 digits.
pub fn is_e164(p: &str) -> bool {
    p.len() >= 2
        && p.len() <= 16
        && p.starts_with('+')
        && p[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Auth0's username alphabet: letters and digits without accents and
/// `_ - . + ! # $ ^ \` ~ ' @`, not an email address.
pub fn is_valid_username(u: &str) -> bool {
    u.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.+!#$^`~'@".contains(c))
        && !is_valid_email(u)
}

/// A connection's username rules: `requires_username` and
/// `validation.username {min, max}` (Auth0's default 1–15 when unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsernameRules {
    /// A new user must have a username.
    pub required: bool,
    /// Fewest characters.
    pub min: usize,
    /// Most characters.
    pub max: usize,
}

impl UsernameRules {
    /// Auth0's length bounds when the connection sets none.
    const DEFAULT_LENGTH: (usize, usize) = (1, 15);

    /// The rules a connection's options set.
    pub fn of(options: &JsonObject) -> Self {
        let length = options.get("validation").and_then(|v| v.get("username"));
        let bound = |key: &str, default: usize| {
            length
                .and_then(|l| l.get(key))
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(default)
        };
        let (min, max) = Self::DEFAULT_LENGTH;
        Self {
            required: options.get("requires_username").and_then(Value::as_bool) == Some(true),
            min: bound("min", min),
            max: bound("max", max),
        }
    }

    /// Check the username a request sets (`None`: it sets none). A new user
    /// (`creating`) of a connection that requires usernames must bring one.
    pub fn check(&self, username: Option<&str>, creating: bool) -> CoreResult<()> {
        let Some(u) = username else {
            return if creating && self.required {
                Err(CoreError::invalid_body(
                    "Payload validation error: 'Missing required property: username'.",
                ))
            } else {
                Ok(())
            };
        };
        let n = u.chars().count();
        let (min, max) = (self.min, self.max);
        if n < min {
            Err(CoreError::invalid_body(format!(
                "Payload validation error: 'String is too short ({n} chars), minimum {min}' on property username (the connection allows {min} to {max} characters)."
            )))
        } else if n > max {
            Err(CoreError::invalid_body(format!(
                "Payload validation error: 'String is too long ({n} chars), maximum {max}' on property username (the connection allows {min} to {max} characters)."
            )))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules_follow_the_connection() {
        let default = UsernameRules::of(&JsonObject::new());
        assert_eq!(
            default,
            UsernameRules {
                required: false,
                min: 1,
                max: 15
            }
        );
        assert!(default.check(None, true).is_ok());
        assert!(default.check(Some("fifteen_chars_x"), true).is_ok());
        let err = default.check(Some("sixteen_chars_xx"), false).unwrap_err();
        assert!(err.to_string().contains("maximum 15"), "{err}");
        let Value::Object(options) = json!({"requires_username": true,
            "validation": {"username": {"min": 3, "max": 20}}})
        else {
            unreachable!()
        };
        let rules = UsernameRules::of(&options);
        assert!(
            rules
                .check(None, true)
                .unwrap_err()
                .to_string()
                .contains("Missing required property: username")
        );
        assert!(
            rules.check(None, false).is_ok(),
            "an edit that sets no username"
        );
        assert!(
            rules
                .check(Some("ab"), true)
                .unwrap_err()
                .to_string()
                .contains("minimum 3")
        );
        assert!(rules.check(Some("sixteen_chars_xx"), true).is_ok());
    }

    #[test]
    fn rejects_unknown_fields_and_wrong_types() {
        let cases = [
            (
                json!({"connection": "c", "foo": 1}),
                "Additional properties not allowed: foo",
            ),
            (
                json!({"connection": 5}),
                "Expected type string but found type number",
            ),
            (json!({"email": "nope"}), "format email"),
            (
                json!({"app_metadata": {"email": "x"}}),
                "reserved key 'email'",
            ),
            (json!({"user_metadata": {"a.b": 1}}), "must not contain"),
            (
                json!({"app_metadata": {"a": ["x", "y\u{0}"]}}),
                "NUL character (\\u0000) (at app_metadata.a[1])",
            ),
            (
                json!({"user_metadata": {"k\u{0}": {"b": 1}}}),
                "NUL character (\\u0000) (at user_metadata.k\\0)",
            ),
            (json!({"name": "a\u{0}"}), "(at name)"),
            (json!({"phone_number": "123"}), "pattern"),
            (json!([1]), "Expected type object"),
        ];
        for (body, want) in cases {
            let err = ProfileFields::from_json(&body, ProfileRequest::Create).unwrap_err();
            assert!(err.to_string().contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn emails_with_invisible_characters_are_refused() {
        for bad in [
            "ad\u{200B}a@example.com",
            "\u{200E}ada@example.com",
            "ada@exam\u{FEFF}ple.com",
            "ada\u{2060}@example.com",
            "ada@example.com\u{AD}",
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn usernames_are_stored_lower_cased() {
        assert_eq!(normalize_username("Alice_B.42"), "alice_b.42");
        assert!(matches!(
            folded_username("alice_b.42"),
            Cow::Borrowed("alice_b.42")
        ));
        assert!(matches!(folded_username("Ünï"), Cow::Borrowed("Ünï")));
        assert_eq!(folded_username("ÜnïX"), "Ünïx");
        let f = ProfileFields::from_json(&json!({"username": "ALICE"}), ProfileRequest::Update)
            .unwrap();
        assert_eq!(f.username.as_deref(), Some("alice"));
    }

    #[test]
    fn emails_are_stored_composed_and_lower_cased() {
        assert_eq!(
            normalize_email("Jose\u{301}@Example.com"),
            "jos\u{e9}@example.com"
        );
        assert_eq!(
            normalize_email("JOS\u{c9}@example.com"),
            normalize_email("jose\u{301}@example.com")
        );
        let f = ProfileFields::from_json(
            &json!({"email": "Jose\u{301}@Example.com"}),
            ProfileRequest::Create,
        )
        .unwrap();
        assert_eq!(f.email.as_deref(), Some("jos\u{e9}@example.com"));
    }

    #[test]
    fn emails_are_bare_addresses() {
        for ok in [
            "ada@example.com",
            "first.last+tag@sub.example.co.uk",
            "o'neil@example.ie",
            "x_y-z@my-host.example",
            "jörg@bücher.example",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "\"pay now at https://evil.example\"<victim@example.com>",
            "Ada <ada@example.com>",
            "<b>hi</b>@example.com",
            "ada@example.com>",
            "a,b@example.com",
            "a(comment)@example.com",
            "a;b@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "ada@example",
            "ada@-.example",
            "ada@exa_mple.com",
            "ada@[127.0.0.1]",
            "ada @example.com",
            "@example.com",
            "ada@",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn lowercases_email_and_strips_prefix() {
        let f = ProfileFields::from_json(
            &json!({"email": "Ann@Example.COM", "user_id": "auth0|abc"}),
            ProfileRequest::Create,
        )
        .unwrap();
        assert_eq!(f.email.as_deref(), Some("ann@example.com"));
        assert_eq!(f.user_id.as_deref(), Some("abc"));
    }
}
