//! `awsmfa process`: `credential_process` JSON on stdout, and nothing else there, ever.
//!
//! Used as `credential_process = awsmfa process --profile work`. Prompts go to the
//! terminal (`/dev/tty`), since the AWS CLI captures both stdout and stderr; with no
//! terminal and no other code source it fails at once with exit status 4.

use super::Context;
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output::{self, formats};

pub fn run(ctx: &Context) -> Result<(), Error> {
    let setup = Setup::for_serving(ctx)?;
    let fx = CliEffects::new(ctx, &setup, None);
    let served = setup.serve(&fx, &setup.request()).map_err(|mut e| {
        if e.exit == Exit::NoPrompt {
            e.hint = Some(format!(
                "run `awsmfa login -p {p}` or `awsmfa exec -p {p}` in a terminal first (the session is then cached), or set mfa_process in the profile",
                p = ctx.profile
            ));
        }
        e
    })?;
    let json = formats::credential_process_json(&served.creds);
    output::print_stdout(&json).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}
