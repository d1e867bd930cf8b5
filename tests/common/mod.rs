//! Shared pieces of the integration tests: the STS test bed (one per test binary) and a
//! fresh temporary HOME per test with no inherited `AWS_*` variables.
//!
//! The differences between the operating systems live here, not in the tests: where the
//! bed's virtual environment keeps its programs (`.venv/bin/python` or
//! `.venv\Scripts\python.exe`), how the AWS CLI is started, which variable names the home
//! directory (`HOME` or `USERPROFILE`), what a process without a terminal is, how `PATH`
//! is joined, and which scripts a helper command can be. `AWSMFA_TEST_BED_URL` points the
//! tests at a bed that runs elsewhere (the Windows tests under Wine drive a bed on Linux).
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program of the bed's virtual environment: `.venv/bin/NAME` on Unix,
/// `.venv\Scripts\NAME.exe` on Windows.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = if cfg!(windows) {
        root()
            .join(".venv")
            .join("Scripts")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    } else {
        root().join(".venv/bin").join(name)
    };
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs the test bed's Python peers)",
        path.display()
    );
    path
}

pub fn awsmfa_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_awsmfa"))
}

/// The directory of the bed's virtual environment's programs.
pub fn venv_scripts() -> PathBuf {
    venv_bin("python").parent().unwrap().to_path_buf()
}

/// `PATH` with `dirs` in front of the one the tests run with.
pub fn path_with(dirs: &[&Path]) -> std::ffi::OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let all = dirs
        .iter()
        .map(|d| d.to_path_buf())
        .chain(std::env::split_paths(&inherited));
    std::env::join_paths(all).unwrap()
}

/// The moto server behind the fidelity layer (tests/bed/bed.py), started once, or the one
/// `AWSMFA_TEST_BED_URL` names.
pub struct Bed {
    pub port: u16,
    pub url: String,
    /// Who runs it: this process (it stops when the pipe to its standard input closes),
    /// or the external bed that spawned it for us (told to stop it on drop), or neither.
    owner: Owner,
}

enum Owner {
    Child(Child),
    SpawnedBy(String),
    External,
}

/// A user the bed created: long-term keys, its virtual MFA device and the device's seed.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub arn: String,
    pub mfa_serial: String,
    pub mfa_seed: String,
}

static BED: OnceLock<Bed> = OnceLock::new();
static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Bed {
    /// The bed the test binary shares: the one at `AWSMFA_TEST_BED_URL` when that is set
    /// (started by whoever set it, e.g. `scripts/cross wine-tests`), else one of its own.
    pub fn shared() -> &'static Bed {
        BED.get_or_init(|| match std::env::var("AWSMFA_TEST_BED_URL") {
            Ok(url) if !url.is_empty() => Bed::external(url.trim_end_matches('/')),
            _ => Bed::start(),
        })
    }

    fn external(url: &str) -> Bed {
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("AWSMFA_TEST_BED_URL={url}: want http://HOST:PORT"));
        let bed = Bed {
            port,
            url: url.to_string(),
            owner: Owner::External,
        };
        bed.control("GET", "/_bed/calls", None);
        bed
    }

    /// A bed of the test's own, for tests that change the bed's behaviour (faults,
    /// clock skew, short sessions) and must not disturb tests sharing the other one.
    /// With `AWSMFA_TEST_BED_URL` set, the external bed starts it (`/_bed/spawn`), as
    /// this side may be unable to (a Windows test binary under Wine). It stops when
    /// dropped.
    pub fn private() -> Bed {
        match std::env::var("AWSMFA_TEST_BED_URL") {
            Ok(url) if !url.is_empty() => {
                let parent = Bed::shared();
                let spawned = parent.control("POST", "/_bed/spawn", Some(json!({})));
                Bed {
                    port: spawned["port"].as_u64().unwrap() as u16,
                    url: spawned["url"].as_str().unwrap().to_string(),
                    owner: Owner::SpawnedBy(parent.url.clone()),
                }
            }
            _ => Bed::start(),
        }
    }

    /// Changes the bed's behaviour: `{"faults": [...]}`, `{"clock_skew": secs}`,
    /// `{"session_seconds": secs}`.
    pub fn configure(&self, settings: Value) {
        self.control("POST", "/_bed/config", Some(settings));
    }

    fn start() -> Bed {
        let dir = tempfile::tempdir().unwrap().keep();
        let ready = dir.join("ready.json");
        let child = Command::new(venv_bin("python"))
            .arg(root().join("tests/bed/bed.py"))
            .args(["serve", "--exit-on-stdin-eof", "--ready-file"])
            .arg(&ready)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the test bed");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let v: Value = serde_json::from_str(&text).unwrap();
                break v["port"].as_u64().unwrap() as u16;
            }
            assert!(Instant::now() < deadline, "the test bed did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        // The bed wrote its port and needs the place no more: leave nothing in /tmp.
        let _ = std::fs::remove_dir_all(&dir);
        Bed {
            port,
            url: format!("http://127.0.0.1:{port}"),
            owner: Owner::Child(child),
        }
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let url = format!("{}{}", self.url, path);
        let mut resp = match (method, body) {
            ("POST", Some(b)) => agent
                .post(&url)
                .header("content-type", "application/json")
                .send(b.to_string().as_bytes())
                .unwrap(),
            ("DELETE", _) => agent.delete(&url).call().unwrap(),
            _ => agent.get(&url).call().unwrap(),
        };
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .read_to_string(&mut text)
            .unwrap();
        assert!(
            resp.status().is_success(),
            "bed control {path}: {} {text}",
            resp.status()
        );
        serde_json::from_str(&text).unwrap()
    }

    /// A unique name for this test run, so tests sharing the bed never collide.
    pub fn unique(prefix: &str) -> String {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("{prefix}-{}-{n}", std::process::id())
    }

    /// Creates a user under the "force MFA" policy with a virtual MFA device.
    pub fn user(&self, prefix: &str) -> User {
        self.user_with(prefix, json!("force-mfa"), true)
    }

    pub fn user_with(&self, prefix: &str, policy: Value, mfa: bool) -> User {
        self.users_with(prefix, 1, policy, mfa).remove(0)
    }

    pub fn users(&self, prefix: &str, n: usize) -> Vec<User> {
        self.users_with(prefix, n, json!("force-mfa"), true)
    }

    pub fn users_with(&self, prefix: &str, n: usize, policy: Value, mfa: bool) -> Vec<User> {
        let names: Vec<String> = (0..n).map(|_| Self::unique(prefix)).collect();
        let spec: Vec<Value> = names
            .iter()
            .map(|name| json!({"name": name, "policy": policy, "mfa": mfa}))
            .collect();
        let out = self.control("POST", "/_bed/seed", Some(json!({ "users": spec })));
        names
            .iter()
            .map(|name| {
                let u = &out["users"][name];
                User {
                    name: name.clone(),
                    access_key_id: u["access_key_id"].as_str().unwrap().into(),
                    secret_access_key: u["secret_access_key"].as_str().unwrap().into(),
                    arn: u["arn"].as_str().unwrap().into(),
                    mfa_serial: u["mfa_serial"].as_str().unwrap_or_default().into(),
                    mfa_seed: u["mfa_seed"].as_str().unwrap_or_default().into(),
                }
            })
            .collect()
    }

    /// Creates a role trusting the account with MFA (or `trust`), allowing everything.
    pub fn role(&self, prefix: &str, trust: Option<Value>, max_session_seconds: u32) -> String {
        let name = Self::unique(prefix);
        let mut spec = json!({"name": name, "max_session_seconds": max_session_seconds});
        if let Some(t) = trust {
            spec["trust"] = t;
        }
        let out = self.control("POST", "/_bed/seed", Some(json!({ "roles": [spec] })));
        out["roles"][&name]["arn"].as_str().unwrap().to_string()
    }

    pub fn bucket(&self, prefix: &str) -> String {
        let name = Self::unique(prefix).to_lowercase();
        self.control("POST", "/_bed/seed", Some(json!({ "buckets": [name] })));
        name
    }

    /// The device's code `offset` time steps from now, computed by the bed from its seed.
    pub fn code(&self, serial: &str, offset: i64) -> String {
        let path = format!("/_bed/totp?serial={}&offset={offset}", urlencode(serial));
        self.control("GET", &path, None)["code"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A code STS accepts now (this step, the one before or the one after) that is none
    /// of `used`: a test that needs one more code picks it so, whether or not a 30 s step
    /// boundary has passed since it took the others.
    pub fn code_other_than(&self, serial: &str, used: &[&str]) -> String {
        [-1, 0, 1]
            .into_iter()
            .map(|offset| self.code(serial, offset))
            .find(|c| !used.contains(&c.as_str()))
            .unwrap()
    }

    /// How many calls of each action the bed has seen (e.g. "sts:GetSessionToken").
    pub fn calls(&self, action: &str) -> u64 {
        self.control("GET", "/_bed/calls", None)[action]
            .as_u64()
            .unwrap_or(0)
    }

    /// Authenticated calls of `action` made by `user` (safe to compare while other
    /// tests share the bed).
    pub fn user_calls(&self, user: &User, action: &str) -> u64 {
        self.calls(&format!("{}/{action}", user.name))
    }

    /// The user a session access key was issued to.
    /// The ARN a console sign-in token of the bed's federation endpoint stands for.
    pub fn signin_arn(&self, token: &str) -> String {
        self.control(
            "GET",
            &format!("/_bed/signin?token={}", urlencode(token)),
            None,
        )["arn"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn whois(&self, session_key_id: &str) -> Value {
        self.control(
            "GET",
            &format!("/_bed/whois?access_key_id={session_key_id}"),
            None,
        )
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Owner::SpawnedBy(parent) = &self.owner {
            let _ = ureq::post(format!("{parent}/_bed/stop"))
                .header("content-type", "application/json")
                .send(json!({ "port": self.port }).to_string().as_bytes());
        }
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A fresh HOME with `.aws/`, and commands that see only what the test gives them.
pub struct TestEnv {
    pub home: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        TestEnv {
            home,
            vars: Vec::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }

    pub fn config(&self) -> PathBuf {
        self.path(".aws/config")
    }

    pub fn credentials(&self) -> PathBuf {
        self.path(".aws/credentials")
    }

    /// Where awsmfa keeps its file vault in this HOME by default:
    /// `~/.local/share/awsmfa/vault`; `%APPDATA%\awsmfa\vault` on Windows.
    pub fn vault_dir(&self) -> PathBuf {
        if cfg!(windows) {
            self.home
                .path()
                .join("AppData")
                .join("Roaming")
                .join("awsmfa")
                .join("vault")
        } else {
            self.path(".local/share/awsmfa/vault")
        }
    }

    /// Where awsmfa keeps its session cache in this HOME by default: `~/.cache/awsmfa`;
    /// `%LOCALAPPDATA%\awsmfa\cache` on Windows.
    pub fn cache_dir(&self) -> PathBuf {
        if cfg!(windows) {
            self.home
                .path()
                .join("AppData")
                .join("Local")
                .join("awsmfa")
                .join("cache")
        } else {
            self.path(".cache/awsmfa")
        }
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.vars.push((k.into(), v.into()));
    }

    fn base(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(home_vars(self.home.path()))
            .env("LANG", "C.UTF-8")
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `awsmfa ARGS…` with no terminal (see [`no_tty`]), so a prompt is impossible and
    /// must fail fast.
    pub fn awsmfa(&self, args: &[&str]) -> Command {
        let mut cmd = self.base(&awsmfa_bin());
        cmd.args(args);
        no_tty(&mut cmd);
        cmd
    }

    /// The real AWS CLI from the bed's virtual environment. On Windows pip installs it as
    /// `aws.cmd`, a batch file that looks for `python` on `PATH`; the same CLI is started
    /// here as `python -m awscli` with the venv's own Python, which is what that batch
    /// file runs when the venv is active.
    pub fn aws(&self, args: &[&str]) -> Command {
        let argv = aws_argv();
        let mut cmd = self.base(Path::new(&argv[0]));
        cmd.args(&argv[1..]).args(args);
        no_tty(&mut cmd);
        cmd
    }

    /// Config profile with the bed as endpoint and credentials `[NAME]` with the keys.
    pub fn keys_in_profile(&self, name: &str, user: &User, bed: &Bed) {
        self.write(
            ".aws/credentials",
            &format!(
                "# long-term keys\n[{name}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                user.access_key_id, user.secret_access_key
            ),
        );
        self.write(
            ".aws/config",
            &format!(
                "[profile {name}]\nregion = us-east-1\nendpoint_url = {}\n",
                bed.url
            ),
        );
    }

    /// aws-mfa's layout: `[NAME-long-term]` with keys and `aws_mfa_device`.
    pub fn long_term_layout(&self, name: &str, user: &User, bed: &Bed) {
        self.write(
            ".aws/credentials",
            &format!(
                "[{name}-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_mfa_device = {}\n",
                user.access_key_id, user.secret_access_key, user.mfa_serial
            ),
        );
        self.write(
            ".aws/config",
            &format!(
                "[profile {name}]\nregion = us-east-1\nendpoint_url = {}\n",
                bed.url
            ),
        );
    }
}

/// The variables that make `home` the user's home directory, as awsmfa and botocore find
/// it: `HOME` on Unix; on Windows `USERPROFILE`, with the per-user application data
/// folders inside it as in a real profile, and the system variables every Windows
/// program expects (Winsock and the crypto provider fail without `SYSTEMROOT`).
pub fn home_vars(home: &Path) -> Vec<(String, std::ffi::OsString)> {
    let mut vars: Vec<(String, std::ffi::OsString)> = Vec::new();
    if cfg!(windows) {
        vars.push(("USERPROFILE".into(), home.into()));
        vars.push((
            "APPDATA".into(),
            home.join("AppData").join("Roaming").into(),
        ));
        vars.push((
            "LOCALAPPDATA".into(),
            home.join("AppData").join("Local").into(),
        ));
        for name in [
            "SYSTEMROOT",
            "SYSTEMDRIVE",
            "WINDIR",
            "COMSPEC",
            "PATHEXT",
            "TEMP",
            "TMP",
        ] {
            if let Some(v) = std::env::var_os(name) {
                vars.push((name.into(), v));
            }
        }
    } else {
        vars.push(("HOME".into(), home.into()));
    }
    vars
}

/// Runs `cmd` with no terminal to ask on: in a new session without a controlling
/// terminal on Unix; detached from the console on Windows (`CONIN$` does not open).
pub fn no_tty(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; it detaches from the controlling terminal.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        cmd.creation_flags(DETACHED_PROCESS);
    }
}

/// Output of a finished command, for assertions with readable failures.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("command runs");
    Run {
        status: shell_status(out.status),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The status as a shell's `$?` shows it: the exit code, or 128+N for a death by signal N.
pub fn shell_status(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return 128 + signal;
    }
    status.code().unwrap_or(-1)
}

/// Runs `cmd` with `input` on standard input.
pub fn run_with_input(mut cmd: Command, input: &str) -> Run {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // A command that refuses before reading its input may exit before the
    // write: the pipe is then closed, which is its answer, not the test's failure.
    match child.stdin.take().unwrap().write_all(input.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().unwrap();
    Run {
        status: shell_status(out.status),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A code command for `user`'s device that counts its invocations in `counter`, as an
/// `mfa_process` line. Like a person who waits for a fresh code, its 2nd and 3rd calls
/// give the codes of the next and the previous time step (STS accepts ±1 step), so tests
/// never wait 30 s. On Unix a shell script asks the bed's TOTP at each call; on Windows a
/// `.cmd` file (which needs no Python, so it runs under Wine too) holds the three codes
/// computed when it is written, valid for the 30 to 60 s a test takes.
pub fn counting_code_command(env: &TestEnv, user: &User, counter: &Path) -> String {
    if cfg!(windows) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let code = |steps: i64| {
            let t = now.checked_add_signed(steps * 30).unwrap();
            awsmfa::mfa::totp::aws_code(&user.mfa_seed, t).unwrap()
        };
        let script = env.path(&format!("code-{}.cmd", user.name));
        let text = format!(
            "@echo off\r\nsetlocal\r\necho used>>\"{count}\"\r\nset n=0\r\n\
             for /f \"usebackq\" %%l in (\"{count}\") do set /a n+=1\r\n\
             if %n%==1 echo {now}\r\nif %n%==2 echo {next}\r\nif %n% GEQ 3 echo {previous}\r\n",
            count = counter.display(),
            now = code(0),
            next = code(1),
            previous = code(-1),
        );
        std::fs::write(&script, text).unwrap();
        return script.display().to_string();
    }
    let script = env.path(&format!("code-{}.sh", user.name));
    let text = format!(
        "#!/bin/sh\n\
         echo used >> '{count}'\n\
         case $(wc -l < '{count}') in 1) off=0;; 2) off=1;; *) off=-1;; esac\n\
         exec '{python}' '{bed}' totp {seed} --offset $off\n",
        count = counter.display(),
        python = venv_bin("python").display(),
        bed = root().join("tests/bed/bed.py").display(),
        seed = user.mfa_seed
    );
    std::fs::write(&script, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script.display().to_string()
}

/// A helper script named `stem` in the test's HOME that prints `stdout` lines to
/// standard output and `stderr` lines to standard error: a `#!/bin/sh` file on Unix, a
/// `.cmd` file on Windows. Lines must be plain text (no shell or cmd syntax).
pub fn printing_script(env: &TestEnv, stem: &str, stdout: &[&str], stderr: &[&str]) -> PathBuf {
    let mut text = String::new();
    if cfg!(windows) {
        let path = env.path(&format!("{stem}.cmd"));
        text.push_str("@echo off\r\n");
        for line in stderr {
            text.push_str(&format!(">&2 echo {line}\r\n"));
        }
        for line in stdout {
            text.push_str(&format!("echo {line}\r\n"));
        }
        std::fs::write(&path, text).unwrap();
        return path;
    }
    let path = env.path(&format!("{stem}.sh"));
    text.push_str("#!/bin/sh\n");
    for line in stderr {
        text.push_str(&format!("echo '{line}' >&2\n"));
    }
    for line in stdout {
        text.push_str(&format!("echo '{line}'\n"));
    }
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// A command that prints its environment as `NAME=value` lines (`env`; cmd's `set`).
pub fn printenv() -> Vec<String> {
    if cfg!(windows) {
        ["cmd", "/d", "/c", "set"].map(String::from).to_vec()
    } else {
        vec!["env".to_string()]
    }
}

/// The `NAME=value` lines of [`printenv`]'s output.
pub fn parse_env(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim_end_matches('\r').split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A command that exits with `status` and does nothing else.
pub fn exit_with(status: i32) -> Vec<String> {
    if cfg!(windows) {
        vec![
            "cmd".into(),
            "/d".into(),
            "/c".into(),
            format!("exit {status}"),
        ]
    } else {
        vec!["sh".into(), "-c".into(), format!("exit {status}")]
    }
}

/// A `credential_process` line that prints the file at `path` (`cat`; `cmd /c type`, as
/// botocore runs the line without a shell on Windows).
pub fn cat_command(path: &Path) -> String {
    if cfg!(windows) {
        format!("cmd /d /c type \"{}\"", path.display())
    } else {
        format!("cat {}", path.display())
    }
}

/// The AWS CLI as a command line (see [`TestEnv::aws`]).
pub fn aws_argv() -> Vec<String> {
    let python = venv_bin("python").display().to_string();
    if cfg!(windows) {
        vec![python, "-m".into(), "awscli".into()]
    } else {
        vec![venv_bin("aws").display().to_string()]
    }
}

/// A helper command line that takes `seconds` and then prints `text`, as the system's
/// shell runs it (`sh -c` on Unix, `cmd /C` on Windows, where `ping` is the wait).
pub fn slow_command(seconds: u32, text: &str) -> String {
    if cfg!(windows) {
        format!("ping -n {} 127.0.0.1 >nul & echo {text}", seconds + 1)
    } else {
        format!("sh -c 'sleep {seconds}; echo {text}'")
    }
}

pub fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Every session key in `[section]` of a credentials text.
pub fn section_value(text: &str, section: &str, key: &str) -> Option<String> {
    let doc = awsmfa::config::ini::Document::parse(text.as_bytes()).ok()?;
    doc.get(section, key)
}

/// Reads one HTTP request (its head, then as many bytes as `Content-Length` says) from a
/// test server's connection and returns the body; empty when the client goes away or
/// stays silent for 2 s.
pub fn read_http_request(stream: &mut std::net::TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = vec![0u8; 65536];
    let mut seen = Vec::new();
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return String::new();
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + len {
                return String::from_utf8_lossy(&seen[end + 4..]).into_owned();
            }
        }
    }
}

/// A shell (bash, fish; cmd or PowerShell on Windows) seeing what a person's shell sees:
/// the home directory, PATH with awsmfa and the AWS CLI, the test's variables.
pub fn shell(env: &TestEnv, program: &str, script: &str) -> Command {
    let mut cmd = Command::new(program);
    let bin = awsmfa_bin();
    let path = path_with(&[bin.parent().unwrap(), &venv_scripts()]);
    cmd.env_clear()
        .env("PATH", path)
        .envs(home_vars(env.home.path()))
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null());
    match program {
        "cmd" | "cmd.exe" => cmd.args(["/d", "/s", "/c"]).arg(script),
        "powershell" | "powershell.exe" | "pwsh" | "pwsh.exe" => {
            cmd.args(["-NoProfile", "-NonInteractive", "-Command", script])
        }
        _ => cmd.args(["-c", script]),
    };
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    no_tty(&mut cmd);
    cmd
}

/// Waits until `awsmfa server --list` lists no server (15 s at most).
pub fn wait_gone(env: &TestEnv, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = run(env.awsmfa(&["server", "--list"]));
        assert_eq!(r.status, 0, "{r:?}");
        if r.stdout.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still running: {r:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether nothing listens at a server URL's address any more.
pub fn port_closed(url: &str) -> bool {
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_err()
}

/// `sh -c COMMAND` in a pseudo-terminal of `script(1)`, which copies the terminal to its
/// standard output and its standard input to the terminal: util-linux's `script -qec`,
/// or the BSD `script -q` of macOS.
#[cfg(unix)]
pub fn in_pseudo_terminal(command: &str) -> Command {
    let mut cmd = Command::new("script");
    if cfg!(target_os = "linux") {
        cmd.args(["-qec", command, "/dev/null"]);
    } else {
        cmd.args(["-q", "/dev/null", "sh", "-c", command]);
    }
    cmd
}

/// Gives `cmd` a soft core-dump limit of `bytes` (the hard one allowing), so a test can
/// tell whether what awsmfa starts gets the user's limit back: awsmfa sets its own to 0,
/// and a user's limit of 0 would hide the difference.
#[cfg(unix)]
pub fn with_core_limit(cmd: &mut Command, bytes: u64) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: getrlimit and setrlimit on plain data are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let mut limit: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                limit.rlim_cur = (bytes as libc::rlim_t).min(limit.rlim_max);
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
            }
            Ok(())
        });
    }
    cmd
}

/// tmux on a private socket: a real terminal (80×24 unless sized) whose screen the test
/// reads.
#[cfg(unix)]
pub struct Tmux {
    socket: String,
}

#[cfg(unix)]
impl Tmux {
    pub fn start(command: &str) -> Tmux {
        Tmux::start_sized(command, 80, 24)
    }

    pub fn start_sized(command: &str, columns: u16, rows: u16) -> Tmux {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("awsmfa-test-{}-{n}", std::process::id());
        let ok = std::process::Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &columns.to_string(),
                "-y",
                &rows.to_string(),
                command,
            ])
            .status()
            .expect("tmux (scripts/test installs it)");
        assert!(ok.success());
        Tmux { socket }
    }

    pub fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["-L", self.socket.as_str(), "capture-pane", "-p"];
        if escapes {
            args.push("-e");
        }
        let out = std::process::Command::new("tmux")
            .args(&args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with the lines the terminal wrapped joined again (`capture-pane -J`).
    pub fn screen_joined(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", self.socket.as_str(), "capture-pane", "-p", "-J"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let screen = self.screen(false);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never saw {text:?}:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn keys(&self, keys: &str) {
        let ok = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", keys, "Enter"])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

#[cfg(unix)]
impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// No file under HOME holds `needle` in plaintext.
pub fn assert_nowhere_in(home: &Path, needle: &str) {
    for f in files_under(home) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(needle),
            "{} holds the secret",
            f.display()
        );
    }
}
