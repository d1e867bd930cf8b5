//! The only OS-specific code (DESIGN §10, §13): the terminal, processes and signals,
//! shells and helper commands, file privacy and atomic replacement, the user's
//! directories, the desktop dialog, the OS credential store.
//!
//! Each need is one function (or one small type) with a Unix side (`unix.rs`: Linux,
//! macOS, the BSDs) and a Windows side (`windows.rs`); everything outside this module
//! calls these and stays platform-free. Well-kept crates do the parts they are made for
//! (`getrandom`, `tempfile`, the keyring-core stores, `windows-sys`); what is left here is
//! the thin glue between them and awsmfa's rules. The functions on the cached-session
//! path (`process`) are plain system calls, inlined where they are one.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

mod env;
pub use env::Env;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

#[cfg(unix)]
pub use unix::exec_in_place;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

pub use imp::{
    Console, Group, Owner, StopSignals, alive, block_stop_signals, cleanup_on_interrupt,
    close_stdout, console_output, console_size, create_private_dir, credential_process_command,
    euid, exit_code, file_stamp, forward_interrupts_to, harden, install_interrupt_forwarding,
    is_symlink_loop, kill, new_session, null_device, open_nofollow, owner_and_mode, parent_name,
    parent_of, parent_pid, private_tempdir, process_exe, process_start, raise_open_files_limit,
    read_exact_at, redirect_stderr, replace_file, restore_limits, set_private_mode, shell_command,
    stdout_reader, sync_dir, terminal_width, terminate, wait_for_signal, wait_readable,
};

/// A Windows command line as `CreateProcess` reads it (and botocore's split of
/// `credential_process`): the program (the first word, or the quoted text when it starts
/// with a quote) and the rest of the line, passed on as written.
#[cfg_attr(not(windows), allow(dead_code))]
fn split_program(command: &str) -> (&str, &str) {
    let command = command.trim_start();
    let (program, rest) = match command.strip_prefix('"') {
        Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
        None => command
            .split_once(char::is_whitespace)
            .unwrap_or((command, "")),
    };
    (program, rest.trim_start())
}

// ---------------------------------------------------------------------------------------
// Directories

/// The program's file name, as `PATH` lookups find it.
pub const EXE_NAME: &str = if cfg!(windows) {
    "awsmfa.exe"
} else {
    "awsmfa"
};

/// The variable that names the home directory: `HOME`, or `USERPROFILE` on Windows.
pub const HOME_VARIABLE: &str = if cfg!(windows) { "USERPROFILE" } else { "HOME" };

/// Whether the OS credential store is the vault's default backend: where awsmfa has one
/// that needs no daemon (the macOS Keychain, the Windows Credential Manager).
pub const OS_STORE_IS_DEFAULT: bool = cfg!(all(
    feature = "keyring",
    any(target_os = "macos", target_os = "windows")
));

/// The user's home directory as the AWS CLI finds it: `HOME` on Unix; on Windows
/// `USERPROFILE`, else `HOMEDRIVE` + `HOMEPATH` (Python's `expanduser`, which botocore
/// uses for `~/.aws`).
pub fn home(env: &Env) -> Option<PathBuf> {
    if cfg!(windows) {
        if let Some(p) = env.get("USERPROFILE") {
            return Some(PathBuf::from(p));
        }
        let (drive, path) = (env.get("HOMEDRIVE")?, env.get("HOMEPATH")?);
        return Some(PathBuf::from(format!("{drive}{path}")));
    }
    env.get("HOME").map(PathBuf::from)
}

/// Where the session cache lives when neither `AWSMFA_CACHE_DIR` nor `XDG_CACHE_HOME`
/// says: `~/.cache/awsmfa` on Unix, `%LOCALAPPDATA%\awsmfa\cache` on Windows (it never
/// roams).
pub fn default_cache_dir(env: &Env) -> Option<PathBuf> {
    if cfg!(windows)
        && let Some(local) = env.get("LOCALAPPDATA")
    {
        return Some(Path::new(local).join("awsmfa").join("cache"));
    }
    Some(home(env)?.join(".cache").join("awsmfa"))
}

/// Where the file vault lives when neither `AWSMFA_VAULT_DIR` nor `XDG_DATA_HOME` says:
/// `~/.local/share/awsmfa/vault` on Unix, `%APPDATA%\awsmfa\vault` on Windows (the
/// roaming profile: the entries are encrypted, and follow the person).
pub fn default_vault_dir(env: &Env) -> Option<PathBuf> {
    if cfg!(windows)
        && let Some(roaming) = env.get("APPDATA")
    {
        return Some(Path::new(roaming).join("awsmfa").join("vault"));
    }
    Some(
        home(env)?
            .join(".local")
            .join("share")
            .join("awsmfa")
            .join("vault"),
    )
}

/// The name of the login shell, for the default `env` format: `$SHELL` on Unix; on
/// Windows `$SHELL` too when a Unix-like shell (Git Bash, MSYS2) set it, else cmd.
pub fn login_shell(env: &Env) -> Option<String> {
    match env.get("SHELL") {
        Some(s) => Some(s.to_string()),
        None if cfg!(windows) => Some("cmd.exe".to_string()),
        None => None,
    }
}

/// The program `exec` runs when given no command: `$SHELL` (else `/bin/sh`) on Unix; on
/// Windows PowerShell when awsmfa was started from it, else `%COMSPEC%` (else cmd.exe).
pub fn default_shell(env: &Env, parent: Option<&str>) -> OsString {
    if cfg!(windows) {
        if let Some(p) = parent {
            let p = p.to_ascii_lowercase();
            if p == "pwsh.exe" || p == "powershell.exe" {
                return OsString::from(p);
            }
        }
        return OsString::from(env.get("COMSPEC").unwrap_or("cmd.exe"));
    }
    OsString::from(env.get("SHELL").unwrap_or("/bin/sh"))
}

// ---------------------------------------------------------------------------------------
// Desktop dialogs

/// A dialog program for questions asked with no console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    Zenity,
    Kdialog,
    Osascript,
    Powershell,
}

/// Whether a desktop dialog can be shown at all: an X11 or Wayland display (Linux, the
/// BSDs); a GUI login rather than an SSH session (macOS); always on Windows.
pub fn has_desktop(env: &Env) -> bool {
    if cfg!(windows) {
        true
    } else if cfg!(target_os = "macos") {
        !(env.is_set("SSH_CONNECTION") || env.is_set("SSH_CLIENT") || env.is_set("SSH_TTY"))
    } else {
        env.is_set("DISPLAY") || env.is_set("WAYLAND_DISPLAY")
    }
}

/// The dialog programs to look for on `PATH`, in order of preference.
pub fn dialog_programs() -> &'static [(&'static str, DialogKind)] {
    if cfg!(windows) {
        &[
            ("powershell.exe", DialogKind::Powershell),
            ("pwsh.exe", DialogKind::Powershell),
        ]
    } else if cfg!(target_os = "macos") {
        &[("osascript", DialogKind::Osascript)]
    } else {
        &[
            ("zenity", DialogKind::Zenity),
            ("kdialog", DialogKind::Kdialog),
        ]
    }
}

/// Looks for `name` in the directories of a `PATH` value.
pub fn find_on_path(path: &str, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------
// The OS credential store

/// The entry `service`/`user` in the OS credential store: the Secret Service (Linux,
/// the BSDs; labelled `label` in its UI), the macOS Keychain, the Windows Credential
/// Manager (target `user.service`, as keyring-core names it).
#[cfg(feature = "keyring")]
pub fn keyring_entry(
    service: &str,
    user: &str,
    label: &str,
) -> keyring_core::Result<keyring_core::Entry> {
    #[cfg(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    ))]
    {
        let store: std::sync::Arc<keyring_core::CredentialStore> =
            dbus_secret_service_keyring_store::Store::new()?;
        let mods = std::collections::HashMap::from([("label", label)]);
        store.build(service, user, Some(&mods))
    }
    #[cfg(target_os = "macos")]
    {
        let _ = label;
        let store: std::sync::Arc<keyring_core::CredentialStore> =
            apple_native_keyring_store::keychain::Store::new()?;
        store.build(service, user, None)
    }
    #[cfg(windows)]
    {
        let _ = label;
        let store: std::sync::Arc<keyring_core::CredentialStore> =
            windows_native_keyring_store::Store::new()?;
        store.build(service, user, None)
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly",
        target_os = "macos",
        windows
    )))]
    {
        let _ = (service, user, label);
        Err(keyring_core::Error::NotSupportedByStore(
            "no OS credential store is built into awsmfa for this platform".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_command_lines_split_like_create_process() {
        assert_eq!(
            split_program("awsmfa process -p x"),
            ("awsmfa", "process -p x")
        );
        assert_eq!(
            split_program(r#""C:\Program Files\t.exe"  --a "b c""#),
            (r"C:\Program Files\t.exe", r#"--a "b c""#)
        );
        assert_eq!(split_program("  tool"), ("tool", ""));
        assert_eq!(split_program(r#""unterminated"#), ("unterminated", ""));
    }

    #[test]
    fn directories_follow_the_platform() {
        let env = Env::from_pairs([
            ("HOME", "/h"),
            ("USERPROFILE", r"C:\Users\me"),
            ("LOCALAPPDATA", r"C:\Users\me\AppData\Local"),
            ("APPDATA", r"C:\Users\me\AppData\Roaming"),
        ]);
        if cfg!(windows) {
            assert_eq!(home(&env).unwrap(), PathBuf::from(r"C:\Users\me"));
            assert!(
                default_cache_dir(&env)
                    .unwrap()
                    .ends_with(r"Local\awsmfa\cache")
            );
        } else {
            assert_eq!(home(&env).unwrap(), PathBuf::from("/h"));
            assert_eq!(
                default_cache_dir(&env).unwrap(),
                PathBuf::from("/h/.cache/awsmfa")
            );
            assert_eq!(
                default_vault_dir(&env).unwrap(),
                PathBuf::from("/h/.local/share/awsmfa/vault")
            );
            assert_eq!(default_shell(&env, Some("fish")), OsString::from("/bin/sh"));
        }
    }
}
