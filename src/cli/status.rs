//! `awsmfa status`: every profile, what kind it is, where its keys live, its MFA device,
//! and the sessions written or cached for it with their time left. `--json` has a
//! stable schema (`version` 1); nothing here calls AWS or asks for a code.

use clap::Args;
use jiff::Timestamp;
use serde::Serialize;

use super::Context;
use super::profiles;
use super::setup::load_files;
use crate::config::profile::{Kind, resolve};
use crate::config::{AwsFiles, Profile};
use crate::error::{Error, Exit};
use crate::lifetime::{human_remaining, remaining};
use crate::output;
use crate::session::cache::Cache;

#[derive(Debug, Args)]
pub struct StatusOpts {
    /// Output format: a table, or JSON (schema version 1)
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
    /// The same as --format json
    #[arg(long, hide = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub config_file: String,
    pub credentials_file: String,
    pub cache_dir: Option<String>,
    pub profiles: Vec<ProfileStatus>,
}

#[derive(Debug, Serialize)]
pub struct ProfileStatus {
    pub name: String,
    /// `keys`, `role`, `session`, `source`, `process`, `sso`, or `other`.
    pub kind: &'static str,
    /// Where the long-term keys live, when the profile has or reaches some.
    pub keys: Option<String>,
    pub role_arn: Option<String>,
    pub source_profile: Option<String>,
    pub mfa_serial: Option<String>,
    /// Why awsmfa could not serve it, if it cannot.
    pub problem: Option<String>,
    /// A session written into the credentials file.
    pub file_session: Option<SessionStatus>,
    pub cached: Vec<CachedStatus>,
    /// The profile as the AWS CLI reads it (for bug reports and the differential test
    /// against botocore).
    pub aws: AwsView,
}

/// What the AWS CLI reads for a profile, in a form safe to paste into a bug report:
/// secrets only as their length, key ids masked, `credential_process` as its program.
#[derive(Debug, Serialize)]
pub struct AwsView {
    /// The keys awsmfa uses, as read (continuation lines joined with line breaks; a
    /// nested block as `{key=value, …}`).
    pub values: std::collections::BTreeMap<String, String>,
    /// The STS and IAM endpoint URLs the config sets (`endpoint_url`, `services`), or
    /// `error: …` where the CLI would refuse; absent when AWS's own endpoint is used.
    pub endpoints: std::collections::BTreeMap<String, String>,
    /// The endpoint settings come from the profiles this one leans on (awsmfa reads
    /// more than the CLI here; README).
    pub endpoints_inherited: bool,
    /// For a role: the profiles from this one down to the one whose keys start the
    /// chain, and what those keys are (`keys`, `process`, `vault`).
    pub role_chain: Option<Vec<String>>,
    pub role_base: Option<String>,
}

/// The keys the view shows.
const VIEW_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "region",
    "mfa_serial",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "duration_seconds",
    "external_id",
    "role_session_name",
    "endpoint_url",
    "services",
    "sts_regional_endpoints",
    "ignore_configured_endpoint_urls",
    "web_identity_token_file",
];

fn aws_view(
    files: &AwsFiles,
    name: &str,
    resolved: &Result<crate::config::profile::Resolved, crate::config::profile::ResolveError>,
) -> AwsView {
    use crate::config::profile::{KeysFrom, Source, configured_endpoint, own_settings};
    let mut values = std::collections::BTreeMap::new();
    if let Some(p) = files.profile(name) {
        for key in VIEW_KEYS {
            let nested = files.nested(&p, key);
            let shown = if !nested.is_empty() {
                let inner: Vec<String> = nested.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{{{}}}", inner.join(", "))
            } else if let Some(v) = p.raw(key) {
                let size = format!(
                    "<{} chars, {} lines>",
                    v.chars().count(),
                    v.split('\n').count()
                );
                match *key {
                    "aws_secret_access_key" | "aws_session_token" | "aws_security_token" => size,
                    "aws_access_key_id" => format!("{} {size}", crate::creds::mask(v)),
                    "credential_process" => crate::config::profile::program_name(v),
                    _ => v.to_string(),
                }
            } else {
                continue;
            };
            values.insert(key.to_string(), shown);
        }
    }
    let own = own_settings(files, name);
    let settings = resolved
        .as_ref()
        .map(|r| r.settings.clone())
        .unwrap_or(own.clone());
    let mut endpoints = std::collections::BTreeMap::new();
    for service in ["sts", "iam"] {
        match configured_endpoint(files, &settings, service) {
            Ok(Some(url)) => {
                endpoints.insert(service.to_string(), url);
            }
            Ok(None) => {}
            Err(e) => {
                endpoints.insert(service.to_string(), format!("error: {e}"));
            }
        }
    }
    let endpoints_inherited = (
        settings.endpoint_url.as_deref(),
        settings.services.as_deref(),
    ) != (own.endpoint_url.as_deref(), own.services.as_deref())
        || settings.ignore_configured_endpoint_urls != own.ignore_configured_endpoint_urls;
    let (mut role_chain, mut role_base) = (None, None);
    if let Ok(r) = resolved
        && let Kind::Role(role) = &r.kind
    {
        let mut chain = vec![role.profile.clone()];
        let mut source = &role.source;
        loop {
            match source {
                Source::Role(next) => {
                    chain.push(next.profile.clone());
                    source = &next.source;
                }
                Source::Keys(keys) => {
                    chain.push(keys.profile.clone());
                    role_base = Some(
                        match keys.keys {
                            KeysFrom::Static(_) => "keys",
                            KeysFrom::Process(_) => "process",
                            KeysFrom::Vault(_) => "vault",
                        }
                        .to_string(),
                    );
                    break;
                }
            }
        }
        role_chain = Some(chain);
    }
    AwsView {
        values,
        endpoints,
        endpoints_inherited,
        role_chain,
        role_base,
    }
}

#[derive(Debug, Serialize)]
pub struct SessionStatus {
    pub expiration: Option<String>,
    pub seconds_left: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct CachedStatus {
    pub kind: String,
    pub detail: String,
    pub expiration: String,
    pub seconds_left: i64,
}

pub fn run(ctx: &Context, opts: &StatusOpts) -> Result<(), Error> {
    let files = load_files(ctx)?;
    let cache = Cache::from_env(&ctx.env);
    let report = build(&files, cache.as_ref(), Timestamp::now());
    let text = if opts.json || opts.format == StatusFormat::Json {
        // The files, then the report, are let go before the next is made (40,000
        // profiles: 156 MiB at the peak when all three and a copy of the text were held).
        drop(files);
        let mut text = serde_json::to_string_pretty(&report).expect("serializable");
        drop(report);
        text.push('\n');
        text
    } else {
        if report.profiles.is_empty() {
            ctx.say(&format!(
                "no profiles in {} or {} yet",
                files.config_path.display(),
                files.credentials_path.display()
            ));
            ctx.hint("start with `aws configure --profile NAME` or `awsmfa add NAME` (the vault)");
            return Ok(());
        }
        let width = crate::proc::terminal_width().or_else(|| {
            ctx.env
                .get("COLUMNS")
                .and_then(|c| c.parse().ok())
                .filter(|c| *c > 0)
        });
        table(&report, width)
    };
    output::print_stdout(&text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}

pub fn build(files: &AwsFiles, cache: Option<&Cache>, now: Timestamp) -> Report {
    let cached_all = cache.map(|c| c.entries()).unwrap_or_default();
    let profiles = profiles::names(files)
        .into_iter()
        .map(|name| {
            let profile = files.profile(&name);
            let get = |k: &str| {
                profile
                    .as_ref()
                    .and_then(|p: &Profile| p.get(k))
                    .map(String::from)
            };
            let long_term = files.credentials.has_section(&format!("{name}-long-term"))
                || files
                    .vault
                    .get(crate::vault::Kind::Keys, &name)
                    .is_ok_and(|m| m.is_some());
            let has_keys = get("aws_access_key_id").is_some();
            let has_token = profile
                .as_ref()
                .is_some_and(|p| p.session_token().is_some());
            let kind = if get("role_arn").is_some() {
                "role"
            } else if long_term || (has_keys && !has_token) {
                "keys"
            } else if has_keys && has_token {
                "session"
            } else if get("credential_process").is_some() {
                // Without role_arn both tools use the process, whatever source_profile says.
                "process"
            } else if get("source_profile").is_some() {
                "source"
            } else if get("sso_start_url").is_some() || get("sso_session").is_some() {
                "sso"
            } else {
                // Settings only (region, output, endpoints).
                "other"
            };
            let resolved = resolve(files, &name);
            let (keys, mfa_serial, problem) = match &resolved {
                Ok(r) => {
                    let serial = match &r.kind {
                        Kind::Role(role) => role.mfa_serial.clone(),
                        Kind::MfaSession(_) => r.mfa_serial.clone(),
                    };
                    (Some(r.base_keys().origin.clone()), serial, None)
                }
                Err(e) => (
                    None,
                    get("mfa_serial").or_else(|| get("aws_mfa_device")),
                    Some(e.to_string()),
                ),
            };
            let file_session = has_token.then(|| {
                let exp = files
                    .credentials
                    .get(&name, "expiration")
                    .and_then(|e| crate::sts::parse_expiration(&e));
                SessionStatus {
                    expiration: exp.map(|t| t.to_string()),
                    seconds_left: exp.map(|t| remaining(t, now)),
                }
            });
            // One line per session: a session made with a discovered device is also
            // cached under the device's serial.
            let mut seen = std::collections::HashSet::new();
            let cached = cached_all
                .iter()
                .filter(|(_, c)| c.meta.profile == name)
                .filter(|(_, c)| seen.insert(c.creds.access_key_id.clone()))
                .filter_map(|(_, c)| {
                    let exp = c.creds.expiration?;
                    Some(CachedStatus {
                        kind: c.meta.kind.clone(),
                        detail: c.meta.detail.clone(),
                        expiration: exp.to_string(),
                        seconds_left: remaining(exp, now),
                    })
                })
                .collect();
            ProfileStatus {
                kind,
                keys,
                role_arn: get("role_arn"),
                source_profile: get("source_profile"),
                mfa_serial,
                // A session in a file, or a profile of settings only (a [default] with
                // a region), is not a problem.
                problem: if (kind == "session" && !long_term) || kind == "other" {
                    None
                } else {
                    problem
                },
                file_session,
                cached,
                aws: aws_view(files, &name, &resolved),
                name,
            }
        })
        .collect();
    Report {
        version: 1,
        config_file: files.config_path.display().to_string(),
        credentials_file: files.credentials_path.display().to_string(),
        cache_dir: cache.map(|c| c.dir().display().to_string()),
        profiles,
    }
}

fn table(report: &Report, width: Option<usize>) -> String {
    let mut rows = vec![[
        "PROFILE".to_string(),
        "KIND".to_string(),
        "KEYS".to_string(),
        "MFA DEVICE".to_string(),
        "SESSIONS".to_string(),
    ]];
    for p in &report.profiles {
        let mut sessions = Vec::new();
        if let Some(f) = &p.file_session {
            sessions.push(match f.seconds_left {
                Some(left) => format!("file: {}", left_text(left)),
                None => "file: no expiry recorded".to_string(),
            });
        }
        for c in &p.cached {
            sessions.push(format!("cached {}: {}", c.kind, left_text(c.seconds_left)));
        }
        if sessions.is_empty()
            && let Some(problem) = &p.problem
        {
            sessions.push(format!("({problem})"));
        }
        let keys = p
            .keys
            .as_deref()
            .map(short_origin)
            .or_else(|| p.source_profile.as_ref().map(|s| format!("via {s}")))
            .unwrap_or_else(|| "-".into());
        rows.push([
            cell(&p.name),
            if p.kind == "other" {
                "settings".into()
            } else {
                p.kind.to_string()
            },
            cell(&keys),
            // The device's name (`mfa/alice`): its account is the user's own.
            cell(
                p.mfa_serial
                    .as_deref()
                    .map(|s| s.rsplit(':').next().unwrap_or(s))
                    .unwrap_or("-"),
            ),
            if sessions.is_empty() {
                "-".into()
            } else {
                cell(&sessions.join("; "))
            },
        ]);
    }
    let mut widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    // A column narrows down to its longest word, never cutting one: cells wrap at
    // spaces onto more lines. The widest column with room to give gives first; KIND
    // (one short word) never wraps.
    let longest_word = |i: usize| {
        rows.iter()
            .flat_map(|r| r[i].split(' ').map(|w| w.chars().count()))
            .max()
            .unwrap_or(0)
    };
    let floor: Vec<usize> = (0..5).map(longest_word).collect();
    if let Some(limit) = width {
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * (w.len() - 1);
        while total(&widths) > limit {
            let Some(i) = [0, 2, 3, 4]
                .into_iter()
                .filter(|&i| widths[i] > floor[i])
                .max_by_key(|&i| widths[i])
            else {
                break;
            };
            widths[i] -= 1;
        }
        if total(&widths) > limit {
            // Words too long to stand side by side: one block per profile.
            return blocks(&rows, limit);
        }
    }
    let mut out = String::new();
    for r in rows {
        let cells: Vec<Vec<String>> = r.iter().zip(&widths).map(|(c, w)| wrap(c, *w)).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for line in 0..height {
            let mut text = String::new();
            for (i, c) in cells.iter().enumerate() {
                let part = c.get(line).map(String::as_str).unwrap_or("");
                if i < 4 {
                    text.push_str(&format!("{:<w$}  ", part, w = widths[i]));
                } else {
                    text.push_str(part);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The table for a terminal too narrow for its columns: each profile's name on a line,
/// then its fields, one a line (`  keys: …`), wrapped at spaces under an indent.
fn blocks(rows: &[[String; 5]], width: usize) -> String {
    let mut out = String::new();
    let (head, body) = rows.split_first().expect("a header row");
    for r in body {
        out.push_str(&r[0]);
        out.push('\n');
        for (label, value) in head.iter().zip(r).skip(1) {
            let text = format!("{}: {value}", label.to_lowercase());
            for (n, line) in wrap(&text, width.saturating_sub(4).max(1))
                .iter()
                .enumerate()
            {
                out.push_str(if n == 0 { "  " } else { "    " });
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `text` in lines of at most `width` characters, broken at spaces only: a word longer
/// than `width` keeps a line of its own, whole.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if line.is_empty() {
            line = word.to_string();
        } else if fits {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        }
    }
    lines.push(line);
    lines
}

/// Where keys live, in few words: `[work-long-term] in the credentials file` →
/// `file [work-long-term]`.
fn short_origin(origin: &str) -> String {
    if let Some(section) = origin.strip_suffix(" in the credentials file") {
        format!("file {section}")
    } else if let Some(section) = origin.strip_suffix(" in the config file") {
        format!("config {section}")
    } else {
        origin.to_string()
    }
}

/// A table cell: outside text made safe for the terminal, on one line.
fn cell(text: &str) -> String {
    crate::term::clean(text).replace(['\n', '\t'], " ")
}

fn left_text(left: i64) -> String {
    if left > 0 {
        format!("{} left", human_remaining(left))
    } else {
        "expired".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ini::Document;

    #[test]
    fn kinds_and_folding_of_long_term_sections() {
        let files = AwsFiles {
            config_path: "c".into(),
            credentials_path: "k".into(),
            config: Document::parse(
                b"[default]\nregion = us-east-1\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = work\n[profile vault]\ncredential_process = x\n[services s]\nsts =\n  endpoint_url = u\n",
            )
            .unwrap(),
            credentials: Document::parse(
                b"[work-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\naws_mfa_device = arn:aws:iam::123456789012:mfa/u\n[work]\naws_access_key_id = ASIA\naws_secret_access_key = s\naws_session_token = t\nexpiration = 2030-01-01T00:00:00Z\n",
            )
            .unwrap(),
            vault: Default::default(),
        };
        let now: Timestamp = "2029-12-31T23:00:00Z".parse().unwrap();
        let r = build(&files, None, now);
        let names: Vec<&str> = r.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["admin", "default", "vault", "work"]);
        let work = &r.profiles[3];
        assert_eq!(work.kind, "keys");
        assert_eq!(
            work.keys.as_deref(),
            Some("[work-long-term] in the credentials file")
        );
        assert_eq!(work.file_session.as_ref().unwrap().seconds_left, Some(3600));
        let admin = &r.profiles[0];
        assert_eq!(admin.kind, "role");
        assert_eq!(
            admin.mfa_serial.as_deref(),
            Some("arn:aws:iam::123456789012:mfa/u")
        );
        assert_eq!(r.profiles[2].kind, "process");
        assert!(r.profiles[2].problem.is_none());
        assert_eq!(
            r.profiles[2].keys.as_deref(),
            Some("the credential_process of profile \"vault\"")
        );
        let text = table(&r, None);
        assert!(text.starts_with("PROFILE"));
        assert!(text.contains("file: 1h 0m left"));
        // At 80 columns every line fits, and no word is cut: cells wrap at spaces.
        let narrow = table(&r, Some(80));
        assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
        assert!(!narrow.contains('…'), "{narrow}");
        let words = |t: &str| {
            let mut w: Vec<String> = t.split_whitespace().map(String::from).collect();
            w.sort();
            w
        };
        assert_eq!(words(&narrow), words(&text), "{narrow}");
        assert_eq!(wrap("file: 1h 0m left", 8), ["file: 1h", "0m left"]);
        // Too narrow for the columns side by side: a block per profile, every word whole.
        let blocks = table(&r, Some(30));
        assert!(blocks.starts_with("admin\n  kind: role\n"), "{blocks}");
        assert!(blocks.lines().all(|l| l.chars().count() <= 30), "{blocks}");
        assert!(!blocks.contains('…'), "{blocks}");
        assert_eq!(wrap("[a-very-long-section]", 8), ["[a-very-long-section]"]);
    }
}
