//! IAM policies that force MFA, and a linter for the mistakes people make in them.
//!
//! The printed policies follow AWS's documented "self-managed MFA" pattern: users may
//! manage their own virtual MFA device, and everything else is denied unless the request
//! carries MFA (`BoolIfExists` on `aws:MultiFactorAuthPresent`, which long-term keys do
//! not carry at all). They are valid JSON, stable, pretty-printed, and lint clean.

pub mod lint;

use serde_json::{Value, json};

/// The actions a user needs before having MFA: to see, create, enable and resync their
/// own device, and to trade the code for a session.
pub const MFA_SELF_SERVICE: [&str; 8] = [
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetMFADevice",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "sts:GetSessionToken",
];

/// Options of `policy require-mfa`.
#[derive(Debug, Clone, Default)]
pub struct RequireMfa {
    /// Account id for the ARNs (else `*`).
    pub account: Option<String>,
    /// Extra actions allowed without MFA.
    pub allow_without_mfa: Vec<String>,
    /// Deny requests whose MFA is older than this many seconds.
    pub max_age: Option<u64>,
}

/// The user policy that forces MFA (attach it beside the user's other policies).
pub fn require_mfa(opts: &RequireMfa) -> Value {
    let account = opts.account.as_deref().unwrap_or("*");
    let mut not_action: Vec<String> = MFA_SELF_SERVICE.iter().map(|s| s.to_string()).collect();
    for a in &opts.allow_without_mfa {
        if !not_action.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            not_action.push(a.clone());
        }
    }
    let mut statements = vec![
        json!({
            "Sid": "AllowListVirtualMFADevices",
            "Effect": "Allow",
            "Action": ["iam:ListVirtualMFADevices"],
            "Resource": "*"
        }),
        json!({
            "Sid": "AllowManageOwnVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice"],
            "Resource": format!("arn:aws:iam::{account}:mfa/*")
        }),
        json!({
            "Sid": "AllowManageOwnUserMFA",
            "Effect": "Allow",
            "Action": [
                "iam:EnableMFADevice",
                "iam:GetMFADevice",
                "iam:GetUser",
                "iam:ListMFADevices",
                "iam:ResyncMFADevice"
            ],
            "Resource": format!("arn:aws:iam::{account}:user/${{aws:username}}")
        }),
        json!({
            "Sid": "AllowDeactivateOwnMFAOnlyWithMFA",
            "Effect": "Allow",
            "Action": ["iam:DeactivateMFADevice"],
            "Resource": format!("arn:aws:iam::{account}:user/${{aws:username}}"),
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        }),
        json!({
            "Sid": "DenyAllExceptListedIfNoMFA",
            "Effect": "Deny",
            "NotAction": not_action,
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
        }),
    ];
    if let Some(age) = opts.max_age {
        statements.push(json!({
            "Sid": "DenyAllExceptListedIfMFAIsOld",
            "Effect": "Deny",
            "NotAction": MFA_SELF_SERVICE,
            "Resource": "*",
            "Condition": {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "NumericGreaterThan": {"aws:MultiFactorAuthAge": age.to_string()}
            }
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A role trust policy that lets `principal` assume the role only with MFA.
pub fn role_trust(principal: &str, max_age: Option<u64>) -> Value {
    let mut condition = json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}});
    if let Some(age) = max_age {
        condition["NumericLessThan"] = json!({"aws:MultiFactorAuthAge": age.to_string()});
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowAssumeRoleOnlyWithMFA",
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole",
            "Condition": condition
        }]
    })
}

/// For S3-compatible providers (Wasabi, MinIO, Ceph…) whose IAM supports fewer policy
/// features: only `Allow` statements and the `Bool` operator, no `Deny`, no `NotAction`,
/// no `…IfExists` operators and no policy variables. Without MFA nothing is allowed
/// (an absent `aws:MultiFactorAuthPresent` makes `Bool … "true"` false), so the policy
/// works whether or not the provider treats the missing key as "false".
pub fn s3_compatible(actions: &[String]) -> Value {
    let actions: Vec<String> = if actions.is_empty() {
        vec!["s3:*".to_string()]
    } else {
        actions.to_vec()
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowMFASelfServiceWithoutMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateVirtualMFADevice",
                    "iam:EnableMFADevice",
                    "iam:ListMFADevices",
                    "iam:ListVirtualMFADevices",
                    "iam:ResyncMFADevice",
                    "sts:GetSessionToken"
                ],
                "Resource": "*"
            },
            {
                "Sid": "AllowEverythingElseOnlyWithMFA",
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            }
        ]
    })
}

/// Pretty-printed, with a final newline.
pub fn to_text(policy: &Value) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(policy).expect("serializable")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_policies_lint_clean() {
        let all = [
            require_mfa(&RequireMfa::default()),
            require_mfa(&RequireMfa {
                account: Some("123456789012".into()),
                allow_without_mfa: vec!["iam:ChangePassword".into()],
                max_age: Some(3600),
            }),
            role_trust("arn:aws:iam::123456789012:root", Some(3600)),
            s3_compatible(&[]),
        ];
        for p in all {
            let findings = lint::lint(&p);
            assert!(findings.is_empty(), "{}\n{findings:?}", to_text(&p));
        }
    }

    #[test]
    fn options_shape_the_policy() {
        let p = require_mfa(&RequireMfa {
            account: Some("123456789012".into()),
            allow_without_mfa: vec!["iam:ChangePassword".into()],
            max_age: Some(1800),
        });
        let text = to_text(&p);
        assert!(text.contains("arn:aws:iam::123456789012:user/${aws:username}"));
        assert!(text.contains("\"iam:ChangePassword\""));
        assert!(text.contains("\"aws:MultiFactorAuthAge\": \"1800\""));
        assert_eq!(to_text(&p), text, "stable");
    }
}
