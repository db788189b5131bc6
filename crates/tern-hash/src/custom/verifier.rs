//! The verifier for custom objects kept as objects.

use std::sync::Arc;

use crate::digest::Digest;
use crate::encoding::{PasswordEncoding, ct_eq};
use crate::limits::Work;
use crate::scheme::CustomAlgorithm;
use crate::{Scheme, Verifier};

/// Salt placement for digest, hmac and bcrypt objects.
#[derive(Debug, Clone)]
pub(super) struct Salt {
    pub(super) bytes: Vec<u8>,
    pub(super) suffix: bool,
}

/// The computation under a custom object.
#[derive(Debug)]
pub(super) enum Core {
    /// `digest(message) == expected`.
    Digest { digest: Digest, expected: Vec<u8> },
    /// `hmac(key, message) == expected`.
    Hmac {
        digest: Digest,
        key: Vec<u8>,
        expected: Vec<u8>,
    },
    /// A parsed verifier fed the transcoded (and salted) password.
    Inner(Arc<dyn Verifier>),
}

/// A custom object kept as an object.
#[derive(Debug)]
pub(super) struct CustomHash {
    pub(super) algorithm: CustomAlgorithm,
    pub(super) encoding_note: String,
    pub(super) password_encoding: PasswordEncoding,
    pub(super) salt: Option<Salt>,
    pub(super) core: Core,
}

impl Verifier for CustomHash {
    fn scheme(&self) -> Scheme {
        Scheme::Auth0Custom(self.algorithm)
    }

    fn describe(&self) -> String {
        let mut parts = vec![match &self.core {
            Core::Digest { digest, .. } => format!("{}(message)", digest.name()),
            Core::Hmac { digest, key, .. } => {
                format!("HMAC-{}({}-byte key, message)", digest.name(), key.len())
            }
            Core::Inner(inner) => inner.describe(),
        }];
        if !self.encoding_note.is_empty() {
            parts.push(self.encoding_note.clone());
        }
        if let Some(s) = &self.salt {
            parts.push(format!(
                "message = {} {}-byte salt",
                if s.suffix {
                    "password followed by a"
                } else {
                    "password preceded by a"
                },
                s.bytes.len()
            ));
        }
        parts.push(format!(
            "password encoding {}",
            self.password_encoding.name()
        ));
        format!(
            "Auth0 custom_password_hash ({}): {}",
            Scheme::Auth0Custom(self.algorithm).name(),
            parts.join("; ")
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        let message = match &self.salt {
            None => password.to_vec(),
            Some(s) if s.suffix => [password, &s.bytes].concat(),
            Some(s) => [&s.bytes, password].concat(),
        };
        match &self.core {
            Core::Digest { digest, expected } => ct_eq(&digest.hash(&[&message]), expected),
            Core::Hmac {
                digest,
                key,
                expected,
            } => ct_eq(&digest.hmac(key, &[&message]), expected),
            Core::Inner(inner) => inner.verify(&message),
        }
    }

    fn verify_str(&self, password: &str) -> bool {
        self.verify(&self.password_encoding.encode(password))
    }

    fn work(&self) -> Work {
        match &self.core {
            Core::Inner(inner) => inner.work(),
            Core::Digest { .. } | Core::Hmac { .. } => Work::Fixed,
        }
    }

    fn fed_len(&self, password: &str) -> usize {
        // UTF-16 doubles ASCII; latin1 never lengthens.
        let encoded = match self.password_encoding {
            PasswordEncoding::Utf16le | PasswordEncoding::Ucs2 => {
                2 * password.encode_utf16().count()
            }
            _ => password.len(),
        };
        encoded + self.salt.as_ref().map_or(0, |s| s.bytes.len())
    }
}
