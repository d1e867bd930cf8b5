//! `awsmfa login`: an MFA session (or an MFA-backed role session), written into the
//! credentials file as a profile, aws-mfa style.
//!
//! The order matters: everything that can be checked locally (files, profile rules,
//! duration, target safety, a still-valid session) is checked before anyone is asked for
//! a code, because a code is single-use and a rejected call may burn it. The session
//! itself comes from the engine, so a session cached by `process` or `exec` is written
//! without asking again, and a login serves them in turn.

use clap::Args;
use jiff::{Timestamp, tz::TimeZone};

use super::setup::{CliEffects, Setup, load_files};
use super::{Context, check_section_name};
use crate::config::AwsFiles;
use crate::config::profile::{Kind, check_target};
use crate::creds::Credentials;
use crate::error::{Error, Exit};
use crate::output;
use crate::sys::Env;

#[derive(Debug, Args)]
pub struct LoginOpts {
    /// The MFA code; "-" reads it from standard input [default: mfa_process, else a prompt]
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    pub token_code: Option<String>,
    /// Session length: 12h, 90m, 1h30m or seconds (MFA sessions 900 s to 36h; roles up to 12h)
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Credentials-file section to write the session to [default: the profile's own section;
    /// NAME-mfa when long-term keys sit in [NAME], and for role profiles]
    #[arg(long, value_name = "PROFILE")]
    pub target: Option<String>,
    /// Renew even when the written session is still valid
    #[arg(long)]
    pub force: bool,
    /// Renew only when less than this is left [default: $AWSMFA_MIN_REMAINING, else 15m]
    #[arg(long, value_name = "DURATION")]
    pub min_remaining: Option<String>,
    /// The MFA device's ARN, overriding mfa_serial and discovery
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
    /// Write the MFA device used into the profile's config as mfa_serial
    #[arg(long)]
    pub save: bool,
    /// aws-vault's word order (`login work`): the profile, as with -p
    #[arg(value_name = "PROFILE", hide = true, allow_hyphen_values = true)]
    pub profile_word: Option<String>,
}

/// Refuses an `--mfa-serial` that is not IAM's shape before anything is asked or sent:
/// with `--save` it would be written into the config (DESIGN §7).
pub(crate) fn check_serial_flag(serial: Option<&str>) -> Result<(), Error> {
    match serial.and_then(crate::config::shape::mfa_serial_problem) {
        None => Ok(()),
        Some(problem) => Err(Error::new(
            Exit::Usage,
            format!("--mfa-serial is not an MFA device serial number: {problem}"),
        )
        .with_hint("give the device's ARN, e.g. arn:aws:iam::123456789012:mfa/alice")),
    }
}

pub fn run(ctx: &Context, opts: &LoginOpts) -> Result<(), Error> {
    check_serial_flag(opts.mfa_serial.as_deref())?;
    let files = load_files(ctx)?;
    let resolved = super::setup::resolve_profile(ctx, &files)?;
    let target = opts
        .target
        .clone()
        .unwrap_or_else(|| resolved.default_target.clone());
    check_section_name(&target, "target")?;
    check_target(&files, &target)?;
    ctx.debug(
        1,
        &format!(
            "long-term key {} from {}",
            resolved.base_keys().identity(),
            resolved.base_keys().origin
        ),
    );
    let is_role = matches!(resolved.kind, Kind::Role(_));
    let duration = match &opts.duration {
        Some(text) => Some(checked_duration(text, is_role)?),
        None => None,
    };
    let setup = Setup::with(ctx, files, resolved)?;
    let min_remaining = match &opts.min_remaining {
        Some(text) => crate::lifetime::parse_duration(text)? as i64,
        None => setup.min_remaining,
    };
    let now = Timestamp::now();
    if !opts.force
        && let Some(left) = still_valid(&setup.files, &target, now, min_remaining)
    {
        // `--min-remaining` is the unattended form (cron, a shell rc): silent when
        // nothing was done, unless -v; a person typing `awsmfa login` is told.
        let message = format!(
            "[{target}] is still valid for {}; nothing to do (--force renews it)",
            crate::lifetime::human_remaining(left)
        );
        if opts.min_remaining.is_none() {
            ctx.say(&message);
        } else {
            ctx.debug(1, &message);
        }
        return Ok(());
    }

    let configured = setup.resolved.mfa_serial.is_some() && opts.mfa_serial.is_none();
    preflight(ctx, &setup, &ctx.profile, &target, opts.save && !configured)?;

    let mut req = setup.request();
    req.min_remaining = min_remaining;
    req.exact_min_remaining = opts.min_remaining.is_some();
    req.force = opts.force;
    req.mfa_serial = opts.mfa_serial.clone();
    if is_role {
        req.role_duration = duration;
    } else {
        req.session_duration = duration;
    }
    let fx = CliEffects::new(ctx, &setup, opts.token_code.clone());
    let served = setup.serve(&fx, &req)?;
    let first_time = !setup.files.credentials.has_section(&target);
    output::write_session(&setup.files.credentials_path, &target, &served.creds)?;
    let inherited = session_settings(ctx, &setup);
    if output::ensure_config_profile(&setup.files.config_path, &target, &inherited)? {
        ctx.debug(
            1,
            &format!(
                "added [{}] to {} with the source profile's region and endpoints",
                AwsFiles::config_section(&target),
                setup.files.config_path.display()
            ),
        );
        if let Some(url) = &ctx.endpoint_url {
            ctx.say(&format!(
                "[{}] keeps endpoint_url = {url} (from --endpoint-url), so `aws --profile {target}` reaches the same cloud",
                AwsFiles::config_section(&target)
            ));
        }
    } else if let Some(url) = &ctx.endpoint_url
        && !reads_endpoint(&setup.files, &target, url)
    {
        // An existing section is the person's: said, not changed.
        ctx.warn(&format!(
            "[{}] in {} has no endpoint_url = {url}: `aws --profile {target}` goes to AWS's own endpoints unless you add it",
            AwsFiles::config_section(&target),
            setup.files.config_path.display()
        ));
    }
    if let Some(serial) = served.mfa_serial.as_deref().filter(|_| !configured) {
        if opts.save {
            output::save_config_value(
                &setup.files.config_path,
                &ctx.profile,
                "mfa_serial",
                serial,
            )?;
            ctx.say(&format!(
                "saved mfa_serial = {serial} in [{}] of {}",
                setup.files.config_section_of(&ctx.profile),
                setup.files.config_path.display()
            ));
            if let Some(why) =
                output::shadowed_by_credentials(&setup.files, &ctx.profile, "mfa_serial", serial)
            {
                ctx.warn(&why);
            }
        } else if opts.mfa_serial.is_none() {
            ctx.say(&format!(
                "found MFA device {serial} (run with --save to keep it in the config)"
            ));
        }
    }
    report(
        ctx,
        &setup,
        &target,
        &served.creds,
        served.from_cache,
        now,
        first_time,
    );
    Ok(())
}

/// Every write this login would make, tried on the files as read, before a code is used:
/// a write that would be refused (a header the AWS CLI would not read back, a
/// `[DEFAULT]` that would leak into a new section) fails now, with nothing written,
/// rather than after the session went into one file and not the other.
fn preflight(
    ctx: &Context,
    setup: &Setup,
    profile: &str,
    target: &str,
    save: bool,
) -> Result<(), Error> {
    use crate::output::{ensure_edit, save_edit, session_edit, try_edit, with_path};
    let files = &setup.files;
    let placeholder = crate::creds::Credentials {
        access_key_id: "ASIAPLACEHOLDER00000".into(),
        secret_access_key: secrecy::SecretString::from("placeholder".to_string()),
        session_token: Some(secrecy::SecretString::from("placeholder".to_string())),
        expiration: Some(Timestamp::now()),
    };
    try_edit(&files.credentials, |d| {
        session_edit(d, target, &placeholder)
    })
    .map_err(|e| with_path(e, &files.credentials_path))?;
    let inherited = session_settings(ctx, setup);
    let config = try_edit(&files.config, |d| ensure_edit(d, target, &inherited))
        .map_err(|e| with_path(e, &files.config_path))?;
    if save {
        try_edit(&config, |d| {
            save_edit(
                d,
                profile,
                "mfa_serial",
                "arn:aws:iam::000000000000:mfa/placeholder",
            )
        })
        .map_err(|e| with_path(e, &files.config_path))?;
    }
    Ok(())
}

/// What a session profile that login creates gets in the config: the source profile's
/// region and endpoint settings, with `--endpoint-url` as its `endpoint_url` (as if the
/// source profile said it), so the session reaches the cloud that issued it — Wasabi's,
/// not AWS's S3 (seed 000 types `--endpoint-url` on every call). A `services` section the
/// source names still comes first for the services it lists, as the AWS CLI reads it.
fn session_settings<'a>(ctx: &'a Context, setup: &'a Setup) -> Vec<(&'static str, &'a str)> {
    let mut settings = setup.resolved.settings.inheritable();
    if let Some(url) = ctx.endpoint_url.as_deref() {
        settings.retain(|(k, _)| *k != "endpoint_url");
        settings.push(("endpoint_url", url));
    }
    settings
}

/// Whether profile `profile` itself already says `endpoint_url = url`.
fn reads_endpoint(files: &AwsFiles, profile: &str, url: &str) -> bool {
    crate::config::profile::own_settings(files, profile)
        .endpoint_url
        .as_deref()
        == Some(url)
}

fn checked_duration(text: &str, role: bool) -> Result<u32, Error> {
    let secs = crate::lifetime::parse_duration(text)?;
    if role {
        if !(900..=43_200).contains(&secs) {
            return Err(Error::new(
                Exit::Usage,
                format!(
                    "{secs} s is outside what STS allows for role sessions: 900 s (15m) to 43200 s (12h), and only up to the role's maximum"
                ),
            ));
        }
        return Ok(secs as u32);
    }
    Ok(crate::lifetime::check_session_duration(secs, false)?)
}

fn report(
    ctx: &Context,
    setup: &Setup,
    target: &str,
    session: &Credentials,
    from_cache: bool,
    now: Timestamp,
    first_time: bool,
) {
    let how = if from_cache {
        " (from the cached session, no code needed)"
    } else {
        ""
    };
    if let Some(exp) = session.expiration {
        let local = exp.to_zoned(TimeZone::system());
        let utc = exp.to_zoned(TimeZone::UTC);
        let until = if local.offset() == utc.offset() {
            utc.strftime("%Y-%m-%d %H:%M UTC").to_string()
        } else {
            format!(
                "{} ({} UTC)",
                local.strftime("%Y-%m-%d %H:%M %Z"),
                utc.strftime("%H:%M")
            )
        };
        ctx.say(&format!(
            "logged in: profile {target} until {until}, {} left{how}",
            crate::lifetime::human_remaining(crate::lifetime::remaining(exp, now))
        ));
    } else {
        ctx.say(&format!("logged in: profile {target}{how}"));
    }
    let profile = &setup.resolved.profile;
    // Said when the section is made, not on every renewal.
    if first_time && setup.resolved.keys_in_profile && target == format!("{profile}-mfa") {
        ctx.hint(&format!(
            "use --profile {target}, or `awsmfa import {profile}` to write to [{profile}]"
        ));
    }
    shadow_warnings(ctx, &ctx.env, target);
}

/// Credentials in the environment win over a profile for every tool that is not given
/// `--profile` explicitly: say so.
fn shadow_warnings(ctx: &Context, env: &Env, target: &str) {
    let set: Vec<&str> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ]
    .into_iter()
    .filter(|v| env.is_set(v))
    .collect();
    if !set.is_empty() {
        ctx.warn(&format!(
            "{} set in this environment; tools use those instead of [{target}] unless given --profile: unset {}",
            set.join(", "),
            set.join(" ")
        ));
    }
}

/// Seconds left on the session in `[target]`, when it has more than `min` left.
fn still_valid(files: &AwsFiles, target: &str, now: Timestamp, min: i64) -> Option<i64> {
    crate::config::ini::SESSION_TOKEN_KEYS
        .iter()
        .find_map(|k| files.credentials.get(target, k))?;
    let exp = crate::sts::parse_expiration(&files.credentials.get(target, "expiration")?)?;
    let left = crate::lifetime::remaining(exp, now);
    (left > min).then_some(left)
}
