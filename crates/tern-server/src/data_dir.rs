//! The data directory holds the database, the secrets key and the bootstrap
//! credentials: it is the tenant. It is kept owner-only — the directory
//! 0700, the files Tern writes there 0600 — including what earlier versions
//! created with looser modes (tightened at start, each change logged).
//! Other files an operator keeps there are left alone: a data directory
//! pointed at a shared folder must not have its contents changed.
//!
//! SQLite creates `tern.db-wal` and `tern.db-shm` with the mode of
//! `tern.db`, so creating the database file 0600 before SQLite opens it
//! makes its companions owner-only too.

use std::path::{Path, PathBuf};

use crate::config::Config;

/// The files Tern writes in the data directory besides the SQLite database
/// (a module that writes another one adds it here, or creates it 0600).
const FILES: &[&str] = &[crate::secrets::KEY_FILE, crate::bootstrap::INFO_FILE];

/// What SQLite keeps beside a database file.
const SQLITE_SUFFIXES: &[&str] = &["", "-wal", "-shm", "-journal"];

/// Create the data directory (0700) and the SQLite database file (0600)
/// when missing, and tighten Tern's files there to owner-only.
pub fn prepare(config: &Config) -> std::io::Result<()> {
    let dir = &config.data_dir;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    tighten(dir)?;
    for f in FILES {
        tighten(&dir.join(f))?;
    }
    if let Some(db) = sqlite_file(&config.database_url()) {
        create_owner_only(&db)?;
        // Also when the operator keeps the database outside the data directory.
        for suffix in SQLITE_SUFFIXES {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            tighten(Path::new(&p))?;
        }
    }
    Ok(())
}

/// The file of a `sqlite:` URL (`sqlite://PATH`, `sqlite:PATH`, options
/// after `?`); `None` for other databases and in-memory ones.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    // Never truncates: an existing database is only opened.
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    opts.open(path).map(drop)
}

/// 0700 for a directory, 0600 for a file, when group or others have any
/// access; a missing path is fine.
#[cfg(unix)]
fn tighten(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mode = meta.permissions().mode() & 0o777;
    if meta.file_type().is_symlink() || mode & 0o077 == 0 {
        return Ok(());
    }
    let owner_only = if meta.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(owner_only))?;
    tracing::warn!(
        path = %path.display(),
        was = format!("{mode:o}"),
        now = format!("{owner_only:o}"),
        "tightened to owner-only (the data directory holds the database, the secrets key and the admin credentials)"
    );
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/tern/tern.db"),
            Some(PathBuf::from("/var/lib/tern/tern.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://tern-data/tern.db?mode=rwc"),
            Some(PathBuf::from("tern-data/tern.db"))
        );
        assert_eq!(sqlite_file("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
