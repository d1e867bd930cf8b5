//! `awsmfa rotate`: a new access key made with IAM, waited for until it works, stored
//! where the old one was; then the old key is deleted. A failure on the way deletes the
//! new key again.

use std::time::Duration;

use clap::Args;

use super::shared::{drop_sessions_of, iam_client, sts_client};
use crate::cli::Context;
use crate::cli::setup::{CliEffects, Setup, load_files, long_term_keys, open_vault_to_store};
use crate::config::Which;
use crate::config::profile::{KeysFrom, Kind, resolve};
use crate::creds::{Credentials, key_fingerprint, mask};
use crate::error::{Error, Exit};
use crate::output::{self, WriteError};
use crate::sts::{QueryClient, Sts, StsError};
use crate::vault::Meta;

#[derive(Debug, Args)]
pub struct RotateOpts {
    /// The profile whose access key to replace
    pub name: String,
    /// The MFA code; "-" reads it from standard input [default: mfa_process, else a prompt]
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    pub token_code: Option<String>,
    /// Call IAM with the long-term keys themselves (for users no policy asks MFA of)
    #[arg(long)]
    pub no_mfa: bool,
    /// How long to wait for the new key to start working [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

/// Where rotate writes the new key: back where the old one was.
enum Home {
    Vault(Meta),
    File(std::path::PathBuf, String),
}

pub fn rotate(ctx: &Context, opts: &RotateOpts) -> Result<(), Error> {
    let wait = match &opts.wait {
        Some(text) => crate::lifetime::parse_duration(text)?,
        None => 60,
    };
    let files = load_files(ctx)?;
    let resolved = resolve(&files, &opts.name)?;
    let base = match &resolved.kind {
        Kind::MfaSession(k) => k.clone(),
        Kind::Role(r) => {
            return Err(Error::new(
                Exit::Usage,
                format!(
                    "profile {:?} is a role; it has no access key of its own",
                    opts.name
                ),
            )
            .with_hint(format!(
                "rotate the profile that holds the keys: awsmfa rotate {}",
                r.source.base_keys().profile
            )));
        }
    };
    let home = match (&base.keys, &base.section) {
        (KeysFrom::Vault(meta), _) => Home::Vault((**meta).clone()),
        (KeysFrom::Static(_), Some((Which::Credentials, section))) => {
            Home::File(files.credentials_path.clone(), section.clone())
        }
        (KeysFrom::Static(_), Some((Which::Config, section))) => {
            Home::File(files.config_path.clone(), section.clone())
        }
        _ => {
            return Err(Error::new(
                Exit::Config,
                format!(
                    "the keys of profile {:?} come from {}; rotate them where they are kept",
                    opts.name, base.origin
                ),
            ));
        }
    };
    // The old keys first: a passphrase is asked before anything changes in AWS.
    let old = long_term_keys(ctx, &base)?;
    // And the file's edit tried before a key is created that could not be written.
    if let Home::File(path, section) = &home {
        let doc = if path == &files.config_path {
            &files.config
        } else {
            &files.credentials
        };
        let placeholder = Credentials::long_term("AKIAPLACEHOLDER00000", "placeholder");
        output::try_edit(doc, |d| {
            replace_edit(d, section, &old, &placeholder).map(|_| ())
        })
        .map_err(|e| output::with_path(e, path))?;
    }
    let setup = Setup::with(ctx, files, resolved)?;
    let caller = if opts.no_mfa {
        old.clone()
    } else {
        let fx = CliEffects::new(ctx, &setup, opts.token_code.clone());
        setup.serve(&fx, &setup.request())?.creds
    };
    let sts = sts_client(ctx, &setup)?;
    let iam = iam_client(ctx, &setup)?;
    let me = sts.get_caller_identity(&old)?;
    let new = iam.create_access_key(&caller).map_err(|e| {
        let limit = matches!(&e, StsError::Service { code, .. } if code == "LimitExceeded");
        let err =
            Error::from(e).with_message_prefix("creating the new access key: nothing changed: ");
        if limit {
            err.with_hint(
                "IAM allows 2 keys per user: delete one (aws iam delete-access-key), retry",
            )
        } else {
            err
        }
    })?;
    ctx.say(&format!("created access key {}", mask(&new.access_key_id)));
    let undo = |why: String| -> Error {
        match iam.delete_access_key(&caller, &new.access_key_id) {
            Ok(()) => Error::new(
                Exit::Failure,
                format!("{why}; the new key was deleted again, and the old key ({}) is unchanged and still in use", mask(&old.access_key_id)),
            ),
            Err(e) => Error::new(
                Exit::Failure,
                format!("{why}; deleting the new key {} failed too ({e}): it still exists in the account, unused; the old key ({}) is unchanged and still in use", mask(&new.access_key_id), mask(&old.access_key_id)),
            )
            .with_hint("delete it: aws iam list-access-keys, then aws iam delete-access-key"),
        }
    };
    if let Err(why) = wait_until_works(ctx, &sts, &new, &me.arn, Duration::from_secs(wait)) {
        return Err(undo(why));
    }
    let stored = match &home {
        Home::Vault(meta) => open_vault_to_store(ctx)
            .and_then(|v| {
                v.store_keys(&meta.name, meta.backend(), &new, Some(&me.arn))
                    .map_err(Error::from)
            })
            .map(|_| meta.backend().describe().to_string()),
        Home::File(path, section) => replace_in_file(path, section, &old, &new)
            .map(|()| format!("[{section}] of {}", path.display())),
    };
    let place = match stored {
        Ok(p) => p,
        Err(e) => return Err(undo(format!("storing the new key failed: {}", e.message))),
    };
    let dropped = drop_sessions_of(ctx, &key_fingerprint(&old.access_key_id));
    if let Err(e) = iam.delete_access_key(&caller, &old.access_key_id) {
        return Err(Error::new(
            Exit::Failure,
            format!(
                "the new key {} is stored in {place} and in use, but deleting the old key {} failed: {e}; it is still active",
                mask(&new.access_key_id),
                mask(&old.access_key_id)
            ),
        )
        .with_hint("delete it: aws iam list-access-keys, then aws iam delete-access-key"));
    }
    ctx.say(&format!(
        "rotated: profile {:?} now uses {} (stored in {place}); the old key {} was deleted",
        opts.name,
        mask(&new.access_key_id),
        mask(&old.access_key_id)
    ));
    if dropped > 0 {
        ctx.say(&format!(
            "dropped {dropped} cached session{} of the old key; the next login asks for a code",
            if dropped == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

/// IAM is eventually consistent: a new key may be refused for a few seconds. Tries it
/// with GetCallerIdentity, backing off, until it works as the same user or time is up.
fn wait_until_works(
    ctx: &Context,
    sts: &QueryClient,
    new: &Credentials,
    arn: &str,
    limit: Duration,
) -> Result<(), String> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(500);
    let mut said = false;
    loop {
        match sts.get_caller_identity(new) {
            Ok(id) if id.arn == arn => return Ok(()),
            Ok(id) => {
                return Err(format!("the new key works as {}, not as {arn}", id.arn));
            }
            Err(e) if e.is_auth_rejection() => {
                if start.elapsed() + pause > limit {
                    return Err(format!(
                        "the new key still did not work after {} s ({e})",
                        limit.as_secs()
                    ));
                }
                if !said {
                    ctx.say("waiting for the new key to start working (IAM takes a few seconds)…");
                    said = true;
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(format!("checking the new key failed: {e}")),
        }
    }
}

/// Puts the new key where the old one was, if the section still holds the old one.
/// Puts `new` in place of `old` in `[section]`; whether `old` was still there.
fn replace_edit(
    doc: &mut crate::config::ini::Document,
    section: &str,
    old: &Credentials,
    new: &Credentials,
) -> Result<bool, WriteError> {
    if doc.get(section, "aws_access_key_id").as_deref() != Some(old.access_key_id.as_str()) {
        return Ok(false);
    }
    doc.set(section, "aws_access_key_id", &new.access_key_id)?;
    doc.set(section, "aws_secret_access_key", new.secret())?;
    Ok(true)
}

fn replace_in_file(
    path: &std::path::Path,
    section: &str,
    old: &Credentials,
    new: &Credentials,
) -> Result<(), Error> {
    let mut changed = false;
    output::edit_file(path, |doc| {
        changed = replace_edit(doc, section, old, new)?;
        Ok(())
    })?;
    if !changed {
        return Err(Error::new(
            Exit::Config,
            format!("[{section}] no longer holds the old key"),
        ));
    }
    let back = crate::config::load_document(path)?;
    if back.get(section, "aws_secret_access_key").as_deref() != Some(new.secret()) {
        return Err(Error::new(
            Exit::Config,
            format!("[{section}] did not keep the new key as written"),
        ));
    }
    Ok(())
}
