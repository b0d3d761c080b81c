//! The seeds' layout under systemd: config.yaml names the keys with
//! `os.environ/`, the user unit reads `lab-secrets/litellm.env`
//! (`EnvironmentFile=`) and a drop-in sets the master key again, an
//! environment.d file too; Droid's legacy config.json refers to the
//! variable, its generated config.d file holds the key; the repository's
//! `.envrc` exports it. adopt: manager systemd-user and the unit, the port
//! from `ExecStart=`, a dotenv, two systemd-env and a droid sink, the
//! `.envrc` reported; `status` in sync.

use litekeys_tests::rotate_lab::holds_key;

#[test]
fn a_systemd_user_unit_and_its_environment_files_are_adopted() {
    let Some(sb) = super::sandbox() else { return };
    let (master, salt) = (super::key("unit"), super::key("unitsalt"));
    sb.write(
        "home/.config/litellm/config.yaml",
        "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  salt_key: os.environ/LITELLM_SALT_KEY\n",
    );
    sb.write(
        "home/.config/systemd/user/litellm.service",
        "[Unit]\nDescription=LiteLLM gateway\n\n[Service]\nEnvironmentFile=-%h/.config/lab-secrets/litellm.env\nExecStart=%h/.config/litellm/venv/bin/litellm --config %h/.config/litellm/config.yaml --port 4100\n\n[Install]\nWantedBy=default.target\n",
    );
    sb.write(
        "home/.config/systemd/user/litellm.service.d/litekeys.conf",
        format!("[Service]\nEnvironment=\"LITELLM_MASTER_KEY={master}\"\n"),
    );
    sb.write(
        "home/.config/lab-secrets/litellm.env",
        format!("# materialised by direnv\nLITELLM_MASTER_KEY={master}\nLITELLM_SALT_KEY={salt}\n"),
    );
    sb.write(
        "home/.config/environment.d/50-litellm.conf",
        format!("LITELLM_MASTER_KEY={master}\n"),
    );
    sb.write(
        "home/.factory/config.json",
        "{\"custom_models\": [{\"model_display_name\": \"qwen3-coder (LiteLLM)\", \"model\": \"qwen3-coder:480b-cloud\", \"base_url\": \"http://127.0.0.1:4100/v1/\", \"api_key\": \"env:LITELLM_MASTER_KEY\", \"provider\": \"generic-chat-completion-api\", \"max_tokens\": 128000}]}\n",
    );
    sb.write(
        "home/.factory/config.d/lab-litellm.json",
        format!("{{\"custom_models\": [{{\"model_display_name\": \"lab\", \"model\": \"llama3.1:latest\", \"base_url\": \"http://127.0.0.1:4100/v1/\", \"api_key\": \"{master}\", \"provider\": \"generic-chat-completion-api\"}}]}}\n"),
    );
    sb.write(
        "repo/.envrc",
        format!("export LITELLM_MASTER_KEY={master}\n"),
    );

    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .args(["adopt", "--yes"])
        .success();
    out.never_shows(&master).never_shows(&salt);
    assert!(!holds_key(&out.stdout) && !holds_key(out.stderr.as_bytes()));
    let table = out.stdout_str();
    eprint!("{table}");
    assert!(
        table.contains("service:  systemd user unit litellm.service"),
        "{table}"
    );
    let has_row = |place: &str, action: &str| {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(place) && l.contains(action)),
            "no row {place} ... {action} in\n{table}"
        );
    };
    has_row(
        "~/.config/lab-secrets/litellm.env:2 ",
        "manage: dotenv sink",
    );
    has_row(
        "~/.config/systemd/user/litellm.service.d/litekeys.conf:2 ",
        "manage: systemd-env sink",
    );
    has_row(
        "~/.config/environment.d/50-litellm.conf:1 ",
        "manage: systemd-env sink",
    );
    has_row(
        "~/.factory/config.d/lab-litellm.json:1 ",
        "manage: droid sink ~/.factory",
    );
    let envrc = format!("{}:1 ", sb.path("repo/.envrc").display());
    has_row(&envrc, "report only: remove the key there");
    assert!(
        !table.contains("config.json:"),
        "a reference holds no key:\n{table}"
    );

    let toml = std::fs::read_to_string(sb.path("repo/litekeys.toml")).unwrap();
    eprint!("{toml}");
    for want in [
        "url = \"http://127.0.0.1:4100\"\n",
        "manager = \"systemd-user\"\nunit = \"litellm.service\"\n",
        "kind = \"dotenv\"\npath = \"~/.config/lab-secrets/litellm.env\"\nkeys = [\"LITELLM_MASTER_KEY\", \"LITELLM_SALT_KEY\"]\n",
        "kind = \"systemd-env\"\npath = \"~/.config/systemd/user/litellm.service.d/litekeys.conf\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n",
        "kind = \"systemd-env\"\npath = \"~/.config/environment.d/50-litellm.conf\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n",
        "kind = \"droid\"\npath = \"~/.factory\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n",
    ] {
        assert!(toml.contains(want), "{want:?} not in\n{toml}");
    }
    assert!(!toml.contains(".envrc"), "{toml}");

    sb.cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .arg("status")
        .success()
        .never_shows(&master);
}
