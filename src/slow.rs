//! "Still working" for steps that may take a while with nothing on screen: a silent STS
//! endpoint, the vault's scrypt. [`Slow::after`] says what is being waited for once the
//! step has taken longer than a short delay, and says nothing if it ends sooner. The
//! line goes to the terminal when standard error is not one (the AWS CLI captures it under
//! `credential_process`), never to standard output.

use std::io::{IsTerminal, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Says `message` if dropped only after `delay`.
pub struct Slow {
    done: Option<mpsc::Sender<()>>,
    waiter: Option<JoinHandle<()>>,
}

impl Slow {
    pub fn after(delay: Duration, message: String) -> Slow {
        let (done, wait) = mpsc::channel::<()>();
        let waiter = std::thread::Builder::new()
            .name("awsmfa-slow".into())
            .spawn(move || {
                if wait.recv_timeout(delay) == Err(mpsc::RecvTimeoutError::Timeout) {
                    tell(&message);
                }
            })
            .ok();
        Slow {
            done: Some(done),
            waiter,
        }
    }
}

impl Drop for Slow {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        if let Some(w) = self.waiter.take() {
            let _ = w.join();
        }
    }
}

/// One line for the person: on the terminal when stderr goes elsewhere.
fn tell(message: &str) {
    let line = format!("awsmfa: {}\n", crate::term::clean(message));
    if !std::io::stderr().is_terminal()
        && let Some(mut console) = crate::sys::console_output()
        && console.write_all(line.as_bytes()).is_ok()
    {
        return;
    }
    let _ = std::io::stderr().write_all(line.as_bytes());
}
