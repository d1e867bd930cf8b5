//! Writes the man pages and shell completions that release archives carry:
//! `cargo run --example gen-docs -- DIR` makes `DIR/man/awsmfa.1`, one page per command
//! (`awsmfa-login.1`, …) and `DIR/complete/` for bash, zsh, fish, PowerShell and elvish
//! (the same scripts as `awsmfa completions SHELL`).
//! The pages come from the same clap definitions as `--help`, so they never drift.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> std::io::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/docs"));
    let man = out.join("man");
    let complete = out.join("complete");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&complete)?;
    let cmd = awsmfa::cli::Cli::command();
    page(&man, "awsmfa", cmd.clone())?;
    for sub in cmd.get_subcommands() {
        // A generator that runs once: leaking the name gives clap the `'static` str
        // it takes without its `string` feature.
        let name: &'static str = Box::leak(format!("awsmfa-{}", sub.get_name()).into_boxed_str());
        page(&man, name, sub.clone().name(name))?;
    }
    // The scripts `awsmfa completions SHELL` prints: they ask awsmfa on Tab, so profile
    // names complete too.
    for (shell, file) in [
        (Shell::Bash, "awsmfa.bash"),
        (Shell::Zsh, "_awsmfa"),
        (Shell::Fish, "awsmfa.fish"),
        (Shell::PowerShell, "_awsmfa.ps1"),
        (Shell::Elvish, "awsmfa.elv"),
    ] {
        std::fs::write(
            complete.join(file),
            awsmfa::cli::complete::registration(shell)?,
        )?;
    }
    println!("wrote {} and {}", man.display(), complete.display());
    Ok(())
}

fn page(dir: &Path, name: &str, cmd: clap::Command) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut bytes)?;
    std::fs::write(dir.join(format!("{name}.1")), bytes)
}
