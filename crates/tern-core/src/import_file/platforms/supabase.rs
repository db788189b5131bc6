//! Supabase: the `auth.users` table, as CSV (the dashboard's table export,
//! or `\copy auth.users to 'users.csv' csv header`) or JSON (an array, or
//! one object a line, e.g. `select row_to_json(u) from auth.users u`).
//!
//! Each row: `id`, `email`, `encrypted_password` (bcrypt), `email_confirmed_at`,
//! `phone` (digits without `+`), `phone_confirmed_at`, `raw_user_meta_data`
//! (→ user_metadata; `full_name`/`name` and `avatar_url` also give the
//! name and picture), `raw_app_meta_data` (→ app_metadata), `banned_until`
//! (any value → blocked). Deleted and anonymous users are refused, row by
//! row. Sessions, identities (OAuth links) and `auth.mfa_factors` are not
//! carried.

use serde_json::Value;

use super::{Row, json_object, picture, text};

/// A column that is set: not null, not empty (CSV writes null as empty).
fn set<'a>(row: &'a Value, key: &str) -> Option<&'a Value> {
    row.get(key)
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
        || matches!(v.and_then(Value::as_str), Some("t" | "true" | "TRUE"))
}

pub fn convert(user: Value) -> Result<Value, String> {
    let id = text(&user, "id").ok_or("the row has no id")?;
    if set(&user, "deleted_at").is_some() {
        return Err(format!(
            "user {id} is deleted in Supabase (deleted_at is set)"
        ));
    }
    if truthy(user.get("is_anonymous")) {
        return Err(format!("user {id} is an anonymous Supabase user"));
    }
    let meta = json_object(user.get("raw_user_meta_data"));
    let meta_text = |key: &str| meta.as_ref().and_then(|m| text(m, key)).map(str::to_string);
    let mut row = Row::default();
    row.set("user_id", id)
        .set_opt("email", text(&user, "email"))
        .set("email_verified", set(&user, "email_confirmed_at").is_some())
        .set_opt("name", meta_text("full_name").or_else(|| meta_text("name")))
        .set_opt(
            "picture",
            picture(meta_text("avatar_url").as_deref()).map(str::to_string),
        )
        .set_opt("user_metadata", meta.clone())
        .set_opt("app_metadata", json_object(user.get("raw_app_meta_data")))
        .set_opt("password_hash", text(&user, "encrypted_password"));
    if let Some(phone) = text(&user, "phone") {
        let phone = if phone.starts_with('+') {
            phone.to_string()
        } else {
            format!("+{phone}")
        };
        row.set("phone_number", phone)
            .set("phone_verified", set(&user, "phone_confirmed_at").is_some());
    }
    if set(&user, "banned_until").is_some() {
        row.set("blocked", true);
    }
    Ok(row.done())
}
