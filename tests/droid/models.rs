//! The ids litekeys gives Droid's custom models (`rotate::droid::listed`)
//! are the ones the real `droid exec --help` lists, in its order: ids,
//! display names, whitespace, counters, settings.local.json replacing
//! settings.json's models, the legacy config.json after them.

use litekeys_tests::Sandbox;
use litekeys_tests::droid::Droid;
use serde_json::Value;

const ROUTE: &str = r#""baseUrl": "http://127.0.0.1:9/v1", "apiKey": "sk-unused-aaaaaaaaaaaa", "provider": "generic-chat-completion-api""#;
const LEGACY: &str = r#""base_url": "http://127.0.0.1:9/v1", "api_key": "sk-unused-aaaaaaaaaaaa", "provider": "generic-chat-completion-api""#;

fn models(entries: &[&str], fields: &str) -> String {
    let all: Vec<String> = entries
        .iter()
        .map(|e| format!("{{{e}, {fields}}}"))
        .collect();
    all.join(", ")
}

/// The ids droid lists for this Droid directory, and the ids litekeys
/// computes for it.
fn both(droid: &Droid, sb: &Sandbox, files: &[(&str, String)]) -> (Vec<String>, Vec<String>) {
    let home = sb.path(format!("home-{}", files.len()));
    for (name, text) in files {
        sb.write(home.join(".factory").join(name), text);
    }
    let parsed = |name: &str| -> Option<Value> {
        files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| serde_json::from_str(t).unwrap())
    };
    let ours = rotate::droid::listed(
        parsed("settings.json").as_ref(),
        parsed("settings.local.json").as_ref(),
        parsed("config.json").as_ref(),
    );
    let theirs = droid.models(&home).into_iter().map(|(id, _)| id).collect();
    (theirs, ours.into_iter().map(|n| n.id).collect())
}

#[test]
fn litekeys_names_custom_models_as_droid_exec_lists_them() {
    let Some(droid) = Droid::find() else { return };
    let sb = Sandbox::new();
    let settings = format!(
        "{{\"customModels\": [{}]}}",
        models(
            &[
                r#""model": "gw-a""#,
                r#""model": "gw-b", "id": "my-id-b""#,
                r#""model": "gw-c", "displayName": "Nice C""#,
                r#""model": "gw-a", "id": "custom:with-prefix""#,
                r#""model": "gw-a""#,
                r#""model": "x", "displayName": "  A  b\tc  ""#,
                r#""model": "A-b-c""#,
                r#""model": "e", "id": """#,
                r#""model": "e""#,
                r#""model": "m", "displayName": """#,
                r#""model": "Ünï ☃ (x)", "index": 4"#,
                r#""model": "q q""#,
            ],
            ROUTE
        )
    );
    let legacy = format!(
        "{{\"custom_models\": [{}]}}",
        models(
            &[
                r#""model": "q-q""#,
                r#""model_display_name": "b", "model": "x""#,
                r#""model": "gw-a""#,
                r#""model": "b""#,
            ],
            LEGACY
        )
    );
    let (theirs, ours) = both(
        &droid,
        &sb,
        &[
            ("settings.json", settings.clone()),
            ("config.json", legacy.clone()),
        ],
    );
    assert_eq!(ours, theirs);
    assert!(theirs.contains(&"custom:gw-a-2".to_string()), "{theirs:?}");

    // settings.local.json's customModels replace settings.json's.
    let local = format!(
        "{{\"customModels\": [{}]}}",
        models(
            &[
                r#""model": "b""#,
                r#""model": "loc", "displayName": "Local One""#
            ],
            ROUTE
        )
    );
    let (theirs, ours) = both(
        &droid,
        &sb,
        &[
            ("settings.json", settings),
            ("settings.local.json", local),
            ("config.json", legacy),
        ],
    );
    assert_eq!(ours, theirs);
    assert_eq!(theirs[..2], ["custom:b-0", "custom:Local-One-0"]);
    // No model of settings.json is left.
    assert!(!theirs.iter().any(|id| id == "my-id-b"), "{theirs:?}");
}
