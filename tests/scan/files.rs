//! Files: a shell history, a notes file, a compose file hold the current
//! and the superseded master key; the sinks hold it too and are skipped.

use litekeys_tests::rotate_lab::{OLD_MASTER, Seeds};
use vault::Exit;

/// `(path relative to the sandbox, line, key, state)` of every finding.
pub(super) fn findings(json: &str, root: &std::path::Path) -> Vec<(String, u64, String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = std::path::Path::new(f["path"].as_str().unwrap());
            let fp = f["fingerprint"].as_str().unwrap().to_string();
            let key = format!("{} {fp}", f["key"].as_str().unwrap());
            (
                path.strip_prefix(root)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
                f["line"].as_u64().unwrap(),
                key,
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The lab after one rotation: OLD_MASTER is in the audit log only, the
/// new key in the source and every sink; both planted in three files.
pub(super) fn planted() -> Option<(Seeds, String)> {
    let s = Seeds::new()?;
    s.cmd().args(["--yes", "--no-restart"]).success();
    let new = s.master();
    assert_ne!(new, OLD_MASTER);
    s.sb.write(
        "home/.bash_history",
        format!("ls\nexport LITELLM_MASTER_KEY={OLD_MASTER}\ncurl -H 'Authorization: Bearer {new}' :4000\n"),
    );
    s.sb.write(
        "repo/notes.md",
        format!("# notes\n\nsk-notOursNotOursNotOursNotOurs0000\nthe key: {new}\n"),
    );
    s.sb.write(
        "repo/compose.yaml",
        format!(
            "services:\n  litellm:\n    environment:\n      LITELLM_MASTER_KEY: {OLD_MASTER}\n"
        ),
    );
    s.sb.write("repo/.gitignore", "ignored.txt\n");
    s.sb.write("repo/ignored.txt", format!("{new}\n"));
    Some((s, new))
}

fn row(path: &str, line: u64, key: &str, state: &str) -> (String, u64, String, String) {
    (path.into(), line, key.into(), state.into())
}

#[test]
fn finds_the_planted_keys_with_state_and_line_and_never_a_sink() {
    let Some((s, new)) = planted() else { return };
    let cur = format!("LITELLM_MASTER_KEY {}", vault::fingerprint(new.as_bytes()));
    let old = format!(
        "LITELLM_MASTER_KEY {}",
        vault::fingerprint(OLD_MASTER.as_bytes())
    );
    let root = std::fs::canonicalize(s.sb.path("")).unwrap();
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--format", "json"])
            .expect(Exit::Found);
    out.never_shows(&new).never_shows(OLD_MASTER);
    let mut want = vec![
        row("home/.bash_history", 2, &old, "old"),
        row("home/.bash_history", 3, &cur, "current"),
        row("repo/compose.yaml", 4, &old, "old"),
        row("repo/notes.md", 4, &cur, "current"),
    ];
    assert_eq!(findings(out.stdout_str(), &root), want);

    // Text: one line a finding, path:line: NAME (state, fingerprint).
    let text =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .arg("scan")
            .expect(Exit::Found);
    text.never_shows(&new).never_shows(OLD_MASTER);
    let (_, fp) = cur.split_once(' ').unwrap();
    assert!(
        text.stdout_str()
            .contains(&format!("notes.md:4: LITELLM_MASTER_KEY (current, {fp})\n")),
        "{}",
        text.stdout_str()
    );
    assert_eq!(
        text.stdout_str().lines().count(),
        4,
        "{}",
        text.stdout_str()
    );

    // --no-ignore: the gitignored file too.
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--no-ignore", "--format", "json"])
            .expect(Exit::Found);
    want.push(row("repo/ignored.txt", 1, &cur, "current"));
    want.sort();
    assert_eq!(findings(out.stdout_str(), &root), want);
}

#[test]
fn nothing_found_is_exit_0_and_an_unreadable_or_huge_file_is_a_line() {
    let Some((s, _)) = planted() else { return };
    let clean = s.sb.path("clean");
    s.sb.write("clean/a.txt", "nothing here\n");
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan"])
            .arg(&clean)
            .success();
    assert_eq!(out.stdout_str(), "");
    let locked = s.sb.path("clean/locked");
    s.sb.write("clean/locked/x.txt", "x\n");
    // A sparse file over the size cap: skipped with a line, never read.
    let big = std::fs::File::create(s.sb.path("clean/big.log")).unwrap();
    big.set_len(1 << 30).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads every directory: only an unprivileged run sees the refusal.
    let refused = std::fs::read_dir(&locked).is_err();
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan"])
            .arg(&clean)
            .arg(s.repo.join("notes.md"))
            .expect(Exit::Found);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.stdout_str().lines().count(), 1, "{}", out.stdout_str());
    assert!(
        out.stderr.contains("big.log: not scanned"),
        "{}",
        out.stderr
    );
    if refused {
        assert!(out.stderr.contains("locked"), "{}", out.stderr);
    }
}
