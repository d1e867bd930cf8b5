//! TOTP seeds: as typed or pasted into `awsmfa mfa seed add` (base32 or an `otpauth://`
//! URI), and as read back from the vault. No panic; an accepted seed makes 6-digit
//! codes; stored in the vault as its `otpauth://` URI, it reads back as itself, for any
//! device serial IAM allows.

#![no_main]

use awsmfa::fuzzing::{typed_seed, vault_seed, vault_seed_payload};
use awsmfa::mfa::totp::{aws_code, base32_decode};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fuzz_target!(|data: &[u8]| {
    let _ = base32_decode(&String::from_utf8_lossy(data));
    if let Some(seed) = vault_seed(data) {
        assert!(aws_code(seed.expose_secret(), 0).is_some());
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The serial: the text before a NUL when it is one IAM allows, else a usual one.
    let (serial, text) = match text.split_once('\0') {
        Some((s, rest)) if awsmfa::config::shape::mfa_serial_problem(s).is_none() => (s, rest),
        _ => ("arn:aws:iam::123456789012:mfa/alice", text),
    };
    let Ok(seed) = typed_seed(text) else {
        return;
    };
    let seed = seed.expose_secret();
    let code = aws_code(seed, 1_700_000_000).expect("an accepted seed makes codes");
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let payload = vault_seed_payload(serial, seed);
    let back = vault_seed(payload.as_bytes()).expect("a stored seed reads back");
    assert_eq!(back.expose_secret(), seed, "{}", payload.as_str());
});
