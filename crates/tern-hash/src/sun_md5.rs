//! Solaris `$md5$` crypt (Sun MD5, Alec Muffett's "coin flip" MD5), verified
//! only: `$md5$salt$$checksum` or `$md5,rounds=N$salt$$checksum`, and the
//! "bare salt" form with a single `$` before the checksum that some Solaris
//! releases wrote.
//!
//! The digest starts as MD5(password ‖ config) where config is the string up
//! to the checksum (with its trailing `$` unless bare); then 4096 + N rounds
//! each hash the previous digest, Hamlet's soliloquy when a coin drawn from
//! the digest's bits says so, and the round number in decimal.

use std::sync::Arc;

use crate::encoding::{ct_eq, hash64_encode_le, hash64_value};
use crate::limits::Work;
use crate::{Digest, HashError, Scheme, Verifier};

const NAME: &str = "sun-md5-crypt";

/// The text Sun's implementation mixes in, with the NUL of its C string.
const HAMLET: &[u8] = b"To be, or not to be,--that is the question:--\n\
Whether 'tis nobler in the mind to suffer\n\
The slings and arrows of outrageous fortune\n\
Or to take arms against a sea of troubles,\n\
And by opposing end them?--To die,--to sleep,--\n\
No more; and by a sleep to say we end\n\
The heartache, and the thousand natural shocks\n\
That flesh is heir to,--'tis a consummation\n\
Devoutly to be wish'd. To die,--to sleep;--\n\
To sleep! perchance to dream:--ay, there's the rub;\n\
For in that sleep of death what dreams may come,\n\
When we have shuffled off this mortal coil,\n\
Must give us pause: there's the respect\n\
That makes calamity of so long life;\n\
For who would bear the whips and scorns of time,\n\
The oppressor's wrong, the proud man's contumely,\n\
The pangs of despis'd love, the law's delay,\n\
The insolence of office, and the spurns\n\
That patient merit of the unworthy takes,\n\
When he himself might his quietus make\n\
With a bare bodkin? who would these fardels bear,\n\
To grunt and sweat under a weary life,\n\
But that the dread of something after death,--\n\
The undiscover'd country, from whose bourn\n\
No traveller returns,--puzzles the will,\n\
And makes us rather bear those ills we have\n\
Than fly to others that we know not of?\n\
Thus conscience does make cowards of us all;\n\
And thus the native hue of resolution\n\
Is sicklied o'er with the pale cast of thought;\n\
And enterprises of great pith and moment,\n\
With this regard, their currents turn awry,\n\
And lose the name of action.--Soft you now!\n\
The fair Ophelia!--Nymph, in thy orisons\n\
Be all my sins remember'd.\n\0";

/// Byte order of the final digest before hash64.
const OFFSETS: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];

#[derive(Debug)]
struct SunMd5 {
    rounds: u32,
    /// Everything the first digest salts with: `$md5[,rounds=N]$salt$`.
    config: String,
    checksum: String,
}

pub(crate) fn parse(s: &str) -> Result<Arc<dyn Verifier>, HashError> {
    let (rounds, salt_at) = if s.starts_with("$md5$") {
        (0, 5)
    } else if let Some(rest) = s.strip_prefix("$md5,rounds=") {
        let digits = rest.split('$').next().unwrap_or_default();
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.starts_with('0'))
        {
            return Err(HashError::malformed(
                NAME,
                "rounds must be a number without leading zeros",
            ));
        }
        let rounds: u32 = digits
            .parse()
            .ok()
            .filter(|&r| r <= u32::MAX - 4096)
            .ok_or_else(|| HashError::malformed(NAME, "rounds out of range"))?;
        (rounds, 12 + digits.len() + 1)
    } else {
        return Err(HashError::malformed(
            NAME,
            "expected $md5$ or $md5,rounds=N$",
        ));
    };
    let chk_at = s
        .rfind('$')
        .filter(|&i| i >= salt_at)
        .ok_or_else(|| HashError::malformed(NAME, "expected salt$$checksum"))?;
    let checksum = &s[chk_at + 1..];
    if checksum.len() != 22 || !checksum.bytes().all(|b| hash64_value(b).is_some()) {
        return Err(HashError::malformed(
            NAME,
            "checksum must be 22 hash64 characters",
        ));
    }
    // `salt$$chk` hashes "…salt$"; the bare `salt$chk` hashes "…salt".
    let bare = !s[..chk_at].ends_with('$') || chk_at == salt_at;
    let salt_end = if bare { chk_at } else { chk_at - 1 };
    let salt = &s[salt_at..salt_end];
    if salt.is_empty() || !salt.bytes().all(|b| hash64_value(b).is_some()) {
        return Err(HashError::malformed(NAME, "salt must be hash64 characters"));
    }
    // The config hashed is everything before the checksum's `$`.
    let config = &s[..chk_at];
    Ok(Arc::new(SunMd5 {
        rounds,
        config: config.to_owned(),
        checksum: checksum.to_owned(),
    }))
}

fn to16(v: &[u8]) -> [u8; 16] {
    let mut d = [0u8; 16];
    d.copy_from_slice(&v[..16]);
    d
}

/// Bit `i` (0..128) of the digest, least significant bit of each byte first.
fn bit(d: &[u8; 16], i: usize) -> u8 {
    (d[(i >> 3) & 15] >> (i & 7)) & 1
}

/// One of the two 7-bit indexes the coin is drawn from.
fn muffet_index(d: &[u8; 16], pairs: impl Iterator<Item = (usize, usize)>) -> usize {
    pairs.enumerate().fold(0, |acc, (i, (ia, ib))| {
        let (a, b) = (d[ia], d[ib]);
        let v = d[usize::from((a >> (b % 5)) & 15)] >> ((b >> (a & 7)) & 1);
        acc | (usize::from(bit(d, usize::from(v))) << i)
    })
}

impl Verifier for SunMd5 {
    fn scheme(&self) -> Scheme {
        Scheme::SunMd5Crypt
    }
    fn describe(&self) -> String {
        format!(
            "Sun MD5 crypt ($md5$): {} rounds",
            u64::from(self.rounds) + 4096
        )
    }
    fn verify(&self, password: &[u8]) -> bool {
        let mut d = to16(&Digest::Md5.hash(&[password, self.config.as_bytes()]));
        for round in 0..u64::from(self.rounds) + 4096 {
            let r = usize::try_from(round & 127).unwrap_or(0);
            let x = if bit(&d, r) == 1 {
                muffet_index(&d, (0..7).map(|i| (i + 1, i + 4)))
            } else {
                muffet_index(&d, (0..7).map(|i| (i, i + 3)))
            };
            let y = if bit(&d, (r + 64) & 127) == 1 {
                muffet_index(&d, (0..7).map(|i| ((i + 9) & 15, (i + 12) & 15)))
            } else {
                muffet_index(&d, (0..7).map(|i| (i + 8, (i + 11) & 15)))
            };
            let coin = bit(&d, x) ^ bit(&d, y) == 1;
            let text: &[u8] = if coin { HAMLET } else { b"" };
            d = to16(&Digest::Md5.hash(&[&d, text, round.to_string().as_bytes()]));
        }
        let ordered: Vec<u8> = OFFSETS.iter().map(|&i| d[i]).collect();
        ct_eq(
            hash64_encode_le(&ordered).as_bytes(),
            self.checksum.as_bytes(),
        )
    }
    fn work(&self) -> Work {
        // A round is one MD5 of ~20 bytes, or of Hamlet (~24 blocks) half
        // the time: about 13 compressions, counted as PBKDF2-MD5 iterations
        // (two compressions each).
        Work::Pbkdf2 {
            digest: Digest::Md5,
            iterations: (self.rounds.saturating_add(4096)).saturating_mul(7),
            hash_len: 16,
        }
    }
}
