//! Eight rotations started at once: exactly one succeeds, the others exit
//! locked, and the files are consistent.

use litekeys_tests::Outcome;
use litekeys_tests::rotate_lab::*;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use vault::Exit;

fn spawn(s: &Seeds, hold: Option<&std::path::Path>) -> Child {
    let mut cmd = s.rotation();
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(file) = hold {
        // The winner waits after taking the lock until the test says so.
        cmd.env("LITEKEYS_FAULT_HOLD", format!("locked:{}", file.display()));
    }
    cmd.spawn().unwrap()
}

#[test]
fn eight_at_once_one_wins_seven_are_locked_out() {
    let Some(s) = Seeds::new() else { return };
    let go = s.sb.path("go");
    let mut children: Vec<Option<Child>> = (0..8).map(|_| Some(spawn(&s, Some(&go)))).collect();
    let mut locked: Vec<Outcome> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while locked.len() < 7 {
        assert!(Instant::now() < deadline, "the losers did not exit");
        for slot in &mut children {
            let done = slot.as_mut().unwrap().try_wait().unwrap().is_some();
            if done {
                locked.push(slot.take().unwrap().wait_with_output().unwrap().into());
            }
        }
        children.retain(Option::is_some);
        std::thread::sleep(Duration::from_millis(10));
    }
    for out in &locked {
        assert_eq!(out.exit(), Some(Exit::Locked), "{}", out.stderr);
        out.one_line_error("holds the lock");
    }
    assert_eq!(children.len(), 1);
    std::fs::write(&go, "").unwrap();
    let winner: Outcome = children
        .pop()
        .unwrap()
        .unwrap()
        .wait_with_output()
        .unwrap()
        .into();
    assert_eq!(winner.exit(), Some(Exit::Ok), "{}", winner.stderr);
    let master = s.master();
    assert_ne!(master, OLD_MASTER);
    s.assert_all_hold(&master);
    s.cmd().arg("status").success();
}

#[test]
fn eight_racing_leave_consistent_files() {
    let Some(s) = Seeds::new() else { return };
    let children: Vec<Child> = (0..8).map(|_| spawn(&s, None)).collect();
    let outs: Vec<Outcome> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().into())
        .collect();
    let won = outs.iter().filter(|o| o.exit() == Some(Exit::Ok)).count();
    for o in &outs {
        assert!(
            matches!(o.exit(), Some(Exit::Ok | Exit::Locked)),
            "exit {}: {}",
            o.code,
            o.stderr
        );
    }
    assert!(won >= 1);
    let master = s.master();
    s.assert_all_hold(&master);
    let audit =
        std::fs::read_to_string(s.sb.home().join(".local/state/litekeys/audit.log")).unwrap();
    assert_eq!(audit.lines().count(), won, "one audit line per success");
    s.cmd().arg("status").success();
}
