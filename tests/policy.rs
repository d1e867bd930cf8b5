//! `awsmfa policy`: the printed policies lint clean, and every policy shown in the seeds
//! gets the findings it deserves — through the real binary.

mod common;

use common::{TestEnv, run};
use serde_json::Value;

fn fixture(name: &str) -> String {
    common::root()
        .join("tests/fixtures/policies")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn every_seed_policy_gets_its_findings() {
    let env = TestEnv::new();
    for (file, status, rules) in [
        ("000-wasabi-force-mfa.json", 1, vec!["bool-false-deny"]),
        ("001-admin-with-mfa.json", 1, vec!["self-service-needs-mfa"]),
        ("001-admin.json", 0, vec![]),
        ("002-block-most-access.json", 0, vec![]),
        // The seed's trust policy before MFA was added: anyone with the keys.
        ("002-role-trust.json", 1, vec!["trust-without-mfa"]),
        (
            "002-role-trust-with-mfa.json",
            1,
            vec!["condition-key-spelling"],
        ),
        // Information only: exit 0.
        ("004-force-mfa.json", 0, vec!["get-session-token-denied"]),
    ] {
        let r = run(env.awsmfa(&["policy", "lint", &fixture(file), "--format", "json"]));
        assert_eq!(r.status, status, "{file}: {r:?}");
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        let got: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert_eq!(got, rules, "{file}");
        for f in v["findings"].as_array().unwrap() {
            for field in ["severity", "path", "what", "fix"] {
                assert!(
                    f[field].as_str().is_some_and(|s| !s.is_empty()),
                    "{file}: {field}"
                );
            }
        }
    }
    let r = run(env.awsmfa(&["policy", "lint", &fixture("000-wasabi-force-mfa.json")]));
    assert!(
        r.stdout
            .starts_with("error[bool-false-deny] Statement[2].Condition.Bool"),
        "{r:?}"
    );
    assert!(r.stdout.contains("fix: on AWS, \"BoolIfExists\""), "{r:?}");
}

/// Issue 22 §5: Wasabi's own documented force-MFA policy (seed 000) gets one answer, the
/// README's: `BoolIfExists` for AWS, and for Wasabi the `s3-compatible` form — never
/// `BoolIfExists` alone, which Wasabi may not support. Following the advice lints clean
/// and keeps the policy's intent (s3:* only with MFA).
#[test]
fn wasabis_documented_policy_gets_the_s3_compatible_answer() {
    let env = TestEnv::new();
    let wasabi = fixture("000-wasabi-force-mfa.json");
    let r = run(env.awsmfa(&["policy", "lint", &wasabi, "--format", "json"]));
    assert_eq!(r.status, 1, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let finding = &v["findings"][0];
    assert_eq!(finding["rule"], "bool-false-deny");
    let fix = finding["fix"].as_str().unwrap();
    let what = finding["what"].as_str().unwrap();
    assert!(fix.contains("awsmfa policy s3-compatible"), "{fix}");
    assert!(fix.contains("Wasabi"), "{fix}");
    assert!(what.contains("Wasabi"), "{what}");
    // BoolIfExists is named for AWS only, before the S3-compatible advice.
    let aws = fix.find("on AWS").unwrap();
    let ifexists = fix.find("BoolIfExists").unwrap();
    let s3 = fix.find("S3-compatible").unwrap();
    assert!(aws < ifexists && ifexists < s3, "{fix}");
    // The README gives the same answer.
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let lint_text = readme
        .split("`policy lint` knows the classic mistakes")
        .nth(1)
        .unwrap();
    let para = &lint_text[..lint_text.find("\n\n").unwrap()];
    assert!(
        para.contains("`s3-compatible` form") && para.contains("Wasabi"),
        "{para}"
    );
    // The advice, followed: the printed policy for Wasabi's actions lints clean, needs
    // MFA for s3:* and uses no …IfExists operator and no Deny.
    let r = run(env.awsmfa(&["policy", "s3-compatible", "--action", "s3:*"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(!r.stdout.contains("IfExists") && !r.stdout.contains("Deny"));
    let p: Value = serde_json::from_str(&r.stdout).unwrap();
    let with_mfa = p["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == serde_json::json!(["s3:*"]))
        .expect("s3:* allowed");
    assert_eq!(
        with_mfa["Condition"]["Bool"]["aws:MultiFactorAuthPresent"],
        "true"
    );
    let file = env.path("fixed.json");
    std::fs::write(&file, &r.stdout).unwrap();
    let r = run(env.awsmfa(&["policy", "lint", file.to_str().unwrap()]));
    assert_eq!(r.status, 0, "{r:?}");
}

#[test]
fn printed_policies_are_json_and_lint_clean() {
    let env = TestEnv::new();
    for args in [
        vec!["policy", "require-mfa"],
        vec![
            "policy",
            "require-mfa",
            "--account",
            "123456789012",
            "--allow-without-mfa",
            "iam:ChangePassword",
            "--max-age",
            "12h",
        ],
        vec![
            "policy",
            "role-trust",
            "--principal",
            "arn:aws:iam::123456789012:root",
            "--max-age",
            "1h",
        ],
        vec!["policy", "s3-compatible"],
    ] {
        let r = run(env.awsmfa(&args));
        assert_eq!(r.status, 0, "{args:?}: {r:?}");
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["Version"], "2012-10-17");
        let file = env.path("p.json");
        std::fs::write(&file, &r.stdout).unwrap();
        let lint = run(env.awsmfa(&["policy", "lint", file.to_str().unwrap()]));
        assert_eq!(lint.status, 0, "{args:?}: {lint:?}");
        // Stable: the same output twice.
        assert_eq!(run(env.awsmfa(&args)).stdout, r.stdout);
    }
    let r = run(env.awsmfa(&["policy", "require-mfa", "--max-age", "12h"]));
    assert!(r.stdout.contains("\"aws:MultiFactorAuthAge\": \"43200\""));
}

#[test]
fn unreadable_or_invalid_policies_exit_5() {
    let env = TestEnv::new();
    env.write("bad.json", "{\"Statement\": [ SECRET");
    env.write("notpolicy.json", "[1, 2]");
    for (file, needle) in [
        (env.path("bad.json"), "not valid JSON (line 1"),
        (env.path("notpolicy.json"), "not an IAM policy"),
        (env.path("missing.json"), "no such file"),
        (env.path(""), "is a directory"),
    ] {
        let r = run(env.awsmfa(&["policy", "lint", file.to_str().unwrap()]));
        assert_eq!(r.status, 5, "{file:?}: {r:?}");
        assert!(r.stderr.contains(needle), "{file:?}: {r:?}");
        assert!(!r.stderr.contains("SECRET"));
        assert!(r.stdout.is_empty());
    }
    let r = run(env.awsmfa(&["policy", "require-mfa", "--account", "12"]));
    assert_eq!(r.status, 2, "{r:?}");
}
