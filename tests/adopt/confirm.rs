//! On a terminal (util-linux `script` gives it one) adopt prints the table
//! and asks once: "n" writes nothing (usage: declined), "y" writes the
//! source and litekeys.toml.

use litekeys_tests::Snapshot;
use std::io::Write;
use std::process::{Command, Stdio};

fn on_a_terminal(sb: &litekeys_tests::Sandbox, answer: &str) -> std::process::Output {
    let script = litekeys_tests::which("script").expect("checked by the caller");
    let bin = sb.process("litekeys-rotate");
    let line = format!("'{}' adopt", bin.get_program().to_string_lossy());
    let mut child = Command::new(script)
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .envs(sb.env())
        .current_dir(sb.path("repo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    // The answer once the question is up (script passes stdin to the pty).
    let mut stdin = child.stdin.take().expect("piped");
    let answer = answer.to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let _ = stdin.write_all(answer.as_bytes());
    });
    child.wait_with_output().expect("wait")
}

#[test]
fn on_a_terminal_adopt_asks_once() {
    let Some(sb) = super::sandbox() else { return };
    if litekeys_tests::which("script").is_none() {
        eprintln!("SKIP: util-linux `script` is not installed");
        return;
    }
    let master = super::key("terminal");
    sb.write(
        "home/.config/litellm/config.yaml",
        format!("general_settings:\n  master_key: {master}\n"),
    );
    let everything = Snapshot::of([sb.dir.path()]);
    let out = on_a_terminal(&sb, "n\n");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert_eq!(shown.matches("[y/N]").count(), 1, "{shown}");
    assert!(shown.contains("declined: nothing was written"), "{shown}");
    assert!(shown.contains("manage: litellm-config sink"), "{shown}");
    assert!(!shown.contains(&master), "{shown}");
    everything.assert_unchanged();

    let out = on_a_terminal(&sb, "y\n");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains(&master), "{shown}");
    assert!(sb.path("repo/litekeys.toml").is_file(), "{shown}");
    assert!(sb.path("repo/secrets/global.enc.env").is_file(), "{shown}");
}
