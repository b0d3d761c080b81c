//! `recover` tells the truth. On 0.1.0 it said "every file holds the OLD
//! keys" without looking: a file another program rewrote between the crash
//! and the recovery (Droid re-serialises settings.json, `litekeys set`
//! rewrites the source) was either overwritten with the backup, dropping
//! that program's change, or left holding the never-committed new key.
//! Each test kills a rotation after every file was written and before the
//! commit (the fault-injection build), changes a file as that program
//! would, and recovers.

use litekeys_tests::rotate_lab::*;
use serde_json::Value;
use vault::Exit;

const KILLED: i32 = 128 + 9;

/// A rotation killed once every file holds the new key, before the commit;
/// returns that never-committed key.
fn crashed_before_the_commit(s: &Seeds) -> String {
    let out = s
        .cmd()
        .arg("--yes")
        .env("LITEKEYS_FAULT", "sinks-written")
        .output();
    assert_eq!(
        out.code, KILLED,
        "not killed at sinks-written (build with the fault-injection feature): {}",
        out.stderr
    );
    let new = s.master();
    assert_ne!(new, OLD_MASTER, "the source was written");
    new
}

fn settings_path(s: &Seeds) -> std::path::PathBuf {
    s.sb.home().join(".factory/settings.json")
}

fn settings(s: &Seeds) -> Value {
    serde_json::from_str(&s.read(&settings_path(s))).unwrap()
}

#[test]
fn droid_rewrote_its_settings_after_the_crash_gets_the_old_key_back_and_keeps_its_change() {
    let Some(s) = Seeds::new() else { return };
    let new = crashed_before_the_commit(&s);
    // Droid rewrites the file from memory: re-serialised (other bytes), a
    // field of its own added, another route changed, the gateway routes
    // still on the key it read.
    let mut doc = settings(&s);
    assert_eq!(doc["customModels"][2]["apiKey"], new.as_str());
    doc["sessionDefaultSettings"] = serde_json::json!({"autonomyMode": "auto-low"});
    doc["customModels"][0]["displayName"] = "Kimi K2.5 [renamed in Droid]".into();
    std::fs::write(
        settings_path(&s),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();

    let out = s.cmd().arg("recover").success();
    let said = out.stdout_str();
    assert!(
        said.contains("re-applied the old key to a file changed since the crash"),
        "{said}"
    );
    let line = said
        .lines()
        .find(|l| l.contains("settings.json"))
        .unwrap_or_else(|| panic!("settings.json is not named: {said}"));
    assert!(line.contains("re-applied"), "{said}");
    // The files nobody touched since are named as restored and checked.
    let env_line = said
        .lines()
        .find(|l| l.contains("litellm.env"))
        .unwrap_or_else(|| panic!("litellm.env is not named: {said}"));
    assert!(
        env_line.contains("restored from the backup, holds the old key (checked)"),
        "{said}"
    );
    assert!(!said.contains(&new) && !said.contains(OLD_MASTER), "{said}");

    let doc = settings(&s);
    assert_eq!(doc["customModels"][2]["apiKey"], OLD_MASTER);
    assert_eq!(doc["customModels"][3]["apiKey"], OLD_MASTER);
    assert_eq!(
        doc["sessionDefaultSettings"]["autonomyMode"], "auto-low",
        "Droid's own change was dropped"
    );
    assert_eq!(
        doc["customModels"][0]["displayName"],
        "Kimi K2.5 [renamed in Droid]"
    );
    assert!(!s.read(&settings_path(&s)).contains(&new));
    assert_eq!(s.master(), OLD_MASTER);
    // Every other file got its backup back; the gateway routes all hold
    // the source's key now: in sync.
    s.assert_all_hold(OLD_MASTER);
    s.cmd().arg("status").expect(Exit::Ok);
    assert_eq!(s.strays(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_value_set_in_the_source_after_the_crash_is_kept_and_the_master_key_is_the_old_one() {
    let Some(s) = Seeds::new() else { return };
    let sinks_before: Vec<String> = s.sink_files().iter().map(|p| s.read(p)).collect();
    let new = crashed_before_the_commit(&s);
    // `litekeys set` (here the real sops, as interop) rewrites the source.
    s.sops
        .set(&s.sb, &s.source, "ADDED_AFTER_CRASH", "kept-value")
        .success();

    let out = s.cmd().arg("recover").success();
    let said = out.stdout_str();
    let line = said
        .lines()
        .find(|l| l.contains("global.enc.env"))
        .unwrap_or_else(|| panic!("the source is not named: {said}"));
    assert!(line.contains("re-applied"), "{said}");
    assert!(!said.contains(&new), "{said}");
    let values = s.decrypt();
    assert_eq!(values["LITELLM_MASTER_KEY"], OLD_MASTER);
    assert_eq!(values["LITELLM_SALT_KEY"], OLD_SALT);
    assert_eq!(
        values["ADDED_AFTER_CRASH"], "kept-value",
        "the set was lost"
    );
    // The sinks were not touched since: their backups are back, byte for byte.
    let after: Vec<String> = s.sink_files().iter().map(|p| s.read(p)).collect();
    assert_eq!(after, sinks_before);
}

#[test]
fn a_changed_file_that_cannot_be_checked_is_not_claimed() {
    let Some(s) = Seeds::new() else { return };
    let new = crashed_before_the_commit(&s);
    // Half-written by Droid: no JSON any more, the new key still in it.
    let broken = format!("{{\"customModels\": [{{\"apiKey\": \"{new}\"");
    std::fs::write(settings_path(&s), &broken).unwrap();

    let out = s.cmd().arg("recover").expect(Exit::RollbackIncomplete);
    assert!(
        out.stderr.contains("settings.json") && out.stderr.contains("could not verify"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&new) && !out.stdout_str().contains(&new));
    assert!(
        !out.stdout_str().contains("every file holds the OLD keys"),
        "{}",
        out.stdout_str()
    );
    // Left for the user to fix, not overwritten with the backup.
    assert_eq!(s.read(&settings_path(&s)), broken);
}
