//! Bad input to the write path: every refusal is one line on stderr naming
//! the file, a distinct exit code (see `litekeys --help`), an empty stdout,
//! and the file byte-for-byte as it was.

use litekeys_tests::write_lab::setup;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use vault::Exit;

fn assert_unchanged(file: &Path, before: &[u8]) {
    assert_eq!(
        std::fs::read(file).unwrap(),
        before,
        "{} changed",
        file.display()
    );
}

fn no_strays(dir: &Path) {
    let stray: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temp files left: {stray:?}");
}

#[test]
fn keys_a_dotenv_file_cannot_hold_are_refused_as_bad_input() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("keys", "A=1\n", &[]);
    let before = std::fs::read(&file).unwrap();
    let bad: [&OsStr; 7] = [
        OsStr::from_bytes(b"NOT_UTF8_\xff"),
        OsStr::new("A=B"),
        OsStr::new("TWO\nLINES"),
        OsStr::new("CR\r"),
        OsStr::new("#COMMENT"),
        OsStr::new("sops_mac"),
        OsStr::new(""),
    ];
    for key in bad {
        w.test(&file)
            .arg("set")
            .arg(key)
            .stdin("sk-never-written")
            .status(Exit::BadInput)
            .one_line_error("keys.enc.env")
            .never_shows("sk-never-written")
            .files_unchanged([&file])
            .run();
        assert_unchanged(&file, &before);
        w.test(&file)
            .arg("unset")
            .arg(key)
            .status(Exit::BadInput)
            .one_line_error("keys.enc.env")
            .files_unchanged([&file])
            .run();
        assert_unchanged(&file, &before);
    }
    // A NUL cannot reach argv; in a plaintext to encrypt it is refused.
    let out = w.sb.path("nul.enc.env");
    let input = w.sb.write("nul.env", b"A=1\nB\0C=sk-nul-value\n");
    w.sb.test("litekeys")
        .args(["encrypt", "--age", &w.recipient, "-o"])
        .arg(&out)
        .arg(&input)
        .status(Exit::BadInput)
        .one_line_error("line 2")
        .never_shows("sk-nul-value")
        .run();
    assert!(!out.exists());
    // Non-UTF-8 in a key of a plaintext: refused with its line.
    let input = w.sb.write("latin1.env", b"A=1\nB=2\nCL\xc9=sk-latin\n");
    w.sb.test("litekeys")
        .args(["encrypt", "--age", &w.recipient, "-o"])
        .arg(&out)
        .arg(&input)
        .status(Exit::BadInput)
        .one_line_error("latin1.env:3")
        .never_shows("sk-latin")
        .run();
    assert!(!out.exists());
}

#[test]
fn a_read_only_directory_is_refused_as_cannot_write() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("ro/locked", "A=1\n", &[]);
    let dir = w.sb.path("ro");
    let before = std::fs::read(&file).unwrap();
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(&dir, 0o555);
    let root = std::fs::metadata(w.sb.path("")).unwrap().uid() == 0;
    let run = if root {
        // root writes anywhere: run litekeys as nobody, who can read but
        // not write the directory.
        let setpriv = litekeys_tests::require!("setpriv");
        mode(w.sb.path("").as_path(), 0o755);
        mode(&w.sb.path("keys"), 0o755);
        mode(&w.key, 0o644);
        mode(&file, 0o644);
        w.sb.program(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(litekeys_tests::bin("litekeys"))
            .env("SOPS_AGE_KEY_FILE", &w.key)
            .arg("-f")
            .arg(&file)
    } else {
        w.lk(&file)
    };
    run.args(["set", "A"])
        .stdin("sk-read-only")
        .expect(Exit::CannotWrite)
        .one_line_error("locked.enc.env")
        .never_shows("sk-read-only");
    assert_unchanged(&file, &before);
    no_strays(&dir);
    mode(&dir, 0o755);
}

#[test]
fn a_file_changed_between_read_and_write_is_read_again_and_both_changes_land() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("race", "A=1\nB=2\n", &[]);
    // The identity command runs after litekeys has read the file and
    // before it replaces it: there, a real `sops set` changes the file.
    let keycmd = w.script(
        "race/keycmd.sh",
        &format!(
            "if [ ! -e {done} ]; then\n  : > {done}\n  \
             echo '\"sk-theirs\"' | env -u SOPS_AGE_KEY_CMD SOPS_AGE_KEY_FILE={key} {sops} set \
             --input-type dotenv --output-type dotenv --value-stdin {file} '[\"B\"]' >&2 || exit 1\nfi\n\
             cat {key}\n",
            done = w.sb.path("race/done").display(),
            key = w.key.display(),
            sops = w.sops.path().display(),
            file = file.display()
        ),
    );
    w.sb.cmd("litekeys")
        .env("SOPS_AGE_KEY_CMD", &keycmd)
        .arg("-f")
        .arg(&file)
        .args(["set", "A"])
        .stdin("sk-ours")
        .success()
        .never_shows("sk-ours");
    assert!(w.sb.path("race/done").exists(), "the race was not staged");
    // Their change was seen (not written over): the set was read again.
    w.assert_sops_reads(&file, b"A=sk-ours\nB=sk-theirs\n");
    no_strays(&w.sb.path(""));
}

#[test]
fn a_held_lock_is_waited_for_then_refused_as_locked() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("lock", "A=1\n", &[]);
    let before = std::fs::read(&file).unwrap();
    let held = vault::store::Lock::acquire(&file, false).unwrap();
    w.test(&file)
        .args(["set", "A"])
        .stdin("2")
        .status(Exit::Locked)
        .one_line_error("locked")
        .files_unchanged([&file])
        .run();
    assert_unchanged(&file, &before);
    // Released while a writer waits: the writer goes ahead.
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        drop(held);
    });
    w.lk(&file).args(["set", "A"]).stdin("2").success();
    release.join().unwrap();
    w.assert_sops_reads(&file, b"A=2\n");
}

#[test]
fn refusals_leave_the_file_as_it_was() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("keep", "A=1\n", &[]);
    let before = std::fs::read(&file).unwrap();
    // Not an age recipient.
    w.test(&file)
        .args(["recipients", "add", "age1notarecipient"])
        .status(Exit::Recipients)
        .one_line_error("not an age recipient")
        .files_unchanged([&file])
        .run();
    // Not a recipient of this file.
    let other = w.sb.age_keygen("keys/other.txt").unwrap();
    w.test(&file)
        .args(["recipients", "remove", &other])
        .status(Exit::Recipients)
        .one_line_error("not a recipient")
        .files_unchanged([&file])
        .run();
    // The wrong identity: sops' 128.
    w.sb.test("litekeys")
        .env("SOPS_AGE_KEY_FILE", w.sb.path("keys/other.txt"))
        .arg("-f")
        .arg(&file)
        .args(["set", "A"])
        .stdin("sk-wrong-identity")
        .status(Exit::NoIdentity)
        .one_line_error("keep.enc.env")
        .never_shows("sk-wrong-identity")
        .files_unchanged([&file])
        .run();
    // No such key to unset.
    w.test(&file)
        .args(["unset", "NOPE"])
        .status(Exit::Error)
        .one_line_error("no key NOPE")
        .files_unchanged([&file])
        .run();
    assert_unchanged(&file, &before);
    // Tampered (lastmodified moved): sops' 51, for every write.
    let text = String::from_utf8(before.clone()).unwrap();
    let at = text.find("sops_lastmodified=").unwrap() + "sops_lastmodified=".len();
    let tampered = format!("{}1999{}", &text[..at], &text[at + 4..]);
    std::fs::write(&file, &tampered).unwrap();
    for args in [
        &["set", "A"][..],
        &["unset", "A"],
        &["rotate-data-key"],
        &["recipients", "add", &other],
    ] {
        w.test(&file)
            .args(args)
            .stdin("sk-tampered")
            .status(Exit::MacMismatch)
            .one_line_error("MAC mismatch")
            .files_unchanged([&file])
            .run();
        assert_unchanged(&file, tampered.as_bytes());
    }
    // Encrypting with no recipient anywhere.
    let input = w.sb.write("noone/plain.env", "A=1\n");
    w.sb.test("litekeys")
        .arg("encrypt")
        .arg(&input)
        .status(Exit::Recipients)
        .one_line_error("no recipient")
        .files_unchanged(["noone"])
        .run();
    // Writing a file that is not there creates no lock next to it.
    let missing = w.sb.path("noone/missing.enc.env");
    w.lk(&missing)
        .args(["set", "A"])
        .stdin("x")
        .expect(Exit::Error)
        .one_line_error("missing.enc.env");
    assert!(!w.sb.path("noone/.missing.enc.env.lock").exists());
    // sops itself agrees on the tampered file.
    let theirs = w
        .sops("decrypt")
        .env("SOPS_AGE_KEY_FILE", &w.key)
        .arg(&file)
        .output();
    assert_eq!(theirs.exit(), Some(Exit::MacMismatch));
}
