//! Issue 12, item 3: nothing smuggled in from the network. A hostile or broken endpoint
//! (a custom STS/IAM endpoint, a proxy) answers values with line breaks; before the fix
//! an `AccessKeyId` of `X\n[evil]\ncredential_process = …` became an `[evil]` section
//! whose command botocore then ran, and a `SerialNumber` from `ListMFADevices` reached
//! the config the same way through `--save`. Each must be refused with one clear error
//! and every file left byte-identical.

mod common;

use std::io::Write;
use std::net::TcpListener;

use common::{TestEnv, run};

const EVIL: &str = "\n[evil]\ncredential_process = sh -c 'touch /tmp/awsmfa-smuggled'\n";

/// A loopback STS/IAM that answers each action with `answer(action)` (XML, 200).
fn hostile_endpoint(answer: fn(&str) -> String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let body = common::read_http_request(&mut stream);
            let action = body
                .split('&')
                .find_map(|p| p.strip_prefix("Action="))
                .unwrap_or_default()
                .to_string();
            let xml = answer(&action);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    url
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('\n', "&#10;")
}

fn session_xml(key_id: &str) -> String {
    format!(
        "<GetSessionTokenResponse><GetSessionTokenResult><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>secret/key</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></GetSessionTokenResult></GetSessionTokenResponse>",
        escape(key_id)
    )
}

fn identity_xml() -> String {
    "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAEXAMPLEEXAMPLE00</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>".into()
}

fn devices_xml(serial: &str) -> String {
    format!(
        "<ListMFADevicesResponse><ListMFADevicesResult><MFADevices><member><UserName>alice</UserName><SerialNumber>{}</SerialNumber><EnableDate>2024-01-01T00:00:00Z</EnableDate></member></MFADevices><IsTruncated>false</IsTruncated></ListMFADevicesResult></ListMFADevicesResponse>",
        escape(serial)
    )
}

fn setup(env: &TestEnv, url: &str, serial: Option<&str>) {
    env.write(
        ".aws/credentials",
        "# mine\n[w-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s3cret\n",
    );
    let serial = serial.map_or(String::new(), |s| format!("mfa_serial = {s}\n"));
    env.write(
        ".aws/config",
        &format!("[profile w]\nregion = us-east-1\nendpoint_url = {url}\n{serial}"),
    );
}

fn snapshot(env: &TestEnv) -> (String, String) {
    (env.read(".aws/config"), env.read(".aws/credentials"))
}

#[test]
fn a_session_key_id_with_line_breaks_is_refused_and_nothing_is_written() {
    let url = hostile_endpoint(|action| match action {
        "GetSessionToken" => session_xml(&format!("ASIAEXAMPLEEXAMPLE00{EVIL}")),
        _ => identity_xml(),
    });
    let env = TestEnv::new();
    setup(&env, &url, Some("arn:aws:iam::123456789012:mfa/alice"));
    let before = snapshot(&env);
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_ne!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "not a GetSessionToken response (or one with values of a shape AWS never sends)"
        ),
        "{r:?}"
    );
    assert!(!r.stderr.contains("[evil]"), "{r:?}");
    assert_eq!(snapshot(&env), before);
    // Nor through credential_process output.
    let r = run(env.awsmfa(&["-p", "w", "process", "--token-code", "123456"]));
    assert_ne!(r.status, 0, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn a_discovered_serial_with_line_breaks_never_reaches_the_config() {
    let url = hostile_endpoint(|action| match action {
        "ListMFADevices" => devices_xml(&format!("arn:aws:iam::123456789012:mfa/alice{EVIL}")),
        "GetSessionToken" => session_xml("ASIAEXAMPLEEXAMPLE00"),
        _ => identity_xml(),
    });
    let env = TestEnv::new();
    setup(&env, &url, None);
    let before = snapshot(&env);
    let r = run(env.awsmfa(&["-p", "w", "login", "--save", "--token-code", "123456"]));
    assert_ne!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("ListMFADevices"), "{r:?}");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn a_serial_given_with_a_line_break_is_not_saved() {
    let url = hostile_endpoint(|action| match action {
        "GetSessionToken" => session_xml("ASIAEXAMPLEEXAMPLE00"),
        _ => identity_xml(),
    });
    let env = TestEnv::new();
    setup(&env, &url, None);
    let before = snapshot(&env);
    let serial = "arn:aws:iam::123456789012:mfa/alice\n[evil]\ncredential_process = x";
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--save",
        "--mfa-serial",
        serial,
        "--token-code",
        "123456",
    ]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("--mfa-serial is not an MFA device serial number"),
        "{r:?}"
    );
    assert_eq!(snapshot(&env), before);
}
