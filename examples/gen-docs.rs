//! Writes the man pages and shell completions that release archives carry:
//! `cargo run --example gen-docs -- DIR` makes `DIR/man/awsmfa.1`, one page for every
//! command and nested command (`awsmfa-login.1`, `awsmfa-mfa-create.1`, …) and
//! `DIR/complete/` for bash, zsh, fish, PowerShell and elvish (the same scripts as
//! `awsmfa completions SHELL`).
//!
//! The options come from the same clap definitions as `--help`, so they never drift; the
//! SYNOPSIS is the command line as a person types it (`awsmfa mfa create`). EXIT STATUS,
//! ENVIRONMENT and FILES are the README's own tables, read at build time, so the pages
//! and the README say the same; EXAMPLES are per command, below. The tests at the end
//! (`cargo test --example gen-docs`) render every page with `man -l`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Inline, Roff, bold, roman};

/// The README, whose tables the pages carry.
const README: &str = include_str!("../README.md");

/// Examples per page (`awsmfa-mfa-create` for `awsmfa mfa create`): a command line and
/// what it does. Every page has some: a command added without them fails the generator.
const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "awsmfa",
        &[
            (
                "awsmfa -p work login",
                "one MFA code in the morning: the session goes to [work-mfa] (or [work] once the keys are in the vault)",
            ),
            (
                "aws --profile work-mfa s3 ls",
                "the AWS CLI with that session, all day",
            ),
            (
                "awsmfa exec -p admin -- terraform apply",
                "a command with a role's session in its environment",
            ),
            (
                "awsmfa status",
                "every profile, where its keys live, its sessions and time left",
            ),
        ],
    ),
    (
        "awsmfa-login",
        &[
            (
                "awsmfa -p work login",
                "asks for the code on the terminal and writes the session",
            ),
            (
                "ykman oath accounts code -s aws | awsmfa -p work login --token-code -",
                "the code from a YubiKey, on stdin",
            ),
            (
                "awsmfa -p work login --min-remaining 1h",
                "renews only when less than an hour is left: quiet in cron or a shell rc",
            ),
            (
                "awsmfa -p wasabi --endpoint-url https://sts.wasabisys.com login",
                "an S3-compatible cloud's STS; the session profile keeps the endpoint",
            ),
        ],
    ),
    (
        "awsmfa-exec",
        &[
            (
                "awsmfa exec -p admin -- terraform apply",
                "the child gets the session; its exit status is passed through",
            ),
            (
                "awsmfa exec work -- aws s3 ls",
                "aws-vault's word order: the profile first",
            ),
            (
                "awsmfa exec --server -p admin -- terraform apply",
                "credentials served from a loopback server that renews them",
            ),
        ],
    ),
    (
        "awsmfa-env",
        &[
            (
                "eval \"$(awsmfa env -p admin)\"",
                "the session's variables into this shell",
            ),
            ("awsmfa env -p admin | source", "the same in fish"),
            (
                "eval \"$(awsmfa env --unset)\"",
                "clears exactly what the last env set",
            ),
        ],
    ),
    (
        "awsmfa-process",
        &[
            (
                "credential_process = awsmfa process --profile admin",
                "in ~/.aws/config: the AWS CLI and SDKs ask awsmfa",
            ),
            (
                "awsmfa process -p admin",
                "the credential_process JSON on stdout, nothing else",
            ),
        ],
    ),
    (
        "awsmfa-add",
        &[
            (
                "awsmfa add work",
                "asks the key id and the secret, checks them with GetCallerIdentity, stores them in the vault",
            ),
            (
                "awsmfa add work --backend keyring",
                "in the OS keyring instead of the file vault",
            ),
        ],
    ),
    (
        "awsmfa-remove",
        &[(
            "awsmfa remove work",
            "deletes the stored keys and their cached sessions (asks first; --yes)",
        )],
    ),
    (
        "awsmfa-import",
        &[
            (
                "awsmfa import",
                "moves every plaintext long-term key of the AWS files into the vault",
            ),
            (
                "awsmfa import --from aws-vault",
                "every credential aws-vault holds, through aws-vault's own CLI",
            ),
            (
                "awsmfa import --from aws-mfa",
                "the keys of aws-mfa's [NAME-long-term] sections",
            ),
        ],
    ),
    (
        "awsmfa-rotate",
        &[(
            "awsmfa rotate work",
            "a new access key: created, proven to work, stored; then the old one deleted",
        )],
    ),
    (
        "awsmfa-status",
        &[
            (
                "awsmfa status",
                "every profile: kind, keys, MFA device, sessions and time left",
            ),
            (
                "awsmfa status --format json",
                "the same for scripts, with each profile as the AWS CLI reads it",
            ),
        ],
    ),
    (
        "awsmfa-clear",
        &[
            ("awsmfa clear", "drops every cached session"),
            ("awsmfa clear work", "only the sessions of profile work"),
        ],
    ),
    (
        "awsmfa-mfa",
        &[
            (
                "awsmfa -p work mfa list",
                "the user's devices and when they were enabled",
            ),
            (
                "awsmfa -p work mfa create laptop",
                "a new virtual device: QR code, two codes, enabled",
            ),
        ],
    ),
    (
        "awsmfa-mfa-list",
        &[(
            "awsmfa -p work mfa list",
            "the devices of the user behind the profile's keys",
        )],
    ),
    (
        "awsmfa-mfa-create",
        &[
            (
                "awsmfa -p work mfa create laptop",
                "the QR code on the terminal, then two consecutive codes; mfa_serial saved",
            ),
            (
                "awsmfa -p work mfa create laptop --qr-png qr.png",
                "also a private PNG to scan (for a terminal too small for the code)",
            ),
            (
                "awsmfa -p ci mfa create runner --store-seed",
                "the seed goes into the vault: this machine becomes the second factor",
            ),
        ],
    ),
    (
        "awsmfa-mfa-enable",
        &[(
            "awsmfa -p work mfa enable arn:aws:iam::123456789012:mfa/laptop",
            "enables a device with two consecutive codes",
        )],
    ),
    (
        "awsmfa-mfa-resync",
        &[(
            "awsmfa -p work mfa resync",
            "resynchronises the profile's device with two consecutive codes",
        )],
    ),
    (
        "awsmfa-mfa-deactivate",
        &[(
            "awsmfa -p work mfa deactivate --token-code -",
            "needs an MFA session: a cached one, or a code (here from stdin)",
        )],
    ),
    (
        "awsmfa-mfa-delete",
        &[(
            "awsmfa -p work mfa delete laptop",
            "deletes a device that is not enabled",
        )],
    ),
    (
        "awsmfa-mfa-code",
        &[(
            "awsmfa -p work mfa code",
            "the current code from mfa_process or a stored seed",
        )],
    ),
    (
        "awsmfa-mfa-seed",
        &[(
            "awsmfa -p work mfa seed add",
            "stores the device's TOTP seed in the vault (asked unechoed)",
        )],
    ),
    (
        "awsmfa-mfa-seed-add",
        &[(
            "awsmfa -p work mfa seed add < uri.txt",
            "the base32 seed or the otpauth:// URI from stdin",
        )],
    ),
    (
        "awsmfa-mfa-seed-remove",
        &[("awsmfa -p work mfa seed remove", "deletes the stored seed")],
    ),
    (
        "awsmfa-policy",
        &[
            (
                "awsmfa policy require-mfa --account 123456789012 > require-mfa.json",
                "the user policy that forces MFA",
            ),
            (
                "awsmfa policy lint my-policy.json",
                "the classic mistakes, each with its fix",
            ),
        ],
    ),
    (
        "awsmfa-policy-require-mfa",
        &[(
            "awsmfa policy require-mfa --account 123456789012",
            "users manage their own device; all else needs MFA",
        )],
    ),
    (
        "awsmfa-policy-role-trust",
        &[(
            "awsmfa policy role-trust --principal arn:aws:iam::123456789012:root",
            "AssumeRole only with MFA",
        )],
    ),
    (
        "awsmfa-policy-s3-compatible",
        &[(
            "awsmfa policy s3-compatible --action 's3:*'",
            "Allow + Bool only, for Wasabi, MinIO and Ceph",
        )],
    ),
    (
        "awsmfa-policy-lint",
        &[
            (
                "awsmfa policy lint my-policy.json",
                "findings as text; exit status 1 with warnings or errors",
            ),
            (
                "aws iam get-policy-version … | jq .PolicyVersion.Document | awsmfa policy lint - --format json",
                "from stdin, as JSON",
            ),
        ],
    ),
    (
        "awsmfa-doctor",
        &[
            (
                "awsmfa doctor -p work",
                "checks the files, variables, keys, endpoint, clock, device and sessions",
            ),
            (
                "awsmfa doctor -p work --vault",
                "also opens the vault (asks its passphrase)",
            ),
        ],
    ),
    (
        "awsmfa-server",
        &[
            (
                "eval \"$(awsmfa server -p admin)\"",
                "this shell, served in the background until it exits",
            ),
            (
                "eval \"$(awsmfa server --stop)\"",
                "stops this shell's server and clears its variables",
            ),
            ("awsmfa server --list", "the running servers"),
        ],
    ),
    (
        "awsmfa-console",
        &[
            (
                "awsmfa console -p admin",
                "the AWS console as the role, in your browser",
            ),
            (
                "awsmfa console -p admin --url",
                "prints the sign-in URL instead (stdout only)",
            ),
        ],
    ),
    (
        "awsmfa-completions",
        &[
            (
                "source <(awsmfa completions bash)",
                "in ~/.bashrc: commands, options and profile names complete",
            ),
            ("awsmfa completions fish | source", "in fish's config"),
        ],
    ),
];

fn main() -> std::io::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/docs"));
    let pages = write_pages(&out.join("man"))?;
    let complete = out.join("complete");
    std::fs::create_dir_all(&complete)?;
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
    println!(
        "wrote {} pages in {} and {}",
        pages.len(),
        out.join("man").display(),
        complete.display()
    );
    Ok(())
}

/// Every page into `dir`; returns their names and the command lines they describe
/// (`awsmfa-mfa-create`, `awsmfa mfa create`).
fn write_pages(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    std::fs::create_dir_all(dir)?;
    let mut root = awsmfa::cli::Cli::command();
    // Building sets each command's bin name (`awsmfa mfa create`, for the SYNOPSIS) and
    // display name (`awsmfa-mfa-create`, the page's name).
    root.build();
    let mut names = Vec::new();
    let mut todo = vec![root];
    while let Some(cmd) = todo.pop() {
        let name = cmd
            .get_display_name()
            .unwrap_or_else(|| cmd.get_name())
            .to_string();
        std::fs::write(dir.join(format!("{name}.1")), page(&name, &cmd)?)?;
        let typed = cmd.get_bin_name().unwrap_or("awsmfa").to_string();
        names.push((name, typed));
        todo.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .cloned(),
        );
    }
    Ok(names)
}

/// One page: clap's NAME, SYNOPSIS, DESCRIPTION, OPTIONS and SUBCOMMANDS, then EXAMPLES,
/// EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO.
fn page(name: &str, cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    // clap's own usage line (`awsmfa mfa create [OPTIONS] <NAME>`), not every flag.
    let mut cmd = cmd.clone();
    let usage = cmd.render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").to_string();
    let man = clap_mangen::Man::new(cmd.clone().override_usage(usage)).title(name.to_uppercase());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::new();
    examples(&mut roff, name);
    exit_status(&mut roff);
    roff.control("SH", ["ENVIRONMENT"]);
    definitions(&mut roff, &readme_table("## Environment"));
    roff.control("SH", ["FILES"]);
    definitions(&mut roff, &readme_table("## Files"));
    roff.control("PP", []);
    roff.text(inlines(&readme_paragraph("On Windows the AWS files")));
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = Vec::new();
    if name != "awsmfa" {
        see.push("awsmfa(1)".into());
    }
    see.push("aws(1)".into());
    roff.text([roman(see.join(", "))]);
    roff.to_writer(&mut out)?;
    Ok(out)
}

fn examples(roff: &mut Roff, name: &str) {
    let Some((_, list)) = EXAMPLES.iter().find(|(page, _)| *page == name) else {
        panic!("no EXAMPLES for the page {name}: add them to examples/gen-docs.rs");
    };
    roff.control("SH", ["EXAMPLES"]);
    for (line, what) in *list {
        roff.control("TP", []);
        roff.text([bold(*line)]);
        roff.text([roman(*what)]);
    }
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    definitions(roff, &readme_table("## Exit status"));
    roff.control("PP", []);
    roff.text(inlines(&readme_paragraph(
        "`exec` exits with the child's status",
    )));
    roff.control("PP", []);
    roff.text(inlines(&readme_paragraph("Errors are one line on stderr")));
}

/// Rows of a two-column table as a tagged list.
fn definitions(roff: &mut Roff, rows: &[(String, String)]) {
    for (term, text) in rows {
        roff.control("TP", []);
        roff.text(inlines(term));
        roff.text(inlines(text));
    }
}

/// The rows (first and second cell) of the first table under `heading` in the README.
fn readme_table(heading: &str) -> Vec<(String, String)> {
    let start = README
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("the README has no {heading:?}"));
    let rows: Vec<(String, String)> = README[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the |---| line
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').splitn(2, " | ").collect();
            (
                cells[0].trim().to_string(),
                cells.get(1).unwrap_or(&"").trim().to_string(),
            )
        })
        .collect();
    assert!(!rows.is_empty(), "the README's {heading:?} has no table");
    rows
}

/// The README's paragraph that starts with `start`, joined into one line.
fn readme_paragraph(start: &str) -> String {
    let at = README
        .find(&format!("\n{start}"))
        .unwrap_or_else(|| panic!("the README has no paragraph {start:?}"));
    let text = &README[at + 1..];
    let end = text.find("\n\n").unwrap_or(text.len());
    text[..end].split('\n').collect::<Vec<_>>().join(" ")
}

/// Markdown's inline code as bold, the rest roman (`\` and leading dots are the roff
/// crate's to escape).
fn inlines(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(
            |(i, part)| {
                if i % 2 == 1 { bold(part) } else { roman(part) }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `man -l PAGE` as a person reads it, plain text at 80 columns.
    fn rendered(path: &Path) -> String {
        let out = std::process::Command::new("man")
            .arg("-l")
            .arg(path)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("LANG", "C.UTF-8")
            .output()
            .expect("man (Debian: man-db and groff-base)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l {}: {stderr}", path.display());
        assert!(
            !stderr.contains("warning") && !stderr.contains("error"),
            "man -l {}: {stderr}",
            path.display()
        );
        // Bold and underline as overstrikes (`X\bX`) taken out.
        let text = String::from_utf8_lossy(&out.stdout);
        let mut plain = String::new();
        for c in text.chars() {
            if c == '\u{8}' {
                plain.pop();
            } else {
                plain.push(c);
            }
        }
        plain
    }

    /// Issue 22 §5: a page for every command, nested ones included; each renders with
    /// `man -l` and has the SYNOPSIS as typed and the sections a person looks for, with the
    /// README's exit statuses, variables and files.
    #[test]
    fn every_page_renders_with_man_and_has_its_sections() {
        let dir = tempfile::tempdir().unwrap();
        let pages = write_pages(dir.path()).unwrap();
        let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
        for expected in [
            "awsmfa",
            "awsmfa-login",
            "awsmfa-mfa-create",
            "awsmfa-mfa-seed-add",
            "awsmfa-policy-lint",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
        }
        // Every command clap knows has its page.
        let mut root = awsmfa::cli::Cli::command();
        root.build();
        let mut want = Vec::new();
        let mut todo = vec![&root];
        while let Some(c) = todo.pop() {
            want.push(c.get_display_name().unwrap_or("awsmfa").to_string());
            todo.extend(
                c.get_subcommands()
                    .filter(|s| !s.is_hide_set() && s.get_name() != "help"),
            );
        }
        want.sort();
        let mut got = names.clone();
        got.sort();
        assert_eq!(got, want);

        let exits = readme_table("## Exit status");
        let vars = readme_table("## Environment");
        let files = readme_table("## Files");
        assert_eq!(exits.len(), 6, "0 to 5");
        for (name, typed) in &pages {
            let text = rendered(&dir.path().join(format!("{name}.1")));
            for section in [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "EXAMPLES",
                "EXIT STATUS",
                "ENVIRONMENT",
                "FILES",
                "SEE ALSO",
            ] {
                assert!(
                    text.lines().any(|l| l == section),
                    "{name}: no {section} section:\n{text}"
                );
            }
            // The SYNOPSIS as typed: `awsmfa mfa create`, never `awsmfa-mfa-create`.
            assert!(!typed.starts_with("awsmfa-"), "{typed}");
            let synopsis = text
                .split("\nSYNOPSIS\n")
                .nth(1)
                .unwrap()
                .trim_start()
                .lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                synopsis.starts_with(&format!("{typed} [OPTIONS]")),
                "{name}: {synopsis:?}"
            );
            let exit_section = text.split("\nEXIT STATUS\n").nth(1).unwrap();
            for (status, _) in &exits {
                assert!(
                    exit_section.lines().any(|l| l.trim_start() == status
                        || l.trim_start().starts_with(&format!("{status} "))),
                    "{name}: exit status {status}:\n{exit_section}"
                );
            }
            for (var, _) in &vars {
                for v in var.split(", ") {
                    assert!(text.contains(v.trim_matches('`')), "{name}: {v}");
                }
            }
            for (file, _) in &files {
                assert!(text.contains(file.trim_matches('`')), "{name}: {file}");
            }
            let examples = text.split("\nEXAMPLES\n").nth(1).unwrap();
            assert!(
                examples.trim_start().starts_with("awsmfa") || examples.contains("awsmfa"),
                "{name}"
            );
        }
    }

    /// The facts are the README's: every variable awsmfa reads is in its table.
    #[test]
    fn every_awsmfa_variable_the_code_reads_is_in_the_readme() {
        let vars: String = readme_table("## Environment")
            .into_iter()
            .map(|(v, _)| v)
            .collect::<Vec<_>>()
            .join(" ");
        let mut files = Vec::new();
        let mut todo = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        let mut found = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for piece in text.split('"').skip(1).step_by(2) {
                if piece.starts_with("AWSMFA_")
                    && piece.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                {
                    found += 1;
                    assert!(
                        vars.contains(&format!("`{piece}`")),
                        "{piece} ({}) is not in the README's Environment table",
                        f.display()
                    );
                }
            }
        }
        assert!(found > 10, "the scan found {found}");
    }
}
