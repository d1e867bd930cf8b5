//! `awsmfa add`: long-term keys typed, piped or taken from the environment, checked with
//! GetCallerIdentity, then stored in the vault or in `[NAME-long-term]`; the MFA device
//! found on the way is offered for the profile's config.

use std::io::{IsTerminal, Read};

use clap::Args;

use super::import_aws_vault::runs_aws_vault;
use super::shared::{
    Stored, confirm, drop_sessions_of, iam_client, process_line, self_command, stored, sts_client,
};
use crate::cli::setup::{Setup, load_files, open_vault, open_vault_to_store};
use crate::cli::{Context, check_section_name};
use crate::config::AwsFiles;
use crate::config::profile::{self, KeysFrom, KeysSource};
use crate::creds::{Credentials, key_fingerprint, mask};
use crate::error::{Error, Exit};
use crate::mfa::Prompt;
use crate::output::{self, WriteError};
use crate::sts::Sts;
use crate::vault::{self, Backend, Meta};

#[derive(Debug, Args)]
pub struct AddOpts {
    /// The profile the keys belong to
    pub name: String,
    /// Where to keep them: file, keyring or plaintext [default: $AWSMFA_VAULT_BACKEND, else file; keyring on macOS and Windows]
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,
    /// Take the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    #[arg(long)]
    pub from_env: bool,
    /// Store them without checking them with STS GetCallerIdentity
    #[arg(long)]
    pub no_verify: bool,
    /// Replace keys already stored for the profile
    #[arg(long)]
    pub replace: bool,
    /// The profile's MFA device, saved as mfa_serial in its config [default: discovered and offered]
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
}

/// Checks what was typed or given as keys. Errors never show the secret.
fn checked_keys(id: &str, secret: &str) -> Result<Credentials, Error> {
    let id = id.trim();
    let secret = secret.trim_end_matches(['\n', '\r']).trim();
    let bad = |what: &str| Error::new(Exit::Usage, what.to_string());
    if id.is_empty() || secret.is_empty() {
        return Err(bad(
            "both the access key id and the secret access key are needed",
        ));
    }
    if !(16..=128).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad(
            "that is not an access key id (16 to 128 letters and digits, e.g. AKIA…)",
        ));
    }
    if id.starts_with("ASIA") {
        return Err(bad(
            "that key id (ASIA…) belongs to temporary session credentials; add the long-term keys (AKIA…)",
        ));
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) || secret.len() > 256 {
        return Err(bad(
            "the secret access key cannot contain spaces or control characters",
        ));
    }
    Ok(Credentials::long_term(id, secret))
}

/// The keys for `add`: the environment, the terminal, or two lines of standard input.
fn keys_to_add(ctx: &Context, opts: &AddOpts) -> Result<Credentials, Error> {
    if opts.from_env {
        if ctx.env.is_set("AWS_SESSION_TOKEN") {
            return Err(Error::new(
                Exit::Usage,
                "AWS_SESSION_TOKEN is set: the variables hold session credentials, not long-term keys",
            ));
        }
        let (Some(id), Some(secret)) = (
            ctx.env.get("AWS_ACCESS_KEY_ID"),
            ctx.env.get("AWS_SECRET_ACCESS_KEY"),
        ) else {
            return Err(Error::new(
                Exit::Usage,
                "--from-env needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        };
        return checked_keys(id, secret);
    }
    if !std::io::stdin().is_terminal() {
        let mut text = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .take(4096)
            .read_to_string(&mut text)
            .map_err(|e| Error::new(Exit::Failure, format!("reading standard input: {e}")))?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let (Some(id), Some(secret)) = (lines.next(), lines.next()) else {
            return Err(Error::new(
                Exit::Usage,
                "expected two lines on standard input: the access key id, then the secret access key",
            ));
        };
        return checked_keys(id, secret);
    }
    let no_tty = || {
        Error::new(
            Exit::NoPrompt,
            "the keys are needed, and there is no terminal to ask on",
        )
        .with_hint("pass them as two lines on standard input, or use --from-env")
    };
    let io = |e: std::io::Error| Error::new(Exit::Failure, format!("reading the keys: {e}"));
    let id = ctx
        .prompt
        .ask("Access key ID: ")
        .map_err(io)?
        .ok_or_else(no_tty)?;
    let secret = ctx
        .prompt
        .ask_secret("Secret access key: ")
        .map_err(io)?
        .ok_or_else(no_tty)?;
    use secrecy::ExposeSecret;
    checked_keys(&id, secret.expose_secret())
}

pub fn add(ctx: &Context, opts: &AddOpts) -> Result<(), Error> {
    crate::cli::login::check_serial_flag(opts.mfa_serial.as_deref())?;
    check_section_name(&opts.name, "profile")?;
    let backend = Backend::choose(opts.backend.as_deref(), &ctx.env)?;
    let files = load_files(ctx)?;
    let name = opts.name.as_str();
    let before = stored(&files, name)?;
    if let Some(stored) = &before
        && !opts.replace
    {
        return Err(already_stored(stored, name));
    }
    try_later_writes(&files, opts, backend)?;
    let keys = keys_to_add(ctx, opts)?;
    let source = KeysSource {
        profile: name.to_string(),
        keys: KeysFrom::Static(keys.clone()),
        origin: "the keys being added".into(),
        section: None,
    };
    let resolved = profile::with_keys(&files, name, source);
    let configured_serial = resolved.mfa_serial.clone();
    let setup = Setup::with(ctx, files, resolved)?;
    let (arn, discovered) = if opts.no_verify {
        (None, None)
    } else {
        let look_for_device = configured_serial.is_none() && opts.mfa_serial.is_none();
        let (arn, found) = verify(ctx, &setup, &keys, look_for_device)?;
        (Some(arn), found)
    };
    let files = &setup.files;
    match backend {
        Backend::Plaintext => store_plaintext(ctx, files, name, &keys)?,
        _ => store_in_vault(ctx, name, backend, &keys, arn.as_deref(), &before)?,
    }
    if let Some(Stored::Vault(old)) = &before
        && old.fingerprint.as_deref() != Some(&key_fingerprint(&keys.access_key_id))
    {
        drop_sessions_of(ctx, old.fingerprint.as_deref().unwrap_or_default());
    }
    save_serial(ctx, files, name, opts.mfa_serial.as_deref(), discovered)?;
    if let Some(region) = &ctx.region {
        output::ensure_config_profile(&files.config_path, name, &[("region", region)])?;
    }
    plaintext_copies_warning(ctx, files, name, backend);
    aws_vault_line_warning(ctx, files, name);
    ctx.hint(&format!(
        "next: `awsmfa login -p {name}` (the session goes into [{name}])"
    ));
    Ok(())
}

/// The refusal to add keys over those already stored without `--replace`.
fn already_stored(stored: &Stored, name: &str) -> Error {
    let place = match stored {
        Stored::Vault(m) => format!(
            "{} ({})",
            m.backend().describe(),
            m.key_id.as_deref().unwrap_or("?")
        ),
        _ => format!("[{name}-long-term] of the credentials file"),
    };
    Error::new(
        Exit::Usage,
        format!("profile {name:?} already has long-term keys in {place}"),
    )
    .with_hint("pass --replace to replace them, or awsmfa rotate to make new ones")
}

/// Writes made after the keys are stored, tried first: the plaintext section, and an
/// mfa_serial given to be saved.
fn try_later_writes(files: &AwsFiles, opts: &AddOpts, backend: Backend) -> Result<(), Error> {
    let name = opts.name.as_str();
    if backend == Backend::Plaintext {
        let placeholder = Credentials::long_term("AKIAPLACEHOLDER00000", "placeholder");
        output::try_edit(&files.credentials, |d| {
            plaintext_edit(d, &format!("{name}-long-term"), &placeholder)
        })
        .map_err(|e| output::with_path(e, &files.credentials_path))?;
    }
    if let Some(serial) = &opts.mfa_serial {
        output::try_edit(&files.config, |d| {
            output::save_edit(d, name, "mfa_serial", serial)
        })
        .map_err(|e| output::with_path(e, &files.config_path))?;
    }
    Ok(())
}

/// Checks the keys with GetCallerIdentity: whose they are, and (when `look_for_device`)
/// the user's one MFA device, if it has exactly one.
fn verify(
    ctx: &Context,
    setup: &Setup,
    keys: &Credentials,
    look_for_device: bool,
) -> Result<(String, Option<String>), Error> {
    let sts = sts_client(ctx, setup)?;
    let id = sts.get_caller_identity(keys).map_err(|e| {
        Error::from(e)
            .with_hint("check the keys (and --endpoint-url); --no-verify stores them unchecked")
    })?;
    ctx.say(&format!(
        "the keys ({}) belong to {}",
        mask(&keys.access_key_id),
        id.arn
    ));
    let mut discovered = None;
    if look_for_device
        && id.arn.contains(":user/")
        && let Ok(iam) = iam_client(ctx, setup)
    {
        use crate::sts::Iam;
        match iam.list_mfa_devices(keys, None) {
            Ok(devices) if devices.len() == 1 => {
                discovered = Some(devices[0].serial_number.clone())
            }
            Ok(devices) if devices.is_empty() => ctx.warn(&format!(
                "{} has no MFA device; `awsmfa mfa create` enrolls one",
                id.arn
            )),
            Ok(_) => ctx.say(
                "the user has several MFA devices: choose one with awsmfa add --replace --mfa-serial ARN, or login --mfa-serial ARN --save",
            ),
            Err(e) => ctx.debug(1, &format!("could not list the MFA devices: {e}")),
        }
    }
    Ok((id.arn, discovered))
}

/// Stores the keys in `[NAME-long-term]` of the credentials file, and reads them back.
fn store_plaintext(
    ctx: &Context,
    files: &AwsFiles,
    name: &str,
    keys: &Credentials,
) -> Result<(), Error> {
    let section = format!("{name}-long-term");
    output::edit_file(&files.credentials_path, |doc| {
        plaintext_edit(doc, &section, keys)
    })?;
    let back = crate::config::load_document(&files.credentials_path)?;
    if back.get(&section, "aws_secret_access_key").as_deref() != Some(keys.secret()) {
        return Err(Error::new(
            Exit::Config,
            "the credentials file did not keep the keys as written",
        ));
    }
    ctx.say(&format!(
        "stored the keys of profile {name:?} ({}) in [{section}] of {}",
        mask(&keys.access_key_id),
        files.credentials_path.display()
    ));
    Ok(())
}

/// Stores the keys in the vault; keys replaced in another backend lose their old secret.
fn store_in_vault(
    ctx: &Context,
    name: &str,
    backend: Backend,
    keys: &Credentials,
    arn: Option<&str>,
    before: &Option<Stored>,
) -> Result<(), Error> {
    let vault = open_vault_to_store(ctx)?;
    let meta = vault.store_keys(name, backend, keys, arn)?;
    if let Some(Stored::Vault(old)) = before
        && old.backend != meta.backend
    {
        // Replaced in another backend: the old secret goes too.
        if let Err(e) = vault_delete_secret(ctx, old) {
            ctx.warn(&format!(
                "the old copy in {}: {e}",
                old.backend().describe()
            ));
        }
    }
    let place = match backend {
        Backend::File => vault.dir().display().to_string(),
        _ => format!("indexed in {}", vault.dir().display()),
    };
    ctx.say(&format!(
        "stored the keys of profile {name:?} ({}) in {} ({place})",
        mask(&keys.access_key_id),
        backend.describe(),
    ));
    Ok(())
}

/// Long-term keys into `[section]` of the credentials file (aws-mfa's layout).
fn plaintext_edit(
    doc: &mut crate::config::ini::Document,
    section: &str,
    keys: &Credentials,
) -> Result<(), WriteError> {
    doc.set(section, "aws_access_key_id", &keys.access_key_id)?;
    doc.set(section, "aws_secret_access_key", keys.secret())?;
    Ok(())
}

fn vault_delete_secret(ctx: &Context, meta: &Meta) -> Result<(), Error> {
    // The index record now belongs to the new entry; only the old secret is removed.
    let vault = open_vault(ctx)?;
    vault.delete_secret(vault::Kind::Keys, meta)?;
    Ok(())
}

/// Writes `mfa_serial` into the profile's config: the one given, or the one discovered
/// when the person agrees.
fn save_serial(
    ctx: &Context,
    files: &AwsFiles,
    name: &str,
    given: Option<&str>,
    discovered: Option<String>,
) -> Result<(), Error> {
    let serial = match (given, discovered) {
        (Some(s), _) => s.to_string(),
        (None, Some(found)) => {
            let question = format!(
                "Save mfa_serial = {found} in [{}] of {}?",
                AwsFiles::config_section(name),
                files.config_path.display()
            );
            let yes = std::io::stdin().is_terminal() && confirm(ctx, &question).unwrap_or(false);
            if !yes {
                ctx.say(&format!(
                    "found MFA device {found}; `awsmfa login -p {name} --save` keeps it in the config"
                ));
                return Ok(());
            }
            found
        }
        (None, None) => return Ok(()),
    };
    output::save_config_value(&files.config_path, name, "mfa_serial", &serial)?;
    ctx.say(&format!(
        "saved mfa_serial = {serial} in [{}] of {}",
        files.config_section_of(name),
        files.config_path.display()
    ));
    if let Some(why) = output::shadowed_by_credentials(files, name, "mfa_serial", &serial) {
        ctx.warn(&why);
    }
    Ok(())
}

/// Keys for the same profile left in plaintext are a copy to delete (and, in `[NAME]`,
/// would stop `login` from writing the session there).
fn plaintext_copies_warning(ctx: &Context, files: &AwsFiles, name: &str, backend: Backend) {
    // The credentials file is as it was read: only the plaintext backend writes to it.
    if backend == Backend::Plaintext {
        return;
    }
    for section in [format!("{name}-long-term"), name.to_string()] {
        let long_term = files
            .credentials
            .get(&section, "aws_access_key_id")
            .is_some()
            && files
                .credentials
                .session_token_inherited(&section)
                .is_none();
        if long_term {
            ctx.warn(&format!(
                "[{section}] of {} still holds long-term keys in plaintext; delete them (the vault's are used from now on)",
                files.credentials_path.display()
            ));
        }
    }
}

/// A profile whose config still runs aws-vault (`credential_process = aws-vault …`)
/// gives the AWS CLI aws-vault's keys, not the ones just added.
fn aws_vault_line_warning(ctx: &Context, files: &AwsFiles, name: &str) {
    let Some(value) = files
        .profile(name)
        .and_then(|p| p.get("credential_process").map(String::from))
    else {
        return;
    };
    if runs_aws_vault(&value) {
        ctx.warn(&format!(
            "[{}] of {} still runs aws-vault (credential_process = {value}): the AWS CLI keeps taking profile {name:?}'s credentials from aws-vault, not from the keys just stored; awsmfa uses the stored ones",
            files.config_section_of(name),
            files.config_path.display()
        ));
        ctx.hint(&format!(
            "replace that line with credential_process = {}",
            process_line(&self_command(ctx), name)
        ));
    }
}
