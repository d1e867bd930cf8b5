//! The keyring backend: the OS credential store through keyring-core (`sys::keyring_entry`
//! picks the store). On Linux and the BSDs that is the freedesktop Secret Service
//! (gnome-keyring, KeePassXC, KWallet) over the D-Bus session bus; on macOS the login
//! Keychain; on Windows the Credential Manager. Items have service `awsmfa` and user
//! `keys:NAME` or `totp:SERIAL`.
//!
//! Every operation runs on its own thread with a deadline: a bus that never answers or
//! a keyring that waits for an unlock prompt nobody sees becomes a clear error instead
//! of a hang. Errors are reduced to words: the store's error values can carry secret
//! bytes and are never printed.

use std::sync::mpsc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{Backend, Kind, Store, VaultError, describe};

const SERVICE: &str = "awsmfa";
const DEADLINE: Duration = Duration::from_secs(15);

#[derive(Debug, Default)]
pub struct KeyringStore;

type Op<T> = Box<dyn FnOnce(&keyring_core::Entry) -> keyring_core::Result<T> + Send>;

fn user(kind: Kind, name: &str) -> String {
    format!("{}:{name}", kind.dir())
}

/// Opens the platform store and runs `op` on the entry, within the deadline.
fn run<T: Send + 'static>(kind: Kind, name: &str, op: Op<T>) -> Result<T, VaultError> {
    let user = user(kind, name);
    let label = format!("awsmfa: {}", describe(kind, name));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = crate::sys::keyring_entry(SERVICE, &user, &label).and_then(|e| op(&e));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(result) => result.map_err(|e| map_error(e, kind, name)),
        Err(_) => Err(VaultError::Unavailable(format!(
            "no answer within {} s (is the keyring locked, waiting for a password?)",
            DEADLINE.as_secs()
        ))),
    }
}

fn map_error(e: keyring_core::Error, kind: Kind, name: &str) -> VaultError {
    use keyring_core::Error as K;
    match e {
        K::NoEntry => VaultError::Missing {
            what: describe(kind, name),
            backend: Backend::Keyring.describe(),
        },
        K::NoStorageAccess(inner) => VaultError::Unavailable(format!(
            "it is locked or has no default collection ({})",
            first_line(&inner.to_string())
        )),
        K::PlatformFailure(inner) => VaultError::Unavailable(first_line(&inner.to_string())),
        K::NotSupportedByStore(what) => VaultError::Unavailable(what),
        K::BadEncoding(_) | K::BadDataFormat(..) => VaultError::Keyring(format!(
            "{} is stored in a form awsmfa cannot read",
            describe(kind, name)
        )),
        K::Ambiguous(_) => VaultError::Keyring(format!(
            "several keyring items match {}; delete the extra ones with your keyring's tool",
            describe(kind, name)
        )),
        _ => VaultError::Keyring("the operation failed".into()),
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

impl Store for KeyringStore {
    fn put(&self, kind: Kind, name: &str, secret: &[u8]) -> Result<(), VaultError> {
        let secret = Zeroizing::new(secret.to_vec());
        run(kind, name, Box::new(move |entry| entry.set_secret(&secret)))
    }

    fn get(&self, kind: Kind, name: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        run(
            kind,
            name,
            Box::new(|entry| entry.get_secret().map(Zeroizing::new)),
        )
    }

    fn delete(&self, kind: Kind, name: &str) -> Result<bool, VaultError> {
        run(
            kind,
            name,
            Box::new(|entry| match entry.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            }),
        )
    }
}
