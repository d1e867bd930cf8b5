//! The text formats credentials are handed over in: `credential_process` JSON, and
//! environment assignments for each shell. Values are quoted so that any byte string
//! survives (AWS secrets contain `/`, `+` and `=`; nothing here assumes they stay so).

use serde::Serialize;
use zeroize::Zeroizing;

use crate::creds::Credentials;

/// `credential_process` output (version 1), as the AWS CLI and SDKs read it.
pub fn credential_process_json(creds: &Credentials) -> Zeroizing<String> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Out<'a> {
        version: u32,
        access_key_id: &'a str,
        secret_access_key: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        session_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expiration: Option<String>,
    }
    let out = Out {
        version: 1,
        access_key_id: &creds.access_key_id,
        secret_access_key: creds.secret(),
        session_token: creds.token(),
        expiration: creds
            .expiration
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    };
    let mut text = Zeroizing::new(serde_json::to_string(&out).expect("serializable"));
    text.push('\n');
    text
}

/// Shells and formats `env` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvFormat {
    Sh,
    Fish,
    Powershell,
    Cmd,
    Json,
    Dotenv,
}

impl EnvFormat {
    /// The format for a login shell path (`$SHELL`).
    pub fn from_shell(shell: Option<&str>) -> EnvFormat {
        let name = shell.and_then(|s| s.rsplit('/').next()).unwrap_or_default();
        match name {
            "fish" => EnvFormat::Fish,
            "pwsh" | "powershell" | "pwsh.exe" | "powershell.exe" => EnvFormat::Powershell,
            _ => EnvFormat::Sh,
        }
    }
}

/// The variables a set of credentials becomes, in a stable order.
pub fn credential_vars<'a>(
    creds: &'a Credentials,
    region: Option<&'a str>,
) -> Vec<(&'static str, Zeroizing<String>)> {
    let mut vars = vec![
        (
            "AWS_ACCESS_KEY_ID",
            Zeroizing::new(creds.access_key_id.clone()),
        ),
        (
            "AWS_SECRET_ACCESS_KEY",
            Zeroizing::new(creds.secret().to_string()),
        ),
    ];
    if let Some(t) = creds.token() {
        vars.push(("AWS_SESSION_TOKEN", Zeroizing::new(t.to_string())));
    }
    if let Some(exp) = creds.expiration {
        vars.push((
            "AWS_CREDENTIAL_EXPIRATION",
            Zeroizing::new(exp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ));
    }
    if let Some(r) = region {
        vars.push(("AWS_REGION", Zeroizing::new(r.to_string())));
        vars.push(("AWS_DEFAULT_REGION", Zeroizing::new(r.to_string())));
    }
    vars
}

/// The variables `env --unset` clears.
pub const UNSET_VARS: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// Assignments in `format`.
pub fn env_assignments(format: EnvFormat, vars: &[(&str, Zeroizing<String>)]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    if format == EnvFormat::Json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        out.push_str(&serde_json::to_string_pretty(&map).expect("serializable"));
        out.push('\n');
        return out;
    }
    for (name, value) in vars {
        let line = match format {
            EnvFormat::Sh => format!("export {name}={}\n", sh_quote(value)),
            EnvFormat::Fish => format!("set -gx {name} {}\n", fish_quote(value)),
            EnvFormat::Powershell => format!("$Env:{name} = {}\n", ps_quote(value)),
            EnvFormat::Cmd => format!("set \"{name}={}\"\n", value.replace('%', "%%")),
            EnvFormat::Dotenv => format!("{name}={}\n", fish_quote(value)),
            EnvFormat::Json => unreachable!(),
        };
        out.push_str(&line);
    }
    out
}

/// Lines that clear `names` in `format`.
pub fn env_unsets(format: EnvFormat, names: &[&str]) -> String {
    match format {
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .map(|n| (n.to_string(), serde_json::Value::Null))
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&map).expect("serializable")
            )
        }
        _ => names
            .iter()
            .map(|n| match format {
                EnvFormat::Sh => format!("unset {n}\n"),
                EnvFormat::Fish => format!("set -e {n}\n"),
                EnvFormat::Powershell => {
                    format!("Remove-Item Env:{n} -ErrorAction SilentlyContinue\n")
                }
                EnvFormat::Cmd => format!("set {n}=\n"),
                EnvFormat::Dotenv => format!("{n}=\n"),
                EnvFormat::Json => unreachable!(),
            })
            .collect(),
    }
}

/// Shell code that first clears `unset`, then sets `set`. JSON and dotenv carry only
/// what is set (neither can say "remove").
pub fn env_script(
    format: EnvFormat,
    unset: &[&str],
    set: &[(String, Zeroizing<String>)],
) -> Zeroizing<String> {
    let set: Vec<(&str, Zeroizing<String>)> =
        set.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut out = Zeroizing::new(String::new());
    if !matches!(format, EnvFormat::Json | EnvFormat::Dotenv) {
        out.push_str(&env_unsets(format, unset));
    }
    out.push_str(&env_assignments(format, &set));
    out
}

/// POSIX shells: single quotes, with `'` written as `'\''`.
pub fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// fish (and dotenv): single quotes, where only `\` and `'` are escaped.
pub fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// PowerShell: single quotes, `'` doubled.
pub fn ps_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE000000000".into(),
            secret_access_key: SecretString::from("a/b+c=d'e\\f".to_string()),
            session_token: Some(SecretString::from("tok".to_string())),
            expiration: Some("2026-11-22T16:55:00.5Z".parse().unwrap()),
        }
    }

    #[test]
    fn credential_process_json_is_exact() {
        assert_eq!(
            credential_process_json(&creds()).as_str(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAEXAMPLE000000000\",\"SecretAccessKey\":\"a/b+c=d'e\\\\f\",\"SessionToken\":\"tok\",\"Expiration\":\"2026-11-22T16:55:00Z\"}\n"
        );
    }

    #[test]
    fn exact_powershell_and_cmd_output() {
        let c = creds();
        let vars = credential_vars(&c, Some("eu-west-1"));
        assert_eq!(
            env_assignments(EnvFormat::Powershell, &vars[1..2]).as_str(),
            "$Env:AWS_SECRET_ACCESS_KEY = 'a/b+c=d''e\\f'\n"
        );
        assert_eq!(
            env_assignments(EnvFormat::Cmd, &vars[..1]).as_str(),
            "set \"AWS_ACCESS_KEY_ID=ASIAEXAMPLE000000000\"\n"
        );
        assert_eq!(
            env_unsets(EnvFormat::Powershell, &["AWS_SESSION_TOKEN"]),
            "Remove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n"
        );
        assert_eq!(env_unsets(EnvFormat::Cmd, &["X"]), "set X=\n");
        assert_eq!(vars.last().unwrap().0, "AWS_DEFAULT_REGION");
    }

    #[test]
    fn shell_from_path() {
        assert_eq!(
            EnvFormat::from_shell(Some("/usr/bin/fish")),
            EnvFormat::Fish
        );
        assert_eq!(EnvFormat::from_shell(Some("/bin/zsh")), EnvFormat::Sh);
        assert_eq!(EnvFormat::from_shell(Some("pwsh")), EnvFormat::Powershell);
        assert_eq!(EnvFormat::from_shell(None), EnvFormat::Sh);
    }
}
