//! `awsmfa login`: an MFA session, written into the credentials file as a profile.
//!
//! The order matters: everything that can be checked locally (files, profile rules,
//! duration, target safety, a still-valid session) is checked before the person is
//! asked for a code, because a code is single-use and a rejected call may burn it.

use std::io::BufRead;
use std::time::Duration;

use clap::Args;
use jiff::{Timestamp, tz::TimeZone};

use super::{Context, check_section_name};
use crate::config::profile::{LoginPlan, plan_login};
use crate::config::{AwsFiles, Env, file_paths};
use crate::creds::{Credentials, mask};
use crate::error::{Error, Exit};
use crate::mfa::{CodeSources, Prompt, TtyPrompt, obtain_code};
use crate::output;
use crate::session::{self, DEFAULT_MIN_REMAINING_SECS, DEFAULT_SESSION_SECS};
use crate::sts::{
    EndpointInputs, HttpSettings, Iam, QueryClient, Service, SessionTokenRequest, Sts, endpoint,
};

#[derive(Debug, Args)]
pub struct LoginOpts {
    /// The MFA code; "-" reads it from standard input [default: mfa_process, else a prompt]
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    pub token_code: Option<String>,
    /// Session length: 12h, 90m, 1h30m or seconds (900 s to 36h) [default: 12h]
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Credentials-file section to write the session to [default: see README]
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
    /// Write a discovered MFA device into the profile's config as mfa_serial
    #[arg(long)]
    pub save: bool,
}

/// The effects `login` needs, so tests can supply their own.
pub struct Effects<'a> {
    pub sts: &'a dyn Sts,
    pub iam: &'a dyn Iam,
    pub prompt: &'a dyn Prompt,
    pub stdin: &'a mut dyn BufRead,
    pub now: Timestamp,
}

pub fn run(ctx: &Context, opts: &LoginOpts) -> Result<(), Error> {
    let (config_path, credentials_path) = file_paths(
        &ctx.env,
        ctx.config_file.as_deref(),
        ctx.credentials_file.as_deref(),
    )?;
    let files = AwsFiles::load(config_path, credentials_path)?;
    if let Some(t) = &opts.target {
        check_section_name(t, "target")?;
    }
    let plan = plan_login(&files, &ctx.profile, opts.target.as_deref())?;
    ctx.debug(
        1,
        &format!(
            "long-term key {} from {}",
            mask(&plan.keys.access_key_id),
            plan.keys_origin
        ),
    );
    let duration = session_duration(opts)?;
    let min_remaining = min_remaining(ctx, opts)?;
    let now = Timestamp::now();
    if !opts.force
        && let Some(left) = still_valid(&files, &plan.target, now, min_remaining)
    {
        ctx.say(&format!(
            "[{}] is still valid for {}; nothing to do (--force renews it)",
            plan.target,
            session::human_remaining(left)
        ));
        return Ok(());
    }

    let region = ctx
        .region
        .clone()
        .or_else(|| ctx.env.get("AWS_REGION").map(String::from))
        .or_else(|| ctx.env.get("AWS_DEFAULT_REGION").map(String::from))
        .or_else(|| plan.settings.region.clone());
    let http = http_settings(ctx, &plan)?;
    let sts_endpoint = endpoint::resolve(
        Service::Sts,
        &endpoint_inputs(ctx, &files, &plan, Service::Sts, &region),
    );
    let iam_endpoint = endpoint::resolve(
        Service::Iam,
        &endpoint_inputs(ctx, &files, &plan, Service::Iam, &region),
    );
    ctx.debug(
        1,
        &format!(
            "STS endpoint {} (from {})",
            sts_endpoint.url, sts_endpoint.source
        ),
    );
    let sts = QueryClient::new(sts_endpoint, http.clone())?;
    let iam = QueryClient::new(iam_endpoint, http)?;
    let mut stdin = std::io::stdin().lock();
    let effects = Effects {
        sts: &sts,
        iam: &iam,
        prompt: &TtyPrompt,
        stdin: &mut stdin,
        now,
    };
    login(ctx, opts, &files, &plan, duration, effects)
}

/// The part of `login` after local checks: device, code, STS, files.
pub fn login(
    ctx: &Context,
    opts: &LoginOpts,
    files: &AwsFiles,
    plan: &LoginPlan,
    duration: u32,
    fx: Effects<'_>,
) -> Result<(), Error> {
    let serial = match (&opts.mfa_serial, &plan.mfa_serial) {
        (Some(given), _) => {
            if opts.save {
                save_serial(ctx, files, plan, given)?;
            }
            given.clone()
        }
        (None, Some(configured)) => configured.clone(),
        (None, None) => discover_device(ctx, opts, files, plan, fx.iam)?,
    };
    ctx.debug(1, &format!("MFA device {serial}"));
    let note = |m: &str| ctx.say(m);
    let code = obtain_code(
        &serial,
        CodeSources {
            flag: opts.token_code.as_deref(),
            stdin: fx.stdin,
            mfa_process: plan.mfa_process.as_deref(),
            prompt: fx.prompt,
            process_timeout: Duration::from_secs(60),
            note: &note,
        },
    )?;
    ctx.debug(1, &format!("GetSessionToken for {duration} s"));
    let session = fx.sts.get_session_token(
        &plan.keys,
        &SessionTokenRequest {
            duration_seconds: duration,
            serial_number: Some(serial),
            token_code: Some(code),
        },
    )?;
    output::write_session(&files.credentials_path, &plan.target, &session)?;
    let inherited = plan.settings.inheritable();
    if output::ensure_config_profile(&files.config_path, &plan.target, &inherited)? {
        ctx.debug(
            1,
            &format!(
                "added [{}] to {} with the source profile's region and endpoints",
                AwsFiles::config_section(&plan.target),
                files.config_path.display()
            ),
        );
    }
    report(ctx, plan, &session, fx.now);
    Ok(())
}

fn report(ctx: &Context, plan: &LoginPlan, session: &Credentials, now: Timestamp) {
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
            "logged in: profile {} until {until}, {} left",
            plan.target,
            session::human_remaining(session::remaining(exp, now))
        ));
    } else {
        ctx.say(&format!("logged in: profile {}", plan.target));
    }
    if plan.keys_in_profile && opts_target_default(plan) {
        ctx.hint(&format!(
            "the long-term keys sit in [{p}], so the session went to [{t}]: use --profile {t}, or rename [{p}] to [{p}-long-term] in the credentials file and the session will go to [{p}]",
            p = plan.profile,
            t = plan.target
        ));
    }
    shadow_warnings(ctx, &ctx.env, &plan.target);
}

fn opts_target_default(plan: &LoginPlan) -> bool {
    plan.target == format!("{}-mfa", plan.profile)
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

fn session_duration(opts: &LoginOpts) -> Result<u32, Error> {
    let secs = match &opts.duration {
        Some(text) => session::parse_duration(text)?,
        None => u64::from(DEFAULT_SESSION_SECS),
    };
    Ok(session::check_session_duration(secs, false)?)
}

fn min_remaining(ctx: &Context, opts: &LoginOpts) -> Result<u64, Error> {
    if let Some(text) = &opts.min_remaining {
        return Ok(session::parse_duration(text)?);
    }
    match ctx.env.get("AWSMFA_MIN_REMAINING") {
        Some(text) => session::parse_duration(text)
            .map_err(|e| Error::new(Exit::Config, format!("AWSMFA_MIN_REMAINING: {e}"))),
        None => Ok(DEFAULT_MIN_REMAINING_SECS),
    }
}

/// Seconds left on the session in `[target]`, when it has more than `min` left.
fn still_valid(files: &AwsFiles, target: &str, now: Timestamp, min: u64) -> Option<i64> {
    files.credentials.get(target, "aws_session_token")?;
    let exp = crate::sts::parse_expiration(files.credentials.get(target, "expiration")?)?;
    let left = session::remaining(exp, now);
    (left > min as i64).then_some(left)
}

fn endpoint_inputs(
    ctx: &Context,
    files: &AwsFiles,
    plan: &LoginPlan,
    service: Service,
    region: &Option<String>,
) -> EndpointInputs {
    let env_service = match service {
        Service::Sts => "AWS_ENDPOINT_URL_STS",
        Service::Iam => "AWS_ENDPOINT_URL_IAM",
    };
    let services_url = plan.settings.services.as_ref().and_then(|name| {
        files
            .services(name)
            .get(service.name())
            .and_then(|s| s.get("endpoint_url").cloned())
    });
    let ignore = ctx
        .env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or(plan.settings.ignore_configured_endpoint_urls.as_deref())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    EndpointInputs {
        cli_url: ctx.endpoint_url.clone(),
        env_service_url: ctx.env.get(env_service).map(String::from),
        env_url: ctx.env.get("AWS_ENDPOINT_URL").map(String::from),
        services_url,
        profile_url: plan.settings.endpoint_url.clone(),
        ignore_configured: ignore,
        region: region.clone(),
        sts_regional_endpoints: ctx
            .env
            .get("AWS_STS_REGIONAL_ENDPOINTS")
            .map(String::from)
            .or_else(|| plan.settings.sts_regional_endpoints.clone()),
    }
}

fn http_settings(ctx: &Context, plan: &LoginPlan) -> Result<HttpSettings, Error> {
    let mut settings = HttpSettings::default();
    if let Some(text) = ctx.env.get("AWSMFA_HTTP_TIMEOUT") {
        let secs = session::parse_duration(text)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                Error::new(
                    Exit::Config,
                    "AWSMFA_HTTP_TIMEOUT must be a duration such as 30s or 10",
                )
            })?;
        settings.total_timeout = Duration::from_secs(secs);
        settings.connect_timeout = settings.connect_timeout.min(settings.total_timeout);
    }
    let bundle = ctx
        .env
        .get("AWS_CA_BUNDLE")
        .map(|p| ctx.env.expand(p))
        .or_else(|| {
            plan.settings
                .ca_bundle
                .as_deref()
                .map(|p| ctx.env.expand(p))
        });
    if let Some(path) = bundle {
        settings.ca_bundle = Some(read_ca_bundle(&path)?);
    }
    Ok(settings)
}

fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    match crate::fsx::read_optional(path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(Error::new(
            Exit::Config,
            format!("CA bundle {} does not exist", path.display()),
        )),
        Err(e) => Err(Error::new(Exit::Config, format!("CA bundle: {e}"))),
    }
}

/// No `mfa_serial` anywhere: ask IAM which devices the user behind the keys has.
fn discover_device(
    ctx: &Context,
    opts: &LoginOpts,
    files: &AwsFiles,
    plan: &LoginPlan,
    iam: &dyn Iam,
) -> Result<String, Error> {
    ctx.debug(
        1,
        "no mfa_serial in the profile; asking IAM for the user's MFA devices",
    );
    let devices = iam.list_mfa_devices(&plan.keys, None).map_err(|e| {
        let mut err = Error::from(e);
        err.message = format!("cannot discover the MFA device: {}", err.message);
        if err.hint.is_none() {
            err.hint = Some(format!(
                "set mfa_serial in [{}] of {} or pass --mfa-serial ARN",
                AwsFiles::config_section(&plan.profile),
                files.config_path.display()
            ));
        }
        err
    })?;
    let serial = match devices.as_slice() {
        [] => {
            return Err(
                Error::new(Exit::Config, "the user behind these keys has no MFA device").with_hint(
                    "enroll one in the IAM console (or with the AWS CLI), then run login again",
                ),
            );
        }
        [one] => one.serial_number.clone(),
        many => {
            let list: Vec<&str> = many.iter().map(|d| d.serial_number.as_str()).collect();
            return Err(Error::new(
                Exit::Config,
                format!(
                    "the user has {} MFA devices: {}",
                    many.len(),
                    list.join(", ")
                ),
            )
            .with_hint("choose one with --mfa-serial ARN (add --save to keep it)"));
        }
    };
    if opts.save {
        save_serial(ctx, files, plan, &serial)?;
    } else {
        ctx.say(&format!(
            "found MFA device {serial} (run with --save to keep it in the config)"
        ));
    }
    Ok(serial)
}

fn save_serial(
    ctx: &Context,
    files: &AwsFiles,
    plan: &LoginPlan,
    serial: &str,
) -> Result<(), Error> {
    output::save_config_value(&files.config_path, &plan.profile, "mfa_serial", serial)?;
    ctx.say(&format!(
        "saved mfa_serial = {serial} in [{}] of {}",
        AwsFiles::config_section(&plan.profile),
        files.config_path.display()
    ));
    Ok(())
}
