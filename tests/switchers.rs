//! People coming from aws-vault and aws-mfa keep their habits (issue 22 §2–4): the
//! profile as the first word, `awsmfa --profile work`, one rule for a mistyped profile,
//! hints that name only what the command has, quiet unattended runs, a failing
//! `mfa_process` that gives way to the prompt on a terminal.
#![cfg(unix)]

mod common;

use common::{Bed, TestEnv, Tmux, run, run_with_input};

/// A profile `work` in aws-mfa's layout, with its session cached by a login.
fn logged_in(prefix: &str) -> (TestEnv, common::User) {
    let bed = Bed::shared();
    let user = bed.user(prefix);
    let env = TestEnv::new();
    env.long_term_layout("work", &user, bed);
    let r = run(env.awsmfa(&[
        "-p",
        "work",
        "login",
        "--token-code",
        &bed.code(&user.mfa_serial, 0),
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    (env, user)
}

#[test]
fn aws_vault_word_order_uses_the_profile() {
    let (env, user) = logged_in("vaultorder");
    let bed = Bed::shared();
    let calls = bed.user_calls(&user, "sts:GetSessionToken");
    // `exec work -- CMD`: CMD runs with work's session (the real AWS CLI says who).
    let r = run(env.awsmfa(&[
        "exec",
        "work",
        "--",
        common::venv_bin("aws").to_str().unwrap(),
        "sts",
        "get-caller-identity",
        "--output",
        "text",
        "--query",
        "Arn",
    ]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(&user.name), "{r:?}");
    // Without `--`, and with nothing after the profile (a shell, here `sh -c` via $SHELL).
    let mut cmd = env.awsmfa(&["exec", "work"]);
    cmd.env("SHELL", "/bin/sh");
    let r = run_with_input(
        cmd,
        "echo \"profile=$AWSMFA_PROFILE key=$AWS_ACCESS_KEY_ID\"\n",
    );
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains("profile=work key=ASIA"), "{r:?}");
    // env, process and login take it too.
    let r = run(env.awsmfa(&["env", "work", "--format", "json"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains("\"AWS_SESSION_TOKEN\""), "{r:?}");
    let r = run(env.awsmfa(&["process", "work"]));
    assert_eq!(r.status, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    let r = run(env.awsmfa(&["login", "work"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("[work] is still valid"), "{r:?}");
    // All from the one cached session.
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), calls);
}

#[test]
fn a_profile_name_is_never_run_as_a_program() {
    let (env, _user) = logged_in("neverrun");
    let marker = env.path("ran");
    let touch = format!("touch '{}'", marker.display());
    // A profile named like a program: either reading is possible, so neither is taken.
    let config = env.read(".aws/config");
    env.write(
        ".aws/config",
        &format!("{config}[profile sh]\nsource_profile = work\n"),
    );
    let r = run(env.awsmfa(&["exec", "sh", "-c", &touch]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(
        r.stderr.contains("names both a profile and a program"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("`awsmfa exec -p sh -- -c 'touch"),
        "the exact command for the profile: {r:?}"
    );
    assert!(
        r.stderr.contains("`awsmfa exec -p default -- sh -c 'touch"),
        "and for the program: {r:?}"
    );
    assert!(!marker.exists());
    // With -p given, the word is the program, as typed.
    let r = run(env.awsmfa(&["-p", "work", "exec", "sh", "-c", &touch]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(marker.exists());

    // -p and a profile word that is no program: refused with the command meant.
    let r = run(env.awsmfa(&["-p", "default", "exec", "work", "--", "aws", "s3", "ls"]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(
        r.stderr.contains("\"work\" is a profile, not a program"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("`awsmfa exec -p work -- aws s3 ls`"),
        "{r:?}"
    );
    let r = run(env.awsmfa(&["-p", "default", "login", "work"]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(r.stderr.contains("two profiles given"), "{r:?}");

    // A mistyped profile in aws-vault's order: not run (no exit 127), the name meant.
    let r = run(env.awsmfa(&["exec", "wrok", "--", "aws", "s3", "ls"]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(r.stderr.contains("did you mean `-p work`?"), "{r:?}");
    assert!(
        r.stderr.contains("`awsmfa exec -p work -- aws s3 ls`"),
        "{r:?}"
    );
}

#[test]
fn global_options_alone_and_mistyped_profiles_say_what_to_type() {
    let (env, _user) = logged_in("typos");
    // aws-mfa's whole command line.
    let r = run(env.awsmfa(&["--profile", "work"]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(r.stderr.starts_with("awsmfa: no command given\n"), "{r:?}");
    assert!(r.stderr.contains("`awsmfa login -p work`"), "{r:?}");
    // One rule for every command: the profile meant.
    for args in [
        &["-p", "wrok", "login"][..],
        &["-p", "wrok", "doctor"],
        &["-p", "wrok", "exec", "--", "true"],
        &["-p", "wrok", "env"],
        &["-p", "wrok", "process"],
        &["login", "wrok"],
        &["env", "wrok"],
    ] {
        let r = run(env.awsmfa(args));
        assert_ne!(r.status, 0, "{args:?}: {r:?}");
        // doctor reports on stdout.
        let said = format!("{}{}", r.stdout, r.stderr);
        assert!(said.contains("did you mean `-p work`?"), "{args:?}: {r:?}");
        assert!(!said.contains("awsmfa add wrok"), "{args:?}: {r:?}");
    }
    // A name close to nothing: how to create it.
    let r = run(env.awsmfa(&["-p", "staging", "login"]));
    assert!(r.stderr.contains("awsmfa add staging"), "{r:?}");
    // An option the command lacks is not offered as a profile name (clap's
    // "use '-- --bogus'").
    let r = run(env.awsmfa(&["login", "--bogus"]));
    assert_eq!(r.status, 2, "{r:?}");
    assert!(!r.stderr.contains("-- --bogus"), "{r:?}");
}

#[test]
fn with_no_terminal_each_command_names_only_what_it_has() {
    let bed = Bed::shared();
    let user = bed.user("nottyhints");
    let mut env = TestEnv::new();
    env.long_term_layout("work", &user, bed);
    for args in [
        &["-p", "work", "exec", "--", "true"][..],
        &["-p", "work", "env"],
        &["-p", "work", "process"],
    ] {
        let r = run(env.awsmfa(args));
        assert_eq!(r.status, 4, "{args:?}: {r:?}");
        assert!(!r.stderr.contains("--token-code"), "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("`awsmfa login -p work`"),
            "{args:?}: {r:?}"
        );
        // One error line and one hint line.
        assert_eq!(r.stderr.lines().count(), 2, "{r:?}");
    }
    let r = run(env.awsmfa(&["-p", "work", "login"]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(r.stderr.contains("pass --token-code"), "{r:?}");

    // Keys in the vault, no passphrase to be had: the vault's hint, not mfa_process
    // (which gives MFA codes, never the passphrase).
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
    let mut add = env.awsmfa(&["--endpoint-url", &bed.url, "add", "vaulted"]);
    add.env("AWSMFA_VAULT_PASSPHRASE", "pass phrase");
    let r = run_with_input(
        add,
        &format!("{}\n{}\n", user.access_key_id, user.secret_access_key),
    );
    assert_eq!(r.status, 0, "{r:?}");
    let config = env.read(".aws/config");
    env.write(
        ".aws/config",
        &format!(
            "{config}[profile vaulted]\nregion = us-east-1\nendpoint_url = {}\nmfa_serial = {}\n",
            bed.url, user.mfa_serial
        ),
    );
    let r = run(env.awsmfa(&["-p", "vaulted", "process"]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(r.stderr.contains("vault passphrase"), "{r:?}");
    assert!(
        r.stderr.contains("AWSMFA_VAULT_PASSPHRASE_COMMAND"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("mfa_process"), "{r:?}");
}

#[test]
fn a_failing_mfa_process_gives_way_to_the_prompt_on_a_terminal() {
    let bed = Bed::shared();
    let user = bed.user("ykfallback");
    let env = TestEnv::new();
    env.long_term_layout("work", &user, bed);
    env.write(
        ".aws/config",
        &format!(
            "[profile work]\nregion = us-east-1\nendpoint_url = {}\nmfa_process = echo 'no YubiKey detected' >&2; exit 3\n",
            bed.url
        ),
    );
    let done = env.path("done");
    let command = format!(
        "env -i HOME='{home}' PATH='{path}' TERM=xterm LANG=C.UTF-8 '{bin}' -p work login; echo $? > '{done}'; sleep 60",
        home = env.home.path().display(),
        path = std::env::var("PATH").unwrap_or_default(),
        bin = common::awsmfa_bin().display(),
        done = done.display()
    );
    let tmux = Tmux::start(&command);
    let screen = tmux.wait_for("type the code instead").replace('\n', "");
    assert!(screen.contains("no YubiKey detected"), "{screen}");
    assert!(
        screen.contains("mfa_process failed (exit status 3); type the code instead"),
        "{screen}"
    );
    tmux.keys(&bed.code(&user.mfa_serial, 0));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            tmux.screen(false)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "0",
        "{}",
        tmux.screen(false)
    );
    assert!(env.read(".aws/credentials").contains("[work]"));

    // With no terminal it still fails, saying why.
    let r = run(env.awsmfa(&["-p", "work", "login", "--force"]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr.contains("mfa_process failed (exit status 3)"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("type the code instead"), "{r:?}");
}
