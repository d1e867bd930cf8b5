//! Shell completion that knows the person's profiles (as [`super::profiles`] lists
//! them). `awsmfa completions SHELL` prints a small script that asks awsmfa itself what to
//! offer on Tab (clap's dynamic completion, `COMPLETE=SHELL awsmfa -- WORDS…`), so
//! `awsmfa -p <Tab>` lists the profiles of the files the command would read.

use clap_complete::CompletionCandidate;

use super::profiles::printable_names;
use crate::config::{AwsFiles, file_paths, load_headers};
use crate::sys::Env;

/// The profiles starting with what is typed (`current`), for completion; filtered here,
/// before clap builds and sorts a candidate for each of 40,000 profiles.
pub fn profile_completions(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    profile_candidates_where(|name| name.starts_with(typed.as_ref()))
}

/// The profiles for completion that `keep` keeps, read from the files the environment
/// names (errors in them mean fewer candidates, never a message).
fn profile_candidates_where(keep: impl Fn(&str) -> bool) -> Vec<CompletionCandidate> {
    let env = Env::from_process();
    let Ok((config, credentials)) = file_paths(&env, None, None) else {
        return Vec::new();
    };
    // The names are all that is needed: the headers only (40,000 profiles: 251 ms and
    // 59 MiB when both files were parsed whole).
    let doc = |p: &std::path::Path| load_headers(p).unwrap_or_default();
    let files = AwsFiles {
        config: doc(&config),
        credentials: doc(&credentials),
        config_path: config,
        credentials_path: credentials,
        vault: crate::vault::Index::new(crate::vault::vault_dir(&env)),
    };
    printable_names(&files)
        .into_iter()
        .filter(|name| keep(name))
        .map(CompletionCandidate::new)
        .collect()
}

/// The registration script for `shell`: it makes the shell ask `awsmfa` (found on
/// `PATH`) what to complete.
pub fn registration(shell: clap_complete::Shell) -> Result<String, std::io::Error> {
    use clap_complete::env::EnvCompleter;
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &clap_complete::env::Bash,
        clap_complete::Shell::Zsh => &clap_complete::env::Zsh,
        clap_complete::Shell::Fish => &clap_complete::env::Fish,
        clap_complete::Shell::PowerShell => &clap_complete::env::Powershell,
        clap_complete::Shell::Elvish => &clap_complete::env::Elvish,
        _ => &clap_complete::env::Bash,
    };
    let mut out = Vec::new();
    completer.write_registration("COMPLETE", "awsmfa", "awsmfa", "awsmfa", &mut out)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if shell == clap_complete::Shell::Zsh {
        // `compdef` belongs to zsh's completion system, which a fresh ~/.zshrc has not
        // loaded: `source <(awsmfa completions zsh)` loads it rather than fail with
        // "command not found: compdef" (-i: directories others can write are skipped).
        let load = "(( $+functions[compdef] )) || { autoload -Uz compinit && compinit -i }\n";
        let at = text.find('\n').map_or(0, |i| i + 1);
        text.insert_str(at, load);
    }
    Ok(text)
}
