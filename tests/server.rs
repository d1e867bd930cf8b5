//! The local credentials server: the AWS CLI and boto3 served through the container
//! credentials protocol, its token and path rules, 1,000 concurrent requests, loopback
//! only, and a child that outlives several session lifetimes without ever seeing an
//! expired credential. They run on every OS; what reads /proc (the listening address,
//! threads, descriptors) or drops to another uid is Linux's.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Bed, TestEnv, User, count_lines, counting_code_command, run};
use serde_json::json;

struct Served {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user with a role profile `r` whose codes come from a counting mfa_process.
fn role_setup(bed: &Bed) -> (TestEnv, User, std::path::PathBuf) {
    let user = bed.user_with("srv", json!("allow-all"), true);
    let arn = bed.role("srvrole", None, 3600);
    let env = TestEnv::new();
    let counter = env.path("codes");
    let script = counting_code_command(&env, &user, &counter);
    env.write(
        ".aws/credentials",
        &format!(
            "[base-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "[profile base]\nregion = us-east-1\nendpoint_url = {url}\nmfa_serial = {}\nmfa_process = {}\n\n[profile r]\nrole_arn = {arn}\nsource_profile = base\nregion = us-east-1\nendpoint_url = {url}\n",
            user.mfa_serial,
            script,
            url = bed.url
        ),
    );
    (env, user, counter)
}

fn start_server(env: &TestEnv) -> Served {
    let mut cmd = env.awsmfa(&["-p", "r", "server", "--foreground", "--format", "dotenv"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut value = |name: &str| {
        let line = lines.next().unwrap().unwrap();
        let v = line
            .strip_prefix(&format!("{name}="))
            .unwrap_or_else(|| panic!("{line}"));
        v.trim_matches('\'').to_string()
    };
    let url = value("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    Served { child, url, token }
}

fn raw_get(url: &str, path: &str, token: Option<&str>) -> String {
    let addr = url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: {t}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A command (`argv`) that sees only the two container variables (and a region and
/// endpoint), in an empty HOME of its own inside the test's.
fn client(served: &Served, bed: &Bed, env: &TestEnv, argv: &[String]) -> Command {
    let empty = env.path("client-home");
    std::fs::create_dir_all(&empty).unwrap();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(common::home_vars(&empty))
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &served.url)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", &served.token)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &bed.url)
        .stdin(Stdio::null());
    cmd
}

#[test]
fn the_aws_cli_and_boto3_use_the_server_with_only_two_variables() {
    let bed = Bed::shared();
    let bucket = bed.bucket("served");
    let (env, user, counter) = role_setup(bed);
    let served = start_server(&env);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    assert_eq!(served.token.len(), 64);

    let mut aws = client(&served, bed, &env, &common::aws_argv());
    aws.args(["s3", "ls"]);
    let r = run(aws);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(&bucket), "{r:?}");
    let python = common::venv_bin("python").display().to_string();
    let mut py = client(&served, bed, &env, &[python]);
    py.args([
        "-c",
        "import boto3; print(boto3.client('sts').get_caller_identity()['Arn']); print(' '.join(b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']))",
    ]);
    let r = run(py);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stdout.contains(":assumed-role/"), "{r:?}");
    assert!(r.stdout.contains(&bucket), "{r:?}");
    assert_eq!(count_lines(&counter), 1);
    assert_eq!(bed.user_calls(&user, "sts:AssumeRole"), 1);

    // Token and path rules.
    let path = served.url.split_once("127.0.0.1").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    assert!(raw_get(&served.url, path, Some(&served.token)).starts_with("HTTP/1.1 200"));
    for (p, t, want) in [
        (path, None, "HTTP/1.1 401"),
        (path, Some("0".repeat(64)), "HTTP/1.1 401"),
        ("/", Some(served.token.clone()), "HTTP/1.1 404"),
        (
            "/latest/meta-data/",
            Some(served.token.clone()),
            "HTTP/1.1 404",
        ),
    ] {
        let answer = raw_get(&served.url, p, t.as_deref());
        assert!(answer.starts_with(want), "{p}: {answer}");
        assert!(
            answer.ends_with("\r\n\r\n"),
            "nothing else is answered: {answer}"
        );
    }

    #[cfg(target_os = "linux")]
    listens_on_loopback_only(&served);
}

/// Listening on loopback only (/proc/net/tcp: local address 0100007F).
#[cfg(target_os = "linux")]
fn listens_on_loopback_only(served: &Served) {
    let port: u16 = served
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let listening: Vec<&str> = tcp
        .lines()
        .filter(|l| {
            l.contains(&format!(":{port:04X} ")) && l.split_whitespace().nth(3) == Some("0A")
        })
        .collect();
    assert_eq!(listening.len(), 1, "{listening:?}");
    assert!(
        listening[0]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("0100007F:")
    );
}

#[test]
fn a_thousand_concurrent_requests_one_sts_call_per_renewal() {
    let bed = Bed::shared();
    let (env, user, counter) = role_setup(bed);
    let served = start_server(&env);
    let path = {
        let rest = served.url.split_once("127.0.0.1").unwrap().1;
        rest[rest.find('/').unwrap()..].to_string()
    };
    let fire = || {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    s.spawn(|| {
                        (0..20)
                            .filter(|_| {
                                raw_get(&served.url, &path, Some(&served.token))
                                    .starts_with("HTTP/1.1 200")
                            })
                            .count()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<usize>()
        })
    };
    let start = Instant::now();
    assert_eq!(fire(), 1000);
    eprintln!("1000 requests in {:?}", start.elapsed());
    assert_eq!(
        bed.user_calls(&user, "sts:AssumeRole"),
        1,
        "served from the cache"
    );
    // Drop the role session: the next thousand cause exactly one renewal, no new code.
    let r = run(env.awsmfa(&["clear", "r"]));
    assert_eq!(r.status, 0);
    assert_eq!(fire(), 1000);
    assert_eq!(bed.user_calls(&user, "sts:AssumeRole"), 2);
    assert_eq!(bed.user_calls(&user, "sts:GetSessionToken"), 1);
    assert_eq!(count_lines(&counter), 1);
}

#[test]
fn a_long_job_outlives_several_sessions_without_expiry_or_prompts() {
    let bed = Bed::private();
    // Role sessions of 10 s, MFA sessions of 2 min; renew below 3 s left.
    bed.configure(json!({"session_seconds": 120, "role_session_seconds": 10}));
    let (mut env, user, counter) = role_setup(&bed);
    env.set("AWSMFA_MIN_REMAINING", "3s");
    let url_file = env.path("url");
    let job = format!(
        "import boto3, os, time\n\
         open('{}', 'w').write(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'])\n\
         sts = boto3.client('sts', endpoint_url='{}')\n\
         end = time.time() + 25\n\
         n = 0\n\
         while time.time() < end:\n    sts.get_caller_identity(); n += 1; time.sleep(0.5)\n\
         print(n)\n",
        url_file.display(),
        bed.url
    );
    let mut cmd = env.awsmfa(&[
        "-p",
        "r",
        "exec",
        "--server",
        "--",
        common::venv_bin("python").to_str().unwrap(),
        "-c",
        &job,
    ]);
    cmd.env_remove("AWS_ACCESS_KEY_ID");
    let r = run(cmd);
    assert_eq!(r.status, 0, "the job failed (expired credentials?): {r:?}");
    let calls: u32 = r.stdout.trim().parse().unwrap();
    assert!(calls >= 30, "{r:?}");
    assert_eq!(count_lines(&counter), 1, "no extra prompts");
    assert!(
        bed.user_calls(&user, "sts:AssumeRole") >= 3,
        "the role was renewed across its 10 s lifetimes"
    );
    // The server stopped with its child.
    let url = std::fs::read_to_string(&url_file).unwrap();
    let addr = url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_err());
}

/// The server's pid, from the foreground server's child handle.
#[cfg(target_os = "linux")]
fn proc_status(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn idle_and_slow_connections_never_delay_a_good_request() {
    let bed = Bed::shared();
    let (env, _user, _counter) = role_setup(bed);
    let served = start_server(&env);
    let addr = served
        .url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let path = {
        let rest = served.url.split_once("127.0.0.1").unwrap().1;
        rest[rest.find('/').unwrap()..].to_string()
    };
    let timed = || {
        let t = Instant::now();
        let answer = raw_get(&served.url, &path, Some(&served.token));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        t.elapsed()
    };
    timed(); // the session is cached from here on
    let alone = timed();
    // 64 connections that send nothing, and 16 that drip a header byte a second.
    let idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drips: Vec<_> = (0..16)
        .map(|_| {
            let addr = addr.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                let mut sent = 0;
                for b in b"GET /awsmfa/credentials HTTP/1.1\r\nX-Slow: yes\r\n"
                    .iter()
                    .cycle()
                {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) || s.write_all(&[*b]).is_err()
                    {
                        break;
                    }
                    sent += 1;
                    std::thread::sleep(Duration::from_millis(500));
                }
                sent
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let busy: Vec<Duration> = (0..10).map(|_| timed()).collect();
    let worst = *busy.iter().max().unwrap();
    eprintln!("alone {alone:?}; with 64 idle + 16 dripping: worst of 10 {worst:?}");
    // Before: 5 s with 8 idle connections, a time-out with 64. Generous bound for a
    // loaded CI machine; bench/server.py measures the real figure.
    assert!(worst < Duration::from_secs(1), "{busy:?}");
    #[cfg(target_os = "linux")]
    {
        let threads = proc_status(served.child.id(), "Threads");
        let rss_kib = proc_status(served.child.id(), "VmRSS");
        eprintln!("{threads} threads, {rss_kib} KiB resident");
        assert!(threads <= 64 + 16 + 8, "{threads} threads");
        assert!(rss_kib < 64 * 1024, "{rss_kib} KiB");
    }
    // The head deadline closes idle and dripping connections within seconds.
    std::thread::sleep(Duration::from_secs(3));
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 400"),
            "an idle connection was kept"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for d in drips {
        let sent = d.join().unwrap();
        assert!(sent < 20, "a dripping client was kept for {sent} bytes");
    }
    #[cfg(target_os = "linux")]
    assert!(
        proc_status(served.child.id(), "Threads") <= 8,
        "threads are released"
    );
}

// Issue 21, 5: 256 slots, each held up to 2 s by a client that sent nothing: another
// local user with 300 idle connections made 9 of 20 authorized requests fail. (The
// attacker raises its descriptor limit, drops to another uid and is counted in /proc.)
#[cfg(target_os = "linux")]
#[test]
fn a_thousand_idle_and_dripping_connections_from_another_user_fail_no_request() {
    let bed = Bed::shared();
    let (env, _user, _counter) = role_setup(bed);
    let served = start_server(&env);
    let path = {
        let rest = served.url.split_once("127.0.0.1").unwrap().1;
        rest[rest.find('/').unwrap()..].to_string()
    };
    let ok = || raw_get(&served.url, &path, Some(&served.token)).starts_with("HTTP/1.1 200");
    assert!(ok(), "the session is cached from here on");
    let port = served
        .url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    // The attacker: 1,000 connections that send nothing, 200 that drip a byte every
    // 100 ms, each reopened as soon as the server closes it; as another uid when the
    // tests run as root.
    let attacker = r#"
import resource, socket, sys, threading, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port = int(sys.argv[1])
def idle():
    while True:
        s = socket.create_connection(("127.0.0.1", port))
        try:
            while s.recv(64):
                pass
        except OSError:
            pass
        s.close()
def drip():
    while True:
        s = socket.create_connection(("127.0.0.1", port))
        try:
            for b in b"GET /awsmfa/credentials HTTP/1.1\r\nX: " + b"y" * 8000:
                s.send(bytes([b]))
                time.sleep(0.1)
        except OSError:
            pass
        s.close()
for _ in range(1000):
    threading.Thread(target=idle, daemon=True).start()
for _ in range(200):
    threading.Thread(target=drip, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"#;
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(common::venv_bin("python"));
        c
    } else {
        Command::new(common::venv_bin("python"))
    };
    let mut attack = cmd
        .args(["-c", attacker, &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(attack.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    // Let the connections pile up past the server's old limit, and past a head deadline.
    std::thread::sleep(Duration::from_secs(3));
    let open = std::fs::read_dir(format!("/proc/{}/fd", served.child.id()))
        .unwrap()
        .count();
    let t = Instant::now();
    let results: Vec<bool> = (0..20).map(|_| ok()).collect();
    let took = t.elapsed();
    drop(attack.stdin.take());
    let _ = attack.kill();
    let _ = attack.wait();
    eprintln!("20 requests among {open} open connections: {took:?}");
    assert!(
        open > 1000,
        "the attack was not under way: {open} descriptors"
    );
    assert!(results.iter().all(|&r| r), "{results:?}");
}
