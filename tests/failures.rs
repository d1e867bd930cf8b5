//! Bad input of every kind: STS errors, garbage and silent servers, a dead network,
//! malformed and hostile files. Each must give one clear error line, its documented exit
//! status, and leave every file byte-identical. They run on every OS; what only Unix
//! has (symbolic links without privileges, file modes) is marked.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Bed, Run, TestEnv, run};
use serde_json::json;

/// A profile with the given keys whose STS endpoint is `url`.
fn setup(env: &TestEnv, key: &str, secret: &str, serial: &str, url: &str) {
    env.write(
        ".aws/credentials",
        &format!("[w-long-term]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    );
    env.write(
        ".aws/config",
        &format!("[profile w]\nregion = us-east-1\nendpoint_url = {url}\nmfa_serial = {serial}\n"),
    );
}

fn snapshot(env: &TestEnv) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(env.credentials()).unwrap_or_default(),
        std::fs::read(env.config()).unwrap_or_default(),
    )
}

fn one_error_line(r: &Run) {
    let errors = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("awsmfa:"))
        .count();
    assert_eq!(errors, 1, "exactly one error line: {r:?}");
}

#[test]
fn unknown_key_and_wrong_secret_exit_3() {
    let bed = Bed::shared();
    let user = bed.user("keys");
    let env = TestEnv::new();
    setup(
        &env,
        "AKIANOSUCHKEY0000000",
        "x",
        &user.mfa_serial,
        &bed.url,
    );
    let before = snapshot(&env);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(
        r.stderr.contains("does not recognise the access key"),
        "{r:?}"
    );
    one_error_line(&r);
    assert_eq!(snapshot(&env), before);

    setup(
        &env,
        &user.access_key_id,
        "not-the-secret",
        &user.mfa_serial,
        &bed.url,
    );
    let before = snapshot(&env);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stderr.contains("signature"), "{r:?}");
    assert!(
        !r.stderr.contains("not-the-secret"),
        "secret in the error: {r:?}"
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn throttling_is_retried_and_persistent_faults_are_reported() {
    let bed = Bed::private();
    let user = bed.user("throttle");
    let env = TestEnv::new();
    setup(
        &env,
        &user.access_key_id,
        &user.secret_access_key,
        &user.mfa_serial,
        &bed.url,
    );
    bed.configure(
        json!({"faults": [{"action": "GetSessionToken", "kind": "throttle", "count": 2}]}),
    );
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(
        r.status, 0,
        "retries should get through two throttles: {r:?}"
    );
    assert_eq!(bed.calls("sts:GetSessionToken"), 3);

    let before = snapshot(&env);
    // Each case with its own code: a code whose answer was lost counts as spent.
    for (kind, needle, code) in [
        ("throttle", "throttling", "100001"),
        ("500", "service failed", "100002"),
        ("503", "service failed", "100003"),
        ("garbage", "unexpected answer", "100004"),
    ] {
        bed.configure(
            json!({"faults": [{"action": "GetSessionToken", "kind": kind, "count": 10}]}),
        );
        let r = run(env.awsmfa(&["-p", "w", "login", "--force", "--token-code", code]));
        bed.configure(json!({"faults": []}));
        assert_eq!(r.status, 1, "{kind}: {r:?}");
        assert!(r.stderr.contains(needle), "{kind}: {r:?}");
        one_error_line(&r);
        assert_eq!(snapshot(&env), before, "{kind} changed files");
    }
}

#[test]
fn clock_skew_is_named_with_its_size() {
    let bed = Bed::private();
    let user = bed.user("skew");
    let env = TestEnv::new();
    setup(
        &env,
        &user.access_key_id,
        &user.secret_access_key,
        &user.mfa_serial,
        &bed.url,
    );
    // The bed's clock runs 20 minutes ahead: it rejects our signature as real STS does,
    // and its Date header tells by how much.
    bed.configure(json!({"clock_skew": 1200}));
    let before = snapshot(&env);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stderr.contains("clock is 20 minutes behind"), "{r:?}");
    assert!(r.stderr.contains("hint: set this machine's clock"), "{r:?}");
    assert_eq!(snapshot(&env), before);
}

/// A server on loopback that answers every request with `reply` (or never answers).
fn fake_server(reply: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            common::read_http_request(&mut stream);
            match reply {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream), // silent: keep it open, say nothing
            }
        }
    });
    url
}

#[test]
fn garbage_empty_silent_and_dead_servers() {
    let env = TestEnv::new();
    let cases: Vec<(String, i32, &str)> = vec![
        (
            fake_server(Some(
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world",
            )),
            1,
            "not a GetSessionToken response",
        ),
        (
            fake_server(Some(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )),
            1,
            "an empty body",
        ),
        (
            fake_server(Some(b"\x00\x01\x02 definitely not http\r\n\r\n")),
            1,
            "",
        ),
        (fake_server(None), 1, "no answer from"),
        ("http://127.0.0.1:1".to_string(), 1, "connection refused"),
    ];
    for (i, (url, status, needle)) in cases.into_iter().enumerate() {
        let code = format!("12345{i}");
        setup(
            &env,
            "AKIAEXAMPLEEXAMPLE00",
            "s",
            "arn:aws:iam::1:mfa/x",
            &url,
        );
        let mut cmd = env.awsmfa(&["-p", "w", "login", "--token-code", &code]);
        cmd.env("AWSMFA_HTTP_TIMEOUT", "2");
        let before = snapshot(&env);
        let start = Instant::now();
        let r = run(cmd);
        assert_eq!(r.status, status, "{url}: {r:?}");
        assert!(r.stderr.contains(needle), "{url}: {r:?}");
        one_error_line(&r);
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{url} took too long"
        );
        assert_eq!(snapshot(&env), before);
    }
}

#[test]
fn a_silent_endpoint_is_named_while_awsmfa_waits_for_it() {
    let env = TestEnv::new();
    let url = fake_server(None);
    setup(
        &env,
        "AKIAEXAMPLEEXAMPLE00",
        "s",
        "arn:aws:iam::1:mfa/x",
        &url,
    );
    let mut cmd = env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]);
    cmd.env("AWSMFA_HTTP_TIMEOUT", "5");
    let r = run(cmd);
    assert_eq!(r.status, 1, "{r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "awsmfa: waiting for {url} to answer GetSessionToken (at most 5 s"
        )),
        "said while waiting: {r:?}"
    );
    assert!(r.stderr.contains("no answer from"), "{r:?}");
    assert!(r.stdout.is_empty());
}

#[test]
fn hostile_files_give_one_line_exit_5_and_stay_identical() {
    let bed = Bed::shared();
    let user = bed.user("files");
    let good_creds = format!(
        "[w-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        user.access_key_id, user.secret_access_key
    );
    let good_config = format!(
        "[profile w]\nendpoint_url = {}\nmfa_serial = {}\n",
        bed.url, user.mfa_serial
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "bad section",
            b"[w-long-term\naws_access_key_id = SECRETSECRET\n".to_vec(),
            "line 1",
        ),
        (
            "duplicate keys",
            format!("{good_creds}aws_secret_access_key = SECRETSECRET\n").into_bytes(),
            "line 4: key repeated",
        ),
        (
            "duplicate sections",
            format!("{good_creds}[w-long-term]\n").into_bytes(),
            "section repeated",
        ),
        (
            "binary junk",
            b"\x7fELF\x02\x01\x01\x00\x00SECRETSECRET\xff\xfe".to_vec(),
            "not a text file",
        ),
        (
            "no section",
            b"aws_secret_access_key = SECRETSECRET\n".to_vec(),
            "before the first [section]",
        ),
    ];
    for (what, creds, needle) in cases {
        let env = TestEnv::new();
        std::fs::write(env.credentials(), &creds).unwrap();
        env.write(".aws/config", &good_config);
        let before = snapshot(&env);
        let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
        assert_eq!(r.status, 5, "{what}: {r:?}");
        assert!(r.stderr.contains(needle), "{what}: {r:?}");
        assert!(
            r.stderr.contains(".aws/credentials"),
            "{what}: names the file: {r:?}"
        );
        assert!(
            !r.stderr.contains("SECRETSECRET"),
            "{what}: echoes the file: {r:?}"
        );
        one_error_line(&r);
        assert_eq!(snapshot(&env), before, "{what}");
    }

    // A 50 MB credentials file.
    let env = TestEnv::new();
    let big = std::fs::File::create(env.credentials()).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    env.write(".aws/config", &good_config);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("too large"), "{r:?}");
    assert_eq!(
        std::fs::metadata(env.credentials()).unwrap().len(),
        50 * 1024 * 1024
    );

    // A credentials path that is a directory, and one that cannot be read (a loop).
    let env = TestEnv::new();
    std::fs::create_dir(env.credentials()).unwrap();
    env.write(".aws/config", &good_config);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("is a directory"), "{r:?}");
    // (Creating a symbolic link needs a privilege on Windows, and modes are Unix's.)
    #[cfg(unix)]
    {
        let env = TestEnv::new();
        std::os::unix::fs::symlink("credentials", env.credentials()).unwrap();
        env.write(".aws/config", &good_config);
        let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
        assert_eq!(r.status, 5, "{r:?}");
        assert!(r.stderr.contains("symbolic links"), "{r:?}");
    }

    // Unreadable by permissions (meaningful only when not running as root).
    #[cfg(unix)]
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let env = TestEnv::new();
        env.write(".aws/credentials", &good_creds);
        env.write(".aws/config", &good_config);
        std::fs::set_permissions(env.credentials(), std::fs::Permissions::from_mode(0o000))
            .unwrap();
        let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
        assert_eq!(r.status, 5, "{r:?}");
        assert!(r.stderr.contains("ermission denied"), "{r:?}");
    }
}

#[test]
fn profile_rule_errors_are_configuration_errors() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n[profile lost]\nsource_profile = nowhere\n",
    );
    env.write(
        ".aws/credentials",
        "[sess]\naws_access_key_id = ASIAX\naws_secret_access_key = y\naws_session_token = z\n[keys]\naws_access_key_id = AKIAX\naws_secret_access_key = SECRETSECRET\n",
    );
    let before = snapshot(&env);
    for (args, needle) in [
        (vec!["-p", "a", "login"], "loops: a → b → a"),
        (vec!["-p", "lost", "login"], "does not exist"),
        (
            vec!["-p", "ghost", "login"],
            "is not in the config or credentials file",
        ),
        (vec!["-p", "sess", "login"], "holds session credentials"),
        (
            vec!["-p", "keys", "login", "--target", "keys"],
            "never overwrites them",
        ),
    ] {
        let r = run(env.awsmfa(&args));
        assert_eq!(r.status, 5, "{args:?}: {r:?}");
        assert!(r.stderr.contains(needle), "{args:?}: {r:?}");
        assert!(!r.stderr.contains("SECRETSECRET"));
        assert_eq!(snapshot(&env), before);
    }
    // Usage errors are status 2, from the argument parser.
    let r = run(env.awsmfa(&["login", "--no-such-flag"]));
    assert_eq!(r.status, 2, "{r:?}");
}
