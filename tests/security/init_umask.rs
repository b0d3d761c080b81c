//! `litekeys-rotate init` under umask 000: on 0.1.0 it created `secrets/`
//! 0777 and its `.gitignore` 0666 (anyone could swap the source or add
//! files next to it); now the directory is 0700 and nothing it writes is
//! writable by others, and the state directory (trust records) is 0700.

use litekeys_tests::Sandbox;
use std::os::unix::fs::PermissionsExt;

#[test]
fn init_under_umask_000_creates_nothing_others_can_write_or_list() {
    let sb = Sandbox::new();
    let Some(recipient) = sb.age_keygen("key.txt") else {
        return;
    };
    let rotate = litekeys_tests::bin("litekeys-rotate");
    let script = format!(
        "umask 000\nexec {} init --age {recipient}",
        rotate.display()
    );
    sb.program("sh")
        .args(["-c", &script])
        .env("SOPS_AGE_KEY_FILE", sb.path("key.txt"))
        .current_dir(sb.path(""))
        .success();
    let mode = |rel: &str| {
        std::fs::metadata(sb.path(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("secrets"), 0o700);
    for file in ["secrets/.gitignore", "secrets/global.enc.env"] {
        assert_eq!(mode(file) & 0o022, 0, "{file} is {:o}", mode(file));
    }
    // The sandbox's XDG_STATE_HOME: init records the source as trusted there.
    let state = sb.home().join(".local/state/litekeys");
    assert!(state.join("trust").is_dir(), "{}", state.display());
    for dir in walk_dirs(&state) {
        let m = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(m & 0o077, 0, "{} is {m:o}", dir.display());
    }
}

fn walk_dirs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk_dirs(&e.path()));
        }
    }
    out
}
