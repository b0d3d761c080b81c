//! The clients' own files as sinks (issue 14): LiteLLM's config.yaml with a
//! literal master key (`litellm-config`), Claude Code's settings (`json`),
//! OpenHands' config.toml (`toml`) and another client's YAML (`yaml`),
//! written by the real `litekeys-rotate` in the seeds' lab.

mod bad_input;
mod clients;
mod gateway;

use litekeys_tests::rotate_lab::{OLD_MASTER, OLD_SALT, Seeds, fill};

/// LiteLLM's config.yaml as the guides leave it: comments, a provider key
/// by reference, the master key typed in, the salt key quoted.
pub(crate) const LITELLM_CONFIG: &str = "# LiteLLM proxy, started by hand: litellm --config ~/.config/litellm/config.yaml --port 4000\nmodel_list:\n  - model_name: gpt-5.5\n    litellm_params:\n      model: openai/gpt-5.5\n      api_key: os.environ/OPENAI_API_KEY   # the provider's, not ours\n\ngeneral_settings:\n    # the gateway's key, typed in (it overrides LITELLM_MASTER_KEY)\n    master_key: OLD_MASTER    # every client sends it\n    salt_key: 'OLD_SALT'\n\nlitellm_settings: {drop_params: true}\n";

/// Claude Code's settings, the gateway key in `env`.
pub(crate) const CLAUDE: &str = "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:4000\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"OLD_MASTER\",\n    \"ANTHROPIC_MODEL\": \"gpt-5.5\"\n  },\n  \"permissions\": {\"allow\": [\"Bash(npm test)\"]},\n    \"includeCoAuthoredBy\": false\n}\n";

/// OpenHands' config.toml, the key a literal string.
pub(crate) const OPENHANDS: &str = "# OpenHands\n[core]\nworkspace_base = \"./workspace\"\n\n[llm]\nmodel = \"litellm_proxy/gpt-5.5\"\nbase_url = \"http://127.0.0.1:4000\"\napi_key = 'OLD_MASTER'   # the gateway's\n";

/// Some other client's YAML, the key double-quoted.
pub(crate) const CLIENT_YAML: &str = "# foo client\nclient:\n  name: \"foo\"\n  api_key: \"OLD_MASTER\"  # quoted\n  base_url: http://127.0.0.1:4000\n";

/// Where each lives under HOME, and the sink that names it.
pub(crate) const FILES: [(&str, &str); 4] = [
    (".config/litellm/config.yaml", LITELLM_CONFIG),
    (".claude/settings.json", CLAUDE),
    (".openhands/config.toml", OPENHANDS),
    (".config/foo/config.yaml", CLIENT_YAML),
];

pub(crate) const SINKS: &str = r#"
[[sink]]
kind = "litellm-config"
path = "~/.config/litellm/config.yaml"
keys = ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"]

[[sink]]
kind = "json"
path = "~/.claude/settings.json"
pointer = "/env/ANTHROPIC_AUTH_TOKEN"
keys = ["LITELLM_MASTER_KEY"]

[[sink]]
kind = "toml"
path = "~/.openhands/config.toml"
pointer = "/llm/api_key"
keys = ["LITELLM_MASTER_KEY"]

[[sink]]
kind = "yaml"
path = "~/.config/foo/config.yaml"
pointer = "/client/api_key"
keys = ["LITELLM_MASTER_KEY"]
"#;

/// A template filled with the lab's keys.
pub(crate) fn filled(template: &str) -> String {
    fill(template).replace("OLD_SALT", OLD_SALT)
}

/// The seeds' lab plus the four client files and their sinks, all in sync;
/// `sinks` edits the added sink tables.
pub(crate) fn lab(sinks: impl FnOnce(String) -> String) -> Option<Seeds> {
    let s = Seeds::with_config(|toml| format!("{toml}{}", sinks(SINKS.to_string())))?;
    for (rel, template) in FILES {
        s.sb.write(format!("home/{rel}"), filled(template));
    }
    assert!(filled(CLAUDE).contains(OLD_MASTER));
    Some(s)
}
