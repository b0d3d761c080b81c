//! The transaction's side of a virtual-key rotation with a test double in
//! place of the gateway: the order of the hooks against the files and the
//! journal, and what a refusal before the first write or a failure after
//! the commit leaves. (The real gateway: tests/database/virtual_key.rs.)

use crate::activation::{Activate, ActivateError, Activation, Verification};
use crate::config::Config;
use crate::transaction::{Action, Quiet, Report, Request, recover, run};
use crate::virtual_key::VirtualKeyError;
use crate::{Env, Error};
use age::secrecy::ExposeSecret;
use vault::identity::{Identities, Source};

const OLD: &str = "sk-old-droid-virtual-key-0001";

struct Fixture {
    _dir: tempfile::TempDir,
    config: Config,
    ids: Identities,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let id = age::x25519::Identity::generate();
    let options = vault::EncryptOptions {
        recipients: vec![id.to_public().to_string()],
        ..Default::default()
    };
    std::fs::create_dir_all(root.join("repo/secrets")).unwrap();
    let source = root.join("repo/secrets/global.enc.env");
    let plain = format!("LITELLM_MASTER_KEY=sk-master-key-of-the-test\nLITELLM_DROID_KEY={OLD}\n");
    let doc = vault::encrypt(&source, plain.as_bytes(), &options).unwrap();
    std::fs::write(&source, doc.to_bytes()).unwrap();
    std::fs::create_dir_all(root.join("home/.factory")).unwrap();
    // Nothing listens there: recover cannot reach the gateway.
    let port = crate::gateway::test_server::free_port();
    std::fs::write(
        root.join("home/.factory/settings.json"),
        format!(
            "{{\"customModels\": [{{\"model\": \"g\", \"baseUrl\": \"http://127.0.0.1:{port}/v1\", \"apiKey\": \"{OLD}\"}}]}}\n"
        ),
    )
    .unwrap();
    let toml = format!(
        "[gateway]\nurl = \"http://127.0.0.1:{port}\"\ntimeout = 1\n[service]\nmanager = \"none\"\n\
         [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\nkey = \"LITELLM_DROID_KEY\"\n\
         [[virtual_key]]\nname = \"LITELLM_DROID_KEY\"\nalias = \"droid\"\n"
    );
    let env = Env {
        home: Some(root.join("home")),
        cwd: root.join("repo"),
        xdg_state_home: Some(root.join("state")),
        ..Env::default()
    };
    let config = Config::parse(&root.join("repo/litekeys.toml"), &toml, &env).unwrap();
    let ids = Identities::from_text(Source::Env, id.to_string().expose_secret());
    Fixture {
        _dir: dir,
        config,
        ids,
    }
}

fn settings(config: &Config) -> String {
    std::fs::read_to_string(config.sinks[0].path.join("settings.json")).unwrap()
}

fn journal(config: &Config) -> String {
    std::fs::read_dir(config.state_dir.join("tx"))
        .map(|d| {
            d.flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Records what it saw at each hook; `refuse` makes `before_write` fail.
struct Double {
    refuse: bool,
    calls: Vec<String>,
}

impl Activate for Double {
    fn before_write(&mut self, step: &Activation<'_>) -> Result<bool, ActivateError> {
        let rotation = step.virtual_key.expect("the rotation is passed on");
        self.calls.push(format!(
            "before_write old-in-sink={} recorded={} tx={}",
            settings(step.config).contains(OLD),
            journal(step.config).contains("\"virtual-key\""),
            !step.tx.is_empty(),
        ));
        assert_eq!(rotation.old.as_ref().and_then(|o| o.as_str()), Some(OLD));
        if self.refuse {
            return Err(VirtualKeyError::NoMaster.into());
        }
        Ok(true)
    }

    fn activate(&mut self, step: &Activation<'_>) -> Result<Verification, ActivateError> {
        let new = step.virtual_key.unwrap().new.as_str().unwrap().to_string();
        self.calls.push(format!(
            "activate new-in-sink={}",
            settings(step.config).contains(&new)
        ));
        Ok(Verification::Verified("double".into()))
    }

    fn reactivate(&mut self, _: &Activation<'_>) -> Result<String, ActivateError> {
        self.calls.push("reactivate".into());
        Ok("double".into())
    }

    fn after_commit(&mut self, step: &Activation<'_>) -> Result<Option<String>, ActivateError> {
        self.calls.push(format!(
            "after_commit committed={}",
            crate::audit::contains(&step.config.state_dir, step.tx)
        ));
        Err(VirtualKeyError::NoMaster.into())
    }
}

fn rotate(f: &Fixture, double: &mut Double) -> crate::Result<Report> {
    let req = Request {
        config: &f.config,
        identities: &f.ids,
        action: Action::RotateVirtual { key: 0 },
        dry_run: false,
    };
    run(&req, double, &mut Quiet)
}

#[test]
fn the_key_is_made_before_any_sink_names_it_and_retired_after_the_commit() {
    let f = fixture();
    let mut double = Double {
        refuse: false,
        calls: Vec::new(),
    };
    let Report::Done(done) = rotate(&f, &mut double).unwrap() else {
        panic!("not done")
    };
    assert_eq!(
        double.calls,
        [
            "before_write old-in-sink=true recorded=true tx=true",
            "activate new-in-sink=true",
            "after_commit committed=true",
        ]
    );
    // The rotation stands; the journal keeps the deletion for recover.
    assert!(
        done.verification
            .detail()
            .contains("not finished at the gateway")
    );
    assert!(!settings(&f.config).contains(OLD));
    let text = journal(&f.config);
    assert!(text.contains("\"committed\""), "{text}");
    assert!(!text.contains(OLD), "a key in the journal");
    assert!(recover::pending(&f.config));
    // recover cannot reach the gateway: it says so and keeps the journal.
    let err = recover(&f.config, &f.ids.identities).unwrap_err();
    assert!(
        matches!(
            err,
            Error::VirtualKeyPending {
                committed: true,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.exit(), vault::Exit::Error);
    assert!(
        err.to_string()
            .contains("the old virtual key is still valid"),
        "{err}"
    );
    assert!(recover::pending(&f.config));
}

#[test]
fn a_refusal_before_the_first_write_changes_nothing() {
    let f = fixture();
    let before = settings(&f.config);
    let source = std::fs::read(&f.config.source).unwrap();
    let mut double = Double {
        refuse: true,
        calls: Vec::new(),
    };
    let err = rotate(&f, &mut double).unwrap_err();
    assert_eq!(err.exit(), vault::Exit::RolledBack, "{err}");
    assert!(
        err.to_string().contains("nothing had been written"),
        "{err}"
    );
    assert_eq!(double.calls.len(), 1, "{:?}", double.calls);
    assert_eq!(settings(&f.config), before);
    assert_eq!(std::fs::read(&f.config.source).unwrap(), source);
    assert!(!recover::pending(&f.config));
}
