//! Roles, the session cache with single flight, and every hand-off (`process`, `exec`,
//! `env`, `status`, `clear`), against the STS bed with the real AWS CLI and boto3. They
//! run on every OS; signals, pseudo-terminals, file modes and the Unix shells are marked
//! `cfg(unix)`, cmd and PowerShell `cfg(windows)`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Bed, Run, TestEnv, User, count_lines, counting_code_command, run};
use serde_json::{Value, json};

/// A user with keys in `[base-long-term]`, a counting `mfa_process`, and role profiles
/// `r0..rN` (each with a `cp-rN` twin that uses `credential_process`).
struct Setup {
    env: TestEnv,
    user: User,
    counter: PathBuf,
    roles: Vec<String>,
}

fn setup(bed: &Bed, roles: usize, with_process: bool) -> Setup {
    let user = bed.user_with("roleuser", json!("allow-all"), true);
    let env = TestEnv::new();
    let counter = env.path("codes-used");
    let script = counting_code_command(&env, &user, &counter);
    env.write(
        ".aws/credentials",
        &format!(
            "[base-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    let mut config = format!(
        "[profile base]\nregion = us-east-1\nendpoint_url = {}\nmfa_serial = {}\n",
        bed.url, user.mfa_serial
    );
    if with_process {
        config.push_str(&format!("mfa_process = {script}\n"));
    }
    let mut arns = Vec::new();
    for i in 0..roles {
        let arn = bed.role("role", None, 3600);
        config.push_str(&format!(
            "\n[profile r{i}]\nrole_arn = {arn}\nsource_profile = base\nregion = us-east-1\nendpoint_url = {url}\n\n[profile cp-r{i}]\ncredential_process = {bin} process --profile r{i}\nregion = us-east-1\nendpoint_url = {url}\n",
            url = bed.url,
            bin = common::awsmfa_bin().display()
        ));
        arns.push(arn);
    }
    env.write(".aws/config", &config);
    Setup {
        env,
        user,
        counter,
        roles: arns,
    }
}

fn boto3_list_buckets(env: &TestEnv, profile: &str) -> Run {
    let mut cmd = Command::new(common::venv_bin("python"));
    cmd.args([
        "-c",
        &format!(
            "import boto3; s = boto3.Session(profile_name='{profile}'); print(' '.join(b['Name'] for b in s.client('s3').list_buckets()['Buckets']))"
        ),
    ])
    .env_clear()
    .envs(common::home_vars(env.home.path()))
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .stdin(Stdio::null());
    common::no_tty(&mut cmd);
    run(cmd)
}

#[test]
fn credential_process_serves_the_aws_cli_and_boto3_from_the_cache() {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let bucket = bed.bucket("cp");
    let ls = run(s.env.aws(&["--profile", "cp-r0", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket), "{ls:?}");
    let who = run(s.env.aws(&[
        "--profile",
        "cp-r0",
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]));
    assert!(
        who.stdout.trim().ends_with(&format!("/{}", s.user.name)),
        "session name from the device: {who:?}"
    );
    assert!(who.stdout.contains(":assumed-role/"), "{who:?}");
    let py = boto3_list_buckets(&s.env, "cp-r0");
    assert_eq!(py.status, 0, "{py:?}");
    assert!(py.stdout.contains(&bucket), "{py:?}");
    assert_eq!(count_lines(&s.counter), 1, "one code");
    assert_eq!(bed.user_calls(&s.user, "sts:GetSessionToken"), 1);
    assert_eq!(
        bed.user_calls(&s.user, "sts:AssumeRole"),
        1,
        "later calls come from the cache"
    );

    // stdout of `process` is exactly the JSON, and nothing else.
    let p = run(s.env.awsmfa(&["process", "--profile", "r0"]));
    assert_eq!(p.status, 0, "{p:?}");
    let v: Value = serde_json::from_str(&p.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(v["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(p.stdout.lines().count(), 1);
}

#[test]
fn three_roles_one_code_one_get_session_token() {
    let bed = Bed::shared();
    let s = setup(bed, 3, true);
    for i in 0..3 {
        let r = run(s.env.awsmfa(&["-p", &format!("r{i}"), "process"]));
        assert_eq!(r.status, 0, "{r:?}");
    }
    for i in 0..3 {
        let r = run(s.env.aws(&[
            "--profile",
            &format!("cp-r{i}"),
            "sts",
            "get-caller-identity",
        ]));
        assert_eq!(r.status, 0, "{r:?}");
        assert!(
            r.stdout.contains(s.roles[i].rsplit('/').next().unwrap()),
            "{r:?}"
        );
    }
    assert_eq!(count_lines(&s.counter), 1);
    assert_eq!(bed.user_calls(&s.user, "sts:GetSessionToken"), 1);
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), 3);
    // The MFA session is the source profile's; status shows both kinds.
    let st = run(s.env.awsmfa(&["status", "--json"]));
    let v: Value = serde_json::from_str(&st.stdout).unwrap();
    let find = |n: &str| {
        v["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(find("base")["cached"][0]["kind"], "mfa-session");
    assert_eq!(find("r1")["cached"][0]["kind"], "role");
    assert_eq!(find("r1")["kind"], "role");
}

#[test]
fn thirty_two_processes_at_once_one_code_one_call() {
    all_at_once(32, true);
}

/// The same with awsmfa alone (`process` and `exec`), so that it runs under Wine too,
/// where the AWS CLI cannot: Windows' file locks between real processes.
#[test]
fn sixteen_awsmfa_processes_at_once_one_code_one_call() {
    all_at_once(16, false);
}

/// `n` processes that need role r0 at once: half the AWS CLI through credential_process
/// (`awsmfa process` when not `cli`), half `awsmfa exec`. One code, one GetSessionToken,
/// one AssumeRole, and everyone gets the same role session.
fn all_at_once(n: usize, cli: bool) {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let start = Instant::now();
    let printenv = common::printenv();
    let mut children = Vec::new();
    for i in 0..n {
        let mut cmd = if i % 2 == 1 {
            let mut args = vec!["-p", "r0", "exec", "--"];
            args.extend(printenv.iter().map(String::as_str));
            s.env.awsmfa(&args)
        } else if cli {
            s.env.aws(&[
                "--profile",
                "cp-r0",
                "sts",
                "get-caller-identity",
                "--query",
                "Arn",
            ])
        } else {
            s.env.awsmfa(&["-p", "r0", "process"])
        };
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        children.push(cmd.spawn().unwrap());
    }
    let mut keys = std::collections::BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = common::parse_env(&stdout);
        if let Some(key) = vars.get("AWS_ACCESS_KEY_ID") {
            assert!(vars.contains_key("AWS_SESSION_TOKEN"), "{stdout}");
            assert!(key.starts_with("ASIA"), "{stdout}");
            keys.insert(key.clone());
        } else if cli {
            assert!(stdout.contains(":assumed-role/"), "{stdout}");
        } else {
            let v: Value = serde_json::from_str(&stdout).unwrap();
            let key = v["AccessKeyId"].as_str().unwrap();
            assert!(key.starts_with("ASIA"), "{stdout}");
            keys.insert(key.to_string());
        }
    }
    eprintln!("{n} processes done in {:?}", start.elapsed());
    assert_eq!(count_lines(&s.counter), 1, "exactly one code asked for");
    assert_eq!(bed.user_calls(&s.user, "sts:GetSessionToken"), 1);
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), 1);
    assert_eq!(keys.len(), 1, "everyone got the same role session");
}

#[test]
fn the_prompt_works_under_credential_process_in_a_terminal() {
    let bed = Bed::shared();
    let s = setup(bed, 1, false);
    // No terminal: the AWS CLI's credential_process fails at once, with exit 4 inside.
    let r = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("hint: run `awsmfa login -p r0`"), "{r:?}");
    // Through the AWS CLI too, and in a terminal the question reaches the person. (On
    // Windows a console program started by one without a console gets a console of its
    // own, where awsmfa would ask: there is no "no terminal" under the AWS CLI there.)
    #[cfg(unix)]
    {
        let start = Instant::now();
        let r = run(s
            .env
            .aws(&["--profile", "cp-r0", "sts", "get-caller-identity"]));
        assert_ne!(r.status, 0);
        assert!(start.elapsed() < Duration::from_secs(20));
        prompt_in_a_pseudo_terminal(bed, &s);
    }
}

/// The AWS CLI in a terminal (a pseudo-terminal from `script`) starts `awsmfa process`,
/// whose question reaches the person.
#[cfg(unix)]
fn prompt_in_a_pseudo_terminal(bed: &Bed, s: &Setup) {
    // In a terminal (a pseudo-terminal from `script`), the AWS CLI captures
    // credential_process's stdout and stderr; the question still reaches the person.
    let inner = format!(
        "{} --profile cp-r0 sts get-caller-identity --query Arn --output text",
        common::venv_bin("aws").display()
    );
    let mut cmd = common::in_pseudo_terminal(&inner);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", s.env.home.path())
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::no_tty(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let code = bed.code(&s.user.mfa_serial, 0);
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    write!(stdin, "{code}\r").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains(&format!("MFA code for {}", s.user.mfa_serial)),
        "{screen}"
    );
    assert!(screen.contains(":assumed-role/"), "{screen}");
}

#[test]
fn expiry_renews_roles_from_the_mfa_session_and_never_returns_stale_credentials() {
    let bed = Bed::private();
    // MFA sessions of 2 min, role sessions of 20 s; renew below 10 s left, but never
    // below more than a quarter of a session's life (5 s of a 20 s role).
    bed.configure(json!({"session_seconds": 120, "role_session_seconds": 20}));
    let mut s = setup(&bed, 1, true);
    s.env.set("AWSMFA_MIN_REMAINING", "10s");
    let first = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(first.status, 0, "{first:?}");
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    std::thread::sleep(Duration::from_secs(11));
    let still = run(s.env.awsmfa(&["-p", "r0", "process"]));
    let still: Value = serde_json::from_str(&still.stdout).unwrap();
    assert_eq!(
        first["AccessKeyId"], still["AccessKeyId"],
        "9 s of 20 left: fresh"
    );
    std::thread::sleep(Duration::from_secs(5));
    let second = run(s.env.awsmfa(&["-p", "r0", "-v", "process"]));
    assert_eq!(second.status, 0, "{second:?}");
    assert!(second.stderr.contains("renewing"), "{second:?}");
    let second: Value = serde_json::from_str(&second.stdout).unwrap();
    assert_ne!(
        first["AccessKeyId"], second["AccessKeyId"],
        "the role was re-assumed"
    );
    assert_eq!(count_lines(&s.counter), 1, "without a new code");
    assert_eq!(bed.user_calls(&s.user, "sts:GetSessionToken"), 1);
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), 2);
    let exp: jiff::Timestamp = second["Expiration"].as_str().unwrap().parse().unwrap();
    let left = exp.as_second() - jiff::Timestamp::now().as_second();
    assert!(left > 5, "returned credentials with only {left} s left");
    // The role session works against the bed.
    let ls = run(s
        .env
        .aws(&["--profile", "cp-r0", "sts", "get-caller-identity"]));
    assert_eq!(ls.status, 0, "{ls:?}");
}

#[test]
fn long_role_sessions_take_the_code_directly() {
    let bed = Bed::shared();
    let s = setup(bed, 0, true);
    let arn = bed.role("long", None, 4 * 3600);
    let mut config = s.env.read(".aws/config");
    config.push_str(&format!(
        "\n[profile long]\nrole_arn = {arn}\nsource_profile = base\nduration_seconds = 7200\nendpoint_url = {}\n",
        bed.url
    ));
    s.env.write(".aws/config", &config);
    // Said without -v: this path needs a code even while an MFA session is cached.
    let r = run(s.env.awsmfa(&["-p", "long", "process"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("more than the 1 h a role assumed from an MFA session may last: AssumeRole takes an MFA code directly"),
        "{r:?}"
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let exp: jiff::Timestamp = v["Expiration"].as_str().unwrap().parse().unwrap();
    assert!(exp.as_second() - jiff::Timestamp::now().as_second() > 7000);
    assert_eq!(bed.user_calls(&s.user, "sts:GetSessionToken"), 0);
}

#[test]
fn login_writes_role_sessions_and_reuses_the_cache() {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let r = run(s.env.awsmfa(&["-p", "base", "login"]));
    assert_eq!(r.status, 0, "{r:?}");
    let r = run(s.env.awsmfa(&["-p", "r0", "login"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("logged in: profile r0-mfa"), "{r:?}");
    let ls = run(s
        .env
        .aws(&["--profile", "r0-mfa", "sts", "get-caller-identity"]));
    assert!(ls.stdout.contains(":assumed-role/"), "{ls:?}");
    assert_eq!(
        count_lines(&s.counter),
        1,
        "the role used the MFA session of the login"
    );
    // A process call is now served from the cache that login filled.
    let calls = bed.user_calls(&s.user, "sts:AssumeRole");
    let p = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(p.status, 0);
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), calls);
}

#[test]
fn exec_passes_status_and_signals_and_refuses_nesting() {
    let bed = Bed::shared();
    let mut s = setup(bed, 0, true);
    s.env.set("AWS_PROFILE", "some-stale-profile");
    s.env.set("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE0");
    let mut args = vec!["-p", "base", "exec", "--"];
    let printenv = common::printenv();
    args.extend(printenv.iter().map(String::as_str));
    let r = run(s.env.awsmfa(&args));
    assert_eq!(r.status, 0, "{r:?}");
    let vars = common::parse_env(&r.stdout);
    assert!(vars["AWS_ACCESS_KEY_ID"].starts_with("ASIA"), "{r:?}");
    assert!(!vars.contains_key("AWS_PROFILE"), "{r:?}");
    assert_eq!(vars["AWSMFA_PROFILE"], "base");
    assert_eq!(vars["AWS_REGION"], "us-east-1");
    assert_eq!(vars["AWS_ENDPOINT_URL"], bed.url);
    let mut args = vec!["-p", "base", "exec", "--"];
    let exit_42 = common::exit_with(42);
    args.extend(exit_42.iter().map(String::as_str));
    let r = run(s.env.awsmfa(&args));
    assert_eq!(r.status, 42, "{r:?}");

    #[cfg(unix)]
    shell_and_signals(&s);
    #[cfg(windows)]
    comspec_without_a_command(&s);

    // Nested: refused, unless asked for.
    let mut nested = TestEnv::new();
    std::fs::copy(s.env.config(), nested.config()).unwrap();
    std::fs::copy(s.env.credentials(), nested.credentials()).unwrap();
    nested.set("AWSMFA_PROFILE", "outer");
    let exit_0 = common::exit_with(0);
    let mut args = vec!["-p", "base", "exec", "--"];
    args.extend(exit_0.iter().map(String::as_str));
    let r = run(nested.awsmfa(&args));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(r.stderr.contains("--allow-nested"), "{r:?}");
    let mut args = vec!["-p", "base", "exec", "--allow-nested", "--"];
    args.extend(exit_0.iter().map(String::as_str));
    let r = run(nested.awsmfa(&args));
    assert_eq!(r.status, 0, "{r:?}");
}

/// `exec` with no command runs `%COMSPEC%` (cmd outside PowerShell), here reading its
/// commands from stdin. (cmd prints its prompt around them, differently under Wine; the
/// exit status was checked above.)
#[cfg(windows)]
fn comspec_without_a_command(s: &Setup) {
    let r = common::run_with_input(
        s.env.awsmfa(&["-p", "base", "exec"]),
        "echo in %AWSMFA_PROFILE%\r\nexit\r\n",
    );
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains("in base\r\n"), "{r:?}");
    assert!(r.stderr.contains("starting a shell"), "{r:?}");
}

/// `exec` with no command runs `$SHELL`; death by a signal is 128 + N; SIGTERM to awsmfa
/// reaches the child.
#[cfg(unix)]
fn shell_and_signals(s: &Setup) {
    // No command: $SHELL, here reading its commands from stdin.
    let mut cmd = s.env.awsmfa(&["-p", "base", "exec"]);
    cmd.env("SHELL", "/bin/sh");
    let r = common::run_with_input(cmd, "echo \"in $AWSMFA_PROFILE\"; exit 5\n");
    assert_eq!(r.status, 5, "{r:?}");
    assert_eq!(r.stdout, "in base\n");

    // The command takes awsmfa's place (no awsmfa waits beside it holding the
    // session): the process awsmfa started as is the command's.
    let mut cmd = s
        .env
        .awsmfa(&["-p", "base", "exec", "--", "sh", "-c", "echo $$"]);
    cmd.stdout(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());

    // Death by signal: 128 + N, as the shell shows it.
    let r = run(s
        .env
        .awsmfa(&["-p", "base", "exec", "--", "sh", "-c", "kill -TERM $$"]));
    assert_eq!(r.status, 128 + 15, "{r:?}");

    // SIGTERM to awsmfa reaches the child, whose own exit status comes back.
    let ready = s.env.path("ready");
    let got = s.env.path("got");
    let script = format!(
        "trap 'echo term > {}; exit 3' TERM; touch {}; while :; do sleep 0.1; done",
        got.display(),
        ready.display()
    );
    let mut cmd = s
        .env
        .awsmfa(&["-p", "base", "exec", "--", "sh", "-c", &script]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the child never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    assert_eq!(std::fs::read_to_string(&got).unwrap().trim(), "term");
}

#[cfg(unix)]
fn run_shell(shell: &str, script: &str) -> String {
    let out = Command::new(shell)
        .args(["-c", script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{shell}: {e} (scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(unix)]
#[test]
fn env_output_evaluates_in_bash_dash_zsh_and_fish() {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let p = run(s.env.awsmfa(&["-p", "r0", "process"]));
    let want: Value = serde_json::from_str(&p.stdout).unwrap();
    let show = "printf '%s|%s|%s|%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" \"$AWS_REGION\"";
    let expected = format!(
        "{}|{}|{}|us-east-1\n",
        want["AccessKeyId"].as_str().unwrap(),
        want["SecretAccessKey"].as_str().unwrap(),
        want["SessionToken"].as_str().unwrap()
    );
    for (shell, format) in [
        ("bash", "sh"),
        ("dash", "sh"),
        ("zsh", "sh"),
        ("fish", "fish"),
    ] {
        let r = run(s.env.awsmfa(&["-p", "r0", "env", "--format", format]));
        assert_eq!(r.status, 0, "{r:?}");
        let file = s.env.path(&format!("env.{shell}"));
        std::fs::write(&file, &r.stdout).unwrap();
        let got = run_shell(
            shell,
            &format!(
                "source {} 2>/dev/null || . {}; {show}",
                file.display(),
                file.display()
            ),
        );
        assert_eq!(got, expected, "{shell}");
        // --unset clears them again.
        let u = run(s.env.awsmfa(&["env", "--unset", "--format", format]));
        std::fs::write(&file, format!("{}{}", r.stdout, u.stdout)).unwrap();
        let got = run_shell(
            shell,
            &format!(
                "source {} 2>/dev/null || . {}; {show}",
                file.display(),
                file.display()
            ),
        );
        assert_eq!(got, "|||\n", "{shell} --unset: the region too");
    }
    // The default format follows $SHELL; json parses.
    let mut fishy = TestEnv::new();
    std::fs::copy(s.env.config(), fishy.config()).unwrap();
    std::fs::copy(s.env.credentials(), fishy.credentials()).unwrap();
    fishy.set("SHELL", "/usr/bin/fish");
    fishy.set("AWSMFA_CACHE_DIR", s.env.cache_dir().to_str().unwrap());
    let r = run(fishy.awsmfa(&["-p", "r0", "env"]));
    assert!(r.stdout.contains("\nset -gx AWS_ACCESS_KEY_ID "), "{r:?}");
    let r = run(s.env.awsmfa(&["-p", "r0", "env", "--format", "json"]));
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["AWS_SECRET_ACCESS_KEY"], want["SecretAccessKey"]);
}

/// What `env --format FORMAT` (then with `--unset` too) shows in `shell`: each output
/// goes into a file of the shell's kind, which `shell` runs with `show` after it.
#[cfg(windows)]
fn windows_env_round_trip(s: &Setup, format: &str, ext: &str, show: &str) -> (String, String) {
    let file = s.env.path(&format!("env-{format}.{ext}"));
    let evaluate = |text: String| {
        std::fs::write(&file, text).unwrap();
        let mut cmd = if ext == "cmd" {
            let mut cmd = Command::new("cmd");
            cmd.args(["/d", "/c"]).arg(&file);
            cmd
        } else {
            let mut cmd = Command::new("powershell");
            cmd.args([
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
            ])
            .arg("-File")
            .arg(&file);
            cmd
        };
        // Only what the file sets: none of these from the machine running the tests.
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
        ] {
            cmd.env_remove(name);
        }
        cmd.stdin(Stdio::null());
        let r = run(cmd);
        assert_eq!(r.status, 0, "{format}: {r:?}");
        r.stdout.replace("\r\n", "\n")
    };
    // A batch file echoes its commands unless told not to.
    let quiet = if ext == "cmd" { "@echo off\r\n" } else { "" };
    let r = run(s.env.awsmfa(&["-p", "r0", "env", "--format", format]));
    assert_eq!(r.status, 0, "{r:?}");
    let set = evaluate(format!("{quiet}{}{show}", r.stdout));
    let u = run(s.env.awsmfa(&["env", "--unset", "--format", format]));
    assert_eq!(u.status, 0, "{u:?}");
    let unset = evaluate(format!("{quiet}{}{}{show}", r.stdout, u.stdout));
    (set, unset)
}

/// `env` in cmd and PowerShell: the values `process` hands out, set and cleared by the
/// shell itself; cmd is the default format outside PowerShell.
#[cfg(windows)]
#[test]
fn env_output_evaluates_in_cmd() {
    let s = windows_env_sets_and_clears(
        "cmd",
        "cmd",
        "echo %AWS_ACCESS_KEY_ID%^|%AWS_SECRET_ACCESS_KEY%^|%AWS_SESSION_TOKEN%^|%AWS_REGION%\r\n",
    );
    let r = run(s.env.awsmfa(&["-p", "r0", "env"]));
    assert!(
        r.stdout.contains("set \"AWS_ACCESS_KEY_ID=ASIA"),
        "cmd by default: {r:?}"
    );
}

#[cfg(windows)]
#[test]
fn env_output_evaluates_in_powershell() {
    windows_env_sets_and_clears(
        "powershell",
        "ps1",
        "Write-Output \"$env:AWS_ACCESS_KEY_ID|$env:AWS_SECRET_ACCESS_KEY|$env:AWS_SESSION_TOKEN|$env:AWS_REGION\"\n",
    );
}

/// `env --format FORMAT`, run as a script of extension `ext`, sets exactly what `process`
/// hands out (`show` prints the four values), and `env --unset` clears them.
#[cfg(windows)]
fn windows_env_sets_and_clears(format: &str, ext: &str, show: &str) -> Setup {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let p = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(p.status, 0, "{p:?}");
    let want: Value = serde_json::from_str(&p.stdout).unwrap();
    let (set, unset) = windows_env_round_trip(&s, format, ext, show);
    assert_eq!(
        set,
        format!(
            "{}|{}|{}|us-east-1\n",
            want["AccessKeyId"].as_str().unwrap(),
            want["SecretAccessKey"].as_str().unwrap(),
            want["SessionToken"].as_str().unwrap()
        )
    );
    assert_eq!(unset, "|||\n", "--unset clears them, the region too");
    s
}

#[cfg(unix)]
#[test]
fn quoting_survives_hostile_values_in_every_posix_shell_and_fish() {
    use awsmfa::output::formats::{fish_quote, sh_quote};
    let values = [
        "a'b", "a\\b", "$HOME", "`id`", "a b  c", "x\"y", "*", "a\\'b", "!!", "é€",
    ];
    for v in values {
        for shell in ["bash", "dash"] {
            let got = run_shell(
                shell,
                &format!("X={}; printf '%s' \"$X\"", sh_quote(v).unwrap()),
            );
            assert_eq!(got, v, "{shell} {v:?}");
        }
        let got = run_shell(
            "fish",
            &format!("set X {}; printf '%s' \"$X\"", fish_quote(v).unwrap()),
        );
        assert_eq!(got, v, "fish {v:?}");
    }
}

#[test]
fn bad_profiles_and_bad_cache_files() {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let mut config = s.env.read(".aws/config");
    config.push_str(&format!(
        "\n[profile loop1]\nrole_arn = {a}\nsource_profile = loop2\n[profile loop2]\nrole_arn = {a}\nsource_profile = loop1\n[profile nosource]\nrole_arn = {a}\nsource_profile = missing\n[profile badarn]\nrole_arn = arn:aws:iam::1:role\nsource_profile = base\n[profile baddur]\nrole_arn = {a}\nsource_profile = base\nduration_seconds = 99999\n",
        a = s.roles[0]
    ));
    s.env.write(".aws/config", &config);
    let before = (s.env.read(".aws/config"), s.env.read(".aws/credentials"));
    for (profile, needle) in [
        ("loop1", "loops"),
        ("nosource", "does not exist"),
        ("badarn", "not a role ARN"),
        ("baddur", "duration_seconds"),
    ] {
        let r = run(s.env.awsmfa(&["-p", profile, "process"]));
        assert_eq!(r.status, 5, "{profile}: {r:?}");
        assert!(r.stderr.contains(needle), "{profile}: {r:?}");
        assert!(r.stdout.is_empty());
    }
    assert_eq!(
        (s.env.read(".aws/config"), s.env.read(".aws/credentials")),
        before
    );

    // Fill the cache, then damage its entries in each way: each is ignored (with a
    // warning) and replaced.
    let r = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(r.status, 0, "{r:?}");
    let cache = s.env.cache_dir();
    let entries = || -> Vec<PathBuf> {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                n.ends_with(".json") && !n.starts_with("mfa-")
            })
            .collect()
    };
    assert_eq!(entries().len(), 2);
    type Hurt = Box<dyn Fn(&PathBuf)>;
    // Only the first kind of damage exists off Unix.
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut damage: Vec<(&str, Hurt)> = vec![(
        "corrupt or truncated",
        Box::new(|p: &PathBuf| {
            let text = std::fs::read(p).unwrap();
            std::fs::write(p, &text[..text.len() / 2]).unwrap();
        }),
    )];
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        damage.push((
            "readable by other users",
            Box::new(|p: &PathBuf| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }),
        ));
        // Only root can give a file away.
        if unsafe { libc::getuid() } == 0 {
            damage.push((
                "owned by another user",
                Box::new(|p: &PathBuf| {
                    std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
                }),
            ));
        }
    }
    for (round, (needle, hurt)) in damage.into_iter().enumerate() {
        // The first round damages both entries (a new code is needed), the others
        // only the role's (re-assumed from the MFA session).
        let mut damaged = 0;
        for p in entries() {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            if round == 0 || text.contains("\"kind\": \"role\"") {
                hurt(&p);
                damaged += 1;
            }
        }
        assert!(damaged >= 1);
        let r = run(s.env.awsmfa(&["-p", "r0", "process"]));
        assert_eq!(r.status, 0, "{needle}: {r:?}");
        assert!(r.stderr.contains(needle), "{needle}: {r:?}");
        assert!(serde_json::from_str::<Value>(&r.stdout).is_ok());
        #[cfg(unix)]
        for p in entries() {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&p).unwrap();
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "replaced privately"
            );
        }
    }

    // clear drops one profile's sessions, then all.
    let r = run(s.env.awsmfa(&["clear", "r0"]));
    assert!(
        r.stderr
            .contains("cleared 1 cached session of profile \"r0\""),
        "{r:?}"
    );
    let r = run(s.env.awsmfa(&["clear"]));
    assert!(r.stderr.contains("cleared 1 cached session"), "{r:?}");
    assert!(entries().is_empty());
}

#[test]
fn assume_role_errors_are_clear() {
    let bed = Bed::shared();
    // A role that trusts only with MFA, and a profile without any device.
    let user = bed.user_with("nodev", json!("allow-all"), false);
    let arn = bed.role("strict", None, 3600);
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[src]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile strict]\nrole_arn = {arn}\nsource_profile = src\nendpoint_url = {}\n",
            bed.url
        ),
    );
    let r = run(env.awsmfa(&["-p", "strict", "process"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("is not authorized to perform: sts:AssumeRole"),
        "{r:?}"
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn completions_for_every_shell() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(env.awsmfa(&["completions", shell]));
        assert_eq!(r.status, 0, "{r:?}");
        assert!(r.stdout.contains("COMPLETE"), "{shell}: {r:?}");
    }
}

/// A shell with awsmfa on PATH and the test's HOME.
#[cfg(unix)]
fn shell_with_awsmfa(env: &TestEnv, shell: &str, script: &str) -> String {
    let bin = common::awsmfa_bin();
    let out = Command::new(shell)
        .args(["-c", script])
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", env.home.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(unix)]
#[test]
fn profile_names_complete_in_bash_and_fish_and_typos_get_a_suggestion() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[default]\nregion = us-east-1\n[profile work]\n[profile prod-admin]\n[services wasabi]\n",
    );
    env.write(".aws/credentials", "[mfa-demo-long-term]\n[mfa-demo]\n");
    let bash = shell_with_awsmfa(
        &env,
        "bash",
        "source <(awsmfa completions bash)\nCOMP_WORDS=(awsmfa -p ''); COMP_CWORD=2; COMP_TYPE=9\n_clap_complete_awsmfa awsmfa '' -p\nprintf '%s\\n' \"${COMPREPLY[@]}\"\nCOMP_WORDS=(awsmfa lo); COMP_CWORD=1\n_clap_complete_awsmfa awsmfa lo awsmfa\nprintf '%s\\n' \"${COMPREPLY[@]}\"",
    );
    assert_eq!(
        bash, "default\nmfa-demo\nprod-admin\nwork\nlogin\n",
        "{bash}"
    );
    let fish = shell_with_awsmfa(
        &env,
        "fish",
        "awsmfa completions fish | source\ncomplete -C 'awsmfa --profile pr'\ncomplete -C 'awsmfa exec -p w'",
    );
    assert_eq!(fish, "prod-admin\nwork\n", "{fish}");
    // A typo: the profile meant.
    let r = run(env.awsmfa(&["-p", "mfa-dem", "process"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr.contains("hint: did you mean `-p mfa-demo`?"),
        "{r:?}"
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn seed_003_aws_vault_style_source_profiles_work_unchanged() {
    // The seed's layout: long-term keys come from the source profile's
    // credential_process (aws-vault exec --no-session --json); here a command that
    // prints the same JSON. Keys are never in the credentials file.
    let bed = Bed::shared();
    let user = bed.user_with("caktus", json!("allow-all"), true);
    let role = bed.role("saguaro", None, 3600);
    let bucket = bed.bucket("caktus");
    let env = TestEnv::new();
    let keys = env.path("vault-keys.json");
    std::fs::write(
        &keys,
        json!({"Version": 1, "AccessKeyId": user.access_key_id, "SecretAccessKey": user.secret_access_key})
            .to_string(),
    )
    .unwrap();
    let config = format!(
        "; Caktus Managed AWS\n[profile caktus]\ncredential_process={keys}\n\n[profile caktus-mfa]\nmfa_serial={serial}\nsource_profile=caktus\nregion=us-east-1\noutput=json\nendpoint_url={url}\n\n; Assume Role setup\n[profile saguaro-cluster]\nmfa_serial={serial}\nrole_arn={role}\nsource_profile=caktus\nregion=us-east-1\nendpoint_url={url}\n",
        keys = common::cat_command(&keys),
        serial = user.mfa_serial,
        url = bed.url
    );
    env.write(".aws/config", &config);
    let r = run(env.awsmfa(&[
        "-p",
        "caktus-mfa",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("logged in: profile caktus-mfa"), "{r:?}");
    assert_eq!(env.read(".aws/config"), config, "the config is untouched");
    let ls = run(env.aws(&["--profile", "caktus-mfa", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket));
    // The role behind the same device: no new code, from the cached MFA session.
    let aws = common::aws_argv();
    let mut args = vec!["-p", "saguaro-cluster", "exec", "--"];
    args.extend(aws.iter().map(String::as_str));
    args.extend([
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]);
    let r = run(env.awsmfa(&args));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(":assumed-role/saguaro"), "{r:?}");
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), 1);
    // A failing credential_process is a clear configuration error.
    std::fs::remove_file(&keys).unwrap();
    let r = run(env.awsmfa(&[
        "-p",
        "caktus-mfa",
        "login",
        "--force",
        "--token-code",
        &bed.code(&user.mfa_serial, 1),
    ]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("the credential_process of profile \"caktus\": it failed (exit status 1)"),
        "{r:?}"
    );
}

/// Issue 24: with AWS files big enough for the section index, `process` and `env` read the
/// profile's sections through it, and an edit made at once after the index was written
/// (the same size, within the same second) is seen by the very next call.
#[test]
fn a_big_config_goes_through_the_index_and_an_edit_is_seen_at_once() {
    let bed = Bed::shared();
    let s = setup(bed, 1, true);
    let mut config = s.env.read(".aws/config");
    for i in 0..2000 {
        config.push_str(&format!(
            "\n[profile pad{i}]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/u{i}\n"
        ));
    }
    s.env.write(".aws/config", &config);
    let first = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(first.status, 0, "{first:?}");
    // Files written a moment ago get no index; once settled, the next call writes it.
    std::thread::sleep(Duration::from_millis(2100));
    let region = |r: &Run| {
        r.stdout
            .lines()
            .find(|l| l.contains("AWS_REGION="))
            .unwrap_or_default()
            .to_string()
    };
    let before = run(s.env.awsmfa(&["-p", "r0", "env", "--format", "sh"]));
    assert!(region(&before).contains("us-east-1"), "{before:?}");
    let indexes = |dir: &std::path::Path| {
        common::files_under(dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .count()
    };
    // Windows has no change time that every write sets: no index there (sys::file_stamp).
    let written = if cfg!(windows) { 0 } else { 1 };
    assert_eq!(indexes(s.env.home.path()), written, "the index is written");
    let again = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(
        again.stdout, first.stdout,
        "the same session, through the index"
    );
    // The same size, at once: only the change time can tell.
    let edited = config.replacen(
        "source_profile = base\nregion = us-east-1",
        "source_profile = base\nregion = us-west-2",
        1,
    );
    assert_eq!(edited.len(), config.len());
    s.env.write(".aws/config", &edited);
    let after = run(s.env.awsmfa(&["-p", "r0", "env", "--format", "sh"]));
    assert!(region(&after).contains("us-west-2"), "{after:?}");
    let process = run(s.env.awsmfa(&["-p", "r0", "process"]));
    assert_eq!(process.stdout, first.stdout, "still the cached session");
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), 1);
}
