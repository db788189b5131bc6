//! Byte/string conversions behind `Buffer` (utf8, hex, base64, base64url, latin1, ascii,
//! utf16le). Bytes cross from JavaScript as "binary strings" (one char per byte).

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A binary string (chars U+0000..U+00FF) back to bytes; other chars keep their low byte.
pub(crate) fn latin1(bin: &str) -> Vec<u8> {
    bin.chars().map(|c| (c as u32 & 0xff) as u8).collect()
}

fn normalize(encoding: &str) -> String {
    encoding.trim().to_ascii_lowercase().replace('-', "")
}

/// `Buffer.from(text, encoding)`.
pub(crate) fn decode_string(text: &str, encoding: &str) -> Result<Vec<u8>, String> {
    match normalize(encoding).as_str() {
        "" | "utf8" => Ok(text.as_bytes().to_vec()),
        "hex" => {
            let mut out = Vec::with_capacity(text.len() / 2);
            let b = text.as_bytes();
            let mut i = 0;
            while i + 1 < b.len() {
                match (hex_val(b[i]), hex_val(b[i + 1])) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => break,
                }
                i += 2;
            }
            Ok(out)
        }
        "base64" | "base64url" => {
            let mut clean: String = text
                .chars()
                .filter_map(|c| match c {
                    'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' => Some(c),
                    '-' => Some('+'),
                    '_' => Some('/'),
                    _ => None,
                })
                .collect();
            if clean.len() % 4 == 1 {
                clean.pop();
            }
            LENIENT
                .decode(clean.as_bytes())
                .map_err(|e| format!("invalid base64: {e}"))
        }
        "latin1" | "binary" => Ok(latin1(text)),
        "ascii" => Ok(text.chars().map(|c| (c as u32 & 0xff) as u8).collect()),
        "utf16le" | "ucs2" => Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        other => Err(format!("Unknown encoding: {other}")),
    }
}

/// `buffer.toString(encoding)`.
pub(crate) fn encode_bytes(bytes: &[u8], encoding: &str) -> Result<String, String> {
    match normalize(encoding).as_str() {
        "" | "utf8" => Ok(String::from_utf8_lossy(bytes).into_owned()),
        "hex" => Ok(hex::encode(bytes)),
        "base64" => Ok(base64::engine::general_purpose::STANDARD.encode(bytes)),
        "base64url" => Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)),
        "latin1" | "binary" => Ok(bytes.iter().map(|&b| b as char).collect()),
        "ascii" => Ok(bytes.iter().map(|&b| (b & 0x7f) as char).collect()),
        "utf16le" | "ucs2" => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            Ok(String::from_utf16_lossy(&units))
        }
        other => Err(format!("Unknown encoding: {other}")),
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(decode_string("68656c6c6f", "hex").unwrap(), b"hello");
        assert_eq!(decode_string("6865zz", "hex").unwrap(), b"he");
        assert_eq!(decode_string("aGVsbG8", "base64").unwrap(), b"hello");
        assert_eq!(decode_string("aGVs bG8=\n", "base64").unwrap(), b"hello");
        assert_eq!(encode_bytes(b"hello", "base64").unwrap(), "aGVsbG8=");
        assert_eq!(encode_bytes(&[0xfb, 0xff], "base64url").unwrap(), "-_8");
        assert_eq!(decode_string("-_8", "base64url").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(encode_bytes("é".as_bytes(), "utf-8").unwrap(), "é");
        assert_eq!(latin1("\u{e9}\u{ff}"), vec![0xe9, 0xff]);
        assert!(decode_string("x", "klingon").is_err());
    }
}
