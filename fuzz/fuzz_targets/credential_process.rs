//! The JSON a source profile's `credential_process` prints, which awsmfa reads to get
//! the keys it puts MFA in front of. No panic; what is accepted has the shape of AWS
//! credentials; and awsmfa's own `credential_process` output of them (what it hands
//! every SDK) reads back as the same credentials, the expiry to the second.

#![no_main]

use awsmfa::creds::from_credential_process_json;
use awsmfa::output::formats::credential_process_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let creds = match from_credential_process_json(data) {
        Ok(c) => c,
        Err(e) => {
            assert!(
                e.starts_with("its output") || e.starts_with("in its output"),
                "{e}"
            );
            return;
        }
    };
    assert_eq!(creds.problem(), None);
    let out = credential_process_json(&creds);
    let again = from_credential_process_json(out.as_bytes())
        .unwrap_or_else(|e| panic!("awsmfa's own output does not read back: {e}"));
    assert_eq!(again.access_key_id, creds.access_key_id);
    assert_eq!(again.secret(), creds.secret());
    assert_eq!(again.token(), creds.token());
    // Written to the second, rounded down (an earlier expiry, never a later one).
    let floor = |t: jiff::Timestamp| t.as_second() - i64::from(t.subsec_nanosecond() < 0);
    assert_eq!(
        again.expiration.map(|t| t.as_second()),
        creds.expiration.map(floor)
    );
});
