//! awsmfa: multi-factor authentication in front of every programmatic use of AWS and of
//! S3-compatible clouds that speak STS.
//!
//! The binary (`src/main.rs`) is glue; this library holds the pieces, each behind a
//! small interface so the decisions can be tested without network, terminal or disk:
//! [`config`] reads the environment and the AWS files, [`sts`] talks to STS and IAM,
//! [`mfa`] obtains codes, [`session`] holds the session rules, [`output`] writes files,
//! [`fsx`] makes writes atomic and private, [`vault`] keeps long-term secrets, [`cli`] turns flags into requests,
//! [`term`] makes outside text safe for a terminal.

pub mod cli;
pub mod config;
pub mod creds;
pub mod error;
pub mod fsx;
#[doc(hidden)]
pub mod fuzzing;
pub mod hex;
pub mod lifetime;
pub mod mfa;
pub mod output;
pub mod policy;
pub mod proc;
pub mod server;
pub mod session;
pub mod sha256;
pub mod shlex;
pub mod slow;
pub mod sts;
pub mod sys;
pub mod term;
pub mod vault;
