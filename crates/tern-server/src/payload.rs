//! Reading Management API request bodies: the checks every create and
//! update shares (allowed and required keys, typed fields, a patch laid
//! over an entity), answering Auth0's payload validation errors. Used by
//! the handlers and by the services the console calls with the same bodies.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The body must be an object whose keys are all in `allowed`.
pub fn object_with<'a>(
    body: &'a Value,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, ApiError> {
    let obj = body.as_object().ok_or_else(|| {
        ApiError::invalid_body("Payload validation error: 'Expected type object'.")
    })?;
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::invalid_body(format!(
            "Payload validation error: 'Additional properties not allowed: {k}'."
        )));
    }
    Ok(obj)
}

/// The body must carry these keys.
pub fn require_keys(obj: &Map<String, Value>, keys: &[&str]) -> Result<(), ApiError> {
    match keys.iter().find(|k| !obj.contains_key(**k)) {
        Some(k) => Err(ApiError::invalid_body(format!(
            "Payload validation error: 'Missing required property: {k}'."
        ))),
        None => Ok(()),
    }
}

/// Overlay `patch` onto the JSON form of `entity` and read it back; a type
/// mismatch becomes Auth0's payload validation error naming the property.
pub fn merge_into<T: serde::Serialize + DeserializeOwned>(
    entity: &T,
    patch: &Map<String, Value>,
) -> Result<T, ApiError> {
    let mut v = serde_json::to_value(entity).map_err(|_| ApiError::internal())?;
    if let Value::Object(m) = &mut v {
        for (k, val) in patch {
            m.insert(k.clone(), val.clone());
        }
    }
    // Fields that are skipped when serialising (secrets) would be lost by the
    // round trip; callers restore them.
    serde_json::from_value(v)
        .map_err(|e| ApiError::invalid_body(format!("Payload validation error: {e}.")))
}

/// A typed field from a body, or a payload validation error.
pub fn field<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            ApiError::invalid_body(format!(
                "Payload validation error: '{e}' on property {key}."
            ))
        }),
    }
}
