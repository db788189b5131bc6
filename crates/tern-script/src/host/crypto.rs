//! Digests, HMAC, PBKDF2, random bytes and constant-time comparison behind `crypto`.

use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// Upper bound on a PBKDF2 output, in bytes.
const MAX_PBKDF2_KEYLEN: f64 = 1024.0 * 1024.0;

macro_rules! by_alg {
    ($alg:expr, $d:ident => $body:expr) => {
        match $alg.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => {
                type $d = Md5;
                Ok($body)
            }
            "sha1" => {
                type $d = Sha1;
                Ok($body)
            }
            "sha224" => {
                type $d = Sha224;
                Ok($body)
            }
            "sha256" => {
                type $d = Sha256;
                Ok($body)
            }
            "sha384" => {
                type $d = Sha384;
                Ok($body)
            }
            "sha512" => {
                type $d = Sha512;
                Ok($body)
            }
            other => Err(format!("Digest method not supported: {other}")),
        }
    };
}

/// `createHash(alg).update(data).digest()`.
pub(crate) fn digest(alg: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    by_alg!(alg, D => D::digest(data).to_vec())
}

/// `createHmac(alg, key).update(data).digest()`.
pub(crate) fn hmac(alg: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    by_alg!(alg, D => {
        let mut mac = <Hmac<D> as KeyInit>::new_from_slice(key)
            .map_err(|e| format!("invalid HMAC key: {e}"))?;
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    })
}

/// `pbkdf2Sync(password, salt, iterations, keylen, digest)`, checking the deadline as it
/// goes so a huge iteration count cannot outlive the script's time limit.
pub(crate) fn pbkdf2(
    alg: &str,
    password: &[u8],
    salt: &[u8],
    iterations: f64,
    keylen: f64,
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    if !(1.0..=u32::MAX as f64).contains(&iterations) {
        return Err("pbkdf2: iterations out of range".into());
    }
    if !(0.0..=MAX_PBKDF2_KEYLEN).contains(&keylen) {
        return Err("pbkdf2: keylen out of range".into());
    }
    let rounds = iterations as u32;
    let keylen = keylen as usize;
    by_alg!(alg, D => pbkdf2_with::<Hmac<D>>(password, salt, rounds, keylen, deadline)?)
}

fn pbkdf2_with<M: Mac + KeyInit + Clone>(
    password: &[u8],
    salt: &[u8],
    rounds: u32,
    keylen: usize,
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    let prf = <M as KeyInit>::new_from_slice(password).map_err(|e| format!("pbkdf2: {e}"))?;
    let mut out = Vec::with_capacity(keylen);
    let mut block: u32 = 1;
    while out.len() < keylen {
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&block.to_be_bytes());
        let mut u = mac.finalize().into_bytes().to_vec();
        let mut t = u.clone();
        for i in 1..rounds {
            if i % 4096 == 0 && Instant::now() >= deadline {
                return Err("pbkdf2: script time limit exceeded".into());
            }
            let mut mac = prf.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes().to_vec();
            for (a, b) in t.iter_mut().zip(&u) {
                *a ^= b;
            }
        }
        let take = (keylen - out.len()).min(t.len());
        out.extend_from_slice(&t[..take]);
        block = block.wrapping_add(1);
    }
    Ok(out)
}

/// `randomBytes(n)`.
pub(crate) fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rng().fill_bytes(&mut v);
    v
}

/// `timingSafeEqual(a, b)` for equal lengths (the prelude checks lengths first).
pub(crate) fn timing_safe_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn vectors() {
        assert_eq!(
            hex::encode(digest("md5", b"abc").unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex::encode(digest("SHA-256", b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac("sha256", b"Jefe", b"what do ya want for nothing?").unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 6070 test vector 2.
        let far = Instant::now() + Duration::from_secs(60);
        assert_eq!(
            hex::encode(pbkdf2("sha1", b"password", b"salt", 2.0, 20.0, far).unwrap()),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        );
        assert!(digest("whirlpool", b"").is_err());
        assert!(timing_safe_equal(b"ab", b"ab"));
        assert!(!timing_safe_equal(b"ab", b"ac"));
    }

    #[test]
    fn pbkdf2_stops_at_deadline() {
        let past = Instant::now();
        assert!(pbkdf2("sha256", b"p", b"s", 4_000_000_000.0, 32.0, past).is_err());
    }
}
