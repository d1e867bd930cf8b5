//! `awsmfa env`: the credentials as shell code, `eval "$(awsmfa env -p work)"`.
//!
//! What is printed is what `exec` puts in a child's environment ([`super::handoff`]):
//! the stale variables cleared, the session's keys, the region and the profile's
//! endpoints set, so a Wasabi profile's session is never sent to AWS. `--unset` clears
//! exactly what the last `env` (or `server`) output set, named in `AWSMFA_ENV_VARS`.

use clap::Args;

use super::Context;
use super::handoff::{self, Creds};
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output;
use crate::output::formats::{self, EnvFormat};

#[derive(Debug, Args)]
pub struct EnvOpts {
    /// Output format [default: the shell that runs awsmfa, else $SHELL: fish, powershell,
    /// else sh; on Windows powershell when run from PowerShell, else cmd]
    #[arg(long, value_enum)]
    pub format: Option<EnvFormat>,
    /// Print the lines that clear the variables instead
    #[arg(long)]
    pub unset: bool,
    /// aws-vault's word order (`env work`): the profile, as with -p
    #[arg(value_name = "PROFILE", hide = true, allow_hyphen_values = true)]
    pub profile_word: Option<String>,
}

pub fn run(ctx: &Context, opts: &EnvOpts) -> Result<(), Error> {
    let format = opts.format.unwrap_or_else(|| {
        EnvFormat::detect(
            crate::proc::parent_name().as_deref(),
            crate::sys::login_shell(&ctx.env).as_deref(),
        )
    });
    let text = if opts.unset {
        let names = handoff::unset_names(ctx);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        formats::env_unsets(format, &names).into()
    } else {
        let setup = Setup::for_serving(ctx)?;
        let served = {
            let fx = CliEffects::new(ctx, &setup, None);
            setup.serve(&fx, &setup.request())?
        };
        let handoff = handoff::handoff(ctx, &setup, Creds::Fixed(&served.creds))?.with_marker();
        formats::env_script(format, &handoff.unset, &handoff.set)?
    };
    output::print_stdout(&text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}
