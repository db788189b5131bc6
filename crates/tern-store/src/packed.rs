//! Job files stored compressed: an import's uploaded file and an export's
//! result are kept as LZ4 blocks (the `job_blobs` table), compressed here
//! rather than by the database. JSON user files shrink about fourfold at
//! several hundred MB/s, and it is the bytes sent to, logged by and stored
//! in the database that made storing a large upload slow on PostgreSQL
//! (~0.35 s for 36 MB as TEXT, whatever TOAST compression the column used).

use tern_core::{CoreError, CoreResult};

/// A file as stored: its LZ4 block, prefixed with its length.
pub(crate) fn pack(text: &str) -> Vec<u8> {
    lz4_flex::compress_prepend_size(text.as_bytes())
}

/// A stored file back as text.
pub(crate) fn unpack(stored: &[u8]) -> CoreResult<String> {
    let bytes = lz4_flex::decompress_size_prepended(stored)
        .map_err(|e| CoreError::Storage(format!("a stored job file is damaged: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| CoreError::Storage("a stored job file is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_file_comes_back_as_it_went_in() {
        let file = format!(
            "[{}]",
            r#"{"email": "a@example.com", "name": "Zoë"},"#.repeat(1000)
        );
        let stored = pack(&file);
        assert!(stored.len() < file.len() / 4, "{} bytes", stored.len());
        assert_eq!(unpack(&stored).unwrap(), file);
        assert_eq!(unpack(&pack("")).unwrap(), "");
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let mut stored = pack(&"x".repeat(10_000));
        stored.truncate(stored.len() / 2);
        assert!(unpack(&stored).is_err());
        assert!(unpack(&[0xff, 0xff, 0xff, 0x7f, 1, 2, 3]).is_err());
        assert!(unpack(&[]).is_err());
    }
}
