//! Session cache files (`~/.cache/awsmfa/*.json`), as a damaged disk or another program
//! may leave them. No panic; what is accepted is a session of STS's shape, and writing
//! it as the cache writes gives a file that reads back as the same session.

#![no_main]

use awsmfa::fuzzing::{cache_entry, cache_entry_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cached = match cache_entry(data) {
        Ok(c) => c,
        Err(problem) => {
            // The warning names the problem, never the file's text.
            assert!(problem.len() < 80 && !problem.contains('{'), "{problem}");
            return;
        }
    };
    assert_eq!(cached.creds.problem(), None);
    let bytes = cache_entry_bytes(&cached.meta, &cached.creds);
    let again = cache_entry(&bytes).expect("a written entry reads back");
    assert_eq!(again.meta, cached.meta);
    assert_eq!(again.creds.access_key_id, cached.creds.access_key_id);
    assert_eq!(again.creds.secret(), cached.creds.secret());
    assert_eq!(again.creds.token(), cached.creds.token());
    assert_eq!(again.creds.expiration, cached.creds.expiration);
});
