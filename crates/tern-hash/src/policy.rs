//! Tern's hashing policy for new passwords, and the rehash decision.

use std::hint::black_box;

use rand::RngCore;

use crate::encoding::b64_encode_nopad;
use crate::limits::Work;
use crate::{CostLimits, HashError, Scheme, StoredHash, Strength, bcrypt};

/// Salt length for new hashes, in bytes (argon2 and bcrypt).
const SALT_LEN: usize = 16;
/// Argon2 output length for new hashes, in bytes.
const ARGON2_OUT_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Argon2id { m: u32, t: u32, p: u32 },
    Bcrypt { cost: u32 },
}

/// How Tern hashes new passwords — Argon2id (memory in KiB, iterations,
/// parallelism) or bcrypt (cost) — and the [`CostLimits`] within which it
/// verifies stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPolicy {
    algorithm: Algorithm,
    limits: CostLimits,
}

impl Default for HashPolicy {
    /// Argon2id with m = 19456 KiB (19 MiB), t = 2, p = 1: the first of the
    /// equivalent configurations the OWASP Password Storage Cheat Sheet
    /// recommends. It is memory-hard (GPU/ASIC attacks pay for 19 MiB per
    /// guess), costs tens of milliseconds per login on one core, and keeps
    /// memory per concurrent login low enough for a small server; it is also
    /// the `argon2` crate's default, so hashes match what other RustCrypto
    /// users produce.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Argon2id {
                m: 19 * 1024,
                t: 2,
                p: 1,
            },
            limits: CostLimits::default(),
        }
    }
}

impl HashPolicy {
    /// An Argon2id policy with the default [`CostLimits`]. `m_cost` is in
    /// KiB (at least `8 * p`), `t_cost >= 1`, `1 <= p < 2^24`; the policy's
    /// own hashes must be within the limits it verifies with, which
    /// [`HashPolicy::with_limits`] checks.
    pub fn argon2id(m_cost: u32, t_cost: u32, p: u32) -> Result<Self, HashError> {
        argon2::Params::new(m_cost, t_cost, p, Some(ARGON2_OUT_LEN))
            .map_err(|e| HashError::InvalidPolicy(format!("argon2id parameters: {e}")))?;
        Ok(Self {
            algorithm: Algorithm::Argon2id {
                m: m_cost,
                t: t_cost,
                p,
            },
            limits: CostLimits::default(),
        })
    }

    /// A bcrypt policy (`$2b$`), cost 4..=31.
    pub fn bcrypt(cost: u32) -> Result<Self, HashError> {
        if !(bcrypt::MIN_COST..=bcrypt::MAX_COST).contains(&cost) {
            return Err(HashError::InvalidPolicy(format!(
                "bcrypt cost {cost} is outside 4..=31"
            )));
        }
        Ok(Self {
            algorithm: Algorithm::Bcrypt { cost },
            limits: CostLimits::default(),
        })
    }

    /// The same policy verifying within `limits`. Refused when the policy's
    /// own hashes would be over them (they could never be verified).
    pub fn with_limits(self, limits: CostLimits) -> Result<Self, HashError> {
        let (scheme, work) = match self.algorithm {
            Algorithm::Argon2id { m, t, .. } => ("argon2id", Work::Argon2 { m, t }),
            Algorithm::Bcrypt { cost } => ("bcrypt", Work::Bcrypt { cost }),
        };
        limits.check(scheme, work, None).map_err(|e| {
            HashError::InvalidPolicy(format!(
                "new hashes would be over the cost limits and could not be verified: {e}"
            ))
        })?;
        Ok(Self { limits, ..self })
    }

    /// The bounds stored hashes are verified within.
    pub fn limits(&self) -> &CostLimits {
        &self.limits
    }

    /// The scheme new hashes get.
    pub fn scheme(&self) -> Scheme {
        match self.algorithm {
            Algorithm::Argon2id { .. } => Scheme::Argon2id,
            Algorithm::Bcrypt { .. } => Scheme::Bcrypt,
        }
    }

    /// Human description, e.g. `argon2id m=19456 KiB, t=2, p=1`.
    pub fn describe(&self) -> String {
        match self.algorithm {
            Algorithm::Argon2id { m, t, p } => format!("argon2id m={m} KiB, t={t}, p={p}"),
            Algorithm::Bcrypt { cost } => format!("bcrypt cost {cost}"),
        }
    }

    fn argon2(m: u32, t: u32, p: u32) -> argon2::Argon2<'static> {
        // Parameters were validated by the constructors.
        let params =
            argon2::Params::new(m, t, p, Some(ARGON2_OUT_LEN)).unwrap_or(argon2::Params::DEFAULT);
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    }

    /// Hash a new password with a fresh random salt; returns the storage
    /// string (a PHC string for Argon2id, `$2b$` for bcrypt).
    ///
    /// # Panics
    /// Only if the memory for Argon2 cannot be allocated.
    pub fn hash(&self, password: &str) -> String {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        match self.algorithm {
            Algorithm::Argon2id { m, t, p } => {
                let mut out = [0u8; ARGON2_OUT_LEN];
                crate::argon2_memory::hash_into(
                    &Self::argon2(m, t, p),
                    password.as_bytes(),
                    &salt,
                    &mut out,
                )
                .expect("validated argon2 parameters; fails only when out of memory");
                format!(
                    "$argon2id$v=19$m={m},t={t},p={p}${}${}",
                    b64_encode_nopad(&salt),
                    b64_encode_nopad(&out)
                )
            }
            Algorithm::Bcrypt { cost } => {
                let sum = bcrypt::raw(cost, salt, password.as_bytes());
                bcrypt::format(cost, salt, &sum)
            }
        }
    }

    /// Should `stored` be replaced by a hash made with this policy (after a
    /// successful login)? True for any other scheme (including Django- or
    /// Auth0-wrapped forms of the same algorithm), and for the same scheme
    /// with weaker parameters: for Argon2id a lower m, t or p or the old
    /// version 0x10; for bcrypt a lower cost.
    pub fn needs_rehash(&self, stored: &StoredHash) -> bool {
        match (self.algorithm, stored.strength()) {
            (
                Algorithm::Argon2id { m, t, p },
                Strength::Argon2 {
                    id: true,
                    version,
                    m: sm,
                    t: st,
                    p: sp,
                },
            ) => version != 0x13 || sm < m || st < t || sp < p,
            (Algorithm::Bcrypt { cost }, Strength::Bcrypt { cost: sc }) => sc < cost,
            _ => true,
        }
    }

    /// Spend the time of verifying a hash made by this policy, so that a
    /// login for an unknown user takes as long as one for a known user.
    /// Always returns `false`.
    pub fn dummy_verify(&self, password: &str) -> bool {
        let salt = [0x5au8; SALT_LEN];
        match self.algorithm {
            Algorithm::Argon2id { m, t, p } => {
                let mut out = [0u8; ARGON2_OUT_LEN];
                let r = crate::argon2_memory::hash_into(
                    &Self::argon2(m, t, p),
                    black_box(password.as_bytes()),
                    &salt,
                    &mut out,
                );
                black_box(r.is_ok());
                black_box(out);
            }
            Algorithm::Bcrypt { cost } => {
                black_box(bcrypt::raw(cost, salt, black_box(password.as_bytes())));
            }
        }
        false
    }
}
