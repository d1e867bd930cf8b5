//! The command line's own conventions: usage errors in the house style (one `awsmfa:`
//! line, one `hint:` line, exit 2, no colour asked for), `--format json` everywhere JSON
//! is offered (`--json` kept as an alias), help and version as clap prints them. They
//! run on every OS but the zsh one.

mod common;

use common::{TestEnv, run};

#[test]
fn usage_errors_are_one_line_and_a_hint() {
    let env = TestEnv::new();
    for (args, hint) in [
        // Not clap's "use '-- --bogus'": that would pass it as a profile name.
        (
            &["login", "--bogus"][..],
            "hint: `awsmfa login --help` lists its options",
        ),
        (
            &["env", "--formt"][..],
            "hint: a similar option exists: --format",
        ),
        (
            &["--colr", "never", "status"],
            "hint: a similar argument exists: '--color'",
        ),
        (&["status", "--format", "yaml"], "hint: "),
    ] {
        let r = run(env.awsmfa(args));
        assert_eq!(r.status, 2, "{args:?}: {r:?}");
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {r:?}");
        assert!(lines[0].starts_with("awsmfa: "), "{args:?}: {r:?}");
        assert!(lines[1].starts_with(hint), "{args:?}: {r:?}");
        assert!(!r.stderr.contains('\x1b'), "{args:?}: {r:?}");
        assert!(r.stdout.is_empty());
    }
    let r = run(env.awsmfa(&["--version"]));
    assert_eq!(r.status, 0);
    assert!(r.stdout.starts_with("awsmfa "), "{r:?}");
    let r = run(env.awsmfa(&["login", "--help"]));
    assert_eq!(r.status, 0);
    assert!(r.stdout.contains("--token-code"), "{r:?}");
}

#[test]
fn json_is_format_json_everywhere() {
    let env = TestEnv::new();
    env.write(".aws/config", "[profile a]\nregion = eu-west-1\n");
    let a = run(env.awsmfa(&["status", "--format", "json"]));
    let b = run(env.awsmfa(&["status", "--json"]));
    assert_eq!(a.status, 0, "{a:?}");
    let va: serde_json::Value = serde_json::from_str(&a.stdout).unwrap();
    let vb: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    assert_eq!(va, vb);
    let policy = env.path("p.json");
    std::fs::write(&policy, r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
    let p = policy.to_str().unwrap();
    let a = run(env.awsmfa(&["policy", "lint", p, "--format", "json"]));
    let b = run(env.awsmfa(&["policy", "lint", p, "--json"]));
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.contains("\"findings\""), "{a:?}");
}

#[test]
fn env_unset_passes_only_variable_names_from_its_marker() {
    let mut env = TestEnv::new();
    env.set(
        "AWSMFA_ENV_VARS",
        "AWS_REGION AWS_X;touch${IFS}pwned AWS_Y$(id) HOME AWSMFA_ENV_VARS",
    );
    let r = run(env.awsmfa(&["env", "--unset", "--format", "sh"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(
        r.stdout, "unset AWS_REGION\nunset AWSMFA_ENV_VARS\n",
        "{r:?}"
    );
}

/// The documented `source <(awsmfa completions zsh)` works in a fresh ~/.zshrc, with no
/// `compinit` before it (it failed with "command not found: compdef"), and in one that
/// runs compinit first.
#[cfg(unix)]
#[test]
fn zsh_completion_loads_from_a_fresh_zshrc() {
    let env = TestEnv::new();
    let bin_dir = common::awsmfa_bin().parent().unwrap().to_path_buf();
    for zshrc in [
        "source <(awsmfa completions zsh)\n",
        "autoload -Uz compinit && compinit -i\nsource <(awsmfa completions zsh)\n",
    ] {
        env.write(".zshrc", zshrc);
        let mut cmd = std::process::Command::new("zsh");
        cmd.args(["-i", "-c", "print -r -- \"comp=${_comps[awsmfa]}\""])
            .env_clear()
            .env("HOME", env.home.path())
            .env("ZDOTDIR", env.home.path())
            .env("TERM", "dumb")
            .env("PATH", common::path_with(&[&bin_dir]))
            .stdin(std::process::Stdio::null());
        let r = run(cmd);
        assert_eq!(r.status, 0, "{zshrc}: {r:?}");
        assert!(!r.stderr.contains("compdef"), "{zshrc}: {r:?}");
        assert!(
            r.stdout.contains("comp=_clap_dynamic_completer_awsmfa"),
            "{zshrc}: {r:?}"
        );
    }
}

/// Issue 22 §5: `status` at 80 columns wraps cells at spaces and never cuts a word —
/// long profile names, long device names and several sessions included.
#[test]
fn status_at_80_columns_cuts_no_word() {
    let mut env = TestEnv::new();
    let long = "production-eu-west-1-platform-team-administrators";
    env.write(
        ".aws/config",
        &format!(
            "[profile {long}]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/a-rather-long-device-name-for-the-laptop\n\
             [profile {long}-readonly-role]\nrole_arn = arn:aws:iam::123456789012:role/ReadOnly\nsource_profile = {long}\n\
             [profile short]\nregion = us-east-1\n"
        ),
    );
    env.write(
        ".aws/credentials",
        &format!(
            "[{long}-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n\
             [{long}]\naws_access_key_id = ASIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\naws_session_token = t\nexpiration = 2099-01-01T00:00:00Z\n\
             [short]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\naws_secret_access_key = s\n"
        ),
    );
    env.set("COLUMNS", "1000");
    let wide = run(env.awsmfa(&["status"]));
    assert_eq!(wide.status, 0, "{wide:?}");
    env.set("COLUMNS", "80");
    let narrow = run(env.awsmfa(&["status"]));
    assert_eq!(narrow.status, 0, "{narrow:?}");
    let out = &narrow.stdout;
    assert!(
        out.lines().all(|l| l.chars().count() <= 80),
        "every line fits 80 columns:\n{out}"
    );
    assert!(!out.contains('…'), "nothing cut:\n{out}");
    // Every word of the unconstrained table's rows is there, whole.
    let narrow_words: Vec<&str> = out.split_whitespace().collect();
    for word in wide.stdout.lines().skip(1).flat_map(str::split_whitespace) {
        assert!(narrow_words.contains(&word), "{word} whole:\n{out}");
    }
    for name in [long, "mfa/a-rather-long-device-name-for-the-laptop"] {
        assert!(narrow_words.contains(&name), "{name} whole:\n{out}");
    }
    // Names that fit side by side keep the table, wrapped at spaces.
    env.write(
        ".aws/credentials",
        "[team-a-long-term]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n\
         [team-a]\naws_access_key_id = ASIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\naws_session_token = t\nexpiration = 2099-01-01T00:00:00Z\n",
    );
    env.write(
        ".aws/config",
        "[profile team-a]\nmfa_serial = arn:aws:iam::123456789012:mfa/laptop-of-team-a\n",
    );
    let r = run(env.awsmfa(&["status"]));
    let out = &r.stdout;
    assert!(out.starts_with("PROFILE"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    assert!(!out.contains('…'), "{out}");
    assert!(out.lines().count() > 2, "a cell wraps:\n{out}");
    for word in ["[team-a-long-term]", "mfa/laptop-of-team-a"] {
        assert!(out.split_whitespace().any(|w| w == word), "{word}:\n{out}");
    }
    assert!(out.contains("left"), "{out}");
}
