//! A small HTTP/1.1 client for the tests of the cluster's HTTP APIs: it
//! sends requests as written (so malformed ones too) and reads answers,
//! chunked bodies included.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// An answer: status, headers (names lower-cased) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The message of a JSON error answer.
    pub fn error(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.text()
        );
        let v = self.json();
        let message = v["error"].as_str().expect("an error message").to_owned();
        assert!(!message.is_empty());
        message
    }
}

fn addr_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .parse()
        .expect("a base URL http://ip:port")
}

/// Sends `head` (request line and headers, without the blank line) and
/// `body` as they are, and reads the answer until the server closes.
pub fn raw(base: &str, head: &str, body: &[u8]) -> Reply {
    try_raw(base, head, body).unwrap_or_else(|e| panic!("no answer from {base}: {e}"))
}

/// As [`raw`], with failures as values (for polling a server that may not
/// answer yet).
pub fn try_raw(base: &str, head: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr_of(base))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(format!("{head}\r\n\r\n").as_bytes())?;
    s.write_all(body)?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes)?;
    parse_reply(&bytes)
        .ok_or_else(|| std::io::Error::other(format!("a malformed answer from {base}")))
}

/// A well-formed request with `Connection: close`.
pub fn request(base: &str, method: &str, target: &str, body: &[u8]) -> Reply {
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}",
        body.len()
    );
    raw(base, &head, body)
}

pub fn get(base: &str, target: &str) -> Reply {
    request(base, "GET", target, b"")
}

/// Status, headers and (de-chunked) body; None without a header end or a
/// status.
fn parse_reply(bytes: &[u8]) -> Option<Reply> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Some(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || rest.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[(eol + 4 + size).min(rest.len())..];
    }
}
