//! Which SQLite files a connector may open: only under directories the
//! operator lists, never Tern's own data.

use std::path::{Path, PathBuf};

/// The configuration setting listing the directories.
pub const SQLITE_SETTING: &str = "network.sqlite_dirs";

/// Directories SQLite legacy databases may be opened from, canonicalized
/// (symlinks and `..` resolved), and Tern's own files, which never may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqliteDirs {
    dirs: Vec<PathBuf>,
    forbidden: Vec<PathBuf>,
}

impl SqliteDirs {
    /// `dirs` as configured; `own` are Tern's data directory and its own
    /// database file (refused even inside a listed directory). A listed
    /// directory that does not exist stops the server at start.
    pub fn new(dirs: &[PathBuf], own: &[PathBuf]) -> Result<Self, String> {
        let dirs = dirs
            .iter()
            .map(|d| {
                d.canonicalize()
                    .map_err(|e| format!("{SQLITE_SETTING}: {}: {e}", d.display()))
            })
            .collect::<Result<_, _>>()?;
        // Tern's own paths may not exist yet (a database file is created
        // later); the nearest existing ancestor is canonicalized then.
        let forbidden = own.iter().map(|p| canonical_lenient(p)).collect();
        Ok(SqliteDirs { dirs, forbidden })
    }

    /// The canonical path to open for `path`, or why it may not be opened.
    pub fn check(&self, path: &Path) -> Result<PathBuf, String> {
        let shown = path.display();
        let real = path
            .canonicalize()
            .map_err(|e| format!("sqlite:{shown} cannot be opened: {e}"))?;
        if !real.is_file() {
            return Err(format!("sqlite:{shown} is not a file"));
        }
        let real_text = real.to_string_lossy();
        if self.forbidden.iter().any(|f| {
            real.starts_with(f) || real_text.starts_with(&format!("{}-", f.to_string_lossy()))
        }) {
            return Err(format!(
                "sqlite:{shown} is Tern's own data (it resolves to {}); a connector never opens Tern's data directory or database",
                real.display()
            ));
        }
        if !self.dirs.iter().any(|d| real.starts_with(d)) {
            return Err(format!(
                "sqlite:{shown} (resolving to {}) is not under a directory listed in {SQLITE_SETTING}; an operator allows SQLite legacy databases there, e.g. {SQLITE_SETTING} = [\"{}\"]",
                real.display(),
                real.parent()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ));
        }
        Ok(real)
    }
}

fn canonical_lenient(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    while let Some(parent) = cur.parent() {
        if let Some(name) = cur.file_name() {
            rest.push(name.to_os_string());
        }
        if let Ok(c) = parent.canonicalize() {
            let mut out = c;
            for n in rest.iter().rev() {
                out.push(n);
            }
            return out;
        }
        cur = parent;
    }
    abs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_directories_and_never_terns_own() {
        let root = tempfile::tempdir().unwrap();
        let legacy = root.path().join("legacy");
        let data = legacy.join("tern-data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(legacy.join("users.db"), b"x").unwrap();
        std::fs::write(data.join("tern.db"), b"x").unwrap();
        std::fs::write(data.join("tern.db-wal"), b"x").unwrap();
        std::fs::write(root.path().join("other.db"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(data.join("tern.db"), legacy.join("innocent.db")).unwrap();

        let dirs =
            SqliteDirs::new(std::slice::from_ref(&legacy), std::slice::from_ref(&data)).unwrap();
        assert!(dirs.check(&legacy.join("users.db")).is_ok());
        assert!(
            dirs.check(&data.join("tern.db"))
                .unwrap_err()
                .contains("Tern's own")
        );
        assert!(dirs.check(&data.join("tern.db-wal")).is_err());
        assert!(
            dirs.check(&legacy.join("tern-data/../tern-data/tern.db"))
                .unwrap_err()
                .contains("Tern's own")
        );
        #[cfg(unix)]
        assert!(
            dirs.check(&legacy.join("innocent.db"))
                .unwrap_err()
                .contains("Tern's own")
        );
        let e = dirs.check(&root.path().join("other.db")).unwrap_err();
        assert!(e.contains(SQLITE_SETTING), "{e}");
        assert!(dirs.check(&legacy.join("../other.db")).is_err());
        assert!(dirs.check(&legacy.join("missing.db")).is_err());
        assert!(
            SqliteDirs::default()
                .check(&legacy.join("users.db"))
                .is_err()
        );
        // A database file outside the data directory is Tern's own too.
        let own_db = legacy.join("elsewhere.db");
        std::fs::write(&own_db, b"x").unwrap();
        let dirs =
            SqliteDirs::new(std::slice::from_ref(&legacy), std::slice::from_ref(&own_db)).unwrap();
        assert!(dirs.check(&own_db).is_err());
        assert!(SqliteDirs::new(&[root.path().join("nope")], &[]).is_err());
    }
}
