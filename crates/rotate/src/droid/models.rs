//! How droid 0.215.0 names the custom models it loads: the ids
//! `droid exec --help` lists and `droid exec -m` takes. Found by running
//! it on settings with and without `id` and `displayName`
//! (tests/droid/models.rs holds this to the real binary):
//!
//! - `customModels` come from settings.local.json when it has that key
//!   (the whole array replaces settings.json's), else from settings.json;
//! - an entry's name is its `displayName` when that is a string (even
//!   empty), else its `model`; its slug is the name trimmed, each run of
//!   whitespace one `-`;
//! - its id is its `id` when that is a string (an empty one: not listed),
//!   else `custom:<slug>-<n>`, n counting the earlier entries with the same
//!   slug, those with an `id` included;
//! - then config.json's `custom_models` (name `model_display_name`, else
//!   `model`), id `custom:<slug>-<n>`, n counting the earlier legacy
//!   entries with the same slug; left out when a customModels entry has
//!   the same `model` or the same id; config.d/ is not read;
//! - `droid exec -m` takes only the ids that start with `custom:` (it
//!   lists an `id` without that prefix, then says "Invalid model").

use serde_json::Value;
use std::collections::HashMap;

/// The settings file names droid reads, in the directory it is given.
pub(crate) const SETTINGS: &str = "settings.json";
pub(crate) const LOCAL: &str = "settings.local.json";
pub(crate) const LEGACY: &str = "config.json";

/// One model droid lists: where it is (`settings.json`, `customModels[2]`)
/// and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub file: &'static str,
    pub at: String,
    pub id: String,
}

/// The name trimmed, each run of whitespace one `-`.
pub fn slug(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join("-")
}

fn text<'a>(el: &'a Value, field: &str) -> Option<&'a str> {
    el.get(field).and_then(Value::as_str)
}

/// The models droid lists for a Droid directory whose files parse as
/// these, in its order.
pub fn listed(
    settings: Option<&Value>,
    local: Option<&Value>,
    legacy: Option<&Value>,
) -> Vec<Named> {
    let (file, custom) = match local.and_then(|l| l.get("customModels")) {
        Some(models) => (LOCAL, Some(models)),
        None => (SETTINGS, settings.and_then(|s| s.get("customModels"))),
    };
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, el) in custom
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = text(el, "displayName")
            .or_else(|| text(el, "model"))
            .unwrap_or_default();
        let slug = slug(name);
        let n = seen.entry(slug.clone()).or_insert(0);
        let id = match el.get("id").and_then(Value::as_str) {
            Some("") => None,
            Some(id) => Some(id.to_string()),
            None => Some(format!("custom:{slug}-{n}")),
        };
        *n += 1;
        if let Some(id) = id {
            out.push(Named {
                file,
                at: format!("customModels[{i}]"),
                id,
            });
        }
    }
    let custom_models: Vec<&str> = custom
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|el| text(el, "model"))
        .collect();
    let custom_ids = out.len();
    let mut legacy_seen: HashMap<String, usize> = HashMap::new();
    let models = legacy
        .and_then(|l| l.get("custom_models"))
        .and_then(Value::as_array);
    for (i, el) in models.into_iter().flatten().enumerate() {
        let name = text(el, "model_display_name")
            .or_else(|| text(el, "model"))
            .unwrap_or_default();
        let slug = slug(name);
        let n = legacy_seen.entry(slug.clone()).or_insert(0);
        let id = format!("custom:{slug}-{n}");
        *n += 1;
        let model = text(el, "model").unwrap_or_default();
        if custom_models.contains(&model) || out[..custom_ids].iter().any(|c| c.id == id) {
            continue;
        }
        out.push(Named {
            file: LEGACY,
            at: format!("custom_models[{i}]"),
            id,
        });
    }
    out
}

/// The id `droid exec -m` selects the model at `file` `at` by: `None`
/// when droid does not list it, lists its id more than once (which one
/// `-m` would pick is droid's choice), or it lacks the `custom:` prefix.
pub(crate) fn id_of<'a>(listed: &'a [Named], file: &str, at: &str) -> Option<&'a str> {
    let named = listed.iter().find(|n| n.file == file && n.at == at)?;
    let unique = listed.iter().filter(|n| n.id == named.id).count() == 1;
    (unique && named.id.starts_with("custom:")).then_some(named.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(settings: Value, local: Option<Value>, legacy: Option<Value>) -> Vec<String> {
        listed(Some(&settings), local.as_ref(), legacy.as_ref())
            .into_iter()
            .map(|n| n.id)
            .collect()
    }

    #[test]
    fn ids_are_the_id_or_the_slug_of_the_name_counted() {
        let s = json!({"customModels": [
            {"model": "gw-a"},
            {"model": "gw-b", "id": "my-id-b"},
            {"model": "gw-c", "displayName": "Nice C"},
            {"model": "gw-a", "id": "custom:with-prefix"},
            {"model": "gw-a"},
            {"model": "x", "displayName": "  A  b\tc  "},
            {"model": "A-b-c"},
            {"model": "e", "id": ""},
            {"model": "e"},
            {"model": "m", "displayName": ""},
        ]});
        assert_eq!(
            ids(s, None, None),
            [
                "custom:gw-a-0",
                "my-id-b",
                "custom:Nice-C-0",
                "custom:with-prefix",
                "custom:gw-a-2",
                "custom:A-b-c-0",
                "custom:A-b-c-1",
                "custom:e-1",
                "custom:-0",
            ]
        );
    }

    #[test]
    fn local_replaces_the_custom_models_and_legacy_follows_unless_shadowed() {
        let s = json!({"customModels": [{"model": "a"}, {"model": "q q"}]});
        let legacy = json!({"custom_models": [
            {"model": "q-q"}, {"model": "a"}, {"model_display_name": "b", "model": "x"},
            {"model": "s"}, {"model": "b"}, {"model_display_name": "a", "model": "l2"},
            {"model_display_name": "k", "model": "q q"}, {"model_display_name": "k", "model": "l3"}
        ]});
        // q-q and a: their ids are taken; k over "q q": its model is.
        assert_eq!(
            ids(s.clone(), None, Some(legacy.clone())),
            [
                "custom:a-0",
                "custom:q-q-0",
                "custom:b-0",
                "custom:s-0",
                "custom:b-1",
                "custom:a-1",
                "custom:k-1"
            ]
        );
        let local = json!({"customModels": [{"model": "s"}]});
        let all = listed(Some(&s), Some(&local), Some(&legacy));
        assert_eq!(
            all[0],
            Named {
                file: LOCAL,
                at: "customModels[0]".into(),
                id: "custom:s-0".into()
            }
        );
        assert_eq!(
            all.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            [
                "custom:s-0",
                "custom:q-q-0",
                "custom:a-0",
                "custom:b-0",
                "custom:b-1",
                "custom:a-1",
                "custom:k-0",
                "custom:k-1"
            ]
        );
        // A local file without customModels leaves settings.json's.
        let other = json!({"someOther": true});
        assert_eq!(listed(Some(&s), Some(&other), None)[0].file, SETTINGS);
    }

    #[test]
    fn an_id_listed_twice_selects_neither() {
        let s = json!({"customModels": [
            {"model": "a", "id": "custom:same"}, {"model": "b", "id": "custom:same"}, {"model": "c"}
        ]});
        let all = listed(Some(&s), None, None);
        assert_eq!(id_of(&all, SETTINGS, "customModels[0]"), None);
        assert_eq!(id_of(&all, SETTINGS, "customModels[2]"), Some("custom:c-0"));
        let s = json!({"customModels": [{"model": "a", "id": "no-prefix"}]});
        assert_eq!(
            id_of(&listed(Some(&s), None, None), SETTINGS, "customModels[0]"),
            None
        );
        assert_eq!(id_of(&all, LOCAL, "customModels[2]"), None);
    }
}
