//! Issue 22: `awsmfa import --from aws-vault` against a stand-in for aws-vault v7.2.0
//! (tests/aws-vault-standin/aws-vault, its documented CLI) and the STS bed, and
//! `--from aws-mfa`; the real AWS CLI uses what the import wrote.
// Run against the Linux test bed; Windows is covered by the smoke test in scripts/cross.
#![cfg(unix)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Bed, TestEnv, User, run};
use serde_json::{Value, json};

const PASS: &str = "correct horse battery staple";

fn standin_dir() -> PathBuf {
    common::root().join("tests/aws-vault-standin")
}

/// A HOME whose PATH finds the stand-in aws-vault, holding `stored` in its store.
fn aws_vault_env(stored: &[(&str, &User)]) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("AWSMFA_VAULT_PASSPHRASE", PASS);
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
    let path = format!(
        "{}:{}",
        standin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.set("PATH", &path);
    let store = env.path(".awsvault/keys");
    std::fs::create_dir_all(&store).unwrap();
    for (name, user) in stored {
        put(&env, name, &user.access_key_id, &user.secret_access_key);
    }
    env.set(
        "AWS_VAULT_STANDIN_LOG",
        env.path("aws-vault-runs.jsonl").to_str().unwrap(),
    );
    env
}

fn put(env: &TestEnv, name: &str, id: &str, secret: &str) {
    std::fs::write(
        env.path(&format!(".awsvault/keys/{name}.json")),
        json!({"AccessKeyID": id, "SecretAccessKey": secret}).to_string(),
    )
    .unwrap();
}

fn standin_names(env: &TestEnv) -> Vec<String> {
    let mut cmd = std::process::Command::new(standin_dir().join("aws-vault"));
    cmd.args(["list", "--credentials"])
        .env("HOME", env.home.path());
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn runs(env: &TestEnv) -> Vec<Value> {
    env.read("aws-vault-runs.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn vault_has(env: &TestEnv, name: &str) -> bool {
    env.path(&format!(".local/share/awsmfa/vault/keys/{name}.json"))
        .exists()
}

/// The lines of `before` missing from `after` and the lines added, in order.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let b: Vec<&str> = before.split_inclusive('\n').collect();
    let a: Vec<&str> = after.split_inclusive('\n').collect();
    assert_eq!(
        b.len(),
        a.len(),
        "same number of lines:\n{before}\n---\n{after}"
    );
    let mut gone = Vec::new();
    let mut added = Vec::new();
    for (x, y) in b.iter().zip(&a) {
        if x != y {
            gone.push(x.to_string());
            added.push(y.to_string());
        }
    }
    (gone, added)
}

#[test]
fn every_credential_moves_checked_and_its_lines_run_awsmfa() {
    let bed = Bed::shared();
    let work = bed.user_with("avw", json!("allow-all"), true);
    let other = bed.user_with("avo", json!("allow-all"), true);
    let bucket = bed.bucket("avw");
    let mut env = aws_vault_env(&[("work", &work), ("other", &other)]);
    // Inside an aws-vault subshell: export would refuse; awsmfa runs it without the marker.
    env.set("AWS_VAULT", "work");
    let script = common::counting_code_command(&env, &work, &env.path("codes"));
    let config = format!(
        "# mine\r\n[profile work]\r\nregion = us-east-1\r\nendpoint_url = {url}\r\nmfa_serial = {serial}\r\nmfa_process = {script}\r\ncredential_process = aws-vault exec --no-session --json work\r\n\r\n[profile other]\r\nregion=us-east-1\r\nendpoint_url={url}\r\ncredential_process=aws-vault --backend=file export --format=json --duration 2h other\r\n\r\n[profile pinned]\r\ninclude_profile = work\r\ncredential_process = aws-vault exec --json -t 123456 work\r\n\r\n[profile tool]\r\ncredential_process = op read x",
        url = bed.url,
        serial = work.mfa_serial,
        script = script
    );
    env.write(".aws/config", &config);
    let r = run(env.awsmfa(&["import", "--from", "aws-vault"]));
    assert_eq!(r.status, 0, "{r:?}");
    // One line per profile, each checked with STS.
    for (name, user) in [("work", &work), ("other", &other)] {
        let line = format!("awsmfa: \"{name}\": moved into the file vault (");
        let found: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with(&line)).collect();
        assert_eq!(found.len(), 1, "{name}: {r:?}");
        assert!(found[0].contains(&user.arn), "{r:?}");
        assert!(
            found[0].ends_with("checked with GetCallerIdentity"),
            "{r:?}"
        );
        assert!(vault_has(&env, name));
    }
    assert_eq!(bed.user_calls(&work, "sts:GetCallerIdentity"), 1);
    assert_eq!(bed.user_calls(&other, "sts:GetCallerIdentity"), 1);
    // Exactly the two credential lines changed; CRLF, comments, the line that passes a
    // fixed code and another tool's line stay byte for byte.
    let after = env.read(".aws/config");
    let awsmfa = common::awsmfa_bin();
    let (gone, added) = changed_lines(&config, &after);
    assert_eq!(
        gone,
        [
            "credential_process = aws-vault exec --no-session --json work\r\n",
            "credential_process=aws-vault --backend=file export --format=json --duration 2h other\r\n"
        ]
    );
    assert_eq!(
        added,
        [
            format!(
                "credential_process = {} process --profile work\r\n",
                awsmfa.display()
            ),
            format!(
                "credential_process={} process --profile other\r\n",
                awsmfa.display()
            )
        ]
    );
    assert!(
        r.stderr
            .contains("--no-session handed out the long-term keys themselves"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("--duration 2h is not carried over"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("aws-vault's own --backend=file dropped"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("warning: left credential_process in [profile pinned] as it is: it runs aws-vault, but it passes a fixed MFA code"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("[profile pinned] sets include_profile, which awsmfa ignores"),
        "{r:?}"
    );
    // aws-vault keeps its copy; the last line says how to remove it there.
    assert_eq!(standin_names(&env), ["other", "work"]);
    assert_eq!(
        r.stderr.lines().last().unwrap(),
        "hint: aws-vault keeps its copy; when satisfied, delete it there: aws-vault remove other; aws-vault remove work"
    );
    // aws-vault ran without a terminal or a way to ask, read no profile settings, never
    // saw awsmfa's passphrase, and no key was ever on a command line.
    let log = runs(&env);
    assert_eq!(log.len(), 3, "{log:?}");
    for entry in &log {
        assert_eq!(entry["controlling_tty"], false, "{entry}");
        assert_eq!(entry["stdin_isatty"], false, "{entry}");
        assert_eq!(entry["aws_vault_set"], false, "{entry}");
        assert_eq!(entry["config_size"], 0, "{entry}");
        assert_eq!(entry["awsmfa_passphrase_seen"], false, "{entry}");
        let argv = entry["argv"].to_string();
        assert!(!argv.contains(&work.secret_access_key) && !argv.contains(&work.access_key_id));
    }
    assert_eq!(log[0]["argv"], json!(["list", "--credentials"]));
    assert_eq!(
        log[1]["argv"],
        json!(["export", "--no-session", "--format=json", "other"])
    );
    // The real AWS CLI now gets its credentials from awsmfa (an MFA session of the
    // vault's keys, the code from mfa_process), with aws-vault gone from PATH.
    env.vars.retain(|(k, _)| k != "PATH");
    let ls = run(env.aws(&["--profile", "work", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket), "{ls:?}");
    assert_eq!(bed.user_calls(&work, "sts:GetSessionToken"), 1);
    // A second import finds the same keys already there and changes nothing.
    let mut env2 = env;
    env2.set(
        "PATH",
        &format!(
            "{}:{}",
            standin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let again = run(env2.awsmfa(&["import", "--from", "aws-vault", "work"]));
    assert_eq!(again.status, 0, "{again:?}");
    assert!(
        again
            .stderr
            .contains("\"work\": already in awsmfa's vault, the same keys"),
        "{again:?}"
    );
    assert_eq!(env2.read(".aws/config"), after);
}

#[test]
fn what_aws_vault_cannot_give_leaves_everything_as_it_was() {
    let bed = Bed::shared();
    let work = bed.user_with("avf", json!("allow-all"), true);
    let mut env = aws_vault_env(&[("work", &work)]);
    // "bad" has no profile in the config: its keys are checked at this endpoint.
    env.set("AWS_ENDPOINT_URL", &bed.url);
    let config = format!(
        "[profile work]\nregion = us-east-1\nendpoint_url = {}\ncredential_process = aws-vault exec work --json\n",
        bed.url
    );
    env.write(".aws/config", &config);
    let unchanged = |env: &TestEnv, what: &str| {
        assert_eq!(env.read(".aws/config"), config, "{what}");
        assert!(!vault_has(env, "work"), "{what}");
        assert!(!vault_has(env, "bad"), "{what}");
        assert_eq!(
            standin_names(env).len(),
            env.path(".awsvault/keys")
                .read_dir()
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".json"))
                .count()
        );
    };

    // No aws-vault on PATH.
    let mut bare = TestEnv::new();
    bare.set("AWSMFA_VAULT_PASSPHRASE", PASS);
    bare.write(".aws/config", &config);
    let r = run(bare.awsmfa(&["import", "--from", "aws-vault"]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr.starts_with("awsmfa: cannot run aws-vault to list its credentials: it is not installed (not found on PATH); nothing imported\nhint: "),
        "{r:?}"
    );
    assert_eq!(bare.read(".aws/config"), config);

    // A locked store: aws-vault asks for its passphrase, nobody can answer.
    std::fs::write(env.path(".awsvault/keys/.passphrase"), "s3cret\n").unwrap();
    let r = run(env.awsmfa(&["import", "--from", "aws-vault"]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(
        r.stderr.contains("aws-vault could not export \"work\" (exit status 1): exec: Failed to get credentials for work: inappropriate ioctl for device"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("hint: set AWS_VAULT_FILE_PASSPHRASE (its file backend)"),
        "{r:?}"
    );
    unchanged(&env, "locked");

    // A prompt that waits (an OS dialog): ended at the time limit, not a hang.
    env.set("AWS_VAULT_STANDIN_HANG", "1");
    env.set("AWSMFA_AWS_VAULT_TIMEOUT", "2s");
    let start = Instant::now();
    let r = run(env.awsmfa(&["import", "--from", "aws-vault", "work"]));
    assert!(start.elapsed() < Duration::from_secs(20), "{r:?}");
    assert_eq!(r.status, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("aws-vault did not answer within 2 s to export \"work\""),
        "{r:?}"
    );
    unchanged(&env, "hang");
    env.vars.retain(|(k, _)| k != "AWS_VAULT_STANDIN_HANG");

    // A name aws-vault does not hold.
    env.set("AWS_VAULT_FILE_PASSPHRASE", "s3cret");
    let r = run(env.awsmfa(&["import", "--from", "aws-vault", "nosuch"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("aws-vault holds no credentials named \"nosuch\" (it holds: work)"),
        "{r:?}"
    );
    unchanged(&env, "nosuch");

    // Keys STS rejects: named profiles move all or none.
    put(&env, "bad", &work.access_key_id, "not-the-secret");
    let r = run(env.awsmfa(&["import", "--from", "aws-vault", "work", "bad"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("\"bad\": checking the keys with GetCallerIdentity: "),
        "{r:?}"
    );
    assert!(r.stderr.contains("; nothing imported"), "{r:?}");
    unchanged(&env, "named, one rejected");

    // Without names each profile moves whole or stays; the exit status says so.
    let r = run(env.awsmfa(&["import", "--from", "aws-vault"]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("warning: left \"bad\" in aws-vault: checking the keys"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("awsmfa: \"work\": moved into the file vault"),
        "{r:?}"
    );
    assert!(r.stderr.contains("awsmfa: 1 of 2 credentials left in aws-vault (said above), 1 moved\nhint: aws-vault keeps its copy; when satisfied, delete it there: aws-vault remove work\n"), "{r:?}");
    assert!(vault_has(&env, "work") && !vault_has(&env, "bad"));
    assert!(
        env.read(".aws/config")
            .contains(" process --profile work\n")
    );
    assert_eq!(standin_names(&env), ["bad", "work"]);
}

/// Seed 003 (caktus): its config as the seed writes it (placeholders filled in with the
/// bed's), keys in aws-vault. One import, then the seed's daily commands in awsmfa's words.
#[test]
fn seed_003_switches_in_one_command() {
    let bed = Bed::shared();
    let user = bed.user_with("caktus", json!("force-mfa"), true);
    let role = bed.role("saguaro", None, 3600);
    let bucket = bed.bucket("caktus");
    let mut env = aws_vault_env(&[("caktus", &user)]);
    env.set("AWS_ENDPOINT_URL", &bed.url);
    let seed =
        std::fs::read_to_string(common::root().join("tests/fixtures/seeds/003-saguaro-config"))
            .unwrap();
    let config = seed
        .replace("arn:aws:iam::<account-id>:mfa/<username>", &user.mfa_serial)
        .replace(
            "arn:aws:iam::<caktus-account-id>:mfa/<username>",
            &user.mfa_serial,
        )
        .replace(
            "arn:aws:iam::<saguaro-cluster-account-id>:role/CaktusAccountAccessRole-Admins",
            &role,
        );
    assert!(!config.contains('<'), "{config}");
    env.write(".aws/config", &config);
    let r = run(env.awsmfa(&["import", "--from", "aws-vault"]));
    assert_eq!(r.status, 0, "{r:?}");
    let (gone, added) = changed_lines(&config, &env.read(".aws/config"));
    assert_eq!(
        gone,
        ["credential_process=aws-vault exec --no-session --json caktus\n"]
    );
    assert_eq!(
        added,
        [format!(
            "credential_process={} process --profile caktus\n",
            common::awsmfa_bin().display()
        )]
    );
    // `aws-vault exec caktus-mfa` becomes `awsmfa login -p caktus-mfa` (or exec).
    let r = run(env.awsmfa(&[
        "-p",
        "caktus-mfa",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    let ls = run(env.aws(&["--profile", "caktus-mfa", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket));
    // `aws-vault exec saguaro-cluster`: the role from the same device's session, no code.
    let r = run(env.awsmfa(&[
        "-p",
        "saguaro-cluster",
        "exec",
        "--",
        common::venv_bin("aws").to_str().unwrap(),
        "sts",
        "get-caller-identity",
        "--query",
        "Arn",
        "--output",
        "text",
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(":assumed-role/saguaro"), "{r:?}");
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), 1);
    assert_eq!(standin_names(&env), ["caktus"]);
}

/// `--from aws-mfa` takes aws-mfa's `[NAME-long-term]` sections, and only those.
#[test]
fn from_aws_mfa_takes_the_long_term_sections() {
    let bed = Bed::shared();
    let mfa_user = bed.user("avm");
    let plain = bed.user("avp");
    let mut env = TestEnv::new();
    env.set("AWSMFA_VAULT_PASSPHRASE", PASS);
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
    let creds = format!(
        "[work-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_mfa_device = {}\n\n[plain]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        mfa_user.access_key_id,
        mfa_user.secret_access_key,
        mfa_user.mfa_serial,
        plain.access_key_id,
        plain.secret_access_key
    );
    env.write(".aws/credentials", &creds);
    let r = run(env.awsmfa(&["import", "--from", "aws-mfa", "plain"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr.contains("no [plain-long-term] section with keys"),
        "{r:?}"
    );
    assert_eq!(env.read(".aws/credentials"), creds);
    let r = run(env.awsmfa(&["import", "--from", "aws-mfa"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("moved the keys of profile \"work\""),
        "{r:?}"
    );
    assert!(!r.stderr.contains("\"plain\""), "{r:?}");
    let after = env.read(".aws/credentials");
    assert_eq!(
        after,
        format!(
            "[work-long-term]\naws_mfa_device = {}\n\n[plain]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            mfa_user.mfa_serial, plain.access_key_id, plain.secret_access_key
        )
    );
    assert!(vault_has(&env, "work"));
}

/// Issue 22 §2: `add` on a profile whose config still runs aws-vault says so, with the
/// line that would make the AWS CLI use the stored keys.
#[test]
fn add_says_when_the_profile_still_runs_aws_vault() {
    let bed = Bed::shared();
    let user = bed.user_with("ava", json!("allow-all"), true);
    let env = aws_vault_env(&[]);
    let config = format!(
        "[profile caktus]\ncredential_process=aws-vault exec --no-session --json caktus\nregion = us-east-1\nendpoint_url = {url}\n\n[profile plain]\nregion = us-east-1\nendpoint_url = {url}\n",
        url = bed.url
    );
    env.write(".aws/config", &config);
    let keys = format!("{}\n{}\n", user.access_key_id, user.secret_access_key);
    let r = common::run_with_input(env.awsmfa(&["add", "caktus"]), &keys);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("warning: [profile caktus] of ")
            && r.stderr.contains(" still runs aws-vault (credential_process = aws-vault exec --no-session --json caktus): the AWS CLI keeps taking profile \"caktus\"'s credentials from aws-vault"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!(
            "hint: replace that line with credential_process = {} process --profile caktus\n",
            common::awsmfa_bin().display()
        )),
        "{r:?}"
    );
    assert_eq!(env.read(".aws/config"), config, "add does not rewrite it");
    let r = common::run_with_input(env.awsmfa(&["add", "plain"]), &keys);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(!r.stderr.contains("aws-vault"), "{r:?}");
}
