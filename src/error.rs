//! The one error type the commands return, and the exit statuses it maps to.
//!
//! Module errors keep their own types; at the edge each becomes an [`Error`] with a
//! one-line message, an optional one-line hint and the documented exit status. `main`
//! prints it once, as `awsmfa: message` and `hint: …`.

use crate::config::ConfigError;
use crate::config::profile::ResolveError;
use crate::lifetime::DurationError;
use crate::mfa::MfaError;
use crate::output::WriteError;
use crate::output::formats::Unquotable;
use crate::sts::StsError;
use crate::vault::VaultError;

/// Exit statuses (DESIGN §2). The one place they are defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Rejected = 3,
    NoPrompt = 4,
    Config = 5,
}

/// A failed command: what went wrong, what to do, how to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl Error {
    pub fn new(exit: Exit, message: impl Into<String>) -> Error {
        Error {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Puts what was being done in front of the message.
    pub fn with_message_prefix(mut self, prefix: &str) -> Error {
        self.message = format!("{prefix}{}", self.message);
        self
    }

    fn maybe_hint(mut self, hint: Option<String>) -> Error {
        self.hint = hint;
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::new(Exit::Config, e.to_string())
    }
}

impl From<ResolveError> for Error {
    fn from(e: ResolveError) -> Error {
        let hint = e.hint();
        Error::new(Exit::Config, e.to_string()).maybe_hint(hint)
    }
}

impl From<DurationError> for Error {
    fn from(e: DurationError) -> Error {
        Error::new(Exit::Usage, e.to_string())
    }
}

impl From<MfaError> for Error {
    fn from(e: MfaError) -> Error {
        let exit = match e {
            MfaError::Malformed(_) => Exit::Usage,
            MfaError::NoPrompt { .. } => Exit::NoPrompt,
            _ => Exit::Failure,
        };
        let hint = e.hint().map(String::from);
        Error::new(exit, e.to_string()).maybe_hint(hint)
    }
}

impl From<StsError> for Error {
    fn from(e: StsError) -> Error {
        let exit = if e.is_auth_rejection() {
            Exit::Rejected
        } else if matches!(e, StsError::Proxy(_)) {
            Exit::Config
        } else {
            Exit::Failure
        };
        let hint = e.hint();
        Error::new(exit, e.to_string()).maybe_hint(hint)
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Error {
        match e {
            WriteError::Unsafe(r) => r.into(),
            WriteError::Read(c) => c.into(),
            WriteError::Fs(f) => Error::new(Exit::Config, f.to_string()),
            refused @ WriteError::Refused { .. } => Error::new(Exit::Config, refused.to_string()),
        }
    }
}

impl From<VaultError> for Error {
    /// 3 for a passphrase that was refused (like a refused code), 4 when one was needed
    /// and could not be asked for, 2 for a bad choice, 5 for the vault's files and stores.
    fn from(e: VaultError) -> Error {
        let exit = match e {
            VaultError::WrongPassphrase { .. } => Exit::Rejected,
            VaultError::NoPassphrase => Exit::NoPrompt,
            VaultError::UnknownBackend(_) | VaultError::Mismatch | VaultError::EmptyPassphrase => {
                Exit::Usage
            }
            _ => Exit::Config,
        };
        Error::new(exit, e.to_string()).maybe_hint(e.hint())
    }
}

impl From<Unquotable> for Error {
    fn from(e: Unquotable) -> Error {
        let hint = match e.format {
            "cmd" => "`awsmfa env --format powershell` (or json) carries it",
            _ => "`awsmfa env --format json` carries any value",
        };
        Error::new(Exit::Usage, e.to_string()).with_hint(hint)
    }
}
