//! The systemd notification protocol without a library: one datagram per
//! message to `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
//! Nothing is sent when the variable is unset.

use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;

struct Socket {
    sock: UnixDatagram,
    target: String,
}

fn socket() -> Option<&'static Socket> {
    static SOCKET: OnceLock<Option<Socket>> = OnceLock::new();
    SOCKET
        .get_or_init(|| {
            let target = std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty())?;
            let sock = UnixDatagram::unbound().ok()?;
            Some(Socket { sock, target })
        })
        .as_ref()
}

pub(crate) fn ready() {
    send("READY=1");
}

pub(crate) fn status(text: &str) {
    let short: String = text.chars().take(200).collect();
    send(&format!("STATUS={short}"));
}

fn send(msg: &str) {
    let Some(s) = socket() else { return };
    // Best effort: a manager that went away must not stop the watcher.
    let _ = send_to(s, msg.as_bytes());
}

#[cfg(target_os = "linux")]
fn send_to(s: &Socket, msg: &[u8]) -> std::io::Result<usize> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    match s.target.strip_prefix('@') {
        Some(name) => s
            .sock
            .send_to_addr(msg, &SocketAddr::from_abstract_name(name.as_bytes())?),
        None => s.sock.send_to(msg, &s.target),
    }
}

#[cfg(not(target_os = "linux"))]
fn send_to(s: &Socket, msg: &[u8]) -> std::io::Result<usize> {
    s.sock.send_to(msg, &s.target)
}
