//! The lossless INI document: parse → write is the identity on generated files and on
//! every file shown in the seeds; an edit changes only the line (or section) it means
//! to, whatever surrounds it.

use awsmfa::config::ini::{Document, IniError};
use proptest::prelude::*;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "the seed fixtures are missing");
    out
}

#[test]
fn every_seed_file_round_trips_byte_for_byte() {
    for (name, bytes) in fixtures() {
        let doc = Document::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.to_bytes(), bytes, "{name}");
    }
}

#[test]
fn seed_files_read_as_the_aws_cli_reads_them() {
    let f = |n: &str| {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/seeds")
                .join(n),
        )
        .unwrap();
        Document::parse(&bytes).unwrap()
    };
    let d = f("002-indented-credentials");
    assert_eq!(
        d.get("coderazzi2", "aws_secret_access_key").as_deref(),
        Some("6APF9G+JTDyqw2Z3aeatXA3ibs5eHrT8ecNctiwf")
    );
    assert_eq!(
        d.get("iamrole", "source_profile").as_deref(),
        Some("coderazzi2")
    );
    let d = f("003-aws-vault-config");
    assert_eq!(
        d.get("profile caktus", "credential_process").as_deref(),
        Some("aws-vault exec --no-session --json caktus")
    );
    // The seed repeats a section, which the AWS CLI rejects: so does the check.
    assert!(matches!(
        d.check_duplicates(),
        Err(IniError::DuplicateSection {
            line: 18,
            first: 12
        })
    ));
    let d = f("000-wasabi-config");
    let entries = d.entries("services wasabi").unwrap();
    assert!(
        entries
            .iter()
            .any(|(k, v, _)| k == "sts.endpoint_url" && v == "https://sts.wasabisys.com")
    );
}

#[test]
fn the_jq_one_liner_from_seed_004_produces_a_file_the_aws_cli_rejects() {
    // `echo "\n[$PROFILE_NAME]"` writes a literal backslash-n: a broken line 5.
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/004-jq-broken-credentials"),
    )
    .unwrap();
    let err = Document::parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        IniError::BadLine {
            line: 5,
            what: "expected `key = value`"
        }
    );
}

fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", " ", "  ", "\t", " \t "]).prop_map(String::from)
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_.@+-]{0,12}"
}

fn value() -> impl Strategy<Value = String> {
    // Values may hold anything but line breaks, including = # ; [ ] and non-ASCII.
    "[a-zA-Z0-9/+=#;:\\[\\] .<>é€-]{0,30}".prop_map(|v| v.trim().to_string())
}

/// One line of an AWS file, without its ending.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ws(),
        1 => (ws(), prop::sample::select(vec!["#", ";"]), value()).prop_map(|(w, c, v)| format!("{w}{c}{v}")),
        2 => (ws(), ws(), prop::sample::select(vec!["", "profile ", "services "]), name(), ws(), ws())
            .prop_map(|(a, b, p, n, c, d)| format!("{a}[{b}{p}{n}{c}]{d}")),
        5 => (name(), ws(), ws(), value(), ws()).prop_map(|(k, a, b, v, c)| format!("{k}{a}={b}{v}{c}")),
        1 => (name(), ws()).prop_map(|(k, a)| format!("{k}{a}=")),
        1 => (name(), value()).prop_map(|(k, v)| format!("  {k} = {v}")),
    ]
}

fn document() -> impl Strategy<Value = Vec<u8>> {
    (
        name(),
        prop::collection::vec((line(), prop::bool::ANY), 0..40),
        prop::bool::ANY,
    )
        .prop_map(|(first, lines, final_newline)| {
            let mut text = format!("[{first}]\n");
            let n = lines.len();
            for (i, (l, crlf)) in lines.into_iter().enumerate() {
                text.push_str(&l);
                if i + 1 < n || final_newline {
                    text.push_str(if crlf { "\r\n" } else { "\n" });
                }
            }
            text.into_bytes()
        })
}

fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|b| *b == b'\n').collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_files_round_trip(bytes in document()) {
        // The one refusal generated files can meet: an empty value followed by deeper
        // lines is a nested block for botocore, which rejects a line there without `=`.
        match Document::parse(&bytes) {
            Ok(doc) => prop_assert_eq!(doc.to_bytes(), bytes),
            Err(IniError::BadLine { what, .. }) => prop_assert!(what.starts_with("a line of a nested block")),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_round_trip_when_accepted(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(doc) = Document::parse(&bytes) {
            prop_assert_eq!(doc.to_bytes(), bytes);
        }
    }

    #[test]
    fn set_changes_one_line_or_appends_one_section(
        bytes in document(),
        section in prop::sample::select(vec!["a", "profile a", "target", "x"]),
        key in prop::sample::select(vec!["aws_session_token", "region", "k"]),
        new_value in "[a-zA-Z0-9/+=]{1,40}",
    ) {
        let parsed = Document::parse(&bytes);
        prop_assume!(parsed.is_ok());
        let mut doc = parsed.unwrap();
        let existed = doc.has_section(section);
        let original = doc.clone();
        doc.set(section, key, &new_value).unwrap();
        // Read as configparser reads it, the file changed exactly as meant.
        if original.check_duplicates().is_ok() {
            match original.check_edit(&doc) {
                Ok(()) => {}
                // The one refusal such an edit may meet, rightly: a new `[profile a]`
                // when another header (`[profile a ]`) already reads as profile a, which
                // botocore would then read from the new section.
                Err(e) => {
                    let claimed = section.strip_prefix("profile ").and_then(|name| {
                        original.named_section("profile", name).filter(|s| *s != section)
                    });
                    prop_assert!(!existed && claimed.is_some(), "{e:?}");
                    return Ok(());
                }
            }
        }
        let after = doc.to_bytes();
        let reparsed = Document::parse(&after).expect("an edited file parses");
        prop_assert_eq!(reparsed.get(section, key), Some(new_value.clone()));
        let old = split_lines(&bytes);
        let new = split_lines(&after);
        if existed {
            // Same lines but one replaced or one inserted; the only other difference
            // allowed is a line ending added to the old last line.
            let common_prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
            let common_suffix = old.iter().rev().zip(new.iter().rev())
                .take_while(|(a, b)| a == b).count();
            let changed_old = old.len().saturating_sub(common_prefix + common_suffix);
            let changed_new = new.len().saturating_sub(common_prefix + common_suffix);
            prop_assert!(changed_old <= 1 && changed_new <= 2, "more than one line changed");
        } else {
            // A new section: the old bytes are a prefix (but for a final newline).
            let mut base = bytes.clone();
            if !base.is_empty() && !base.ends_with(b"\n") {
                prop_assert!(after.starts_with(&base));
                base.push(b'\n');
            }
            prop_assert!(after.starts_with(&base[..bytes.len()]));
        }
    }
}
