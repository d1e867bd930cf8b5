//! `awsmfa clear [NAME]`: drop cached sessions, all or one profile's.

use clap::Args;

use super::Context;
use crate::error::{Error, Exit};
use crate::session::cache::Cache;

#[derive(Debug, Args)]
pub struct ClearOpts {
    /// Only this profile's sessions [default: all]
    pub name: Option<String>,
}

pub fn run(ctx: &Context, opts: &ClearOpts) -> Result<(), Error> {
    let cache = Cache::from_env(&ctx.env).ok_or_else(|| {
        Error::new(
            Exit::Config,
            "HOME is not set; set HOME or AWSMFA_CACHE_DIR",
        )
    })?;
    let n = cache
        .remove_where(|m| opts.name.as_deref().is_none_or(|name| m.profile == name))
        .map_err(|e| Error::new(Exit::Config, format!("session cache: {e}")))?;
    let what = match &opts.name {
        Some(name) => format!(" of profile {name:?}"),
        None => String::new(),
    };
    ctx.say(&format!(
        "cleared {n} cached session{}{what}",
        if n == 1 { "" } else { "s" }
    ));
    Ok(())
}
