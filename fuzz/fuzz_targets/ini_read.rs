//! `~/.aws/config` and `~/.aws/credentials` as read: whatever the bytes, parsing either
//! refuses them or gives back a document that writes the same bytes; every reading
//! (sections, keys, profiles as botocore names them, resolving each profile) works on
//! it; an unedited document passes its own edit check; and each value survives the
//! shell quoting of `env` and the word quoting of a `credential_process` line.

#![no_main]

use awsmfa::config::ini::Document;
use awsmfa::config::AwsFiles;
use awsmfa::shlex::split as shlex_split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let doc = match Document::parse(data) {
        Ok(doc) => doc,
        Err(e) => {
            // Errors name a line, never its contents (it may hold a secret).
            let text = e.to_string();
            assert!(text.starts_with("line "), "{text}");
            return;
        }
    };
    assert_eq!(doc.to_bytes(), data, "parse → to_bytes is not the identity");
    let clean = doc.check_duplicates().is_ok();
    for name in doc.section_names() {
        let entries = doc.entries(name).expect("a listed section has entries");
        for (key, value, line) in entries {
            assert!(line >= 1);
            // `get` reads the first of repeated sections, `entries` all of them (as
            // configparser reads repeated [DEFAULT]s): awsmfa reads DEFAULT's keys
            // through `get_inherited`, which looks in each. (Other sections repeat only
            // in files awsmfa refuses.)
            if clean && !key.contains('.') {
                assert!(
                    doc.get_inherited(name, &key).is_some(),
                    "[{name}] {key} listed, not read"
                );
            }
            check_quoting(&value);
        }
        if clean {
            // One section of each name, so get finds the first (and only) one.
            assert!(doc.has_section(name));
        }
    }
    // The names botocore reads `[profile NAME]` headers as split back to them.
    for prefix in ["profile", "services"] {
        for name in doc.named_sections(prefix) {
            let section = doc.named_section(prefix, name).expect("listed");
            let words = shlex_split(section).expect("a named section splits");
            if section != "default" {
                assert_eq!(words.len(), 2, "{section:?}");
                assert_eq!(words[1], name, "{section:?}");
            }
        }
    }
    if clean {
        doc.check_edit(&doc.clone())
            .expect("an unedited document reads as itself");
    }
    // Resolving every profile of the file (as config and as credentials) ends, with
    // a profile or a reason.
    let files = AwsFiles {
        config_path: "config".into(),
        credentials_path: "credentials".into(),
        config: doc.clone(),
        credentials: doc,
        vault: Default::default(),
    };
    for name in files.profile_names() {
        let _ = awsmfa::config::profile::resolve(&files, &name);
    }
});

/// `env`'s POSIX quoting and `credential_process` words read back as the value.
fn check_quoting(value: &str) {
    if let Ok(quoted) = awsmfa::output::formats::sh_quote(value) {
        assert_eq!(
            shlex_split(&quoted),
            Some(vec![value.to_string()]),
            "sh_quote({value:?}) = {quoted:?}"
        );
    }
    if !cfg!(windows) {
        let word = awsmfa::fuzzing::credential_process_word(value);
        assert_eq!(
            shlex_split(&word),
            Some(vec![value.to_string()]),
            "quote_word({value:?}) = {word:?}"
        );
    }
}
