//! Rows cut into job files: each chunk serialises to a JSON array just under
//! the server's file limit and remembers its rows' indexes in the original file.

/// Rows cut for one job: the file body and each row's index in the original file.
#[derive(Debug)]
pub struct Chunk {
    /// The job file: a JSON array of the rows.
    pub body: Vec<u8>,
    /// Each row's index in the original file.
    pub indexes: Vec<usize>,
}

impl Default for Chunk {
    fn default() -> Self {
        Self::new()
    }
}

impl Chunk {
    /// An empty chunk.
    pub fn new() -> Self {
        Self {
            body: vec![b'['],
            indexes: Vec::new(),
        }
    }
    /// Whether a row of `row_len` bytes still fits under `max` (an empty
    /// chunk takes any row).
    pub fn fits(&self, row_len: usize, max: usize) -> bool {
        self.indexes.is_empty() || self.body.len() + row_len + 2 <= max
    }
    /// Add a row.
    pub fn push(&mut self, index: usize, row: &[u8]) {
        if !self.indexes.is_empty() {
            self.body.push(b',');
        }
        self.body.extend_from_slice(row);
        self.indexes.push(index);
    }
    /// Close the array.
    pub fn finish(mut self) -> Self {
        self.body.push(b']');
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_limit() {
        let mut c = Chunk::new();
        assert!(c.fits(100, 10));
        c.push(0, b"{\"a\":1}");
        assert!(c.fits(1, 12));
        assert!(!c.fits(4, 12));
        c.push(5, b"{}");
        let c = c.finish();
        assert_eq!(c.body, b"[{\"a\":1},{}]");
        assert_eq!(c.indexes, vec![0, 5]);
    }
}
