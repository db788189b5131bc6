//! Bounds on the work one verification may cost.
//!
//! A stored hash chooses its own work factor: bcrypt cost 31, PBKDF2 with
//! four billion iterations or sha512-crypt with a billion rounds are all
//! well-formed, and each would make every (unauthenticated) login of that
//! user burn minutes of CPU. Tern therefore parses and describes a hash of
//! any cost, but verifies it only when its work is within [`CostLimits`];
//! otherwise [`StoredHash::verify`](crate::StoredHash::verify) answers
//! [`OverLimit`] without computing anything.
//!
//! The defaults keep one verification within about one second of one core
//! and 256 MiB of memory. They were measured, not guessed:
//! `cargo run --release -p tern-hash --example cost_bounds` times each
//! scheme on the machine it runs on and prints the bounds it derives. The
//! defaults are those figures from a 2-core Intel Xeon (AVX-512, SHA
//! extensions), rounded down, with SHA-1 and SHA-2 taken from a build
//! without the SHA instructions (`RUSTFLAGS='--cfg sha2_backend="soft"'`):
//! a server without them is three times slower at SHA-256, and a bound must
//! hold on the slower machine. Every default still admits the defaults of
//! the tools people migrate from (passlib's sha512-crypt 656 000 rounds,
//! Django's 1 000 000 PBKDF2-SHA256 iterations, Keycloak's 210 000
//! PBKDF2-SHA512, OWASP's argon2id and scrypt settings, bcrypt up to 14).
//!
//! Schemes that hash the password again in every round (md5-crypt, apr1,
//! sha256/512-crypt, phpass, Drupal 7) cost more for a longer password. For
//! them a password longer than `max_password_bytes` is refused, and their
//! round bounds hold for a password of 64 bytes and shrink in proportion to
//! the extra digest blocks a longer one costs: otherwise a megabyte-long
//! password against a WordPress hash of default cost would cost seconds.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Where the Tern server reads these bounds from (`[password_hash.limits]`
/// in its TOML file, `TERN_PASSWORD_HASH__LIMITS__…` in the environment);
/// error messages name a bound by `<SECTION>.<field>`.
pub const SECTION: &str = "password_hash.limits";

/// The password length the round bounds of length-sensitive schemes are
/// stated for (a long generated password).
pub(crate) const REFERENCE_PASSWORD_BYTES: usize = 64;

/// Work-factor bounds for verification. `Default` keeps one verification
/// within about one second of one core and 256 MiB (see the module
/// documentation for how the figures were derived).
///
/// A bound applies to every format that uses the algorithm: the bcrypt bound
/// also covers Django's `bcrypt$`, Auth0 bcrypt objects, `$wp$`, Nextcloud…;
/// the PBKDF2 bounds cover PHC, passlib, Django, ASP.NET Identity, Keycloak,
/// Atlassian and every other PBKDF2 layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostLimits {
    /// Highest bcrypt cost (log2 of the rounds). Default 14: cost 10 took
    /// 55 ms, so 14 takes 0.88 s (each step doubles it).
    pub bcrypt_cost: u32,
    /// Highest PBKDF2 iteration count, per digest. A hash longer than the
    /// digest's output costs its iterations once per output block, and is
    /// counted so.
    pub pbkdf2_iterations: Pbkdf2Iterations,
    /// Highest sha256-crypt (`$5$`) rounds, for a 64-byte password.
    /// Default 2 200 000: 100 000 rounds took 45 ms.
    pub sha256_crypt_rounds: u32,
    /// Highest sha512-crypt (`$6$`) rounds, for a 64-byte password.
    /// Default 2 200 000: 100 000 rounds took 45 ms.
    pub sha512_crypt_rounds: u32,
    /// Highest log2 round count of phpass (`$P$`, `$H$`: MD5), for a
    /// 64-byte password. Default 22: 2^18 rounds took 55 ms, 2^22 0.88 s.
    pub phpass_log2_rounds: u32,
    /// Highest log2 round count of Drupal 7 (`$S$`, `U$S$`: SHA-512), for a
    /// 64-byte password. Default 21: 2^18 rounds took 116 ms, 2^21 0.93 s.
    pub drupal7_log2_rounds: u32,
    /// Longest password (in bytes, as hashed) verified against a scheme that
    /// hashes the password again in every round. Default 4096 (passlib's and
    /// Django's historical bound; 1024 characters of any script).
    pub max_password_bytes: u32,
    /// Most memory one scrypt or Argon2 verification may take, in MiB
    /// (scrypt needs 128·N·r bytes, Argon2 `m` KiB).
    pub memory_mib: u32,
    /// Highest scrypt N·r·p (its time is proportional to this product).
    /// Default 3 800 000: N=2^16, r=8, p=1 took 128–137 ms.
    pub scrypt_work: u64,
    /// Highest Argon2 m·t (memory in KiB × passes; its time is proportional
    /// to this product, whatever the parallelism, since Tern computes the
    /// lanes on one core). Default 1 500 000: m=65536, t=2 took 79–87 ms.
    pub argon2_work: u64,
}

/// PBKDF2 iteration bounds per PRF digest (`[password_hash.limits.pbkdf2_iterations]`).
/// Each default is what one second of one core computed for one output block
/// (100 000 iterations took 12 ms with MD4, 20 ms MD5, 37 ms RIPEMD-160,
/// 16 ms SHA-1, 31 ms SHA-224/256, 44 ms SHA-384/512, 135 ms Whirlpool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pbkdf2Iterations {
    /// HMAC-MD4.
    pub md4: u32,
    /// HMAC-MD5.
    pub md5: u32,
    /// HMAC-RIPEMD-160.
    pub ripemd160: u32,
    /// HMAC-SHA-1.
    pub sha1: u32,
    /// HMAC-SHA-224.
    pub sha224: u32,
    /// HMAC-SHA-256.
    pub sha256: u32,
    /// HMAC-SHA-384.
    pub sha384: u32,
    /// HMAC-SHA-512.
    pub sha512: u32,
    /// HMAC-Whirlpool.
    pub whirlpool: u32,
}

impl Default for Pbkdf2Iterations {
    fn default() -> Self {
        Self {
            md4: 8_000_000,
            md5: 5_000_000,
            ripemd160: 2_600_000,
            sha1: 6_000_000,
            sha224: 3_000_000,
            sha256: 3_000_000,
            sha384: 2_200_000,
            sha512: 2_200_000,
            whirlpool: 700_000,
        }
    }
}

impl Pbkdf2Iterations {
    /// The bound for `digest`.
    pub fn get(&self, digest: Digest) -> u32 {
        match digest {
            Digest::Md4 => self.md4,
            Digest::Md5 => self.md5,
            Digest::Ripemd160 => self.ripemd160,
            Digest::Sha1 => self.sha1,
            Digest::Sha224 => self.sha224,
            Digest::Sha256 => self.sha256,
            Digest::Sha384 => self.sha384,
            Digest::Sha512 => self.sha512,
            Digest::Whirlpool => self.whirlpool,
        }
    }

    fn setting(digest: Digest) -> &'static str {
        match digest {
            Digest::Md4 => "pbkdf2_iterations.md4",
            Digest::Md5 => "pbkdf2_iterations.md5",
            Digest::Ripemd160 => "pbkdf2_iterations.ripemd160",
            Digest::Sha1 => "pbkdf2_iterations.sha1",
            Digest::Sha224 => "pbkdf2_iterations.sha224",
            Digest::Sha256 => "pbkdf2_iterations.sha256",
            Digest::Sha384 => "pbkdf2_iterations.sha384",
            Digest::Sha512 => "pbkdf2_iterations.sha512",
            Digest::Whirlpool => "pbkdf2_iterations.whirlpool",
        }
    }
}

impl Default for CostLimits {
    fn default() -> Self {
        Self {
            bcrypt_cost: 14,
            pbkdf2_iterations: Pbkdf2Iterations::default(),
            sha256_crypt_rounds: 2_200_000,
            sha512_crypt_rounds: 2_200_000,
            phpass_log2_rounds: 22,
            drupal7_log2_rounds: 21,
            max_password_bytes: 4096,
            memory_mib: 256,
            scrypt_work: 3_800_000,
            argon2_work: 1_500_000,
        }
    }
}

impl CostLimits {
    /// No bound at all: for measurements and for an operator's own tool run
    /// on purpose (`tern hash verify --ignore-cost-limits`), never for a
    /// server.
    pub fn unlimited() -> Self {
        Self {
            bcrypt_cost: u32::MAX,
            pbkdf2_iterations: Pbkdf2Iterations {
                md4: u32::MAX,
                md5: u32::MAX,
                ripemd160: u32::MAX,
                sha1: u32::MAX,
                sha224: u32::MAX,
                sha256: u32::MAX,
                sha384: u32::MAX,
                sha512: u32::MAX,
                whirlpool: u32::MAX,
            },
            sha256_crypt_rounds: u32::MAX,
            sha512_crypt_rounds: u32::MAX,
            phpass_log2_rounds: u32::MAX,
            drupal7_log2_rounds: u32::MAX,
            max_password_bytes: u32::MAX,
            memory_mib: u32::MAX,
            scrypt_work: u64::MAX,
            argon2_work: u64::MAX,
        }
    }

    fn memory_bytes(&self) -> u128 {
        u128::from(self.memory_mib) << 20
    }
}

/// A hash whose work is over a bound of [`CostLimits`]: it was not computed.
///
/// `Display` names the scheme, what is over which bound, and the setting
/// that would raise it, e.g. `bcrypt cost 31 is over the bound 14
/// (password_hash.limits.bcrypt_cost)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme} {what} is over the bound {bound} ({SECTION}.{setting})")]
pub struct OverLimit {
    /// The scheme's stable name ([`crate::Scheme::name`]).
    pub scheme: &'static str,
    /// What is over the bound, e.g. `cost 31` or `N·r·p 16777216`.
    pub what: String,
    /// The bound, as the setting states it.
    pub bound: String,
    /// The field of [`CostLimits`], e.g. `bcrypt_cost` or
    /// `pbkdf2_iterations.sha256`; prefixed by [`SECTION`] in messages.
    pub setting: &'static str,
}

/// The work one verification of a parsed hash does, as far as the bounds
/// are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// Small and independent of anything in the hash (single digests,
    /// HMACs, DES crypt, fixed-count schemes).
    Fixed,
    /// bcrypt at `cost`.
    Bcrypt { cost: u32 },
    /// PBKDF2 (and iterated digests counted as PBKDF2 iterations).
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
        hash_len: usize,
    },
    /// md5-crypt and apr1: 1000 fixed rounds over the password.
    Md5Crypt,
    /// sha256-crypt / sha512-crypt.
    ShaCrypt {
        sha512: bool,
        rounds: u32,
        salt_len: usize,
    },
    /// phpass (MD5) / Drupal 7 (SHA-512): 2^log2 rounds over the password.
    Phpass { sha512: bool, log2_rounds: u32 },
    /// scrypt with N = 2^log_n.
    Scrypt { log_n: u8, r: u32, p: u32 },
    /// Argon2 (m in KiB).
    Argon2 { m: u32, t: u32 },
}

/// Digest blocks one MD-style hash of `bytes` costs.
fn blocks(bytes: usize, block: usize, padding: usize) -> u64 {
    u64::try_from(bytes.saturating_add(padding).div_ceil(block)).unwrap_or(u64::MAX)
}

/// How one round's work grows with the password: digest blocks per round
/// for a password of `len` bytes.
fn blocks_per_round(work: &Work, len: usize) -> Option<u64> {
    Some(match *work {
        // One round hashes at most password, salt, password, digest.
        Work::Md5Crypt => blocks(2 * len + 8 + 16, 64, 9),
        Work::ShaCrypt {
            sha512: false,
            salt_len,
            ..
        } => blocks(2 * len + salt_len + 32, 64, 9),
        Work::ShaCrypt {
            sha512: true,
            salt_len,
            ..
        } => blocks(2 * len + salt_len + 64, 128, 17),
        // One round hashes the previous digest and the password.
        Work::Phpass { sha512: false, .. } => blocks(16 + len, 64, 9),
        Work::Phpass { sha512: true, .. } => blocks(64 + len, 128, 17),
        _ => return None,
    })
}

/// `rounds` for a password of `len` bytes, in rounds of a 64-byte password.
fn scaled(work: &Work, rounds: u128, len: Option<usize>) -> u128 {
    let (Some(len), Some(base)) = (len, blocks_per_round(work, REFERENCE_PASSWORD_BYTES)) else {
        return rounds;
    };
    let here = blocks_per_round(work, len).unwrap_or(base);
    if here <= base {
        rounds
    } else {
        (rounds * u128::from(here)).div_ceil(u128::from(base))
    }
}

/// "with a N-byte password costs as much as M rounds with a 64-byte one".
fn rounds_what(rounds: u128, effective: u128, len: Option<usize>, unit: &str) -> String {
    match len {
        Some(len) if effective > rounds => format!(
            "{rounds} {unit} with a {len}-byte password (as costly as {effective} {unit} with a {REFERENCE_PASSWORD_BYTES}-byte one)"
        ),
        _ => format!("{rounds} {unit}"),
    }
}

impl CostLimits {
    /// Check `work` of `scheme`; `password_len` is the length of the
    /// password as hashed, when a password is at hand (None: only the hash
    /// is judged, as at import).
    pub(crate) fn check(
        &self,
        scheme: &'static str,
        work: Work,
        password_len: Option<usize>,
    ) -> Result<(), OverLimit> {
        let over = |what: String, bound: String, setting: &'static str| {
            Err(OverLimit {
                scheme,
                what,
                bound,
                setting,
            })
        };
        if blocks_per_round(&work, 0).is_some()
            && let Some(len) = password_len
            && u64::try_from(len).unwrap_or(u64::MAX) > u64::from(self.max_password_bytes)
        {
            return over(
                format!(
                    "verification of a {len}-byte password (the scheme hashes it again in every round)"
                ),
                format!("{} bytes", self.max_password_bytes),
                "max_password_bytes",
            );
        }
        match work {
            Work::Fixed | Work::Md5Crypt => Ok(()),
            Work::Bcrypt { cost } if cost > self.bcrypt_cost => over(
                format!("cost {cost}"),
                self.bcrypt_cost.to_string(),
                "bcrypt_cost",
            ),
            Work::Pbkdf2 {
                digest,
                iterations,
                hash_len,
            } => {
                let per_block = digest.output_len().max(1);
                let blocks =
                    u128::try_from(hash_len.div_ceil(per_block).max(1)).unwrap_or(u128::MAX);
                let total = u128::from(iterations).saturating_mul(blocks);
                let bound = self.pbkdf2_iterations.get(digest);
                if total <= u128::from(bound) {
                    return Ok(());
                }
                let what = if blocks > 1 {
                    format!(
                        "{iterations} iterations × {blocks} output blocks ({hash_len}-byte hash) = {total}"
                    )
                } else {
                    format!("{iterations} iterations")
                };
                over(what, bound.to_string(), Pbkdf2Iterations::setting(digest))
            }
            Work::ShaCrypt { sha512, rounds, .. } => {
                let (bound, setting) = if sha512 {
                    (self.sha512_crypt_rounds, "sha512_crypt_rounds")
                } else {
                    (self.sha256_crypt_rounds, "sha256_crypt_rounds")
                };
                let effective = scaled(&work, u128::from(rounds), password_len);
                if effective <= u128::from(bound) {
                    return Ok(());
                }
                over(
                    rounds_what(u128::from(rounds), effective, password_len, "rounds"),
                    bound.to_string(),
                    setting,
                )
            }
            Work::Phpass {
                sha512,
                log2_rounds,
            } => {
                let (bound, setting) = if sha512 {
                    (self.drupal7_log2_rounds, "drupal7_log2_rounds")
                } else {
                    (self.phpass_log2_rounds, "phpass_log2_rounds")
                };
                let rounds = 1u128.checked_shl(log2_rounds).unwrap_or(u128::MAX);
                let effective = scaled(&work, rounds, password_len);
                let allowed = 1u128.checked_shl(bound).unwrap_or(u128::MAX);
                if effective <= allowed {
                    return Ok(());
                }
                let what = if effective > rounds {
                    format!(
                        "log2 rounds {log2_rounds} ({})",
                        rounds_what(rounds, effective, password_len, "rounds")
                    )
                } else {
                    format!("log2 rounds {log2_rounds}")
                };
                over(what, format!("{bound} (2^{bound} rounds)"), setting)
            }
            Work::Scrypt { log_n, r, p } => {
                let n = 1u128.checked_shl(u32::from(log_n)).unwrap_or(u128::MAX);
                let memory = n.saturating_mul(u128::from(r)).saturating_mul(128);
                if memory > self.memory_bytes() {
                    return over(
                        format!("memory 128·N·r = {} MiB (N=2^{log_n}, r={r})", memory >> 20),
                        format!("{} MiB", self.memory_mib),
                        "memory_mib",
                    );
                }
                let work = n
                    .saturating_mul(u128::from(r))
                    .saturating_mul(u128::from(p));
                if work > u128::from(self.scrypt_work) {
                    return over(
                        format!("N·r·p = {work} (N=2^{log_n}, r={r}, p={p})"),
                        self.scrypt_work.to_string(),
                        "scrypt_work",
                    );
                }
                Ok(())
            }
            Work::Argon2 { m, t } => {
                if u128::from(m) << 10 > self.memory_bytes() {
                    return over(
                        format!("memory m={m} KiB"),
                        format!("{} MiB", self.memory_mib),
                        "memory_mib",
                    );
                }
                let work = u64::from(m).saturating_mul(u64::from(t));
                if work > self.argon2_work {
                    return over(
                        format!("m·t = {work} (m={m} KiB, t={t})"),
                        self.argon2_work.to_string(),
                        "argon2_work",
                    );
                }
                Ok(())
            }
            Work::Bcrypt { .. } => Ok(()),
        }
    }
}
