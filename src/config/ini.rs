//! A lossless INI document for `~/.aws/config` and `~/.aws/credentials`.
//!
//! These files hold people's only copy of their keys, so an edit must change exactly
//! the bytes it means to and nothing else: comments, blank lines, order, spacing, case,
//! CRLF line endings and a missing final newline all survive. The document is a list of
//! lines, each kept verbatim with its own line ending; parsing only records where the
//! section names, keys and values sit inside each line. `to_bytes` of an unedited
//! document is the input, byte for byte.
//!
//! Parse errors carry a line number and never the line itself: the line may hold a
//! secret key.

use std::fmt;

/// What went wrong reading an INI file. Never contains file contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniError {
    /// The bytes are not UTF-8 text, or contain a NUL byte (a binary file).
    NotText { line: usize },
    /// A line that is neither `[section]`, `key = value`, an indented continuation,
    /// a comment, nor blank.
    BadLine { line: usize, what: &'static str },
    /// The same section twice (the AWS CLI rejects this file too).
    DuplicateSection { line: usize, first: usize },
    /// The same key twice in one section (keys compare case-insensitively).
    DuplicateKey { line: usize, first: usize },
    /// A section name, key or value that cannot be written as one INI line the AWS CLI
    /// reads back as the same thing (a line break in a value would start a new section).
    /// Names the part, never the value.
    Unwritable { part: String, problem: &'static str },
    /// An edit the AWS CLI would read otherwise than meant (a `[DEFAULT]` key showing
    /// through a removed one, a profile read from another section): not written.
    Misread { section: String, what: String },
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IniError::NotText { line } => {
                write!(
                    f,
                    "line {line}: not a text file (binary data or invalid UTF-8)"
                )
            }
            IniError::BadLine { line, what } => write!(f, "line {line}: {what}"),
            IniError::DuplicateSection { line, first } => write!(
                f,
                "line {line}: section repeated (first at line {first}); the AWS CLI rejects this file too"
            ),
            IniError::DuplicateKey { line, first } => write!(
                f,
                "line {line}: key repeated in its section (first at line {first}); the AWS CLI rejects this file too"
            ),
            IniError::Unwritable { part, problem } => {
                write!(f, "refused to write {part}: {problem}; nothing was written")
            }
            IniError::Misread { section, what } => write!(
                f,
                "refused to change [{section}]: the AWS CLI would not read the result as meant ({what}); nothing was written"
            ),
        }
    }
}

impl std::error::Error for IniError {}

/// How a line ends: "\n", "\r\n", or not at all (the last line of a file with no final
/// newline). One byte where a `&str` took sixteen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Lf,
    CrLf,
    None,
}

impl Ending {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            Ending::Lf => b"\n",
            Ending::CrLf => b"\r\n",
            Ending::None => b"",
        }
    }

    fn is_empty(self) -> bool {
        self == Ending::None
    }

    fn len(self) -> usize {
        self.as_bytes().len()
    }
}

/// A byte range inside one line. Lines are far shorter than 4 GiB (the files are capped
/// at 32 MiB), and a document of a million lines holds two or three of these per line.
type Span = (u32, u32);

fn span(start: usize, end: usize) -> Span {
    (
        u32::try_from(start).expect("a line under 4 GiB"),
        u32::try_from(end).expect("a line under 4 GiB"),
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Blank, or a comment (`#` or `;` after optional white space).
    Other,
    /// `[name]`: byte range of the trimmed name inside the line.
    Section { name: Span },
    /// A line indented deeper than the entry above it and without `=`: the rest of a
    /// multi-line value. Kept verbatim; awsmfa reads no multi-line values.
    Continuation,
    /// `key = value`: ranges of the key and of the trimmed value; `indented` for the
    /// sub-keys of a nested block (`s3 =` followed by `  endpoint_url = …`).
    Entry {
        key: Span,
        value: Span,
        indented: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    /// "\n", "\r\n" or "" (the last line of a file with no final newline).
    ending: Ending,
    kind: Kind,
}

/// A line may hold a key (the credentials file): wiped wherever it is dropped, an edit
/// that removes it included.
impl Drop for Line {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
    }
}

impl Line {
    fn slice(&self, range: Span) -> &str {
        &self.text[range.0 as usize..range.1 as usize]
    }
}

/// A parsed INI file that can be edited and written back losslessly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    lines: Vec<Line>,
    /// Line index of every section header, in file order.
    headers: Vec<usize>,
    /// Each section name's headers, as indexes into `headers`: lookups by name are O(1),
    /// so reading every profile of a 40,000-profile file is linear (issue 12). Only
    /// `[DEFAULT]` may have more than one in a file the AWS CLI reads.
    first: std::collections::HashMap<String, Vec<usize>>,
    /// Section names by the name botocore gives them (`profile` and `services` headers
    /// split as shlex splits them, later sections winning), for the config file.
    named: std::collections::HashMap<(&'static str, String), String>,
    /// What the edits since parsing meant, for [`Document::check_reads_as_meant`].
    edits: Vec<Edit>,
    /// For a document of some sections of a file ([`Document::parse_sections`]): where
    /// each section starts, as (index into `lines`, its line number in the file), so
    /// that line numbers are the file's. Empty for a whole file.
    chunks: Vec<(usize, usize)>,
}

/// One intended change, as the AWS CLI should read it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Edit {
    /// `key = value` in the section (lowercase key).
    Set(String, String, String),
    /// The key (and its nested sub-keys) gone from the section.
    Remove(String, String),
    /// The section gone.
    RemoveSection(String),
}

/// configparser's default section: its keys show in every section of the file.
const DEFAULT: &str = "DEFAULT";

/// The names botocore reads a session token under, first found wins.
pub const SESSION_TOKEN_KEYS: [&str; 2] = ["aws_session_token", "aws_security_token"];

/// The keys that make a section credentials.
const CREDENTIAL_KEYS: [&str; 4] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

/// One section's entries, in file order: `(key, value, line number)`. Sub-keys of a
/// nested block are reported as `parent.sub`.
pub type Entries = Vec<(String, String, usize)>;

impl Document {
    /// Parses bytes. Fails on binary data and on lines that are not INI at all; repeated
    /// sections and keys are accepted here (so any file round-trips) and reported by
    /// [`Document::check_duplicates`].
    pub fn parse(bytes: &[u8]) -> Result<Document, IniError> {
        Document::parse_keeping(bytes, false)
    }

    /// [`Document::parse`] keeping the section headers only: the sections and their
    /// names as the whole document has them (every line is read and checked), without
    /// their keys. What listing profile names needs, at a fraction of the memory.
    pub fn parse_headers(bytes: &[u8]) -> Result<Document, IniError> {
        Document::parse_keeping(bytes, true)
    }

    fn parse_keeping(bytes: &[u8], headers_only: bool) -> Result<Document, IniError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let line = 1 + bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                return Err(IniError::NotText { line });
            }
        };
        if let Some(pos) = text.find('\0') {
            let line = 1 + text[..pos].matches('\n').count();
            return Err(IniError::NotText { line });
        }
        let mut lines = Vec::new();
        let mut rest = text;
        let mut in_section = false;
        // The last option line's indentation and whether its first-line value was empty
        // (then deeper lines are a nested block). Blank lines and comments keep it, as
        // in Python's configparser; a section header clears it.
        let mut option: Option<(usize, bool)> = None;
        let mut number = 0;
        while !rest.is_empty() {
            number += 1;
            let (raw, ending, next) = match rest.find('\n') {
                Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => {
                    (&rest[..i - 1], Ending::CrLf, &rest[i + 1..])
                }
                Some(i) => (&rest[..i], Ending::Lf, &rest[i + 1..]),
                None => (rest, Ending::None, ""),
            };
            rest = next;
            if raw.contains('\r') {
                // Python reads a lone CR as a line break: the AWS CLI would see other
                // lines than these.
                return Err(IniError::BadLine {
                    line: number,
                    what: "a carriage return inside a line",
                });
            }
            let kind = classify(raw, number, in_section, option)?;
            match kind {
                Kind::Section { .. } => {
                    in_section = true;
                    option = None;
                }
                Kind::Entry {
                    value,
                    indented: false,
                    ..
                } => {
                    option = Some((raw.len() - raw.trim_start().len(), value.0 == value.1));
                }
                _ => {}
            }
            if headers_only && !matches!(kind, Kind::Section { .. }) {
                continue;
            }
            lines.push(Line {
                text: raw.to_string(),
                ending,
                kind,
            });
        }
        let mut doc = Document {
            lines,
            ..Default::default()
        };
        doc.reindex();
        Ok(doc)
    }

    /// Rebuilds the section index after lines were inserted or removed.
    fn reindex(&mut self) {
        self.headers.clear();
        self.first.clear();
        self.named.clear();
        for (i, line) in self.lines.iter().enumerate() {
            if let Kind::Section { name } = &line.kind {
                self.first
                    .entry(line.slice(*name).to_string())
                    .or_default()
                    .push(self.headers.len());
                self.headers.push(i);
                let section = line.slice(*name);
                for prefix in ["profile", "services"] {
                    if section.starts_with(prefix)
                        && let Some(mut words) = crate::shlex::split(section)
                        && words.len() == 2
                    {
                        let key = (prefix, words.pop().expect("two words"));
                        self.named.insert(key, section.to_string());
                    }
                }
                if section == "default" {
                    self.named
                        .insert(("profile", "default".into()), section.to_string());
                }
            }
        }
    }

    /// The section botocore reads as `[PREFIX NAME]` (`profile` or `services`): the
    /// header split as shlex splits it into exactly PREFIX… and NAME, the later
    /// section winning; `[default]` is profile `default` too.
    pub fn named_section(&self, prefix: &'static str, name: &str) -> Option<&str> {
        self.named
            .get(&(prefix, name.to_string()))
            .map(String::as_str)
    }

    /// Every NAME of `[PREFIX NAME]` sections (see [`Document::named_section`]).
    pub fn named_sections(&self, prefix: &'static str) -> impl Iterator<Item = &str> {
        self.named
            .keys()
            .filter(move |(p, _)| *p == prefix)
            .map(|(_, n)| n.as_str())
    }

    /// One section as configparser reads it: lowercase key → value, with `[DEFAULT]`'s
    /// keys (`defaults`) beneath (nested sub-keys as `parent.sub`).
    fn section_reading(
        &self,
        name: &str,
        defaults: &Entries,
    ) -> std::collections::BTreeMap<String, String> {
        let lower = |key: &str| match key.split_once('.') {
            Some((k, sub)) => format!("{}.{sub}", k.to_lowercase()),
            None => key.to_lowercase(),
        };
        defaults
            .iter()
            .cloned()
            .chain(self.entries(name).unwrap_or_default())
            .map(|(k, v, _)| (lower(&k), v))
            .collect()
    }

    /// Checks that `edited` (this document after edits) reads, as the AWS CLI reads it,
    /// exactly as the edits meant: the edited keys have their new values or are gone,
    /// every other section and key reads as before, and every profile and services name
    /// is still read from the same section. Run on the bytes that would be written; one
    /// section is read at a time, so a 40,000-profile file costs little more than parsing.
    pub fn check_edit(&self, edited: &Document) -> Result<(), IniError> {
        use std::collections::{BTreeMap, HashSet};
        let after = Document::parse(&edited.to_bytes())?;
        after.check_duplicates()?;
        let defaults = self.entries(DEFAULT).unwrap_or_default();
        let after_defaults = after.entries(DEFAULT).unwrap_or_default();
        let misread = |section: &str, what: String| IniError::Misread {
            section: section.to_string(),
            what,
        };
        let compare = |section: &str,
                       want: &BTreeMap<String, String>,
                       got: &BTreeMap<String, String>|
         -> Result<(), IniError> {
            for key in want.keys().chain(got.keys()) {
                if want.get(key) != got.get(key) {
                    let what = match (want.get(key), got.get(key)) {
                        (None, Some(_))
                            if defaults.iter().any(|(k, ..)| k.eq_ignore_ascii_case(key)) =>
                        {
                            format!("[DEFAULT] would still supply {key}")
                        }
                        (None, Some(_)) => format!("{key} would still be there"),
                        (Some(_), None) => format!("{key} would be missing"),
                        _ => format!("{key} would read differently"),
                    };
                    return Err(misread(section, what));
                }
            }
            Ok(())
        };
        let before_names: HashSet<&str> = self
            .section_names()
            .into_iter()
            .filter(|s| *s != DEFAULT)
            .collect();
        // The edited sections: what they read before, with the edits applied.
        let mut expected: BTreeMap<&str, Option<BTreeMap<String, String>>> = BTreeMap::new();
        for edit in &edited.edits {
            let section = match edit {
                Edit::Set(s, ..) | Edit::Remove(s, _) | Edit::RemoveSection(s) => s.as_str(),
            };
            let values = expected
                .entry(section)
                .or_insert_with(|| Some(self.section_reading(section, &defaults)));
            match edit {
                Edit::Set(_, key, value) => {
                    let values =
                        values.get_or_insert_with(|| self.section_reading(section, &defaults));
                    values.retain(|k, _| !k.starts_with(&format!("{key}.")));
                    values.insert(key.clone(), value.clone());
                }
                Edit::Remove(_, key) => {
                    if let Some(values) = values {
                        values.retain(|k, _| k != key && !k.starts_with(&format!("{key}.")));
                    }
                }
                Edit::RemoveSection(_) => *values = None,
            }
        }
        let after_names: HashSet<&str> = after
            .section_names()
            .into_iter()
            .filter(|s| *s != DEFAULT)
            .collect();
        for section in &after_names {
            match expected.get(section) {
                Some(Some(want)) => {
                    compare(
                        section,
                        want,
                        &after.section_reading(section, &after_defaults),
                    )?;
                }
                Some(None) => {
                    return Err(misread(section, "the section would still be there".into()));
                }
                None if before_names.contains(section) => compare(
                    section,
                    &self.section_reading(section, &defaults),
                    &after.section_reading(section, &after_defaults),
                )?,
                None => {
                    return Err(misread(
                        section,
                        "a section nobody asked for would appear".into(),
                    ));
                }
            }
        }
        for section in before_names.iter().chain(expected.keys()) {
            let gone_as_meant = matches!(expected.get(section), Some(None));
            if !after_names.contains(section) && !gone_as_meant {
                return Err(misread(section, "the section would be gone".into()));
            }
        }
        // A new section must not read credentials it was not given from `[DEFAULT]`
        // (a token there would make new long-term keys a session).
        for (section, values) in &expected {
            if before_names.contains(section) {
                continue;
            }
            let Some(values) = values else { continue };
            let given = |k: &str| {
                edited
                    .edits
                    .iter()
                    .any(|e| matches!(e, Edit::Set(s, set, _) if s == section && set == k))
            };
            if let Some(key) = values
                .keys()
                .find(|k| CREDENTIAL_KEYS.contains(&k.as_str()) && !given(k))
            {
                return Err(misread(
                    section,
                    format!("the file's [DEFAULT] would give the new section {key} too"),
                ));
            }
        }
        for ((prefix, name), section) in &self.named {
            let removed = matches!(expected.get(section.as_str()), Some(None));
            if !removed && after.named.get(&(*prefix, name.clone())) != Some(section) {
                return Err(misread(
                    section,
                    format!("{prefix} {name} would be read from another section"),
                ));
            }
        }
        Ok(())
    }

    /// The document's bytes: the input, byte for byte, plus whatever was edited.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Some sections of a file are never written back as if they were the file.
        assert!(self.chunks.is_empty(), "a partial document is read-only");
        let mut out = Vec::with_capacity(self.lines.iter().map(|l| l.text.len() + 2).sum());
        for line in &self.lines {
            out.extend_from_slice(line.text.as_bytes());
            out.extend_from_slice(line.ending.as_bytes());
        }
        out
    }

    /// Reports the first repeated section or repeated key, as the AWS CLI would refuse them.
    pub fn check_duplicates(&self) -> Result<(), IniError> {
        let mut sections: std::collections::HashMap<&str, usize> = Default::default();
        let mut keys: std::collections::HashMap<(String, String), usize> = Default::default();
        let mut section = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            match &line.kind {
                Kind::Section { name } => {
                    let name = line.slice(*name);
                    // configparser lets [DEFAULT] repeat (its keys still may not).
                    if name == DEFAULT {
                        section = name.to_string();
                        continue;
                    }
                    if let Some(first) = sections.insert(name, i + 1) {
                        return Err(IniError::DuplicateSection { line: i + 1, first });
                    }
                    section = name.to_string();
                }
                Kind::Entry {
                    key,
                    indented: false,
                    ..
                } => {
                    // Keys compare as configparser's optionxform (str.lower) makes them;
                    // a nested block is a dict in botocore, where a repeat just wins.
                    let k = (section.clone(), line.slice(*key).to_lowercase());
                    if let Some(first) = keys.insert(k, i + 1) {
                        return Err(IniError::DuplicateKey { line: i + 1, first });
                    }
                }
                Kind::Entry { .. } => {}
                Kind::Other | Kind::Continuation => {}
            }
        }
        Ok(())
    }

    /// Section names in file order (a repeated name appears once, at its first place).
    pub fn section_names(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.lines
            .iter()
            .filter_map(|l| match &l.kind {
                Kind::Section { name } => Some(l.slice(*name)),
                _ => None,
            })
            .filter(|n| seen.insert(*n))
            .collect()
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.section_range(name).is_some()
    }

    /// The entries of the section called `name`, or `None` when there is none. Sections
    /// of one name are read as one, as configparser reads repeated `[DEFAULT]`s. The
    /// sub-keys of a nested block come as `parent.sub`.
    pub fn entries(&self, name: &str) -> Option<Entries> {
        self.entries_with(name, true)
    }

    /// [`Document::entries`] without the sub-keys of nested blocks: what a profile's
    /// settings are made of (a block's own value reads empty; [`Document::nested_at`]
    /// reads its sub-keys when asked). A block of a million lines costs nothing here.
    pub fn top_entries(&self, name: &str) -> Option<Entries> {
        self.entries_with(name, false)
    }

    fn entries_with(&self, name: &str, nested: bool) -> Option<Entries> {
        let mut out = Vec::new();
        self.visit_entries(name, |parent, key, value, line| match parent {
            Some(parent) if nested => out.push((format!("{parent}.{key}"), value(), line)),
            Some(_) => {}
            None => out.push((key.to_string(), value(), line)),
        })
        .then_some(out)
    }

    /// Calls `f(parent, key, value, line)` for every entry of the section called `name`
    /// (sections of one name read as one): `parent` is the key of the nested block a
    /// sub-key belongs to; `value` makes the value (with its continuation lines) only
    /// when asked, so a caller that skips entries allocates nothing for them. Returns
    /// whether there is such a section.
    pub fn visit_entries(
        &self,
        name: &str,
        mut f: impl FnMut(Option<&str>, &str, &dyn Fn() -> String, usize),
    ) -> bool {
        let mut ranges = self.section_ranges(name).peekable();
        if ranges.peek().is_none() {
            return false;
        }
        let mut parent: Option<(usize, usize)> = None;
        for (i, end) in ranges.flat_map(|(start, end)| (start + 1..end).map(move |i| (i, end))) {
            let line = &self.lines[i];
            if let Kind::Entry {
                key,
                value,
                indented,
            } = &line.kind
            {
                let k = line.slice(*key);
                if *indented {
                    let p = parent.map_or("", |(line_idx, _)| {
                        let l = &self.lines[line_idx];
                        match &l.kind {
                            Kind::Entry { key, .. } => l.slice(*key),
                            _ => "",
                        }
                    });
                    f(
                        Some(p),
                        k,
                        &|| line.slice(*value).to_string(),
                        self.number(i),
                    );
                } else {
                    parent = Some((i, end));
                    f(None, k, &|| self.value_at(i, end), self.number(i));
                }
            }
        }
        true
    }

    /// The `sub = value` lines of the nested block whose key is on line `number`
    /// (1-based, as [`Document::entries`] gives it), in file order; empty when that
    /// line starts no block.
    pub fn nested_at(&self, number: usize) -> Vec<(String, String)> {
        let Some(idx) = self.index_of(number).filter(|&i| i < self.lines.len()) else {
            return Vec::new();
        };
        if !matches!(
            self.lines[idx].kind,
            Kind::Entry {
                indented: false,
                ..
            }
        ) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for line in &self.lines[idx + 1..] {
            match &line.kind {
                Kind::Entry {
                    key,
                    value,
                    indented: true,
                } => out.push((line.slice(*key).to_string(), line.slice(*value).to_string())),
                Kind::Continuation | Kind::Other => {}
                _ => break,
            }
        }
        out
    }

    /// The value of the option on line `i` as configparser joins it: the first line's
    /// value, then each continuation line (stripped; blank lines kept as empty lines,
    /// comments skipped), joined by line breaks, white space at the end removed.
    fn value_at(&self, i: usize, end: usize) -> String {
        let line = &self.lines[i];
        let Kind::Entry { value, .. } = &line.kind else {
            return String::new();
        };
        let mut out = line.slice(*value).to_string();
        for next in &self.lines[i + 1..end] {
            match next.kind {
                Kind::Continuation => {
                    out.push('\n');
                    out.push_str(next.text.trim());
                }
                Kind::Other if next.text.trim().is_empty() => out.push('\n'),
                Kind::Other | Kind::Entry { indented: true, .. } => {}
                _ => break,
            }
        }
        out.truncate(out.trim_end().len());
        out
    }

    /// The value of a top-level `key` (case-insensitive) in section `name`, with its
    /// continuation lines, as the AWS CLI reads it.
    pub fn get(&self, name: &str, key: &str) -> Option<String> {
        let (start, end) = self.section_range(name)?;
        let idx = self.find_key(start, end, key)?;
        Some(self.value_at(idx, end))
    }

    /// A key of the file's `[DEFAULT]` (lowercase) other than `keys`: what a new section
    /// would read beyond what it is given. `None` when there is none.
    pub fn default_key_besides(&self, keys: &[&str]) -> Option<String> {
        self.entries(DEFAULT)?
            .into_iter()
            .map(|(k, ..)| k.to_lowercase())
            .find(|k| !keys.iter().any(|given| given.eq_ignore_ascii_case(k)))
    }

    /// Like [`Document::get`], falling back to `[DEFAULT]`, whose keys configparser shows
    /// in every section of the file.
    pub fn get_inherited(&self, name: &str, key: &str) -> Option<String> {
        self.get(name, key).or_else(|| {
            self.section_ranges(DEFAULT)
                .find_map(|(start, end)| Some(self.value_at(self.find_key(start, end, key)?, end)))
        })
    }

    /// The session token of a section as the AWS CLI reads it: `aws_session_token`, else
    /// `aws_security_token` (boto2's and aws-mfa's name), `[DEFAULT]`'s included.
    pub fn session_token_inherited(&self, name: &str) -> Option<String> {
        SESSION_TOKEN_KEYS
            .iter()
            .find_map(|key| self.get_inherited(name, key))
    }

    /// Sets `key = value` in section `name`, creating the key (after the section's last
    /// entry) or the section (at the end of the file) when missing. An existing key keeps
    /// its spelling, its spacing around `=` and anything after the value.
    ///
    /// Refuses (and changes nothing) a key or value that would not read back as itself:
    /// one with a control character, a line break above all, or white space at an end.
    pub fn set(&mut self, name: &str, key: &str, value: &str) -> Result<(), IniError> {
        // An existing header is kept as written (`[profile\tx]` is profile x for the
        // AWS CLI); only a new one must be a plain name.
        check_writable(name, &[(key, value)], !self.has_section(name))?;
        let ending = self.line_ending();
        let Some((start, end)) = self.section_range(name) else {
            return self.append_section(name, &[(key, value)]);
        };
        if let Some(idx) = self.find_key(start, end, key) {
            self.edits.push(Edit::Set(
                name.to_string(),
                key.to_lowercase(),
                value.to_string(),
            ));
            // The whole old value goes: continuation lines left under the new first
            // line would be read as part of it (a token read as "<token>\nold-rest").
            let stop = self.value_end(idx, end);
            if stop > idx + 1 {
                let last_ending = self.lines[stop - 1].ending;
                self.lines.drain(idx + 1..stop);
                self.lines[idx].ending = last_ending;
                self.reindex();
            }
            let line = &mut self.lines[idx];
            if let Kind::Entry {
                key: k,
                value: v,
                indented,
            } = line.kind
            {
                let (v0, v1) = (v.0 as usize, v.1 as usize);
                let mut prefix = line.text[..v0].to_string();
                // `key =` with nothing after it gains a separating space.
                if v.0 == v.1 && !prefix.ends_with(' ') {
                    prefix.push(' ');
                }
                let at = prefix.len();
                let new = format!("{prefix}{value}{}", &line.text[v1..]);
                // The old text may hold the key being replaced: wiped, not just freed.
                let mut old = std::mem::replace(&mut line.text, new);
                zeroize::Zeroize::zeroize(&mut old);
                line.kind = Kind::Entry {
                    key: k,
                    value: span(at, at + value.len()),
                    indented,
                };
            }
            return Ok(());
        }
        let style = self.separator_style(start, end);
        // After the last entry and every line that continues its value: a line put
        // between a key and its continuation would become part of that key's value
        // (issue 12: a secret read as "<secret>\neu-west-1").
        let insert_at = self
            .last_entry_line(start, end)
            .map_or(start + 1, |i| i + 1);
        // After the file's unterminated last line, the new line becomes the
        // unterminated one, so "no final newline" stays true of the file.
        let mut new_ending = ending;
        if self.lines[insert_at - 1].ending.is_empty() {
            self.lines[insert_at - 1].ending = ending;
            new_ending = Ending::None;
        }
        // Indented as the section's keys (or, with none, as the next header): a line
        // indented deeper than the new key would become part of its value (a file
        // indented as a whole, `    [b]` after it).
        let leading = |l: &Line| l.text[..l.text.len() - l.text.trim_start().len()].to_string();
        let indent = (start + 1..end)
            .rev()
            .find(|&i| {
                matches!(
                    self.lines[i].kind,
                    Kind::Entry {
                        indented: false,
                        ..
                    }
                )
            })
            .map(|i| leading(&self.lines[i]))
            .or_else(|| self.lines.get(end).map(leading))
            .unwrap_or_default();
        let text = format!("{indent}{key}{style}{value}");
        let mut line = entry_line(text, indent.len() + key.len(), style.len(), new_ending);
        if let Kind::Entry { key: k, .. } = &mut line.kind {
            k.0 = span(indent.len(), 0).0;
        }
        self.lines.insert(insert_at, line);
        self.reindex();
        self.edits.push(Edit::Set(
            name.to_string(),
            key.to_lowercase(),
            value.to_string(),
        ));
        Ok(())
    }

    /// One past the last line of the value that starts on line `idx`: its continuation
    /// lines and nested entries, with the blank lines and comments between them (not
    /// those after).
    fn value_end(&self, idx: usize, end: usize) -> usize {
        let mut stop = idx + 1;
        for scan in idx + 1..end {
            match self.lines[scan].kind {
                Kind::Entry { indented: true, .. } | Kind::Continuation => stop = scan + 1,
                Kind::Other => {}
                _ => break,
            }
        }
        stop
    }

    /// Removes a top-level key (and its nested sub-keys) from a section. Returns whether
    /// anything was removed.
    pub fn remove_key(&mut self, name: &str, key: &str) -> bool {
        let Some((start, end)) = self.section_range(name) else {
            return false;
        };
        let Some(idx) = self.find_key(start, end, key) else {
            return false;
        };
        self.edits
            .push(Edit::Remove(name.to_string(), key.to_lowercase()));
        // The key's line and every line of its value.
        let stop = self.value_end(idx, end);
        let last_ending = self.lines[stop - 1].ending;
        self.lines.drain(idx..stop);
        self.reindex();
        // Keep "no final newline" true of the file if we removed its last line.
        if last_ending.is_empty() && idx == self.lines.len() && idx > 0 {
            self.end_unterminated();
        }
        true
    }

    /// Makes the last line the file's unterminated one, after an edit took the line
    /// that was. A blank line left with neither text nor ending is no line at all (the
    /// file's bytes do not have it): it goes, so that the document stays what its
    /// bytes parse to.
    fn end_unterminated(&mut self) {
        let Some(last) = self.lines.last_mut() else {
            return;
        };
        last.ending = Ending::None;
        if last.text.is_empty() {
            self.lines.pop();
            self.reindex();
        }
    }

    /// Removes section `name` when it has no entries left: its header and its blank
    /// lines go, comments stay. Returns whether it was removed.
    pub fn remove_section_if_empty(&mut self, name: &str) -> bool {
        let mut blocks = self.section_ranges(name);
        let found = (blocks.next(), blocks.next());
        drop(blocks);
        let (Some((start, end)), None) = found else {
            // None, or a repeated `[DEFAULT]`, which reads as one section: taking one of
            // its headers away would leave the name in the file, so an empty one stays
            // (it reads as nothing).
            return false;
        };
        // Under a `[DEFAULT]` with keys, an empty section still reads as those keys (a
        // region, a device): the header stays, so the profile reads as before.
        if self.entries(DEFAULT).is_some_and(|e| !e.is_empty()) {
            return false;
        }
        if self.lines[start..end]
            .iter()
            .any(|l| matches!(l.kind, Kind::Entry { .. } | Kind::Continuation))
        {
            return false;
        }
        // An indented header after it would follow the entry above once this header
        // is gone, and configparser would read it as that entry's value going on.
        if self
            .lines
            .get(end)
            .is_some_and(|l| l.text.trim_start().len() < l.text.len())
        {
            return false;
        }
        self.edits.push(Edit::RemoveSection(name.to_string()));
        let at_end = end == self.lines.len();
        let unterminated = self.lines[end - 1].ending.is_empty();
        let tail = self.lines.split_off(end);
        let body = self.lines.split_off(start);
        self.lines.extend(
            body.into_iter()
                .skip(1)
                .filter(|l| !l.text.trim().is_empty()),
        );
        self.lines.extend(tail);
        self.reindex();
        // Keep "no final newline" true of the file if its last line went.
        if at_end && unterminated {
            self.end_unterminated();
        }
        true
    }

    /// Appends a new section with entries at the end of the file, separated from what
    /// precedes it by one blank line.
    pub fn append_section(&mut self, name: &str, entries: &[(&str, &str)]) -> Result<(), IniError> {
        check_writable(name, entries, true)?;
        let ending = self.line_ending();
        if let Some(last) = self.lines.last_mut()
            && last.ending.is_empty()
        {
            last.ending = ending;
        }
        if self.lines.last().is_some_and(|l| !l.text.trim().is_empty()) {
            self.lines.push(Line {
                text: String::new(),
                ending,
                kind: Kind::Other,
            });
        }
        let header = format!("[{name}]");
        let len = header.len();
        self.lines.push(Line {
            text: header,
            ending,
            kind: Kind::Section {
                name: span(1, len - 1),
            },
        });
        for (key, value) in entries {
            let text = format!("{key} = {value}");
            self.lines.push(entry_line(text, key.len(), 3, ending));
            self.edits.push(Edit::Set(
                name.to_string(),
                key.to_lowercase(),
                value.to_string(),
            ));
        }
        self.reindex();
        Ok(())
    }

    /// The file's line ending: that of its first terminated line, else "\n".
    fn line_ending(&self) -> Ending {
        self.lines
            .iter()
            .map(|l| l.ending)
            .find(|e| !e.is_empty())
            .unwrap_or(Ending::Lf)
    }

    /// The bytes of the first section called `name` in [`Document::to_bytes`]: from the
    /// start of its header line to the start of the next header (or the end). For the
    /// fuzz targets' "an edit changes nothing outside its section".
    pub(crate) fn section_span(&self, name: &str) -> Option<std::ops::Range<usize>> {
        let (start, end) = self.section_range(name)?;
        let offset = |upto: usize| {
            self.lines[..upto]
                .iter()
                .map(|l| l.text.len() + l.ending.len())
                .sum::<usize>()
        };
        Some(offset(start)..offset(end))
    }

    /// The file's line number of line `i` (0-based index into `lines`).
    fn number(&self, i: usize) -> usize {
        match self.chunks.partition_point(|&(start, _)| start <= i) {
            0 => i + 1,
            k => {
                let (start, first) = self.chunks[k - 1];
                first + (i - start)
            }
        }
    }

    /// The index into `lines` of the file's line `number`, when this document has it.
    fn index_of(&self, number: usize) -> Option<usize> {
        if self.chunks.is_empty() {
            return number.checked_sub(1);
        }
        let k = self.chunks.partition_point(|&(_, first)| first <= number);
        let (start, first) = *self.chunks.get(k.checked_sub(1)?)?;
        let i = start + (number - first);
        let end = self.chunks.get(k).map_or(self.lines.len(), |&(s, _)| s);
        (i < end).then_some(i)
    }

    /// A document of some sections of a file, each given as its bytes (from its header
    /// line to the next header) and the file's line number of its header, in file order.
    /// Reads as the whole file reads for these sections, line numbers included, provided
    /// the whole file parses and has no duplicates (see [`crate::config::index`]).
    pub fn parse_sections(sections: &[(&[u8], usize)]) -> Result<Document, IniError> {
        let mut lines = Vec::new();
        let mut chunks = Vec::with_capacity(sections.len());
        for (bytes, first) in sections {
            let mut part = Document::parse(bytes)?;
            if !matches!(
                part.lines.first().map(|l| &l.kind),
                Some(Kind::Section { .. })
            ) {
                return Err(IniError::BadLine {
                    line: *first,
                    what: "not the start of a section",
                });
            }
            chunks.push((lines.len(), *first));
            lines.append(&mut part.lines);
        }
        let mut doc = Document {
            lines,
            chunks,
            ..Default::default()
        };
        doc.reindex();
        Ok(doc)
    }

    /// Every section of a whole file as (its name, the byte offset and length of the
    /// section from its header line to the next header, the header's line number).
    pub fn section_spans(&self) -> Vec<(&str, usize, usize, usize)> {
        let mut offset = 0;
        let mut starts = Vec::with_capacity(self.headers.len() + 1);
        let mut next = self.headers.iter().peekable();
        for (i, line) in self.lines.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
                starts.push((i, offset));
            }
            offset += line.text.len() + line.ending.len();
        }
        starts
            .iter()
            .enumerate()
            .map(|(k, &(i, start))| {
                let end = starts.get(k + 1).map_or(offset, |&(_, s)| s);
                let Kind::Section { name } = &self.lines[i].kind else {
                    unreachable!("headers index section lines")
                };
                (
                    self.lines[i].slice(*name),
                    start,
                    end - start,
                    self.number(i),
                )
            })
            .collect()
    }

    /// `(header index, end index exclusive)` of the first section called `name`.
    fn section_range(&self, name: &str) -> Option<(usize, usize)> {
        self.section_ranges(name).next()
    }

    /// `(header index, end index exclusive)` of every section called `name`.
    fn section_ranges(&self, name: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.first.get(name).into_iter().flatten().map(|&k| {
            let start = self.headers[k];
            let end = self.headers.get(k + 1).copied().unwrap_or(self.lines.len());
            (start, end)
        })
    }

    fn find_key(&self, start: usize, end: usize, key: &str) -> Option<usize> {
        (start + 1..end).find(|&i| {
            let line = &self.lines[i];
            matches!(&line.kind, Kind::Entry { key: r, indented: false, .. }
                if line.slice(*r).eq_ignore_ascii_case(key))
        })
    }

    fn last_entry_line(&self, start: usize, end: usize) -> Option<usize> {
        (start + 1..end)
            .rev()
            .find(|&i| matches!(self.lines[i].kind, Kind::Entry { .. } | Kind::Continuation))
    }

    /// How the section writes `=`: the text between key and value of its first entry.
    fn separator_style(&self, start: usize, end: usize) -> String {
        for line in &self.lines[start + 1..end] {
            if let Kind::Entry {
                key,
                value,
                indented: false,
            } = line.kind
            {
                let between = &line.text[key.1 as usize..value.0 as usize];
                if between.trim() == "=" {
                    return between.to_string();
                }
            }
        }
        " = ".to_string()
    }
}

/// Refuses a section name (when `new`), key or value that one INI line cannot carry as
/// itself.
fn check_writable(section: &str, entries: &[(&str, &str)], new: bool) -> Result<(), IniError> {
    let refuse = |part: String, problem| Err(IniError::Unwritable { part, problem });
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.trim() == s
            && !s.chars().any(char::is_control)
            && !s.contains(['[', ']'])
    };
    if new && !name_ok(section) {
        return refuse(
            "a section name".into(),
            "it is empty, has white space at an end, brackets or control characters",
        );
    }
    for (key, value) in entries {
        if !name_ok(key) || key.contains(['=', ':', '#', ';']) {
            return refuse(
                format!("a key in [{}]", crate::term::clean(section)),
                "it is not a plain key name",
            );
        }
        if let Some(problem) = super::shape::file_value_problem(value) {
            return refuse(
                format!("{key} in [{}]", crate::term::clean(section)),
                problem,
            );
        }
    }
    Ok(())
}

fn entry_line(text: String, key_len: usize, sep_len: usize, ending: Ending) -> Line {
    let value_start = key_len + sep_len;
    let len = text.len();
    Line {
        text,
        ending,
        kind: Kind::Entry {
            key: span(0, key_len),
            value: span(value_start, len),
            indented: false,
        },
    }
}

/// Classifies one line as Python's `configparser` (botocore's reader) does. `option` is
/// the indentation of the last option line and whether its value was empty: a deeper
/// line continues that option's value, and after an empty first-line value the deeper
/// lines form a nested block of `key = value` lines (botocore's `_parse_nested`).
fn classify(
    raw: &str,
    line: usize,
    in_section: bool,
    option: Option<(usize, bool)>,
) -> Result<Kind, IniError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Ok(Kind::Other);
    }
    let indent = raw.len() - raw.trim_start().len();
    let end_of = |part: &str| indent + part.len();
    if let Some((level, nested)) = option
        && indent > level
    {
        if !nested {
            return Ok(Kind::Continuation);
        }
        // botocore splits a nested line at its first `=`; a line without one makes it
        // refuse the whole file.
        let Some(eq) = trimmed.find('=') else {
            return Err(IniError::BadLine {
                line,
                what: "a line of a nested block without `=` (the AWS CLI rejects this file too)",
            });
        };
        let key = trimmed[..eq].trim_end();
        let value = trimmed[eq + 1..].trim();
        let value_start = raw.len() - raw[indent + eq + 1..].trim_start().len();
        return Ok(Kind::Entry {
            key: span(indent, end_of(key)),
            value: span(value_start, value_start + value.len()),
            indented: true,
        });
    }
    // `\[(?P<header>.+)\]` matched at the start of the stripped line: the name is
    // everything up to the last `]`, spaces kept; text after it is ignored.
    if trimmed.starts_with('[')
        && let Some(close) = trimmed.rfind(']')
        && close > 1
    {
        return Ok(Kind::Section {
            name: span(indent + 1, indent + close),
        });
    }
    if !in_section {
        return Err(IniError::BadLine {
            line,
            what: "a key before the first [section]",
        });
    }
    // `(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$`: the first `=` or `:`.
    let Some(sep) = trimmed.find(['=', ':']) else {
        return Err(IniError::BadLine {
            line,
            what: if trimmed.starts_with('[') {
                "a section header without a name or a closing `]`"
            } else {
                "expected `key = value`"
            },
        });
    };
    let key = trimmed[..sep].trim_end();
    if key.is_empty() {
        return Err(IniError::BadLine {
            line,
            what: "a value without a key",
        });
    }
    let value = trimmed[sep + 1..].trim();
    let value_start = raw.len() - raw[indent + sep + 1..].trim_start().len();
    Ok(Kind::Entry {
        key: span(indent, end_of(key)),
        value: span(value_start, value_start + value.len()),
        indented: false,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_sections_are_removed_with_their_blank_lines_only() {
        let mut d = super::Document::parse(
            b"# top\n[a-long-term]\n# keys of a\naws_access_key_id = A\naws_secret_access_key = S\n\n[b]\nx = 1\n",
        )
        .unwrap();
        assert!(!d.remove_section_if_empty("a-long-term"));
        d.remove_key("a-long-term", "aws_access_key_id");
        d.remove_key("a-long-term", "aws_secret_access_key");
        assert!(d.remove_section_if_empty("a-long-term"));
        assert_eq!(d.to_bytes(), b"# top\n# keys of a\n[b]\nx = 1\n");
        let mut d = super::Document::parse(b"[b]\nx = 1\n[c]\ny = 2").unwrap();
        d.remove_key("c", "y");
        assert!(d.remove_section_if_empty("c"));
        assert_eq!(d.to_bytes(), b"[b]\nx = 1");
        assert!(!d.remove_section_if_empty("missing"));
    }

    #[test]
    fn an_empty_section_before_an_indented_header_stays() {
        // Found by fuzz/ini_edit: without [empty], `  [b]` continues k's value.
        let file = b"[a]\nk = v\n[empty]\n\n  [b]\nx = 1\n";
        let mut d = super::Document::parse(file).unwrap();
        assert!(!d.remove_section_if_empty("empty"));
        assert_eq!(d.to_bytes(), file);
        // Unindented, it goes.
        let mut d = super::Document::parse(b"[a]\nk = v\n[empty]\n\n[b]\nx = 1\n").unwrap();
        assert!(d.remove_section_if_empty("empty"));
        assert_eq!(d.to_bytes(), b"[a]\nk = v\n[b]\nx = 1\n");
        assert_eq!(d.get("a", "k").as_deref(), Some("v"));
    }

    #[test]
    fn removing_the_last_section_leaves_no_line_the_bytes_do_not_have() {
        // Found by fuzz/ini_edit: after [a] went, X's blank line stayed as a line of no
        // bytes, and removing [X] then took the newline of the line before it.
        let mut d = super::Document::parse(b"[b]\nk = v\n[X]\n\n[a]").unwrap();
        assert!(d.remove_section_if_empty("a"));
        assert_eq!(d.to_bytes(), b"[b]\nk = v\n[X]\n");
        assert!(d.remove_section_if_empty("X"));
        assert_eq!(d.to_bytes(), b"[b]\nk = v\n");
        let mut d = super::Document::parse(b"[b]\nk = v\n\nx = 1").unwrap();
        assert!(d.remove_key("b", "x"));
        assert_eq!(d.to_bytes(), b"[b]\nk = v\n");
        assert!(d.set("b", "y", "2").is_ok());
        assert_eq!(d.to_bytes(), b"[b]\nk = v\ny = 2\n");
    }

    #[test]
    fn a_repeated_default_is_not_half_removed() {
        // Found by fuzz/ini_edit: the first of two [DEFAULT]s went, the name stayed.
        let file = b"[DEFAULT]\na = 1\n[x]\nb = 2\n[DEFAULT]\n";
        let mut d = super::Document::parse(file).unwrap();
        assert!(d.check_duplicates().is_ok(), "configparser reads it");
        assert!(d.remove_key("DEFAULT", "a"));
        let before = d.to_bytes();
        assert!(!d.remove_section_if_empty("DEFAULT"));
        assert_eq!(d.to_bytes(), before);
        assert_eq!(d.entries("DEFAULT"), Some(vec![]));
    }

    use super::*;

    fn roundtrip(input: &[u8]) {
        let doc = Document::parse(input).expect("parses");
        assert_eq!(doc.to_bytes(), input, "round trip changed bytes");
    }

    #[test]
    fn round_trips_exotic_layouts() {
        roundtrip(b"");
        roundtrip(b"\n\n");
        roundtrip(b"[default]\r\naws_access_key_id = A\r\n\r\n; c\r\n[x]\r\nk=v");
        roundtrip(b"  # lead comment\n[ profile  spaced ]  ; trailing\n  key   =   v a l  \n");
        roundtrip(b"[services wasabi]\nsts =\n  endpoint_url = https://sts.wasabisys.com\ns3 =\n  endpoint_url = https://s3.wasabisys.com\n");
        roundtrip(b"[Work]\nK=1\n[work]\nk=2\n");
    }

    #[test]
    fn indentation_is_relative_to_the_entry_above() {
        // A blog-style file indented as a whole: keys, not sub-keys.
        let doc = Document::parse(b"    [a]\n    k1 = 1\n    k2 = 2\n").unwrap();
        assert_eq!(doc.get("a", "k2").as_deref(), Some("2"));
        // Continuation lines of a multi-line value are kept and skipped.
        let input = b"[a]\nlong = first\n   second line\nk = v\n";
        let mut doc = Document::parse(input).unwrap();
        assert_eq!(doc.to_bytes(), input.to_vec());
        assert_eq!(doc.get("a", "long").as_deref(), Some("first\nsecond line"));
        assert_eq!(doc.get("a", "k").as_deref(), Some("v"));
        assert!(doc.remove_key("a", "long"));
        assert_eq!(doc.to_bytes(), b"[a]\nk = v\n".to_vec());
    }

    #[test]
    fn reads_sections_keys_and_nested_blocks() {
        let doc = Document::parse(
            b"[services w]\nsts =\n  endpoint_url = https://sts.wasabisys.com\n\n[profile a]\nRegion = eu-west-1\n",
        )
        .unwrap();
        assert_eq!(doc.section_names(), vec!["services w", "profile a"]);
        assert_eq!(doc.get("profile a", "region").as_deref(), Some("eu-west-1"));
        let e = doc.entries("services w").unwrap();
        assert_eq!(e[1].0, "sts.endpoint_url");
        assert_eq!(e[1].1, "https://sts.wasabisys.com");
    }

    #[test]
    fn set_replaces_value_and_keeps_everything_else() {
        let input = b"# keys\n[a]\nAWS_Session_Token   =old   # not a comment\nx=y\n[b]\nk = v";
        let mut doc = Document::parse(input).unwrap();
        doc.set("a", "aws_session_token", "new").unwrap();
        assert_eq!(
            doc.to_bytes(),
            b"# keys\n[a]\nAWS_Session_Token   =new\nx=y\n[b]\nk = v".to_vec()
        );
    }

    #[test]
    fn set_adds_key_after_last_entry_in_section_style_and_crlf() {
        let mut doc = Document::parse(b"[a]\r\nk=v\r\n\r\n# about b\r\n[b]\r\n").unwrap();
        doc.set("a", "new", "1").unwrap();
        assert_eq!(
            doc.to_bytes(),
            b"[a]\r\nk=v\r\nnew=1\r\n\r\n# about b\r\n[b]\r\n".to_vec()
        );
    }

    #[test]
    fn set_in_last_section_without_final_newline() {
        let mut doc = Document::parse(b"[a]\nk = v").unwrap();
        doc.set("a", "n", "1").unwrap();
        assert_eq!(doc.to_bytes(), b"[a]\nk = v\nn = 1".to_vec());
    }

    #[test]
    fn append_section_separates_with_blank_line() {
        let mut doc = Document::parse(b"[a]\nk = v").unwrap();
        doc.set("b", "x", "1").unwrap();
        assert_eq!(doc.to_bytes(), b"[a]\nk = v\n\n[b]\nx = 1\n".to_vec());
        let mut empty = Document::default();
        empty.set("b", "x", "1").unwrap();
        assert_eq!(empty.to_bytes(), b"[b]\nx = 1\n".to_vec());
    }

    #[test]
    fn remove_key_removes_nested_block_and_keeps_no_final_newline() {
        let mut doc = Document::parse(b"[s]\nsts =\n  endpoint_url = u\nk = v").unwrap();
        assert!(doc.remove_key("s", "sts"));
        assert_eq!(doc.to_bytes(), b"[s]\nk = v".to_vec());
        assert!(doc.remove_key("s", "k"));
        assert_eq!(doc.to_bytes(), b"[s]".to_vec());
    }

    #[test]
    fn errors_name_the_line_and_not_its_text() {
        let err = Document::parse(b"[a]\nk = v\nSECRETSTUFF\n").unwrap_err();
        assert_eq!(
            err,
            IniError::BadLine {
                line: 3,
                what: "expected `key = value`"
            }
        );
        assert!(!err.to_string().contains("SECRETSTUFF"));
        assert_eq!(
            Document::parse(b"[a]\nk=\xff\n").unwrap_err(),
            IniError::NotText { line: 2 }
        );
        assert_eq!(
            Document::parse(b"[a]\n\0").unwrap_err(),
            IniError::NotText { line: 2 }
        );
        assert!(matches!(
            Document::parse(b"k = v\n[a]\n"),
            Err(IniError::BadLine { line: 1, .. })
        ));
        assert!(matches!(
            Document::parse(b"[a\n"),
            Err(IniError::BadLine { line: 1, .. })
        ));
    }

    #[test]
    fn duplicates_are_reported_case_insensitively_for_keys() {
        let doc = Document::parse(b"[a]\nKey = 1\nkey = 2\n").unwrap();
        assert_eq!(
            doc.check_duplicates(),
            Err(IniError::DuplicateKey { line: 3, first: 2 })
        );
        let doc = Document::parse(b"[a]\n[b]\n[a]\n").unwrap();
        assert_eq!(
            doc.check_duplicates(),
            Err(IniError::DuplicateSection { line: 3, first: 1 })
        );
        let doc = Document::parse(b"[A]\nk=1\n[a]\nk=1\n").unwrap();
        assert_eq!(doc.check_duplicates(), Ok(()));
    }
}

#[cfg(test)]
mod edit_tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn repeated_default_sections_read_as_one() {
        let d = doc("[DEFAULT]\na = 1\n[x]\nb = 2\n[DEFAULT]\nc = 3\n");
        let keys: Vec<String> = d
            .entries("DEFAULT")
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(d.get_inherited("x", "c").as_deref(), Some("3"));
        assert_eq!(d.get("x", "c"), None);
    }

    #[test]
    fn get_reads_continuation_lines_as_the_cli_does() {
        let d = doc("[x]\naws_access_key_id = AKIA\n  more\nk = v\n");
        assert_eq!(
            d.get("x", "aws_access_key_id").as_deref(),
            Some("AKIA\nmore")
        );
    }

    #[test]
    fn set_replaces_the_whole_value_with_its_continuation_lines() {
        let mut d = doc("[x]\naws_session_token = old\n  rest\n\n  more\nk = v\n");
        let before = d.clone();
        d.set("x", "aws_session_token", "new").unwrap();
        assert_eq!(
            String::from_utf8(d.to_bytes()).unwrap(),
            "[x]\naws_session_token = new\nk = v\n"
        );
        before.check_edit(&d).unwrap();
    }

    #[test]
    fn a_removal_that_default_would_undo_is_refused() {
        let mut d = doc(
            "[DEFAULT]\naws_access_key_id = AKIADEFAULT\n[x]\naws_access_key_id = AKIAX\nregion = r\n",
        );
        let before = d.clone();
        assert!(d.remove_key("x", "aws_access_key_id"));
        let err = before.check_edit(&d).unwrap_err();
        assert!(
            err.to_string()
                .contains("[DEFAULT] would still supply aws_access_key_id"),
            "{err}"
        );
    }

    #[test]
    fn a_new_section_that_changes_which_section_a_profile_reads_is_refused() {
        // botocore reads profile default from the later of [default] / [profile default].
        let mut d = doc("[profile default]\nregion = r\n");
        let before = d.clone();
        d.append_section(
            "default",
            &[("mfa_serial", "arn:aws:iam::123456789012:mfa/u")],
        )
        .unwrap();
        let err = before.check_edit(&d).unwrap_err();
        assert!(
            err.to_string()
                .contains("profile default would be read from another section"),
            "{err}"
        );
    }

    #[test]
    fn default_keys_are_part_of_what_a_section_reads() {
        // An emptied section under a [DEFAULT] with keys keeps its header: it still
        // reads the region it read before.
        let mut d = doc("[DEFAULT]\nregion = r\n[x]\naws_access_key_id = AKIA\n");
        let before = d.clone();
        d.remove_key("x", "aws_access_key_id");
        assert!(!d.remove_section_if_empty("x"));
        before.check_edit(&d).unwrap();
        // A new section would read [DEFAULT]'s token: new long-term keys made a session.
        let mut d = doc("[DEFAULT]\naws_session_token = t\n");
        let before = d.clone();
        d.append_section(
            "x-long-term",
            &[
                ("aws_access_key_id", "AKIA"),
                ("aws_secret_access_key", "s"),
            ],
        )
        .unwrap();
        let err = before.check_edit(&d).unwrap_err();
        assert!(
            err.to_string()
                .contains("[DEFAULT] would give the new section aws_session_token too"),
            "{err}"
        );
    }

    #[test]
    fn edits_of_other_sections_leave_everything_else_reading_the_same() {
        let text = "[DEFAULT]\nregion = r\n[a]\nk: v\n  cont\n[b]\nx = 1";
        let mut d = doc(text);
        let before = d.clone();
        d.set("b", "y", "2").unwrap();
        d.set("c", "z", "3").unwrap();
        before.check_edit(&d).unwrap();
        assert!(
            String::from_utf8(d.to_bytes())
                .unwrap()
                .starts_with("[DEFAULT]\nregion = r\n[a]\nk: v\n  cont\n[b]\nx = 1\ny = 2\n")
        );
    }
}
