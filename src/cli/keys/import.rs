//! `awsmfa import`: plaintext long-term keys out of the AWS files (or aws-mfa's
//! `[NAME-long-term]`) into the vault; `--from aws-vault` is [`super::import_aws_vault`].
//! Roles that take the keys as `source_profile` get a `credential_process` line first.

use clap::Args;

use super::import_aws_vault;
use super::shared::{process_line, self_command};
use crate::cli::setup::{load_files, open_vault_to_store};
use crate::cli::{Context, check_section_name};
use crate::config::{AwsFiles, Which};
use crate::creds::{Credentials, key_fingerprint, mask};
use crate::error::{Error, Exit};
use crate::output::{self, WriteError};
use crate::vault::{self, Backend};

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

pub fn import(ctx: &Context, opts: &ImportOpts) -> Result<(), Error> {
    let backend = Backend::choose(opts.backend.as_deref(), &ctx.env)?;
    if backend == Backend::Plaintext {
        return Err(Error::new(
            Exit::Usage,
            "import moves keys out of the AWS files: choose --backend file or keyring",
        ));
    }
    if opts.from == Some(ImportFrom::AwsVault) {
        return import_aws_vault::import(ctx, &opts.names, backend);
    }
    let files = load_files(ctx)?;
    let candidates = candidates(&files, opts)?;
    let plan = Plan {
        files: &files,
        roles: roles_by_source(&files),
        command: self_command(ctx),
    };
    let found = movable(ctx, &plan, candidates, !opts.names.is_empty())?;
    if found.is_empty() {
        ctx.say(&format!(
            "nothing to import: {} and {} hold no long-term keys to move",
            files.credentials_path.display(),
            files.config_path.display()
        ));
        return Ok(());
    }
    let (moved, failed) = store_in_vault(ctx, &files, backend, &found)?;
    let served = serve_roles(&plan, &moved)?;
    let kept_back = remove_from_files(&files, &moved)?;
    report(
        ctx,
        &plan,
        backend,
        &Outcome {
            moved: &moved,
            kept_back: &kept_back,
            served: &served,
        },
    );
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

/// What the steps of `import` read: the files as loaded, the roles the AWS CLI assumes
/// with each profile's keys, and the command that runs this awsmfa.
struct Plan<'a> {
    files: &'a AwsFiles,
    roles: std::collections::HashMap<String, Vec<String>>,
    command: String,
}

impl Plan<'_> {
    /// Whether roles take their keys from AWS CLI profile `cli`, which has no
    /// `credential_process` of its own to give them once the keys are gone.
    fn needs_process(&self, cli: &str) -> bool {
        self.roles.contains_key(cli)
            && !self
                .files
                .profile(cli)
                .is_some_and(|prof| prof.has("credential_process"))
    }
}

/// A profile to import and its plaintext keys, or why they cannot be taken.
type Candidate = (String, Result<Plain, String>);

/// The profiles to import: the names given, each of which must have keys, else every
/// profile that has some.
fn candidates(files: &AwsFiles, opts: &ImportOpts) -> Result<Vec<Candidate>, Error> {
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
                && let Some(p) = find_plain(files, &name)
            {
                candidates.push((name, p));
            }
        }
        return Ok(candidates);
    }
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
        match find_plain(files, name) {
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
    Ok(candidates)
}

/// What cannot be moved stays where it is: different keys in two places, keys not of
/// the shape of keys (a value with continuation lines), a role that is its own source
/// (the AWS CLI cannot assume it without its keys there). Named profiles fail whole,
/// before anything changes; with no names the rest is imported.
fn movable(
    ctx: &Context,
    plan: &Plan,
    candidates: Vec<Candidate>,
    named: bool,
) -> Result<Vec<Plain>, Error> {
    let mut found = Vec::new();
    for (name, candidate) in candidates {
        let why = match candidate {
            Err(why) => why,
            Ok(p) => match why_it_stays(plan, &p) {
                Some(why) => why,
                None => {
                    found.push(p);
                    continue;
                }
            },
        };
        let message = format!("left the keys of profile {name:?} where they are: {why}");
        if named {
            return Err(Error::new(
                Exit::Config,
                format!("{message}; nothing imported"),
            ));
        }
        ctx.warn(&message);
    }
    Ok(found)
}

/// Why keys found whole cannot move, if they cannot.
fn why_it_stays(plan: &Plan, p: &Plain) -> Option<String> {
    let files = plan.files;
    let self_sourced = p.cli_profiles().iter().any(|cli| {
        files
            .profile(cli)
            .is_some_and(|prof| prof.has("role_arn") && prof.get("source_profile") == Some(cli))
    });
    // Roles assumed with these keys will get them from awsmfa: the
    // credential_process line is tried on the config as read.
    let unservable = p.cli_profiles().into_iter().find_map(|cli| {
        if !plan.needs_process(cli) {
            return None;
        }
        let line = process_line(&plan.command, &p.name);
        output::try_edit(&files.config, |d| {
            output::save_edit(d, cli, "credential_process", &line)
        })
        .err()
        .map(|e| (cli, e))
    });
    match p.keys.problem() {
        Some(problem) => Some(format!("in {}, {problem}", p.describe(files))),
        None if let Some((cli, e)) = &unservable => Some(format!(
            "roles use {cli:?} as source_profile, and the credential_process that would keep them working cannot be written: {e}"
        )),
        None if self_sourced => Some(format!(
            "{} is a role whose source_profile is itself, which the AWS CLI cannot assume without its keys there",
            p.describe(files)
        )),
        None => None,
    }
}

/// Stores each profile's keys in the vault (or checks the copy already there), in
/// order, up to the first failure: the keys stored, and that failure.
fn store_in_vault<'p>(
    ctx: &Context,
    files: &AwsFiles,
    backend: Backend,
    found: &'p [Plain],
) -> Result<(Vec<&'p Plain>, Option<Error>), Error> {
    let vault = open_vault_to_store(ctx)?;
    let mut moved = Vec::new();
    for p in found {
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
            Err(e) => return Ok((moved, Some(Error::from(e)))),
        }
    }
    Ok((moved, None))
}

/// Roles the AWS CLI assumes with keys about to leave the files get them from awsmfa
/// instead: `credential_process` in the source profile, written (in one edit) before
/// the keys go (while they are there, they win over it). The lines written, by profile.
fn serve_roles<'p>(plan: &Plan, moved: &[&'p Plain]) -> Result<Vec<(&'p str, String)>, Error> {
    let mut served: Vec<(&str, String)> = Vec::new();
    for p in moved {
        for cli in p.cli_profiles() {
            if plan.needs_process(cli) && !served.iter().any(|(c, _)| *c == cli) {
                served.push((cli, process_line(&plan.command, &p.name)));
            }
        }
    }
    if !served.is_empty() {
        output::edit_file(&plan.files.config_path, |doc| {
            for (cli, line) in &served {
                output::save_edit(doc, cli, "credential_process", line)?;
            }
            Ok(())
        })?;
    }
    Ok(served)
}

/// Deletes the moved keys from the files, one edit per file: only sections that still
/// hold the same keys lose them. The sections that changed meanwhile, by profile.
fn remove_from_files(files: &AwsFiles, moved: &[&Plain]) -> Result<Vec<(String, Place)>, Error> {
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
    Ok(kept_back)
}

/// What an import did, for its report.
struct Outcome<'a> {
    moved: &'a [&'a Plain],
    /// Sections that changed while importing and kept their keys, by profile.
    kept_back: &'a [(String, Place)],
    /// The `credential_process` lines written, by profile.
    served: &'a [(&'a str, String)],
}

/// Says what moved where, which sections were left as they are now, and which roles
/// now get their keys through `credential_process`.
fn report(ctx: &Context, plan: &Plan, backend: Backend, done: &Outcome) {
    let files = plan.files;
    for p in done.moved {
        let left: Vec<&Place> = done
            .kept_back
            .iter()
            .filter(|(n, _)| *n == p.name)
            .map(|(_, place)| place)
            .collect();
        ctx.say(&format!(
            "moved the keys of profile {:?} ({}) from {} into {}",
            p.name,
            mask(&p.keys.access_key_id),
            p.describe(files),
            backend.describe()
        ));
        for place in left {
            ctx.warn(&format!(
                "[{}] changed while importing and was left as it is now",
                place.section
            ));
        }
    }
    for (cli, value) in done.served {
        ctx.say(&format!(
            "set credential_process = {value} in [{}] of {}, so the AWS CLI still assumes {} with {cli:?}'s credentials (an MFA session from awsmfa)",
            files.config_section_of(cli),
            files.config_path.display(),
            plan.roles[*cli]
                .iter()
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}
