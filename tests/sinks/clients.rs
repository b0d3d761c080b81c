//! A rotation and a sync write each client file in place: exactly the
//! value's line changes, `status` is in sync afterwards, a reference is
//! left alone.

use super::{FILES, filled, lab};
use litekeys_tests::rotate_lab::{OLD_MASTER, OLD_SALT};
use vault::Exit;

/// The lines of `before` and `after` that differ (the same line count).
fn differing_lines(before: &str, after: &str) -> Vec<String> {
    assert_eq!(before.lines().count(), after.lines().count(), "{after}");
    before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .map(|(_, a)| a.to_string())
        .collect()
}

/// Each client file is its template with `master` for the old master key:
/// one line differs, the one holding the key.
fn assert_clients_hold(s: &litekeys_tests::rotate_lab::Seeds, master: &str) {
    for (rel, template) in FILES {
        let before = filled(template);
        let after = s.read(&s.sb.home().join(rel));
        assert_eq!(after, before.replace(OLD_MASTER, master), "{rel}");
        let changed = differing_lines(&before, &after);
        assert_eq!(changed.len(), 1, "{rel}: {changed:?}");
        assert!(changed[0].contains(master), "{rel}: {changed:?}");
    }
}

fn sink_lines<'a>(status: &'a str, kind: &str) -> Vec<&'a str> {
    status
        .lines()
        .filter(|l| l.starts_with("sink") && l.split_whitespace().any(|w| w == kind))
        .collect()
}

#[test]
fn a_rotation_writes_every_client_file_in_place_and_status_is_in_sync() {
    let Some(s) = lab(|t| t) else { return };
    // The seeds' Droid settings start drifted (a stale route): exit 10.
    let before = s.test().arg("status").status(Exit::Drift).run();
    for kind in ["litellm-config", "json", "toml", "yaml"] {
        let lines = sink_lines(before.stdout_str(), kind);
        assert!(
            lines.len() == 1 && lines[0].contains("in-sync"),
            "{kind}: {}",
            before.stdout_str()
        );
    }
    let home = s.sb.home();
    s.test()
        .args(["--yes", "--no-restart"])
        .never_shows(OLD_MASTER)
        .files_changed(FILES.map(|(rel, _)| format!("home/{rel}")))
        .run();
    let master = s.master();
    assert_ne!(master, OLD_MASTER);
    assert_clients_hold(&s, &master);
    s.assert_all_hold(&master);
    // The salt key was not rotated: config.yaml keeps it, quoted.
    let config = s.read(&home.join(".config/litellm/config.yaml"));
    assert!(
        config.contains(&format!("salt_key: '{OLD_SALT}'")),
        "{config}"
    );
    let after = s.test().arg("status").never_shows(&master).run();
    for kind in ["litellm-config", "json", "toml", "yaml"] {
        let lines = sink_lines(after.stdout_str(), kind);
        assert!(
            lines.len() == 1 && lines[0].contains("in-sync"),
            "{kind}: {}",
            after.stdout_str()
        );
    }
}

#[test]
fn status_shows_the_drift_and_sync_repairs_it() {
    let Some(s) = lab(|t| t) else { return };
    let pulled = "sk-PULLEDkey000000aaaaBBBBccccDDDDeeeeFFFFggggPULL";
    s.sops
        .set(&s.sb, &s.source, "LITELLM_MASTER_KEY", pulled)
        .success();
    let status = s
        .test()
        .arg("status")
        .status(Exit::Drift)
        .never_shows(pulled)
        .files_unchanged([""])
        .run();
    for kind in ["litellm-config", "json", "toml", "yaml"] {
        let lines = sink_lines(status.stdout_str(), kind);
        assert!(
            lines.len() == 1 && lines[0].contains("drifted"),
            "{kind}: {}",
            status.stdout_str()
        );
    }
    s.test()
        .args(["sync", "--yes", "--no-restart"])
        .never_shows(pulled)
        .run();
    assert_clients_hold(&s, pulled);
    s.cmd().arg("status").success();
    let again = s.cmd().arg("sync").success();
    assert!(
        again.stdout_str().contains("every sink is in sync"),
        "{}",
        again.stdout_str()
    );
}

#[test]
fn an_os_environ_reference_in_litellm_config_is_left_alone() {
    let Some(s) = lab(|t| t) else { return };
    let rel = "home/.config/litellm/config.yaml";
    let text = filled(super::LITELLM_CONFIG).replace(OLD_MASTER, "os.environ/LITELLM_MASTER_KEY");
    s.sb.write(rel, &text);
    let status = s.test().arg("status").status(Exit::Drift).run();
    let line = sink_lines(status.stdout_str(), "litellm-config");
    assert!(
        line.len() == 1 && line[0].contains("in-sync"),
        "{}",
        status.stdout_str()
    );
    assert!(
        status
            .stdout_str()
            .contains("general_settings.master_key is an os.environ/ reference"),
        "{}",
        status.stdout_str()
    );
    s.test()
        .args(["--yes", "--no-restart"])
        .files_unchanged([rel])
        .run();
    assert_eq!(s.read(&s.sb.path(rel)), text);
}
