//! `awsmfa doctor` against deliberately broken setups: each problem named, with its fix.

mod common;

use common::{Bed, TestEnv, User, run};
use serde_json::{Value, json};

fn setup(env: &TestEnv, user: &User, serial: &str, endpoint: &str) {
    env.write(
        ".aws/credentials",
        &format!(
            "[w-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile w]\nregion = us-east-1\nendpoint_url = {endpoint}\nmfa_serial = {serial}\n"
        ),
    );
    #[cfg(unix)]
    for f in [env.credentials(), env.config()] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn checks(env: &TestEnv) -> (i32, Vec<Value>) {
    let r = run(env.awsmfa(&["-p", "w", "doctor", "--json"]));
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
    (r.status, v["checks"].as_array().unwrap().clone())
}

fn status_of<'a>(checks: &'a [Value], name: &str) -> (&'a str, String, String) {
    let c = checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:?}"));
    (
        c["status"].as_str().unwrap(),
        c["message"].as_str().unwrap().to_string(),
        c["fix"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn a_healthy_setup_passes() {
    let bed = Bed::shared();
    let user = bed.user("healthy");
    let env = TestEnv::new();
    setup(&env, &user, &user.mfa_serial, &bed.url);
    let (status, checks) = checks(&env);
    assert_eq!(status, 0, "{checks:?}");
    for name in [
        "config file",
        "credentials file",
        "environment",
        "profile",
        "endpoint",
        "clock",
        "identity",
        "MFA device",
    ] {
        assert_eq!(status_of(&checks, name).0, "pass", "{name}: {checks:?}");
    }
    assert!(status_of(&checks, "identity").1.contains(&user.arn));
    let text = run(env.awsmfa(&["-p", "w", "doctor"]));
    assert!(text.stdout.contains("✓ MFA device: "), "{text:?}");
}

#[test]
fn broken_setups_are_named_with_their_fix() {
    let bed = Bed::shared();
    let user = bed.user("broken");
    let other = bed.user("otheruser");

    // World-readable credentials (file modes are Unix's) and a stray AWS_ACCESS_KEY_ID.
    let mut env = TestEnv::new();
    setup(&env, &user, &user.mfa_serial, &bed.url);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(env.credentials(), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    env.set("AWS_ACCESS_KEY_ID", "AKIASTRAYSTRAYSTRAY0");
    let (status, c) = checks(&env);
    assert_eq!(status, 1);
    #[cfg(unix)]
    {
        let (s, m, fix) = status_of(&c, "credentials file");
        assert_eq!(s, "fail");
        assert!(
            m.contains("readable by others") && fix.starts_with("chmod 600"),
            "{m} / {fix}"
        );
    }
    let (s, _, fix) = status_of(&c, "environment");
    assert_eq!(s, "fail");
    assert_eq!(fix, "unset AWS_ACCESS_KEY_ID");

    // Keys of one user, the device of another (the seed 004 pitfall).
    let env = TestEnv::new();
    setup(&env, &user, &other.mfa_serial, &bed.url);
    let (status, c) = checks(&env);
    assert_eq!(status, 1);
    let (s, m, fix) = status_of(&c, "MFA device");
    assert_eq!(s, "fail");
    assert!(
        m.contains(&format!("is not a device of {}", user.name)),
        "{m}"
    );
    assert!(fix.contains(&user.mfa_serial), "{fix}");

    // An endpoint that refuses connections.
    let env = TestEnv::new();
    setup(&env, &user, &user.mfa_serial, "http://127.0.0.1:1");
    let (status, c) = checks(&env);
    assert_eq!(status, 1);
    let (s, m, fix) = status_of(&c, "endpoint");
    assert_eq!(s, "fail");
    assert!(
        m.contains("connection refused") && fix.contains("endpoint"),
        "{m}"
    );
}

#[test]
fn a_clock_twenty_minutes_off_is_named() {
    let bed = Bed::private();
    let user = bed.user("clock");
    bed.configure(json!({"clock_skew": 1200}));
    let env = TestEnv::new();
    setup(&env, &user, &user.mfa_serial, &bed.url);
    let (status, c) = checks(&env);
    assert_eq!(status, 1);
    let (s, m, fix) = status_of(&c, "clock");
    assert_eq!(s, "fail", "{c:?}");
    assert!(m.contains("20m 0s behind") || m.contains("19m"), "{m}");
    assert!(fix.contains("NTP"), "{fix}");
}

#[test]
fn keys_in_the_vault_are_not_opened_unless_asked_and_every_other_check_runs() {
    let bed = Bed::shared();
    let user = bed.user("docvault");
    let mut env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!(
            "[profile w]\nregion = us-east-1\nendpoint_url = {}\nmfa_serial = {}\n",
            bed.url, user.mfa_serial
        ),
    );
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
    // Stored with a passphrase given once; doctor runs without it and without a terminal.
    let mut add = env.awsmfa(&["add", "w", "--no-verify"]);
    add.env("AWSMFA_VAULT_PASSPHRASE", "correct horse battery staple");
    let r = common::run_with_input(
        add,
        &format!("{}\n{}\n", user.access_key_id, user.secret_access_key),
    );
    assert_eq!(r.status, 0, "{r:?}");
    let (status, found) = checks(&env);
    assert_eq!(status, 0, "nothing failed, nothing asked: {found:?}");
    let (s, message, fix) = status_of(&found, "vault");
    assert_eq!(s, "info", "{found:?}");
    assert!(message.contains("not opened"), "{message}");
    assert!(fix.contains("--vault"), "{fix}");
    assert_eq!(status_of(&found, "endpoint").0, "pass", "{found:?}");
    assert_eq!(status_of(&found, "clock").0, "pass", "{found:?}");
    assert_eq!(status_of(&found, "identity").0, "info", "{found:?}");

    // With a cached MFA session, identity and device are checked with it.
    let mut login = env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]);
    login.env("AWSMFA_VAULT_PASSPHRASE", "correct horse battery staple");
    let r = run(login);
    assert_eq!(r.status, 0, "{r:?}");
    let (status, found) = checks(&env);
    assert_eq!(status, 0, "{found:?}");
    let (s, message, _) = status_of(&found, "identity");
    assert_eq!(s, "pass", "{found:?}");
    assert!(message.contains(&user.name), "{message}");

    // --vault opens it (here with the passphrase in the environment).
    env.set("AWSMFA_VAULT_PASSPHRASE", "correct horse battery staple");
    let r = run(env.awsmfa(&["-p", "w", "doctor", "--vault", "--format", "json"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains("and it opened"), "{r:?}");
}
