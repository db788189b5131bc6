//! Writing users out: Auth0's export field paths, NDJSON lines and CSV rows
//! escaped against formula injection as Auth0 does.

use std::cell::OnceCell;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::model::{ExportField, MetadataColumns, MetadataView, ProfileView, User};
use crate::user_profile::user_json;

/// The fields Auth0 exports when none are named.
pub const DEFAULT_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "username",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
    "blocked",
];

/// Fields by name, each exported under its own name (`DEFAULT_FIELDS` when
/// a request names none).
pub fn named(names: &[&str]) -> Vec<ExportField> {
    names
        .iter()
        .map(|n| ExportField {
            name: (*n).into(),
            export_as: None,
        })
        .collect()
}

/// CSV may not have more columns than this (Auth0: 30).
pub const MAX_CSV_FIELDS: usize = 30;

/// Nor an NDJSON export more fields than this (Auth0 states no bound; a
/// line holds each listed field once).
pub const MAX_JSON_FIELDS: usize = 100;

/// Fields Tern generates as ISO dates; CSV leaves them unescaped, as Auth0.
const DATE_FIELDS: &[&str] = &["created_at", "updated_at", "last_login"];

/// Look up `a.b[0].c` in a JSON value.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// Check a field list for a format; returns the reason it cannot be used.
pub fn check_fields(format: &str, fields: &[ExportField]) -> Result<(), String> {
    for f in fields {
        if f.name.is_empty()
            || f.name.len() > 100
            || f.export_as.as_ref().is_some_and(|e| e.len() > 100)
        {
            return Err(
                "each field needs a name of 1 to 100 characters (export_as at most 100)".into(),
            );
        }
    }
    if fields.len() > MAX_JSON_FIELDS {
        return Err(format!("exports allow at most {MAX_JSON_FIELDS} fields"));
    }
    // A field listed twice under other names would copy it into every line
    // again: a few thousand copies of a metadata object made an export of a
    // thousand users take a gigabyte.
    for (i, f) in fields.iter().enumerate() {
        if fields[..i].iter().any(|g| g.name == f.name) {
            return Err(format!("the field '{}' is listed more than once", f.name));
        }
    }
    if format == "csv" {
        if fields.len() > MAX_CSV_FIELDS {
            return Err(format!("CSV exports allow at most {MAX_CSV_FIELDS} fields"));
        }
        if let Some(f) = fields.iter().find(|f| {
            f.name == "app_metadata" || f.name == "user_metadata" || f.name == "identities"
        }) {
            return Err(format!(
                "CSV exports cannot hold the whole object '{}': list its leaf paths, or use format json",
                f.name
            ));
        }
    }
    Ok(())
}

/// The header line of a CSV export.
pub fn csv_header(fields: &[ExportField]) -> String {
    fields
        .iter()
        .map(|f| csv_string(f.export_as.as_deref().unwrap_or(&f.name)))
        .collect::<Vec<_>>()
        .join(",")
}

/// One CSV row.
pub fn csv_row(user: &Value, fields: &[ExportField]) -> String {
    fields
        .iter()
        .map(|f| match lookup(user, &f.name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) if DATE_FIELDS.contains(&f.name.as_str()) => s.clone(),
            Some(Value::String(s)) => csv_string(s),
            Some(other @ (Value::Object(_) | Value::Array(_))) => csv_string(&other.to_string()),
            Some(other) => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Auth0's CSV-injection escaping (OWASP): quotes doubled, a leading `'`,
/// wrapped in double quotes — so `=HYPERLINK(...)` is text, not a formula.
pub fn csv_string(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 4);
    push_csv_string(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

/// [`csv_string`] appended to `out`, without an allocation per cell.
fn push_csv_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(b"\"'");
    for part in s.split('"').enumerate() {
        if part.0 > 0 {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(part.1.as_bytes());
    }
    out.push(b'"');
}

/// One NDJSON line with the selected fields under their export names.
pub fn json_line(user: &Value, fields: &[ExportField]) -> String {
    let mut o = Map::new();
    for f in fields {
        if let Some(v) = lookup(user, &f.name).filter(|v| !v.is_null()) {
            o.insert(
                f.export_as.clone().unwrap_or_else(|| f.name.clone()),
                v.clone(),
            );
        }
    }
    Value::Object(o).to_string()
}

/// A profile field an export reads straight from the [`User`], as
/// `user_json` would render it.
#[derive(Debug, Clone, Copy)]
enum Column {
    UserId,
    Email,
    EmailVerified,
    Username,
    PhoneNumber,
    PhoneVerified,
    Name,
    GivenName,
    FamilyName,
    Nickname,
    Picture,
    CreatedAt,
    UpdatedAt,
    LastLogin,
    LastIp,
    LoginsCount,
    Blocked,
}

impl Column {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "user_id" => Self::UserId,
            "email" => Self::Email,
            "email_verified" => Self::EmailVerified,
            "username" => Self::Username,
            "phone_number" => Self::PhoneNumber,
            "phone_verified" => Self::PhoneVerified,
            "name" => Self::Name,
            "given_name" => Self::GivenName,
            "family_name" => Self::FamilyName,
            "nickname" => Self::Nickname,
            "picture" => Self::Picture,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "last_login" => Self::LastLogin,
            "last_ip" => Self::LastIp,
            "logins_count" => Self::LoginsCount,
            "blocked" => Self::Blocked,
            _ => return None,
        })
    }

    /// The value, or `None` where `user_json` leaves the field out.
    fn cell<'a>(self, u: &ProfileView<'a>) -> Option<Cell<'a>> {
        fn text(v: Option<&str>) -> Option<Cell<'_>> {
            v.map(Cell::Text)
        }
        match self {
            Self::UserId => Some(Cell::Text(u.user_id)),
            Self::Email => text(u.email),
            Self::EmailVerified => Some(Cell::Bool(u.email_verified)),
            Self::Username => text(u.username),
            Self::PhoneNumber => text(u.phone_number),
            Self::PhoneVerified => u.phone_number.map(|_| Cell::Bool(u.phone_verified)),
            Self::Name => text(u.name),
            Self::GivenName => text(u.given_name),
            Self::FamilyName => text(u.family_name),
            Self::Nickname => text(u.nickname),
            Self::Picture => text(u.picture),
            Self::CreatedAt => Some(Cell::Text(u.created_at)),
            Self::UpdatedAt => Some(Cell::Text(u.updated_at)),
            Self::LastLogin => text(u.last_login),
            Self::LastIp => text(u.last_ip),
            Self::LoginsCount => Some(Cell::Int(u.logins_count)),
            Self::Blocked => u.blocked.then_some(Cell::Bool(true)),
        }
    }
}

/// One value of a line.
enum Cell<'a> {
    Text(&'a str),
    Bool(bool),
    Int(i64),
    Json(&'a Value),
}

/// Where a field's value comes from, decided once per export.
enum Source {
    Column(Column),
    /// A path below `app_metadata` (`true`) or `user_metadata`.
    Metadata(bool, String),
    /// Anything else (`identities[0].connection`, a whole metadata object):
    /// looked up in the user's JSON document.
    Document(String),
}

impl Source {
    fn of(path: &str) -> Self {
        if let Some(c) = Column::named(path) {
            return Self::Column(c);
        }
        for (prefix, app) in [("app_metadata.", true), ("user_metadata.", false)] {
            if let Some(rest) = path.strip_prefix(prefix)
                && !rest.is_empty()
                && !rest.starts_with('.')
            {
                return Self::Metadata(app, rest.to_string());
            }
        }
        Self::Document(path.to_string())
    }
}

/// Writes export lines straight from users: the profile's own fields are
/// read from the [`User`] or a store's row ([`ProfileView`]) and metadata
/// paths from its objects — parsed maps, or stored JSON text of which only
/// the first keys the fields name are decoded — so a user costs no JSON
/// document unless a field needs one (`identities…`). Output is byte for
/// byte what [`json_line`] and [`csv_row`] make of `user_json` (the tests
/// compare them); an export of a million users spent most of its CPU
/// building and dropping those documents.
pub struct LineWriter {
    csv: bool,
    fields: Vec<WriterField>,
    needs_document: bool,
    /// Two fields under one NDJSON name: the general path decides.
    general: Option<Vec<ExportField>>,
    /// The first keys the fields read below `app_metadata`.
    app_heads: Vec<String>,
    /// The first keys the fields read below `user_metadata`.
    user_heads: Vec<String>,
}

struct WriterField {
    source: Source,
    /// NDJSON: the quoted name and colon; CSV: unused.
    key: Vec<u8>,
    /// CSV leaves Tern's ISO dates unescaped, as Auth0.
    date: bool,
}

impl LineWriter {
    /// A writer for `fields` in `format` (`csv`, else NDJSON).
    pub fn new(format: &str, fields: &[ExportField]) -> Self {
        let csv = format == "csv";
        let name = |f: &ExportField| f.export_as.clone().unwrap_or_else(|| f.name.clone());
        let mut names: Vec<String> = fields.iter().map(name).collect();
        names.sort();
        names.dedup();
        let general = (!csv && names.len() != fields.len()).then(|| fields.to_vec());
        let fields: Vec<WriterField> = fields
            .iter()
            .map(|f| {
                let mut key = serde_json::to_vec(&name(f)).unwrap_or_default();
                key.push(b':');
                WriterField {
                    source: Source::of(&f.name),
                    key,
                    date: DATE_FIELDS.contains(&f.name.as_str()),
                }
            })
            .collect();
        let needs_document = general.is_some()
            || fields
                .iter()
                .any(|f| matches!(f.source, Source::Document(_)));
        let heads = |of_app: bool| {
            let mut heads: Vec<String> = fields
                .iter()
                .filter_map(|f| match &f.source {
                    Source::Metadata(app, path) if *app == of_app => {
                        Some(split_head(path).0.to_string())
                    }
                    _ => None,
                })
                .collect();
            heads.sort();
            heads.dedup();
            heads
        };
        Self {
            csv,
            app_heads: heads(true),
            user_heads: heads(false),
            fields,
            needs_document,
            general,
        }
    }

    /// Whether every field is a profile column or a path below a metadata
    /// object: the lines can be written from a [`ProfileView`] holding the
    /// [`metadata_columns`](Self::metadata_columns)
    /// ([`write_profile`](Self::write_profile)), so the store reads no
    /// credential, identities or MFA factors and builds no `User`.
    pub fn from_profiles(&self) -> bool {
        !self.needs_document
    }

    /// The metadata objects the fields read.
    pub fn metadata_columns(&self) -> MetadataColumns {
        MetadataColumns {
            app: !self.app_heads.is_empty(),
            user: !self.user_heads.is_empty(),
        }
    }

    /// Append `u`'s line, newline included, to `out`.
    pub fn write(&self, u: &User, out: &mut Vec<u8>) {
        let document = self.needs_document.then(|| user_json(u));
        if let (Some(fields), Some(doc)) = (&self.general, &document) {
            out.extend_from_slice(json_line(doc, fields).as_bytes());
            out.push(b'\n');
            return;
        }
        self.write_line(&u.profile(), document.as_ref(), out);
    }

    /// Append the line of a user's profile, newline included, to `out`:
    /// for a writer whose fields a profile holds
    /// ([`from_profiles`](Self::from_profiles)); other fields, and
    /// metadata the view does not hold, are left out.
    pub fn write_profile(&self, p: &ProfileView<'_>, out: &mut Vec<u8>) {
        self.write_line(p, None, out);
    }

    /// The line of `p`, with `document`'s values for the fields only a
    /// user's JSON document holds.
    fn write_line(&self, p: &ProfileView<'_>, document: Option<&Value>, out: &mut Vec<u8>) {
        // Stored metadata text is decoded at the first field that reads it,
        // and only under the keys the fields name.
        let app = OnceCell::new();
        let user = OnceCell::new();
        self.write_cells(out, |source| match source {
            Source::Column(c) => c.cell(p),
            Source::Metadata(true, path) => {
                metadata_value(p.app_metadata, &self.app_heads, &app, path).map(Cell::Json)
            }
            Source::Metadata(false, path) => {
                metadata_value(p.user_metadata, &self.user_heads, &user, path).map(Cell::Json)
            }
            Source::Document(path) => document.and_then(|d| lookup(d, path)).map(Cell::Json),
        });
    }

    /// The line of the cells `cell` gives for each field's source.
    fn write_cells<'u>(&self, out: &mut Vec<u8>, cell: impl Fn(&Source) -> Option<Cell<'u>>) {
        let mut first = true;
        if !self.csv {
            out.push(b'{');
        }
        for f in &self.fields {
            let cell = cell(&f.source).filter(|c| !matches!(c, Cell::Json(Value::Null)));
            if self.csv {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_csv_cell(out, cell, f.date);
            } else if let Some(cell) = cell {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(&f.key);
                write_json_cell(out, &cell);
            }
        }
        if !self.csv {
            out.push(b'}');
        }
        out.push(b'\n');
    }
}

/// `path` below a metadata object as a profile holds it; stored text is
/// decoded into `parsed` once, under `heads` only.
fn metadata_value<'v>(
    view: MetadataView<'v>,
    heads: &[String],
    parsed: &'v OnceCell<Map<String, Value>>,
    path: &str,
) -> Option<&'v Value> {
    match view {
        MetadataView::Absent => None,
        MetadataView::Map(map) => lookup_in(map, path),
        MetadataView::Text(text) => lookup_in(parsed.get_or_init(|| only_heads(text, heads)), path),
    }
}

/// The members of the JSON object `text` named in `heads`, the others
/// skipped undecoded; empty when `text` is not a JSON object, as the
/// store's decoding of a whole object would be.
fn only_heads(text: &str, heads: &[String]) -> Map<String, Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    match OnlyHeads(heads).deserialize(&mut de) {
        Ok(map) if de.end().is_ok() => map,
        _ => Map::new(),
    }
}

/// Reads an object's members named in its list (the last of a repeated
/// one, as a whole parse keeps), skipping the others' values.
struct OnlyHeads<'h>(&'h [String]);

impl<'de> DeserializeSeed<'de> for OnlyHeads<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OnlyHeads<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(head) = members.next_key_seed(HeadIndex(self.0))? {
            match head {
                Some(i) => {
                    out.insert(self.0[i].clone(), members.next_value::<Value>()?);
                }
                None => {
                    members.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A member's name as its index in the list, without allocating it.
struct HeadIndex<'h>(&'h [String]);

impl<'de> DeserializeSeed<'de> for HeadIndex<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for HeadIndex<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|h| h == name))
    }
}

/// A metadata path's first key and the rest (`tags[1].b`: `tags`, `[1].b`).
fn split_head(path: &str) -> (&str, Option<&str>) {
    match path.find(['.', '[']) {
        Some(i) => (&path[..i], Some(&path[i..])),
        None => (path, None),
    }
}

/// `path` looked up below a metadata map (`a.b[0]`).
fn lookup_in<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (head, rest) = split_head(path);
    let v = map.get(head)?;
    match rest {
        None => Some(v),
        // `lookup` reads `[i]` and `.k` from a value; a leading `.` names
        // an empty first key, which it skips.
        Some(rest) => lookup(v, rest.strip_prefix('.').unwrap_or(rest)),
    }
}

fn write_json_cell(out: &mut Vec<u8>, cell: &Cell<'_>) {
    // Writing into a Vec cannot fail.
    let _ = match cell {
        Cell::Text(s) => serde_json::to_writer(&mut *out, s),
        Cell::Bool(b) => serde_json::to_writer(&mut *out, b),
        Cell::Int(n) => serde_json::to_writer(&mut *out, n),
        Cell::Json(v) => serde_json::to_writer(&mut *out, v),
    };
}

fn write_csv_cell(out: &mut Vec<u8>, cell: Option<Cell<'_>>, date: bool) {
    match cell {
        None => {}
        Some(Cell::Text(s)) if date => out.extend_from_slice(s.as_bytes()),
        Some(Cell::Text(s)) => push_csv_string(out, s),
        Some(Cell::Json(Value::String(s))) if date => out.extend_from_slice(s.as_bytes()),
        Some(Cell::Json(Value::String(s))) => push_csv_string(out, s),
        Some(Cell::Json(v @ (Value::Object(_) | Value::Array(_)))) => {
            push_csv_string(out, &v.to_string());
        }
        Some(Cell::Json(v)) => write_json_cell(out, &Cell::Json(v)),
        Some(Cell::Bool(b)) => write_json_cell(out, &Cell::Bool(b)),
        Some(Cell::Int(n)) => write_json_cell(out, &Cell::Int(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_is_escaped_against_formulas() {
        let fields = vec![
            ExportField {
                name: "email".into(),
                export_as: None,
            },
            ExportField {
                name: "identities[0].connection".into(),
                export_as: Some("provider".into()),
            },
            ExportField {
                name: "created_at".into(),
                export_as: None,
            },
            ExportField {
                name: "logins_count".into(),
                export_as: None,
            },
            ExportField {
                name: "user_metadata.x".into(),
                export_as: None,
            },
        ];
        let u = json!({"email": "a@b.co", "identities": [{"connection": "db"}], "created_at": "2024-01-01T00:00:00.000Z",
                       "logins_count": 3, "user_metadata": {"x": "=HYPERLINK(\"evil\")"}});
        assert_eq!(
            csv_header(&fields),
            "\"'email\",\"'provider\",\"'created_at\",\"'logins_count\",\"'user_metadata.x\""
        );
        assert_eq!(
            csv_row(&u, &fields),
            "\"'a@b.co\",\"'db\",2024-01-01T00:00:00.000Z,3,\"'=HYPERLINK(\"\"evil\"\")\""
        );
        assert_eq!(
            json_line(&u, &fields[..2]),
            r#"{"email":"a@b.co","provider":"db"}"#
        );
    }

    fn user(n: usize) -> User {
        let some = |v: &str| (n.is_multiple_of(2)).then(|| v.to_string());
        let meta = |v: Value| v.as_object().cloned().unwrap_or_default();
        User {
            user_id: format!("auth0|u{n}"),
            connection_id: "con_1".into(),
            connection_name: "Username-Password-Authentication".into(),
            email: (!n.is_multiple_of(3)).then(|| format!("u{n}@example.com")),
            email_verified: n.is_multiple_of(4),
            username: some("ann \"the\" user"),
            phone_number: (n % 5 == 1).then(|| "+15550100".to_string()),
            phone_verified: n % 2 == 1,
            name: some("Ann, Lee"),
            given_name: some("Ann"),
            family_name: (n % 3 == 1).then(|| "=cmd|' /C calc'!A0".to_string()),
            nickname: some("ann\n\u{1F600}"),
            picture: None,
            blocked: n % 3 == 2,
            app_metadata: meta(
                json!({"plan": if n.is_multiple_of(2) { json!("pro") } else { Value::Null },
                "tags": ["a", {"b": n}], "n": n, "ok": true}),
            ),
            user_metadata: if n.is_multiple_of(2) {
                meta(json!({"lang": "fr", "x": {"y": "z"}}))
            } else {
                Map::new()
            },
            created_at: "2024-01-01T00:00:00.000Z".into(),
            updated_at: "2024-01-02T00:00:00.000Z".into(),
            last_login: (n % 2 == 1).then(|| "2024-02-01T00:00:00.000Z".to_string()),
            last_ip: some("203.0.113.9"),
            logins_count: n as i64,
            credential: None,
            source: crate::model::UserSource::BulkImport,
            mfa_factors: Vec::new(),
        }
    }

    /// Profile columns and metadata paths are written from profiles;
    /// identities, whole metadata objects and repeated names need users.
    #[test]
    fn from_profiles_when_every_field_is_a_column_or_metadata_path() {
        let fields = named;
        let writer = LineWriter::new("json", &fields(DEFAULT_FIELDS));
        assert!(writer.from_profiles());
        assert_eq!(writer.metadata_columns(), MetadataColumns::default());
        assert!(LineWriter::new("csv", &fields(&["email", "last_ip"])).from_profiles());
        for (extra, app, user) in [
            ("app_metadata.plan", true, false),
            ("user_metadata.x.y", false, true),
            ("user_metadata.tags[0]", false, true),
        ] {
            let mut f = fields(DEFAULT_FIELDS);
            f.push(fields(&[extra]).remove(0));
            for format in ["json", "csv"] {
                let writer = LineWriter::new(format, &f);
                assert!(writer.from_profiles(), "{extra}");
                assert_eq!(writer.metadata_columns(), MetadataColumns { app, user });
            }
        }
        for extra in ["user_metadata", "identities[0].connection", "nope"] {
            let mut f = fields(DEFAULT_FIELDS);
            f.push(fields(&[extra]).remove(0));
            assert!(!LineWriter::new("json", &f).from_profiles(), "{extra}");
            assert!(!LineWriter::new("csv", &f).from_profiles(), "{extra}");
        }
        let twice = vec![
            ExportField {
                name: "email".into(),
                export_as: Some("x".into()),
            },
            ExportField {
                name: "app_metadata.plan".into(),
                export_as: Some("x".into()),
            },
        ];
        assert!(!LineWriter::new("json", &twice).from_profiles());
    }

    /// Stored metadata text is read as a whole parse would read it: member
    /// names written with escapes, repeated members (the last counts),
    /// and text that is no object (nothing).
    #[test]
    fn metadata_text_reads_as_a_whole_parse() {
        let heads = vec!["plan".to_string(), "a\"b".to_string()];
        let text =
            r#"{"\u0070lan":"free","skip":{"deep":[1,2,{"plan":0}]},"a\"b":1.50,"plan":"pro"}"#;
        let whole: Map<String, Value> = serde_json::from_str(text).unwrap();
        let only = only_heads(text, &heads);
        assert_eq!(only.len(), 2);
        for h in &heads {
            assert_eq!(only.get(h), whole.get(h), "{h}");
        }
        for bad in ["[1]", "\"plan\"", "{\"plan\":", "{\"plan\":1} x", ""] {
            assert!(only_heads(bad, &heads).is_empty(), "{bad}");
        }
    }

    /// The direct writer makes exactly what the general path makes of the
    /// user's JSON document, for every kind of field.
    #[test]
    fn line_writer_matches_the_document_path() {
        let field = |name: &str, export_as: Option<&str>| ExportField {
            name: name.into(),
            export_as: export_as.map(str::to_string),
        };
        let mut all: Vec<ExportField> = DEFAULT_FIELDS.iter().map(|n| field(n, None)).collect();
        all.extend([
            field("phone_number", None),
            field("phone_verified", Some("pv")),
            field("last_ip", None),
            field("app_metadata.plan", Some("plan")),
            field("app_metadata.tags[1].b", None),
            field("app_metadata.tags[0]", None),
            field("app_metadata.n", None),
            field("app_metadata.ok", None),
            field("app_metadata.missing.deep", None),
            field("user_metadata.x.y", None),
            field("user_metadata.x", None),
            field("identities[0].connection", Some("conn")),
            field("nope", None),
        ]);
        let mut json_only = all.clone();
        json_only.extend([
            field("app_metadata", None),
            field("user_metadata", None),
            field("identities", None),
        ]);
        let duplicated = vec![
            field("email", Some("x")),
            field("name", Some("x")),
            field("user_id", None),
        ];
        let mut profile: Vec<ExportField> = DEFAULT_FIELDS.iter().map(|n| field(n, None)).collect();
        profile.extend([
            field("phone_number", Some("phone")),
            field("phone_verified", None),
            field("last_ip", None),
            field("app_metadata.plan", Some("plan")),
            field("app_metadata.tags[1].b", None),
            field("app_metadata.tags[0]", None),
            field("app_metadata.missing.deep", None),
            field("user_metadata.x.y", None),
            field("user_metadata.x", None),
            field("user_metadata.lang", Some("language")),
        ]);
        for n in 0..12 {
            let u = user(n);
            let doc = user_json(&u);
            // A store's borrowed profile, its metadata as stored text or
            // parsed maps: the same lines as the document path.
            let app_text = Value::Object(u.app_metadata.clone()).to_string();
            let user_text = Value::Object(u.user_metadata.clone()).to_string();
            let mut stored = u.profile();
            stored.app_metadata = MetadataView::Text(&app_text);
            stored.user_metadata = MetadataView::Text(&user_text);
            for format in ["csv", "json"] {
                let writer = LineWriter::new(format, &profile);
                assert!(writer.from_profiles());
                let expected = if format == "csv" {
                    csv_row(&doc, &profile)
                } else {
                    json_line(&doc, &profile)
                };
                for (view, how) in [(u.profile(), "parsed"), (stored, "stored")] {
                    let mut out = Vec::new();
                    writer.write_profile(&view, &mut out);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        expected.clone() + "\n",
                        "user {n}, {format}, profile, metadata {how}"
                    );
                }
            }
            for (format, fields) in [
                ("csv", &all),
                ("json", &json_only),
                ("json", &duplicated),
                ("csv", &duplicated),
            ] {
                let mut out = Vec::new();
                LineWriter::new(format, fields).write(&u, &mut out);
                let expected = if format == "csv" {
                    csv_row(&doc, fields)
                } else {
                    json_line(&doc, fields)
                };
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    expected + "\n",
                    "user {n}, {format}"
                );
            }
        }
    }
}
