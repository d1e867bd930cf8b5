//! An index of the sections of the two AWS files, kept in the session cache, so that a
//! command serving one profile (`process`, `env`, `exec`) reads only the sections that
//! profile can reach instead of parsing both files whole (issue 24: 40,000 profiles cost
//! a cached `process` 173 ms and 60 MiB).
//!
//! The index maps every name a section can be looked up by to the section's place in
//! its file (byte offset, length, line number). It is used only while both files are
//! exactly what it was built from, which their stamps ([`Stamp`]: device, inode, size,
//! modification and change time in nanoseconds) tell without reading them: an index is
//! written only for files whose change time is more than [`SETTLED_SECS`] before the
//! moment they were read, and any later change of a file (a write, a truncation, a rename
//! over it, `touch -d`) sets its change time to the present, so it cannot keep the stamp
//! the index holds, even within the same second or clock tick. (A system clock set back
//! by more than that could fool it, as it fools `make` and git.)
//!
//! From the index, the sections reached from the profile are read: the profile's own
//! (`[profile NAME]`, `[NAME]`, `[NAME-long-term]`), `[default]`, `[DEFAULT]`, and then,
//! over and over, the sections named by any value of a section read so far (a
//! `source_profile`, a `services` name…) until nothing new is named. They are parsed
//! into documents that read, for these sections, exactly as the whole files read (line
//! numbers included); the whole files were checked (parsed, no duplicates) when the
//! index was built. Whatever goes wrong with the index, and any error of the profile,
//! sends the caller back to reading the files whole, so errors and hints are today's.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::Which;
use super::ini::Document;

/// What a file's stamp was when read: absent, or [`crate::sys::file_stamp`]'s numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    Absent,
    Present([i64; 7]),
}

/// How long a file must have been left alone before an index of it is written.
pub const SETTLED_SECS: i64 = 2;

/// Keys whose values are secrets, never section names.
const CREDENTIAL_KEYS: [&str; 4] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

const MAGIC: &[u8; 8] = b"awsmfaix";
const VERSION: u32 = 1;
/// magic, version, buckets, entries, two path lengths, two stamps of 8 numbers.
const HEADER: usize = 8 + 4 * 5 + 2 * 8 * 8;
const ENTRY: usize = 32;
/// More sections than any profile reaches: beyond it, the files are read whole.
const MAX_SECTIONS: usize = 4096;

/// The index file for this pair of paths, in the cache directory.
pub fn path(cache_dir: &Path, config: &Path, credentials: &Path) -> PathBuf {
    let key = crate::fsx::hashed_name(&[
        "files-index",
        &String::from_utf8_lossy(config.as_os_str().as_encoded_bytes()),
        &String::from_utf8_lossy(credentials.as_os_str().as_encoded_bytes()),
    ]);
    cache_dir.join(format!("{key}.idx"))
}

/// FNV-1a: stable across runs and builds, which std's hasher is not.
fn hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every name a section can be looked up by: its own; the second word of a header that
/// shlex splits in two (`[profile NAME]`, `[services NAME]`, `[profile "a b"]`); in the
/// credentials file, NAME of `[NAME-long-term]`.
fn section_keys(name: &str, which: Which) -> Vec<String> {
    let mut keys = vec![name.to_string()];
    if let Some(words) = crate::shlex::split(name)
        && words.len() == 2
    {
        keys.push(words[1].clone());
    }
    if which == Which::Credentials
        && let Some(base) = name.strip_suffix("-long-term")
    {
        keys.push(base.to_string());
    }
    keys
}

fn encode_stamp(out: &mut Vec<u8>, stamp: Stamp) {
    let (present, numbers) = match stamp {
        Stamp::Absent => (0, [0; 7]),
        Stamp::Present(n) => (1, n),
    };
    out.extend_from_slice(&(present as i64).to_le_bytes());
    for n in numbers {
        out.extend_from_slice(&n.to_le_bytes());
    }
}

fn decode_stamp(bytes: &[u8]) -> Stamp {
    let n = |i: usize| i64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    if n(0) == 0 {
        Stamp::Absent
    } else {
        Stamp::Present(std::array::from_fn(|i| n(i + 1)))
    }
}

fn settled(stamp: Stamp, now: SystemTime) -> bool {
    let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else {
        return false;
    };
    match stamp {
        Stamp::Absent => true,
        // The change time, seconds and nanoseconds, well before `now`.
        Stamp::Present(n) => {
            let ctime = i128::from(n[5]) * 1_000_000_000 + i128::from(n[6]);
            let now = now.as_nanos() as i128;
            ctime < now - i128::from(SETTLED_SECS) * 1_000_000_000
        }
    }
}

/// Whether files of these stamps are big enough for an index to pay: below 64 KiB
/// together (some 400 profiles) parsing them whole costs less than a few system calls.
pub fn worth_it(stamps: [Stamp; 2]) -> bool {
    let size = |s: Stamp| match s {
        Stamp::Present(n) => n[2],
        Stamp::Absent => 0,
    };
    size(stamps[0]) + size(stamps[1]) >= 64 * 1024
}

/// The index of two whole, checked files (parsed, no duplicates) with the stamps they
/// had when read, `now` being a moment before they were opened; `None` when a file
/// changed too recently for its stamp to tell a later change (then the files are read
/// whole until it settles).
pub fn build(
    config_path: &Path,
    credentials_path: &Path,
    files: [(&Document, Stamp); 2],
    now: SystemTime,
) -> Option<Vec<u8>> {
    if !files.iter().all(|(_, stamp)| settled(*stamp, now)) {
        return None;
    }
    // (hash, offset, length, line, which)
    let mut entries: Vec<(u64, u64, u64, u32, u32)> = Vec::new();
    for (which, (doc, _)) in [Which::Config, Which::Credentials].into_iter().zip(&files) {
        for (name, start, len, line) in doc.section_spans() {
            for key in section_keys(name, which) {
                entries.push((
                    hash(&key),
                    start as u64,
                    len as u64,
                    u32::try_from(line).ok()?,
                    which as u32,
                ));
            }
        }
    }
    let buckets = (entries.len() / 2).next_power_of_two().max(1);
    let bucket = |h: u64| (h as usize) & (buckets - 1);
    entries.sort_by_key(|e| (bucket(e.0), e.0, e.4, e.1));
    entries.dedup();
    let (c, k) = (
        config_path.as_os_str().as_encoded_bytes(),
        credentials_path.as_os_str().as_encoded_bytes(),
    );
    let mut out =
        Vec::with_capacity(HEADER + c.len() + k.len() + 4 * buckets + ENTRY * entries.len());
    out.extend_from_slice(MAGIC);
    for n in [
        VERSION,
        buckets as u32,
        entries.len() as u32,
        c.len() as u32,
        k.len() as u32,
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    encode_stamp(&mut out, files[0].1);
    encode_stamp(&mut out, files[1].1);
    out.extend_from_slice(c);
    out.extend_from_slice(k);
    // Bucket b's entries are [table[b], table[b + 1]).
    let mut at = 0;
    for b in 0..=buckets {
        while at < entries.len() && bucket(entries[at].0) < b {
            at += 1;
        }
        out.extend_from_slice(&(at as u32).to_le_bytes());
    }
    for (h, start, len, line, which) in entries {
        out.extend_from_slice(&h.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&line.to_le_bytes());
        out.extend_from_slice(&which.to_le_bytes());
    }
    Some(out)
}

/// What the index says about the files now.
pub enum Lookup {
    /// The sections reachable from the profile, as two documents (config, credentials).
    Sections(Box<(Document, Document)>),
    /// No index for these files as they are now: read them whole (and write one).
    Stale,
    /// The index cannot be used (see the reasons in [`read`]): read the files whole.
    Unusable,
}

/// One positioned read (`pread`): no seek, and none at all for nothing.
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> Option<()> {
    if buf.is_empty() {
        return Some(());
    }
    crate::sys::read_exact_at(file, offset, buf).ok()
}

/// A section read: its header's line number and its bytes.
type Section = (usize, Zeroizing<Vec<u8>>);

fn u32_at(bytes: &[u8], i: usize) -> usize {
    u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes")) as usize
}

fn u64_at(bytes: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"))
}

/// One of the AWS files, opened, with its stamp now.
fn open_stamped(path: &Path) -> Option<(Option<File>, Stamp)> {
    match File::open(path) {
        Ok(file) => {
            let meta = file.metadata().ok()?;
            let stamp = Stamp::Present(crate::sys::file_stamp(&meta)?);
            Some((Some(file), stamp))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((None, Stamp::Absent)),
        Err(_) => None,
    }
}

/// The sections of `profile`'s reach, from the index in `cache_dir` when it is there,
/// private (this user's, one link, in a private directory) and matches both files as
/// they are now.
pub fn read(
    cache_dir: &Path,
    config_path: &Path,
    credentials_path: &Path,
    profile: &str,
) -> Lookup {
    if crate::fsx::check_private_dir(cache_dir).is_err() {
        return Lookup::Unusable;
    }
    let index_path = path(cache_dir, config_path, credentials_path);
    let mut index = match crate::fsx::open_private(&index_path, false) {
        Ok(Some((file, _))) => file,
        Ok(None) => return Lookup::Stale,
        Err(_) => return Lookup::Unusable,
    };
    read_with(&mut index, config_path, credentials_path, profile).unwrap_or(Lookup::Stale)
}

fn read_with(
    index: &mut File,
    config_path: &Path,
    credentials_path: &Path,
    profile: &str,
) -> Option<Lookup> {
    let mut head = vec![0u8; 4096];
    let got = index.read(&mut head).ok()?;
    head.truncate(got);
    if head.len() < HEADER || &head[..8] != MAGIC || u32_at(&head, 8) != VERSION as usize {
        return None;
    }
    let (buckets, count, clen, klen) = (
        u32_at(&head, 12),
        u32_at(&head, 16),
        u32_at(&head, 20),
        u32_at(&head, 24),
    );
    let paths_end = HEADER + clen + klen;
    if head.len() < paths_end || buckets == 0 || !buckets.is_power_of_two() {
        return None;
    }
    if &head[HEADER..HEADER + clen] != config_path.as_os_str().as_encoded_bytes()
        || &head[HEADER + clen..paths_end] != credentials_path.as_os_str().as_encoded_bytes()
    {
        return None;
    }
    let (mut config, config_stamp) = open_stamped(config_path)?;
    let (mut credentials, credentials_stamp) = open_stamped(credentials_path)?;
    if decode_stamp(&head[28..92]) != config_stamp
        || decode_stamp(&head[92..156]) != credentials_stamp
    {
        return None;
    }
    let table_at = paths_end as u64;
    let entries_at = table_at + 4 * (buckets as u64 + 1);
    let sizes = [config_stamp, credentials_stamp].map(|s| match s {
        Stamp::Present(n) => n[2] as u64,
        Stamp::Absent => 0,
    });

    // Sections found, by (which, offset).
    let mut found: std::collections::BTreeMap<(u32, u64), Section> = Default::default();
    let mut asked: std::collections::HashSet<String> = Default::default();
    let mut names: Vec<String> = vec![profile.into(), "default".into(), "DEFAULT".into()];
    while let Some(name) = names.pop() {
        if !asked.insert(name.clone()) {
            continue;
        }
        let h = hash(&name);
        let b = (h as usize) & (buckets - 1);
        let mut range = [0u8; 8];
        read_at(index, table_at + 4 * b as u64, &mut range)?;
        let (first, end) = (u32_at(&range, 0), u32_at(&range, 4));
        if first > end || end > count {
            return None;
        }
        let mut entries = vec![0u8; (end - first) * ENTRY];
        read_at(index, entries_at + (first * ENTRY) as u64, &mut entries)?;
        for e in entries.chunks_exact(ENTRY) {
            if u64_at(e, 0) != h {
                continue;
            }
            let (start, len) = (u64_at(e, 8), u64_at(e, 16));
            let (line, which) = (u32_at(e, 24), u32_at(e, 28) as u32);
            if which > 1 || found.contains_key(&(which, start)) {
                continue;
            }
            if start.checked_add(len)? > sizes[which as usize] || found.len() >= MAX_SECTIONS {
                return None;
            }
            let file = if which == 0 {
                &mut config
            } else {
                &mut credentials
            };
            let mut bytes = Zeroizing::new(vec![0u8; len as usize]);
            read_at(file.as_ref()?, start, &mut bytes)?;
            // The section as it parses alone: its header must carry a name hashed here,
            // and its values may name further sections.
            let part = Document::parse(&bytes).ok()?;
            let header = *part.section_names().first()?;
            let kind = if which == 0 {
                Which::Config
            } else {
                Which::Credentials
            };
            if !section_keys(header, kind).iter().any(|k| hash(k) == h) {
                return None;
            }
            for (key, value, _) in part.entries(header).unwrap_or_default() {
                // Keys name no section (and stay out of the names kept here).
                if CREDENTIAL_KEYS.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                    continue;
                }
                for word in value.lines() {
                    let word = word.trim();
                    if !word.is_empty() && !asked.contains(word) {
                        names.push(word.to_string());
                    }
                }
            }
            found.insert((which, start), (line, bytes));
        }
    }
    let doc = |which: u32| {
        let parts: Vec<(&[u8], usize)> = found
            .range((which, 0)..=(which, u64::MAX))
            .map(|(_, (line, bytes))| (bytes.as_slice(), *line))
            .collect();
        Document::parse_sections(&parts).ok()
    };
    Some(Lookup::Sections(Box::new((doc(0)?, doc(1)?))))
}
