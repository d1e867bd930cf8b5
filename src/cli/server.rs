//! `awsmfa server`: the local credentials server on its own, for a shell, an IDE or
//! tools started elsewhere.
//!
//! `eval "$(awsmfa server -p X)"` gets the first session in the foreground (a prompt
//! happens there), starts the server in the background and returns at once: the shell
//! gets what [`super::handoff`] says the profile needs (the server's address and token,
//! region, endpoints). The background server stops when the shell that started it
//! exits, on `awsmfa server --stop`, or on SIGTERM/SIGINT/SIGHUP. It cannot ask on a
//! terminal (it has none): when the MFA session runs out it uses the profile's
//! `mfa_process`, a stored seed or a desktop dialog, and otherwise answers with an error
//! that says how to enter a new code (any awsmfa command for the profile, run in a
//! terminal, refreshes the shared cache that the server reads).
//!
//! `--foreground` serves in the foreground until stopped (IDE launchers, service
//! managers). Running servers are recorded in `servers/` of the session cache, one
//! record per process, each held locked by its server while it runs: a record that can
//! be locked is a leftover and is removed.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use clap::Args;
use serde::{Deserialize, Serialize};

use super::Context;
use super::exec::EngineProvider;
use super::handoff::{self, Creds};
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output;
use crate::output::formats::{self, EnvFormat};
use crate::server;

#[derive(Debug, Args)]
pub struct ServerOpts {
    /// Port on 127.0.0.1 [default: any free port]
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub port: u16,
    /// How to print the variables [default: as for `env`]
    #[arg(long, value_enum)]
    pub format: Option<EnvFormat>,
    /// Serve in the foreground until stopped, instead of in the background
    #[arg(long)]
    pub foreground: bool,
    /// Keep serving after the shell that started it exits (until `--stop`)
    #[arg(long, conflicts_with = "foreground")]
    pub detach: bool,
    /// List the running servers
    #[arg(long, conflicts_with_all = ["stop", "foreground"])]
    pub list: bool,
    /// Stop the server this shell started (or the named profile's; every one with
    /// --all) and print the lines that clear its variables:
    /// eval "$(awsmfa server --stop)"
    #[arg(long, conflicts_with = "foreground")]
    pub stop: bool,
    /// With --stop: every running server
    #[arg(long, requires = "stop")]
    pub all: bool,
    /// The background server itself (internal)
    #[arg(long, hide = true)]
    pub daemon: bool,
    /// The background server stops when this process does (internal)
    #[arg(long, hide = true)]
    pub watch_pid: Option<u32>,
    /// When the watched process started: with the pid, it names that process for good
    /// (internal)
    #[arg(long, hide = true, requires = "watch_pid")]
    pub watch_start: Option<u64>,
}

/// What is recorded of a running background server (no secret: the token is only in
/// the server's memory and the shell's environment). `--stop` signals a process only
/// when it is the one recorded: same pid, start time and executable.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    pid: u32,
    /// When the server process started ([`crate::sys::process_start`]).
    #[serde(default)]
    start: Option<u64>,
    /// The server's executable.
    #[serde(default)]
    exe: Option<PathBuf>,
    profile: String,
    url: String,
    started: String,
    watch_pid: Option<u32>,
    #[serde(default)]
    watch_start: Option<u64>,
}

impl Record {
    /// Whether process `pid` is still the server this record names.
    fn is_running_server(&self) -> bool {
        let (Some(start), Some(exe)) = (self.start, &self.exe) else {
            return false;
        };
        crate::sys::process_start(self.pid) == Some(start)
            && crate::sys::process_exe(self.pid).as_ref() == Some(exe)
    }

    fn watches(&self, shell: Option<(u32, Option<u64>)>) -> bool {
        shell.is_some_and(|(pid, start)| self.watch_pid == Some(pid) && self.watch_start == start)
    }
}

/// The shell that holds (or will hold) the variables `server` prints: the one reading
/// its output (`eval "$(…)"`, however many subshells stand between), else the parent,
/// with its start time — a pid alone can be reused once the shell is gone
/// (`None` where the system does not say, as on the BSDs: the pid alone then).
fn calling_shell() -> Option<(u32, Option<u64>)> {
    let pid = crate::sys::stdout_reader().or_else(crate::sys::parent_pid)?;
    (pid > 1).then_some(())?;
    Some((pid, crate::sys::process_start(pid)))
}

/// The server URL this shell's variables point at, when they point at an awsmfa server.
fn served_url(ctx: &Context) -> Option<&str> {
    let url = ctx.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")?;
    (url.starts_with("http://127.0.0.1:") && url.ends_with(server::PATH)).then_some(url)
}

pub fn run(ctx: &Context, opts: &ServerOpts) -> Result<u8, Error> {
    if opts.list {
        return list(ctx).map(|()| 0);
    }
    if opts.stop {
        return stop(ctx, opts).map(|()| 0);
    }
    if opts.daemon {
        return daemon(ctx, opts);
    }
    let setup = Setup::new(ctx)?;
    // A first session now, in the foreground, so a prompt or an error comes at once.
    {
        let fx = CliEffects::new(ctx, &setup, None);
        setup.serve(&fx, &setup.request())?;
    }
    let format = opts.format.unwrap_or_else(|| {
        EnvFormat::detect(
            crate::proc::parent_name().as_deref(),
            crate::sys::login_shell(&ctx.env).as_deref(),
        )
    });
    if opts.foreground {
        return foreground(ctx, &setup, opts.port, format);
    }
    start_background(ctx, &setup, opts, format)
}

fn listen(port: u16) -> Result<(std::net::TcpListener, std::net::SocketAddr), Error> {
    let listener = server::bind(port).map_err(|e| {
        Error::new(
            Exit::Failure,
            format!("cannot listen on 127.0.0.1:{port}: {e}"),
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::new(Exit::Failure, e.to_string()))?;
    Ok((listener, addr))
}

fn token() -> Result<zeroize::Zeroizing<String>, Error> {
    server::random_token().map_err(|e| Error::new(Exit::Failure, format!("no random token: {e}")))
}

fn foreground(ctx: &Context, setup: &Setup, port: u16, format: EnvFormat) -> Result<u8, Error> {
    let (listener, addr) = listen(port)?;
    let token = token()?;
    let url = server::url(addr);
    let handoff = handoff::handoff(
        ctx,
        setup,
        Creds::Served {
            url: &url,
            token: &token,
        },
    )?
    .with_marker();
    output::print_stdout(&formats::env_script(format, &handoff.unset, &handoff.set)?)
        .map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))?;
    ctx.say(&format!(
        "serving the credentials of profile {:?} on {url} (Ctrl-C stops)",
        ctx.profile
    ));
    let provider = EngineProvider { ctx, setup };
    server::serve(&listener, &token, &provider, &AtomicBool::new(false));
    Ok(0)
}

/// Starts `awsmfa … server --daemon` in its own session, passes its output (the shell
/// code) through, and returns.
fn start_background(
    ctx: &Context,
    setup: &Setup,
    opts: &ServerOpts,
    format: EnvFormat,
) -> Result<u8, Error> {
    let dir = servers_dir(ctx, setup)?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(Exit::Failure, format!("cannot find awsmfa itself: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--profile").arg(&ctx.profile);
    if let Some(p) = &ctx.config_file {
        cmd.arg("--config-file").arg(p);
    }
    if let Some(p) = &ctx.credentials_file {
        cmd.arg("--credentials-file").arg(p);
    }
    if let Some(u) = &ctx.endpoint_url {
        cmd.arg("--endpoint-url").arg(u);
    }
    if let Some(r) = &ctx.region {
        cmd.arg("--region").arg(r);
    }
    for _ in 0..ctx.verbose {
        cmd.arg("-v");
    }
    cmd.args(["--color", "never", "server", "--daemon", "--port"])
        .arg(opts.port.to_string())
        .arg("--format")
        .arg(format_name(format));
    if !opts.detach {
        // The shell that evaluates our output: the server ends with it.
        match calling_shell() {
            Some((pid, start)) => {
                ctx.debug(1, &format!("the server ends with the shell of pid {pid}"));
                cmd.arg("--watch-pid").arg(pid.to_string());
                if let Some(start) = start {
                    cmd.arg("--watch-start").arg(start.to_string());
                }
            }
            None => {
                return Err(Error::new(
                    Exit::Failure,
                    "cannot tell which shell starts the server, so it would never stop",
                )
                .with_hint("pass --detach and stop it with `awsmfa server --stop --all`"));
            }
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::proc::new_session(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            Exit::Failure,
            format!("cannot start the background server: {e}"),
        )
    })?;
    let mut text = zeroize::Zeroizing::new(Vec::new());
    let _ = child
        .stdout
        .take()
        .expect("piped")
        .take(64 * 1024)
        .read_to_end(&mut text);
    if text.is_empty() {
        let mut err = String::new();
        let _ = child
            .stderr
            .take()
            .expect("piped")
            .take(4096)
            .read_to_string(&mut err);
        let _ = child.wait();
        let line = err
            .lines()
            .find_map(|l| l.strip_prefix("awsmfa: "))
            .unwrap_or("it exited without a word");
        return Err(Error::new(
            Exit::Failure,
            format!("the background server did not start: {line}"),
        ));
    }
    // The server goes on alone; it was started in a session of its own.
    drop(child);
    output::print_stdout(&String::from_utf8_lossy(&text))
        .map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))?;
    let end = if opts.detach {
        "until `awsmfa server --stop`"
    } else {
        "until this shell exits (or `awsmfa server --stop`)"
    };
    ctx.say(&format!(
        "serving the credentials of profile {:?} in the background {end}; records in {}",
        ctx.profile,
        dir.display()
    ));
    Ok(0)
}

fn format_name(format: EnvFormat) -> &'static str {
    match format {
        EnvFormat::Sh => "sh",
        EnvFormat::Fish => "fish",
        EnvFormat::Powershell => "powershell",
        EnvFormat::Cmd => "cmd",
        EnvFormat::Json => "json",
        EnvFormat::Dotenv => "dotenv",
    }
}

/// The background server: record itself, print the shell code, serve until told to
/// stop or until the watched process is gone.
fn daemon(ctx: &Context, opts: &ServerOpts) -> Result<u8, Error> {
    // Before any thread exists, so that every thread inherits the mask and only the
    // signal thread below receives them.
    let signals = crate::proc::block_stop_signals();
    let setup = Setup::new(ctx)?;
    let dir = servers_dir(ctx, &setup)?;
    let (listener, addr) = listen(opts.port)?;
    let token = token()?;
    let url = server::url(addr);
    let pid = std::process::id();
    let record_path = dir.join(format!("{pid}.json"));
    let log_path = dir.join(format!("{pid}.log"));
    let handoff = handoff::handoff(
        ctx,
        &setup,
        Creds::Served {
            url: &url,
            token: &token,
        },
    )?
    .with_marker();
    // Before anything is recorded: a value the format cannot carry is an error the
    // waiting `awsmfa server` shows.
    let text = formats::env_script(
        opts.format.unwrap_or(EnvFormat::Sh),
        &handoff.unset,
        &handoff.set,
    )?;
    let record = Record {
        pid,
        start: crate::sys::process_start(pid),
        exe: crate::sys::process_exe(pid),
        profile: ctx.profile.clone(),
        url: url.clone(),
        started: jiff::Timestamp::now().to_string(),
        watch_pid: opts.watch_pid,
        watch_start: opts.watch_start,
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::new(Exit::Config, format!("{what} {}: {e}", dir.display()))
    };
    // Locked before it appears under its name, so `--list` never takes a starting
    // server's record for a leftover. A shared lock, taken once it is written: Windows
    // locks are mandatory, and a shared one still lets `--list` read the record.
    let held = (|| -> std::io::Result<File> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".record-")
            .tempfile_in(&dir)?;
        tmp.write_all(&serde_json::to_vec(&record).expect("serializable"))?;
        tmp.as_file().lock_shared()?;
        tmp.persist(&record_path).map_err(|e| e.error)
    })()
    .map_err(|e| fail("cannot record the server in", &e))?;
    let log = {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        crate::sys::open_nofollow(&mut opts, true);
        opts.open(&log_path)
    }
    .map_err(|e| fail("cannot make its log in", &e))?;
    let mut scratch = handoff.scratch;
    let cleanup = move || {
        let _ = std::fs::remove_file(&record_path);
        drop(held);
        let _ = std::fs::remove_file(&log_path);
        if let Some(dir) = scratch.take() {
            let _ = dir.close();
        }
    };
    // From here on, messages go to the log; the shell code goes to the waiting
    // `awsmfa server`, and standard output is then closed so that `$(…)` returns.
    crate::proc::redirect_stderr(&log);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    drop(stdout);
    crate::proc::close_stdout();
    ctx.say(&format!(
        "serving the credentials of profile {:?} on {url} (pid {pid})",
        ctx.profile
    ));
    let shutdown = std::sync::Mutex::new(Some(cleanup));
    let stop_now = |why: &str| {
        ctx.say(&format!("stopping: {why}"));
        if let Some(clean) = shutdown.lock().unwrap_or_else(|e| e.into_inner()).take() {
            clean();
        }
        crate::proc::end_helpers();
        std::process::exit(0);
    };
    let provider = EngineProvider { ctx, setup: &setup };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let sig = crate::proc::wait_for_signal(&signals);
            stop_now(&format!("signal {sig}"));
        });
        if let Some(watched) = opts.watch_pid {
            // The same process, not just the same pid: once the shell is gone its pid
            // may be given to another process.
            let start = opts.watch_start;
            let there = move || match start {
                Some(start) => crate::sys::process_start(watched) == Some(start),
                None => crate::proc::alive(watched),
            };
            scope.spawn(move || {
                while there() {
                    std::thread::sleep(Duration::from_secs(1));
                }
                stop_now(&format!("the shell that started it (pid {watched}) exited"));
            });
        }
        server::serve(&listener, &token, &provider, &AtomicBool::new(false));
    });
    Ok(0)
}

/// `servers/` in the session cache, private.
fn servers_dir(ctx: &Context, setup: &Setup) -> Result<PathBuf, Error> {
    setup
        .cache
        .private_subdir("servers", &|m| ctx.warn(m))
        .map_err(crate::session::engine::cache_error)
}

/// The servers' directory without resolving a profile (`--list` and `--stop` work even
/// when the profile's files are broken), checked as every private directory is; `None`
/// when no server was ever started.
fn servers_dir_of(ctx: &Context) -> Result<Option<PathBuf>, Error> {
    let cache = crate::session::cache::Cache::from_env(&ctx.env).ok_or_else(|| {
        Error::new(
            Exit::Config,
            "HOME is not set, so the session cache has no place; set HOME or AWSMFA_CACHE_DIR",
        )
    })?;
    cache
        .existing_subdir("servers")
        .map_err(crate::session::engine::cache_error)
}

/// The running servers' records; leftovers of servers that are gone are removed. Each
/// is opened without following a link and checked to be a file of this user's.
fn running(dir: &Path) -> Vec<Record> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(Some((file, _))) = crate::fsx::open_private(&path, false) else {
            continue;
        };
        if file.try_lock().is_ok() {
            // Nobody holds it: its server is gone.
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(path.with_extension("log"));
            continue;
        }
        let mut text = String::new();
        if (&file).take(64 * 1024).read_to_string(&mut text).is_ok()
            && let Ok(record) = serde_json::from_str::<Record>(&text)
        {
            out.push(record);
        }
    }
    out.sort_by_key(|r| r.pid);
    out
}

fn list(ctx: &Context) -> Result<(), Error> {
    let records = servers_dir_of(ctx)?
        .map(|dir| running(&dir))
        .unwrap_or_default();
    let mut text = String::new();
    for r in &records {
        let until = match r.watch_pid {
            Some(p) => format!("until pid {p} exits"),
            None => "until stopped".into(),
        };
        // Records are this user's own, but what they say still passes the one sanitizer.
        text.push_str(&crate::term::clean(&format!(
            "{}\t{:?}\t{}\tsince {}\t{until}",
            r.pid, r.profile, r.url, r.started
        )));
        text.push('\n');
    }
    if records.is_empty() {
        ctx.say("no server is running");
    }
    output::print_stdout(&text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}

/// Stops the servers asked for: every one (`--all`), the named profile's, and the one
/// this shell's variables point at or that watches this shell. When this shell holds a
/// server's variables, prints the lines that clear them — a stopped server's port is
/// free for anyone on the machine to take, token and all.
fn stop(ctx: &Context, opts: &ServerOpts) -> Result<(), Error> {
    let records = servers_dir_of(ctx)?
        .map(|dir| (running(&dir), dir))
        .unwrap_or_default();
    let (records, dir) = records;
    let ours = served_url(ctx);
    let shell = calling_shell();
    let targets: Vec<Record> = records
        .into_iter()
        .filter(|r| {
            opts.all
                || (ctx.profile_named && r.profile == ctx.profile)
                || ours == Some(r.url.as_str())
                || r.watches(shell)
        })
        .collect();
    if targets.is_empty() {
        ctx.say(&if opts.all {
            "no server is running".to_string()
        } else if ctx.profile_named {
            format!("no server is running for profile {:?}", ctx.profile)
        } else {
            "no server was started from this shell (name one with -p PROFILE, or --all)".to_string()
        });
    }
    let (mine, strangers): (Vec<Record>, Vec<Record>) =
        targets.into_iter().partition(Record::is_running_server);
    for r in &strangers {
        ctx.warn(&format!(
            "not signalling pid {}: it is not the server its record names",
            r.pid
        ));
    }
    for r in &mine {
        crate::proc::terminate(r.pid);
    }
    // Each server removes its record as it stops; wait for that. One stuck in a system
    // call is killed after five seconds — only if it is still that very server.
    let deadline = Instant::now() + Duration::from_secs(5);
    let still_running = || {
        let now = running(&dir);
        mine.iter()
            .filter(|t| now.iter().any(|r| r.pid == t.pid))
            .collect::<Vec<_>>()
    };
    let mut left = still_running();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = still_running();
    }
    for r in left {
        if r.is_running_server() {
            crate::proc::kill(r.pid);
        }
    }
    for r in &mine {
        ctx.say(&format!(
            "stopped the server of profile {:?} (pid {})",
            r.profile, r.pid
        ));
    }
    if ours.is_some() {
        clear_variables(ctx, opts)?;
    } else if !mine.is_empty() && !opts.all {
        ctx.debug(1, "this shell holds no server variables: nothing to clear");
    }
    Ok(())
}

/// The lines that clear what `server` set in this shell, on standard output for
/// `eval "$(awsmfa server --stop)"`; on a terminal, how to run that instead.
fn clear_variables(ctx: &Context, opts: &ServerOpts) -> Result<(), Error> {
    use std::io::IsTerminal;
    let format = opts.format.unwrap_or_else(|| {
        EnvFormat::detect(
            crate::proc::parent_name().as_deref(),
            crate::sys::login_shell(&ctx.env).as_deref(),
        )
    });
    if std::io::stdout().is_terminal() {
        ctx.warn(&format!(
            "this shell still points at the stopped server; clear its variables with: {}",
            formats::eval_line(format, "awsmfa server --stop")
        ));
        return Ok(());
    }
    let names = handoff::unset_names(ctx);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    output::print_stdout(&formats::env_unsets(format, &names))
        .map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}
