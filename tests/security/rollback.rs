//! Rollback tells the truth, and redacts every value. On 0.1.0 a failed
//! verification skipped the restart when a probe seemed to answer on the
//! old key, yet said "the gateway runs on the old key again"; and a failing
//! restart command's stderr was shown with only the master keys redacted.

use litekeys_tests::rotate_lab::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use vault::Exit;

/// A gateway on 127.0.0.1 that stays on `key`: live, `/v1/models` 200
/// for `Bearer key`, 401 for anything else. Stops when dropped.
struct StuckGateway {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl StuckGateway {
    fn start(key: &str) -> StuckGateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, auth) = (
            stop.clone(),
            format!("authorization: bearer {key}").to_ascii_lowercase(),
        );
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line.to_ascii_lowercase());
                }
                let status = if head.starts_with("get /health/liveliness")
                    || (head.starts_with("get /v1/models") && head.contains(&auth))
                {
                    "200 OK"
                } else {
                    "401 Unauthorized"
                };
                let _ = (&conn).write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                    )
                    .as_bytes(),
                );
            }
        });
        StuckGateway { port, stop }
    }
}

impl Drop for StuckGateway {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_failed_verification_restarts_the_gateway_on_the_old_key_and_says_what_was_verified() {
    let gateway = StuckGateway::start(OLD_MASTER);
    let port = gateway.port;
    let Some(s) = Seeds::with_config(move |toml| {
        toml.replace("http://127.0.0.1:4000", &format!("http://127.0.0.1:{port}"))
            .replace("[gateway]", "[gateway]\ntimeout = 2")
            .replace(
                "manager = \"none\"",
                "manager = \"command\"\ncommand = [\"/bin/sh\", \"-c\", \"echo restart >> restarts.log\"]",
            )
    }) else {
        return;
    };
    let before = s.snapshot();
    let out = s
        .test()
        .arg("--yes")
        .status(Exit::RolledBack)
        .one_line_error("still accepts the old key")
        .never_shows(OLD_MASTER)
        .never_shows(OLD_SALT)
        .run();
    // Restarted onto the new files, then again onto the restored ones.
    let restarts = std::fs::read_to_string(s.repo.join("restarts.log")).unwrap();
    assert_eq!(restarts.lines().count(), 2, "{restarts}");
    for said in [
        "the gateway was restarted on them (manager \"command\"",
        "and verified:",
        &format!(
            "the old key {} accepted (HTTP 200)",
            vault::fingerprint(OLD_MASTER.as_bytes())
        ),
        "refused (HTTP 401), no key refused (HTTP 401)",
    ] {
        assert!(out.stderr.contains(said), "{said:?} not in {}", out.stderr);
    }
    assert!(
        !out.stderr.contains("runs on the old key again"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(s.repo.join("restarts.log")).unwrap();
    before.assert_unchanged();
}

#[test]
fn a_failing_restart_shows_no_value_of_the_source() {
    const OTHER: &str = "other-value-0123456789";
    let Some(s) = Seeds::with_config(|toml| {
        toml.replace(
            "manager = \"none\"",
            "manager = \"command\"\ncommand = [\"/bin/sh\", \"restart.sh\"]",
        )
    }) else {
        return;
    };
    // Prints the sink it reads (master and salt keys) and another value of
    // the source, then fails.
    s.sb.write(
        "repo/restart.sh",
        format!("cat ../home/dotfiles/litellm.env >&2\necho token {OTHER} >&2\nexit 3\n"),
    );
    std::fs::write(
        &s.source,
        s.sops.encrypt(
            &s.sb,
            &s.recipient,
            &format!(
                "LITELLM_MASTER_KEY={OLD_MASTER}\nLITELLM_SALT_KEY={OLD_SALT}\nOTHER_VAR={OTHER}\n"
            ),
        ),
    )
    .unwrap();
    let out = s.cmd().arg("--yes").output();
    assert!(
        matches!(
            out.exit(),
            Some(Exit::RollbackIncomplete | Exit::RolledBack)
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("exit 3"), "{}", out.stderr);
    assert!(out.stderr.contains("token [secret "), "{}", out.stderr);
    out.never_shows(OLD_SALT)
        .never_shows(OTHER)
        .never_shows(OLD_MASTER);
    assert_eq!(s.master(), OLD_MASTER);
}
