//! The transaction against real files in a temporary directory, with test
//! doubles in the activation step.

use super::*;
use crate::Env;
use crate::activation::{ActivateError, Activation, Failing, Skip};
use crate::audit;
use age::secrecy::ExposeSecret;
use age::x25519;
use std::path::Path;
use vault::Document;
use vault::identity::Source;

struct Fixture {
    dir: tempfile::TempDir,
    config: Config,
    ids: Identities,
}

const SETTINGS: &str = r#"{
  "customModels": [
    {"model": "k", "baseUrl": "http://localhost:8317/v1", "apiKey": "vibeproxy"},
    {"model": "g", "baseUrl": "http://127.0.0.1:4000/v1", "apiKey": "sk-old-master-key-0001"}
  ]
}
"#;

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let id = x25519::Identity::generate();
    let options = vault::EncryptOptions {
        recipients: vec![id.to_public().to_string()],
        ..Default::default()
    };
    std::fs::create_dir_all(root.join("repo/secrets")).unwrap();
    let source = root.join("repo/secrets/global.enc.env");
    let doc = vault::encrypt(
        &source,
        b"LITELLM_MASTER_KEY=sk-old-master-key-0001\nLITELLM_SALT_KEY=salt-value-0000001\n",
        &options,
    )
    .unwrap();
    std::fs::write(&source, doc.to_bytes()).unwrap();
    std::fs::create_dir_all(root.join("home/.factory")).unwrap();
    std::fs::write(root.join("home/.factory/settings.json"), SETTINGS).unwrap();
    std::fs::write(
        root.join("home/litellm.env"),
        "# keys\nLITELLM_MASTER_KEY=sk-old-master-key-0001\n",
    )
    .unwrap();
    let toml = r#"
[service]
manager = "none"
[[sink]]
kind = "dotenv"
path = "~/litellm.env"
[[sink]]
kind = "droid"
path = "~/.factory"
[[sink]]
kind = "systemd-env"
path = "~/.config/systemd/user/litellm.service.d/litekeys.conf"
"#;
    let env = Env {
        home: Some(root.join("home")),
        cwd: root.join("repo"),
        xdg_state_home: Some(root.join("state")),
        ..Env::default()
    };
    let config = Config::parse(&root.join("repo/litekeys.toml"), toml, &env).unwrap();
    let ids = Identities::from_text(Source::Env, id.to_string().expose_secret());
    Fixture { dir, config, ids }
}

/// Every file under `root`, with its bytes.
fn snapshot(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.to_string_lossy();
                let empty_journal = name.ends_with(".journal") && p.metadata().unwrap().len() == 0;
                if !name.ends_with(".lock") && !empty_journal {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
    }
    out.sort();
    out
}

fn rotate(f: &Fixture, activator: &mut dyn Activate) -> Result<Report> {
    let req = Request {
        config: &f.config,
        identities: &f.ids,
        action: Action::Rotate {
            salt: false,
            force_salt: false,
        },
        dry_run: false,
    };
    run(&req, activator, &mut Quiet)
}

fn master(f: &Fixture) -> String {
    let doc = Document::read(&f.config.source).unwrap();
    let key = doc.data_key(&f.ids).unwrap();
    let plain = doc.decrypt(&key).unwrap();
    plain
        .get(MASTER_KEY)
        .unwrap()
        .0
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn failed_activation_restores_every_file_and_exits_rolled_back() {
    let f = fixture();
    let before = snapshot(f.dir.path());
    let mut double = Failing {
        reactivate_fails: false,
        calls: Vec::new(),
    };
    let err = rotate(&f, &mut double).unwrap_err();
    assert_eq!(err.exit(), vault::Exit::RolledBack, "{err}");
    assert!(err.to_string().contains("rolled back 4 file(s)"), "{err}");
    assert_eq!(double.calls, ["activate", "reactivate"]);
    assert_eq!(
        snapshot(f.dir.path()),
        before,
        "every file byte-identical, no journal left"
    );
}

#[test]
fn failed_reactivation_is_an_incomplete_rollback() {
    let f = fixture();
    let before = snapshot(f.dir.path());
    let mut double = Failing {
        reactivate_fails: true,
        calls: Vec::new(),
    };
    let err = rotate(&f, &mut double).unwrap_err();
    assert_eq!(err.exit(), vault::Exit::RollbackIncomplete, "{err}");
    assert!(err.to_string().contains("did not come back"), "{err}");
    assert_eq!(
        snapshot(f.dir.path()),
        before,
        "the files themselves were restored"
    );
}

/// Sees the files as they are when activation runs.
struct Inspect {
    seen: Option<(String, Option<String>, bool, bool)>,
}

impl Activate for Inspect {
    fn activate(
        &mut self,
        step: &Activation<'_>,
    ) -> std::result::Result<Verification, ActivateError> {
        let env = std::fs::read_to_string(step.config.sinks[0].path.clone()).unwrap();
        let new = step.new.as_str().unwrap().to_string();
        let journal_open = recover::pending(step.config);
        self.seen = Some((
            new.clone(),
            step.old.and_then(|o| o.as_str()).map(str::to_string),
            env.contains(&new) && journal_open,
            step.needs_daemon_reload() && step.routes.len() == 1,
        ));
        Ok(Verification::Verified("test double".into()))
    }

    fn reactivate(&mut self, _: &Activation<'_>) -> std::result::Result<String, ActivateError> {
        unreachable!()
    }
}

#[test]
fn activation_runs_after_the_sinks_and_before_the_commit() {
    let f = fixture();
    let mut inspect = Inspect { seen: None };
    let Report::Done(done) = rotate(&f, &mut inspect).unwrap() else {
        panic!("not done")
    };
    let (new, old, sinks_written_journal_open, hints) = inspect.seen.unwrap();
    assert_eq!(old.as_deref(), Some("sk-old-master-key-0001"));
    assert!(sinks_written_journal_open);
    assert!(
        hints,
        "systemd-env changed and the one gateway route is passed on"
    );
    assert_eq!(master(&f), new);
    assert!(done.verification.verified());
    assert!(!recover::pending(&f.config));
    let audit = std::fs::read_to_string(audit::path(&f.config.state_dir)).unwrap();
    assert!(audit.contains(" verified tx="), "{audit}");
    let settings =
        std::fs::read_to_string(f.dir.path().join("home/.factory/settings.json")).unwrap();
    assert_eq!(settings, SETTINGS.replace("sk-old-master-key-0001", &new));
}

#[test]
fn a_second_rotation_while_locked_exits_locked_and_sync_finds_nothing_to_do() {
    let f = fixture();
    let held = vault::store::Lock::acquire(&f.config.source, false).unwrap();
    let err = rotate(&f, &mut Skip("test".into())).unwrap_err();
    assert_eq!(err.exit(), vault::Exit::Locked);
    drop(held);
    rotate(&f, &mut Skip("test".into())).unwrap();
    let req = Request {
        config: &f.config,
        identities: &f.ids,
        action: Action::Sync { force_salt: false },
        dry_run: false,
    };
    assert!(matches!(
        run(&req, &mut Skip("test".into()), &mut Quiet).unwrap(),
        Report::InSync { .. }
    ));
}

#[test]
fn sync_writes_the_source_values_and_replaces_the_previous_key_everywhere() {
    let f = fixture();
    // Another machine rotated: the source has a key the sinks do not.
    let doc = Document::read(&f.config.source).unwrap();
    let key = doc.data_key(&f.ids).unwrap();
    let new = keys::generate();
    let changed = doc
        .apply(&key, &[vault::Change::Set(MASTER_KEY.into(), new.clone())])
        .unwrap();
    std::fs::write(&f.config.source, changed.to_bytes()).unwrap();
    let source_before = std::fs::read(&f.config.source).unwrap();
    let req = Request {
        config: &f.config,
        identities: &f.ids,
        action: Action::Sync { force_salt: false },
        dry_run: false,
    };
    let Report::Done(done) = run(&req, &mut Skip("test".into()), &mut Quiet).unwrap() else {
        panic!("not done")
    };
    assert_eq!(
        done.plan.keys[0].old.as_deref(),
        Some(vault::fingerprint(b"sk-old-master-key-0001").as_str())
    );
    assert_eq!(
        std::fs::read(&f.config.source).unwrap(),
        source_before,
        "sync leaves the source alone"
    );
    let env = std::fs::read_to_string(f.dir.path().join("home/litellm.env")).unwrap();
    assert_eq!(
        env,
        format!(
            "# keys\nLITELLM_MASTER_KEY={}\nLITELLM_SALT_KEY=salt-value-0000001\n",
            new.as_str().unwrap()
        )
    );
}
