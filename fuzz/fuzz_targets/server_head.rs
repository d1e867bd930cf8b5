//! The credentials server's request head, as any local process may send it. One server
//! runs for the whole fuzzing session (the public `awsmfa::server` API, as `awsmfa
//! server` starts it); each input is one connection: the input's bytes, with `TOKEN`
//! replaced by the server's token so that the fuzzer reaches the authorized path, then
//! the end of the request. Every connection gets one whole HTTP answer at once, and no
//! answer carries the credentials unless the request carried the token.

#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use awsmfa::creds::Credentials;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzzSECRETfuzzSECRETfuzzSECRET0123456789";

struct Fixed;

impl awsmfa::server::Provider for Fixed {
    fn credentials(&self) -> Result<Credentials, String> {
        let mut c = Credentials::long_term("ASIAFUZZFUZZFUZZFUZZ", SECRET);
        c.session_token = Some(secrecy::SecretString::from("fuzztoken".to_string()));
        c.expiration = Some("2030-01-01T00:00:00Z".parse().expect("a time"));
        Ok(c)
    }
}

fn server() -> &'static (SocketAddr, String) {
    static SERVER: OnceLock<(SocketAddr, String)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = awsmfa::server::bind(0).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let token = awsmfa::server::random_token().expect("token").to_string();
        let served = token.clone();
        std::thread::spawn(move || {
            static STOP: AtomicBool = AtomicBool::new(false);
            awsmfa::server::serve(&listener, &served, &Fixed, &STOP);
        });
        (addr, token)
    })
}

fuzz_target!(|data: &[u8]| {
    let (addr, token) = server();
    let request = replace(data, b"TOKEN", token.as_bytes());
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // The server may answer and close before reading everything: that is its right.
    let _ = stream.write_all(&request);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    if let Err(e) = stream.read_to_end(&mut answer) {
        // A reset after an early answer (unread request bytes) still leaves the answer.
        assert!(
            !answer.is_empty() || e.kind() == std::io::ErrorKind::ConnectionReset,
            "no answer: {e}"
        );
    }
    if answer.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .expect("a status line");
    assert!(
        ["200", "400", "401", "404", "405"].contains(&status),
        "status {status}"
    );
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("a length")
        .parse()
        .expect("a number");
    assert_eq!(length, body.len(), "Content-Length");
    let authorized = contains(&request, token.as_bytes());
    if status == "200" || text.contains(SECRET) {
        assert!(authorized, "credentials without the token");
        assert_eq!(status, "200");
        let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(json["SecretAccessKey"], SECRET);
    }
});

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}
