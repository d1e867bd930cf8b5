//! AWS credentials as values that cannot leak.
//!
//! The secret key and the session token live in `SecretString`s: no `Display`, a
//! `Debug` that prints nothing of them, zeroized on drop. The access key id is not a
//! secret, but it is shown masked (`AKIA…WXYZ`) wherever awsmfa prints it.

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};

/// A set of AWS credentials: long-term keys (no token, no expiry) or a session.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
    pub expiration: Option<Timestamp>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &mask(&self.access_key_id))
            .field("secret_access_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl Credentials {
    /// Why a credential value is not one: access key ids are 16–128 letters and digits;
    /// secrets and tokens are non-empty visible ASCII (no space, no line break, nothing a
    /// file or a shell could read as structure). Names the part, never the value.
    pub fn problem(&self) -> Option<&'static str> {
        let id = self.access_key_id.as_bytes();
        if !(16..=128).contains(&id.len()) || !id.iter().all(u8::is_ascii_alphanumeric) {
            return Some("the access key id is not 16 to 128 letters and digits");
        }
        let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !visible(self.secret()) {
            return Some("the secret access key is not visible ASCII");
        }
        if self.token().is_some_and(|t| !visible(t)) {
            return Some("the session token is not visible ASCII");
        }
        None
    }

    pub fn long_term(access_key_id: &str, secret: &str) -> Credentials {
        Credentials {
            access_key_id: access_key_id.to_string(),
            secret_access_key: SecretString::from(secret.to_string()),
            session_token: None,
            expiration: None,
        }
    }

    pub fn secret(&self) -> &str {
        self.secret_access_key.expose_secret()
    }

    pub fn token(&self) -> Option<&str> {
        self.session_token.as_ref().map(|t| t.expose_secret())
    }
}

/// What identifies an access key in cache keys and the vault index without revealing
/// it: 32 hex digits of SHA-256 over the id.
pub fn key_fingerprint(access_key_id: &str) -> String {
    let digest = crate::sha256::Sha256::new()
        .update(b"awsmfa key\0")
        .update(access_key_id.as_bytes())
        .finish();
    crate::hex::lower(&digest[..16])
}

/// Reads `credential_process` output (version 1): `AccessKeyId`, `SecretAccessKey`,
/// optional `SessionToken` and `Expiration`. Errors never include the text.
pub fn from_credential_process_json(bytes: &[u8]) -> Result<Credentials, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct In {
        version: u32,
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expiration: Option<String>,
    }
    let parsed: In = serde_json::from_slice(bytes)
        .map_err(|_| "its output is not credential_process JSON".to_string())?;
    if parsed.version != 1 {
        return Err(format!("its output has Version {}, not 1", parsed.version));
    }
    let expiration = match parsed.expiration {
        Some(text) => Some(
            text.parse::<Timestamp>()
                .map_err(|_| "its output has an unreadable Expiration".to_string())?,
        ),
        None => None,
    };
    let creds = Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: SecretString::from(parsed.secret_access_key),
        session_token: parsed.session_token.map(SecretString::from),
        expiration,
    };
    match creds.problem() {
        Some(problem) => Err(format!("in its output, {problem}")),
        None => Ok(creds),
    }
}

/// `AKIAIOSFODNN7EXAMPLE` → `AKIA…MPLE`; short ids are masked whole.
pub fn mask(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    if chars.len() < 12 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_shapes() {
        let ok = Credentials::long_term("AKIAIOSFODNN7EXAMPLE", "wJalr/K7+MDENG=");
        assert_eq!(ok.problem(), None);
        let bad_id = Credentials::long_term("AKIA\n[evil]\nx=1234", "s");
        assert!(bad_id.problem().is_some());
        let bad_secret = Credentials::long_term("AKIAIOSFODNN7EXAMPLE", "a b");
        assert!(bad_secret.problem().is_some());
        let mut bad_token = ok.clone();
        bad_token.session_token = Some(SecretString::from("t\r\n".to_string()));
        assert!(bad_token.problem().is_some());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut c = Credentials::long_term("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG");
        c.session_token = Some(SecretString::from("TOKEN-VALUE".to_string()));
        let shown = format!("{c:?}");
        assert!(!shown.contains("wJalr"));
        assert!(!shown.contains("TOKEN-VALUE"));
        assert!(!shown.contains("AKIAIOSFODNN7EXAMPLE"));
        assert!(shown.contains("AKIA…MPLE"));
    }

    #[test]
    fn reads_credential_process_output() {
        let c = from_credential_process_json(
            br#"{"Version":1,"AccessKeyId":"AKIAEXAMPLEEXAMPLE00","SecretAccessKey":"s"}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKIAEXAMPLEEXAMPLE00");
        assert!(c.token().is_none());
        let err = from_credential_process_json(b"SECRET garbage").unwrap_err();
        assert!(!err.contains("SECRET"));
        assert!(
            from_credential_process_json(
                br#"{"Version":2,"AccessKeyId":"a","SecretAccessKey":"b"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn masks_key_ids() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask("short"), "…");
    }
}
