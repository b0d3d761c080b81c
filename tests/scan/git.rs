//! `--git`, `--staged` and the pre-commit hook, against the real git: a
//! `.env` committed and deleted later is found with its commit; a staged
//! file with the key makes the hook refuse the commit.

use super::files::{findings, planted};
use litekeys_tests::rotate_lab::{OLD_MASTER, Seeds};
use vault::Exit;

fn git(s: &Seeds, args: &[&str]) -> String {
    let out =
        s.sb.program("git")
            .current_dir(&s.repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .env("PATH", path())
            .success();
    out.stdout_str().trim().to_string()
}

/// The built binaries first: the hook runs `litekeys`.
fn path() -> String {
    let bin = litekeys_tests::bin("litekeys");
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn history_finds_a_deleted_env_with_its_commit() {
    let Some((s, new)) = planted() else { return };
    let root = std::fs::canonicalize(s.sb.path("")).unwrap();
    git(&s, &["init", "-q", "-b", "main"]);
    s.sb.write(
        "repo/.env",
        format!("A=1\nLITELLM_MASTER_KEY={OLD_MASTER}\nB={new}\n"),
    );
    git(&s, &["add", ".env"]);
    git(&s, &["commit", "-q", "-m", "env"]);
    let commit = git(&s, &["rev-parse", "HEAD"]);
    git(&s, &["rm", "-q", ".env"]);
    git(&s, &["commit", "-q", "-m", "gone"]);

    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--git", "--format", "json"])
            .arg(&s.repo)
            .expect(Exit::Found);
    out.never_shows(&new).never_shows(OLD_MASTER);
    let v: serde_json::Value = serde_json::from_str(out.stdout_str()).unwrap();
    let committed: Vec<(u64, &str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["commit"].is_string())
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["state"].as_str().unwrap(),
                f["commit"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(committed, [(2, "old", &*commit), (3, "current", &*commit)]);
    // With the working tree's files (no commit), as without --git.
    let files: Vec<(String, u64)> = findings(out.stdout_str(), &root)
        .into_iter()
        .map(|f| (f.0, f.1))
        .collect();
    let want = [
        (".env", 2),
        (".env", 3),
        ("compose.yaml", 4),
        ("notes.md", 4),
    ]
    .map(|(p, l)| (format!("repo/{p}"), l));
    assert_eq!(files, want);

    // A broken repository: a line, the scan goes on.
    let broken = s.sb.path("broken");
    s.sb.write("broken/.git/HEAD", "garbage\n");
    s.sb.write("broken/notes.txt", format!("{new}\n"));
    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--git"])
            .arg(&broken)
            .expect(Exit::Found);
    assert!(out.stderr.contains("broken"), "{}", out.stderr);
    assert!(
        out.stdout_str()
            .contains("notes.txt:1: LITELLM_MASTER_KEY (current")
    );
}

/// Every ref, in one `git log`: a key on a branch that was never merged is
/// found with that branch's commit; a key a merge's conflict resolution
/// wrote is found with the merge.
#[test]
fn history_sees_unmerged_branches_and_merge_resolutions() {
    let Some((s, new)) = planted() else { return };
    git(&s, &["init", "-q", "-b", "main"]);
    s.sb.write("repo/app.conf", "key = none\n");
    git(&s, &["add", "app.conf"]);
    git(&s, &["commit", "-q", "-m", "base"]);
    git(&s, &["checkout", "-q", "-b", "side"]);
    s.sb.write("repo/side.env", format!("K={OLD_MASTER}\n"));
    git(&s, &["add", "side.env"]);
    git(&s, &["commit", "-q", "-m", "side"]);
    let side = git(&s, &["rev-parse", "HEAD"]);
    git(&s, &["rm", "-q", "side.env"]);
    s.sb.write("repo/app.conf", "key = side\n");
    git(&s, &["commit", "-q", "-a", "-m", "side again"]);
    git(&s, &["checkout", "-q", "-b", "other", "main"]);
    s.sb.write("repo/app.conf", "key = other\n");
    git(&s, &["commit", "-q", "-a", "-m", "other"]);
    // `other` and `side` conflict on app.conf; the resolution holds the key.
    let merge =
        s.sb.program("git")
            .current_dir(&s.repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(["merge", "-q", "side"])
            .output();
    assert_ne!(merge.code, 0, "the merge should conflict");
    s.sb.write("repo/app.conf", format!("key = {new}\n"));
    git(&s, &["commit", "-q", "-a", "-m", "resolved"]);
    let resolved = git(&s, &["rev-parse", "HEAD"]);
    let parents = git(&s, &["rev-list", "--parents", "-n1", "HEAD"]);
    assert_eq!(parents.split(' ').count(), 3, "a merge: {parents}");
    git(&s, &["checkout", "-q", "main"]);

    let out =
        s.sb.cmd("litekeys")
            .current_dir(&s.repo)
            .args(["scan", "--git", "--no-ignore", "--format", "json"])
            .arg(&s.repo)
            .expect(Exit::Found);
    out.never_shows(&new).never_shows(OLD_MASTER);
    let v: serde_json::Value = serde_json::from_str(out.stdout_str()).unwrap();
    let committed: Vec<(String, &str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let name = std::path::Path::new(f["path"].as_str()?).file_name()?;
            Some((
                name.to_string_lossy().into_owned(),
                f["state"].as_str()?,
                f["commit"].as_str()?,
            ))
        })
        .collect();
    assert_eq!(
        committed,
        [
            ("app.conf".to_string(), "current", &*resolved),
            ("side.env".to_string(), "old", &*side),
        ]
    );
}

#[test]
fn the_pre_commit_hook_refuses_a_staged_key() {
    let Some((s, new)) = planted() else { return };
    git(&s, &["init", "-q", "-b", "main"]);
    s.sb.cmd("litekeys")
        .current_dir(&s.repo)
        .args(["scan", "--install-hook"])
        .success();
    let hook = std::fs::read_to_string(s.repo.join(".git/hooks/pre-commit")).unwrap();
    assert!(hook.contains("litekeys scan --staged"), "{hook}");

    s.sb.write("repo/clean.txt", "fine\n");
    git(&s, &["add", "clean.txt"]);
    git(&s, &["commit", "-q", "-m", "clean"]);

    s.sb.write("repo/config.env", format!("LITELLM_MASTER_KEY={new}\n"));
    git(&s, &["add", "config.env"]);
    let refused =
        s.sb.program("git")
            .current_dir(&s.repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(["commit", "-q", "-m", "key"])
            .env("PATH", path())
            .output();
    assert_ne!(refused.code, 0, "the commit went through");
    refused.never_shows(&new);
    // git shows a hook's stdout on its stderr.
    let said = format!("{}{}", refused.stdout_str(), refused.stderr);
    assert!(
        said.contains("config.env:1: LITELLM_MASTER_KEY (current"),
        "{said}"
    );
    assert_eq!(git(&s, &["log", "--format=%s"]), "clean");
}
