//! Long-term secrets at rest (DESIGN §5): access keys and stored TOTP seeds.
//!
//! Two layers. The **index** is a directory of small JSON records, one per entry, that
//! say an entry exists, in which backend, and what identifies its key (a masked id and a
//! fingerprint) — nothing secret. Resolving profiles and the cached-session path read
//! only the index, so a cache hit never asks for a passphrase or talks to D-Bus. The
//! **stores** hold the secrets: [`file`] (one age file per entry, scrypt passphrase,
//! readable with the standard `age` tool) and, behind the `keyring` feature, the OS
//! credential store. The third backend, `plaintext`, is the credentials file itself
//! (`[NAME-long-term]`, aws-mfa's layout) and needs no index.
//!
//! An entry is written secret first, read back and compared, and only then recorded in
//! the index: an entry the index names was verified. Removal drops the index record
//! first, so a half-finished removal leaves at worst an unreferenced secret.
//!
//! Layout under the vault directory (0700): `keys/NAME.json` (+ `keys/NAME.age` for the
//! file backend) and `totp/SERIAL.json` (+ `.age`), names percent-encoded.

pub mod file;
#[cfg(feature = "keyring")]
pub mod keyring;
pub mod passphrase;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::creds::{Credentials, key_fingerprint, mask};
use crate::fsx::{self, FsError};
use crate::sys::Env;
pub use passphrase::Passphrase;

/// Where secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    File,
    Keyring,
    Plaintext,
}

impl Backend {
    pub fn parse(text: &str) -> Result<Backend, VaultError> {
        match text.to_ascii_lowercase().as_str() {
            "file" => Ok(Backend::File),
            "keyring" => Ok(Backend::Keyring),
            "plaintext" => Ok(Backend::Plaintext),
            _ => Err(VaultError::UnknownBackend(text.chars().take(40).collect())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Keyring => "keyring",
            Backend::Plaintext => "plaintext",
        }
    }

    /// What a person calls it in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::File => "the file vault",
            Backend::Keyring => "the OS keyring",
            Backend::Plaintext => "the credentials file",
        }
    }

    /// The keyring on macOS and Windows (when built with it), the file vault elsewhere:
    /// it needs no daemon.
    pub fn platform_default() -> Backend {
        if crate::sys::OS_STORE_IS_DEFAULT {
            Backend::Keyring
        } else {
            Backend::File
        }
    }

    /// `--backend`, else `AWSMFA_VAULT_BACKEND`, else the platform's default.
    pub fn choose(flag: Option<&str>, env: &Env) -> Result<Backend, VaultError> {
        match flag.or_else(|| env.get("AWSMFA_VAULT_BACKEND")) {
            Some(text) => Backend::parse(text),
            None => Ok(Backend::platform_default()),
        }
    }
}

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A profile's long-term access keys.
    Keys,
    /// The TOTP seed of an MFA device.
    Totp,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Keys => "keys",
            Kind::Totp => "totp",
        }
    }
}

/// Why the vault could not do what was asked. Names entries and paths, never secrets.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("unknown vault backend {0:?} (file, keyring or plaintext)")]
    UnknownBackend(String),
    #[error("the vault passphrase does not open {what}")]
    WrongPassphrase { what: String },
    #[error("{path}: {what}")]
    Damaged { path: PathBuf, what: String },
    #[error("{path} is accessible to other users (mode {mode:03o}); the vault must be private")]
    Loose { path: PathBuf, mode: u32 },
    #[error("{path} belongs to another user (uid {uid})")]
    NotOwned { path: PathBuf, uid: u32 },
    #[error("the vault passphrase is needed, and there is no terminal to ask on")]
    NoPassphrase,
    #[error("the two passphrases differ")]
    Mismatch,
    #[error("an empty passphrase cannot protect the vault")]
    EmptyPassphrase,
    #[error("AWSMFA_VAULT_PASSPHRASE_COMMAND: {0}")]
    PassphraseCommand(String),
    #[error("AWSMFA_VAULT_WORK_FACTOR must be a number from 10 to 22")]
    BadWorkFactor,
    #[error("reading the passphrase: {0}")]
    Terminal(String),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    #[error("the OS keyring: {0}")]
    Keyring(String),
    #[error("{what} is recorded in the vault index, but {backend} has no secret for it")]
    Missing { what: String, backend: &'static str },
    #[error("this awsmfa was built without the keyring backend")]
    NotBuilt,
    #[error("the vault has no place: set HOME, XDG_DATA_HOME or AWSMFA_VAULT_DIR")]
    NoDir,
    #[error("{0}")]
    Other(String),
}

impl VaultError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            VaultError::WrongPassphrase { .. } => {
                "type the right one, or fix AWSMFA_VAULT_PASSPHRASE(_COMMAND)".into()
            }
            VaultError::Loose { path, .. } => format!("chmod 700 {}", path.display()),
            VaultError::NoPassphrase => {
                "use a terminal, or set AWSMFA_VAULT_PASSPHRASE_COMMAND (`pass show …`)".into()
            }
            VaultError::Unavailable(_) => {
                "start a Secret Service, or `awsmfa add NAME --backend file`".into()
            }
            VaultError::Damaged { .. } | VaultError::Missing { .. } => {
                "restore it from a backup, or `awsmfa add NAME --replace`".into()
            }
            VaultError::NotBuilt => "store the keys with `awsmfa add NAME --backend file`".into(),
            _ => return None,
        })
    }
}

/// The index record of an entry. Holds nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    /// The profile (keys) or the MFA device serial (TOTP seeds).
    pub name: String,
    /// `file` or `keyring`.
    pub backend: String,
    /// Keys: the access key id, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Keys: identifies the key in session-cache keys without revealing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Keys: the identity they were verified as, when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub created: String,
    pub updated: String,
}

impl Meta {
    pub fn backend(&self) -> Backend {
        if self.backend == "keyring" {
            Backend::Keyring
        } else {
            Backend::File
        }
    }
}

/// The vault directory: `AWSMFA_VAULT_DIR`, else `$XDG_DATA_HOME/awsmfa/vault`, else
/// `~/.local/share/awsmfa/vault` (`%APPDATA%\\awsmfa\\vault` on Windows).
pub fn vault_dir(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env.get("AWSMFA_VAULT_DIR") {
        return Some(env.expand(dir));
    }
    if let Some(data) = env.get("XDG_DATA_HOME") {
        return Some(PathBuf::from(data).join("awsmfa").join("vault"));
    }
    crate::sys::default_vault_dir(env)
}

/// A name as a file name: letters, digits, `-`, `_` and inner dots kept, the rest `%XX`.
pub fn encode_name(name: &str) -> String {
    let mut out = String::new();
    for (i, b) in name.bytes().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
            b'.' if i > 0 => out.push('.'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode_name(file: &str) -> Option<String> {
    let bytes = file.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The index: what entries exist. Reading it needs no passphrase and no keyring.
#[derive(Debug, Clone, Default)]
pub struct Index {
    dir: Option<PathBuf>,
}

impl Index {
    pub fn new(dir: Option<PathBuf>) -> Index {
        Index { dir }
    }

    fn record_path(&self, kind: Kind, name: &str) -> Option<PathBuf> {
        Some(
            self.dir
                .as_ref()?
                .join(kind.dir())
                .join(format!("{}.json", encode_name(name))),
        )
    }

    /// The record of `name`, or `None`.
    pub fn get(&self, kind: Kind, name: &str) -> Result<Option<Meta>, VaultError> {
        let Some(path) = self.record_path(kind, name) else {
            return Ok(None);
        };
        let Some(bytes) = fsx::read_optional(&path)? else {
            return Ok(None);
        };
        let meta: Meta = serde_json::from_slice(&bytes).map_err(|_| VaultError::Damaged {
            path: path.clone(),
            what: "not a vault index record".into(),
        })?;
        if meta.version != 1 || meta.name != name {
            return Err(VaultError::Damaged {
                path,
                what: "not this entry's index record".into(),
            });
        }
        Ok(Some(meta))
    }

    /// Every record of a kind, sorted by name. Unreadable records are skipped.
    pub fn list(&self, kind: Kind) -> Vec<Meta> {
        let Some(dir) = self.dir.as_ref().map(|d| d.join(kind.dir())) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out: Vec<Meta> = entries
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let name = decode_name(file.strip_suffix(".json")?)?;
                self.get(kind, &name).ok().flatten()
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// A secret store: where the bytes of an entry live.
pub trait Store {
    fn put(&self, kind: Kind, name: &str, secret: &[u8]) -> Result<(), VaultError>;
    fn get(&self, kind: Kind, name: &str) -> Result<Zeroizing<Vec<u8>>, VaultError>;
    /// Removes the secret; `Ok(false)` when there was none.
    fn delete(&self, kind: Kind, name: &str) -> Result<bool, VaultError>;
}

/// What an entry is called in messages.
pub fn describe(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Keys => format!("the keys of profile {name:?}"),
        Kind::Totp => format!("the TOTP seed of {name}"),
    }
}

/// Below this scrypt work factor awsmfa warns: each step down halves an attacker's cost.
pub const MIN_SAFE_WORK_FACTOR: u8 = 15;

/// The vault opened for secrets: the index plus the stores, which are set up (and the
/// passphrase asked for) only when a secret is touched.
pub struct Vault<'a> {
    pub index: Index,
    dir: PathBuf,
    file: file::FileStore<'a>,
}

impl<'a> Vault<'a> {
    pub fn new(env: &Env, passphrase: Passphrase<'a>) -> Result<Vault<'a>, VaultError> {
        let dir = vault_dir(env).ok_or(VaultError::NoDir)?;
        let work_factor = match env.get("AWSMFA_VAULT_WORK_FACTOR") {
            Some(text) => Some(
                text.parse::<u8>()
                    .ok()
                    .filter(|n| (10..=22).contains(n))
                    .ok_or(VaultError::BadWorkFactor)?,
            ),
            None => None,
        };
        Ok(Vault {
            index: Index::new(Some(dir.clone())),
            file: file::FileStore::new(dir.clone(), passphrase, work_factor),
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A warning when `AWSMFA_VAULT_WORK_FACTOR` makes new entries cheap to brute-force
    /// (below [`MIN_SAFE_WORK_FACTOR`]).
    pub fn work_factor_warning(&self) -> Option<String> {
        self.file.weak_work_factor().map(|n| {
            format!(
                "AWSMFA_VAULT_WORK_FACTOR={n} makes new vault entries {}× cheaper to brute-force than the default {}; use {MIN_SAFE_WORK_FACTOR} or more",
                1u32 << (file::DEFAULT_WORK_FACTOR - n),
                file::DEFAULT_WORK_FACTOR
            )
        })
    }

    fn store(&self, backend: Backend) -> Result<&dyn Store, VaultError> {
        match backend {
            Backend::File => Ok(&self.file),
            Backend::Keyring => keyring_store(),
            Backend::Plaintext => Err(VaultError::Other(
                "the plaintext backend is the credentials file, not a vault store".into(),
            )),
        }
    }

    /// Writes a secret and reads it back: only a verified secret gets an index record.
    fn put_verified(
        &self,
        backend: Backend,
        kind: Kind,
        name: &str,
        payload: &str,
    ) -> Result<(), VaultError> {
        let store = self.store(backend)?;
        store.put(kind, name, payload.as_bytes())?;
        if store.get(kind, name)?.as_slice() != payload.as_bytes() {
            return Err(VaultError::Other(format!(
                "{} read back differently from what was written",
                describe(kind, name)
            )));
        }
        Ok(())
    }

    /// Reads the long-term keys an index record points to.
    pub fn read_keys(&self, meta: &Meta) -> Result<Credentials, VaultError> {
        let bytes = self.store(meta.backend())?.get(Kind::Keys, &meta.name)?;
        let creds = parse_keys(&bytes).ok_or_else(|| VaultError::Damaged {
            path: self.dir.join(Kind::Keys.dir()),
            what: format!(
                "{} are not in the expected form",
                describe(Kind::Keys, &meta.name)
            ),
        })?;
        if meta.fingerprint.as_deref() != Some(&key_fingerprint(&creds.access_key_id)) {
            return Err(VaultError::Damaged {
                path: self.dir.join(Kind::Keys.dir()),
                what: format!(
                    "{} do not match their index record",
                    describe(Kind::Keys, &meta.name)
                ),
            });
        }
        Ok(creds)
    }

    /// Stores keys under `name` in `backend`, reads them back, then records them in the
    /// index. Returns the record.
    pub fn store_keys(
        &self,
        name: &str,
        backend: Backend,
        creds: &Credentials,
        arn: Option<&str>,
    ) -> Result<Meta, VaultError> {
        self.put_verified(backend, Kind::Keys, name, &keys_payload(name, creds))?;
        let created = self
            .index
            .get(Kind::Keys, name)
            .ok()
            .flatten()
            .map(|m| m.created);
        let now = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let meta = Meta {
            version: 1,
            name: name.to_string(),
            backend: backend.name().to_string(),
            key_id: Some(mask(&creds.access_key_id)),
            fingerprint: Some(key_fingerprint(&creds.access_key_id)),
            arn: arn.map(String::from),
            created: created.unwrap_or_else(|| now.clone()),
            updated: now,
        };
        self.write_record(Kind::Keys, &meta)?;
        Ok(meta)
    }

    /// Stores a TOTP seed (base32) for the MFA device `serial`.
    pub fn store_seed(
        &self,
        serial: &str,
        backend: Backend,
        seed_base32: &SecretString,
    ) -> Result<Meta, VaultError> {
        let payload = seed_payload(serial, seed_base32.expose_secret());
        self.put_verified(backend, Kind::Totp, serial, &payload)?;
        let now = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let meta = Meta {
            version: 1,
            name: serial.to_string(),
            backend: backend.name().to_string(),
            key_id: None,
            fingerprint: None,
            arn: None,
            created: now.clone(),
            updated: now,
        };
        self.write_record(Kind::Totp, &meta)?;
        Ok(meta)
    }

    /// The base32 TOTP seed stored for `serial`.
    pub fn read_seed(&self, meta: &Meta) -> Result<SecretString, VaultError> {
        let bytes = self.store(meta.backend())?.get(Kind::Totp, &meta.name)?;
        parse_seed(&bytes).ok_or_else(|| VaultError::Damaged {
            path: self.dir.join(Kind::Totp.dir()),
            what: format!("{} is not an otpauth URI", describe(Kind::Totp, &meta.name)),
        })
    }

    /// Removes an entry: its index record first, then its secret. Returns the record.
    pub fn remove(&self, kind: Kind, name: &str) -> Result<Option<Meta>, VaultError> {
        let Some(meta) = self.index.get(kind, name)? else {
            return Ok(None);
        };
        let record = self
            .index
            .record_path(kind, name)
            .expect("the vault has a directory");
        std::fs::remove_file(&record).map_err(|source| FsError::Io {
            path: record.clone(),
            source,
        })?;
        let _ = std::fs::remove_file(fsx::lock_path(&record));
        self.store(meta.backend())?.delete(kind, name)?;
        Ok(Some(meta))
    }

    /// Deletes only the secret an index record points to (after the record was replaced).
    pub fn delete_secret(&self, kind: Kind, meta: &Meta) -> Result<bool, VaultError> {
        self.store(meta.backend())?.delete(kind, &meta.name)
    }

    fn write_record(&self, kind: Kind, meta: &Meta) -> Result<(), VaultError> {
        let path = self
            .index
            .record_path(kind, &meta.name)
            .expect("the vault has a directory");
        file::ensure_private_dirs(&self.dir, kind)?;
        let json = serde_json::to_vec_pretty(meta).expect("a record serializes");
        let _lock = fsx::lock(&path)?;
        fsx::write_atomic(&path, &json)?;
        Ok(())
    }
}

#[cfg(feature = "keyring")]
fn keyring_store() -> Result<&'static dyn Store, VaultError> {
    static STORE: std::sync::OnceLock<keyring::KeyringStore> = std::sync::OnceLock::new();
    Ok(STORE.get_or_init(keyring::KeyringStore::default))
}

#[cfg(not(feature = "keyring"))]
fn keyring_store() -> Result<&'static dyn Store, VaultError> {
    Err(VaultError::NotBuilt)
}

/// Keys as a credentials-file section: what `age -d` gives back is ready to paste.
fn keys_payload(name: &str, creds: &Credentials) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "# awsmfa vault: the long-term keys of profile {name}, in the credentials-file format.\n[{name}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        creds.access_key_id,
        creds.secret()
    ))
}

fn parse_keys(bytes: &[u8]) -> Option<Credentials> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut id = None;
    let mut secret = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "aws_access_key_id" => id = Some(value.trim()),
            "aws_secret_access_key" => secret = Some(value.trim()),
            _ => {}
        }
    }
    let creds = Credentials::long_term(id?, secret?);
    // Keys of another shape (a keyring entry another program wrote, a damaged file)
    // never reach a file, an environment or STS (DESIGN §7).
    creds.problem().is_none().then_some(creds)
}

/// A seed as an `otpauth://` URI, which any authenticator app imports.
pub(crate) fn seed_payload(serial: &str, seed: &str) -> Zeroizing<String> {
    let (user, account) = serial_parts(serial);
    let mut uri = crate::mfa::qr::otpauth_uri(&user, &account, seed);
    uri.push('\n');
    uri
}

fn serial_parts(serial: &str) -> (String, String) {
    // arn:aws:iam::123456789012:mfa/alice
    let account = serial.split(':').nth(4).unwrap_or_default().to_string();
    let user = serial.rsplit('/').next().unwrap_or(serial).to_string();
    (user, account)
}

pub(crate) fn parse_seed(bytes: &[u8]) -> Option<SecretString> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let query = text.strip_prefix("otpauth://totp/")?.split_once('?')?.1;
    let seed = query
        .split('&')
        .find_map(|p| p.strip_prefix("secret="))?
        .to_string();
    crate::mfa::totp::base32_decode(&seed)?;
    Some(SecretString::from(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_another_shape_are_not_keys() {
        let good =
            b"aws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = s3cr/t+key\n";
        assert!(parse_keys(good).is_some());
        for bad in [
            &b"aws_access_key_id = AKIA\naws_secret_access_key = s\n"[..],
            b"aws_access_key_id = AKIAEXAMPLE00000000[evil]\naws_secret_access_key = s\n",
            b"aws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = s\x1b[31m\n",
            b"aws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = a b\n",
        ] {
            assert!(
                parse_keys(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn names_round_trip_as_file_names() {
        for name in [
            "work",
            "a.b",
            ".hidden",
            "x/y",
            "ünï",
            "arn:aws:iam::1:mfa/a",
        ] {
            let enc = encode_name(name);
            assert!(!enc.contains('/') && !enc.starts_with('.'), "{enc}");
            assert_eq!(decode_name(&enc).as_deref(), Some(name));
        }
        assert_eq!(encode_name("work-1_x"), "work-1_x");
    }

    #[test]
    fn keys_payload_is_a_credentials_section() {
        let creds = Credentials::long_term("AKIAEXAMPLE000000001", "s3cr/t+key");
        let p = keys_payload("work", &creds);
        // The credentials-file format: `age -d` of a file-vault entry can be pasted there.
        assert!(
            p.ends_with(
                "\n[work]\naws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = s3cr/t+key\n"
            ),
            "{}",
            p.as_str()
        );
        assert!(p.lines().next().unwrap().starts_with("# "));
        let back = parse_keys(p.as_bytes()).unwrap();
        assert_eq!(back.access_key_id, "AKIAEXAMPLE000000001");
        assert_eq!(back.secret(), "s3cr/t+key");
        assert!(parse_keys(b"[x]\naws_access_key_id = A\n").is_none());
    }

    #[test]
    fn seed_payload_round_trips() {
        let p = seed_payload("arn:aws:iam::123456789012:mfa/alice", "JBSWY3DPEHPK3PXP");
        assert!(p.starts_with("otpauth://totp/"));
        assert_eq!(
            parse_seed(p.as_bytes()).unwrap().expose_secret(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(parse_seed(b"otpauth://totp/x?secret=!!").is_none());
    }

    #[test]
    fn backend_choice() {
        let env = Env::from_pairs([("AWSMFA_VAULT_BACKEND", "keyring")]);
        assert_eq!(Backend::choose(None, &env).unwrap(), Backend::Keyring);
        assert_eq!(
            Backend::choose(Some("plaintext"), &env).unwrap(),
            Backend::Plaintext
        );
        assert!(Backend::choose(Some("nope"), &env).is_err());
        assert_eq!(
            Backend::choose(None, &Env::default()).unwrap(),
            Backend::platform_default()
        );
    }

    #[test]
    fn vault_dir_order() {
        let home = crate::sys::HOME_VARIABLE;
        let env = Env::from_pairs([(home, "/h"), ("XDG_DATA_HOME", "/d")]);
        assert_eq!(vault_dir(&env).unwrap(), PathBuf::from("/d/awsmfa/vault"));
        let env = Env::from_pairs([(home, "/h")]);
        assert_eq!(
            vault_dir(&env).unwrap(),
            PathBuf::from("/h/.local/share/awsmfa/vault")
        );
        let env = Env::from_pairs([(home, "/h"), ("AWSMFA_VAULT_DIR", "~/v")]);
        assert_eq!(vault_dir(&env).unwrap(), PathBuf::from("/h/v"));
    }
}
