//! A loopback HTTP server for the unit tests of the gateway's requests:
//! it answers each request with the next reply given and hands back what
//! it received, so a test sees the method, path, headers and body sent.

use std::io::{BufRead, BufReader, Read, Write};

/// What the server received: each request's head lines and body.
pub(crate) type Seen = std::thread::JoinHandle<Vec<(Vec<String>, String)>>;

/// A server answering each request with the next of `replies` (status
/// line, body); returns its URL and what it received.
pub(crate) fn serve(replies: Vec<(&'static str, &'static str)>) -> (String, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, reply) in replies {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                head.push(std::mem::take(&mut line));
            }
            let len: usize = head
                .iter()
                .find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            seen.push((head, String::from_utf8(body).unwrap()));
        }
        seen
    });
    (url, handle)
}

/// A loopback port just released: nothing listens there.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
