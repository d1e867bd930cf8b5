//! The long-term keys themselves: `add`, `remove`, `import`, `rotate`.
//!
//! Keys go into the vault (DESIGN §5) or, with `--backend plaintext`, into
//! `[NAME-long-term]` of the credentials file (aws-mfa's layout). Whatever the command,
//! nothing is deleted before its replacement was written and read back, and every message
//! says what state the keys (and, for `rotate`, the AWS account) are left in.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use clap::Args;

use super::setup::{
    CliEffects, Setup, http_settings, load_files, long_term_keys, open_vault, open_vault_to_store,
};
use super::{Context, check_section_name};
use crate::config::profile::{self, KeysFrom, KeysSource, Kind, resolve};
use crate::config::{AwsFiles, Which};
use crate::creds::{Credentials, key_fingerprint, mask};
use crate::error::{Error, Exit};
use crate::mfa::Prompt;
use crate::output::{self, WriteError};
use crate::session::cache::Cache;
use crate::sts::{QueryClient, Sts, StsError};
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

#[derive(Debug, Args)]
pub struct RemoveOpts {
    /// The profile whose stored keys to delete
    pub name: String,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Sources:
  (none)     plaintext keys of the AWS files: [NAME] and [NAME-long-term] of the credentials
             file, [profile NAME] of the config
  aws-mfa    aws-mfa's [NAME-long-term] sections only (the keys move from every place they sit)
  aws-vault  the credentials aws-vault stores, read with its own CLI (aws-vault v7.2.0's
             `list --credentials` and `export --no-session --format=json NAME`, run with no
             terminal and a time limit, AWSMFA_AWS_VAULT_TIMEOUT, default 60s); each is checked
             with GetCallerIdentity before it is stored, config lines that run aws-vault for it
             (credential_process = aws-vault export --format=json NAME, aws-vault exec NAME --json)
             become credential_process = awsmfa process --profile NAME, and aws-vault's own copy
             stays until you run aws-vault remove NAME. Named profiles move all or none; without
             names, each profile moves whole or stays, and the exit status says if any stayed.")]
pub struct ImportOpts {
    /// Profiles to import [default: every profile with long-term keys in the source]
    pub names: Vec<String>,
    /// Where the keys are now: aws-vault or aws-mfa [default: the plaintext AWS files]
    #[arg(long, value_name = "TOOL", value_enum)]
    pub from: Option<ImportFrom>,
    /// The vault backend: file or keyring [default: $AWSMFA_VAULT_BACKEND, else file; keyring on macOS and Windows]
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,
}

/// The tool whose keys `import` takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFrom {
    /// aws-vault's store, through its CLI
    AwsVault,
    /// aws-mfa's `[NAME-long-term]` sections of the credentials file
    AwsMfa,
}

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

/// Asks a yes/no question; no way to ask is exit 4 with a hint to use `--yes`.
fn confirm(ctx: &Context, question: &str) -> Result<bool, Error> {
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

/// An STS client for the endpoint of `resolved`.
pub(super) fn sts_client(ctx: &Context, setup: &Setup) -> Result<QueryClient, Error> {
    let http = http_settings(ctx, &setup.resolved)?;
    super::setup::warn_cleartext(ctx, &setup.sts_endpoint);
    super::setup::query_client(ctx, &setup.sts_endpoint, http)
}

fn iam_client(ctx: &Context, setup: &Setup) -> Result<QueryClient, Error> {
    let http = http_settings(ctx, &setup.resolved)?;
    super::setup::warn_cleartext(ctx, &setup.iam_endpoint()?);
    super::setup::query_client(ctx, &setup.iam_endpoint()?, http)
}

/// Where the profile's keys are stored now, if awsmfa stores them.
enum Stored {
    Vault(Meta),
    Plaintext,
}

fn stored(files: &AwsFiles, name: &str) -> Result<Option<Stored>, Error> {
    if let Some(meta) = files.vault.get(vault::Kind::Keys, name)? {
        return Ok(Some(Stored::Vault(meta)));
    }
    let section = format!("{name}-long-term");
    Ok(files
        .credentials
        .get(&section, "aws_access_key_id")
        .map(|_| Stored::Plaintext))
}

pub fn add(ctx: &Context, opts: &AddOpts) -> Result<(), Error> {
    super::login::check_serial_flag(opts.mfa_serial.as_deref())?;
    check_section_name(&opts.name, "profile")?;
    let backend = Backend::choose(opts.backend.as_deref(), &ctx.env)?;
    let files = load_files(ctx)?;
    let name = opts.name.as_str();
    let before = stored(&files, name)?;
    if before.is_some() && !opts.replace {
        let place = match &before {
            Some(Stored::Vault(m)) => format!(
                "{} ({})",
                m.backend().describe(),
                m.key_id.as_deref().unwrap_or("?")
            ),
            _ => format!("[{name}-long-term] of the credentials file"),
        };
        return Err(Error::new(
            Exit::Usage,
            format!("profile {name:?} already has long-term keys in {place}"),
        )
        .with_hint("pass --replace to replace them, or awsmfa rotate to make new ones"));
    }
    // Writes made after the keys are stored, tried first: the plaintext section, and
    // an mfa_serial given to be saved.
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
    let mut arn = None;
    let mut discovered = None;
    if !opts.no_verify {
        let sts = sts_client(ctx, &setup)?;
        let id = sts.get_caller_identity(&keys).map_err(|e| {
            Error::from(e)
                .with_hint("check the keys (and --endpoint-url); --no-verify stores them unchecked")
        })?;
        ctx.say(&format!(
            "the keys ({}) belong to {}",
            mask(&keys.access_key_id),
            id.arn
        ));
        if configured_serial.is_none()
            && opts.mfa_serial.is_none()
            && id.arn.contains(":user/")
            && let Ok(iam) = iam_client(ctx, &setup)
        {
            use crate::sts::Iam;
            match iam.list_mfa_devices(&keys, None) {
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
        arn = Some(id.arn);
    }
    let files = &setup.files;
    match backend {
        Backend::Plaintext => {
            let section = format!("{name}-long-term");
            output::edit_file(&files.credentials_path, |doc| {
                plaintext_edit(doc, &section, &keys)
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
        }
        _ => {
            let vault = open_vault_to_store(ctx)?;
            let meta = vault.store_keys(name, backend, &keys, arn.as_deref())?;
            if let Some(Stored::Vault(old)) = &before
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
        }
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
    if super::import_aws_vault::runs_aws_vault(&value) {
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

/// Drops cached sessions made from the keys with this fingerprint.
fn drop_sessions_of(ctx: &Context, fingerprint: &str) -> usize {
    if fingerprint.is_empty() {
        return 0;
    }
    Cache::from_env(&ctx.env)
        .and_then(|c| c.remove_where(|m| m.keys == fingerprint).ok())
        .unwrap_or(0)
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

/// A profile's plaintext long-term keys found for `import`: one key pair, in every
/// section that holds it.
struct Plain {
    /// The awsmfa profile the keys belong to (`work` for `[work-long-term]`).
    name: String,
    places: Vec<Place>,
    keys: Credentials,
}

/// A section holding plaintext keys.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    which: Which,
    section: String,
}

impl Plain {
    /// The profiles the AWS CLI reads these keys as (`work-long-term` is one too).
    fn cli_profiles(&self) -> Vec<&str> {
        self.places
            .iter()
            .map(|p| match p.which {
                Which::Credentials => p.section.as_str(),
                Which::Config => self.name.as_str(),
            })
            .collect()
    }

    fn describe(&self, files: &AwsFiles) -> String {
        self.places
            .iter()
            .map(|p| {
                let path = match p.which {
                    Which::Credentials => &files.credentials_path,
                    Which::Config => &files.config_path,
                };
                format!("[{}] of {}", p.section, path.display())
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// Whole long-term keys of a section's own: no session token, as the AWS CLI reads the
/// section (a `[DEFAULT]` token makes them a session).
fn plaintext_keys(doc: &crate::config::ini::Document, section: &str) -> Option<Credentials> {
    if !doc.has_section(section) || doc.session_token_inherited(section).is_some() {
        return None;
    }
    let id = doc.get(section, "aws_access_key_id")?;
    let secret = doc.get(section, "aws_secret_access_key")?;
    (!id.is_empty() && !secret.is_empty()).then(|| Credentials::long_term(&id, &secret))
}

/// `name`'s plaintext keys wherever they are: `[NAME-long-term]` and `[NAME]` of the
/// credentials file, the profile's config section. `Err` when they hold different keys
/// (which pair to keep is the person's choice).
fn find_plain(files: &AwsFiles, name: &str) -> Option<Result<Plain, String>> {
    let in_credentials = [format!("{name}-long-term"), name.to_string()]
        .into_iter()
        .map(|section| Place {
            which: Which::Credentials,
            section,
        });
    let in_config = files
        .config
        .named_section("profile", name)
        .map(|section| Place {
            which: Which::Config,
            section: section.to_string(),
        });
    let mut half = None;
    let found: Vec<(Place, Credentials)> = in_credentials
        .chain(in_config)
        .filter_map(|place| {
            let doc = match place.which {
                Which::Credentials => &files.credentials,
                Which::Config => &files.config,
            };
            let id = doc.get(&place.section, "aws_access_key_id").is_some();
            let secret = doc.get(&place.section, "aws_secret_access_key").is_some();
            if id != secret {
                half = Some(place.clone());
            }
            plaintext_keys(doc, &place.section).map(|keys| (place, keys))
        })
        .collect();
    let (_, keys) = found.first()?.clone();
    if let Some(place) = half {
        // The AWS CLI would read a pair made of this half and another section's.
        return Some(Err(format!(
            "[{}] of the {} file holds half a key pair",
            place.section,
            if place.which == Which::Config {
                "config"
            } else {
                "credentials"
            }
        )));
    }
    let plain = Plain {
        name: name.to_string(),
        places: found.iter().map(|(p, _)| p.clone()).collect(),
        keys: keys.clone(),
    };
    let same = found
        .iter()
        .all(|(_, k)| k.access_key_id == keys.access_key_id && k.secret() == keys.secret());
    Some(if same {
        Ok(plain)
    } else {
        Err(format!(
            "{} hold different keys; keep one pair and import again",
            plain.describe(files)
        ))
    })
}

/// Role profiles the AWS CLI assumes with each profile's credentials (`source_profile =
/// PROFILE`, not the role itself), found in one pass over the files.
fn roles_by_source(files: &AwsFiles) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for name in files.profile_names() {
        if let Some(p) = files.profile(&name)
            && p.has("role_arn")
            && let Some(source) = p.get("source_profile")
            && source != name
        {
            out.entry(source.to_string()).or_default().push(name);
        }
    }
    out
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

pub fn import(ctx: &Context, opts: &ImportOpts) -> Result<(), Error> {
    let backend = Backend::choose(opts.backend.as_deref(), &ctx.env)?;
    if backend == Backend::Plaintext {
        return Err(Error::new(
            Exit::Usage,
            "import moves keys out of the AWS files: choose --backend file or keyring",
        ));
    }
    if opts.from == Some(ImportFrom::AwsVault) {
        return super::import_aws_vault::import(ctx, &opts.names, backend);
    }
    let files = load_files(ctx)?;
    let aws_mfa = opts.from == Some(ImportFrom::AwsMfa);
    let has_long_term = |name: &str| {
        files
            .credentials
            .get(&format!("{name}-long-term"), "aws_access_key_id")
            .is_some()
    };
    let mut candidates = Vec::new();
    if opts.names.is_empty() {
        let mut seen = std::collections::HashSet::new();
        let names = files
            .credentials
            .section_names()
            .into_iter()
            .map(|s| s.strip_suffix("-long-term").unwrap_or(s).to_string())
            .chain(files.config.named_sections("profile").map(String::from))
            .filter(|n| n != crate::config::DEFAULT_SECTION);
        for name in names {
            if seen.insert(name.clone())
                && (!aws_mfa || has_long_term(&name))
                && let Some(p) = find_plain(&files, &name)
            {
                candidates.push((name, p));
            }
        }
    } else {
        for name in &opts.names {
            check_section_name(name, "profile")?;
            if aws_mfa && !has_long_term(name) {
                return Err(Error::new(
                    Exit::Config,
                    format!(
                        "no [{name}-long-term] section with keys in {}; nothing imported",
                        files.credentials_path.display()
                    ),
                )
                .with_hint(format!(
                    "`awsmfa import {name}` takes them from [{name}] or its config section"
                )));
            }
            match find_plain(&files, name) {
                Some(p) => candidates.push((name.clone(), p)),
                None => {
                    return Err(Error::new(
                        Exit::Config,
                        format!(
                            "no long-term keys for profile {name:?} in [{name}-long-term] or [{name}] of {} or in its section of {}",
                            files.credentials_path.display(),
                            files.config_path.display()
                        ),
                    ));
                }
            }
        }
    }
    // What cannot be moved stays where it is: different keys in two places, keys not of
    // the shape of keys (a value with continuation lines), a role that is its own
    // source (the AWS CLI cannot assume it without its keys there). Named profiles fail
    // whole, before anything changes; with no names the rest is imported.
    let roles = roles_by_source(&files);
    let command = self_command(ctx);
    let needs_process = |cli: &str| {
        roles.contains_key(cli)
            && !files
                .profile(cli)
                .is_some_and(|prof| prof.has("credential_process"))
    };
    let mut found = Vec::new();
    for (name, candidate) in candidates {
        let why = match candidate {
            Err(why) => why,
            Ok(p) => {
                let self_sourced = p.cli_profiles().iter().any(|cli| {
                    files.profile(cli).is_some_and(|prof| {
                        prof.has("role_arn") && prof.get("source_profile") == Some(cli)
                    })
                });
                // Roles assumed with these keys will get them from awsmfa: the
                // credential_process line is tried on the config as read.
                let unservable = p.cli_profiles().into_iter().find_map(|cli| {
                    if !needs_process(cli) {
                        return None;
                    }
                    let line = process_line(&command, &p.name);
                    output::try_edit(&files.config, |d| {
                        output::save_edit(d, cli, "credential_process", &line)
                    })
                    .err()
                    .map(|e| (cli, e))
                });
                match p.keys.problem() {
                    Some(problem) => format!("in {}, {problem}", p.describe(&files)),
                    None if let Some((cli, e)) = &unservable => format!(
                        "roles use {cli:?} as source_profile, and the credential_process that would keep them working cannot be written: {e}"
                    ),
                    None if self_sourced => format!(
                        "{} is a role whose source_profile is itself, which the AWS CLI cannot assume without its keys there",
                        p.describe(&files)
                    ),
                    None => {
                        found.push(p);
                        continue;
                    }
                }
            }
        };
        let message = format!("left the keys of profile {name:?} where they are: {why}");
        if !opts.names.is_empty() {
            return Err(Error::new(
                Exit::Config,
                format!("{message}; nothing imported"),
            ));
        }
        ctx.warn(&message);
    }
    if found.is_empty() {
        ctx.say(&format!(
            "nothing to import: {} and {} hold no long-term keys to move",
            files.credentials_path.display(),
            files.config_path.display()
        ));
        return Ok(());
    }
    let vault = open_vault_to_store(ctx)?;
    let mut moved = Vec::new();
    let mut failed = None;
    for p in &found {
        let existing = files.vault.get(vault::Kind::Keys, &p.name)?;
        let result = match existing {
            Some(meta)
                if meta.fingerprint.as_deref() == Some(&key_fingerprint(&p.keys.access_key_id)) =>
            {
                // Already there: check the vault's copy before dropping the file's.
                vault.read_keys(&meta).and_then(|k| {
                    if k.secret() == p.keys.secret() {
                        Ok(meta)
                    } else {
                        Err(vault::VaultError::Other(format!(
                            "the vault holds a different secret for {}",
                            mask(&p.keys.access_key_id)
                        )))
                    }
                })
            }
            Some(meta) => Err(vault::VaultError::Other(format!(
                "profile {:?} already has other keys in the vault ({}); awsmfa remove {} first",
                p.name,
                meta.key_id.as_deref().unwrap_or("?"),
                p.name
            ))),
            None => vault.store_keys(&p.name, backend, &p.keys, None),
        };
        match result {
            Ok(_) => moved.push(p),
            Err(e) => {
                failed = Some(Error::from(e));
                break;
            }
        }
    }
    // Roles the AWS CLI assumes with keys about to leave the files get them from
    // awsmfa instead: `credential_process` in the source profile, written (in one edit)
    // before the keys go (while they are there, they win over it).
    let mut served: Vec<(&str, String)> = Vec::new();
    for p in &moved {
        for cli in p.cli_profiles() {
            if needs_process(cli) && !served.iter().any(|(c, _)| *c == cli) {
                served.push((cli, process_line(&command, &p.name)));
            }
        }
    }
    if !served.is_empty() {
        output::edit_file(&files.config_path, |doc| {
            for (cli, line) in &served {
                output::save_edit(doc, cli, "credential_process", line)?;
            }
            Ok(())
        })?;
    }
    // One edit per file: only sections that still hold the same keys lose them.
    let mut kept_back = Vec::new();
    for (which, path) in [
        (Which::Credentials, &files.credentials_path),
        (Which::Config, &files.config_path),
    ] {
        let here: Vec<(&Plain, &Place)> = moved
            .iter()
            .flat_map(|p| p.places.iter().map(move |place| (*p, place)))
            .filter(|(_, place)| place.which == which)
            .collect();
        if here.is_empty() {
            continue;
        }
        output::edit_file(path, |doc| {
            for (p, place) in &here {
                let section = &place.section;
                let same = doc.get(section, "aws_access_key_id").as_deref()
                    == Some(p.keys.access_key_id.as_str())
                    && doc.get(section, "aws_secret_access_key").as_deref()
                        == Some(p.keys.secret());
                if !same {
                    kept_back.push((p.name.clone(), (*place).clone()));
                    continue;
                }
                doc.remove_key(section, "aws_access_key_id");
                doc.remove_key(section, "aws_secret_access_key");
                doc.remove_section_if_empty(section);
            }
            Ok::<(), WriteError>(())
        })?;
    }
    for p in &moved {
        let left: Vec<&Place> = kept_back
            .iter()
            .filter(|(n, _)| *n == p.name)
            .map(|(_, place)| place)
            .collect();
        ctx.say(&format!(
            "moved the keys of profile {:?} ({}) from {} into {}",
            p.name,
            mask(&p.keys.access_key_id),
            p.describe(&files),
            backend.describe()
        ));
        for place in left {
            ctx.warn(&format!(
                "[{}] changed while importing and was left as it is now",
                place.section
            ));
        }
    }
    for (cli, value) in &served {
        ctx.say(&format!(
            "set credential_process = {value} in [{}] of {}, so the AWS CLI still assumes {} with {cli:?}'s credentials (an MFA session from awsmfa)",
            files.config_section_of(cli),
            files.config_path.display(),
            roles[*cli]
                .iter()
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let in_profile = moved.iter().find(|p| {
        p.places
            .iter()
            .any(|pl| pl.which == Which::Credentials && pl.section == p.name)
    });
    if let Some(p) = in_profile {
        ctx.hint(&format!(
            "`awsmfa login -p {0}` now writes into [{0}], not [{0}-mfa]",
            p.name
        ));
    } else {
        ctx.hint("awsmfa login -p NAME writes the session into [NAME], as before");
    }
    Ok(())
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
