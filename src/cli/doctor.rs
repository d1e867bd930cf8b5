//! `awsmfa doctor [-p NAME]`: check a profile end to end and say what is wrong and how
//! to fix it, one line per check (✓ pass, ! warning, ✗ failure, · information).
//!
//! Checks: both files parse, are private and are the user's; no `AWS_*` variables shadow
//! the profile; where the long-term keys are; the STS endpoint answers (and which one);
//! the identity behind the keys; the MFA device belongs to that user and is enabled (the
//! seed 004 pitfall: keys of one user, device of another); the clock against the STS
//! `Date` header; the vault; cached sessions. Exit status 0 when nothing failed
//! (warnings allowed), 1 otherwise. It never asks for a code and changes nothing.

use std::path::Path;

use clap::Args;
use jiff::Timestamp;
use serde::Serialize;

use super::Context;
use super::setup::{Setup, http_settings};
use crate::config::profile::{KeysFrom, KeysSource, Kind};
use crate::config::{AwsFiles, file_paths, load_document};
use crate::creds::{Credentials, mask};
use crate::error::{Error, Exit};
use crate::lifetime::{human_remaining, remaining};
use crate::output;
use crate::sts::{Iam, QueryClient, Rejection, Sts, StsError};

#[derive(Debug, Args)]
pub struct DoctorOpts {
    /// Output format: lines for people, or JSON
    #[arg(long, value_enum, default_value_t = super::status::StatusFormat::Table)]
    pub format: super::status::StatusFormat,
    /// The same as --format json
    #[arg(long, hide = true)]
    pub json: bool,
    /// Open the vault to check the keys kept there (may ask for its passphrase)
    #[arg(long)]
    pub vault: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Info,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub message: String,
    pub fix: Option<String>,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, name: &'static str, status: Status, message: String, fix: Option<String>) {
        self.checks.push(Check {
            name,
            status,
            message,
            fix,
        });
    }
    fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

pub fn run(ctx: &Context, opts: &DoctorOpts) -> Result<u8, Error> {
    let mut report = Report::default();
    diagnose(ctx, &mut report, opts.vault)?;
    let text = if opts.json || opts.format == super::status::StatusFormat::Json {
        let v = serde_json::json!({
            "profile": ctx.profile,
            "ok": !report.failed(),
            "checks": report.checks,
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&v).expect("serializable")
        )
    } else {
        let mut out = String::new();
        for c in &report.checks {
            let mark = match c.status {
                Status::Pass => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
                Status::Info => "·",
            };
            let clean = crate::term::clean;
            out.push_str(&format!("{mark} {}: {}\n", c.name, clean(&c.message)));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("    fix: {}\n", clean(fix)));
            }
        }
        out
    };
    output::print_stdout(&text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))?;
    Ok(u8::from(report.failed()))
}

fn diagnose(ctx: &Context, report: &mut Report, vault: bool) -> Result<(), Error> {
    let (config_path, credentials_path) = file_paths(
        &ctx.env,
        ctx.config_file.as_deref(),
        ctx.credentials_file.as_deref(),
    )?;
    let config_ok = check_file(report, "config file", &config_path, false);
    let creds_ok = check_file(report, "credentials file", &credentials_path, true);
    check_environment(ctx, report);
    if !(config_ok && creds_ok) {
        return Ok(());
    }
    let files = AwsFiles::load(
        config_path,
        credentials_path,
        super::setup::vault_index(ctx),
    )?;
    let resolved = match super::setup::resolve_profile(ctx, &files) {
        Ok(r) => r,
        Err(e) => {
            report.add("profile", Status::Fail, e.message, e.hint);
            return Ok(());
        }
    };
    let kind = match &resolved.kind {
        Kind::MfaSession(_) => "MFA session (GetSessionToken)".to_string(),
        Kind::Role(r) => format!("role {} via source profiles", r.role_arn),
    };
    let base = resolved.base_keys().clone();
    report.add(
        "profile",
        Status::Pass,
        format!(
            "{:?}: {kind}; long-term keys from {}",
            ctx.profile, base.origin
        ),
        None,
    );
    let setup = Setup::with(ctx, files, resolved)?;
    let http = http_settings(ctx, &setup.resolved)?;
    super::setup::warn_cleartext(ctx, &setup.sts_endpoint);
    let sts = super::setup::query_client(ctx, &setup.sts_endpoint, http.clone())?;
    // Keys in the vault are checked only when asked (`--vault`: it may need the
    // passphrase); the rest is checked with a cached session, or without credentials.
    let in_vault = matches!(base.keys, KeysFrom::Vault(_));
    let keys = if in_vault && !vault {
        check_vault_unopened(report, ctx, &base);
        None
    } else {
        match super::setup::long_term_keys(ctx, &base) {
            Ok(k) => {
                check_vault(report, ctx, &base, None);
                Some(k)
            }
            Err(e) => {
                check_vault(report, ctx, &base, Some(&e));
                if !in_vault {
                    report.add("keys", Status::Fail, e.message, e.hint);
                    return Ok(());
                }
                None
            }
        }
    };
    let Some(keys) = keys.or_else(|| cached_session(&setup, &ctx.profile)) else {
        // No credentials to sign with: the endpoint and the clock still answer.
        let endpoint = format!(
            "{} (from {})",
            setup.sts_endpoint.url, setup.sts_endpoint.source
        );
        match sts.probe() {
            Ok(date) => {
                report.add(
                    "endpoint",
                    Status::Pass,
                    format!("STS answers at {endpoint}"),
                    None,
                );
                check_clock(report, date);
            }
            Err(e) => report_sts_failure(report, &e, &endpoint, &Credentials::long_term("", "")),
        }
        report.add(
            "identity",
            Status::Info,
            "not checked: the keys are in the vault and no session is cached".into(),
            Some("`awsmfa doctor --vault` opens the vault to check them".into()),
        );
        check_cache(report, &setup, &ctx.profile);
        return Ok(());
    };
    let endpoint = format!(
        "{} (from {})",
        setup.sts_endpoint.url, setup.sts_endpoint.source
    );
    let identity = match sts.get_caller_identity(&keys) {
        Ok(id) => {
            report.add(
                "endpoint",
                Status::Pass,
                format!("STS answers at {endpoint}"),
                None,
            );
            check_clock(report, sts.server_date());
            report.add(
                "identity",
                Status::Pass,
                format!("key {} belongs to {}", mask(&keys.access_key_id), id.arn),
                None,
            );
            Some(id)
        }
        Err(e) => {
            report_sts_failure(report, &e, &endpoint, &keys);
            if let StsError::Service { .. } = e {
                check_clock(report, sts.server_date());
            }
            None
        }
    };
    if let Some(id) = identity {
        let iam = super::setup::query_client(ctx, &setup.iam_endpoint()?, http)?;
        check_device(report, &setup, &keys, &id, &iam);
    }
    check_cache(report, &setup, &ctx.profile);
    Ok(())
}

/// Keys in the vault, not opened: where they are and whether the vault is private.
fn check_vault_unopened(report: &mut Report, ctx: &Context, base: &KeysSource) {
    let dir = crate::vault::vault_dir(&ctx.env);
    if let Some(d) = dir.as_deref().filter(|d| d.exists())
        && let Err(e) = crate::vault::file::check_private(d)
    {
        report.add("vault", Status::Fail, e.to_string(), e.hint());
        return;
    }
    if let KeysFrom::Vault(meta) = &base.keys {
        report.add(
            "vault",
            Status::Info,
            format!(
                "the keys of {:?} ({}) are in {}; not opened",
                meta.name,
                meta.key_id.as_deref().unwrap_or("?"),
                meta.backend().describe()
            ),
            Some("`awsmfa doctor --vault` opens it to check them".into()),
        );
    }
}

/// A fresh cached session of the profile or its source, to check identity and device
/// with when the long-term keys are not to hand.
fn cached_session(setup: &Setup, profile: &str) -> Option<Credentials> {
    let source = setup.resolved.base_keys().profile.clone();
    let now = Timestamp::now();
    setup
        .cache
        .entries()
        .into_iter()
        .filter(|(_, c)| c.meta.kind == "mfa-session")
        .filter(|(_, c)| c.meta.profile == profile || c.meta.profile == source)
        .map(|(_, c)| c.creds)
        .find(|c| c.expiration.is_some_and(|e| remaining(e, now) > 60))
}

/// Where the keys are kept; for keys in the vault, whether it opened.
fn check_vault(report: &mut Report, ctx: &Context, base: &KeysSource, failed: Option<&Error>) {
    let dir = crate::vault::vault_dir(&ctx.env);
    let shown = dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "(no place: HOME is not set)".into());
    if let Some(d) = dir.as_deref().filter(|d| d.exists())
        && let Err(e) = crate::vault::file::check_private(d)
    {
        report.add("vault", Status::Fail, e.to_string(), e.hint());
        return;
    }
    match (&base.keys, failed) {
        (KeysFrom::Vault(meta), None) => report.add(
            "vault",
            Status::Pass,
            format!(
                "the keys of {:?} ({}) are in {} ({shown}) and it opened",
                meta.name,
                meta.key_id.as_deref().unwrap_or("?"),
                meta.backend().describe()
            ),
            None,
        ),
        (KeysFrom::Vault(meta), Some(e)) => report.add(
            "vault",
            Status::Fail,
            format!("the keys of {:?}: {}", meta.name, e.message),
            e.hint.clone(),
        ),
        (KeysFrom::Static(_), _) => report.add(
            "vault",
            Status::Info,
            format!("the keys are in plaintext: {}", base.origin),
            Some(format!(
                "`awsmfa import {}` moves them into the vault ({shown})",
                base.profile
            )),
        ),
        (KeysFrom::Process(_), _) => report.add(
            "vault",
            Status::Info,
            format!("the keys come from {}", base.origin),
            None,
        ),
    }
}

/// Parses, is private (credentials) and is the user's. Returns whether it parses.
fn check_file(report: &mut Report, name: &'static str, path: &Path, secret: bool) -> bool {
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.add(name, Status::Info, format!("{shown} does not exist"), None);
            return true;
        }
        Err(e) => {
            report.add(name, Status::Fail, format!("{shown}: {e}"), None);
            return false;
        }
    };
    if let Err(e) = load_document(path) {
        report.add(
            name,
            Status::Fail,
            e.to_string(),
            Some(format!(
                "fix that line of {shown}; the AWS CLI cannot read the file either"
            )),
        );
        return false;
    }
    let Some(owner) = crate::sys::owner_and_mode(&meta) else {
        // Windows: private by the access list it inherits from the user's profile.
        report.add(
            name,
            Status::Pass,
            format!("{shown} parses (its privacy is its folder's access list, not checked here)"),
            None,
        );
        return true;
    };
    let uid = crate::sys::euid();
    let mode = owner.mode & 0o777;
    if owner.uid != uid {
        report.add(
            name,
            Status::Fail,
            format!(
                "{shown} belongs to uid {}, not to you (uid {uid})",
                owner.uid
            ),
            Some(format!("chown {uid} {shown}")),
        );
    } else if mode & 0o077 != 0 {
        report.add(
            name,
            if secret { Status::Fail } else { Status::Warn },
            format!("{shown} is readable by others (mode {mode:03o})"),
            Some(format!("chmod 600 {shown}")),
        );
    } else {
        report.add(
            name,
            Status::Pass,
            format!("{shown} parses and is private ({mode:03o})"),
            None,
        );
    }
    true
}

fn check_environment(ctx: &Context, report: &mut Report) {
    let creds: Vec<&str> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ]
    .into_iter()
    .filter(|v| ctx.env.is_set(v))
    .collect();
    if !creds.is_empty() {
        report.add(
            "environment",
            Status::Fail,
            format!(
                "{} set: the AWS CLI and SDKs use them instead of profile {:?} unless given --profile",
                creds.join(", "),
                ctx.profile
            ),
            Some(format!("unset {}", creds.join(" "))),
        );
    } else if let Some(p) = ctx.env.get("AWS_PROFILE").filter(|p| *p != ctx.profile) {
        report.add(
            "environment",
            Status::Warn,
            format!(
                "AWS_PROFILE={p} selects another profile than {:?} for tools without --profile",
                ctx.profile
            ),
            None,
        );
    } else {
        report.add(
            "environment",
            Status::Pass,
            "no AWS_* variables shadow the profile".into(),
            None,
        );
    }
}

fn report_sts_failure(report: &mut Report, e: &StsError, endpoint: &str, keys: &Credentials) {
    match e {
        StsError::Service {
            clock_skew: Some(_),
            ..
        } => {
            report.add(
                "endpoint",
                Status::Pass,
                format!("STS answers at {endpoint}"),
                None,
            );
            // The clock line says the rest.
        }
        StsError::Service { .. } => {
            report.add(
                "endpoint",
                Status::Pass,
                format!("STS answers at {endpoint}"),
                None,
            );
            let fix = match e.rejection() {
                Some(Rejection::UnknownKey) => Some(format!(
                    "{} is unknown to this endpoint: check it in IAM, or the endpoint",
                    mask(&keys.access_key_id)
                )),
                _ => e.hint(),
            };
            report.add("identity", Status::Fail, e.to_string(), fix);
        }
        _ => report.add("endpoint", Status::Fail, e.to_string(), e.hint()),
    }
}

fn check_clock(report: &mut Report, server: Option<Timestamp>) {
    let Some(server) = server else {
        report.add(
            "clock",
            Status::Info,
            "the endpoint sent no Date header".into(),
            None,
        );
        return;
    };
    let skew = server.as_second() - Timestamp::now().as_second();
    let how = if skew > 0 { "behind" } else { "ahead of" };
    let amount = human_remaining(skew.abs());
    if skew.abs() >= 300 {
        report.add(
            "clock",
            Status::Fail,
            format!("this machine's clock is {amount} {how} the STS server's: AWS rejects signatures more than 5 min off"),
            Some("set the clock right (enable NTP: timedatectl set-ntp true)".into()),
        );
    } else if skew.abs() >= 60 {
        report.add(
            "clock",
            Status::Warn,
            format!("this machine's clock is {amount} {how} the STS server's"),
            Some("enable NTP".into()),
        );
    } else {
        report.add(
            "clock",
            Status::Pass,
            "agrees with the STS server's Date header".into(),
            None,
        );
    }
}

fn check_device(
    report: &mut Report,
    setup: &Setup,
    keys: &Credentials,
    id: &crate::sts::CallerIdentity,
    iam: &QueryClient,
) {
    let configured = match &setup.resolved.kind {
        Kind::Role(r) => r.mfa_serial.clone(),
        Kind::MfaSession(_) => setup.resolved.mfa_serial.clone(),
    };
    let devices = match iam.list_mfa_devices(keys, None) {
        Ok(d) => d,
        Err(e) => {
            report.add(
                "MFA device",
                Status::Warn,
                format!(
                    "cannot list the user's MFA devices ({e}); configured: {}",
                    configured.as_deref().unwrap_or("none")
                ),
                Some("allow iam:ListMFADevices on the user's own ARN without MFA".into()),
            );
            return;
        }
    };
    let user = id.user_name().unwrap_or(&id.arn).to_string();
    let list: Vec<&str> = devices.iter().map(|d| d.serial_number.as_str()).collect();
    match configured {
        Some(serial) if list.contains(&serial.as_str()) => report.add(
            "MFA device",
            Status::Pass,
            format!("{serial} is enabled for {user}"),
            None,
        ),
        Some(serial) => report.add(
            "MFA device",
            Status::Fail,
            format!(
                "mfa_serial {serial} is not a device of {user}, the user behind the keys ({})",
                if list.is_empty() {
                    "who has none".to_string()
                } else {
                    format!("whose devices are {}", list.join(", "))
                }
            ),
            Some(match list.first() {
                Some(own) => {
                    format!("set mfa_serial = {own}, or use the keys of the device's user")
                }
                None => {
                    "enroll a device for this user, or use the keys of the device's user".into()
                }
            }),
        ),
        None => match list.first() {
            Some(own) => report.add(
                "MFA device",
                Status::Warn,
                format!("no mfa_serial in the profile; IAM lists {own} for {user}"),
                Some("awsmfa login --save keeps it in the config".into()),
            ),
            None => report.add(
                "MFA device",
                Status::Fail,
                format!("{user} has no MFA device"),
                Some(format!(
                    "enroll one: `awsmfa -p {} mfa create` (it shows a QR code)",
                    setup.resolved.profile
                )),
            ),
        },
    }
}

fn check_cache(report: &mut Report, setup: &Setup, profile: &str) {
    let source = setup.resolved.base_keys().profile.clone();
    let now = Timestamp::now();
    let entries: Vec<String> = setup
        .cache
        .entries()
        .into_iter()
        .filter(|(_, c)| c.meta.profile == profile || c.meta.profile == source)
        .filter_map(|(_, c)| {
            let left = remaining(c.creds.expiration?, now);
            Some(format!(
                "{} of {:?}: {}",
                c.meta.kind,
                c.meta.profile,
                if left > 0 {
                    format!("{} left", human_remaining(left))
                } else {
                    "expired".into()
                }
            ))
        })
        .collect();
    if entries.is_empty() {
        report.add(
            "sessions",
            Status::Info,
            format!("nothing cached in {}", setup.cache.dir().display()),
            None,
        );
    } else {
        report.add("sessions", Status::Info, entries.join("; "), None);
    }
}
