//! The `awsmfa` binary: parse, run, print the error once, exit with its status.

// The test harness (cargo test --all-targets) brings its own `main`.
#![cfg_attr(all(unix, not(test)), no_main)]

#[cfg(not(test))]
mod binary {
    use clap::Parser;

    use awsmfa::cli::{self, Cli};
    use awsmfa::config::Env;

    /// Runs the command line and returns the exit status.
    pub fn run() -> i32 {
        awsmfa::proc::harden();
        let cli = Cli::parse();
        let env = Env::from_process();
        let color = cli::color_enabled(cli.global.color, &env);
        match cli::run(cli, env) {
            Ok(code) => i32::from(code),
            Err(err) => {
                let prefix = if color {
                    "\x1b[1;31mawsmfa:\x1b[0m"
                } else {
                    "awsmfa:"
                };
                eprintln!("{prefix} {}", awsmfa::term::clean(&err.message));
                if let Some(hint) = &err.hint {
                    eprintln!("hint: {}", awsmfa::term::clean(hint));
                }
                err.exit as i32
            }
        }
    }

    // No `fn main` on Unix: std's runtime start-up (stack-guard discovery through
    // /proc/self/maps, the SIGSEGV handler, SIGPIPE ignored) costs about 0.45 ms here, a
    // third of a cached `credential_process` call. Arguments and the environment work as
    // usual; SIGPIPE keeps its default, as in other Unix tools and in the children `exec`
    // starts.
    #[cfg(unix)]
    #[unsafe(no_mangle)]
    extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
        run()
    }
}

// Windows has no such start-up cost to skip: an ordinary `main`.
#[cfg(all(windows, not(test)))]
fn main() {
    std::process::exit(binary::run())
}
