//! RFC 2307 LDAP `userPassword` values: `{MD5}`, `{SMD5}`, `{SHA}`, `{SSHA}`,
//! `{SHA256}`, `{SSHA256}`, `{SHA384}`, `{SSHA384}`, `{SHA512}`,
//! `{SSHA512}`: base64 of the digest, followed for salted schemes by the salt
//! (digest = H(password + salt)). `{CRYPT}` and the PBKDF2 and FSHP schemes
//! are read by `legacy.rs`; inside an Auth0 `ldap` object `{CRYPT}` is
//! refused, as Auth0 refuses it.

use crate::digest::Digest;
use crate::encoding::{b64_decode, ct_eq};
use crate::{HashError, Scheme, Verifier};

/// Family name used in errors.
const NAME: &str = "ldap";

/// A parsed LDAP hash.
#[derive(Debug, Clone)]
pub(crate) struct LdapHash {
    digest: Digest,
    salted: bool,
    label: String,
    expected: Vec<u8>,
    salt: Vec<u8>,
}

/// The scheme names (upper case) and what they mean.
const SCHEMES: &[(&str, Digest, bool)] = &[
    ("MD5", Digest::Md5, false),
    ("SMD5", Digest::Md5, true),
    ("SHA", Digest::Sha1, false),
    ("SSHA", Digest::Sha1, true),
    ("SHA256", Digest::Sha256, false),
    ("SSHA256", Digest::Sha256, true),
    ("SHA384", Digest::Sha384, false),
    ("SSHA384", Digest::Sha384, true),
    ("SHA512", Digest::Sha512, false),
    ("SSHA512", Digest::Sha512, true),
];

impl LdapHash {
    /// Does `s` start with `{WORD}` (so that it is an LDAP value, not JSON)?
    pub(crate) fn claims(s: &str) -> bool {
        s.strip_prefix('{')
            .and_then(|r| r.split_once('}'))
            .is_some_and(|(word, _)| {
                !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    }

    /// Parse `{SCHEME}base64`.
    pub(crate) fn parse(s: &str) -> Result<Self, HashError> {
        let (word, b64) = s
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
            .ok_or_else(|| HashError::malformed(NAME, "expected {SCHEME}value"))?;
        let upper = word.to_ascii_uppercase();
        if upper == "CRYPT" {
            return Err(HashError::unsupported(
                NAME,
                "{CRYPT} is not an Auth0 ldap algorithm; give it as a plain password_hash string, which Tern reads",
            ));
        }
        let &(_, digest, salted) = SCHEMES
            .iter()
            .find(|(n, _, _)| *n == upper)
            .ok_or_else(|| {
                HashError::unsupported(
                    NAME,
                    format!("scheme {{{word}}} (supported: MD5, SMD5, SHA, SSHA, SHA256, SSHA256, SHA384, SSHA384, SHA512, SSHA512)"),
                )
            })?;
        let raw = b64_decode(b64.trim())
            .ok_or_else(|| HashError::malformed(NAME, format!("{{{word}}} value is not base64")))?;
        let n = digest.output_len();
        let ok_len = if salted {
            raw.len() > n
        } else {
            raw.len() == n
        };
        if !ok_len {
            return Err(HashError::malformed(
                NAME,
                format!(
                    "{{{word}}} value decodes to {} bytes; expected {}{n}",
                    raw.len(),
                    if salted { "more than " } else { "" }
                ),
            ));
        }
        let (expected, salt) = raw.split_at(n);
        Ok(Self {
            digest,
            salted,
            label: upper,
            expected: expected.to_vec(),
            salt: salt.to_vec(),
        })
    }
}

impl Verifier for LdapHash {
    fn scheme(&self) -> Scheme {
        Scheme::Ldap {
            digest: self.digest,
            salted: self.salted,
        }
    }

    fn describe(&self) -> String {
        if self.salted {
            format!(
                "LDAP {{{}}}: {}(password + salt), {}-byte salt",
                self.label,
                self.digest.name(),
                self.salt.len()
            )
        } else {
            format!("LDAP {{{}}}: unsalted {}", self.label, self.digest.name())
        }
    }

    fn verify(&self, password: &[u8]) -> bool {
        ct_eq(&self.digest.hash(&[password, &self.salt]), &self.expected)
    }
}
