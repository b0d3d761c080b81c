//! Does a service-facing sink still hold the source's values? Reads the
//! dotenv (`KEY=VALUE`) and systemd (`Environment="K=V"`, environment.d)
//! sinks just enough to compare the listed keys, fingerprints only.
//!
//! Stop-gap: the rotate crate's sink readers should replace this.

use crate::actions::{Drift, SourceKeys};
use crate::config::{Sink, SinkKind};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

pub fn check(sink: &Sink, keys: &SourceKeys) -> Vec<Drift> {
    let text = std::fs::read(&sink.path)
        .ok()
        .map(|b| Zeroizing::new(String::from_utf8_lossy(&b).into_owned()));
    let found = match (&text, sink.kind) {
        (None, _) => BTreeMap::new(),
        (Some(t), SinkKind::SystemdEnv) if sink.is_dropin() => unit_environment(t),
        (Some(t), _) => dotenv(t),
    };
    let mut out = Vec::new();
    for key in &sink.keys {
        // A key the source does not hold is not this watcher's business.
        let Some(want) = keys.get(key) else { continue };
        let have = found.get(key.as_str());
        if have.map(|v| v.as_bytes()) != Some(want.expose()) {
            out.push(Drift {
                key: key.clone(),
                sink_fp: have.map(|v| vault::fingerprint(v.as_bytes())),
                source_fp: want.fingerprint(),
            });
        }
    }
    out
}

type Values = BTreeMap<String, Zeroizing<String>>;

/// `KEY=VALUE` lines; `export ` and one pair of surrounding quotes dropped.
fn dotenv(text: &str) -> Values {
    let mut out = Values::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim_end();
            let v = ['"', '\'']
                .iter()
                .find_map(|q| v.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(v);
            out.insert(k.trim().to_string(), Zeroizing::new(v.to_string()));
        }
    }
    out
}

/// `Environment=` lines of a unit drop-in: space-separated assignments,
/// each optionally quoted, `\` escapes, `%%` for `%`.
fn unit_environment(text: &str) -> Values {
    let mut out = Values::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("Environment=") else {
            continue;
        };
        for word in unit_words(rest) {
            if let Some((k, v)) = word.split_once('=') {
                out.insert(k.to_string(), Zeroizing::new(v.replace("%%", "%")));
            }
        }
    }
    out
}

fn unit_words(s: &str) -> Vec<Zeroizing<String>> {
    let mut words = Vec::new();
    let mut word = Zeroizing::new(String::new());
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                if let Some(n) = chars.next() {
                    word.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                in_word = true;
            }
            (q, None) if q == '"' || q == '\'' => {
                quote = Some(q);
                in_word = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (c, None) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::replace(&mut word, Zeroizing::new(String::new())));
                    in_word = false;
                }
            }
            (c, _) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault::Secret;

    fn keys(pairs: &[(&str, &str)]) -> SourceKeys {
        SourceKeys {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Secret::from(v.to_string())))
                .collect(),
        }
    }

    fn sink(kind: SinkKind, path: &std::path::Path) -> Sink {
        Sink {
            kind,
            path: path.to_path_buf(),
            keys: vec!["LITELLM_MASTER_KEY".into(), "LITELLM_SALT_KEY".into()],
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
}
