//! Running the user's helper commands (`mfa_process`, a source profile's
//! `credential_process`): through the shell (`sh -c`, `cmd /C`), in their own process
//! group (a job on Windows), with standard error passed through to the person,
//! standard output captured (bounded), and a time limit that ends the whole command.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::sys;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("cannot run it: {0}")]
    Spawn(String),
    #[error("it failed ({0})")]
    Failed(String),
    #[error("it did not finish within {0} s")]
    Timeout(u64),
}

/// awsmfa's own secrets in its environment, never handed to the commands it runs.
pub const PRIVATE_VARS: [&str; 1] = ["AWSMFA_VAULT_PASSPHRASE"];

/// Helper commands running now (their process groups, or jobs on Windows), ended by
/// [`end_helpers`].
static HELPERS: Mutex<Vec<sys::Group>> = Mutex::new(Vec::new());

/// Ends every helper command still running (a `mfa_process` waiting for a key nobody
/// touches), for a process about to exit in the middle of its work.
pub fn end_helpers() {
    let groups = HELPERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for group in groups {
        group.kill();
    }
}

pub use sys::{harden, restore_limits};

/// Makes `cmd` start as every program awsmfa runs for the person does: with the user's
/// own core-dump limit back, and without awsmfa's own secrets in its environment.
pub fn as_helper(cmd: &mut Command) {
    sys::restore_limits(cmd);
    for name in PRIVATE_VARS {
        cmd.env_remove(name);
    }
}

/// Runs `command` through the shell (`sh -c`; `cmd /C` on Windows) and returns its
/// standard output (at most 64 KiB).
pub fn run_capture(command: &str, timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    run(sys::shell_command(command), timeout)
}

/// Runs a source profile's `credential_process` as botocore runs it on this platform
/// (DESIGN §3) and returns its standard output.
pub fn run_credential_process(
    command: &str,
    timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>, RunError> {
    run(
        sys::credential_process_command(command).map_err(RunError::Spawn)?,
        timeout,
    )
}

/// Runs a program with arguments (no shell) and returns its standard output.
pub fn run_argv(argv: &[&str], timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    let (program, args) = argv.split_first().expect("a program");
    let mut cmd = Command::new(program);
    cmd.args(args);
    run(cmd, timeout)
}

fn run(mut cmd: Command, timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    as_helper(&mut cmd);
    // Its own process group, so a timeout ends the whole command, not just `sh`.
    sys::Group::prepare(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| RunError::Spawn(e.to_string()))?;
    let group = sys::Group::of(&child);
    HELPERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(group);
    let result = wait_capture(&mut child, group, timeout);
    HELPERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|g| *g != group);
    group.release();
    result
}

fn wait_capture(
    child: &mut std::process::Child,
    group: sys::Group,
    timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>, RunError> {
    let (code, out) = wait_status(child, group, timeout)?;
    match code {
        Some(0) => Ok(out),
        Some(code) => Err(RunError::Failed(format!("exit status {code}"))),
        None => Err(RunError::Failed("killed by a signal".to_string())),
    }
}

/// Waits for the child (ending its group at the deadline) and returns its exit code
/// (`None`: a signal) and its standard output.
fn wait_status(
    child: &mut std::process::Child,
    group: sys::Group,
    timeout: Duration,
) -> Result<(Option<i32>, Zeroizing<Vec<u8>>), RunError> {
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Zeroizing::new(Vec::new());
        let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                group.kill();
                let _ = child.wait();
                return Err(RunError::Timeout(timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(RunError::Spawn(e.to_string())),
        }
    };
    let out = reader.join().unwrap_or_default();
    Ok((status.code(), out))
}

/// What a program run by [`run_detached`] left: its exit code (`None` when a signal
/// ended it), standard output and standard error (each at most 64 KiB).
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: Zeroizing<Vec<u8>>,
    pub stderr: Vec<u8>,
}

/// Runs a program with arguments (no shell) with no way to ask anyone: standard input
/// from the null device, no controlling terminal (a session of its own; detached from the
/// console on Windows), both outputs captured, `env` applied (`None` removes a
/// variable), and a time limit that ends everything it started. For another tool's
/// command-line interface (`aws-vault`), whose prompts must fail instead of waiting.
pub fn run_detached(
    argv: &[&str],
    env: &[(&str, Option<&std::ffi::OsStr>)],
    timeout: Duration,
) -> Result<Finished, RunError> {
    let (program, args) = argv.split_first().expect("a program");
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    // A session of its own is a process group of its own too: the timeout ends it whole.
    sys::new_session(&mut cmd);
    let mut child = cmd
        .env_remove(PRIVATE_VARS[0])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                RunError::Spawn("it is not installed (not found on PATH)".into())
            }
            _ => RunError::Spawn(e.to_string()),
        })?;
    let group = sys::Group::of(&child);
    HELPERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(group);
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut out);
        out
    });
    let result = wait_status(&mut child, group, timeout);
    HELPERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|g| *g != group);
    group.release();
    let (code, stdout) = result?;
    Ok(Finished {
        code,
        stdout,
        stderr: errors.join().unwrap_or_default(),
    })
}

pub use sys::{
    alive, block_stop_signals, close_stdout, kill, new_session, parent_name, redirect_stderr,
    terminal_width, terminate, wait_for_signal,
};

/// Runs `work` with SIGINT, SIGTERM and SIGHUP turned into a call of `cleanup`: should
/// one arrive while `work` runs (a person pressing Ctrl-C at a prompt, a closed
/// terminal), `cleanup` runs and, when it says it did the cleaning (`false` when `work`
/// is already cleaning up itself), helper commands are ended and the process exits with
/// 128+N, so nothing half-made is left behind (an MFA device created but not enabled).
pub fn cleanup_on_interrupt<R>(
    cleanup: impl Fn(i32) -> bool + Sync,
    work: impl FnOnce() -> R,
) -> R {
    sys::cleanup_on_interrupt(
        |sig| {
            let cleaned = cleanup(sig);
            if cleaned {
                end_helpers();
            }
            cleaned
        },
        work,
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn output_failures_and_time_limits() {
        let t = Duration::from_secs(5);
        assert_eq!(run_capture("printf hi", t).unwrap().as_slice(), b"hi");
        assert_eq!(
            run_capture("exit 7", t).unwrap_err(),
            RunError::Failed("exit status 7".into())
        );
        let start = Instant::now();
        assert_eq!(
            run_capture("sleep 5; echo late", Duration::from_millis(300)).unwrap_err(),
            RunError::Timeout(0)
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
