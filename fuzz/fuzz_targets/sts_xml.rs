//! STS and IAM answers, and error documents, as a hostile or broken endpoint may send
//! them. Whatever the bytes: no panic; what is accepted has the shape awsmfa relies on
//! downstream (credentials fit the AWS files and every shell, a new device's seed is a
//! seed that makes codes and a QR code); and an error document built from any `Code` and
//! `Message` (escaped as XML) gives them back.

#![no_main]

use awsmfa::config::shape;
use awsmfa::fuzzing;
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fuzz_target!(|data: &[u8]| {
    let xml = String::from_utf8_lossy(data);
    for result in [
        "GetSessionTokenResult",
        "AssumeRoleResult",
        "GetFederationTokenResult",
    ] {
        if let Some(creds) = fuzzing::sts_session_credentials(&xml, result) {
            assert_eq!(creds.problem(), None);
            assert!(creds.token().is_some() && creds.expiration.is_some());
        }
    }
    if let Some(id) = fuzzing::sts_caller_identity(&xml) {
        assert_eq!(shape::arn_problem(&id.arn), None);
        assert!(id.account.len() == 12 && id.account.bytes().all(|b| b.is_ascii_digit()));
    }
    if let Some(device) = fuzzing::iam_new_device(&xml) {
        assert_eq!(shape::mfa_serial_problem(&device.serial_number), None);
        let seed = device.seed_base32.expose_secret();
        // What `mfa create` does with it: two codes, the QR code on the terminal and
        // in a PNG, and `--show-secret` on the terminal.
        assert!(
            awsmfa::mfa::totp::aws_code(seed, 1_700_000_000).is_some(),
            "a seed that is not base32"
        );
        let uri = awsmfa::mfa::qr::otpauth_uri_short("alice", "123456789012", seed);
        let _ = awsmfa::mfa::qr::render_terminal(&uri, true);
        let uri = awsmfa::mfa::qr::otpauth_uri("alice", "123456789012", seed);
        let _ = awsmfa::mfa::qr::png(&uri);
        assert_eq!(awsmfa::term::clean(seed), &seed[..]);
    }
    if let Some(creds) = fuzzing::iam_new_access_key(&xml) {
        assert_eq!(creds.problem(), None);
    }
    if let Some((devices, marker)) = fuzzing::iam_mfa_devices(&xml) {
        for d in devices {
            assert_eq!(shape::mfa_serial_problem(&d.serial_number), None);
        }
        assert!(marker.is_none_or(|m| m.bytes().all(|b| b.is_ascii_graphic())));
    }
    let _ = fuzzing::aws_error_fields(&xml);

    // An error document of any code and message reads back as them.
    let text = String::from_utf8_lossy(data);
    let (code, message) = text.split_once('\u{1}').unwrap_or((&text, ""));
    // XML 1.0 has no way to write most control characters, and normalizes CR.
    let writable = |s: &str| !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    // Entities in a Code are dropped (no AWS code has one): codes are plain text here.
    let plain = !code.contains(['&', '<', '>', '"', '\'']);
    if !code.is_empty() && plain && writable(code) && writable(message) {
        let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
        let doc = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>1</RequestId></ErrorResponse>",
            esc(code),
            esc(message)
        );
        assert_eq!(
            fuzzing::aws_error_fields(&doc),
            Some((code.to_string(), message.to_string())),
            "{doc}"
        );
    }
});
