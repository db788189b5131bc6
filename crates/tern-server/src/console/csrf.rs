//! The console's CSRF tokens: an HMAC of the session's cookie value. Only
//! the browser holding the cookie (and the server, which sees it on every
//! request) can compute it; the store keeps only the cookie's SHA-256, so
//! nothing stored reveals a token, and every instance computes the same one.
//! Every console form carries it in the field [`FIELD`].

use aws_lc_rs::{constant_time, hmac};

/// The form field carrying the token.
pub const FIELD: &str = "csrf";

/// The token of the session whose cookie value is `cookie_value`.
pub fn token(cookie_value: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, cookie_value.as_bytes());
    let tag = hmac::sign(&key, b"tern-console-csrf");
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the session's token (constant time).
pub fn matches(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| {
        constant_time::verify_slices_are_equal(expected.as_bytes(), g.as_bytes()).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_belongs_to_one_session() {
        let a = token("cookie-a");
        assert_eq!(a.len(), 64);
        assert!(matches(&a, Some(&token("cookie-a"))));
        assert!(!matches(&a, Some(&token("cookie-b"))));
        assert!(!matches(&a, None));
        assert!(!matches(&a, Some("")));
    }
}
