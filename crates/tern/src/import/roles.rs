//! `tern import` and roles: `--no-roles` leaves each row's `tern_roles`
//! behind before upload, so a client granted only `create:users` (as before
//! imports carried roles) can still import a Keycloak export or any file
//! whose rows name roles; and the hint for the server's refusal of such a
//! file to a client without the scope that assigns roles.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::tally::Tally;
use crate::importers::Reading;

/// `reading` with `tern_roles` taken out of every converted row (whatever
/// `--from` made it, or as the file had it), each row that had it counted
/// in `tally.roles_left_out`.
pub fn leave_out(mut reading: Reading, tally: Arc<Tally>) -> Reading {
    let convert = reading.convert;
    reading.convert = Box::new(move |row| {
        let mut row = convert(row)?;
        // A row with `"tern_roles": []` (or null) had no roles to leave out.
        let roles = row.as_object_mut().and_then(|f| f.remove("tern_roles"));
        if roles.is_some_and(|r| !r.is_null() && r.as_array().is_none_or(|a| !a.is_empty())) {
            tally.roles_left_out.fetch_add(1, Ordering::Relaxed);
        }
        Ok(row)
    });
    reading
}

/// What to do about an upload refused with `status` and `body`, when the
/// refusal is the scope that assigns roles (the file's rows name roles).
pub fn refusal_hint(status: reqwest::StatusCode, body: &str) -> Option<&'static str> {
    (status == reqwest::StatusCode::FORBIDDEN
        && body.contains("insufficient_scope")
        && body.contains("create:role_members"))
    .then_some(
        " (the file's rows name roles, in tern_roles or as --from keycloak's realm roles: \
         grant the client the create:role_members scope, and create:roles for roles the \
         tenant lacks, or import without the roles with --no-roles)",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_are_left_out_and_counted() {
        let tally = Arc::new(Tally::default());
        let reading = leave_out(Reading::plain(), tally.clone());
        let with = json!({"email": "a@x.co", "tern_roles": ["admin"]});
        let without = json!({"email": "b@x.co"});
        let empty = json!({"email": "c@x.co", "tern_roles": []});
        assert_eq!(
            (reading.convert)(empty).unwrap(),
            json!({"email": "c@x.co"})
        );
        assert_eq!((reading.convert)(with).unwrap(), json!({"email": "a@x.co"}));
        assert_eq!((reading.convert)(without.clone()).unwrap(), without);
        assert_eq!(
            (reading.convert)(json!("not a row")).unwrap(),
            json!("not a row")
        );
        assert_eq!(tally.roles_left_out.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn only_the_role_scope_refusal_gets_the_hint() {
        let roles = r#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: create:role_members","errorCode":"insufficient_scope"}"#;
        let users = r#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: create:users","errorCode":"insufficient_scope"}"#;
        let forbidden = reqwest::StatusCode::FORBIDDEN;
        assert!(
            refusal_hint(forbidden, roles)
                .unwrap()
                .contains("--no-roles")
        );
        assert_eq!(refusal_hint(forbidden, users), None);
        assert_eq!(refusal_hint(reqwest::StatusCode::BAD_REQUEST, roles), None);
    }
}
