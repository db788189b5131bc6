//! Client secrets: stored only as SHA-256 and compared in constant time.

use tern_core::model::Client;

/// SHA-256 of a client secret, hex. Secrets are 64 random characters, so a
/// slow password hash would add latency to every token request for nothing.
pub fn hash_secret(secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` is the client's, in constant time.
pub fn secret_matches(client: &Client, secret: &str) -> bool {
    let h = hash_secret(secret);
    aws_lc_rs::constant_time::verify_slices_are_equal(h.as_bytes(), client.secret_hash.as_bytes())
        .is_ok()
}
