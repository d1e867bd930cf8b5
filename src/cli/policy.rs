//! `awsmfa policy …`: print the policies that force MFA; lint a policy for the classic
//! mistakes. Lint exits 0 when clean or with information only, 1 with warnings or errors,
//! 5 when the file cannot be read or
//! is not JSON.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::Context;
use crate::error::{Error, Exit};
use crate::output;
use crate::policy::{self, RequireMfa, lint};

#[derive(Debug, Args)]
pub struct PolicyOpts {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The user policy that denies everything but MFA self-service unless MFA is present
    RequireMfa {
        /// Account id for the ARNs [default: any]
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Also allow these actions without MFA (repeatable)
        #[arg(long = "allow-without-mfa", value_name = "ACTION")]
        allow_without_mfa: Vec<String>,
        /// Also deny when the MFA is older than this (aws:MultiFactorAuthAge), e.g. 12h
        #[arg(long, value_name = "DURATION")]
        max_age: Option<String>,
    },
    /// A role trust policy that allows sts:AssumeRole only with MFA
    RoleTrust {
        /// Who may assume the role, e.g. arn:aws:iam::123456789012:root
        #[arg(long, value_name = "ARN")]
        principal: String,
        /// Only with MFA younger than this, e.g. 1h
        #[arg(long, value_name = "DURATION")]
        max_age: Option<String>,
    },
    /// For S3-compatible providers (Wasabi, MinIO, Ceph): Allow + Bool only
    S3Compatible {
        /// Actions allowed with MFA (repeatable) [default: s3:*]
        #[arg(long = "action", value_name = "ACTION")]
        actions: Vec<String>,
    },
    /// Check a policy (a file, or - for stdin) for the classic MFA mistakes
    Lint {
        /// The policy JSON file, or - for standard input
        file: PathBuf,
        /// Output format: findings as text, or JSON
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
        /// The same as --format json
        #[arg(long, hide = true)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

fn seconds(text: &Option<String>) -> Result<Option<u64>, Error> {
    text.as_deref()
        .map(|t| crate::lifetime::parse_duration(t).map_err(Error::from))
        .transpose()
}

fn print(text: &str) -> Result<(), Error> {
    output::print_stdout(text).map_err(|e| Error::new(Exit::Failure, format!("stdout: {e}")))
}

/// Returns the exit status (lint: 1 when there are findings).
pub fn run(_ctx: &Context, opts: &PolicyOpts) -> Result<u8, Error> {
    let doc = match &opts.command {
        PolicyCommand::RequireMfa {
            account,
            allow_without_mfa,
            max_age,
        } => {
            if let Some(a) = account
                && (a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(Error::new(
                    Exit::Usage,
                    "--account takes a 12-digit account id",
                ));
            }
            policy::require_mfa(&RequireMfa {
                account: account.clone(),
                allow_without_mfa: allow_without_mfa.clone(),
                max_age: seconds(max_age)?,
            })
        }
        PolicyCommand::RoleTrust { principal, max_age } => {
            policy::role_trust(principal, seconds(max_age)?)
        }
        PolicyCommand::S3Compatible { actions } => policy::s3_compatible(actions),
        PolicyCommand::Lint { file, format, json } => {
            return run_lint(file, if *json { LintFormat::Json } else { *format });
        }
    };
    print(&policy::to_text(&doc))?;
    Ok(0)
}

fn run_lint(file: &std::path::Path, format: LintFormat) -> Result<u8, Error> {
    let name = file.display().to_string();
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(crate::fsx::MAX_FILE_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| Error::new(Exit::Config, format!("stdin: {e}")))?;
        buf
    } else {
        match crate::fsx::read_optional(file) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(Error::new(Exit::Config, format!("{name}: no such file"))),
            Err(e) => return Err(Error::new(Exit::Config, e.to_string())),
        }
    };
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            Exit::Config,
            format!(
                "{name}: not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if !doc.is_object() || doc.get("Statement").is_none() {
        return Err(Error::new(
            Exit::Config,
            format!("{name}: not an IAM policy (no Statement)"),
        ));
    }
    let findings = lint::lint(&doc);
    let text = match format {
        LintFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "findings": findings }))
                .expect("serializable")
        ),
        LintFormat::Text if findings.is_empty() => format!("{name}: no findings\n"),
        LintFormat::Text => lint::to_text(&findings),
    };
    print(&text)?;
    // Information alone is no failure: 1 only for warnings and errors.
    Ok(u8::from(
        findings
            .iter()
            .any(|f| !matches!(f.severity, lint::Severity::Info)),
    ))
}
