//! Does a service-facing sink still hold the source's values? The sink is
//! read with rotate's reader (`rotate::read_sink_values`: dotenv, drop-in
//! `Environment=`, environment.d) and compared key by key, fingerprints
//! only.

use crate::actions::{Drift, SourceKeys};
use rotate::config::{SinkKind, SinkSpec};
use std::collections::BTreeMap;
use vault::Secret;

pub(crate) fn check(sink: &SinkSpec, keys: &SourceKeys) -> Vec<Drift> {
    let values = match std::fs::read(&sink.path) {
        Err(_) => Vec::new(),
        Ok(bytes) => rotate::read_sink_values(sink, &bytes),
    };
    // The last assignment wins, as for the programs that read the file.
    let found: BTreeMap<String, Secret> = values.into_iter().collect();
    let mut out = Vec::new();
    for key in &sink.keys {
        // A key the source does not hold is not this watcher's business.
        let Some(want) = keys.get(key) else { continue };
        let have = found.get(key.as_str());
        // LiteLLM's config.yaml without a literal key there (unset, or an
        // `os.environ/` reference): LiteLLM takes it from the environment,
        // which the other sinks carry; this file has nothing to hold.
        if have.is_none() && sink.kind == SinkKind::LitellmConfig {
            continue;
        }
        if have != Some(want) {
            out.push(Drift {
                key: key.clone(),
                sink_fp: have.map(Secret::fingerprint),
                source_fp: want.fingerprint(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> SourceKeys {
        SourceKeys {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Secret::from(v.to_string())))
                .collect(),
        }
    }

    fn sink(kind: SinkKind, path: &std::path::Path) -> SinkSpec {
        SinkSpec {
            kind,
            path: path.to_path_buf(),
            keys: vec!["LITELLM_MASTER_KEY".into(), "LITELLM_SALT_KEY".into()],
            pointer: None,
            origin: "test".into(),
        }
    }

    #[test]
    fn dotenv_edits_that_keep_the_keys_are_not_drift() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("litellm.env");
        std::fs::write(
            &p,
            "# mine\nLITELLM_LOG=DEBUG\nexport LITELLM_MASTER_KEY=\"sk-a\"\nLITELLM_SALT_KEY=sk-s\n",
        )
        .unwrap();
        let k = keys(&[("LITELLM_MASTER_KEY", "sk-a"), ("LITELLM_SALT_KEY", "sk-s")]);
        assert!(check(&sink(SinkKind::Dotenv, &p), &k).is_empty());
        std::fs::write(&p, "LITELLM_MASTER_KEY=sk-b\n").unwrap();
        let d = check(&sink(SinkKind::Dotenv, &p), &k);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].key, "LITELLM_MASTER_KEY");
        assert_eq!(
            d[0].sink_fp.as_deref(),
            Some(vault::fingerprint(b"sk-b").as_str())
        );
        assert_eq!(d[1].sink_fp, None);
    }

    #[test]
    fn dropin_values_are_unquoted_as_systemd_does() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("litellm.service.d");
        std::fs::create_dir(&d).unwrap();
        let p = d.join("litekeys.conf");
        std::fs::write(
            &p,
            "[Service]\nEnvironment=\"LITELLM_MASTER_KEY=sk-%%a\\\\b\\\"c\" LITELLM_SALT_KEY=sk-s\n",
        )
        .unwrap();
        let k = keys(&[
            ("LITELLM_MASTER_KEY", "sk-%a\\b\"c"),
            ("LITELLM_SALT_KEY", "sk-s"),
        ]);
        assert!(check(&sink(SinkKind::SystemdEnv, &p), &k).is_empty());
        let gone = check(
            &sink(SinkKind::SystemdEnv, &dir.path().join("none.conf")),
            &k,
        );
        assert_eq!(gone.len(), 2);
    }

    #[test]
    fn litellm_config_drifts_only_where_it_holds_a_literal_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.yaml");
        let k = keys(&[("LITELLM_MASTER_KEY", "sk-a"), ("LITELLM_SALT_KEY", "sk-s")]);
        std::fs::write(
            &p,
            "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
        )
        .unwrap();
        assert!(check(&sink(SinkKind::LitellmConfig, &p), &k).is_empty());
        std::fs::write(&p, "general_settings:\n  master_key: sk-b # typed in\n").unwrap();
        let d = check(&sink(SinkKind::LitellmConfig, &p), &k);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].key, "LITELLM_MASTER_KEY");
    }
}
