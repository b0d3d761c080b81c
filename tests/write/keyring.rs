//! Identities in the OS keyring, against a real Secret Service: every
//! command runs inside its own `dbus-run-session` with a gnome-keyring
//! unlocked over the sandbox HOME (the login keyring lives on disk there,
//! so one session sees what another stored, as after a reboot). The real
//! user's keyring is never touched. Without a reachable keyring the
//! identity commands say so in one line and fail; nothing falls back to
//! memory.

use litekeys_tests::write_lab::{W, setup};
use litekeys_tests::{DOTENV, Outcome, Run, require};
use std::path::PathBuf;
use vault::Exit;

const SECRET_TOOL_LOOKUP: [&str; 5] = ["lookup", "service", "litekeys", "username", "age-identity"];

struct Keyring {
    w: W,
    wrapper: PathBuf,
}

fn keyring() -> Option<Keyring> {
    for peer in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
        litekeys_tests::peer(peer)?;
    }
    let w = setup()?;
    // A fresh session bus and keyring daemon per command. gnome-keyring
    // creates (then unlocks) the login keyring only with a non-empty
    // password on stdin. The bus, and any daemon it starts on demand,
    // write to /dev/null; the command gets the test's stdout and stderr.
    let wrapper = w.script(
        "in-keyring.sh",
        "exec 3>&1 4>&2\n\
         exec dbus-run-session -- sh -c 'printf %s litekeys-test | \
         gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; \
         exec \"$@\" 1>&3 2>&4 3>&- 4>&-' sh \"$@\" >/dev/null 2>&1\n",
    );
    Some(Keyring { w, wrapper })
}

impl Keyring {
    /// litekeys inside a keyring session, with no SOPS_AGE_* identity.
    fn lk(&self) -> Run {
        self.w
            .sb
            .program(&self.wrapper)
            .arg(litekeys_tests::bin("litekeys"))
    }

    fn secret_tool_lookup(&self) -> Outcome {
        self.w
            .sb
            .program(&self.wrapper)
            .arg("secret-tool")
            .args(SECRET_TOOL_LOOKUP)
            .output()
    }
}

/// stderr without dbus-daemon's own chatter.
fn ours(out: &Outcome) -> String {
    out.stderr
        .lines()
        .filter(|l| !l.starts_with("dbus-daemon["))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn secret_line(key_file: &std::path::Path) -> String {
    std::fs::read_to_string(key_file)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_string()
}

#[test]
fn an_imported_identity_opens_files_with_nothing_else_configured() {
    let Some(k) = keyring() else { return };
    let w = &k.w;
    let secret = secret_line(&w.key);
    let file = w.sops_encrypt("kr", "A=1\nLITELLM_MASTER_KEY=sk-kr\n", &[]);
    let expected = w.sops_decrypt(&file, &w.key).stdout;
    assert!(!w.sb.home().join(".config/sops/age/keys.txt").exists());

    let out = k.lk().args(["identity", "import"]).arg(&w.key).success();
    assert_eq!(out.stdout_str(), format!("{}\n", w.recipient));
    out.never_shows(&secret);
    // The entry is really in the Secret Service.
    let found = k.secret_tool_lookup();
    assert_eq!(found.code, 0, "{}", found.stderr);
    assert_eq!(found.stdout_str().trim(), secret);

    // No SOPS_AGE_KEY*, no keys.txt: the keyring opens the file, in a new
    // session, for reads and writes.
    let out = k.lk().arg("-f").arg(&file).arg("decrypt").success();
    assert_eq!(out.stdout, expected);
    k.lk()
        .arg("-f")
        .arg(&file)
        .args(["set", "A"])
        .stdin("2")
        .success();
    w.assert_sops_reads(&file, b"A=2\nLITELLM_MASTER_KEY=sk-kr\n");
    let out = k.lk().args(["identity", "recipient"]).success();
    assert_eq!(out.stdout_str(), format!("{}\n", w.recipient));

    // The same identity again (from stdin) is a no-op; another is refused.
    k.lk()
        .args(["identity", "import", "-"])
        .stdin(std::fs::read(&w.key).unwrap())
        .success();
    let other = w.sb.age_keygen("keys/other.txt").unwrap();
    let out = k
        .lk()
        .args(["identity", "import"])
        .arg(w.sb.path("keys/other.txt"))
        .expect(Exit::Error);
    assert!(ours(&out).contains("already holds"), "{}", out.stderr);
    assert_eq!(ours(&out).lines().count(), 1, "{}", out.stderr);
    assert!(
        !out.stderr
            .contains(&secret_line(&w.sb.path("keys/other.txt")))
    );
    let out = k.lk().args(["identity", "recipient"]).success();
    assert_eq!(out.stdout_str(), format!("{}\n", w.recipient));
    assert_ne!(other, w.recipient);

    // Forget: gone from the Secret Service, and the file no longer opens.
    let out = k.lk().args(["identity", "forget"]).success();
    assert!(ours(&out).contains(&w.recipient), "{}", out.stderr);
    assert_ne!(k.secret_tool_lookup().code, 0);
    let out = k
        .lk()
        .arg("-f")
        .arg(&file)
        .arg("decrypt")
        .expect(Exit::NoIdentity);
    assert_eq!(ours(&out).lines().count(), 1, "{}", out.stderr);
    let out = k.lk().args(["identity", "forget"]).expect(Exit::Error);
    assert!(ours(&out).contains("no age identity in the OS keyring"));
}

#[test]
fn a_new_identity_lives_only_in_the_keyring() {
    let Some(k) = keyring() else { return };
    let w = &k.w;
    let out = k.lk().args(["identity", "new"]).success();
    let recipient = out.stdout_str().trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let secret = k.secret_tool_lookup();
    assert!(secret.stdout_str().starts_with("AGE-SECRET-KEY-1"));
    out.never_shows(secret.stdout_str().trim());
    let out = k.lk().args(["identity", "recipient"]).success();
    assert_eq!(out.stdout_str().trim(), recipient);

    // Encrypt to it; litekeys opens it from the keyring, and sops does too
    // when handed the keyring entry through SOPS_AGE_KEY_CMD.
    let input = w.sb.write("new/plain.env", "TOKEN=sk-new-identity\n");
    let file = w.sb.path("new/enc.env");
    w.sb.cmd("litekeys")
        .args(["encrypt", "--age", &recipient, "-o"])
        .arg(&file)
        .arg(&input)
        .success();
    let out = k.lk().arg("-f").arg(&file).args(["get", "TOKEN"]).success();
    assert_eq!(out.stdout, b"sk-new-identity");
    let out =
        k.w.sb
            .program(&k.wrapper)
            .arg(&w.sops)
            .env(
                "SOPS_AGE_KEY_CMD",
                format!("secret-tool {}", SECRET_TOOL_LOOKUP.join(" ")),
            )
            .arg("decrypt")
            .args(DOTENV)
            .arg(&file)
            .output();
    assert_eq!(out.exit(), Some(Exit::Ok), "{}", out.stderr);
    assert_eq!(out.stdout, b"TOKEN=sk-new-identity\n");
}

#[test]
fn without_a_reachable_keyring_identity_commands_fail_in_one_line() {
    require!("age-keygen");
    let Some(mut w) = setup() else { return };
    // No DBUS_SESSION_BUS_ADDRESS (the sandbox drops it) and a runtime dir
    // with no bus in it.
    let runtime = w.sb.path("run-empty");
    std::fs::create_dir_all(&runtime).unwrap();
    w.sb.set_env("XDG_RUNTIME_DIR", &runtime);
    let secret = secret_line(&w.key);
    for args in [
        &["identity", "import"][..],
        &["identity", "new"],
        &["identity", "recipient"],
        &["identity", "forget"],
    ] {
        let mut run = w.sb.cmd("litekeys").args(args);
        if args[1] == "import" {
            run = run.arg(&w.key);
        }
        run.expect(Exit::Keyring)
            .one_line_error("no OS keyring is reachable")
            .never_shows(&secret);
    }
    w.sb.cmd("litekeys")
        .args(["identity", "import", "-"])
        .stdin(std::fs::read(&w.key).unwrap())
        .expect(Exit::Keyring)
        .one_line_error("DBUS_SESSION_BUS_ADDRESS")
        .never_shows(&secret);
    // Reads go on without it: the keyring is one place among others.
    let file = w.sops_encrypt("plain", "A=1\n", &[]);
    let out = w.lk(&file).arg("decrypt").success();
    assert_eq!(out.stdout, b"A=1\n");
    w.sb.cmd("litekeys")
        .arg("-f")
        .arg(&file)
        .arg("decrypt")
        .expect(Exit::NoIdentity)
        .one_line_error("no age identity found");
}
