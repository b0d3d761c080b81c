//! A key change end to end against the real LiteLLM: the dotenv file gets
//! the new key, the `command` service manager restarts the proxy (stop,
//! start reading the file, as systemd's `EnvironmentFile=`), and
//! `gateway::verify` proves the switch.

use std::time::{Duration, Instant};

use litekeys_tests::Sandbox;
use litekeys_tests::litellm::{LiteLlm, MockModel};
use rotate::gateway;
use rotate::service::{Manager, Programs, ServiceError, ServiceSpec};
use vault::Secret;

fn key(tag: &str) -> Secret {
    Secret::from(format!("sk-{tag}{}", "Hb4Nw8Ke2Yq6Js1D".repeat(3)))
}

fn command(argv: Vec<String>) -> ServiceSpec {
    ServiceSpec {
        manager: Manager::Command {
            argv: argv.into_iter().map(Into::into).collect(),
        },
        timeout: Duration::from_secs(60),
        programs: Programs::default(),
    }
}

/// A LiteLLM running on `old` in its sandbox, and the key to switch to.
/// Bind the sandbox first: bindings drop in reverse, so the proxy is
/// killed before the sandbox goes.
struct Running {
    _sb: Sandbox,
    gw: LiteLlm,
    old: Secret,
    new: Secret,
}

/// `None` (a loud skip outside CI) when LiteLLM is missing.
fn running() -> Option<Running> {
    let sandbox = Sandbox::new();
    let (old, new) = (key("old"), key("new"));
    let gw = LiteLlm::start(
        &sandbox,
        old.as_str().unwrap(),
        &[MockModel::new("m", "ok")],
    )?;
    Some(Running {
        _sb: sandbox,
        gw,
        old,
        new,
    })
}

#[test]
fn command_restart_with_a_new_key_then_verify_passes() {
    let Some(Running { _sb, gw, old, new }) = running() else {
        return;
    };
    eprintln!("LiteLLM started in {:.2} s", gw.started_in.as_secs_f64());
    assert_eq!(gateway::probe(&gw.url(), Some(&old)).unwrap(), 200);

    // What the rotation does: the sink first, then restart, then verify.
    gw.set_master_key(new.as_str().unwrap());
    let t = Instant::now();
    let restarted = command(gw.restart_argv())
        .restart(false, &[&old, &new])
        .expect("restart");
    let report = gateway::verify(
        &format!("{}/v1", gw.url()),
        Some(&old),
        &new,
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| panic!("{e}\n--- log\n{}", gw.log_tail(40)));
    eprintln!(
        "restart command {:.2} s, then {report}; restart to new key accepted {:.2} s",
        restarted.elapsed.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(report.no_key, 401);
    assert_eq!(report.old_key, Some((old.fingerprint(), 400)));
    assert_eq!(report.new_key, (new.fingerprint(), 200));
    let shown = report.to_string();
    assert!(!shown.contains(new.as_str().unwrap()) && !shown.contains(old.as_str().unwrap()));

    // And back again: a second restart (as a rollback would) restores the old key.
    gw.set_master_key(old.as_str().unwrap());
    command(gw.restart_argv())
        .restart(false, &[])
        .expect("restart");
    gateway::verify(&gw.url(), Some(&new), &old, Duration::from_secs(120)).expect("rolled back");
}

#[test]
fn a_restart_that_fails_leaves_the_old_gateway_and_says_why() {
    let Some(Running { _sb, gw, old, new }) = running() else {
        return;
    };
    gw.set_master_key(new.as_str().unwrap());
    // A restart command that cannot do its job.
    let err = command(vec![
        "sh".into(),
        "-c".into(),
        "echo 'unit litellm.service not found' >&2; exit 5".into(),
    ])
    .restart(false, &[&old, &new])
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ServiceError::Failed { .. }), "{msg}");
    assert!(
        msg.contains("unit litellm.service not found") && msg.contains("exit 5"),
        "{msg}"
    );
    // The gateway still runs on the old key: verification says so, within its bound.
    let err = gateway::verify(&gw.url(), Some(&old), &new, Duration::from_secs(2)).unwrap_err();
    assert!(
        matches!(err, gateway::GatewayError::OldKeyAccepted { .. }),
        "{err}"
    );
}
