//! Message digests chosen at run time (from a hash string or an Auth0
//! object), with HMAC and PBKDF2 over each of them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest as _;

/// A message digest usable as a hash, an HMAC or a PBKDF2 PRF.
///
/// These are the digests Auth0 names for `hmac` (`hash.digest`) and `pbkdf2`
/// (the PHC id), except MDC-2: no maintained Rust implementation exists, so
/// objects naming it are rejected with a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    /// MD4 (RFC 1320).
    Md4,
    /// MD5 (RFC 1321).
    Md5,
    /// RIPEMD-160.
    Ripemd160,
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// Whirlpool.
    Whirlpool,
}

/// Run `$body` with the type alias `$t` bound to the RustCrypto type of `$d`.
macro_rules! with_digest {
    ($d:expr, $t:ident => $body:expr) => {
        match $d {
            Digest::Md4 => {
                type $t = md4::Md4;
                $body
            }
            Digest::Md5 => {
                type $t = md5::Md5;
                $body
            }
            Digest::Ripemd160 => {
                type $t = ripemd::Ripemd160;
                $body
            }
            Digest::Sha1 => {
                type $t = sha1::Sha1;
                $body
            }
            Digest::Sha224 => {
                type $t = sha2::Sha224;
                $body
            }
            Digest::Sha256 => {
                type $t = sha2::Sha256;
                $body
            }
            Digest::Sha384 => {
                type $t = sha2::Sha384;
                $body
            }
            Digest::Sha512 => {
                type $t = sha2::Sha512;
                $body
            }
            Digest::Whirlpool => {
                type $t = whirlpool::Whirlpool;
                $body
            }
        }
    };
}

/// What an OpenSSL digest name resolves to.
pub(crate) enum DigestName {
    /// A digest Tern computes.
    Supported(Digest),
    /// A digest Auth0 lists but no maintained Rust crate implements.
    Unsupported(&'static str),
}

impl Digest {
    /// Every digest.
    pub const ALL: [Digest; 9] = [
        Digest::Md4,
        Digest::Md5,
        Digest::Ripemd160,
        Digest::Sha1,
        Digest::Sha224,
        Digest::Sha256,
        Digest::Sha384,
        Digest::Sha512,
        Digest::Whirlpool,
    ];

    /// Stable lower-case name (`"sha256"`, `"ripemd160"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Md4 => "md4",
            Self::Md5 => "md5",
            Self::Ripemd160 => "ripemd160",
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
            Self::Whirlpool => "whirlpool",
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Md4 | Self::Md5 => 16,
            Self::Ripemd160 | Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 | Self::Whirlpool => 64,
        }
    }

    /// Resolve one of the digest names of Auth0's `hash.digest` enum.
    pub(crate) fn from_hmac_name(s: &str) -> Option<Self> {
        Some(match s {
            "md4" => Self::Md4,
            "md5" => Self::Md5,
            "ripemd160" => Self::Ripemd160,
            "sha1" => Self::Sha1,
            "sha224" => Self::Sha224,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            "whirlpool" => Self::Whirlpool,
            _ => return None,
        })
    }

    /// Resolve an OpenSSL digest name (as accepted by Node's
    /// `crypto.pbkdf2`), case-insensitively: the list Auth0 documents for
    /// `pbkdf2-<digest>` PHC ids.
    pub(crate) fn from_openssl_name(s: &str) -> Option<DigestName> {
        let lower = s.to_ascii_lowercase();
        let d = match lower.as_str() {
            "rsa-md4" | "md4" | "md4withrsaencryption" => Self::Md4,
            "rsa-md5" | "md5" | "md5withrsaencryption" | "ssl3-md5" => Self::Md5,
            "rsa-ripemd160" | "ripemd" | "ripemd160" | "ripemd160withrsa" | "rmd160" => {
                Self::Ripemd160
            }
            "rsa-sha1" | "rsa-sha1-2" | "sha1" | "sha1withrsaencryption" | "ssl3-sha1" => {
                Self::Sha1
            }
            "rsa-sha224" | "sha224" | "sha224withrsaencryption" => Self::Sha224,
            "rsa-sha256" | "sha256" | "sha256withrsaencryption" => Self::Sha256,
            "rsa-sha384" | "sha384" | "sha384withrsaencryption" => Self::Sha384,
            "rsa-sha512" | "sha512" | "sha512withrsaencryption" => Self::Sha512,
            "whirlpool" => Self::Whirlpool,
            "rsa-mdc2" | "mdc2" | "mdc2withrsa" => return Some(DigestName::Unsupported("mdc2")),
            _ => return None,
        };
        Some(DigestName::Supported(d))
    }

    /// Hash the concatenation of `parts`.
    pub(crate) fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        with_digest!(self, D => {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        })
    }

    /// HMAC of the concatenation of `parts` under `key`.
    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        with_digest!(self, D => {
            match <Hmac<D> as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    for p in parts {
                        mac.update(p);
                    }
                    mac.finalize().into_bytes().to_vec()
                }
                // HMAC takes keys of any length; this arm is unreachable.
                Err(_) => Vec::new(),
            }
        })
    }

    /// HMAC under `key` applied `rounds` times, each round to the previous
    /// output and the first to `first` (NetBSD's sha1-crypt). The key is
    /// prepared once: a key longer than the digest's block is hashed to
    /// make it, and doing that every round made a long typed password cost
    /// in proportion to its length.
    pub(crate) fn hmac_iterated(self, key: &[u8], first: &[u8], rounds: u32) -> Vec<u8> {
        with_digest!(self, D => {
            match <Hmac<D> as KeyInit>::new_from_slice(key) {
                Ok(keyed) => {
                    let mut out = first.to_vec();
                    for _ in 0..rounds {
                        let mut mac = keyed.clone();
                        mac.update(&out);
                        out.clear();
                        out.extend_from_slice(&mac.finalize().into_bytes());
                    }
                    out
                }
                // HMAC takes keys of any length; this arm is unreachable.
                Err(_) => Vec::new(),
            }
        })
    }

    /// PBKDF2 with HMAC over this digest, filling `out`.
    pub(crate) fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        with_digest!(self, D => pbkdf2::pbkdf2_hmac::<D>(password, salt, rounds, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterated_hmac_is_each_round_keyed_anew() {
        // A key longer than SHA-1's 64-byte block, as a long password is.
        let key = vec![b'k'; 1000];
        let mut expected = b"salt$sha1$3".to_vec();
        for _ in 0..3 {
            expected = Digest::Sha1.hmac(&key, &[&expected]);
        }
        assert_eq!(
            Digest::Sha1.hmac_iterated(&key, b"salt$sha1$3", 3),
            expected
        );
        assert_eq!(Digest::Sha1.hmac_iterated(b"k", b"first", 0), b"first");
    }

    #[test]
    fn known_answers() {
        // `openssl dgst -provider legacy -provider default -whirlpool` of "abc".
        assert_eq!(
            hex::encode(Digest::Whirlpool.hash(&[b"ab", b"c"])),
            "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c\
             7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5"
        );
        assert_eq!(
            hex::encode(Digest::Md4.hash(&[b"abc"])),
            "a448017aaf21d8525fc10ae87aa6729d"
        );
        // RFC 2202 test case 2.
        assert_eq!(
            hex::encode(Digest::Sha1.hmac(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        for d in [
            Digest::Md4,
            Digest::Md5,
            Digest::Ripemd160,
            Digest::Sha1,
            Digest::Sha224,
            Digest::Sha256,
            Digest::Sha384,
            Digest::Sha512,
            Digest::Whirlpool,
        ] {
            assert_eq!(d.hash(&[b"x"]).len(), d.output_len(), "{}", d.name());
        }
    }
}
