//! Issue 23: the last differences from the AWS CLI. Each case asks botocore itself (the
//! AWS CLI's library, from the bed's venv) and checks that awsmfa does what it does, or
//! refuses where it refuses.
// Run against the Linux test bed; Windows is covered by the smoke test in scripts/cross.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{Bed, Run, TestEnv, run};

/// botocore in `env`'s HOME: runs `code` (Python, with `boto3`, `botocore` and `os`
/// imported) with `extra` variables, and returns its stdout, trimmed.
fn botocore(env: &TestEnv, extra: &[(&str, &str)], code: &str) -> String {
    let mut cmd = Command::new(common::venv_bin("python"));
    cmd.args([
        "-c",
        &format!("import os, boto3, botocore, botocore.session, botocore.utils, botocore.httpsession\n{code}"),
    ])
    .env_clear()
    .env("HOME", env.home.path())
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("AWS_MAX_ATTEMPTS", "1")
    .env("AWS_RETRY_MODE", "standard")
    .stdin(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let r = run(cmd);
    assert_eq!(r.status, 0, "botocore: {r:?}");
    r.stdout.trim().to_string()
}

/// A loopback "proxy" that records the first line of every request and answers none.
fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            use std::io::Read;
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let first = String::from_utf8_lossy(&head).trim_end().to_string();
            seen.lock().unwrap().push(first);
        }
    });
    (url, lines)
}

fn first_line(lines: &Arc<Mutex<Vec<String>>>) -> String {
    lines.lock().unwrap().first().cloned().unwrap_or_default()
}

const KEYS: &str = "[p]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n";

/// Items 2 and 4: with no region botocore calls the global `sts.amazonaws.com`; every
/// partition botocore knows gets its own host. Both tools send their first STS call
/// through the same recording proxy, and the hosts they ask it for must be equal.
#[test]
fn sts_hosts_by_region_and_partition_are_botocores() {
    for config in [
        "[profile p]\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = us-iso-east-1\nmfa_serial = arn:aws-iso:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = us-isob-east-1\nmfa_serial = arn:aws-iso-b:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = eusc-de-east-1\nmfa_serial = arn:aws-eusc:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = eu-isoe-west-1\nmfa_serial = arn:aws-iso-e:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = cn-northwest-1\nmfa_serial = arn:aws-cn:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = eu-west-1\nsts_regional_endpoints = legacy\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n",
        "[profile p]\nregion = af-south-1\nsts_regional_endpoints = legacy\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n",
    ] {
        let env = TestEnv::new();
        env.write(".aws/config", config);
        env.write(".aws/credentials", KEYS);
        let (proxy, theirs) = recording_proxy();
        botocore(
            &env,
            &[("HTTPS_PROXY", &proxy)],
            "try:\n    boto3.Session(profile_name='p').client('sts').get_caller_identity()\nexcept Exception as e:\n    print(type(e).__name__)",
        );
        let (proxy2, ours) = recording_proxy();
        let mut cmd = env.awsmfa(&["-p", "p", "login", "--token-code", "123456"]);
        cmd.env("HTTPS_PROXY", &proxy2)
            .env("AWSMFA_HTTP_TIMEOUT", "5s");
        let r = run(cmd);
        assert_ne!(r.status, 0, "{r:?}");
        let botocore_line = first_line(&theirs);
        assert!(
            botocore_line.starts_with("CONNECT "),
            "{config}: botocore sent {botocore_line:?}"
        );
        // The host asked for (urllib3 says HTTP/1.0 in CONNECT, ureq HTTP/1.1).
        let host = |l: &str| l.split_whitespace().nth(1).map(String::from);
        assert_eq!(
            host(&first_line(&ours)),
            host(&botocore_line),
            "{config}\n{r:?}"
        );
    }
}

/// Item 3: `region =` left empty and an `sts_regional_endpoints` that is not exactly
/// `legacy` or `regional` are refused by botocore; awsmfa refuses them too, with the
/// file and line, and sends nothing.
#[test]
fn what_botocore_refuses_is_refused_with_file_and_line() {
    for (config, line, error) in [
        (
            "[profile p]\nregion =\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n",
            2,
            "ValueError",
        ),
        (
            "[profile p]\nregion = eu-west-1\nsts_regional_endpoints = LEGACY\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n",
            3,
            "InvalidSTSRegionalEndpointsConfigError",
        ),
        (
            "[profile p]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/u\nsts_regional_endpoints = bad\nendpoint_url = https://sts.example.net\n",
            4,
            "InvalidSTSRegionalEndpointsConfigError",
        ),
    ] {
        let env = TestEnv::new();
        env.write(".aws/config", config);
        env.write(".aws/credentials", KEYS);
        let said = botocore(
            &env,
            &[],
            "try:\n    boto3.Session(profile_name='p').client('sts')\n    print('ok')\nexcept Exception as e:\n    print(type(e).__name__)",
        );
        assert_eq!(said, error, "{config}");
        let (proxy, lines) = recording_proxy();
        let mut cmd = env.awsmfa(&["-p", "p", "login", "--token-code", "123456"]);
        cmd.env("HTTPS_PROXY", &proxy);
        let r = run(cmd);
        assert_eq!(r.status, 5, "{config}\n{r:?}");
        let place = format!("{}: line {line}: ", env.config().display());
        assert!(r.stderr.starts_with(&format!("awsmfa: {place}")), "{r:?}");
        assert!(r.stderr.contains("hint: "), "{r:?}");
        assert!(lines.lock().unwrap().is_empty(), "nothing may be sent");
        // The environment's region wins over the empty one, as AWS_DEFAULT_REGION does
        // in botocore.
        if line == 2 {
            let said = botocore(
                &env,
                &[("AWS_DEFAULT_REGION", "eu-west-2")],
                "print(boto3.Session(profile_name='p').client('sts').meta.endpoint_url)",
            );
            let mut cmd = env.awsmfa(&["-vv", "-p", "p", "login", "--token-code", "123456"]);
            cmd.env("AWS_DEFAULT_REGION", "eu-west-2")
                .env("HTTPS_PROXY", &proxy);
            let r = run(cmd);
            assert!(r.stderr.contains(&format!("STS endpoint {said} ")), "{r:?}");
        }
    }
}

/// Item 1: `aws_security_token` is the session token when `aws_session_token` is absent
/// (botocore's fixture `tests/unit/cfg/aws_config`, boto2 and aws-mfa): the profile holds
/// a session, which GetSessionToken must not be sent.
#[test]
fn aws_security_token_is_a_session_token() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        "[old]\naws_access_key_id = ASIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\naws_security_token = tok\n",
    );
    let token = botocore(
        &env,
        &[],
        "print(boto3.Session(profile_name='old').get_credentials().token)",
    );
    assert_eq!(token, "tok");
    let r = run(env.awsmfa(&["status", "--json"]));
    assert_eq!(r.status, 0, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["profiles"][0]["name"], "old");
    assert_eq!(report["profiles"][0]["kind"], "session", "{report}");
    let (proxy, lines) = recording_proxy();
    let mut cmd = env.awsmfa(&["-p", "old", "login", "--token-code", "123456"]);
    cmd.env("HTTPS_PROXY", &proxy);
    let r = run(cmd);
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("session"), "{r:?}");
    assert!(
        lines.lock().unwrap().is_empty(),
        "a session key went to STS"
    );
}

/// Item 7: with `credential_process` and `source_profile` (no role_arn) both tools use
/// the process; `status` says `process`.
#[test]
fn credential_process_with_source_profile_is_labelled_process() {
    let env = TestEnv::new();
    let script = env.path("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAEXAMPLEEXAMPLE01\", \"SecretAccessKey\": \"s\"}'\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    env.write(
        ".aws/config",
        &format!(
            "[profile both]\ncredential_process = {}\nsource_profile = base\n[profile base]\nregion = us-east-1\n",
            script.display()
        ),
    );
    env.write(
        ".aws/credentials",
        "[base]\naws_access_key_id = AKIAEXAMPLEEXAMPLE02\naws_secret_access_key = s\n",
    );
    let method = botocore(
        &env,
        &[],
        "c = boto3.Session(profile_name='both').get_credentials(); print(c.method, c.access_key)",
    );
    assert_eq!(method, "custom-process AKIAEXAMPLEEXAMPLE01");
    let r = run(env.awsmfa(&["status", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let both = report["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "both")
        .unwrap();
    assert_eq!(both["kind"], "process", "{both}");
    assert_eq!(
        both["keys"], "the credential_process of profile \"both\"",
        "{both}"
    );
}

/// Item 5: an IAM endpoint setting of the wrong shape blocks IAM calls only, as botocore
/// refuses it only when it makes an IAM client: `login` with `mfa_serial` set needs no
/// IAM call and works; `mfa list` is refused.
#[test]
fn an_unused_bad_iam_endpoint_does_not_block_login() {
    let bed = Bed::shared();
    let user = bed.user("iam-unused");
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        &format!(
            "[w]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile w]\nregion = us-east-1\nmfa_serial = {}\nservices = s\n[services s]\nsts =\n  endpoint_url = {}\niam =\n  endpoint_url = sts.example.net\n",
            user.mfa_serial, bed.url
        ),
    );
    let said = botocore(
        &env,
        &[],
        "s = boto3.Session(profile_name='w')\ns.client('sts')\ntry:\n    s.client('iam')\n    print('iam ok')\nexcept ValueError as e:\n    print('iam refused')",
    );
    assert_eq!(said, "iam refused");
    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", &code]));
    assert_eq!(r.status, 0, "{r:?}");
    let r = run(env.awsmfa(&["-p", "w", "mfa", "list"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("sts.example.net"), "{r:?}");
}

/// Item 6: the proxy is chosen per scheme, `NO_PROXY` in urllib's forms, as botocore
/// chooses it (`get_environ_proxies` + `ProxyConfiguration.proxy_url_for`); `-v` says
/// which. A plain-HTTP endpoint (the bed) is reached directly under `HTTPS_PROXY`, and
/// through `HTTP_PROXY` when that is set.
#[test]
fn proxies_are_chosen_as_botocore_chooses_them() {
    let bed = Bed::shared();
    let user = bed.user("proxy");
    let endpoint = bed.url.clone();
    let host = endpoint.trim_start_matches("http://").to_string();
    let host_only = host.split(':').next().unwrap().to_string();
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![("HTTPS_PROXY", "http://sec.example:3128".into())],
        vec![("HTTP_PROXY", "plain.example:3128".into())],
        vec![
            ("HTTP_PROXY", "http://upper.example:1".into()),
            ("http_proxy", "http://lower.example:2".into()),
        ],
        vec![
            ("HTTP_PROXY", "http://p.example:1".into()),
            ("NO_PROXY", host_only.clone()),
        ],
        vec![
            ("HTTP_PROXY", "http://p.example:1".into()),
            ("no_proxy", format!("other.example, {host}")),
        ],
        vec![
            ("HTTP_PROXY", "http://p.example:1".into()),
            ("NO_PROXY", "0.0.1".into()),
        ],
        vec![
            ("HTTP_PROXY", "http://p.example:1".into()),
            ("NO_PROXY", "127.0.0.0/8".into()),
        ],
        vec![
            ("HTTP_PROXY", "http://p.example:1".into()),
            ("NO_PROXY", "*".into()),
        ],
        vec![("ALL_PROXY", "http://all.example:1".into())],
    ];
    for vars in cases {
        let env = TestEnv::new();
        env.keys_in_profile("w", &user, bed);
        let extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let theirs = botocore(
            &env,
            &extra,
            &format!(
                "u = '{endpoint}/'\np = botocore.httpsession.ProxyConfiguration(botocore.utils.get_environ_proxies(u)).proxy_url_for(u)\nprint(p or 'none')"
            ),
        );
        let mut cmd = env.awsmfa(&["-v", "-p", "w", "login", "--token-code", "000000"]);
        cmd.env("AWSMFA_HTTP_TIMEOUT", "3s");
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let r = run(cmd);
        let line = r
            .stderr
            .lines()
            .find(|l| {
                l.contains(&format!("{endpoint} with"))
                    || l.contains(&format!("{endpoint} through"))
            })
            .unwrap_or_else(|| panic!("{vars:?}: no proxy line\n{r:?}"))
            .to_string();
        if theirs == "none" {
            assert!(
                line.contains("with no proxy"),
                "{vars:?}: botocore uses none\n{line}"
            );
            // Reached the bed: the code was checked (and is wrong).
            assert_eq!(r.status, 3, "{vars:?}\n{r:?}");
        } else {
            assert!(
                line.contains(&format!("through proxy {theirs} (from ")),
                "{vars:?}: botocore uses {theirs}\n{line}"
            );
        }
    }
    // Through HTTP_PROXY for real: the proxy is asked for the bed (ureq tunnels with
    // CONNECT where urllib3 sends `POST http://…`; both go through the proxy).
    let env = TestEnv::new();
    env.keys_in_profile("w", &user, bed);
    let (proxy, lines) = recording_proxy();
    let mut cmd = env.awsmfa(&["-p", "w", "login", "--token-code", "000000"]);
    cmd.env("HTTP_PROXY", &proxy)
        .env("HTTPS_PROXY", "http://127.0.0.1:9");
    let r: Run = run(cmd);
    assert_ne!(r.status, 0, "{r:?}");
    // The proxy is asked for the bed (ureq tunnels with CONNECT where urllib3 sends
    // `POST http://…`; both go through the proxy).
    let asked = first_line(&lines);
    assert!(
        asked.starts_with(&format!("CONNECT {host} "))
            || asked.starts_with(&format!("POST {endpoint}/ ")),
        "{asked:?}\n{r:?}"
    );
}

/// Item 4: `src/sts/partitions.json` is what botocore says (its partitions data and the
/// endpoint rule sets of STS, IAM and sign-in, evaluated by botocore for every region).
#[test]
fn the_partition_data_is_botocores() {
    let r = run({
        let mut cmd = Command::new(common::venv_bin("python"));
        cmd.arg(common::root().join("scripts/partitions"))
            .arg("--check")
            .stdin(Stdio::null());
        cmd
    });
    assert_eq!(r.status, 0, "{r:?}");
}
