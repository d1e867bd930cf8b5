//! Private, atomic, locked file writes.
//!
//! The AWS files hold people's only copy of their keys. Every write here follows one
//! recipe, so that a crash at any instant leaves either the old file or the new one and
//! two writers never lose each other's changes:
//! take an exclusive lock on a separate lock file (locking the target itself loses
//! updates once it is renamed over), let the caller re-read and edit under the lock,
//! write a temporary file with mode 0600 in the target's directory, fsync it, rename it
//! over the target (following a symlink to its real file), and fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::sys;

/// Files larger than this are refused: no AWS config or credentials file is this big,
/// and reading one must not exhaust memory.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Why a file could not be read or written. Holds the path, never the contents.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: is a directory, not a file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: too large ({size} bytes; awsmfa reads at most {MAX_FILE_BYTES})")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}: too many levels of symbolic links")]
    SymlinkLoop { path: PathBuf },
    #[error("{path} is a symbolic link, which awsmfa does not follow here")]
    Symlink { path: PathBuf },
    #[error("{path} is not a regular file with one name")]
    NotPlain { path: PathBuf },
    #[error("{path} belongs to another user (uid {uid})")]
    NotOwned { path: PathBuf, uid: u32 },
    #[error("{path} can be written by other users (mode {mode:03o})")]
    OpenToOthers { path: PathBuf, mode: u32 },
}

impl FsError {
    /// How to fix a file or directory that awsmfa refused.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            FsError::Symlink { path } | FsError::NotPlain { path } => format!(
                "remove {} (awsmfa makes its own); not yours? someone can write there",
                path.display()
            ),
            FsError::NotOwned { path, .. } => format!(
                "use a directory of your own: AWSMFA_CACHE_DIR, or remove {}",
                path.display()
            ),
            FsError::OpenToOthers { path, .. } => format!("chmod 700 {}", path.display()),
            _ => return None,
        })
    }
}

/// This process's effective user id (Unix).
pub fn euid() -> u32 {
    sys::euid()
}

/// Refuses a private directory (the session cache) that is not the user's or that
/// others can write to: whoever can write there can plant links at the names awsmfa
/// uses. One `stat`, following a link to the directory itself. (Windows has no owner
/// or mode to check: see `sys`'s note on access lists.)
pub fn check_private_dir(dir: &Path) -> Result<std::fs::Metadata, FsError> {
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    if !meta.is_dir() {
        return Err(io_err(dir)(io::Error::other("not a directory")));
    }
    if let Some(o) = sys::owner_and_mode(&meta) {
        if o.uid != euid() {
            return Err(FsError::NotOwned {
                path: dir.to_path_buf(),
                uid: o.uid,
            });
        }
        if o.mode & 0o022 != 0 {
            return Err(FsError::OpenToOthers {
                path: dir.to_path_buf(),
                mode: o.mode & 0o777,
            });
        }
    }
    Ok(meta)
}

/// Refuses the parent of a private directory when someone else could swap the
/// directory for one of theirs: it must be the user's or root's, and not writable by
/// others unless sticky (as `/tmp` is).
pub fn check_parent_dir(dir: &Path) -> Result<(), FsError> {
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    let Some(o) = sys::owner_and_mode(&meta) else {
        return Ok(());
    };
    if o.uid != euid() && o.uid != 0 {
        return Err(FsError::NotOwned {
            path: dir.to_path_buf(),
            uid: o.uid,
        });
    }
    if o.mode & 0o022 != 0 && o.mode & 0o1000 == 0 {
        return Err(FsError::OpenToOthers {
            path: dir.to_path_buf(),
            mode: o.mode & 0o777,
        });
    }
    Ok(())
}

/// Opens a file in a private directory without following a symbolic link at its name
/// (`O_NOFOLLOW`), creating it 0600 when `create`, and checks what was opened — by
/// `fstat` on the descriptor, never the path: a regular file of this user with one
/// name. `Ok(None)`: it does not exist (and `create` was not asked).
pub fn open_private(path: &Path, create: bool) -> Result<Option<(File, fs::Metadata)>, FsError> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    if create {
        opts.write(true).create(true).truncate(false);
    }
    sys::open_nofollow(&mut opts, create);
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
        Err(e) if sys::is_symlink_loop(&e) => {
            return Err(FsError::Symlink {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let meta = file.metadata().map_err(io_err(path))?;
    if meta.file_type().is_symlink() {
        return Err(FsError::Symlink {
            path: path.to_path_buf(),
        });
    }
    let owner = sys::owner_and_mode(&meta);
    if !meta.is_file() || owner.is_some_and(|o| o.links != 1) {
        return Err(FsError::NotPlain {
            path: path.to_path_buf(),
        });
    }
    if let Some(o) = owner.filter(|o| o.uid != euid()) {
        return Err(FsError::NotOwned {
            path: path.to_path_buf(),
            uid: o.uid,
        });
    }
    Ok(Some((file, meta)))
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FsError + '_ {
    move |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a whole file, or `None` when it does not exist. Refuses directories and files
/// over [`MAX_FILE_BYTES`].
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    Ok(read_optional_with_meta(path)?.map(|(bytes, _)| bytes))
}

/// [`read_optional`], with the metadata of the file that was read (taken from the open
/// file before reading it).
pub fn read_optional_with_meta(path: &Path) -> Result<Option<(Vec<u8>, fs::Metadata)>, FsError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if sys::is_symlink_loop(&e) => {
            return Err(FsError::SymlinkLoop {
                path: path.to_path_buf(),
            });
        }
        // Windows refuses to open a directory as a file, as "access denied": say what it is.
        Err(_) if fs::metadata(path).is_ok_and(|m| m.is_dir()) => {
            return Err(FsError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let meta = file.metadata().map_err(io_err(path))?;
    if meta.is_dir() {
        return Err(FsError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // `take` guards against a file that grows while we read it.
    (&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(path))?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: buf.len() as u64,
        });
    }
    Ok(Some((buf, meta)))
}

/// The file a write to `path` must replace: `path` itself, or the end of its chain of
/// symbolic links (which need not exist yet).
pub fn resolve_target(path: &Path) -> Result<PathBuf, FsError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current).map_err(io_err(&current))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(meta) if meta.is_dir() => {
                return Err(FsError::IsDirectory { path: current });
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(io_err(&current)(e)),
        }
    }
    Err(FsError::SymlinkLoop {
        path: path.to_path_buf(),
    })
}

/// A file-name-safe name for what `parts` say (the first 128 bits of their SHA-256, in
/// hex): the session cache's entries and the files index are named so.
pub fn hashed_name(parts: &[&str]) -> String {
    let mut h = crate::sha256::Sha256::new();
    for p in parts {
        h.update(p.as_bytes()).update(&[0]);
    }
    crate::hex::lower(&h.finish()[..16])
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    sys::create_private_dir(dir).map_err(io_err(dir))
}

/// An exclusive lock on the lock file beside a target; released on drop.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// The lock file that guards `target`: `.NAME.awsmfa-lock` in the same directory.
pub fn lock_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.awsmfa-lock"))
}

/// Blocks until this process holds the lock for `target` (a resolved path).
pub fn lock(target: &Path) -> Result<FileLock, FsError> {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let path = lock_path(target);
    let (file, _) = open_private(&path, true)?.expect("created");
    file.lock().map_err(io_err(&path))?;
    Ok(FileLock { _file: file })
}

/// Replaces `target` (a resolved path) with `bytes`: temp file 0600 in the same
/// directory, fsync, rename, fsync of the directory (on Windows: a rename retried while
/// another process holds the target open, and no directory to fsync). Call with the
/// target's lock held.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir)?;
    // tempfile creates the file with O_EXCL and mode 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".awsmfa-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io_err(&dir))?;
    tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
    sys::replace_file(tmp, target).map_err(|e| FsError::Io {
        path: target.to_path_buf(),
        source: e.error,
    })?;
    sys::sync_dir(&dir).map_err(io_err(&dir))?;
    remove_stale_temp_files(&dir);
    Ok(())
}

/// A writer killed between creating its temporary file and renaming it leaves the file
/// behind (private, never read). Old ones are removed; young ones may belong to a
/// writer of the other file in the same directory that is still at work.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".awsmfa-") && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(600));
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_is_private_and_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        let target = resolve_target(&link).unwrap();
        assert_eq!(target, real);
        let _guard = lock(&target).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(fs::read(&link).unwrap(), b"new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn reads_refuse_directories_loops_and_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_optional(dir.path()),
            Err(FsError::IsDirectory { .. })
        ));
        assert_eq!(read_optional(&dir.path().join("missing")).unwrap(), None);
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        assert!(matches!(
            read_optional(&a),
            Err(FsError::SymlinkLoop { .. })
        ));
        assert!(matches!(
            resolve_target(&a),
            Err(FsError::SymlinkLoop { .. })
        ));
        let big = dir.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(matches!(read_optional(&big), Err(FsError::TooLarge { .. })));
    }

    #[test]
    fn locks_refuse_a_planted_symlink_and_leave_its_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let target = dir.path().join("credentials");
        std::os::unix::fs::symlink(&victim, lock_path(&target)).unwrap();
        assert!(matches!(lock(&target), Err(FsError::Symlink { .. })));
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        // A second name for a file (a hard link) is refused too.
        fs::remove_file(lock_path(&target)).unwrap();
        fs::hard_link(&victim, lock_path(&target)).unwrap();
        assert!(matches!(lock(&target), Err(FsError::NotPlain { .. })));
    }

    #[test]
    fn private_dirs_must_be_ours_and_closed_to_writers() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_private_dir(dir.path()).is_ok());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_private_dir(dir.path()).unwrap_err();
        assert!(
            matches!(e, FsError::OpenToOthers { mode: 0o777, .. }),
            "{e}"
        );
        assert!(e.hint().unwrap().starts_with("chmod 700 "));
    }

    #[test]
    fn new_directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new/.aws/credentials");
        write_atomic(&target, b"x").unwrap();
        let mode = fs::metadata(target.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
