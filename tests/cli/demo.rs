//! `litekeys-rotate demo` runs with nothing but the project and ends with
//! every sink in sync on the new key.

use litekeys_tests::Sandbox;

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
    for sink in ["dotenv", "droid", "systemd-env"] {
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
    let out = sb.cmd("litekeys-rotate").args(["demo", "--keep"]).success();
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
    assert!(
        std::path::Path::new(&path)
            .join("repo/secrets/global.enc.env")
            .is_file()
    );
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
}
