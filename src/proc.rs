//! Running the user's helper commands (`mfa_process`, a source profile's
//! `credential_process`): through `sh -c`, in their own process group, with standard
//! error passed through to the person, standard output captured (bounded), and a time
//! limit that ends the whole command.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

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

/// Process groups of helper commands running now, ended by [`end_helpers`].
static HELPERS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Ends every helper command still running (a `mfa_process` waiting for a key nobody
/// touches), for a process about to exit in the middle of its work.
pub fn end_helpers() {
    let groups = HELPERS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for group in groups {
        // SAFETY: signalling a process group this process created.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}

/// The core-file size limit awsmfa started with (`u64::MAX`: not known).
static CORE_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// No core dumps of awsmfa itself: a dump could hold secret keys (DESIGN §7). Only the
/// soft limit is lowered (and on Linux the process marked undumpable, which `execve`
/// undoes), so the commands awsmfa runs get the person's own limits back.
pub fn harden() {
    // SAFETY: plain system calls on this process with valid arguments.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
            CORE_LIMIT.store(limit.rlim_cur as u64, Ordering::SeqCst);
            limit.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
        }
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Gives a command the core-file limit awsmfa started with.
pub fn restore_limits(cmd: &mut Command) {
    let soft = CORE_LIMIT.load(Ordering::SeqCst);
    if soft == u64::MAX {
        return;
    }
    // SAFETY: between fork and exec only async-signal-safe calls are made: getrlimit
    // and setrlimit on plain data.
    unsafe {
        cmd.pre_exec(move || {
            let mut limit: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                limit.rlim_cur = soft as libc::rlim_t;
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
            }
            Ok(())
        });
    }
}

/// Runs `command` through `sh -c` and returns its standard output (at most 64 KiB).
pub fn run_capture(command: &str, timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    run_argv(&["sh", "-c", command], timeout)
}

/// Runs a program with arguments (no shell) and returns its standard output.
pub fn run_argv(argv: &[&str], timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    let (program, args) = argv.split_first().expect("a program");
    let mut cmd = Command::new(program);
    restore_limits(&mut cmd);
    let mut child = cmd
        .args(args)
        // Its own process group, so a timeout ends the whole command, not just `sh`.
        .process_group(0)
        .env_remove(PRIVATE_VARS[0])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| RunError::Spawn(e.to_string()))?;
    let group = child.id() as i32;
    HELPERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(group);
    let result = wait_capture(&mut child, timeout);
    HELPERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|g| *g != group);
    result
}

fn wait_capture(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>, RunError> {
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
                // SAFETY: signalling the process group this function created.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.wait();
                return Err(RunError::Timeout(timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(RunError::Spawn(e.to_string())),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(RunError::Failed(match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        }));
    }
    Ok(out)
}

/// Starts the command in a session of its own: no controlling terminal, untouched by
/// the terminal's signals (the background credentials server).
pub fn new_session(cmd: &mut Command) {
    restore_limits(cmd);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The signals that stop a server: SIGTERM, SIGINT, SIGHUP.
pub struct StopSignals(libc::sigset_t);

/// Blocks the stop signals in this thread (and every thread started after), so that
/// [`wait_for_signal`] receives them. Call before starting threads.
pub fn block_stop_signals() -> StopSignals {
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        StopSignals(set)
    }
}

/// Waits for one of the blocked stop signals and returns its number.
pub fn wait_for_signal(signals: &StopSignals) -> i32 {
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: a valid set and a place for the answer.
        if unsafe { libc::sigwait(&signals.0, &mut sig) } == 0 {
            return sig;
        }
    }
}

/// Runs `work` with SIGINT, SIGTERM and SIGHUP turned into a call of `cleanup`: should
/// one arrive while `work` runs (a person pressing Ctrl-C at a prompt, a closed
/// terminal), `cleanup` runs on another thread and, when it says it did the cleaning
/// (`true`; `false` when `work` is already cleaning up itself), the process exits with
/// 128+N, so nothing half-made is left behind (an MFA device created but not enabled).
/// Signals keep their usual effect before and after.
pub fn cleanup_on_interrupt<R>(
    cleanup: impl Fn(i32) -> bool + Sync,
    work: impl FnOnce() -> R,
) -> R {
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    let done = AtomicBool::new(false);
    let waiter_id = AtomicUsize::new(0);
    let ready = AtomicBool::new(false);
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset; pthread_sigmask
    // on this thread with valid sets.
    let (set, old) = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR2] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        (set, old)
    };
    let result = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            // SAFETY: pthread_self cannot fail.
            waiter_id.store(unsafe { libc::pthread_self() } as usize, Ordering::SeqCst);
            ready.store(true, Ordering::SeqCst);
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: a valid set and a place for the answer.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                if done.load(Ordering::SeqCst) {
                    return;
                }
                if sig != libc::SIGUSR2 && cleanup(sig) {
                    end_helpers();
                    std::process::exit(128 + sig);
                }
            }
        });
        let result = work();
        done.store(true, Ordering::SeqCst);
        while !ready.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        // SAFETY: the waiter thread is alive until it has seen `done`.
        unsafe {
            libc::pthread_kill(
                waiter_id.load(Ordering::SeqCst) as libc::pthread_t,
                libc::SIGUSR2,
            );
        }
        let _ = waiter.join();
        result
    });
    // SAFETY: restores the mask this thread had.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    result
}

/// Points standard error at `file`.
pub fn redirect_stderr(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: both descriptors are open.
    unsafe {
        libc::dup2(file.as_raw_fd(), libc::STDERR_FILENO);
    }
}

/// Closes standard output for readers (it then points at /dev/null).
pub fn close_stdout() {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: both descriptors are open.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}

/// The name of the program that started awsmfa (Linux: `/proc/PPID/comm`), to tell
/// which shell evaluates its output.
pub fn parent_name() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    // SAFETY: getppid cannot fail.
    let ppid = unsafe { libc::getppid() };
    let name = std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
    Some(name.trim_end().to_string())
}

/// The width of the terminal standard output goes to, if it goes to one.
pub fn terminal_width() -> Option<usize> {
    // SAFETY: winsize is plain data that TIOCGWINSZ fills for a terminal.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0 && size.ws_col > 0)
            .then_some(usize::from(size.ws_col))
    }
}

/// Whether process `pid` still exists.
pub fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Asks process `pid` to stop (SIGTERM).
pub fn terminate(pid: u32) {
    // SAFETY: a plain signal to a process of ours.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

/// Ends process `pid` (SIGKILL).
pub fn kill(pid: u32) {
    // SAFETY: a plain signal to a process of ours.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

#[cfg(test)]
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
