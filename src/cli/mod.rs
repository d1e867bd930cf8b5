//! Command-line definitions and the context every command runs in.
//!
//! clap parses; [`Context`] carries what the global options and the environment
//! decided (profile, file paths, endpoint override, verbosity, colour) as plain values.
//! Each command lives in its own module and takes a `Context` and its own options.

pub mod clear;
pub mod complete;
pub mod console;
pub mod doctor;
pub mod env;
pub mod exec;
pub mod handoff;
pub mod hot;
pub mod keys;
pub mod login;
pub mod mfa;
pub mod policy;
pub mod process;
pub mod profiles;
pub mod server;
pub mod setup;
pub mod status;
pub mod words;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::{Error, Exit};
use crate::sys::Env;
use crate::term::clean;

/// MFA in front of every programmatic use of AWS and S3-compatible clouds.
#[derive(Debug, Parser)]
#[command(
    name = "awsmfa",
    version,
    about,
    max_term_width = 100,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    /// None only when global options came alone (`awsmfa --profile work`, aws-mfa's whole
    /// command line): [`run`] says what to type.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Args)]
pub struct GlobalOpts {
    /// Profile to use [default: $AWS_PROFILE, else "default"]
    #[arg(
        short,
        long,
        global = true,
        value_name = "NAME",
        add = clap_complete::engine::ArgValueCompleter::new(complete::profile_completions)
    )]
    pub profile: Option<String>,
    /// Config file [default: $AWS_CONFIG_FILE, else ~/.aws/config]
    #[arg(long, global = true, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// Credentials file [default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials]
    #[arg(long, global = true, value_name = "PATH")]
    pub credentials_file: Option<PathBuf>,
    /// STS/IAM endpoint, overriding every configured one (e.g. https://sts.wasabisys.com)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Region for STS (and the default of new profiles)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Say more about what happens (repeat for more); secrets are never shown
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour in messages
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Get an MFA session (or MFA role session) and write it into the credentials file
    Login(login::LoginOpts),
    /// Run a command with temporary credentials in its environment (no command: $SHELL)
    Exec(exec::ExecOpts),
    /// Print the credentials as shell code: eval "$(awsmfa env -p work)"
    Env(env::EnvOpts),
    /// Print credential_process JSON: credential_process = awsmfa process --profile work
    Process(process::ProcessOpts),
    /// Store a profile's long-term keys in the vault (asked, --from-env, or two lines on stdin)
    Add(keys::AddOpts),
    /// Delete a profile's stored long-term keys and its cached sessions
    Remove(keys::RemoveOpts),
    /// Move long-term keys into the vault: from the AWS files, aws-mfa's -long-term sections (--from aws-mfa) or aws-vault (--from aws-vault)
    Import(keys::ImportOpts),
    /// Replace a profile's access key: create, prove, store the new one, delete the old
    Rotate(keys::RotateOpts),
    /// Every profile: kind, where its keys live, MFA device, sessions and time left
    Status(status::StatusOpts),
    /// Drop cached sessions (all, or one profile's)
    Clear(clear::ClearOpts),
    /// Manage virtual MFA devices: list, create (QR code), enable, resync, deactivate, delete, code
    Mfa(mfa::MfaOpts),
    /// Print the IAM policies that force MFA, or lint one
    Policy(policy::PolicyOpts),
    /// Check a profile end to end and say what is wrong and how to fix it
    Doctor(doctor::DoctorOpts),
    /// Serve renewing credentials on 127.0.0.1 (container credentials protocol)
    Server(server::ServerOpts),
    /// Open the AWS web console with a role profile's session (or print the sign-in URL)
    Console(console::ConsoleOpts),
    /// Print shell completions (profile names included): `source <(awsmfa completions bash)`
    Completions {
        /// bash, zsh, fish, powershell or elvish
        shell: clap_complete::Shell,
    },
}

/// What every command needs: the environment snapshot and the global options, resolved.
pub struct Context {
    pub env: Env,
    pub profile: String,
    /// Whether the profile was named (`-p`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`) rather
    /// than `default` by default.
    pub profile_named: bool,
    pub config_file: Option<PathBuf>,
    pub credentials_file: Option<PathBuf>,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub verbose: u8,
    pub color: bool,
    /// How to ask a person: the terminal, else a desktop dialog.
    pub prompt: crate::mfa::SystemPrompt,
    /// The vault passphrase once known: asked at most once per run.
    pub vault_passphrase: crate::vault::passphrase::Memo,
    /// The subcommand running (`login`, `exec`, …), for hints that name its flags.
    pub command: &'static str,
}

impl Context {
    pub fn new(global: &GlobalOpts, env: Env) -> Result<Context, Error> {
        let named = global
            .profile
            .clone()
            .or_else(|| env.get("AWS_PROFILE").map(String::from))
            .or_else(|| env.get("AWS_DEFAULT_PROFILE").map(String::from));
        let profile_named = named.is_some();
        let profile = named.unwrap_or_else(|| "default".to_string());
        check_section_name(&profile, "profile")?;
        if let Some(region) = &global.region {
            check_region(region, "--region", Exit::Usage)?;
        }
        if let Some(url) = &global.endpoint_url {
            check_endpoint_url(url, "--endpoint-url", Exit::Usage)?;
        }
        let color = color_enabled(global.color, &env);
        Ok(Context {
            profile,
            profile_named,
            config_file: global.config_file.clone(),
            credentials_file: global.credentials_file.clone(),
            endpoint_url: global.endpoint_url.clone(),
            region: global.region.clone(),
            verbose: global.verbose,
            color,
            prompt: crate::mfa::SystemPrompt::new(&env),
            vault_passphrase: Default::default(),
            command: "",
            env,
        })
    }

    // Every message passes `term::clean`: they carry profile names, device serials,
    // paths and answers from outside.

    /// A progress line at `-v` (level 1) or `-vv` (level 2), on stderr.
    pub fn debug(&self, level: u8, message: &str) {
        if self.verbose >= level {
            eprintln!("awsmfa: {}", clean(message));
        }
    }

    /// A line the person should always see, on stderr.
    pub fn say(&self, message: &str) {
        eprintln!("awsmfa: {}", clean(message));
    }

    /// A next step for the person, on stderr.
    pub fn hint(&self, message: &str) {
        eprintln!("hint: {}", clean(message));
    }

    /// Whether the running command has the option `--long` (its own or a global one).
    pub fn has_flag(&self, long: &str) -> bool {
        command_has_flag(self.command, long)
    }

    pub fn warn(&self, message: &str) {
        let message = clean(message);
        if self.color {
            eprintln!("\x1b[33mwarning:\x1b[0m {message}");
        } else {
            eprintln!("warning: {message}");
        }
    }
}

/// Whether messages on stderr get colour: `--color`, else a terminal without `NO_COLOR`.
pub fn color_enabled(choice: ColorChoice, env: &Env) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !env.is_set("NO_COLOR")
                && env.get("TERM") != Some("dumb")
                && std::io::stderr().is_terminal()
        }
    }
}

/// Section and profile names end up between `[` and `]` in a file: keep them sane.
pub fn check_section_name(name: &str, what: &str) -> Result<(), Error> {
    let bad = name.is_empty()
        || name.len() > 128
        || name
            .chars()
            .any(|c| c.is_control() || matches!(c, '[' | ']' | '=' | '#' | ';'))
        || name.trim() != name;
    if bad {
        return Err(Error::new(
            Exit::Usage,
            format!(
                "{what} name {:?} cannot be used as an AWS profile name",
                name.chars().take(40).collect::<String>()
            ),
        )
        .with_hint("use letters, digits, '-', '_', '.', '@' or '+'"));
    }
    Ok(())
}

/// Refuses a region that is not botocore's shape (`validate_region_name`): it becomes
/// part of a host name, and `x@evil.example/#` would move the host.
pub fn check_region(region: &str, from: &str, exit: Exit) -> Result<(), Error> {
    if crate::config::shape::valid_region(region) {
        return Ok(());
    }
    Err(Error::new(
        exit,
        format!(
            "invalid region {:?} (from {from}): a region is letters, digits and '-', such as us-east-1",
            region.chars().take(80).collect::<String>()
        ),
    ))
}

/// Refuses an endpoint that is not an http(s) URL with a host.
pub fn check_endpoint_url(url: &str, from: &str, exit: Exit) -> Result<(), Error> {
    match crate::config::shape::endpoint_url_problem(url) {
        None => Ok(()),
        Some(problem) => Err(Error::new(
            exit,
            format!(
                "invalid endpoint URL {:?} (from {from}): {problem}",
                url.chars().take(120).collect::<String>()
            ),
        )
        .with_hint("an endpoint looks like https://sts.example.com or http://127.0.0.1:9000")),
    }
}

impl Command {
    /// The name a person types for it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Login(_) => "login",
            Command::Exec(_) => "exec",
            Command::Env(_) => "env",
            Command::Process(_) => "process",
            Command::Add(_) => "add",
            Command::Remove(_) => "remove",
            Command::Import(_) => "import",
            Command::Rotate(_) => "rotate",
            Command::Status(_) => "status",
            Command::Clear(_) => "clear",
            Command::Mfa(_) => "mfa",
            Command::Policy(_) => "policy",
            Command::Doctor(_) => "doctor",
            Command::Server(_) => "server",
            Command::Console(_) => "console",
            Command::Completions { .. } => "completions",
        }
    }
}

/// Whether `awsmfa COMMAND` (words such as `mfa create`) takes the option `--long`,
/// its own or a global one, as clap's definition says.
pub fn command_has_flag(command: &str, long: &str) -> bool {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut cmd = &root;
    for word in command.split_whitespace() {
        match cmd.find_subcommand(word) {
            Some(sub) => cmd = sub,
            None => return false,
        }
    }
    let has = |c: &clap::Command| c.get_arguments().any(|a| a.get_long() == Some(long));
    has(cmd) || has(&root)
}

/// Runs the command; returns the exit status (the child's, for `exec`).
pub fn run(cli: Cli, env: Env) -> Result<u8, Error> {
    let Some(mut command) = cli.command else {
        return Err(no_command(&cli.global));
    };
    let mut ctx = Context::new(&cli.global, env)?;
    ctx.command = command.name();
    let explicit = cli.global.profile.as_deref();
    match &mut command {
        Command::Exec(opts) => words::exec_profile_first(&mut ctx, explicit, &mut opts.command)?,
        Command::Login(login::LoginOpts { profile_word, .. })
        | Command::Env(env::EnvOpts { profile_word, .. })
        | Command::Process(process::ProcessOpts { profile_word })
        | Command::Console(console::ConsoleOpts { profile_word, .. }) => {
            words::profile_word(&mut ctx, explicit, profile_word.take())?
        }
        _ => {}
    }
    let done = |r: Result<(), Error>| r.map(|()| Exit::Success as u8);
    match command {
        Command::Login(opts) => done(login::run(&ctx, &opts)),
        Command::Exec(opts) => exec::run(&ctx, &opts),
        Command::Env(opts) => done(env::run(&ctx, &opts)),
        Command::Process(opts) => done(process::run(&ctx, &opts)),
        Command::Add(opts) => done(keys::add(&ctx, &opts)),
        Command::Remove(opts) => done(keys::remove(&ctx, &opts)),
        Command::Import(opts) => done(keys::import(&ctx, &opts)),
        Command::Rotate(opts) => done(keys::rotate(&ctx, &opts)),
        Command::Status(opts) => done(status::run(&ctx, &opts)),
        Command::Clear(opts) => done(clear::run(&ctx, &opts)),
        Command::Policy(opts) => policy::run(&ctx, &opts),
        Command::Mfa(opts) => done(mfa::run(&ctx, &opts)),
        Command::Doctor(opts) => doctor::run(&ctx, &opts),
        Command::Server(opts) => server::run(&ctx, &opts),
        Command::Console(opts) => done(console::run(&ctx, &opts)),
        Command::Completions { shell } => {
            let text = complete::registration(shell)
                .map_err(|e| Error::new(Exit::Failure, format!("completions: {e}")))?;
            done(
                crate::output::print_stdout(&text)
                    .map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}"))),
            )
        }
    }
}

/// Global options with no command: aws-mfa's whole command line is `aws-mfa --profile
/// work`, so say what that is here.
fn no_command(global: &GlobalOpts) -> Error {
    let hint = match &global.profile {
        Some(p) => format!("an MFA session for {p}, as aws-mfa does: `awsmfa login -p {p}`"),
        None => "`awsmfa login` gets an MFA session; `awsmfa --help` lists the commands".into(),
    };
    Error::new(Exit::Usage, "no command given").with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn profile_comes_from_flag_then_env_then_default() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap();
        let env = Env::from_pairs([("AWS_PROFILE", "envp")]);
        let c = parse(&["awsmfa", "login"]);
        assert_eq!(
            Context::new(&c.global, env.clone()).unwrap().profile,
            "envp"
        );
        let c = parse(&["awsmfa", "-p", "flag", "login"]);
        assert_eq!(Context::new(&c.global, env).unwrap().profile, "flag");
        let c = parse(&["awsmfa", "login"]);
        assert_eq!(
            Context::new(&c.global, Env::default()).unwrap().profile,
            "default"
        );
    }

    #[test]
    fn flags_are_looked_up_in_the_command_tree() {
        assert!(command_has_flag("login", "token-code"));
        assert!(command_has_flag("mfa deactivate", "token-code"));
        assert!(!command_has_flag("exec", "token-code"));
        assert!(command_has_flag("exec", "profile"));
        assert!(!command_has_flag("nonsense", "profile"));
    }

    #[test]
    fn section_names_are_checked() {
        assert!(check_section_name("work-mfa", "profile").is_ok());
        for bad in ["", "a]b", "a\nb", " lead", "x=y"] {
            assert!(check_section_name(bad, "profile").is_err(), "{bad:?}");
        }
    }
}
