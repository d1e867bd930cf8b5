//! The session cache: one private file per session, and the locks that make concurrent
//! callers share one STS call.
//!
//! Files live in `$AWSMFA_CACHE_DIR` (default `$XDG_CACHE_HOME/awsmfa`, else
//! `~/.cache/awsmfa`), the directory 0700, each file 0600, named by a hash of what
//! determines the session. A file that is corrupt, truncated, not ours or readable by
//! others is ignored (with a warning) and replaced. Reading a fresh entry takes no lock
//! (files are replaced atomically); creating one takes the key's lock file, reads again,
//! and only then calls STS, so N processes that need the same session make one call.

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::creds::Credentials;
use crate::fsx::{self, FsError};
use crate::sys::Env;

/// What a cached session is, for `status` and `clear`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// `mfa-session` or `role`.
    pub kind: String,
    /// The profile it was made for.
    pub profile: String,
    /// The MFA device or the role ARN.
    pub detail: String,
    /// What identifies the long-term keys it was made from (their fingerprint), so the
    /// sessions of a removed or rotated key can be dropped.
    #[serde(default)]
    pub keys: String,
    /// When the session was obtained (RFC 3339), so that its lifetime is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
}

/// A cached session.
#[derive(Debug, Clone)]
pub struct Cached {
    pub meta: Meta,
    pub creds: Credentials,
}

#[derive(Serialize)]
struct FileOut<'a> {
    version: u32,
    #[serde(flatten)]
    meta: &'a Meta,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

#[derive(Deserialize)]
struct FileIn {
    version: u32,
    #[serde(flatten)]
    meta: Meta,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

/// The cache directory and its operations.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// How a lock wait is announced: the pid holding the lock, when known.
pub type OnWait<'a> = &'a dyn Fn(Option<u32>);

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// `$AWSMFA_CACHE_DIR`, else `$XDG_CACHE_HOME/awsmfa`, else `~/.cache/awsmfa`
    /// (`%LOCALAPPDATA%\\awsmfa\\cache` on Windows).
    pub fn from_env(env: &Env) -> Option<Cache> {
        if let Some(d) = env.get("AWSMFA_CACHE_DIR") {
            return Some(Cache::new(env.expand(d)));
        }
        if let Some(d) = env.get("XDG_CACHE_HOME") {
            return Some(Cache::new(PathBuf::from(d).join("awsmfa")));
        }
        crate::sys::default_cache_dir(env).map(Cache::new)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file-name-safe key for the parts that determine a session.
    pub fn key(parts: &[&str]) -> String {
        fsx::hashed_name(parts)
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }

    /// Makes the directory (0700) and checks it: refused when it is not the user's or
    /// others can write to it (they could plant links at the lock names); tightened,
    /// with a warning, when others could only read it.
    pub fn ensure_dir(&self, warn: &dyn Fn(&str)) -> Result<(), FsError> {
        fsx::create_private_dir(&self.dir)?;
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsx::check_parent_dir(parent)?;
        }
        let meta = fsx::check_private_dir(&self.dir)?;
        if crate::sys::owner_and_mode(&meta).is_some_and(|o| o.mode & 0o077 != 0) {
            warn(&format!(
                "{} was readable by others; it is now private (0700)",
                self.dir.display()
            ));
            let _ = crate::sys::set_private_mode(&self.dir, 0o700);
        }
        Ok(())
    }

    /// A directory of awsmfa's own inside the cache (`servers`, `console`, `scratch`),
    /// made private (0700) under the checks of [`Cache::ensure_dir`], and checked itself:
    /// whatever is put there is private from its first instant, whatever the umask.
    pub fn private_subdir(&self, name: &str, warn: &dyn Fn(&str)) -> Result<PathBuf, FsError> {
        self.ensure_dir(warn)?;
        let dir = self.dir.join(name);
        fsx::create_private_dir(&dir)?;
        fsx::check_private_dir(&dir)?;
        Ok(dir)
    }

    /// An existing directory of awsmfa's own inside the cache, checked as
    /// [`Cache::private_subdir`] checks it but not made: `Ok(None)` when it does not exist.
    pub fn existing_subdir(&self, name: &str) -> Result<Option<PathBuf>, FsError> {
        let dir = self.dir.join(name);
        if std::fs::symlink_metadata(&self.dir).is_err() || std::fs::symlink_metadata(&dir).is_err()
        {
            return Ok(None);
        }
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsx::check_parent_dir(parent)?;
        }
        fsx::check_private_dir(&self.dir)?;
        fsx::check_private_dir(&dir)?;
        Ok(Some(dir))
    }

    /// The entry for `key`, if there is a usable one. Problems are reported through
    /// `warn` and count as a miss; so does a directory [`Cache::ensure_dir`] would refuse
    /// (it says why when a session is made).
    pub fn load(&self, key: &str, warn: &dyn Fn(&str)) -> Option<Cached> {
        fsx::check_private_dir(&self.dir).ok()?;
        let path = self.path(key, "json");
        read_entry(&path).unwrap_or_else(|problem| {
            if let Some(p) = problem {
                warn(&format!(
                    "ignoring cached session {}: {p}; it will be replaced",
                    path.display()
                ));
            }
            None
        })
    }

    /// Writes an entry atomically (0600).
    pub fn store(&self, key: &str, meta: &Meta, creds: &Credentials) -> Result<(), FsError> {
        fsx::write_atomic(&self.path(key, "json"), &entry_bytes(meta, creds))
    }

    /// Takes the exclusive lock of `key`, telling `on_wait` when another process holds
    /// it. The lock file holds the pid of its holder.
    pub fn lock(&self, key: &str, on_wait: OnWait<'_>) -> Result<KeyLock, FsError> {
        self.lock_path(&self.path(key, "lock"), on_wait)
    }

    /// The same for any name inside the cache directory (device locks).
    pub fn lock_path(&self, path: &Path, on_wait: OnWait<'_>) -> Result<KeyLock, FsError> {
        let err = |source| FsError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Never through a link: the pid is written into what is opened.
        let (mut file, _) = fsx::open_private(path, true)?.expect("created");
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = (&file).take(32).read_to_string(&mut text);
                on_wait(text.trim().parse().ok());
                file.lock().map_err(err)?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(err(e)),
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(KeyLock { _file: file })
    }

    /// Every readable entry, for `status`.
    pub fn entries(&self) -> Vec<(String, Cached)> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<(String, Cached)> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let key = name.strip_suffix(".json")?.to_string();
                if key.starts_with("mfa-") {
                    return None;
                }
                Some((key, read_entry(&e.path()).ok()??))
            })
            .collect();
        out.sort_by(|a, b| (&a.1.meta.profile, &a.0).cmp(&(&b.1.meta.profile, &b.0)));
        out
    }

    /// Removes the entries `keep` says no to; returns how many.
    pub fn remove_where(&self, drop: impl Fn(&Meta) -> bool) -> Result<usize, FsError> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        let mut n = 0;
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".json") else {
                continue;
            };
            if key.starts_with("mfa-") {
                continue;
            }
            let meta = read_entry(&e.path()).ok().flatten().map(|c| c.meta);
            // Unreadable entries are dropped by a full clear.
            let matches = match &meta {
                Some(m) => drop(m),
                None => drop(&Meta {
                    kind: String::new(),
                    profile: String::new(),
                    detail: String::new(),
                    keys: String::new(),
                    issued: None,
                }),
            };
            if matches {
                // The lock file stays: a process renewing this session holds it, and a
                // new file under the same name would let a second one in beside it.
                let _ = fs::remove_file(e.path());
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Held while a session is being created; released on drop.
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

/// `Ok(None)`: no entry. `Err(Some(problem))`: an entry that must not be used. Opened
/// without following a link and checked by `fstat` on what was opened.
fn read_entry(path: &Path) -> Result<Option<Cached>, Option<String>> {
    let (file, meta) = match fsx::open_private(path, false) {
        Ok(Some(opened)) => opened,
        Ok(None) => return Ok(None),
        Err(FsError::Symlink { .. }) => return Err(Some("a symbolic link".into())),
        Err(FsError::NotPlain { .. }) => return Err(Some("not a regular file".into())),
        Err(FsError::NotOwned { .. }) => return Err(Some("owned by another user".into())),
        Err(e) => return Err(Some(e.to_string())),
    };
    if crate::sys::owner_and_mode(&meta).is_some_and(|o| o.mode & 0o077 != 0) {
        return Err(Some("readable by other users".into()));
    }
    if meta.len() > 64 * 1024 {
        return Err(Some("too large".into()));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    (&file)
        .take(64 * 1024)
        .read_to_end(&mut bytes)
        .map_err(|e| Some(e.to_string()))?;
    parse_entry(&bytes).map(Some).map_err(Some)
}

/// The bytes of an entry file, as [`Cache::store`] writes them.
pub(crate) fn entry_bytes(meta: &Meta, creds: &Credentials) -> Zeroizing<Vec<u8>> {
    let expiration = creds.expiration.map(|t| t.to_string()).unwrap_or_default();
    let out = FileOut {
        version: 1,
        meta,
        access_key_id: &creds.access_key_id,
        secret_access_key: creds.secret(),
        session_token: creds.token().unwrap_or_default(),
        expiration,
    };
    Zeroizing::new(serde_json::to_vec_pretty(&out).expect("serializable"))
}

/// An entry file's contents, or what is wrong with them (never the contents).
pub(crate) fn parse_entry(bytes: &[u8]) -> Result<Cached, String> {
    let parsed: FileIn =
        serde_json::from_slice(bytes).map_err(|_| "corrupt or truncated".to_string())?;
    if parsed.version != 1 {
        return Err(format!("unknown version {}", parsed.version));
    }
    let expiration: Timestamp = parsed
        .expiration
        .parse()
        .map_err(|_| "corrupt expiration".to_string())?;
    let creds = Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: SecretString::from(parsed.secret_access_key),
        session_token: Some(SecretString::from(parsed.session_token)),
        expiration: Some(expiration),
    };
    // A session of another shape is no session STS issued (DESIGN §7).
    if let Some(problem) = creds.problem() {
        return Err(problem.to_string());
    }
    Ok(Cached {
        meta: parsed.meta,
        creds,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn session(exp: &str) -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE000000000".into(),
            secret_access_key: SecretString::from("s".to_string()),
            session_token: Some(SecretString::from("t".to_string())),
            expiration: Some(exp.parse().unwrap()),
        }
    }

    fn meta() -> Meta {
        Meta {
            keys: "fp".into(),
            kind: "mfa-session".into(),
            profile: "work".into(),
            detail: "arn:aws:iam::1:mfa/u".into(),
            issued: None,
        }
    }

    #[test]
    fn store_and_load_round_trip_privately() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"));
        cache.ensure_dir(&|_| {}).unwrap();
        let key = Cache::key(&["a", "b"]);
        assert_ne!(key, Cache::key(&["ab", ""]), "parts are separated");
        cache
            .store(&key, &meta(), &session("2030-01-01T00:00:00Z"))
            .unwrap();
        let got = cache.load(&key, &|w| panic!("{w}")).unwrap();
        assert_eq!(got.meta, meta());
        assert_eq!(got.creds.token(), Some("t"));
        let mode = fs::metadata(cache.path(&key, "json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(cache.entries().len(), 1);
        assert_eq!(cache.remove_where(|m| m.profile == "other").unwrap(), 0);
        assert_eq!(cache.remove_where(|m| m.profile == "work").unwrap(), 1);
        assert!(cache.load(&key, &|_| {}).is_none());
    }

    #[test]
    fn bad_entries_are_ignored_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let key = "k";
        let path = cache.path(key, "json");
        let warned = std::cell::RefCell::new(Vec::new());
        let warn = |w: &str| warned.borrow_mut().push(w.to_string());
        fs::write(&path, b"{\"version\": 1, \"kind\"").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(cache.load(key, &warn).is_none());
        cache
            .store(key, &meta(), &session("2030-01-01T00:00:00Z"))
            .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(cache.load(key, &warn).is_none());
        // A key id with a line break: no session STS issued, never handed out.
        let mut odd = session("2030-01-01T00:00:00Z");
        odd.access_key_id = "ASIAEXAMPLE0000000\n[evil]".into();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        cache.store(key, &meta(), &odd).unwrap();
        assert!(cache.load(key, &warn).is_none());
        let w = warned.borrow();
        assert!(w[0].contains("corrupt or truncated"), "{w:?}");
        assert!(w[1].contains("readable by other users"), "{w:?}");
        assert!(w[2].contains("the access key id is not"), "{w:?}");
    }

    #[test]
    fn clearing_keeps_the_lock_a_renewal_holds() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        cache
            .store("k", &meta(), &session("2030-01-01T00:00:00Z"))
            .unwrap();
        let held = cache.lock("k", &|_| panic!("free")).unwrap();
        assert_eq!(cache.remove_where(|_| true).unwrap(), 1);
        // Another process still finds the lock taken.
        let (tx, rx) = std::sync::mpsc::channel();
        let c2 = cache.clone();
        let t = std::thread::spawn(move || {
            let _l = c2.lock("k", &|pid| tx.send(pid).unwrap()).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), Some(std::process::id()));
        drop(held);
        t.join().unwrap();
    }

    #[test]
    fn a_held_lock_makes_the_next_caller_wait_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let held = cache.lock("k", &|_| panic!("free")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let c2 = cache.clone();
        let t = std::thread::spawn(move || {
            let _l = c2.lock("k", &|pid| tx.send(pid).unwrap()).unwrap();
        });
        let pid = rx.recv().unwrap();
        assert_eq!(pid, Some(std::process::id()));
        drop(held);
        t.join().unwrap();
    }
}
