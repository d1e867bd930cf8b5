//! Which keys, which MFA device, which target section: the profile rules of `login`.
//!
//! Long-term keys of a profile NAME come from, first match wins (DESIGN §3):
//! `[NAME-long-term]` in the credentials file (aws-mfa's layout, the session then goes
//! to `[NAME]`); long-term keys in `[NAME]` itself (the session then goes to
//! `[NAME-mfa]`, because a section with long-term keys is never overwritten); the
//! profile's `source_profile` chain (any depth, cycles reported). The MFA device is the
//! first `mfa_serial` / `aws_mfa_device` on the profile, along its source chain, or on
//! the section that holds the keys. Region and endpoint settings are taken from the
//! profile, else from the profiles it leans on.

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

    /// Fills what is still unset from `values`.
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

/// Everything `login` needs to know about a profile before it asks for a code.
#[derive(Debug, Clone)]
pub struct LoginPlan {
    pub profile: String,
    pub keys: Credentials,
    /// Where the keys were found, for messages: e.g. `[work-long-term] in credentials`.
    pub keys_origin: String,
    /// The credentials-file section the session is written to.
    pub target: String,
    /// The keys sit in `[profile]` itself, so the session goes elsewhere.
    pub keys_in_profile: bool,
    pub mfa_serial: Option<String>,
    pub mfa_process: Option<String>,
    pub settings: ProfileSettings,
}

/// Why a profile cannot be logged in to. Names sections, never values.
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
        "profile {0:?} assumes a role (role_arn); role profiles are not supported by this version of awsmfa login"
    )]
    RoleProfile(String),
    #[error(
        "profile {0:?} gets its keys from credential_process, which awsmfa cannot read long-term keys from"
    )]
    CredentialProcess(String),
    #[error("source_profile chain loops: {}", .0.join(" → "))]
    SourceCycle(Vec<String>),
    #[error("profile {profile:?} names source_profile {source_name:?}, which does not exist")]
    MissingSource {
        profile: String,
        source_name: String,
    },
    #[error("[{0}] in the credentials file holds long-term keys; awsmfa never overwrites them")]
    TargetHoldsKeys(String),
}

impl ResolveError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ResolveError::NoProfile(name) | ResolveError::NoKeys(name) => Some(format!(
                "put the keys in [{name}-long-term] of the credentials file (aws-mfa's layout) or run `aws configure --profile {name}`"
            )),
            ResolveError::SessionOnly(name) => Some(format!(
                "move the long-term keys to [{name}-long-term] in the credentials file"
            )),
            ResolveError::TargetHoldsKeys(_) => {
                Some("choose another --target, or move the keys to [NAME-long-term]".into())
            }
            _ => None,
        }
    }
}

struct Found {
    keys: Credentials,
    origin: String,
    /// Profiles and sections visited on the way, nearest first, for inherited settings.
    chain: Vec<String>,
    /// The credentials section with the keys, when it is `[NAME-long-term]`.
    long_term_section: Option<String>,
}

/// Applies the rules above to profile `name`. `target` overrides the section the
/// session goes to.
pub fn plan_login(
    files: &AwsFiles,
    name: &str,
    target: Option<&str>,
) -> Result<LoginPlan, ResolveError> {
    let profile = files.profile(name);
    let long_term = format!("{name}-long-term");
    if profile.is_none() && !files.credentials.has_section(&long_term) {
        return Err(ResolveError::NoProfile(name.to_string()));
    }
    let mut visited = Vec::new();
    let found = find_keys(files, name, &mut visited)?;
    let keys_in_profile = found.long_term_section.is_none() && found.chain.len() == 1;
    let target = match target {
        Some(t) => t.to_string(),
        None if keys_in_profile => format!("{name}-mfa"),
        None => name.to_string(),
    };
    check_target(files, &target)?;

    // Device, code command and settings: the profile first, then what it leans on.
    let mut lookups: Vec<Profile> = found
        .chain
        .iter()
        .filter_map(|p| files.profile(p))
        .collect();
    if let Some(section) = &found.long_term_section
        && let Some(entries) = files.credentials.entries(section)
    {
        let values = entries
            .into_iter()
            .map(|(k, v, l)| (k.to_ascii_lowercase(), (v, Which::Credentials, l)))
            .collect::<BTreeMap<_, _>>();
        lookups.push(Profile {
            name: section.clone(),
            values,
        });
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
    Ok(LoginPlan {
        profile: name.to_string(),
        keys: found.keys,
        keys_origin: found.origin,
        target,
        keys_in_profile,
        mfa_serial,
        mfa_process,
        settings,
    })
}

/// A session may only go where no long-term keys are.
pub fn check_target(files: &AwsFiles, target: &str) -> Result<(), ResolveError> {
    let holds_keys = files.credentials.get(target, "aws_access_key_id").is_some()
        && files.credentials.get(target, "aws_session_token").is_none();
    if holds_keys {
        return Err(ResolveError::TargetHoldsKeys(target.to_string()));
    }
    Ok(())
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

fn find_keys(
    files: &AwsFiles,
    name: &str,
    visited: &mut Vec<String>,
) -> Result<Found, ResolveError> {
    if visited.iter().any(|v| v == name) {
        let mut chain = visited.clone();
        chain.push(name.to_string());
        return Err(ResolveError::SourceCycle(chain));
    }
    visited.push(name.to_string());
    let long_term = format!("{name}-long-term");
    if files.credentials.has_section(&long_term) {
        let get = |k: &str| {
            files
                .credentials
                .get(&long_term, k)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(keys) = keys_from(&long_term, get)? {
            return Ok(Found {
                keys,
                origin: format!("[{long_term}] in the credentials file"),
                chain: visited.clone(),
                long_term_section: Some(long_term),
            });
        }
    }
    let Some(profile) = files.profile(name) else {
        return Err(ResolveError::NoProfile(name.to_string()));
    };
    if profile.has("aws_access_key_id") || profile.has("aws_secret_access_key") {
        if profile.has("aws_session_token") {
            return Err(ResolveError::SessionOnly(name.to_string()));
        }
        let section = match profile.origin("aws_access_key_id") {
            Some((Which::Config, _)) => AwsFiles::config_section(name),
            _ => name.to_string(),
        };
        let keys = keys_from(&section, |k| profile.get(k).map(str::to_string))?
            .expect("one of the keys is present");
        let file = match profile.origin("aws_access_key_id") {
            Some((Which::Config, _)) => "config",
            _ => "credentials",
        };
        return Ok(Found {
            keys,
            origin: format!("[{section}] in the {file} file"),
            chain: visited.clone(),
            long_term_section: None,
        });
    }
    if profile.has("role_arn") {
        return Err(ResolveError::RoleProfile(name.to_string()));
    }
    if let Some(source) = profile.get("source_profile") {
        if files.profile(source).is_none()
            && !files
                .credentials
                .has_section(&format!("{source}-long-term"))
        {
            return Err(ResolveError::MissingSource {
                profile: name.to_string(),
                source_name: source.to_string(),
            });
        }
        return find_keys(files, source, visited);
    }
    if profile.has("credential_process") {
        return Err(ResolveError::CredentialProcess(name.to_string()));
    }
    Err(ResolveError::NoKeys(name.to_string()))
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
        }
    }

    #[test]
    fn aws_mfa_long_term_layout_targets_the_profile() {
        // Seed 001: aws-mfa's layout, aws_mfa_device beside the keys.
        let f = files(
            "",
            "[myprofile-long-term]\naws_access_key_id = AKIAHUNTER2HUNTER2HU\naws_secret_access_key = V293IC0geW91\naws_mfa_device = arn:aws:iam::1234567890:mfa/yourname\n",
        );
        let p = plan_login(&f, "myprofile", None).unwrap();
        assert_eq!(p.target, "myprofile");
        assert_eq!(p.keys.access_key_id, "AKIAHUNTER2HUNTER2HU");
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
            "[mfa]\naws_access_key_id = BKCAXZ6ODJLQ1EXAMPLE\naws_secret_access_key = ABCD\nmfa_serial = arn:aws:iam::112233445566:mfa/MFAUser\n",
        );
        let p = plan_login(&f, "mfa", None).unwrap();
        assert_eq!(p.target, "mfa-mfa");
        assert!(p.keys_in_profile);
        assert_eq!(p.settings.region.as_deref(), Some("eu-west-1"));
        assert!(matches!(
            plan_login(&f, "mfa", Some("mfa")),
            Err(ResolveError::TargetHoldsKeys(_))
        ));
    }

    #[test]
    fn source_profile_chains_and_their_failures() {
        // Seed 003's caktus-mfa: a profile that names its source and its device.
        let f = files(
            "[profile caktus-mfa]\nmfa_serial=arn:aws:iam::1:mfa/u\nsource_profile=caktus\nregion=us-east-1\n[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n[profile lost]\nsource_profile = nowhere\n[profile proc]\ncredential_process = aws-vault exec x\n[profile role]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = caktus\n",
            "[caktus]\naws_access_key_id = AKIACAKTUSEXAMPLE000\naws_secret_access_key = s\n",
        );
        let p = plan_login(&f, "caktus-mfa", None).unwrap();
        assert_eq!(p.target, "caktus-mfa");
        assert_eq!(p.keys.access_key_id, "AKIACAKTUSEXAMPLE000");
        assert_eq!(p.mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/u"));
        assert_eq!(
            plan_login(&f, "a", None).unwrap_err(),
            ResolveError::SourceCycle(vec!["a".into(), "b".into(), "a".into()])
        );
        assert!(matches!(
            plan_login(&f, "lost", None),
            Err(ResolveError::MissingSource { .. })
        ));
        assert!(matches!(
            plan_login(&f, "proc", None),
            Err(ResolveError::CredentialProcess(_))
        ));
        assert!(matches!(
            plan_login(&f, "role", None),
            Err(ResolveError::RoleProfile(_))
        ));
        assert!(matches!(
            plan_login(&f, "ghost", None),
            Err(ResolveError::NoProfile(_))
        ));
    }

    #[test]
    fn sessions_and_half_keys_are_not_long_term_keys() {
        let f = files(
            "",
            "[s]\naws_access_key_id = ASIA\naws_secret_access_key = x\naws_session_token = t\n[half]\naws_access_key_id = AKIA\n",
        );
        assert_eq!(
            plan_login(&f, "s", None).unwrap_err(),
            ResolveError::SessionOnly("s".into())
        );
        assert!(matches!(
            plan_login(&f, "half", None),
            Err(ResolveError::IncompleteKeys { .. })
        ));
    }

    #[test]
    fn settings_are_inherited_along_the_chain() {
        let f = files(
            "[services wasabi]\nsts =\n  endpoint_url = https://sts.wasabisys.com\n[profile wasabi]\nregion = us-east-2\nservices = wasabi\n",
            "[wasabi-long-term]\naws_access_key_id = AKIAWASABIEXAMPLE000\naws_secret_access_key = s\n",
        );
        let p = plan_login(&f, "wasabi", None).unwrap();
        assert_eq!(p.target, "wasabi");
        assert_eq!(
            p.settings.inheritable(),
            vec![("region", "us-east-2"), ("services", "wasabi")]
        );
    }
}
