//! litekeys-watch under systemd: `Type=notify` messages on a real datagram
//! socket (a path, or an abstract `@name`), and journal-style log lines
//! (a priority prefix, no timestamp) when JOURNAL_STREAM is set.

use litekeys_tests::watch_lab::{ENV_FILE, Lab, env_text, key};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

const ARGS: &[&str] = &["--min-interval", "0ms", "--no-verify"];

/// Datagrams received until one contains `needle` (bounded).
fn receive_until(sock: &UnixDatagram, needle: &str) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..200 {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = msg.contains(needle);
                got.push(msg);
                if done {
                    return got;
                }
            }
            Err(e) => panic!("no {needle:?} from the watcher ({e}); got {got:?}"),
        }
    }
    panic!("no {needle:?} in {got:?}");
}

#[test]
fn notify_socket_gets_ready_and_status_and_the_journal_gets_priorities() {
    let master = key("notify");
    let Some(mut lab) = Lab::new(&master) else {
        return;
    };
    let path = lab.sb.path("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    lab.sb.set_env("NOTIFY_SOCKET", &path);
    lab.sb.set_env("JOURNAL_STREAM", "8:12345");
    let w = lab.watch(ARGS);
    let first = receive_until(&sock, "READY=1");
    assert!(
        first.iter().any(|m| m.starts_with("STATUS=watching")),
        "{first:?}"
    );
    lab.sb
        .write(ENV_FILE, format!("{}# mine\n", env_text(&master)));
    let later = receive_until(&sock, "STATUS=restarted");
    assert!(
        later.iter().any(|m| m.contains("changed by someone else")),
        "{later:?}"
    );
    for line in w.log() {
        assert!(
            line.starts_with("<6>litekeys-watch: ")
                || line.starts_with("<4>litekeys-watch: warning: ")
                || line.starts_with("<3>litekeys-watch: error: "),
            "not a journal line: {line}"
        );
    }
    for m in first.iter().chain(&later) {
        assert!(!m.contains(&master), "a notification shows the key");
    }
}

#[test]
fn an_abstract_notify_socket_works_and_plain_lines_have_timestamps() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    let master = key("abstract");
    let Some(mut lab) = Lab::new(&master) else {
        return;
    };
    let name = format!("litekeys-watch-test-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    lab.sb.set_env("NOTIFY_SOCKET", format!("@{name}"));
    let w = lab.watch(ARGS);
    receive_until(&sock, "READY=1");
    let line = w
        .log()
        .into_iter()
        .find(|l| l.contains("watching"))
        .unwrap();
    // 2026-11-21T23:40:00.123Z litekeys-watch: watching …
    let (stamp, rest) = line.split_once(' ').unwrap();
    assert!(
        stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{line}"
    );
    assert!(rest.starts_with("litekeys-watch: watching"), "{line}");
}
