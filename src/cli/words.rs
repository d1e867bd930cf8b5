//! aws-vault's word order: `awsmfa exec work -- aws s3 ls`, `awsmfa login work`,
//! `env work`, `console work`, `process work`.
//!
//! aws-vault takes the profile as the first word of its commands; awsmfa takes it with
//! `-p`. People switching keep typing the first, so a first word that names a profile is
//! taken as the profile, as aws-vault would. `exec` is the delicate one, since its first
//! word is otherwise the program to run: a profile name is never run as a program, and
//! where the word could be either (a profile named like a program on `PATH`, or `-p`
//! given as well) the command is refused with the exact command lines to type instead.

use std::ffi::OsString;

use super::profiles::{did_you_mean, printable_names, profile_meant};
use super::setup::load_files;
use super::{Context, check_section_name};
use crate::error::{Error, Exit};

/// Takes `word` (the hidden positional of `login`, `env`, `console`, `process`) as the
/// profile. `explicit` is `-p`/`--profile` when given.
pub fn profile_word(
    ctx: &mut Context,
    explicit: Option<&str>,
    word: Option<String>,
) -> Result<(), Error> {
    let Some(word) = word else {
        return Ok(());
    };
    let cmd = ctx.command;
    if word.starts_with('-') {
        return Err(unknown_option(cmd, &word));
    }
    check_section_name(&word, "profile")?;
    if let Some(p) = explicit
        && p != word
    {
        return Err(Error::new(
            Exit::Usage,
            format!("two profiles given: -p {p} and {word}"),
        )
        .with_hint(format!(
            "choose one: `awsmfa {cmd} -p {word}` or `awsmfa {cmd} -p {p}`"
        )));
    }
    ctx.debug(
        1,
        &format!("taking {word:?} as the profile (aws-vault's word order; -p {word} is awsmfa's)"),
    );
    // A name that is no profile fails where every command resolves its profile, with the
    // one rule for typos (`did you mean -p work?`, else how to create it).
    ctx.profile = word;
    Ok(())
}

/// An option `awsmfa COMMAND` does not have, said as clap says it. (The hidden profile
/// word takes what clap would refuse, so that clap's tip, "to pass it as a value, use
/// `-- --bogus`", never suggests passing an option as a profile name.)
fn unknown_option(cmd: &str, word: &str) -> Error {
    use clap::CommandFactory;
    let flag = word.split('=').next().unwrap_or(word);
    let root = super::Cli::command();
    let longs: Vec<String> = root
        .find_subcommand(cmd)
        .into_iter()
        .chain([&root])
        .flat_map(|c| c.get_arguments())
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    let hint = match did_you_mean(flag, longs.iter().map(String::as_str)) {
        Some(similar) => format!("a similar option exists: {similar}"),
        None => format!("`awsmfa {cmd} --help` lists its options"),
    };
    Error::new(
        Exit::Usage,
        format!("unexpected argument {:?} found", crate::term::clean(flag)),
    )
    .with_hint(hint)
}

/// `exec`'s first word, when it names a profile: taken as the profile (and a `--` after
/// it dropped), or refused when it could be meant either way.
pub fn exec_profile_first(
    ctx: &mut Context,
    explicit: Option<&str>,
    command: &mut Vec<OsString>,
) -> Result<(), Error> {
    let Some(first) = command.first().and_then(|w| w.to_str()).map(String::from) else {
        return Ok(());
    };
    if first.starts_with('-')
        || first.contains(['/', '\\'])
        || check_section_name(&first, "profile").is_err()
    {
        return Ok(());
    }
    let dashes_next = command.get(1).is_some_and(|w| w == "--");
    let files = load_files(ctx)?;
    let is_profile = printable_names(&files).contains(&first);
    let is_program = ctx
        .env
        .get("PATH")
        .is_some_and(|path| crate::sys::find_on_path(path, &program_file(&first)).is_some());
    let rest: Vec<String> = command[if dashes_next { 2 } else { 1 }..]
        .iter()
        .map(|w| shell_word(&w.to_string_lossy()))
        .collect();
    let then = if rest.is_empty() {
        String::new()
    } else {
        format!(" -- {}", rest.join(" "))
    };
    let running = if rest.is_empty() {
        "a shell".to_string()
    } else {
        format!("`{}`", rest.join(" "))
    };
    match (explicit, is_profile, is_program) {
        (None, true, false) => {
            ctx.debug(
                1,
                &format!("taking {first:?} as the profile (aws-vault's word order; -p {first} is awsmfa's)"),
            );
            ctx.profile = first;
            command.drain(..if dashes_next { 2 } else { 1 });
            Ok(())
        }
        (None, true, true) => Err(Error::new(
            Exit::Usage,
            format!("{first:?} names both a profile and a program, so `awsmfa exec {first}` could mean either"),
        )
        .with_hint(format!(
            "`awsmfa exec -p {first}{then}` or `awsmfa exec -p {} -- {}`",
            ctx.profile,
            std::iter::once(shell_word(&first)).chain(command[1..].iter().map(|w| shell_word(&w.to_string_lossy()))).collect::<Vec<_>>().join(" ")
        ))),
        (Some(p), true, false) => Err(Error::new(
            Exit::Usage,
            format!("{first:?} is a profile, not a program (and -p {p} was given)"),
        )
        .with_hint(format!("to run {running} with profile {first}: `awsmfa exec -p {first}{then}`"))),
        (None, false, false) => match profile_meant(&files, &first) {
            Some(meant) => Err(Error::new(
                Exit::Usage,
                format!("no profile and no program named {first:?}"),
            )
            .with_hint(format!("did you mean `-p {meant}`? `awsmfa exec -p {meant}{then}`"))),
            None if dashes_next => Err(Error::new(
                Exit::Usage,
                format!("no profile and no program named {first:?}"),
            )
            .with_hint(format!(
                "store keys: `awsmfa add {first}`; then `awsmfa exec -p {first}{then}`"
            ))),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The file a program name is found as on `PATH`.
fn program_file(name: &str) -> String {
    if cfg!(windows) && !name.contains('.') {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

/// `word` as a person would type it in a POSIX shell.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
