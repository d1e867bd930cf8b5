//! Shell completion that knows the person's profiles, and "did you mean" for a mistyped
//! one. `awsmfa completions SHELL` prints a small script that asks awsmfa itself what to
//! offer on Tab (clap's dynamic completion, `COMPLETE=SHELL awsmfa -- WORDS…`), so
//! `awsmfa -p <Tab>` lists the profiles of the files the command would read.

use std::collections::BTreeSet;

use clap_complete::CompletionCandidate;

use crate::config::{AwsFiles, file_paths, load_headers};
use crate::sys::Env;

/// Every profile name a command could be given, as `status` lists them (aws-mfa's
/// `X-long-term` folded into `X`, the vault's entries), without unprintable ones.
pub fn profile_names(files: &AwsFiles) -> BTreeSet<String> {
    super::status::profile_names(files)
        .into_iter()
        .filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
        .collect()
}

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
    profile_names(&files)
        .into_iter()
        .filter(|name| keep(name))
        .map(CompletionCandidate::new)
        .collect()
}

/// The known profile closest to a mistyped `name`, if one is close enough to be meant.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    known
        .into_iter()
        .filter(|k| *k != name)
        .map(|k| (distance(&wanted, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).clamp(1, 3))
        .min()
        .map(|(_, k)| k)
}

/// Edit distance over characters where swapping two neighbours counts as one edit (the
/// commonest typo: `wrok`).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_profile_meant() {
        let known = ["mfa-demo", "work", "work-mfa", "default", "prod-admin"];
        assert_eq!(did_you_mean("mfa-dem", known), Some("mfa-demo"));
        assert_eq!(did_you_mean("wrok", known), Some("work"));
        assert_eq!(did_you_mean("Prod-Admin", known), Some("prod-admin"));
        assert_eq!(did_you_mean("staging", known), None);
        assert_eq!(did_you_mean("x", known), None);
    }

    #[test]
    fn names_from_both_files_and_the_aws_mfa_layout() {
        let doc = |t: &str| crate::config::ini::Document::parse(t.as_bytes()).unwrap();
        let files = AwsFiles {
            config: doc("[default]\n[profile admin]\n[services w]\n[sso-session s]\n"),
            credentials: doc("[work-long-term]\n[work]\n[other]\n"),
            config_path: "c".into(),
            credentials_path: "k".into(),
            vault: crate::vault::Index::new(None),
        };
        let names: Vec<String> = profile_names(&files).into_iter().collect();
        assert_eq!(names, ["admin", "default", "other", "work"]);
    }
}
