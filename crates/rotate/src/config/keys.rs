//! Every key litekeys.toml takes, with what it means: the one list that
//! `litekeys-rotate --help` prints and that the parser's fields are held to
//! (a test compares them, so neither can gain a key alone).

/// A key of litekeys.toml: its table (`""` for the top level, `sink` for
/// each `[[sink]]`), its name, what it means.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub table: &'static str,
    pub name: &'static str,
    pub meaning: &'static str,
}

const fn key(table: &'static str, name: &'static str, meaning: &'static str) -> Key {
    Key {
        table,
        name,
        meaning,
    }
}

pub const KEYS: &[Key] = &[
    key(
        "",
        "source",
        "the encrypted file, relative to litekeys.toml",
    ),
    key(
        "",
        "recipients",
        "the age recipients (age1…) pinned to receive the source's data key (before .sops.yaml's)",
    ),
    key(
        "gateway",
        "url",
        "base URL of the gateway [default: http://127.0.0.1:4000]",
    ),
    key(
        "gateway",
        "aliases",
        "other base URLs of the same gateway (Droid routes to them are rotated too)",
    ),
    key(
        "gateway",
        "timeout",
        "seconds the gateway may take to come back after a restart [default: 60]",
    ),
    key(
        "gateway",
        "litellm_config",
        "LiteLLM's config.yaml: its database_url makes --salt need --force-salt",
    ),
    key(
        "gateway",
        "sentinel",
        "the exact reply --sentinel asks each Droid route's model for",
    ),
    key(
        "gateway",
        "sentinel_client",
        "how --sentinel asks: http (a chat completion per model) | droid (`droid exec` per Droid route) [default: http]",
    ),
    key(
        "service",
        "manager",
        "systemd-user | systemd-system | compose | command | none [default: systemd-user]",
    ),
    key(
        "service",
        "unit",
        "the systemd unit to restart [default: litellm.service]",
    ),
    key(
        "service",
        "dir",
        "the compose project's directory (manager = \"compose\")",
    ),
    key(
        "service",
        "service",
        "the compose service to restart [default: litellm]",
    ),
    key(
        "service",
        "command",
        "argv list run without a shell to restart (manager = \"command\")",
    ),
    key(
        "service",
        "timeout",
        "seconds the restart may take before it is killed [default: 30]",
    ),
    key(
        "sink",
        "kind",
        "dotenv | droid | systemd-env | litellm-config | json | toml | yaml",
    ),
    key(
        "sink",
        "path",
        "the file (or Droid's directory); ~ is $HOME",
    ),
    key(
        "sink",
        "key",
        "the one value it holds (a droid, json, toml or yaml sink's)",
    ),
    key(
        "sink",
        "pointer",
        "where a json, toml or yaml sink's value is: an RFC 6901 pointer (\"/env/ANTHROPIC_AUTH_TOKEN\")",
    ),
    key(
        "sink",
        "keys",
        "the values it holds [default: LITELLM_MASTER_KEY, LITELLM_SALT_KEY; a droid, litellm-config, json, toml or yaml sink: LITELLM_MASTER_KEY]",
    ),
    key(
        "git",
        "push",
        "commit the source alone and git push it after a rotation, as --push [default: false]",
    ),
    key(
        "git",
        "pull_every",
        "how often litekeys-watch fetches and applies a new source (\"30s\", \"5m\") [default: never]",
    ),
    key(
        "virtual_key",
        "name",
        "a source value that is a LiteLLM virtual key (not the master or salt key): --key NAME rotates it with no restart",
    ),
    key(
        "virtual_key",
        "alias",
        "its key_alias on the gateway [default: the name]",
    ),
    key(
        "virtual_key",
        "grace",
        "how long the old key stays valid once every sink holds the new one (\"0s\" .. \"5m\") [default: 0s]",
    ),
];

/// The keys as `--help` shows them, one per line under its table.
pub fn help_text() -> String {
    let mut out = String::from("litekeys.toml keys:\n");
    let mut table = "";
    for k in KEYS {
        if k.table != table {
            table = k.table;
            let header = if table == "sink" || table == "virtual_key" {
                format!("[[{table}]]")
            } else {
                format!("[{table}]")
            };
            out.push_str(&format!("  {header}\n"));
        }
        let indent = if table.is_empty() { "  " } else { "    " };
        out.push_str(&format!("{indent}{:<15} {}\n", k.name, k.meaning));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::env::Env;
    use std::path::Path;

    /// The fields serde takes in `table`, from its unknown-field message.
    fn parser_fields(table: &str) -> Vec<String> {
        let text = match table {
            "" => "litekeys_unknown_key = 1\n".to_string(),
            "sink" | "virtual_key" => format!("[[{table}]]\nlitekeys_unknown_key = 1\n"),
            t => format!("[{t}]\nlitekeys_unknown_key = 1\n"),
        };
        let msg = Config::parse(Path::new("/r/litekeys.toml"), &text, &Env::default())
            .unwrap_err()
            .to_string();
        let (_, expected) = msg
            .split_once("expected one of ")
            .or_else(|| msg.split_once("expected "))
            .unwrap_or_else(|| panic!("no field list in {msg}"));
        let expected = expected.split(';').next().unwrap_or_default();
        let mut fields: Vec<String> = expected
            .split(['`', ',', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty() && *w != "or")
            .map(String::from)
            .collect();
        fields.sort_unstable();
        fields
    }

    #[test]
    fn the_help_lists_exactly_the_keys_the_parser_takes() {
        let sub_tables = ["gateway", "service", "sink", "git", "virtual_key"];
        for table in ["", "gateway", "service", "sink", "git", "virtual_key"] {
            let mut listed: Vec<String> = KEYS
                .iter()
                .filter(|k| k.table == table)
                .map(|k| k.name.to_string())
                .collect();
            if table.is_empty() {
                listed.extend(sub_tables.iter().map(|t| (*t).to_string()));
            }
            listed.sort_unstable();
            assert_eq!(parser_fields(table), listed, "[{table}]");
        }
    }

    #[test]
    fn the_help_names_every_key() {
        let help = help_text();
        for k in KEYS {
            assert!(help.contains(&format!(" {} ", k.name)), "{}", k.name);
        }
        assert!(help.contains("[[sink]]") && help.contains("[gateway]"));
    }
}
