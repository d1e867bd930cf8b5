//! A local credentials server compatible with the container credentials provider that
//! every AWS SDK and the CLI read (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`), so long-running tools renew their credentials
//! instead of failing with `ExpiredToken` in the middle of a job.
//!
//! It listens on 127.0.0.1 only, answers one path, requires a random 256-bit token
//! compared in constant time (401 otherwise, with no body), and serves each request
//! through the caller's [`Provider`] (the session engine: cache first, single flight on
//! renewal, so a thousand concurrent requests make one STS call and one prompt).
//! One thread waits on every connection at once, so an idle or slow client costs a
//! descriptor and a small buffer, never a thread: a connection gets a thread of its own
//! only once its whole request head (at most 8 KiB, within two seconds) names the path
//! and carries the token. When the connections still waiting for their head fill the
//! room (half the descriptors the process may open), the oldest is closed to make room.
//! The server serves every user of the machine's loopback, so no number of idle or
//! dripping connections from another user keeps out a client that sends its request
//! at once, as SDKs do.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::creds::Credentials;

/// The one path that answers.
pub const PATH: &str = "/awsmfa/credentials";
const MAX_HEAD: usize = 8 * 1024;

/// Where served credentials come from. Errors are messages safe to show a client.
pub trait Provider: Sync {
    fn credentials(&self) -> Result<Credentials, String>;
}

/// A random 256-bit token, hex-encoded.
pub fn random_token() -> std::io::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice()).map_err(std::io::Error::from)?;
    // Written straight into the one string (no per-byte copies left unwiped).
    Ok(Zeroizing::new(crate::hex::lower(bytes.as_slice())))
}

/// Binds 127.0.0.1:`port` (0: any free port).
pub fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// The URL clients are given.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}{PATH}")
}

/// The most connections that may wait for their request head at once (fewer when the
/// process may open fewer descriptors); past that the oldest is closed.
pub const MAX_WAITING: usize = 16 * 1024;
/// How long a client has to send its whole request head.
const HEAD_DEADLINE: Duration = Duration::from_secs(2);
/// At most this many connections are accepted between two looks at the waiting ones.
const ACCEPT_BURST: usize = 256;

/// Serves until `stop` is set (and a connection wakes the loop): see the module's note.
pub fn serve(listener: &TcpListener, token: &str, provider: &dyn Provider, stop: &AtomicBool) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let limit = crate::sys::raise_open_files_limit();
    let room = usize::try_from(limit / 2)
        .unwrap_or(usize::MAX)
        .clamp(16, MAX_WAITING);
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    let mut ready = Vec::new();
    std::thread::scope(|scope| {
        while !stop.load(Ordering::SeqCst) {
            // The oldest connection's deadline is the nearest: arrival order.
            let timeout = waiting
                .front()
                .map(|w| w.deadline.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(1), Duration::from_secs(1));
            let streams: Vec<&TcpStream> = waiting.iter().map(|w| &w.stream).collect();
            if crate::sys::wait_readable(listener, &streams, timeout, &mut ready).is_err() {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            drop(streams);
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let now = Instant::now();
            let mut kept = VecDeque::with_capacity(waiting.len());
            for (i, mut w) in waiting.drain(..).enumerate() {
                let step = if ready.get(i + 1).copied().unwrap_or(false) {
                    w.read_more()
                } else {
                    Step::Wait
                };
                match step {
                    Step::Wait if now < w.deadline => kept.push_back(w),
                    Step::Wait | Step::Bad => respond(&mut w.stream, 400, "Bad Request", b""),
                    Step::Gone => {}
                    Step::Head(end) => dispatch(scope, w, end, token, provider),
                }
            }
            waiting = kept;
            if ready.first().copied().unwrap_or(false) {
                accept(listener, &mut waiting, room);
            }
        }
    });
}

/// Takes the connections the listener has (a burst at most), making room by closing
/// the oldest waiting ones when needed.
fn accept(listener: &TcpListener, waiting: &mut VecDeque<Waiting>, room: usize) {
    for _ in 0..ACCEPT_BURST {
        match listener.accept() {
            Ok((stream, _)) => {
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                if waiting.len() >= room {
                    waiting.pop_front();
                }
                waiting.push_back(Waiting {
                    stream,
                    head: Zeroizing::new(Vec::new()),
                    deadline: Instant::now() + HEAD_DEADLINE,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                // Out of descriptors: the oldest waiting connection makes room.
                if waiting.pop_front().is_none() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return;
            }
        }
    }
}

/// A connection that has not sent its whole request head yet.
struct Waiting {
    stream: TcpStream,
    /// What it sent so far; it carries the token, so it is wiped wherever it was.
    head: Zeroizing<Vec<u8>>,
    deadline: Instant,
}

enum Step {
    /// Nothing more to read now.
    Wait,
    /// The head is whole; it ends at this offset.
    Head(usize),
    /// Too long, or the client ended it half-sent.
    Bad,
    /// The connection is gone.
    Gone,
}

impl Waiting {
    /// Reads what has arrived without waiting.
    fn read_more(&mut self) -> Step {
        let mut chunk = Zeroizing::new([0u8; 1024]);
        loop {
            match self.stream.read(chunk.as_mut_slice()) {
                Ok(0) => return Step::Gone,
                Ok(n) => {
                    let before = self.head.len();
                    if before + n > MAX_HEAD {
                        return Step::Bad;
                    }
                    extend_wiped(&mut self.head, &chunk[..n]);
                    let from = before.saturating_sub(3);
                    if let Some(end) = self.head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
                        return Step::Head(from + end);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Step::Gone,
            }
        }
    }
}

/// Appends to a buffer without leaving a copy of its old contents in freed memory.
fn extend_wiped(buf: &mut Zeroizing<Vec<u8>>, more: &[u8]) {
    if buf.capacity() - buf.len() < more.len() {
        let want = (buf.len() + more.len()).max(buf.capacity() * 2).max(256);
        let mut grown = Zeroizing::new(Vec::with_capacity(want));
        grown.extend_from_slice(buf);
        *buf = grown;
    }
    buf.extend_from_slice(more);
}

/// Answers a whole request head: refusals at once, an authorized request on a thread
/// of its own (the provider may wait for a renewal, a lock or a person).
fn dispatch<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    mut w: Waiting,
    end: usize,
    token: &'scope str,
    provider: &'scope dyn Provider,
) {
    match check(&w.head[..end], token) {
        Err((status, reason)) => respond(&mut w.stream, status, reason, b""),
        Ok(()) => {
            drop(w.head);
            let mut stream = w.stream;
            let spawned = std::thread::Builder::new()
                .name("awsmfa-conn".into())
                .spawn_scoped(scope, move || {
                    if stream.set_nonblocking(false).is_ok() {
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                        serve_credentials(&mut stream, provider);
                    }
                });
            if spawned.is_err() {
                // No thread to be had: the client retries, as SDKs do on a closed socket.
            }
        }
    }
}

/// Whether a request head asks for the credentials with the right token; else the
/// status to answer.
fn check(head: &[u8], token: &str) -> Result<(), (u16, &'static str)> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (method, target) = (parts.next().unwrap_or(b""), parts.next().unwrap_or(b""));
    let path = target.split(|&b| b == b'?').next().unwrap_or(b"");
    if path != PATH.as_bytes() {
        return Err((404, "Not Found"));
    }
    if method != b"GET" {
        return Err((405, "Method Not Allowed"));
    }
    let given = lines
        .filter_map(|l| {
            let colon = l.iter().position(|&b| b == b':')?;
            Some((&l[..colon], &l[colon + 1..]))
        })
        .find(|(k, _)| k.trim_ascii().eq_ignore_ascii_case(b"authorization"))
        .map(|(_, v)| v.trim_ascii())
        .unwrap_or(b"");
    if !constant_time_eq(given, token.as_bytes()) {
        return Err((401, "Unauthorized"));
    }
    Ok(())
}

/// Stops a server started with [`serve`] on `addr`.
pub fn stop(addr: SocketAddr, flag: &AtomicBool) {
    flag.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

fn serve_credentials(stream: &mut TcpStream, provider: &dyn Provider) {
    match provider.credentials() {
        Ok(creds) => {
            let body = Body {
                access_key_id: &creds.access_key_id,
                secret_access_key: creds.secret(),
                token: creds.token().unwrap_or_default(),
                expiration: creds
                    .expiration
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
            };
            let json = Zeroizing::new(serde_json::to_vec(&body).expect("serializable"));
            respond(stream, 200, "OK", &json);
        }
        Err(message) => {
            let json = serde_json::to_vec(&serde_json::json!({
                "code": "AwsmfaError",
                "message": message,
            }))
            .expect("serializable");
            respond(stream, 503, "Service Unavailable", &json);
        }
    }
}

fn respond(stream: &mut TcpStream, status: u16, reason: &str, body: &[u8]) {
    let kind = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// Compares without leaking where the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, y) in b.iter().enumerate() {
        let x = a.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::sync::atomic::AtomicUsize;

    struct Counting(AtomicUsize);

    impl Provider for Counting {
        fn credentials(&self) -> Result<Credentials, String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Credentials {
                access_key_id: "ASIAEXAMPLE000000000".into(),
                secret_access_key: SecretString::from("s".to_string()),
                session_token: Some(SecretString::from("t".to_string())),
                expiration: Some("2030-01-01T00:00:00Z".parse().unwrap()),
            })
        }
    }

    fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        let auth = auth
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn answers_only_the_path_with_the_token() {
        let listener = bind(0).unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        let token = random_token().unwrap();
        assert_eq!(token.len(), 64);
        assert_ne!(*token, *random_token().unwrap());
        let flag = AtomicBool::new(false);
        let provider = Counting(AtomicUsize::new(0));
        std::thread::scope(|s| {
            s.spawn(|| serve(&listener, &token, &provider, &flag));
            let ok = get(addr, PATH, Some(&token));
            assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
            assert!(ok.ends_with(r#"{"AccessKeyId":"ASIAEXAMPLE000000000","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:00:00Z"}"#));
            let wrong = get(addr, PATH, Some("nope"));
            assert!(
                wrong.starts_with("HTTP/1.1 401") && wrong.ends_with("\r\n\r\n"),
                "{wrong}"
            );
            assert!(get(addr, PATH, None).starts_with("HTTP/1.1 401"));
            assert!(get(addr, "/", Some(&token)).starts_with("HTTP/1.1 404"));
            assert_eq!(provider.0.load(Ordering::SeqCst), 1);
            stop(addr, &flag);
        });
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
    }
}
