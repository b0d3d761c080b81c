//! Routes by URL only: on 0.1.0 a Droid route whose `apiKey` equalled the
//! old master key got the new one whatever its `baseUrl` (VibeProxy, a
//! provider), handing the gateway key to a third party; a gateway route
//! whose `apiKey` was a number or missing was reported in sync.

use litekeys_tests::rotate_lab::*;
use vault::Exit;

/// The seeds' settings with a route to api.deepseek.com holding the old
/// master key, and gateway routes with a number and no `apiKey`.
fn settings() -> String {
    fill(SETTINGS).replace(
        "\"customModels\": [",
        &format!(
            "\"customModels\": [\n    {{\"model\": \"deepseek-chat\", \"baseUrl\": \"https://api.deepseek.com/v1\", \"apiKey\": \"{OLD_MASTER}\"}},"
        ),
    )
}

fn droid(s: &Seeds) -> serde_json::Value {
    serde_json::from_str(&s.read(&s.sb.home().join(".factory/settings.json"))).unwrap()
}

#[test]
fn a_route_elsewhere_holding_the_gateway_key_is_left_alone_and_reported() {
    let Some(s) = Seeds::new() else { return };
    s.sb.write("home/.factory/settings.json", settings());
    let plan = s.cmd().args(["--dry-run"]).success();
    let shown = plan.stdout_str();
    assert!(
        shown.contains("customModels[0] (deepseek-chat) holds the gateway key but points elsewhere (https://api.deepseek.com/v1): left alone"),
        "{shown}"
    );
    assert!(
        shown.contains("(private-host) holds the gateway key but points elsewhere"),
        "{shown}"
    );
    plan.never_shows(OLD_MASTER);

    let out = s.cmd().arg("--yes").success();
    let new = s.master();
    out.never_shows(&new).never_shows(OLD_MASTER);
    let settings = droid(&s);
    let routes = settings["customModels"].as_array().unwrap();
    let key = |model: &str| {
        routes
            .iter()
            .find(|r| r["model"] == model)
            .map(|r| r["apiKey"].clone())
            .unwrap()
    };
    // Elsewhere: the old key stays (the user gives those routes their own).
    assert_eq!(key("deepseek-chat"), OLD_MASTER);
    assert_eq!(key("private-host"), OLD_MASTER);
    assert_eq!(key("kimi-k2.5"), "vibeproxy");
    // The gateway's routes: the new key.
    assert_eq!(key("gpt-5.5"), new.as_str());
    assert_eq!(key("qwen3p6-plus"), new.as_str());

    let status = s.cmd().arg("status").success();
    let table = status.stdout_str();
    assert!(
        !table.contains("points elsewhere"),
        "the old key is no gateway key any more: {table}"
    );
    // A sync now must not hand the new key to them either.
    s.cmd().arg("sync").success();
    assert_eq!(droid(&s), settings);
}

#[test]
fn status_warns_of_a_route_elsewhere_holding_the_current_key() {
    let Some(s) = Seeds::new() else { return };
    s.sb.write("home/.factory/settings.json", settings());
    let out = s.cmd().arg("status").expect(Exit::Drift);
    let table = out.stdout_str();
    assert!(
        table.contains(
            "warning: customModels[0] (deepseek-chat) holds the gateway key but points elsewhere"
        ),
        "{table}"
    );
    out.never_shows(OLD_MASTER);
}

#[test]
fn a_gateway_route_with_a_number_or_no_api_key_is_not_in_sync() {
    let Some(s) = Seeds::new() else { return };
    s.cmd().arg("--yes").success();
    s.cmd().arg("status").success();
    let path = s.sb.home().join(".factory/settings.json");
    let text = s.read(&path).replace(
        "\"customModels\": [",
        "\"customModels\": [\n    {\"model\": \"n\", \"baseUrl\": \"http://127.0.0.1:4000/v1\", \"apiKey\": 12345},\n    {\"model\": \"m\", \"baseUrl\": \"http://localhost:4000/v1\"},",
    );
    std::fs::write(&path, text).unwrap();
    let out = s.cmd().arg("status").expect(Exit::Drift);
    let table = out.stdout_str();
    assert!(
        table.contains(
            "problem: customModels[0] (n) points at the gateway but has a number as its apiKey"
        ),
        "{table}"
    );
    assert!(
        table.contains("problem: customModels[1] (m) points at the gateway but has no apiKey"),
        "{table}"
    );
    let json = s.cmd().args(["status", "--json"]).expect(Exit::Drift);
    let v: serde_json::Value = serde_json::from_str(json.stdout_str()).unwrap();
    assert_eq!(v["in_sync"], false);
}
