//! What in a file holds the key: the JSON, TOML or YAML pointers of strings
//! equal to a value found, the Droid routes holding the master key, the
//! names a dotenv or systemd file assigns it to.

use super::gateway::Found;

/// RFC 6901: `~` is `~0`, `/` is `~1`.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Every JSON pointer to a string equal to one of `values`.
pub(super) fn json_pointers(
    v: &serde_json::Value,
    at: &str,
    values: &[Found],
    out: &mut Vec<(String, &'static str)>,
) {
    match v {
        serde_json::Value::String(s) => {
            if let Some(f) = values.iter().find(|f| f.value.expose() == s.as_bytes()) {
                out.push((at.to_string(), f.name));
            }
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                json_pointers(v, &format!("{at}/{}", escape(k)), values, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                json_pointers(v, &format!("{at}/{i}"), values, out);
            }
        }
        _ => {}
    }
}

pub(super) fn toml_pointers(
    v: &toml::Value,
    at: &str,
    values: &[Found],
    out: &mut Vec<(String, &'static str)>,
) {
    match v {
        toml::Value::String(s) => {
            if let Some(f) = values.iter().find(|f| f.value.expose() == s.as_bytes()) {
                out.push((at.to_string(), f.name));
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                toml_pointers(v, &format!("{at}/{}", escape(k)), values, out);
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                toml_pointers(v, &format!("{at}/{i}"), values, out);
            }
        }
        _ => {}
    }
}

/// The same for YAML (string keys only: a pointer names no other).
pub(super) fn yaml_pointers(
    v: &serde_yaml_ng::Value,
    at: &str,
    values: &[Found],
    out: &mut Vec<(String, &'static str)>,
) {
    match v {
        serde_yaml_ng::Value::String(s) => {
            if let Some(f) = values.iter().find(|f| f.value.expose() == s.as_bytes()) {
                out.push((at.to_string(), f.name));
            }
        }
        serde_yaml_ng::Value::Mapping(m) => {
            for (k, v) in m {
                if let Some(k) = k.as_str() {
                    yaml_pointers(v, &format!("{at}/{}", escape(k)), values, out);
                }
            }
        }
        serde_yaml_ng::Value::Sequence(a) => {
            for (i, v) in a.iter().enumerate() {
                yaml_pointers(v, &format!("{at}/{i}"), values, out);
            }
        }
        _ => {}
    }
}

/// The Droid routes of a settings text holding the master key: where, and
/// their base URLs.
pub(super) fn droid_routes(bytes: &[u8], master: &Found) -> Vec<(String, String)> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (array, url, key) in [
        ("customModels", "baseUrl", "apiKey"),
        ("custom_models", "base_url", "api_key"),
    ] {
        for (i, el) in doc
            .get(array)
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if el.get(key).and_then(|k| k.as_str()).map(str::as_bytes)
                == Some(master.value.expose())
            {
                let label = ["id", "displayName", "model_display_name", "model"]
                    .iter()
                    .find_map(|f| el.get(*f).and_then(|v| v.as_str()))
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                let base = el.get(url).and_then(|u| u.as_str()).unwrap_or_default();
                out.push((format!("{array}[{i}].{key}{label}"), base.to_string()));
            }
        }
    }
    out
}

/// The source names a dotenv or systemd file assigns their found value to.
pub(super) fn assigned(
    values: &[Found],
    assignments: &[(String, vault::Secret)],
) -> Vec<&'static str> {
    values
        .iter()
        .filter(|f| {
            assignments
                .iter()
                .any(|(k, v)| k == f.name && *v == f.value)
        })
        .map(|f| f.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::At;
    use super::*;
    use crate::config::MASTER_KEY;
    use std::path::Path;
    use vault::Secret;

    fn found(name: &'static str, v: &str) -> Found {
        Found {
            name,
            value: Secret::from(v.to_string()),
            at: At::new(Path::new("/x"), 1),
        }
    }

    #[test]
    fn pointers_are_rfc_6901() {
        let doc: serde_json::Value = serde_json::json!({
            "env": {"ANTHROPIC_AUTH_TOKEN": "sk-kkkkkkkkkkkkkkkkkkkk", "X": "y"},
            "provider": {"a/b": {"options": {"apiKey": "sk-kkkkkkkkkkkkkkkkkkkk"}}}
        });
        let mut out = Vec::new();
        json_pointers(
            &doc,
            "",
            &[found(MASTER_KEY, "sk-kkkkkkkkkkkkkkkkkkkk")],
            &mut out,
        );
        let ptrs: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            ptrs,
            ["/env/ANTHROPIC_AUTH_TOKEN", "/provider/a~1b/options/apiKey"]
        );
    }

    #[test]
    fn droid_routes_holding_the_key_and_their_urls() {
        let text = br#"{"customModels": [
            {"model": "k", "baseUrl": "http://localhost:8317/v1", "apiKey": "vibeproxy"},
            {"model": "q", "id": "custom:q-0", "baseUrl": "http://localhost:4000", "apiKey": "sk-kkkkkkkkkkkkkkkkkkkk"}
        ]}"#;
        let routes = droid_routes(text, &found(MASTER_KEY, "sk-kkkkkkkkkkkkkkkkkkkk"));
        assert_eq!(
            routes,
            [(
                "customModels[1].apiKey (custom:q-0)".to_string(),
                "http://localhost:4000".to_string()
            )]
        );
    }
}
