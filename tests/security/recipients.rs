//! Recipient stanzas no MAC covers: a forged one (an attacker's recipient
//! with a copy of a real stanza's `enc`) must not receive the next data
//! key; the `.sops.yaml` creation rule pins who may.

use litekeys_tests::write_lab::{W, setup};
use std::path::{Path, PathBuf};
use vault::Exit;

/// A file encrypted to the sandbox's recipient, pinned by a `.sops.yaml`
/// next to it.
fn pinned(w: &W) -> PathBuf {
    w.sb.write(
        "secrets/.sops.yaml",
        format!("# team keys\ncreation_rules:\n  - age: {}\n", w.recipient),
    );
    let file = w.sops_encrypt("plain", "K=secret-value\n", &[]);
    let dest = w.sb.path("secrets/global.enc.env");
    std::fs::rename(&file, &dest).unwrap();
    dest
}

/// The attacker's stanza: the first stanza's lines copied under their own
/// recipient, as text (no key needed).
pub(super) fn forge(file: &Path, attacker: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut extra = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("sops_age__list_0__map_") {
            let (name, value) = rest.split_once('=').unwrap();
            let value = if name == "recipient" { attacker } else { value };
            extra.push_str(&format!("sops_age__list_1__map_{name}={value}\n"));
        }
    }
    std::fs::write(file, format!("{text}{extra}")).unwrap();
}

#[test]
fn a_forged_recipient_is_reported_and_never_gets_the_new_data_key() {
    let Some(w) = setup() else { return };
    let file = pinned(&w);
    let attacker = w.sb.age_keygen("keys/attacker.txt").unwrap();
    let attacker_key = w.sb.path("keys/attacker.txt");
    forge(&file, &attacker);
    let check = w.lk(&file).arg("check").success();
    assert!(check.stdout_str().contains("mac:          ok"));
    assert!(
        check
            .stdout_str()
            .contains(&format!("NOT PINNED:   {attacker}")),
        "{}",
        check.stdout_str()
    );
    let before = std::fs::read(&file).unwrap();
    w.lk(&file)
        .arg("rotate-data-key")
        .expect(Exit::Recipients)
        .one_line_error(&attacker);
    w.lk(&file)
        .args(["recipients", "add"])
        .arg(w.sb.age_keygen("keys/new.txt").unwrap())
        .expect(Exit::Recipients)
        .one_line_error(&attacker);
    assert_eq!(std::fs::read(&file).unwrap(), before, "nothing written");
    // The way out: remove it, then rotate.
    w.lk(&file)
        .args(["recipients", "remove", &attacker])
        .success();
    w.lk(&file).arg("rotate-data-key").success();
    for args in [&["decrypt"][..], &["get", "K"]] {
        w.lk(&file)
            .env("SOPS_AGE_KEY_FILE", &attacker_key)
            .args(args)
            .expect(Exit::NoIdentity)
            .never_shows("secret-value");
    }
    w.assert_sops_reads(&file, b"K=secret-value\n");
}

#[test]
fn recipients_add_pins_the_new_machine_keeping_the_rest_of_the_yaml() {
    let Some(w) = setup() else { return };
    let file = pinned(&w);
    let laptop = w.sb.age_keygen("keys/laptop.txt").unwrap();
    w.lk(&file).args(["recipients", "add", &laptop]).success();
    assert_eq!(
        String::from_utf8(w.sb.read("secrets/.sops.yaml")).unwrap(),
        format!(
            "# team keys\ncreation_rules:\n  - age: {},{laptop}\n",
            w.recipient
        )
    );
    w.lk(&file).arg("rotate-data-key").success();
    w.lk(&file)
        .env("SOPS_AGE_KEY_FILE", w.sb.path("keys/laptop.txt"))
        .args(["get", "K"])
        .success();
}

#[test]
fn encrypt_refuses_a_recipient_outside_the_pin() {
    let Some(w) = setup() else { return };
    pinned(&w);
    let other = w.sb.age_keygen("keys/other.txt").unwrap();
    w.sb.write("secrets/new.env", "A=1\n");
    w.sb.cmd("litekeys")
        .args([
            "encrypt",
            "--age",
            &other,
            "-o",
            "secrets/new.enc.env",
            "secrets/new.env",
        ])
        .expect(Exit::Recipients)
        .one_line_error(&other);
    assert!(!w.sb.path("secrets/new.enc.env").exists());
}

#[test]
fn no_error_quotes_an_age_secret_key() {
    let Some(w) = setup() else { return };
    let file = pinned(&w);
    let text = String::from_utf8(w.sb.read("keys/main.txt")).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    w.lk(&file)
        .args(["recipients", "add", &secret])
        .expect(Exit::Recipients)
        .one_line_error("age SECRET key")
        .never_shows(&secret)
        .never_shows(&secret[15..40]);
    w.lk(&file)
        .args(["recipients", "add", &format!("x{secret}")])
        .expect(Exit::Recipients)
        .never_shows(&secret[15..40]);
}

#[test]
fn check_says_when_nothing_pins_the_recipients() {
    let Some(w) = setup() else { return };
    let file = w.sops_encrypt("free", "K=v\n", &[]);
    let out = w.lk(&file).arg("check").success();
    assert!(
        out.stdout_str().contains("pin:          none"),
        "{}",
        out.stdout_str()
    );
}
