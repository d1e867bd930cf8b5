//! Crash safety and concurrency of the credentials-file writes, with the real binary
//! against the STS bed: SIGKILL at random moments never leaves a broken or partly
//! written file, and concurrent logins never lose each other's updates.
// Run against the Linux test bed; Windows is covered by the smoke test in scripts/cross.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use awsmfa::config::ini::Document;
use common::{Bed, TestEnv, User, no_tty};

fn filler(n: usize) -> String {
    let mut out = String::from("# a big, hand-kept credentials file\n");
    for i in 0..n {
        out.push_str(&format!(
            "\n[filler-{i}]\naws_access_key_id = AKIAFILLER{i:010}\naws_secret_access_key = filler/secret+{i}\n; note {i}\n"
        ));
    }
    out
}

fn long_term(name: &str, u: &User) -> String {
    format!(
        "\n[{name}-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_mfa_device = {}\n",
        u.access_key_id, u.secret_access_key, u.mfa_serial
    )
}

fn login_cmd(env: &TestEnv, bed: &Bed, profile: &str, code: &str) -> Command {
    let mut cmd = Command::new(common::awsmfa_bin());
    cmd.env_clear()
        .env("HOME", env.home.path())
        .env("AWS_ENDPOINT_URL_STS", &bed.url)
        .env("AWS_REGION", "us-east-1")
        .args(["-p", profile, "login", "--force", "--token-code", code])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    no_tty(&mut cmd);
    cmd
}

/// `cur` must be `prev` unchanged, or `prev` with exactly the session keys of `[target]`
/// set to the values `cur` holds: every other byte identical.
fn check_edit(prev: &str, cur: &str, target: &str) -> bool {
    let cur_doc = Document::parse(cur.as_bytes()).expect("the file always parses");
    if cur == prev {
        return true;
    }
    let mut expected = Document::parse(prev.as_bytes()).unwrap();
    for key in [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "expiration",
    ] {
        let Some(v) = cur_doc.get(target, key) else {
            return false;
        };
        expected.set(target, key, &v).unwrap();
    }
    expected.to_bytes() == cur.as_bytes()
}

/// A small deterministic generator, seeded from the clock and printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

#[test]
fn sigkill_at_random_moments_never_breaks_the_file() {
    let bed = Bed::shared();
    let rounds = 200;
    let users = bed.users("kill", rounds);
    let env = TestEnv::new();
    let mut text = filler(3000);
    for (i, u) in users.iter().enumerate() {
        text.push_str(&long_term(&format!("k{i}"), u));
    }
    env.write(".aws/credentials", &text);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Rng(seed);

    // How long one login takes here, to spread the kills over its whole life.
    let code = bed.code(&users[0].mfa_serial, 0);
    let start = Instant::now();
    let out = login_cmd(&env, bed, "k0", &code).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let life = start.elapsed().as_micros() as u64;

    let (mut killed, mut completed, mut written) = (0, 0, 0);
    for (i, user) in users.iter().enumerate().skip(1) {
        let prev = env.read(".aws/credentials");
        let code = bed.code(&user.mfa_serial, 0);
        let mut child = login_cmd(&env, bed, &format!("k{i}"), &code)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.next(life * 6 / 5)));
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        if status.success() {
            completed += 1;
        } else {
            killed += 1;
        }
        let cur = env.read(".aws/credentials");
        assert!(
            check_edit(&prev, &cur, &format!("k{i}")),
            "round {i} (seed {seed}): the file is not the old one or the old one plus [k{i}]"
        );
        if cur != prev {
            written += 1;
        }
        // No temporary files are left behind to accumulate... except by killed writers,
        // which may leave one: they are private and never read.
    }
    eprintln!(
        "sigkill: {killed} killed, {completed} completed, {written} wrote the file, one login ≈ {} ms",
        life / 1000
    );
    assert!(killed > rounds / 4, "too few kills to mean anything");
    for entry in std::fs::read_dir(env.path(".aws")).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        use std::os::unix::fs::PermissionsExt;
        if entry.file_name().to_string_lossy().ends_with(".tmp") {
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "temp files are private"
            );
        }
    }
}

#[test]
fn sixteen_concurrent_logins_lose_no_update() {
    let bed = Bed::shared();
    let procs = 16;
    let rounds = 8;
    let users = bed.users("conc", procs * rounds);
    let env = TestEnv::new();
    let header = filler(200);
    for round in 0..rounds {
        // This round's keys for p0..p15, written without touching the sessions.
        let mut doc = Document::parse(env.read(".aws/credentials").as_bytes()).unwrap();
        if round == 0 {
            doc = Document::parse(header.as_bytes()).unwrap();
        }
        for p in 0..procs {
            let u = &users[round * procs + p];
            let section = format!("p{p}-long-term");
            doc.set(&section, "aws_access_key_id", &u.access_key_id)
                .unwrap();
            doc.set(&section, "aws_secret_access_key", &u.secret_access_key)
                .unwrap();
            doc.set(&section, "aws_mfa_device", &u.mfa_serial).unwrap();
        }
        std::fs::write(env.credentials(), doc.to_bytes()).unwrap();
        let codes: Vec<String> = (0..procs)
            .map(|p| bed.code(&users[round * procs + p].mfa_serial, 0))
            .collect();
        let children: Vec<_> = (0..procs)
            .map(|p| {
                login_cmd(&env, bed, &format!("p{p}"), &codes[p])
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = env.read(".aws/credentials");
        assert!(
            text.starts_with(&header),
            "round {round}: the rest of the file changed"
        );
        let doc = Document::parse(text.as_bytes()).unwrap();
        for p in 0..procs {
            let key = doc
                .get(&format!("p{p}"), "aws_access_key_id")
                .unwrap_or_else(|| panic!("round {round}: [p{p}] lost"));
            let owner = bed.whois(&key);
            assert_eq!(
                owner["user"].as_str().unwrap(),
                users[round * procs + p].name,
                "round {round}: [p{p}] holds an older session: an update was lost"
            );
        }
    }
}
