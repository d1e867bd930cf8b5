//! Hand-offs that never stall and never switch identity: `exec --server` across several
//! MFA lifetimes (cold and warm cache) with boto3 and the AWS CLI as clients, a stuck
//! renewal that must not keep awsmfa alive after its child, the served identity winning
//! over `[default]` keys and web-identity variables, `eval "$(awsmfa server)"` in bash
//! and fish, `env` with a Wasabi-style profile's endpoints, and aws-mfa on the same files.
// Run against the Linux test bed; Windows is covered by the smoke test in scripts/cross.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Bed, TestEnv, User, count_lines, port_closed, run, shell, venv_bin, wait_gone};
use serde_json::json;

/// A code command that always prints the current code and counts its calls; it hangs
/// (like a security key nobody touches) while the file `hang` exists beside it.
fn code_command(env: &TestEnv, user: &User, counter: &Path) -> PathBuf {
    let script = env.path("code.sh");
    let hang = env.path("hang");
    let text = format!(
        "#!/bin/sh\n\
         echo used >> '{count}'\n\
         if [ -e '{hang}' ]; then touch '{hang}.seen'; exec sleep 300; fi\n\
         exec '{python}' '{bed}' totp {seed}\n",
        count = counter.display(),
        hang = hang.display(),
        python = venv_bin("python").display(),
        bed = common::root().join("tests/bed/bed.py").display(),
        seed = user.mfa_seed
    );
    std::fs::write(&script, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

struct Setup {
    env: TestEnv,
    user: User,
    role_arn: String,
    counter: PathBuf,
}

/// `base` (keys in aws-mfa's layout, device, mfa_process) and role profile `r` on it.
fn setup(bed: &Bed, prefix: &str) -> Setup {
    let user = bed.user_with(prefix, json!("allow-all"), true);
    let role_arn = bed.role(&format!("{prefix}role"), None, 3600);
    let env = TestEnv::new();
    let counter = env.path("codes");
    let script = code_command(&env, &user, &counter);
    env.write(
        ".aws/credentials",
        &format!(
            "[base-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile base]\nregion = us-east-1\nendpoint_url = {url}\nmfa_serial = {}\nmfa_process = {}\n\n[profile r]\nrole_arn = {role_arn}\nsource_profile = base\nregion = us-east-1\nendpoint_url = {url}\n",
            user.mfa_serial,
            script.display(),
            url = bed.url
        ),
    );
    Setup {
        env,
        user,
        role_arn,
        counter,
    }
}

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

/// Under `exec --server`, boto3 (one client for the whole run) and an AWS CLI loop call
/// STS every few seconds for `secs`; MFA sessions last 60 s, role sessions 20 s.
fn long_run(warm: bool) {
    let bed = Bed::private();
    bed.configure(json!({"session_seconds": 60, "role_session_seconds": 20}));
    let s = setup(&bed, if warm { "warm" } else { "cold" });
    if warm {
        let r = run(s.env.awsmfa(&["-p", "r", "process"]));
        assert_eq!(r.status, 0, "{r:?}");
    }
    let secs = 100;
    let boto_out = s.env.path("boto.out");
    let cli_out = s.env.path("cli.out");
    let job = s.env.path("job.py");
    std::fs::write(
        &job,
        format!(
            "import boto3, sys, time\n\
             sts = boto3.client('sts')\n\
             end = time.time() + {secs}\n\
             ok = fails = 0\n\
             arns = set()\n\
             while time.time() < end:\n\
             \x20   try:\n\
             \x20       arns.add(sts.get_caller_identity()['Arn']); ok += 1\n\
             \x20   except Exception as e:\n\
             \x20       fails += 1; print(e, file=sys.stderr)\n\
             \x20   time.sleep(2)\n\
             open('{out}', 'w').write('%d %d %s' % (ok, fails, ' '.join(sorted(arns))))\n",
            out = boto_out.display()
        ),
    )
    .unwrap();
    let loop_script = format!(
        "'{python}' '{job}' & job=$!\n\
         ok=0; fails=0; end=$(( $(date +%s) + {secs} ))\n\
         while [ $(date +%s) -lt $end ]; do\n\
         \x20 if '{aws}' sts get-caller-identity --query Arn --output text >> '{cli}.arns'; then ok=$((ok+1)); else fails=$((fails+1)); fi\n\
         \x20 sleep 3\n\
         done\n\
         wait $job\n\
         echo \"$ok $fails\" > '{cli}'\n\
         exit 7\n",
        python = venv_bin("python").display(),
        job = job.display(),
        aws = venv_bin("aws").display(),
        cli = cli_out.display(),
    );
    let started = Instant::now();
    let r = run(s.env.awsmfa(&[
        "-p",
        "r",
        "exec",
        "--server",
        "--",
        "sh",
        "-c",
        &loop_script,
    ]));
    let took = started.elapsed();
    assert_eq!(r.status, 7, "the child's status: {r:?}");
    let boto = std::fs::read_to_string(&boto_out).unwrap();
    let boto: Vec<&str> = boto.split_whitespace().collect();
    let (ok, fails): (u32, u32) = (boto[0].parse().unwrap(), boto[1].parse().unwrap());
    assert_eq!(fails, 0, "boto3 calls failed: {r:?}");
    assert!(ok >= secs / 3, "{boto:?}");
    assert!(boto[2..].iter().all(|a| a.contains(role_name(&s.role_arn))));
    let cli = std::fs::read_to_string(&cli_out).unwrap();
    let cli: Vec<u32> = cli.split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert_eq!(cli[1], 0, "AWS CLI calls failed: {r:?}");
    assert!(cli[0] >= secs / 6, "{cli:?}");
    let codes = count_lines(&s.counter) as u32;
    let sessions = bed.user_calls(&s.user, "sts:GetSessionToken") as u32;
    let roles = bed.user_calls(&s.user, "sts:AssumeRole") as u32;
    eprintln!(
        "{}: {ok} boto3 and {} CLI calls in {took:?}; {codes} codes, {sessions} MFA sessions, {roles} AssumeRole",
        if warm { "warm" } else { "cold" },
        cli[0]
    );
    // One code per MFA session, and the MFA session was renewed (60 s sessions, used
    // for 45 s each).
    assert_eq!(codes, sessions);
    assert!(sessions >= 3, "renewed across MFA lifetimes: {sessions}");
    assert!(sessions <= secs / 45 + 2, "{sessions} sessions");
    // 20 s roles are used for 15 s each: not one AssumeRole per call.
    assert!(roles <= secs / 15 + 4, "{roles} AssumeRole calls");
    assert!(took < Duration::from_secs(u64::from(secs) + 30), "{took:?}");
}

#[test]
fn exec_server_renews_across_mfa_lifetimes_from_a_cold_cache() {
    long_run(false);
}

#[test]
fn exec_server_renews_across_mfa_lifetimes_from_a_warm_cache() {
    long_run(true);
}

#[test]
fn a_stuck_renewal_never_outlives_the_child_nor_ignores_signals() {
    let bed = Bed::private();
    let s = setup(&bed, "stuck");
    let ready = s.env.path("ready");
    let go = s.env.path("go");
    let hang = s.env.path("hang");
    // boto3 gets credentials, then (after the test dropped every cached session and made
    // the code source hang) a new client asks again: the server's renewal is stuck.
    let job = |then: &str| {
        format!(
            "import boto3, os, sys, time\n\
             boto3.client('sts').get_caller_identity()\n\
             open('{ready}', 'w').close()\n\
             while not os.path.exists('{go}'): time.sleep(0.05)\n\
             try:\n\
             \x20   boto3.session.Session().client('sts').get_caller_identity(); print('served?!')\n\
             except Exception as e:\n\
             \x20   print('no credentials:', type(e).__name__)\n\
             {then}\n",
            ready = ready.display(),
            go = go.display(),
        )
    };
    let python = venv_bin("python");
    let start = |script: String| {
        let mut cmd = s.env.awsmfa(&[
            "-p",
            "r",
            "exec",
            "--server",
            "--",
            python.to_str().unwrap(),
            "-c",
            &script,
        ]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let stick = |child: std::process::Child| {
        let reached = |path: &Path| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !path.exists() {
                if Instant::now() > deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            true
        };
        let mut ok = reached(&ready);
        if ok {
            let r = run(s.env.awsmfa(&["clear"]));
            assert_eq!(r.status, 0, "{r:?}");
            std::fs::write(&hang, "").unwrap();
            std::fs::write(&go, "").unwrap();
            ok = reached(&s.env.path("hang.seen"));
        }
        if !ok {
            let mut child = child;
            let _ = child.kill();
            panic!("no stuck renewal: {:?}", child.wait_with_output());
        }
        child
    };

    // 1. The child exits while a renewal is stuck: awsmfa exits with its status at once.
    let child = stick(start(job("sys.exit(9)")));
    // Another awsmfa needing the same session waits for the stuck one…
    let mut other = s.env.awsmfa(&["-p", "r", "process"]);
    other.stdout(Stdio::piped()).stderr(Stdio::piped());
    let other = other.spawn().unwrap();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(9), "{out:?}");
    assert!(took < Duration::from_secs(30), "exited {took:?} after");
    // …and gets it once awsmfa is gone (its locks went with it).
    std::fs::remove_file(&hang).unwrap();
    let other = other.wait_with_output().unwrap();
    assert!(other.status.success(), "{other:?}");

    // 2. SIGTERM while a renewal is stuck: forwarded to the child, awsmfa ends with it.
    for f in [&ready, &go, &s.env.path("hang.seen")] {
        let _ = std::fs::remove_file(f);
    }
    let child = stick(start(job("time.sleep(300)")));
    std::thread::sleep(Duration::from_secs(8)); // boto3 has given up and sleeps
    let t = Instant::now();
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + 15), "{out:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    std::fs::remove_file(&hang).unwrap();
}

/// `[default]` with another user's working keys in the credentials file, and
/// web-identity variables and `AWS_PROFILE` in the parent environment.
fn hostile_defaults(bed: &Bed, s: &mut Setup) -> User {
    let other = bed.user_with("dflt", json!("allow-all"), false);
    let creds = s.env.read(".aws/credentials");
    s.env.write(
        ".aws/credentials",
        &format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n{creds}",
            other.access_key_id, other.secret_access_key
        ),
    );
    let token = s.env.path("web-identity-token");
    std::fs::write(&token, "eyJhbGciOiJIUzI1NiJ9.e30.x").unwrap();
    s.env
        .set("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap());
    s.env
        .set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/Other");
    s.env.set("AWS_PROFILE", "default");
    other
}

#[test]
fn served_children_use_the_served_session_whatever_default_offers() {
    let bed = Bed::shared();
    let mut s = setup(bed, "ident");
    let other = hostile_defaults(bed, &mut s);
    let role = role_name(&s.role_arn).to_string();
    let whoami_js = common::root().join("tests/js/whoami.mjs");
    assert!(
        common::root().join("tests/js/node_modules").exists(),
        "the JavaScript SDK is missing: run scripts/test"
    );
    let show = format!(
        "'{aws}' sts get-caller-identity --query Arn --output text; '{python}' -c \"import boto3; s = boto3.Session(); print(s.get_credentials().method, s.client('sts').get_caller_identity()['Arn'])\"; node '{js}'",
        aws = venv_bin("aws").display(),
        python = venv_bin("python").display(),
        js = whoami_js.display(),
    );
    let check = |r: &common::Run, what: &str| {
        assert_eq!(r.status, 0, "{what}: {r:?}");
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{what}: {r:?}");
        assert!(
            lines[2].contains(&format!("assumed-role/{role}/")),
            "JS SDK, {what}: {r:?}"
        );
        assert!(
            lines[0].contains(&format!("assumed-role/{role}/")),
            "{what}: {r:?}"
        );
        assert!(
            lines[1].starts_with("container-role ") && lines[1].contains(&role),
            "{what}: {r:?}"
        );
        assert!(!r.stdout.contains(&other.name), "{what}: {r:?}");
    };
    // exec --server.
    let r = run(s
        .env
        .awsmfa(&["-p", "r", "exec", "--server", "--", "sh", "-c", &show]));
    check(&r, "exec --server, [default] keys in the credentials file");

    // The same with the config's default profile as a credential_process source.
    let config = s.env.read(".aws/config");
    s.env.write(
        ".aws/config",
        &format!(
            "[default]\nregion = us-east-1\ncredential_process = printf '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n\n{config}",
            other.access_key_id, other.secret_access_key
        ),
    );
    let creds = s.env.read(".aws/credentials");
    s.env
        .write(".aws/credentials", creds.split_once("\n\n").unwrap().1);
    let r = run(s
        .env
        .awsmfa(&["-p", "r", "exec", "--server", "--", "sh", "-c", &show]));
    check(
        &r,
        "exec --server, credential_process in the config's [default]",
    );
    // The user's own config is untouched; the child's copy is gone with awsmfa.
    assert!(s.env.read(".aws/config").contains("credential_process"));

    // eval "$(awsmfa server)" in bash.
    let r = run(shell(
        &s.env,
        "bash",
        &format!("eval \"$(awsmfa -p r server)\" || exit 99\n{show}"),
    ));
    check(&r, "eval \"$(awsmfa server)\" in bash");
}

#[test]
fn server_in_bash_and_fish_returns_at_once_serves_the_shell_and_ends_with_it() {
    let bed = Bed::shared();
    let bucket = bed.bucket("srvbg");
    let s = setup(bed, "bg");
    // bash: eval returns at once; the AWS CLI in that shell works with no flags; the
    // server is listed, and stops when the shell exits.
    let t = Instant::now();
    let r = run(shell(
        &s.env,
        "bash",
        "eval \"$(awsmfa -p r server)\" || exit 99\n\
         echo \"url=$AWS_CONTAINER_CREDENTIALS_FULL_URI\"\n\
         aws s3 ls\n\
         awsmfa server --list",
    ));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert!(r.stdout.contains(&bucket), "{r:?}");
    assert!(r.stderr.contains("in the background"), "{r:?}");
    let url = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("url="))
        .unwrap()
        .to_string();
    assert!(
        r.stdout.contains(&format!("\"r\"\t{url}\t")),
        "listed: {r:?}"
    );
    wait_gone(&s.env, "after bash exited");
    assert!(port_closed(&url));

    // fish: `| source`, and --stop for a server told to outlive its shell.
    let r = run(shell(
        &s.env,
        "fish",
        "awsmfa -p r server --detach | source; or exit 99\n\
         echo \"url=$AWS_CONTAINER_CREDENTIALS_FULL_URI\"\n\
         aws s3 ls",
    ));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(&bucket), "{r:?}");
    let url = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("url="))
        .unwrap()
        .to_string();
    std::thread::sleep(Duration::from_secs(3));
    assert!(!port_closed(&url), "--detach outlives the shell");
    let r = run(s.env.awsmfa(&["-p", "r", "server", "--stop"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("stopped the server"), "{r:?}");
    wait_gone(&s.env, "after --stop");
    assert!(port_closed(&url));
    assert_eq!(count_lines(&s.counter), 1, "one code for everything");
}

#[test]
fn env_exports_the_endpoints_of_a_wasabi_style_profile_and_unset_clears_them() {
    let bed = Bed::shared();
    let bucket = bed.bucket("wz");
    let user = bed.user_with("wz", json!("force-mfa"), true);
    let env = TestEnv::new();
    let counter = env.path("codes");
    let script = code_command(&env, &user, &counter);
    env.write(
        ".aws/credentials",
        &format!(
            "[wz-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_mfa_device = {}\n",
            user.access_key_id, user.secret_access_key, user.mfa_serial
        ),
    );
    // Endpoints only per service, as for Wasabi (no profile-wide endpoint_url).
    env.write(
        ".aws/config",
        &format!(
            "[profile wz]\nregion = eu-central-2\nservices = wz\nmfa_process = {}\n\n[services wz]\ns3 =\n  endpoint_url = {url}\nsts =\n  endpoint_url = {url}\n",
            script.display(),
            url = bed.url
        ),
    );
    let show = "echo \"s3=${AWS_ENDPOINT_URL_S3-none} region=${AWS_REGION-none} key=${AWS_ACCESS_KEY_ID-none}\"";
    let r = run(shell(
        &env,
        "bash",
        &format!(
            "eval \"$(awsmfa -p wz env)\" || exit 99\n{show}\naws s3 ls || exit 98\neval \"$(awsmfa env --unset)\"\n{show}"
        ),
    ));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(&bucket), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("s3=")).collect();
    assert!(
        lines[0].starts_with(&format!("s3={} region=eu-central-2 key=ASIA", bed.url)),
        "{r:?}"
    );
    assert_eq!(lines[1], "s3=none region=none key=none", "{r:?}");
    let fish_show = "echo \"s3=$AWS_ENDPOINT_URL_S3 region=$AWS_REGION\"";
    let r = run(shell(
        &env,
        "fish",
        &format!(
            "awsmfa -p wz env | source; or exit 99\n{fish_show}\naws s3 ls; or exit 98\nawsmfa env --unset | source\n{fish_show}"
        ),
    ));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(&bucket), "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("s3={} region=eu-central-2\n", bed.url)),
        "{r:?}"
    );
    assert!(r.stdout.ends_with("s3= region=\n"), "{r:?}");
    assert_eq!(count_lines(&counter), 1);
}

#[test]
fn aws_mfa_and_awsmfa_take_turns_on_one_file() {
    let bed = Bed::shared();
    let user = bed.user_with("turns", json!("force-mfa"), true);
    let bucket = bed.bucket("turns");
    let env = TestEnv::new();
    env.long_term_layout("work", &user, bed);
    // Each code of a time step not used before (STS refuses a reused one), away from a
    // step's edge so that the bed computes the same step.
    let used = std::cell::RefCell::new(std::collections::HashSet::new());
    let code = || {
        loop {
            let now = jiff::Timestamp::now().as_second();
            if (1..29).contains(&(now % 30)) {
                for offset in [0, 1, -1] {
                    if used.borrow_mut().insert(now / 30 + offset) {
                        return bed.code(&user.mfa_serial, offset);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let aws_mfa = |force: bool| {
        let mut cmd = Command::new(venv_bin("aws-mfa"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", env.home.path())
            .env("AWS_ENDPOINT_URL_STS", &bed.url)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["--profile", "work", "--log-level", "INFO"]);
        if force {
            cmd.arg("--force");
        }
        common::run_with_input(cmd, &format!("{}\n", code()))
    };
    let s3 = || {
        let r = run(env.aws(&["--profile", "work", "s3", "ls"]));
        assert_eq!(r.status, 0, "{r:?}");
        assert!(r.stdout.contains(&bucket), "{r:?}");
    };
    let key = || common::section_value(&env.read(".aws/credentials"), "work", "aws_access_key_id");

    // aws-mfa first: a 12 h session in [work], its expiry in its own form.
    let r = aws_mfa(false);
    assert_eq!(r.status, 0, "{r:?}");
    let first = key().unwrap();
    s3();
    // awsmfa reads that expiry: nothing to do, no code asked (there is no way to ask).
    let r = run(env.awsmfa(&["-p", "work", "login"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(key().unwrap(), first, "aws-mfa's session was kept");
    let r = run(env.awsmfa(&["status"]));
    assert!(
        r.stdout.contains("work") && !r.stdout.contains("no expiry"),
        "{r:?}"
    );
    // awsmfa renews (a new code): the section stays readable by aws-mfa.
    let r = run(env.awsmfa(&["-p", "work", "login", "--force", "--token-code", &code()]));
    assert_eq!(r.status, 0, "{r:?}");
    let second = key().unwrap();
    assert_ne!(second, first);
    let text = env.read(".aws/credentials");
    let exp = common::section_value(&text, "work", "expiration").unwrap();
    assert!(
        !exp.contains('T') && !exp.ends_with('Z'),
        "aws-mfa's form: {exp}"
    );
    assert_eq!(
        common::section_value(&text, "work", "aws_security_token"),
        common::section_value(&text, "work", "aws_session_token")
    );
    s3();
    // aws-mfa: still valid, no crash, no code used.
    let r = aws_mfa(false);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains("still valid"), "{r:?}");
    assert_eq!(key().unwrap(), second);
    // aws-mfa renews again, and awsmfa still reads it.
    let r = aws_mfa(true);
    assert_eq!(r.status, 0, "{r:?}");
    let third = key().unwrap();
    assert_ne!(third, second);
    let r = run(env.awsmfa(&["-p", "work", "login"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(key().unwrap(), third);
    s3();
}

#[test]
fn exec_status_for_missing_programs_and_a_word_before_a_shell_and_core_limits() {
    let bed = Bed::shared();
    let s = setup(bed, "ex");
    let r = run(s
        .env
        .awsmfa(&["-p", "base", "exec", "--", "no-such-program-here"]));
    assert_eq!(r.status, 127, "{r:?}");
    assert!(
        r.stderr.contains("cannot run no-such-program-here"),
        "{r:?}"
    );
    let plain = s.env.path("not-executable");
    std::fs::write(&plain, "true\n").unwrap();
    let r = run(s
        .env
        .awsmfa(&["-p", "base", "exec", "--", plain.to_str().unwrap()]));
    assert_eq!(r.status, 126, "{r:?}");

    let mut cmd = s.env.awsmfa(&["-p", "base", "exec"]);
    cmd.env("SHELL", "/bin/sh");
    let r = common::run_with_input(cmd, "exit 0\n");
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("starting a shell with the session of profile \"base\" until "),
        "{r:?}"
    );

    // The child gets the limits this test runs with, not awsmfa's own.
    let limits = "echo $(ulimit -Hc) $(ulimit -Sc)";
    let want = common::with_core_limit(Command::new("sh").args(["-c", limits]), 1 << 20)
        .output()
        .unwrap();
    let mut exec = s
        .env
        .awsmfa(&["-p", "base", "exec", "--", "sh", "-c", limits]);
    common::with_core_limit(&mut exec, 1 << 20);
    let r = run(exec);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(r.stdout, String::from_utf8_lossy(&want.stdout));
}

/// `exec` hands the command this environment byte for byte but for what it must change:
/// a variable that is not UTF-8 and one with `=` in its value arrive as they were, the
/// session's key replaces an inherited one (once: no name twice), AWS_PROFILE goes, and
/// AWS_REGION set by the person wins over the profile's, as in the AWS CLI.
#[test]
fn exec_hands_on_the_environment_byte_for_byte_but_for_the_identity() {
    use std::os::unix::ffi::OsStrExt;
    let bed = Bed::shared();
    let s = setup(bed, "ee");
    let script = "printf %s \"$ODD\" | od -An -tx1 | tr -d ' \\n'; echo; \
                  echo \"eq=$EQ region=$AWS_REGION profile=${AWS_PROFILE-unset}\"; \
                  echo \"key=${AWS_ACCESS_KEY_ID%${AWS_ACCESS_KEY_ID#????}}\"; \
                  env | sed 's/=.*//' | sort | uniq -d";
    let mut cmd = s.env.awsmfa(&["-p", "r", "exec", "--", "sh", "-c", script]);
    cmd.env(
        std::ffi::OsStr::from_bytes(b"ODD"),
        std::ffi::OsStr::from_bytes(b"\xff\xfe=x"),
    )
    .env("EQ", "a=b=c")
    .env("AWS_REGION", "eu-west-3")
    .env("AWS_PROFILE", "other")
    .env("AWS_ACCESS_KEY_ID", "AKIAOLDOLDOLDOLDOLD1");
    let r = run(cmd);
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout, "fffe3d78\neq=a=b=c region=eu-west-3 profile=unset\nkey=ASIA\n",
        "{r:?}"
    );
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat`, field 22).
fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}

/// The pid a line `until pid N exits` of `server --list` names.
fn watched_pids(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| l.split("until pid ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(String::from)
        .collect()
}

// Issue 21, 1: with a redirection inside `$(…)` bash runs awsmfa from a short-lived
// subshell; the server watched that subshell and died at once, leaving the shell
// pointing at a dead port.
#[test]
fn the_server_lives_as_long_as_the_shell_that_holds_its_variables_in_every_eval_form() {
    let bed = Bed::shared();
    let s = setup(bed, "ev");
    let forms = [
        (
            "bash",
            "eval \"$(awsmfa -p r server 2>/dev/null)\" || exit 99",
        ),
        ("bash", "eval \"$(true; awsmfa -p r server)\" || exit 99"),
        (
            "bash",
            "x=$( (awsmfa -p r server) ) && eval \"$x\" || exit 99",
        ),
        (
            "dash",
            "eval \"$(awsmfa -p r server 2>/dev/null)\" || exit 99",
        ),
        (
            "zsh",
            "eval \"$(awsmfa -p r server 2>/dev/null)\" || exit 99",
        ),
        (
            "fish",
            "awsmfa -p r server 2>/dev/null | source; or exit 99",
        ),
    ];
    for (program, line) in forms {
        let pid_of_shell = if program == "fish" { "$fish_pid" } else { "$$" };
        let r = run(shell(
            &s.env,
            program,
            &format!(
                "{line}\necho \"shell={pid_of_shell}\"\nsleep 1\nawsmfa server --list\n\
                 aws sts get-caller-identity --query Arn --output text"
            ),
        ));
        let what = format!("{program}: {line}");
        assert_eq!(r.status, 0, "{what}: {r:?}");
        let shell_pid = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("shell="))
            .unwrap_or_else(|| panic!("{what}: {r:?}"))
            .to_string();
        assert_eq!(
            watched_pids(&r.stdout),
            vec![shell_pid],
            "{what}: the server watches the shell itself: {r:?}"
        );
        assert!(
            r.stdout
                .contains(&format!("assumed-role/{}/", role_name(&s.role_arn))),
            "{what}: {r:?}"
        );
        wait_gone(&s.env, &format!("{what}, after the shell exited"));
    }
    assert_eq!(count_lines(&s.counter), 1, "one code for everything");
}

// Issue 21, 2: a stopped server left the shell holding its URL and token, and another
// local user could take the freed port.
#[test]
fn stop_without_a_profile_stops_this_shells_server_and_clears_its_variables() {
    let bed = Bed::shared();
    let s = setup(bed, "st");
    let show = "echo \"uri=[${AWS_CONTAINER_CREDENTIALS_FULL_URI-}] token=[${AWS_CONTAINER_AUTHORIZATION_TOKEN:+set}] marker=[${AWSMFA_ENV_VARS-}]\"";
    // Another shell's server, which this shell's --stop must leave alone.
    let other = run(shell(
        &s.env,
        "bash",
        "eval \"$(awsmfa -p base server --detach)\" || exit 99\necho \"url=$AWS_CONTAINER_CREDENTIALS_FULL_URI\"",
    ));
    assert_eq!(other.status, 0, "{other:?}");
    let other_url = other
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("url="))
        .unwrap()
        .to_string();
    for program in ["bash", "zsh"] {
        let r = run(shell(
            &s.env,
            program,
            &format!(
                "eval \"$(awsmfa -p r server)\" || exit 99\necho \"url=$AWS_CONTAINER_CREDENTIALS_FULL_URI\"\n\
                 eval \"$(awsmfa server --stop)\" || exit 98\n{show}\n\
                 aws sts get-caller-identity --query Arn --output text 2>&1; true"
            ),
        ));
        assert_eq!(r.status, 0, "{program}: {r:?}");
        assert!(
            r.stderr.contains("stopped the server of profile \"r\""),
            "{program}: {r:?}"
        );
        assert!(
            r.stdout.contains("uri=[] token=[] marker=[]"),
            "{program}: every variable server set is cleared: {r:?}"
        );
        assert!(
            !r.stdout.contains("assumed-role/"),
            "{program}: nothing is served to the shell after --stop: {r:?}"
        );
        let url = r
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("url="))
            .unwrap()
            .to_string();
        assert!(port_closed(&url), "{program}");
    }
    let r = run(s.env.awsmfa(&["server", "--list"]));
    assert!(
        r.stdout.contains(&other_url),
        "the other shell's server runs on: {r:?}"
    );
    // On a terminal --stop says how to clear the variables instead of printing them;
    // with no server of this shell's it says so and changes nothing.
    let r = run(s.env.awsmfa(&["server", "--stop"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("no server was started from this shell"),
        "{r:?}"
    );
    assert!(r.stdout.is_empty(), "{r:?}");
    let r = run(s.env.awsmfa(&["server", "--stop", "--all"]));
    assert_eq!(r.status, 0, "{r:?}");
    wait_gone(&s.env, "after --stop --all");
    assert!(port_closed(&other_url));
}

// Issue 21, 1: a pid alone is not a process: once the watched shell is gone its pid
// can go to another process, which must not keep the server alive.
#[test]
fn a_process_that_took_the_shells_pid_does_not_keep_the_server_alive() {
    let bed = Bed::shared();
    let s = setup(bed, "pr");
    let r = run(s.env.awsmfa(&["-p", "r", "process"]));
    assert_eq!(r.status, 0, "{r:?}");
    let mut stranger = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = stranger.id().to_string();
    let start = start_time(stranger.id());
    for (watch_start, lives) in [(start + 1, false), (start, true)] {
        let mut daemon = s.env.awsmfa(&[
            "-p",
            "r",
            "server",
            "--daemon",
            "--watch-pid",
            &pid,
            "--watch-start",
            &watch_start.to_string(),
        ]);
        daemon.stdout(Stdio::null()).stderr(Stdio::null());
        let mut daemon = daemon.spawn().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        let running = daemon.try_wait().unwrap().is_none();
        assert_eq!(
            running, lives,
            "watching pid {pid} started at {watch_start}"
        );
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

// Issue 21, 3: the config copy for the child was made in /tmp with the umask's mode;
// under `umask 000` another user swapped it and ran their credential_process.
#[test]
fn exec_server_makes_the_childs_config_copy_private_whatever_the_umask() {
    let bed = Bed::shared();
    let s = setup(bed, "um");
    let config = s.env.read(".aws/config");
    s.env.write(
        ".aws/config",
        &format!("[default]\nregion = us-east-1\ncredential_process = false\n\n{config}"),
    );
    let r = run(shell(
        &s.env,
        "sh",
        "umask 000; exec awsmfa -p r exec --server -- sh -c 'd=$(dirname \"$AWS_CONFIG_FILE\"); echo \"dir=$d\"; stat -c \"mode=%a parent=%a\" \"$d\" \"$(dirname \"$d\")\" | tr \"\\n\" \" \"; stat -c \"file=%a\" \"$AWS_CONFIG_FILE\"'",
    ));
    assert_eq!(r.status, 0, "{r:?}");
    let cache = s.env.path(".cache/awsmfa/scratch");
    let dir = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("dir="))
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(
        Path::new(dir).starts_with(&cache),
        "the copy is in the private cache, not /tmp: {r:?}"
    );
    assert!(r.stdout.contains("mode=700 parent=700"), "{r:?}");
    assert!(r.stdout.contains("file=600"), "{r:?}");
    assert!(
        std::fs::read_dir(&cache).unwrap().next().is_none(),
        "the copy is gone with the child"
    );
}

// Issue 21, 4: --list and --stop read records without the checks every other command
// makes: a planted record got an unrelated process killed and its fields put escape
// sequences on the terminal.
#[test]
fn list_and_stop_trust_no_record_they_cannot_verify() {
    let env = TestEnv::new();
    let servers = env.path(".cache/awsmfa/servers");
    std::fs::create_dir_all(&servers).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for d in [env.path(".cache/awsmfa"), servers.clone()] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut victim = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = victim.id();
    // A record that names the victim by pid and start time but not by executable, held
    // locked as a running server's is, with terminal escapes in its fields.
    let start = start_time(pid);
    let record = servers.join(format!("{pid}.json"));
    std::fs::write(
        &record,
        json!({
            "pid": pid, "start": start, "exe": "/usr/local/bin/awsmfa",
            "profile": "x\u{1b}]0;pwned\u{7}", "url": "http://127.0.0.1:1/awsmfa/credentials\u{1b}[2J",
            "started": "2026-01-01T00:00:00Z", "watch_pid": null
        })
        .to_string(),
    )
    .unwrap();
    let held = std::fs::File::open(&record).unwrap();
    held.lock_shared().unwrap();
    // A link among the records is never followed.
    std::os::unix::fs::symlink(&record, servers.join("link.json")).unwrap();

    let r = run(env.awsmfa(&["server", "--list"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'),
        "{r:?}"
    );
    assert_eq!(r.stdout.lines().count(), 1, "the link is not read: {r:?}");
    let r = run(env.awsmfa(&["server", "--stop", "--all"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!("not signalling pid {pid}")),
        "{r:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the victim was signalled"
    );

    // A servers directory others can write to is refused, as every private directory.
    std::fs::set_permissions(&servers, std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [&["server", "--list"][..], &["server", "--stop", "--all"]] {
        let r = run(env.awsmfa(args));
        assert_eq!(r.status, 5, "{args:?}: {r:?}");
        assert!(r.stderr.contains("session cache"), "{r:?}");
        assert!(r.stderr.contains("hint: chmod 700"), "{r:?}");
    }
    std::fs::set_permissions(&servers, std::fs::Permissions::from_mode(0o700)).unwrap();
    // …and one that belongs to another user (root can make one to try).
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&servers, Some(65534), Some(65534)).unwrap();
        let r = run(env.awsmfa(&["server", "--stop", "--all"]));
        assert_eq!(r.status, 5, "{r:?}");
        assert!(r.stderr.contains("hint:"), "{r:?}");
    }
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the victim was signalled"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
}
