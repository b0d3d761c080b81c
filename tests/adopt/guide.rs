//! A HOME shaped like a user who followed the Droid-through-LiteLLM guide:
//! LiteLLM's config.yaml with comments and a literal master key, LiteLLM
//! started the guide's way (`litellm --config … --port …` in the
//! background), Droid settings with the same key next to a VibeProxy
//! route, Claude Code settings with it in `env`, a `.zshrc` function with
//! it. `adopt` takes it over; `status` is in sync; a rotation against the
//! real LiteLLM (restarted by a script: manager `command`, as the user sets
//! it after adopt) moves every managed place to the new key and leaves the
//! rest alone; the real `droid exec` answers through the gateway.

use litekeys_tests::droid::Droid;
use litekeys_tests::litellm::LiteLlm;
use litekeys_tests::rotate_lab::holds_key;
use litekeys_tests::{Snapshot, Sops};
use rotate::gateway;
use vault::{Exit, Secret};

/// What the mock model answers (and `droid exec` is asked for).
const SENTINEL: &str = "DROID_LITELLM_OK";

fn config_yaml(master: &str) -> String {
    format!(
        "# LiteLLM in front of my providers (set up from the guide)\n\
         general_settings:\n\
         \x20 # the proxy's admin key: Droid and Claude Code send it\n\
         \x20 master_key: {master}\n\
         litellm_settings:\n\
         \x20 drop_params: true   # strips Anthropic-only params\n\
         model_list:\n\
         # offline here: a mock answers, no upstream\n\
         - litellm_params:\n\
         \x20   model: openai/qwen3p6-plus\n\
         \x20   api_key: your-provider-api-key\n\
         \x20   mock_response: \"{SENTINEL}\"\n\
         \x20 model_name: qwen3p6-plus\n"
    )
}

fn droid_settings(master: &str, port: u16) -> String {
    format!(
        r#"{{
  "enabledPlugins": {{
    "core@factory-plugins": true
  }},
  "customModels": [
    {{
      "model": "kimi-k2.5",
      "id": "custom:Kimi-K2.5-[Kimi-Coding]-0",
      "index": 0,
      "baseUrl": "http://localhost:8317/v1",
      "apiKey": "vibeproxy",
      "displayName": "Kimi K2.5 [VibeProxy]",
      "maxOutputTokens": 262144,
      "noImageSupport": false,
      "provider": "generic-chat-completion-api"
    }},
    {{
      "model": "qwen3p6-plus",
      "displayName": "Qwen 3 Plus (Local LiteLLM)",
      "baseUrl": "http://localhost:{port}/v1",
      "apiKey": "{master}",
      "provider": "generic-chat-completion-api",
      "maxOutputTokens": 16384
    }}
  ]
}}
"#
    )
}

fn claude_settings(master: &str, port: u16) -> String {
    format!(
        r#"{{
  "env": {{
    "ANTHROPIC_BASE_URL": "http://localhost:{port}",
    "ANTHROPIC_AUTH_TOKEN": "{master}",
    "ANTHROPIC_MODEL": "qwen3p6-plus"
  }},
  "permissions": {{
    "allow": ["Bash(git status)"]
  }}
}}
"#
    )
}

fn zshrc(master: &str, port: u16) -> String {
    format!(
        "# ~/.zshrc\nexport PATH=\"$HOME/bin:$PATH\"\n\n\
         _claude_via_litellm() {{\n\
         \x20 local model_id=\"$1\"\n\
         \x20 shift\n\
         \x20 env -u ANTHROPIC_API_KEY \\\n\
         \x20 ANTHROPIC_BASE_URL=http://localhost:{port} \\\n\
         \x20 ANTHROPIC_AUTH_TOKEN={master} \\\n\
         \x20 ANTHROPIC_MODEL=\"$model_id\" \\\n\
         \x20 claude \"$@\"\n\
         }}\n\
         alias claude-qwen='_claude_via_litellm qwen3p6-plus'\n"
    )
}

fn probe(gw: &LiteLlm, key: &str) -> u16 {
    gateway::probe(&gw.url(), Some(&Secret::from(key.to_string()))).unwrap_or(0)
}

#[test]
fn the_guides_home_is_adopted_then_rotated_against_the_real_litellm() {
    let Some(sops) = Sops::find() else { return };
    let Some(sb) = super::sandbox() else { return };
    let master = super::key("guide");
    let home = sb.home();
    let config = sb.write("home/.config/litellm/config.yaml", config_yaml(&master));
    let Some(gw) = LiteLlm::start_with_config(&sb, &config) else {
        return;
    };
    assert_eq!(probe(&gw, &master), 200, "LiteLLM runs on the literal key");
    let port = gw.port();
    let settings = sb.write("home/.factory/settings.json", droid_settings(&master, port));
    let claude = sb.write("home/.claude/settings.json", claude_settings(&master, port));
    let rc = sb.write("home/.zshrc", zshrc(&master, port));
    let rc_line = super::line_of(&zshrc(&master, port), &master);
    let before = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let (config_before, settings_before, claude_before, rc_before) = (
        before(&config),
        before(&settings),
        before(&claude),
        before(&rc),
    );

    // adopt: reads the HOME, writes only repo/ (and the trust records).
    let untouched = Snapshot::of([
        home.join(".config/litellm"),
        home.join(".factory"),
        home.join(".claude"),
        rc.clone(),
    ]);
    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .args(["adopt", "--yes"])
        .success();
    untouched.assert_unchanged();
    out.never_shows(&master);
    assert!(!holds_key(&out.stdout) && !holds_key(out.stderr.as_bytes()));
    let table = out.stdout_str();
    eprint!("{table}");
    let fp = vault::fingerprint(master.as_bytes());
    let row = |place: &str| {
        table
            .lines()
            .find(|l| l.starts_with(place))
            .unwrap_or_else(|| panic!("no row {place}:\n{table}"))
            .to_string()
    };
    let config_line = super::line_of(&config_before, &master);
    assert!(
        row(&format!("~/.config/litellm/config.yaml:{config_line} "))
            .contains("manage: litellm-config sink")
    );
    let droid_row = row("~/.factory/settings.json:");
    assert!(
        droid_row.contains("manage: droid sink ~/.factory"),
        "{droid_row}"
    );
    assert!(droid_row.contains("customModels[1].apiKey"), "{droid_row}");
    assert!(
        !droid_row.contains("customModels[0]"),
        "the VibeProxy route holds no gateway key"
    );
    assert!(
        row("~/.claude/settings.json:")
            .contains("manage: json sink (pointer /env/ANTHROPIC_AUTH_TOKEN)")
    );
    let rc_row = row(&format!("~/.zshrc:{rc_line} "));
    assert!(rc_row.contains("report only (never edited)"), "{rc_row}");
    assert!(
        rc_row.contains("$(litekeys get LITELLM_MASTER_KEY)"),
        "{rc_row}"
    );
    assert!(
        table.contains(&format!("LITELLM_MASTER_KEY {fp}")),
        "{table}"
    );
    assert!(
        table.contains(&format!("gateway:  http://127.0.0.1:{port}")),
        "{table}"
    );
    assert!(
        table.contains("LiteLLM runs by hand") && table.contains("manager = \"none\""),
        "{table}"
    );

    // What it wrote: the source with the key found, a trusted litekeys.toml.
    let source = sb.path("repo/secrets/global.enc.env");
    let plain = sops.decrypt(&sb, &source).success();
    assert_eq!(plain.stdout_str(), format!("LITELLM_MASTER_KEY={master}\n"));
    let toml_path = sb.path("repo/litekeys.toml");
    let toml = before(&toml_path);
    assert!(!holds_key(toml.as_bytes()), "{toml}");
    for want in [
        "kind = \"litellm-config\"\npath = \"~/.config/litellm/config.yaml\"\nkeys = [\"LITELLM_MASTER_KEY\"]",
        "kind = \"droid\"\npath = \"~/.factory\"\nkeys = [\"LITELLM_MASTER_KEY\"]",
        "kind = \"json\"\npath = \"~/.claude/settings.json\"\npointer = \"/env/ANTHROPIC_AUTH_TOKEN\"",
        "manager = \"none\"",
        "litellm_config = \"~/.config/litellm/config.yaml\"",
    ] {
        assert!(toml.contains(want), "{want:?} not in\n{toml}");
    }
    assert!(!toml.contains(".zshrc"), "{toml}");
    // The better layout, shown but not imposed: the two clients on the
    // master key could each have a virtual key (commented out: no
    // [[virtual_key]] is in force).
    assert!(table.contains("2 client(s) hold the master key"), "{table}");
    assert!(
        toml.contains("#   [[virtual_key]]")
            && toml.contains("#   a client on the master key: ~/.factory")
            && toml.contains("#   a client on the master key: ~/.claude/settings.json")
            && !toml.lines().any(|l| l.starts_with("[[virtual_key]]")),
        "{toml}"
    );

    // status, as written (trusted by adopt): every sink in sync.
    sb.cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .arg("status")
        .success()
        .never_shows(&master);

    // What the guide's user does next: restart by a script (manager command).
    let restart = gw.restart_argv();
    let edited = toml.replace(
        "manager = \"none\"",
        &format!(
            "manager = \"command\"\ncommand = [\"{}\", \"{}\"]\ntimeout = 120",
            restart[0], restart[1]
        ),
    );
    std::fs::write(&toml_path, &edited).unwrap();
    sb.trust("repo/litekeys.toml");

    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .arg("--yes")
        .output();
    assert_eq!(
        out.exit(),
        Some(Exit::Ok),
        "{}\n{}",
        out.stderr,
        gw.log_tail(30)
    );
    let plain = sops.decrypt(&sb, &source).success();
    let new = plain
        .stdout_str()
        .trim_end()
        .strip_prefix("LITELLM_MASTER_KEY=")
        .expect("the master key")
        .to_string();
    assert_ne!(new, master);
    out.never_shows(&master).never_shows(&new);
    assert_eq!(probe(&gw, &new), 200, "the new key is accepted");
    let old = probe(&gw, &master);
    assert!(
        old != 0 && !(200..300).contains(&old),
        "the old key refused: {old}"
    );

    // config.yaml: exactly the one line; the clients: the key only.
    let config_after = before(&config);
    let changed: Vec<(&str, &str)> = config_before
        .lines()
        .zip(config_after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(config_before.lines().count(), config_after.lines().count());
    assert_eq!(changed.len(), 1, "{config_after}");
    assert_eq!(changed[0].1, changed[0].0.replace(&master, &new));
    assert_eq!(before(&settings), settings_before.replace(&master, &new));
    assert!(before(&settings).contains("\"apiKey\": \"vibeproxy\""));
    assert_eq!(before(&claude), claude_before.replace(&master, &new));
    assert_eq!(before(&rc), rc_before, ".zshrc is never edited");

    // The real Droid CLI through the gateway, with the key it holds now.
    let Some(droid) = Droid::find() else { return };
    let models = droid.models(&home);
    let (id, _) = models
        .iter()
        .find(|(_, name)| name.contains("Local LiteLLM"))
        .unwrap_or_else(|| panic!("no LiteLLM route in {models:?}"));
    let run = droid.exec(&home, id, &format!("Reply exactly: {SENTINEL}"));
    assert!(run.success(), "{run:?}\n--- LiteLLM\n{}", gw.log_tail(30));
    assert_eq!(run.result().as_deref(), Some(SENTINEL), "{run:?}");
    assert!(!run.stdout.contains(&new) && !run.stderr.contains(&new));
}
