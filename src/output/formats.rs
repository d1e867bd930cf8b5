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
    /// The format for the shell that runs awsmfa (`eval "$(awsmfa env)"` runs it as the
    /// shell's child), named by `parent`; else for the login shell, `$SHELL`. A fish
    /// user whose login shell is bash gets fish code in fish.
    pub fn detect(parent: Option<&str>, shell: Option<&str>) -> EnvFormat {
        let known = |name: &str| match name.trim_start_matches('-') {
            "fish" => Some(EnvFormat::Fish),
            "pwsh" | "powershell" | "pwsh.exe" | "powershell.exe" => Some(EnvFormat::Powershell),
            "cmd.exe" | "cmd" => Some(EnvFormat::Cmd),
            "bash" | "zsh" | "sh" | "dash" | "ksh" | "mksh" | "yash" | "busybox" | "ash" => {
                Some(EnvFormat::Sh)
            }
            _ => None,
        };
        parent
            .and_then(known)
            .unwrap_or_else(|| EnvFormat::from_shell(shell))
    }

    /// The format for a login shell (`$SHELL`; on Windows, where there is none, the
    /// system says `cmd.exe`).
    pub fn from_shell(shell: Option<&str>) -> EnvFormat {
        let name = shell
            .and_then(|s| s.rsplit(['/', '\\']).next())
            .unwrap_or_default();
        match name.to_ascii_lowercase().as_str() {
            "fish" => EnvFormat::Fish,
            "pwsh" | "powershell" | "pwsh.exe" | "powershell.exe" => EnvFormat::Powershell,
            "cmd" | "cmd.exe" => EnvFormat::Cmd,
            _ => EnvFormat::Sh,
        }
    }
}

/// A value a format cannot carry. Names the variable and the character, never the value
/// (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} cannot be written for {format}: it contains {what}")]
pub struct Unquotable {
    pub name: String,
    pub format: &'static str,
    pub what: String,
}

/// Assignments in `format`: all of them, or an error and nothing.
pub fn env_assignments(
    format: EnvFormat,
    vars: &[(&str, Zeroizing<String>)],
) -> Result<Zeroizing<String>, Unquotable> {
    let mut out = Zeroizing::new(String::new());
    if format == EnvFormat::Json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        out.push_str(&serde_json::to_string_pretty(&map).expect("serializable"));
        out.push('\n');
        return Ok(out);
    }
    // The values are secrets: the text is built in place, in room reserved up front (a
    // string that grows leaves copies of itself behind), and each quoted value is wiped.
    let room: usize = vars.iter().map(|(k, v)| k.len() + 4 * v.len() + 32).sum();
    out.reserve(room);
    for (name, value) in vars {
        let refuse = |format: &'static str, c: char| Unquotable {
            name: name.to_string(),
            format,
            what: describe_char(c),
        };
        let (before, quoted, after) = match format {
            EnvFormat::Sh => ("export ", sh_quote(value).map_err(|c| refuse("sh", c))?, ""),
            EnvFormat::Fish => (
                "set -gx ",
                fish_quote(value).map_err(|c| refuse("fish", c))?,
                "",
            ),
            EnvFormat::Powershell => (
                "$Env:",
                ps_quote(value).map_err(|c| refuse("powershell", c))?,
                "",
            ),
            EnvFormat::Cmd => (
                "set \"",
                cmd_value(value).map_err(|c| refuse("cmd", c))?.to_string(),
                "\"",
            ),
            EnvFormat::Dotenv => (
                "",
                dotenv_quote(value).map_err(|c| refuse("dotenv", c))?,
                "",
            ),
            EnvFormat::Json => unreachable!(),
        };
        let quoted = Zeroizing::new(quoted);
        let between = match format {
            EnvFormat::Fish => " ",
            EnvFormat::Powershell => " = ",
            _ => "=",
        };
        for part in [before, name, between, quoted.as_str(), after, "\n"] {
            out.push_str(part);
        }
    }
    Ok(out)
}

/// A character as an error message shows it: `'%'`, `'\n'`, `U+0000`.
fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("the control character U+{:04X}", c as u32)
    } else {
        format!("{c:?}")
    }
}

/// The line that loads what `command` prints into the running shell of `format`
/// (`eval "$(awsmfa env)"` in sh), for hints.
pub fn eval_line(format: EnvFormat, command: &str) -> String {
    match format {
        EnvFormat::Sh => format!("eval \"$({command})\""),
        EnvFormat::Fish => format!("{command} | source"),
        EnvFormat::Powershell => format!("{command} | Out-String | Invoke-Expression"),
        EnvFormat::Cmd => format!("for /f \"delims=\" %i in ('{command}') do %i"),
        EnvFormat::Json | EnvFormat::Dotenv => command.to_string(),
    }
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
                // `set -e` of an unset variable fails, and fish keeps that status
                // through later `set`s: `awsmfa env | source; or …` would take it.
                EnvFormat::Fish => format!("set -e {n}; or true\n"),
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

/// Shell code that first clears `unset`, then sets `set`: all of it, or an error and
/// nothing. JSON and dotenv carry only what is set (neither can say "remove").
pub fn env_script(
    format: EnvFormat,
    unset: &[&str],
    set: &[(String, Zeroizing<String>)],
) -> Result<Zeroizing<String>, Unquotable> {
    let set: Vec<(&str, Zeroizing<String>)> =
        set.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let assignments = env_assignments(format, &set)?;
    let unsets = if matches!(format, EnvFormat::Json | EnvFormat::Dotenv) {
        String::new()
    } else {
        env_unsets(format, unset)
    };
    let mut out = Zeroizing::new(String::with_capacity(unsets.len() + assignments.len()));
    out.push_str(&unsets);
    out.push_str(&assignments);
    Ok(out)
}

// One quoting function per format, each correct for every string it accepts; what a
// format cannot carry is refused (`Err` names the character). No environment variable
// holds NUL, so every format refuses it.

/// POSIX shells (bash, dash, zsh, ksh): single quotes, inside which nothing is special;
/// `'` is written as `'\''`.
pub fn sh_quote(v: &str) -> Result<String, char> {
    refuse_any(v, &['\0'])?;
    Ok(quoted(v, '\'', |c| (c == '\'').then_some("'\\''")))
}

/// `v` between `quote`s, each character `escape` names written as it says: one string
/// of exactly the room it needs, so a secret leaves no second copy behind.
fn quoted(v: &str, quote: char, escape: impl Fn(char) -> Option<&'static str>) -> String {
    let room = v
        .chars()
        .map(|c| escape(c).map_or(c.len_utf8(), str::len))
        .sum::<usize>()
        + 2 * quote.len_utf8();
    let mut out = String::with_capacity(room);
    out.push(quote);
    for c in v.chars() {
        match escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// fish: single quotes, inside which only `\\` and `\'` are escapes.
pub fn fish_quote(v: &str) -> Result<String, char> {
    refuse_any(v, &['\0'])?;
    Ok(quoted(v, '\'', |c| match c {
        '\\' => Some("\\\\"),
        '\'' => Some("\\'"),
        _ => None,
    }))
}

/// The characters PowerShell takes for a single quote: `'` and U+2018–U+201B.
const PS_SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201a}', '\u{201b}'];

/// PowerShell: single quotes (verbatim strings). Its tokenizer ends the string at any
/// of the five single-quote characters unless another one follows, so each of them is
/// doubled — not only `'`.
pub fn ps_quote(v: &str) -> Result<String, char> {
    refuse_any(v, &['\0'])?;
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if PS_SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    Ok(out)
}

/// cmd.exe: `set "NAME=value"` is literal only for values without `"` (which ends the
/// quoting and frees `&|<>`), `%` and `!` (expanded even inside quotes, the second under
/// delayed expansion, where `^` also changes), `&|<>^`, and line breaks or other control
/// characters. cmd has no escape that works in every mode, so those are refused.
pub fn cmd_value(v: &str) -> Result<&str, char> {
    match v
        .chars()
        .find(|c| c.is_control() || "\"%!^&|<>".contains(*c))
    {
        Some(c) => Err(c),
        None => Ok(v),
    }
}

/// dotenv files (docker compose, python-dotenv, node's dotenv): single quotes. The
/// dialects disagree about escapes inside them, so a value with `'`, `\\` or a
/// control character (a line break) is refused; what is left reads the same in all.
pub fn dotenv_quote(v: &str) -> Result<String, char> {
    match v
        .chars()
        .find(|c| c.is_control() || matches!(c, '\'' | '\\'))
    {
        Some(c) => Err(c),
        None => Ok(quoted(v, '\'', |_| None)),
    }
}

fn refuse_any(v: &str, bad: &[char]) -> Result<(), char> {
    match v.chars().find(|c| bad.contains(c)) {
        Some(c) => Err(c),
        None => Ok(()),
    }
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
        let vars = [
            ("AWS_ACCESS_KEY_ID", Zeroizing::new(c.access_key_id.clone())),
            (
                "AWS_SECRET_ACCESS_KEY",
                Zeroizing::new(c.secret().to_string()),
            ),
        ];
        assert_eq!(
            env_assignments(EnvFormat::Powershell, &vars[1..2])
                .unwrap()
                .as_str(),
            "$Env:AWS_SECRET_ACCESS_KEY = 'a/b+c=d''e\\f'\n"
        );
        assert_eq!(
            env_assignments(EnvFormat::Cmd, &vars[..1])
                .unwrap()
                .as_str(),
            "set \"AWS_ACCESS_KEY_ID=ASIAEXAMPLE000000000\"\n"
        );
        assert_eq!(
            env_unsets(EnvFormat::Powershell, &["AWS_SESSION_TOKEN"]),
            "Remove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n"
        );
        assert_eq!(env_unsets(EnvFormat::Cmd, &["X"]), "set X=\n");
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
        // The running shell first, $SHELL when it is not a shell (an IDE, a script).
        assert_eq!(
            EnvFormat::detect(Some("fish"), Some("/bin/bash")),
            EnvFormat::Fish
        );
        assert_eq!(
            EnvFormat::detect(Some("-bash"), Some("/usr/bin/fish")),
            EnvFormat::Sh
        );
        assert_eq!(
            EnvFormat::detect(Some("python3"), Some("/usr/bin/fish")),
            EnvFormat::Fish
        );
        assert_eq!(EnvFormat::detect(None, None), EnvFormat::Sh);
        // Windows: PowerShell when run from it, else cmd (the login shell the system
        // names when there is no $SHELL); Git Bash's $SHELL still means sh.
        assert_eq!(
            EnvFormat::detect(Some("powershell.exe"), Some("cmd.exe")),
            EnvFormat::Powershell
        );
        assert_eq!(
            EnvFormat::detect(Some("explorer.exe"), Some("cmd.exe")),
            EnvFormat::Cmd
        );
        assert_eq!(
            EnvFormat::from_shell(Some(r"C:\Windows\System32\CMD.EXE")),
            EnvFormat::Cmd
        );
        assert_eq!(EnvFormat::from_shell(Some("/usr/bin/bash")), EnvFormat::Sh);
    }
}
