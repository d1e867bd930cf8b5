//! The vault (issue 4): keys added, imported, rotated and removed, used by login, the
//! AWS CLI and the cache, against the STS bed; the `age` tool and a real gnome-keyring
//! as the other side.
// Run against the Linux test bed; Windows is covered by the smoke test in scripts/cross.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Bed, TestEnv, User, assert_nowhere_in, files_under, run, run_with_input};
use serde_json::json;

const PASS: &str = "correct horse battery staple";

/// A test HOME whose config points `name` at the bed, with the vault passphrase set and
/// a cheap scrypt work factor (one test uses the default).
fn vault_env(bed: &Bed, name: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.write(
        ".aws/config",
        &format!(
            "[profile {name}]\nregion = us-east-1\nendpoint_url = {}\n",
            bed.url
        ),
    );
    env.set("AWSMFA_VAULT_PASSPHRASE", PASS);
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
    env
}

fn keys_stdin(user: &User) -> String {
    format!("{}\n{}\n", user.access_key_id, user.secret_access_key)
}

fn add(env: &TestEnv, name: &str, user: &User, extra: &[&str]) -> common::Run {
    let mut args = vec!["add", name];
    args.extend_from_slice(extra);
    run_with_input(env.awsmfa(&args), &keys_stdin(user))
}

fn vault_dir(env: &TestEnv) -> PathBuf {
    env.path(".local/share/awsmfa/vault")
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with("-lock"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    files.sort();
    files
}

/// The keys the vault holds for `name`, read through the library.
fn vault_keys(env: &TestEnv, name: &str) -> (String, String) {
    use awsmfa::sys::Env;
    use awsmfa::vault::{Kind, Passphrase, Vault, passphrase::Memo};
    struct NoAsk;
    impl awsmfa::mfa::Prompt for NoAsk {
        fn ask(&self, _: &str) -> std::io::Result<Option<String>> {
            Ok(None)
        }
    }
    let vars = Env::from_pairs([
        ("HOME", env.home.path().to_str().unwrap()),
        ("AWSMFA_VAULT_PASSPHRASE", PASS),
    ]);
    let memo = Memo::default();
    let vault = Vault::new(&vars, Passphrase::new(&vars, &NoAsk, &memo)).unwrap();
    let meta = vault
        .index
        .get(Kind::Keys, name)
        .unwrap()
        .expect("an entry");
    let creds = vault.read_keys(&meta).unwrap();
    (creds.access_key_id.clone(), creds.secret().to_string())
}

fn login(env: &TestEnv, bed: &Bed, user: &User, name: &str) -> common::Run {
    let code = bed.code(&user.mfa_serial, 0);
    run(env.awsmfa(&["login", "-p", name, "--token-code", &code]))
}

#[test]
fn add_then_login_then_aws_cli_with_keys_only_in_the_file_vault() {
    let bed = Bed::shared();
    let user = bed.user("vadd");
    let bucket = bed.bucket("vadd");
    let env = vault_env(bed, "work");

    let r = add(&env, "work", &user, &["--mfa-serial", &user.mfa_serial]);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains(&user.arn), "verified as the user: {r:?}");
    assert!(
        !env.credentials().exists(),
        "add writes no credentials file"
    );
    let record = vault_dir(&env).join("keys/work.json");
    let age_file = vault_dir(&env).join("keys/work.age");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&age_file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(vault_dir(&env)).unwrap().mode() & 0o777,
        0o700
    );
    assert!(
        std::fs::read(&age_file)
            .unwrap()
            .starts_with(b"age-encryption.org/v1\n")
    );
    assert!(
        std::fs::read_to_string(&record)
            .unwrap()
            .contains("\"backend\": \"file\"")
    );
    assert!(
        env.read(".aws/config")
            .contains(&format!("mfa_serial = {}", user.mfa_serial))
    );

    let r = login(&env, bed, &user, "work");
    assert_eq!(r.status, 0, "{r:?}");
    let r = run(env.aws(&["--profile", "work", "s3", "ls"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(&bucket), "{r:?}");
    let status = run(env.awsmfa(&["status"]));
    assert!(status.stdout.contains("the file vault"), "{status:?}");

    // The secret is nowhere in plaintext: not in the AWS files, the cache, the vault.
    assert_nowhere_in(env.home.path(), &user.secret_access_key);
    // The same keys a second time are refused without --replace.
    let again = add(&env, "work", &user, &["--no-verify"]);
    assert_eq!(again.status, 2, "{again:?}");
    assert!(again.stderr.contains("--replace"), "{again:?}");
}

#[test]
fn the_age_tool_decrypts_a_vault_file_with_the_passphrase() {
    let bed = Bed::shared();
    let user = bed.user("vage");
    let mut env = vault_env(bed, "work");
    // The default work factor, as a person gets it.
    env.vars.retain(|(k, _)| k != "AWSMFA_VAULT_WORK_FACTOR");
    let r = add(&env, "work", &user, &["--no-verify"]);
    assert_eq!(r.status, 0, "{r:?}");
    let age = Path::new("/usr/bin/age");
    assert!(
        age.exists(),
        "the `age` tool is missing: scripts/test installs it (Debian package age)"
    );
    // age reads the passphrase from the terminal only: give it one with `script`.
    let out = env.path("out.txt");
    let file = vault_dir(&env).join("keys/work.age");
    let mut cmd = Command::new("script");
    cmd.args(["-qec"])
        .arg(format!("age -d -o {} {}", out.display(), file.display()))
        .arg("/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{PASS}").unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("[work]\n"), "{text}");
    assert!(text.contains(&format!("aws_access_key_id = {}\n", user.access_key_id)));
    assert!(text.contains(&format!(
        "aws_secret_access_key = {}\n",
        user.secret_access_key
    )));
}

#[test]
fn wrong_passphrase_damaged_files_loose_directory_and_no_backend_fail_clearly() {
    let bed = Bed::shared();
    let user = bed.user("vbad");
    let mut env = vault_env(bed, "work");
    assert_eq!(add(&env, "work", &user, &["--no-verify"]).status, 0);
    let dir = vault_dir(&env);
    let age_file = dir.join("keys/work.age");
    let before = snapshot(&dir);
    let config_before = env.read(".aws/config");
    let code = bed.code(&user.mfa_serial, 0);
    let check_unchanged = |env: &TestEnv| {
        assert_eq!(snapshot(&dir), before, "the vault is unchanged");
        assert!(
            !env.credentials().exists(),
            "no credentials file was written"
        );
        assert_eq!(env.read(".aws/config"), config_before);
    };

    env.vars.retain(|(k, _)| k != "AWSMFA_VAULT_PASSPHRASE");
    env.set("AWSMFA_VAULT_PASSPHRASE", "not it");
    let r = run(env.awsmfa(&["login", "-p", "work", "--token-code", &code]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stderr.contains("passphrase does not open"), "{r:?}");
    assert_eq!(
        r.stderr.lines().count(),
        2,
        "one error line and a hint: {r:?}"
    );
    // Adding another entry with the wrong passphrase is refused too.
    let other = add(&env, "other", &user, &["--no-verify"]);
    assert_eq!(other.status, 3, "{other:?}");
    check_unchanged(&env);

    // No passphrase and no terminal: exit 4 at once.
    env.vars.retain(|(k, _)| k != "AWSMFA_VAULT_PASSPHRASE");
    let start = Instant::now();
    let r = run(env.awsmfa(&["login", "-p", "work", "--token-code", &code]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        r.stderr.contains("AWSMFA_VAULT_PASSPHRASE_COMMAND"),
        "{r:?}"
    );
    env.set("AWSMFA_VAULT_PASSPHRASE", PASS);

    let good = std::fs::read(&age_file).unwrap();
    for (what, bytes) in [
        ("cut off", good[..good.len() - 7].to_vec()),
        ("altered", {
            let mut b = good.clone();
            let i = b.len() - 5;
            b[i] ^= 0x40;
            b
        }),
        ("header MAC", {
            let mut b = good.clone();
            let mac = b.windows(5).position(|w| w == b"\n--- ").unwrap() + 6;
            b[mac] = if b[mac] == b'A' { b'B' } else { b'A' };
            b
        }),
        ("empty", Vec::new()),
    ] {
        std::fs::write(&age_file, &bytes).unwrap();
        let r = run(env.awsmfa(&["login", "-p", "work", "--token-code", &code]));
        assert_eq!(r.status, 5, "{what}: {r:?}");
        assert!(
            r.stderr.contains("work.age"),
            "{what}: names the file: {r:?}"
        );
        assert!(!env.credentials().exists());
    }
    std::fs::write(&age_file, &good).unwrap();

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = run(env.awsmfa(&["login", "-p", "work", "--token-code", &code]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("accessible to other users"), "{r:?}");
    assert!(r.stderr.contains("chmod 700"), "{r:?}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    check_unchanged(&env);

    // The keyring backend with no D-Bus session: a clear error, no hang, no entry.
    let start = Instant::now();
    let r = add(&env, "kr", &user, &["--backend", "keyring", "--no-verify"]);
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("keyring is not available"), "{r:?}");
    assert!(r.stderr.contains("--backend file"), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!dir.join("keys/kr.json").exists());
    let r = add(&env, "kr", &user, &["--backend", "nope"]);
    assert_eq!(r.status, 2, "{r:?}");
}

#[test]
fn a_cached_session_never_opens_the_vault() {
    let bed = Bed::shared();
    let user = bed.user("vcache");
    let mut env = vault_env(bed, "work");
    assert_eq!(add(&env, "work", &user, &["--no-verify"]).status, 0);
    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&[
        "login",
        "-p",
        "work",
        "--token-code",
        &code,
        "--mfa-serial",
        &user.mfa_serial,
        "--save",
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    // The vault becomes unopenable: damaged file, no passphrase anywhere.
    std::fs::write(vault_dir(&env).join("keys/work.age"), b"garbage").unwrap();
    env.vars.retain(|(k, _)| k != "AWSMFA_VAULT_PASSPHRASE");
    let r = run(env.awsmfa(&["process", "-p", "work", "-vv"]));
    assert_eq!(r.status, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["Version"], 1);
    assert!(!r.stderr.contains("vault"), "{r:?}");
    let r = run(env.awsmfa(&["exec", "-p", "work", "--", "true"]));
    assert_eq!(r.status, 0, "{r:?}");
    // Without the cache the vault is needed, and its damage is reported.
    assert_eq!(run(env.awsmfa(&["clear"])).status, 0);
    env.set("AWSMFA_VAULT_PASSPHRASE", PASS);
    let r = run(env.awsmfa(&["process", "-p", "work"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stdout.is_empty());
}

#[test]
fn secret_service_add_login_and_remove_through_gnome_keyring() {
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .unwrap()
                .success(),
            "{tool} is missing: scripts/test installs dbus, gnome-keyring and libsecret-tools"
        );
    }
    let bed = Bed::shared();
    let user = bed.user("vkr");
    let bucket = bed.bucket("vkr");
    let env = vault_env(bed, "work");
    env.write("keys.txt", &keys_stdin(&user));
    let code = bed.code(&user.mfa_serial, 0);
    let awsmfa = common::awsmfa_bin();
    let aws = common::venv_bin("aws");
    // One D-Bus session with an unlocked keyring, as in a desktop login.
    let script = format!(
        r#"set -u
printf 'keyring-pw' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
{a} add work --backend keyring --mfa-serial {serial} < keys.txt || exit 11
secret-tool search --all service awsmfa 2>&1 | grep -q 'attribute.username = keys:work' || exit 12
{a} login -p work --token-code {code} || exit 13
{aws} --profile work s3 ls | grep -q {bucket} || exit 14
{a} remove work --yes || exit 15
secret-tool search --all service awsmfa 2>&1 | grep -q 'keys:work' && exit 16
exit 0
"#,
        a = awsmfa.display(),
        serial = user.mfa_serial,
        aws = aws.display(),
    );
    env.write("kr.sh", &script);
    let mut cmd = Command::new("dbus-run-session");
    cmd.args(["--", "sh", "kr.sh"])
        .current_dir(env.home.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env.home.path())
        .env("XDG_RUNTIME_DIR", env.home.path())
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null());
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    common::no_tty(&mut cmd);
    let r = run(cmd);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("in the OS keyring"), "{r:?}");
    assert!(
        !vault_dir(&env).join("keys/work.age").exists(),
        "no file copy"
    );
    assert!(!vault_dir(&env).join("keys/work.json").exists(), "removed");
    std::fs::remove_file(env.path("keys.txt")).unwrap();
    assert_nowhere_in(env.home.path(), &user.secret_access_key);
}

/// The seeds' credentials files: import moves every profile's long-term keys into the
/// vault and removes exactly those lines.
#[test]
fn import_moves_the_seeds_keys_byte_preserving() {
    let dir = common::root().join("tests/fixtures/seeds");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with("credentials") {
            continue;
        }
        let original = std::fs::read(entry.path()).unwrap();
        let text = String::from_utf8_lossy(&original).into_owned();
        let mut env = TestEnv::new();
        env.set("AWSMFA_VAULT_PASSPHRASE", PASS);
        env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
        std::fs::write(env.credentials(), &original).unwrap();
        let r = run(env.awsmfa(&["import"]));
        assert_eq!(r.status, 0, "{name}: {r:?}");
        let after = std::fs::read(env.credentials()).unwrap();
        let after_text = String::from_utf8_lossy(&after).into_owned();
        // What went: only key lines of profiles now in the vault, and emptied headers.
        let moved: Vec<(String, String)> = r
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("awsmfa: moved the keys of profile \""))
            .map(|l| {
                let profile = l.split('"').next().unwrap().to_string();
                let section = l
                    .split(" from [")
                    .nth(1)
                    .unwrap()
                    .split(']')
                    .next()
                    .unwrap();
                (profile, section.to_string())
            })
            .collect();
        let mut rest = after_text.split_inclusive('\n').peekable();
        for line in text.split_inclusive('\n') {
            if rest.peek() == Some(&line) {
                rest.next();
                continue;
            }
            let t = line.trim();
            let removable = t.starts_with("aws_access_key_id")
                || t.starts_with("aws_secret_access_key")
                || t.is_empty()
                || (t.starts_with('[') && t.ends_with(']'));
            assert!(removable, "{name}: line {line:?} was removed");
        }
        assert!(rest.next().is_none(), "{name}: nothing was added");
        let before_doc = awsmfa::config::ini::Document::parse(&original).unwrap();
        let after_doc = awsmfa::config::ini::Document::parse(&after).unwrap();
        for (profile, section) in &moved {
            let (id, secret) = vault_keys(&env, profile);
            assert_eq!(
                before_doc.get(section, "aws_access_key_id").as_deref(),
                Some(id.as_str())
            );
            assert_eq!(
                before_doc.get(section, "aws_secret_access_key").as_deref(),
                Some(secret.as_str())
            );
            assert_eq!(after_doc.get(section, "aws_access_key_id"), None, "{name}");
            assert_eq!(
                after_doc.get(section, "aws_secret_access_key"),
                None,
                "{name}"
            );
            seen += 1;
        }
        // Session sections stay where they are.
        for session_line in text.lines().filter(|l| l.contains("aws_session_token")) {
            assert!(after_text.contains(session_line), "{name}");
        }
        // A second import finds nothing more.
        let again = run(env.awsmfa(&["import"]));
        assert_eq!(again.status, 0, "{name}: {again:?}");
        assert!(
            again.stderr.contains("nothing to import"),
            "{name}: {again:?}"
        );
    }
    assert!(
        seen >= 6,
        "the seeds hold at least six key pairs, moved {seen}"
    );
}

#[test]
fn imported_profiles_log_in_into_their_own_section_and_serve_the_cli() {
    let bed = Bed::shared();
    let bucket = bed.bucket("vimp");
    // aws-mfa's layout (seed 001) and keys in the profile itself (seeds 000, 004).
    for layout in ["long-term", "in-profile"] {
        let user = bed.user("vimp");
        let env = vault_env(bed, "work");
        if layout == "long-term" {
            env.long_term_layout("work", &user, bed);
        } else {
            env.keys_in_profile("work", &user, bed);
        }
        let before = env.read(".aws/credentials");
        let r = run(env.awsmfa(&["import", "work"]));
        assert_eq!(r.status, 0, "{layout}: {r:?}");
        let after = env.read(".aws/credentials");
        assert!(
            !after.contains(&user.secret_access_key),
            "{layout}: {after}"
        );
        assert!(!after.contains(&user.access_key_id), "{layout}: {after}");
        if layout == "long-term" {
            assert!(
                after.contains(&format!(
                    "[work-long-term]\naws_mfa_device = {}",
                    user.mfa_serial
                )),
                "{layout}: the device stays: {after}"
            );
        } else {
            assert_eq!(after, "# long-term keys\n", "{layout}: {before}");
        }
        let r = login(&env, bed, &user, "work");
        assert_eq!(r.status, 0, "{layout}: {r:?}");
        assert!(r.stderr.contains("profile work "), "{layout}: {r:?}");
        let creds = env.read(".aws/credentials");
        assert!(creds.contains("[work]\n"), "{layout}: {creds}");
        let r = run(env.aws(&["--profile", "work", "s3", "ls"]));
        assert_eq!(r.status, 0, "{layout}: {r:?}");
        assert!(r.stdout.contains(&bucket));
        assert_nowhere_in(env.home.path(), &user.secret_access_key);
    }
}

/// Issue 12: `import` moves keys out of the config file too, keeps the role that was
/// assumed with them working for the real AWS CLI (credential_process in the emptied
/// source profile), and says exactly what it did — once per profile, with no false
/// "changed while importing" for aws-mfa's two sections far apart.
#[test]
fn import_from_the_config_keeps_roles_working_for_the_aws_cli() {
    let bed = Bed::shared();
    let user = bed.user_with("vcfg", json!("allow-all"), true);
    let other = bed.user("vcfgo");
    let role_arn = bed.role("vcfgrole", None, 3600);
    let env = vault_env(bed, "unused");
    let script = common::counting_code_command(&env, &user, &env.path("codes"));
    let config = format!(
        "# mine\n[profile base]\nregion = us-east-1\nendpoint_url = {url}\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nmfa_serial = {serial}\nmfa_process = {script}\n\n[profile admin]\nrole_arn = {role_arn}\nsource_profile = base\nregion = us-east-1\nendpoint_url = {url}\n",
        url = bed.url,
        id = user.access_key_id,
        secret = user.secret_access_key,
        serial = user.mfa_serial,
        script = script,
    );
    env.write(".aws/config", &config);
    let credentials = format!(
        "[o-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n[unrelated]\nregion = eu-west-1\n\n[o]\naws_access_key_id = ASIAOLDSESSION000000\naws_secret_access_key = old\naws_session_token = old\n",
        other.access_key_id, other.secret_access_key
    );
    env.write(".aws/credentials", &credentials);

    let r = run(env.awsmfa(&["import"]));
    assert_eq!(r.status, 0, "{r:?}");
    let config_path = env.config().display().to_string();
    assert!(
        r.stderr.contains(&format!(
            "moved the keys of profile \"base\" ({}…",
            &user.access_key_id[..4]
        )) && r
            .stderr
            .contains(&format!("from [profile base] of {config_path} into")),
        "{r:?}"
    );
    assert_eq!(
        r.stderr.matches("moved the keys of profile \"o\"").count(),
        1,
        "{r:?}"
    );
    assert!(!r.stderr.contains("changed while importing"), "{r:?}");
    assert!(
        r.stderr.contains("so the AWS CLI still assumes \"admin\""),
        "{r:?}"
    );
    // The keys are in the vault and nowhere in the files; everything else stays.
    assert_eq!(vault_keys(&env, "base").0, user.access_key_id);
    assert_eq!(vault_keys(&env, "o").0, other.access_key_id);
    let config_after = env.read(".aws/config");
    let exe = common::awsmfa_bin();
    let expected = config
        .replace(
            &format!(
                "aws_access_key_id = {}\naws_secret_access_key = {}\n",
                user.access_key_id, user.secret_access_key
            ),
            "",
        )
        .replace(
            "\n\n[profile admin]",
            &format!(
                "\ncredential_process = {} process --profile base\n\n[profile admin]",
                exe.display()
            ),
        );
    assert_eq!(config_after, expected);
    assert_eq!(
        env.read(".aws/credentials"),
        "[unrelated]\nregion = eu-west-1\n\n[o]\naws_access_key_id = ASIAOLDSESSION000000\naws_secret_access_key = old\naws_session_token = old\n"
    );
    // The real AWS CLI assumes the role with an MFA session from awsmfa.
    let r = run(env.aws(&["--profile", "admin", "sts", "get-caller-identity"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "assumed-role/{}/",
            role_arn.rsplit('/').next().unwrap()
        )),
        "{r:?}"
    );
    // And awsmfa serves both from the vault.
    let r = run(env.awsmfa(&["-p", "admin", "process"]));
    assert_eq!(r.status, 0, "{r:?}");
    let again = run(env.awsmfa(&["import"]));
    assert!(again.stderr.contains("nothing to import"), "{again:?}");
    assert_nowhere_in(env.home.path(), &user.secret_access_key);
}

#[test]
fn rotate_replaces_the_key_in_the_vault_and_in_the_credentials_file() {
    let bed = Bed::private();
    bed.configure(json!({"new_key_delay": 2}));
    for backend in ["file", "plaintext"] {
        let user = bed.user("vrot");
        let env = vault_env(&bed, "work");
        // Verified, and the user's device found and offered (no terminal: not saved).
        let r = add(&env, "work", &user, &["--backend", backend]);
        assert_eq!(r.status, 0, "{r:?}");
        let offer = format!("found MFA device {}", user.mfa_serial);
        assert!(r.stderr.contains(&offer), "{r:?}");
        assert!(!env.read(".aws/config").contains("mfa_serial"));
        let code = bed.code(&user.mfa_serial, 0);
        let r = run(env.awsmfa(&["rotate", "work", "--token-code", &code]));
        assert_eq!(r.status, 0, "{backend}: {r:?}");
        assert!(
            r.stderr.contains("waiting for the new key"),
            "{backend}: {r:?}"
        );
        assert_eq!(bed.user_calls(&user, "iam:CreateAccessKey"), 1);
        assert_eq!(bed.user_calls(&user, "iam:DeleteAccessKey"), 1);
        let (new_id, new_secret) = if backend == "file" {
            vault_keys(&env, "work")
        } else {
            let creds = env.read(".aws/credentials");
            let get = |k: &str| {
                creds
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                    .unwrap()
                    .to_string()
            };
            (get("aws_access_key_id"), get("aws_secret_access_key"))
        };
        assert_ne!(new_id, user.access_key_id, "{backend}");
        let identity = |id: &str, secret: &str| {
            let mut cmd = env.aws(&[
                "--endpoint-url",
                &bed.url,
                "--region",
                "us-east-1",
                "sts",
                "get-caller-identity",
            ]);
            cmd.env("AWS_ACCESS_KEY_ID", id)
                .env("AWS_SECRET_ACCESS_KEY", secret);
            run(cmd)
        };
        let old = identity(&user.access_key_id, &user.secret_access_key);
        assert_ne!(old.status, 0, "{backend}: the old key is gone: {old:?}");
        assert!(old.stderr.contains("InvalidClientTokenId"), "{old:?}");
        let new = identity(&new_id, &new_secret);
        assert_eq!(new.status, 0, "{backend}: {new:?}");
        assert!(new.stdout.contains(&user.arn));
        // The next login uses the new key (with the next code: this one was used).
        let code = bed.code(&user.mfa_serial, 1);
        let r = run(env.awsmfa(&["login", "-p", "work", "--token-code", &code]));
        assert_eq!(r.status, 0, "{backend}: {r:?}");
        assert_eq!(run(env.aws(&["--profile", "work", "s3", "ls"])).status, 0);
        assert!(!r.stderr.contains(&new_secret));
    }
}

#[test]
fn rotate_failures_leave_a_working_key_and_say_what_state_the_account_is_in() {
    let bed = Bed::private();
    let user = bed.user("vrotf");
    let env = vault_env(&bed, "work");
    assert_eq!(add(&env, "work", &user, &[]).status, 0);
    let before = snapshot(&vault_dir(&env));

    // CreateAccessKey fails: nothing changes anywhere.
    bed.configure(json!({"faults": [{"action": "CreateAccessKey", "kind": "500", "count": 10}]}));
    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&["rotate", "work", "--token-code", &code]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.contains("nothing changed"), "{r:?}");
    let records = |s: &[(PathBuf, Vec<u8>)]| -> Vec<(PathBuf, Vec<u8>)> {
        s.iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "age" || e == "json"))
            .cloned()
            .collect()
    };
    assert_eq!(records(&snapshot(&vault_dir(&env))), records(&before));

    // The new key never works (IAM lag beyond the wait): it is deleted again.
    bed.configure(json!({"faults": [], "new_key_delay": 30}));
    let r = run(env.awsmfa(&["rotate", "work", "--wait", "2s"]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.contains("the new key was deleted again"), "{r:?}");
    assert!(r.stderr.contains("unchanged and still in use"), "{r:?}");
    assert_eq!(vault_keys(&env, "work").0, user.access_key_id);

    // Deleting the old key fails: the new key is stored and works, the message says
    // the old one is still active.
    bed.configure(json!({"new_key_delay": 0, "faults": [{"action": "DeleteAccessKey", "kind": "500", "count": 10}]}));
    let r = run(env.awsmfa(&["rotate", "work"]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(r.stderr.contains("deleting the old key"), "{r:?}");
    assert!(r.stderr.contains("still active"), "{r:?}");
    let (new_id, _) = vault_keys(&env, "work");
    assert_ne!(new_id, user.access_key_id);
    bed.configure(json!({"faults": []}));
    let code = bed.code(&user.mfa_serial, 1);
    let r = run(env.awsmfa(&["login", "-p", "work", "--token-code", &code]));
    assert_eq!(r.status, 0, "the new key serves: {r:?}");
}

#[test]
fn no_secret_in_output_logs_errors_or_child_command_lines() {
    let bed = Bed::shared();
    let user = bed.user("vleak");
    let mut env = vault_env(bed, "work");
    // The passphrase from a command, as with a password manager.
    env.vars.retain(|(k, _)| k != "AWSMFA_VAULT_PASSPHRASE");
    env.write("pass.sh", &format!("#!/bin/sh\nprintf '%s\\n' '{PASS}'\n"));
    env.set(
        "AWSMFA_VAULT_PASSPHRASE_COMMAND",
        &format!("sh {}", env.path("pass.sh").display()),
    );
    let mut outputs = Vec::new();
    let r = add(
        &env,
        "work",
        &user,
        &["-vvv", "--mfa-serial", &user.mfa_serial],
    );
    assert_eq!(r.status, 0, "{r:?}");
    outputs.push(r);
    // mfa_process records its own command line, its parent's (awsmfa), its environment.
    let spy = env.path("spy.txt");
    env.write(
        "code.sh",
        &format!(
            "#!/bin/sh\n{{ tr '\\0' ' ' < /proc/$$/cmdline; echo; tr '\\0' ' ' < /proc/$PPID/cmdline; echo; env; }} >> {spy}\n{python} {bed} totp {seed}\n",
            spy = spy.display(),
            python = common::venv_bin("python").display(),
            bed = common::root().join("tests/bed/bed.py").display(),
            seed = user.mfa_seed
        ),
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(env.config())
        .and_then(|mut f| {
            use std::io::Write;
            writeln!(f, "mfa_process = sh {}", env.path("code.sh").display())
        })
        .unwrap();
    outputs.push(run(env.awsmfa(&["login", "-p", "work", "-vvv"])));
    outputs.push(run(env.awsmfa(&["process", "-p", "work", "-vvv"])));
    outputs.push(run(env.awsmfa(&["status", "--json"])));
    outputs.push(run(env.awsmfa(&["doctor", "-p", "work", "-vvv"])));
    // exec's child sees session credentials, never the long-term secret or passphrase.
    env.set("AWSMFA_VAULT_PASSPHRASE", PASS);
    outputs.push(run(env.awsmfa(&[
        "exec",
        "-p",
        "work",
        "--",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/$$/cmdline; env",
    ])));
    // Errors: a wrong passphrase and damaged vault after the cache is cleared.
    assert_eq!(run(env.awsmfa(&["clear"])).status, 0);
    env.vars.retain(|(k, _)| k != "AWSMFA_VAULT_PASSPHRASE");
    env.set("AWSMFA_VAULT_PASSPHRASE", "wrong-passphrase-xyz");
    outputs.push(run(env.awsmfa(&["process", "-p", "work", "-vvv"])));
    assert!(outputs[0..5].iter().all(|o| o.status == 0), "{outputs:?}");
    assert_eq!(outputs[6].status, 3, "{:?}", outputs[6]);
    let spied = std::fs::read_to_string(&spy).unwrap();
    assert!(spied.contains("code.sh"), "the spy ran: {spied}");
    for secret in [
        user.secret_access_key.as_str(),
        PASS,
        "wrong-passphrase-xyz",
    ] {
        for o in &outputs {
            assert!(!o.stdout.contains(secret), "stdout leaks: {o:?}");
            assert!(!o.stderr.contains(secret), "stderr leaks: {o:?}");
        }
        assert!(!spied.contains(secret), "a child saw a secret: {spied}");
    }
    // The passphrase command is the user's; the variable is never passed on.
    assert!(!spied.contains("AWSMFA_VAULT_PASSPHRASE="), "{spied}");
    assert!(!outputs[5].stdout.contains("AWSMFA_VAULT_PASSPHRASE="));
    assert!(outputs[5].stdout.contains("AWS_SESSION_TOKEN="));
}
