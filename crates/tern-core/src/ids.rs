//! Identifiers in Auth0's formats.
//!
//! Connection and job ids must match `^con_[A-Za-z0-9]{16}$` and
//! `^job_[A-Za-z0-9]{16}$`: SDKs and existing import tooling validate them.

use rand::Rng;
use rand::distr::Alphanumeric;

fn alphanumeric(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// `con_` followed by 16 alphanumerics.
pub fn connection_id() -> String {
    format!("con_{}", alphanumeric(16))
}

/// `job_` followed by 16 alphanumerics.
pub fn job_id() -> String {
    format!("job_{}", alphanumeric(16))
}

/// `imp_` followed by 16 alphanumerics (a console import).
pub fn import_id() -> String {
    format!("imp_{}", alphanumeric(16))
}

/// `rol_` followed by 16 alphanumerics (a role), as Auth0's.
pub fn role_id() -> String {
    format!("rol_{}", alphanumeric(16))
}

/// `cgr_` followed by 16 alphanumerics (client grant).
pub fn client_grant_id() -> String {
    format!("cgr_{}", alphanumeric(16))
}

/// A resource server id (24 hex digits, as Auth0's).
pub fn resource_server_id() -> String {
    hex24()
}

/// A client id: 32 alphanumerics, as Auth0's.
pub fn client_id() -> String {
    alphanumeric(32)
}

/// A client secret: 64 alphanumerics (~380 bits of entropy).
pub fn client_secret() -> String {
    alphanumeric(64)
}

/// The local part of a database user's id: 24 hex digits, as Auth0's.
pub fn user_local_id() -> String {
    hex24()
}

/// A tenant log event id for an event at `at`: its time in nanoseconds
/// since the Unix epoch (19 digits from 2001 to 2286, so ids sort by time
/// as text), then 8 alphanumerics. Searches by date read the log's id
/// index through it.
pub fn log_id_at(at: time::OffsetDateTime) -> String {
    format!("{}{}", at.unix_timestamp_nanos(), alphanumeric(8))
}

/// An outbox message id: sortable by creation, like log ids.
pub fn mail_id() -> String {
    format!(
        "msg_{}{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        alphanumeric(8)
    )
}

/// The secret of a password-change ticket: 43 alphanumerics (~256 bits), so
/// a fast hash of it is enough for storage.
pub fn ticket_token() -> String {
    alphanumeric(43)
}

/// A request id for the request log: 24 hex digits.
pub fn request_id() -> String {
    hex24()
}

fn hex24() -> String {
    let bytes: [u8; 12] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `id` has the shape of a connection id.
pub fn is_connection_id(id: &str) -> bool {
    id.len() == 20 && id.starts_with("con_") && id[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_connection_id(&connection_id()));
        assert!(!is_connection_id("con_short"));
        assert!(!is_connection_id("con_000000000000000!"));
        assert_eq!(user_local_id().len(), 24);
        assert_eq!(client_id().len(), 32);
    }
}
