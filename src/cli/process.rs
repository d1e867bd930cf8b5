//! `awsmfa process`: `credential_process` JSON on stdout, and nothing else there, ever.
//!
//! Used as `credential_process = awsmfa process --profile work`. Prompts go to the
//! terminal (`/dev/tty`), since the AWS CLI captures both stdout and stderr; with no
//! terminal and no other code source it fails at once with exit status 4.

use clap::Args;

use super::Context;
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output::{self, formats};

#[derive(Debug, Args)]
pub struct ProcessOpts {
    /// aws-vault's word order (`process work`): the profile, as with -p
    #[arg(value_name = "PROFILE", hide = true, allow_hyphen_values = true)]
    pub profile_word: Option<String>,
}

pub fn run(ctx: &Context, _opts: &ProcessOpts) -> Result<(), Error> {
    let setup = Setup::for_serving(ctx)?;
    let fx = CliEffects::new(ctx, &setup, None);
    let served = setup.serve(&fx, &setup.request())?;
    let json = formats::credential_process_json(&served.creds);
    output::print_stdout(&json).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}
