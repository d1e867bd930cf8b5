//! `awsmfa mfa …`: the user's virtual MFA devices — list, create (QR code in the
//! terminal, enabled with two consecutive codes, nothing half-made left behind), enable,
//! resync, deactivate, delete — and `mfa code` for scripts.

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::Context;
use std::io::{IsTerminal, Read};

use secrecy::SecretString;

use super::setup::{
    CliEffects, Setup, http_settings, open_vault, open_vault_to_store, stored_seed_code,
};
use crate::config::profile::Kind;
use crate::creds::Credentials;
use crate::error::{Error, Exit};
use crate::mfa::{self, Prompt, check_code, qr};
use crate::output;
use crate::sts::{CallerIdentity, Iam, QueryClient, Sts};
use crate::vault::{Backend, Kind as VaultKind};

#[derive(Debug, Args)]
pub struct MfaOpts {
    #[command(subcommand)]
    pub command: MfaCommand,
}

#[derive(Debug, Args, Clone)]
pub struct CodesOpt {
    /// Read the two consecutive codes from standard input (one per line) instead of asking
    #[arg(long = "codes", value_name = "-", value_parser = ["-"])]
    pub codes: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// The MFA devices of the user behind the profile's keys
    List,
    /// Create a virtual MFA device, show its QR code, and enable it with two codes
    Create {
        /// The device's name (IAM: letters, digits and +=,.@-)
        name: String,
        /// Also write the QR code to this PNG file (private: it holds the secret)
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
        /// Also show the secret and the otpauth URI as text (for apps that cannot scan, or a
        /// terminal too small for the QR code); without a terminal, print the QR code and
        /// them on stderr — unsafe where output is logged (CI)
        #[arg(long)]
        show_secret: bool,
        /// Keep the seed in the vault and compute the codes from it: this machine becomes the second factor
        #[arg(long)]
        store_seed: bool,
        /// The vault backend for --store-seed: file or keyring
        #[arg(long, value_name = "BACKEND", requires = "store_seed")]
        backend: Option<String>,
        #[command(flatten)]
        codes: CodesOpt,
    },
    /// Enable an existing virtual MFA device with two consecutive codes
    Enable {
        serial: String,
        #[command(flatten)]
        codes: CodesOpt,
    },
    /// Resynchronise a device whose codes drifted, with two consecutive codes
    Resync {
        /// [default: the profile's mfa_serial]
        serial: Option<String>,
        #[command(flatten)]
        codes: CodesOpt,
    },
    /// Deactivate a device (needs an MFA session)
    Deactivate {
        /// [default: the profile's mfa_serial]
        serial: Option<String>,
        /// The MFA code for the session, if none is cached; "-" reads it from stdin
        #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
        token_code: Option<String>,
    },
    /// Delete a virtual MFA device that is not enabled (its ARN, or its name)
    Delete { serial: String },
    /// Print the current code from the profile's code source (mfa_process or a stored seed), for scripts
    Code,
    /// Keep a device's TOTP seed in the vault (opt-in: this machine becomes the second factor)
    Seed {
        #[command(subcommand)]
        command: SeedCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Store the seed (base32, or the otpauth:// URI), asked unechoed or read from stdin
    Add {
        /// [default: the profile's mfa_serial]
        serial: Option<String>,
        /// file or keyring [default: $AWSMFA_VAULT_BACKEND, else file]
        #[arg(long, value_name = "BACKEND")]
        backend: Option<String>,
    },
    /// Delete a stored seed
    Remove {
        /// [default: the profile's mfa_serial]
        serial: Option<String>,
    },
}

struct Account {
    setup: Setup,
    keys: Credentials,
    identity: CallerIdentity,
    iam: QueryClient,
}

impl Account {
    fn user(&self) -> Result<&str, Error> {
        self.identity.user_name().ok_or_else(|| {
            Error::new(
                Exit::Config,
                format!(
                    "the profile's keys are not an IAM user's ({})",
                    self.identity.arn
                ),
            )
            .with_hint("MFA devices belong to IAM users: use a profile with a user's access keys")
        })
    }
}

fn account(ctx: &Context) -> Result<Account, Error> {
    let setup = Setup::new(ctx)?;
    let base = setup.resolved.base_keys();
    let keys = super::setup::long_term_keys(ctx, base)?;
    let http = http_settings(ctx, &setup.resolved)?;
    super::setup::warn_cleartext(ctx, &setup.sts_endpoint);
    super::setup::warn_cleartext(ctx, &setup.iam_endpoint()?);
    let sts = super::setup::query_client(ctx, &setup.sts_endpoint, http.clone())?;
    let identity = sts.get_caller_identity(&keys)?;
    let iam = super::setup::query_client(ctx, &setup.iam_endpoint()?, http)?;
    Ok(Account {
        setup,
        keys,
        identity,
        iam,
    })
}

/// Two consecutive codes: from stdin with `--codes -`, else asked.
fn two_codes(ctx: &Context, opt: &CodesOpt, serial: &str) -> Result<(String, String), Error> {
    if opt.codes.is_some() {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        let mut next = || -> Result<String, Error> {
            let line = lines
                .next()
                .transpose()
                .map_err(|e| Error::new(Exit::Failure, format!("stdin: {e}")))?
                .ok_or_else(|| Error::new(Exit::Usage, "--codes -: two codes expected on stdin"))?;
            Ok(check_code(&line)?)
        };
        return Ok((next()?, next()?));
    }
    let ask = |q: &str| -> Result<String, Error> {
        match ctx.prompt.ask(q) {
            Ok(Some(answer)) => Ok(check_code(&answer)?),
            Ok(None) => Err(mfa::MfaError::NoPrompt {
                serial: serial.to_string(),
            }
            .into()),
            Err(e) => Err(Error::new(Exit::Failure, e.to_string())),
        }
    };
    let first = ask(&format!("First code of {serial}: "))?;
    let second = ask("Wait for the code to change, then the next one: ")?;
    Ok((first, second))
}

fn configured_serial(setup: &Setup, given: Option<&String>) -> Result<String, Error> {
    let configured = match &setup.resolved.kind {
        Kind::Role(r) => r.mfa_serial.clone(),
        Kind::MfaSession(_) => setup.resolved.mfa_serial.clone(),
    };
    given.cloned().or(configured).ok_or_else(|| {
        Error::new(
            Exit::Usage,
            "no device given and no mfa_serial in the profile",
        )
        .with_hint("name the device's ARN (see `awsmfa mfa list`)")
    })
}

/// Shows what encodes the device's secret (the QR code, the secret itself) on the
/// controlling terminal, so it does not end up in a file stderr is redirected to.
/// Without a terminal (a CI job) it goes to stderr only when `--show-secret` asked for
/// it: that stderr is usually a log. Returns whether it was shown.
fn show_secretly(text: &str, show_secret: bool) -> bool {
    use std::io::Write;
    if let Some(mut tty) = crate::sys::console_output()
        && tty.write_all(text.as_bytes()).is_ok()
    {
        return true;
    }
    if show_secret {
        eprint!("{text}");
    }
    show_secret
}

/// Why the QR code of `data` does not fit the terminal (its lines and the question under
/// it, its width), if it does not; nothing where the terminal's size is not known.
fn qr_misfit(data: &str) -> Option<String> {
    let (cols, rows) = crate::sys::console_size()?;
    let (width, lines) = qr::terminal_size(data);
    (width > cols || lines + 1 > rows).then(|| {
        format!(
            "the QR code needs {width}×{} and this terminal is {cols}×{rows}",
            lines + 1
        )
    })
}

/// The refusal when the QR code would scroll off: say so, and name the flags that offer
/// it another way (the PNG file, the secret and `otpauth` URI as text).
fn qr_misfit_error(why: &str, outcome: &str) -> Error {
    Error::new(
        Exit::NoPrompt,
        format!("{why}: it would scroll off unseen; {outcome}"),
    )
    .with_hint("enlarge it, or use --qr-png FILE (to scan) or --show-secret (as text)")
}

/// Whether there is a controlling terminal to show a QR code on.
fn has_terminal() -> bool {
    crate::sys::console_output().is_some()
}

fn print(text: &str) -> Result<(), Error> {
    output::print_stdout(text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}

pub fn run(ctx: &Context, opts: &MfaOpts) -> Result<(), Error> {
    match &opts.command {
        MfaCommand::List => list(ctx),
        MfaCommand::Create {
            name,
            qr_png,
            show_secret,
            store_seed,
            backend,
            codes,
        } => {
            let store = match store_seed {
                true => Some(Backend::choose(backend.as_deref(), &ctx.env)?),
                false => None,
            };
            if store == Some(Backend::Plaintext) {
                return Err(Error::new(
                    Exit::Usage,
                    "seeds are kept in the vault only: choose --backend file or keyring",
                ));
            }
            let how = Enrollment {
                qr_png: qr_png.as_deref(),
                show_secret: *show_secret,
                store,
                codes,
            };
            create(ctx, name, &how)
        }
        MfaCommand::Enable { serial, codes } => {
            let acct = account(ctx)?;
            let user = acct.user()?.to_string();
            let pair = two_codes(ctx, codes, serial)?;
            acct.iam.device_codes(
                &acct.keys,
                "EnableMFADevice",
                &user,
                serial,
                (&pair.0, &pair.1),
            )?;
            spent(&acct, serial, &pair);
            ctx.say(&format!("enabled {serial} for {user}"));
            Ok(())
        }
        MfaCommand::Resync { serial, codes } => {
            let acct = account(ctx)?;
            let serial = configured_serial(&acct.setup, serial.as_ref())?;
            let user = acct.user()?.to_string();
            let pair = two_codes(ctx, codes, &serial)?;
            acct.iam.device_codes(
                &acct.keys,
                "ResyncMFADevice",
                &user,
                &serial,
                (&pair.0, &pair.1),
            )?;
            spent(&acct, &serial, &pair);
            ctx.say(&format!("resynchronised {serial}"));
            Ok(())
        }
        MfaCommand::Deactivate { serial, token_code } => {
            deactivate(ctx, serial.as_ref(), token_code.as_ref())
        }
        MfaCommand::Delete { serial } => {
            let acct = account(ctx)?;
            // A name (as given to `mfa create`) is the device of this account.
            let serial = &if serial.starts_with("arn:") {
                serial.clone()
            } else {
                let partition = acct.identity.arn.split(':').nth(1).unwrap_or("aws");
                format!(
                    "arn:{partition}:iam::{}:mfa/{serial}",
                    acct.identity.account
                )
            };
            acct.iam.delete_virtual_mfa_device(&acct.keys, serial)?;
            ctx.say(&format!("deleted {serial}"));
            Ok(())
        }
        MfaCommand::Code => code(ctx),
        MfaCommand::Seed { command } => seed(ctx, command),
    }
}

/// `mfa list`: the user's devices, each with when it was enabled.
fn list(ctx: &Context) -> Result<(), Error> {
    let acct = account(ctx)?;
    let devices = acct.iam.list_mfa_devices(&acct.keys, None)?;
    let mut out = String::new();
    if devices.is_empty() {
        ctx.say(&format!("{} has no MFA device", acct.user()?));
    }
    for d in devices {
        // In local time to the minute, as `login` shows times.
        let enabled = d
            .enable_date
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_else(|| {
                crate::term::clean(d.enable_date.as_deref().unwrap_or("-")).into_owned()
            });
        out.push_str(&format!(
            "{}  enabled {}\n",
            crate::term::clean(&d.serial_number),
            enabled
        ));
    }
    print(&out)
}

/// `mfa deactivate`: with an MFA session, as policies that force MFA allow it.
fn deactivate(
    ctx: &Context,
    serial: Option<&String>,
    token_code: Option<&String>,
) -> Result<(), Error> {
    if let Some(code) = token_code.filter(|c| *c != "-") {
        check_code(code)?;
    }
    let acct = account(ctx)?;
    let serial = configured_serial(&acct.setup, serial)?;
    let user = acct.user()?.to_string();
    // Policies that force MFA allow this only with MFA: use the MFA session.
    let fx = CliEffects::new(ctx, &acct.setup, token_code.cloned());
    let session = acct.setup.serve(&fx, &acct.setup.request())?;
    acct.iam
        .deactivate_mfa_device(&session.creds, &user, &serial)?;
    let cleared = acct.setup.cache.remove_where(|_| true).unwrap_or(0);
    ctx.say(&format!(
        "deactivated {serial} for {user} (dropped {cleared} cached sessions)"
    ));
    Ok(())
}

/// `mfa code`: the current code, from mfa_process or the stored seed.
fn code(ctx: &Context) -> Result<(), Error> {
    let setup = Setup::new(ctx)?;
    if let Some(command) = setup.resolved.mfa_process.as_deref() {
        let timeout = super::setup::mfa_process_timeout(ctx)?;
        let code = mfa::run_code_process(command, timeout)?;
        return print(&format!("{code}\n"));
    }
    let stored = match configured_serial(&setup, None) {
        Ok(serial) => stored_seed_code(ctx, &serial)?,
        Err(_) => None,
    };
    let code = stored.ok_or_else(|| {
        Error::new(
            Exit::NoPrompt,
            format!("profile {:?} has no code source", ctx.profile),
        )
        .with_hint("set mfa_process in the profile, or store the seed: `awsmfa mfa seed add`")
    })?;
    print(&format!("{}\n", code.as_str()))
}

/// Codes spent on EnableMFADevice/ResyncMFADevice go to the replay guard.
fn spent(acct: &Account, serial: &str, pair: &(String, String)) {
    crate::session::engine::note_used_codes(
        &acct.setup.cache,
        serial,
        &[&pair.0, &pair.1],
        jiff::Timestamp::now().as_second(),
    );
}

const SEED_WARNING: &str = "with the seed stored, this machine makes the MFA codes itself: whoever has the vault's passphrase and the keys no longer needs your phone or token";

/// A seed as typed or pasted: base32 (spaces, case and padding forgiven), or the
/// `otpauth://` URI an authenticator app exports.
pub(crate) fn parse_seed(text: &str) -> Result<SecretString, Error> {
    let text = text.trim();
    let raw = match text.strip_prefix("otpauth://") {
        Some(rest) => rest
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("secret=")))
            .unwrap_or_default()
            .to_string(),
        None => text.to_string(),
    };
    let seed: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if seed.len() < 16 || mfa::totp::base32_decode(&seed).is_none() {
        return Err(Error::new(
            Exit::Usage,
            "that is not a TOTP seed (base32, at least 16 characters) nor an otpauth:// URI with one",
        ));
    }
    Ok(SecretString::from(seed))
}

fn seed(ctx: &Context, command: &SeedCommand) -> Result<(), Error> {
    let setup = Setup::new(ctx)?;
    match command {
        SeedCommand::Add { serial, backend } => {
            let serial = configured_serial(&setup, serial.as_ref())?;
            let backend = Backend::choose(backend.as_deref(), &ctx.env)?;
            if backend == Backend::Plaintext {
                return Err(Error::new(
                    Exit::Usage,
                    "seeds are kept in the vault only: choose --backend file or keyring",
                ));
            }
            let text = if std::io::stdin().is_terminal() {
                ctx.prompt
                    .ask_secret(&format!(
                        "TOTP secret of {serial} (base32 or otpauth:// URI): "
                    ))
                    .map_err(|e| Error::new(Exit::Failure, e.to_string()))?
                    .ok_or_else(|| {
                        Error::new(
                            Exit::NoPrompt,
                            "the seed is needed, and there is no terminal to ask on",
                        )
                        .with_hint("pipe it on standard input")
                    })?
            } else {
                let mut line = zeroize::Zeroizing::new(String::new());
                std::io::stdin()
                    .lock()
                    .take(4096)
                    .read_line(&mut line)
                    .map_err(|e| Error::new(Exit::Failure, format!("stdin: {e}")))?;
                SecretString::from(line.trim().to_string())
            };
            let seed = parse_seed(text.expose_secret())?;
            let vault = open_vault_to_store(ctx)?;
            vault.store_seed(&serial, backend, &seed)?;
            ctx.warn(SEED_WARNING);
            ctx.say(&format!(
                "stored the TOTP seed of {serial} in {}; codes for it are now computed (`awsmfa mfa code` shows the current one)",
                backend.describe()
            ));
            Ok(())
        }
        SeedCommand::Remove { serial } => {
            let serial = configured_serial(&setup, serial.as_ref())?;
            match open_vault(ctx)?.remove(VaultKind::Totp, &serial)? {
                Some(_) => {
                    ctx.say(&format!("removed the stored TOTP seed of {serial}"));
                    Ok(())
                }
                None => Err(Error::new(
                    Exit::Config,
                    format!("no TOTP seed of {serial} is stored"),
                )),
            }
        }
    }
}

/// How `mfa create` shows the new device and where the codes that enable it come from.
struct Enrollment<'a> {
    qr_png: Option<&'a std::path::Path>,
    show_secret: bool,
    /// Store the seed in this backend and compute the codes from it.
    store: Option<Backend>,
    codes: &'a CodesOpt,
}

impl Enrollment<'_> {
    /// Whether the QR code on the terminal is the only way the device is shown.
    fn terminal_only(&self) -> bool {
        self.store.is_none() && self.qr_png.is_none() && !self.show_secret
    }
}

/// IAM's rule for a virtual MFA device's name.
fn check_device_name(name: &str) -> Result<(), Error> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
    {
        return Err(Error::new(
            Exit::Usage,
            "a device name uses letters, digits and +=,.@-_ (at most 128)",
        ));
    }
    Ok(())
}

fn create(ctx: &Context, name: &str, how: &Enrollment) -> Result<(), Error> {
    check_device_name(name)?;
    if how.terminal_only() && !has_terminal() {
        // Nobody could scan the code: refuse before a device exists.
        return Err(Error::new(
            Exit::NoPrompt,
            "there is no terminal to show the new device's QR code on",
        )
        .with_hint("use --store-seed, --qr-png FILE, or --show-secret (unsafe where logged)"));
    }
    let acct = account(ctx)?;
    let user = acct.user()?.to_string();
    // A QR code taller or wider than the terminal would scroll off unseen: refused before
    // a device exists, unless the PNG or the secret as text was asked for. Measured with
    // a seed of AWS's length (64 base32 characters); the drawing measures again.
    if how.terminal_only() {
        let stand_in = qr::otpauth_uri_short(&user, &acct.identity.account, &"A".repeat(64));
        if let Some(why) = qr_misfit(&stand_in) {
            return Err(qr_misfit_error(&why, "nothing was created"));
        }
    }
    // The config write comes last, after the device exists in AWS: tried first.
    let files = &acct.setup.files;
    output::try_edit(&files.config, |d| {
        output::save_edit(
            d,
            &ctx.profile,
            "mfa_serial",
            "arn:aws:iam::000000000000:mfa/placeholder",
        )
    })
    .map_err(|e| output::with_path(e, &files.config_path))?;
    let device = acct.iam.create_virtual_mfa_device(&acct.keys, name)?;
    let serial = device.serial_number.clone();
    // From here on, any failure deletes the device again, and so does an interruption
    // (Ctrl-C at the prompt, a closed terminal): nothing half-made is left.
    let seed_stored = std::sync::atomic::AtomicBool::new(false);
    // Whoever comes first undoes: the failing command, or the interruption.
    let undone = std::sync::atomic::AtomicBool::new(false);
    let undo = |why: &str| {
        if undone.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        if seed_stored.load(std::sync::atomic::Ordering::SeqCst)
            && let Ok(v) = open_vault(ctx)
        {
            let _ = v.remove(VaultKind::Totp, &serial);
        }
        match acct.iam.delete_virtual_mfa_device(&acct.keys, &serial) {
            Ok(()) => ctx.say(&format!("{why}: deleted the unfinished device {serial}")),
            Err(d) => ctx.warn(&format!(
                "{why}: could not delete the unfinished device {serial}: {d}"
            )),
        }
        true
    };
    let new = NewOne {
        acct: &acct,
        user: &user,
        device: &device,
        seed_stored: &seed_stored,
    };
    crate::proc::cleanup_on_interrupt(
        |sig| undo(&format!("interrupted (signal {sig})")),
        || {
            let result = enroll(ctx, &new, how);
            if result.is_err() {
                undo("enrollment failed");
            }
            result
        },
    )?;
    output::save_config_value(
        &acct.setup.files.config_path,
        &ctx.profile,
        "mfa_serial",
        &serial,
    )?;
    ctx.say(&format!(
        "enabled {serial} for {user}; mfa_serial saved in [{}] of {}",
        acct.setup.files.config_section_of(&ctx.profile),
        acct.setup.files.config_path.display()
    ));
    if let Some(why) =
        output::shadowed_by_credentials(&acct.setup.files, &ctx.profile, "mfa_serial", &serial)
    {
        ctx.warn(&why);
    }
    Ok(())
}

/// A device just created in AWS, not yet enabled, and whose it is.
struct NewOne<'a> {
    acct: &'a Account,
    user: &'a str,
    device: &'a crate::sts::NewDevice,
    /// Set once its seed is in the vault (so that undoing removes it again).
    seed_stored: &'a std::sync::atomic::AtomicBool,
}

/// Shows the new device, gets two consecutive codes for it and enables it.
fn enroll(ctx: &Context, new: &NewOne, how: &Enrollment) -> Result<(), Error> {
    let drawn_lines = show_device(ctx, new, how)?;
    let pair = match how.store {
        Some(backend) => stored_seed_codes(ctx, new, backend)?,
        None => {
            let serial = &new.device.serial_number;
            if let Some(lines) = drawn_lines
                && how.codes.codes.is_none()
            {
                // The code stays on screen until the person has scanned it, then is
                // wiped (it is the second factor) before the codes are asked for.
                let _ = ctx
                    .prompt
                    .ask("scan the QR code with your authenticator app, then press Enter: ");
                show_secretly(&format!("\x1b[{}F\x1b[J", lines + 1), false);
                ctx.say(&format!("enter two consecutive codes for {serial}"));
            } else {
                ctx.say(&format!(
                    "scan the code with your authenticator app; then enter two consecutive codes for {serial}"
                ));
            }
            two_codes(ctx, how.codes, serial)?
        }
    };
    let serial = &new.device.serial_number;
    new.acct.iam.device_codes(
        &new.acct.keys,
        "EnableMFADevice",
        new.user,
        serial,
        (&pair.0, &pair.1),
    )?;
    spent(new.acct, serial, &pair);
    Ok(())
}

/// Shows the new device as asked: the QR code on the terminal (where it fits), the PNG
/// file, the secret and URI as text. The lines of the QR code when it was drawn on the
/// terminal.
fn show_device(ctx: &Context, new: &NewOne, how: &Enrollment) -> Result<Option<usize>, Error> {
    let (user, account) = (new.user, &new.acct.identity.account);
    let seed = new.device.seed_base32.expose_secret();
    let uri = qr::otpauth_uri(user, account, seed);
    let short = qr::otpauth_uri_short(user, account, seed);
    let colour = ctx.env.get("TERM") != Some("dumb");
    let drawn = qr::render_terminal(&short, colour);
    let misfit = if has_terminal() {
        qr_misfit(&short)
    } else {
        None
    };
    if let Some(why) = &misfit
        && how.qr_png.is_none()
        && !how.show_secret
    {
        return Err(qr_misfit_error(why, "the device is deleted again"));
    }
    let on_terminal = misfit.is_none() && show_secretly(&drawn, how.show_secret) && has_terminal();
    if let Some(path) = how.qr_png {
        crate::fsx::write_atomic(path, &qr::png(&uri))
            .map_err(|e| Error::new(Exit::Config, e.to_string()))?;
        ctx.say(&format!(
            "QR code written to {} (private: it holds the secret)",
            path.display()
        ));
    }
    if let Some(why) = &misfit {
        ctx.say(&match how.qr_png {
            Some(path) => format!("{why}, so it is not drawn: scan {}", path.display()),
            None => format!("{why}, so it is not drawn: type the secret below"),
        });
    }
    if how.show_secret {
        show_secretly(
            &format!(
                "awsmfa: secret: {}\nawsmfa: otpauth URI: {}\n",
                seed,
                uri.as_str()
            ),
            true,
        );
    }
    Ok(on_terminal.then(|| drawn.lines().count()))
}

/// Stores the seed before the device is enabled (an enabled device whose seed was lost
/// would lock the user out), and computes two consecutive codes from it.
fn stored_seed_codes(
    ctx: &Context,
    new: &NewOne,
    backend: Backend,
) -> Result<(String, String), Error> {
    let serial = &new.device.serial_number;
    open_vault_to_store(ctx)?.store_seed(serial, backend, &new.device.seed_base32)?;
    new.seed_stored
        .store(true, std::sync::atomic::Ordering::SeqCst);
    ctx.warn(SEED_WARNING);
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    let seed = new.device.seed_base32.expose_secret();
    let code = |t| {
        mfa::totp::aws_code(seed, t)
            .ok_or_else(|| Error::new(Exit::Failure, "IAM returned a seed that is not base32"))
    };
    // The previous and the current step: the next login's code is then a fresh one
    // within 30 s (each code is accepted once).
    Ok((code(now.saturating_sub(30))?, code(now)?))
}
