//! Running the user's helper commands (`mfa_process`, a source profile's
//! `credential_process`): through `sh -c`, in their own process group, with standard
//! error passed through to the person, standard output captured (bounded), and a time
//! limit that ends the whole command.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
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

/// Runs `command` through `sh -c` and returns its standard output (at most 64 KiB).
pub fn run_capture(command: &str, timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    run_argv(&["sh", "-c", command], timeout)
}

/// Runs a program with arguments (no shell) and returns its standard output.
pub fn run_argv(argv: &[&str], timeout: Duration) -> Result<Zeroizing<Vec<u8>>, RunError> {
    let (program, args) = argv.split_first().expect("a program");
    let mut child = Command::new(program)
        .args(args)
        // Its own process group, so a timeout ends the whole command, not just `sh`.
        .process_group(0)
        .env_remove(PRIVATE_VARS[0])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| RunError::Spawn(e.to_string()))?;
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
