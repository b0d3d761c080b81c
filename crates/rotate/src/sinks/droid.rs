//! Factory Droid's settings: `customModels[]` (settings.json,
//! settings.local.json) and the legacy `custom_models[]` (config.json,
//! config.d/*.json). A route's key changes when it equals the old master
//! key or the route's base URL reaches the gateway; `${VAR}` and `env:VAR`
//! references and every other route are left alone. The key is replaced in
//! place in the text, so nothing else in the file moves.

use super::edit::{Edit, Field, Note, Target};
use super::error::SinkError;
use super::json_text;
use crate::gateway::Endpoints;
use serde_json::Value;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The files a droid sink covers, under its directory.
pub(crate) const FILES: [&str; 3] = ["settings.json", "settings.local.json", "config.json"];
pub(crate) const CONFIG_D: &str = "config.d";

struct Shape {
    array: &'static str,
    url: &'static str,
    key: &'static str,
}

const SHAPES: [Shape; 2] = [
    Shape {
        array: "customModels",
        url: "baseUrl",
        key: "apiKey",
    },
    Shape {
        array: "custom_models",
        url: "base_url",
        key: "api_key",
    },
];

/// The existing files of a droid sink: `path` itself when it is a file,
/// else the known names under it and `config.d/*.json`, sorted.
pub(crate) fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out: Vec<PathBuf> = FILES
        .iter()
        .map(|f| path.join(f))
        .filter(|p| p.is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir(path.join(CONFIG_D)) {
        let mut generated: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        generated.sort();
        out.extend(generated);
    }
    out
}

/// `${VAR}`, `$VAR` and `env:VAR` name an environment variable: Droid
/// reads the key from there, so the file holds no key to change.
pub(crate) fn is_reference(key: &str) -> bool {
    key.starts_with("env:")
        || key
            .strip_prefix("${")
            .and_then(|k| k.strip_suffix('}'))
            .is_some_and(vault::is_env_name)
        || key.strip_prefix('$').is_some_and(vault::is_env_name)
}

/// A route that goes through the gateway (for verification sentinels).
#[derive(Clone, Debug)]
pub struct Route {
    /// `customModels[2]` or `custom_models[0]`.
    pub at: String,
    /// What the gateway is asked for (`model`).
    pub model: String,
    /// What the user selects in Droid (`id`), when set.
    pub id: Option<String>,
    pub base_url: String,
}

fn label(el: &Value) -> String {
    ["id", "displayName", "model_display_name", "model"]
        .iter()
        .find_map(|f| el.get(*f).and_then(Value::as_str))
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

/// The routes of a settings text whose base URL reaches the gateway.
pub(crate) fn gateway_routes(bytes: &[u8], gateway: &Endpoints) -> Result<Vec<Route>, SinkError> {
    let doc = json_text::parse(bytes)?;
    let mut out = Vec::new();
    for shape in &SHAPES {
        let Some(arr) = doc.get(shape.array).and_then(Value::as_array) else {
            continue;
        };
        for (i, el) in arr.iter().enumerate() {
            let url = el.get(shape.url).and_then(Value::as_str).unwrap_or("");
            if !gateway.matches(url) {
                continue;
            }
            out.push(Route {
                at: format!("{}[{i}]", shape.array),
                model: el
                    .get("model")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                id: el.get("id").and_then(Value::as_str).map(str::to_string),
                base_url: url.to_string(),
            });
        }
    }
    Ok(out)
}

/// The literal keys (no references) the gateway routes of a settings text
/// hold, for recovery to tell which key a route holds by fingerprint.
pub(crate) fn gateway_keys(
    bytes: &[u8],
    gateway: &Endpoints,
) -> Result<Vec<vault::Secret>, SinkError> {
    let doc = json_text::parse(bytes)?;
    let mut out = Vec::new();
    for shape in &SHAPES {
        let Some(arr) = doc.get(shape.array).and_then(Value::as_array) else {
            continue;
        };
        for el in arr {
            let url = el.get(shape.url).and_then(Value::as_str).unwrap_or("");
            match el.get(shape.key).and_then(Value::as_str) {
                Some(key) if gateway.matches(url) && !is_reference(key) => {
                    out.push(vault::Secret::from(key.to_string()));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// What `status` and the plan say about a settings text beyond the keys
/// that change: a route that points elsewhere yet holds the gateway key
/// (it hands the key to a third party; left alone), and a gateway route
/// whose key is missing or not a string (Droid sends no key: not in sync).
pub(crate) fn review(bytes: &[u8], t: &Target<'_>) -> Vec<Note> {
    let Ok(doc) = json_text::parse(bytes) else {
        return Vec::new();
    };
    let name = t.keys.first().map(String::as_str).unwrap_or_default();
    let gateway_keys: Vec<&[u8]> = t
        .values
        .get(name)
        .into_iter()
        .chain(t.old)
        .map(vault::Secret::expose)
        .filter(|k| !k.is_empty())
        .collect();
    let mut out = Vec::new();
    for shape in &SHAPES {
        let Some(arr) = doc.get(shape.array).and_then(Value::as_array) else {
            continue;
        };
        for (i, el) in arr.iter().enumerate() {
            let at = format!("{}[{i}]{}", shape.array, label(el));
            let url = el.get(shape.url).and_then(Value::as_str).unwrap_or("");
            let key = el.get(shape.key);
            if t.gateway.matches(url) {
                let what = match key {
                    None => "has no",
                    Some(Value::String(_)) => continue,
                    Some(Value::Number(_)) => "has a number as its",
                    Some(_) => "has a non-string",
                };
                out.push(Note {
                    text: format!(
                        "{at} points at the gateway but {what} {}: Droid sends no key; set it to a string (litekeys-rotate sync writes it then)",
                        shape.key
                    ),
                    drift: true,
                });
            } else if key
                .and_then(Value::as_str)
                .is_some_and(|k| gateway_keys.contains(&k.as_bytes()))
            {
                out.push(Note {
                    text: format!(
                        "{at} holds the gateway key but points elsewhere ({}): left alone; it hands the key to a third party, give that route its own key",
                        crate::gateway::shown_url(url)
                    ),
                    drift: false,
                });
            }
        }
    }
    out
}

/// The settings text with the key of every matching route set to the new
/// value. Fails (nothing changed) when the text is not valid JSON.
pub(crate) fn edit(before: &[u8], t: &Target<'_>) -> Result<Edit, SinkError> {
    let doc = json_text::parse(before)?;
    let name = t.keys.first().map(String::as_str).unwrap_or_default();
    let Some(new) = t.values.get(name) else {
        return Ok(Edit::unchanged(before));
    };
    let new_str = new
        .as_str()
        .ok_or_else(|| SinkError::ValueNotText(name.to_string()))?;
    let literal = Zeroizing::new(serde_json::to_string(new_str).expect("a string serialises"));
    let mut expected = doc.clone();
    let mut replacements = Vec::new();
    let mut fields = Vec::new();
    for shape in &SHAPES {
        let Some(arr) = doc.get(shape.array).and_then(Value::as_array) else {
            continue;
        };
        let mut spans = None;
        for (i, el) in arr.iter().enumerate() {
            let Some(key) = el.get(shape.key).and_then(Value::as_str) else {
                continue;
            };
            if is_reference(key) || key == new_str {
                continue;
            }
            // By URL only: a route pointing elsewhere (VibeProxy, a
            // provider) never gets the gateway key, even if it holds it
            // now ([`review`] reports that).
            let url = el.get(shape.url).and_then(Value::as_str).unwrap_or("");
            if !t.gateway.matches(url) {
                continue;
            }
            if spans.is_none() {
                spans = json_text::field_spans(before, shape.array, shape.key);
            }
            let span = spans
                .as_ref()
                .and_then(|s| s.get(i).cloned().flatten())
                .ok_or_else(|| SinkError::FieldNotFound {
                    at: format!("{}[{i}].{}", shape.array, shape.key),
                })?;
            replacements.push(span);
            expected[shape.array][i][shape.key] = Value::String(new_str.to_string());
            fields.push(Field::new(
                &format!("{}[{i}].{}{}", shape.array, shape.key, label(el)),
                Some(key.as_bytes()),
                new,
            ));
        }
    }
    if replacements.is_empty() {
        return Ok(Edit::unchanged(before));
    }
    replacements.sort_by_key(|r| std::cmp::Reverse(r.start));
    let mut out = Zeroizing::new(before.to_vec());
    for span in replacements {
        out.splice(span, literal.bytes());
    }
    // The in-place edit must mean exactly the intended change.
    if json_text::parse(&out).ok().as_ref() != Some(&expected) {
        return Err(SinkError::RoundTrip);
    }
    Ok(Edit { bytes: out, fields })
}

#[cfg(test)]
mod tests {
    use super::super::edit::tests::target;
    use super::*;

    const SETTINGS: &str = r#"{
  "enabledPlugins": {
    "core@factory-plugins": true
  },
  "customModels": [
    {
      "model": "kimi-k2.5",
      "id": "custom:Kimi-K2.5-[Kimi-Coding]-0",
      "index": 0,
      "baseUrl": "http://localhost:8317/v1",
      "apiKey": "vibeproxy",
      "provider": "generic-chat-completion-api"
    },
    {
      "model": "glm-5.1",
      "id": "custom:GLM-5.1-[ZAI]-1",
      "baseUrl": "https://api.z.ai/api/coding/paas/v4",
      "apiKey": "zai-key",
      "provider": "generic-chat-completion-api"
    },
    {"model": "gpt-5.5", "id": "custom:gpt-5-5-[LiteLLM]-6", "baseUrl": "http://127.0.0.1:4000/v1", "apiKey": "sk-old", "provider": "generic-chat-completion-api", "extraHeaders": {"x": "1"}},
    {
      "model": "qwen3p6-plus",
      "baseUrl": "http://localhost:4000",
      "apiKey": "sk-stale",
      "futureField": [1, 2.50, "\u00e9"]
    },
    {
      "model": "via-env",
      "baseUrl": "http://localhost:4000",
      "apiKey": "${LITELLM_MASTER_KEY}"
    },
    {
      "model": "private-host",
      "baseUrl": "http://10.0.0.5:4000/v1",
      "apiKey": "sk-old"
    }
  ],
  "zzz": null
}
"#;

    #[test]
    fn changes_exactly_the_gateway_routes_in_place() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let mut target = t.target();
        let old = [vault::Secret::from("sk-old".to_string())];
        target.old = &old;
        let e = edit(SETTINGS.as_bytes(), &target).unwrap();
        // By URL only: private-host holds the old key but points elsewhere.
        let expected = SETTINGS
            .replacen("\"apiKey\": \"sk-old\"", "\"apiKey\": \"sk-new\"", 1)
            .replace("\"apiKey\": \"sk-stale\"", "\"apiKey\": \"sk-new\"");
        assert_eq!(std::str::from_utf8(&e.bytes).unwrap(), expected);
        let names: Vec<&str> = e.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "customModels[2].apiKey (custom:gpt-5-5-[LiteLLM]-6)",
                "customModels[3].apiKey (qwen3p6-plus)",
            ]
        );
        let again = edit(&e.bytes, &target).unwrap();
        assert!(again.fields.is_empty());
        let notes = review(&e.bytes, &target);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(!notes[0].drift);
        assert!(
            notes[0].text.starts_with(
                "customModels[5] (private-host) holds the gateway key but points elsewhere (http://10.0.0.5:4000/v1): left alone"
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn a_gateway_route_without_a_string_key_is_a_problem() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let text = r#"{"customModels": [
            {"model": "a", "baseUrl": "http://127.0.0.1:4000/v1", "apiKey": 12345},
            {"model": "b", "baseUrl": "http://127.0.0.1:4000/v1"},
            {"model": "c", "baseUrl": "https://api.deepseek.com", "apiKey": "sk-new"}
        ]}"#;
        let notes = review(text.as_bytes(), &t.target());
        let shown: Vec<(&str, bool)> = notes.iter().map(|n| (&n.text[..20], n.drift)).collect();
        assert_eq!(
            shown,
            [
                ("customModels[0] (a) ", true),
                ("customModels[1] (b) ", true),
                ("customModels[2] (c) ", false)
            ]
        );
        assert!(
            notes[0].text.contains("has a number as its apiKey"),
            "{notes:?}"
        );
        assert!(notes[1].text.contains("has no apiKey"), "{notes:?}");
        assert!(notes[2].text.contains("api.deepseek.com"), "{notes:?}");
        assert!(!notes.iter().any(|n| n.text.contains("sk-new")));
    }

    #[test]
    fn legacy_config_keeps_env_references() {
        let legacy = r#"{
  "custom_models": [
    {
      "model_display_name": "qwen3-coder (LiteLLM)",
      "model": "qwen3-coder:480b-cloud",
      "base_url": "http://127.0.0.1:4000/v1/",
      "api_key": "env:LITELLM_MASTER_KEY",
      "provider": "generic-chat-completion-api",
      "max_tokens": 128000
    },
    {
      "model_display_name": "literal",
      "model": "m",
      "base_url": "http://localhost:4000/v1/",
      "api_key": "sk-old",
      "provider": "generic-chat-completion-api"
    }
  ]
}"#;
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let e = edit(legacy.as_bytes(), &t.target()).unwrap();
        assert_eq!(
            std::str::from_utf8(&e.bytes).unwrap(),
            legacy.replace("\"sk-old\"", "\"sk-new\"")
        );
        assert_eq!(e.fields[0].name, "custom_models[1].api_key (literal)");
    }

    #[test]
    fn invalid_json_names_the_line() {
        let t = target(&[("LITELLM_MASTER_KEY", "sk-new")], &["LITELLM_MASTER_KEY"]);
        let Err(err) = edit(b"{\n  \"customModels\": [\n    {,}\n  ]\n}", &t.target()) else {
            panic!("accepted invalid JSON")
        };
        assert!(
            err.to_string()
                .starts_with("not valid JSON at line 3 column 6"),
            "{err}"
        );
    }

    #[test]
    fn references() {
        for r in ["${LITELLM_MASTER_KEY}", "env:LITELLM_MASTER_KEY", "$X"] {
            assert!(is_reference(r), "{r}");
        }
        for r in ["sk-x", "${", "$", "vibeproxy"] {
            assert!(!is_reference(r), "{r}");
        }
    }
}
