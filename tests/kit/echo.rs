//! An upstream on 127.0.0.1 for models LiteLLM stores: every POST gets an
//! OpenAI chat completion whose content is the fingerprint of the bearer key
//! it received, so a reply proves which provider key LiteLLM decrypted and
//! sent, without the key ever showing in a test's output.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

/// How LiteLLM's provider key shows in an echo reply: vault's fingerprint
/// (first 8 hex digits of SHA-256), never the key.
pub fn fingerprint(key: &str) -> String {
    vault::fingerprint(key.as_bytes())
}

/// The upstream stored models point at: answers every POST with an OpenAI
/// chat completion whose content is the fingerprint of the bearer key it
/// received (`none` without one). A thread on 127.0.0.1; stopped on drop.
pub struct Echo {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    seen: Arc<Mutex<BTreeMap<String, usize>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    pub fn start() -> Echo {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind echo");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let (s, r, k) = (stop.clone(), requests.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, k) = (r.clone(), k.clone());
                std::thread::spawn(move || serve(conn, &r, &k));
            }
        });
        Echo {
            port,
            stop,
            requests,
            seen,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (LiteLLM's api_base is this plus `/v1`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests it answered.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The fingerprints of the keys it received, with counts.
    pub fn seen(&self) -> BTreeMap<String, usize> {
        self.seen.lock().expect("echo lock").clone()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            Duration::from_secs(1),
        );
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request on one connection (LiteLLM's client may keep it alive: the
/// answer says `Connection: close`).
fn serve(mut conn: TcpStream, requests: &AtomicUsize, seen: &Mutex<BTreeMap<String, usize>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let key = header("authorization").map(|v| {
        v.strip_prefix("Bearer ")
            .map(str::to_string)
            .unwrap_or(v.clone())
    });
    let content = key
        .as_deref()
        .map_or_else(|| "none".to_string(), fingerprint);
    *seen
        .lock()
        .expect("echo lock")
        .entry(content.clone())
        .or_default() += 1;
    // A new id each time, as a real upstream: LiteLLM keys spend logs by it.
    let n = requests.fetch_add(1, Ordering::SeqCst);
    let reply = json!({
        "id": format!("chatcmpl-echo-{n}"),
        "object": "chat.completion",
        "created": 0,
        "model": "echo",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "finish_reason": "stop",
        }],
        "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 },
    })
    .to_string();
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
}
