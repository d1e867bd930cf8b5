//! The user's AWS setup: environment, files, profiles.
//!
//! This is the only module that reads the process environment ([`Env::from_process`]);
//! everything else receives an [`Env`], so tests control it completely. It reads
//! `~/.aws/config` and `~/.aws/credentials` as the AWS CLI does and resolves profiles
//! into plain values; `profile` holds the rules that pick keys, device and target.

pub mod ini;
pub mod profile;
pub mod shape;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsx::{self, FsError};
use ini::{Document, IniError};

/// A snapshot of the environment variables awsmfa may read.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Takes the snapshot. Variables that are not UTF-8 are skipped.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; set-but-empty counts as unset, as in the AWS CLI.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The home directory as the AWS CLI finds it (`HOME`; `USERPROFILE` on Windows).
    pub fn home(&self) -> Option<PathBuf> {
        crate::sys::home(self)
    }

    /// Expands a leading `~` or `~/` (also `~\` on Windows) with the home directory, as
    /// the AWS CLI does for file paths.
    pub fn expand(&self, path: &str) -> PathBuf {
        let sep = std::path::is_separator;
        match (path.strip_prefix('~'), self.home()) {
            (Some(""), Some(home)) => home,
            (Some(rest), Some(home)) if rest.starts_with(sep) => {
                home.join(rest.trim_start_matches(sep))
            }
            _ => PathBuf::from(path),
        }
    }
}

/// Which of the two files a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Config,
    Credentials,
}

/// Errors reading the AWS files: the path and a line number, never file contents.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: IniError },
    #[error(
        "{} is not set, so ~/.aws cannot be found; set it, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE",
        crate::sys::HOME_VARIABLE
    )]
    NoHome,
}

/// The two AWS files, parsed.
#[derive(Debug, Clone)]
pub struct AwsFiles {
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
    pub config: Document,
    pub credentials: Document,
    /// Which profiles keep their keys in the vault (read without opening it).
    pub vault: crate::vault::Index,
}

/// Where the files are: flag, else environment, else `~/.aws/…`.
pub fn file_paths(
    env: &Env,
    config_flag: Option<&Path>,
    credentials_flag: Option<&Path>,
) -> Result<(PathBuf, PathBuf), ConfigError> {
    let pick = |flag: Option<&Path>, var: &str, default: &str| -> Result<PathBuf, ConfigError> {
        if let Some(p) = flag {
            return Ok(p.to_path_buf());
        }
        if let Some(v) = env.get(var) {
            return Ok(env.expand(v));
        }
        Ok(env.home().ok_or(ConfigError::NoHome)?.join(default))
    };
    Ok((
        pick(config_flag, "AWS_CONFIG_FILE", ".aws/config")?,
        pick(
            credentials_flag,
            "AWS_SHARED_CREDENTIALS_FILE",
            ".aws/credentials",
        )?,
    ))
}

/// Reads and parses one AWS file; a missing file is an empty document.
pub fn load_document(path: &Path) -> Result<Document, ConfigError> {
    let bytes = fsx::read_optional(path)?.unwrap_or_default();
    let parse_err = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let doc = Document::parse(&bytes).map_err(parse_err)?;
    doc.check_duplicates().map_err(parse_err)?;
    Ok(doc)
}

impl AwsFiles {
    pub fn load(
        config_path: PathBuf,
        credentials_path: PathBuf,
        vault: crate::vault::Index,
    ) -> Result<AwsFiles, ConfigError> {
        Ok(AwsFiles {
            config: load_document(&config_path)?,
            credentials: load_document(&credentials_path)?,
            config_path,
            credentials_path,
            vault,
        })
    }

    /// The config section name of a profile: `default` or `profile NAME`.
    pub fn config_section(name: &str) -> String {
        if name == "default" {
            "default".into()
        } else {
            format!("profile {name}")
        }
    }

    /// The profile `name` as the AWS CLI sees it: its config section, then its
    /// credentials section on top. `None` when neither file has it.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        let mut values = BTreeMap::new();
        let mut found = false;
        let mut add = |doc: &Document, section: &str, which: Which| {
            if let Some(entries) = doc.entries(section) {
                found = true;
                for (key, value, line) in entries {
                    values.insert(key.to_ascii_lowercase(), (value, which, line));
                }
            }
        };
        if name == "default" {
            add(&self.config, "default", Which::Config);
            add(&self.config, "profile default", Which::Config);
        } else {
            add(&self.config, &Self::config_section(name), Which::Config);
        }
        add(&self.credentials, name, Which::Credentials);
        found.then(|| Profile {
            name: name.to_string(),
            values,
        })
    }

    /// `[services NAME]` of the config as `service → key → value`.
    pub fn services(&self, name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (key, value, _) in self
            .config
            .entries(&format!("services {name}"))
            .unwrap_or_default()
        {
            if let Some((service, sub)) = key.split_once('.') {
                out.entry(service.to_ascii_lowercase())
                    .or_default()
                    .insert(sub.to_ascii_lowercase(), value);
            }
        }
        out
    }
}

/// A merged profile: lower-cased keys → (value, file, line).
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    values: BTreeMap<String, (String, Which, usize)>,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|(v, _, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn origin(&self, key: &str) -> Option<(Which, usize)> {
        self.values.get(key).map(|(_, w, l)| (*w, *l))
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(config: &str, credentials: &str) -> AwsFiles {
        AwsFiles {
            config_path: "config".into(),
            credentials_path: "credentials".into(),
            config: Document::parse(config.as_bytes()).unwrap(),
            credentials: Document::parse(credentials.as_bytes()).unwrap(),
            vault: Default::default(),
        }
    }

    #[test]
    fn credentials_override_config_and_profile_prefix_rules() {
        let f = files(
            "[default]\nregion = us-east-1\n[profile work]\nregion = eu-west-1\nmfa_serial = a\n[work]\nregion = ignored\n",
            "[work]\nregion = ap-south-1\naws_access_key_id = AKIA\n",
        );
        let p = f.profile("work").unwrap();
        assert_eq!(p.get("region"), Some("ap-south-1"));
        assert_eq!(p.get("mfa_serial"), Some("a"));
        assert_eq!(p.origin("region"), Some((Which::Credentials, 2)));
        assert_eq!(
            f.profile("default").unwrap().get("region"),
            Some("us-east-1")
        );
        assert!(f.profile("nope").is_none());
    }

    #[test]
    fn services_sections() {
        let f = files(
            "[services wasabi]\nsts =\n  endpoint_url = https://sts.wasabisys.com\nS3 =\n  Endpoint_URL = https://s3.wasabisys.com\n",
            "",
        );
        let s = f.services("wasabi");
        assert_eq!(s["sts"]["endpoint_url"], "https://sts.wasabisys.com");
        assert_eq!(s["s3"]["endpoint_url"], "https://s3.wasabisys.com");
    }

    #[test]
    fn paths_follow_flags_then_env_then_home() {
        let env = Env::from_pairs([("HOME", "/h"), ("AWS_CONFIG_FILE", "~/cfg")]);
        let (c, k) = file_paths(&env, None, None).unwrap();
        assert_eq!(c, PathBuf::from("/h/cfg"));
        assert_eq!(k, PathBuf::from("/h/.aws/credentials"));
        let (c, _) = file_paths(&env, Some(Path::new("/x")), None).unwrap();
        assert_eq!(c, PathBuf::from("/x"));
        assert!(matches!(
            file_paths(&Env::default(), None, None),
            Err(ConfigError::NoHome)
        ));
    }
}
