//! The write path against the real sops 3.11: what litekeys encrypts, sets,
//! re-keys and rotates decrypts under `sops decrypt` to exactly the
//! expected plaintext; what `sops set` writes, litekeys reads; a `set`
//! shows in a diff as one data line plus sops_mac and sops_lastmodified;
//! and no process's argv ever holds a value being set.

use litekeys_tests::fixtures::AWKWARD;
use litekeys_tests::require;
use litekeys_tests::write_lab::{changed_lines, key_of, setup, values};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use vault::Exit;

#[test]
fn encrypt_output_decrypts_under_sops_for_every_rule() {
    let Some(w) = setup() else { return };
    let input = w.sb.write("plain.env", AWKWARD);
    let expected = w.expected(AWKWARD);
    let cases: [&[&str]; 6] = [
        &[],
        &["--encrypted-regex", "^LITELLM_"],
        &["--unencrypted-regex", "^PUBLIC_"],
        &["--encrypted-suffix", "_KEY"],
        &["--unencrypted-suffix", "_URL"],
        &["--mac-only-encrypted", "--encrypted-regex", "KEY"],
    ];
    for (i, flags) in cases.iter().enumerate() {
        let out = w.sb.path(format!("out{i}.enc.env"));
        w.sb.cmd("litekeys")
            .args(["encrypt", "--age", &w.recipient])
            .args(*flags)
            .arg("-o")
            .arg(&out)
            .arg(&input)
            .success();
        w.assert_sops_reads(&out, &expected);
        let ours = w.lk(&out).arg("decrypt").success();
        assert_eq!(ours.stdout, expected, "{flags:?}");
        // The rule is written the way sops writes it, so sops keeps it.
        let text = std::fs::read_to_string(&out).unwrap();
        if let [flag, value, ..] = flags {
            let name = flag.trim_start_matches("--").replace('-', "_");
            if name != "mac_only_encrypted" {
                assert!(text.contains(&format!("sops_{name}={value}\n")), "{text}");
            }
        }
        assert_eq!(
            text.contains("sops_mac_only_encrypted=true\n"),
            flags.contains(&"--mac-only-encrypted")
        );
        assert_eq!(
            std::fs::metadata(&out).unwrap().mode() & 0o777,
            0o600,
            "a new encrypted file is private"
        );
    }
    // To stdout, from stdin.
    let out =
        w.sb.cmd("litekeys")
            .args(["encrypt", "--age", &w.recipient, "-"])
            .stdin(AWKWARD)
            .success();
    let file = w.sb.write("stdout.enc.env", &out.stdout);
    w.assert_sops_reads(&file, &expected);
}

#[test]
fn encrypt_follows_the_nearest_sops_yaml() {
    let Some(w) = setup() else { return };
    let other = w.sb.age_keygen("keys/other.txt").unwrap();
    // The nearest config is the one next to the target, not the one in cwd.
    w.sb.write(".sops.yaml", format!("creation_rules:\n  - age: {other}\n"));
    w.sb.write(
        "secrets/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^prod/.*\\.env$\n    age: {other}\n  \
             - path_regex: \\.enc\\.env$\n    age:\n      - {}\n      - {other}\n    \
             encrypted_regex: ^(LITELLM_|SIMPLE)\n    mac_only_encrypted: true\n",
            w.recipient
        ),
    );
    let input = w.sb.write("plain.env", AWKWARD);
    let out = w.sb.path("secrets/global.enc.env");
    w.sb.cmd("litekeys")
        .args(["encrypt", "-o"])
        .arg(&out)
        .arg(&input)
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains(&format!(
        "sops_age__list_0__map_recipient={}\n",
        w.recipient
    )));
    assert!(text.contains(&format!("sops_age__list_1__map_recipient={other}\n")));
    assert!(text.contains("sops_encrypted_regex=^(LITELLM_|SIMPLE)\n"));
    assert!(text.contains("sops_mac_only_encrypted=true\n"));
    assert!(
        text.contains("PUBLIC_URL=http://127.0.0.1:4000\n"),
        "clear under the rule"
    );
    assert!(!text.contains("sk-master"));
    // sops, given the same rule, decrypts it to what it would have written.
    let theirs = w
        .sops("encrypt")
        .current_dir(w.sb.path("secrets"))
        .env("SOPS_AGE_KEY_FILE", &w.key)
        .arg("--filename-override")
        .arg(&out)
        .arg(&input)
        .success();
    let theirs = w.sb.write("secrets/theirs.enc.env", &theirs.stdout);
    assert!(
        std::fs::read_to_string(&theirs)
            .unwrap()
            .contains("sops_mac_only_encrypted=true\n")
    );
    let expected = w.sops_decrypt(&theirs, &w.key);
    w.assert_sops_reads(&out, &expected.stdout);
    w.assert_sops_reads(
        &out,
        &w.sops_decrypt(&out, &w.sb.path("keys/other.txt")).stdout,
    );
    // No matching rule and no --age: refused, nothing written.
    w.sb.write(
        "secrets/.sops.yaml",
        "creation_rules:\n  - path_regex: ^nothing$\n    age: x\n",
    );
    let out2 = w.sb.path("secrets/none.enc.env");
    w.sb.cmd("litekeys")
        .args(["encrypt", "-o"])
        .arg(&out2)
        .arg(&input)
        .expect(Exit::Recipients)
        .one_line_error("no creation rule matches");
    assert!(!out2.exists());
}

#[test]
fn encrypt_refuses_an_encrypted_file_as_already_encrypted() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("done", "A=1\n", &[]);
    let before = std::fs::read(&file).unwrap();
    let out = w.sb.path("again.enc.env");
    w.sb.cmd("litekeys")
        .args(["encrypt", "--age", &w.recipient, "-o"])
        .arg(&out)
        .arg(&file)
        .expect(Exit::AlreadyEncrypted)
        .one_line_error("already encrypted");
    assert!(!out.exists());
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // sops agrees.
    let theirs = w
        .sops("encrypt")
        .args(["--age", &w.recipient])
        .arg(&file)
        .output();
    assert_eq!(
        theirs.exit(),
        Some(Exit::AlreadyEncrypted),
        "{}",
        theirs.stderr
    );
}

#[test]
fn set_on_a_sops_file_changes_one_data_line_plus_mac_and_lastmodified() {
    let Some(w) = setup() else { return };
    let plain = values(50);
    let file = w.sops_encrypt("fifty", &plain, &[]);
    let before = std::fs::read(&file).unwrap();
    w.lk(&file)
        .args(["set", "KEY_00025"])
        .stdin("sk-new-value-25")
        .success()
        .never_shows("sk-new-value-25");
    let after = std::fs::read(&file).unwrap();
    let changed = changed_lines(&before, &after);
    let keys: Vec<&str> = changed.iter().map(|(old, _)| key_of(old)).collect();
    assert!(keys.contains(&"KEY_00025"), "{keys:?}");
    assert!(keys.contains(&"sops_mac"), "{keys:?}");
    for k in &keys {
        assert!(
            ["KEY_00025", "sops_mac", "sops_lastmodified"].contains(k),
            "{k} changed too: {keys:?}"
        );
    }
    let expected: String = plain
        .lines()
        .map(|l| match key_of(l) {
            "KEY_00025" => "KEY_00025=sk-new-value-25\n".to_string(),
            _ => format!("{l}\n"),
        })
        .collect();
    w.assert_sops_reads(&file, expected.as_bytes());
    assert_eq!(
        w.lk(&file).args(["get", "KEY_00025"]).success().stdout,
        b"sk-new-value-25"
    );

    // A new key is appended: one more line, the rest unchanged.
    let before = std::fs::read(&file).unwrap();
    w.lk(&file)
        .args(["set", "NEW_KEY"])
        .stdin("line1\nline2")
        .success();
    let after = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
    let data_before: Vec<&str> = std::str::from_utf8(&before)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("sops_"))
        .collect();
    let data_after: Vec<&str> = after.lines().filter(|l| !l.starts_with("sops_")).collect();
    assert_eq!(data_after.len(), 51);
    assert_eq!(&data_after[..50], &data_before[..]);
    assert!(data_after[50].starts_with("NEW_KEY=ENC[AES256_GCM,"));
    let out = w.sops_decrypt(&file, &w.key);
    assert!(
        out.stdout_str().ends_with("NEW_KEY=line1\\nline2\n"),
        "{}",
        out.stdout_str()
    );

    // Setting the same value keeps its ciphertext.
    let before = std::fs::read(&file).unwrap();
    let same = plain.lines().nth(1).unwrap().split_once('=').unwrap().1;
    w.lk(&file).args(["set", "KEY_00001"]).stdin(same).success();
    let changed = changed_lines(&before, &std::fs::read(&file).unwrap());
    assert!(
        changed
            .iter()
            .all(|(old, _)| key_of(old).starts_with("sops_")),
        "{changed:?}"
    );
}

#[test]
fn files_changed_by_sops_set_are_read_by_litekeys_and_vice_versa() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("mixed", AWKWARD, &[]);
    // sops writes…
    w.sops
        .set(&w.sb, &file, "SIMPLE", "from sops\nwith newline")
        .env("SOPS_AGE_KEY_FILE", &w.key)
        .success();
    let theirs = w.sops_decrypt(&file, &w.key);
    assert_eq!(w.lk(&file).arg("decrypt").success().stdout, theirs.stdout);
    // …litekeys writes on top, sops reads it.
    w.lk(&file)
        .args(["set", "SIMPLE"])
        .stdin("from litekeys")
        .success();
    w.lk(&file).args(["unset", "WITH_EQ"]).success();
    let expected = String::from_utf8(theirs.stdout)
        .unwrap()
        .replace(
            "SIMPLE=from sops\\nwith newline\n",
            "SIMPLE=from litekeys\n",
        )
        .replace("WITH_EQ=a=b=c\n", "");
    w.assert_sops_reads(&file, expected.as_bytes());
    // And again through the sops process backend.
    w.lk(&file)
        .args(["--backend", "sops", "set", "VIA_SOPS"])
        .stdin("quoted \"json\" \\ value")
        .success();
    w.lk(&file)
        .args(["--backend", "sops", "unset", "SPACES"])
        .success();
    let out = w.lk(&file).arg("decrypt").success();
    let text = out.stdout_str();
    assert!(
        text.ends_with("VIA_SOPS=quoted \"json\" \\ value\n"),
        "{text}"
    );
    assert!(!text.contains("\nSPACES="));
    assert_eq!(out.stdout, w.sops_decrypt(&file, &w.key).stdout);
}

#[test]
fn recipients_add_and_remove_with_real_age_keys() {
    let Some(w) = setup() else { return };
    let second = w.sb.age_keygen("keys/second.txt").unwrap();
    let second_key = w.sb.path("keys/second.txt");
    let file = w.sops_encrypt("team", AWKWARD, &[]);
    let expected = w.sops_decrypt(&file, &w.key).stdout;
    assert_eq!(
        w.sops_decrypt(&file, &second_key).exit(),
        Some(Exit::NoIdentity)
    );

    w.test(&file)
        .args(["recipients", "add", &second])
        .files_changed([&file])
        .run();
    w.test(&file)
        .args(["recipients", "list"])
        .stdout_is(format!("{}\n{second}\n", w.recipient))
        .run();
    // The new identity opens it, with sops and with litekeys.
    let theirs = w.sops_decrypt(&file, &second_key);
    assert_eq!(
        (theirs.exit(), &theirs.stdout),
        (Some(Exit::Ok), &expected),
        "{}",
        theirs.stderr
    );
    let ours =
        w.sb.cmd("litekeys")
            .env("SOPS_AGE_KEY_FILE", &second_key)
            .arg("-f")
            .arg(&file)
            .arg("decrypt")
            .success();
    assert_eq!(ours.stdout, expected);

    // Remove the first: it gets 128 from both; the second still reads.
    w.lk(&file)
        .args(["recipients", "remove", &w.recipient])
        .success();
    assert_eq!(w.sops_decrypt(&file, &w.key).exit(), Some(Exit::NoIdentity));
    w.lk(&file)
        .arg("decrypt")
        .expect(Exit::NoIdentity)
        .one_line_error("recipient");
    assert_eq!(w.sops_decrypt(&file, &second_key).stdout, expected);

    // The last one stays, and the file with it.
    let before = std::fs::read(&file).unwrap();
    w.sb.cmd("litekeys")
        .env("SOPS_AGE_KEY_FILE", &second_key)
        .arg("-f")
        .arg(&file)
        .args(["recipients", "remove", &second])
        .expect(Exit::Recipients)
        .one_line_error("last recipient");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn rotate_data_key_re_encrypts_every_value() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("rot", AWKWARD, &["--encrypted-regex", "KEY|SIMPLE"]);
    let expected = w.sops_decrypt(&file, &w.key).stdout;
    let before = std::fs::read_to_string(&file).unwrap();
    w.lk(&file).arg("rotate-data-key").success();
    let after = std::fs::read_to_string(&file).unwrap();
    w.assert_sops_reads(&file, &expected);
    let enc = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("ENC[") || l.starts_with("sops_age__list_0__map_enc"))
            .map(str::to_string)
            .collect()
    };
    let (old, new) = (enc(&before), enc(&after));
    assert_eq!(old.len(), new.len());
    for line in &new {
        assert!(!old.contains(line), "unchanged after rotation: {line}");
    }
    assert!(after.contains("sops_encrypted_regex=KEY|SIMPLE\n"));
}

#[test]
fn writes_keep_mode_and_go_through_symlinks() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("real", "A=1\nB=2\n", &[]);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = w.sb.path("link.enc.env");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    w.lk(&link).args(["set", "B"]).stdin("3").success();
    w.lk(&link).arg("rotate-data-key").success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o640);
    w.assert_sops_reads(&file, b"A=1\nB=3\n");
    let stray: Vec<_> = std::fs::read_dir(w.sb.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// A SOPS_AGE_KEY_CMD that, while the writer runs (litekeys natively, or
/// sops under litekeys), scans every /proc/*/cmdline for the value and
/// records what it saw, then prints the identity.
fn scanning_key_cmd(w: &litekeys_tests::write_lab::W, needle: &str) -> std::path::PathBuf {
    w.sb.write("scan/needle", needle);
    w.script(
        "scan/keycmd.sh",
        &format!(
            "dir={dir}\n\
             n=0\n\
             for f in /proc/[0-9]*/cmdline; do\n\
               n=$((n+1))\n\
               if tr '\\0' ' ' < \"$f\" 2>/dev/null | grep -qF -f \"$dir/needle\"; then echo \"$f\" >> \"$dir/hits\"; fi\n\
             done\n\
             echo \"$n\" >> \"$dir/scanned\"\n\
             cat {key}\n",
            dir = w.sb.path("scan").display(),
            key = w.key.display()
        ),
    )
}

#[test]
fn no_process_argv_holds_the_value_while_set_runs() {
    let Some(w) = setup() else { return };
    require!("grep");
    let needle = "sk-argv-canary-7f3a9d";
    let keycmd = scanning_key_cmd(&w, needle);
    // The scanner sees a process that does carry the needle in its argv.
    let mut control = std::process::Command::new("sh")
        .args(["-c", "sleep 30", needle])
        .spawn()
        .unwrap();
    let scan = w.sb.program(&keycmd).output();
    let _ = control.kill();
    let _ = control.wait();
    assert_eq!(scan.code, 0);
    let hits = std::fs::read_to_string(w.sb.path("scan/hits")).unwrap_or_default();
    assert!(
        hits.contains(&format!("/proc/{}/cmdline", control.id())),
        "the scanner is blind: {hits:?}"
    );
    std::fs::remove_file(w.sb.path("scan/hits")).unwrap();
    std::fs::remove_file(w.sb.path("scan/scanned")).unwrap();

    let file = w.sops_encrypt("argv", "A=1\n", &[]);
    for backend in ["native", "sops"] {
        w.sb.cmd("litekeys")
            .env("SOPS_AGE_KEY_CMD", &keycmd)
            .arg("-f")
            .arg(&file)
            .args(["--backend", backend, "set", "A"])
            .stdin(needle)
            .success()
            .never_shows(needle);
    }
    let scanned = std::fs::read_to_string(w.sb.path("scan/scanned")).unwrap();
    assert_eq!(
        scanned.lines().count(),
        2,
        "the key command ran once per backend"
    );
    assert!(scanned.lines().all(|n| n.parse::<u32>().unwrap() > 2));
    let hits = std::fs::read_to_string(w.sb.path("scan/hits")).unwrap_or_default();
    assert!(hits.is_empty(), "the value was in argv: {hits}");
    w.assert_sops_reads(&file, format!("A={needle}\n").as_bytes());
}

/// Runs argv on a pseudo-terminal: waits (bounded) for the prompt, types
/// $TYPED and Enter, prints the whole transcript, exits with argv's code.
const PTY_DRIVER: &str = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
deadline = time.time() + 30
def more():
    r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
    if not r:
        os.kill(pid, 9)
        sys.exit("pty driver: timed out")
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""
seen = b""
while b"input hidden" not in seen:
    chunk = more()
    if not chunk:
        break
    seen += chunk
os.write(fd, os.environb[b"TYPED"] + b"\n")
while True:
    chunk = more()
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

#[test]
fn set_from_a_terminal_does_not_echo_and_drops_the_newline() {
    let Some(w) = setup() else { return };
    let python = require!("python3");
    let file = w.sops_encrypt("tty", "A=1\n", &[]);
    let typed = "sk-typed-on-a-tty";
    let out =
        w.sb.program(&python)
            .args(["-c", PTY_DRIVER])
            .arg(litekeys_tests::bin("litekeys"))
            .env("SOPS_AGE_KEY_FILE", &w.key)
            .env("TYPED", typed)
            .arg("-f")
            .arg(&file)
            .args(["set", "A"])
            .success();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        transcript.contains("Value for A (input hidden"),
        "{transcript}"
    );
    assert!(!transcript.contains(typed), "echoed: {transcript}");
    assert!(transcript.contains("sha256:"), "{transcript}");
    // One line typed, its newline not part of the value.
    w.assert_sops_reads(&file, format!("A={typed}\n").as_bytes());
}
