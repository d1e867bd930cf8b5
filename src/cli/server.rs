//! `awsmfa server`: run the local credentials server on its own, for IDEs and tools
//! started elsewhere. Prints the two environment variables to use, then serves until
//! stopped.

use std::sync::atomic::AtomicBool;

use clap::Args;

use super::Context;
use super::exec::EngineProvider;
use super::setup::{CliEffects, Setup};
use crate::error::{Error, Exit};
use crate::output;
use crate::output::formats::{self, EnvFormat};
use crate::server;

#[derive(Debug, Args)]
pub struct ServerOpts {
    /// Port on 127.0.0.1 [default: any free port]
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// How to print the variables [default: from $SHELL]
    #[arg(long, value_enum)]
    pub format: Option<EnvFormat>,
}

pub fn run(ctx: &Context, opts: &ServerOpts) -> Result<u8, Error> {
    let setup = Setup::new(ctx)?;
    // A first session now, in the foreground, so a prompt or an error comes at once.
    let fx = CliEffects::new(ctx, &setup, None);
    setup.serve(&fx, &setup.request())?;
    let listener = server::bind(opts.port).map_err(|e| {
        Error::new(
            Exit::Failure,
            format!("cannot listen on 127.0.0.1:{}: {e}", opts.port),
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::new(Exit::Failure, e.to_string()))?;
    let token = server::random_token()
        .map_err(|e| Error::new(Exit::Failure, format!("no random token: {e}")))?;
    let format = opts
        .format
        .unwrap_or_else(|| EnvFormat::from_shell(ctx.env.get("SHELL")));
    let vars = vec![
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            zeroize::Zeroizing::new(server::url(addr)),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            zeroize::Zeroizing::new(token.to_string()),
        ),
    ];
    output::print_stdout(&formats::env_assignments(format, &vars)?)
        .map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))?;
    ctx.say(&format!(
        "serving the credentials of profile {:?} on {} (Ctrl-C stops)",
        ctx.profile,
        server::url(addr)
    ));
    let provider = EngineProvider { ctx, setup: &setup };
    server::serve(&listener, &token, &provider, &AtomicBool::new(false), 8);
    Ok(0)
}
