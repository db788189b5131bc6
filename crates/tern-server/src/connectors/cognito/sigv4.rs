//! AWS Signature Version 4 for the JSON `POST /` calls of Cognito's
//! administrative operations (`ListUsers`, `AdminGetUser`, …): the request
//! is canonicalised, hashed and signed with a key derived from the secret
//! access key, the day, the region and the service.
//!
//! Only what these calls need: no query string, the path `/`, and the four
//! headers Tern sends (`content-type`, `host`, `x-amz-date`, `x-amz-target`).

use aws_lc_rs::{digest, hmac};
use time::OffsetDateTime;

/// An access key pair.
pub struct Credentials<'a> {
    /// `AKIA…`.
    pub access_key_id: &'a str,
    /// The secret half.
    pub secret_access_key: &'a str,
}

/// What is signed.
pub struct SignedRequest<'a> {
    /// The `Host` header as sent (`host` or `host:port`).
    pub host: &'a str,
    /// The `X-Amz-Target` header.
    pub target: &'a str,
    /// The `Content-Type` header.
    pub content_type: &'a str,
    /// The body.
    pub body: &'a [u8],
}

/// The two headers a signed request carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Signature {
    /// `X-Amz-Date`, e.g. `20261207T230405Z`.
    pub amz_date: String,
    /// `Authorization`.
    pub authorization: String,
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// Sign `req` for `service` in `region` at `at`.
pub fn sign(
    req: &SignedRequest<'_>,
    creds: &Credentials<'_>,
    region: &str,
    service: &str,
    at: OffsetDateTime,
) -> Signature {
    let at = at.to_offset(time::UtcOffset::UTC);
    let day = format!("{:04}{:02}{:02}", at.year(), u8::from(at.month()), at.day());
    let amz_date = format!(
        "{day}T{:02}{:02}{:02}Z",
        at.hour(),
        at.minute(),
        at.second()
    );
    // Header values are trimmed; these never hold runs of spaces to fold.
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\nx-amz-date:{amz_date}\nx-amz-target:{}\n\n{SIGNED_HEADERS}\n{}",
        req.content_type.trim(),
        req.host.trim(),
        req.target.trim(),
        sha256_hex(req.body)
    );
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac_sha256(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        day.as_bytes(),
    );
    for part in [region, service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, to_sign.as_bytes()));
    Signature {
        amz_date,
        authorization: format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            creds.access_key_id
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected header is botocore's (`botocore.auth.SigV4Auth`, AWS's
    /// own SDK) for the same request, keys and clock, printed by
    /// `tests/cognito/sigv4_fixture.py`.
    #[test]
    fn matches_botocore() {
        let body = r#"{"UserPoolId":"eu-west-1_AbC","Filter":"email = \"a@b.co\"","Limit":2}"#;
        let sig = sign(
            &SignedRequest {
                host: "cognito-idp.eu-west-1.amazonaws.com",
                target: "AWSCognitoIdentityProviderService.ListUsers",
                content_type: "application/x-amz-json-1.1",
                body: body.as_bytes(),
            },
            &Credentials {
                access_key_id: "AKIDEXAMPLE",
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            },
            "eu-west-1",
            "cognito-idp",
            time::macros::datetime!(2026-12-07 23:04:05 UTC),
        );
        assert_eq!(
            sig,
            Signature {
                amz_date: "20261207T230405Z".into(),
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-1/cognito-idp/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=f95dafd1dd9bde86cfb4baac36520a7fce94471807feaf7b4b6aa68b9da8eb22".into(),
            }
        );
    }
}
