//! The `awsmfa` binary: parse, run, print the error once, exit with its status.

use std::process::ExitCode;

use clap::Parser;

use awsmfa::cli::{self, Cli};
use awsmfa::config::Env;

fn main() -> ExitCode {
    harden_process();
    let cli = Cli::parse();
    let env = Env::from_process();
    let color = matches!(cli.global.color, cli::ColorChoice::Always);
    match cli::run(cli, env) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let prefix = if color || auto_color() {
                "\x1b[1;31mawsmfa:\x1b[0m"
            } else {
                "awsmfa:"
            };
            eprintln!("{prefix} {}", err.message);
            if let Some(hint) = &err.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(err.exit as u8)
        }
    }
}

fn auto_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none()
        && std::env::args().all(|a| a != "--color=never" && a != "never")
        && std::io::stderr().is_terminal()
}

/// No core dumps: a dump of this process could hold secret keys (DESIGN §7).
fn harden_process() {
    // SAFETY: plain system calls on this process with valid arguments.
    unsafe {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
