//! JSON-schema-style checks that report Auth0's import error codes and
//! dot paths.

use serde_json::{Map, Value};

use super::ROOT;
use crate::CustomHashError;
use crate::HashError;
use crate::encoding::{b64_decode_node, hex_decode};

/// Build an error.
pub(super) fn err(
    code: &'static str,
    path: impl Into<String>,
    message: impl Into<String>,
) -> CustomHashError {
    CustomHashError {
        code,
        path: path.into(),
        message: message.into(),
    }
}

/// JSON-schema type name of a value (`integer` for integral numbers).
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if as_integer(n).is_some() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An integral JSON number (JavaScript semantics: `32.0` is an integer).
pub(super) fn as_integer(n: &serde_json::Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    // Above 2^100 the exact value does not matter: it fails a maximum anyway.
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

/// Check that `v` is an object with only `allowed` keys.
pub(super) fn object<'a>(
    v: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, CustomHashError> {
    let Value::Object(map) = v else {
        return Err(err(
            "INVALID_TYPE",
            path,
            format!("Expected type object but found type {}", type_name(v)),
        ));
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(err(
            "OBJECT_ADDITIONAL_PROPERTIES",
            path,
            format!("Additional properties not allowed: {extra}"),
        ));
    }
    Ok(map)
}

pub(super) fn required<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, CustomHashError> {
    map.get(key).ok_or_else(|| {
        err(
            "OBJECT_REQUIRED",
            path,
            format!("Missing required property: {key}"),
        )
    })
}

pub(super) fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, CustomHashError> {
    v.as_str().ok_or_else(|| {
        err(
            "INVALID_TYPE",
            path,
            format!("Expected type string but found type {}", type_name(v)),
        )
    })
}

pub(super) fn enum_value<'a>(
    v: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<&'a str, CustomHashError> {
    let s = string(v, path)?;
    if allowed.contains(&s) {
        Ok(s)
    } else {
        Err(err(
            "ENUM_MISMATCH",
            path,
            format!("No enum match for: {v}"),
        ))
    }
}

pub(super) fn opt_enum<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, CustomHashError> {
    map.get(key)
        .map(|v| enum_value(v, &format!("{path}.{key}"), allowed))
        .transpose()
}

pub(super) fn opt_integer(
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<i128>, CustomHashError> {
    let Some(v) = map.get(key) else {
        return Ok(None);
    };
    let path = format!("{ROOT}.{key}");
    match v {
        Value::Number(n) => as_integer(n).map(Some).ok_or_else(|| {
            err(
                "INVALID_TYPE",
                &path,
                "Expected type integer but found type number",
            )
        }),
        other => Err(err(
            "INVALID_TYPE",
            &path,
            format!("Expected type integer but found type {}", type_name(other)),
        )),
    }
}

pub(super) fn minimum(value: i128, min: i128, key: &str) -> Result<(), CustomHashError> {
    if value < min {
        Err(err(
            "MINIMUM",
            format!("{ROOT}.{key}"),
            format!("Value {value} is less than minimum {min}"),
        ))
    } else {
        Ok(())
    }
}

/// Decode a value with Auth0's `base64|hex|utf8` encodings.
pub(super) fn decode(value: &str, encoding: &str, path: &str) -> Result<Vec<u8>, CustomHashError> {
    match encoding {
        "utf8" => Ok(value.as_bytes().to_vec()),
        "hex" => hex_decode(value).ok_or_else(|| {
            err(
                "INVALID_FORMAT",
                path,
                "Object didn't pass validation for format hex: expected an even number of hex digits",
            )
        }),
        _ => b64_decode_node(value).ok_or_else(|| {
            err(
                "INVALID_FORMAT",
                path,
                "Object didn't pass validation for format base64",
            )
        }),
    }
}

/// Turn a string-format error into an Auth0-style error on `hash.value`.
pub(super) fn value_error(e: &HashError) -> CustomHashError {
    err(
        "INVALID_FORMAT",
        format!("{ROOT}.hash.value"),
        format!("Object didn't pass validation: {e}"),
    )
}

pub(super) fn pattern(regex: &str, value: &str) -> CustomHashError {
    err(
        "PATTERN",
        format!("{ROOT}.hash.value"),
        format!("String does not match pattern {regex}: {}", redact(value)),
    )
}

/// Never echo a whole hash into an error message.
pub(super) fn redact(value: &str) -> String {
    let head: String = value.chars().take(8).collect();
    if value.chars().count() > 8 {
        format!("{head}…")
    } else {
        head
    }
}
