//! What awsmfa writes: sessions into the credentials file, profile settings into the
//! config file.
//!
//! Every write goes through [`crate::fsx`]: lock, re-read under the lock (so an edit
//! made by someone else since awsmfa first read the file is kept), edit the one section,
//! write a private temporary file and rename it over the original. The safety rule is
//! checked again under the lock: a section that holds long-term keys is never written.

pub mod formats;

use std::path::Path;

use crate::config::{self, ConfigError, profile};
use crate::creds::Credentials;
use crate::fsx::{self, FsError};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Read(#[from] ConfigError),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Unsafe(#[from] profile::ResolveError),
    /// A value that one INI line cannot carry (DESIGN §7); the file is unchanged.
    #[error("{}: {source}", path.display())]
    Refused {
        path: std::path::PathBuf,
        source: config::ini::IniError,
    },
}

impl From<config::ini::IniError> for WriteError {
    fn from(source: config::ini::IniError) -> WriteError {
        WriteError::Refused {
            path: Default::default(),
            source,
        }
    }
}

/// Locks `path`'s real file, re-reads it, applies `edit`, and writes it back when the
/// edit changed anything. Returns whether the file was written.
pub fn edit_file(
    path: &Path,
    edit: impl FnOnce(&mut config::ini::Document) -> Result<(), WriteError>,
) -> Result<bool, WriteError> {
    let real = fsx::resolve_target(path)?;
    let _lock = fsx::lock(&real)?;
    let original = config::load_document(&real)?;
    let before = original.to_bytes();
    let doc = try_edit(&original, edit).map_err(|e| with_path(e, path))?;
    let after = doc.to_bytes();
    if after == before {
        return Ok(false);
    }
    fsx::write_atomic(&real, &after)?;
    Ok(true)
}

/// Applies `edit` to a copy of `doc` and returns it, or why it must not be written: the
/// edit refused, or the result would not read, for the AWS CLI, as the edit meant
/// (issue 12). Also the dry run of a write that must not fail after something else
/// changed (a session fetched, a key created).
pub fn try_edit(
    doc: &config::ini::Document,
    edit: impl FnOnce(&mut config::ini::Document) -> Result<(), WriteError>,
) -> Result<config::ini::Document, WriteError> {
    let mut edited = doc.clone();
    edit(&mut edited)?;
    if edited.to_bytes() != doc.to_bytes() {
        doc.check_edit(&edited)?;
    }
    Ok(edited)
}

/// Names `path` in a refusal from [`try_edit`].
pub fn with_path(e: WriteError, path: &Path) -> WriteError {
    match e {
        WriteError::Refused { source, .. } => WriteError::Refused {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    }
}

/// The RFC 3339 UTC form awsmfa writes expirations in (`2026-11-22T16:55:00Z`).
pub fn format_expiration(creds: &Credentials) -> Option<String> {
    creds
        .expiration
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Writes a session into `[target]` of the credentials file, aws-mfa style: the three
/// credential keys and `expiration`. An `aws_security_token` left by older tools is
/// updated too, so it never holds a stale token.
pub fn write_session(
    credentials_path: &Path,
    target: &str,
    creds: &Credentials,
) -> Result<(), WriteError> {
    edit_file(credentials_path, |doc| session_edit(doc, target, creds))?;
    Ok(())
}

/// The edit of [`write_session`], on a document.
pub fn session_edit(
    doc: &mut config::ini::Document,
    target: &str,
    creds: &Credentials,
) -> Result<(), WriteError> {
    let token = creds.token().unwrap_or_default();
    // The rule again, under the lock: the file may have changed since it was read.
    profile::check_target_doc(doc, target)?;
    // A new section gets every key of the file's [DEFAULT] beneath it: the AWS CLI
    // would read those for the profile too (a region, a device it did not have).
    if !doc.has_section(target)
        && let Some(extra) = doc.default_key_besides(&SESSION_KEYS)
    {
        return Err(config::ini::IniError::Misread {
            section: target.to_string(),
            what: format!(
                "the file's [DEFAULT] would give the new section {extra} too; move it out of [DEFAULT] or choose another --target"
            ),
        }
        .into());
    }
    doc.set(target, "aws_access_key_id", &creds.access_key_id)?;
    doc.set(target, "aws_secret_access_key", creds.secret())?;
    doc.set(target, "aws_session_token", token)?;
    if doc.get(target, "aws_security_token").is_some() {
        doc.set(target, "aws_security_token", token)?;
    }
    // A section aws-mfa wrote keeps aws-mfa's expiry form, which is all it can read
    // (it fails on any other once `assumed_role` is there).
    let aws_mfa = doc.get(target, "assumed_role").is_some()
        || doc.get(target, "expiration").is_some_and(|e| {
            jiff::civil::DateTime::strptime(crate::sts::AWS_MFA_EXPIRATION, e.trim()).is_ok()
        });
    let exp = match creds.expiration {
        Some(t) if aws_mfa => Some(t.strftime(crate::sts::AWS_MFA_EXPIRATION).to_string()),
        _ => format_expiration(creds),
    };
    if let Some(exp) = exp {
        doc.set(target, "expiration", &exp)?;
    }
    Ok(())
}

/// What a session in the credentials file consists of.
const SESSION_KEYS: [&str; 5] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "expiration",
];

/// Gives a profile that awsmfa created a config section with `settings` (region and
/// endpoints of the profile it came from), unless it already has one. Returns whether
/// the config file was written.
pub fn ensure_config_profile(
    config_path: &Path,
    profile: &str,
    settings: &[(&str, &str)],
) -> Result<bool, WriteError> {
    if settings.is_empty() {
        return Ok(false);
    }
    edit_file(config_path, |doc| ensure_edit(doc, profile, settings))
}

/// The edit of [`ensure_config_profile`], on a document.
pub fn ensure_edit(
    doc: &mut config::ini::Document,
    profile: &str,
    settings: &[(&str, &str)],
) -> Result<(), WriteError> {
    // Under a `[DEFAULT]` that would give the new profile more than these settings, no
    // section: the profile reads as the AWS CLI read it before.
    let given: Vec<&str> = settings.iter().map(|(k, _)| *k).collect();
    let more = doc.default_key_besides(&given).is_some();
    if !settings.is_empty() && !more && !config::has_profile_section(doc, profile) {
        let section = readable_config_section(doc, profile)?;
        doc.append_section(&section, settings)?;
    }
    Ok(())
}

/// Sets one key of a profile's config section (creating the section if needed).
pub fn save_config_value(
    config_path: &Path,
    profile: &str,
    key: &str,
    value: &str,
) -> Result<bool, WriteError> {
    edit_file(config_path, |doc| save_edit(doc, profile, key, value))
}

/// The edit of [`save_config_value`], on a document.
pub fn save_edit(
    doc: &mut config::ini::Document,
    profile: &str,
    key: &str,
    value: &str,
) -> Result<(), WriteError> {
    let section = readable_config_section(doc, profile)?;
    if !config::has_profile_section(doc, profile)
        && let Some(other) = doc.default_key_besides(&[key])
    {
        // A new section reads the file's [DEFAULT] too: the profile would change more
        // than this one key.
        return Err(config::ini::IniError::Misread {
            section,
            what: format!(
                "the file's [DEFAULT] would give the new section {other} too; add the section yourself"
            ),
        }
        .into());
    }
    doc.set(&section, key, value)?;
    Ok(())
}

/// Why a value just saved in the config will not be used: the profile's section of the
/// credentials file sets the same key (botocore lays that file over the config, and
/// awsmfa reads it the same way). `None` when nothing shadows it.
pub fn shadowed_by_credentials(
    files: &config::AwsFiles,
    profile: &str,
    key: &str,
    value: &str,
) -> Option<String> {
    if !files.credentials.has_section(profile) {
        return None;
    }
    let there = files.credentials.get_inherited(profile, key)?;
    let section = if files.credentials.get(profile, key).is_some() {
        profile
    } else {
        config::DEFAULT_SECTION
    };
    (there != value).then(|| {
        format!(
            "[{section}] of {} sets {key} = {} too, and the AWS CLI (and awsmfa) read that one for profile {profile}; delete it there to use the saved value",
            files.credentials_path.display(),
            crate::term::clean(&there)
        )
    })
}

/// The config section botocore reads profile `profile` from (`[profile "a.b"]`, the later
/// of `[default]` / `[profile default]`), else a new `[profile NAME]` — refused when
/// botocore would not read that header back as this profile (a name with white space or
/// quotes).
pub fn readable_config_section(
    doc: &config::ini::Document,
    profile: &str,
) -> Result<String, config::ini::IniError> {
    let section = config::config_section_in(doc, profile);
    if config::has_profile_section(doc, profile) {
        return Ok(section);
    }
    let reads_back = if section == "default" {
        true
    } else {
        crate::shlex::split(&section).is_some_and(|w| w.len() == 2 && w[1] == profile)
    };
    if !reads_back {
        return Err(config::ini::IniError::Unwritable {
            part: format!(
                "a config section for profile {:?}",
                crate::term::clean(profile)
            ),
            problem: "the AWS CLI would not read [profile NAME] back as this profile",
        });
    }
    Ok(section)
}

/// Writes `text` to standard output: the one place awsmfa does. A closed pipe
/// (`awsmfa env | head -1`) is not an error.
pub fn print_stdout(text: &str) -> Result<(), std::io::Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn session() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE000000000".into(),
            secret_access_key: SecretString::from("sec/ret+key=".to_string()),
            session_token: Some(SecretString::from("tok".to_string())),
            expiration: Some("2026-11-22T16:55:00Z".parse().unwrap()),
        }
    }

    #[test]
    fn writes_session_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        let original = "# mine\r\n[work-long-term]\r\naws_access_key_id = AKIA\r\naws_secret_access_key = s\r\n\r\n[work]\r\naws_security_token = old\r\naws_session_token = old\r\n[other]\r\nx=1";
        std::fs::write(&path, original).unwrap();
        write_session(&path, "work", &session()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# mine\r\n[work-long-term]\r\naws_access_key_id = AKIA\r\naws_secret_access_key = s\r\n\r\n[work]\r\naws_security_token = tok\r\naws_session_token = tok\r\naws_access_key_id = ASIAEXAMPLE000000000\r\naws_secret_access_key = sec/ret+key=\r\nexpiration = 2026-11-22T16:55:00Z\r\n[other]\r\nx=1"
        );
    }

    #[test]
    fn a_section_aws_mfa_wrote_keeps_its_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(
            &path,
            "[w]\nassumed_role = False\naws_access_key_id = ASIAOLD\naws_secret_access_key = s\naws_session_token = t\naws_security_token = t\nexpiration = 2026-12-03 06:35:30\n",
        )
        .unwrap();
        write_session(&path, "w", &session()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[w]\nassumed_role = False\naws_access_key_id = ASIAEXAMPLE000000000\naws_secret_access_key = sec/ret+key=\naws_session_token = tok\naws_security_token = tok\nexpiration = 2026-11-22 16:55:00\n"
        );
    }

    #[test]
    fn refuses_to_overwrite_long_term_keys_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        let original = "[work]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
        std::fs::write(&path, original).unwrap();
        assert!(matches!(
            write_session(&path, "work", &session()),
            Err(WriteError::Unsafe(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }

    #[test]
    fn config_profile_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "[profile w]\nregion = us-east-2").unwrap();
        let settings = [("region", "us-east-2"), ("services", "wasabi")];
        assert!(ensure_config_profile(&path, "w-mfa", &settings).unwrap());
        assert!(!ensure_config_profile(&path, "w-mfa", &settings).unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[profile w]\nregion = us-east-2\n\n[profile w-mfa]\nregion = us-east-2\nservices = wasabi\n"
        );
    }

    /// A new config section reads the file's [DEFAULT] too: a profile that would gain
    /// more than the settings given gets no section (ensure) or is refused (save).
    #[test]
    fn new_config_sections_under_a_default_with_keys() {
        let mut doc =
            config::ini::Document::parse(b"[DEFAULT]\noutput = json\n[profile a]\nregion = r\n")
                .unwrap();
        let original = doc.clone();
        ensure_edit(&mut doc, "b", &[("region", "r")]).unwrap();
        assert_eq!(doc.to_bytes(), original.to_bytes(), "no section for b");
        let err = save_edit(&mut doc, "b", "mfa_serial", "arn:aws:iam::1:mfa/u").unwrap_err();
        assert!(
            err.to_string()
                .contains("[DEFAULT] would give the new section output too"),
            "{err}"
        );
        save_edit(&mut doc, "a", "mfa_serial", "arn:aws:iam::1:mfa/u").unwrap();
    }

    /// Issue 12, item 2: writes go into the section the AWS CLI reads, after every line
    /// of the last value, and a `:` separator is a key like any other.
    #[test]
    fn writes_land_where_the_aws_cli_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let original = "[default]\nregion = us-east-1\n[profile default]\nregion = eu-west-1\noutput = json\n  text\n[profile \"a.b\"]\nrole_arn = arn:aws:iam::123456789012:role/R\n";
        std::fs::write(&config, original).unwrap();
        save_config_value(
            &config,
            "default",
            "mfa_serial",
            "arn:aws:iam::123456789012:mfa/u",
        )
        .unwrap();
        save_config_value(
            &config,
            "a.b",
            "mfa_serial",
            "arn:aws:iam::123456789012:mfa/u",
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            "[default]\nregion = us-east-1\n[profile default]\nregion = eu-west-1\noutput = json\n  text\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n[profile \"a.b\"]\nrole_arn = arn:aws:iam::123456789012:role/R\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n"
        );
        let before = std::fs::read(&config).unwrap();
        assert!(matches!(
            save_config_value(&config, "a b", "region", "us-east-1"),
            Err(WriteError::Refused { .. })
        ));
        assert_eq!(std::fs::read(&config).unwrap(), before);

        let credentials = dir.path().join("credentials");
        std::fs::write(
            &credentials,
            "[w]\naws_session_token: old\nregion = us-east-1\n  eu-west-1\n\n[x]\nk = v\n",
        )
        .unwrap();
        write_session(&credentials, "w", &session()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&credentials).unwrap(),
            "[w]\naws_session_token: tok\nregion = us-east-1\n  eu-west-1\naws_access_key_id = ASIAEXAMPLE000000000\naws_secret_access_key = sec/ret+key=\nexpiration = 2026-11-22T16:55:00Z\n\n[x]\nk = v\n"
        );
        let doc = config::load_document(&credentials).unwrap();
        assert_eq!(
            doc.entries("w").unwrap()[1].1,
            "us-east-1\neu-west-1",
            "the continuation stays with its key"
        );
    }
}
