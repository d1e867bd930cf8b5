//! The `awsmfa` binary: parse, run, print the error once, exit with its status.

// The test harness (cargo test --all-targets) brings its own `main`.
#![cfg_attr(all(unix, not(test)), no_main)]

#[cfg(not(test))]
mod binary {
    use std::ffi::OsString;

    use clap::Parser;
    use clap::error::ErrorKind;

    use awsmfa::cli::{self, Cli};
    use awsmfa::sys::Env;

    /// Runs the command line `args` (the program's name first) and returns the exit
    /// status. The arguments are handed in, never read from `std::env::args`: without
    /// std's runtime start (below) only glibc fills that list, musl leaves it empty.
    pub fn run(args: Vec<OsString>) -> i32 {
        awsmfa::proc::harden();
        // A shell asking what to complete (`COMPLETE=bash awsmfa -- awsmfa -p …`).
        if std::env::var_os("COMPLETE").is_some_and(|v| !v.is_empty()) {
            use clap::CommandFactory;
            let dir = std::env::current_dir().ok();
            match clap_complete::CompleteEnv::with_factory(Cli::command)
                .completer("awsmfa")
                .try_complete(args.iter().cloned(), dir.as_deref())
            {
                Ok(true) => return 0,
                Ok(false) => {}
                Err(e) => return usage_error(e),
            }
        }
        // `credential_process`'s own command line skips clap (cli::hot); the rest parses.
        let parsed = cli::hot::parse(&args).map_or_else(|| Cli::try_parse_from(args), Ok);
        let cli = match parsed {
            Ok(cli) => cli,
            Err(e) => return usage_error(e),
        };
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

    /// clap's errors in the house style: one line `awsmfa: …` and one `hint: …` (clap's
    /// tip, the possible values or the usage line), exit status 2. Help and version print
    /// as clap prints them.
    fn usage_error(e: clap::Error) -> i32 {
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            let _ = e.print();
            return 0;
        }
        if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            let _ = e.print();
            return 2;
        }
        let text = e.to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or("bad arguments");
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let rest: Vec<&str> = lines.collect();
        let hint = rest
            .iter()
            .find_map(|l| l.strip_prefix("tip: "))
            .map(String::from)
            .or_else(|| {
                rest.iter()
                    .find(|l| l.starts_with("[possible values: "))
                    .map(|l| l.trim_matches(['[', ']']).to_string())
            })
            .or_else(|| {
                rest.iter()
                    .find_map(|l| l.strip_prefix("Usage: "))
                    .map(|u| format!("usage: {u} (more with --help)"))
            })
            .unwrap_or_else(|| "`awsmfa --help` lists the commands and options".into());
        eprintln!("awsmfa: {}", awsmfa::term::clean(message));
        eprintln!("hint: {}", awsmfa::term::clean(&hint));
        2
    }

    // No `fn main` on Unix: std's runtime start-up (stack-guard discovery through
    // /proc/self/maps, the SIGSEGV handler, SIGPIPE ignored) costs about 0.45 ms on glibc,
    // a third of a cached `credential_process` call. The arguments are the ones the C
    // runtime hands to `main` (std's own list is empty on musl without its start-up); the
    // environment is libc's as usual. SIGPIPE keeps its default, as in other Unix tools
    // and in the children `exec` starts.
    #[cfg(unix)]
    #[unsafe(no_mangle)]
    extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
        use std::os::unix::ffi::OsStrExt;
        let count = usize::try_from(argc).unwrap_or(0);
        let args = (0..count)
            .map(|i| {
                // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings in
                // `argv`, which live as long as the process.
                let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
                std::ffi::OsStr::from_bytes(arg.to_bytes()).to_os_string()
            })
            .collect();
        let status = run(args);
        // Returning from `main` skips std's exit path, which flushes standard output:
        // flush it here (completions end without a line break, which would keep them in
        // the buffer).
        use std::io::Write;
        let _ = std::io::stdout().flush();
        status
    }
}

// Windows has no such start-up cost to skip: an ordinary `main`.
#[cfg(all(windows, not(test)))]
fn main() {
    std::process::exit(binary::run(std::env::args_os().collect()))
}
