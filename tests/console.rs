//! `awsmfa console` against the bed's federation endpoint: the sign-in URL's parts, the
//! token request carrying the role session (not long-term keys), one code for the
//! console and everything else, MFA sessions refused with a way out, federation tokens
//! with their caveat, the browser given a private page instead of the URL, and nothing
//! secret on stderr at -vvv. The browser that checks its page's mode and its core limit
//! is a Unix shell script; the rest runs on every OS.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::{Bed, TestEnv, User, count_lines, counting_code_command, run};
use serde_json::{Value, json};

struct Setup {
    env: TestEnv,
    user: User,
    counter: PathBuf,
    role: String,
}

fn setup(bed: &Bed, prefix: &str, policy: Value) -> Setup {
    let user = bed.user_with(prefix, policy, true);
    let role = bed.role(&format!("{prefix}role"), None, 3600);
    let mut env = TestEnv::new();
    let counter = env.path("codes");
    let script = counting_code_command(&env, &user, &counter);
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
            "[profile base]\nregion = eu-west-1\nendpoint_url = {url}\nmfa_serial = {}\nmfa_process = {}\n\n[profile r]\nrole_arn = {role}\nsource_profile = base\nregion = eu-west-1\nendpoint_url = {url}\n",
            user.mfa_serial,
            script,
            url = bed.url
        ),
    );
    env.set("AWSMFA_SIGNIN_URL", &format!("{}/federation", bed.url));
    Setup {
        env,
        user,
        counter,
        role,
    }
}

fn query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').unwrap().1;
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn signed_in_as(bed: &Bed, token: &str) -> String {
    bed.signin_arn(token)
}

#[test]
fn a_role_profile_signs_in_with_its_cached_session_and_one_code() {
    let bed = Bed::shared();
    let s = setup(bed, "cons", json!("allow-all"));
    let role_name = s.role.rsplit('/').next().unwrap();

    let r = run(s.env.awsmfa(&["-p", "r", "console", "--url"]));
    assert_eq!(r.status, 0, "{r:?}");
    let url = r.stdout.trim_end();
    assert_eq!(r.stdout.lines().count(), 1, "only the URL on stdout");
    assert!(
        url.starts_with(&format!("{}/federation?", bed.url)),
        "{url}"
    );
    let q = query(url);
    assert_eq!(q["Action"], "login");
    assert_eq!(q["Issuer"], "awsmfa");
    assert_eq!(
        q["Destination"],
        "https://console.aws.amazon.com/console/home?region=eu-west-1"
    );
    let arn = signed_in_as(bed, &q["SigninToken"]);
    assert!(
        arn.contains(&format!(":assumed-role/{role_name}/")),
        "the token was made from the role session: {arn}"
    );
    assert_eq!(
        bed.user_calls(&s.user, "signin:getSigninToken role"),
        1,
        "a role session, not long-term keys"
    );
    assert_eq!(count_lines(&s.counter), 1);

    // Again, with a service page and -vvv: no second code, no new role session, and
    // nothing secret on stderr.
    let r = run(s.env.awsmfa(&[
        "-p",
        "r",
        "-vvv",
        "console",
        "--url",
        "--destination",
        "s3",
        "--duration",
        "1h",
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    let q = query(r.stdout.trim_end());
    assert_eq!(
        q["Destination"],
        "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    );
    assert_eq!(
        count_lines(&s.counter),
        1,
        "one code serves the console too"
    );
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), 1);
    let p = run(s.env.awsmfa(&["-p", "r", "process"]));
    let creds: Value = serde_json::from_str(&p.stdout).unwrap();
    for secret in [
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
        q["SigninToken"].as_str(),
        s.user.secret_access_key.as_str(),
    ] {
        assert!(
            !r.stderr.contains(secret),
            "a secret on stderr: {}",
            r.stderr
        );
    }
    assert!(!r.stderr.contains("SigninToken"), "{}", r.stderr);
}

#[test]
fn an_mfa_session_profile_is_refused_with_a_way_out_and_federation_tokens_carry_a_caveat() {
    let bed = Bed::shared();
    let s = setup(bed, "consm", json!("allow-all"));
    let r = run(s.env.awsmfa(&["-p", "base", "console", "--url"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(r.stderr.contains("does not accept MFA session"), "{r:?}");
    assert!(r.stderr.contains("awsmfa policy role-trust"), "{r:?}");
    assert_eq!(
        count_lines(&s.counter),
        0,
        "refused before asking for a code"
    );

    let r = run(s
        .env
        .awsmfa(&["-p", "base", "console", "--url", "--federation-token"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("carries no MFA"), "{r:?}");
    let q = query(r.stdout.trim_end());
    let arn = signed_in_as(bed, &q["SigninToken"]);
    assert!(arn.contains(":federated-user/awsmfa-base"), "{arn}");

    // Under the force-MFA policy a federation token is refused outright, as by AWS.
    let forced = setup(bed, "consf", json!("force-mfa"));
    let r = run(forced
        .env
        .awsmfa(&["-p", "base", "console", "--url", "--federation-token"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn bad_flags_change_nothing_and_the_browser_gets_a_private_page() {
    let bed = Bed::shared();
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut s = setup(bed, "consb", json!("allow-all"));
    for args in [
        &["--duration", "10m"][..],
        &["--duration", "13h"],
        &["--destination", "https://evil.example/"],
        // Browsers read `\` as `/`: this is evil.example (issue 21, 6).
        &[
            "--destination",
            "https://evil.example\\.console.aws.amazon.com/",
        ],
    ] {
        let mut all = vec!["-p", "r", "console", "--url"];
        all.extend_from_slice(args);
        let r = run(s.env.awsmfa(&all));
        assert_eq!(r.status, 2, "{args:?}: {r:?}");
    }
    assert_eq!(count_lines(&s.counter), 0, "nothing was asked or called");
    assert_eq!(bed.user_calls(&s.user, "sts:AssumeRole"), 0);
    #[cfg(unix)]
    browser_gets_a_private_page(bed, &mut s);
}

/// The "browser" gets a private page, not the URL on its command line, and neither
/// awsmfa's secrets nor its core limit.
#[cfg(unix)]
fn browser_gets_a_private_page(bed: &Bed, s: &mut Setup) {
    // The "browser" records what it was given and reads the page.
    let seen = s.env.path("seen");
    let browser = s.env.path("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{seen}.args'\nls -l \"$1\" > '{seen}.mode'\ncat \"$1\" > '{seen}.html'\nenv > '{seen}.env'\nulimit -c > '{seen}.core'\n",
            seen = seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.env.set("AWSMFA_BROWSER", browser.to_str().unwrap());
    // awsmfa's own secret and core limit stay with awsmfa (issue 21, 6).
    s.env
        .set("AWSMFA_VAULT_PASSPHRASE", "browser must not see this");
    let mut console = s
        .env
        .awsmfa(&["-p", "r", "console", "--destination", "iam"]);
    common::with_core_limit(&mut console, 1 << 20);
    let r = run(console);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(r.stderr.contains("opening the AWS console"), "{r:?}");
    let args = std::fs::read_to_string(seen.with_extension("args")).unwrap();
    assert!(
        !args.contains("SigninToken"),
        "the URL on a command line: {args}"
    );
    // `ls -l`, which GNU and BSD (macOS) write alike, unlike `stat`.
    let mode = std::fs::read_to_string(seen.with_extension("mode")).unwrap();
    assert!(mode.starts_with("-rw-------"), "{mode}");
    let html = std::fs::read_to_string(seen.with_extension("html")).unwrap();
    assert!(html.contains("Action=login&amp;Issuer=awsmfa"), "{html}");
    let browser_env = std::fs::read_to_string(seen.with_extension("env")).unwrap();
    assert!(
        !browser_env.contains("AWSMFA_VAULT_PASSPHRASE"),
        "the browser got the vault passphrase"
    );
    let ours = common::with_core_limit(
        std::process::Command::new("sh").args(["-c", "ulimit -c"]),
        1 << 20,
    )
    .output()
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(seen.with_extension("core")).unwrap(),
        String::from_utf8_lossy(&ours.stdout),
        "the browser keeps the user's core limit"
    );
    let token = html
        .split("SigninToken=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let token = query(&format!("x?t={token}"))["t"].clone();
    assert!(signed_in_as(bed, &token).contains(":assumed-role/"));
    let page = PathBuf::from(args.lines().next().unwrap());
    assert!(!page.exists(), "the page is removed once read");
}
