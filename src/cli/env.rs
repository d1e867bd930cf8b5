//! `awsmfa env`: the credentials as shell code, `eval "$(awsmfa env -p work)"`.

use clap::Args;

use super::Context;
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output;
use crate::output::formats::{self, EnvFormat};

#[derive(Debug, Args)]
pub struct EnvOpts {
    /// Output format [default: from $SHELL: fish, powershell, else sh]
    #[arg(long, value_enum)]
    pub format: Option<EnvFormat>,
    /// Print the lines that clear the variables instead
    #[arg(long)]
    pub unset: bool,
}

pub fn run(ctx: &Context, opts: &EnvOpts) -> Result<(), Error> {
    let format = opts
        .format
        .unwrap_or_else(|| EnvFormat::from_shell(ctx.env.get("SHELL")));
    let text = if opts.unset {
        formats::env_unsets(format, &formats::UNSET_VARS).into()
    } else {
        let setup = Setup::new(ctx)?;
        let fx = CliEffects::new(ctx, &setup, None);
        let served = setup.serve(&fx, &setup.request())?;
        let vars = formats::credential_vars(&served.creds, setup.region.as_deref());
        formats::env_assignments(format, &vars)?
    };
    output::print_stdout(&text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}
