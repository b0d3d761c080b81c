//! A litellm-config sink feeds the service: the real LiteLLM, started on the
//! user's config.yaml with the master key typed in (`litellm --config FILE`,
//! restarted by a script: manager `command`), is rotated: the restart reads
//! the new literal key (new key 200, old refused), config.yaml differs in
//! exactly its key's line, Claude Code's settings follow.

use super::{CLAUDE, filled};
use litekeys_tests::litellm::LiteLlm;
use litekeys_tests::rotate_lab::{OLD_MASTER, Seeds};
use rotate::gateway;
use vault::Secret;

const CONFIG: &str = "# started by hand: litellm --config ~/.config/litellm/config.yaml\nmodel_list:\n  - model_name: gpt-5.5\n    litellm_params:\n      model: openai/fake\n      api_key: fake\n      mock_response: \"hi\"\n\ngeneral_settings:\n  master_key: \"OLD_MASTER\"   # typed in\n";

fn probe(gw: &LiteLlm, key: &str) -> u16 {
    gateway::probe(&gw.url(), Some(&Secret::from(key.to_string()))).unwrap_or(0)
}

#[test]
fn a_rotation_restarts_litellm_on_its_config_with_the_new_literal_key() {
    let Some(s) = Seeds::new() else { return };
    let config =
        s.sb.write("home/.config/litellm/config.yaml", filled(CONFIG));
    let claude = s.sb.write("home/.claude/settings.json", filled(CLAUDE));
    let Some(gw) = LiteLlm::start_with_config(&s.sb, &config) else {
        return;
    };
    assert_eq!(
        probe(&gw, OLD_MASTER),
        200,
        "LiteLLM runs on the literal key"
    );
    let command = gw
        .restart_argv()
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    s.sb.write(
        "repo/litekeys.toml",
        format!(
            "source = \"secrets/global.enc.env\"\n[gateway]\nurl = \"{}\"\n[service]\nmanager = \"command\"\ncommand = [{command}]\n\n[[sink]]\nkind = \"litellm-config\"\npath = \"~/.config/litellm/config.yaml\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n\n[[sink]]\nkind = \"json\"\npath = \"~/.claude/settings.json\"\npointer = \"/env/ANTHROPIC_AUTH_TOKEN\"\n",
            gw.url()
        ),
    );
    s.sb.trust("repo/litekeys.toml");
    s.cmd().arg("status").success();

    let out = s.cmd().arg("--yes").success();
    let rotated = out.stdout_str();
    assert!(
        rotated.contains("verified: restarted (manager \"command\")")
            && rotated.contains("(refused)")
            && rotated.contains("→ 200"),
        "{rotated}"
    );
    let master = s.master();
    assert_eq!(probe(&gw, &master), 200, "the restart read the new key");
    assert_ne!(probe(&gw, OLD_MASTER), 200, "the old key is refused");
    let after = s.read(&config);
    let changed: Vec<&str> = filled(CONFIG)
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        changed,
        [format!("  master_key: \"{master}\"   # typed in").as_str()]
    );
    assert_eq!(after, filled(CONFIG).replace(OLD_MASTER, &master));
    assert_eq!(s.read(&claude), filled(CLAUDE).replace(OLD_MASTER, &master));
    let status = s.cmd().arg("status").success();
    assert!(
        status
            .stdout_str()
            .contains("gateway current key  accepted"),
        "{}",
        status.stdout_str()
    );
}
