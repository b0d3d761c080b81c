//! The read path against the real sops 3.11: every file sops writes
//! decrypts byte-identical under `litekeys decrypt`, tampering is refused
//! with sops' exit codes, and files with keys litekeys does not open
//! natively go through the sops binary.

use litekeys_tests::fixtures::AWKWARD;
use litekeys_tests::{Outcome, Run, Sandbox, Sops};
use std::path::{Path, PathBuf};
use vault::Exit;

struct Fixture {
    sb: Sandbox,
    sops: Sops,
    key: PathBuf,
    recipient: String,
}

fn fixture() -> Option<Fixture> {
    let sops = Sops::find()?;
    let sb = Sandbox::new();
    let recipient = sb.age_keygen("keys/main.txt")?;
    let key = sb.path("keys/main.txt");
    Some(Fixture {
        sb,
        sops,
        key,
        recipient,
    })
}

impl Fixture {
    /// Encrypts `plain` with the real sops and extra flags; returns the file.
    fn encrypt(&self, name: &str, plain: &str, flags: &[&str]) -> PathBuf {
        let input = self.sb.write(format!("{name}.plain.env"), plain);
        let out = self
            .sops
            .dotenv(&self.sb, "encrypt")
            .args(flags)
            .arg(&input)
            .success();
        self.sb.write(format!("{name}.enc.env"), &out.stdout)
    }

    /// Encrypts `plain` with the real sops under a `.sops.yaml` rule (for
    /// settings sops only takes from its config, like mac_only_encrypted).
    fn encrypt_with_rule(&self, name: &str, plain: &str, rule: &str) -> PathBuf {
        self.sb.write(
            format!("{name}/.sops.yaml"),
            format!("creation_rules:\n  - age: {}\n{rule}", self.recipient),
        );
        let input = self.sb.write(format!("{name}/plain.env"), plain);
        let out = self
            .sops
            .dotenv(&self.sb, "encrypt")
            .current_dir(self.sb.path(name))
            .arg(&input)
            .success();
        self.sb.write(format!("{name}/enc.env"), &out.stdout)
    }

    fn sops_decrypt(&self, file: &Path, key: &Path) -> Outcome {
        self.sops
            .decrypt(&self.sb, file)
            .env("SOPS_AGE_KEY_FILE", key)
            .output()
    }

    fn litekeys(&self, file: &Path, key: &Path) -> Run {
        self.sb
            .cmd("litekeys")
            .env("SOPS_AGE_KEY_FILE", key)
            .arg("-f")
            .arg(file)
    }

    /// litekeys and sops agree byte for byte, and both succeed.
    fn assert_same(&self, file: &Path) {
        let theirs = self.sops_decrypt(file, &self.key);
        assert_eq!(theirs.exit(), Some(Exit::Ok), "sops: {}", theirs.stderr);
        let ours = self
            .litekeys(file, &self.key)
            .args(["--backend", "native", "decrypt"])
            .success();
        assert!(
            ours.stdout == theirs.stdout,
            "decrypt differs from sops for {}",
            file.display()
        );
    }
}

#[test]
fn awkward_values_decrypt_byte_identical() {
    let Some(f) = fixture() else { return };
    let file = f.encrypt("awkward", AWKWARD, &["--age", &f.recipient]);
    f.assert_same(&file);
    assert!(!Path::new("/tmp/litekeys-pwned").exists());
}

#[test]
fn every_encryption_rule_and_mac_mode() {
    let Some(f) = fixture() else { return };
    let r = f.recipient.as_str();
    let cases: &[(&str, &[&str])] = &[
        ("default", &["--age", r]),
        (
            "enc_regex",
            &["--age", r, "--encrypted-regex", "^(SIMPLE|DQ|NEWLINES)$"],
        ),
        (
            "unenc_regex",
            &["--age", r, "--unencrypted-regex", "^(SIMPLE|EMPTY)"],
        ),
        ("enc_suffix", &["--age", r, "--encrypted-suffix", "_EQ"]),
        ("unenc_suffix", &["--age", r, "--unencrypted-suffix", "ED"]),
    ];
    for (name, flags) in cases {
        let file = f.encrypt(name, AWKWARD, flags);
        f.assert_same(&file);
    }
    let with_config: &[(&str, &str)] = &[
        ("mac_only", "    mac_only_encrypted: true\n"),
        (
            "enc_regex_mac_only",
            "    encrypted_regex: Q\n    mac_only_encrypted: true\n",
        ),
        (
            "unenc_suffix_mac_only",
            "    unencrypted_suffix: ED\n    mac_only_encrypted: true\n",
        ),
        ("enc_comment_regex", "    encrypted_comment_regex: second\n"),
        (
            "unenc_comment_regex",
            "    unencrypted_comment_regex: top\n",
        ),
    ];
    for (name, rule) in with_config {
        let file = f.encrypt_with_rule(name, AWKWARD, rule);
        let text = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
        assert!(
            !name.contains("mac_only") || text.contains("sops_mac_only_encrypted=true"),
            "{name}"
        );
        f.assert_same(&file);
    }
}

#[test]
fn several_recipients_open_with_either_identity() {
    let Some(f) = fixture() else { return };
    let Some(second) = f.sb.age_keygen("keys/second.txt") else {
        return;
    };
    let Some(third) = f.sb.age_keygen("keys/third.txt") else {
        return;
    };
    let recipients = format!("{},{second},{third}", f.recipient);
    let file = f.encrypt("multi", AWKWARD, &["--age", &recipients]);
    let expected = f.sops_decrypt(&file, &f.key).stdout;
    for key in ["keys/main.txt", "keys/second.txt", "keys/third.txt"] {
        let ours = f.litekeys(&file, &f.sb.path(key)).arg("decrypt").success();
        assert_eq!(ours.stdout, expected, "with {key}");
    }
    // Several identities in one file, the matching one last, with comments.
    let mut combined = String::new();
    for key in ["keys/third.txt", "keys/main.txt"] {
        combined.push_str(&String::from_utf8(f.sb.read(key)).unwrap());
        combined.push('\n');
    }
    let combined = f.sb.write("keys/combined.txt", combined);
    let ours = f.litekeys(&file, &combined).arg("decrypt").success();
    assert_eq!(ours.stdout, expected);
    let check = f.litekeys(&file, &combined).arg("check").success();
    assert!(check.stdout_str().contains(&f.recipient));
    assert!(check.stdout_str().contains("mac:          ok"));
}

#[test]
fn identity_sources_in_sops_order() {
    let Some(f) = fixture() else { return };
    let file = f.encrypt("sources", "A=1\n", &["--age", &f.recipient]);
    let key_text = String::from_utf8(f.sb.read("keys/main.txt")).unwrap();
    let lk = || f.sb.cmd("litekeys").arg("-f").arg(&file).args(["get", "A"]);
    assert_eq!(lk().env("SOPS_AGE_KEY", &key_text).success().stdout, b"1");
    assert_eq!(lk().env("SOPS_AGE_KEY_FILE", &f.key).success().stdout, b"1");
    let cmd = format!("cat '{}'", f.key.display());
    assert_eq!(lk().env("SOPS_AGE_KEY_CMD", &cmd).success().stdout, b"1");
    f.sb.write("home/.config/sops/age/keys.txt", &key_text);
    assert_eq!(lk().success().stdout, b"1");
}

#[test]
fn get_matches_sops_extract() {
    let Some(f) = fixture() else { return };
    let file = f.encrypt("get", AWKWARD, &["--age", &f.recipient]);
    for key in [
        "SIMPLE",
        "NEWLINES",
        "EMPTY",
        "export EXPORTED",
        "KEY WITH SPACES",
        "UNICODE",
        "SPACES",
        "CR",
    ] {
        let index = format!("[\"{key}\"]");
        let theirs = f
            .sops
            .dotenv(&f.sb, "decrypt")
            .env("SOPS_AGE_KEY_FILE", &f.key)
            .args(["--extract", &index])
            .arg(&file)
            .success();
        let ours = f.litekeys(&file, &f.key).args(["get", key]).success();
        assert_eq!(ours.stdout, theirs.stdout, "get {key}");
    }
    f.litekeys(&file, &f.key)
        .args(["get", "MISSING"])
        .expect(Exit::Error)
        .one_line_error("MISSING");
}

#[test]
fn export_formats_round_trip() {
    let Some(f) = fixture() else { return };
    let file = f.encrypt("export", AWKWARD, &["--age", &f.recipient]);
    let json = f
        .litekeys(&file, &f.key)
        .args(["export", "--format", "json"])
        .success();
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let keys: Vec<&String> = parsed.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.first().map(|k| k.as_str()),
        Some("SIMPLE"),
        "file order"
    );
    assert_eq!(parsed["NEWLINES"], "line1\nline2\n\nline4");
    assert_eq!(parsed["SPACES"], "  padded  ");

    let shell = f
        .litekeys(&file, &f.key)
        .args([
            "export",
            "--format",
            "shell",
            "--only",
            "DOLLAR,BACKTICK,SQ,DQ,NEWLINES,UNICODE,SPACES",
        ])
        .success();
    let script = f.sb.write("export.sh", &shell.stdout);
    let bash = litekeys_tests::which("bash").expect("bash");
    let out = f
        .sb
        .program(bash)
        .arg("-c")
        .arg(format!(". '{}'; printf '%s\\0' \"$DOLLAR\" \"$BACKTICK\" \"$SQ\" \"$DQ\" \"$NEWLINES\" \"$UNICODE\" \"$SPACES\"", script.display()))
        .success();
    let got: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
    let want: [&str; 7] = [
        "$HOME and ${PATH} $(touch /tmp/litekeys-pwned)",
        "`uname`",
        "'single'",
        "\"double\"",
        "line1\nline2\n\nline4",
        "h\u{e9}llo w\u{f6}rld \u{2713} \u{65e5}\u{672c}",
        "  padded  ",
    ];
    for (g, w) in got.iter().zip(want) {
        assert_eq!(std::str::from_utf8(g).unwrap(), w);
    }
    assert!(!Path::new("/tmp/litekeys-pwned").exists());
    // A key that is not a shell name is refused, naming its line.
    f.litekeys(&file, &f.key)
        .args(["export", "--format", "shell"])
        .expect(Exit::Error)
        .one_line_error("export EXPORTED");
}

#[test]
fn ten_thousand_entries() {
    let Some(f) = fixture() else { return };
    let mut plain = String::from("# big\n");
    for i in 0..10_000 {
        plain.push_str(&format!(
            "KEY_{i:05}=value {i} with = and # and \\n escapes\n"
        ));
    }
    let file = f.encrypt("big", &plain, &["--age", &f.recipient]);
    f.assert_same(&file);
}

/// Rewrites one line of an encrypted file.
fn edit_lines(path: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    edit(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn line_index(lines: &[String], prefix: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix}"))
}

#[test]
fn tampering_is_refused_with_sops_exit_codes() {
    let Some(f) = fixture() else { return };
    let base = f.encrypt(
        "tamper",
        "A=first\nB=second\nC=third\n",
        &["--age", &f.recipient],
    );
    let original = std::fs::read(&base).unwrap();
    let copy = |name: &str| f.sb.write(name, &original);

    // A flipped ciphertext byte: the value does not authenticate.
    let flipped = copy("flipped.env");
    edit_lines(&flipped, |lines| {
        let i = line_index(lines, "B=");
        let at = lines[i].find("data:").unwrap() + 5;
        let c = lines[i].as_bytes()[at];
        let swapped = if c == b'A' { 'B' } else { 'A' };
        lines[i].replace_range(at..=at, &swapped.to_string());
    });
    // Two values' ciphertexts swapped: each authenticates only under its own key.
    let swapped = copy("swapped.env");
    edit_lines(&swapped, |lines| {
        let a = line_index(lines, "A=");
        let b = line_index(lines, "B=");
        let va = lines[a][2..].to_string();
        let vb = lines[b][2..].to_string();
        lines[a] = format!("A={vb}");
        lines[b] = format!("B={va}");
    });
    // A data line dropped: every value decrypts, the MAC does not match.
    let dropped = copy("dropped.env");
    edit_lines(&dropped, |lines| {
        let i = line_index(lines, "C=");
        lines.remove(i);
    });
    // lastmodified changed: the MAC no longer authenticates.
    let lastmod = copy("lastmod.env");
    edit_lines(&lastmod, |lines| {
        let i = line_index(lines, "sops_lastmodified=");
        lines[i] = "sops_lastmodified=2001-01-01T00:00:00Z".into();
    });

    for (file, code, mentions) in [
        (&flipped, Exit::DecryptValue, "B"),
        (&swapped, Exit::DecryptValue, "A"),
        (&dropped, Exit::MacMismatch, "MAC"),
        (&lastmod, Exit::MacMismatch, "MAC"),
    ] {
        let theirs = f.sops_decrypt(file, &f.key);
        assert_eq!(
            theirs.exit(),
            Some(code),
            "sops on {}: {}",
            file.display(),
            theirs.stderr
        );
        f.litekeys(file, &f.key)
            .arg("decrypt")
            .expect(code)
            .one_line_error(mentions);
        f.litekeys(file, &f.key).args(["get", "A"]).expect(code);
    }

    // A wrong identity: 128, as sops.
    let Some(_) = f.sb.age_keygen("keys/stranger.txt") else {
        return;
    };
    let stranger = f.sb.path("keys/stranger.txt");
    assert_eq!(
        f.sops_decrypt(&base, &stranger).exit(),
        Some(Exit::NoIdentity)
    );
    f.litekeys(&base, &stranger)
        .arg("decrypt")
        .expect(Exit::NoIdentity)
        .one_line_error("recipient");
    // No identity at all: 128 and a hint.
    f.sb.cmd("litekeys")
        .arg("-f")
        .arg(&base)
        .arg("decrypt")
        .expect(Exit::NoIdentity)
        .one_line_error("SOPS_AGE_KEY_FILE");
}

#[test]
fn bad_files_fail_in_one_line() {
    let Some(f) = fixture() else { return };
    let not_dotenv = f.sb.write("bad.env", "A=1\nthis line has no equals\n");
    f.litekeys(&not_dotenv, &f.key)
        .arg("decrypt")
        .expect(Exit::Error)
        .one_line_error("bad.env:2: not KEY=value");
    let plain = f.sb.write("plain.env", "A=1\n");
    f.litekeys(&plain, &f.key)
        .arg("decrypt")
        .expect(Exit::Error)
        .one_line_error("not a sops-encrypted file");
    let missing = f.sb.path("missing.env");
    f.litekeys(&missing, &f.key)
        .arg("decrypt")
        .expect(Exit::Error)
        .one_line_error("missing.env");
    // No -f, no $LITEKEYS_FILE, no secrets/global.enc.env above: say how to fix it.
    f.sb.cmd("litekeys")
        .arg("decrypt")
        .expect(Exit::Error)
        .one_line_error("-f FILE");
}

#[test]
fn default_file_is_the_nearest_secrets_global() {
    let Some(f) = fixture() else { return };
    let file = f.encrypt("nearest", "A=found\n", &["--age", &f.recipient]);
    std::fs::create_dir_all(f.sb.path("repo/secrets")).unwrap();
    std::fs::create_dir_all(f.sb.path("repo/deep/er")).unwrap();
    std::fs::copy(&file, f.sb.path("repo/secrets/global.enc.env")).unwrap();
    // Found by walking up: used once trusted (tests/security/cloned_repo.rs).
    f.sb.trust("repo/secrets/global.enc.env");
    let out =
        f.sb.cmd("litekeys")
            .env("SOPS_AGE_KEY_FILE", &f.key)
            .current_dir(f.sb.path("repo/deep/er"))
            .args(["get", "A"])
            .success();
    assert_eq!(out.stdout, b"found");
    let out =
        f.sb.cmd("litekeys")
            .env("SOPS_AGE_KEY_FILE", &f.key)
            .env("LITEKEYS_FILE", &file)
            .current_dir(f.sb.path("repo/deep/er"))
            .args(["get", "A"])
            .success();
    assert_eq!(out.stdout, b"found");
}

#[test]
fn key_groups_go_through_the_sops_binary() {
    let Some(f) = fixture() else { return };
    let Some(second) = f.sb.age_keygen("keys/second.txt") else {
        return;
    };
    // Shamir over two age key groups: not opened natively.
    f.sb.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age:\n          - {}\n      - age:\n          - {second}\n",
            f.recipient
        ),
    );
    f.sb.write("groups.plain.env", AWKWARD);
    let out = f
        .sops
        .dotenv(&f.sb, "encrypt")
        .arg("groups.plain.env")
        .success();
    let file = f.sb.write("groups.enc.env", &out.stdout);
    // Threshold 2: both identities are needed.
    let mut both = String::from_utf8(f.sb.read("keys/main.txt")).unwrap();
    both.push_str(&String::from_utf8(f.sb.read("keys/second.txt")).unwrap());
    let both = f.sb.write("keys/both.txt", both);
    let theirs = f.sops_decrypt(&file, &both);
    assert_eq!(theirs.exit(), Some(Exit::Ok), "{}", theirs.stderr);
    let ours = f.litekeys(&file, &both).arg("decrypt").success();
    assert_eq!(ours.stdout, theirs.stdout);
    f.litekeys(&file, &both)
        .args(["--backend", "native", "decrypt"])
        .expect(Exit::Error)
        .one_line_error("--backend sops");
    // sops' own exit code comes through: no identity → 128.
    f.sb.cmd("litekeys")
        .arg("-f")
        .arg(&file)
        .arg("decrypt")
        .expect(Exit::NoIdentity);
    // --backend sops works on a plain age file too.
    let age_file = f.encrypt("viasops", AWKWARD, &["--age", &f.recipient]);
    let ours = f
        .litekeys(&age_file, &f.key)
        .args(["--backend", "sops", "decrypt"])
        .success();
    assert_eq!(ours.stdout, f.sops_decrypt(&age_file, &f.key).stdout);
}

#[test]
fn check_never_shows_a_value() {
    let Some(f) = fixture() else { return };
    let file = f.encrypt(
        "check",
        "MASTER=sk-check-never-shows-this\n",
        &["--age", &f.recipient],
    );
    let out = f.litekeys(&file, &f.key).arg("check").success();
    out.never_shows("sk-check-never-shows-this");
    assert!(out.stdout_str().contains("values:       1"));
}
