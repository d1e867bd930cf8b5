//! Where the file vault's passphrase comes from, first that applies:
//! `AWSMFA_VAULT_PASSPHRASE`, the output of `AWSMFA_VAULT_PASSPHRASE_COMMAND` (run
//! through `sh -c`, its last newline dropped), the terminal (unechoed; twice when a
//! vault is being created), a desktop password dialog. It is asked for at most once per
//! process and kept in a `SecretString`.

use std::sync::Mutex;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::VaultError;
use crate::mfa::Prompt;
use crate::sys::Env;

/// How long a passphrase command may take (a password manager may ask to unlock).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Where it came from, which decides whether asking again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Variable,
    Command,
    Person,
}

/// The passphrase once known, shared by everything in one process that opens the vault,
/// so a person types it once.
pub type Memo = Mutex<Option<(SecretString, Origin)>>;

pub struct Passphrase<'a> {
    variable: Option<SecretString>,
    command: Option<String>,
    prompt: &'a dyn Prompt,
    known: &'a Memo,
}

impl<'a> Passphrase<'a> {
    pub fn new(env: &Env, prompt: &'a dyn Prompt, known: &'a Memo) -> Passphrase<'a> {
        Passphrase {
            variable: env
                .get("AWSMFA_VAULT_PASSPHRASE")
                .map(|v| SecretString::from(v.to_string())),
            command: env.get("AWSMFA_VAULT_PASSPHRASE_COMMAND").map(String::from),
            prompt,
            known,
        }
    }

    /// The passphrase. `creating`: no vault entry exists yet, so a typed passphrase is
    /// asked twice and must match.
    pub fn get(&self, creating: bool) -> Result<(SecretString, Origin), VaultError> {
        if let Some(known) = self.memo().as_ref() {
            return Ok(known.clone());
        }
        let got = self.obtain(creating)?;
        if got.0.expose_secret().is_empty() {
            return Err(VaultError::EmptyPassphrase);
        }
        *self.memo() = Some(got.clone());
        Ok(got)
    }

    /// Forgets a passphrase that turned out wrong, so a person can type it again.
    pub fn forget(&self) {
        *self.memo() = None;
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Option<(SecretString, Origin)>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn obtain(&self, creating: bool) -> Result<(SecretString, Origin), VaultError> {
        if let Some(v) = &self.variable {
            return Ok((v.clone(), Origin::Variable));
        }
        if let Some(command) = &self.command {
            let out = crate::proc::run_capture(command, COMMAND_TIMEOUT)
                .map_err(|e| VaultError::PassphraseCommand(e.to_string()))?;
            let text = std::str::from_utf8(&out)
                .map_err(|_| VaultError::PassphraseCommand("its output is not UTF-8".into()))?;
            let text = text
                .strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                .unwrap_or(text);
            if text.is_empty() {
                return Err(VaultError::PassphraseCommand("it printed nothing".into()));
            }
            return Ok((SecretString::from(text.to_string()), Origin::Command));
        }
        let question = if creating {
            "New vault passphrase: "
        } else {
            "Vault passphrase: "
        };
        let first = self
            .prompt
            .ask_secret(question)
            .map_err(|e| VaultError::Terminal(e.to_string()))?
            .ok_or(VaultError::NoPassphrase)?;
        if creating {
            if first.expose_secret().is_empty() {
                return Err(VaultError::EmptyPassphrase);
            }
            let again = self
                .prompt
                .ask_secret("The same passphrase again: ")
                .map_err(|e| VaultError::Terminal(e.to_string()))?
                .ok_or(VaultError::NoPassphrase)?;
            if again.expose_secret() != first.expose_secret() {
                return Err(VaultError::Mismatch);
            }
        }
        Ok((first, Origin::Person))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct Answers(Vec<&'static str>, Cell<usize>);

    impl Prompt for Answers {
        fn ask(&self, _q: &str) -> std::io::Result<Option<String>> {
            Ok(None)
        }
        fn ask_secret(&self, _q: &str) -> std::io::Result<Option<SecretString>> {
            let i = self.1.get();
            self.1.set(i + 1);
            Ok(self.0.get(i).map(|s| SecretString::from(s.to_string())))
        }
    }

    #[test]
    fn variable_then_command_then_person() {
        let person = Answers(vec!["typed"], Cell::new(0));
        let env = Env::from_pairs([
            ("AWSMFA_VAULT_PASSPHRASE", "from-var"),
            ("AWSMFA_VAULT_PASSPHRASE_COMMAND", "echo from-cmd"),
        ]);
        let (p, o) = Passphrase::new(&env, &person, &Memo::default())
            .get(false)
            .unwrap();
        assert_eq!((p.expose_secret(), o), ("from-var", Origin::Variable));
        // A line as the system's shell prints it (`\r\n` from cmd), the line end dropped.
        let env = Env::from_pairs([("AWSMFA_VAULT_PASSPHRASE_COMMAND", "echo a b")]);
        let (p, o) = Passphrase::new(&env, &person, &Memo::default())
            .get(false)
            .unwrap();
        assert_eq!((p.expose_secret(), o), ("a b", Origin::Command));
        let (p, o) = Passphrase::new(&Env::default(), &person, &Memo::default())
            .get(false)
            .unwrap();
        assert_eq!((p.expose_secret(), o), ("typed", Origin::Person));
    }

    #[test]
    fn creating_asks_twice() {
        let same = Answers(vec!["pw", "pw"], Cell::new(0));
        let memo = Memo::default();
        let pass = Passphrase::new(&Env::default(), &same, &memo);
        assert_eq!(pass.get(true).unwrap().0.expose_secret(), "pw");
        // Asked once per process.
        assert_eq!(pass.get(true).unwrap().0.expose_secret(), "pw");
        assert_eq!(same.1.get(), 2);
        let differ = Answers(vec!["pw", "px"], Cell::new(0));
        assert!(matches!(
            Passphrase::new(&Env::default(), &differ, &Memo::default()).get(true),
            Err(VaultError::Mismatch)
        ));
        let none = Answers(vec![], Cell::new(0));
        assert!(matches!(
            Passphrase::new(&Env::default(), &none, &Memo::default()).get(false),
            Err(VaultError::NoPassphrase)
        ));
        let failing = Env::from_pairs([("AWSMFA_VAULT_PASSPHRASE_COMMAND", "exit 3")]);
        assert!(matches!(
            Passphrase::new(&failing, &none, &Memo::default()).get(false),
            Err(VaultError::PassphraseCommand(_))
        ));
    }
}
