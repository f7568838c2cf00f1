//! What the server keeps on disk is its service user's alone: folders 0700,
//! files 0600. New ones are made so, and folders and database files found
//! open to others (made by an older version, or copied in) are tightened at
//! start, so that no other account on the machine reads users' files, the
//! database or the keys.

use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FOLDER_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Makes `dir` and any missing parents, owner-only; an existing `dir` is
/// tightened.
pub fn create_folder(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(FOLDER_MODE)
        .create(dir)?;
    tighten(dir, FOLDER_MODE)
}

/// Takes group and other permissions away from `path`, if it has any.
pub fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    let permissions = std::fs::metadata(path)?.permissions();
    if permissions.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        tracing::info!(path = %path.display(), "took others' access away");
    }
    Ok(())
}

/// An SQLite database at `path`, owner-only: created empty and 0600 when it
/// does not exist yet (SQLite then makes its `-wal` and `-shm` files with the
/// same mode), else tightened with them. A missing folder is left for SQLite
/// to report.
pub fn sqlite_database(path: &Path) -> io::Result<()> {
    if path
        .parent()
        .is_some_and(|parent| !parent.as_os_str().is_empty() && !parent.is_dir())
    {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match tighten(Path::new(&file), FILE_MODE) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_made_and_tightened_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let made = root.path().join("a/b");
        create_folder(&made).unwrap();
        assert_eq!(mode(&made), 0o700);
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_folder(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn a_database_and_its_companions_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("new.sqlite3");
        sqlite_database(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        assert_eq!(std::fs::metadata(&fresh).unwrap().len(), 0);

        let old = root.path().join("old.sqlite3");
        let wal = root.path().join("old.sqlite3-wal");
        for file in [&old, &wal] {
            std::fs::write(file, b"kept").unwrap();
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        sqlite_database(&old).unwrap();
        assert_eq!((mode(&old), mode(&wal)), (0o600, 0o600));
        assert_eq!(std::fs::read(&old).unwrap(), b"kept", "contents untouched");

        // A folder that is not there is SQLite's to report.
        sqlite_database(&root.path().join("missing/db.sqlite3")).unwrap();
    }
}
