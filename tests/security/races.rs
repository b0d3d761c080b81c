//! Races and files on the vault side: a concurrent `sops set` is never
//! lost, what litekeys creates is private whatever the umask, interrupted
//! writes leave nothing behind, `SOPS_AGE_KEY_CMD` runs once.

use litekeys_tests::write_lab::setup;
use std::os::unix::fs::PermissionsExt;
use vault::Exit;

#[test]
fn a_concurrent_sops_set_is_never_lost() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("race", "START=1\n", &[]);
    for round in 0..30 {
        let ours = w
            .lk(&file)
            .args(["set", &format!("A{round}")])
            .stdin(format!("a{round}"));
        let theirs = w
            .sops("set")
            .env("SOPS_AGE_KEY_FILE", &w.key)
            .arg(&file)
            .arg(format!("[\"B{round}\"]"))
            .arg(format!("\"b{round}\""));
        let ours = std::thread::spawn(move || ours.output());
        let theirs = std::thread::spawn(move || theirs.output());
        let (ours, theirs) = (ours.join().unwrap(), theirs.join().unwrap());
        assert_eq!(theirs.code, 0, "round {round}: sops set: {}", theirs.stderr);
        assert_eq!(
            ours.exit(),
            Some(Exit::Ok),
            "round {round}: {}",
            ours.stderr
        );
        let plain = w.lk(&file).arg("decrypt").success();
        let text = plain.stdout_str();
        for line in [format!("A{round}=a{round}"), format!("B{round}=b{round}")] {
            assert!(
                text.lines().any(|l| l == line),
                "round {round}: {line} lost"
            );
        }
    }
}

#[test]
fn files_litekeys_creates_are_private_under_umask_000() {
    let Some(w) = setup() else { return };
    w.sb.write("plain.env", "A=1\n");
    let file = w.sops_encrypt("umask", "A=1\n", &[]);
    let lk = litekeys_tests::bin("litekeys");
    let script = format!(
        "umask 000\n\
         {lk} encrypt --age {r} -o new.enc.env plain.env\n\
         {lk} -f {f} ci env-file out.env\n\
         printf v | {lk} -f {f} set B\n",
        lk = lk.display(),
        r = w.recipient,
        f = file.display()
    );
    w.sb.program("sh")
        .args(["-c", &script])
        .env("SOPS_AGE_KEY_FILE", &w.key)
        .success();
    let lock = file.with_file_name(format!(
        ".{}.lock",
        file.file_name().unwrap().to_string_lossy()
    ));
    for path in [w.sb.path("new.enc.env"), w.sb.path("out.env"), lock] {
        if !path.exists() {
            continue; // a lock file is removed when released on some systems
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn the_next_write_removes_temps_an_interrupted_one_left() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("temps", "A=1\n", &[]);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    // What a `set` killed between writing its temp file and the rename
    // leaves (and `ci env-file` leaves a plaintext one).
    let left = file.with_file_name(format!(".{name}.aB3xY9.tmp"));
    std::fs::write(&left, "A=plaintext\n").unwrap();
    let env_left = w.sb.path(".out.env.Zz9Qq1.tmp");
    std::fs::write(&env_left, "A='plaintext'\n").unwrap();
    w.lk(&file).args(["set", "B"]).stdin("b").success();
    w.lk(&file).args(["ci", "env-file", "out.env"]).success();
    assert!(!left.exists(), "the set left {}", left.display());
    assert!(
        !env_left.exists(),
        "ci env-file left {}",
        env_left.display()
    );
}

#[test]
fn sops_age_key_cmd_runs_once_for_a_set() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("cmd", "A=1\n", &[]);
    let script = w.script(
        "key-cmd",
        &format!(
            "echo run >> {}\ncat {}\n",
            w.sb.path("runs").display(),
            w.key.display()
        ),
    );
    w.lk(&file)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("SOPS_AGE_KEY_CMD", &script)
        .args(["set", "B"])
        .stdin("b")
        .success();
    assert_eq!(String::from_utf8(w.sb.read("runs")).unwrap(), "run\n");
}
