//! Edits of `~/.aws/config` and `~/.aws/credentials`. The input is a file, a NUL byte,
//! then a script of edits (set, remove a key, remove an empty section, append a
//! section) on sections and keys of the file or new ones. After each edit:
//! - refused (an error, or `false`): not one byte changed;
//! - done: the bytes outside the edited section are the old ones (a new section: the
//!   old file is a prefix), and the result parses, writes itself back and reads as
//!   the document it came from;
//! - in a file without repeated sections or keys, the edit reads back as meant (a set
//!   key has its value, a removed one is gone), and whenever the edit check passes,
//!   every other section reads as before (the check's own promise).

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use awsmfa::config::ini::Document;
use awsmfa::fuzzing::ini_section_span;
use libfuzzer_sys::fuzz_target;

#[derive(Debug)]
enum Op {
    Set(String, String, String),
    RemoveKey(String, String),
    RemoveSectionIfEmpty(String),
    Append(String, Vec<(String, String)>),
}

/// Names that exercise the readings: DEFAULT's inheritance, botocore's profile names.
const NAMES: [&str; 8] = [
    "DEFAULT",
    "default",
    "profile a",
    "profile \"a b\"",
    "services s",
    "a",
    "a-long-term",
    "profile\ta",
];
const KEYS: [&str; 8] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "region",
    "mfa_serial",
    "source_profile",
    "s3",
    "Region",
];

fn section(u: &mut Unstructured, doc: &Document) -> Result<String> {
    let names = doc.section_names();
    Ok(match u.int_in_range(0..=2)? {
        0 if !names.is_empty() => u.choose(&names)?.to_string(),
        1 => u.choose(&NAMES)?.to_string(),
        _ => String::arbitrary(u)?,
    })
}

fn key(u: &mut Unstructured, doc: &Document, section: &str) -> Result<String> {
    let keys: Vec<String> = doc
        .entries(section)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, ..)| k)
        .collect();
    Ok(match u.int_in_range(0..=2)? {
        0 if !keys.is_empty() => u.choose(&keys)?.clone(),
        1 => u.choose(&KEYS)?.to_string(),
        _ => String::arbitrary(u)?,
    })
}

fn value(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=3)? {
        0 => "AKIAIOSFODNN7EXAMPLE".into(),
        1 => String::new(),
        _ => String::arbitrary(u)?,
    })
}

fn op(u: &mut Unstructured, doc: &Document) -> Result<Op> {
    let s = section(u, doc)?;
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => {
            let k = key(u, doc, &s)?;
            Op::Set(s, k, value(u)?)
        }
        2 => Op::RemoveKey(s.clone(), key(u, doc, &s)?),
        3 if u.ratio(1, 2)? => Op::RemoveSectionIfEmpty(s),
        _ => {
            let mut entries = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                entries.push((key(u, doc, &s)?, value(u)?));
            }
            Op::Append(s, entries)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let (file, script) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(mut doc) = Document::parse(file) else {
        return;
    };
    let original = doc.clone();
    let mut u = Unstructured::new(script);
    for _ in 0..8 {
        let Ok(op) = op(&mut u, &doc) else { break };
        apply(&mut doc, &op);
    }
    // All edits together: what `awsmfa` checks before writing.
    if original.check_duplicates().is_ok() && original.check_edit(&doc).is_ok() {
        let after = Document::parse(&doc.to_bytes()).expect("a checked edit parses");
        after
            .check_duplicates()
            .expect("a checked edit repeats nothing");
    }
});

fn apply(doc: &mut Document, op: &Op) {
    let before = doc.clone();
    let old = doc.to_bytes();
    let (name, done) = match op {
        Op::Set(s, k, v) => (s, doc.set(s, k, v).is_ok()),
        Op::RemoveKey(s, k) => (s, doc.remove_key(s, k)),
        Op::RemoveSectionIfEmpty(s) => (s, doc.remove_section_if_empty(s)),
        Op::Append(s, entries) => {
            let pairs: Vec<(&str, &str)> = entries
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            // A repeated section is what the AWS CLI rejects: appending one is the
            // caller's mistake, not the document's.
            if before.has_section(s) {
                return;
            }
            (s, doc.append_section(s, &pairs).is_ok())
        }
    };
    let new = doc.to_bytes();
    if !done {
        assert_eq!(new, old, "{op:?} was refused but changed the file");
        return;
    }
    let reparsed = Document::parse(&new)
        .unwrap_or_else(|e| panic!("{op:?} made a file that does not parse: {e}"));
    assert_eq!(reparsed.to_bytes(), new);
    // The document reads as its bytes do: no line read one way in memory and another
    // way from the file (a header that became a value's next line).
    assert_eq!(reparsed.section_names(), doc.section_names(), "{op:?}");
    for section in doc.section_names() {
        assert_eq!(
            reparsed.entries(section),
            doc.entries(section),
            "{op:?} reads [{section}] otherwise from the file"
        );
    }
    match ini_section_span(&before, name) {
        Some(span) => {
            // Before the section: unchanged, but that removing the file's last,
            // unterminated section may take the line ending before it.
            let mut head = &old[..span.start];
            if !new.starts_with(head) && span.end == old.len() && !old.ends_with(b"\n") {
                head = head.strip_suffix(b"\n").unwrap_or(head);
                head = head.strip_suffix(b"\r").unwrap_or(head);
            }
            assert!(
                new.starts_with(head),
                "{op:?} changed bytes before its section"
            );
            assert!(
                new.ends_with(&old[span.end..]),
                "{op:?} changed bytes after its section"
            );
        }
        None => {
            // A new section at the end: the old file is a prefix, but for the line
            // ending its unterminated last line gains.
            let cut = if old.ends_with(b"\n") {
                old.len()
            } else {
                old.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
            };
            assert!(new.starts_with(&old[..cut]), "{op:?} changed the old file");
            if cut < old.len() {
                let last = &old[cut..];
                assert!(new[cut..].starts_with(last), "{op:?} changed the last line");
            }
        }
    }
    if before.check_duplicates().is_err() {
        return;
    }
    match op {
        Op::Set(s, k, v) => {
            assert_eq!(reparsed.get(s, k).as_deref(), Some(v.as_str()), "{op:?}");
            if before.check_edit(doc).is_ok() {
                reparsed
                    .check_duplicates()
                    .expect("a checked set repeats nothing");
            }
        }
        Op::RemoveKey(s, k) => {
            assert_eq!(reparsed.get(s, k), None, "{op:?} left the key");
        }
        Op::RemoveSectionIfEmpty(s) => {
            assert!(!reparsed.has_section(s), "{op:?} left the section");
        }
        Op::Append(s, entries) => {
            for (k, v) in entries {
                // The first of repeated keys is the one `get` reads.
                let first = entries.iter().find(|(k2, _)| k2.eq_ignore_ascii_case(k));
                if first.is_some_and(|(_, v2)| v2 == v) {
                    assert_eq!(reparsed.get(s, k).as_deref(), Some(v.as_str()), "{op:?}");
                }
            }
        }
    }
}
