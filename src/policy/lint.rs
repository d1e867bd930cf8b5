//! `policy lint`: the classic mistakes of MFA policies, each with what happens on AWS
//! because of it and the fix.
//!
//! Rules (ids are stable):
//! - `bool-false-deny` — a Deny on `"Bool": {"aws:MultiFactorAuthPresent": "false"}`:
//!   long-term keys carry no such key, so on AWS the Deny never applies to them. The fix
//!   names both forms that hold: `BoolIfExists` on AWS, and for S3-compatible providers
//!   (which may lack `…IfExists`) the Allow-only form of `policy s3-compatible`.
//! - `mfa-lockout` — a Deny for requests without MFA that also covers the MFA
//!   self-service actions: a user without MFA can never set it up.
//! - `get-session-token-denied` — the same Deny covers `sts:GetSessionToken`: no effect
//!   on AWS (policies do not govern it), but S3-compatible providers may apply it.
//! - `self-service-needs-mfa` — the only Allow for the MFA self-service actions requires
//!   MFA, which long-term keys cannot have.
//! - `age-without-presence` — a Deny on `aws:MultiFactorAuthAge` with no presence check:
//!   long-term keys carry no age, so it never applies to them.
//! - `condition-value-type` — a value of the wrong type for its operator or key.
//! - `notaction-allow` — `Allow` with `NotAction` allows everything else, now and later.
//! - `condition-key-spelling` — a misspelled MFA condition key (never matches) or one
//!   in other case (AWS ignores case; some S3-compatible providers do not).
//! - `wildcard-principal` — a trust policy that lets anyone assume the role.

use serde::Serialize;
use serde_json::Value;

use super::MFA_SELF_SERVICE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Where, as a JSON path: `Statement[2].Condition.Bool.aws:MultiFactorAuthPresent`.
    pub path: String,
    /// What happens on AWS because of it.
    pub what: String,
    pub fix: String,
}

const PRESENT: &str = "aws:MultiFactorAuthPresent";
/// One answer for AWS and for S3-compatible providers, the README's: `BoolIfExists` is
/// AWS's form, but providers may lack the `…IfExists` operators, so there the Deny goes
/// and an Allow that needs MFA takes its place (`policy s3-compatible`), which means the
/// same whether or not the provider takes a missing key as false.
pub const BOOL_FALSE_FIX: &str = "on AWS, \"BoolIfExists\" instead of \"Bool\" (as `awsmfa policy require-mfa`); \
     on S3-compatible clouds (Wasabi, MinIO, Ceph), which may lack …IfExists operators, drop \
     this Deny and allow the actions only with \"Bool\": {\"aws:MultiFactorAuthPresent\": \"true\"} \
     (`awsmfa policy s3-compatible --action …`)";
const AGE: &str = "aws:MultiFactorAuthAge";
/// The IAM actions without which nobody can enroll a device.
const ENROLL: [&str; 4] = [
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:ListMFADevices",
    "iam:ResyncMFADevice",
];

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM's action wildcards: `*` any run, `?` any one character, letters in any case.
/// Backtracks only to the last `*`, so it takes at most pattern × value steps (found by
/// fuzz/policy_lint: trying every split for every `*` took forever on `iam:Enable****…`).
fn glob(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.as_bytes(), value.as_bytes());
    let (mut pi, mut vi) = (0, 0);
    // The last `*` seen and where in the value its run now ends.
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, vi));
                pi += 1;
            }
            Some(c) if *c == b'?' || c.eq_ignore_ascii_case(&v[vi]) => {
                pi += 1;
                vi += 1;
            }
            _ => match star {
                Some((s, end)) => {
                    star = Some((s, end + 1));
                    pi = s + 1;
                    vi = end + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// Whether a statement's Action/NotAction covers `action`.
fn covers(stmt: &Value, action: &str) -> bool {
    if let Some(a) = stmt.get("Action") {
        return list(Some(a)).iter().any(|p| glob(p, action));
    }
    if let Some(n) = stmt.get("NotAction") {
        return !list(Some(n)).iter().any(|p| glob(p, action));
    }
    false
}

/// The condition entries of a statement: (operator, key, values, path).
fn conditions(stmt: &Value, base: &str) -> Vec<(String, String, Vec<Value>, String)> {
    let mut out = Vec::new();
    if let Some(Value::Object(ops)) = stmt.get("Condition") {
        for (op, block) in ops {
            if let Value::Object(keys) = block {
                for (key, val) in keys {
                    let values = match val {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    };
                    out.push((
                        op.clone(),
                        key.clone(),
                        values,
                        format!("{base}.Condition.{op}.{key}"),
                    ));
                }
            }
        }
    }
    out
}

fn is_key(key: &str, canonical: &str) -> bool {
    key.eq_ignore_ascii_case(canonical)
}

fn bool_value(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Whether the statement's conditions say "no MFA" (the deny-unless-MFA shape).
fn without_mfa(stmt: &Value) -> bool {
    conditions(stmt, "").iter().any(|(op, key, values, _)| {
        let op = op.to_ascii_lowercase();
        (is_key(key, PRESENT)
            && (op == "bool" || op == "boolifexists")
            && values.iter().any(|v| bool_value(v) == Some(false)))
            || (is_key(key, PRESENT)
                && op == "null"
                && values.iter().any(|v| bool_value(v) == Some(true)))
    })
}

/// Whether the statement's conditions demand MFA.
fn requires_mfa(stmt: &Value) -> bool {
    conditions(stmt, "").iter().any(|(op, key, values, _)| {
        let op = op.to_ascii_lowercase();
        is_key(key, PRESENT)
            && (op == "bool" || op == "boolifexists")
            && values.iter().any(|v| bool_value(v) == Some(true))
    })
}

fn effect(stmt: &Value) -> &str {
    stmt.get("Effect").and_then(Value::as_str).unwrap_or("")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_ascii_lowercase().chars().collect();
    let b: Vec<char> = b.to_ascii_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Lints a policy document. The statements may be one object or an array.
pub fn lint(policy: &Value) -> Vec<Finding> {
    let statements: Vec<(String, &Value)> = match policy.get("Statement") {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("Statement[{i}]"), s))
            .collect(),
        Some(s @ Value::Object(_)) => vec![("Statement".to_string(), s)],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (path, stmt) in &statements {
        for (op, key, values, cpath) in conditions(stmt, path) {
            let op_l = op.to_ascii_lowercase();
            let c = Cond {
                stmt,
                base_op: op_l.trim_end_matches("ifexists").to_string(),
                op_l,
                op,
                key,
                values,
                path: cpath,
            };
            key_spelling(&mut out, &c);
            value_types(&mut out, &c);
            deny_never_applies(&mut out, &c);
        }
        deny_findings(&mut out, path, stmt);
        allow_findings(&mut out, path, stmt, &statements);
    }
    out
}

/// One condition entry of a statement, as the rules read it.
struct Cond<'a> {
    stmt: &'a Value,
    op: String,
    /// The operator in lower case.
    op_l: String,
    /// The operator in lower case, without `IfExists`.
    base_op: String,
    key: String,
    values: Vec<Value>,
    /// Where, as a JSON path.
    path: String,
}

/// `condition-key-spelling`: the spelling and case of the MFA keys.
fn key_spelling(out: &mut Vec<Finding>, c: &Cond) {
    let Cond {
        key, path: cpath, ..
    } = c;
    for canonical in [PRESENT, AGE] {
        if key != canonical && key.eq_ignore_ascii_case(canonical) {
            out.push(Finding {
                rule: "condition-key-spelling",
                severity: Severity::Warning,
                path: cpath.clone(),
                what: format!("{key:?} works on AWS, which compares condition keys without case, but S3-compatible providers may not match it"),
                fix: format!("write it as {canonical:?}"),
            });
        } else if !key.eq_ignore_ascii_case(canonical)
            && key.to_ascii_lowercase().starts_with("aws:")
            && edit_distance(key, canonical) <= 3
        {
            out.push(Finding {
                rule: "condition-key-spelling",
                severity: Severity::Error,
                path: cpath.clone(),
                what: format!(
                    "{key:?} is not a condition key AWS sets, so this condition never matches"
                ),
                fix: format!("did you mean {canonical:?}?"),
            });
        }
    }
}

/// `condition-value-type`: a value of the wrong type for its operator or key.
fn value_types(out: &mut Vec<Finding>, c: &Cond) {
    let Cond {
        op,
        base_op,
        key,
        values,
        path: cpath,
        ..
    } = c;
    if is_key(key, PRESENT) || base_op == "bool" {
        if base_op.starts_with("numeric") || base_op.starts_with("string") && is_key(key, PRESENT) {
            out.push(Finding {
                rule: "condition-value-type",
                severity: Severity::Error,
                path: cpath.clone(),
                what: format!(
                    "{key} is a boolean key; the {op} operator never compares it as intended"
                ),
                fix: "use Bool (or BoolIfExists) with \"true\" or \"false\"".into(),
            });
        } else if values.iter().any(|v| bool_value(v).is_none()) && base_op == "bool" {
            out.push(Finding {
                rule: "condition-value-type",
                severity: Severity::Error,
                path: cpath.clone(),
                what: "a Bool condition value that is neither true nor false never matches".into(),
                fix: "use \"true\" or \"false\"".into(),
            });
        }
    }
    if is_key(key, AGE) {
        let numeric = values.iter().all(|v| match v {
            Value::Number(_) => true,
            Value::String(s) => s.parse::<f64>().is_ok(),
            _ => false,
        });
        if !base_op.starts_with("numeric") || !numeric {
            out.push(Finding {
                rule: "condition-value-type",
                severity: Severity::Error,
                path: cpath.clone(),
                what: format!("{AGE} is a number of seconds; {op} with these values never compares it as intended"),
                fix: "use a Numeric operator with a number of seconds, e.g. \"NumericLessThan\": {\"aws:MultiFactorAuthAge\": \"3600\"}".into(),
            });
        }
    }
}

/// `bool-false-deny` and `age-without-presence`: a Deny on a condition that long-term
/// keys do not carry, which so never applies to them.
fn deny_never_applies(out: &mut Vec<Finding>, c: &Cond) {
    let Cond {
        stmt,
        op_l,
        key,
        values,
        path: cpath,
        ..
    } = c;
    let eff = effect(stmt);
    if eff == "Deny"
        && op_l == "bool"
        && is_key(key, PRESENT)
        && values.iter().any(|v| bool_value(v) == Some(false))
    {
        out.push(Finding {
            rule: "bool-false-deny",
            severity: Severity::Error,
            path: cpath.clone(),
            what: "long-term access keys carry no aws:MultiFactorAuthPresent at all, so on AWS this Deny never applies to them: API calls with plain keys are not forced to use MFA; an S3-compatible provider (Wasabi documents this very form) enforces it only if it takes the missing key as false".into(),
            fix: BOOL_FALSE_FIX.into(),
        });
    }
    if eff == "Deny"
        && is_key(key, AGE)
        && !op_l.ends_with("ifexists")
        && !requires_mfa(stmt)
        && !without_mfa(stmt)
    {
        out.push(Finding {
            rule: "age-without-presence",
            severity: Severity::Warning,
            path: cpath.clone(),
            what: "long-term keys carry no aws:MultiFactorAuthAge, so this Deny never applies to them; without a separate Deny for requests without MFA, plain keys pass".into(),
            fix: "also deny when MFA is absent (\"BoolIfExists\": {\"aws:MultiFactorAuthPresent\": \"false\"}), or use NumericGreaterThanIfExists".into(),
        });
    }
}

/// `mfa-lockout` and `get-session-token-denied`: what a Deny for requests without MFA
/// also covers.
fn deny_findings(out: &mut Vec<Finding>, path: &str, stmt: &Value) {
    let eff = effect(stmt);
    if eff == "Deny" && without_mfa(stmt) {
        let blocked: Vec<&str> = ENROLL.iter().copied().filter(|a| covers(stmt, a)).collect();
        if !blocked.is_empty() {
            out.push(Finding {
                rule: "mfa-lockout",
                severity: Severity::Error,
                path: path.to_string(),
                what: format!(
                    "without MFA this denies {}: a user who has no MFA yet can never set it up",
                    blocked.join(", ")
                ),
                fix: format!("exempt them: add {} to NotAction", blocked.join(", ")),
            });
        }
        if covers(stmt, "sts:GetSessionToken") {
            out.push(Finding {
                rule: "get-session-token-denied",
                severity: Severity::Info,
                path: path.to_string(),
                what: "this Deny also covers sts:GetSessionToken; AWS ignores policies for it, but S3-compatible providers may apply them, locking users out of MFA sessions".into(),
                fix: "add sts:GetSessionToken to NotAction".into(),
            });
        }
    }
}

/// Whether any statement allows `action` without MFA.
fn allowed_without_mfa(statements: &[(String, &Value)], action: &str) -> bool {
    statements
        .iter()
        .any(|(_, s)| effect(s) == "Allow" && !requires_mfa(s) && covers(s, action))
}

/// `self-service-needs-mfa`, `notaction-allow`, `trust-without-mfa` and
/// `wildcard-principal`: what an Allow lets through, or keeps from those without MFA.
fn allow_findings(
    out: &mut Vec<Finding>,
    path: &str,
    stmt: &Value,
    statements: &[(String, &Value)],
) {
    let eff = effect(stmt);
    if eff == "Allow" && requires_mfa(stmt) {
        let needs: Vec<&str> = ENROLL
            .iter()
            .copied()
            .filter(|a| covers(stmt, a) && !allowed_without_mfa(statements, a))
            .collect();
        if needs.len() == ENROLL.len() {
            out.push(Finding {
                rule: "self-service-needs-mfa",
                severity: Severity::Warning,
                path: path.to_string(),
                what: "this Allow requires MFA, and nothing allows the MFA self-service actions without it: long-term keys cannot list, create or enable their MFA device".into(),
                fix: format!("add a statement allowing {} without the condition", MFA_SELF_SERVICE[..7].join(", ")),
            });
        }
    }
    if eff == "Allow" && stmt.get("NotAction").is_some() {
        out.push(Finding {
            rule: "notaction-allow",
            severity: Severity::Warning,
            path: format!("{path}.NotAction"),
            what: "Allow with NotAction allows every action not listed, including services and actions added later".into(),
            fix: "list the allowed actions in Action instead".into(),
        });
    }
    if eff == "Allow" && covers(stmt, "sts:AssumeRole") {
        let anyone = match stmt.get("Principal") {
            Some(Value::String(s)) => s == "*",
            Some(Value::Object(m)) => m.values().any(|v| list(Some(v)).iter().any(|p| p == "*")),
            _ => false,
        };
        if stmt.get("Principal").is_some() && !requires_mfa(stmt) {
            out.push(Finding {
                rule: "trust-without-mfa",
                severity: Severity::Warning,
                path: path.to_string(),
                what: "this trust policy lets the principal assume the role without MFA: long-term keys alone reach everything the role may do".into(),
                fix: "add \"Condition\": {\"Bool\": {\"aws:MultiFactorAuthPresent\": \"true\"}} (`awsmfa policy role-trust` prints one)".into(),
            });
        }
        if anyone {
            out.push(Finding {
                rule: "wildcard-principal",
                severity: Severity::Error,
                path: format!("{path}.Principal"),
                what: "any AWS account can assume this role (an MFA condition only asks that they used MFA in their own account)".into(),
                fix: "name the account or users: \"Principal\": {\"AWS\": \"arn:aws:iam::ACCOUNT:root\"}".into(),
            });
        }
    }
}

/// Findings as text, one block each, for a terminal: the names and values they quote
/// from the policy pass the terminal sanitizer (DESIGN §7).
pub fn to_text(findings: &[Finding]) -> String {
    use crate::term::clean;
    let mut out = String::new();
    for f in findings {
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        out.push_str(&format!(
            "{sev}[{}] {}\n  on AWS: {}\n  fix: {}\n",
            f.rule,
            clean(&f.path),
            clean(&f.what),
            clean(&f.fix)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(p: Value) -> Vec<&'static str> {
        lint(&p).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn action_wildcards_match_in_linear_time() {
        for (p, v, want) in [
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("iam:*MFA*", "iam:EnableMFADevice", true),
            ("IAM:enable?fadevice", "iam:EnableMFADevice", true),
            ("iam:*Device", "iam:EnableMFADevic", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*a", "aaab", false),
            ("?", "", false),
        ] {
            assert_eq!(glob(p, v), want, "{p} {v}");
        }
        // Found by fuzz/policy_lint: `policy lint` never finished on this action.
        let stars = format!("iam:Enable{},{}MFADevice", "*".repeat(88), "*".repeat(20));
        let start = std::time::Instant::now();
        let p = json!({"Statement": [{"Effect": "Allow", "Action": [stars], "Resource": "*"}]});
        lint(&p);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn text_report_shows_control_characters_of_the_policy_escaped() {
        // Found by fuzz/policy_lint: a condition key with an escape sequence reached the
        // terminal as it was, in the finding's path.
        let p = json!({"Statement": [{"Effect": "Deny", "Action": "*",
            "Condition": {"Bool": {"aws:x\u{1b}]0;pwned\u{7}\u{202e}": "maybe"}}}]});
        let findings = lint(&p);
        assert!(!findings.is_empty());
        let text = to_text(&findings);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'));
        assert!(text.contains(r"aws:x\x1b]0;pwned\x07\u{202e}"), "{text}");
    }

    #[test]
    fn each_rule_fires_on_its_mistake() {
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]})
            ),
            vec!["bool-false-deny"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]})
            ),
            vec!["mfa-lockout", "get-session-token-denied"]
        );
        assert_eq!(
            rules(
                json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}})
            ),
            vec!["self-service-needs-mfa"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}}]})
            ),
            vec!["age-without-presence"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "yes"}}}]})
            ),
            vec!["condition-value-type"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "an hour"}}}]})
            ),
            vec!["condition-value-type"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
            ),
            vec!["notaction-allow"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresnt": "true"}}}]})
            ),
            vec!["condition-key-spelling"]
        );
        assert_eq!(
            rules(
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:multifactorAuthPresent": true}}}]})
            ),
            vec!["condition-key-spelling", "wildcard-principal"]
        );
    }

    #[test]
    fn paths_point_at_the_statement() {
        let f = lint(
            &json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": false}}}]}),
        );
        assert_eq!(
            f[0].path,
            "Statement[1].Condition.Bool.aws:MultiFactorAuthPresent"
        );
        assert!(to_text(&f).starts_with("error[bool-false-deny] Statement[1]"));
    }

    #[test]
    fn globs() {
        assert!(glob("iam:List*", "iam:ListMFADevices"));
        assert!(glob("*", "sts:GetSessionToken"));
        assert!(glob("IAM:listmfadevices", "iam:ListMFADevices"));
        assert!(!glob("iam:Get*", "iam:ListMFADevices"));
    }
}
