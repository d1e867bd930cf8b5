//! `awsmfa policy lint` on any JSON: no panic and no hang (the fuzzer's timeout); the
//! text report, which goes to a terminal, carries no control character from the
//! policy; the JSON report is JSON.

#![no_main]

use awsmfa::policy::lint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let findings = lint::lint(&doc);
    let text = lint::to_text(&findings);
    assert_eq!(
        awsmfa::term::clean(&text),
        text.as_str(),
        "the report would write control characters to the terminal"
    );
    let json =
        serde_json::to_string(&serde_json::json!({ "findings": findings })).expect("serializable");
    serde_json::from_str::<serde_json::Value>(&json).expect("JSON");
});
