//! The long-term keys themselves: `add`, `remove`, `import`, `rotate`.
//!
//! Keys go into the vault (DESIGN §5) or, with `--backend plaintext`, into
//! `[NAME-long-term]` of the credentials file (aws-mfa's layout). Whatever the command,
//! nothing is deleted before its replacement was written and read back, and every message
//! says what state the keys (and, for `rotate`, the AWS account) are left in.
//!
//! One file per command; what several share is in `shared`, which imports none of them.

mod add;
mod import;
pub mod import_aws_vault;
mod remove;
mod rotate;
pub(crate) mod shared;

pub use add::{AddOpts, add};
pub use import::{ImportFrom, ImportOpts, import};
pub use remove::{RemoveOpts, remove};
pub use rotate::{RotateOpts, rotate};
