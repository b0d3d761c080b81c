//! The path, its refusal without a restart, and the journal's record of
//! a `/key/regenerate` (the gateway side is tests/database/master_key.rs).

use super::*;
use crate::activation::Skip;

/// A config whose dotenv sink (LiteLLM's env file) holds `env`.
fn lab(env: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("litellm.env"), env).unwrap();
    let toml = format!(
        "[service]\nmanager = \"none\"\n[[sink]]\nkind = \"dotenv\"\npath = \"{}\"\n",
        dir.path().join("litellm.env").display()
    );
    let env = crate::Env {
        cwd: dir.path().into(),
        ..crate::Env::default()
    };
    let config = Config::parse(&dir.path().join("litekeys.toml"), &toml, &env).unwrap();
    (dir, config)
}

fn values(pairs: &[(&str, &str)]) -> Values {
    let mut v = Values::default();
    for (k, val) in pairs {
        v.insert(k, Secret::from((*val).to_string()));
    }
    v
}

/// The test process may have them set: then the environment decides.
fn environment_is_clean() -> bool {
    !crate::gateway::DATABASE_VARIABLES
        .iter()
        .chain([&crate::config::SALT_KEY])
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

#[test]
fn the_path_follows_the_database_and_the_salt_key() {
    if !environment_is_clean() {
        return;
    }
    let master = values(&[("LITELLM_MASTER_KEY", "sk-old")]);
    let (_d, none) = lab("LITELLM_MASTER_KEY=sk-old\n");
    assert_eq!(decide(&none, &master, true), StoredPath::NoDatabase);
    let (_d, db) = lab("LITELLM_MASTER_KEY=sk-old\nDATABASE_URL=postgresql://db/litellm\n");
    let path = decide(&db, &master, true);
    assert!(matches!(path, StoredPath::Regenerate { .. }), "{path:?}");
    let line = path.line().unwrap();
    assert!(
        line.starts_with("database without salt key (")
            && line.contains("litellm.env sets DATABASE_URL")
            && line.contains("re-encrypted through /key/regenerate"),
        "{line}"
    );
    assert_eq!(decide(&db, &master, false), StoredPath::Unchanged);
    assert_eq!(StoredPath::Unchanged.line(), None);
    // A salt key in the source, or in the env file LiteLLM reads.
    let salted = values(&[
        ("LITELLM_MASTER_KEY", "sk-old"),
        ("LITELLM_SALT_KEY", "sk-s"),
    ]);
    let path = decide(&db, &salted, true);
    assert!(matches!(path, StoredPath::SaltKey { .. }), "{path:?}");
    assert!(path.line().unwrap().contains("never /key/regenerate"));
    let (_d, db_salt) = lab("DATABASE_URL=postgresql://db\nLITELLM_SALT_KEY=sk-s\n");
    let path = decide(&db_salt, &master, true);
    assert!(
        matches!(&path, StoredPath::SaltKey { salt } if salt.ends_with("litellm.env sets LITELLM_SALT_KEY")),
        "{path:?}"
    );
    // An empty salt key is none.
    let (_d, empty) = lab("DATABASE_URL=postgresql://db\nLITELLM_SALT_KEY=\n");
    assert!(matches!(
        decide(&empty, &master, true),
        StoredPath::Regenerate { .. }
    ));
}

#[test]
fn without_a_restart_the_regenerate_path_is_refused_before_anything() {
    if !environment_is_clean() {
        return;
    }
    let (_d, db) = lab("DATABASE_URL=postgresql://db/litellm\n");
    let master = values(&[("LITELLM_MASTER_KEY", "sk-old")]);
    let mut phase = Phase::new(decide(&db, &master, true));
    let skip = Skip("--no-restart".into());
    let err = check_restart(&phase, &skip).unwrap_err();
    assert_eq!(err.exit(), vault::Exit::Usage, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("litellm.env sets DATABASE_URL") && text.contains("no LITELLM_SALT_KEY"),
        "{text}"
    );
    let old = Secret::from("sk-old".to_string());
    let err = preflight(&db, &mut phase, Some(&old), &skip).unwrap_err();
    assert_eq!(err.exit(), vault::Exit::Usage);
    // Nothing was asked of the gateway, nothing recorded.
    assert!(phase.before.is_none() && phase.pending.get().is_none());
    // The salt-key path and no database need no restart.
    let salted = values(&[
        ("LITELLM_MASTER_KEY", "sk-old"),
        ("LITELLM_SALT_KEY", "sk-s"),
    ]);
    let mut phase = Phase::new(decide(&db, &salted, true));
    check_restart(&phase, &skip).unwrap();
    preflight(&db, &mut phase, Some(&old), &skip).unwrap();
    assert!(phase.before.is_none(), "no restart: nothing to compare");
}

#[test]
fn the_journal_says_how_far_a_regenerate_got() {
    let loaded = |records: Vec<Record>| Loaded {
        path: "/j".into(),
        records,
    };
    let intent = || {
        Record::Regenerate(Regenerate {
            url: "http://127.0.0.1:4000".into(),
            old: "aaaa".into(),
            new: "bbbb".into(),
            keys: String::new(),
            stored: Vec::new(),
        })
    };
    let at = |l: &Loaded| l.regenerate().map(|(_, at)| at);
    assert_eq!(at(&loaded(vec![Record::Wrote { file: 0 }])), None);
    assert_eq!(
        at(&loaded(vec![Record::Wrote { file: 0 }, intent()])),
        Some(Regenerated::Recorded)
    );
    assert_eq!(
        at(&loaded(vec![intent(), Record::Regenerated])),
        Some(Regenerated::Answered)
    );
    assert_eq!(
        at(&loaded(vec![
            intent(),
            Record::Regenerated,
            Record::ActivationFailed { reason: "x".into() },
            Record::RegenerateSettled {
                detail: "back".into()
            },
        ])),
        Some(Regenerated::Settled)
    );
}
