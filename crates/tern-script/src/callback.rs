//! The callback contract: what a script passed to its first `callback(err, value)` call.

use serde_json::Value;

/// What the script passed to its first callback.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackResult {
    /// `callback(null, value)`, or any falsy first argument. `callback()`, `callback(null)`,
    /// `callback(null, null)` and `callback(null, undefined)` give `None`. The value is
    /// the JSON form of what the script passed (`Date`s become ISO strings, functions
    /// are dropped, `BigInt`s become strings).
    Value(Option<Value>),
    /// `callback(err)` with a truthy `err`.
    Error(ScriptCallbackError),
}

/// An error the script reported through the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCallbackError {
    /// Which kind of error, recognised by the error's `name` (or constructor name).
    pub kind: ErrorKind,
    /// The error's message (`callback("a string")` gives that string).
    pub message: String,
}

/// The kinds of callback errors that Auth0 treats differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// `new WrongUsernameOrPasswordError(emailOrId, message)`: `user` is the first
    /// argument when given and truthy (user exists, bad password) and `None` otherwise.
    WrongUsernameOrPassword {
        /// The email or id the script passed, stringified.
        user: Option<String>,
    },
    /// `new ValidationError(code, message)`, e.g. code `user_exists` from Create.
    Validation {
        /// The validation code.
        code: String,
    },
    /// `new UnauthorizedError(message)`: a message meant for the end user.
    Unauthorized,
    /// Any other error (`new Error(msg)`, a string, another object).
    Generic,
}

/// Turns the JSON payload built by the prelude's `callback` into a result.
///
/// The payload is `{"ok":true,"value":…}`,
/// `{"ok":false,"error":{"name":…,"message":…,"user":…,"code":…}}`, or
/// `{"invalid":"reason"}` when the value could not be serialised.
pub(crate) fn classify(payload: &str) -> Result<CallbackResult, String> {
    let parsed: Value =
        serde_json::from_str(payload).map_err(|e| format!("callback payload: {e}"))?;
    if let Some(reason) = parsed.get("invalid").and_then(Value::as_str) {
        return Err(reason.to_owned());
    }
    if parsed.get("ok").and_then(Value::as_bool) == Some(true) {
        let value = parsed.get("value").cloned().filter(|v| !v.is_null());
        return Ok(CallbackResult::Value(value));
    }
    let err = parsed.get("error").cloned().unwrap_or(Value::Null);
    let text = |key: &str| -> Option<String> {
        match err.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(false) => None,
            other => Some(other.to_string()),
        }
    };
    let name = text("name").unwrap_or_default();
    let message = text("message").unwrap_or_default();
    let kind = match name.as_str() {
        "WrongUsernameOrPasswordError" => ErrorKind::WrongUsernameOrPassword {
            user: text("user").filter(|u| !u.is_empty()),
        },
        "ValidationError" => ErrorKind::Validation {
            code: text("code").unwrap_or_default(),
        },
        "UnauthorizedError" => ErrorKind::Unauthorized,
        _ => ErrorKind::Generic,
    };
    Ok(CallbackResult::Error(ScriptCallbackError { kind, message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_errors() {
        assert_eq!(
            classify(r#"{"ok":true,"value":null}"#),
            Ok(CallbackResult::Value(None))
        );
        assert_eq!(classify(r#"{"ok":true}"#), Ok(CallbackResult::Value(None)));
        assert_eq!(
            classify(r#"{"ok":true,"value":{"user_id":1}}"#),
            Ok(CallbackResult::Value(Some(
                serde_json::json!({"user_id":1})
            )))
        );
        let wrong = classify(
            r#"{"ok":false,"error":{"name":"WrongUsernameOrPasswordError","message":"m","user":42}}"#,
        );
        assert_eq!(
            wrong,
            Ok(CallbackResult::Error(ScriptCallbackError {
                kind: ErrorKind::WrongUsernameOrPassword {
                    user: Some("42".into())
                },
                message: "m".into()
            }))
        );
        let v = classify(
            r#"{"ok":false,"error":{"name":"ValidationError","message":"x","code":"user_exists"}}"#,
        );
        assert!(matches!(
            v,
            Ok(CallbackResult::Error(ScriptCallbackError { kind: ErrorKind::Validation { ref code }, .. })) if code == "user_exists"
        ));
        assert!(classify("nonsense").is_err());
    }
}
