//! A database connection's password rules, applied when a password is set
//! through Tern: Auth0's strength levels (`options.passwordPolicy`) and the
//! options beside them (`password_complexity_options.min_length`,
//! `password_dictionary`, `password_no_personal_info`, `password_history`).
//! Every way a password is
//! set goes through [`check_new_password`]. Passwords that arrive as legacy
//! hashes are not re-checked: users keep what they had.

use serde_json::{Map, Value};
use tern_hash::{CostLimits, StoredHash};

use crate::common_passwords::is_common_password;
use crate::model::User;
use crate::user_profile::ProfileFields;

/// What a connection asks of a new password, read from its options.
#[derive(Debug, Default, Clone)]
pub struct PasswordRules {
    /// `passwordPolicy`: `none`, `low`, `fair`, `good` or `excellent`.
    pub level: Option<String>,
    /// `password_complexity_options.min_length`, on top of the level's own length.
    pub min_length: Option<usize>,
    /// `password_dictionary.dictionary` (lower-cased) when `enable` is true;
    /// the most common passwords are refused then too (`common_passwords`).
    pub dictionary: Option<Vec<String>>,
    /// `password_no_personal_info.enable`.
    pub no_personal_info: bool,
    /// `password_history.size` when `enable` is true: how many of the user's
    /// last passwords (the current one included) may not be chosen again.
    pub history_size: usize,
}

impl PasswordRules {
    /// The rules of a connection with these `options`. Options are validated
    /// when the connection is saved; a malformed value here counts as unset.
    pub fn of(options: &Map<String, Value>) -> Self {
        let enabled = |key: &str| {
            options
                .get(key)
                .and_then(|o| o.get("enable"))
                .and_then(Value::as_bool)
                == Some(true)
        };
        let dictionary = enabled("password_dictionary").then(|| {
            options
                .get("password_dictionary")
                .and_then(|d| d.get("dictionary"))
                .and_then(Value::as_array)
                .map(|words| {
                    words
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_lowercase)
                        .collect()
                })
                .unwrap_or_default()
        });
        Self {
            level: options
                .get("passwordPolicy")
                .and_then(Value::as_str)
                .map(str::to_string),
            min_length: options
                .get("password_complexity_options")
                .and_then(|o| o.get("min_length"))
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            dictionary,
            no_personal_info: enabled("password_no_personal_info"),
            history_size: if enabled("password_history") {
                options
                    .get("password_history")
                    .and_then(|h| h.get("size"))
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0)
            } else {
                0
            },
        }
    }
}

/// Auth0's bounds on the connection options (its Management API schema).
pub const MIN_LENGTH_RANGE: std::ops::RangeInclusive<u64> = 1..=128;
/// `password_history.size`.
pub const HISTORY_SIZE_RANGE: std::ops::RangeInclusive<u64> = 0..=24;
/// `password_dictionary.dictionary`: entries, and characters per entry.
pub const MAX_DICTIONARY_ENTRIES: usize = 200;
/// Characters per dictionary entry.
pub const MAX_DICTIONARY_ENTRY_CHARS: usize = 50;

/// Check the password options of a connection's `options` against Auth0's
/// schema; `Err` names the property and what is wrong with it.
pub fn validate_options(options: &Map<String, Value>) -> Result<(), String> {
    if let Some(o) = option_object(options, "password_complexity_options", &["min_length"])? {
        integer_in(
            o,
            "password_complexity_options",
            "min_length",
            MIN_LENGTH_RANGE,
        )?;
    }
    if let Some(o) = option_object(options, "password_history", &["enable", "size"])? {
        require_enable(o, "password_history")?;
        integer_in(o, "password_history", "size", HISTORY_SIZE_RANGE)?;
    }
    if let Some(o) = option_object(options, "password_dictionary", &["enable", "dictionary"])? {
        require_enable(o, "password_dictionary")?;
        validate_dictionary(o.get("dictionary"))?;
    }
    if let Some(o) = option_object(options, "password_no_personal_info", &["enable"])? {
        require_enable(o, "password_no_personal_info")?;
    }
    Ok(())
}

/// The option `key` as an object holding only `allowed` keys; `None` when
/// absent or null (Auth0's schema allows null: no rule).
fn option_object<'a>(
    options: &'a Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<&'a Map<String, Value>>, String> {
    let Some(v) = options.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let o = v
        .as_object()
        .ok_or_else(|| format!("'options.{key}' must be an object or null."))?;
    if let Some(extra) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "'options.{key}.{extra}' is not a property Auth0 defines ({}).",
            allowed.join(", ")
        ));
    }
    Ok(Some(o))
}

fn require_enable(o: &Map<String, Value>, key: &str) -> Result<(), String> {
    match o.get("enable") {
        Some(Value::Bool(_)) => Ok(()),
        None => Err(format!("'options.{key}.enable' is required.")),
        Some(_) => Err(format!("'options.{key}.enable' must be a boolean.")),
    }
}

fn integer_in(
    o: &Map<String, Value>,
    key: &str,
    field: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<(), String> {
    match o.get(field) {
        None => Ok(()),
        Some(v) if v.as_u64().is_some_and(|n| range.contains(&n)) => Ok(()),
        Some(_) => Err(format!(
            "'options.{key}.{field}' must be an integer from {} to {}.",
            range.start(),
            range.end()
        )),
    }
}

fn validate_dictionary(words: Option<&Value>) -> Result<(), String> {
    let Some(words) = words else { return Ok(()) };
    let bad = || {
        format!(
            "'options.password_dictionary.dictionary' must be an array of at most {MAX_DICTIONARY_ENTRIES} strings of at most {MAX_DICTIONARY_ENTRY_CHARS} characters."
        )
    };
    let words = words.as_array().ok_or_else(bad)?;
    let fits = |w: &Value| {
        w.as_str()
            .is_some_and(|w| w.chars().count() <= MAX_DICTIONARY_ENTRY_CHARS)
    };
    if words.len() > MAX_DICTIONARY_ENTRIES || !words.iter().all(fits) {
        return Err(bad());
    }
    Ok(())
}

/// The profile values a password may not contain under
/// `password_no_personal_info`: email (its local part), username, name,
/// nickname, given and family name.
#[derive(Debug, Default, Clone, Copy)]
pub struct PersonalInfo<'a> {
    /// The email address; its local part is what is looked for.
    pub email: Option<&'a str>,
    /// The other profile values, as they are.
    pub values: [Option<&'a str>; 5],
}

impl<'a> PersonalInfo<'a> {
    /// A stored user's profile.
    pub fn of_user(u: &'a User) -> Self {
        Self {
            email: u.email.as_deref(),
            values: [
                u.username.as_deref(),
                u.name.as_deref(),
                u.nickname.as_deref(),
                u.given_name.as_deref(),
                u.family_name.as_deref(),
            ],
        }
    }

    /// The profile a user is being created with.
    pub fn of_fields(f: &'a ProfileFields) -> Self {
        Self {
            email: f.email.as_deref(),
            values: [
                f.username.as_deref(),
                f.name.as_deref(),
                f.nickname.as_deref(),
                f.given_name.as_deref(),
                f.family_name.as_deref(),
            ],
        }
    }

    /// The lower-cased values to look for in a password. Values shorter than
    /// [`MIN_PERSONAL_VALUE_CHARS`] are left out: a one- or two-letter nickname
    /// would otherwise refuse most passwords without making any safer.
    fn needles(&self) -> impl Iterator<Item = String> + '_ {
        let local_part = self.email.map(|e| e.rsplit_once('@').map_or(e, |(l, _)| l));
        std::iter::once(local_part)
            .chain(self.values.iter().copied())
            .flatten()
            .map(|v| v.trim().to_lowercase())
            .filter(|v| v.chars().count() >= MIN_PERSONAL_VALUE_CHARS)
    }
}

/// Profile values shorter than this are not looked for in passwords.
pub const MIN_PERSONAL_VALUE_CHARS: usize = 3;

/// Why a new password was refused, one variant per Auth0 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `PasswordStrengthError`: the level or `min_length` is not met (what is missing).
    TooWeak(String),
    /// `PasswordDictionaryError`: the password is in the connection's
    /// dictionary or among the most common passwords.
    TooCommon,
    /// `PasswordNoUserInfoError`: the password contains the user's profile data.
    UserInfo,
    /// `PasswordHistoryError`: the password is one of the user's last ones.
    Reused,
}

impl Refusal {
    /// Auth0's error name (`PasswordStrengthError`, …).
    pub fn auth0_name(&self) -> &'static str {
        match self {
            Self::TooWeak(_) => "PasswordStrengthError",
            Self::TooCommon => "PasswordDictionaryError",
            Self::UserInfo => "PasswordNoUserInfoError",
            Self::Reused => "PasswordHistoryError",
        }
    }

    /// The Management API's `errorCode` for it.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::TooWeak(_) => "password_strength_error",
            Self::TooCommon => "password_dictionary_error",
            Self::UserInfo => "password_no_user_info_error",
            Self::Reused => "password_history_error",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooWeak(m) => f.write_str(m),
            Self::TooCommon => f.write_str("Password is too common: choose one that is neither among the most common passwords nor in this connection's list of forbidden passwords."),
            Self::UserInfo => f.write_str("Password is based on user information: it must not contain the user's email (the part before @), username, name, nickname, given name or family name."),
            Self::Reused => f.write_str("Password has previously been used: choose one that is not among the last ones of this account."),
        }
    }
}

/// Check a new `password` against every rule of the connection: the level,
/// `min_length`, the dictionary, the user's personal info (`who`), then the
/// history: `recent` are the user's last credentials, current first (at most
/// `rules.history_size`; empty for a new user), verified within `limits`.
/// Each is a full hash verification, so this runs off the async runtime when
/// `recent` is not empty.
pub fn check_new_password(
    rules: &PasswordRules,
    password: &str,
    who: &PersonalInfo<'_>,
    recent: &[String],
    limits: &CostLimits,
) -> Result<(), Refusal> {
    check(rules.level.as_deref(), password).map_err(Refusal::TooWeak)?;
    check_min_length(rules.min_length, password).map_err(Refusal::TooWeak)?;
    if let Some(words) = &rules.dictionary
        && (in_dictionary(words, password) || is_common_password(password))
    {
        return Err(Refusal::TooCommon);
    }
    if rules.no_personal_info && contains_personal_info(who, password) {
        return Err(Refusal::UserInfo);
    }
    if used_before(recent, password, limits) {
        return Err(Refusal::Reused);
    }
    Ok(())
}

/// Whether `password` matches one of the `recent` credentials. One Tern
/// cannot read, or over the cost limits, is passed over: it is not computed
/// (the cost limits exist so a stored hash cannot make Tern work without
/// bound), and refusing every password for it would lock the user out.
fn used_before(recent: &[String], password: &str, limits: &CostLimits) -> bool {
    recent.iter().any(|stored| {
        StoredHash::parse(stored)
            .ok()
            .and_then(|h| h.verify(password, limits).ok())
            == Some(true)
    })
}

fn check_min_length(min_length: Option<usize>, password: &str) -> Result<(), String> {
    match min_length {
        Some(min) if password.chars().count() < min => Err(format!(
            "Password is too weak: at least {min} characters are required."
        )),
        _ => Ok(()),
    }
}

/// Auth0 matches dictionary entries against the whole password, ignoring case.
fn in_dictionary(words: &[String], password: &str) -> bool {
    let pw = password.to_lowercase();
    words.contains(&pw)
}

fn contains_personal_info(who: &PersonalInfo<'_>, password: &str) -> bool {
    let pw = password.to_lowercase();
    who.needles().any(|v| pw.contains(&v))
}

/// Which kinds of characters a level asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kinds {
    Any,
    /// Lower case letters, upper case letters and numbers (`fair`).
    LowerUpperDigits,
    /// At least 3 of lower case, upper case, numbers, special characters.
    ThreeOfFour,
}

/// What a `passwordPolicy` level asks for (Auth0's table).
struct Level {
    min_chars: usize,
    kinds: Kinds,
    /// No character more than twice in a row (`excellent`).
    no_triples: bool,
}

fn level(policy: Option<&str>) -> Level {
    let (min_chars, kinds, no_triples) = match policy.unwrap_or("none") {
        "low" => (6, Kinds::Any, false),
        "fair" => (8, Kinds::LowerUpperDigits, false),
        "good" => (8, Kinds::ThreeOfFour, false),
        "excellent" => (10, Kinds::ThreeOfFour, true),
        _ => (1, Kinds::Any, false),
    };
    Level {
        min_chars,
        kinds,
        no_triples,
    }
}

/// Check `password` against a `passwordPolicy` level; `Err` says what is missing.
fn check(policy: Option<&str>, password: &str) -> Result<(), String> {
    let level = level(policy);
    if password.chars().count() < level.min_chars {
        return Err(format!(
            "Password is too weak: at least {} characters are required.",
            level.min_chars
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    let n_classes = classes.iter().filter(|b| **b).count();
    let (kinds_ok, rule) = match level.kinds {
        Kinds::Any => (true, ""),
        Kinds::LowerUpperDigits => (
            classes[0] && classes[1] && classes[2],
            "lower case letters, upper case letters and numbers",
        ),
        Kinds::ThreeOfFour if level.no_triples => (
            n_classes >= 3 && !has_triple(password),
            "at least 3 of: lower case letters, upper case letters, numbers, special characters; no more than 2 identical characters in a row",
        ),
        Kinds::ThreeOfFour => (
            n_classes >= 3,
            "at least 3 of: lower case letters, upper case letters, numbers, special characters",
        ),
    };
    if kinds_ok {
        Ok(())
    } else {
        Err(format!("Password is too weak: it must contain {rule}."))
    }
}

/// One thing a connection's rules ask of a new password, for a page to say
/// in its own language before the user types (every rule, not only the
/// level: a hint that leaves rules out sends people into refusals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// At least this many characters (the level's or `min_length`, the larger).
    MinChars(usize),
    /// Lower case letters, upper case letters and numbers.
    LowerUpperDigits,
    /// At least 3 of: lower case, upper case, numbers, special characters.
    ThreeOfFourKinds,
    /// No character more than twice in a row.
    NoTriples,
    /// Not a common password nor one of the connection's forbidden ones.
    NotCommon,
    /// Nothing of the user's email, username or name.
    NoPersonalInfo,
    /// Not one of the user's last this many passwords (the current included).
    NotRecent(usize),
}

impl PasswordRules {
    /// What these rules ask, in the order a person meets them. A rule about
    /// the user's own past (`NotRecent`) only when `existing_user`.
    pub fn requirements(&self, existing_user: bool) -> Vec<Requirement> {
        let level = level(self.level.as_deref());
        let min_chars = level.min_chars.max(self.min_length.unwrap_or(0));
        let mut out = Vec::new();
        if min_chars > 1 {
            out.push(Requirement::MinChars(min_chars));
        }
        match level.kinds {
            Kinds::Any => {}
            Kinds::LowerUpperDigits => out.push(Requirement::LowerUpperDigits),
            Kinds::ThreeOfFour => out.push(Requirement::ThreeOfFourKinds),
        }
        if level.no_triples {
            out.push(Requirement::NoTriples);
        }
        if self.dictionary.is_some() {
            out.push(Requirement::NotCommon);
        }
        if self.no_personal_info {
            out.push(Requirement::NoPersonalInfo);
        }
        if existing_user && self.history_size > 0 {
            out.push(Requirement::NotRecent(self.history_size));
        }
        out
    }
}

fn has_triple(p: &str) -> bool {
    let c: Vec<char> = p.chars().collect();
    c.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

#[cfg(test)]
mod tests {
    use super::{PasswordRules, PersonalInfo, Refusal, Requirement, check, check_new_password};
    use tern_hash::CostLimits;

    #[test]
    fn requirements_name_every_rule_and_the_larger_length() {
        use Requirement::*;
        let options = |v: serde_json::Value| PasswordRules::of(v.as_object().unwrap());
        assert_eq!(options(serde_json::json!({})).requirements(true), []);
        let all = options(serde_json::json!({
            "passwordPolicy": "excellent",
            "password_complexity_options": {"min_length": 14},
            "password_dictionary": {"enable": true},
            "password_no_personal_info": {"enable": true},
            "password_history": {"enable": true, "size": 5},
        }));
        assert_eq!(
            all.requirements(true),
            [
                MinChars(14),
                ThreeOfFourKinds,
                NoTriples,
                NotCommon,
                NoPersonalInfo,
                NotRecent(5)
            ]
        );
        // A new user has no past passwords; the level's length wins over a
        // smaller min_length.
        let fair = options(serde_json::json!({
            "passwordPolicy": "fair",
            "password_complexity_options": {"min_length": 4},
            "password_history": {"enable": true, "size": 5},
        }));
        assert_eq!(fair.requirements(false), [MinChars(8), LowerUpperDigits]);
        // What each says agrees with what check refuses.
        assert!(check(Some("fair"), "Abcdefg1").is_ok());
        assert!(check(Some("fair"), "Abcdef1").is_err());
    }

    #[test]
    fn personal_info_ignores_case_and_very_short_values() {
        let rules = PasswordRules {
            no_personal_info: true,
            ..PasswordRules::default()
        };
        let who = PersonalInfo {
            email: Some("Jo.Smith@example.com"),
            values: [Some("ab"), None, None, Some("Smith"), None],
        };
        let run = |pw: &str| check_new_password(&rules, pw, &who, &[], &CostLimits::default());
        assert_eq!(run("xxJO.SMITHyy"), Err(Refusal::UserInfo));
        assert_eq!(run("i-am-SMITH"), Err(Refusal::UserInfo));
        // "ab" is under 3 characters; the email's domain is not looked for.
        assert_eq!(run("abacus-example.com"), Ok(()));
    }

    #[test]
    fn levels() {
        let cases = [
            (None, "a", true),
            (Some("low"), "abcde", false),
            (Some("low"), "abcdef", true),
            (Some("fair"), "abcdefgh", false),
            (Some("fair"), "abcDEF12", true),
            (Some("good"), "abcdefg1", false),
            (Some("good"), "abcdef1!", true),
            (Some("excellent"), "aaaBBB111!", false),
            (Some("excellent"), "abcBCD123!", true),
        ];
        for (policy, pw, ok) in cases {
            assert_eq!(check(policy, pw).is_ok(), ok, "{policy:?} {pw}");
        }
    }
}
