//! What the key commands share: asking yes or no, where a profile's keys are stored
//! now, the STS and IAM clients, dropping the sessions cached from a key, and the
//! `credential_process` line that serves a profile from this awsmfa. It imports none of
//! the commands.

use crate::cli::Context;
use crate::cli::setup::{Setup, http_settings};
use crate::config::AwsFiles;
use crate::error::{Error, Exit};
use crate::mfa::Prompt;
use crate::session::cache::Cache;
use crate::sts::QueryClient;
use crate::vault::{self, Meta};

/// Asks a yes/no question; no way to ask is exit 4 with a hint to use `--yes`.
pub(super) fn confirm(ctx: &Context, question: &str) -> Result<bool, Error> {
    let answer = ctx
        .prompt
        .ask(&format!("{question} [y/N] "))
        .map_err(|e| Error::new(Exit::Failure, format!("asking for confirmation: {e}")))?
        .ok_or_else(|| {
            Error::new(
                Exit::NoPrompt,
                "confirmation is needed, and there is no terminal to ask on",
            )
            .with_hint("pass --yes")
        })?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// An STS client for the endpoint of `resolved`.
pub(super) fn sts_client(ctx: &Context, setup: &Setup) -> Result<QueryClient, Error> {
    let http = http_settings(ctx, &setup.resolved)?;
    crate::cli::setup::warn_cleartext(ctx, &setup.sts_endpoint);
    crate::cli::setup::query_client(ctx, &setup.sts_endpoint, http)
}

pub(super) fn iam_client(ctx: &Context, setup: &Setup) -> Result<QueryClient, Error> {
    let http = http_settings(ctx, &setup.resolved)?;
    crate::cli::setup::warn_cleartext(ctx, &setup.iam_endpoint()?);
    crate::cli::setup::query_client(ctx, &setup.iam_endpoint()?, http)
}

/// Where the profile's keys are stored now, if awsmfa stores them.
pub(super) enum Stored {
    Vault(Meta),
    Plaintext,
}

pub(super) fn stored(files: &AwsFiles, name: &str) -> Result<Option<Stored>, Error> {
    if let Some(meta) = files.vault.get(vault::Kind::Keys, name)? {
        return Ok(Some(Stored::Vault(meta)));
    }
    let section = format!("{name}-long-term");
    Ok(files
        .credentials
        .get(&section, "aws_access_key_id")
        .map(|_| Stored::Plaintext))
}

/// Drops cached sessions made from the keys with this fingerprint.
pub(super) fn drop_sessions_of(ctx: &Context, fingerprint: &str) -> usize {
    if fingerprint.is_empty() {
        return 0;
    }
    Cache::from_env(&ctx.env)
        .and_then(|c| c.remove_where(|m| m.keys == fingerprint).ok())
        .unwrap_or(0)
}

/// The `credential_process` line that serves profile `name` from awsmfa.
pub(super) fn process_line(command: &str, name: &str) -> String {
    format!("{command} process --profile {}", quote_word(name))
}

/// How the AWS CLI runs this awsmfa: `awsmfa` when that is what `PATH` finds, else its
/// full path; quoted for botocore's word splitting (shlex on Unix, the Windows rules on
/// Windows).
pub(super) fn self_command(ctx: &Context) -> String {
    let exe = std::env::current_exe().ok();
    let on_path = ctx
        .env
        .get("PATH")
        .and_then(|p| crate::sys::find_on_path(p, crate::sys::EXE_NAME));
    let same = |a: &std::path::Path, b: &std::path::Path| {
        std::fs::canonicalize(a)
            .ok()
            .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
    };
    match (exe, on_path) {
        (Some(exe), Some(found)) if same(&exe, &found) => "awsmfa".into(),
        (Some(exe), _) => quote_word(&exe.to_string_lossy()),
        (None, _) => "awsmfa".into(),
    }
}

/// One word as botocore splits a `credential_process` line back into it.
pub(crate) fn quote_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@+=%".contains(c));
    if plain {
        word.to_string()
    } else if cfg!(windows) {
        format!("\"{}\"", word.replace('"', "\\\""))
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}
