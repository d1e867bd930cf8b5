//! The profile names a command could be given, one list for `status`, completion and
//! "did you mean": the AWS files' profiles, aws-mfa's `NAME-long-term` folded into
//! `NAME`, and the vault's entries. It imports none of the commands.

use std::collections::BTreeSet;

use crate::config::AwsFiles;

/// Profile names as the AWS CLI sees them, `-long-term` sections folded into their base.
pub fn names(files: &AwsFiles) -> Vec<String> {
    let mut names: BTreeSet<String> = files.profile_names().into_iter().collect();
    // aws-mfa's layout: [NAME-long-term] is NAME's keys, not a profile of its own.
    let folded: Vec<String> = names
        .iter()
        .filter(|n| files.credentials.has_section(n))
        .filter_map(|n| n.strip_suffix("-long-term"))
        .map(String::from)
        .collect();
    for base in folded {
        names.remove(&format!("{base}-long-term"));
        names.insert(base);
    }
    for meta in files.vault.list(crate::vault::Kind::Keys) {
        names.insert(meta.name);
    }
    names.into_iter().collect()
}

/// Every profile name a command could be given, as `status` lists them (aws-mfa's
/// `X-long-term` folded into `X`, the vault's entries), without unprintable ones.
pub fn printable_names(files: &AwsFiles) -> BTreeSet<String> {
    names(files)
        .into_iter()
        .filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
        .collect()
}

/// The known profile a mistyped `name` most likely meant.
pub fn profile_meant(files: &AwsFiles, name: &str) -> Option<String> {
    let known = printable_names(files);
    did_you_mean(name, known.iter().map(String::as_str)).map(String::from)
}

/// The known profile closest to a mistyped `name`, if one is close enough to be meant.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    known
        .into_iter()
        .filter(|k| *k != name)
        .map(|k| (distance(&wanted, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).clamp(1, 3))
        .min()
        .map(|(_, k)| k)
}

/// Edit distance over characters where swapping two neighbours counts as one edit (the
/// commonest typo: `wrok`).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_profile_meant() {
        let known = ["mfa-demo", "work", "work-mfa", "default", "prod-admin"];
        assert_eq!(did_you_mean("mfa-dem", known), Some("mfa-demo"));
        assert_eq!(did_you_mean("wrok", known), Some("work"));
        assert_eq!(did_you_mean("Prod-Admin", known), Some("prod-admin"));
        assert_eq!(did_you_mean("staging", known), None);
        assert_eq!(did_you_mean("x", known), None);
    }

    #[test]
    fn names_from_both_files_and_the_aws_mfa_layout() {
        let doc = |t: &str| crate::config::ini::Document::parse(t.as_bytes()).unwrap();
        let files = AwsFiles {
            config: doc("[default]\n[profile admin]\n[services w]\n[sso-session s]\n"),
            credentials: doc("[work-long-term]\n[work]\n[other]\n"),
            config_path: "c".into(),
            credentials_path: "k".into(),
            vault: crate::vault::Index::new(None),
        };
        let names: Vec<String> = printable_names(&files).into_iter().collect();
        assert_eq!(names, ["admin", "default", "other", "work"]);
    }
}
