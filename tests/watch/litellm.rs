//! litekeys-watch against the real LiteLLM proxy (tests/kit/litellm.rs):
//! the `command` manager restarts it the way systemd would with
//! `EnvironmentFile=`, and the watcher verifies the source's key on
//! /v1/models. Restarts are counted by a wrapper around the fixture's
//! control script.
//!
//! The tests that change the source need the real `litekeys-rotate`.

use litekeys_tests::litellm::{LiteLlm, MockModel};
use litekeys_tests::watch_lab::{Lab, SOURCE, key, make_executable};
use rotate::gateway;
use vault::Exit;
use vault::Secret;

/// Fields drop in order: the proxy is killed (by its control script, in
/// the sandbox) before the sandbox is removed.
struct Gateway {
    gw: LiteLlm,
    lab: Lab,
}

impl Gateway {
    /// A lab whose source holds `master`, a LiteLLM reading it from its
    /// dotenv file (the only sink), and litekeys.toml to match.
    fn start(master: &str) -> Option<Gateway> {
        let lab = Lab::new(master)?;
        let gw = LiteLlm::start(&lab.sb, master, &[MockModel::new("m", "ok")])?;
        let ctl = gw.restart_argv();
        lab.sb.write(
            "restart.sh",
            format!(
                "#!/bin/sh\necho restart >> '{}'\nexec '{}' {}\n",
                lab.sb.path("restarts").display(),
                ctl[0],
                ctl[1]
            ),
        );
        make_executable(&lab.sb.path("restart.sh"));
        lab.sb.write(
            "litekeys.toml",
            format!(
                "source = \"{SOURCE}\"\n\
                 [gateway]\nurl = \"{}\"\ntimeout = 120\n\
                 [service]\nmanager = \"command\"\ncommand = [\"{}\"]\ntimeout = 120\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"{}\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n",
                gw.url(),
                lab.sb.path("restart.sh").display(),
                gw.env_file().display()
            ),
        );
        Some(Gateway { gw, lab })
    }

    fn status(&self, key: &str) -> u16 {
        gateway::probe(&self.gw.url(), Some(&Secret::from(key.to_string()))).unwrap_or(0)
    }
}

#[test]
fn a_hand_edit_restarts_litellm_once_and_verifies_the_source_key() {
    let master = key("edit");
    let Some(g) = Gateway::start(&master) else {
        return;
    };
    let w = g.lab.watch(&["--min-interval", "0ms"]);
    let env = g.gw.env_file();
    let edited = format!(
        "{}LITELLM_LOG=INFO\n",
        std::fs::read_to_string(&env).unwrap()
    );
    std::fs::write(&env, &edited).unwrap();
    let fp = vault::fingerprint(master.as_bytes());
    w.wait_for(&format!("the gateway accepts master key {fp}"), 1);
    assert_eq!(g.lab.restarts(), 1, "{}", w.dump());
    assert_eq!(g.status(&master), 200);
    assert_eq!(std::fs::read_to_string(&env).unwrap(), edited);
    w.never_shows(&master);
}

#[test]
fn a_source_replaced_by_rename_reaches_litellm_with_one_restart() {
    let (old, new) = (key("gwold"), key("gwnew"));
    let Some(g) = Gateway::start(&old) else {
        return;
    };
    let w = g.lab.watch(&["--min-interval", "0ms"]);
    g.lab.replace_master(&new);
    let fp = vault::fingerprint(new.as_bytes());
    w.wait_for(&format!("the gateway accepts master key {fp}"), 1);
    assert_eq!(g.status(&new), 200);
    assert_ne!(g.status(&old), 200);
    let env = std::fs::read_to_string(g.gw.env_file()).unwrap();
    assert!(env.contains(&format!("LITELLM_MASTER_KEY={new}")));
    g.lab.touch(SOURCE);
    w.wait_for("same content; nothing to do", 1);
    assert_eq!(g.lab.restarts(), 1, "{}", w.dump());
    w.never_shows(&old);
    w.never_shows(&new);
}

#[test]
fn a_tampered_source_leaves_the_gateway_working_then_a_valid_one_restarts_once() {
    let (old, new) = (key("tamold"), key("tamnew"));
    let Some(g) = Gateway::start(&old) else {
        return;
    };
    let w = g.lab.watch(&["--min-interval", "0ms"]);
    let text = String::from_utf8(g.lab.sb.read(SOURCE)).unwrap();
    let tampered = text.replacen("data:", "data:AA", 1);
    g.lab.replace_source(tampered.as_bytes());
    w.wait_for("error:", 1);
    assert_eq!(g.lab.restarts(), 0);
    assert_eq!(g.status(&old), 200, "the gateway keeps working");
    g.lab.replace_master(&new);
    let fp = vault::fingerprint(new.as_bytes());
    w.wait_for(&format!("the gateway accepts master key {fp}"), 1);
    assert_eq!(g.lab.restarts(), 1, "{}", w.dump());
    assert_eq!(w.count("error:"), 1, "{}", w.dump());
    assert_eq!(g.status(&new), 200);
}

#[test]
fn a_rotation_while_watching_restarts_litellm_exactly_once() {
    let old = key("rotold");
    let Some(g) = Gateway::start(&old) else {
        return;
    };
    let w = g.lab.watch(&["--min-interval", "0ms"]);
    let out = g
        .lab
        .sb
        .cmd("litekeys-rotate")
        .args(["--yes", "--config"])
        .arg(g.lab.sb.path("litekeys.toml"))
        .output();
    assert_eq!(
        out.exit(),
        Some(Exit::Ok),
        "litekeys-rotate: {}",
        out.stderr
    );
    assert!(
        out.stdout_str().contains("; verified:"),
        "the rotation did not restart and verify the gateway itself: {}",
        out.stdout_str()
    );
    w.wait_for("a rotation already restarted the service", 1);
    g.lab.touch(SOURCE);
    w.wait_for("same content; nothing to do", 1);
    assert_eq!(g.lab.restarts(), 1, "{}", w.dump());
    assert_ne!(g.status(&old), 200, "the old key is refused");
}
