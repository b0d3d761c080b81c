//! Bad input stops a rotation before anything changes: a one-line error
//! naming the file, a distinct exit code, every file byte-identical.

use litekeys_tests::rotate_lab::*;
use std::process::Command;
use vault::Exit;

fn refused(s: &Seeds, exit: Exit, mentions: &str) {
    s.test()
        .arg("--yes")
        .status(exit)
        .one_line_error(mentions)
        .never_shows(OLD_MASTER)
        .files_unchanged([""])
        .run();
    // A dry run says the same.
    s.test()
        .arg("--dry-run")
        .status(exit)
        .one_line_error(mentions)
        .run();
}

#[test]
fn malformed_settings_json() {
    let Some(s) = Seeds::new() else { return };
    s.sb.write(
        "home/.factory/settings.json",
        "{\n  \"customModels\": [\n    {\"apiKey\": \"x\",}\n  ]\n}\n",
    );
    refused(&s, Exit::Error, "settings.json: not valid JSON at line 3");
}

#[test]
fn unknown_config_key() {
    let Some(s) = Seeds::with_config(|t| t.replace("[service]", "[service]\ncolour = \"red\""))
    else {
        return;
    };
    refused(&s, Exit::Usage, "litekeys.toml:6: unknown field `colour`");
    // The error points to --help, and --help ends with the keys.
    s.test()
        .arg("status")
        .status(Exit::Usage)
        .one_line_error("see `litekeys-rotate --help` for the keys")
        .run();
    let help = s.cmd().arg("--help").success();
    let keys = help
        .stdout_str()
        .split("litekeys.toml keys:\n")
        .nth(1)
        .expect("--help ends with the litekeys.toml keys");
    for key in [
        "source",
        "[gateway]",
        "timeout",
        "[service]",
        "manager",
        "[[sink]]",
        "kind",
    ] {
        assert!(keys.contains(key), "{key} missing from --help:\n{keys}");
    }
}

#[test]
fn missing_identity() {
    let Some(s) = Seeds::new() else { return };
    std::fs::remove_file(s.sb.home().join(".config/sops/age/keys.txt")).unwrap();
    refused(
        &s,
        Exit::NoIdentity,
        "global.enc.env: no age identity found",
    );
}

#[test]
fn tampered_source() {
    let Some(s) = Seeds::new() else { return };
    let text = std::fs::read_to_string(&s.source).unwrap();
    let at = text.find("ENC[AES256_GCM,data:").unwrap() + 22;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&s.source, bytes).unwrap();
    refused(
        &s,
        Exit::DecryptValue,
        "global.enc.env:1: the value of LITELLM_MASTER_KEY does not decrypt",
    );
}

#[test]
fn tampered_mac() {
    let Some(s) = Seeds::new() else { return };
    let text = std::fs::read_to_string(&s.source).unwrap();
    let at = text.find("sops_mac=ENC[AES256_GCM,data:").unwrap() + 31;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&s.source, bytes).unwrap();
    refused(&s, Exit::MacMismatch, "global.enc.env: MAC mismatch");
}

/// Makes a directory unwritable even for root (`chattr +i`), undone on drop.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn new(dir: &std::path::Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        Some(Immutable(dir.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn unwritable_sink() {
    let Some(s) = Seeds::new() else { return };
    let dir = s.sb.path("srv/docker/litellm");
    let _guard = Immutable::new(&dir);
    let immutable = Command::new("lsattr")
        .arg("-d")
        .arg(&dir)
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("----i"));
    if is_root() && !immutable {
        eprintln!(
            "\n*** SKIP: running as root without chattr +i: cannot make a directory unwritable ***\n"
        );
        return;
    }
    refused(&s, Exit::Error, "srv/docker/litellm/.env: cannot write in");
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
