//! The user's AWS setup: environment, files, profiles.
//!
//! It reads the environment only through the snapshot [`Env`] (`sys::env`), so tests
//! control it completely, and reads `~/.aws/config` and `~/.aws/credentials` as the AWS CLI does and resolves profiles
//! into plain values; `profile` holds the rules that pick keys, device and target.

pub mod index;
pub mod ini;
pub mod profile;
pub mod shape;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsx::{self, FsError};
use crate::sys::Env;
use ini::{Document, IniError};

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
            return Ok(env.expand(&env.expand_vars(v)));
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
    Ok(load_document_stamped(path)?.0)
}

/// One AWS file's section headers only ([`Document::parse_headers`]); a missing file
/// has none. A repeated section is refused as [`load_document`] refuses it (a repeated
/// key is not looked for: the keys are not kept).
pub fn load_headers(path: &Path) -> Result<Document, ConfigError> {
    let bytes = zeroize::Zeroizing::new(fsx::read_optional(path)?.unwrap_or_default());
    let parse_err = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let doc = Document::parse_headers(&bytes).map_err(parse_err)?;
    doc.check_duplicates().map_err(parse_err)?;
    Ok(doc)
}

/// [`load_document`], with the stamp of what was read ([`index::Stamp`]): `None` where
/// the system gives none.
pub fn load_document_stamped(path: &Path) -> Result<(Document, Option<index::Stamp>), ConfigError> {
    // The credentials file's text holds keys: wiped once parsed.
    let (bytes, stamp) = match fsx::read_optional_with_meta(path)? {
        Some((bytes, meta)) => (
            bytes,
            crate::sys::file_stamp(&meta).map(index::Stamp::Present),
        ),
        None => (Vec::new(), Some(index::Stamp::Absent)),
    };
    let bytes = zeroize::Zeroizing::new(bytes);
    let parse_err = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let doc = Document::parse(&bytes).map_err(parse_err)?;
    doc.check_duplicates().map_err(parse_err)?;
    Ok((doc, stamp))
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

    /// The canonical config section name of a profile: `default` or `profile NAME`.
    /// For the section that holds a profile now, see [`config_section_in`].
    pub fn config_section(name: &str) -> String {
        if name == "default" {
            "default".into()
        } else {
            format!("profile {name}")
        }
    }

    /// The config section botocore reads profile `name` from, or the one a write creates.
    pub fn config_section_of(&self, name: &str) -> String {
        config_section_in(&self.config, name)
    }

    /// The profile `name` as the AWS CLI sees it (botocore's `full_config`): the config
    /// section it reads for that name, then the credentials section of exactly that name
    /// on top, each with its file's `[DEFAULT]` keys beneath. `None` when neither file
    /// has it.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        let mut values = BTreeMap::new();
        let mut found = false;
        let mut add = |doc: &Document, section: &str, which: Which| {
            if let Some(entries) = doc.top_entries(section) {
                found = true;
                let defaults = doc.top_entries(DEFAULT_SECTION).unwrap_or_default();
                for (key, value, line) in defaults.into_iter().chain(entries) {
                    // configparser lowercases keys (not the keys of a nested block,
                    // which are read from the file when asked: `AwsFiles::nested`).
                    values.insert(key.to_lowercase(), (value, which, line));
                }
            }
        };
        if let Some(section) = self.config.named_section("profile", name) {
            add(&self.config, section, Which::Config);
        }
        if name != DEFAULT_SECTION {
            add(&self.credentials, name, Which::Credentials);
        }
        found.then(|| Profile {
            name: name.to_string(),
            values,
        })
    }

    /// The `sub = value` lines of the nested block `key` of profile `p`, in key order
    /// (a later one of the same name wins, as in configparser's dict): read from the
    /// file that gave the profile its `key`, as botocore reads the block whole from
    /// there.
    pub fn nested(&self, p: &Profile, key: &str) -> Vec<(String, String)> {
        let Some((which, line)) = p.origin(key) else {
            return Vec::new();
        };
        let doc = match which {
            Which::Config => &self.config,
            Which::Credentials => &self.credentials,
        };
        let block: BTreeMap<String, String> = doc.nested_at(line).into_iter().collect();
        block.into_iter().collect()
    }

    /// Every profile name the AWS CLI sees, in no particular order.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: std::collections::BTreeSet<String> = self
            .config
            .named_sections("profile")
            .map(String::from)
            .collect();
        names.extend(
            self.credentials
                .section_names()
                .into_iter()
                .filter(|s| *s != DEFAULT_SECTION)
                .map(String::from),
        );
        names.into_iter().collect()
    }

    /// `[services NAME]` of the config as `service → key → value` (the keys awsmfa reads,
    /// [`SERVICE_KEYS`]), found as botocore
    /// finds it (`[services  NAME]` and `[services\tNAME]` included); `None` when the
    /// config has no such section (botocore then refuses the profile).
    pub fn services_section(
        &self,
        name: &str,
    ) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
        let section = self.config.named_section("services", name)?;
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut plain = Vec::new();
        let mut any = false;
        // Of a service's block only what awsmfa reads is kept (its `endpoint_url`): a
        // block of a million lines costs a pass over it, not a copy.
        let mut take = |parent: Option<&str>, key: &str, value: &dyn Fn() -> String, _line| {
            any = true;
            match parent {
                Some(service) => {
                    let block = out.entry(service.to_lowercase()).or_default();
                    if SERVICE_KEYS.contains(&key) {
                        block.insert(key.to_string(), value());
                    }
                }
                None => plain.push((key.to_lowercase(), value())),
            }
        };
        self.config.visit_entries(DEFAULT_SECTION, &mut take);
        self.config.visit_entries(section, &mut take);
        // An empty section is none at all for botocore (`if not services_section`).
        if !any {
            return None;
        }
        // A service set to a plain value (`sts = x`, or `sts =` with nothing beneath)
        // is kept under "", where botocore expects a block and fails.
        for (service, value) in plain {
            out.entry(service)
                .or_insert_with(|| BTreeMap::from([(String::new(), value)]));
        }
        Some(out)
    }

    /// The `endpoint_url` that `[services NAME]` sets for `service`, as botocore finds
    /// it; `Err` (what is wrong) where botocore fails: no such section, or the service
    /// set to a plain value instead of a block of settings.
    pub fn services_endpoint(&self, name: &str, service: &str) -> Result<Option<String>, String> {
        let clean = crate::term::clean;
        let section = self.services_section(name).ok_or_else(|| {
            format!(
                "services = {} names no [services {}] section",
                clean(name),
                clean(name)
            )
        })?;
        let Some(block) = section.get(service) else {
            return Ok(None);
        };
        if block.contains_key("") {
            return Err(format!(
                "[services {}] sets {service} to a plain value, not a block (`{service} =` and an indented `endpoint_url = …` beneath it)",
                clean(name)
            ));
        }
        Ok(block.get("endpoint_url").filter(|u| !u.is_empty()).cloned())
    }

    /// Like [`AwsFiles::services_section`], empty when there is none.
    pub fn services(&self, name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        self.services_section(name).unwrap_or_default()
    }
}

/// configparser's default section: its keys appear in every section of the same file.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// Whether the config has a section botocore reads as profile `name`.
pub fn has_profile_section(config: &Document, name: &str) -> bool {
    config.named_section("profile", name).is_some()
}

/// The config section that holds profile `name` for botocore, else the one to create:
/// `default` or `profile NAME`.
pub fn config_section_in(config: &Document, name: &str) -> String {
    config
        .named_section("profile", name)
        .map(String::from)
        .unwrap_or_else(|| AwsFiles::config_section(name))
}

/// The HTTP proxies of the environment, read as botocore reads them (through Python's
/// `urllib.request.getproxies_environment`): any `<scheme>_proxy` variable in any case,
/// lower-case names winning, an empty lower-case one removing the scheme; `HTTP_PROXY`
/// ignored under CGI (`REQUEST_METHOD` set); `no_proxy` the same way. `ALL_PROXY` is not
/// used: botocore picks the proxy by the endpoint's scheme only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// scheme → (proxy URL, the variable it came from)
    by_scheme: BTreeMap<String, (String, String)>,
}

/// The proxy for one endpoint, and the variable that named it (for `-v`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub url: String,
    pub variable: String,
}

impl Proxies {
    pub fn from_env(env: &Env) -> Proxies {
        let mut by_scheme = BTreeMap::new();
        for (name, value) in env.entries() {
            let lower = name.to_lowercase();
            if !value.is_empty()
                && let Some(scheme) = lower.strip_suffix("_proxy")
            {
                by_scheme.insert(scheme.to_string(), (value.to_string(), name.to_string()));
            }
        }
        if env.is_present("REQUEST_METHOD") {
            by_scheme.remove("http");
        }
        for (name, value) in env.entries() {
            if let Some(scheme) = name.strip_suffix("_proxy") {
                let scheme = scheme.to_lowercase();
                if value.is_empty() {
                    by_scheme.remove(&scheme);
                } else {
                    by_scheme.insert(scheme, (value.to_string(), name.to_string()));
                }
            }
        }
        Proxies { by_scheme }
    }
}

impl Proxies {
    /// The proxy botocore uses for `url` (`get_environ_proxies` then
    /// `ProxyConfiguration.proxy_url_for`): none when `no_proxy` names the host (exactly,
    /// as a domain suffix, with or without the port, or `*`), else the one of the URL's
    /// scheme, `http://` put in front of a proxy written without a scheme.
    pub fn for_url(&self, url: &str) -> Option<Proxy> {
        let (scheme, rest) = url.split_once("://")?;
        let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((no_proxy, _)) = self.by_scheme.get("no")
            && bypass(netloc, no_proxy)
        {
            return None;
        }
        let (proxy, variable) = self.by_scheme.get(&scheme.to_lowercase())?;
        let url = if proxy.starts_with("http:") || proxy.starts_with("https:") {
            proxy.clone()
        } else if proxy.starts_with("//") {
            format!("http:{proxy}")
        } else {
            format!("http://{proxy}")
        };
        Some(Proxy {
            url,
            variable: variable.clone(),
        })
    }

    /// The variable `no_proxy` was read from, when it is set.
    pub fn no_proxy_variable(&self) -> Option<&str> {
        self.by_scheme.get("no").map(|(_, v)| v.as_str())
    }
}

/// urllib's `proxy_bypass_environment`: no CIDR blocks, no wildcards but a lone `*`.
fn bypass(netloc: &str, no_proxy: &str) -> bool {
    if no_proxy == "*" {
        return true;
    }
    let host = netloc.to_lowercase();
    let host_only = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
        _ => host.clone(),
    };
    no_proxy.split(',').any(|name| {
        let name = name.trim().trim_start_matches('.').to_lowercase();
        if name.is_empty() {
            return false;
        }
        let suffix = format!(".{name}");
        host_only == name || host == name || host_only.ends_with(&suffix) || host.ends_with(&suffix)
    })
}

/// The settings of a `[services …]` block that awsmfa reads.
pub const SERVICE_KEYS: [&str; 1] = ["endpoint_url"];

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

    /// The session token as botocore's shared-credentials and config providers read it:
    /// `aws_session_token`, else `aws_security_token` (boto2's and aws-mfa's name).
    pub fn session_token(&self) -> Option<&str> {
        ini::SESSION_TOKEN_KEYS.iter().find_map(|k| self.get(k))
    }

    /// The value as read, empty included.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _, _)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_by_scheme_and_no_proxy_as_urllib() {
        let env = Env::from_pairs([
            ("HTTPS_PROXY", "https-upper:1"),
            ("https_proxy", "http://https-lower:2"),
            ("HTTP_PROXY", "//http-upper:3"),
            ("ALL_PROXY", "http://all:4"),
            (
                "NO_PROXY",
                "internal.example, .corp.example,host.example:8443",
            ),
        ]);
        let p = Proxies::from_env(&env);
        let url = |u: &str| p.for_url(u).map(|p| (p.url, p.variable));
        assert_eq!(
            url("https://sts.amazonaws.com"),
            Some(("http://https-lower:2".into(), "https_proxy".into()))
        );
        assert_eq!(
            url("http://127.0.0.1:9000/"),
            Some(("http://http-upper:3".into(), "HTTP_PROXY".into()))
        );
        assert_eq!(url("https://internal.example"), None);
        assert_eq!(url("https://sts.INTERNAL.example:443/"), None);
        assert_eq!(url("https://a.corp.example"), None);
        assert_eq!(url("https://corp.example"), None);
        assert_eq!(
            url("https://xinternal.example").map(|p| p.1),
            Some("https_proxy".into())
        );
        assert_eq!(url("https://host.example:8443"), None);
        assert!(url("https://host.example:9443").is_some());
        // A lower-case empty variable removes the scheme; CGI drops HTTP_PROXY.
        let env = Env::from_pairs([("HTTPS_PROXY", "p:1"), ("https_proxy", "")]);
        assert_eq!(Proxies::from_env(&env).for_url("https://x"), None);
        let env = Env::from_pairs([("HTTP_PROXY", "p:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(Proxies::from_env(&env).for_url("http://x"), None);
        let env = Env::from_pairs([("HTTP_PROXY", "p:1"), ("no_proxy", "*")]);
        assert_eq!(Proxies::from_env(&env).for_url("http://x"), None);
        let env = Env::from_pairs([("HTTP_PROXY", "p:1"), ("no_proxy", "10.0.0.0/8")]);
        assert!(Proxies::from_env(&env).for_url("http://10.1.2.3").is_some());
    }

    fn files(config: &str, credentials: &str) -> AwsFiles {
        AwsFiles {
            config_path: "config".into(),
            credentials_path: "credentials".into(),
            config: Document::parse(config.as_bytes()).unwrap(),
            credentials: Document::parse(credentials.as_bytes()).unwrap(),
            vault: Default::default(),
        }
    }

    // Issue 21, 7: a block of a million nested lines was copied into every profile
    // lookup (3.6 s and 231 MB for `status`); a profile holds top-level keys only and a
    // block is read from its file when asked, whole from the file that set it.
    #[test]
    fn nested_blocks_are_read_from_the_file_that_set_them() {
        let f = files(
            "[profile w]\nregion = r\ns3 =\n  addressing_style = path\n  b = 2\n[profile v]\ns3 =\n  z = 1\n",
            "[w]\ns3 =\n  only = this\n",
        );
        let w = f.profile("w").unwrap();
        assert_eq!(w.get("region"), Some("r"));
        assert_eq!(w.raw("s3"), Some(""));
        assert_eq!(w.raw("s3.addressing_style"), None);
        assert_eq!(
            f.nested(&w, "s3"),
            vec![("only".to_string(), "this".to_string())],
            "the credentials file's block replaces the config's whole, as in botocore"
        );
        let v = f.profile("v").unwrap();
        assert_eq!(f.nested(&v, "s3"), vec![("z".to_string(), "1".to_string())]);
        assert!(f.nested(&v, "region").is_empty());
        assert!(f.nested(&w, "region").is_empty());
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

    /// botocore fails on a service set to a plain value (`'str' object has no
    /// attribute 'get'`) and reads AWS's endpoint for a service the section leaves out.
    #[test]
    fn a_plain_services_value_is_refused_like_botocore() {
        let f = files(
            "[services w]\nsts = https://sts.example\niam =\ns3 =\n  endpoint_url = https://s3.example\n",
            "",
        );
        let err = f.services_endpoint("w", "sts").unwrap_err();
        assert!(err.contains("sets sts to a plain value"), "{err}");
        assert!(f.services_endpoint("w", "iam").is_err(), "`iam =` alone");
        assert_eq!(
            f.services_endpoint("w", "s3").unwrap().as_deref(),
            Some("https://s3.example")
        );
        assert_eq!(f.services_endpoint("w", "ec2").unwrap(), None);
        assert!(f.services_endpoint("nowhere", "sts").is_err());
    }

    #[test]
    fn services_sections() {
        let f = files(
            "[services wasabi]\nsts =\n  endpoint_url = https://sts.wasabisys.com\nS3 =\n  Endpoint_URL = https://s3.wasabisys.com\n",
            "",
        );
        let s = f.services("wasabi");
        assert_eq!(s["sts"]["endpoint_url"], "https://sts.wasabisys.com");
        // botocore lowercases keys, not the keys of a nested block: `Endpoint_URL` is no
        // endpoint (and, as no key awsmfa reads, not kept).
        assert!(s["s3"].is_empty(), "{:?}", s["s3"]);
        for header in [
            "[services  wasabi]",
            "[services\twasabi]",
            "[services 'wasabi']",
        ] {
            let f = files(
                &format!("{header}\nsts =\n  endpoint_url = https://sts.wasabisys.com\n"),
                "",
            );
            assert_eq!(
                f.services_section("wasabi").unwrap()["sts"]["endpoint_url"],
                "https://sts.wasabisys.com",
                "{header}"
            );
        }
        assert!(
            files("[services]\n", "")
                .services_section("wasabi")
                .is_none()
        );
    }

    #[test]
    fn profile_headers_as_botocore_splits_them() {
        let f = files(
            "[profile  x]\nregion = r1\n[profile \"a.b\"]\nregion = r2\n[ t ]\nregion = r3\n[ profile u ]\nregion = r4\n[profile a b]\nregion = r5\n[default]\nregion = r6\noutput = json\n[profile default]\nregion = r7\n[DEFAULT]\nmfa_serial = m\n",
            "[ t ]\nk = 1\n[DEFAULT]\nk = d\n",
        );
        assert_eq!(f.profile("x").unwrap().get("region"), Some("r1"));
        assert_eq!(f.profile("a.b").unwrap().get("region"), Some("r2"));
        assert!(f.profile("t").is_none());
        assert_eq!(f.profile(" t ").unwrap().get("k"), Some("1"));
        assert!(f.profile("u").is_none());
        assert!(f.profile("a b").is_none());
        let d = f.profile("default").unwrap();
        assert_eq!(d.get("region"), Some("r7"), "the later section wins whole");
        assert_eq!(d.get("output"), None);
        assert_eq!(
            d.get("mfa_serial"),
            Some("m"),
            "[DEFAULT] is beneath every section"
        );
        assert_eq!(f.config_section_of("default"), "profile default");
        assert_eq!(f.config_section_of("a.b"), "profile \"a.b\"");
        assert_eq!(f.config_section_of("new"), "profile new");
        assert_eq!(f.profile_names(), vec![" t ", "a.b", "default", "x"]);
    }

    #[test]
    fn paths_follow_flags_then_env_then_home() {
        let home = crate::sys::HOME_VARIABLE;
        let env = Env::from_pairs([(home, "/h"), ("AWS_CONFIG_FILE", "~/cfg")]);
        let (c, k) = file_paths(&env, None, None).unwrap();
        assert_eq!(c, PathBuf::from("/h/cfg"));
        assert_eq!(k, PathBuf::from("/h/.aws/credentials"));
        let env2 = Env::from_pairs([
            (home, "/h"),
            ("HOME", "/h"),
            ("AWS_CONFIG_FILE", "$HOME/a/${HOME}/$NOPE/$"),
        ]);
        assert_eq!(
            file_paths(&env2, None, None).unwrap().0,
            PathBuf::from("/h/a//h/$NOPE/$")
        );
        let (c, _) = file_paths(&env, Some(Path::new("/x")), None).unwrap();
        assert_eq!(c, PathBuf::from("/x"));
        assert!(matches!(
            file_paths(&Env::default(), None, None),
            Err(ConfigError::NoHome)
        ));
    }
}
