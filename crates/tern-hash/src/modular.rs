//! Modular crypt strings: md5-crypt `$1$`, Apache `$apr1$`, sha256-crypt
//! `$5$` and sha512-crypt `$6$` (with optional `rounds=`).
//!
//! Choice of crates: the sha-crypt rounds come from RustCrypto's maintained
//! `sha-crypt` 0.6 (same `sha2` 0.11 generation as the rest of this crate, so
//! no second copy of the digest stack), and md5-crypt is written here (~40
//! lines over `md-5`), because the alternative, `pwhash` 1.0, drags in the
//! older `digest` 0.9 family (md-5 0.9, sha2 0.9, blowfish 0.7) for the same
//! result. String parsing and the crypt "hash64" layout are done here so that
//! glibc's lenient cases (rounds clamped to 1000..=999999999, salt cut at 16
//! characters) verify as glibc verifies them.

use md5::{Digest as _, Md5};

use crate::encoding::{ct_eq, hash64_encode_groups};
use crate::limits::Work;
use crate::{HashError, Scheme, Verifier};

/// Which modular-crypt algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algo {
    Md5,
    Apr1,
    Sha256,
    Sha512,
}

impl Algo {
    fn scheme(self) -> Scheme {
        match self {
            Self::Md5 => Scheme::Md5Crypt,
            Self::Apr1 => Scheme::Apr1Md5Crypt,
            Self::Sha256 => Scheme::Sha256Crypt,
            Self::Sha512 => Scheme::Sha512Crypt,
        }
    }

    fn magic(self) -> &'static str {
        match self {
            Self::Md5 => "$1$",
            Self::Apr1 => "$apr1$",
            Self::Sha256 => "$5$",
            Self::Sha512 => "$6$",
        }
    }

    fn checksum_len(self) -> usize {
        match self {
            Self::Md5 | Self::Apr1 => 22,
            Self::Sha256 => 43,
            Self::Sha512 => 86,
        }
    }
}

/// A parsed modular-crypt hash.
#[derive(Debug, Clone)]
pub(crate) struct ModularHash {
    algo: Algo,
    /// `None` for the default (md5: fixed 1000; sha: 5000 implicit).
    rounds: Option<u32>,
    salt: String,
    checksum: String,
}

const SHA_ROUNDS_DEFAULT: u32 = 5000;
const SHA_ROUNDS_MIN: u32 = 1000;
const SHA_ROUNDS_MAX: u32 = 999_999_999;

impl ModularHash {
    /// Parse a `$1$`, `$apr1$`, `$5$` or `$6$` string.
    pub(crate) fn parse(s: &str) -> Result<Self, HashError> {
        let algo = [Algo::Apr1, Algo::Md5, Algo::Sha256, Algo::Sha512]
            .into_iter()
            .find(|a| s.starts_with(a.magic()))
            .ok_or_else(|| HashError::malformed("crypt", "unknown modular crypt prefix"))?;
        let name = algo.scheme().name();
        let mut rest = &s[algo.magic().len()..];
        let mut rounds = None;
        if matches!(algo, Algo::Sha256 | Algo::Sha512)
            && let Some(r) = rest.strip_prefix("rounds=")
        {
            let (num, tail) = r
                .split_once('$')
                .ok_or_else(|| HashError::malformed(name, "rounds= must end with $"))?;
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HashError::malformed(name, "rounds is not a number"));
            }
            // glibc clamps out-of-range values rather than failing.
            let n: u64 = num.parse().unwrap_or(u64::MAX);
            let clamped = n.clamp(u64::from(SHA_ROUNDS_MIN), u64::from(SHA_ROUNDS_MAX));
            rounds = Some(u32::try_from(clamped).unwrap_or(SHA_ROUNDS_MAX));
            rest = tail;
        }
        let (salt, checksum) = rest
            .split_once('$')
            .ok_or_else(|| HashError::malformed(name, "missing $ between salt and checksum"))?;
        let max_salt = if matches!(algo, Algo::Md5 | Algo::Apr1) {
            8
        } else {
            16
        };
        if salt.len() > max_salt {
            return Err(HashError::malformed(
                name,
                format!("salt longer than {max_salt} characters"),
            ));
        }
        if checksum.len() != algo.checksum_len()
            || !checksum
                .bytes()
                .all(|b| crate::encoding::hash64_value(b).is_some())
        {
            return Err(HashError::malformed(
                name,
                format!("checksum must be {} hash64 characters", algo.checksum_len()),
            ));
        }
        Ok(Self {
            algo,
            rounds,
            salt: salt.to_owned(),
            checksum: checksum.to_owned(),
        })
    }

    fn compute(&self, password: &[u8]) -> String {
        let salt = self.salt.as_bytes();
        match self.algo {
            Algo::Md5 | Algo::Apr1 => md5_crypt(password, salt, self.algo.magic().as_bytes()),
            Algo::Sha256 => {
                let rounds = self.rounds.unwrap_or(SHA_ROUNDS_DEFAULT);
                let Ok(params) = sha_crypt::Params::new(rounds) else {
                    return String::new();
                };
                hash64_encode_groups(
                    &sha_crypt::sha256_crypt(password, salt, params),
                    SHA256_GROUPS,
                )
            }
            Algo::Sha512 => {
                let rounds = self.rounds.unwrap_or(SHA_ROUNDS_DEFAULT);
                let Ok(params) = sha_crypt::Params::new(rounds) else {
                    return String::new();
                };
                hash64_encode_groups(
                    &sha_crypt::sha512_crypt(password, salt, params),
                    SHA512_GROUPS,
                )
            }
        }
    }
}

impl Verifier for ModularHash {
    fn scheme(&self) -> Scheme {
        self.algo.scheme()
    }

    fn describe(&self) -> String {
        let rounds = match (self.algo, self.rounds) {
            (Algo::Md5 | Algo::Apr1, _) => "1000 rounds (fixed)".to_owned(),
            (_, None) => format!("{SHA_ROUNDS_DEFAULT} rounds (default)"),
            (_, Some(r)) => format!("{r} rounds"),
        };
        format!(
            "{} ({}), {}, {}-character salt",
            self.algo.scheme().name(),
            self.algo.magic(),
            rounds,
            self.salt.len()
        )
    }

    fn verify(&self, password: &[u8]) -> bool {
        ct_eq(self.compute(password).as_bytes(), self.checksum.as_bytes())
    }

    fn work(&self) -> Work {
        match self.algo {
            Algo::Md5 | Algo::Apr1 => Work::Md5Crypt,
            Algo::Sha256 | Algo::Sha512 => Work::ShaCrypt {
                sha512: self.algo == Algo::Sha512,
                rounds: self.rounds.unwrap_or(SHA_ROUNDS_DEFAULT),
                salt_len: self.salt.len(),
            },
        }
    }
}

type Groups = [(Option<usize>, Option<usize>, usize, usize)];

/// md5-crypt's output layout (FreeBSD `crypt-md5.c`).
const MD5_GROUPS: &Groups = &[
    (Some(0), Some(6), 12, 4),
    (Some(1), Some(7), 13, 4),
    (Some(2), Some(8), 14, 4),
    (Some(3), Some(9), 15, 4),
    (Some(4), Some(10), 5, 4),
    (None, None, 11, 2),
];

/// sha256-crypt's output layout (Drepper's specification).
const SHA256_GROUPS: &Groups = &[
    (Some(0), Some(10), 20, 4),
    (Some(21), Some(1), 11, 4),
    (Some(12), Some(22), 2, 4),
    (Some(3), Some(13), 23, 4),
    (Some(24), Some(4), 14, 4),
    (Some(15), Some(25), 5, 4),
    (Some(6), Some(16), 26, 4),
    (Some(27), Some(7), 17, 4),
    (Some(18), Some(28), 8, 4),
    (Some(9), Some(19), 29, 4),
    (None, Some(31), 30, 3),
];

/// sha512-crypt's output layout (Drepper's specification).
const SHA512_GROUPS: &Groups = &[
    (Some(0), Some(21), 42, 4),
    (Some(22), Some(43), 1, 4),
    (Some(44), Some(2), 23, 4),
    (Some(3), Some(24), 45, 4),
    (Some(25), Some(46), 4, 4),
    (Some(47), Some(5), 26, 4),
    (Some(6), Some(27), 48, 4),
    (Some(28), Some(49), 7, 4),
    (Some(50), Some(8), 29, 4),
    (Some(9), Some(30), 51, 4),
    (Some(31), Some(52), 10, 4),
    (Some(53), Some(11), 32, 4),
    (Some(12), Some(33), 54, 4),
    (Some(34), Some(55), 13, 4),
    (Some(56), Some(14), 35, 4),
    (Some(15), Some(36), 57, 4),
    (Some(37), Some(58), 16, 4),
    (Some(59), Some(17), 38, 4),
    (Some(18), Some(39), 60, 4),
    (Some(40), Some(61), 19, 4),
    (Some(62), Some(20), 41, 4),
    (None, None, 63, 2),
];

/// md5-crypt (Poul-Henning Kamp), parametrised by its magic (`$1$` or
/// `$apr1$`); returns the 22-character checksum.
fn md5_crypt(password: &[u8], salt: &[u8], magic: &[u8]) -> String {
    let alt = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic);
    ctx.update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize();
    }
    hash64_encode_groups(&fin, MD5_GROUPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        // From glibc's and Drepper's test suites / FreeBSD.
        let cases = [
            (
                "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
                "Hello world!",
            ),
            (
                "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
                "Hello world!",
            ),
            (
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
                "Hello world!",
            ),
            (
                "$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
                "the minimum number is still observed",
            ),
        ];
        for (hash, pw) in cases {
            let h = ModularHash::parse(hash).expect(hash);
            assert!(h.verify(pw.as_bytes()), "{hash}");
            assert!(!h.verify(b"nope"), "{hash}");
        }
    }
}
