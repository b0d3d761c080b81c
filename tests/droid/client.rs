//! The kit's droid against a real LiteLLM: a `custom:` model answers
//! through the gateway with the key from the settings file, and a wrong
//! key fails.

use litekeys_tests::Sandbox;
use litekeys_tests::droid::{CustomModel, Droid, settings, write_settings};
use litekeys_tests::litellm::{LiteLlm, MockModel};

fn key(tag: &str) -> String {
    format!("sk-{tag}{}", "Qm7Rt2Wx9Lp4Zc8V".repeat(3))
}

#[test]
fn droid_exec_answers_through_litellm_with_the_key_of_its_settings() {
    let Some(droid) = Droid::find() else { return };
    let sb = Sandbox::new();
    let master = key("droid");
    let Some(gw) = LiteLlm::start(&sb, &master, &[MockModel::new("gw-mock", "MOCK_ONLY_7f3a")])
    else {
        return;
    };
    let home = sb.path("droid-home");
    let base = format!("{}/v1", gw.url());
    write_settings(
        &home,
        &settings(&[CustomModel::new("gw-mock", &base, &master).display_name("Gw Mock")]),
    );
    assert_eq!(
        droid.models(&home),
        vec![("custom:Gw-Mock-0".to_string(), "Gw Mock".to_string())]
    );
    let out = droid.exec(&home, "custom:Gw-Mock-0", "Reply exactly: MOCK_ONLY_7f3a");
    eprintln!("droid exec took {:.2} s", out.took.as_secs_f64());
    assert!(out.success(), "{out:?}\n--- LiteLLM\n{}", gw.log_tail(30));
    assert_eq!(out.result().as_deref(), Some("MOCK_ONLY_7f3a"), "{out:?}");
    assert!(!out.stdout.contains(&master) && !out.stderr.contains(&master));

    // The same route with a key the gateway refuses: droid fails.
    write_settings(
        &home,
        &settings(&[CustomModel::new("gw-mock", &base, &key("wrong")).display_name("Gw Mock")]),
    );
    let out = droid.exec(&home, "custom:Gw-Mock-0", "Reply exactly: MOCK_ONLY_7f3a");
    assert!(!out.success() && !out.timed_out, "{out:?}");
    assert_ne!(out.result().as_deref(), Some("MOCK_ONLY_7f3a"), "{out:?}");
}
