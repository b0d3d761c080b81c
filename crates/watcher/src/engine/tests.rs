use super::*;
use crate::actions::Drift;
use rotate::Env;
use rotate::config::{MASTER_KEY, SinkSpec};
use rotate::git::{PullError, Pulled};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vault::Secret;

/// Scripted outcomes for the engine's decisions (no peer is involved:
/// the end-to-end tests run the real ones). An empty list of results
/// means success.
#[derive(Default)]
struct Script {
    sync_results: Vec<Result<(), Failure>>,
    restart_results: Vec<Result<Done, Failure>>,
    /// Written by the next sync, as the real one rewrites the sinks.
    during_sync: Option<(PathBuf, &'static str)>,
    /// Written by the next restart: an edit that lands while it runs.
    during_restart: Option<(PathBuf, &'static str)>,
    calls: Vec<String>,
}

impl Actions for Script {
    fn read_source(&mut self, source: &Path) -> Result<SourceKeys, Failure> {
        let text = std::fs::read_to_string(source).map_err(|source_| vault::Error::Io {
            path: source.to_path_buf(),
            source: source_,
        })?;
        let mut keys = SourceKeys::default();
        keys.values
            .insert(MASTER_KEY.into(), Secret::from(text.trim().to_string()));
        Ok(keys)
    }
    fn drift(&mut self, _: &SinkSpec, _: &SourceKeys) -> Vec<Drift> {
        Vec::new()
    }
    fn sync(&mut self) -> Result<(), Failure> {
        self.calls.push("sync".into());
        if let Some((path, text)) = self.during_sync.take() {
            std::fs::write(path, text).unwrap();
        }
        next(&mut self.sync_results, ())
    }
    fn restart_and_verify(&mut self, reload: bool, _: &SourceKeys) -> Result<Done, Failure> {
        self.calls.push(format!("restart reload={reload}"));
        if let Some((path, text)) = self.during_restart.take() {
            std::fs::write(path, text).unwrap();
        }
        next(&mut self.restart_results, Done::Restarted)
    }
}

fn next<T>(results: &mut Vec<Result<T, Failure>>, ok: T) -> Result<T, Failure> {
    if results.is_empty() {
        Ok(ok)
    } else {
        results.remove(0)
    }
}

const CONF: &str = "litellm.service.d/litekeys.conf";

fn engine(dir: &Path, script: Script) -> Engine<Script> {
    std::fs::write(dir.join("s.env"), "sk-one-0123456789abcdef").unwrap();
    let d = dir.join("litellm.service.d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(dir.join(CONF), "[Service]\n").unwrap();
    let text = format!(
        "source = \"s.env\"\n[service]\nmanager = \"none\"\n\
         [[sink]]\nkind = \"systemd-env\"\npath = \"{CONF}\"\n"
    );
    let mut cfg = Config::parse(&dir.join("litekeys.toml"), &text, &Env::default()).unwrap();
    cfg.state_dir = dir.join("state");
    let set = Arc::new(WatchSet::new(&cfg));
    let zero = Duration::ZERO;
    Engine::new(cfg, set, script, Pacing::new(zero, zero, zero))
}

#[test]
fn a_sync_that_finds_the_lock_taken_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let script = Script {
        sync_results: vec![Err(Failure::Locked)],
        ..Script::default()
    };
    let mut e = engine(dir.path(), script);
    std::fs::write(dir.path().join("s.env"), "sk-two-0123456789abcdef").unwrap();
    e.look(None, false);
    assert_eq!(e.actions.calls, ["sync", "sync", "restart reload=true"]);
    assert_eq!(e.good_fp(), vault::fingerprint(b"sk-two-0123456789abcdef"));
    e.look(None, false);
    assert_eq!(e.actions.calls.len(), 3, "nothing new: nothing done");
}

#[test]
fn a_failed_verification_is_retried_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let script = Script {
        restart_results: vec![Err(unreachable()), Err(unreachable()), Ok(Done::Verified)],
        ..Script::default()
    };
    let mut e = engine(dir.path(), script);
    std::fs::write(dir.path().join(CONF), "[Service]\n# edited\n").unwrap();
    e.look(None, false);
    assert_eq!(e.retry, Some(true), "a drop-in: daemon-reload owed");
    e.on_timer();
    assert_eq!(e.pacing.failures(), 2);
    e.on_timer();
    assert_eq!(e.retry, None);
    assert_eq!(e.pacing.failures(), 0);
    assert_eq!(e.actions.calls, ["restart reload=true"; 3]);
}

#[test]
fn an_edit_made_during_the_restart_gets_a_restart_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let script = Script {
        during_restart: Some((dir.path().join(CONF), "[Service]\n# during\n")),
        ..Script::default()
    };
    let mut e = engine(dir.path(), script);
    std::fs::write(dir.path().join(CONF), "[Service]\n# before\n").unwrap();
    e.look(None, false);
    assert_eq!(e.actions.calls, ["restart reload=true"]);
    // The restart applied "# before" only: "# during" is still owed.
    e.look(None, false);
    assert_eq!(e.actions.calls, ["restart reload=true"; 2]);
    e.look(None, false);
    assert_eq!(e.actions.calls.len(), 2, "nothing new: nothing done");
}

#[test]
fn the_syncs_own_writes_are_not_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let script = Script {
        during_sync: Some((dir.path().join(CONF), "[Service]\n# synced\n")),
        ..Script::default()
    };
    let mut e = engine(dir.path(), script);
    std::fs::write(dir.path().join("s.env"), "sk-two-0123456789abcdef").unwrap();
    e.look(None, false);
    e.look(None, false);
    assert_eq!(e.actions.calls, ["sync", "restart reload=true"]);
}

#[test]
fn a_failed_sync_accepts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sync_failed = Failure::Sync(rotate::Error::Vault(vault::Error::Io {
        path: "/sink".into(),
        source: std::io::ErrorKind::PermissionDenied.into(),
    }));
    let script = Script {
        sync_results: vec![Err(sync_failed)],
        ..Script::default()
    };
    let mut e = engine(dir.path(), script);
    std::fs::write(dir.path().join("s.env"), "sk-two-0123456789abcdef").unwrap();
    e.look(None, false);
    assert_eq!(e.actions.calls, ["sync"]);
    assert_eq!(e.good_fp(), vault::fingerprint(b"sk-one-0123456789abcdef"));
}

#[test]
fn an_implausible_master_key_is_neither_synced_nor_restarted_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(dir.path(), Script::default());
    for bad in ["", "sk-short", "${LITELLM_MASTER_KEY}"] {
        std::fs::write(dir.path().join("s.env"), bad).unwrap();
        e.look(None, false);
        assert!(e.actions.calls.is_empty(), "{bad:?}: {:?}", e.actions.calls);
        assert_eq!(e.good_fp(), vault::fingerprint(b"sk-one-0123456789abcdef"));
    }
    // A hand edit of a sink is not restarted on either while the source is bad.
    std::fs::write(dir.path().join(CONF), "[Service]\n# edited\n").unwrap();
    e.keys = None;
    e.look(None, false);
    assert!(e.actions.calls.is_empty(), "{:?}", e.actions.calls);
    std::fs::write(dir.path().join("s.env"), "sk-two-0123456789abcdef").unwrap();
    e.look(None, false);
    assert_eq!(e.actions.calls, ["sync", "restart reload=true"]);
}

fn unreachable() -> Failure {
    Failure::Verify(rotate::gateway::GatewayError::Unreachable {
        url: "http://127.0.0.1:4000".into(),
        reason: "HTTP 400".into(),
    })
}

/// The audit line rotate writes for a rotation from `old` to `new`.
fn commit(state: &Path, old: &[u8], new: &[u8], verified: bool) {
    let summary = rotate::audit::Summary {
        action: "rotate".into(),
        keys: vec![rotate::audit::KeyChange {
            name: MASTER_KEY.into(),
            old: Some(vault::fingerprint(old)),
            new: vault::fingerprint(new),
        }],
    };
    rotate::audit::append(state, &summary, verified, "0a1b2c").unwrap();
}

#[test]
fn a_change_a_rotation_restarted_and_verified_is_not_restarted_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(dir.path(), Script::default());
    // Past the coarse clock of file times: the commit is after the start.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(dir.path().join("s.env"), "sk-two-0123456789abcdef").unwrap();
    commit(
        &e.config.state_dir,
        b"sk-one-0123456789abcdef",
        b"sk-two-0123456789abcdef",
        true,
    );
    e.look(None, false);
    assert!(e.actions.calls.is_empty(), "{:?}", e.actions.calls);
    assert_eq!(e.good_fp(), vault::fingerprint(b"sk-two-0123456789abcdef"));
}

#[test]
fn an_unverified_or_other_commit_does_not_stop_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(dir.path(), Script::default());
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(dir.path().join("s.env"), "sk-two-0123456789abcdef").unwrap();
    commit(
        &e.config.state_dir,
        b"sk-one-0123456789abcdef",
        b"sk-two-0123456789abcdef",
        false,
    );
    e.look(None, false);
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(dir.path().join("s.env"), "sk-three-0123456789abcdef").unwrap();
    commit(
        &e.config.state_dir,
        b"sk-two-0123456789abcdef",
        b"sk-four-0123456789abcdef",
        true,
    );
    e.look(None, false);
    assert_eq!(
        e.actions.calls,
        ["sync", "restart reload=true", "sync", "restart reload=true"]
    );
}

/// A repository's pulls, scripted: each writes what a fast-forward would
/// leave in the source (or nothing) and returns its outcome.
struct Pulls {
    source: PathBuf,
    steps: Vec<(Option<&'static str>, Result<Pulled, PullError>)>,
}

impl crate::pull::Pull for Pulls {
    fn pull(&mut self) -> Result<Pulled, PullError> {
        let (text, result) = self.steps.remove(0);
        if let Some(text) = text {
            std::fs::write(&self.source, text).unwrap();
        }
        result
    }
}

fn refused(commit: &str) -> PullError {
    PullError::Refused {
        commit: commit.into(),
        subject: "tampered".into(),
        repo: "/repo".into(),
        back: "abc1234".into(),
        source: Box::new(rotate::Error::Locked("/repo/s.env".into())),
    }
}

fn pulled(from: &str, to: &str) -> Result<Pulled, PullError> {
    Ok(Pulled {
        from: from.into(),
        to: to.into(),
    })
}

#[test]
fn a_pulled_source_is_applied_at_once_and_a_refused_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pulls = Pulls {
        source: dir.path().join("s.env"),
        steps: vec![
            (None, pulled("0001111", "0001111")),
            (
                Some("sk-two-0123456789abcdef"),
                pulled("0001111", "abc1234"),
            ),
            (None, Err(refused("def5678"))),
            (None, Err(refused("def5678"))),
        ],
    };
    let every = Duration::from_secs(2);
    let mut e = engine(dir.path(), Script::default())
        .pulling(crate::pull::Pulling::new(every, Box::new(pulls)));
    assert!(
        e.pull.as_ref().unwrap().next <= std::time::Instant::now(),
        "due at start"
    );
    e.pull_now();
    assert!(e.actions.calls.is_empty(), "up to date: nothing done");
    let next = e.pull.as_ref().unwrap().next;
    assert!(
        next > std::time::Instant::now() + every / 2,
        "the next pull an interval on"
    );
    e.pull_now();
    assert_eq!(e.actions.calls, ["sync", "restart reload=true"]);
    assert_eq!(e.good_fp(), vault::fingerprint(b"sk-two-0123456789abcdef"));
    e.pull_now();
    assert!(
        e.pull_said
            .as_deref()
            .unwrap()
            .contains("refused commit def5678")
    );
    e.pull_now();
    assert_eq!(
        e.actions.calls.len(),
        2,
        "refused: nothing synced or restarted"
    );
    assert_eq!(e.good_fp(), vault::fingerprint(b"sk-two-0123456789abcdef"));
}
