//! The environment a profile's credentials need in another program: one answer for
//! `exec` (a child's environment), `env` (shell code) and `server` (shell code that points
//! at the local credentials server).
//!
//! A program must get exactly the identity asked for (DESIGN §7). Fixed credentials in
//! `AWS_ACCESS_KEY_ID`… come first in every SDK's default chain, so removing the stale
//! variables is enough for them. Served credentials (the container provider) come late in
//! every chain — botocore, the JS v3 SDK, the Rust SDK and Go v2 all read environment
//! keys, web-identity variables and the shared files' `default` profile first — so for
//! them the variables that outrank the container provider are removed, and a `default`
//! profile that offers credentials is hidden: the credentials file is replaced by an
//! empty one, the config file by a copy without the `default` profile's credential
//! settings (regions, endpoints and every other profile stay).

use zeroize::Zeroizing;

use super::Context;
use super::setup::Setup;
use crate::config::ini::Document;
use crate::creds::Credentials;
use crate::error::{Error, Exit};

/// Variables removed before the new ones are set: credentials, profile selectors and
/// every other source that an SDK's default chain would prefer to what awsmfa hands
/// over (Go's legacy `AWS_ACCESS_KEY`/`AWS_SECRET_KEY`, web identity, botocore's
/// `AWS_CREDENTIAL_FILE` and boto config).
pub const STALE_VARS: [&str; 19] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_ACCOUNT_ID",
    "AWS_CREDENTIAL_SCOPE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CREDENTIAL_FILE",
    "BOTO_CONFIG",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Names the variables `env` and `server` set, so `env --unset` clears exactly those.
pub const MARKER: &str = "AWSMFA_ENV_VARS";

/// Settings that make a profile a source of credentials for the SDKs.
const CREDENTIAL_KEYS: [&str; 14] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "credential_process",
    "credential_source",
    "role_arn",
    "source_profile",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "sso_role_name",
    "login_session",
];

/// How the credentials reach the program.
pub enum Creds<'a> {
    /// In the environment, fixed.
    Fixed(&'a Credentials),
    /// From the local credentials server at `url`, renewed as needed.
    Served { url: &'a str, token: &'a str },
}

/// What to set and what to remove.
pub struct Handoff {
    pub unset: Vec<&'static str>,
    pub set: Vec<(String, Zeroizing<String>)>,
    /// A private directory holding a config copy, removed on drop.
    pub scratch: Option<tempfile::TempDir>,
}

impl Handoff {
    /// The names this hand-off sets, for [`MARKER`].
    pub fn names(&self) -> String {
        let mut names: Vec<&str> = self.set.iter().map(|(k, _)| k.as_str()).collect();
        names.push(MARKER);
        names.join(" ")
    }

    /// Sets [`MARKER`] to the names set (for shells: `env --unset` reads it back).
    pub fn with_marker(mut self) -> Handoff {
        let names = self.names();
        self.set.push((MARKER.to_string(), Zeroizing::new(names)));
        self
    }
}

/// The hand-off of `creds` for the context's profile. A config copy that served
/// credentials may need is made in `scratch/` of the private session cache, in a
/// directory that is 0700 from its first instant whatever the umask: whoever could
/// swap that copy would choose what the program runs (`credential_process`).
pub fn handoff(ctx: &Context, setup: &Setup, creds: Creds<'_>) -> Result<Handoff, Error> {
    let mut set: Vec<(String, Zeroizing<String>)> = Vec::new();
    let mut scratch = None;
    let mut add = |k: &str, v: &str| set.push((k.to_string(), Zeroizing::new(v.to_string())));
    match creds {
        Creds::Fixed(c) => {
            add("AWS_ACCESS_KEY_ID", &c.access_key_id);
            add("AWS_SECRET_ACCESS_KEY", c.secret());
            if let Some(t) = c.token() {
                add("AWS_SESSION_TOKEN", t);
            }
            if let Some(exp) = c.expiration {
                add(
                    "AWS_CREDENTIAL_EXPIRATION",
                    &exp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                );
            }
        }
        Creds::Served { url, token } => {
            add("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
            add("AWS_CONTAINER_AUTHORIZATION_TOKEN", token);
            let files = &setup.files;
            if offers_credentials(&files.credentials, &["default"]) {
                ctx.debug(
                    1,
                    "[default] in the credentials file holds credentials; the program gets an empty credentials file so that it uses the served session",
                );
                add("AWS_SHARED_CREDENTIALS_FILE", crate::sys::null_device());
            }
            if offers_credentials(&files.config, &["default", "profile default"]) {
                let parent = setup
                    .cache
                    .private_subdir("scratch", &|m| ctx.warn(m))
                    .map_err(crate::session::engine::cache_error)?;
                let dir = crate::sys::private_tempdir(&parent, "handoff-").map_err(|e| {
                    Error::new(
                        Exit::Config,
                        format!(
                            "cannot make a private directory in {}: {e}",
                            parent.display()
                        ),
                    )
                })?;
                let path = dir.path().join("config");
                crate::fsx::write_atomic(&path, &without_default_credentials(&files.config))
                    .map_err(|e| Error::new(Exit::Config, e.to_string()))?;
                ctx.debug(
                    1,
                    &format!(
                        "the default profile in {} is a source of credentials; the program gets a copy without them ({})",
                        files.config_path.display(),
                        path.display()
                    ),
                );
                add("AWS_CONFIG_FILE", &path.to_string_lossy());
                scratch = Some(dir);
            }
        }
    }
    if let Some(region) = &setup.region {
        add("AWS_REGION", region);
        add("AWS_DEFAULT_REGION", region);
    }
    for (name, value) in endpoint_vars(ctx, setup) {
        add(&name, &value);
    }
    Ok(Handoff {
        unset: STALE_VARS.to_vec(),
        set,
        scratch,
    })
}

/// The names `env --unset` clears: what the last `env`/`server` output set (from the
/// marker), else every name either could have set for the profile.
pub fn unset_names(ctx: &Context) -> Vec<String> {
    if let Some(names) = ctx.env.get(MARKER) {
        let listed: Vec<String> = names
            .split_whitespace()
            // Names from the environment go into shell lines: only variable names pass.
            .filter(|n| is_var_name(n) && (n.starts_with("AWS_") || *n == MARKER))
            .map(String::from)
            .collect();
        if !listed.is_empty() {
            return listed;
        }
    }
    let mut names: Vec<String> = STALE_VARS
        .iter()
        .filter(|n| !matches!(**n, "AWS_PROFILE" | "AWS_DEFAULT_PROFILE" | "BOTO_CONFIG"))
        .map(|n| n.to_string())
        .collect();
    names.extend(["AWS_REGION", "AWS_DEFAULT_REGION"].map(String::from));
    if let Ok(setup) = Setup::new(ctx) {
        names.extend(endpoint_vars(ctx, &setup).into_iter().map(|(k, _)| k));
    }
    names
}

/// Whether any of `sections` offers credentials to an SDK.
fn offers_credentials(doc: &Document, sections: &[&str]) -> bool {
    sections.iter().any(|s| {
        doc.entries(s).is_some_and(|entries| {
            entries.into_iter().any(|(k, v, _)| {
                CREDENTIAL_KEYS.contains(&k.to_ascii_lowercase().as_str()) && !v.trim().is_empty()
            })
        })
    })
}

/// The config file's bytes without the `default` profile's credential settings.
fn without_default_credentials(config: &Document) -> Vec<u8> {
    let mut copy = config.clone();
    for section in ["default", "profile default"] {
        for key in CREDENTIAL_KEYS {
            while copy.remove_key(section, key) {}
        }
    }
    copy.to_bytes()
}

/// The profile's endpoint settings as the environment variables the AWS CLI and SDKs
/// read, so a program reaches the same cloud (Wasabi…) without a profile. Variables the
/// user already set win (awsmfa itself used them).
pub fn endpoint_vars(ctx: &Context, setup: &Setup) -> Vec<(String, String)> {
    let settings = &setup.resolved.settings;
    let mut out = Vec::new();
    if let Some(url) = &settings.endpoint_url
        && !ctx.env.is_set("AWS_ENDPOINT_URL")
    {
        out.push(("AWS_ENDPOINT_URL".to_string(), url.clone()));
    }
    if let Some(name) = &settings.services {
        for (service, keys) in setup.files.services(name) {
            let var = format!(
                "AWS_ENDPOINT_URL_{}",
                service.to_ascii_uppercase().replace(['-', ' '], "_")
            );
            // A service name from the config becomes a variable name in shell lines.
            if let Some(url) = keys.get("endpoint_url")
                && is_var_name(&var)
                && !ctx.env.is_set(&var)
            {
                out.push((var, url.clone()));
            }
        }
    }
    if let Some(bundle) = &settings.ca_bundle
        && !ctx.env.is_set("AWS_CA_BUNDLE")
    {
        out.push(("AWS_CA_BUNDLE".to_string(), bundle.clone()));
    }
    out
}

/// Whether a name is a valid environment variable name for every shell.
pub fn is_var_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_default_profile_with_credentials_is_noticed() {
        assert!(offers_credentials(
            &doc("[default]\naws_access_key_id = AKIA\n"),
            &["default"]
        ));
        assert!(offers_credentials(
            &doc("[profile default]\ncredential_process = x\n"),
            &["default", "profile default"]
        ));
        assert!(!offers_credentials(
            &doc("[default]\nregion = us-east-1\n[x]\naws_access_key_id = A\n"),
            &["default"]
        ));
        assert!(!offers_credentials(
            &doc("[default]\nrole_arn =\n"),
            &["default"]
        ));
    }

    #[test]
    fn the_config_copy_keeps_everything_but_default_credentials() {
        let config = doc(
            "# mine\n[default]\nregion = eu-west-1\ncredential_process = awsmfa process\nrole_arn = arn:aws:iam::1:role/x\n\n[profile w]\nregion = us-east-2\ncredential_process = other\n",
        );
        assert_eq!(
            String::from_utf8(without_default_credentials(&config)).unwrap(),
            "# mine\n[default]\nregion = eu-west-1\n\n[profile w]\nregion = us-east-2\ncredential_process = other\n"
        );
    }

    #[test]
    fn variable_names() {
        assert!(is_var_name("AWS_ENDPOINT_URL_S3"));
        assert!(!is_var_name("AWS_ENDPOINT URL"));
        assert!(!is_var_name("1X"));
        assert!(!is_var_name("A$(x)"));
    }
}
