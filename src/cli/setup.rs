//! What every credential-serving command sets up: the files, the resolved profile, the
//! endpoints, the session cache, and the effects the engine runs with.
//!
//! HTTP clients are built lazily: a cache hit (the hot path of `process`) never builds a
//! TLS configuration nor opens the network.

use std::cell::OnceCell;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use jiff::Timestamp;

use super::Context;
use crate::config::profile::{KeysFrom, KeysSource, Resolved, resolve};
use crate::config::{AwsFiles, file_paths};
use crate::creds::Credentials;
use crate::error::{Error, Exit};
use crate::lifetime::DEFAULT_MIN_REMAINING_SECS;
use crate::mfa::{CodeSources, MfaError, Prompt};
use crate::session::cache::Cache;
use crate::session::engine::{Code, Effects, Engine, Request, Served};
use crate::sts::{
    Endpoint, EndpointInputs, HttpSettings, Iam, QueryClient, Service, Sts, endpoint,
};
use crate::vault::{Passphrase, Vault};

pub struct Setup {
    pub files: AwsFiles,
    pub resolved: Resolved,
    pub region: Option<String>,
    pub sts_endpoint: Endpoint,
    /// The IAM endpoint, or why the settings for it are refused (said when IAM is used).
    iam_endpoint: Result<Endpoint, Error>,
    pub cache: Cache,
    pub min_remaining: i64,
}

impl Setup {
    /// Loads the files and resolves the context's profile.
    pub fn new(ctx: &Context) -> Result<Setup, Error> {
        Setup::from_files(ctx, load_files(ctx)?)
    }

    /// [`Setup::new`] for the commands that serve the profile and write neither AWS file
    /// (`process`, `env`, `exec` without `--server`): the files are read through the
    /// section index in the cache ([`crate::config::index`]) when it matches them, and
    /// whole otherwise (then the index is written for the next call). Any error is
    /// found again by reading the files whole, so it is exactly [`Setup::new`]'s.
    pub fn for_serving(ctx: &Context) -> Result<Setup, Error> {
        use crate::config::index::{self, Lookup};
        let Ok((config_path, credentials_path)) = file_paths(
            &ctx.env,
            ctx.config_file.as_deref(),
            ctx.credentials_file.as_deref(),
        ) else {
            return Setup::new(ctx);
        };
        let Some(cache) = Cache::from_env(&ctx.env) else {
            return Setup::new(ctx);
        };
        let files = |config_path, credentials_path, config, credentials| AwsFiles {
            config_path,
            credentials_path,
            config,
            credentials,
            vault: vault_index(ctx),
        };
        match index::read(cache.dir(), &config_path, &credentials_path, &ctx.profile) {
            Lookup::Sections(docs) => {
                let (config, credentials) = *docs;
                let files = files(config_path, credentials_path, config, credentials);
                resolve(&files, &ctx.profile)
                    .ok()
                    .and_then(|resolved| Setup::with(ctx, files, resolved).ok())
                    .map_or_else(|| Setup::new(ctx), Ok)
            }
            Lookup::Stale => {
                let now = std::time::SystemTime::now();
                let read = |path: &std::path::Path| {
                    crate::config::load_document_stamped(path).map_err(Error::from)
                };
                let (config, config_stamp) = read(&config_path)?;
                let (credentials, credentials_stamp) = read(&credentials_path)?;
                if let (Some(a), Some(b)) = (config_stamp, credentials_stamp)
                    && index::worth_it([a, b])
                    && let Some(bytes) = index::build(
                        &config_path,
                        &credentials_path,
                        [(&config, a), (&credentials, b)],
                        now,
                    )
                {
                    // Only where the cache directory already is and is private; a
                    // failed write just leaves the files to be read whole next time.
                    let path = index::path(cache.dir(), &config_path, &credentials_path);
                    let _ = crate::fsx::write_atomic(&path, &bytes);
                }
                Setup::from_files(
                    ctx,
                    files(config_path, credentials_path, config, credentials),
                )
            }
            Lookup::Unusable => Setup::new(ctx),
        }
    }

    fn from_files(ctx: &Context, files: AwsFiles) -> Result<Setup, Error> {
        let resolved = resolve_profile(ctx, &files)?;
        Setup::with(ctx, files, resolved)
    }

    pub fn with(ctx: &Context, files: AwsFiles, resolved: Resolved) -> Result<Setup, Error> {
        let region = decide_region(ctx, &files, &resolved)?;
        let sts_endpoint = endpoint::resolve(
            Service::Sts,
            &endpoint_inputs(ctx, &files, &resolved, Service::Sts, &region)?,
        );
        check_endpoint(&sts_endpoint)?;
        // IAM's settings are checked when IAM is called, as botocore checks them when it
        // makes an IAM client: a bad `iam` endpoint does not block a login.
        let iam_endpoint = endpoint_inputs(ctx, &files, &resolved, Service::Iam, &region)
            .map(|inputs| endpoint::resolve(Service::Iam, &inputs))
            .and_then(|e| check_endpoint(&e).map(|()| e));
        let cache = Cache::from_env(&ctx.env).ok_or_else(|| {
            Error::new(
                Exit::Config,
                "HOME is not set, so the session cache has no place; set HOME or AWSMFA_CACHE_DIR",
            )
        })?;
        let min_remaining = match ctx.env.get("AWSMFA_MIN_REMAINING") {
            Some(text) => crate::lifetime::parse_duration(text)
                .map_err(|e| Error::new(Exit::Config, format!("AWSMFA_MIN_REMAINING: {e}")))?
                as i64,
            None => DEFAULT_MIN_REMAINING_SECS as i64,
        };
        Ok(Setup {
            files,
            resolved,
            region,
            sts_endpoint,
            iam_endpoint,
            cache,
            min_remaining,
        })
    }

    /// The IAM endpoint; its settings are checked here, when IAM is about to be called.
    pub fn iam_endpoint(&self) -> Result<Endpoint, Error> {
        self.iam_endpoint.clone()
    }

    /// A request with the defaults of this setup.
    pub fn request(&self) -> Request {
        Request {
            min_remaining: self.min_remaining,
            endpoint: self.sts_endpoint.url.clone(),
            ..Default::default()
        }
    }

    /// Serves the profile through the engine.
    pub fn serve(&self, fx: &CliEffects<'_>, req: &Request) -> Result<Served, Error> {
        fx.ctx.debug(
            1,
            &format!(
                "STS endpoint {} (from {})",
                self.sts_endpoint.url, self.sts_endpoint.source
            ),
        );
        Engine {
            cache: &self.cache,
            fx,
        }
        .serve(&self.resolved, req)
    }
}

/// The region: `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the
/// profile's; refused, naming where it came from, unless it is botocore's shape. A
/// `region =` left empty in the profile is refused as the AWS CLI refuses it (it would
/// call `https://sts..amazonaws.com`).
fn decide_region(
    ctx: &Context,
    files: &AwsFiles,
    resolved: &Resolved,
) -> Result<Option<String>, Error> {
    let chosen = [
        (ctx.region.as_deref(), "--region"),
        (ctx.env.get("AWS_REGION"), "AWS_REGION"),
        (ctx.env.get("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"),
    ]
    .into_iter()
    .find_map(|(value, from)| Some((value?, from)));
    if chosen.is_none()
        && files
            .profile(&resolved.profile)
            .is_some_and(|p| p.raw("region").is_some_and(|r| r.trim().is_empty()))
    {
        return Err(Error::new(
            Exit::Config,
            format!(
                "{}region is empty; the AWS CLI refuses this profile too (Invalid endpoint: https://sts..amazonaws.com)",
                place(files, &resolved.profile, "region")
            ),
        )
        .with_hint("set one there (region = us-east-1), or pass --region or set AWS_REGION"));
    }
    let chosen = chosen.or_else(|| {
        resolved
            .settings
            .region
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| (r, "the profile's region"))
    });
    let Some((region, from)) = chosen else {
        return Ok(None);
    };
    let exit = match from {
        "--region" => Exit::Usage,
        _ => Exit::Config,
    };
    super::check_region(region, from, exit)?;
    Ok(Some(region.to_string()))
}

/// `FILE: line N: ` of the first profile, from `name` along its `source_profile`s, that
/// sets `key` (the one awsmfa read the setting from); the config file's path alone when
/// none does.
fn place(files: &AwsFiles, name: &str, key: &str) -> String {
    let mut seen = vec![name.to_string()];
    let mut current = files.profile(name);
    while let Some(p) = current {
        if let Some((which, line)) = p.raw(key).and_then(|_| p.origin(key)) {
            let path = match which {
                crate::config::Which::Config => &files.config_path,
                crate::config::Which::Credentials => &files.credentials_path,
            };
            return format!("{}: line {line}: ", path.display());
        }
        current = match p.get("source_profile") {
            Some(next) if !seen.iter().any(|s| s == next) && seen.len() < 64 => {
                seen.push(next.to_string());
                files.profile(next)
            }
            _ => None,
        };
    }
    format!("{}: ", files.config_path.display())
}

/// An endpoint URL of the wrong shape is refused with where it came from.
fn check_endpoint(e: &Endpoint) -> Result<(), Error> {
    let exit = match e.source {
        "--endpoint-url" => Exit::Usage,
        _ => Exit::Config,
    };
    super::check_endpoint_url(&e.url, e.source, exit)
}

/// Says once per run that `endpoint` is plain HTTP to another machine: the signed
/// request, the MFA code and the session that comes back cross the network in clear.
pub fn warn_cleartext(ctx: &Context, endpoint: &Endpoint) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if crate::config::shape::cleartext_remote(&endpoint.url)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        ctx.warn(&format!(
            "{} is plain http:// to {}: the request and the session it returns travel unencrypted (from {})",
            endpoint.url,
            crate::config::shape::url_host(&endpoint.url),
            endpoint.source
        ));
    }
}

pub fn load_files(ctx: &Context) -> Result<AwsFiles, Error> {
    let (config_path, credentials_path) = file_paths(
        &ctx.env,
        ctx.config_file.as_deref(),
        ctx.credentials_file.as_deref(),
    )?;
    Ok(AwsFiles::load(
        config_path,
        credentials_path,
        vault_index(ctx),
    )?)
}

/// The vault's index: which profiles keep their keys there. Reading it opens nothing.
pub fn vault_index(ctx: &Context) -> crate::vault::Index {
    crate::vault::Index::new(crate::vault::vault_dir(&ctx.env))
}

/// The vault, ready to be opened with the passphrase from the environment or a prompt.
pub fn open_vault(ctx: &Context) -> Result<Vault<'_>, Error> {
    Ok(Vault::new(
        &ctx.env,
        Passphrase::new(&ctx.env, &ctx.prompt, &ctx.vault_passphrase),
    )?)
}

/// The vault, opened to store new entries: warns (once per run) when
/// `AWSMFA_VAULT_WORK_FACTOR` makes them cheap to brute-force.
pub fn open_vault_to_store(ctx: &Context) -> Result<Vault<'_>, Error> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    let vault = open_vault(ctx)?;
    if let Some(warning) = vault.work_factor_warning()
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        ctx.warn(&warning);
    }
    Ok(vault)
}

/// How long `mfa_process` may run: `AWSMFA_MFA_PROCESS_TIMEOUT`, else 60 s (enough to
/// find and touch a security key, or unlock a password manager).
pub fn mfa_process_timeout(ctx: &Context) -> Result<Duration, Error> {
    timeout_var(ctx, "AWSMFA_MFA_PROCESS_TIMEOUT", 60)
}

/// A time limit from variable `name` (`30s`, `2m`, a number of seconds; more than
/// zero), else `default` seconds.
pub fn timeout_var(ctx: &Context, name: &str, default: u64) -> Result<Duration, Error> {
    match ctx.env.get(name) {
        None => Ok(Duration::from_secs(default)),
        Some(text) => crate::lifetime::parse_duration(text)
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| {
                Error::new(
                    Exit::Config,
                    format!("{name} must be a duration such as 30s or 2m"),
                )
            }),
    }
}

/// The current code of `serial` from a TOTP seed stored in the vault, if one is.
pub fn stored_seed_code(
    ctx: &Context,
    serial: &str,
) -> Result<Option<zeroize::Zeroizing<String>>, Error> {
    let Some(meta) = vault_index(ctx).get(crate::vault::Kind::Totp, serial)? else {
        return Ok(None);
    };
    ctx.debug(
        1,
        &format!("computing the code of {serial} from its stored TOTP seed"),
    );
    let seed = open_vault(ctx)?.read_seed(&meta)?;
    use secrecy::ExposeSecret;
    let now = Timestamp::now().as_second().max(0) as u64;
    let code = crate::mfa::totp::aws_code(seed.expose_secret(), now)
        .ok_or_else(|| Error::new(Exit::Config, "the stored TOTP seed is not base32"))?;
    Ok(Some(zeroize::Zeroizing::new(code)))
}

/// A profile's long-term keys wherever they are: in a file, printed by its
/// `credential_process`, or in the vault (opened here, and only here).
pub fn long_term_keys(ctx: &Context, keys: &KeysSource) -> Result<Credentials, Error> {
    match &keys.keys {
        KeysFrom::Static(c) => Ok(c.clone()),
        KeysFrom::Process(command) => {
            let fail = |what: String| {
                Error::new(
                    Exit::Config,
                    format!(
                        "the credential_process of profile {:?}: {what}",
                        keys.profile
                    ),
                )
            };
            // awsmfa's own `credential_process = awsmfa process …` (which `import` writes)
            // serves the CLI from the vault; without a vault entry it would call itself.
            let program = crate::config::profile::program_name(command);
            if program == "awsmfa" || program.eq_ignore_ascii_case("awsmfa.exe") {
                return Err(Error::new(
                    Exit::Config,
                    format!(
                        "profile {:?} gets its keys from `awsmfa process`, that is from awsmfa itself, and the vault holds none for it",
                        keys.profile
                    ),
                )
                .with_hint(format!("store them: awsmfa add {}", keys.profile)));
            }
            let out = crate::proc::run_credential_process(command, Duration::from_secs(120))
                .map_err(|e| fail(e.to_string()))?;
            crate::creds::from_credential_process_json(&out).map_err(fail)
        }
        KeysFrom::Vault(meta) => Ok(open_vault(ctx)?.read_keys(meta)?),
    }
}

fn endpoint_inputs(
    ctx: &Context,
    files: &AwsFiles,
    resolved: &Resolved,
    service: Service,
    region: &Option<String>,
) -> Result<EndpointInputs, Error> {
    let env_service = match service {
        Service::Sts => "AWS_ENDPOINT_URL_STS",
        Service::Iam => "AWS_ENDPOINT_URL_IAM",
    };
    let settings = &resolved.settings;
    let ignore = ctx
        .env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .or(settings.ignore_configured_endpoint_urls.as_deref())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // botocore reaches the services section only when nothing before it chose the
    // endpoint; there a name with no section is an error, never AWS's endpoint.
    let before_services = ctx.endpoint_url.is_some()
        || ignore
        || ctx.env.is_set(env_service)
        || ctx.env.is_set("AWS_ENDPOINT_URL");
    let services_url = match settings.services.as_deref() {
        Some(name) if !before_services => match files.services_endpoint(name, service.name()) {
            Ok(url) => url,
            Err(what) => {
                let place = place(files, &resolved.profile, "services");
                return Err(Error::new(
                    Exit::Config,
                    format!("{place}{what}; the AWS CLI refuses this profile too"),
                )
                .with_hint("fix the [services …] section, or remove services from the profile"));
            }
        },
        _ => None,
    };
    let sts_regional_endpoints = match ctx.env.get("AWS_STS_REGIONAL_ENDPOINTS") {
        Some(v) => Some((v.to_string(), "AWS_STS_REGIONAL_ENDPOINTS: ".to_string())),
        None => settings.sts_regional_endpoints.clone().map(|v| {
            let at = place(files, &resolved.profile, "sts_regional_endpoints");
            (v, format!("{at}sts_regional_endpoints: "))
        }),
    };
    // botocore checks it whenever it makes an STS client, endpoint_url or not.
    if service == Service::Sts
        && let Some((value, at)) = &sts_regional_endpoints
        && !endpoint::STS_REGIONAL_ENDPOINTS.contains(&value.as_str())
    {
        return Err(Error::new(
            Exit::Config,
            format!(
                "{at}the value is not \"legacy\" or \"regional\" (lower case); the AWS CLI refuses it too"
            ),
        )
        .with_hint("write sts_regional_endpoints = regional (or legacy), or remove the line"));
    }
    Ok(EndpointInputs {
        cli_url: ctx.endpoint_url.clone(),
        env_service_url: ctx.env.get(env_service).map(String::from),
        env_url: ctx.env.get("AWS_ENDPOINT_URL").map(String::from),
        services_url,
        profile_url: settings.endpoint_url.clone(),
        ignore_configured: ignore,
        region: region.clone(),
        sts_regional_endpoints: sts_regional_endpoints.map(|(v, _)| v),
    })
}

pub(crate) fn http_settings(ctx: &Context, resolved: &Resolved) -> Result<HttpSettings, Error> {
    let mut settings = HttpSettings {
        proxies: crate::config::Proxies::from_env(&ctx.env),
        ..HttpSettings::default()
    };
    if let Some(text) = ctx.env.get("AWSMFA_HTTP_TIMEOUT") {
        let secs = crate::lifetime::parse_duration(text)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                Error::new(
                    Exit::Config,
                    "AWSMFA_HTTP_TIMEOUT must be a duration such as 30s or 10",
                )
            })?;
        settings.total_timeout = Duration::from_secs(secs);
        settings.connect_timeout = settings.connect_timeout.min(settings.total_timeout);
    }
    let bundle = ctx
        .env
        .get("AWS_CA_BUNDLE")
        .map(|p| ctx.env.expand(p))
        .or_else(|| {
            resolved
                .settings
                .ca_bundle
                .as_deref()
                .map(|p| ctx.env.expand(p))
        });
    if let Some(path) = bundle {
        settings.ca_bundle = Some(match crate::fsx::read_optional(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return Err(Error::new(
                    Exit::Config,
                    format!("CA bundle {} does not exist", path.display()),
                ));
            }
            Err(e) => return Err(Error::new(Exit::Config, format!("CA bundle: {e}"))),
        });
    }
    Ok(settings)
}

/// A client for `endpoint`; `-v` says which proxy it goes through, and why.
pub fn query_client(
    ctx: &Context,
    endpoint: &Endpoint,
    http: HttpSettings,
) -> Result<QueryClient, Error> {
    let what = match http.proxies.for_url(&endpoint.url) {
        Some(p) => format!(
            "through proxy {} (from {})",
            crate::config::shape::url_without_password(&p.url),
            p.variable
        ),
        None => match http.proxies.no_proxy_variable() {
            Some(v) => format!("with no proxy (none set for its scheme, or {v} names the host)"),
            None => "with no proxy".to_string(),
        },
    };
    ctx.debug(1, &format!("{} {what}", endpoint.url));
    Ok(QueryClient::new(endpoint.clone(), http)?)
}

/// Resolves the context's profile. One rule for a profile that does not exist, in every
/// command: a known name close to it is suggested (`did you mean -p work?`), else how to
/// create it (`awsmfa add NAME`).
pub fn resolve_profile(ctx: &Context, files: &AwsFiles) -> Result<Resolved, Error> {
    resolve(files, &ctx.profile).map_err(|e| {
        let typo = matches!(e, crate::config::profile::ResolveError::NoProfile(_));
        let mut err = Error::from(e);
        if typo && let Some(meant) = super::profiles::profile_meant(files, &ctx.profile) {
            err.hint = Some(format!("did you mean `-p {meant}`?"));
        }
        err
    })
}

/// What to do when an MFA code is needed and nobody can be asked: `--token-code` where
/// the command has it, else a session cached by `login` in a terminal beforehand.
pub fn no_prompt_hint(ctx: &Context) -> String {
    // The flag is named only where the command has it.
    let flag = "token-code";
    if ctx.has_flag(flag) {
        format!("pass --{flag} CODE (- reads stdin), set mfa_process, or use a terminal")
    } else {
        format!(
            "run `awsmfa login -p {}` in a terminal first, or set mfa_process",
            ctx.profile
        )
    }
}

/// The engine's effects for a command: STS/IAM over HTTP, codes from the flag, the
/// profile's `mfa_process` or the terminal, the real clock.
pub struct CliEffects<'a> {
    pub ctx: &'a Context,
    setup: &'a Setup,
    sts: OnceCell<QueryClient>,
    iam: OnceCell<QueryClient>,
    token_code: Option<String>,
    prompt: &'a dyn Prompt,
}

impl<'a> CliEffects<'a> {
    pub fn new(ctx: &'a Context, setup: &'a Setup, token_code: Option<String>) -> CliEffects<'a> {
        CliEffects {
            ctx,
            setup,
            sts: OnceCell::new(),
            iam: OnceCell::new(),
            token_code,
            prompt: &ctx.prompt,
        }
    }
}

impl CliEffects<'_> {
    /// The client in `cell`, built on first use.
    fn client<'s>(
        &'s self,
        cell: &'s OnceCell<QueryClient>,
        endpoint: &Endpoint,
    ) -> Result<&'s QueryClient, Error> {
        if cell.get().is_none() {
            let http = http_settings(self.ctx, &self.setup.resolved)?;
            warn_cleartext(self.ctx, endpoint);
            let _ = cell.set(query_client(self.ctx, endpoint, http)?);
        }
        Ok(cell.get().expect("set above"))
    }
}

impl Effects for CliEffects<'_> {
    fn sts(&self) -> Result<&dyn Sts, Error> {
        Ok(self.client(&self.sts, &self.setup.sts_endpoint)?)
    }

    fn iam(&self) -> Result<&dyn Iam, Error> {
        let endpoint = self.setup.iam_endpoint()?;
        Ok(self.client(&self.iam, &endpoint)?)
    }

    fn code(&self, serial: &str) -> Result<Code, Error> {
        // On the terminal under credential_process (stderr is captured there).
        let note = |m: &str| Effects::notice(self, m);
        let mfa_process = self.setup.resolved.mfa_process.as_deref();
        let stored = match (&self.token_code, mfa_process) {
            (None, None) => stored_seed_code(self.ctx, serial)?,
            _ => None,
        };
        let automatic = self.token_code.is_none() && (mfa_process.is_some() || stored.is_some());
        // Standard input is locked only for `--token-code -`, and only for this call:
        // a lock kept for the life of the effects would block every other thread that
        // needs a code (the credentials server's workers) forever.
        let mut locked;
        let mut nothing: &[u8] = b"";
        let stdin: &mut dyn BufRead = if self.token_code.as_deref() == Some("-") {
            locked = std::io::stdin().lock();
            &mut locked
        } else {
            &mut nothing
        };
        let obtained = crate::mfa::obtain(
            serial,
            CodeSources {
                flag: self.token_code.as_deref(),
                stdin,
                mfa_process,
                stored_code: stored.as_deref().map(|c| c.as_str()),
                prompt: self.prompt,
                process_timeout: mfa_process_timeout(self.ctx)?,
                note: &note,
            },
        )
        .map_err(|e| match e {
            MfaError::NoPrompt { .. } => Error::from(e).with_hint(no_prompt_hint(self.ctx)),
            e => Error::from(e),
        })?;
        Ok(Code {
            value: obtained.value,
            automatic: automatic && !obtained.typed,
        })
    }

    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn long_term_keys(&self, keys: &KeysSource) -> Result<Credentials, Error> {
        long_term_keys(self.ctx, keys)
    }

    fn log(&self, message: &str) {
        self.ctx.debug(1, message);
    }

    fn notice(&self, message: &str) {
        // On the terminal when there is one: under credential_process the AWS CLI
        // captures stderr and shows it only on failure.
        if !std::io::stderr().is_terminal()
            && let Some(mut tty) = crate::sys::console_output()
            && writeln!(tty, "awsmfa: {message}").is_ok()
        {
            return;
        }
        self.ctx.say(message);
    }
}
