//! Writing users out: Auth0's export field paths, NDJSON lines and CSV rows
//! escaped against formula injection as Auth0 does.

use serde_json::{Map, Value};

use crate::model::ExportField;

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

/// CSV may not have more columns than this (Auth0: 30).
pub const MAX_CSV_FIELDS: usize = 30;

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
    format!("\"'{}\"", s.replace('"', "\"\""))
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
}
