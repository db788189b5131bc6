//! An import started from the console: one uploaded file, split into the
//! same import jobs `tern import` makes (`import_file::Chunk`), and what the
//! upload learnt while reading it — rows read, their hash formats, rows that
//! never reached a job — plus, per job, which rows of the file it holds, so
//! a job's error `index` maps back to the row's index in the file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How many rows refused while reading are kept (the count is exact).
pub const MAX_LOCAL_ERRORS: usize = 10_000;

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// The file is still arriving; jobs are queued as chunks fill.
    Uploading,
    /// The whole file was read; its jobs run.
    Submitted,
    /// Reading stopped early (the error says why); the jobs queued before
    /// that run.
    Stopped,
}

/// A row's error, in the file's numbering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 0-based index of the row in the uploaded file.
    pub index: u64,
    /// Auth0's error code (or the reader's: `INVALID_JSON`, `ROW_TOO_LARGE`…).
    pub code: String,
    /// The field at fault, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// One job of an upload and the file rows it holds, as runs of
/// consecutive indexes (`[first, count]`): a file read without refusals is
/// one run per job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadJob {
    /// The job's id.
    pub job_id: String,
    /// Rows in the job.
    pub rows: u64,
    /// `[first index, count]` runs, in job-file order.
    pub runs: Vec<[u64; 2]>,
}

impl UploadJob {
    /// The job for a chunk of rows with these file indexes.
    pub fn new(job_id: String, indexes: &[usize]) -> Self {
        let mut runs: Vec<[u64; 2]> = Vec::new();
        for &i in indexes {
            let i = i as u64;
            match runs.last_mut() {
                Some([first, n]) if *first + *n == i => *n += 1,
                _ => runs.push([i, 1]),
            }
        }
        Self {
            job_id,
            rows: indexes.len() as u64,
            runs,
        }
    }

    /// The file index of the job file's row `at` (0-based), if it has one.
    pub fn file_index(&self, at: u64) -> Option<u64> {
        let mut left = at;
        for [first, n] in &self.runs {
            if left < *n {
                return Some(first + left);
            }
            left -= n;
        }
        None
    }
}

/// An import started from the console.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleImport {
    /// `imp_…`.
    pub id: String,
    /// When the upload started.
    pub created_at: String,
    /// The connection imported into.
    pub connection_id: String,
    /// Its name.
    pub connection: String,
    /// The uploaded file's name as the browser gave it.
    pub file_name: String,
    /// Who uploaded it (the operator's email or id).
    pub operator: String,
    /// Update users that exist instead of failing their rows.
    pub upsert: bool,
    /// Validate and count only: nothing is written.
    pub dry_run: bool,
    /// Where the upload is.
    pub state: UploadState,
    /// Why reading stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Bytes of the file read.
    pub bytes_read: u64,
    /// Rows read (every row, refused ones included).
    pub rows_read: u64,
    /// Rows read per password hash format (`import_file::hash_format`).
    pub formats: BTreeMap<String, u64>,
    /// The file's format: `auth0` (Auth0's import schema) or the name of
    /// the platform whose export it is (`import_file::platforms::Platform`).
    #[serde(default = "auth0_source")]
    pub source: String,
    /// Second factors carried, by kind (`totp`, `phone`…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub second_factors: BTreeMap<String, u64>,
    /// Second factors the export held that could not be carried, by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub left_behind: BTreeMap<String, u64>,
    /// Rows refused before any job (unreadable, too large).
    pub refused: u64,
    /// The first [`MAX_LOCAL_ERRORS`] of them.
    pub refused_rows: Vec<RowError>,
    /// The jobs, in file order.
    pub jobs: Vec<UploadJob>,
}

/// The source of a file in Auth0's own import schema.
pub const AUTH0_SOURCE: &str = "auth0";

fn auth0_source() -> String {
    AUTH0_SOURCE.into()
}

impl ConsoleImport {
    /// A row refused before any job.
    pub fn refuse(&mut self, index: usize, code: &str, message: String) {
        self.refused += 1;
        if self.refused_rows.len() < MAX_LOCAL_ERRORS {
            self.refused_rows.push(RowError {
                index: index as u64,
                code: code.into(),
                path: String::new(),
                message,
            });
        }
    }
}

/// The errors of a job's error records (`JobStore::job_errors`: `index` in
/// the job file, `errors` with `code`, `path`, `message`) in the file's
/// numbering.
pub fn job_row_errors(job: &UploadJob, records: &[serde_json::Value]) -> Vec<RowError> {
    let mut out = Vec::new();
    for rec in records {
        let index = rec
            .get("index")
            .and_then(serde_json::Value::as_u64)
            .and_then(|i| job.file_index(i));
        let Some(index) = index else { continue };
        let errors = rec.get("errors").and_then(serde_json::Value::as_array);
        for e in errors.into_iter().flatten() {
            let s = |k: &str| {
                e.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            out.push(RowError {
                index,
                code: s("code"),
                path: s("path"),
                message: s("message"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_rows_map_back_to_the_file() {
        let job = UploadJob::new("job_x".into(), &[3, 4, 5, 7, 8, 12]);
        assert_eq!(job.runs, vec![[3, 3], [7, 2], [12, 1]]);
        assert_eq!(job.rows, 6);
        let got: Vec<_> = (0..7).map(|i| job.file_index(i)).collect();
        assert_eq!(
            got,
            [Some(3), Some(4), Some(5), Some(7), Some(8), Some(12), None]
        );
        let errs = job_row_errors(
            &job,
            &[
                json!({"index": 3, "errors": [{"code": "INVALID_FORMAT", "path": "email", "message": "bad"}]}),
                json!({"index": 99, "errors": [{"code": "X", "message": "lost"}]}),
            ],
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].index, 7);
        assert_eq!(errs[0].code, "INVALID_FORMAT");
    }
}
