//! What a profile is and where its pieces come from.
//!
//! Long-term keys of a profile NAME come from, first match wins (DESIGN §3):
//! `[NAME-long-term]` in the credentials file (aws-mfa's layout); long-term keys in
//! `[NAME]` itself; the `source_profile` chain (any depth, cycles reported). A profile
//! with `role_arn` is a role: its source is the profile named by `source_profile`, which
//! may itself be a role (role chaining). The MFA device is the first `mfa_serial` /
//! `aws_mfa_device` on the profile, along its source chain, or beside the keys. Region and
//! endpoint settings are taken from the profile, else from the profiles it leans on.

use std::collections::BTreeMap;

use super::{AwsFiles, Profile, Which};
use crate::creds::Credentials;

/// Settings that decide where STS is and that a new session profile inherits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSettings {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub services: Option<String>,
    pub ca_bundle: Option<String>,
    pub sts_regional_endpoints: Option<String>,
    pub ignore_configured_endpoint_urls: Option<String>,
}

impl ProfileSettings {
    const KEYS: [&'static str; 6] = [
        "region",
        "endpoint_url",
        "services",
        "ca_bundle",
        "sts_regional_endpoints",
        "ignore_configured_endpoint_urls",
    ];

    fn slot(&mut self, key: &str) -> &mut Option<String> {
        match key {
            "region" => &mut self.region,
            "endpoint_url" => &mut self.endpoint_url,
            "services" => &mut self.services,
            "ca_bundle" => &mut self.ca_bundle,
            "sts_regional_endpoints" => &mut self.sts_regional_endpoints,
            _ => &mut self.ignore_configured_endpoint_urls,
        }
    }

    /// Fills what is still unset.
    fn fill_from(&mut self, get: impl Fn(&str) -> Option<String>) {
        for key in Self::KEYS {
            let slot = self.slot(key);
            if slot.is_none() {
                *slot = get(key);
            }
        }
    }

    /// The settings a new session profile's config section gets, in a stable order.
    pub fn inheritable(&self) -> Vec<(&'static str, &str)> {
        [
            ("region", &self.region),
            ("endpoint_url", &self.endpoint_url),
            ("services", &self.services),
            ("ca_bundle", &self.ca_bundle),
            ("sts_regional_endpoints", &self.sts_regional_endpoints),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// The endpoint URL configured for `service` (`sts`, `iam`, `s3`) by `settings`, without
/// the environment: nothing when `ignore_configured_endpoint_urls` is true, else the
/// `services` section's `endpoint_url` for the service, else `endpoint_url`. A services
/// name with no section is an error, as in botocore.
pub fn configured_endpoint(
    files: &AwsFiles,
    settings: &ProfileSettings,
    service: &str,
) -> Result<Option<String>, String> {
    let ignore = settings
        .ignore_configured_endpoint_urls
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return Ok(None);
    }
    if let Some(name) = settings.services.as_deref()
        && let Some(url) = files.services_endpoint(name, service)?
    {
        return Ok(Some(url));
    }
    Ok(settings.endpoint_url.clone().filter(|u| !u.is_empty()))
}

/// The settings of profile `name` alone, nothing inherited.
pub fn own_settings(files: &AwsFiles, name: &str) -> ProfileSettings {
    let mut settings = ProfileSettings::default();
    if let Some(p) = files.profile(name) {
        settings.fill_from(|k| p.raw(k).map(str::to_string));
    }
    settings
}

/// Long-term keys and where they were found.
#[derive(Debug, Clone)]
pub struct KeysSource {
    /// The profile whose keys these are (for `[NAME-long-term]`, NAME).
    pub profile: String,
    pub keys: KeysFrom,
    /// For messages: e.g. `[work-long-term] in the credentials file`.
    pub origin: String,
    /// The file and section holding the keys, when they are in one of the AWS files.
    pub section: Option<(Which, String)>,
}

/// Where the keys themselves are.
#[derive(Debug, Clone)]
pub enum KeysFrom {
    /// In a file.
    Static(Credentials),
    /// Printed by the profile's `credential_process` (aws-vault's `exec --json`, a
    /// password manager…), run only when a session must be made.
    Process(String),
    /// In the vault, opened only when a session must be made.
    Vault(Box<crate::vault::Meta>),
}

impl KeysSource {
    /// What identifies the keys in cache keys and messages, without running anything.
    pub fn identity(&self) -> String {
        match &self.keys {
            KeysFrom::Static(c) => crate::creds::mask(&c.access_key_id),
            KeysFrom::Process(command) => {
                format!(
                    "credential_process `{}` (arguments not shown)",
                    program_name(command)
                )
            }
            KeysFrom::Vault(meta) => meta.key_id.clone().unwrap_or_default(),
        }
    }

    /// The key's fingerprint, or the command: for cache keys. The same key gives the
    /// same identity wherever it is kept, so moving it into the vault keeps its sessions.
    pub fn cache_identity(&self) -> String {
        match &self.keys {
            KeysFrom::Static(c) => crate::creds::key_fingerprint(&c.access_key_id),
            KeysFrom::Process(command) => format!("process\0{command}"),
            KeysFrom::Vault(meta) => meta.fingerprint.clone().unwrap_or_default(),
        }
    }
}

/// The program a `credential_process` command line runs, without its arguments or
/// variable assignments: people embed credentials there (`--password …`, `TOKEN=…`),
/// and `-v` output ends up in bug reports (issue 12, item 4). The directory is dropped
/// too; a quoted first word is unquoted.
pub fn program_name(command: &str) -> String {
    let mut rest = command.trim_start();
    loop {
        let (word, after) = first_word(rest);
        let is_assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !is_assignment || after.is_empty() {
            let base = word.rsplit(['/', '\\']).next().unwrap_or_default();
            return if base.is_empty() {
                "?".into()
            } else {
                base.into()
            };
        }
        rest = after;
    }
}

/// The first shell word of `text` (quotes removed) and what follows it.
fn first_word(text: &str) -> (String, &str) {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => return (word, text[i..].trim_start()),
            (None, c) => word.push(c),
        }
    }
    (word, "")
}

/// Where a role's source credentials come from.
#[derive(Debug, Clone)]
pub enum Source {
    Keys(KeysSource),
    Role(Box<RoleSpec>),
}

impl Source {
    /// The long-term keys at the bottom of the chain.
    pub fn base_keys(&self) -> &KeysSource {
        match self {
            Source::Keys(k) => k,
            Source::Role(r) => r.source.base_keys(),
        }
    }
}

/// A role profile.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub profile: String,
    pub role_arn: String,
    pub source: Source,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub session_name: String,
    pub duration_seconds: Option<u32>,
}

/// What kind of credential a profile asks for.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Long-term keys traded for an MFA session (`GetSessionToken`).
    MfaSession(KeysSource),
    /// A role, assumed from its source.
    Role(RoleSpec),
}

/// A profile resolved into what awsmfa needs to serve it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub profile: String,
    pub kind: Kind,
    /// The MFA device (for an MFA session, or for a role's source identity).
    pub mfa_serial: Option<String>,
    pub mfa_process: Option<String>,
    pub settings: ProfileSettings,
    /// The credentials-file section `login` writes to unless told otherwise.
    pub default_target: String,
    /// The keys sit in `[profile]` itself, so sessions go to `[profile-mfa]`.
    pub keys_in_profile: bool,
}

impl Resolved {
    pub fn base_keys(&self) -> &KeysSource {
        match &self.kind {
            Kind::MfaSession(k) => k,
            Kind::Role(r) => r.source.base_keys(),
        }
    }
}

/// Why a profile cannot be served. Names sections, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("profile {0:?} is not in the config or credentials file")]
    NoProfile(String),
    #[error(
        "profile {0:?} has no long-term access keys (no [{0}-long-term] section, no aws_access_key_id, no source_profile)"
    )]
    NoKeys(String),
    #[error(
        "[{0}] holds session credentials, not long-term keys, and there is no [{0}-long-term] section"
    )]
    SessionOnly(String),
    #[error("[{section}] has {present} but no {missing}")]
    IncompleteKeys {
        section: String,
        present: &'static str,
        missing: &'static str,
    },
    #[error(
        "profile {0:?} gets its keys from credential_process, which awsmfa cannot read long-term keys from"
    )]
    CredentialProcess(String),
    #[error(
        "profile {0:?} uses credential_source, which awsmfa does not support; use source_profile"
    )]
    CredentialSource(String),
    #[error("source_profile chain loops: {}", .0.join(" → "))]
    SourceCycle(Vec<String>),
    #[error("profile {profile:?} names source_profile {source_name:?}, which does not exist")]
    MissingSource {
        profile: String,
        source_name: String,
    },
    #[error("the source_profile chain of profile {profile:?} is more than {limit} profiles long")]
    ChainTooDeep { profile: String, limit: usize },
    #[error("profile {0:?} has role_arn but no source_profile")]
    RoleWithoutSource(String),
    #[error(
        "profile {profile:?}: role_arn is not a role ARN (arn:aws:iam::123456789012:role/NAME)"
    )]
    BadRoleArn { profile: String },
    #[error(
        "profile {profile:?}: duration_seconds must be a whole number of seconds from 900 to 43200"
    )]
    BadDuration { profile: String },
    #[error("{0}")]
    Vault(String),
    #[error("[{0}] in the credentials file holds long-term keys; awsmfa never overwrites them")]
    TargetHoldsKeys(String),
    #[error(
        "profile {0:?} is a role (role_arn, SSO or web identity) for the AWS CLI, which would ignore a session written to [{0}] of the credentials file"
    )]
    TargetIsRole(String),
}

impl ResolveError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ResolveError::NoProfile(name) | ResolveError::NoKeys(name) => Some(format!(
                "`awsmfa add {name}` stores its keys (or aws-mfa's [{name}-long-term])"
            )),
            ResolveError::SessionOnly(name) => Some(format!(
                "`awsmfa add {name}` stores its long-term keys (or [{name}-long-term])"
            )),
            ResolveError::TargetHoldsKeys(_) | ResolveError::TargetIsRole(_) => {
                Some("write the session elsewhere: `awsmfa login --target NAME`".into())
            }
            ResolveError::SourceCycle(_)
            | ResolveError::MissingSource { .. }
            | ResolveError::ChainTooDeep { .. } => {
                Some("fix source_profile in the config file".into())
            }
            _ => None,
        }
    }
}

/// Resolves profile `name`.
pub fn resolve(files: &AwsFiles, name: &str) -> Result<Resolved, ResolveError> {
    if files.profile(name).is_none()
        && !files.credentials.has_section(&long_term(name))
        && !in_vault(files, name)
    {
        return Err(ResolveError::NoProfile(name.to_string()));
    }
    let mut chain = Vec::new();
    let node = resolve_node(files, name, &mut chain)?;
    // Lookups for device, code command and settings: the profile first, then what it
    // leans on, then the section with the keys.
    let mut lookups: Vec<Profile> = chain.iter().filter_map(|p| files.profile(p)).collect();
    for p in &chain {
        let section = long_term(p);
        if let Some(entries) = files.credentials.entries(&section) {
            let values = entries
                .into_iter()
                .map(|(k, v, l)| (k.to_ascii_lowercase(), (v, Which::Credentials, l)))
                .collect::<BTreeMap<_, _>>();
            lookups.push(Profile {
                name: section,
                values,
            });
        }
    }
    let first = |keys: &[&str]| {
        lookups
            .iter()
            .find_map(|p| keys.iter().find_map(|k| p.get(k)).map(str::to_string))
    };
    let mfa_serial = first(&["mfa_serial", "aws_mfa_device"]);
    let mfa_process = first(&["mfa_process"]);
    let mut settings = ProfileSettings::default();
    for p in &lookups {
        settings.fill_from(|k| p.get(k).map(str::to_string));
    }
    let (kind, keys_in_profile) = match node {
        Node::Keys(keys, direct) => (Kind::MfaSession(keys), direct && chain.len() == 1),
        Node::Role(mut role) => {
            if role.mfa_serial.is_none() {
                role.mfa_serial = mfa_serial.clone();
                let named = files
                    .profile(name)
                    .is_some_and(|p| p.has("role_session_name"));
                if !named {
                    role.session_name = default_session_name(role.mfa_serial.as_deref(), name);
                }
            }
            (Kind::Role(*role), false)
        }
    };
    let default_target = match (&kind, keys_in_profile) {
        (Kind::MfaSession(_), false) => name.to_string(),
        _ => format!("{name}-mfa"),
    };
    Ok(Resolved {
        profile: name.to_string(),
        kind,
        mfa_serial,
        mfa_process,
        settings,
        default_target,
        keys_in_profile,
    })
}

/// Profile `name` served by `keys` that are not stored anywhere yet (`awsmfa add`):
/// the profile's own settings and device, if it has any, around the given keys.
pub fn with_keys(files: &AwsFiles, name: &str, keys: KeysSource) -> Resolved {
    let mut lookups: Vec<Profile> = files.profile(name).into_iter().collect();
    if let Some(entries) = files.credentials.entries(&long_term(name)) {
        lookups.push(Profile {
            name: long_term(name),
            values: entries
                .into_iter()
                .map(|(k, v, l)| (k.to_ascii_lowercase(), (v, Which::Credentials, l)))
                .collect(),
        });
    }
    let first = |keys: &[&str]| {
        lookups
            .iter()
            .find_map(|p| keys.iter().find_map(|k| p.get(k)).map(str::to_string))
    };
    let mut settings = ProfileSettings::default();
    for p in &lookups {
        settings.fill_from(|k| p.get(k).map(str::to_string));
    }
    Resolved {
        profile: name.to_string(),
        kind: Kind::MfaSession(keys),
        mfa_serial: first(&["mfa_serial", "aws_mfa_device"]),
        mfa_process: first(&["mfa_process"]),
        settings,
        default_target: name.to_string(),
        keys_in_profile: false,
    }
}

/// A session may only go where no long-term keys and no role are.
/// The config counts too: a `role_arn` (or SSO, web identity) in `[profile TARGET]` makes
/// the AWS CLI assume the role and never look at a session in `[TARGET]`.
pub fn check_target(files: &AwsFiles, target: &str) -> Result<(), ResolveError> {
    check_target_doc(&files.credentials, target)?;
    let outranks = [
        "role_arn",
        "web_identity_token_file",
        "sso_start_url",
        "sso_session",
    ];
    if files
        .profile(target)
        .is_some_and(|p| outranks.iter().any(|k| p.has(k)))
    {
        return Err(ResolveError::TargetIsRole(target.to_string()));
    }
    Ok(())
}

pub fn check_target_doc(doc: &super::ini::Document, target: &str) -> Result<(), ResolveError> {
    if !doc.has_section(target) {
        return Ok(());
    }
    // As the AWS CLI reads the section: `[DEFAULT]`'s keys show in it too.
    let holds_keys = doc.get_inherited(target, "aws_access_key_id").is_some()
        && doc.session_token_inherited(target).is_none();
    if holds_keys {
        return Err(ResolveError::TargetHoldsKeys(target.to_string()));
    }
    if doc.get_inherited(target, "role_arn").is_some() {
        return Err(ResolveError::TargetIsRole(target.to_string()));
    }
    Ok(())
}

fn long_term(name: &str) -> String {
    format!("{name}-long-term")
}

enum Node {
    /// Keys, and whether they sat in the named profile's own section.
    Keys(KeysSource, bool),
    Role(Box<RoleSpec>),
}

fn keys_from(
    section: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, ResolveError> {
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ResolveError::IncompleteKeys {
            section: section.to_string(),
            present: "aws_access_key_id",
            missing: "aws_secret_access_key",
        }),
        (None, Some(_)) => Err(ResolveError::IncompleteKeys {
            section: section.to_string(),
            present: "aws_secret_access_key",
            missing: "aws_access_key_id",
        }),
        (Some(id), Some(secret)) => Ok(Some(Credentials::long_term(&id, &secret))),
    }
}

/// How many profiles a `source_profile` chain may pass through. Real chains are a few
/// long (each role hop is an AssumeRole call); a 6,000-long one in a hostile or generated
/// file is refused with this limit rather than a stack overflow.
pub const MAX_CHAIN: usize = 64;

fn resolve_node(
    files: &AwsFiles,
    name: &str,
    chain: &mut Vec<String>,
) -> Result<Node, ResolveError> {
    let static_keys = |p: &Profile| p.has("aws_access_key_id") || p.has("aws_secret_access_key");
    let as_source = !chain.is_empty();
    if chain.iter().any(|v| v == name) {
        // botocore's one allowed revisit: a role whose source_profile is itself, with
        // the keys in the same profile (an AWS-documented layout).
        let self_source = chain.last().is_some_and(|p| p == name)
            && files.profile(name).is_some_and(|p| static_keys(&p));
        if !self_source {
            let mut cycle = chain.clone();
            cycle.push(name.to_string());
            return Err(ResolveError::SourceCycle(cycle));
        }
    }
    if chain.len() >= MAX_CHAIN {
        return Err(ResolveError::ChainTooDeep {
            profile: chain[0].clone(),
            limit: MAX_CHAIN,
        });
    }
    chain.push(name.to_string());
    if let Some(meta) = files
        .vault
        .get(crate::vault::Kind::Keys, name)
        .map_err(|e| ResolveError::Vault(e.to_string()))?
    {
        return Ok(Node::Keys(
            KeysSource {
                profile: name.to_string(),
                origin: meta.backend().describe().to_string(),
                keys: KeysFrom::Vault(Box::new(meta)),
                section: None,
            },
            false,
        ));
    }
    let lt = long_term(name);
    if let Some(entries) = files.credentials.entries(&lt) {
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v, _)| v.clone())
                .filter(|v| !v.is_empty())
        };
        if let Some(keys) = keys_from(&lt, get)? {
            return Ok(Node::Keys(
                KeysSource {
                    profile: name.to_string(),
                    keys: KeysFrom::Static(keys),
                    origin: format!("[{lt}] in the credentials file"),
                    section: Some((Which::Credentials, lt.clone())),
                },
                false,
            ));
        }
    }
    let Some(profile) = files.profile(name) else {
        return Err(ResolveError::NoProfile(name.to_string()));
    };
    // In a source profile, static keys win over its role_arn (botocore's
    // `_resolve_credentials_from_profile`); the profile asked for is its role.
    if profile.has("role_arn") && !(as_source && static_keys(&profile)) {
        return resolve_role(files, &profile, chain);
    }
    // A session written into the profile (by awsmfa or aws-mfa) is not where keys come
    // from: with a source_profile, the chain goes on; without, there are none.
    // botocore reads `aws_security_token` as the token of the profile asked for, but a
    // role's source only by `aws_session_token` (`_resolve_static_credentials_from_profile`).
    let holds_session = if as_source {
        profile.has("aws_session_token")
    } else {
        profile.session_token().is_some()
    };
    let has_keys = profile.has("aws_access_key_id") || profile.has("aws_secret_access_key");
    if has_keys && !(holds_session && profile.has("source_profile")) {
        if holds_session {
            return Err(ResolveError::SessionOnly(name.to_string()));
        }
        let (section, file, which) = match profile.origin("aws_access_key_id") {
            Some((Which::Config, _)) => (files.config_section_of(name), "config", Which::Config),
            _ => (name.to_string(), "credentials", Which::Credentials),
        };
        let keys = keys_from(&section, |k| profile.get(k).map(str::to_string))?
            .expect("one of the keys is present");
        return Ok(Node::Keys(
            KeysSource {
                profile: name.to_string(),
                keys: KeysFrom::Static(keys),
                origin: format!("[{section}] in the {file} file"),
                section: Some((which, section.clone())),
            },
            true,
        ));
    }
    // botocore's order for a profile without role_arn: static keys, then its
    // credential_process (a source_profile there is ignored by the CLI).
    if let Some(command) = profile.get("credential_process") {
        return Ok(Node::Keys(
            KeysSource {
                profile: name.to_string(),
                keys: KeysFrom::Process(command.to_string()),
                origin: format!("the credential_process of profile {name:?}"),
                section: None,
            },
            false,
        ));
    }
    // awsmfa reads more: a profile that only names a source_profile (aws-vault's
    // `caktus-mfa`) is an MFA session of that profile's keys.
    if let Some(source) = profile.get("source_profile") {
        if source == name {
            // Its own source, with a session and no keys of its own to start one from.
            return Err(ResolveError::SessionOnly(name.to_string()));
        }
        check_source_exists(files, name, source)?;
        return match resolve_node(files, source, chain)? {
            Node::Keys(k, _) => Ok(Node::Keys(k, false)),
            role => Ok(role),
        };
    }
    Err(ResolveError::NoKeys(name.to_string()))
}

fn in_vault(files: &AwsFiles, name: &str) -> bool {
    files
        .vault
        .get(crate::vault::Kind::Keys, name)
        .is_ok_and(|m| m.is_some())
}

fn check_source_exists(files: &AwsFiles, name: &str, source: &str) -> Result<(), ResolveError> {
    if files.profile(source).is_none()
        && !files.credentials.has_section(&long_term(source))
        && !in_vault(files, source)
    {
        return Err(ResolveError::MissingSource {
            profile: name.to_string(),
            source_name: source.to_string(),
        });
    }
    Ok(())
}

fn resolve_role(
    files: &AwsFiles,
    profile: &Profile,
    chain: &mut Vec<String>,
) -> Result<Node, ResolveError> {
    let name = profile.name.clone();
    let role_arn = profile.get("role_arn").unwrap_or_default().to_string();
    if !is_role_arn(&role_arn) {
        return Err(ResolveError::BadRoleArn { profile: name });
    }
    let duration_seconds = match profile.get("duration_seconds") {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(d) if (900..=43_200).contains(&d) => Some(d),
            _ => return Err(ResolveError::BadDuration { profile: name }),
        },
    };
    let source = match profile.get("source_profile") {
        Some(source) => {
            check_source_exists(files, &name, source)?;
            match resolve_node(files, source, chain)? {
                Node::Keys(k, _) => Source::Keys(k),
                Node::Role(r) => Source::Role(r),
            }
        }
        None if profile.has("credential_source") => {
            return Err(ResolveError::CredentialSource(name));
        }
        None => return Err(ResolveError::RoleWithoutSource(name)),
    };
    let mfa_serial = profile
        .get("mfa_serial")
        .or_else(|| profile.get("aws_mfa_device"))
        .map(String::from);
    let session_name = profile
        .get("role_session_name")
        .map(sanitize_session_name)
        .unwrap_or_else(|| default_session_name(mfa_serial.as_deref(), &name));
    Ok(Node::Role(Box::new(RoleSpec {
        profile: name,
        role_arn,
        source,
        mfa_serial,
        external_id: profile.get("external_id").map(String::from),
        session_name,
        duration_seconds,
    })))
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    crate::config::shape::arn_problem(arn).is_none()
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty() && !n.ends_with('/'))
}

/// Role session names allow `[\w+=,.@-]`, 2 to 64 characters.
pub fn sanitize_session_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    while out.len() < 2 {
        out.push('-');
    }
    out
}

/// The user's name from the MFA device ARN (`…:mfa/alice` → `alice`), else the profile.
fn default_session_name(mfa_serial: Option<&str>, profile: &str) -> String {
    let user = mfa_serial
        .and_then(|s| s.rsplit_once(":mfa/"))
        .map(|(_, name)| name.rsplit('/').next().unwrap_or(name))
        .filter(|n| !n.is_empty());
    match user {
        Some(u) => sanitize_session_name(u),
        None => sanitize_session_name(&format!("awsmfa-{profile}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ini::Document;

    fn files(config: &str, credentials: &str) -> AwsFiles {
        AwsFiles {
            config_path: "config".into(),
            credentials_path: "credentials".into(),
            config: Document::parse(config.as_bytes()).unwrap(),
            credentials: Document::parse(credentials.as_bytes()).unwrap(),
            vault: Default::default(),
        }
    }

    fn mfa_keys(r: &Resolved) -> &KeysSource {
        match &r.kind {
            Kind::MfaSession(k) => k,
            Kind::Role(_) => panic!("not an MFA session"),
        }
    }

    fn key_id(k: &KeysSource) -> &str {
        match &k.keys {
            KeysFrom::Static(c) => &c.access_key_id,
            KeysFrom::Process(cmd) => cmd,
            KeysFrom::Vault(m) => &m.name,
        }
    }

    #[test]
    fn aws_mfa_long_term_layout_targets_the_profile() {
        // Seed 001: aws-mfa's layout, aws_mfa_device beside the keys.
        let f = files(
            "",
            "[myprofile-long-term]\naws_access_key_id = AKIAHUNTER2HUNTER2HU\naws_secret_access_key = V293IC0geW91\naws_mfa_device = arn:aws:iam::1234567890:mfa/yourname\n",
        );
        let p = resolve(&f, "myprofile").unwrap();
        assert_eq!(p.default_target, "myprofile");
        assert_eq!(key_id(mfa_keys(&p)), "AKIAHUNTER2HUNTER2HU");
        assert_eq!(
            p.mfa_serial.as_deref(),
            Some("arn:aws:iam::1234567890:mfa/yourname")
        );
        assert!(!p.keys_in_profile);
    }

    #[test]
    fn keys_in_the_profile_send_the_session_to_name_mfa() {
        // Seed 004: keys and mfa_serial in [mfa].
        let f = files(
            "[profile mfa]\nregion = eu-west-1\n",
            "[mfa]\naws_access_key_id = BKCAXZ6ODJLQ1EXAMPLE\naws_secret_access_key = ABCD\nmfa_serial = arn:aws:iam::112233445566:mfa/MFAUser\n\n[assumed-role]\nrole_arn = arn:aws:iam::112233445566:role/Admin\nsource_profile = mfa\nrole_session_name = MFAUser\nmfa_serial = arn:aws:iam::112233445566:mfa/MFAUser\n",
        );
        let p = resolve(&f, "mfa").unwrap();
        assert_eq!(p.default_target, "mfa-mfa");
        assert!(p.keys_in_profile);
        assert_eq!(p.settings.region.as_deref(), Some("eu-west-1"));
        assert!(matches!(
            check_target(&f, "mfa"),
            Err(ResolveError::TargetHoldsKeys(_))
        ));
        assert!(matches!(
            check_target(&f, "assumed-role"),
            Err(ResolveError::TargetIsRole(_))
        ));
        let r = resolve(&f, "assumed-role").unwrap();
        assert_eq!(r.default_target, "assumed-role-mfa");
        let Kind::Role(role) = &r.kind else {
            panic!("a role")
        };
        assert_eq!(role.role_arn, "arn:aws:iam::112233445566:role/Admin");
        assert_eq!(role.session_name, "MFAUser");
        assert_eq!(
            role.mfa_serial.as_deref(),
            Some("arn:aws:iam::112233445566:mfa/MFAUser")
        );
        assert_eq!(key_id(r.base_keys()), "BKCAXZ6ODJLQ1EXAMPLE");
    }

    #[test]
    fn roles_chain_and_inherit_the_device() {
        // Seed 002's role in the credentials file; a chained role; the device inherited.
        let f = files(
            "[profile chained]\nrole_arn = arn:aws:iam::222222222222:role/Next\nsource_profile = iamrole\nduration_seconds = 3600\n[profile bare]\nrole_arn = arn:aws:iam::033174738912:role/R\nsource_profile = coderazzi2\n",
            "[iamrole]\nrole_arn = arn:aws:iam::033174738912:role/Test_S3_Role_Remove\nsource_profile = coderazzi2\nmfa_serial = arn:aws:iam::033174738912:mfa/coderazzi2@gmail.com\n\n[coderazzi2]\naws_access_key_id = AKIAQPOK6K7QEHQHIOXJ\naws_secret_access_key = 6APF9G\nmfa_serial = arn:aws:iam::033174738912:mfa/coderazzi2@gmail.com\n",
        );
        let r = resolve(&f, "chained").unwrap();
        let Kind::Role(role) = &r.kind else {
            panic!("a role")
        };
        assert_eq!(role.duration_seconds, Some(3600));
        let Source::Role(inner) = &role.source else {
            panic!("chained")
        };
        assert_eq!(inner.session_name, "coderazzi2@gmail.com");
        assert_eq!(key_id(r.base_keys()), "AKIAQPOK6K7QEHQHIOXJ");
        let r = resolve(&f, "bare").unwrap();
        let Kind::Role(role) = &r.kind else {
            panic!("a role")
        };
        assert_eq!(
            role.mfa_serial.as_deref(),
            Some("arn:aws:iam::033174738912:mfa/coderazzi2@gmail.com"),
            "inherited from the source"
        );
    }

    #[test]
    fn source_profile_chains_and_their_failures() {
        // Seed 003's caktus-mfa: a profile that names its source and its device.
        let f = files(
            "[profile caktus-mfa]\nmfa_serial=arn:aws:iam::1:mfa/u\nsource_profile=caktus\nregion=us-east-1\n[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n[profile lost]\nsource_profile = nowhere\n[profile proc]\ncredential_process = aws-vault exec x\n[profile badarn]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = caktus\n[profile baddur]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = caktus\nduration_seconds = 60\n[profile nosrc]\nrole_arn = arn:aws:iam::123456789012:role/R\n[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/R\ncredential_source = Ec2InstanceMetadata\n",
            "[caktus]\naws_access_key_id = AKIACAKTUSEXAMPLE000\naws_secret_access_key = s\n",
        );
        let p = resolve(&f, "caktus-mfa").unwrap();
        assert_eq!(p.default_target, "caktus-mfa");
        assert_eq!(key_id(mfa_keys(&p)), "AKIACAKTUSEXAMPLE000");
        assert_eq!(p.mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/u"));
        assert_eq!(
            resolve(&f, "a").unwrap_err(),
            ResolveError::SourceCycle(vec!["a".into(), "b".into(), "a".into()])
        );
        for (name, check) in [
            ("lost", "MissingSource"),
            ("badarn", "BadRoleArn"),
            ("baddur", "BadDuration"),
            ("nosrc", "RoleWithoutSource"),
            ("ec2", "CredentialSource"),
            ("ghost", "NoProfile"),
        ] {
            let err = resolve(&f, name).unwrap_err();
            assert!(format!("{err:?}").starts_with(check), "{name}: {err:?}");
        }
    }

    #[test]
    fn seed_003_aws_vault_profiles_get_keys_from_credential_process() {
        let f = files(
            "; Caktus Managed AWS\n[profile caktus]\ncredential_process=aws-vault exec --no-session --json caktus\n\n[profile caktus-mfa]\nmfa_serial=arn:aws:iam::111111111111:mfa/u\nsource_profile=caktus\nregion=us-east-1\noutput=json\n\n[profile saguaro-cluster]\nmfa_serial=arn:aws:iam::111111111111:mfa/u\nrole_arn=arn:aws:iam::222222222222:role/CaktusAccountAccessRole-Admins\nsource_profile=caktus\nregion=us-east-1\n",
            "",
        );
        let p = resolve(&f, "caktus-mfa").unwrap();
        assert_eq!(
            key_id(mfa_keys(&p)),
            "aws-vault exec --no-session --json caktus"
        );
        assert_eq!(p.default_target, "caktus-mfa");
        let r = resolve(&f, "saguaro-cluster").unwrap();
        assert!(matches!(&r.kind, Kind::Role(role) if role.session_name == "u-"));
        assert_eq!(
            r.base_keys().identity(),
            "credential_process `aws-vault` (arguments not shown)"
        );
    }

    /// botocore's order in a profile without role_arn: its credential_process wins over
    /// a source_profile (which the CLI ignores there); with neither keys nor process,
    /// awsmfa follows the source_profile (an MFA session of its keys).
    #[test]
    fn credential_process_wins_over_a_source_profile_without_role_arn() {
        let f = files(
            "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = mid\n[profile mid]\nsource_profile = base\ncredential_process = helper --json\n[profile only]\nsource_profile = base\n",
            "[base]\naws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = s\n",
        );
        let r = resolve(&f, "r").unwrap();
        assert_eq!(key_id(r.base_keys()), "helper --json");
        let m = resolve(&f, "mid").unwrap();
        assert_eq!(key_id(m.base_keys()), "helper --json");
        let o = resolve(&f, "only").unwrap();
        assert_eq!(key_id(o.base_keys()), "AKIAEXAMPLE000000001");
    }

    #[test]
    fn sessions_and_half_keys_are_not_long_term_keys() {
        let f = files(
            "",
            "[s]\naws_access_key_id = ASIA\naws_secret_access_key = x\naws_session_token = t\n[half]\naws_access_key_id = AKIA\n",
        );
        assert_eq!(
            resolve(&f, "s").unwrap_err(),
            ResolveError::SessionOnly("s".into())
        );
        assert!(matches!(
            resolve(&f, "half"),
            Err(ResolveError::IncompleteKeys { .. })
        ));
    }

    #[test]
    fn settings_are_inherited_along_the_chain() {
        let f = files(
            "[services wasabi]\nsts =\n  endpoint_url = https://sts.wasabisys.com\n[profile wasabi]\nregion = us-east-2\nservices = wasabi\n",
            "[wasabi-long-term]\naws_access_key_id = AKIAWASABIEXAMPLE000\naws_secret_access_key = s\n",
        );
        let p = resolve(&f, "wasabi").unwrap();
        assert_eq!(p.default_target, "wasabi");
        assert_eq!(
            p.settings.inheritable(),
            vec![("region", "us-east-2"), ("services", "wasabi")]
        );
    }

    #[test]
    fn self_sourced_roles_and_keys_that_win_in_a_source() {
        // AWS documents it, smithy-rs tests it: keys and role in one profile, the
        // profile its own source.
        let f = files(
            "[profile me]\nrole_arn = arn:aws:iam::123456789012:role/Self\nsource_profile = me\naws_access_key_id = AKIASELFEXAMPLE00000\naws_secret_access_key = s\n[profile top]\nrole_arn = arn:aws:iam::123456789012:role/Top\nsource_profile = mid\n[profile mid]\nrole_arn = arn:aws:iam::123456789012:role/Mid\nsource_profile = top\naws_access_key_id = AKIAMIDEXAMPLE000000\naws_secret_access_key = s\n[profile loop]\nrole_arn = arn:aws:iam::123456789012:role/L\nsource_profile = loop\n",
            "",
        );
        let r = resolve(&f, "me").unwrap();
        let Kind::Role(role) = &r.kind else {
            panic!("a role")
        };
        assert_eq!(role.role_arn, "arn:aws:iam::123456789012:role/Self");
        assert_eq!(key_id(r.base_keys()), "AKIASELFEXAMPLE00000");
        // mid has keys, so as a source its keys win over its own role.
        let r = resolve(&f, "top").unwrap();
        let Kind::Role(role) = &r.kind else {
            panic!("a role")
        };
        assert!(matches!(role.source, Source::Keys(_)));
        assert_eq!(key_id(r.base_keys()), "AKIAMIDEXAMPLE000000");
        // Without keys, a self-reference is a loop.
        assert!(matches!(
            resolve(&f, "loop"),
            Err(ResolveError::SourceCycle(_))
        ));
    }

    #[test]
    fn deep_chains_are_refused_not_a_stack_overflow() {
        let mut config = String::new();
        for i in 0..6000 {
            config.push_str(&format!("[profile p{i}]\nsource_profile = p{}\n", i + 1));
        }
        config.push_str("[profile p6000]\naws_access_key_id = AKIADEEPEXAMPLE00000\naws_secret_access_key = s\n");
        let f = files(&config, "");
        let err = resolve(&f, "p0").unwrap_err();
        assert!(
            matches!(
                err,
                ResolveError::ChainTooDeep {
                    limit: MAX_CHAIN,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("more than 64 profiles long"));
        assert!(resolve(&f, &format!("p{}", 6000 - MAX_CHAIN + 1)).is_ok());
    }

    #[test]
    fn only_the_program_name_of_a_credential_process_is_shown() {
        for (command, shown) in [
            ("aws-vault exec --no-session --json caktus", "aws-vault"),
            ("/usr/local/bin/op read --password hunter2", "op"),
            ("AWS_SECRET=abc TOKEN=x /opt/bin/helper --k s", "helper"),
            ("\"/opt/my tools/get creds\" --secret s", "get creds"),
            ("  'C:\\bin\\fetch.exe' pw", "fetch.exe"),
            ("", "?"),
        ] {
            assert_eq!(program_name(command), shown, "{command}");
        }
    }

    #[test]
    fn role_arns_and_session_names() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/Admin"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/Admin"));
        for bad in [
            "",
            "arn:aws:iam::123:role/Admin",
            "arn:aws:iam::123456789012:user/Admin",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
        assert_eq!(sanitize_session_name("a b/c"), "a-b-c");
        assert_eq!(sanitize_session_name("x"), "x-");
        assert_eq!(sanitize_session_name(&"y".repeat(80)).len(), 64);
    }
}
