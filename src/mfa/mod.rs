//! MFA codes: where they come from and what a valid one looks like.
//!
//! Sources, first that applies (DESIGN §6): the `--token-code` flag (or `-` for one
//! line of standard input); the profile's `mfa_process` command; a prompt on the
//! controlling terminal (`/dev/tty`, the console on Windows; never stdin/stdout, which
//! tools such as the AWS CLI capture), else a desktop dialog. With none of them available the caller gets [`MfaError::NoPrompt`]
//! (exit status 4) instead of a hang. Every code is checked locally (six digits) before
//! it is sent anywhere.

pub mod qr;
pub mod totp;

use std::io::{BufRead, Read};
use std::time::Duration;

use secrecy::SecretString;
use zeroize::Zeroizing;

/// Why no usable code was obtained.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("an MFA code is 6 digits; {0}")]
    Malformed(&'static str),
    #[error("an MFA code is needed for {serial}, and there is no terminal to ask on")]
    NoPrompt { serial: String },
    #[error("mfa_process failed ({status})")]
    ProcessFailed { status: String },
    #[error("mfa_process did not finish within {0} s")]
    ProcessTimeout(u64),
    #[error("mfa_process printed no 6-digit code")]
    ProcessOutput,
    #[error("cannot run mfa_process: {0}")]
    ProcessSpawn(String),
    #[error("cannot read the MFA code from standard input: {0}")]
    Stdin(String),
}

impl MfaError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            // What to type depends on the command (only some take --token-code): the
            // command line adds it (`cli::setup::no_prompt_hint`).
            MfaError::NoPrompt { .. } => {
                Some("set mfa_process in the profile, or use a terminal (or zenity or kdialog)")
            }
            MfaError::ProcessOutput => {
                Some("mfa_process must print the code alone or last on a line (as ykman does)")
            }
            MfaError::Malformed(_) => Some("type the 6 digits your MFA device shows"),
            _ => None,
        }
    }
}

/// Asks a person for a code. The terminal implementation is [`TtyPrompt`]; tests supply
/// their own.
pub trait Prompt {
    /// Shows `question` and returns the answer line, or `Ok(None)` when there is no
    /// way to ask.
    fn ask(&self, question: &str) -> std::io::Result<Option<String>>;

    /// Asks for a secret without showing what is typed; `Ok(None)` when there is no
    /// way to ask.
    fn ask_secret(&self, _question: &str) -> std::io::Result<Option<SecretString>> {
        Ok(None)
    }

    /// Whether there is a way to ask at all (a terminal, a desktop dialog), without
    /// asking.
    fn available(&self) -> bool {
        true
    }
}

/// Prompts on the controlling terminal (`/dev/tty`; the console, `CONIN$`/`CONOUT$`, on
/// Windows), which works even when stdin and stdout are captured.
pub struct TtyPrompt;

impl Prompt for TtyPrompt {
    fn ask(&self, question: &str) -> std::io::Result<Option<String>> {
        let Some(console) = crate::sys::Console::open() else {
            return Ok(None);
        };
        console.write(crate::term::clean(question).as_bytes())?;
        let line = console.read_line(256)?;
        Ok(Some(line.to_string()))
    }

    fn ask_secret(&self, question: &str) -> std::io::Result<Option<SecretString>> {
        let Some(console) = crate::sys::Console::open() else {
            return Ok(None);
        };
        console.write(crate::term::clean(question).as_bytes())?;
        let line = console.read_hidden(1024)?;
        Ok(Some(SecretString::from(line.to_string())))
    }
}

/// A dialog on the desktop (zenity, kdialog; osascript on macOS; PowerShell's input
/// box on Windows), for when there is a display but no terminal: an IDE or a GUI tool
/// running `credential_process`.
pub struct DesktopPrompt {
    program: std::path::PathBuf,
    kind: Dialog,
}

use crate::sys::DialogKind as Dialog;

impl DesktopPrompt {
    /// The first dialog program available, when a display is (`sys::has_desktop`: an
    /// X11 or Wayland display, a macOS GUI session rather than SSH, Windows) and the
    /// program is on `PATH`.
    pub fn detect(display: bool, path: Option<&str>) -> Option<DesktopPrompt> {
        if !display {
            return None;
        }
        let path = path?;
        crate::sys::dialog_programs()
            .iter()
            .find_map(|(name, kind)| {
                let program = crate::sys::find_on_path(path, name)?;
                Some(DesktopPrompt {
                    program,
                    kind: *kind,
                })
            })
    }
}

impl DesktopPrompt {
    /// Shows the dialog and returns what was typed; `hidden` for a password field.
    /// `None`: the program printed nothing at all, not even the line break every dialog
    /// ends an answer with (a stand-in such as Wine's `powershell.exe`): no dialog was
    /// shown, so there was no way to ask.
    fn dialog(&self, question: &str, hidden: bool) -> std::io::Result<Option<Zeroizing<String>>> {
        let program = self.program.to_string_lossy().into_owned();
        let question = crate::term::clean(question);
        let text = question.trim_end().trim_end_matches(':');
        let script;
        let argv: Vec<&str> = match (self.kind, hidden) {
            (Dialog::Zenity, false) => vec![&program, "--entry", "--title=awsmfa", "--text", text],
            (Dialog::Zenity, true) => vec![&program, "--password", "--title=awsmfa"],
            (Dialog::Kdialog, false) => vec![&program, "--title", "awsmfa", "--inputbox", text],
            (Dialog::Kdialog, true) => vec![&program, "--title", "awsmfa", "--password", text],
            (Dialog::Osascript, _) => {
                script = format!(
                    "text returned of (display dialog \"{}\" default answer \"\"{} with title \"awsmfa\")",
                    text.replace('\\', "").replace('"', "'"),
                    if hidden { " with hidden answer" } else { "" }
                );
                vec![&program, "-e", &script]
            }
            (Dialog::Powershell, _) => {
                // Single-quoted PowerShell text: its own quotes (and the typographic
                // ones PowerShell also takes for quotes) cannot occur in it.
                let shown: String = text
                    .chars()
                    .filter(|c| !matches!(c, '\'' | '\u{2018}'..='\u{201b}'))
                    .collect();
                script = if hidden {
                    format!(
                        "$c = Get-Credential -UserName awsmfa -Message '{shown}'; if ($c) {{ $c.GetNetworkCredential().Password }} else {{ exit 1 }}"
                    )
                } else {
                    format!(
                        "Add-Type -AssemblyName Microsoft.VisualBasic; $a = [Microsoft.VisualBasic.Interaction]::InputBox('{shown}', 'awsmfa'); if ($a) {{ $a }} else {{ exit 1 }}"
                    )
                };
                vec![
                    &program,
                    "-NoProfile",
                    "-NonInteractive",
                    "-Command",
                    &script,
                ]
            }
        };
        match crate::proc::run_argv(&argv, Duration::from_secs(300)) {
            Ok(out) if out.is_empty() => Ok(None),
            Ok(out) => Ok(Some(Zeroizing::new(
                String::from_utf8_lossy(&out).into_owned(),
            ))),
            Err(crate::proc::RunError::Failed(_)) => {
                Err(std::io::Error::other("the dialog was cancelled"))
            }
            Err(e) => Err(std::io::Error::other(format!("the dialog: {e}"))),
        }
    }
}

impl Prompt for DesktopPrompt {
    fn ask(&self, question: &str) -> std::io::Result<Option<String>> {
        Ok(self.dialog(question, false)?.map(|a| a.to_string()))
    }

    fn ask_secret(&self, question: &str) -> std::io::Result<Option<SecretString>> {
        Ok(self.dialog(question, true)?.map(|answer| {
            let text = answer.trim_end_matches(['\n', '\r']);
            SecretString::from(text.to_string())
        }))
    }
}

/// The terminal, else the desktop: what awsmfa asks with.
/// The dialog program is looked for only when a question must be asked, never on the
/// cached-session path.
pub struct SystemPrompt {
    display: bool,
    path: Option<String>,
}

impl SystemPrompt {
    pub fn new(env: &crate::sys::Env) -> SystemPrompt {
        SystemPrompt {
            display: crate::sys::has_desktop(env),
            path: env.get("PATH").map(String::from),
        }
    }
}

impl Prompt for SystemPrompt {
    fn available(&self) -> bool {
        crate::sys::Console::open().is_some()
            || DesktopPrompt::detect(self.display, self.path.as_deref()).is_some()
    }

    fn ask(&self, question: &str) -> std::io::Result<Option<String>> {
        if let Some(answer) = TtyPrompt.ask(question)? {
            return Ok(Some(answer));
        }
        match DesktopPrompt::detect(self.display, self.path.as_deref()) {
            Some(d) => d.ask(question),
            None => Ok(None),
        }
    }

    fn ask_secret(&self, question: &str) -> std::io::Result<Option<SecretString>> {
        if let Some(answer) = TtyPrompt.ask_secret(question)? {
            return Ok(Some(answer));
        }
        match DesktopPrompt::detect(self.display, self.path.as_deref()) {
            Some(d) => d.ask_secret(question),
            None => Ok(None),
        }
    }
}

/// Checks a code as typed: surrounding white space is ignored, inner spaces too
/// (`123 456`), and what is left must be exactly six ASCII digits.
pub fn check_code(input: &str) -> Result<String, MfaError> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() {
        return Err(MfaError::Malformed("got nothing"));
    }
    if !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(MfaError::Malformed("got something that is not digits"));
    }
    if code.len() != 6 {
        return Err(MfaError::Malformed("got the wrong number of digits"));
    }
    Ok(code)
}

/// The code in a code command's output: a bare code, or the last 6-digit word of the
/// last line that has one (`ykman oath accounts code -s NAME` prints `NAME  123456`).
pub fn code_from_output(output: &str) -> Option<String> {
    output.lines().rev().find_map(|line| {
        let word = line.split_whitespace().last()?;
        (word.len() == 6 && word.chars().all(|c| c.is_ascii_digit())).then(|| word.to_string())
    })
}

/// Runs `mfa_process` through the shell (`sh -c`, `cmd /C`) and takes the code from its standard output. Its
/// standard error goes to ours, so a "touch your key" message reaches the person.
pub fn run_code_process(command: &str, timeout: Duration) -> Result<String, MfaError> {
    let out = crate::proc::run_capture(command, timeout).map_err(|e| match e {
        crate::proc::RunError::Spawn(m) => MfaError::ProcessSpawn(m),
        crate::proc::RunError::Failed(status) => MfaError::ProcessFailed { status },
        crate::proc::RunError::Timeout(s) => MfaError::ProcessTimeout(s),
    })?;
    code_from_output(&String::from_utf8_lossy(&out)).ok_or(MfaError::ProcessOutput)
}

/// Where a code should come from, in order.
pub struct CodeSources<'a> {
    /// `--token-code`: a code, or `-` for one line of `stdin`.
    pub flag: Option<&'a str>,
    pub stdin: &'a mut dyn BufRead,
    pub mfa_process: Option<&'a str>,
    /// The current code from a TOTP seed stored in the vault (computed by the caller,
    /// which owns the vault), used when there is no flag and no `mfa_process`.
    pub stored_code: Option<&'a str>,
    pub prompt: &'a dyn Prompt,
    pub process_timeout: Duration,
    /// Told which source is used (for -v and for "touch your key").
    pub note: &'a dyn Fn(&str),
}

/// Obtains one checked code for `serial`.
pub fn obtain_code(serial: &str, src: CodeSources<'_>) -> Result<String, MfaError> {
    obtain(serial, src).map(|o| o.value)
}

/// A code and whether a person typed it (after `mfa_process` failed).
pub struct Obtained {
    pub value: String,
    pub typed: bool,
}

/// Obtains one checked code for `serial`. A failing `mfa_process` (no security key
/// plugged in, `ykman` missing) gives way to the prompt where one can be shown, after
/// saying why it failed.
pub fn obtain(serial: &str, src: CodeSources<'_>) -> Result<Obtained, MfaError> {
    let automatic = |value| Obtained {
        value,
        typed: false,
    };
    if let Some(flag) = src.flag {
        if flag == "-" {
            let mut line = String::new();
            src.stdin
                .take(256)
                .read_line(&mut line)
                .map_err(|e| MfaError::Stdin(e.to_string()))?;
            return check_code(&line).map(automatic);
        }
        return check_code(flag).map(automatic);
    }
    let mut process_error = None;
    if let Some(command) = src.mfa_process {
        (src.note)(&format!(
            "getting the MFA code for {serial} from mfa_process (touch your security key if it asks)"
        ));
        match run_code_process(command, src.process_timeout) {
            Ok(code) => return Ok(automatic(code)),
            Err(e) if src.prompt.available() => {
                (src.note)(&format!("{e}; type the code instead"));
                process_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    } else if let Some(code) = src.stored_code {
        return check_code(code).map(automatic);
    }
    let question = format!("MFA code for {serial}: ");
    for attempt in 1..=3 {
        let answer = src
            .prompt
            .ask(&question)
            .map_err(|e| MfaError::Stdin(e.to_string()))?;
        let Some(answer) = answer else {
            return Err(process_error.unwrap_or(MfaError::NoPrompt {
                serial: serial.to_string(),
            }));
        };
        match check_code(&answer) {
            Ok(value) => return Ok(Obtained { value, typed: true }),
            Err(e) if attempt == 3 => return Err(e),
            Err(e) => (src.note)(&format!("{e}; try again")),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Answers(RefCell<Vec<Option<&'static str>>>);

    impl Prompt for Answers {
        fn ask(&self, _q: &str) -> std::io::Result<Option<String>> {
            Ok(self.0.borrow_mut().remove(0).map(String::from))
        }
    }

    fn sources<'a>(
        flag: Option<&'a str>,
        stdin: &'a mut dyn BufRead,
        process: Option<&'a str>,
        prompt: &'a dyn Prompt,
    ) -> CodeSources<'a> {
        CodeSources {
            flag,
            stdin,
            mfa_process: process,
            stored_code: None,
            prompt,
            process_timeout: Duration::from_secs(5),
            note: &|_| {},
        }
    }

    #[test]
    fn a_stored_seed_comes_after_mfa_process_and_before_the_prompt() {
        let mut empty: &[u8] = b"";
        let none = Answers(RefCell::new(vec![]));
        let mut src = sources(None, &mut empty, None, &none);
        src.stored_code = Some("246810");
        assert_eq!(obtain_code("s", src).unwrap(), "246810");
        let mut empty: &[u8] = b"";
        let mut src = sources(None, &mut empty, Some("echo 135791"), &none);
        src.stored_code = Some("246810");
        assert_eq!(obtain_code("s", src).unwrap(), "135791");
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(check_code(" 123456\n").unwrap(), "123456");
        assert_eq!(check_code("123 456").unwrap(), "123456");
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(check_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn process_output_styles() {
        assert_eq!(code_from_output("123456\n").as_deref(), Some("123456"));
        assert_eq!(
            code_from_output("Touch your YubiKey...\nAmazon:alice  654321\n").as_deref(),
            Some("654321")
        );
        assert_eq!(code_from_output("error: no such account\n"), None);
        assert_eq!(code_from_output("12345678"), None);
    }

    #[test]
    fn flag_then_stdin_then_process_then_prompt() {
        let none = Answers(RefCell::new(vec![None]));
        let mut empty: &[u8] = b"";
        assert_eq!(
            obtain_code("s", sources(Some("111111"), &mut empty, None, &none)).unwrap(),
            "111111"
        );
        let mut input: &[u8] = b"222222\nrest";
        assert_eq!(
            obtain_code("s", sources(Some("-"), &mut input, None, &none)).unwrap(),
            "222222"
        );
        let mut empty: &[u8] = b"";
        assert_eq!(
            obtain_code(
                "s",
                sources(None, &mut empty, Some("echo acct  333333"), &none)
            )
            .unwrap(),
            "333333"
        );
        let retry = Answers(RefCell::new(vec![Some("12\n"), Some("444444\n")]));
        let mut empty: &[u8] = b"";
        assert_eq!(
            obtain_code("s", sources(None, &mut empty, None, &retry)).unwrap(),
            "444444"
        );
        let mut empty: &[u8] = b"";
        assert!(matches!(
            obtain_code("s", sources(None, &mut empty, None, &none)),
            Err(MfaError::NoPrompt { .. })
        ));
    }

    #[test]
    fn failing_hanging_and_garbage_processes() {
        let t = Duration::from_millis(300);
        assert!(matches!(
            run_code_process("exit 7", t),
            Err(MfaError::ProcessFailed { status }) if status == "exit status 7"
        ));
        let start = std::time::Instant::now();
        let hang = if cfg!(windows) {
            "ping -n 6 127.0.0.1 >nul"
        } else {
            "sleep 5"
        };
        assert!(matches!(
            run_code_process(hang, t),
            Err(MfaError::ProcessTimeout(_))
        ));
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(matches!(
            run_code_process("echo garbage", t),
            Err(MfaError::ProcessOutput)
        ));
    }
}
