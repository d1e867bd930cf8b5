//! `awsmfa console`: the AWS web console with a role profile's session, signed in through
//! AWS's federation endpoint, with the same one code as every other command.
//!
//! The role session comes from the engine (cache, single flight, one code per device).
//! It is exchanged at the partition's federation endpoint for a sign-in token
//! (`Action=getSigninToken`), and the sign-in URL (`Action=login`) is opened in the
//! browser, or printed with `--url`. That URL is a bearer credential for the console:
//! it is never logged, never passed on a command line (the browser is given a private
//! file that redirects to it, removed once the browser has read it), and printed only
//! when asked for.
//!
//! MFA sessions (`GetSessionToken`) cannot sign in: the federation endpoint refuses them.
//! `--federation-token` uses `GetFederationToken` instead, whose sessions carry no MFA,
//! so a policy that requires MFA denies them everything.

use std::time::{Duration, Instant};

use clap::Args;
use zeroize::Zeroizing;

use super::Context;
use super::setup::{CliEffects, Setup, http_settings, long_term_keys};
use crate::config::profile::Kind;
use crate::error::{Error, Exit};
use crate::output;

#[derive(Debug, Args)]
pub struct ConsoleOpts {
    /// Print the sign-in URL on stdout instead of opening a browser (it signs anyone in
    /// who has it, for up to 15 minutes)
    #[arg(long)]
    pub url: bool,
    /// The console page to open: a service (s3, ec2, iam, …) or a console URL
    #[arg(long, value_name = "PAGE")]
    pub destination: Option<String>,
    /// Length of the console session, 15m to 12h [default: AWS's]
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// For a profile without a role: sign in with GetFederationToken (such sessions
    /// carry no MFA; a policy that requires MFA denies them everything)
    #[arg(long)]
    pub federation_token: bool,
    /// aws-vault's word order (`console work`, aws-vault's `login work`): the profile,
    /// as with -p
    #[arg(value_name = "PROFILE", hide = true, allow_hyphen_values = true)]
    pub profile_word: Option<String>,
}

/// The sign-in and console hosts of an AWS partition (every partition botocore knows:
/// `src/sts/partitions.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// `https://signin.aws.amazon.com`
    pub signin: &'static str,
    pub console: &'static str,
}

impl Partition {
    /// The federation endpoint that makes sign-in tokens.
    pub fn federation(&self) -> String {
        format!("{}/federation", self.signin)
    }
}

/// The partition of a role ARN (`arn:aws-cn:…`), else of the region (`cn-north-1`),
/// else `aws`.
pub fn partition(role_arn: Option<&str>, region: Option<&str>) -> Partition {
    use crate::sts::endpoint::{partition_by_id, partition_of};
    let p = role_arn
        .and_then(|a| a.split(':').nth(1))
        .and_then(partition_by_id)
        .unwrap_or_else(|| partition_of(region.unwrap_or("aws-global")));
    Partition {
        signin: &p.signin,
        console: &p.console,
    }
}

/// The console page to land on: the home page, a service's page, or a console URL of
/// the same partition.
pub fn destination(
    page: Option<&str>,
    partition: Partition,
    region: Option<&str>,
) -> Result<String, Error> {
    let query = region.map(|r| format!("?region={r}")).unwrap_or_default();
    let Some(page) = page.map(str::trim) else {
        return Ok(format!("{}/console/home{query}", partition.console));
    };
    if !page.is_empty()
        && page.len() <= 64
        && page
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Ok(format!("{}/{page}/home{query}", partition.console));
    }
    // A URL on the console's own host (or a regional one: REGION.console.aws.amazon.com).
    let domain = partition.console.trim_start_matches("https://");
    let host = page
        .strip_prefix("https://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let same = host == domain || host.ends_with(&format!(".{domain}"));
    // Only host name characters: browsers read `\` as `/`, so
    // `https://evil.example\.console.aws.amazon.com/` would open evil.example.
    let host_name = host.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !same || !host_name || page.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::new(
            Exit::Usage,
            format!(
                "--destination must be a service name (s3, ec2, …) or a URL on {}",
                partition.console
            ),
        ));
    }
    Ok(page.to_string())
}

/// `…/federation?Action=login&Issuer=awsmfa&Destination=…&SigninToken=…`
pub fn login_url(signin: &str, destination: &str, token: &str) -> Zeroizing<String> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("Action", "login")
        .append_pair("Issuer", "awsmfa")
        .append_pair("Destination", destination)
        .append_pair("SigninToken", token);
    Zeroizing::new(format!("{signin}?{}", query.finish()))
}

/// AWS's bounds for the console session.
const CONSOLE_MIN_SECS: u64 = 900;
const CONSOLE_MAX_SECS: u64 = 43_200;

/// Everything allowed, within what the user's own policies allow: a federation token's
/// session policy (without one the session may do nothing).
const FEDERATION_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

pub fn run(ctx: &Context, opts: &ConsoleOpts) -> Result<(), Error> {
    let duration = match &opts.duration {
        None => None,
        Some(text) => {
            let secs = crate::lifetime::parse_duration(text)
                .map_err(|e| Error::new(Exit::Usage, format!("--duration: {e}")))?;
            if !(CONSOLE_MIN_SECS..=CONSOLE_MAX_SECS).contains(&secs) {
                return Err(Error::new(
                    Exit::Usage,
                    format!(
                        "--duration: {secs} s is outside what AWS allows for a console session (15m to 12h)"
                    ),
                ));
            }
            Some(secs as u32)
        }
    };
    let setup = Setup::new(ctx)?;
    let region = setup.region.clone();
    let role_arn = match &setup.resolved.kind {
        Kind::Role(role) => Some(role.role_arn.clone()),
        Kind::MfaSession(_) => None,
    };
    let partition = partition(role_arn.as_deref(), region.as_deref());
    let dest = destination(opts.destination.as_deref(), partition, region.as_deref())?;
    let signin = match ctx.env.get("AWSMFA_SIGNIN_URL") {
        None => partition.federation(),
        Some(url) => {
            if let Some(problem) = crate::config::shape::endpoint_url_problem(url) {
                return Err(Error::new(
                    Exit::Config,
                    format!("AWSMFA_SIGNIN_URL: {problem}"),
                ));
            }
            url.to_string()
        }
    };
    let client = super::setup::query_client(
        ctx,
        &setup.sts_endpoint,
        http_settings(ctx, &setup.resolved)?,
    )?;
    let (session, session_duration) = match &setup.resolved.kind {
        Kind::Role(_) => {
            let fx = CliEffects::new(ctx, &setup, None);
            let served = setup.serve(&fx, &setup.request())?;
            (served.creds, duration)
        }
        Kind::MfaSession(keys) => {
            if !opts.federation_token {
                return Err(Error::new(
                    Exit::Config,
                    format!(
                        "profile {:?} has no role, and AWS's console sign-in does not accept MFA session (GetSessionToken) credentials",
                        ctx.profile
                    ),
                )
                .with_hint(
                    "sign in as a role (`awsmfa policy role-trust`), or use --federation-token",
                ));
            }
            ctx.warn(
                "a federation-token session carries no MFA: a policy that requires MFA denies it everything in the console",
            );
            let keys = long_term_keys(ctx, keys)?;
            let name = federation_name(&ctx.profile);
            ctx.debug(1, &format!("GetFederationToken as {name:?}"));
            let creds = client.get_federation_token(
                &keys,
                &name,
                duration.unwrap_or(CONSOLE_MAX_SECS as u32),
                FEDERATION_POLICY,
            )?;
            // The console session lasts as long as the federation token.
            (creds, None)
        }
    };
    ctx.debug(
        1,
        &format!(
            "asking {} for a sign-in token{}",
            signin,
            session_duration
                .map(|d| format!(" for a {d} s console session"))
                .unwrap_or_default()
        ),
    );
    let token = client
        .signin_token(&signin, &session, session_duration)
        .map_err(|e| {
            let mut err = Error::from(e);
            if err.hint.is_none() {
                err.hint = Some(if session_duration.is_some() {
                    "try without --duration (AWS refuses it for some role sessions)".into()
                } else {
                    "the sign-in endpoint accepts role and federation-token sessions only".into()
                });
            }
            err
        })?;
    let url = login_url(&signin, &dest, &token);
    if opts.url {
        let mut line = Zeroizing::new(url.to_string());
        line.push('\n');
        return output::print_stdout(&line)
            .map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")));
    }
    open_in_browser(ctx, &setup, &url)
}

/// A federated user's name: 2–32 of `[\w+=,.@-]`.
fn federation_name(profile: &str) -> String {
    let mut name: String = format!("awsmfa-{profile}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(32);
    name
}

/// Opens `url` in the browser without putting it on a command line: a private file that
/// redirects to it is opened instead, and removed once the browser has read it (at most
/// 60 s later).
fn open_in_browser(ctx: &Context, setup: &Setup, url: &str) -> Result<(), Error> {
    let Some(opener) = browser_opener(ctx) else {
        return Err(Error::new(
            Exit::NoPrompt,
            "there is no browser to open here (no display)",
        )
        .with_hint("pass --url and open the printed URL in a browser yourself"));
    };
    let dir = setup
        .cache
        .private_subdir("console", &|m| ctx.warn(m))
        .map_err(crate::session::engine::cache_error)?;
    let page = tempfile::Builder::new()
        .prefix("signin-")
        .suffix(".html")
        .tempfile_in(&dir)
        .map_err(|e| Error::new(Exit::Config, format!("{}: {e}", dir.display())))?;
    let escaped = Zeroizing::new(
        url.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;"),
    );
    let html = Zeroizing::new(format!(
        "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><meta http-equiv=\"refresh\" content=\"0;url={e}\"><title>awsmfa: AWS console</title><a href=\"{e}\">Open the AWS console</a>\n",
        e = escaped.as_str()
    ));
    std::fs::write(page.path(), html.as_bytes())
        .map_err(|e| Error::new(Exit::Config, format!("{}: {e}", page.path().display())))?;
    let written = std::fs::metadata(page.path())
        .and_then(|m| m.accessed())
        .ok();
    let mut browser = std::process::Command::new(&opener[0]);
    // Started like every helper: the browser gets neither awsmfa's secrets nor its
    // core-dump limit.
    crate::proc::as_helper(&mut browser);
    let status = browser
        .args(&opener[1..])
        .arg(page.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| Error::new(Exit::Failure, format!("cannot run {}: {e}", opener[0])))?;
    if !status.success() {
        return Err(Error::new(
            Exit::Failure,
            format!("{} could not open a browser ({status})", opener[0]),
        )
        .with_hint("pass --url and open the printed URL in a browser yourself"));
    }
    ctx.say(&format!(
        "opening the AWS console for profile {:?} in your browser",
        ctx.profile
    ));
    // The page stays until the browser has read it (its access time moves), then goes.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let read = std::fs::metadata(page.path())
            .and_then(|m| m.accessed())
            .ok();
        if read.is_some() && read != written {
            std::thread::sleep(Duration::from_secs(2));
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(page);
    Ok(())
}

/// The program that opens a file in the browser: `AWSMFA_BROWSER`, else `open` on
/// macOS, `cmd /C start ""` on Windows, `xdg-open` where there is a display.
fn browser_opener(ctx: &Context) -> Option<Vec<String>> {
    if let Some(cmd) = ctx
        .env
        .get("AWSMFA_BROWSER")
        .filter(|c| !c.trim().is_empty())
    {
        return Some(cmd.split_whitespace().map(String::from).collect());
    }
    if cfg!(target_os = "macos") {
        return Some(vec!["open".into()]);
    }
    if cfg!(windows) {
        return Some(vec![
            "cmd".into(),
            "/C".into(),
            "start".into(),
            "\"\"".into(),
        ]);
    }
    (ctx.env.is_set("DISPLAY") || ctx.env.is_set("WAYLAND_DISPLAY"))
        .then(|| vec!["xdg-open".into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_from_the_role_or_the_region() {
        assert_eq!(
            partition(Some("arn:aws-cn:iam::1:role/r"), None).federation(),
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            partition(None, Some("us-gov-west-1")).console,
            "https://console.amazonaws-us-gov.com"
        );
        assert_eq!(
            partition(Some("arn:aws:iam::1:role/r"), Some("cn-north-1")).federation(),
            "https://signin.aws.amazon.com/federation"
        );
        assert_eq!(
            partition(None, None).console,
            "https://console.aws.amazon.com"
        );
        assert_eq!(
            partition(None, Some("us-iso-east-1")).federation(),
            "https://signin.c2shome.ic.gov/federation"
        );
        assert_eq!(
            partition(Some("arn:aws-iso-b:iam::1:role/r"), None).console,
            "https://console.sc2shome.sgov.gov"
        );
    }

    #[test]
    fn destinations() {
        let aws = partition(None, None);
        assert_eq!(
            destination(None, aws, Some("eu-west-1")).unwrap(),
            "https://console.aws.amazon.com/console/home?region=eu-west-1"
        );
        assert_eq!(
            destination(Some("s3"), aws, None).unwrap(),
            "https://console.aws.amazon.com/s3/home"
        );
        let page = "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:";
        assert_eq!(destination(Some(page), aws, None).unwrap(), page);
        for bad in [
            "https://evil.example/console.aws.amazon.com",
            "https://console.aws.amazon.com.evil.example/",
            "https://evil.example\\.console.aws.amazon.com/",
            "https://evil.example%5C.console.aws.amazon.com/",
            "https://user@console.aws.amazon.com/",
            "https://console.aws.amazon.com:8443/",
            "https://a..console.aws.amazon.com/",
            "http://console.aws.amazon.com/",
            "S3 home",
        ] {
            assert_eq!(
                destination(Some(bad), aws, None).unwrap_err().exit,
                Exit::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_login_url_carries_every_part_encoded() {
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com/s3/home?region=x",
            "tok+/=",
        );
        assert_eq!(
            url.as_str(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=awsmfa&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Dx&SigninToken=tok%2B%2F%3D"
        );
    }

    #[test]
    fn federated_user_names_fit_aws_rules() {
        assert_eq!(federation_name("work"), "awsmfa-work");
        assert_eq!(federation_name("a b/c"), "awsmfa-a-b-c");
        assert_eq!(federation_name(&"x".repeat(40)).len(), 32);
    }
}
