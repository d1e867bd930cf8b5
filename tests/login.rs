//! `awsmfa login` end to end: the real binary, the STS bed (moto behind the fidelity
//! layer) and the real AWS CLI, each test in a fresh HOME. They run on every OS; the one
//! that needs a Unix pseudo-terminal says so.

mod common;

use common::{Bed, TestEnv, run, section_value};
use serde_json::json;

#[test]
fn force_mfa_user_is_denied_before_and_allowed_after_login() {
    let bed = Bed::shared();
    let user = bed.user("alice");
    let bucket = bed.bucket("demo");
    let env = TestEnv::new();
    env.keys_in_profile("work", &user, bed);

    let before = run(env.aws(&["--profile", "work", "s3", "ls"]));
    assert_ne!(before.status, 0, "{before:?}");
    assert!(before.stderr.contains("AccessDenied"), "{before:?}");

    let code = bed.code(&user.mfa_serial, 0);
    let login = run(env.awsmfa(&["-p", "work", "login", "--token-code", &code]));
    assert_eq!(login.status, 0, "{login:?}");
    assert!(login.stdout.is_empty(), "login prints nothing on stdout");
    assert!(
        login.stderr.contains("logged in: profile work-mfa"),
        "{login:?}"
    );
    assert!(login.stderr.contains("12h 0m left"), "{login:?}");

    // The new profile works with no extra flags: its config got the endpoint.
    let after = run(env.aws(&["--profile", "work-mfa", "s3", "ls"]));
    assert_eq!(after.status, 0, "{after:?}");
    assert!(after.stdout.contains(&bucket), "{after:?}");
    let who = run(env.aws(&["--profile", "work-mfa", "sts", "get-caller-identity"]));
    assert!(who.stdout.contains(&user.arn), "{who:?}");
    // The long-term section is untouched.
    assert!(env.read(".aws/credentials").starts_with(&format!(
        "# long-term keys\n[work]\naws_access_key_id = {}\n",
        user.access_key_id
    )));
}

#[test]
fn aws_mfa_layout_writes_the_session_into_the_profile() {
    let bed = Bed::shared();
    let user = bed.user("lt");
    let mut env = TestEnv::new();
    env.long_term_layout("dev", &user, bed);
    env.set("TZ", "CET-1");
    let code = bed.code(&user.mfa_serial, 0);
    let login = run(env.awsmfa(&["--profile", "dev", "login", "--token-code", &code]));
    assert_eq!(login.status, 0, "{login:?}");
    // Expiry in local time and in UTC.
    assert!(login.stderr.contains(" CET ("), "{login:?}");
    assert!(login.stderr.contains(" UTC), 12h 0m left"), "{login:?}");
    let creds = env.read(".aws/credentials");
    let key = section_value(&creds, "dev", "aws_access_key_id").unwrap();
    assert!(key.starts_with("ASIA"));
    assert_eq!(bed.whois(&key)["user"], json!(user.name));
    assert_eq!(bed.whois(&key)["mfa"], json!(true));
    let ls = run(env.aws(&["--profile", "dev", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    // The config already had [profile dev]: it is left exactly as it was.
    assert_eq!(
        env.read(".aws/config"),
        format!(
            "[profile dev]\nregion = us-east-1\nendpoint_url = {}\n",
            bed.url
        )
    );
}

#[test]
fn wrong_reused_and_foreign_codes_exit_3_and_change_nothing() {
    let bed = Bed::shared();
    let user = bed.user("codes");
    let other = bed.user("other");
    let env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let creds_before = std::fs::read(env.credentials()).unwrap();
    let config_before = std::fs::read(env.config()).unwrap();
    let unchanged = |env: &TestEnv| {
        assert_eq!(std::fs::read(env.credentials()).unwrap(), creds_before);
        assert_eq!(std::fs::read(env.config()).unwrap(), config_before);
    };

    let good = bed.code(&user.mfa_serial, 0);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", wrong]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stderr.contains("rejected the MFA code"), "{r:?}");
    assert!(r.stderr.contains("hint: "), "{r:?}");
    unchanged(&env);

    // Another user's device: AWS says the serial is not this user's.
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--mfa-serial",
        &other.mfa_serial,
        "--token-code",
        &bed.code(&other.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stderr.contains("not associated with the user"), "{r:?}");
    unchanged(&env);

    // A good code works once; the same code again is refused (a forced renewal).
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", &good]));
    assert_eq!(r.status, 0, "{r:?}");
    let after_first = env.read(".aws/credentials");
    let r = run(env.awsmfa(&["-p", "w", "login", "--force", "--token-code", &good]));
    assert_eq!(r.status, 3, "{r:?}");
    assert_eq!(env.read(".aws/credentials"), after_first);
}

#[test]
fn local_checks_happen_before_any_sts_call() {
    let bed = Bed::shared();
    let user = bed.user("local");
    let env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let before = std::fs::read(env.credentials()).unwrap();
    for (args, status, needle) in [
        (vec!["--token-code", "12345"], 2, "6 digits"),
        (vec!["--token-code", "abcdef"], 2, "6 digits"),
        (
            vec!["--token-code", "123456", "--duration", "10m"],
            2,
            "at least 900 s",
        ),
        (
            vec!["--token-code", "123456", "--duration", "37h"],
            2,
            "at most 129600 s",
        ),
        (
            vec!["--token-code", "123456", "--duration", "soon"],
            2,
            "not a duration",
        ),
        (
            vec!["--token-code", "123456", "--target", "a]b"],
            2,
            "cannot be used",
        ),
    ] {
        let mut full = vec!["-p", "w", "login"];
        full.extend(args.iter().copied());
        let mine = bed.user_calls(&user, "sts:GetSessionToken");
        let r = run(env.awsmfa(&full));
        assert_eq!(r.status, status, "{args:?}: {r:?}");
        assert!(r.stderr.contains(needle), "{args:?}: {r:?}");
        assert_eq!(
            r.stderr
                .lines()
                .filter(|l| l.starts_with("awsmfa:"))
                .count(),
            1
        );
        assert_eq!(
            bed.user_calls(&user, "sts:GetSessionToken"),
            mine,
            "{args:?} called STS"
        );
        assert_eq!(std::fs::read(env.credentials()).unwrap(), before);
    }
}

#[test]
fn no_code_source_and_no_terminal_exits_4_promptly() {
    let bed = Bed::shared();
    let user = bed.user("noprompt");
    let env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let start = std::time::Instant::now();
    let r = run(env.awsmfa(&["-p", "w", "login"]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(r.stderr.contains("no terminal"), "{r:?}");
    assert!(r.stderr.contains("hint: pass --token-code"), "{r:?}");
}

#[test]
fn code_from_stdin_and_from_mfa_process() {
    let bed = Bed::shared();
    let user = bed.user("sources");
    let env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let mut cmd = env.awsmfa(&["-p", "w", "login", "--token-code", "-"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    writeln!(
        child.stdin.take().unwrap(),
        "{}",
        bed.code(&user.mfa_serial, 0)
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // mfa_process in the profile, printing ykman-style output.
    let next = bed.code(&user.mfa_serial, 1);
    let ykman = format!("Amazon Web Services:{}  {next}", user.name);
    let script = common::printing_script(&env, "code", &[&ykman], &["Touch your key"]);
    env.write(
        ".aws/config",
        &format!(
            "[profile w]\nregion = us-east-1\nendpoint_url = {}\nmfa_process = {}\n",
            bed.url,
            script.display()
        ),
    );
    let r = run(env.awsmfa(&["-p", "w", "login", "--force"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("from mfa_process"), "{r:?}");
    assert!(r.stderr.contains("Touch your key"), "{r:?}");

    // A failing mfa_process: a clear error and nothing written.
    env.write(
        ".aws/config",
        &format!(
            "[profile w]\nregion = us-east-1\nendpoint_url = {}\nmfa_process = exit 9\n",
            bed.url
        ),
    );
    let before = env.read(".aws/credentials");
    let r = run(env.awsmfa(&["-p", "w", "login", "--force"]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr.contains("mfa_process failed (exit status 9)"),
        "{r:?}"
    );
    assert_eq!(env.read(".aws/credentials"), before);

    // One that hangs (a key nobody touches) is stopped at its time limit, children too;
    // one that prints garbage is refused.
    for (process, message) in [
        (
            common::slow_command(30, "123456"),
            "did not finish within 1 s",
        ),
        ("echo no code here".to_string(), "printed no 6-digit code"),
    ] {
        env.write(
            ".aws/config",
            &format!(
                "[profile w]\nregion = us-east-1\nendpoint_url = {}\nmfa_process = {process}\n",
                bed.url
            ),
        );
        let mut cmd = env.awsmfa(&["-p", "w", "login", "--force"]);
        cmd.env("AWSMFA_MFA_PROCESS_TIMEOUT", "1s");
        let start = std::time::Instant::now();
        let r = run(cmd);
        assert_eq!(r.status, 1, "{r:?}");
        assert!(r.stderr.contains(message), "{r:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{r:?}");
        assert_eq!(env.read(".aws/credentials"), before);
    }
}

#[test]
fn valid_session_is_kept_unless_forced_or_below_min_remaining() {
    let bed = Bed::shared();
    let user = bed.user("keep");
    let env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let code1 = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", &code1]));
    assert_eq!(r.status, 0, "{r:?}");
    let first = env.read(".aws/credentials");
    let calls = bed.user_calls(&user, "sts:GetSessionToken");
    assert_eq!(calls, 1);

    // Cron-safe: no code, no prompt, no call while the session has enough left, and
    // not a word (cron mails any output; a shell rc would print it in every terminal),
    // unless -v.
    let r = run(env.awsmfa(&["-p", "w", "login", "--min-remaining", "1h"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""), "{r:?}");
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), calls);
    assert_eq!(env.read(".aws/credentials"), first);
    let r = run(env.awsmfa(&["-v", "-p", "w", "login", "--min-remaining", "1h"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("still valid"), "{r:?}");
    // A person typing plain `awsmfa login` is told why nothing happened.
    let r = run(env.awsmfa(&["-p", "w", "login"]));
    assert!(r.stderr.contains("still valid"), "{r:?}");
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), calls);

    // Asking for more than is left renews.
    let code2 = bed.code_other_than(&user.mfa_serial, &[&code1]);
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--min-remaining",
        "13h",
        "--token-code",
        &code2,
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), calls + 1);
    let second = env.read(".aws/credentials");
    assert_ne!(
        section_value(&first, "w", "aws_access_key_id"),
        section_value(&second, "w", "aws_access_key_id")
    );
    // --force renews too, and a custom duration is honoured.
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--force",
        "--duration",
        "1h30m",
        "--token-code",
        &bed.code_other_than(&user.mfa_serial, &[&code1, &code2]),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("1h 30m left") || r.stderr.contains("1h 29m left"),
        "{r:?}"
    );
}

#[test]
fn device_is_discovered_and_saved_byte_preserving() {
    let bed = Bed::shared();
    let user = bed.user("discover");
    let env = TestEnv::new();
    env.keys_in_profile("w", &user, bed);
    let config = format!(
        "; my settings\r\n[profile w]\r\nregion = us-east-1\r\nendpoint_url = {}\r\n\r\n[profile other]\r\noutput = json",
        bed.url
    );
    env.write(".aws/config", &config);
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--save",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("saved mfa_serial"), "{r:?}");
    let after = env.read(".aws/config");
    assert!(
        after.starts_with(&format!(
            "; my settings\r\n[profile w]\r\nregion = us-east-1\r\nendpoint_url = {}\r\nmfa_serial = {}\r\n\r\n[profile other]\r\noutput = json\r\n\r\n[profile w-mfa]\r\n",
            bed.url, user.mfa_serial
        )),
        "{after}"
    );
    // Saved, but a credentials-file value of the same profile is what the AWS CLI reads:
    // the person is told.
    let env = TestEnv::new();
    env.keys_in_profile("s", &user, bed);
    let credentials = env.read(".aws/credentials");
    env.write(
        ".aws/credentials",
        &format!("{credentials}mfa_serial = arn:aws:iam::123456789012:mfa/old\n"),
    );
    let r = run(env.awsmfa(&[
        "-p",
        "s",
        "login",
        "--save",
        "--mfa-serial",
        &user.mfa_serial,
        "--token-code",
        &bed.code(&user.mfa_serial, 1),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("saved mfa_serial"), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "warning: [s] of {} sets mfa_serial = arn:aws:iam::123456789012:mfa/old too",
            env.credentials().display()
        )),
        "{r:?}"
    );
    // A user without a device: a clear error.
    let bare = bed.user_with("nodevice", json!("allow-all"), false);
    let env = TestEnv::new();
    env.keys_in_profile("b", &bare, bed);
    let r = run(env.awsmfa(&["-p", "b", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("no MFA device"), "{r:?}");
}

#[test]
fn stray_environment_credentials_do_not_leak_into_sts_and_are_warned_about() {
    let bed = Bed::shared();
    let user = bed.user("stray");
    let mut env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    env.set("AWS_ACCESS_KEY_ID", "ASIASTALESTALESTALE0");
    env.set("AWS_SECRET_ACCESS_KEY", "stale");
    env.set("AWS_SESSION_TOKEN", "stale-token");
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("warning: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN set"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("stale-token"));
}

#[test]
fn wasabi_style_services_section_is_inherited_by_the_new_profile() {
    let bed = Bed::shared();
    let user = bed.user("wasabi");
    let bucket = bed.bucket("wasabi");
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[wasabi]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile wasabi]\nregion = us-east-2\nservices = wasabi-endpoints\nmfa_serial = {}\n\n[services wasabi-endpoints]\nsts =\n  endpoint_url = {url}\niam =\n  endpoint_url = {url}\ns3 =\n  endpoint_url = {url}\n",
            user.mfa_serial,
            url = bed.url
        ),
    );
    let r = run(env.awsmfa(&[
        "-p",
        "wasabi",
        "-v",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("from the profile's services section"),
        "{r:?}"
    );
    assert!(
        env.read(".aws/config")
            .ends_with("[profile wasabi-mfa]\nregion = us-east-2\nservices = wasabi-endpoints\n")
    );
    let ls = run(env.aws(&["--profile", "wasabi-mfa", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket));
}

#[test]
fn endpoint_precedence_env_beats_profile() {
    let bed = Bed::shared();
    let user = bed.user("prec");
    let mut env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[p-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    // The profile points at a dead port; AWS_ENDPOINT_URL_STS points at the bed.
    env.write(
        ".aws/config",
        &format!(
            "[profile p]\nendpoint_url = http://127.0.0.1:9\nmfa_serial = {}\n",
            user.mfa_serial
        ),
    );
    env.set("AWS_ENDPOINT_URL_STS", &bed.url);
    let r = run(env.awsmfa(&[
        "-p",
        "p",
        "-v",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("from AWS_ENDPOINT_URL_STS"), "{r:?}");
}

// A pseudo-terminal from `script(1)`; the Windows console prompt is a unit of src/sys.
#[cfg(unix)]
#[test]
fn prompt_reaches_the_terminal_even_when_stdio_is_captured() {
    // `script` gives awsmfa a pseudo-terminal as its controlling terminal, while
    // awsmfa's own stdin, stdout and stderr are redirected away from it (as the AWS CLI
    // does to a credential_process): the question and the answer still use the terminal.
    let bed = Bed::shared();
    let user = bed.user("tty");
    let env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let err_file = env.path("stderr.txt");
    let inner = format!(
        "{} -p w login </dev/null >/dev/null 2>{}",
        common::awsmfa_bin().display(),
        err_file.display()
    );
    let mut cmd = common::in_pseudo_terminal(&inner);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env.home.path())
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    common::no_tty(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let code = bed.code(&user.mfa_serial, 0);
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    write!(stdin, "{code}\r").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = String::from_utf8_lossy(&out.stdout);
    let stderr = std::fs::read_to_string(&err_file).unwrap_or_default();
    assert!(out.status.success(), "screen: {screen}\nstderr: {stderr}");
    assert!(
        screen.contains(&format!("MFA code for {}: ", user.mfa_serial)),
        "the question is on the terminal: {screen}"
    );
    assert!(stderr.contains("logged in: profile w"), "{stderr}");
    assert!(
        !stderr.contains("MFA code for"),
        "the question is not on stderr"
    );
}

/// Issue 22 §5, seed 000's habit: the endpoint typed on the command line
/// (`login --endpoint-url URL`, as `aws sts get-session-token --endpoint-url=…`) stays
/// with the session profile login creates, as a services section already does, so the
/// real AWS CLI reaches the same cloud with `--profile wasabi-mfa` alone. A session
/// section that exists already is the person's: said, not changed.
#[test]
fn endpoint_url_flag_stays_with_the_new_session_profile() {
    let bed = Bed::shared();
    let user = bed.user("seed000");
    let bucket = bed.bucket("seed000");
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[wasabi]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    let config = format!(
        "[profile wasabi]\nregion = us-east-2\nmfa_serial = {}\n\n[profile mine]\nregion = us-east-2\n",
        user.mfa_serial
    );
    env.write(".aws/config", &config);
    let r = run(env.awsmfa(&[
        "-p",
        "wasabi",
        "--endpoint-url",
        &bed.url,
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "[profile wasabi-mfa] keeps endpoint_url = {} (from --endpoint-url)",
            bed.url
        )),
        "{r:?}"
    );
    assert_eq!(
        env.read(".aws/config"),
        format!(
            "{config}\n[profile wasabi-mfa]\nregion = us-east-2\nendpoint_url = {}\n",
            bed.url
        )
    );
    let ls = run(env.aws(&["--profile", "wasabi-mfa", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket), "{ls:?}");
    let who = run(env.aws(&["--profile", "wasabi-mfa", "sts", "get-caller-identity"]));
    assert!(who.stdout.contains(&user.arn), "{who:?}");

    // Into an existing section without that endpoint: a warning, the config unchanged.
    let before = env.read(".aws/config");
    let r = run(env.awsmfa(&[
        "-p",
        "wasabi",
        "--endpoint-url",
        &bed.url,
        "login",
        "--target",
        "mine",
        "--force",
        "--token-code",
        &bed.code(&user.mfa_serial, 1),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("[profile mine] in ")
            && r.stderr
                .contains(&format!("has no endpoint_url = {}", bed.url)),
        "{r:?}"
    );
    assert_eq!(env.read(".aws/config"), before);
}
