//! `awsmfa import --from aws-vault`: long-term keys out of aws-vault, through its own CLI.
//!
//! aws-vault keeps keys in a store awsmfa does not read (Keychain, Credential Manager,
//! Secret Service, pass, its encrypted files). Its documented interface hands them over on
//! every OS and backend (the contract of aws-vault v7.2.0): `aws-vault list --credentials`
//! prints the stored credential names one a line, and `aws-vault export --no-session
//! --format=json NAME` prints `{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …}`.
//!
//! aws-vault runs with no way to ask anything (standard input from the null device, no
//! controlling terminal, a time limit), with `AWS_CONFIG_FILE` pointing at an empty private
//! file, so that it reads no profile settings: with none, `export --no-session` can only
//! hand over the stored keys (no role assumed, no MFA asked, no `credential_process` run).
//!
//! Per profile, all or nothing: the keys are exported, checked with GetCallerIdentity and
//! the config lines that run aws-vault for it are tried on the config as read before
//! anything is stored; then the keys are stored and every line rewritten in one edit of the
//! config (and, should that edit fail, the keys just stored are removed again). Named
//! profiles are all moved or none. aws-vault's own copy is never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::time::Duration;

use super::shared::{process_line, quote_word, self_command, sts_client};
use crate::cli::Context;
use crate::cli::setup::{Setup, load_files, open_vault_to_store};
use crate::config::AwsFiles;
use crate::config::profile::{self, KeysFrom, KeysSource};
use crate::creds::{Credentials, key_fingerprint, mask};
use crate::error::{Error, Exit};
use crate::output::{self, WriteError};
use crate::proc::{Finished, RunError};
use crate::sts::Sts;
use crate::vault::{self, Backend};

/// The aws-vault version whose command-line interface this follows.
pub const AWS_VAULT_VERSION: &str = "v7.2.0";

/// A config value that runs aws-vault to get credentials, as aws-vault v7.2.0 reads
/// its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultLine {
    /// The profile aws-vault was asked for.
    pub profile: String,
    pub no_session: bool,
    pub duration: Option<String>,
    pub region: Option<String>,
    /// aws-vault's own flags that mean nothing to awsmfa (`--backend=file`).
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    NotAwsVault,
    Vault(VaultLine),
    /// Runs aws-vault, but not in a form that can be carried over: why.
    Unusable(String),
}

/// Whether a program word is aws-vault (`aws-vault`, `/usr/local/bin/aws-vault`,
/// `C:\…\aws-vault.exe`).
fn is_aws_vault(word: &str) -> bool {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    base == "aws-vault" || base.eq_ignore_ascii_case("aws-vault.exe")
}

/// Whether a `credential_process` value runs aws-vault at all.
pub fn runs_aws_vault(value: &str) -> bool {
    !matches!(parse_line(value), Parsed::NotAwsVault)
}

/// aws-vault's global flags that take a value.
const GLOBAL_VALUE: [&str; 8] = [
    "--backend",
    "--prompt",
    "--keychain",
    "--secret-service-collection",
    "--pass-dir",
    "--pass-cmd",
    "--pass-prefix",
    "--file-dir",
];

/// Reads a `credential_process` value as aws-vault v7.2.0 (kingpin) reads its arguments:
/// global flags anywhere, `--flag=value` or `--flag value`, `-d value` or `-dvalue`,
/// `--` ending the flags.
pub fn parse_line(value: &str) -> Parsed {
    let Some(words) = crate::shlex::split(value) else {
        // botocore cannot split it either; only say it runs aws-vault if it plainly does.
        return if value.split_whitespace().next().is_some_and(is_aws_vault) {
            Parsed::Unusable("its quoting does not parse".into())
        } else {
            Parsed::NotAwsVault
        };
    };
    let Some((program, args)) = words.split_first() else {
        return Parsed::NotAwsVault;
    };
    if !is_aws_vault(program) {
        return Parsed::NotAwsVault;
    }
    let mut command: Option<&str> = None;
    let mut positionals: Vec<&str> = Vec::new();
    let mut line = VaultLine {
        profile: String::new(),
        no_session: false,
        duration: None,
        region: None,
        dropped: Vec::new(),
    };
    let mut json = false;
    let mut format: Option<String> = None;
    let mut flags_done = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if flags_done || !arg.starts_with('-') || arg == "-" {
            if command.is_none() {
                command = Some(arg);
            } else {
                positionals.push(arg);
            }
            continue;
        }
        if arg == "--" {
            flags_done = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ if !arg.starts_with("--") && arg.len() > 2 => (&arg[..2], Some(arg[2..].to_string())),
            _ => (arg, None),
        };
        let takes_value = GLOBAL_VALUE.contains(&name)
            || matches!(
                (command, name),
                (
                    Some("export" | "exec"),
                    "--duration" | "-d" | "--region" | "--mfa-token" | "-t"
                ) | (Some("export"), "--format")
            );
        let value = if takes_value {
            match inline {
                Some(v) => Some(v),
                None if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => return Parsed::Unusable(format!("{name} has no value")),
            }
        } else if inline.is_some() {
            return Parsed::Unusable(format!(
                "{arg} is not a flag aws-vault {AWS_VAULT_VERSION} takes"
            ));
        } else {
            None
        };
        match (command, name) {
            (_, n) if GLOBAL_VALUE.contains(&n) => line
                .dropped
                .push(format!("{n}={}", value.unwrap_or_default())),
            (_, "--debug") => line.dropped.push("--debug".into()),
            (Some("export" | "exec"), "--no-session" | "-n") => line.no_session = true,
            (Some("export" | "exec"), "--duration" | "-d") => line.duration = value,
            (Some("export" | "exec"), "--region") => line.region = value,
            (Some("export" | "exec"), "--mfa-token" | "-t") => {
                return Parsed::Unusable(
                    "it passes a fixed MFA code (--mfa-token), which works only once".into(),
                );
            }
            (Some("export" | "exec"), "--stdout") => {}
            (Some("export"), "--format") => format = value,
            (Some("exec"), "--json" | "-j") => json = true,
            (Some("exec"), "--server" | "-s" | "--ec2-server" | "--ecs-server" | "--lazy") => {
                return Parsed::Unusable(format!(
                    "it starts aws-vault's credential server ({name})"
                ));
            }
            _ => {
                return Parsed::Unusable(format!(
                    "{name} is not a flag aws-vault {AWS_VAULT_VERSION} takes there"
                ));
            }
        }
    }
    if let Some(why) = why_no_json(command, format.as_deref(), json) {
        return Parsed::Unusable(why);
    }
    match positionals.as_slice() {
        [profile] => {
            line.profile = profile.to_string();
            Parsed::Vault(line)
        }
        [] => Parsed::Unusable("it names no profile".into()),
        _ => Parsed::Unusable("it has words after the profile".into()),
    }
}

/// Why an aws-vault command line does not print credential_process JSON, if it does not:
/// only `export --format=json` and `exec --json` do.
fn why_no_json(command: Option<&str>, format: Option<&str>, json: bool) -> Option<String> {
    match command {
        Some("export") => match format {
            Some("json") => None,
            Some(other) => Some(format!(
                "it exports --format={other}, not the JSON credential_process needs"
            )),
            None => Some(
                "it exports environment lines (no --format=json), not the JSON credential_process needs".into(),
            ),
        },
        Some("exec") if json => None,
        Some("exec") => Some(
            "it runs a command (exec without --json), not credential_process JSON".into(),
        ),
        Some(other) => Some(format!(
            "aws-vault {other} prints no credential_process JSON"
        )),
        None => Some("it names no aws-vault command".into()),
    }
}

/// What replaces a line: the awsmfa command, and what of the old one did not carry over.
fn replacement(command: &str, line: &VaultLine) -> Result<(String, Vec<String>), String> {
    let mut value = process_line(command, &line.profile);
    let mut notes = Vec::new();
    if let Some(region) = &line.region {
        if !crate::config::shape::valid_region(region) {
            return Err(format!("its --region {region:?} is not a region"));
        }
        value.push_str(&format!(" --region {}", quote_word(region)));
    }
    if line.no_session {
        notes.push(
            "--no-session handed out the long-term keys themselves; awsmfa process serves an MFA session of them".to_string(),
        );
    }
    if let Some(d) = &line.duration {
        notes.push(format!(
            "--duration {d} is not carried over: awsmfa's MFA session lasts 12 h, a role's its duration_seconds"
        ));
    }
    if !line.dropped.is_empty() {
        notes.push(format!(
            "aws-vault's own {} dropped",
            line.dropped.join(" ")
        ));
    }
    Ok((value, notes))
}

/// aws-vault, run with no way to ask and no profile settings to read.
struct AwsVault {
    timeout: Duration,
    /// The empty config file aws-vault is pointed at (removed on drop).
    empty_config: tempfile::NamedTempFile,
}

/// How long one aws-vault call may take: `AWSMFA_AWS_VAULT_TIMEOUT`, else 60 s (enough to
/// answer an OS dialog that unlocks a keychain).
fn timeout(ctx: &Context) -> Result<Duration, Error> {
    crate::cli::setup::timeout_var(ctx, "AWSMFA_AWS_VAULT_TIMEOUT", 60)
}

/// The last line aws-vault wrote on standard error, cleaned and shortened.
fn last_words(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    // A prompt aws-vault wrote without a line break ends up in front of its error.
    let line = match line.rfind("aws-vault: error: ") {
        Some(at) => &line[at + "aws-vault: error: ".len()..],
        None => line,
    };
    line.chars().take(200).collect()
}

impl AwsVault {
    fn new(ctx: &Context) -> Result<AwsVault, Error> {
        let empty_config = tempfile::Builder::new()
            .prefix("awsmfa-aws-vault-config")
            .tempfile()
            .map_err(|e| {
                Error::new(
                    Exit::Failure,
                    format!("creating an empty config for aws-vault: {e}"),
                )
            })?;
        Ok(AwsVault {
            timeout: timeout(ctx)?,
            empty_config,
        })
    }

    /// Runs `aws-vault ARGS`; a failure is one line saying what aws-vault said.
    fn run(&self, ctx: &Context, args: &[&str], doing: &str) -> Result<Finished, Error> {
        let mut argv = vec!["aws-vault"];
        argv.extend_from_slice(args);
        ctx.debug(1, &format!("running {}", argv.join(" ")));
        let config = self.empty_config.path().as_os_str();
        // `AWS_VAULT` marks an aws-vault subshell, where export refuses ("unset AWS_VAULT
        // to force"): keys read from the store make no nested session. The role
        // variables would make export assume a role instead of handing over the keys.
        let mut env: Vec<(&str, Option<&OsStr>)> = vec![("AWS_CONFIG_FILE", Some(config))];
        for name in [
            "AWS_VAULT",
            "AWS_ROLE_ARN",
            "AWS_ROLE_SESSION_NAME",
            "AWS_SESSION_TAGS",
            "AWS_TRANSITIVE_TAGS",
            "AWS_SOURCE_IDENTITY",
            "AWS_MFA_SERIAL",
        ] {
            env.push((name, None));
        }
        if ctx.env.is_set("AWS_VAULT") {
            ctx.debug(
                1,
                "inside an aws-vault subshell (AWS_VAULT is set): aws-vault is run without it",
            );
        }
        let finished =
            crate::proc::run_detached(&argv, &env, self.timeout).map_err(|e| match e {
                RunError::Spawn(why) => Error::new(
                    Exit::Failure,
                    format!("cannot run aws-vault to {doing}: {why}; nothing imported"),
                )
                .with_hint("put aws-vault on PATH and run `awsmfa import --from aws-vault` again"),
                RunError::Timeout(secs) => Error::new(
                    Exit::NoPrompt,
                    format!("aws-vault did not answer within {secs} s to {doing}: store locked?"),
                )
                .with_hint(
                    "unlock aws-vault's store first, or set AWSMFA_AWS_VAULT_TIMEOUT higher",
                ),
                RunError::Failed(why) => {
                    Error::new(Exit::Failure, format!("aws-vault failed to {doing}: {why}"))
                }
            })?;
        if finished.code == Some(0) {
            return Ok(finished);
        }
        let said = last_words(&finished.stderr);
        let status = match finished.code {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".into(),
        };
        let prompt = [
            "passphrase",
            "inappropriate ioctl",
            "/dev/tty",
            "password",
            "terminal",
        ]
        .iter()
        .any(|w| said.to_ascii_lowercase().contains(w));
        let mut err = Error::new(
            if prompt {
                Exit::NoPrompt
            } else {
                Exit::Failure
            },
            format!(
                "aws-vault could not {doing} ({status}): {}",
                if said.is_empty() {
                    "it said nothing"
                } else {
                    &said
                }
            ),
        );
        if prompt {
            err = err
                .with_hint("set AWS_VAULT_FILE_PASSPHRASE (its file backend), or unlock its store");
        }
        Err(err)
    }

    fn list(&self, ctx: &Context) -> Result<Vec<String>, Error> {
        let out = self.run(ctx, &["list", "--credentials"], "list its credentials")?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect())
    }

    fn export(&self, ctx: &Context, name: &str) -> Result<Credentials, Error> {
        let out = self.run(
            ctx,
            &["export", "--no-session", "--format=json", name],
            &format!("export {name:?}"),
        )?;
        let keys = crate::creds::from_credential_process_json(&out.stdout).map_err(|why| {
            Error::new(
                Exit::Failure,
                format!("aws-vault's export of {name:?}: {why}"),
            )
        })?;
        if keys.session_token.is_some() || keys.access_key_id.starts_with("ASIA") {
            return Err(Error::new(
                Exit::Failure,
                format!(
                    "aws-vault exported session credentials for {name:?}, not its long-term keys"
                ),
            ));
        }
        Ok(keys)
    }
}

/// One credential name and what became of it.
struct Candidate {
    name: String,
    keys: Credentials,
    arn: String,
    /// The awsmfa vault already holds exactly these keys.
    already: bool,
}

/// A config line to rewrite: the profile whose section holds it, the new value, notes.
struct Rewrite {
    holder: String,
    old: String,
    new: String,
    target: String,
    notes: Vec<String>,
}

/// Every `credential_process` of the config that runs aws-vault: holder profile → parse.
fn vault_lines(files: &AwsFiles) -> Vec<(String, String, Parsed)> {
    let mut out = Vec::new();
    for holder in files.config.named_sections("profile") {
        let section = files.config_section_of(holder);
        if let Some(value) = files.config.get(&section, "credential_process") {
            let parsed = parse_line(&value);
            if parsed != Parsed::NotAwsVault {
                out.push((holder.to_string(), value, parsed));
            }
        }
    }
    out
}

/// aws-vault's settings that awsmfa does not read, on the profiles an import touches.
fn ignored_settings(files: &AwsFiles, profiles: &BTreeSet<String>) -> Vec<String> {
    const AWS_VAULT_ONLY: [(&str, &str); 5] = [
        (
            "include_profile",
            "aws-vault's include_profile; copy the settings it included into this section",
        ),
        (
            "parent_profile",
            "aws-vault v4's name for include_profile; copy the settings it included into this section",
        ),
        ("session_tags", "session tags are not sent by awsmfa"),
        (
            "transitive_session_tags",
            "session tags are not sent by awsmfa",
        ),
        ("source_identity", "a source identity is not sent by awsmfa"),
    ];
    let mut out = Vec::new();
    let default = files.profile(crate::config::DEFAULT_SECTION);
    for name in profiles {
        let Some(p) = files.profile(name) else {
            continue;
        };
        let section = files.config_section_of(name);
        for (key, why) in AWS_VAULT_ONLY {
            if p.has(key) {
                out.push(format!(
                    "[{section}] sets {key}, which awsmfa ignores: {why}"
                ));
            }
        }
        // aws-vault lays [default] under every profile that includes no other; the AWS
        // CLI and awsmfa do not.
        if name != crate::config::DEFAULT_SECTION
            && !p.has("include_profile")
            && let Some(d) = &default
        {
            for key in ["mfa_serial", "mfa_process", "region"] {
                if let Some(v) = d.get(key)
                    && !p.has(key)
                {
                    out.push(format!(
                        "aws-vault gave [{section}] the {key} of [default] ({v}); awsmfa and the AWS CLI do not: add {key} = {v} to [{section}]"
                    ));
                }
            }
        }
    }
    out
}

pub fn import(ctx: &Context, names: &[String], backend: Backend) -> Result<(), Error> {
    for name in names {
        crate::cli::check_section_name(name, "profile")?;
    }
    let files = load_files(ctx)?;
    let tool = AwsVault::new(ctx)?;
    let Some(chosen) = chosen(ctx, &tool, names)? else {
        return Ok(());
    };
    let mut failures: Vec<(String, Error)> = Vec::new();
    // Names that are not profile names stay behind.
    let chosen: Vec<String> = chosen
        .into_iter()
        .filter(|n| match crate::cli::check_section_name(n, "credential") {
            Ok(()) => true,
            Err(e) => {
                failures.push((n.clone(), e));
                false
            }
        })
        .collect();
    // The vault is opened (its passphrase asked) before aws-vault is asked for keys.
    let run = Run {
        ctx,
        files: &files,
        vault: open_vault_to_store(ctx)?,
        backend,
        all_or_nothing: !names.is_empty(),
    };
    let command = self_command(ctx);
    let mut ready: Vec<Candidate> = Vec::new();
    for name in &chosen {
        match run.export_and_check(&tool, name) {
            Ok(c) => ready.push(c),
            Err(e) => failures.push((name.clone(), e)),
        }
    }
    let (rewrites, left_lines) = plan_rewrites(&files, &command, &ready, &chosen);
    run.drop_unwritable(&rewrites, &mut ready, &mut failures)?;
    let (moved, store_failures) = run.store_and_rewrite(&ready, &rewrites)?;
    run.report_moved(&moved, &rewrites);
    for (name, e) in &store_failures {
        ctx.warn(&format!(
            "left {name:?} in aws-vault: storing failed: {}",
            e.message
        ));
    }
    for line in &left_lines {
        ctx.warn(line);
    }
    for line in ignored_settings(&files, &touched(&files, &moved, &rewrites)) {
        ctx.warn(&line);
    }
    finish(ctx, &failures, &store_failures, &moved)
}

/// The credentials to import: the names given, each of which aws-vault must hold, else
/// all it holds; None when it holds none (said).
fn chosen(ctx: &Context, tool: &AwsVault, names: &[String]) -> Result<Option<Vec<String>>, Error> {
    let stored = tool.list(ctx)?;
    if names.is_empty() {
        if stored.is_empty() {
            ctx.say("aws-vault holds no credentials (aws-vault list --credentials printed none): nothing to import");
            return Ok(None);
        }
        return Ok(Some(stored));
    }
    let missing: Vec<&String> = names.iter().filter(|n| !stored.contains(n)).collect();
    if let Some(first) = missing.first() {
        return Err(Error::new(
            Exit::Config,
            format!(
                "aws-vault holds no credentials named {first:?} (it holds: {}); nothing imported",
                if stored.is_empty() {
                    "none".to_string()
                } else {
                    stored.join(", ")
                }
            ),
        ));
    }
    Ok(Some(names.to_vec()))
}

/// Credentials that could not be moved, by name, with why.
type Failures = Vec<(String, Error)>;

/// The config lines to rewrite, by the profile whose keys they run aws-vault for.
type Rewrites = BTreeMap<String, Vec<Rewrite>>;

/// What the steps of an import share: the files as read, awsmfa's vault and the backend
/// the keys go to, and whether named profiles move all or none.
struct Run<'a> {
    ctx: &'a Context,
    files: &'a AwsFiles,
    vault: vault::Vault<'a>,
    backend: Backend,
    all_or_nothing: bool,
}

impl Run<'_> {
    /// Exports one credential from aws-vault, compares it with what awsmfa's vault
    /// already holds under the name, and checks it with GetCallerIdentity.
    fn export_and_check(&self, tool: &AwsVault, name: &str) -> Result<Candidate, Error> {
        let ctx = self.ctx;
        let existing = self.files.vault.get(vault::Kind::Keys, name)?;
        let keys = tool.export(ctx, name)?;
        let already = match &existing {
            Some(meta)
                if meta.fingerprint.as_deref() == Some(&key_fingerprint(&keys.access_key_id)) =>
            {
                if self.vault.read_keys(meta)?.secret() != keys.secret() {
                    return Err(Error::new(
                        Exit::Config,
                        format!(
                            "awsmfa's vault holds a different secret for {}",
                            mask(&keys.access_key_id)
                        ),
                    )
                    .with_hint(format!("awsmfa remove {name} first")));
                }
                true
            }
            Some(meta) => {
                return Err(Error::new(
                    Exit::Config,
                    format!(
                        "awsmfa's vault already holds other keys for it ({})",
                        meta.key_id.as_deref().unwrap_or("?")
                    ),
                )
                .with_hint(format!("awsmfa remove {name} first")));
            }
            None => false,
        };
        let source = KeysSource {
            profile: name.to_string(),
            keys: KeysFrom::Static(keys.clone()),
            origin: "aws-vault's export".into(),
            section: None,
        };
        let resolved = profile::with_keys(self.files, name, source);
        let setup = Setup::with(ctx, self.files.clone(), resolved)?;
        let sts = sts_client(ctx, &setup)?;
        let id = sts.get_caller_identity(&keys).map_err(|e| {
            Error::from(e).with_message_prefix("checking the keys with GetCallerIdentity: ")
        })?;
        Ok(Candidate {
            name: name.to_string(),
            keys,
            arn: id.arn,
            already,
        })
    }

    /// A profile whose lines cannot be written stays (with named profiles, nothing is
    /// imported); the failures so far are said.
    fn drop_unwritable(
        &self,
        rewrites: &Rewrites,
        ready: &mut Vec<Candidate>,
        failures: &mut Failures,
    ) -> Result<(), Error> {
        let files = self.files;
        ready.retain(|c| {
            let group: Vec<&Rewrite> = rewrites
                .get(&c.name)
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            match output::try_edit(&files.config, |d| edit_all(d, &group)) {
                Ok(_) => true,
                Err(e) => {
                    failures.push((
                        c.name.clone(),
                        Error::from(output::with_path(e, &files.config_path)).with_message_prefix(
                            "its credential_process line cannot be rewritten: ",
                        ),
                    ));
                    false
                }
            }
        });
        if self.all_or_nothing
            && let Some((name, e)) = failures.first()
        {
            return Err(Error {
                message: format!("{name:?}: {}; nothing imported", e.message),
                ..e.clone()
            });
        }
        for (name, e) in failures.iter() {
            self.ctx
                .warn(&format!("left {name:?} in aws-vault: {}", e.message));
            if let Some(h) = &e.hint {
                self.ctx.hint(h);
            }
        }
        Ok(())
    }

    /// Stores the keys, then rewrites the config in one edit; undoes the stores if that
    /// edit fails. The credentials moved, and those whose storing failed.
    fn store_and_rewrite<'c>(
        &self,
        ready: &'c [Candidate],
        rewrites: &Rewrites,
    ) -> Result<(Vec<&'c Candidate>, Failures), Error> {
        let mut stored_now: Vec<&Candidate> = Vec::new();
        let mut store_failures = Vec::new();
        for c in ready {
            if c.already {
                continue;
            }
            match self
                .vault
                .store_keys(&c.name, self.backend, &c.keys, Some(&c.arn))
            {
                Ok(_) => stored_now.push(c),
                Err(e) => store_failures.push((c.name.clone(), Error::from(e))),
            }
        }
        if !store_failures.is_empty() && self.all_or_nothing {
            undo(self.ctx, &self.vault, &stored_now);
            let (name, e) = store_failures.remove(0);
            return Err(Error {
                message: format!("storing {name:?}: {}; nothing imported", e.message),
                ..e
            });
        }
        let moved: Vec<&Candidate> = ready
            .iter()
            .filter(|c| !store_failures.iter().any(|(n, _)| *n == c.name))
            .collect();
        let group: Vec<&Rewrite> = moved
            .iter()
            .flat_map(|c| rewrites.get(&c.name).into_iter().flatten())
            .collect();
        if !group.is_empty()
            && let Err(e) = output::edit_file(&self.files.config_path, |d| edit_all(d, &group))
        {
            undo(self.ctx, &self.vault, &stored_now);
            return Err(Error::from(e).with_message_prefix(
                "rewriting the config's aws-vault lines failed, and the keys stored were removed again; nothing imported: ",
            ));
        }
        Ok((moved, store_failures))
    }

    /// Says what moved where and which config lines were rewritten.
    fn report_moved(&self, moved: &[&Candidate], rewrites: &Rewrites) {
        let (ctx, files) = (self.ctx, self.files);
        for c in moved {
            let how = if c.already {
                "already in awsmfa's vault, the same keys".to_string()
            } else {
                format!("moved into {}", self.backend.describe())
            };
            ctx.say(&format!(
                "{:?}: {} ({}, {}), checked with GetCallerIdentity",
                c.name,
                how,
                mask(&c.keys.access_key_id),
                c.arn
            ));
            for r in rewrites.get(&c.name).into_iter().flatten() {
                ctx.say(&format!(
                    "  rewrote credential_process in [{}] of {}: {} (was {})",
                    files.config_section_of(&r.holder),
                    files.config_path.display(),
                    r.new,
                    r.old
                ));
                for note in &r.notes {
                    ctx.say(&format!("    {note}"));
                }
                debug_assert_eq!(r.target, c.name);
            }
        }
    }
}

/// The config lines, per target profile, for the credentials `ready` to move; and why
/// each other line that runs aws-vault is left as it is.
fn plan_rewrites(
    files: &AwsFiles,
    command: &str,
    ready: &[Candidate],
    chosen: &[String],
) -> (Rewrites, Vec<String>) {
    let mut rewrites: Rewrites = BTreeMap::new();
    let mut left_lines: Vec<String> = Vec::new();
    for (holder, old, parsed) in &vault_lines(files) {
        let section = files.config_section_of(holder);
        match parsed {
            Parsed::Vault(line) if ready.iter().any(|c| c.name == line.profile) => {
                match replacement(command, line) {
                    Ok((new, notes)) => rewrites.entry(line.profile.clone()).or_default().push(Rewrite {
                        holder: holder.clone(),
                        old: old.clone(),
                        new,
                        target: line.profile.clone(),
                        notes,
                    }),
                    Err(why) => left_lines.push(format!(
                        "left credential_process in [{section}] as it is ({why}): it still runs aws-vault"
                    )),
                }
            }
            Parsed::Vault(line) if chosen.contains(&line.profile) => {}
            Parsed::Vault(line) => left_lines.push(format!(
                "left credential_process in [{section}] as it is: it runs aws-vault for {:?}, whose keys are not being imported",
                line.profile
            )),
            Parsed::Unusable(why) => left_lines.push(format!(
                "left credential_process in [{section}] as it is: it runs aws-vault, but {why}"
            )),
            Parsed::NotAwsVault => {}
        }
    }
    (rewrites, left_lines)
}

/// Writes the new `credential_process` lines of `group` into the config.
fn edit_all(doc: &mut crate::config::ini::Document, group: &[&Rewrite]) -> Result<(), WriteError> {
    for r in group {
        output::save_edit(doc, &r.holder, "credential_process", &r.new)?;
    }
    Ok(())
}

/// The profiles an import touched: those moved, those whose lines were rewritten, and
/// those that lean on a moved one (`source_profile`, `include_profile`, `parent_profile`).
fn touched(files: &AwsFiles, moved: &[&Candidate], rewrites: &Rewrites) -> BTreeSet<String> {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for c in moved {
        touched.insert(c.name.clone());
        for r in rewrites.get(&c.name).into_iter().flatten() {
            touched.insert(r.holder.clone());
        }
        for p in files.profile_names() {
            let leans_on = files.profile(&p).is_some_and(|prof| {
                ["source_profile", "include_profile", "parent_profile"]
                    .iter()
                    .any(|k| prof.get(k) == Some(&c.name))
            });
            if leans_on {
                touched.insert(p);
            }
        }
    }
    touched
}

/// The exit: an error saying how many stayed in aws-vault if any did; and the hint to
/// delete aws-vault's copies of those that moved.
fn finish(
    ctx: &Context,
    failures: &Failures,
    store_failures: &Failures,
    moved: &[&Candidate],
) -> Result<(), Error> {
    let left = failures.len() + store_failures.len();
    let remove_hint = if moved.is_empty() {
        None
    } else {
        Some(format!(
            "aws-vault keeps its copy; when satisfied, delete it there: {}",
            moved
                .iter()
                .map(|c| format!("aws-vault remove {}", quote_word(&c.name)))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    };
    if left > 0 {
        let mut err = Error::new(
            failures
                .first()
                .map(|(_, e)| e.exit)
                .unwrap_or(Exit::Failure),
            format!(
                "{left} of {} credential{} left in aws-vault (said above), {} moved",
                left + moved.len(),
                if left + moved.len() == 1 { "" } else { "s" },
                moved.len()
            ),
        );
        if let Some(h) = remove_hint {
            err = err.with_hint(h);
        }
        return Err(err);
    }
    if let Some(h) = remove_hint {
        ctx.hint(&h);
    }
    Ok(())
}

/// Removes entries stored by this run again (the config edit after them failed).
fn undo(ctx: &Context, vault: &vault::Vault<'_>, stored: &[&Candidate]) {
    for c in stored {
        if let Err(e) = vault.remove(vault::Kind::Keys, &c.name) {
            ctx.warn(&format!(
                "removing {:?} from awsmfa's vault again: {e}",
                c.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(profile: &str) -> VaultLine {
        VaultLine {
            profile: profile.into(),
            no_session: false,
            duration: None,
            region: None,
            dropped: vec![],
        }
    }

    #[test]
    fn reads_the_lines_aws_vault_documents() {
        // aws-vault's USAGE.md and seed 003.
        assert_eq!(
            parse_line("aws-vault export --format=json jonsmith"),
            Parsed::Vault(vault("jonsmith"))
        );
        assert_eq!(
            parse_line("aws-vault exec --no-session --json caktus"),
            Parsed::Vault(VaultLine {
                no_session: true,
                ..vault("caktus")
            })
        );
        assert_eq!(
            parse_line("aws-vault exec work --json"),
            Parsed::Vault(vault("work"))
        );
        assert_eq!(
            parse_line(
                "/usr/local/bin/aws-vault --backend=file export --format json -d 2h --region eu-west-1 'my prof'"
            ),
            Parsed::Vault(VaultLine {
                duration: Some("2h".into()),
                region: Some("eu-west-1".into()),
                dropped: vec!["--backend=file".into()],
                ..vault("my prof")
            })
        );
        assert_eq!(
            parse_line("aws-vault exec -n -j -d1h -- x"),
            Parsed::Vault(VaultLine {
                no_session: true,
                duration: Some("1h".into()),
                ..vault("x")
            })
        );
    }

    #[test]
    fn refuses_what_cannot_carry_over() {
        for (line, why) in [
            ("aws-vault exec work -- aws s3 ls", "runs a command"),
            ("aws-vault export work", "environment lines"),
            ("aws-vault export --format=ini work", "--format=ini"),
            ("aws-vault exec --json -t 123456 work", "fixed MFA code"),
            ("aws-vault exec --json --server work", "credential server"),
            ("aws-vault exec --json --frob work", "--frob"),
            ("aws-vault login work", "login"),
            ("aws-vault exec --json 'work", "quoting"),
            ("aws-vault exec --json", "no profile"),
        ] {
            match parse_line(line) {
                Parsed::Unusable(w) => assert!(w.contains(why), "{line}: {w}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        for line in [
            "awsmfa process --profile x",
            "op read x",
            "aws-vaulty exec --json x",
            "",
        ] {
            assert_eq!(parse_line(line), Parsed::NotAwsVault, "{line}");
        }
    }

    #[test]
    fn replacement_keeps_region_and_says_what_is_dropped() {
        let line = VaultLine {
            no_session: true,
            duration: Some("2h".into()),
            region: Some("eu-west-1".into()),
            dropped: vec!["--prompt=ykman".into()],
            ..vault("my prof")
        };
        let (value, notes) = replacement("awsmfa", &line).unwrap();
        // Quoted for the shell botocore runs credential_process with: none on Windows,
        // where the program takes the rest of the line as written.
        let quoted = if cfg!(windows) {
            "\"my prof\""
        } else {
            "'my prof'"
        };
        assert_eq!(
            value,
            format!("awsmfa process --profile {quoted} --region eu-west-1")
        );
        assert_eq!(notes.len(), 3);
        let bad = VaultLine {
            region: Some("x@evil/".into()),
            ..vault("w")
        };
        assert!(replacement("awsmfa", &bad).is_err());
    }

    #[test]
    fn aws_vault_error_lines_are_shortened() {
        assert_eq!(
            last_words(b"Enter passphrase to unlock \"/h/.awsvault/keys/\": aws-vault: error: exec: Failed to get credentials for w: inappropriate ioctl for device\n"),
            "exec: Failed to get credentials for w: inappropriate ioctl for device"
        );
    }
}
