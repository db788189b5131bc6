//! How the `sql` connector reads a legacy password hash (`hash_format`):
//! one format for every row, or the format each row names — a column
//! holding the legacy system's name for its scheme, mapped to Tern's
//! formats — so one connection verifies bcrypt, phpass and salted SHA-256
//! rows side by side.
//!
//! A format is `"auto"` (any self-describing hash), a scheme name every
//! hash must have, an Auth0 `custom_password_hash` template (salt from a
//! column), or a `tern_password_hash` template (Magento 2, Keycloak,
//! vBulletin…) whose values may be read from columns: any `{"column": c}`
//! in it is replaced by that row's value of `c` (salt, iterations, a
//! username…). A per-row format is `{"column": …, "map": {name: format},
//! "default": format}`.

use base64::Engine as _;
use serde_json::{Map, Value};
use tern_hash::{Scheme, StoredHash};

use super::config::FIELD;
use super::db::{Cell, Row};

/// One way of reading a password column.
#[derive(Debug, Clone)]
pub enum Single {
    /// Any self-describing hash `tern-hash` recognises.
    Auto,
    /// A self-describing hash that must be of this scheme.
    Scheme(Scheme),
    /// An Auth0 `custom_password_hash` object whose `hash.value` is the
    /// password column and whose salt may come from a column.
    Custom {
        /// The object without `hash.value` (and without `salt.value` when
        /// the salt comes from a column).
        object: Map<String, Value>,
        /// The salt column, if any.
        salt_column: Option<String>,
    },
    /// A `tern_password_hash` object: the password column fills its main
    /// field (`hash`, or Keycloak's `secretData`) unless the template names
    /// a column for it, and each slot is filled from its column.
    Tern {
        /// The template, slots as written.
        object: Map<String, Value>,
        /// The hash's own field (`hash`, `secretData`): filled from
        /// `columns.password_hash` unless a slot names another column;
        /// empty means the user has no password.
        main: &'static str,
        /// `{"column": c}` places: dotted path → column.
        slots: Vec<(String, String)>,
    },
}

/// How the legacy password column is read.
#[derive(Debug, Clone)]
pub enum HashFormat {
    /// The same format for every row.
    One(Single),
    /// The format the row's scheme column names.
    PerRow {
        /// The column naming each row's scheme.
        column: String,
        /// Legacy name → format (names compared case-insensitively).
        map: Vec<(String, Single)>,
        /// For names the map lacks, and rows whose scheme column is empty.
        default: Option<Single>,
    },
}

/// Why a row's hash could not be read.
#[derive(Debug)]
pub enum Problem {
    /// A configured column is missing from the lookup query's result.
    Column(String),
    /// The row's values do not make a hash Tern reads.
    Hash(String),
}

/// Slots whose text values are integers (iteration counts, cost factors).
const INTEGER_SLOTS: &[&str] = &["iterations", "rounds", "mem_cost", "hashIterations"];

/// Parse `hash_format` (absent: `"auto"`).
pub fn parse(v: Option<&Value>) -> Result<HashFormat, String> {
    let field = format!("{FIELD}.hash_format");
    match v {
        Some(Value::Object(o)) if is_per_row(o) => per_row(o, &field),
        other => single(other, &field).map(HashFormat::One),
    }
}

fn is_per_row(o: &Map<String, Value>) -> bool {
    !o.contains_key("algorithm") && (o.contains_key("map") || o.contains_key("column"))
}

fn per_row(o: &Map<String, Value>, field: &str) -> Result<HashFormat, String> {
    const KEYS: [&str; 3] = ["column", "map", "default"];
    if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "{field}.{k} is not a setting of a per-row hash format (settings: column, map, default)."
        ));
    }
    let column = o
        .get("column")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            format!("{field}.column must name the column that holds each row's hash scheme.")
        })?;
    let entries = o
        .get("map")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            format!(
                "{field}.map must be an object from the legacy system's scheme names to formats, e.g. {{\"bcrypt\": \"auto\", \"wp\": \"phpass\"}}."
            )
        })?;
    let mut map: Vec<(String, Single)> = Vec::with_capacity(entries.len());
    for (name, v) in entries {
        let key = name.trim();
        let at = format!("{field}.map.{name}");
        if key.is_empty() {
            return Err(format!("{field}.map has an empty scheme name."));
        }
        if map.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(format!(
                "{at}: the name is given twice (names are compared without regard to case)."
            ));
        }
        if let Value::Object(inner) = v
            && is_per_row(inner)
        {
            return Err(format!(
                "{at} must be one format: a per-row format cannot hold another."
            ));
        }
        map.push((key.to_string(), single(Some(v), &at)?));
    }
    let default = match o.get("default") {
        None | Some(Value::Null) => None,
        Some(v) => Some(single(Some(v), &format!("{field}.default"))?),
    };
    Ok(HashFormat::PerRow {
        column: column.to_string(),
        map,
        default,
    })
}

fn single(v: Option<&Value>, field: &str) -> Result<Single, String> {
    match v {
        None | Some(Value::Null) => Ok(Single::Auto),
        Some(Value::String(s)) if s == "auto" => Ok(Single::Auto),
        Some(Value::String(s)) => Scheme::from_name(s).map(Single::Scheme).ok_or_else(|| {
            format!(
                "{field} \"{s}\" is neither \"auto\" nor a hash scheme Tern reads (e.g. bcrypt, argon2id, phpass, md5-crypt, sha512-crypt, django-pbkdf2-sha256, ldap-ssha, mysql41; `tern hash identify` names a hash's scheme), nor a custom_password_hash or tern_password_hash template object."
            )
        }),
        Some(Value::Object(obj)) => {
            let tern = obj
                .get("algorithm")
                .and_then(Value::as_str)
                .is_some_and(|a| tern_hash::tern_algorithms().contains(&a));
            if tern {
                tern_template(obj, field)
            } else {
                custom_template(obj, field)
            }
        }
        Some(_) => Err(format!(
            "{field} must be \"auto\", a hash scheme name, a custom_password_hash or tern_password_hash template object, or a per-row format {{\"column\": …, \"map\": {{…}}}}."
        )),
    }
}

/// An Auth0 `custom_password_hash` object used as a template: `hash.value`
/// is the password column; `salt` is `{"column": …}` or a fixed `{"value": …}`.
fn custom_template(obj: &Map<String, Value>, field: &str) -> Result<Single, String> {
    let mut object = obj.clone();
    if object
        .get("hash")
        .and_then(Value::as_object)
        .is_some_and(|h| h.contains_key("value"))
    {
        return Err(format!(
            "{field}.hash.value must be left out: the hash is read from columns.password_hash."
        ));
    }
    let mut salt_column = None;
    if let Some(salt) = object.get_mut("salt").and_then(Value::as_object_mut) {
        match (salt.remove("column"), salt.contains_key("value")) {
            (Some(Value::String(c)), false) if !c.trim().is_empty() => {
                salt_column = Some(c.trim().to_string());
            }
            (None, true) => {}
            (Some(_), true) | (None, false) => {
                return Err(format!(
                    "{field}.salt needs exactly one of \"column\" (the column holding each user's salt) and \"value\" (one salt for everyone)."
                ));
            }
            (Some(_), false) => {
                return Err(format!("{field}.salt.column must be a column name."));
            }
        }
    }
    // Check the rest of the object as tern-hash will read it at login, with
    // placeholder values where the columns go: errors about those values
    // can only be judged per user.
    let salt_probe = salt_column.as_ref().map(|_| probe(&object, "salt"));
    let filled = fill(&object, &probe(&object, "hash"), salt_probe.as_ref());
    if let Err(e) = StoredHash::from_custom(&filled) {
        let path = e
            .path
            .strip_prefix("custom_password_hash")
            .unwrap_or(&e.path);
        let from_column = path == ".hash.value" || (salt_column.is_some() && path == ".salt.value");
        if !from_column {
            return Err(format!("{field}{path}: {}", e.message));
        }
    }
    Ok(Single::Custom {
        object,
        salt_column,
    })
}

/// A `tern_password_hash` object used as a template.
fn tern_template(obj: &Map<String, Value>, field: &str) -> Result<Single, String> {
    let main_key = match obj.get("algorithm").and_then(Value::as_str) {
        Some("keycloak") => "secretData",
        _ => "hash",
    };
    let mut slots = Vec::new();
    collect_slots(obj, "", field, &mut slots)?;
    match obj.get(main_key) {
        None => {}
        Some(_) if slots.iter().any(|(p, _)| p == main_key) => {}
        Some(_) => {
            return Err(format!(
                "{field}.{main_key} must be left out (it is read from columns.password_hash) or name a column as {{\"column\": \"…\"}}."
            ));
        }
    }
    // Check the object with placeholders where columns go; errors about
    // those values can only be judged per user.
    let mut probe = obj.clone();
    probe.insert(main_key.into(), Value::String("x".into()));
    for (path, _) in &slots {
        let last = path.rsplit('.').next().unwrap_or(path);
        let value = if INTEGER_SLOTS.contains(&last) {
            Value::from(1)
        } else {
            Value::String("x".into())
        };
        put(&mut probe, path, value);
    }
    if let Err(e) = StoredHash::from_tern_object(&Value::Object(probe)) {
        let path = e.path.strip_prefix("tern_password_hash").unwrap_or(&e.path);
        let inner = path.strip_prefix('.').unwrap_or(path);
        let from_column = std::iter::once(main_key)
            .chain(slots.iter().map(|(p, _)| p.as_str()))
            .any(|p| inner == p || inner.starts_with(&format!("{p}.")));
        if !from_column {
            return Err(format!("{field}{path}: {}", e.message));
        }
    }
    Ok(Single::Tern {
        object: obj.clone(),
        main: main_key,
        slots,
    })
}

/// Every `{"column": "c"}` of a template, by dotted path.
fn collect_slots(
    obj: &Map<String, Value>,
    prefix: &str,
    field: &str,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for (k, v) in obj {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Value::Object(inner) = v else { continue };
        match inner.get("column") {
            Some(Value::String(c)) if inner.len() == 1 && !c.trim().is_empty() => {
                out.push((path, c.trim().to_string()));
            }
            Some(_) => {
                return Err(format!(
                    "{field}.{path} must be {{\"column\": \"<column name>\"}} (exactly that key) to be read from a column."
                ));
            }
            None => collect_slots(inner, &path, field, out)?,
        }
    }
    Ok(())
}

/// Set the value at a dotted path (the path exists: it came from the object).
fn put(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = obj.get_mut(head) {
                put(inner, rest, value);
            }
        }
    }
}

impl HashFormat {
    /// The columns this format reads besides `columns.password_hash`.
    #[cfg(test)]
    pub fn columns(&self) -> Vec<String> {
        let of = |s: &Single| -> Vec<String> {
            match s {
                Single::Custom { salt_column, .. } => salt_column.iter().cloned().collect(),
                Single::Tern { slots, .. } => slots.iter().map(|(_, c)| c.clone()).collect(),
                _ => Vec::new(),
            }
        };
        match self {
            HashFormat::One(s) => of(s),
            HashFormat::PerRow {
                column,
                map,
                default,
            } => std::iter::once(column.clone())
                .chain(map.iter().flat_map(|(_, s)| of(s)))
                .chain(default.iter().flat_map(of))
                .collect(),
        }
    }

    /// The stored hash of a row; `None` when the user has no password.
    pub fn read(&self, row: &Row, password: &Cell) -> Result<Option<StoredHash>, Problem> {
        match self {
            HashFormat::One(s) => s.read(row, password, "hash_format"),
            HashFormat::PerRow {
                column,
                map,
                default,
            } => {
                let name = cell(row, column, "hash_format.column")?
                    .text()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                let found = name.as_deref().and_then(|n| {
                    map.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(n))
                        .map(|(k, s)| (format!("hash_format.map.{k}"), s))
                });
                let (setting, format) = match (found, default) {
                    (Some(f), _) => f,
                    (None, Some(d)) => ("hash_format.default".to_string(), d),
                    (None, None) => {
                        let names = map.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>();
                        return Err(Problem::Hash(match name {
                            Some(n) => format!(
                                "hash_format.map: its scheme column '{column}' says '{n}', which hash_format.map does not name ({}) and there is no hash_format.default",
                                names.join(", ")
                            ),
                            None => format!(
                                "hash_format.map: its scheme column '{column}' is empty and there is no hash_format.default"
                            ),
                        }));
                    }
                };
                format.read(row, password, &setting)
            }
        }
    }
}

impl Single {
    fn read(
        &self,
        row: &Row,
        password: &Cell,
        setting: &str,
    ) -> Result<Option<StoredHash>, Problem> {
        let unreadable = |e: &dyn std::fmt::Display| Problem::Hash(format!("{setting}: {e}"));
        match self {
            Single::Auto | Single::Scheme(_) => {
                let Some(text) = password.text().filter(|t| !t.trim().is_empty()) else {
                    return Ok(None);
                };
                let hash = StoredHash::parse(&text).map_err(|e| unreadable(&e))?;
                if let Single::Scheme(want) = self
                    && hash.scheme() != *want
                {
                    return Err(unreadable(&format!("it is {}, not {want}", hash.scheme())));
                }
                Ok(Some(hash))
            }
            Single::Custom {
                object,
                salt_column,
            } => {
                let hash_is_text = object
                    .get("hash")
                    .and_then(|h| h.get("encoding"))
                    .and_then(Value::as_str)
                    .is_none_or(|e| e == "utf8");
                let Some(hash) = filled(password, hash_is_text) else {
                    return Ok(None);
                };
                let salt = match salt_column {
                    None => None,
                    Some(c) => {
                        let cell = cell(row, c, &format!("{setting}.salt.column"))?;
                        Some(
                            filled(cell, false)
                                .ok_or_else(|| unreadable(&"its salt column is empty"))?,
                        )
                    }
                };
                let object = fill(object, &hash, salt.as_ref());
                StoredHash::from_custom(&object)
                    .map(Some)
                    .map_err(|e| unreadable(&e))
            }
            Single::Tern {
                object,
                main,
                slots,
            } => {
                let mut o = object.clone();
                let mut main_value = None;
                for (path, column) in slots {
                    let c = cell(row, column, &format!("{setting}.{path}.column"))?;
                    let v = slot_value(c, path.rsplit('.').next().unwrap_or(path));
                    if path == main {
                        main_value = Some(v.clone());
                    }
                    put(&mut o, path, v);
                }
                let main_value = match main_value {
                    Some(v) => v,
                    None => {
                        let v = slot_value(password, main);
                        o.insert((*main).to_string(), v.clone());
                        v
                    }
                };
                if main_value.is_null() {
                    return Ok(None);
                }
                StoredHash::from_tern_object(&Value::Object(o))
                    .map(Some)
                    .map_err(|e| unreadable(&e))
            }
        }
    }
}

/// A column's value where a template names it: integers as numbers, text
/// as text (a digit string as a number where an integer goes), raw bytes
/// as base64 unless they are printable text. Empty: null.
fn slot_value(cell: &Cell, key: &str) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(n) => Value::from(*n),
        Cell::Float(f) => Value::from(*f),
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Bytes(b) => match std::str::from_utf8(b) {
            Ok(t) if !t.is_empty() && t.bytes().all(|c| (0x20..0x7f).contains(&c)) => {
                Value::String(t.trim().to_string())
            }
            _ if b.is_empty() => Value::Null,
            _ => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        },
        Cell::Text(t) => {
            let t = t.trim();
            if t.is_empty() {
                Value::Null
            } else if INTEGER_SLOTS.contains(&key)
                && let Ok(n) = t.parse::<u64>()
            {
                Value::from(n)
            } else {
                Value::String(t.to_string())
            }
        }
    }
}

/// A configured column of a row; its absence is a configuration error.
fn cell<'r>(row: &'r Row, column: &str, setting: &str) -> Result<&'r Cell, Problem> {
    row.get(column).ok_or_else(|| {
        Problem::Column(format!(
            "the lookup query returns no column '{column}' ({FIELD}.{setting}); it returns: {}",
            row.names()
        ))
    })
}

/// A value read from a column for a custom template: text as stored, or
/// raw bytes (a binary column) given as base64, which overrides the
/// template's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filled {
    /// Text, in the encoding the template names.
    Text(String),
    /// Raw bytes, base64-encoded by the connector.
    Base64(String),
}

/// A column value for a custom-hash template: text, or base64 of raw bytes.
/// `text_only`: the template reads this value as a string (bcrypt, argon2…).
pub fn filled(cell: &Cell, text_only: bool) -> Option<Filled> {
    match cell {
        Cell::Bytes(b) if !text_only => Some(Filled::Base64(
            base64::engine::general_purpose::STANDARD.encode(b),
        )),
        c => c
            .text()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(Filled::Text),
    }
}

/// The template with a user's values: `hash.value` and, with a salt column,
/// `salt.value`.
pub fn fill(object: &Map<String, Value>, hash: &Filled, salt: Option<&Filled>) -> Value {
    let mut o = object.clone();
    let mut put = |key: &str, value: &Filled| {
        let entry = o
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = entry.as_object_mut() {
            let text = match value {
                Filled::Text(t) => t,
                Filled::Base64(b) => {
                    m.insert("encoding".into(), Value::String("base64".into()));
                    b
                }
            };
            m.insert("value".into(), Value::String(text.clone()));
        }
    };
    put("hash", hash);
    if let Some(s) = salt {
        put("salt", s);
    }
    Value::Object(o)
}

/// A placeholder valid in the encoding a template names for `key`.
fn probe(object: &Map<String, Value>, key: &str) -> Filled {
    let encoding = object
        .get(key)
        .and_then(|v| v.get("encoding"))
        .and_then(Value::as_str);
    Filled::Text(
        match encoding {
            Some("hex") => "00",
            Some("base64") => "AA==",
            _ => "x",
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(cells: &[(&str, Cell)]) -> Row {
        Row(cells
            .iter()
            .map(|(n, c)| ((*n).to_string(), c.clone()))
            .collect())
    }

    const BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";

    fn mixed() -> HashFormat {
        parse(Some(&json!({"column": "kind", "map": {
            "BCRYPT": "bcrypt",
            "vb": {"algorithm": "vbulletin", "salt": {"column": "salt"}},
            "pb": {"algorithm": "discourse", "salt": {"column": "salt"}, "params": {"iterations": {"column": "n"}}}}})))
        .unwrap()
    }

    #[test]
    fn each_row_is_read_in_the_format_its_scheme_column_names() {
        let f = mixed();
        // Names match without regard to case.
        let r = row(&[("kind", Cell::Text("bcrypt".into()))]);
        let h = f.read(&r, &Cell::Text(BCRYPT.into())).unwrap().unwrap();
        assert_eq!(h.scheme().name(), "bcrypt");
        // A template slot: the salt column; an empty password is no password.
        let r = row(&[
            ("kind", Cell::Text("VB".into())),
            ("salt", Cell::Text("0PL".into())),
        ]);
        let h = f
            .read(&r, &Cell::Text("303b0edf622685df36a8c1684c9d5762".into()))
            .unwrap()
            .unwrap();
        assert_eq!(h.scheme().name(), "vbulletin-md5");
        assert!(f.read(&r, &Cell::Null).unwrap().is_none());
        // Iterations given as text digits become a number.
        let r = row(&[
            ("kind", Cell::Text("pb".into())),
            ("salt", Cell::Text("s".into())),
            ("n", Cell::Text("1000".into())),
        ]);
        let h = f.read(&r, &Cell::Text("00".repeat(32))).unwrap().unwrap();
        assert!(h.describe().contains("1000"), "{}", h.describe());
    }

    #[test]
    fn unknown_names_and_missing_columns_are_named() {
        let f = mixed();
        let r = row(&[("kind", Cell::Text("md4".into()))]);
        let Err(Problem::Hash(m)) = f.read(&r, &Cell::Text("x".into())) else {
            panic!("refused")
        };
        assert!(
            m.contains("says 'md4'") && m.contains("BCRYPT, vb, pb"),
            "{m}"
        );
        let r = row(&[("kind", Cell::Null)]);
        let Err(Problem::Hash(m)) = f.read(&r, &Cell::Text("x".into())) else {
            panic!("refused")
        };
        assert!(m.contains("is empty"), "{m}");
        let r = row(&[("kind", Cell::Text("vb".into()))]);
        let Err(Problem::Column(m)) = f.read(&r, &Cell::Text("x".into())) else {
            panic!("refused")
        };
        assert!(
            m.contains("no column 'salt' (options.tern_connector.hash_format.map.vb.salt.column)"),
            "{m}"
        );
        // A default reads the rest.
        let f = parse(Some(
            &json!({"column": "kind", "map": {"x": "phpass"}, "default": "auto"}),
        ))
        .unwrap();
        let r = row(&[("kind", Cell::Null)]);
        assert!(f.read(&r, &Cell::Text(BCRYPT.into())).unwrap().is_some());
    }

    #[test]
    fn templates_are_checked_where_they_do_not_depend_on_a_row() {
        for (v, want) in [
            (
                json!({"algorithm": "magento2", "hash": "abc"}),
                "hash_format.hash must be left out",
            ),
            (
                json!({"algorithm": "smf"}),
                "hash_format: Missing required property: params",
            ),
            (
                json!({"algorithm": "vbulletin", "salt": {"column": "s"}, "pepper": "x"}),
                "hash_format: Additional properties not allowed: pepper",
            ),
            (
                json!({"column": "k", "map": {"a": {"column": "j", "map": {}}}}),
                "hash_format.map.a must be one format",
            ),
            (
                json!({"column": "k", "map": {"a": 1}}),
                "hash_format.map.a must be",
            ),
        ] {
            let e = parse(Some(&v)).unwrap_err();
            assert!(e.contains(want), "{v}: {e}");
        }
        // Values that come from columns are judged per row, not here.
        assert!(parse(Some(&json!({"algorithm": "discourse", "salt": {"column": "s"}, "params": {"iterations": {"column": "n"}}}))).is_ok());
        assert!(
            parse(Some(
                &json!({"algorithm": "keycloak", "credentialData": {"column": "c"}})
            ))
            .is_ok()
        );
    }
}
