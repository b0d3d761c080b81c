//! The recipients pinned in litekeys.toml (`recipients = [...]`): a forged
//! stanza passes "MAC ok" (sops' MAC does not cover it), so
//! `litekeys-rotate status` holds the source's recipients to the pin —
//! litekeys.toml's first, else the matching `.sops.yaml` rule's.

use super::recipients::forge;
use litekeys_tests::rotate_lab::Seeds;
use vault::Exit;

/// The seeds with `recipients = [...]` on top of litekeys.toml (trusted
/// again: the trust is pinned to the file's content).
fn pinned(s: &Seeds, recipients: &[&str]) {
    let list: Vec<String> = recipients.iter().map(|r| format!("\"{r}\"")).collect();
    let toml = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(
        &s.config,
        format!("recipients = [{}]\n{toml}", list.join(", ")),
    )
    .unwrap();
    s.sb.trust("repo/litekeys.toml");
}

fn status_json(s: &Seeds) -> serde_json::Value {
    let out = s.cmd().args(["status", "--json"]).output();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}: {}", out.stderr))
}

#[test]
fn status_reports_a_forged_recipient_against_the_litekeys_toml_pin() {
    let Some(s) = Seeds::new() else { return };
    let attacker = s.sb.age_keygen("keys/attacker.txt").unwrap();
    pinned(&s, &[&s.recipient]);
    forge(&s.source, &attacker);
    let before = std::fs::read(&s.source).unwrap();

    let out = s.cmd().arg("status").output();
    let text = out.stdout_str();
    assert!(text.contains("MAC ok"), "{text}");
    assert!(
        text.contains(&format!("pin     {} (1 recipients)", s.config.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "NOT PINNED: {attacker} (in the source, not in {}",
            s.config.display()
        )),
        "{text}"
    );
    assert!(
        !text.contains(&format!("NOT PINNED: {}", s.recipient)),
        "{text}"
    );

    let json = status_json(&s);
    let pin = &json["source"]["pin"];
    assert_eq!(pin["origin"], s.config.display().to_string(), "{json}");
    assert_eq!(pin["outside"], serde_json::json!([attacker]), "{json}");
    assert_eq!(
        std::fs::read(&s.source).unwrap(),
        before,
        "status wrote the source"
    );
}

#[test]
fn status_names_pins_that_disagree_and_says_when_nothing_is_pinned() {
    let Some(s) = Seeds::new() else { return };
    let out = s.cmd().arg("status").output();
    assert!(
        out.stdout_str().contains("pin     none"),
        "{}",
        out.stdout_str()
    );

    // .sops.yaml alone pins the source; litekeys.toml then comes first.
    let other = s.sb.age_keygen("keys/other.txt").unwrap();
    s.sb.write(
        "repo/secrets/.sops.yaml",
        format!("creation_rules:\n  - age: {other}\n"),
    );
    let json = status_json(&s);
    assert_eq!(
        json["source"]["pin"]["outside"],
        serde_json::json!([s.recipient]),
        "{json}"
    );

    pinned(&s, &[&s.recipient]);
    let out = s.cmd().arg("status").output();
    let text = out.stdout_str();
    assert!(
        text.contains(&format!("pin     {} (1 recipients)", s.config.display())),
        "{text}"
    );
    assert!(!text.contains("NOT PINNED"), "{text}");
    assert!(
        text.contains(&format!(
            "the pins disagree: {} pins {} that",
            s.config.display(),
            s.recipient
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "pins {other} that {} does not",
            s.config.display()
        )),
        "{text}"
    );
}

#[test]
fn a_bad_recipient_in_the_pin_is_a_one_line_usage_error() {
    let Some(s) = Seeds::new() else { return };
    for (bad, says) in [
        ("age1notarecipient", "is not an age X25519 recipient"),
        (
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            "an age SECRET key",
        ),
    ] {
        pinned(&s, &[&s.recipient, bad]);
        s.cmd()
            .arg("status")
            .expect(Exit::Usage)
            .one_line_error(&format!("{}:1: ", s.config.display()))
            .one_line_error(says)
            .never_shows(bad);
        // Back to the seeds' file for the next case.
        let toml = std::fs::read_to_string(&s.config).unwrap();
        let rest = toml.split_once('\n').unwrap().1.to_string();
        std::fs::write(&s.config, rest).unwrap();
    }
}
