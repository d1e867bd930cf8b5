//! `awsmfa exec [--] CMD…`: run a command with temporary credentials in its environment.
//!
//! The child's environment is the parent's with every stale AWS credential variable and
//! profile selector removed first, then the session's keys, its expiry, the region and
//! the profile's endpoints set; `AWSMFA_PROFILE` marks it, so a nested `exec` is refused
//! unless asked for. Secrets go only into the environment, never into arguments. The
//! child's exit status is passed through (a death by signal N as 128+N); SIGINT,
//! SIGTERM and SIGHUP sent to awsmfa are forwarded to it.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use clap::Args;

use super::Context;
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output::formats;
use crate::server;

#[derive(Debug, Args)]
pub struct ExecOpts {
    /// Run even inside another `awsmfa exec`
    #[arg(long)]
    pub allow_nested: bool,
    /// Serve renewing credentials to the command from a local server (container
    /// credentials protocol) instead of fixed ones in its environment
    #[arg(long)]
    pub server: bool,
    /// The command and its arguments [default: $SHELL]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

/// Variables removed from the child's environment before the new ones are set.
pub const STALE_VARS: [&str; 10] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Returns the child's exit status.
pub fn run(ctx: &Context, opts: &ExecOpts) -> Result<u8, Error> {
    if let Some(outer) = ctx.env.get("AWSMFA_PROFILE")
        && !opts.allow_nested
    {
        return Err(Error::new(
            Exit::Usage,
            format!("already inside `awsmfa exec` for profile {outer:?}"),
        )
        .with_hint("exit that shell first, or pass --allow-nested"));
    }
    let setup = Setup::new(ctx)?;
    // Credentials first, in the foreground: a prompt happens now, and errors come
    // before the command starts.
    let fx = CliEffects::new(ctx, &setup, None);
    let served = setup.serve(&fx, &setup.request())?;
    let mut cmd = child_command(ctx, &setup, opts);
    if !opts.server {
        for (name, value) in formats::credential_vars(&served.creds, setup.region.as_deref()) {
            cmd.env(name, value.as_str());
        }
        return run_child(ctx, cmd);
    }
    let listener = server::bind(0)
        .map_err(|e| Error::new(Exit::Failure, format!("cannot listen on 127.0.0.1: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::new(Exit::Failure, e.to_string()))?;
    let token = server::random_token()
        .map_err(|e| Error::new(Exit::Failure, format!("no random token: {e}")))?;
    cmd.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", server::url(addr));
    cmd.env("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.as_str());
    if let Some(region) = &setup.region {
        cmd.env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    ctx.debug(1, &format!("serving credentials on {}", server::url(addr)));
    let provider = EngineProvider { ctx, setup: &setup };
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| server::serve(&listener, &token, &provider, &stop, 8));
        let result = run_child(ctx, cmd);
        server::stop(addr, &stop);
        result
    })
}

/// Serves the profile through the engine, one set of effects per request.
pub struct EngineProvider<'a> {
    pub ctx: &'a Context,
    pub setup: &'a Setup,
}

impl server::Provider for EngineProvider<'_> {
    fn credentials(&self) -> Result<crate::creds::Credentials, String> {
        let fx = CliEffects::new(self.ctx, self.setup, None);
        self.setup
            .serve(&fx, &self.setup.request())
            .map(|s| s.creds)
            .map_err(|e| e.message)
    }
}

/// The command with its environment, less the credentials.
fn child_command(ctx: &Context, setup: &Setup, opts: &ExecOpts) -> Command {
    let (program, args) = match opts.command.split_first() {
        Some((p, a)) => (p.clone(), a.to_vec()),
        None => (
            OsString::from(ctx.env.get("SHELL").unwrap_or("/bin/sh")),
            Vec::new(),
        ),
    };
    let mut cmd = Command::new(&program);
    cmd.args(&args);
    for v in STALE_VARS.iter().chain(&crate::proc::PRIVATE_VARS) {
        cmd.env_remove(v);
    }
    cmd.env("AWSMFA_PROFILE", &ctx.profile);
    for (name, value) in endpoint_vars(ctx, setup) {
        cmd.env(name, value);
    }
    cmd
}

fn run_child(ctx: &Context, mut cmd: Command) -> Result<u8, Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    ctx.debug(
        1,
        &format!("running {program} with the session of {:?}", ctx.profile),
    );
    install_forwarding();
    let mut child = cmd.spawn().map_err(|e| {
        let exit_code = if e.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        };
        Error::new(
            Exit::Failure,
            format!("cannot run {program}: {e} (exit status {exit_code})"),
        )
    })?;
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let status = child
        .wait()
        .map_err(|e| Error::new(Exit::Failure, format!("waiting for the command: {e}")))?;
    CHILD.store(0, Ordering::SeqCst);
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => (128 + sig) as u8,
        _ => 1,
    })
}

fn install_forwarding() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = forward as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// The profile's endpoint settings as the environment variables the AWS CLI and SDKs
/// read, so a child reaches the same cloud (Wasabi…) without a profile. Variables the
/// user already set win.
fn endpoint_vars(ctx: &Context, setup: &Setup) -> Vec<(String, String)> {
    let settings = &setup.resolved.settings;
    let mut out = Vec::new();
    if let Some(url) = &settings.endpoint_url
        && !ctx.env.is_set("AWS_ENDPOINT_URL")
    {
        out.push(("AWS_ENDPOINT_URL".to_string(), url.clone()));
    }
    if let Some(name) = &settings.services {
        for (service, keys) in setup.files.services(name) {
            let var = format!(
                "AWS_ENDPOINT_URL_{}",
                service.to_ascii_uppercase().replace(['-', ' '], "_")
            );
            if let Some(url) = keys.get("endpoint_url")
                && !ctx.env.is_set(&var)
            {
                out.push((var, url.clone()));
            }
        }
    }
    if let Some(bundle) = &settings.ca_bundle
        && !ctx.env.is_set("AWS_CA_BUNDLE")
    {
        out.push(("AWS_CA_BUNDLE".to_string(), bundle.clone()));
    }
    out
}
