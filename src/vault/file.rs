//! The file backend: one age file per entry, encrypted to the vault passphrase with
//! scrypt, so the standard `age -d` (or `rage -d`) opens any of them without awsmfa.
//!
//! The vault directory and its subdirectories must be private (0700, owned by the
//! user); awsmfa refuses to read or write secrets in one that is not. All entries share
//! one passphrase: before a new entry is written, the passphrase must open an existing
//! one. The scrypt work factor is 18, the `age` tool's default, unless `AWSMFA_VAULT_WORK_FACTOR` sets it (log2 N, 10–22; lower is weaker, and below 15
//! awsmfa warns).

use std::cell::Cell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use super::passphrase::{Origin, Passphrase};
use super::{Backend, Kind, Store, VaultError, describe, encode_name};
use crate::fsx::{self, FsError};

/// Tries a person gets at typing the passphrase.
const TRIES: usize = 3;
/// The scrypt work factor (log2 N) of new entries: the `age` tool's own default, about
/// half a second here; the `age` tool reads up to 22.
pub const DEFAULT_WORK_FACTOR: u8 = 18;

pub struct FileStore<'a> {
    dir: PathBuf,
    passphrase: Passphrase<'a>,
    work_factor: Option<u8>,
    /// The passphrase opened an entry in this process.
    verified: Cell<bool>,
}

/// Creates the vault directory and the kind's subdirectory, 0700.
pub fn ensure_private_dirs(dir: &Path, kind: Kind) -> Result<(), VaultError> {
    fsx::create_private_dir(&dir.join(kind.dir()))?;
    Ok(())
}

/// Refuses a directory other users can enter or read, or that is not the user's.
pub fn check_private(path: &Path) -> Result<(), VaultError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(FsError::Io {
                path: path.to_path_buf(),
                source,
            }
            .into());
        }
    };
    let Some(owner) = crate::sys::owner_and_mode(&meta) else {
        return Ok(());
    };
    if owner.uid != crate::sys::euid() {
        return Err(VaultError::NotOwned {
            path: path.to_path_buf(),
            uid: owner.uid,
        });
    }
    let mode = owner.mode & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::Loose {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

impl<'a> FileStore<'a> {
    pub fn new(dir: PathBuf, passphrase: Passphrase<'a>, work_factor: Option<u8>) -> FileStore<'a> {
        FileStore {
            dir,
            passphrase,
            work_factor,
            verified: Cell::new(false),
        }
    }

    /// The work factor set for new entries, when it is below the safe minimum.
    pub fn weak_work_factor(&self) -> Option<u8> {
        self.work_factor
            .filter(|n| *n < super::MIN_SAFE_WORK_FACTOR)
    }

    fn path(&self, kind: Kind, name: &str) -> PathBuf {
        self.dir
            .join(kind.dir())
            .join(format!("{}.age", encode_name(name)))
    }

    fn check_dirs(&self, kind: Kind) -> Result<(), VaultError> {
        check_private(&self.dir)?;
        check_private(&self.dir.join(kind.dir()))
    }

    /// An existing entry file other than `except`, to check a passphrase against.
    fn existing_entry(&self, except: &Path) -> Option<PathBuf> {
        [Kind::Keys, Kind::Totp].iter().find_map(|kind| {
            std::fs::read_dir(self.dir.join(kind.dir()))
                .ok()?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "age") && p != except)
                .min()
        })
    }

    fn read(&self, path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        match fsx::read_optional(path)? {
            Some(bytes) => Ok(Zeroizing::new(bytes)),
            None => Err(VaultError::Missing {
                what: what.to_string(),
                backend: Backend::File.describe(),
            }),
        }
    }

    /// Decrypts `bytes`; a person who typed a wrong passphrase is asked again.
    fn decrypt(
        &self,
        bytes: &[u8],
        path: &Path,
        what: &str,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        for attempt in 1..=TRIES {
            let (pass, origin) = self.passphrase.get(false)?;
            // scrypt takes a second or two by design: say so when it does.
            let slow = crate::slow::Slow::after(
                Duration::from_millis(700),
                "opening the vault (scrypt takes a second or two)".into(),
            );
            let result = decrypt_with(bytes, pass, path, what);
            drop(slow);
            match result {
                Err(VaultError::WrongPassphrase { .. })
                    if origin == Origin::Person && attempt < TRIES =>
                {
                    self.passphrase.forget();
                }
                Ok(plain) => {
                    self.verified.set(true);
                    return Ok(plain);
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last try returns")
    }
}

fn damaged(path: &Path, what: &str) -> VaultError {
    VaultError::Damaged {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

fn decrypt_with(
    bytes: &[u8],
    pass: SecretString,
    path: &Path,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    use age::DecryptError as D;
    let decryptor = age::Decryptor::new_buffered(bytes).map_err(|e| match e {
        D::UnknownFormat => damaged(path, "not an age file"),
        _ => damaged(path, "not a complete age file (truncated or damaged)"),
    })?;
    if !decryptor.is_scrypt() {
        return Err(damaged(
            path,
            "encrypted to a key, not to a passphrase; awsmfa did not write it",
        ));
    }
    let mut identity = age::scrypt::Identity::new(pass);
    identity.set_max_work_factor(22);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys => {
                VaultError::WrongPassphrase {
                    what: what.to_string(),
                }
            }
            D::ExcessiveWork { required, .. } => damaged(
                path,
                &format!("asks for scrypt work factor {required}, more than the 22 allowed"),
            ),
            _ => damaged(path, "its header was altered"),
        })?;
    let mut plain = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut plain)
        .map_err(|_| damaged(path, "its contents were altered or cut off"))?;
    Ok(plain)
}

impl Store for FileStore<'_> {
    fn put(&self, kind: Kind, name: &str, secret: &[u8]) -> Result<(), VaultError> {
        ensure_private_dirs(&self.dir, kind)?;
        self.check_dirs(kind)?;
        let path = self.path(kind, name);
        let _lock = fsx::lock(&path)?;
        let existing = self.existing_entry(&path);
        if let (Some(other), false) = (&existing, self.verified.get()) {
            // All entries share the passphrase: it must open what is there.
            let bytes = self.read(other, "an existing vault entry")?;
            self.decrypt(&bytes, other, "the existing vault entries")?;
        }
        let (pass, _) = self.passphrase.get(existing.is_none())?;
        let mut recipient = age::scrypt::Recipient::new(pass);
        recipient.set_work_factor(self.work_factor.unwrap_or(DEFAULT_WORK_FACTOR));
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| {
                    VaultError::Other(format!("encrypting {}: {e}", describe(kind, name)))
                })?;
        let mut out = Vec::new();
        let mut writer = encryptor
            .wrap_output(&mut out)
            .and_then(|mut w| w.write_all(secret).map(|()| w))
            .map_err(|e| VaultError::Other(format!("encrypting: {e}")))?;
        writer
            .flush()
            .map_err(|e| VaultError::Other(format!("encrypting: {e}")))?;
        writer
            .finish()
            .map_err(|e| VaultError::Other(format!("encrypting: {e}")))?;
        fsx::write_atomic(&path, &out)?;
        self.verified.set(true);
        Ok(())
    }

    fn get(&self, kind: Kind, name: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.check_dirs(kind)?;
        let path = self.path(kind, name);
        let what = describe(kind, name);
        let bytes = self.read(&path, &what)?;
        self.decrypt(&bytes, &path, &what)
    }

    fn delete(&self, kind: Kind, name: &str) -> Result<bool, VaultError> {
        let path = self.path(kind, name);
        let _ = std::fs::remove_file(fsx::lock_path(&path));
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(FsError::Io { path, source }.into()),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::mfa::Prompt;
    use crate::sys::Env;
    use crate::vault::passphrase::Memo;
    use std::os::unix::fs::MetadataExt;

    struct NoPrompt;
    impl Prompt for NoPrompt {
        fn ask(&self, _q: &str) -> std::io::Result<Option<String>> {
            Ok(None)
        }
    }

    fn env(pass: &str) -> Env {
        Env::from_pairs([("AWSMFA_VAULT_PASSPHRASE", pass)])
    }

    #[test]
    fn round_trip_wrong_passphrase_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v");
        let good = env("correct horse");
        let pass = Passphrase::new(&good, &NoPrompt, Box::leak(Box::default()));
        let store = FileStore::new(vault.clone(), pass, Some(10));
        store.put(Kind::Keys, "work", b"secret bytes").unwrap();
        assert_eq!(
            store.get(Kind::Keys, "work").unwrap().as_slice(),
            b"secret bytes"
        );
        let file = vault.join("keys/work.age");
        let mode = std::fs::metadata(&file).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::metadata(&vault).unwrap().mode() & 0o777, 0o700);

        // A wrong passphrase reads nothing and cannot add an entry.
        let bad = env("wrong");
        let wrong = Passphrase::new(&bad, &NoPrompt, Box::leak(Box::default()));
        let other = FileStore::new(vault.clone(), wrong, Some(10));
        assert!(matches!(
            other.get(Kind::Keys, "work"),
            Err(VaultError::WrongPassphrase { .. })
        ));
        assert!(matches!(
            other.put(Kind::Keys, "second", b"x"),
            Err(VaultError::WrongPassphrase { .. })
        ));
        assert!(!vault.join("keys/second.age").exists());

        // Truncated and tampered files.
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() - 5]).unwrap();
        let fresh = Passphrase::new(&good, &NoPrompt, Box::leak(Box::default()));
        let store = FileStore::new(vault.clone(), fresh, Some(10));
        assert!(matches!(
            store.get(Kind::Keys, "work"),
            Err(VaultError::Damaged { .. })
        ));
        let mut tampered = bytes.clone();
        let last = tampered.len() - 3;
        tampered[last] ^= 1;
        std::fs::write(&file, &tampered).unwrap();
        assert!(matches!(
            store.get(Kind::Keys, "work"),
            Err(VaultError::Damaged { .. })
        ));
        std::fs::write(&file, b"not age").unwrap();
        assert!(matches!(
            store.get(Kind::Keys, "work"),
            Err(VaultError::Damaged { .. })
        ));
    }

    #[test]
    fn loose_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v");
        let e = env("pw");
        let pass = Passphrase::new(&e, &NoPrompt, Box::leak(Box::<Memo>::default()));
        let store = FileStore::new(vault.clone(), pass, Some(10));
        store.put(Kind::Keys, "a", b"x").unwrap();
        std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            store.get(Kind::Keys, "a"),
            Err(VaultError::Loose { mode: 0o755, .. })
        ));
        assert!(matches!(
            store.put(Kind::Keys, "b", b"y"),
            Err(VaultError::Loose { .. })
        ));
        assert!(!vault.join("keys/b.age").exists());
    }
}
