//! A local credentials server compatible with the container credentials provider that
//! every AWS SDK and the CLI read (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`), so long-running tools renew their credentials
//! instead of failing with `ExpiredToken` in the middle of a job.
//!
//! It listens on 127.0.0.1 only, answers one path, requires a random 256-bit token
//! compared in constant time (401 otherwise, with no body), and serves each request
//! through the caller's [`Provider`] (the session engine: cache first, single flight on
//! renewal, so a thousand concurrent requests make one STS call and one prompt).
//! Each connection has its own thread, and its request head must arrive whole within
//! 8 KiB and two seconds, so idle or slow clients never delay a good request.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    let mut out = Zeroizing::new(String::with_capacity(64));
    for b in bytes.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

/// Binds 127.0.0.1:`port` (0: any free port).
pub fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// The URL clients are given.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}{PATH}")
}

/// How many connections are served at once; more are closed at once (SDKs retry).
pub const MAX_CONNECTIONS: usize = 256;
/// How long a client has to send its whole request head.
const HEAD_DEADLINE: Duration = Duration::from_secs(2);

/// Serves until `stop` is set (and a connection wakes the accept loop).
///
/// Every connection gets its own thread, so an idle or slow client never delays
/// another: one that has not sent its whole request head within two seconds is
/// closed, and at most [`MAX_CONNECTIONS`] are open at once.
pub fn serve(listener: &TcpListener, token: &str, provider: &dyn Provider, stop: &AtomicBool) {
    let active = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else {
                // Out of descriptors, say: give clients a moment to go away.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::SeqCst);
                drop(stream);
                continue;
            }
            let active = &active;
            let spawned = std::thread::Builder::new()
                .name("awsmfa-conn".into())
                .spawn_scoped(scope, move || {
                    handle(stream, token, provider);
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
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

fn handle(mut stream: TcpStream, token: &str, provider: &dyn Provider) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(head) = read_head(&mut stream, Instant::now() + HEAD_DEADLINE) else {
        return respond(&mut stream, 400, "Bad Request", b"");
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    if path != PATH {
        return respond(&mut stream, 404, "Not Found", b"");
    }
    if method != "GET" {
        return respond(&mut stream, 405, "Method Not Allowed", b"");
    }
    let given = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return respond(&mut stream, 401, "Unauthorized", b"");
    }
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
            respond(&mut stream, 200, "OK", &json);
        }
        Err(message) => {
            let json = serde_json::to_vec(&serde_json::json!({
                "code": "AwsmfaError",
                "message": message,
            }))
            .expect("serializable");
            respond(&mut stream, 503, "Service Unavailable", &json);
        }
    }
}

/// The request head, if it arrives whole, within [`MAX_HEAD`] bytes, before `deadline`
/// (a total limit: a client dripping a byte a second does not extend it).
fn read_head(stream: &mut TcpStream, deadline: Instant) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while buf.len() < MAX_HEAD {
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return String::from_utf8(buf).ok();
        }
    }
    None
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
