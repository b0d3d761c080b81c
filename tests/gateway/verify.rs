//! Gateway checks (`rotate::gateway`) against the real LiteLLM proxy of the
//! project venv: liveliness, key probes, verification failures, sentinel.

use std::time::Duration;

use litekeys_tests::Sandbox;
use litekeys_tests::litellm::{LiteLlm, MockModel};
use rotate::gateway::{self, GatewayError};
use vault::Secret;

const SENTINEL: &str = "litekeys-sentinel-7f3a";

fn key(tag: &str) -> Secret {
    // `sk-` and 43+ base62 characters, like a generated key.
    Secret::from(format!("sk-{tag}{}", "Q7x2Lm9Pz4Rk8Vt3".repeat(3)))
}

fn text(key: &Secret) -> &str {
    key.as_str().unwrap()
}

fn start(sandbox: &Sandbox, key: &Secret) -> Option<LiteLlm> {
    let models = [
        MockModel::new("sentinel", SENTINEL),
        MockModel::new("chatty", &format!("Sure! {SENTINEL}")),
    ];
    let gw = LiteLlm::start(sandbox, text(key), &models)?;
    eprintln!("LiteLLM started in {:.2} s", gw.started_in.as_secs_f64());
    Some(gw)
}

/// Every message about keys names fingerprints, never values.
fn hides(msg: &str, keys: &[&Secret]) {
    for k in keys {
        assert!(!msg.contains(text(k)), "a key value in: {msg}");
    }
}

#[test]
fn probe_refuses_no_key_and_a_wrong_key_and_accepts_the_master_key() {
    let sandbox = Sandbox::new();
    let master = key("master");
    let Some(gw) = start(&sandbox, &master) else {
        return;
    };
    // Droid-style base URLs end in /v1 or /v1/.
    for base in [
        gw.url(),
        format!("{}/v1", gw.url()),
        format!("{}/v1/", gw.url()),
    ] {
        gateway::wait_live(&base, Duration::from_secs(30)).expect("live");
        assert_eq!(gateway::liveliness(&base).unwrap(), 200);
        // With prisma installed LiteLLM answers a missing key with 401 ...
        assert_eq!(gateway::probe(&base, None).unwrap(), 401, "{base}");
        // ... and, with no database, a wrong key with 400 (not 401).
        assert_eq!(
            gateway::probe(&base, Some(&key("wrong"))).unwrap(),
            400,
            "{base}"
        );
        assert_eq!(gateway::probe(&base, Some(&master)).unwrap(), 200, "{base}");
    }
    // No key at all accepted: verify with the running key passes.
    let report = gateway::verify(&gw.url(), None, &master, Duration::from_secs(30)).unwrap();
    assert_eq!((report.no_key, report.new_key.1), (401, 200));
    assert_eq!(report.new_key.0, master.fingerprint());
    hides(&report.to_string(), &[&master]);
}

#[test]
fn sentinel_passes_on_the_exact_reply_and_fails_otherwise() {
    let sandbox = Sandbox::new();
    let master = key("master");
    let Some(gw) = start(&sandbox, &master) else {
        return;
    };
    let base = format!("{}/v1/", gw.url());
    let timeout = Duration::from_secs(30);
    gateway::sentinel(&base, &master, "sentinel", SENTINEL, timeout, &[]).expect("exact reply");

    let err = gateway::sentinel(&base, &master, "chatty", SENTINEL, timeout, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, GatewayError::SentinelMismatch { .. }),
        "{msg}"
    );
    assert!(msg.contains("chatty") && msg.contains("Sure!"), "{msg}");
    hides(&msg, &[&master]);

    let wrong = key("wrong");
    let err = gateway::sentinel(&base, &wrong, "sentinel", SENTINEL, timeout, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, GatewayError::SentinelRefused { status: 400, .. }),
        "{msg}"
    );
    hides(&msg, &[&master, &wrong]);
}

#[test]
fn verify_fails_when_the_gateway_did_not_pick_up_the_new_key() {
    let sandbox = Sandbox::new();
    let (old, new) = (key("old"), key("new"));
    let Some(gw) = start(&sandbox, &old) else {
        return;
    };
    // The sink holds the new key, but the gateway was not restarted.
    gw.set_master_key(text(&new));
    let short = Duration::from_secs(2);

    let err = gateway::verify(&gw.url(), Some(&old), &new, short).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, GatewayError::OldKeyAccepted { status: 200, .. }),
        "{msg}"
    );
    assert!(msg.contains(&old.fingerprint()), "{msg}");
    hides(&msg, &[&old, &new]);

    // Without the old key to compare, the new key's refusal is the error.
    let err = gateway::verify(&gw.url(), None, &new, short).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GatewayError::NewKeyRefused { .. }), "{msg}");
    assert!(
        msg.contains(&new.fingerprint()) && msg.contains("HTTP 400"),
        "{msg}"
    );
    hides(&msg, &[&old, &new]);
}

#[test]
fn verify_fails_within_its_bound_when_the_gateway_died() {
    let sandbox = Sandbox::new();
    let (old, new) = (key("old"), key("new"));
    let Some(gw) = start(&sandbox, &old) else {
        return;
    };
    gw.kill();
    assert_eq!(gw.liveliness(), None, "killed, yet it answers");

    let err = gateway::verify(&gw.url(), Some(&old), &new, Duration::from_secs(2)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GatewayError::NotLive { .. }), "{msg}");
    assert!(
        msg.contains(&gw.url()) && msg.contains("not live after 2s"),
        "{msg}"
    );
    hides(&msg, &[&old, &new]);

    let err = gateway::probe(&gw.url(), Some(&new)).unwrap_err();
    assert!(matches!(err, GatewayError::Unreachable { .. }), "{err}");
}

/// The fixture kills LiteLLM even when the sandbox went first (a struct
/// holding both drops them in field order).
#[test]
fn the_fixture_kills_litellm_even_after_its_sandbox_is_gone() {
    let sandbox = Sandbox::new();
    let Some(gw) = start(&sandbox, &key("master")) else {
        return;
    };
    let pid = gw.pid().expect("pid file");
    let port = gw.port();
    drop(sandbox);
    drop(gw);
    let stat = format!("/proc/{pid}/stat");
    let running = std::fs::read_to_string(&stat)
        .map(|s| !s.rsplit(") ").next().unwrap_or("").starts_with('Z'))
        .unwrap_or(false);
    assert!(!running, "LiteLLM (pid {pid}) survived its fixture");
    assert_eq!(
        litekeys_tests::litellm::http_status(port, "/health/liveliness"),
        None
    );
}
