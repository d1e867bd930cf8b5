//! Every `env` format carries arbitrary strings exactly, or refuses them (issue 17, item
//! 2). sh and fish output is evaluated for real by bash, dash and fish — one process per
//! batch of generated values; PowerShell, cmd and dotenv by models of their parsers
//! written out below, since neither shell runs here. The models run on every OS; the
//! Unix shells on Unix.

use awsmfa::output::formats::{EnvFormat, env_assignments};
use proptest::prelude::*;
use zeroize::Zeroizing;

/// What a model makes of a format's output: the assignments, or `None` when anything
/// else would happen.
type Assignments = Option<Vec<(String, String)>>;

/// Strings rich in what shells treat specially, plus anything at all.
fn value() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\'', '"', '\\', '$', '`', '!', '%', '^', '&', '|', '<', '>', '\n', '\r', '\0', ' ', '#',
        ';', '(', ')', '{', '}', '*', '?', '[', ']', '~', '\t', '\u{1b}', '\u{7f}', '\u{85}',
        '\u{2018}', '\u{2019}', '\u{201a}', '\u{201b}', '\u{201c}', '\u{201d}', 'é', '€',
        '\u{f600}', '\u{fffd}',
    ]);
    prop::collection::vec(
        prop_oneof![4 => special, 2 => any::<char>(), 2 => prop::char::range('a', 'z')],
        0..24,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// The output of `format` for one variable, or `None` when it is refused.
fn assign(format: EnvFormat, name: &str, value: &str) -> Option<String> {
    env_assignments(format, &[(name, Zeroizing::new(value.to_string()))])
        .ok()
        .map(|t| t.to_string())
}

/// Evaluates the accepted assignments with `shell` and reads every variable back.
#[cfg(unix)]
fn shell_round_trip(shell: &str, format: EnvFormat, values: &[String]) {
    let mut script = String::new();
    let mut read_back = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let name = format!("V{i}");
        match assign(format, &name, v) {
            Some(line) => {
                script.push_str(&line);
                read_back.push((name, v));
            }
            None => assert!(v.contains('\0'), "{shell} refused {v:?}"),
        }
    }
    script.push_str("printf '%s\\0'");
    for (name, _) in &read_back {
        script.push_str(&format!(" \"${name}\""));
    }
    script.push('\n');
    let out = std::process::Command::new(shell)
        .arg("-c")
        .arg(&script)
        .env_clear()
        .env("LC_ALL", "C.UTF-8")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap_or_else(|e| panic!("{shell} runs: {e} (scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    assert_eq!(got.len(), read_back.len() + 1, "{shell}: {script}");
    for ((name, want), got) in read_back.iter().zip(got) {
        assert_eq!(
            String::from_utf8_lossy(got),
            want.as_str(),
            "{shell} read {name} back differently"
        );
    }
}

/// PowerShell's tokenizer on `$Env:NAME = '…'` lines: inside a verbatim string any of
/// `'` U+2018 U+2019 U+201A U+201B ends it unless another of them follows, which then
/// stands for itself. `None` when the text would be anything but those assignments.
fn powershell_model(text: &str) -> Assignments {
    let quote = |c: char| matches!(c, '\'' | '\u{2018}'..='\u{201b}');
    let mut chars = text.chars().peekable();
    let mut out = Vec::new();
    while chars.peek().is_some() {
        for want in "$Env:".chars() {
            (chars.next()? == want).then_some(())?;
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_') {
            name.push(c);
        }
        for want in " = ".chars() {
            (chars.next()? == want).then_some(())?;
        }
        quote(chars.next()?).then_some(())?;
        let mut value = String::new();
        loop {
            let c = chars.next()?; // the end of the text inside the string: incomplete
            if quote(c) {
                match chars.next_if(|n| quote(*n)) {
                    Some(second) => value.push(second),
                    None => break,
                }
            } else {
                value.push(c);
            }
        }
        (chars.next()? == '\n').then_some(())?;
        out.push((name, value));
    }
    Some(out)
}

/// cmd.exe on `set "NAME=value"` lines: `%` (and `!` under delayed expansion) expand
/// even inside quotes, carriage returns are dropped, a line feed ends the command, `"`
/// toggles quoting and outside it `& | < > ^` are operators. `set` then keeps what lies
/// between `NAME=` and the last `"`. `None` when any of that would change or run
/// something.
fn cmd_model(text: &str) -> Assignments {
    let mut out = Vec::new();
    for line in text.split_terminator('\n') {
        if line.contains(['%', '!', '\r']) || line.chars().any(|c| c.is_control()) {
            return None;
        }
        let arg = line.strip_prefix("set ")?;
        let mut quoted = false;
        for c in arg.chars() {
            match c {
                '"' => quoted = !quoted,
                '&' | '|' | '<' | '>' | '^' if !quoted => return None,
                _ => {}
            }
        }
        let inner = arg.strip_prefix('"')?;
        let inner = &inner[..inner.rfind('"')?];
        if !arg.ends_with('"') || inner.contains('"') {
            return None;
        }
        let (name, value) = inner.split_once('=')?;
        out.push((name.to_string(), value.to_string()));
    }
    Some(out)
}

/// dotenv's single-quoted form as the strictest dialect reads it: `NAME='…'` on one line,
/// the value up to the closing quote.
fn dotenv_model(text: &str) -> Assignments {
    let mut out = Vec::new();
    for line in text.split_terminator('\n') {
        let (name, rest) = line.split_once('=')?;
        let value = rest.strip_prefix('\'')?.strip_suffix('\'')?;
        if value.contains(['\'', '\\']) {
            return None;
        }
        out.push((name.to_string(), value.to_string()));
    }
    Some(out)
}

fn model_round_trip(
    format: EnvFormat,
    model: fn(&str) -> Assignments,
    refused: fn(char) -> bool,
    v: &str,
) {
    match assign(format, "AWS_X", v) {
        Some(text) => assert_eq!(
            model(&text),
            Some(vec![("AWS_X".to_string(), v.to_string())]),
            "{format:?} for {v:?}: {text:?}"
        ),
        None => assert!(v.chars().any(refused), "{format:?} refused {v:?}"),
    }
}

#[cfg(unix)]
proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn sh_output_round_trips_in_bash_and_dash(values in prop::collection::vec(value(), 40)) {
        shell_round_trip("bash", EnvFormat::Sh, &values);
        shell_round_trip("dash", EnvFormat::Sh, &values);
    }

    #[test]
    fn fish_output_round_trips_in_fish(values in prop::collection::vec(value(), 40)) {
        shell_round_trip("fish", EnvFormat::Fish, &values);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn powershell_output_round_trips_in_the_model(v in value()) {
        model_round_trip(EnvFormat::Powershell, powershell_model, |c| c == '\0', &v);
    }

    #[test]
    fn cmd_output_round_trips_in_the_model_or_is_refused(v in value()) {
        model_round_trip(
            EnvFormat::Cmd,
            cmd_model,
            |c| c.is_control() || "\"%!^&|<>".contains(c),
            &v,
        );
    }

    #[test]
    fn dotenv_output_round_trips_in_the_model_or_is_refused(v in value()) {
        model_round_trip(
            EnvFormat::Dotenv,
            dotenv_model,
            |c| c.is_control() || c == '\'' || c == '\\',
            &v,
        );
    }

    #[test]
    fn json_output_round_trips(v in value()) {
        let text = assign(EnvFormat::Json, "AWS_X", &v).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back["AWS_X"].as_str(), Some(v.as_str()));
    }
}

/// The region of issue 17 as a value: PowerShell reads it back whole, cmd refuses it.
#[test]
fn the_reported_payloads_stay_values() {
    let payload = "us-east-1\"&calc.exe&rem \u{2019}; Start-Process calc; \u{2018}";
    let ps = assign(EnvFormat::Powershell, "AWS_REGION", payload).unwrap();
    assert_eq!(
        powershell_model(&ps),
        Some(vec![("AWS_REGION".into(), payload.into())])
    );
    let err = env_assignments(
        EnvFormat::Cmd,
        &[("AWS_REGION", Zeroizing::new(payload.to_string()))],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "AWS_REGION cannot be written for cmd: it contains '\"'"
    );
    // The model itself sees the attack in the old output.
    assert_eq!(cmd_model(&format!("set \"AWS_REGION={payload}\"\n")), None);
    let old_ps = format!("$Env:AWS_REGION = '{}'\n", payload.replace('\'', "''"));
    assert_ne!(
        powershell_model(&old_ps),
        Some(vec![("AWS_REGION".into(), payload.into())])
    );
}
