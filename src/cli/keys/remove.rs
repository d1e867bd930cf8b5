//! `awsmfa remove`: deletes a profile's stored long-term keys (after a yes) and the
//! sessions cached from them.

use clap::Args;

use super::shared::{Stored, confirm, drop_sessions_of, stored};
use crate::cli::setup::{load_files, open_vault};
use crate::cli::{Context, check_section_name};
use crate::creds::{key_fingerprint, mask};
use crate::error::{Error, Exit};
use crate::output;
use crate::vault;

#[derive(Debug, Args)]
pub struct RemoveOpts {
    /// The profile whose stored keys to delete
    pub name: String,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
}

pub fn remove(ctx: &Context, opts: &RemoveOpts) -> Result<(), Error> {
    check_section_name(&opts.name, "profile")?;
    let name = opts.name.as_str();
    let files = load_files(ctx)?;
    let found = stored(&files, name)?;
    let (what, fingerprint) = match &found {
        Some(Stored::Vault(m)) => (
            format!(
                "the long-term keys of profile {name:?} ({}) from {}",
                m.key_id.as_deref().unwrap_or("?"),
                m.backend().describe()
            ),
            m.fingerprint.clone().unwrap_or_default(),
        ),
        Some(Stored::Plaintext) => {
            let section = format!("{name}-long-term");
            let id = files
                .credentials
                .get(&section, "aws_access_key_id")
                .unwrap_or_default();
            (
                format!(
                    "the long-term keys of profile {name:?} ({}) from [{section}] of {}",
                    mask(&id),
                    files.credentials_path.display()
                ),
                key_fingerprint(&id),
            )
        }
        None => {
            return Err(Error::new(
                Exit::Config,
                format!("profile {name:?} has no keys in the vault nor in [{name}-long-term]"),
            ));
        }
    };
    if !opts.yes && !confirm(ctx, &format!("Remove {what}? This cannot be undone."))? {
        return Err(Error::new(Exit::Failure, "nothing removed"));
    }
    match found {
        Some(Stored::Vault(_)) => {
            open_vault(ctx)?.remove(vault::Kind::Keys, name)?;
        }
        _ => {
            let section = format!("{name}-long-term");
            output::edit_file(&files.credentials_path, |doc| {
                doc.remove_key(&section, "aws_access_key_id");
                doc.remove_key(&section, "aws_secret_access_key");
                doc.remove_section_if_empty(&section);
                Ok(())
            })?;
        }
    }
    let n = drop_sessions_of(ctx, &fingerprint);
    ctx.say(&format!(
        "removed {what}{}",
        if n > 0 {
            format!(" and {n} cached session{}", if n == 1 { "" } else { "s" })
        } else {
            String::new()
        }
    ));
    ctx.hint("the key still exists in AWS: delete it in IAM if no longer needed");
    Ok(())
}
