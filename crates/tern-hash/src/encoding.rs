//! Text codecs used by the hash formats: the base64 family (standard,
//! URL-safe, passlib's "ab64", bcrypt's alphabet), crypt's "hash64", hex, and
//! the Node.js `Buffer` encodings Auth0 applies to passwords.
//!
//! Every decoder returns `None` on bad input instead of panicking.

use subtle::ConstantTimeEq;

/// The standard base64 alphabet (RFC 4648 §4).
const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// bcrypt's alphabet (same bit order as standard base64).
const BCRYPT: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// crypt(3)'s "hash64" alphabet, used by md5-crypt, sha-crypt, phpass, Drupal.
pub(crate) const HASH64: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Compare two byte strings in constant time (with respect to their content).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Value of a character in the lenient base64 alphabet: standard, URL-safe
/// (`-`, `_`) and passlib's ab64 (`.` for `+`) all decode.
fn lenient_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' | b'.' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Value of a character in bcrypt's alphabet.
fn bcrypt_value(c: u8) -> Option<u8> {
    BCRYPT
        .iter()
        .position(|&x| x == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Value of a character in crypt's hash64 alphabet.
pub(crate) fn hash64_value(c: u8) -> Option<u8> {
    HASH64
        .iter()
        .position(|&x| x == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Decode big-endian base64 digits (no padding) with a character mapper.
/// Trailing bits that do not fill a byte are ignored, as most crypt
/// implementations do.
fn decode_be(s: &[u8], value: impl Fn(u8) -> Option<u8>) -> Option<Vec<u8>> {
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in s {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Encode bytes as big-endian base64 digits with `alphabet`, no padding.
fn encode_be(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).copied().map_or(0, u32::from);
        let b2 = chunk.get(2).copied().map_or(0, u32::from);
        let n = (b0 << 16) | (b1 << 8) | b2;
        let digits = chunk.len() + 1;
        for i in 0..digits {
            let idx = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(alphabet[idx as usize]));
        }
    }
    out
}

/// Lenient base64 decoding: standard or URL-safe or ab64 alphabet, padding
/// optional (but only at the end). Used for PHC strings, LDAP, Django and
/// ASP.NET values.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    decode_be(body.as_bytes(), lenient_value)
}

/// Base64 decoding as Node.js `Buffer.from(s, 'base64')` is used by Auth0:
/// standard or URL-safe alphabet, padding optional, ASCII whitespace ignored.
pub(crate) fn b64_decode_node(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    b64_decode(&compact)
}

/// Is `s` strictly standard padded base64 (length multiple of 4)?
pub(crate) fn is_strict_padded_b64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    !s.is_empty() && s.len().is_multiple_of(4) && pad <= 2 && body.bytes().all(|c| STD.contains(&c))
}

/// Standard base64 without padding (PHC "B64").
pub(crate) fn b64_encode_nopad(bytes: &[u8]) -> String {
    encode_be(bytes, STD)
}

/// Standard base64 with padding.
pub(crate) fn b64_encode_padded(bytes: &[u8]) -> String {
    let mut s = encode_be(bytes, STD);
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// Decode bcrypt-alphabet base64 (salt or checksum part of a bcrypt hash).
pub(crate) fn bcrypt_b64_decode(s: &str) -> Option<Vec<u8>> {
    decode_be(s.as_bytes(), bcrypt_value)
}

/// Encode bytes in bcrypt's base64 alphabet, no padding.
pub(crate) fn bcrypt_b64_encode(bytes: &[u8]) -> String {
    encode_be(bytes, BCRYPT)
}

/// crypt's little-endian "hash64" encoding of a byte string, three bytes at a
/// time, as phpass' `encode64` and Drupal's `_password_base64_encode` do.
pub(crate) fn hash64_encode_le(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut v = u32::from(chunk[0]);
        if let Some(&b) = chunk.get(1) {
            v |= u32::from(b) << 8;
        }
        if let Some(&b) = chunk.get(2) {
            v |= u32::from(b) << 16;
        }
        for _ in 0..=chunk.len() {
            out.push(char::from(HASH64[(v & 0x3f) as usize]));
            v >>= 6;
        }
    }
    out
}

/// crypt's `b64_from_24bit(B2, B1, B0, n)` applied to a list of byte-index
/// triples, as md5-crypt and sha-crypt lay out their digests. A triple's
/// `None` stands for a literal zero byte.
pub(crate) fn hash64_encode_groups(
    digest: &[u8],
    groups: &[(Option<usize>, Option<usize>, usize, usize)],
) -> String {
    let byte = |i: Option<usize>| i.and_then(|i| digest.get(i)).copied().map_or(0, u32::from);
    let mut out = String::new();
    for &(b2, b1, b0, n) in groups {
        let mut w = (byte(b2) << 16) | (byte(b1) << 8) | byte(Some(b0));
        for _ in 0..n {
            out.push(char::from(HASH64[(w & 0x3f) as usize]));
            w >>= 6;
        }
    }
    out
}

/// Hex decoding, upper or lower case, even length required.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok()
}

/// A Node.js `Buffer` encoding that Auth0 applies to the typed password
/// before hashing (`custom_password_hash.password.encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordEncoding {
    /// UTF-8 (the default).
    Utf8,
    /// Node's `ascii`: when encoding a string it behaves exactly like `latin1`.
    Ascii,
    /// Node's `latin1`: the low byte of each UTF-16 code unit.
    Latin1,
    /// Node's `binary`: an alias of `latin1`.
    Binary,
    /// UTF-16 little-endian code units.
    Utf16le,
    /// Node's `ucs2`: an alias of `utf16le`.
    Ucs2,
}

impl PasswordEncoding {
    /// Parse the Auth0/Node name.
    pub(crate) fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "utf8" => Self::Utf8,
            "ascii" => Self::Ascii,
            "latin1" => Self::Latin1,
            "binary" => Self::Binary,
            "utf16le" => Self::Utf16le,
            "ucs2" => Self::Ucs2,
            _ => return None,
        })
    }

    /// The Auth0/Node name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf8",
            Self::Ascii => "ascii",
            Self::Latin1 => "latin1",
            Self::Binary => "binary",
            Self::Utf16le => "utf16le",
            Self::Ucs2 => "ucs2",
        }
    }

    /// Transcode a password as `Buffer.from(password, encoding)` does.
    pub(crate) fn encode(self, password: &str) -> Vec<u8> {
        match self {
            Self::Utf8 => password.as_bytes().to_vec(),
            // Node truncates each UTF-16 code unit to its low byte.
            Self::Ascii | Self::Latin1 | Self::Binary => {
                password.encode_utf16().map(|u| (u & 0xff) as u8).collect()
            }
            Self::Utf16le | Self::Ucs2 => password
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_buffer_encodings() {
        // Values from `Buffer.from('pässwörd-ü€😀', enc).toString('hex')` in Node 20.
        let pw = "pässwörd-ü€😀";
        let hex = |v: Vec<u8>| hex::encode(v);
        assert_eq!(
            hex(PasswordEncoding::Latin1.encode(pw)),
            "70e4737377f672642dfcac3d00"
        );
        assert_eq!(
            hex(PasswordEncoding::Ascii.encode(pw)),
            "70e4737377f672642dfcac3d00"
        );
        assert_eq!(
            hex(PasswordEncoding::Ucs2.encode(pw)),
            "7000e400730073007700f600720064002d00fc00ac203dd800de"
        );
    }

    #[test]
    fn base64_roundtrips() {
        for len in 0..20u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode_nopad(&data)), Some(data.clone()));
            assert_eq!(b64_decode(&b64_encode_padded(&data)), Some(data.clone()));
            assert_eq!(bcrypt_b64_decode(&bcrypt_b64_encode(&data)), Some(data));
        }
        assert_eq!(b64_decode("a"), None);
        assert_eq!(b64_decode("ab=c"), None);
        assert_eq!(b64_decode_node("_-8="), Some(vec![0xff, 0xef]));
    }
}
