//! The snapshot of the process environment: the only place awsmfa reads it
//! ([`Env::from_process`]); everything else receives an [`Env`], so tests control it
//! completely.

use std::collections::BTreeMap;
use std::path::PathBuf;

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

    /// Whether the variable exists at all, empty or not.
    pub fn is_present(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// Every variable, empty ones too, in name order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The home directory as the AWS CLI finds it (`HOME`; `USERPROFILE` on Windows).
    pub fn home(&self) -> Option<PathBuf> {
        super::home(self)
    }

    /// Python's `os.path.expandvars`, which botocore applies to `AWS_CONFIG_FILE` and
    /// `AWS_SHARED_CREDENTIALS_FILE` before `~`: `$NAME` and `${NAME}` (letters, digits,
    /// `_`) replaced by set variables, anything else left as written.
    pub fn expand_vars(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, len) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            match self.vars.get(name).filter(|_| valid) {
                Some(value) => {
                    out.push_str(value);
                    rest = &after[len..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
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
