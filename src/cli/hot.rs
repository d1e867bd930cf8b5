//! The command lines every AWS call runs through `credential_process` (and `exec`,
//! `env`), recognised without clap.
//!
//! `awsmfa process --profile NAME` starts with each AWS CLI command and SDK client that
//! uses the profile. Building clap's tree of every command, option and help text is the
//! largest part of that call's own work and of the memory it touches (bench/hotpath.py),
//! and a cached session needs none of it. The plain shapes of these lines are read here
//! into the same [`Cli`] clap would make (tests compare the two); every other command
//! line, and anything unusual in these (another option, a repeated or empty profile, a
//! name that starts with `-`, text that is not UTF-8 before the child's command), goes to
//! clap as before.

use std::ffi::OsString;

use clap::ValueEnum;

use crate::output::formats::EnvFormat;

use super::{
    Cli, ColorChoice, Command, GlobalOpts, env::EnvOpts, exec::ExecOpts, process::ProcessOpts,
};

/// The parsed command line when `args` (program name first) is `process`, `env` (with
/// `--format F`) or `exec -- COMMAND…`, with at most one `--profile NAME` (`-p NAME`, `--profile=NAME`)
/// before or after the command's name.
pub fn parse(args: &[OsString]) -> Option<Cli> {
    let mut profile: Option<&str> = None;
    let mut name: Option<&str> = None;
    let mut format = None;
    let mut i = 1;
    while let Some(word) = args.get(i) {
        let word = word.to_str()?;
        let value = match word {
            "--" if name == Some("exec") => break,
            "--format" if name == Some("env") && format.is_none() => {
                i += 1;
                format = Some(EnvFormat::from_str(args.get(i)?.to_str()?, false).ok()?);
                i += 1;
                continue;
            }
            "-p" | "--profile" => {
                i += 1;
                Some(args.get(i)?.to_str()?)
            }
            _ => word.strip_prefix("--profile="),
        };
        match value {
            Some(v) if profile.is_none() && !v.is_empty() && !v.starts_with('-') => {
                profile = Some(v)
            }
            Some(_) => return None,
            None if name.is_none() && matches!(word, "process" | "env" | "exec") => {
                name = Some(word)
            }
            None => return None,
        }
        i += 1;
    }
    let command = match name? {
        "process" if i == args.len() => Command::Process(ProcessOpts { profile_word: None }),
        "env" if i == args.len() => Command::Env(EnvOpts {
            format,
            unset: false,
            profile_word: None,
        }),
        "exec" if i + 1 < args.len() => Command::Exec(ExecOpts {
            allow_nested: false,
            server: false,
            command: args[i + 1..].to_vec(),
        }),
        _ => return None,
    };
    Some(Cli {
        global: GlobalOpts {
            profile: profile.map(String::from),
            config_file: None,
            credentials_file: None,
            endpoint_url: None,
            region: None,
            verbose: 0,
            color: ColorChoice::Auto,
        },
        command: Some(command),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn argv(line: &[&str]) -> Vec<OsString> {
        std::iter::once("awsmfa")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_hot_shapes_give_what_clap_gives() {
        for line in [
            &["process"][..],
            &["process", "--profile", "work"],
            &["process", "-p", "work"],
            &["process", "--profile=work"],
            &["--profile", "work", "process"],
            &["-p", "work", "process"],
            &["--profile=work", "process"],
            &["process", "--profile", "a b=c"],
            &["process", "--profile=x=y"],
            &["-p", "process", "process"],
            &["process", "-p", "Ünïcode"],
            &["env"],
            &["env", "-p", "work"],
            &["--profile=work", "env"],
            &["-p", "r", "env", "--format", "sh"],
            &["env", "--format", "powershell", "-p", "r"],
            &["env", "--format", "fish"],
            &["exec", "--", "true"],
            &["-p", "work", "exec", "--", "aws", "s3", "ls"],
            &["exec", "-p", "work", "--", "sh", "-c", "exit 3"],
            &["exec", "--profile=work", "--", "--", "-p", "x"],
            &["exec", "--", "exec", "--help"],
        ] {
            let args = argv(line);
            let ours = parse(&args).unwrap_or_else(|| panic!("{line:?} is a hot shape"));
            let clap = Cli::try_parse_from(&args).unwrap();
            assert_eq!(format!("{ours:?}"), format!("{clap:?}"), "{line:?}");
        }
    }

    #[test]
    fn everything_else_goes_to_clap() {
        for line in [
            &[][..],
            &["process", "work"],
            &["process", "-v"],
            &["-v", "process"],
            &["process", "--profile"],
            &["process", "--profile", ""],
            &["process", "--profile="],
            &["process", "-p", "-x"],
            &["process", "--profile", "a", "-v"],
            &["process", "--region", "eu-west-1"],
            &["process", "-pwork"],
            &["process", "--help"],
            &["--version"],
            &["-p", "a", "-p", "b", "process"],
            &["process", "env"],
            &["env", "--format", "Fish"],
            &["env", "--format", "tcsh"],
            &["env", "--format"],
            &["env", "--format=sh"],
            &["env", "--format", "sh", "--format", "sh"],
            &["process", "--format", "sh"],
            &["env", "--unset"],
            &["exec"],
            &["exec", "--"],
            &["exec", "true"],
            &["exec", "--server", "--", "true"],
            &["exec", "--allow-nested", "--", "true"],
            &["--", "process"],
            &["process", "--"],
            &["login", "-p", "work"],
        ] {
            assert!(parse(&argv(line)).is_none(), "{line:?}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let mut args = argv(&["process", "-p"]);
            args.push(OsString::from_vec(vec![0xff, b'x']));
            assert!(parse(&args).is_none(), "not UTF-8");
            // The child's command is passed on as it is, as clap does.
            let mut args = argv(&["exec", "--", "cat"]);
            args.push(OsString::from_vec(vec![0xff, b'x']));
            let clap = Cli::try_parse_from(&args).unwrap();
            assert_eq!(format!("{:?}", parse(&args).unwrap()), format!("{clap:?}"));
        }
    }
}
