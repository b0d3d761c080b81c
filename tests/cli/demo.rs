//! `litekeys-rotate demo` runs with nothing but the project: without
//! `litellm` on PATH its built-in stand-in gateway is restarted and
//! verified, a failed restart is rolled back, every sink ends in sync, and
//! nothing is left behind — no sandbox, no process, no request to the
//! default gateway port 4000.

use litekeys_tests::Sandbox;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use vault::Exit;

/// The sandbox the demo names on its first line.
fn sandbox_of(text: &str) -> std::path::PathBuf {
    let first = text.lines().next().unwrap_or_default();
    let path = first
        .rsplit(" in ")
        .next()
        .unwrap_or_else(|| panic!("no sandbox on the first line: {first}"));
    assert!(path.contains("litekeys-demo."), "{first}");
    path.into()
}

/// The command lines of the live processes (Linux: /proc) naming `needle`.
fn processes_naming(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

/// Which process holds the client end of a loopback connection from
/// `port` (Linux: /proc/net/tcp, then the socket's inode among the fds).
fn client_of(port: u16) -> Option<String> {
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = tcp.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let local = u16::from_str_radix(cols.get(1)?.rsplit(':').next()?, 16).ok()?;
        (local == port).then(|| cols.get(9).map(|s| (*s).to_string()))?
    })?;
    let socket = format!("socket:[{inode}]");
    for proc in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == socket.as_str()))
        {
            let cmd = std::fs::read(proc.path().join("cmdline")).ok()?;
            return Some(String::from_utf8_lossy(&cmd).replace('\0', " "));
        }
    }
    None
}

/// Listens on 127.0.0.1:4000 (when free) and records every connection
/// made by the demo or a process it started; other tests of this binary
/// may probe 4000 (the seeds' default gateway), so each connection is
/// attributed by its client process, then closed unanswered.
struct Port4000 {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Port4000 {
    fn listen() -> Option<Port4000> {
        let Ok(listener) = TcpListener::bind("127.0.0.1:4000") else {
            eprintln!(
                "demo test: 127.0.0.1:4000 is taken; not checking that the demo leaves it alone"
            );
            return None;
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let client = stream
                    .peer_addr()
                    .ok()
                    .and_then(|peer| client_of(peer.port()))
                    .unwrap_or_default();
                if client.contains("litekeys-demo.")
                    || client.contains("demo-stand-in")
                    || (client.contains("litekeys-rotate")
                        && client.split(' ').any(|a| a == "demo"))
                {
                    record.lock().unwrap().push(client);
                }
            }
        });
        Some(Port4000 { seen })
    }

    fn assert_untouched(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.is_empty(),
            "the demo connected to 127.0.0.1:4000: {seen:?}"
        );
    }
}

#[test]
fn demo_without_litellm_restarts_verifies_and_rolls_back_a_stand_in() {
    let port_4000 = Port4000::listen();
    let sb = Sandbox::new();
    let out = sb
        .cmd("litekeys-rotate")
        .env_remove("PATH")
        .arg("demo")
        .success();
    let text = out.stdout_str();
    assert!(
        text.contains(
            "litellm is not on PATH: starting the built-in stand-in gateway (litellm not on PATH) on http://127.0.0.1:"
        ),
        "{text}"
    );
    assert!(!text.contains("127.0.0.1:4000"), "{text}");
    // The restart and the verification: old key refused, new key 200.
    let rotated = text
        .lines()
        .find(|l| l.starts_with("rotated LITELLM_MASTER_KEY"))
        .unwrap_or_else(|| panic!("a rotation line:\n{text}"));
    assert!(
        rotated.contains("verified: restarted (manager \"command\")"),
        "{rotated}"
    );
    assert!(
        rotated.contains("no key → 401 (refused)")
            && rotated.contains("→ 400 (refused)")
            && rotated.contains("→ 200"),
        "{rotated}"
    );
    // The failed restart, rolled back: the files and the gateway.
    let rollback = text
        .split("this restart fails on purpose: rolled back")
        .nth(1)
        .expect("the failed rotation");
    assert!(rollback.contains("failed on purpose"), "{rollback}");
    let back = rollback
        .split("every file back, the old key accepted again")
        .nth(1)
        .expect("a status after the rollback");
    for sink in ["dotenv", "droid", "systemd-env", "litellm-config", "json"] {
        let line = back
            .lines()
            .find(|l| l.starts_with("sink") && l.contains(sink))
            .unwrap_or_else(|| panic!("no {sink} line:\n{text}"));
        assert!(line.contains("in-sync"), "{line}");
    }
    assert!(back.contains("gateway current key  accepted"), "{back}");
    for summary in [
        "ok   rotation: stand-in gateway (litellm not on PATH) restarted, old key refused, new key 200, in sync",
        "ok   failed restart: rolled back (exit 11), every file back byte for byte",
        "ok   after the rollback: in sync, the old key accepted again (HTTP 200)",
    ] {
        assert!(text.contains(summary), "{summary}\n{text}");
    }
    // Nothing left: the sandbox, the stand-in, a request to port 4000.
    let sandbox = sandbox_of(text);
    assert!(!sandbox.exists(), "{} left behind", sandbox.display());
    let left = processes_naming(&sandbox.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
    if let Some(port) = port_4000 {
        port.assert_untouched();
    }
}

#[test]
fn demo_refuses_the_flags_it_does_not_honour() {
    let sb = Sandbox::new();
    for args in [
        &["demo", "--dry-run"][..],
        &["--config", "litekeys.toml", "demo"],
        &["--salt", "demo"],
        &["demo", "--no-restart"],
        &["demo", "--sentinel"],
    ] {
        let flag = args.iter().find(|a| a.starts_with("--")).unwrap();
        sb.cmd("litekeys-rotate")
            .args(args)
            .expect(Exit::Usage)
            .one_line_error(&format!("demo does not take {flag}"));
    }
}

#[test]
fn demo_rotates_and_every_sink_is_in_sync() {
    let sb = Sandbox::new();
    let out = sb
        .cmd("litekeys-rotate")
        .env_remove("PATH")
        .arg("demo")
        .success();
    let text = out.stdout_str();
    let after = text
        .split("new fingerprints, still in sync")
        .nth(1)
        .expect("a status after the rotation");
    for sink in ["dotenv", "droid", "systemd-env", "litellm-config", "json"] {
        let line = after
            .lines()
            .find(|l| l.starts_with("sink") && l.contains(sink))
            .unwrap_or_else(|| panic!("no {sink} line:\n{text}"));
        assert!(line.contains("in-sync"), "{line}");
    }
    assert!(text.contains("rotated LITELLM_MASTER_KEY"), "{text}");
    assert!(
        text.contains("VibeProxy and Z.AI routes untouched: yes"),
        "{text}"
    );
    // LiteLLM's config.yaml and Claude Code's settings got the new key.
    assert!(
        text.contains("ok   LiteLLM's config.yaml (master_key) and Claude Code's settings.json (env.ANTHROPIC_AUTH_TOKEN): the new key, in place"),
        "{text}"
    );
    assert!(text.contains("removed the sandbox"));
    // The fingerprint changed between the two status tables.
    let fingerprint = |part: &str| {
        part.lines()
            .find(|l| l.trim_start().starts_with("LITELLM_MASTER_KEY"))
            .map(|l| l.trim().to_string())
            .expect("fingerprint line")
    };
    let before = text.split("new master key everywhere").next().unwrap();
    assert_ne!(fingerprint(before), fingerprint(after));
}

#[test]
fn demo_keep_leaves_the_sandbox() {
    let sb = Sandbox::new();
    // The stand-in (no litellm on PATH): seconds, not LiteLLM's four starts.
    let out = sb
        .cmd("litekeys-rotate")
        .env_remove("PATH")
        .args(["demo", "--keep"])
        .success();
    let line = out
        .stdout_str()
        .lines()
        .find(|l| l.starts_with("kept the sandbox: "))
        .expect("where it was kept")
        .to_string();
    let path = line
        .trim_start_matches("kept the sandbox: ")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let kept = std::path::Path::new(&path);
    assert!(kept.join("repo/secrets/global.enc.env").is_file());
    // After the rotation and the rolled-back one: litellm.env, LiteLLM's
    // config.yaml and Claude Code's settings hold the same key, a new one.
    let read = |rel: &str| std::fs::read_to_string(kept.join("home").join(rel)).unwrap();
    let env = read(".config/lab-secrets/litellm.env");
    let key = env
        .lines()
        .find_map(|l| l.strip_prefix("LITELLM_MASTER_KEY="))
        .expect("litellm.env holds the master key")
        .to_string();
    let config = read(".config/litellm/config.yaml");
    assert!(
        config.contains(&format!(
            "\n  master_key: {key}   # clients send this key\n"
        )),
        "{config}"
    );
    assert!(config.contains("# typed in by hand"), "{config}");
    let claude: serde_json::Value = serde_json::from_str(&read(".claude/settings.json")).unwrap();
    assert_eq!(claude["env"]["ANTHROPIC_AUTH_TOKEN"], key.as_str());
    assert_eq!(claude["permissions"]["allow"][0], "Bash(git status)");
    std::fs::remove_dir_all(&path).unwrap();
}

#[test]
fn demo_with_litellm_on_path_restarts_and_verifies_it() {
    let litellm = litekeys_tests::require!("litellm");
    let sb = Sandbox::new();
    let path = format!(
        "{}:{}",
        litellm.parent().expect("venv bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .cmd("litekeys-rotate")
        .env("PATH", path)
        .arg("demo")
        .success();
    let text = out.stdout_str();
    assert!(
        text.contains("litellm is on PATH: starting it on http://127.0.0.1:"),
        "{text}"
    );
    let rotated = text
        .lines()
        .find(|l| l.starts_with("rotated LITELLM_MASTER_KEY"))
        .expect("a rotation line");
    assert!(rotated.contains("; verified: "), "{rotated}");
    assert!(
        rotated.contains("(refused)") && rotated.contains("→ 200"),
        "{rotated}"
    );
    assert!(text.contains("gateway current key  accepted"), "{text}");
    assert!(
        text.contains("ok   failed restart: rolled back (exit 11), every file back byte for byte")
            && text.contains("ok   after the rollback: in sync, the old key accepted again"),
        "{text}"
    );
    assert!(!sandbox_of(text).exists());
}
