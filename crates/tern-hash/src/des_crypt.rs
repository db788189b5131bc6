//! Traditional Unix DES crypt (13 characters) and BSDi extended DES crypt
//! (`_` + 19 characters), verified only.
//!
//! Both encrypt a zero block with DES keyed by the password, the salt
//! swapping bits of the expansion E (salt bit k swaps E outputs k and k+24),
//! and print the 64-bit result as 11 big-endian hash64 characters:
//!
//! * DES crypt: `SS` (12-bit salt) + hash; key = the first 8 password bytes
//!   shifted left one bit; 25 encryptions.
//! * BSDi: `_` + 4 characters of rounds (24 bits, little-endian hash64) + 4
//!   of salt (24 bits) + hash; key folded over the whole password (each
//!   further 8 bytes are XORed into the key encrypted with itself).
//!
//! The DES here is a plain table-driven one written for these two formats:
//! it is not a cipher for anything else.

use std::sync::Arc;

use crate::encoding::{ct_eq, hash64_value};
use crate::limits::Work;
use crate::{Digest, HashError, Scheme, Verifier};

const HASH64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];
const FP: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30,
    37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];
const E: [u8; 48] = [
    32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18,
    19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
const SBOX: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// Output bit i (from the most significant) is input bit `table[i]`
/// (1-based from the most significant of `width` bits).
fn permute(input: u64, width: u32, table: &[u8]) -> u64 {
    table.iter().fold(0, |out, &p| {
        (out << 1) | ((input >> (width - u32::from(p))) & 1)
    })
}

/// The 16 round keys (48 bits each) of a 64-bit key.
fn key_schedule(key: u64) -> [u64; 16] {
    let cd = permute(key, 64, &PC1);
    let (mut c, mut d) = ((cd >> 28) & 0x0fff_ffff, cd & 0x0fff_ffff);
    let rotate = |h: u64, n: u32| ((h << n) | (h >> (28 - n))) & 0x0fff_ffff;
    let mut keys = [0u64; 16];
    for (k, &n) in keys.iter_mut().zip(SHIFTS.iter()) {
        c = rotate(c, n);
        d = rotate(d, n);
        *k = permute((c << 28) | d, 56, &PC2);
    }
    keys
}

/// DES's round function, with crypt's salt: bit k of the 24-bit `salt`
/// swaps expansion outputs k and k+24 (counted from the first).
fn feistel(r: u64, subkey: u64, salt_mask: u64) -> u64 {
    let e = permute(r, 32, &E);
    let (left, right) = (e >> 24, e & 0xff_ffff);
    let swap = (left ^ right) & salt_mask;
    let e = (((left ^ swap) << 24) | (right ^ swap)) ^ subkey;
    let mut s_out = 0u64;
    for (i, sbox) in SBOX.iter().enumerate() {
        let six = (e >> (42 - 6 * i)) & 0x3f;
        let row = ((six >> 4) & 2) | (six & 1);
        let col = (six >> 1) & 0xf;
        s_out = (s_out << 4) | u64::from(sbox[(row * 16 + col) as usize]);
    }
    permute(s_out, 32, &P)
}

/// The 24-bit E-swap mask for a salt value (salt bit 0 is E output 0, the
/// most significant of the left half).
fn salt_mask(salt: u32) -> u64 {
    (0..24)
        .filter(|k| salt >> k & 1 == 1)
        .fold(0, |m, k| m | (1 << (23 - k)))
}

/// Encrypt `block` `count` times under `keys` with the salted expansion.
fn encrypt(keys: &[u64; 16], block: u64, salt: u32, count: u32) -> u64 {
    let mask = salt_mask(salt);
    let mut block = block;
    for _ in 0..count {
        let b = permute(block, 64, &IP);
        let (mut l, mut r) = (b >> 32, b & 0xffff_ffff);
        for &k in keys {
            let next = l ^ feistel(r, k, mask);
            l = r;
            r = next;
        }
        block = permute((r << 32) | l, 64, &FP);
    }
    block
}

/// Up to 8 password bytes as a DES key: 7 bits each, shifted past parity.
fn key_of(chunk: &[u8]) -> u64 {
    (0..8).fold(0, |k, i| {
        (k << 8) | u64::from(chunk.get(i).map_or(0, |&b| b << 1))
    })
}

fn encode_block(block: u64) -> String {
    // 64 bits and two zero bits, six at a time from the top.
    (0..11)
        .map(|i| {
            let v = ((u128::from(block) << 2) >> (60 - 6 * i)) & 0x3f;
            char::from(HASH64[v as usize])
        })
        .collect()
}

/// Little-endian hash64 of `s` (first character lowest).
fn hash64_int(s: &[u8], scheme: &'static str, what: &str) -> Result<u32, HashError> {
    s.iter().rev().try_fold(0u32, |acc, &c| {
        hash64_value(c)
            .map(|v| (acc << 6) | u32::from(v))
            .ok_or_else(|| HashError::malformed(scheme, format!("{what} is not hash64")))
    })
}

fn checksum_of(s: &str, scheme: &'static str) -> Result<String, HashError> {
    if s.len() != 11 || !s.bytes().all(|b| hash64_value(b).is_some()) {
        return Err(HashError::malformed(
            scheme,
            "checksum must be 11 hash64 characters",
        ));
    }
    Ok(s.to_owned())
}

#[derive(Debug)]
struct DesCrypt {
    /// `None` for traditional DES crypt (25 encryptions).
    bsdi_rounds: Option<u32>,
    salt: u32,
    checksum: String,
}

/// Is `s` shaped like traditional DES crypt (13 hash64 characters)?
pub(crate) fn claims_des(s: &str) -> bool {
    s.len() == 13 && s.bytes().all(|b| hash64_value(b).is_some())
}

/// Traditional DES crypt: `SS` + 11 characters.
pub(crate) fn parse_des(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "des-crypt";
    if !claims_des(s) {
        return Err(HashError::malformed(NAME, "expected 13 hash64 characters"));
    }
    Ok(Arc::new(DesCrypt {
        bsdi_rounds: None,
        salt: hash64_int(&s.as_bytes()[..2], NAME, "salt")?,
        checksum: checksum_of(&s[2..], NAME)?,
    }))
}

/// BSDi extended DES crypt: `_` + rounds(4) + salt(4) + 11 characters.
pub(crate) fn parse_bsdi(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    const NAME: &str = "bsdi-crypt";
    if s.len() != 20 || !s.starts_with('_') || !s.is_ascii() {
        return Err(HashError::malformed(
            NAME,
            "expected _ and 19 hash64 characters",
        ));
    }
    let rounds = hash64_int(&s.as_bytes()[1..5], NAME, "rounds")?;
    if rounds == 0 {
        return Err(HashError::malformed(NAME, "rounds must be at least 1"));
    }
    Ok(Arc::new(DesCrypt {
        bsdi_rounds: Some(rounds),
        salt: hash64_int(&s.as_bytes()[5..9], NAME, "salt")?,
        checksum: checksum_of(&s[9..], NAME)?,
    }))
}

impl Verifier for DesCrypt {
    fn scheme(&self) -> Scheme {
        match self.bsdi_rounds {
            None => Scheme::DesCrypt,
            Some(_) => Scheme::BsdiCrypt,
        }
    }
    fn describe(&self) -> String {
        match self.bsdi_rounds {
            None => "traditional DES crypt: 12-bit salt, first 8 characters of the password".into(),
            Some(r) => format!("BSDi extended DES crypt: {r} rounds, 24-bit salt"),
        }
    }
    fn verify(&self, password: &[u8]) -> bool {
        // crypt(3) stops at NUL; passlib refuses such passwords.
        if password.contains(&0) {
            return false;
        }
        let block = match self.bsdi_rounds {
            None => encrypt(&key_schedule(key_of(password)), 0, self.salt, 25),
            Some(rounds) => {
                let mut chunks = password.chunks(8);
                let mut key = key_of(chunks.next().unwrap_or_default());
                for chunk in chunks {
                    key = encrypt(&key_schedule(key), key, 0, 1) ^ key_of(chunk);
                }
                encrypt(&key_schedule(key), 0, self.salt, rounds)
            }
        };
        ct_eq(encode_block(block).as_bytes(), self.checksum.as_bytes())
    }
    fn work(&self) -> Work {
        match self.bsdi_rounds {
            None => Work::Fixed,
            // One DES block costs about what one PBKDF2-SHA1 iteration does.
            Some(rounds) => Work::Pbkdf2 {
                digest: Digest::Sha1,
                iterations: rounds,
                hash_len: 20,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_81_known_answer() {
        // The classic worked example (key 133457799BBCDFF1).
        let keys = key_schedule(0x1334_5779_9BBC_DFF1);
        assert_eq!(
            encrypt(&keys, 0x0123_4567_89AB_CDEF, 0, 1),
            0x85E8_1354_0F0A_B405
        );
    }
}
