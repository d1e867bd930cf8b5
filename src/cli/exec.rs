//! `awsmfa exec [--] CMD…`: run a command with temporary credentials in its environment.
//!
//! The child's environment is the parent's with every variable that could give it
//! another identity removed first, then what [`handoff`] says the profile needs: the
//! session's keys (or, with `--server`, the local server's address and token), the
//! region and the profile's endpoints; `AWSMFA_PROFILE` marks it, so a nested `exec` is
//! refused unless asked for. Secrets go only into the environment, never into arguments.
//! On Unix, without `--server`, the command replaces awsmfa (`execve`, as `env CMD`
//! does): its exit status and the signals sent to it are its own, and nothing of
//! awsmfa's, its secrets included, stays in memory. Otherwise (`--server`, Windows)
//! awsmfa runs it as a child and passes its status through (a death by signal N as
//! 128+N, as shells do); SIGINT, SIGTERM and SIGHUP sent to awsmfa are forwarded to it,
//! and awsmfa ends as soon as it does. Either way a command that cannot be run gives 127
//! (not found) or 126, as in a shell. On Windows the status is passed whole, and Ctrl-C
//! reaches the child through the console it shares with awsmfa.

use std::ffi::OsString;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use clap::Args;

use super::Context;
use super::handoff::{self, Creds, Handoff};
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
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
    /// The command and its arguments [default: $SHELL; on Windows %COMSPEC%, or
    /// PowerShell when run from it]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
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
    // With --server the config may be copied for the child (the files are read whole).
    let setup = if opts.server {
        Setup::new(ctx)?
    } else {
        Setup::for_serving(ctx)?
    };
    // Credentials first, in the foreground: a prompt happens now, and errors come
    // before the command starts.
    let served = {
        let fx = CliEffects::new(ctx, &setup, None);
        setup.serve(&fx, &setup.request())?
    };
    let mut cmd = child_command(ctx, opts);
    if !opts.server {
        let handoff = handoff::handoff(ctx, &setup, Creds::Fixed(&served.creds))?;
        apply(&mut cmd, &handoff);
        if opts.command.is_empty() {
            let until = served
                .creds
                .expiration
                .map(|t| format!(" until {}", local_time(t)))
                .unwrap_or_default();
            ctx.say(&format!(
                "starting a shell with the session of profile {:?}{until}; exit it to return",
                ctx.profile
            ));
        }
        // Nothing of awsmfa's is needed once the command starts (no server, no config
        // copy to remove): on Unix the command takes awsmfa's place, as `env` would run
        // it, instead of a child awsmfa waits for. Its status and the signals sent to it
        // are then its own, and `exec` costs only awsmfa's start.
        #[cfg(unix)]
        if handoff.scratch.is_none() {
            return Ok(become_command(ctx, cmd));
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
    let url = server::url(addr);
    let handoff = handoff::handoff(
        ctx,
        &setup,
        Creds::Served {
            url: &url,
            token: &token,
        },
    )?;
    apply(&mut cmd, &handoff);
    if opts.command.is_empty() {
        ctx.say(&format!(
            "starting a shell served the session of profile {:?}, renewed as needed; exit it to return",
            ctx.profile
        ));
    }
    ctx.debug(1, &format!("serving credentials on {url}"));
    let provider = EngineProvider { ctx, setup: &setup };
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| server::serve(&listener, &token, &provider, &stop));
        let result = run_child(ctx, cmd);
        drop(handoff);
        match result {
            // The command's end is ours, whatever the server's threads are doing (one
            // may be waiting for a person, a lock or a silent endpoint): the kernel
            // releases their locks, and every file they write is replaced atomically.
            Ok(code) => {
                crate::proc::end_helpers();
                std::process::exit(i32::from(code))
            }
            Err(e) => {
                server::stop(addr, &stop);
                Err(e)
            }
        }
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
            .map_err(|e| match (e.exit, e.hint) {
                (Exit::NoPrompt, _) => format!(
                    "{}; run `awsmfa -p {} exec -- true` in a terminal for a code",
                    e.message, self.ctx.profile
                ),
                (_, Some(hint)) => format!("{} ({hint})", e.message),
                (_, None) => e.message,
            })
    }
}

/// The command, with awsmfa's own secrets and the nesting marker taken care of.
fn child_command(ctx: &Context, opts: &ExecOpts) -> Command {
    let (program, args) = match opts.command.split_first() {
        Some((p, a)) => (p.clone(), a.to_vec()),
        None => (
            crate::sys::default_shell(&ctx.env, crate::proc::parent_name().as_deref()),
            Vec::new(),
        ),
    };
    let mut cmd = Command::new(&program);
    cmd.args(&args);
    crate::proc::as_helper(&mut cmd);
    cmd.env("AWSMFA_PROFILE", &ctx.profile);
    cmd
}

fn apply(cmd: &mut Command, handoff: &Handoff) {
    for v in &handoff.unset {
        cmd.env_remove(v);
    }
    for (name, value) in &handoff.set {
        cmd.env(name, value.as_str());
    }
}

/// `14:05` today, else `Dec 4 14:05`, in local time.
fn local_time(t: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::system();
    let zoned = t.to_zoned(tz.clone());
    if zoned.date() == jiff::Timestamp::now().to_zoned(tz).date() {
        zoned.strftime("%H:%M").to_string()
    } else {
        zoned.strftime("%b %-d %H:%M").to_string()
    }
}

/// Runs the command and returns its status: its exit code, 128+N for a death by signal
/// N, and as a shell does, 127 when it is not found and 126 when it cannot run.
fn run_child(ctx: &Context, mut cmd: Command) -> Result<u8, Error> {
    let program = announce(ctx, &cmd);
    crate::sys::install_interrupt_forwarding();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return Ok(cannot_run(ctx, &program, &e)),
    };
    crate::sys::forward_interrupts_to(child.id());
    let status = child
        .wait()
        .map_err(|e| Error::new(Exit::Failure, format!("waiting for the command: {e}")))?;
    crate::sys::forward_interrupts_to(0);
    let code = crate::sys::exit_code(status);
    match u8::try_from(code) {
        Ok(code) => Ok(code),
        // A Windows status beyond 255 (0xC000013A after Ctrl-C) is passed on whole.
        Err(_) => std::process::exit(code),
    }
}

/// Replaces this process with the command (`execve`); returns only when it cannot run,
/// with the status a shell gives then.
#[cfg(unix)]
fn become_command(ctx: &Context, mut cmd: Command) -> u8 {
    use std::io::Write;
    let program = announce(ctx, &cmd);
    let _ = std::io::stdout().flush();
    let e = crate::sys::exec_in_place(&mut cmd);
    cannot_run(ctx, &program, &e)
}

/// The command's program, said at `-v` as it starts.
fn announce(ctx: &Context, cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy().into_owned();
    ctx.debug(
        1,
        &format!("running {program} with the session of {:?}", ctx.profile),
    );
    program
}

/// Says why `program` did not start; 127 when it is not found and 126 when it cannot
/// run, as a shell does.
fn cannot_run(ctx: &Context, program: &str, e: &std::io::Error) -> u8 {
    ctx.say(&format!("cannot run {program}: {e}"));
    if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}
