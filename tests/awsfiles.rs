//! Issue 12: the AWS files as the AWS CLI reads them, writes that never break them, no
//! secret in `-v`, and big or hostile files. Unit tests next to the code cover the rules;
//! these drive the binary. They run on every OS but the one about Unix's word splitting.

mod common;

use common::{TestEnv, run};

#[test]
fn verbose_output_shows_only_the_program_of_a_credential_process() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile src]\ncredential_process = SECRET_TOKEN=hunter2aa /bin/false --password hunter2bb\n[profile r]\nsource_profile = src\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\n",
    );
    let r = run(env.awsmfa(&["-vv", "-p", "r", "login", "--token-code", "123456"]));
    assert_ne!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("credential_process `false`"), "{r:?}");
    assert!(!r.stderr.contains("hunter2"), "{r:?}");
}

fn big_files(env: &TestEnv, n: usize) {
    let mut config = String::new();
    let mut credentials = String::new();
    for i in 0..n {
        if i % 4 == 0 {
            config.push_str(&format!(
                "[profile r{i}]\nrole_arn = arn:aws:iam::123456789012:role/R{i}\nsource_profile = k{}\n\n",
                i + 1
            ));
        } else {
            config.push_str(&format!(
                "[profile k{i}]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/u{i}\n\n"
            ));
            credentials.push_str(&format!(
                "[k{i}]\naws_access_key_id = AKIA{i:016}\naws_secret_access_key = s{i}\n\n"
            ));
        }
    }
    env.write(".aws/config", &config);
    env.write(".aws/credentials", &credentials);
}

/// Issue 12, item 5: `status` took 28 s on 40,000 profiles (a linear scan per lookup).
/// 20,000 profiles in a debug build take about 2 s now, and took minutes before.
#[test]
fn status_is_linear_in_the_number_of_profiles() {
    let env = TestEnv::new();
    big_files(&env, 20_000);
    let start = std::time::Instant::now();
    let r = run(env.awsmfa(&["status", "--json"]));
    let took = start.elapsed();
    assert_eq!(r.status, 0, "{:?}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["profiles"].as_array().unwrap().len(), 20_000);
    assert!(took.as_secs() < 30, "status took {took:?}");
}

/// A `source_profile` chain 6,000 long crashed `process` with a stack overflow.
#[test]
fn a_six_thousand_long_chain_is_a_clear_error() {
    let env = TestEnv::new();
    let mut config = String::new();
    for i in 0..6000 {
        config.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::123456789012:role/R{i}\nsource_profile = p{}\n",
            i + 1
        ));
    }
    config.push_str("[profile p6000]\nregion = us-east-1\n");
    env.write(".aws/config", &config);
    env.write(
        ".aws/credentials",
        "[p6000]\naws_access_key_id = AKIADEEPEXAMPLE00000\naws_secret_access_key = s\n",
    );
    let r = run(env.awsmfa(&["-p", "p0", "process"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("the source_profile chain of profile \"p0\" is more than 64 profiles long"),
        "{r:?}"
    );
    assert!(r.stdout.is_empty());
    let r = run(env.awsmfa(&["status", "--json"]));
    assert_eq!(r.status, 0, "{r:?}");
}

/// A loopback listener that counts connections (and answers none).
fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, count)
}

/// Issue 12, item 1: `[services  wasabi]` (two spaces) and `[services\twasabi]` are
/// Wasabi's section for botocore; a `services` name with no section makes botocore
/// refuse. awsmfa fell back to AWS's STS and sent the key id and the code there.
#[test]
fn services_sections_resolve_as_botocore_or_refuse() {
    for header in ["[services  wasabi]", "[services\twasabi]"] {
        let (port, connections) = counting_listener();
        let env = TestEnv::new();
        env.write(
            ".aws/credentials",
            "[w-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n",
        );
        env.write(
            ".aws/config",
            &format!(
                "[profile w]\nregion = us-east-1\nservices = wasabi\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n{header}\nsts =\n  endpoint_url = http://127.0.0.1:{port}\n"
            ),
        );
        let mut cmd = env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]);
        cmd.env("AWSMFA_HTTP_TIMEOUT", "3");
        let r = run(cmd);
        assert_ne!(r.status, 0, "{r:?}");
        assert!(
            connections.load(std::sync::atomic::Ordering::SeqCst) > 0,
            "{header}: the services section's endpoint was not used: {r:?}"
        );
    }
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        "[w-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n",
    );
    env.write(
        ".aws/config",
        "[profile w]\nregion = us-east-1\nservices = wasabi\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n[services wasabi-typo]\nsts =\n  endpoint_url = https://sts.wasabisys.com\n",
    );
    let r = run(env.awsmfa(&["-p", "w", "login", "--token-code", "123456"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("line 3: services = wasabi names no [services wasabi] section"),
        "{r:?}"
    );
}

/// A session written into `[x]` while the config makes `x` a role would never be used
/// by the AWS CLI: refused, nothing written.
#[test]
fn a_target_the_config_makes_a_role_is_refused() {
    let env = TestEnv::new();
    env.write(
        ".aws/credentials",
        "[w-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n",
    );
    env.write(
        ".aws/config",
        "[profile w]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n[profile x]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = w\n",
    );
    let before = (env.read(".aws/config"), env.read(".aws/credentials"));
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "login",
        "--target",
        "x",
        "--token-code",
        "123456",
    ]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("profile \"x\" is a role"), "{r:?}");
    assert_eq!(
        (env.read(".aws/config"), env.read(".aws/credentials")),
        before
    );
}

/// Issue 12: a source profile's `credential_process` runs as botocore runs it on Unix —
/// split into words as shlex splits them, no shell — so awsmfa and the real AWS CLI run
/// the same program with the same arguments, and `;`, `$HOME` are plain words. (On
/// Windows botocore passes the rest of the line as written: a unit test of src/sys.)
#[cfg(unix)]
#[test]
fn credential_process_runs_as_the_aws_cli_runs_it() {
    use std::os::unix::fs::PermissionsExt;
    let bed = common::Bed::shared();
    let user = bed.user("cpwords");
    let env = TestEnv::new();
    let args = env.path("args");
    let marker = env.path("marker");
    let script = env.path("keys.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '{}'\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
            args.display(),
            user.access_key_id,
            user.secret_access_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write(
        ".aws/config",
        &format!(
            "[profile k]\nregion = us-east-1\nendpoint_url = {}\nmfa_serial = {}\ncredential_process = {} 'two words' $HOME ; touch {}\n",
            bed.url,
            user.mfa_serial,
            script.display(),
            marker.display()
        ),
    );
    let r = run(env.aws(&["--profile", "k", "sts", "get-caller-identity"]));
    assert_eq!(r.status, 0, "{r:?}");
    let cli = std::fs::read_to_string(&args).unwrap();
    let expected = format!("two words\n$HOME\n;\ntouch\n{}\n", marker.display());
    assert_eq!(cli, expected, "what botocore passes");
    std::fs::remove_file(&args).unwrap();
    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&["-p", "k", "login", "--token-code", &code]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(std::fs::read_to_string(&args).unwrap(), expected);
    assert!(!marker.exists(), "no shell ran `touch`");
    // An unclosed quote: botocore refuses to split it, and so does awsmfa.
    env.write(
        ".aws/config",
        &format!(
            "[profile k]\nregion = us-east-1\nendpoint_url = {}\nmfa_serial = {}\ncredential_process = {} 'open\n",
            bed.url,
            user.mfa_serial,
            script.display()
        ),
    );
    std::fs::remove_file(env.credentials()).ok();
    let r = run(env.awsmfa(&["-p", "k", "login", "--token-code", &code]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(r.stderr.contains("unclosed quote"), "{r:?}");
}

/// Issue 12, writes: a header the AWS CLI reads as the profile (`[profile<TAB>a]`) is
/// written into as it is; a write that would change how the CLI reads the profile (a
/// new credentials section under a `[DEFAULT]` with a region) is refused before any
/// code is used, both files unchanged.
#[test]
fn login_writes_only_what_the_aws_cli_reads_as_meant() {
    let bed = common::Bed::shared();
    let user = bed.user("wmeant");
    let env = TestEnv::new();
    let config = format!(
        "[profile\ta]\nregion = us-east-1\nendpoint_url = {}\n",
        bed.url
    );
    env.write(".aws/config", &config);
    env.write(
        ".aws/credentials",
        &format!(
            "[a-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&[
        "-p",
        "a",
        "login",
        "--save",
        "--mfa-serial",
        &user.mfa_serial,
        "--token-code",
        &code,
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        env.read(".aws/config"),
        format!("{config}mfa_serial = {}\n", user.mfa_serial)
    );
    let r = run(env.aws(&["--profile", "a", "sts", "get-caller-identity"]));
    assert_eq!(r.status, 0, "{r:?}");

    // [DEFAULT] in the credentials file would give a new [b] its region.
    let user = bed.user("wmeant");
    let env = TestEnv::new();
    let config = format!(
        "[profile b]\nregion = us-east-1\nendpoint_url = {}\n",
        bed.url
    );
    let credentials = format!(
        "[DEFAULT]\nregion = us-west-2\n\n[b-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        user.access_key_id, user.secret_access_key
    );
    env.write(".aws/config", &config);
    env.write(".aws/credentials", &credentials);
    let code = bed.code(&user.mfa_serial, 0);
    let r = run(env.awsmfa(&["-p", "b", "login", "--token-code", &code]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr.contains("refused to change [b]")
            && r.stderr
                .contains("[DEFAULT] would give the new section region"),
        "{r:?}"
    );
    assert_eq!(
        r.stderr
            .lines()
            .filter(|l| l.starts_with("awsmfa:"))
            .count(),
        1,
        "{r:?}"
    );
    assert_eq!(env.read(".aws/config"), config);
    assert_eq!(env.read(".aws/credentials"), credentials);
    assert_eq!(
        bed.user_calls(&user, "sts:GetSessionToken"),
        0,
        "no code used"
    );
}

/// Issue 12, import: one key pair in the credentials file and the config (`[profile
/// x]` with two spaces, read as x) leaves both; two different pairs are refused in one
/// line, nothing changed.
#[test]
fn import_moves_every_copy_or_none() {
    let env = vault_env();
    let config = "[profile  x]\nregion = us-east-1\naws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = same/secret\n";
    let credentials = "[x]\naws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = same/secret\n[y]\nregion = eu-west-1\n";
    env.write(".aws/config", config);
    env.write(".aws/credentials", credentials);
    let r = run(env.awsmfa(&["import", "x"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "from [x] of {} and [profile  x] of {} into",
            env.credentials().display(),
            env.config().display()
        )),
        "{r:?}"
    );
    assert_eq!(
        env.read(".aws/config"),
        "[profile  x]\nregion = us-east-1\n"
    );
    assert_eq!(env.read(".aws/credentials"), "[y]\nregion = eu-west-1\n");

    let env2 = vault_env();
    let config = config.replace("same/secret", "other/secret");
    env2.write(".aws/config", &config);
    env2.write(".aws/credentials", credentials);
    let r = run(env2.awsmfa(&["import", "x"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("hold different keys"), "{r:?}");
    assert_eq!(env2.read(".aws/config"), config);
    assert_eq!(env2.read(".aws/credentials"), credentials);
}

/// `credential_process = awsmfa process …` (what `import` writes) in a source profile
/// whose keys are not in the vault would make awsmfa call itself: a clear error instead.
#[test]
fn awsmfa_as_its_own_credential_process_is_a_clear_error() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile base]\nregion = us-east-1\ncredential_process = awsmfa process --profile base\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = base\n",
    );
    let r = run(env.awsmfa(&["-p", "admin", "process"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("gets its keys from `awsmfa process`, that is from awsmfa itself"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("hint: store them: awsmfa add base"),
        "{r:?}"
    );
}

/// Issue 12, writes made after something else changed are tried first: `add` before the
/// keys are stored, `mfa create` before the device exists. Here the config's
/// `[DEFAULT]` would give a new `[profile w]` more than `mfa_serial`.
#[test]
fn add_and_mfa_create_refuse_their_config_write_before_anything_changes() {
    let bed = common::Bed::shared();
    let user = bed.user_with("wfirst", serde_json::json!("allow-all"), false);
    let mut env = vault_env();
    env.set("AWS_ACCESS_KEY_ID", &user.access_key_id);
    env.set("AWS_SECRET_ACCESS_KEY", &user.secret_access_key);
    let config = "[DEFAULT]\noutput = json\n";
    env.write(".aws/config", config);
    let r = run(env.awsmfa(&[
        "add",
        "w",
        "--from-env",
        "--no-verify",
        "--mfa-serial",
        "arn:aws:iam::123456789012:mfa/w",
    ]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("[DEFAULT] would give the new section output too"),
        "{r:?}"
    );
    assert!(
        !env.path(".local/share/awsmfa/vault/keys").exists(),
        "no keys stored"
    );
    assert_eq!(env.read(".aws/config"), config);

    let credentials = format!(
        "[w]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        user.access_key_id, user.secret_access_key
    );
    env.write(".aws/credentials", &credentials);
    let r = run(env.awsmfa(&[
        "-p",
        "w",
        "mfa",
        "create",
        "wdev",
        "--store-seed",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &bed.url,
    ]));
    assert_eq!(r.status, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("[DEFAULT] would give the new section output too"),
        "{r:?}"
    );
    assert_eq!(bed.user_calls(&user, "iam:CreateVirtualMFADevice"), 0);
    assert_eq!(env.read(".aws/config"), config);
    assert_eq!(env.read(".aws/credentials"), credentials);
}

/// Issue 12, import: a role assumed with keys in `[w]` needs `credential_process` in a
/// new `[profile w]`; under a config `[DEFAULT]` with keys that would change how the CLI
/// reads w, so the keys stay, said in one line, nothing changed.
#[test]
fn import_keeps_keys_whose_roles_it_could_not_keep_working() {
    let env = vault_env();
    let config = "[DEFAULT]\noutput = json\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = w\n";
    let credentials =
        "[w]\naws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = s/ecret\n";
    env.write(".aws/config", config);
    env.write(".aws/credentials", credentials);
    let r = run(env.awsmfa(&["import", "w"]));
    assert_eq!(r.status, 5, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(
        r.stderr.contains("roles use \"w\" as source_profile")
            && r.stderr
                .contains("[DEFAULT] would give the new section output too"),
        "{r:?}"
    );
    assert_eq!(env.read(".aws/config"), config);
    assert_eq!(env.read(".aws/credentials"), credentials);
}

/// A test HOME whose vault opens with a passphrase from the environment, cheaply: the
/// file vault, also where the OS store is the default (macOS, Windows), so no test
/// writes into the Keychain or the Credential Manager of the machine.
fn vault_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.set("AWSMFA_VAULT_BACKEND", "file");
    env.set("AWSMFA_VAULT_PASSPHRASE", "correct horse battery staple");
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
    env
}
