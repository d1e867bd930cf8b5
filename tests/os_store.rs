//! The vault's OS-store backend where the OS has one of its own: the Keychain on macOS,
//! Credential Manager on Windows (Linux's Secret Service is tests/vault.rs's, through a
//! real gnome-keyring). Keys go in with `add --backend keyring`, serve a login and a
//! cached `process`, and leave with `remove`: never a copy in a file.
#![cfg(any(windows, target_os = "macos"))]

mod common;

use common::{Bed, TestEnv, assert_nowhere_in, run, run_with_input};

#[test]
fn os_store_add_login_process_and_remove() {
    let bed = Bed::shared();
    let user = bed.user("vos");
    let mut env = TestEnv::new();
    // Entries are per user of the machine, not per HOME: a name of this run's own.
    let name = Bed::unique("os-store");
    env.write(
        ".aws/config",
        &format!(
            "[profile {name}]\nregion = us-east-1\nendpoint_url = {}\n",
            bed.url
        ),
    );
    env.set("AWSMFA_VAULT_PASSPHRASE", "never asked for by the OS store");
    let keys = format!("{}\n{}\n", user.access_key_id, user.secret_access_key);
    let add = ["add", name.as_str(), "--backend", "keyring", "--mfa-serial"];
    let r = run_with_input(
        env.awsmfa(&[&add[..], &[user.mfa_serial.as_str()]].concat()),
        &keys,
    );
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("in the OS keyring"), "{r:?}");
    assert!(!r.stdout.contains(&user.secret_access_key), "{r:?}");

    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&["login", "-p", &name, "--token-code", &code]));
    assert_eq!(r.status, 0, "{r:?}");
    let r = run(env.awsmfa(&["-p", &name, "process"]));
    assert_eq!(r.status, 0, "{r:?}");
    let served: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let session_key = served["AccessKeyId"].as_str().unwrap();
    assert!(session_key.starts_with("ASIA"), "{r:?}");
    assert_eq!(
        bed.whois(session_key)["user"].as_str(),
        Some(user.name.as_str()),
        "the session is the user's whose keys are in the store"
    );
    assert_nowhere_in(env.home.path(), &user.secret_access_key);

    let r = run(env.awsmfa(&["remove", &name, "--yes"]));
    assert_eq!(r.status, 0, "{r:?}");
    // Gone from the store: a new login has no keys to sign with.
    let r = run(env.awsmfa(&["login", "-p", &name, "--token-code", &code, "--force"]));
    assert_ne!(r.status, 0, "{r:?}");
    assert_nowhere_in(env.home.path(), &user.secret_access_key);
}
