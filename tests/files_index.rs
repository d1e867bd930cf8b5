//! The section index (issue 24): a profile resolved from the sections the index reads
//! is exactly the profile resolved from the whole files, on generated files; and the
//! index is never used for files changed after it was built, even within the same
//! second and at the same size.
// File stamps and private directories as on Unix; Windows is covered by the smoke test
// in scripts/cross.
#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use awsmfa::config::index::{self, Lookup, Stamp};
use awsmfa::config::profile::resolve;
use awsmfa::config::{AwsFiles, Profile, load_document_stamped};
use proptest::prelude::*;

/// A few names, so that sections name each other and collide.
const NAMES: [&str; 6] = ["default", "a", "b", "c", "a b", "DEFAULT"];

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", " ", "  ", "\t"])
}

fn profile_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(NAMES.to_vec())
}

fn header(config: bool) -> impl Strategy<Value = String> {
    let forms: Vec<&'static str> = if config {
        vec![
            "profile {}",
            "profile  {}",
            "profile \"{}\"",
            "{}",
            "services {}",
            "profile {}-long-term",
        ]
    } else {
        vec!["{}", "{}-long-term", "profile {}", " {} "]
    };
    // An indented header after a key continues that key's value (configparser): rare.
    let indent = prop::sample::select(vec!["", "", "", "", "", "", "", " "]);
    (prop::sample::select(forms), profile_name(), indent)
        .prop_map(|(form, name, w)| format!("{w}[{}]", form.replace("{}", name)))
}

fn key_line() -> impl Strategy<Value = String> {
    let keys = vec![
        "region",
        "source_profile",
        "role_arn",
        "mfa_serial",
        "services",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "credential_process",
        "endpoint_url",
        "duration_seconds",
        "role_session_name",
        "sts_regional_endpoints",
        "Region",
    ];
    let values = vec![
        "a",
        "b",
        "c",
        "default",
        "a b",
        "us-east-1",
        "eu-west-1",
        "",
        "arn:aws:iam::123456789012:role/r",
        "arn:aws:iam::123456789012:mfa/u",
        "AKIAEXAMPLE",
        "secret",
        "https://sts.example.com",
        "regional",
        "true",
        "printf x",
    ];
    prop_oneof![
        8 => (prop::sample::select(keys), ws(), prop::sample::select(values))
            .prop_map(|(k, w, v)| format!("{k}{w}= {v}")),
        1 => prop::sample::select(vec!["sts =", "s3 =", "iam ="]).prop_map(String::from),
        1 => prop::sample::select(vec!["  endpoint_url = https://x.example", "  addressing_style = path"])
            .prop_map(String::from),
        1 => Just("# comment".to_string()),
        1 => Just(String::new()),
    ]
}

/// What makes a profile resolvable: keys, a role and its source, a credential_process.
fn shape() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![
            "aws_access_key_id = AKIAEXAMPLE".into(),
            "aws_secret_access_key = secret".into()
        ]),
        profile_name().prop_map(|n| vec![
            "role_arn = arn:aws:iam::123456789012:role/r".into(),
            format!("source_profile = {n}"),
        ]),
        profile_name().prop_map(|n| vec![format!("source_profile = {n}")]),
        Just(vec!["credential_process = printf x".into()]),
        profile_name().prop_map(|n| vec![
            format!("services = {n}"),
            "mfa_serial = arn:aws:iam::123456789012:mfa/u".into(),
        ]),
    ]
}

fn file(config: bool) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                header(config),
                shape(),
                prop::collection::vec(key_line(), 0..4),
            ),
            0..8,
        ),
        prop::bool::ANY,
    )
        .prop_map(|(sections, final_newline)| {
            // Repeated sections and keys make the AWS CLI refuse a file (and awsmfa read
            // it whole): mostly avoided, so that most files are indexed.
            let mut text = String::from("# generated\n");
            let mut headers = std::collections::HashSet::new();
            for (h, shape, more) in sections {
                let lines: Vec<String> = shape.into_iter().chain(more).collect();
                if !headers.insert(h.trim().to_string()) {
                    continue;
                }
                text.push_str(&h);
                text.push('\n');
                let mut keys = std::collections::HashSet::new();
                for l in lines {
                    let key = l
                        .split('=')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_lowercase();
                    if !l.starts_with(' ') && l.contains('=') && !keys.insert(key) {
                        continue;
                    }
                    text.push_str(&l);
                    text.push('\n');
                }
            }
            if !final_newline {
                text.pop();
            }
            text
        })
}

fn load(dir: &Path) -> Option<(AwsFiles, [Stamp; 2])> {
    let (c, cs) = load_document_stamped(&dir.join("config")).ok()?;
    let (k, ks) = load_document_stamped(&dir.join("credentials")).ok()?;
    Some((
        AwsFiles {
            config_path: dir.join("config"),
            credentials_path: dir.join("credentials"),
            config: c,
            credentials: k,
            vault: Default::default(),
        },
        [cs?, ks?],
    ))
}

/// Writes the index of the files in `dir` into `dir/cache`, as if they had settled.
fn write_index(dir: &Path, files: &AwsFiles, stamps: [Stamp; 2]) {
    let future = SystemTime::now() + Duration::from_secs(60);
    let bytes = index::build(
        &files.config_path,
        &files.credentials_path,
        [(&files.config, stamps[0]), (&files.credentials, stamps[1])],
        future,
    )
    .expect("settled");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    set_private(&cache);
    awsmfa::fsx::write_atomic(
        &index::path(&cache, &files.config_path, &files.credentials_path),
        &bytes,
    )
    .unwrap();
}

#[cfg(unix)]
fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn partial(dir: &Path, name: &str) -> Option<AwsFiles> {
    match index::read(
        &dir.join("cache"),
        &dir.join("config"),
        &dir.join("credentials"),
        name,
    ) {
        Lookup::Sections(docs) => Some(AwsFiles {
            config_path: dir.join("config"),
            credentials_path: dir.join("credentials"),
            config: docs.0,
            credentials: docs.1,
            vault: Default::default(),
        }),
        _ => None,
    }
}

/// Everything a serving command reads of profile `p`'s files, in one comparable text.
fn reading(files: &AwsFiles, p: &str) -> String {
    let mut out = format!("{:?}\n", resolve(files, p));
    let mut names = vec![p.to_string(), "default".into()];
    let mut i = 0;
    while i < names.len() && i < 20 {
        let name = names[i].clone();
        i += 1;
        let profile: Option<Profile> = files.profile(&name);
        out.push_str(&format!("{name}: {profile:?}\n"));
        if let Some(profile) = profile {
            for key in ["s3", "sts", "iam"] {
                out.push_str(&format!("  {key}: {:?}\n", files.nested(&profile, key)));
            }
            for key in ["source_profile", "services"] {
                if let Some(v) = profile.get(key) {
                    names.push(v.to_string());
                    out.push_str(&format!(
                        "  services {v}: {:?}\n",
                        files.services_section(v)
                    ));
                }
            }
        }
        out.push_str(&format!(
            "  {name}-long-term: {:?}\n",
            files.credentials.entries(&format!("{name}-long-term"))
        ));
    }
    out
}

static RESOLVED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn the_property_resolves_many_profiles() {
    // Run by hand with --nocapture: how many profiles the property compared.
    the_indexed_sections_read_as_the_whole_files();
    let n = RESOLVED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("profiles resolved and compared: {n}");
    assert!(
        n > 300,
        "the generator makes too few resolvable profiles: {n}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_indexed_sections_read_as_the_whole_files(config in file(true), credentials in file(false)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), &config).unwrap();
        std::fs::write(dir.path().join("credentials"), &credentials).unwrap();
        // Files the AWS CLI refuses have no index: they are always read whole.
        let Some((whole, stamps)) = load(dir.path()) else { return Ok(()) };
        write_index(dir.path(), &whole, stamps);
        for name in NAMES.iter().chain(&["missing", "a-long-term"]) {
            let part = partial(dir.path(), name).expect("the index matches the files");
            let full_resolved = resolve(&whole, name);
            let part_resolved = resolve(&part, name);
            // Where the whole files resolve, so do the sections, to the same profile; an
            // error is always found again from the whole files (Setup::for_serving).
            if full_resolved.is_ok() {
                prop_assert!(part_resolved.is_ok(), "{name}: {part_resolved:?}");
            }
            if part_resolved.is_ok() {
                RESOLVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                prop_assert_eq!(reading(&whole, name), reading(&part, name), "profile {}", name);
            }
        }
    }
}

fn setup(config: &str, credentials: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config"), config).unwrap();
    std::fs::write(dir.path().join("credentials"), credentials).unwrap();
    dir
}

const CONFIG: &str =
    "[profile a]\nregion = us-east-1\nsource_profile = b\n[profile b]\nregion = eu-west-1\n";
const CREDENTIALS: &str = "[b]\naws_access_key_id = AKIAONE\naws_secret_access_key = s1\n";

#[test]
fn files_changed_a_moment_ago_get_no_index() {
    let dir = setup(CONFIG, CREDENTIALS);
    let (files, stamps) = load(dir.path()).unwrap();
    let built = index::build(
        &files.config_path,
        &files.credentials_path,
        [(&files.config, stamps[0]), (&files.credentials, stamps[1])],
        SystemTime::now(),
    );
    assert!(
        built.is_none(),
        "an edit within the same clock tick could keep the stamp"
    );
}

/// Each edit keeps the size, and some keep the modification time: the index (built from
/// settled files) is not used after any of them, made at once after it was built.
#[test]
#[cfg(unix)]
fn any_edit_after_the_index_was_built_makes_it_stale() {
    type Edit = fn(&Path);
    let edits: [(&str, Edit); 4] = [
        ("same size, in place", |d| {
            std::fs::write(
                d.join("credentials"),
                CREDENTIALS.replace("AKIAONE", "AKIATWO"),
            )
            .unwrap()
        }),
        ("same size, modification time put back", |d| {
            let path = d.join("config");
            let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
            std::fs::write(&path, CONFIG.replace("eu-west-1", "eu-west-2")).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }),
        ("renamed over, same size", |d| {
            std::fs::write(d.join("new"), CONFIG.replace("us-east-1", "us-east-2")).unwrap();
            std::fs::rename(d.join("new"), d.join("config")).unwrap();
        }),
        ("removed", |d| {
            std::fs::remove_file(d.join("credentials")).unwrap()
        }),
    ];
    // One pair of files per edit, left alone until they settle.
    let dirs: Vec<_> = edits.iter().map(|_| setup(CONFIG, CREDENTIALS)).collect();
    std::thread::sleep(Duration::from_millis(2100));
    for ((what, edit), dir) in edits.iter().zip(&dirs) {
        let (files, stamps) = load(dir.path()).unwrap();
        let bytes = index::build(
            &files.config_path,
            &files.credentials_path,
            [(&files.config, stamps[0]), (&files.credentials, stamps[1])],
            SystemTime::now(),
        )
        .expect("settled files get an index");
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        set_private(&cache);
        awsmfa::fsx::write_atomic(
            &index::path(&cache, &files.config_path, &files.credentials_path),
            &bytes,
        )
        .unwrap();
        assert!(
            partial(dir.path(), "a").is_some(),
            "{what}: the index is used before the edit"
        );
        edit(dir.path());
        assert!(
            partial(dir.path(), "a").is_none(),
            "{what}: the index was used after the edit"
        );
    }
}
