//! A second HOME in the compose layout (the seeds' `/srv/docker/litellm`:
//! a `.env` at mode 0640 holding the keys, config.yaml naming them with
//! `os.environ/`, compose.yaml with a litellm service), with OpenHands,
//! opencode and continue.dev configs and a shell history holding the key:
//! the `.env` is a dotenv sink, the compose service is the manager,
//! config.yaml is NOT a sink (its references are left alone), the clients
//! are toml/json/yaml sinks, the history line is reported.

use litekeys_tests::rotate_lab::holds_key;
use litekeys_tests::{Snapshot, Sops};
use std::os::unix::fs::PermissionsExt;

const CONFIG: &str = "model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  salt_key: os.environ/LITELLM_SALT_KEY\n";

const COMPOSE: &str = "services:\n  litellm:\n    image: ghcr.io/berriai/litellm:main-stable\n    ports:\n      - \"127.0.0.1:4400:4000\"\n    env_file: .env\n    volumes:\n      - ./config.yaml:/app/config.yaml:ro\n    command: [\"--config\", \"/app/config.yaml\"]\n";

#[test]
fn a_compose_deployment_is_adopted_with_its_env_file_and_service() {
    let Some(sops) = Sops::find() else { return };
    let Some(sb) = super::sandbox() else { return };
    let (master, salt) = (super::key("compose"), super::key("salt"));
    let dir = sb.path("srv/docker/litellm");
    let env = sb.write(
        "srv/docker/litellm/.env",
        format!("LITELLM_MASTER_KEY={master}\nLITELLM_SALT_KEY={salt}\nSTORE_MODEL_IN_DB=False\n"),
    );
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
    sb.write("srv/docker/litellm/config.yaml", CONFIG);
    sb.write("srv/docker/litellm/compose.yaml", COMPOSE);
    sb.write(
        "home/.openhands/config.toml",
        format!("[core]\nworkspace_base = \"./workspace\"\n\n[llm]\nmodel = \"litellm_proxy/qwen3-coder\"\nbase_url = \"http://framework:4400\"\napi_key = \"{master}\"\n"),
    );
    sb.write(
        "home/.config/opencode/opencode.json",
        format!("{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"provider\": {{\n    \"litellm\": {{\n      \"npm\": \"@ai-sdk/openai-compatible\",\n      \"options\": {{ \"baseURL\": \"http://framework:4400/v1\", \"apiKey\": \"{master}\" }}\n    }}\n  }}\n}}\n"),
    );
    // Droid on this box: one route to the published port (the droid sink),
    // one by a LAN name holding the same key (reported, never aliased on a guess).
    sb.write(
        "home/.factory/settings.json",
        format!(
            "{{\"customModels\": [\n  {{\"model\": \"qwen3-coder\", \"baseUrl\": \"http://127.0.0.1:4400/v1\", \"apiKey\": \"{master}\", \"provider\": \"generic-chat-completion-api\"}},\n  {{\"model\": \"kimi-linear\", \"baseUrl\": \"http://framework:4400/v1\", \"apiKey\": \"{master}\", \"provider\": \"generic-chat-completion-api\"}}\n]}}\n"
        ),
    );
    sb.write(
        "home/.continue/config.yaml",
        format!("name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: qwen3-coder\n    provider: openai\n    model: qwen3-coder\n    apiBase: http://framework:4400/v1\n    apiKey: {master}\n    roles: [chat, edit]\n"),
    );
    let history = format!(
        "ls\ncurl -fsS http://framework:4400/v1/models -H \"Authorization: Bearer {master}\"\n"
    );
    sb.write("home/.bash_history", &history);

    // The system root found through $LITEKEYS_ADOPT_ROOT; --dry-run writes nothing.
    let everything = Snapshot::of([sb.dir.path()]);
    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .env("LITEKEYS_ADOPT_ROOT", sb.path(""))
        .args(["adopt", "--dry-run"])
        .success();
    everything.assert_unchanged();
    assert!(
        out.stdout_str().contains("--dry-run: nothing written"),
        "{}",
        out.stdout_str()
    );

    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .args(["adopt", "--yes", "--litellm-config"])
        .arg(dir.join("config.yaml"))
        .success();
    out.never_shows(&master).never_shows(&salt);
    assert!(!holds_key(&out.stdout) && !holds_key(out.stderr.as_bytes()));
    let table = out.stdout_str();
    eprint!("{table}");
    let shown = dir.display().to_string();
    let has_row = |place: &str, action: &str| {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(place) && l.contains(action)),
            "no row {place} ... {action} in\n{table}"
        );
    };
    has_row(&format!("{shown}/.env:1 "), "manage: dotenv sink");
    has_row(
        "~/.openhands/config.toml:",
        "manage: toml sink (pointer /llm/api_key)",
    );
    has_row(
        "~/.continue/config.yaml:9 ",
        "manage: yaml sink (pointer /models/0/apiKey)",
    );
    has_row(
        "~/.config/opencode/opencode.json:",
        "manage: json sink (pointer /provider/litellm/options/apiKey)",
    );
    has_row(
        &format!("~/.bash_history:{} ", super::line_of(&history, &master)),
        "report only: shell history",
    );
    assert!(
        !table.contains(&format!("{shown}/config.yaml:")),
        "config.yaml holds no key:\n{table}"
    );
    assert!(
        table.contains(&format!("compose service litellm in {shown}")),
        "{table}"
    );

    let toml = std::fs::read_to_string(sb.path("repo/litekeys.toml")).unwrap();
    eprint!("{toml}");
    for want in [
        "url = \"http://127.0.0.1:4400\"\n".to_string(),
        "kind = \"droid\"\npath = \"~/.factory\"".to_string(),
        format!("manager = \"compose\"\ndir = \"{shown}\"\nservice = \"litellm\""),
        format!("kind = \"dotenv\"\npath = \"{shown}/.env\"\nkeys = [\"LITELLM_MASTER_KEY\", \"LITELLM_SALT_KEY\"]"),
        "kind = \"yaml\"\npath = \"~/.continue/config.yaml\"\npointer = \"/models/0/apiKey\"".to_string(),
        "kind = \"toml\"\npath = \"~/.openhands/config.toml\"\npointer = \"/llm/api_key\"".to_string(),
        "kind = \"json\"\npath = \"~/.config/opencode/opencode.json\"\npointer = \"/provider/litellm/options/apiKey\"".to_string(),
    ] {
        assert!(toml.contains(&want), "{want:?} not in\n{toml}");
    }
    assert!(
        !toml.contains("litellm-config"),
        "the os.environ/ reference is no sink:\n{toml}"
    );
    let plain = sops
        .decrypt(&sb, &sb.path("repo/secrets/global.enc.env"))
        .success();
    assert_eq!(
        plain.stdout_str(),
        format!("LITELLM_MASTER_KEY={master}\nLITELLM_SALT_KEY={salt}\n")
    );
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o640,
        "the .env keeps its mode"
    );

    // Trusted as written: status reads it, every sink in sync.
    sb.cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .arg("status")
        .success()
        .never_shows(&master);
}
